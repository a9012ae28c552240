//! The messages a room answers, one `///` line each; handled in
//! [`actor`](super::actor).

use actix::prelude::*;
use serde::{Deserialize, Serialize};
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};

use crate::error::EngineError;
use crate::model::{Audit, Correction, CurrentCall, RoomStatus};

use crate::queue::actor::QueueActor;
use crate::queue::messages::CheckInOutcome;
use crate::queue::state::TransferIn;

use super::state::{ClosedVisit, RoomState};

/// The answer to a room command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomOutcome {
    pub room_code: RoomCode,
    pub status: RoomStatus,
    /// The patient now current (called), if any.
    pub current: Option<CurrentCall>,
    /// The visit closed by this command (finished, skipped), if any.
    pub closed: Option<ClosedVisit>,
}

/// Call the next patient by the queues' rules, or — with `visit_no` — that
/// waiting patient by name, out of order (指定叫号).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct CallNext {
    pub audit: Audit,
    /// Recorded as performer if a current patient is finished first.
    pub performer: String,
    pub visit_no: Option<VisitNo>,
}

/// Call the current patient again (重呼).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Recall {
    pub audit: Audit,
}

/// The called patient did not come (过号).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Skip {
    pub audit: Audit,
}

/// The doctor sends the current patient for an exam (置为检查); they come
/// back to this room's first queue (its doctor's own) with the results.
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct SendForExam {
    pub audit: Audit,
}

/// The current patient is done (诊结).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Finish {
    pub audit: Audit,
    pub performer: String,
}

/// Open, pause or close the room.
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct SetStatus {
    pub audit: Audit,
    pub status: RoomStatus,
}

/// Who sits in the room changes (医生签到 / 暂离 / 签退): the doctor shown,
/// the queues called (the doctor's own first) and their mix. Answers the
/// room's facts now.
#[derive(Message)]
#[rtype(result = "Result<crate::model::RoomInfo, EngineError>")]
pub struct Seat {
    pub doctor_code: Option<DoctorCode>,
    pub seat: crate::model::SeatState,
    pub draws_from: Vec<QueueCode>,
    /// The running queue of each of `draws_from`, in the same order.
    pub queues: Vec<Addr<QueueActor>>,
    pub mix: Vec<u32>,
    pub audit: Audit,
}

/// The day ended (日终): the current patient, called before `until`, closes
/// as not seen. Answers how many closed (0 or 1).
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct CloseDay {
    pub day: chrono::NaiveDate,
    pub until: chrono::DateTime<chrono::Utc>,
    pub audit: Audit,
}

/// Cancel the current patient's visit (退号 while called); answers whether
/// that visit was current here.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct CancelCurrent {
    pub audit: Audit,
    pub visit_no: VisitNo,
}

/// A HIS correction of the patient called here: `tags` as the queue's
/// rules give them. Answers whether that visit is current here (false:
/// nothing changed).
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Correct {
    pub correction: Correction,
    pub tags: Vec<crate::model::SpecialTag>,
    pub audit: Audit,
}

/// The room's state now.
#[derive(Message)]
#[rtype(result = "RoomOutcome")]
pub struct GetRoom;

/// Something the room's label reads changed outside the room (its doctor
/// went off or on duty in HIS): the room tells its staff pages again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Republish;

/// The whole state held in memory (to compare with a rebuild).
#[derive(Message)]
#[rtype(result = "RoomState")]
pub struct InspectRoom;

/// Move the current patient to another queue (转诊 while called): `to`
/// commits the whole move (`Transferred`, from this room) and answers the
/// position there; then this room forgets the patient. Answers what `to`
/// answered.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct TransferCurrent {
    pub to: Addr<QueueActor>,
    pub transfer: TransferIn,
}
