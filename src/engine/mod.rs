//! The engine: the one way in. Every command of HIS, staff and the demo
//! goes through a method of [`Engine`] and answers a domain
//! [`Error`](triage_ground::error::Error); a command that touches several actors
//! (transfer, close with redistribution, rule change, correction) is still
//! one method here, and the actors tell each other what follows through the
//! directory — nothing in `src/` relays between them.
//!
//! - [`start`]: rebuilds every actor from the configuration and the
//!   database (the recovery path after a crash).
//! - [`registrations`]: registration (validated at the edge), HIS
//!   corrections, check-in, recall, cancel, a visit's view.
//! - [`calling`]: room commands, call by name, close with redistribution.
//! - [`queues`]: a queue's list, nurses' interventions, transfer, rules.
//! - [`doctors`]: doctor master data; [`notices`]: notices to screens.
//! - [`names`]: full names of the visits in queues, for staff pages.
//! - [`screens`]: screens registered or reassigned at run time.
//! - [`day`]: the hospital day and the day end (日终).
//! - [`seats`]: who sits in a room (医生签到 / 暂离 / 签退), stop-clinic.
//! - [`schedules`]: the schedule (出诊排班) and the session switch.

pub mod appointments;
pub mod calling;
pub mod day;
pub mod doctors;
pub mod names;
pub mod notices;
pub mod queues;
pub mod registrations;
pub mod results;
pub mod schedules;
pub mod screens;
pub mod seats;
pub mod start;
pub mod stats;

pub use calling::{CalledPatient, RoomAnswer, RoomCommand};
pub use queues::{InterventionAnswer, QueueAnswer, SpecialAnswer, TransferBody};
pub use registrations::{
    AppointmentBody, AwayVisit, CancelAnswer, CheckInAnswer, ExamItem, PatientBody,
    RegistrationAnswer, RegistrationBody, VisitAnswer,
};

use std::sync::Arc;

use triage_actors::directory::DoctorView;
use triage_actors::Directory;
use triage_ground::time::SharedClock;

use crate::config::Hospital;
use crate::db::models::{DoctorRow, VisitRow};
use crate::db::Db;
use triage_ground::error::{Error, ErrorCode};

use triage_ground::time::{service_date, shanghai, utc};

/// The running engine: what handlers need.
#[derive(Clone)]
pub struct Engine {
    pub hospital: Arc<Hospital>,
    pub directory: Arc<Directory>,
    pub db: Db,
    pub clock: SharedClock,
    /// Full names of the visits in queues and rooms (staff pages only).
    pub names: Arc<names::VisitNames>,
    /// The last day closed (日终).
    pub closed_through: Arc<day::ClosedThrough>,
    /// One seat change at a time (a doctor sits in one room: the check
    /// and the change must not interleave with another sign-in).
    pub(crate) seating: Arc<tokio::sync::Mutex<()>>,
}

/// Runs `attempt` again while it answers a state conflict (the visit
/// changed between the read and the commit), three times in all; the last
/// conflict is the answer then.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    const ATTEMPTS: usize = 3;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match attempt().await {
            Err(e) if e.code == ErrorCode::StateConflict => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorCode::StateConflict,
            "the visit kept changing meanwhile",
        )
    }))
}

/// The public view of a doctor row.
pub fn doctor_view(row: &DoctorRow) -> DoctorView {
    DoctorView {
        code: row.code.clone(),
        name: row.name.clone(),
        title: row.title.clone(),
        introduction: row.introduction.clone(),
        photo_url: row
            .photo
            .as_ref()
            .map(|_| format!("/api/v1/doctors/{}/photo", row.code)),
        on_duty: row.on_duty,
    }
}

/// The appointment slot of a visit, if it has one.
pub fn visit_slot(v: &VisitRow) -> Option<triage_actors::model::Slot> {
    match (v.appointment_start, v.appointment_end) {
        (Some(start), Some(end)) => Some(triage_actors::model::Slot {
            start: utc(start),
            end: utc(end),
        }),
        _ => None,
    }
}

impl Engine {
    /// The running actor of a queue.
    pub fn queue_addr(
        &self,
        code: &str,
    ) -> Result<actix::Addr<triage_actors::queue::QueueActor>, Error> {
        self.directory
            .queues
            .get(code)
            .map(|a| a.clone())
            .ok_or_else(|| Error::new(ErrorCode::NoQueue, "the queue is not running"))
    }

    fn room_addr(&self, room: &str) -> Result<actix::Addr<triage_actors::room::RoomActor>, Error> {
        self.directory
            .rooms
            .get(room)
            .map(|a| a.clone())
            .ok_or_else(|| Error::new(ErrorCode::RoomNotFound, format!("no room {room:?}")))
    }
}
