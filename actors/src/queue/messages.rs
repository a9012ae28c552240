//! The messages a queue answers, one `///` line each; handled in
//! [`actor`](super::actor).

use actix::prelude::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

use crate::error::EngineError;
use crate::journal::Change;
use crate::model::{Audit, Correction, CurrentCall, Slot, SpecialTag, StaffMarks};
use crate::rules::QueueRules;

use super::state::{EntryDraft, QueueState, TransferIn};
use super::view::ListedEntry;

/// Check a patient in; answers the ticket and position. Idempotent: a visit
/// already waiting gets its existing ticket.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct CheckIn {
    pub draft: EntryDraft,
    pub audit: Audit,
    pub service_date: NaiveDate,
    /// The appointment slot, if any.
    pub slot: Option<Slot>,
    /// Committed first, in the same batch as the check-in (a HIS
    /// registration with `checked_in`: [`Change::Registered`]).
    pub before: Option<Change>,
}

/// The answer to [`CheckIn`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInOutcome {
    pub ticket_no: String,
    pub queue_code: QueueCode,
    /// 1-based position in calling order.
    pub position: usize,
    pub ahead: usize,
    /// False when the visit was already waiting (idempotent repeat).
    pub created: bool,
}

/// A room takes the next patient of this queue (its own short list first)
/// durably, or learns it is empty.
#[derive(Message)]
#[rtype(result = "Result<Option<CurrentCall>, EngineError>")]
pub struct TakeNext {
    pub room_code: RoomCode,
    pub audit: Audit,
    /// The room's next mix position, committed with the call.
    pub room_cursor: Option<i64>,
    /// The room's current patient closed by this call (finished or set
    /// aside), committed in the same batch as the call: when nobody can be
    /// taken, nothing is committed.
    pub close: Option<Change>,
}

/// A room with a short list (二级候诊) takes the next patient of the general
/// list onto it, durably; answers whether anyone was sent.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Assign {
    pub room_code: RoomCode,
    pub audit: Audit,
    pub room_cursor: Option<i64>,
}

/// A nurse sends one waiting patient of this queue to a room that calls
/// from it (转诊到本队列的某个诊室), durably: the patient goes onto that
/// room's own list (as a short list): only that room calls them, before
/// its general list. Answers the patient's place, or
/// `NotWaiting` when the visit does not wait here.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct AssignTo {
    pub visit_no: VisitNo,
    pub room_code: RoomCode,
    pub audit: Audit,
}

/// How many patients of this queue are on a room's short list, and when
/// the first of them was sent there.
#[derive(Message)]
#[rtype(result = "(usize, Option<(DateTime<Utc>, i64)>)")]
pub struct ShortList {
    pub room_code: RoomCode,
}

/// A room closed: its short list goes back to the general list; answers
/// how many patients went back.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct ReleaseRoom {
    pub room_code: RoomCode,
    pub audit: Audit,
}

/// Bring back a patient set aside after a missed call (召回); answers the
/// position. Idempotent: a visit already waiting answers its position.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct Requeue {
    pub draft: EntryDraft,
    pub ticket_no: String,
    pub misses: i32,
    pub audit: Audit,
}

/// Receive a transferred visit (转诊); commits the whole move (both sides)
/// and answers the position here. The source queue or room is told to
/// forget the visit afterwards ([`Left`]); until then its conditional
/// writes cannot touch it.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct Transfer(pub TransferIn);

/// Move waiting visits of other queues here in one journal batch (a closed
/// room's or a stopped doctor's patients): each after the one before (the
/// locked head relocked after each), keeping what its [`TransferIn`] says.
/// A visit whose row changed since it was read (called or cancelled, or
/// held or corrected meanwhile) is left out and answered as stale; the
/// others move together. The caller reads the stale ones again. Each source queue is told to forget
/// its visits afterwards ([`Left`](crate::board::events::Left)).
#[derive(Message)]
#[rtype(result = "Result<Moved, EngineError>")]
pub struct TransferAll(pub Vec<TransferIn>);

/// What a [`TransferAll`] did: who moved, whose row had changed since it
/// was read (to read again).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub moved: Vec<VisitNo>,
    pub stale: Vec<VisitNo>,
}

/// Call one waiting visit by name, out of order, for `room_code`.
#[derive(Message)]
#[rtype(result = "Result<Option<CurrentCall>, EngineError>")]
pub struct TakeSpecific {
    pub visit_no: VisitNo,
    pub room_code: RoomCode,
    pub audit: Audit,
    /// As for [`TakeNext`]: committed with the call, or not at all.
    pub close: Option<Change>,
}

/// A HIS correction of a patient waiting here (see [`Correction`]);
/// answers whether the visit waits here (false: nothing changed).
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Correct {
    pub correction: Correction,
    pub audit: Audit,
}

/// Turns the rules in force into new ones, or refuses (nothing changes).
pub type RulesMerge = Box<dyn FnOnce(&QueueRules) -> Result<QueueRules, EngineError> + Send>;

/// Change this queue's rules: `merge` reads the rules in force inside the
/// actor (so two changes never race), the change is journaled and audited
/// old → new, then in force at once for everyone waiting. Answers the new
/// rules.
#[derive(Message)]
#[rtype(result = "Result<QueueRules, EngineError>")]
pub struct ChangeRules {
    pub merge: RulesMerge,
    pub audit: Audit,
}

/// The rules in force.
#[derive(Message)]
#[rtype(result = "QueueRules")]
pub struct GetRules;

/// A nurse's manual intervention on a waiting patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intervention {
    Hold,
    Release,
    Pin,
    /// Move to this position (1 = next) in the general list.
    Move(u32),
}

/// Apply a nurse's intervention; answers the new position (1-based), or an
/// error if the visit is not waiting in this queue. Idempotent.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct Intervene {
    pub visit_no: VisitNo,
    pub action: Intervention,
    pub audit: Audit,
}

/// Set a waiting patient's special groups (特殊人群标记): the nurse's marks
/// over what HIS sent. Answers the new position (1-based), or an error if
/// the visit is not waiting here.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct Mark {
    pub visit_no: VisitNo,
    /// The groups HIS sent, as the stored registration holds them.
    pub his_tags: Vec<SpecialTag>,
    pub marks: StaffMarks,
    pub audit: Audit,
}

/// The day ended (日终): close every patient who checked in before `until`
/// as not seen. Answers how many closed.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct CloseDay {
    pub day: NaiveDate,
    pub until: DateTime<Utc>,
    pub audit: Audit,
}

/// Cancel a waiting visit; answers whether it was here.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Remove {
    pub visit_no: VisitNo,
    pub audit: Audit,
}

/// The waiting list in calling order.
#[derive(Message)]
#[rtype(result = "Vec<ListedEntry>")]
pub struct ListQueue;

/// Time moved on: publish the board again if the ranking now shows it
/// differently (an appointment slot began, a session ended). Sent on the
/// server's clock ticks.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh;

/// The whole state held in memory, entries in line order (to compare with
/// what a rebuild from the database holds: the same order).
#[derive(Message)]
#[rtype(result = "QueueState")]
pub struct InspectQueue;

/// Position (1-based) and people ahead of a waiting visit.
#[derive(Message)]
#[rtype(result = "Option<(usize, usize)>")]
pub struct Position {
    pub visit_no: VisitNo,
}
