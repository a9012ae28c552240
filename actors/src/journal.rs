//! How the engine reaches the world: a [`Journal`] that makes a [`Change`]
//! durable before anyone is told, and a [`Clock`].
//!
//! `src/` implements both (the database journal, the system clock); tests use
//! in-memory ones. The engine never sees SQL, HTTP or SMTP.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    Audit, Correction, Counters, EntryKind, PlacementCode, RoomStatus, SealedRecord, SeatState,
    SpecialTag, StaffMarks, TicketCounter, WaitingEntry,
};
use crate::rules::QueueRules;

/// A durable change, committed by the journal before memory changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A registered visit checked in (签到) and got a ticket.
    CheckedIn {
        audit: Audit,
        queue_code: QueueCode,
        service_date: NaiveDate,
        entry: WaitingEntry,
        tickets: TicketCounter,
        next_seq: i64,
        /// The registration as the engine read it (its row's `updated_at`):
        /// the commit checks it did not change meanwhile.
        #[serde(default)]
        seen_at: Option<DateTime<Utc>>,
    },
    /// A room called a waiting patient.
    Called {
        audit: Audit,
        queue_code: QueueCode,
        room_code: RoomCode,
        visit_no: VisitNo,
        placement: PlacementCode,
        counters: Counters,
        /// The calling room's next mix position (rooms drawing from several
        /// queues by a configured mix).
        #[serde(default)]
        room_cursor: Option<i64>,
    },
    /// A waiting patient was sent to a room's short list (二级候诊): taken
    /// from the general list (the counters move as for a call), still
    /// waiting, now only that room calls them.
    Assigned {
        audit: Audit,
        queue_code: QueueCode,
        room_code: RoomCode,
        visit_no: VisitNo,
        placement: PlacementCode,
        counters: Counters,
        #[serde(default)]
        room_cursor: Option<i64>,
    },
    /// A closed room's short list went back to the general list.
    Unassigned {
        audit: Audit,
        queue_code: QueueCode,
        room_code: RoomCode,
        visits: Vec<VisitNo>,
    },
    /// A nurse moved a waiting patient to a position (调整顺序); `mark` is
    /// the queue's `taken_total` then.
    Moved {
        audit: Audit,
        queue_code: QueueCode,
        visit_no: VisitNo,
        position: u32,
        mark: i64,
    },
    /// The current patient was called again (重呼).
    Recalled {
        audit: Audit,
        room_code: RoomCode,
        visit_no: VisitNo,
        call_count: i32,
    },
    /// The called patient did not come (过号): set aside, or ended as
    /// no-show when this was the last miss allowed.
    Skipped {
        audit: Audit,
        room_code: RoomCode,
        visit_no: VisitNo,
        no_show: bool,
    },
    /// The doctor sent the current patient for an exam (置为检查); they come
    /// back to `return_queue` (the room's first queue: its doctor's own).
    SentForExam {
        audit: Audit,
        room_code: RoomCode,
        visit_no: VisitNo,
        return_queue: QueueCode,
    },
    /// A patient set aside came back: after a missed call (召回, placed by
    /// the recall interval) or with exam results (回诊, by the return-visit
    /// interval); waiting again with the same ticket.
    Requeued {
        audit: Audit,
        queue_code: QueueCode,
        entry: WaitingEntry,
        next_seq: i64,
        /// The registration as the engine read it (its row's `updated_at`):
        /// the commit checks it did not change meanwhile.
        #[serde(default)]
        seen_at: Option<DateTime<Utc>>,
    },
    /// The current patient is done (诊结).
    Finished {
        audit: Audit,
        room_code: RoomCode,
        visit_no: VisitNo,
        performer: String,
    },
    /// Room status changed (暂停 / 恢复 / 停诊).
    RoomStatusSet {
        audit: Audit,
        room_code: RoomCode,
        status: RoomStatus,
    },
    /// A nurse held or released a waiting patient (挂起 / 恢复).
    HoldSet {
        audit: Audit,
        queue_code: QueueCode,
        visit_no: VisitNo,
        held: bool,
    },
    /// A nurse set the special groups of a waiting patient (特殊人群标记):
    /// her marks over what HIS sent (`his_tags`, checked unchanged when
    /// stored), the registration's groups now and every tag with the age
    /// tags of the queue's rules, which place the patient.
    Marked {
        audit: Audit,
        queue_code: QueueCode,
        visit_no: VisitNo,
        his_tags: Vec<SpecialTag>,
        marks: StaffMarks,
        registered_tags: Vec<SpecialTag>,
        tags: Vec<SpecialTag>,
    },
    /// A nurse pinned a waiting patient to the top (置顶).
    Pinned {
        audit: Audit,
        queue_code: QueueCode,
        visit_no: VisitNo,
    },
    /// A visit moved to another queue (转诊), from waiting in `from_queue` or
    /// from being current in `from_room`; one durable change for both sides.
    Transferred {
        audit: Audit,
        from_queue: Option<QueueCode>,
        from_room: Option<RoomCode>,
        queue_code: QueueCode,
        entry: WaitingEntry,
        next_seq: i64,
        /// The registration as the engine read it (its row's `updated_at`):
        /// the commit checks it did not change meanwhile.
        #[serde(default)]
        seen_at: Option<DateTime<Utc>>,
    },
    /// The queue's locked head after a change: every locked visit with its
    /// lock order (the full set; others are unlocked). Committed together
    /// with the change that caused it.
    Locks {
        audit: Audit,
        queue_code: QueueCode,
        locks: Vec<(VisitNo, i64)>,
    },
    /// The queue's rules changed (audited old → new); `retagged` lists the
    /// waiting visits whose tags the new age limits changed.
    RulesChanged {
        audit: Audit,
        queue_code: QueueCode,
        from: Box<QueueRules>,
        to: Box<QueueRules>,
        retagged: Vec<(VisitNo, Vec<SpecialTag>)>,
    },
    /// HIS corrected the registration of a patient waiting in `queue_code`
    /// or called in `room_code` (same department and doctor): how the queue
    /// or room now shows them (`entry_kind` and `tags` as the rules place them)
    /// and the stored registration, in one change.
    Corrected {
        audit: Audit,
        queue_code: Option<QueueCode>,
        room_code: Option<RoomCode>,
        correction: Correction,
        /// The entry's kind now (waiting patients only).
        entry_kind: Option<EntryKind>,
        tags: Vec<SpecialTag>,
    },
    /// The day ended (日终): the visits of `day` (and before) still waiting
    /// in `queue_code`, or called in `room_code`, close as not seen.
    DayClosed {
        audit: Audit,
        day: NaiveDate,
        queue_code: Option<QueueCode>,
        room_code: Option<RoomCode>,
        visits: Vec<VisitNo>,
    },
    /// Who sits in a room changed (医生签到 / 暂离 / 签退): the doctor shown,
    /// the queues the room calls (the doctor's own first) and their mix.
    Seated {
        audit: Audit,
        room_code: RoomCode,
        doctor_code: Option<DoctorCode>,
        seat: SeatState,
        draws_from: Vec<QueueCode>,
        mix: Vec<u32>,
    },
    /// A HIS registration stored in the same commit as the check-in after
    /// it (registration with `checked_in`): both are durable or neither.
    /// `seen_at` is the stored registration it replaces (its row's
    /// `updated_at`); none: no registration may exist yet.
    Registered {
        audit: Audit,
        visit_no: VisitNo,
        record: SealedRecord,
        #[serde(default)]
        seen_at: Option<DateTime<Utc>>,
    },
    /// A waiting or current visit was cancelled (退号).
    Cancelled {
        audit: Audit,
        visit_no: VisitNo,
        queue_code: Option<QueueCode>,
        room_code: Option<RoomCode>,
    },
}

impl Change {
    /// Stable event kind stored with the event row.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::CheckedIn { .. } => "checked_in",
            Change::Called { .. } => "called",
            Change::Assigned { .. } => "assigned",
            Change::Unassigned { .. } => "unassigned",
            Change::Moved { .. } => "moved",
            Change::Recalled { .. } => "recalled",
            Change::Skipped { .. } => "skipped",
            Change::Requeued { .. } => "requeued",
            Change::SentForExam { .. } => "sent_for_exam",
            Change::HoldSet { held: true, .. } => "held",
            Change::HoldSet { held: false, .. } => "released",
            Change::Marked { .. } => "special_marked",
            Change::Pinned { .. } => "pinned",
            Change::Transferred { .. } => "transferred",
            Change::Locks { .. } => "locks",
            Change::Finished { .. } => "finished",
            Change::RoomStatusSet { .. } => "room_status_set",
            Change::Cancelled { .. } => "cancelled",
            Change::DayClosed { .. } => "day_closed",
            Change::Seated { .. } => "room_seated",
            Change::RulesChanged { .. } => "rules_changed",
            Change::Corrected { .. } => "registration_corrected",
            Change::Registered { .. } => "registered",
        }
    }

    pub fn audit(&self) -> &Audit {
        match self {
            Change::CheckedIn { audit, .. }
            | Change::Called { audit, .. }
            | Change::Assigned { audit, .. }
            | Change::Unassigned { audit, .. }
            | Change::Moved { audit, .. }
            | Change::Recalled { audit, .. }
            | Change::Skipped { audit, .. }
            | Change::Requeued { audit, .. }
            | Change::SentForExam { audit, .. }
            | Change::HoldSet { audit, .. }
            | Change::Marked { audit, .. }
            | Change::Pinned { audit, .. }
            | Change::DayClosed { audit, .. }
            | Change::Seated { audit, .. }
            | Change::Transferred { audit, .. }
            | Change::Locks { audit, .. }
            | Change::Finished { audit, .. }
            | Change::RoomStatusSet { audit, .. }
            | Change::Cancelled { audit, .. }
            | Change::RulesChanged { audit, .. }
            | Change::Corrected { audit, .. }
            | Change::Registered { audit, .. } => audit,
        }
    }
}

/// Why a journal refused or failed a change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The stored state no longer allows a change (e.g. the visit was
    /// cancelled meanwhile). Nothing was written. `index` is the position of
    /// the refused change in the committed batch (0 for a single change).
    #[error("stale state (change {index}): {reason}")]
    Conflict { index: usize, reason: String },
    /// The change could not be made durable (database down, disk full).
    /// Nothing was acknowledged.
    #[error("journal unavailable: {0}")]
    Unavailable(String),
}

/// A boxed future that may cross threads.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Makes changes durable. `commit` resolves only once the change is on disk.
pub trait Journal: Send + Sync + 'static {
    fn commit(&self, change: Change) -> BoxFuture<Result<(), JournalError>>;

    /// Commits several changes atomically (all or none).
    fn commit_all(&self, changes: Vec<Change>) -> BoxFuture<Result<(), JournalError>>;
}

/// Shared handles the actors hold.
pub type SharedJournal = Arc<dyn Journal>;
