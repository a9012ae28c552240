//! Engine errors: what a queue or room refuses, with stable codes that the
//! HTTP layer maps to statuses.

use crate::journal::JournalError;
use crate::model::RoomStatus;

/// What the engine can refuse or fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("room is {}", .0.as_str())]
    RoomNotOpen(RoomStatus),
    #[error("no patient is waiting for this room")]
    QueueEmpty,
    #[error("the room has no current patient")]
    NoCurrentPatient,
    #[error("visit {0} is not waiting in this queue")]
    NotWaiting(String),
    #[error("ticket numbers for today are exhausted")]
    TicketsExhausted,
    #[error("too early for the appointment; check in from {0}")]
    TooEarly(chrono::DateTime<chrono::Utc>),
    /// A rule change the queue refused (validated against the rules in
    /// force); nothing changed.
    #[error("{message}")]
    InvalidRules {
        code: &'static str,
        field: String,
        message: String,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("engine actor unavailable")]
    Mailbox,
    /// The day the patient would enter has ended (日终).
    #[error("the day has ended")]
    DayClosed,
}

impl EngineError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::RoomNotOpen(RoomStatus::Paused) => "room_paused",
            EngineError::RoomNotOpen(RoomStatus::Closed) => "room_closed",
            EngineError::RoomNotOpen(RoomStatus::Open) => "room_open",
            EngineError::QueueEmpty => "queue_empty",
            EngineError::NoCurrentPatient => "no_current_patient",
            EngineError::NotWaiting(_) => "visit_not_waiting",
            EngineError::DayClosed => "day_closed",
            EngineError::TicketsExhausted => "tickets_exhausted",
            EngineError::TooEarly(_) => "too_early",
            EngineError::InvalidRules { code, .. } => code,
            EngineError::Journal(JournalError::Conflict { .. }) => "state_conflict",
            EngineError::Journal(JournalError::Unavailable(_)) => "database_unavailable",
            EngineError::Mailbox => "engine_unavailable",
        }
    }
}

impl From<actix::MailboxError> for EngineError {
    fn from(_: actix::MailboxError) -> Self {
        EngineError::Mailbox
    }
}
