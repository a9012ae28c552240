//! Registrations (挂号) from HIS and what follows them: a registration
//! parsed by `api::registrations` (data that cannot be invalid) stored as
//! a create / replace / correct, check-in (签到),
//! back after a missed call or an exam (召回 / 回诊), cancel (退号), and a
//! visit as staff and HIS see it.

use super::facade::Acting;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use triage_actors::journal::Change;
use triage_actors::mask::{mask_name, spoken_name};
use triage_actors::model::{
    Audit, Correction, EntryKind, SealedRecord, Sex, Slot, SpecialTag, VisitStatus,
};
use triage_actors::queue::{CheckIn, CheckInOutcome, EntryDraft, Position, Remove, Requeue};
use triage_actors::room::CancelCurrent;
use utoipa::ToSchema;

use super::facade::Engine;
use crate::db::columns::VisitType;
use crate::db::models::{NewVisit, RegistrationChanges};
use crate::db::store::{self, Registered, UpsertOutcome};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DoctorCode, QueueCode, VisitNo};
use triage_ground::time::{service_date, utc};

/// How often a cancellation looks again at a visit that changed while it
/// was being cancelled (another copy of it, a call at the same moment).
const CANCEL_ATTEMPTS: usize = 8;

/// A registration, parsed from what HIS sent (`api::registrations`):
/// nothing in it can be invalid.
#[derive(Debug, Clone)]
pub struct Registration {
    pub patient: Patient,
    /// A department of the hospital's configuration.
    pub department_code: String,
    /// The doctor registered with (专家号), if any.
    pub doctor_code: Option<DoctorCode>,
    pub visit_type: VisitType,
    pub registered_at: DateTime<Utc>,
    /// The appointment slot, ending after it starts.
    pub slot: Option<Slot>,
    /// Sorted, once each.
    pub special: Vec<SpecialTag>,
    pub exam_items: Vec<ExamEntry>,
    /// Check the patient in at once.
    pub checked_in: bool,
    /// The HIS registration sequence number (挂号序号), 1-999999.
    pub sequence_no: Option<i64>,
    /// The body as sent: the same text again changes nothing.
    pub canonical: String,
}

/// The patient of a registration, parsed: id and name trimmed and not
/// blank, a birth date that can be.
#[derive(Debug, Clone)]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: Option<NaiveDate>,
}

/// An exam item (检查项目) as stored with the visit (`code`, `name`, as
/// HIS sent them).
#[derive(Debug, Clone, Serialize)]
pub struct ExamEntry {
    pub code: String,
    pub name: String,
}

impl Registration {
    /// The visit row this registration stores at `now`.
    pub(crate) fn row(&self, visit_no: &VisitNo, now: DateTime<Utc>) -> Result<NewVisit, Error> {
        Ok(NewVisit {
            visit_no: visit_no.to_string(),
            patient_id: self.patient.id.clone(),
            patient_name: self.patient.name.clone(),
            sex: self.patient.sex,
            birth_date: self.patient.birth_date.map(|d| d.to_string()),
            department_code: self.department_code.clone(),
            doctor_code: self.doctor_code.as_ref().map(ToString::to_string),
            visit_type: self.visit_type,
            registered_at: self.registered_at.naive_utc(),
            appointment_start: self.slot.map(|s| s.start.naive_utc()),
            appointment_end: self.slot.map(|s| s.end.naive_utc()),
            special: serde_json::to_string(&self.special).map_err(|_| Error::internal())?,
            exam_items: serde_json::to_string(&self.exam_items).map_err(|_| Error::internal())?,
            body: self.canonical.clone(),
            status: VisitStatus::Registered,
            created_at: now.naive_utc(),
            updated_at: now.naive_utc(),
            his_seq: self.sequence_no,
            appointed_room: None,
        })
    }
}

/// What a stored visit comes from: a registration, or an appointment
/// (which checks the number itself, under its own lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Registration,
    Appointment,
}

/// The answer to a registration PUT.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegistrationAnswer {
    pub visit_no: String,
    /// `created`, `replaced` or `unchanged`.
    pub outcome: String,
    #[schema(value_type = String, example = "waiting")]
    pub status: VisitStatus,
    pub check_in: Option<CheckInAnswer>,
}

/// The answer to a check-in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct CheckInAnswer {
    pub visit_no: String,
    pub ticket_no: String,
    pub queue_code: String,
    pub position: usize,
    pub ahead: usize,
    pub estimated_wait_minutes: u32,
    /// False when the visit had already checked in (same ticket).
    pub created: bool,
    /// The patient's own page (`/p/{token}`, relative to the server or the
    /// hospital's gateway): the same link for every answer of the visit
    /// today; it works until the visit closes or the day ends.
    #[schema(example = "/p/2kVw0Xz9mB4qS7nLr1tYcA")]
    pub patient_link: String,
    /// The same page at the address patients' phones reach (`[patient]
    /// public_url` followed by the link), when the hospital configured one.
    #[schema(example = "https://wx.hospital.cn/p/2kVw0Xz9mB4qS7nLr1tYcA")]
    pub patient_url: Option<String>,
}

/// The answer to a cancel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CancelAnswer {
    pub visit_no: String,
    #[schema(value_type = String, example = "cancelled")]
    pub status: VisitStatus,
    /// False when it was already cancelled.
    pub changed: bool,
}

/// A patient who left the queue for now, as the triage desk sees them
/// (过号 / 检查中 / 未到), with what may bring them back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AwayVisit {
    pub visit_no: String,
    pub ticket_no: Option<String>,
    /// Full name (staff in scope only).
    pub name: String,
    /// `missed`, `exam` or `no_show`.
    #[schema(value_type = String, example = "missed")]
    pub status: VisitStatus,
    /// 过号, 检查中, 未到.
    pub status_label: String,
    pub queue_code: Option<String>,
    /// The room that called them last.
    pub room_code: Option<String>,
    pub misses: i32,
    /// Since when (the last change).
    pub since: DateTime<Utc>,
    /// `recall` (召回), `return` (回诊), or none (a no-show registers again).
    pub back: Option<String>,
}

/// A visit as staff and HIS see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VisitAnswer {
    pub visit_no: String,
    #[schema(value_type = String, example = "waiting")]
    pub status: VisitStatus,
    pub masked_name: String,
    pub department_code: String,
    pub doctor_code: Option<String>,
    pub visit_type: String,
    pub special: Vec<String>,
    pub queue_code: Option<String>,
    pub ticket_no: Option<String>,
    pub position: Option<usize>,
    pub room_code: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub called_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Engine {
    /// Creates or replaces a registration (idempotent), checking in if asked.
    pub async fn put_registration(
        &self,
        visit_no: &VisitNo,
        registration: Registration,
        who: Acting,
    ) -> Result<(UpsertOutcome, RegistrationAnswer), Error> {
        let audit = self.stamp(who);
        let row = registration.row(visit_no, audit.at)?;
        self.open_day_of(&row, audit.at)?;
        if registration.checked_in {
            if let Some(answer) = self.register_checked_in(visit_no, &row, &audit).await? {
                return Ok((UpsertOutcome::Created, answer));
            }
        }
        let (outcome, mut status) = self
            .store_registration(row, &audit, Kind::Registration)
            .await?;
        tracing::info!(visit_no = %visit_no, outcome = ?outcome, "registration stored");
        let check_in = if registration.checked_in {
            let ans = self.check_in_at(visit_no, audit).await?;
            status = VisitStatus::Waiting;
            Some(ans)
        } else {
            None
        };
        Ok((
            outcome,
            Self::registration_answer(visit_no, outcome, status, check_in),
        ))
    }

    /// A new registration with `checked_in`: stored and checked in in one
    /// commit, so a refusal or an outage leaves nothing stored (a 503 is
    /// true). `None` when the number is known already (or became known
    /// meanwhile, or an appointment holds it): the caller stores and checks
    /// in as two steps, each answering for itself.
    async fn register_checked_in(
        &self,
        visit_no: &VisitNo,
        row: &NewVisit,
        audit: &Audit,
    ) -> Result<Option<RegistrationAnswer>, Error> {
        let number = visit_no.to_string();
        let known = self
            .db()
            .read(move |c| {
                Ok(store::get_visit(c, &number)?.is_some()
                    || store::get_appointment(c, &number)?.is_some())
            })
            .await?;
        if known {
            return Ok(None);
        }
        let before = Change::Registered {
            audit: audit.clone(),
            visit_no: visit_no.clone(),
            record: SealedRecord(serde_json::to_value(row).map_err(|_| Error::internal())?),
            seen_at: None,
        };
        let visit = crate::db::models::VisitRow::registered(row)?;
        match self
            .check_in_visit(visit, audit.clone(), Some(before))
            .await
        {
            Ok(ans) => {
                tracing::info!(visit_no = %visit_no, outcome = "created", "registration stored");
                Ok(Some(Self::registration_answer(
                    visit_no,
                    UpsertOutcome::Created,
                    VisitStatus::Waiting,
                    Some(ans),
                )))
            }
            // Only a failure to store answers for both: nothing is stored
            // (a 503 is true). A refusal of the check-in (too early, the
            // day closed, no queue, tickets run out) or a number stored
            // meanwhile by another message: stored and answered as two
            // steps, as before, so the registration is kept.
            Err(e) if e.code == ErrorCode::DatabaseUnavailable => Err(e),
            Err(_) => Ok(None),
        }
    }

    fn registration_answer(
        visit_no: &VisitNo,
        outcome: UpsertOutcome,
        status: VisitStatus,
        check_in: Option<CheckInAnswer>,
    ) -> RegistrationAnswer {
        RegistrationAnswer {
            visit_no: visit_no.to_string(),
            outcome: match outcome {
                UpsertOutcome::Created => "created",
                UpsertOutcome::Replaced => "replaced",
                UpsertOutcome::Unchanged => "unchanged",
            }
            .into(),
            status,
            check_in,
        }
    }

    /// Stores a registration: a plain create / replace while the visit is
    /// not in a queue, a correction through its queue or room while it is.
    /// The visit is read in the writer's transaction; when it moved on
    /// before a correction reached its queue (a check-in or a call
    /// meanwhile), it is read again, so a message never bypasses the queue.
    pub(crate) async fn store_registration(
        &self,
        row: NewVisit,
        audit: &Audit,
        kind: Kind,
    ) -> Result<(UpsertOutcome, VisitStatus), Error> {
        const ATTEMPTS: usize = 3;
        for _ in 0..ATTEMPTS {
            // The reads a registration needs (the visit, and for a
            // registration whether an appointment holds the number) ride in
            // the writer's transaction: no read before the write.
            let guard = kind == Kind::Registration;
            let found = self
                .db()
                .write_grouped(store::Registering {
                    new: row.clone(),
                    audit: audit.clone(),
                    guard_appointment: guard,
                })
                .await?;
            let stored = match found {
                Registered::Booked => {
                    return Err(Error::new(
                        ErrorCode::VisitNoTaken,
                        "an appointment has this number; change it with PUT /appointments/{id}",
                    ))
                }
                Registered::Stored(outcome, status) => Ok((outcome, status)),
                Registered::InQueue(v) => {
                    let status = v.status;
                    self.correct_registration(&v, row.clone(), audit.clone())
                        .await
                        .map(|()| (UpsertOutcome::Replaced, status))
                }
            };
            match stored {
                Err(e) if e.code == ErrorCode::StateConflict => continue,
                other => return other,
            }
        }
        Err(Error::new(
            ErrorCode::StateConflict,
            "the visit kept changing meanwhile; send the registration again",
        ))
    }

    /// A HIS correction of a patient waiting or called (same department and
    /// doctor; another needs a transfer): the queue or room and the stored
    /// registration change in one journaled change, then the screens.
    async fn correct_registration(
        &self,
        v: &crate::db::models::VisitRow,
        row: NewVisit,
        audit: Audit,
    ) -> Result<(), Error> {
        if v.department_code != row.department_code
            || row.doctor_code.as_deref() != v.doctor_code.as_deref()
        {
            return Err(Error::new(ErrorCode::VisitAlreadyInQueue, "the patient is already in a queue; to change department or doctor, transfer the visit (转诊)"));
        }
        // The queue tells staff pages as it commits: they show the new name
        // then. Put back the old one if the correction does not commit.
        let previous = self.names().get(&row.visit_no);
        self.names()
            .set(&row.visit_no, &row.patient_name, row.visit_type, self.now());
        let result = self.send_correction(v, row, audit).await;
        if result.is_err() {
            let (name, visit_type) = match &previous {
                Some(f) => (f.name.as_str(), f.visit_type),
                None => (v.patient_name.as_str(), v.visit_type),
            };
            self.names().set(&v.visit_no, name, visit_type, self.now());
        }
        result
    }

    async fn send_correction(
        &self,
        v: &crate::db::models::VisitRow,
        row: NewVisit,
        audit: Audit,
    ) -> Result<(), Error> {
        let record =
            serde_json::to_value(RegistrationChanges::from(&row)).map_err(|_| Error::internal())?;
        // A nurse's marks stay over what HIS now sends.
        let staff_marks = v.staff_marks()?;
        let correction = Correction {
            visit_no: VisitNo::trusted(row.visit_no.clone()),
            masked_name: mask_name(&row.patient_name),
            spoken_name: spoken_name(&row.patient_name, row.sex, self.hospital().voice_name),
            return_visit: row.visit_type == VisitType::Return,
            visit_type_changed: row.visit_type != v.visit_type,
            registered_tags: staff_marks.apply(
                &serde_json::from_str::<Vec<SpecialTag>>(&row.special)
                    .map_err(|_| Error::internal())?,
            ),
            birth_date: row
                .birth_date
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| Error::internal())?,
            his_seq: row.his_seq,
            slot: match (row.appointment_start, row.appointment_end) {
                (Some(start), Some(end)) => Some(Slot {
                    start: utc(start),
                    end: utc(end),
                }),
                _ => None,
            },
            record: SealedRecord(record),
            staff_marks,
            room: v.queue_code.as_deref().and_then(|q| {
                self.hospital()
                    .reserved_room(row.appointed_room.as_deref(), q)
            }),
        };
        let queue = v.required(&v.queue_code, "queue")?;
        let corrected = match v.status {
            VisitStatus::Waiting => self
                .queue_addr(&queue)?
                .send(triage_actors::queue::Correct { correction, audit })
                .await
                .map_err(triage_actors::EngineError::from)??,
            _ => {
                let rules = self
                    .queue_addr(&queue)?
                    .send(triage_actors::queue::GetRules)
                    .await
                    .map_err(triage_actors::EngineError::from)?;
                let day = service_date(v.checked_in_at.map_or(audit.at, utc));
                let tags = rules.tags_for(&correction.registered_tags, correction.birth_date, day);
                let room = v.required(&v.room_code, "room")?;
                self.room_addr(&room)?
                    .send(triage_actors::room::Correct {
                        correction,
                        tags,
                        audit,
                    })
                    .await
                    .map_err(triage_actors::EngineError::from)??
            }
        };
        if !corrected {
            return Err(Error::new(
                ErrorCode::StateConflict,
                "the visit changed meanwhile; send the registration again",
            ));
        }
        tracing::info!(visit_no = %v.visit_no, "registration corrected in the queue");
        Ok(())
    }

    /// The visit number a patient or nurse typed, as registered: one typed
    /// in lower case finds the visit registered in upper case, unless the
    /// hospital turned that off (`[calling] visit_no_any_case`).
    pub async fn visit_no_as_registered(&self, typed: VisitNo) -> VisitNo {
        let upper = typed.as_str().to_uppercase();
        if !self.hospital().visit_no_any_case || upper == typed.as_str() {
            return typed;
        }
        if self.load_visit(&typed).await.is_ok() {
            return typed;
        }
        match VisitNo::parse(&upper) {
            Ok(u) if self.load_visit(&u).await.is_ok() => u,
            _ => typed,
        }
    }

    pub(crate) async fn load_visit(
        &self,
        visit_no: &VisitNo,
    ) -> Result<crate::db::models::VisitRow, Error> {
        let v = visit_no.to_string();
        self.db()
            .read(move |c| store::get_visit(c, &v))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::VisitNotFound,
                    format!("no registration {visit_no:?}"),
                )
            })
    }

    /// What queue `queue` needs of a visit to enter it: masked and spoken
    /// names, the registration's tags and birth date (the queue adds the age
    /// tags of its rules in force), the room an appointment booked.
    pub(crate) fn entry_draft(
        &self,
        v: &crate::db::models::VisitRow,
        kind: EntryKind,
        queue: &str,
    ) -> Result<EntryDraft, Error> {
        self.names()
            .set(&v.visit_no, &v.patient_name, v.visit_type, self.now());
        Ok(EntryDraft {
            visit_no: v.visit_no.clone(),
            masked_name: mask_name(&v.patient_name),
            spoken_name: spoken_name(&v.patient_name, v.sex, self.hospital().voice_name),
            kind,
            tags: v.registered_tags()?,
            his_seq: v.his_seq,
            birth_date: v.birth_date()?,
            slot: super::facade::visit_slot(v),
            seen_at: Some(utc(v.updated_at)),
            room: self
                .hospital()
                .reserved_room(v.appointed_room.as_deref(), queue),
        })
    }

    /// The answer for a visit now waiting, with the wait estimate.
    pub(crate) fn waiting_answer(&self, visit_no: &str, out: CheckInOutcome) -> CheckInAnswer {
        // Rooms serving now; with none (all closed), as if one room will.
        let rooms = self
            .directory()
            .serving_rooms_of_queue(&out.queue_code)
            .max(1) as u32;
        let link = self.links().path(service_date(self.now()), visit_no);
        CheckInAnswer {
            visit_no: visit_no.to_string(),
            estimated_wait_minutes: (out.ahead as u32 * self.hospital().avg_service_minutes)
                .div_ceil(rooms),
            ticket_no: out.ticket_no,
            queue_code: out.queue_code.into(),
            position: out.position,
            ahead: out.ahead,
            created: out.created,
            patient_url: self
                .hospital()
                .patient
                .public_url
                .as_ref()
                .map(|base| format!("{base}{link}")),
            patient_link: link,
        }
    }

    /// Today's patients who left the queues of `queues` for now (missed a
    /// call, away for an exam, no-show), latest first, at most 200.
    pub async fn away_visits(&self, queues: Vec<QueueCode>) -> Result<Vec<AwayVisit>, Error> {
        let day = service_date(self.now()).to_string();
        let rows = self
            .db()
            .read(move |c| store::away_visits(c, &queues, &day, 200))
            .await?;
        rows.into_iter()
            .map(|v| {
                let status = v.status;
                let (label, back) = match status {
                    VisitStatus::Missed => ("过号", Some("recall")),
                    VisitStatus::Exam => ("检查中", Some("return")),
                    _ => ("未到", None),
                };
                Ok(AwayVisit {
                    ticket_no: v.ticket_no.clone(),
                    name: v.patient_name.clone(),
                    status,
                    status_label: label.into(),
                    queue_code: v.queue_code.clone().map(String::from),
                    room_code: v.room_code.clone().map(String::from),
                    misses: v.miss_count,
                    since: utc(v.finished_at.unwrap_or(v.updated_at)),
                    back: back.map(str::to_string),
                    visit_no: v.visit_no.into(),
                })
            })
            .collect()
    }

    /// Checks a registered patient in (签到): enters the queue with a ticket.
    /// Idempotent: a patient already waiting gets the same ticket.
    pub async fn check_in(&self, visit_no: &VisitNo, who: Acting) -> Result<CheckInAnswer, Error> {
        self.check_in_at(visit_no, self.stamp(who)).await
    }

    /// As [`Engine::check_in`], stamped by the command that runs it (one
    /// action, one instant).
    pub(crate) async fn check_in_at(
        &self,
        visit_no: &VisitNo,
        audit: Audit,
    ) -> Result<CheckInAnswer, Error> {
        super::facade::retrying(|| self.check_in_once(visit_no, audit.clone())).await
    }

    async fn check_in_once(
        &self,
        visit_no: &VisitNo,
        audit: Audit,
    ) -> Result<CheckInAnswer, Error> {
        let v = self.load_visit(visit_no).await?;
        self.check_in_visit(v, audit, None).await
    }

    /// Checks in the visit `v` as read (or as `before` stores it, committed
    /// first in the same batch).
    async fn check_in_visit(
        &self,
        v: crate::db::models::VisitRow,
        audit: Audit,
        before: Option<Change>,
    ) -> Result<CheckInAnswer, Error> {
        let visit_no = &v.visit_no;
        let status = v.status;
        if matches!(status, VisitStatus::Registered | VisitStatus::Closed) {
            self.open_day_of_visit(&v, audit.at)?;
            // An appointment on a later day checks in on its day (its visit
            // belongs to that day, and today's day end would close it).
            let day = super::day::visit_day(v.registered_at, v.appointment_start);
            if day > service_date(audit.at) {
                return Err(Error::new(
                    ErrorCode::TooEarly,
                    format!("预约日期是 {day}，请当天报到"),
                ));
            }
        }
        match status {
            VisitStatus::Registered | VisitStatus::Waiting => {}
            VisitStatus::Cancelled => {
                return Err(Error::new(
                    ErrorCode::RegistrationCancelled,
                    "the registration was cancelled (已退号)",
                ))
            }
            VisitStatus::Called => {
                return Err(Error::new(
                    ErrorCode::AlreadyCalled,
                    "the patient has already been called",
                ))
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::VisitClosed,
                    "the visit is already finished or set aside",
                ))
            }
        }
        let queue = match (status, &v.queue_code, &v.appointed_room) {
            (VisitStatus::Waiting, Some(q), _) => self.hospital().queue(q),
            // An appointment waits in its room's queue, kept for that room.
            (_, _, Some(room)) => self.hospital().queue_for_room(room),
            _ => self
                .hospital()
                .queue_for(&v.department_code, v.doctor_code.as_deref()),
        }
        .ok_or_else(|| Error::new(ErrorCode::NoQueue, "no queue serves this department"))?;
        let addr = self.queue_addr(&queue.code)?;
        let kind = if v.visit_type == VisitType::Return {
            EntryKind::Return
        } else {
            EntryKind::Normal
        };
        let mut draft = self.entry_draft(&v, kind, &queue.code)?;
        if before.is_some() {
            // Stored by `before` in the same commit: nothing to compare.
            draft.seen_at = None;
        }
        let day = service_date(audit.at);
        let out: CheckInOutcome = addr
            .send(CheckIn {
                draft,
                audit,
                service_date: day,
                slot: super::facade::visit_slot(&v),
                before,
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
        if out.created {
            tracing::info!(visit_no = %visit_no, ticket_no = %out.ticket_no, queue = %out.queue_code, "checked in");
            if v.appointed_room.is_some() {
                // It leaves its room's list of appointments not checked in.
                self.publish_appointments().await;
            }
        }
        Ok(self.waiting_answer(visit_no, out))
    }

    /// Brings back a patient set aside: after a missed call (过号召回, placed by
    /// the queue's recall interval) or from an exam with results (回诊, to the
    /// same doctor's queue, placed by the return-visit interval). Same ticket.
    /// Idempotent; a visit that ended as no-show cannot come back.
    pub async fn requeue(&self, visit_no: &VisitNo, who: Acting) -> Result<CheckInAnswer, Error> {
        let audit = self.stamp(who);
        super::facade::retrying(|| self.requeue_once(visit_no, audit.clone())).await
    }

    async fn requeue_once(&self, visit_no: &VisitNo, audit: Audit) -> Result<CheckInAnswer, Error> {
        let v = self.load_visit(visit_no).await?;
        let today = service_date(audit.at).to_string();
        if matches!(v.status, VisitStatus::Missed | VisitStatus::Exam)
            && v.service_date.as_deref() != Some(today.as_str())
        {
            // Yesterday's ticket number may be today's too.
            return Err(Error::new(
                ErrorCode::DayClosed,
                "该就诊属于以前的日期，已结束，请患者重新挂号",
            ));
        }
        let kind = match (v.status, v.entry_kind) {
            (VisitStatus::Missed, _) => EntryKind::Recall,
            (VisitStatus::Exam, _) => EntryKind::Return,
            (VisitStatus::Waiting, Some(_)) => v.entry_kind(),
            (VisitStatus::Closed, _) => {
                return Err(Error::new(
                    ErrorCode::DayClosed,
                    "该就诊已在日终时结束，请患者重新挂号",
                ))
            }
            (VisitStatus::NoShow, _) => {
                return Err(Error::new(
                    ErrorCode::VisitNoShow,
                    "该患者过号次数已达上限，本次就诊已按未到结束，请患者重新挂号",
                ))
            }
            (VisitStatus::Registered, _) => {
                return Err(Error::new(
                    ErrorCode::NotCheckedIn,
                    "the patient has not checked in yet",
                ))
            }
            (VisitStatus::Cancelled, _) => {
                return Err(Error::new(
                    ErrorCode::RegistrationCancelled,
                    "the registration was cancelled (已退号)",
                ))
            }
            (VisitStatus::Called, _) => {
                return Err(Error::new(
                    ErrorCode::AlreadyCalled,
                    "the patient is being called now",
                ))
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::VisitClosed,
                    "the visit is already finished",
                ))
            }
        };
        let q = v.required(&v.queue_code, "queue")?;
        let addr = self.queue_addr(&q)?;
        let draft = self.entry_draft(&v, kind, &q)?;
        let out = addr
            .send(Requeue {
                draft,
                ticket_no: v.required(&v.ticket_no, "ticket")?,
                misses: v.miss_count,
                audit,
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
        tracing::info!(visit_no = %visit_no, ticket_no = %out.ticket_no, queue = %q, kind = kind.as_str(), "back in the queue");
        Ok(self.waiting_answer(visit_no, out))
    }

    /// Cancels a registration (退号): it leaves every queue and room.
    pub async fn cancel(&self, visit_no: &VisitNo, who: Acting) -> Result<CancelAnswer, Error> {
        self.cancel_at(visit_no, self.stamp(who)).await
    }

    /// As [`Engine::cancel`], stamped by the command that runs it (one
    /// action, one instant).
    pub(crate) async fn cancel_at(
        &self,
        visit_no: &VisitNo,
        audit: Audit,
    ) -> Result<CancelAnswer, Error> {
        let done = |changed| {
            Ok(CancelAnswer {
                visit_no: visit_no.to_string(),
                status: VisitStatus::Cancelled,
                changed,
            })
        };
        // A cancellation that finds the visit changed meanwhile looks
        // again: the same cancellation sent twice at once is one that
        // changed it and one that changed nothing (200), never a 409.
        for _ in 0..CANCEL_ATTEMPTS {
            let v = self.load_visit(visit_no).await?;
            let changed = match v.status {
                VisitStatus::Cancelled => return done(false),
                VisitStatus::Registered => {
                    let (vn, a) = (visit_no.to_string(), audit.clone());
                    let changed = self
                        .db()
                        .write(move |c| store::cancel_registered(c, &vn, &a))
                        .await?;
                    if changed && v.appointed_room.is_some() {
                        self.publish_appointments().await;
                    }
                    changed
                }
                VisitStatus::Waiting => {
                    let q = v.required(&v.queue_code, "queue")?;
                    let removed = self
                        .queue_addr(&q)?
                        .send(Remove {
                            visit_no: visit_no.clone(),
                            audit: audit.clone(),
                        })
                        .await
                        .map_err(triage_actors::EngineError::from)??;
                    if removed {
                        tracing::info!(visit_no = %visit_no, queue = %q, "cancelled while waiting");
                    }
                    removed
                }
                VisitStatus::Called => {
                    let room = v.required(&v.room_code, "room")?;
                    self.room_addr(&room)?
                        .send(CancelCurrent {
                            visit_no: visit_no.clone(),
                            audit: audit.clone(),
                        })
                        .await
                        .map_err(triage_actors::EngineError::from)??
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::VisitClosed,
                        "the visit is already finished or set aside",
                    ))
                }
            };
            if changed {
                return done(true);
            }
        }
        Err(Error::new(
            ErrorCode::StateConflict,
            "the visit kept changing while it was being cancelled; try again",
        ))
    }

    /// The visit's name as public screens show it (张*三).
    pub async fn masked_name_of(&self, visit_no: &VisitNo) -> Result<String, Error> {
        Ok(mask_name(&self.load_visit(visit_no).await?.patient_name))
    }

    /// The department of a visit: what authorization looks at before a
    /// staff member may see or arrange it.
    pub async fn department_of(&self, visit_no: &VisitNo) -> Result<String, Error> {
        Ok(self.load_visit(visit_no).await?.department_code.into())
    }

    /// The visit's department, and the room that has it called now (if
    /// it is called).
    pub async fn department_and_room_of(
        &self,
        visit_no: &VisitNo,
    ) -> Result<(String, Option<String>), Error> {
        let v = self.load_visit(visit_no).await?;
        let room = match v.status {
            VisitStatus::Called => v.room_code.clone(),
            _ => None,
        };
        Ok((v.department_code.into(), room.map(String::from)))
    }

    pub async fn get_visit(&self, visit_no: &VisitNo) -> Result<VisitAnswer, Error> {
        let v = self.load_visit(visit_no).await?;
        let mut position = None;
        let status = v.status;
        if let (Some(q), VisitStatus::Waiting) = (&v.queue_code, status) {
            if let Some(addr) = self.directory().queues.get(q).map(|a| a.clone()) {
                position = addr
                    .send(Position {
                        visit_no: v.visit_no.clone(),
                    })
                    .await
                    .ok()
                    .flatten()
                    .map(|p| p.0);
            }
        }
        Ok(VisitAnswer {
            masked_name: mask_name(&v.patient_name),
            special: v
                .tags()?
                .into_iter()
                .chain(v.registered_tags()?)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|t| t.as_str().to_string())
                .collect(),
            visit_no: v.visit_no.into(),
            status,
            department_code: v.department_code.into(),
            doctor_code: v.doctor_code.map(String::from),
            visit_type: v.visit_type.to_string(),
            queue_code: v.queue_code.map(String::from),
            ticket_no: v.ticket_no,
            position,
            room_code: v.room_code.map(String::from),
            checked_in_at: v.checked_in_at.map(utc),
            called_at: v.called_at.map(utc),
            finished_at: v.finished_at.map(utc),
        })
    }
}
