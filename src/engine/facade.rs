//! [`Engine`], the one way in: the configuration, the directory of running
//! actors, the database and the clock every command of `engine/` uses,
//! and what several of them share (a retry on a state conflict, a
//! doctor's public view, a visit's slot, the running actor of a queue or
//! room).

use crate::db::links::PatientLinks;
use std::sync::Arc;

use triage_actors::board::view::DoctorView;
use triage_actors::model::Audit;
use triage_actors::Directory;
use triage_ground::ids::DoctorCode;
use triage_ground::time::SharedClock;

use crate::config::Hospital;
use crate::db::models::{DoctorRow, VisitRow};
use crate::db::Db;
use triage_ground::error::{Error, ErrorCode};

use triage_ground::time::utc;

/// The running engine: what handlers need. Its parts are its own: a
/// caller reads them through the accessors below and changes anything only
/// through the engine's commands, which stamp the time themselves.
#[derive(Clone)]
pub struct Engine {
    hospital: Arc<Hospital>,
    directory: Arc<Directory>,
    db: Db,
    clock: SharedClock,
    /// Full names of the visits in queues and rooms (staff pages only).
    names: Arc<super::names::VisitNames>,
    /// The last day closed (日终).
    pub(crate) closed_through: Arc<super::closed::ClosedThrough>,
    /// One seat change at a time (a doctor sits in one room: the check
    /// and the change must not interleave with another sign-in).
    /// One screen change at a time (a registration, a move, a retirement):
    /// each stores, then changes the running screen, before the next.
    pub(crate) screening: Arc<tokio::sync::Mutex<()>>,
    pub(crate) seating: Arc<tokio::sync::Mutex<()>>,
    /// The patients' phone links (`/p/{token}`).
    links: PatientLinks,
    /// Each queue's wait forecast.
    waits: Arc<super::waits::Waits>,
}

/// Who acts on a command, as the caller knows it: the operator (staff
/// number, `his`, `kiosk:…`, `demo-simulator`), where the request came
/// from, and why when a reason is recorded. The engine adds the time
/// ([`Engine::stamp`]): no caller chooses when a command happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acting {
    pub operator: String,
    pub source: String,
    pub reason: Option<String>,
}

impl Acting {
    /// An operator acting from a source, with no reason recorded.
    pub fn new(operator: impl Into<String>, source: impl Into<String>) -> Self {
        Acting {
            operator: operator.into(),
            source: source.into(),
            reason: None,
        }
    }

    /// The same, recording why.
    pub fn because(self, reason: impl Into<String>) -> Self {
        Acting {
            reason: Some(reason.into()),
            ..self
        }
    }
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
        code: DoctorCode::trusted(row.code.clone()),
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
    /// The engine over its parts (see `engine::start`).
    pub(crate) fn assemble(
        hospital: Arc<Hospital>,
        directory: Arc<Directory>,
        db: Db,
        clock: SharedClock,
        names: Arc<super::names::VisitNames>,
        closed_through: Arc<super::closed::ClosedThrough>,
        links: PatientLinks,
    ) -> Self {
        Engine {
            links,
            waits: Arc::default(),
            hospital,
            directory,
            db,
            clock,
            names,
            closed_through,
            seating: Arc::new(tokio::sync::Mutex::new(())),
            screening: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The audit stamp of a command: who acts, at the engine's now.
    pub fn stamp(&self, who: Acting) -> Audit {
        Audit {
            operator: who.operator,
            source: who.source,
            at: self.clock.now(),
            reason: who.reason,
        }
    }

    /// The hospital's configuration in force.
    pub fn hospital(&self) -> &Arc<Hospital> {
        &self.hospital
    }

    /// The running actors, for reading their boards and views.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// How patient links are made and read.
    pub fn links(&self) -> &PatientLinks {
        &self.links
    }

    /// Each queue's latest wait forecast.
    pub fn waits(&self) -> &super::waits::Waits {
        &self.waits
    }

    /// The database the engine writes through.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The clock every command reads (an input: tests name their instant).
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Full names of the visits in queues and rooms (staff pages only).
    pub fn names(&self) -> &Arc<super::names::VisitNames> {
        &self.names
    }

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

    pub(crate) fn room_addr(
        &self,
        room: &str,
    ) -> Result<actix::Addr<triage_actors::room::RoomActor>, Error> {
        self.directory
            .rooms
            .get(room)
            .map(|a| a.clone())
            .ok_or_else(|| Error::new(ErrorCode::RoomNotFound, format!("no room {room:?}")))
    }
}
