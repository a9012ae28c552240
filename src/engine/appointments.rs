//! Appointments (预约) from HIS, booked for an exact room or device.
//!
//! An appointment is a visit whose visit number is the appointment id,
//! booked for one room (`visits.appointed_room`): it checks in to the
//! room's queue (the first the room calls from), is ordered there by its
//! slot under the queue's rules, and only that room calls it by the rules
//! (a nurse may still call it by name elsewhere). Beside the visit the
//! server keeps the HIS version applied and the cancellation
//! (`appointments`), so that messages delivered twice or out of order end
//! in the same state:
//!
//! - a version lower than the one applied changes nothing (`superseded`);
//! - the same version with other content is a conflict;
//! - a cancellation is final, also when it arrives before the appointment.
//!
//! The visit is written first, then the version: a crash between the two
//! leaves the old version kept, and HIS sending the message again applies
//! it again, which finds the visit already as the message says. One
//! appointment message at a time (they are rare beside calls), so two
//! versions never interleave.
//!
//! Door screens configured for it list their room's appointments of today
//! not checked in yet (slot and masked name); every change here republishes
//! them, and a background tick drops slots that have ended.

use super::facade::Acting;
use crate::db::columns::AppointmentStatus;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use triage_actors::board::view::AppointmentView;
use triage_actors::mask::mask_name;
use triage_actors::model::VisitStatus;
use utoipa::ToSchema;

use super::facade::Engine;
use super::registrations::{CancelAnswer, Registration, VisitAnswer};
use crate::db::models::AppointmentRow;
use crate::db::store::{self, UpsertOutcome};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{RoomCode, VisitNo};
use triage_ground::time::{service_date, utc};

/// One appointment message at a time (see the module documentation).
static WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The generation of each read of the upcoming appointments: a slower
/// older read never replaces what a newer one published.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// An appointment, parsed from what HIS sent (`api::appointments`): the
/// registration it makes for a room of the hospital's configuration.
#[derive(Debug, Clone)]
pub struct Appointment {
    /// HIS's version of this appointment, 1 or more.
    pub version: i64,
    /// The exact room or device (检查室 / 诊室) booked.
    pub room_code: RoomCode,
    /// The visit it makes (department and doctor from the room).
    pub registration: Registration,
}

/// The answer to an appointment PUT or DELETE.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentAnswer {
    pub appointment_id: String,
    /// `created`, `replaced`, `unchanged`, `superseded` (an older version:
    /// nothing changed) or `cancelled`.
    #[schema(value_type = String)]
    pub outcome: AppointmentOutcome,
    /// The version in force.
    pub version: i64,
    /// The visit's status (`cancelled` after a DELETE).
    #[schema(value_type = String, example = "registered")]
    pub status: VisitStatus,
    pub room_code: Option<String>,
}

/// An appointment as HIS reads it back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentState {
    pub appointment_id: String,
    pub version: i64,
    /// `active` or `cancelled`.
    pub status: String,
    pub room_code: Option<String>,
    /// The visit (none for a cancellation that arrived first).
    pub visit: Option<VisitAnswer>,
}

/// What an appointment PUT or DELETE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentOutcome {
    Created,
    Replaced,
    Unchanged,
    /// An older version arrived: nothing changed.
    Superseded,
    Cancelled,
}

impl From<UpsertOutcome> for AppointmentOutcome {
    fn from(o: UpsertOutcome) -> Self {
        match o {
            UpsertOutcome::Created => AppointmentOutcome::Created,
            UpsertOutcome::Replaced => AppointmentOutcome::Replaced,
            UpsertOutcome::Unchanged => AppointmentOutcome::Unchanged,
        }
    }
}

impl Engine {
    /// Creates, moves or changes an appointment (idempotent, ordered by
    /// version); the room's door screens follow at once.
    pub async fn put_appointment(
        &self,
        id: &VisitNo,
        body: Appointment,
        who: Acting,
    ) -> Result<(UpsertOutcome, AppointmentAnswer), Error> {
        let audit = self.stamp(who);
        let mut row = body.registration.row(id, audit.at)?;
        row.appointed_room = Some(body.room_code.to_string());
        self.open_day_of(&row, audit.at)?;
        let digest = triage_ground::secret::sha256_hex(row.body.as_bytes());
        let _one = WRITES.lock().await;
        let key = id.to_string();
        let (held, visit) = self
            .db()
            .read(move |c| Ok((store::get_appointment(c, &key)?, store::get_visit(c, &key)?)))
            .await?;
        // The answer when the version kept stands (nothing is written).
        let kept = |a: &AppointmentRow, outcome: AppointmentOutcome| -> Result<_, Error> {
            let status = match &visit {
                Some(v) => v.status,
                None => VisitStatus::Registered,
            };
            Ok((
                UpsertOutcome::Unchanged,
                AppointmentAnswer {
                    appointment_id: id.to_string(),
                    outcome,
                    version: a.version,
                    status,
                    room_code: a.room_code.clone(),
                },
            ))
        };
        match &held {
            Some(a) if a.status == AppointmentStatus::Cancelled => {
                return Err(Error::new(
                    ErrorCode::AppointmentCancelled,
                    "the appointment was cancelled (已取消预约); book again with a new id",
                ))
            }
            Some(a) if body.version < a.version => return kept(a, AppointmentOutcome::Superseded),
            // The same message again: applied already (the version is
            // written after the visit), whatever happened to the visit since.
            Some(a) if body.version == a.version && a.digest == digest => {
                return kept(a, AppointmentOutcome::Unchanged)
            }
            Some(a) if body.version == a.version => {
                return Err(Error::field(
                    ErrorCode::VersionConflict,
                    "version",
                    format!(
                        "version {} was applied with other content; raise the version with every change",
                        a.version
                    ),
                ))
            }
            // A registration's number (a visit of ours without the kept
            // version is one whose version write a crash cut off).
            None if visit.as_ref().is_some_and(|v| v.appointed_room.is_none()) => {
                return Err(visit_no_taken())
            }
            _ => {}
        }
        if let Some(v) = &visit {
            self.check_move(v, &row)?;
        }
        let (outcome, status) = self
            .store_registration(row, &audit, super::registrations::Kind::Appointment)
            .await?;
        let kept = AppointmentRow {
            appointment_id: id.to_string(),
            version: body.version,
            digest,
            room_code: Some(body.room_code.to_string()),
            status: AppointmentStatus::Active,
            updated_at: audit.at.naive_utc(),
        };
        self.db()
            .write(move |c| store::put_appointment(c, &kept))
            .await?;
        drop(_one);
        tracing::info!(visit_no = %id, outcome = ?outcome, room = %body.room_code, version = body.version, "appointment stored");
        self.publish_appointments().await;
        Ok((
            outcome,
            AppointmentAnswer {
                appointment_id: id.to_string(),
                outcome: outcome.into(),
                version: body.version,
                status,
                room_code: Some(body.room_code.to_string()),
            },
        ))
    }

    /// Whether an appointment already checked in or called may move as
    /// `row` says (another room or day; any other change is a correction):
    /// its room must still call from the queue it waits in, on the same
    /// day; a called patient stays in the calling room.
    fn check_move(
        &self,
        v: &crate::db::models::VisitRow,
        row: &crate::db::models::NewVisit,
    ) -> Result<(), Error> {
        let room = row.appointed_room.as_deref();
        let same_day = super::day::visit_day(v.registered_at, v.appointment_start)
            == super::day::visit_day(row.registered_at, row.appointment_start);
        if same_day && v.appointed_room.as_deref() == room {
            return Ok(());
        }
        match v.status {
            VisitStatus::Waiting => {
                let queue = v.required(&v.queue_code, "queue")?;
                if self.hospital().reserved_room(room, &queue).is_none() || !same_day {
                    return Err(Error::new(
                        ErrorCode::AppointmentInQueue,
                        format!("the patient has checked in to queue {queue}; a nurse transfers them (转诊), or cancel and book again"),
                    ));
                }
            }
            VisitStatus::Called if v.room_code.as_deref() != room || !same_day => {
                return Err(Error::new(
                    ErrorCode::AppointmentInQueue,
                    "the patient is being called in the booked room now",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Cancels an appointment (取消预约): its visit leaves every queue and
    /// room, and the cancellation is final (a later PUT is refused). A
    /// cancellation of an appointment not received yet is kept for it.
    pub async fn cancel_appointment(
        &self,
        id: &VisitNo,
        who: Acting,
    ) -> Result<AppointmentAnswer, Error> {
        let audit = self.stamp(who);
        let _one = WRITES.lock().await;
        let key = id.to_string();
        let (held, visit) = self
            .db()
            .read(move |c| Ok((store::get_appointment(c, &key)?, store::get_visit(c, &key)?)))
            .await?;
        if held.is_none() && visit.as_ref().is_some_and(|v| v.appointed_room.is_none()) {
            return Err(visit_no_taken());
        }
        let changed = match (&held, &visit) {
            (Some(a), _) if a.status == AppointmentStatus::Cancelled => false,
            (_, Some(v)) => match v.status {
                VisitStatus::Registered | VisitStatus::Waiting | VisitStatus::Called => {
                    let CancelAnswer { changed, .. } = self.cancel_at(id, audit.clone()).await?;
                    changed
                }
                // Set aside (过号, 检查中): in no queue or room; cancelled in
                // the database so nobody brings them back.
                VisitStatus::Missed | VisitStatus::Exam => {
                    let (key, a) = (id.to_string(), audit.clone());
                    self.db()
                        .write(move |c| store::cancel_set_aside(c, &key, &a))
                        .await?
                }
                // Already ended (seen, no-show, closed, cancelled): it keeps
                // its end; the cancellation is still kept below.
                _ => false,
            },
            _ => false,
        };
        let version = held.as_ref().map_or(0, |a| a.version);
        let room_code = held.as_ref().and_then(|a| a.room_code.clone());
        if held
            .as_ref()
            .is_none_or(|a| a.status != AppointmentStatus::Cancelled)
        {
            let kept = AppointmentRow {
                appointment_id: id.to_string(),
                version,
                digest: held.map(|a| a.digest).unwrap_or_default(),
                room_code: room_code.clone(),
                status: AppointmentStatus::Cancelled,
                updated_at: audit.at.naive_utc(),
            };
            self.db()
                .write(move |c| store::put_appointment(c, &kept))
                .await?;
        }
        drop(_one);
        tracing::info!(visit_no = %id, changed, "appointment cancelled");
        self.publish_appointments().await;
        Ok(AppointmentAnswer {
            appointment_id: id.to_string(),
            outcome: if changed {
                AppointmentOutcome::Cancelled
            } else {
                AppointmentOutcome::Unchanged
            },
            version,
            status: VisitStatus::Cancelled,
            room_code,
        })
    }

    /// An appointment as HIS reads it back.
    pub async fn get_appointment(&self, id: &VisitNo) -> Result<AppointmentState, Error> {
        let key = id.to_string();
        let held = self
            .db()
            .read(move |c| store::get_appointment(c, &key))
            .await?
            .ok_or_else(|| {
                Error::new(ErrorCode::VisitNotFound, format!("no appointment {id:?}"))
            })?;
        let visit = match self.get_visit(id).await {
            Ok(v) => Some(v),
            Err(e) if e.code == ErrorCode::VisitNotFound => None,
            Err(e) => return Err(e),
        };
        Ok(AppointmentState {
            appointment_id: held.appointment_id,
            version: held.version,
            status: held.status.to_string(),
            room_code: held.room_code,
            visit,
        })
    }

    /// Whether `visit_no` belongs to an appointment (a registration PUT
    /// under it is refused).
    pub async fn is_appointment(&self, visit_no: &VisitNo) -> Result<bool, Error> {
        let key = visit_no.to_string();
        let (held, visit) = self
            .db()
            .read(move |c| Ok((store::get_appointment(c, &key)?, store::get_visit(c, &key)?)))
            .await?;
        Ok(held.is_some() || visit.is_some_and(|v| v.appointed_room.is_some()))
    }

    /// Reads today's appointments not checked in yet and gives every room
    /// its list (screens of a room whose list changed are told). A failed
    /// read keeps what the screens show and is logged.
    pub async fn publish_appointments(&self) {
        let generation = GENERATION.fetch_add(1, Ordering::SeqCst);
        let now = self.now();
        let until = super::day::day_end_instant(service_date(now)).naive_utc();
        let read = self
            .db()
            .read(move |c| store::upcoming_appointments(c, now.naive_utc(), until))
            .await;
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error.cause = %e, "the appointments of today could not be read for the door screens");
                return;
            }
        };
        for room in &self.hospital().rooms {
            let list: Vec<AppointmentView> = rows
                .iter()
                .filter(|u| u.room_code == room.code)
                .map(|u| AppointmentView {
                    start: utc(u.start),
                    end: utc(u.end),
                    masked_name: mask_name(&u.patient_name),
                })
                .collect();
            self.directory()
                .publish_appointments(&room.code, generation, list);
        }
    }
}

fn visit_no_taken() -> Error {
    Error::new(
        ErrorCode::VisitNoTaken,
        "a registration has this number; an appointment needs an id of its own",
    )
}
