//! Engine errors: what a queue or room refuses, and the one conversion to
//! the ground floor's [`Error`] with its stable code (the HTTP layer maps
//! codes to statuses).

use triage_ground::error::{Error, ErrorCode};
use triage_ground::time::shanghai;

use crate::journal::JournalError;
use crate::model::RoomStatus;

/// What the engine can refuse or fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("room is {}", .0.as_str())]
    RoomNotOpen(RoomStatus),
    /// The room's doctor stepped away (暂离): calls wait for his return.
    #[error("the doctor is on a break")]
    DoctorOnBreak,
    #[error("no patient is waiting for this room")]
    QueueEmpty,
    #[error("the room has no current patient")]
    NoCurrentPatient,
    #[error("visit {0} is not waiting in this queue")]
    NotWaiting(triage_ground::ids::VisitNo),
    #[error("ticket numbers for today are exhausted")]
    TicketsExhausted,
    #[error("too early for the appointment; check in from {0}")]
    TooEarly(chrono::DateTime<chrono::Utc>),
    /// A rule change the queue refused (validated against the rules in
    /// force); nothing changed.
    #[error("{message}")]
    InvalidRules {
        code: ErrorCode,
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

impl From<actix::MailboxError> for EngineError {
    fn from(_: actix::MailboxError) -> Self {
        EngineError::Mailbox
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::RoomNotOpen(s) => Error::new(
                match s {
                    RoomStatus::Closed => ErrorCode::RoomClosed,
                    _ => ErrorCode::RoomPaused,
                },
                format!("the room is {} (诊室{})", s.as_str(), s.label_zh()),
            ),
            EngineError::DoctorOnBreak => Error::new(
                ErrorCode::DoctorOnBreak,
                "医生暂离中，不能叫号；请先点击“继续坐诊”",
            ),
            EngineError::QueueEmpty => Error::new(
                ErrorCode::QueueEmpty,
                "no patient is waiting for this room (当前无候诊患者)",
            ),
            EngineError::NoCurrentPatient => Error::new(
                ErrorCode::NoCurrentPatient,
                "the room has no current patient; call one first",
            ),
            EngineError::NotWaiting(_) => Error::new(
                ErrorCode::VisitNotWaiting,
                "the visit is not waiting in this queue",
            ),
            EngineError::DayClosed => Error::new(
                ErrorCode::DayClosed,
                "今日已办理日终，不能再办理报到、召回或转诊；如确需继续接诊，请联系管理员",
            ),
            EngineError::TicketsExhausted => Error::new(
                ErrorCode::TicketsExhausted,
                "ticket numbers for today are exhausted",
            ),
            EngineError::TooEarly(opens) => Error::new(
                ErrorCode::TooEarly,
                format!(
                    "预约签到时间未到，请于 {} 以后报到",
                    opens.with_timezone(&shanghai()).format("%H:%M")
                ),
            ),
            EngineError::InvalidRules {
                code,
                field,
                message,
            } => Error::field(code, &field, message),
            EngineError::Journal(JournalError::Conflict { .. }) => Error::new(
                ErrorCode::StateConflict,
                "the visit changed meanwhile; reload and try again",
            ),
            EngineError::Journal(JournalError::Unavailable(cause)) => {
                tracing::error!(error.cause = %cause, "journal unavailable");
                Error::unavailable()
            }
            EngineError::Mailbox => {
                tracing::error!("engine actor unavailable");
                Error::new(
                    ErrorCode::EngineUnavailable,
                    "the engine is restarting or stopped; try again",
                )
            }
        }
    }
}
