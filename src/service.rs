//! What Triage does for a request, independent of HTTP: validate a
//! registration into data that cannot be invalid, then create/replace,
//! check in, cancel, or run a room command through the engine. The API
//! handlers and the demo simulator both call these.
//!
//! Order for every write: validate → commit (journal or store) → memory →
//! answer → screens. Nothing is changed by a request that fails validation.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use triage_actors::mask::{mask_name, spoken_name};
use triage_actors::model::{Audit, Correction, EntryKind, RoomStatus, SealedRecord};
use triage_actors::queue::{
    CheckIn, CheckInOutcome, EntryDraft, Intervene, Intervention, ListQueue, ListedEntry, Position,
    Remove, Requeue, Transfer, TransferIn,
};
use triage_actors::room::{
    CallNext, CancelCurrent, Finish, Recall, RoomOutcome, SendForExam, SetStatus, Skip,
};
use utoipa::ToSchema;

use crate::api::error::ApiError;
use crate::config::KNOWN_TAGS;
use crate::db::models::{NewVisit, RegistrationChanges};
use crate::db::store::{self, UpsertOutcome};
use crate::engine::{parse_tags, service_date, utc, Engine};

/// A registration as HIS sends it (`PUT /api/v1/registrations/{visit_no}`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RegistrationBody {
    pub patient: PatientBody,
    pub department_code: String,
    #[serde(default)]
    pub doctor_code: Option<String>,
    /// `first` (初诊) or `return` (复诊); 初诊/复诊 accepted.
    pub visit_type: String,
    pub registered_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub appointment: Option<AppointmentBody>,
    #[serde(default)]
    pub special: Vec<String>,
    #[serde(default)]
    pub exam_items: Vec<ExamItem>,
    /// Check the patient in at once.
    #[serde(default)]
    pub checked_in: bool,
    /// The HIS registration sequence number (挂号序号), 1-999999; queues
    /// configured with `base_order = his_sequence` call by it.
    #[serde(default)]
    pub sequence_no: Option<i64>,
}

/// The patient part of a registration.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PatientBody {
    pub id: String,
    pub name: String,
    /// GB/T 2261.1 code (0/1/2/9, number or string) or 男/女.
    #[schema(value_type = String, example = "1")]
    pub sex: Value,
    #[serde(default)]
    pub birth_date: Option<String>,
}

/// An appointment slot.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct AppointmentBody {
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
}

/// An exam item (检查项目).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ExamItem {
    pub code: String,
    pub name: String,
}

/// Checks why a manual action is taken (recorded in the audit event):
/// 1-200 printable characters, trimmed.
pub fn audit_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "invalid_reason",
            "reason",
            "say why, in 1-200 characters",
        ));
    }
    Ok(reason.to_string())
}

/// Checks a code from a path or body (visit number, room, queue, doctor).
pub fn valid_code(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn text_ok(s: &str, max: usize) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
}

/// Normalises sex to GB/T 2261.1 ("0", "1", "2", "9").
pub fn normalise_sex(v: &Value) -> Option<&'static str> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_lowercase(),
        _ => return None,
    };
    match s.as_str() {
        "0" | "未知" | "unknown" => Some("0"),
        "1" | "男" | "m" | "male" => Some("1"),
        "2" | "女" | "f" | "female" => Some("2"),
        "9" | "未说明" => Some("9"),
        _ => None,
    }
}

/// Validates a registration into a row; `now` bounds the dates.
pub fn validate_registration(
    engine: &Engine,
    visit_no: &str,
    body: &RegistrationBody,
    canonical: String,
    now: DateTime<Utc>,
) -> Result<NewVisit, ApiError> {
    if !valid_code(visit_no, 64) {
        return Err(ApiError::invalid(
            "invalid_visit_no",
            "visit_no",
            "visit numbers are 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    let p = &body.patient;
    if !text_ok(&p.id, 64) {
        return Err(ApiError::invalid(
            "invalid_patient_id",
            "patient.id",
            "patient id is required (at most 64 characters)",
        ));
    }
    if !text_ok(&p.name, 64) {
        return Err(ApiError::invalid(
            "invalid_patient_name",
            "patient.name",
            "patient name is required (at most 64 characters)",
        ));
    }
    let sex = normalise_sex(&p.sex).ok_or_else(|| {
        ApiError::invalid(
            "invalid_sex",
            "patient.sex",
            "sex is a GB/T 2261.1 code (0, 1, 2, 9) or 男/女",
        )
    })?;
    let birth_date = match &p.birth_date {
        None => None,
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                ApiError::invalid(
                    "invalid_birth_date",
                    "patient.birth_date",
                    "birth date is YYYY-MM-DD",
                )
            })?;
            let earliest = NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(d);
            if d > service_date(now) || d < earliest {
                return Err(ApiError::invalid(
                    "invalid_birth_date",
                    "patient.birth_date",
                    "birth date is in the future or before 1880",
                ));
            }
            Some(d.to_string())
        }
    };
    if engine.hospital.department(&body.department_code).is_none() {
        return Err(ApiError::invalid(
            "unknown_department",
            "department_code",
            format!(
                "no department {:?} in this hospital's configuration",
                body.department_code
            ),
        ));
    }
    if let Some(d) = &body.doctor_code {
        if !valid_code(d, 32) {
            return Err(ApiError::invalid(
                "invalid_doctor_code",
                "doctor_code",
                "doctor codes are 1-32 letters, digits, '-', '_' or '.'",
            ));
        }
    }
    let visit_type = match body.visit_type.trim() {
        "first" | "初诊" => "first",
        "return" | "复诊" | "回诊" => "return",
        _ => {
            return Err(ApiError::invalid(
                "invalid_visit_type",
                "visit_type",
                "visit_type is first (初诊) or return (复诊)",
            ))
        }
    };
    if let Some(a) = &body.appointment {
        if a.start >= a.end {
            return Err(ApiError::invalid(
                "invalid_appointment",
                "appointment.end",
                "the slot must end after it starts",
            ));
        }
    }
    for (i, t) in body.special.iter().enumerate() {
        if !KNOWN_TAGS.contains(&t.as_str()) {
            return Err(ApiError::invalid(
                "unknown_special_tag",
                &format!("special[{i}]"),
                format!(
                    "unknown special tag {t:?} (known: {})",
                    KNOWN_TAGS.join(", ")
                ),
            ));
        }
    }
    for (i, e) in body.exam_items.iter().enumerate() {
        if !text_ok(&e.code, 64) || !text_ok(&e.name, 128) {
            return Err(ApiError::invalid(
                "invalid_exam_item",
                &format!("exam_items[{i}]"),
                "exam items need a code and a name",
            ));
        }
    }
    if let Some(n) = body.sequence_no {
        if !(1..=999_999).contains(&n) {
            return Err(ApiError::invalid(
                "invalid_sequence_no",
                "sequence_no",
                "the HIS sequence number is 1 to 999999",
            ));
        }
    }
    let mut special = body.special.clone();
    special.sort();
    special.dedup();
    Ok(NewVisit {
        visit_no: visit_no.to_string(),
        patient_id: p.id.trim().to_string(),
        patient_name: p.name.trim().to_string(),
        sex: sex.to_string(),
        birth_date,
        department_code: body.department_code.clone(),
        doctor_code: body.doctor_code.clone(),
        visit_type: visit_type.to_string(),
        registered_at: body.registered_at.with_timezone(&Utc).naive_utc(),
        appointment_start: body
            .appointment
            .as_ref()
            .map(|a| a.start.with_timezone(&Utc).naive_utc()),
        appointment_end: body
            .appointment
            .as_ref()
            .map(|a| a.end.with_timezone(&Utc).naive_utc()),
        special: serde_json::to_string(&special).unwrap_or_else(|_| "[]".into()),
        exam_items: serde_json::to_string(&body.exam_items).unwrap_or_else(|_| "[]".into()),
        body: canonical,
        status: "registered".into(),
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        his_seq: body.sequence_no,
    })
}

/// The answer to a registration PUT.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegistrationAnswer {
    pub visit_no: String,
    /// `created`, `replaced` or `unchanged`.
    pub outcome: String,
    pub status: String,
    pub check_in: Option<CheckInAnswer>,
}

/// The answer to a check-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct CheckInAnswer {
    pub visit_no: String,
    pub ticket_no: String,
    pub queue_code: String,
    pub position: usize,
    pub ahead: usize,
    pub estimated_wait_minutes: u32,
    /// False when the visit had already checked in (same ticket).
    pub created: bool,
}

/// Creates or replaces a registration (idempotent), checking in if asked.
pub async fn put_registration(
    engine: &Engine,
    visit_no: &str,
    body: RegistrationBody,
    canonical: String,
    audit: Audit,
) -> Result<(UpsertOutcome, RegistrationAnswer), ApiError> {
    let row = validate_registration(engine, visit_no, &body, canonical, audit.at)?;
    let v = visit_no.to_string();
    let existing = engine.db.read(move |c| store::get_visit(c, &v)).await?;
    let (outcome, mut status) = match existing {
        Some(v) if matches!(v.status.as_str(), "waiting" | "called") && v.body != row.body => {
            correct_registration(engine, &v, row, audit.clone()).await?;
            (UpsertOutcome::Replaced, v.status)
        }
        _ => {
            let a = audit.clone();
            engine
                .db
                .write(move |c| store::upsert_registration(c, row, &a))
                .await?
        }
    };
    tracing::info!(visit_no = %visit_no, outcome = ?outcome, "registration stored");
    let check_in = if body.checked_in {
        let ans = check_in(engine, visit_no, audit).await?;
        status = "waiting".into();
        Some(ans)
    } else {
        None
    };
    Ok((
        outcome,
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
        },
    ))
}

/// A HIS correction of a patient waiting or called (same department and
/// doctor; another needs a transfer): the queue or room and the stored
/// registration change in one journaled change, then the screens.
async fn correct_registration(
    engine: &Engine,
    v: &crate::db::models::VisitRow,
    row: NewVisit,
    audit: Audit,
) -> Result<(), ApiError> {
    if v.department_code != row.department_code || v.doctor_code != row.doctor_code {
        return Err(ApiError::conflict(
            "visit_already_in_queue",
            "the patient is already in a queue; to change department or doctor, transfer the visit (转诊)",
        ));
    }
    let record =
        serde_json::to_value(RegistrationChanges::from(&row)).map_err(|_| ApiError::internal())?;
    let correction = Correction {
        visit_no: row.visit_no.clone(),
        masked_name: mask_name(&row.patient_name),
        spoken_name: spoken_name(&row.patient_name, &row.sex, engine.hospital.voice_name),
        return_visit: row.visit_type == "return",
        registered_tags: parse_tags(&row.special),
        birth_date: row.birth_date.as_deref().and_then(|d| d.parse().ok()),
        his_seq: row.his_seq,
        slot: match (row.appointment_start, row.appointment_end) {
            (Some(start), Some(end)) => Some(triage_actors::model::Slot {
                start: utc(start),
                end: utc(end),
            }),
            _ => None,
        },
        record: SealedRecord(record),
    };
    let queue = v.queue_code.clone().unwrap_or_default();
    let corrected = match v.status.as_str() {
        "waiting" => queue_addr(engine, &queue)?
            .send(triage_actors::queue::Correct { correction, audit })
            .await
            .map_err(triage_actors::EngineError::from)??,
        _ => {
            let rules = queue_addr(engine, &queue)?
                .send(triage_actors::queue::GetRules)
                .await
                .map_err(triage_actors::EngineError::from)?;
            let day = service_date(v.checked_in_at.map_or(audit.at, utc));
            let tags = rules.tags_for(&correction.registered_tags, correction.birth_date, day);
            let room = v.room_code.clone().unwrap_or_default();
            room_addr(engine, &room)?
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
        return Err(ApiError::conflict(
            "state_conflict",
            "the visit changed meanwhile; send the registration again",
        ));
    }
    tracing::info!(visit_no = %v.visit_no, "registration corrected in the queue");
    Ok(())
}

async fn load_visit(
    engine: &Engine,
    visit_no: &str,
) -> Result<crate::db::models::VisitRow, ApiError> {
    if !valid_code(visit_no, 64) {
        return Err(ApiError::invalid(
            "invalid_visit_no",
            "visit_no",
            "visit numbers are 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    let v = visit_no.to_string();
    engine
        .db
        .read(move |c| store::get_visit(c, &v))
        .await?
        .ok_or_else(|| {
            ApiError::not_found("visit_not_found", format!("no registration {visit_no:?}"))
        })
}

/// What a queue needs of a visit to enter it: masked and spoken names,
/// the registration's tags and birth date (the queue adds the age tags of
/// its rules in force).
fn entry_draft(engine: &Engine, v: &crate::db::models::VisitRow, kind: EntryKind) -> EntryDraft {
    EntryDraft {
        visit_no: v.visit_no.clone(),
        masked_name: mask_name(&v.patient_name),
        spoken_name: spoken_name(&v.patient_name, &v.sex, engine.hospital.voice_name),
        kind,
        tags: parse_tags(&v.special),
        his_seq: v.his_seq,
        birth_date: v.birth_date.as_deref().and_then(|d| d.parse().ok()),
        slot: crate::engine::visit_slot(v),
    }
}

/// The running actor of a queue.
pub fn queue_addr(
    engine: &Engine,
    code: &str,
) -> Result<actix::Addr<triage_actors::queue::QueueActor>, ApiError> {
    engine
        .directory
        .queues
        .get(code)
        .map(|a| a.clone())
        .ok_or_else(|| ApiError::conflict("no_queue", "the queue is not running"))
}

/// The answer for a visit now waiting, with the wait estimate.
fn waiting_answer(engine: &Engine, visit_no: &str, out: CheckInOutcome) -> CheckInAnswer {
    // Rooms serving now; with none (all closed), as if one room will.
    let rooms = engine
        .directory
        .serving_rooms_of_queue(&out.queue_code)
        .max(1) as u32;
    CheckInAnswer {
        visit_no: visit_no.to_string(),
        estimated_wait_minutes: (out.ahead as u32 * engine.hospital.avg_service_minutes)
            .div_ceil(rooms),
        ticket_no: out.ticket_no,
        queue_code: out.queue_code,
        position: out.position,
        ahead: out.ahead,
        created: out.created,
    }
}

/// Checks a registered patient in (签到): enters the queue with a ticket.
/// Idempotent: a patient already waiting gets the same ticket.
pub async fn check_in(
    engine: &Engine,
    visit_no: &str,
    audit: Audit,
) -> Result<CheckInAnswer, ApiError> {
    let v = load_visit(engine, visit_no).await?;
    match v.status.as_str() {
        "registered" | "waiting" => {}
        "cancelled" => {
            return Err(ApiError::conflict(
                "registration_cancelled",
                "the registration was cancelled (已退号)",
            ))
        }
        "called" => {
            return Err(ApiError::conflict(
                "already_called",
                "the patient has already been called",
            ))
        }
        _ => {
            return Err(ApiError::conflict(
                "visit_closed",
                "the visit is already finished or set aside",
            ))
        }
    }
    let queue = match (&v.status[..], &v.queue_code) {
        ("waiting", Some(q)) => engine.hospital.queue(q),
        _ => engine
            .hospital
            .queue_for(&v.department_code, v.doctor_code.as_deref()),
    }
    .ok_or_else(|| ApiError::conflict("no_queue", "no queue serves this department"))?;
    let addr = queue_addr(engine, &queue.code)?;
    let kind = if v.visit_type == "return" {
        EntryKind::Return
    } else {
        EntryKind::Normal
    };
    let draft = entry_draft(engine, &v, kind);
    let day = service_date(audit.at);
    let out: CheckInOutcome = addr
        .send(CheckIn {
            draft,
            audit,
            service_date: day,
            slot: crate::engine::visit_slot(&v),
        })
        .await
        .map_err(triage_actors::EngineError::from)??;
    if out.created {
        tracing::info!(visit_no = %visit_no, ticket_no = %out.ticket_no, queue = %out.queue_code, "checked in");
    }
    Ok(waiting_answer(engine, visit_no, out))
}

/// Brings back a patient set aside: after a missed call (过号召回, placed by
/// the queue's recall interval) or from an exam with results (回诊, to the
/// same doctor's queue, placed by the return-visit interval). Same ticket.
/// Idempotent; a visit that ended as no-show cannot come back.
pub async fn requeue(
    engine: &Engine,
    visit_no: &str,
    audit: Audit,
) -> Result<CheckInAnswer, ApiError> {
    let v = load_visit(engine, visit_no).await?;
    let kind = match (v.status.as_str(), v.entry_kind.as_deref()) {
        ("missed", _) => EntryKind::Recall,
        ("exam", _) => EntryKind::Return,
        ("waiting", Some(k)) => EntryKind::parse(k),
        ("no_show", _) => {
            return Err(ApiError::conflict(
                "visit_no_show",
                "the patient missed too many calls; the visit ended as no-show (请重新挂号)",
            ))
        }
        ("registered", _) => {
            return Err(ApiError::conflict(
                "not_checked_in",
                "the patient has not checked in yet",
            ))
        }
        ("cancelled", _) => {
            return Err(ApiError::conflict(
                "registration_cancelled",
                "the registration was cancelled (已退号)",
            ))
        }
        ("called", _) => {
            return Err(ApiError::conflict(
                "already_called",
                "the patient is being called now",
            ))
        }
        _ => {
            return Err(ApiError::conflict(
                "visit_closed",
                "the visit is already finished",
            ))
        }
    };
    let q = v.queue_code.clone().unwrap_or_default();
    let addr = queue_addr(engine, &q)?;
    let draft = entry_draft(engine, &v, kind);
    let out = addr
        .send(Requeue {
            draft,
            ticket_no: v.ticket_no.clone().unwrap_or_default(),
            misses: v.miss_count,
            audit,
        })
        .await
        .map_err(triage_actors::EngineError::from)??;
    tracing::info!(visit_no = %visit_no, ticket_no = %out.ticket_no, queue = %q, kind = kind.as_str(), "back in the queue");
    Ok(waiting_answer(engine, visit_no, out))
}

/// The answer to a nurse's intervention.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InterventionAnswer {
    pub visit_no: String,
    /// `held`, `released`, `pinned` or `moved`.
    pub action: String,
    pub queue_code: String,
    /// Position in calling order now (held patients are listed last).
    pub position: usize,
}

/// A nurse holds (挂起), releases (恢复), pins (置顶) or moves (调整顺序) a
/// waiting patient.
/// `audit.reason` says why; every one is an audited event.
pub async fn intervene(
    engine: &Engine,
    visit_no: &str,
    action: Intervention,
    audit: Audit,
) -> Result<InterventionAnswer, ApiError> {
    let v = load_visit(engine, visit_no).await?;
    if v.status != "waiting" {
        return Err(ApiError::conflict(
            "visit_not_waiting",
            "only a waiting patient can be held, released, pinned or moved",
        ));
    }
    let q = v.queue_code.clone().unwrap_or_default();
    let addr = queue_addr(engine, &q)?;
    let position = addr
        .send(Intervene {
            visit_no: visit_no.to_string(),
            action,
            audit,
        })
        .await
        .map_err(triage_actors::EngineError::from)??;
    let action = match action {
        Intervention::Hold => "held",
        Intervention::Release => "released",
        Intervention::Pin => "pinned",
        Intervention::Move(_) => "moved",
    };
    tracing::info!(visit_no = %visit_no, queue = %q, action, "manual intervention");
    Ok(InterventionAnswer {
        visit_no: visit_no.to_string(),
        action: action.to_string(),
        queue_code: q,
        position,
    })
}

/// The answer to a cancel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CancelAnswer {
    pub visit_no: String,
    pub status: String,
    /// False when it was already cancelled.
    pub changed: bool,
}

/// Cancels a registration (退号): it leaves every queue and room.
pub async fn cancel(
    engine: &Engine,
    visit_no: &str,
    audit: Audit,
) -> Result<CancelAnswer, ApiError> {
    let v = load_visit(engine, visit_no).await?;
    let done = |changed| {
        Ok(CancelAnswer {
            visit_no: visit_no.to_string(),
            status: "cancelled".into(),
            changed,
        })
    };
    match v.status.as_str() {
        "cancelled" => done(false),
        "registered" => {
            let (vn, a) = (visit_no.to_string(), audit);
            let changed = engine
                .db
                .write(move |c| store::cancel_registered(c, &vn, &a))
                .await?;
            if changed {
                done(true)
            } else {
                Err(ApiError::conflict(
                    "state_conflict",
                    "the visit changed meanwhile; try again",
                ))
            }
        }
        "waiting" => {
            let q = v.queue_code.clone().unwrap_or_default();
            let addr = queue_addr(engine, &q)?;
            let removed = addr
                .send(Remove {
                    visit_no: visit_no.to_string(),
                    audit,
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
            if removed {
                tracing::info!(visit_no = %visit_no, queue = %q, "cancelled while waiting");
                done(true)
            } else {
                Err(ApiError::conflict(
                    "state_conflict",
                    "the visit changed meanwhile; try again",
                ))
            }
        }
        "called" => {
            let room = v.room_code.clone().unwrap_or_default();
            let addr = room_addr(engine, &room)?;
            let removed = addr
                .send(CancelCurrent {
                    visit_no: visit_no.to_string(),
                    audit,
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
            if removed {
                done(true)
            } else {
                Err(ApiError::conflict(
                    "state_conflict",
                    "the visit changed meanwhile; try again",
                ))
            }
        }
        _ => Err(ApiError::conflict(
            "visit_closed",
            "the visit is already finished or set aside",
        )),
    }
}

fn room_addr(
    engine: &Engine,
    room: &str,
) -> Result<actix::Addr<triage_actors::room::RoomActor>, ApiError> {
    engine
        .directory
        .rooms
        .get(room)
        .map(|a| a.clone())
        .ok_or_else(|| ApiError::not_found("room_not_found", format!("no room {room:?}")))
}

/// A room command (doctor's caller page or HIS workstation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomCommand {
    CallNext,
    Recall,
    Skip,
    SendForExam,
    Finish,
    Pause,
    Resume,
    Close,
}

/// The answer to a room command.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoomAnswer {
    pub room_code: String,
    /// `open`, `paused` or `closed`.
    #[schema(value_type = String, example = "open")]
    pub status: RoomStatus,
    /// The patient now called in this room, if any.
    pub current: Option<CalledPatient>,
    /// The visit this command closed (finished or skipped), if any:
    /// `{visit_no, ticket_no, outcome}`.
    #[schema(value_type = Option<Object>)]
    pub closed: Option<triage_actors::room::ClosedVisit>,
    /// Closing a room: patients of its short list sent back to the general
    /// list, and patients moved to the department's shared queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redistributed: Option<usize>,
}

/// A called patient as staff answers show it (masked name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct CalledPatient {
    pub visit_no: String,
    pub ticket_no: String,
    pub masked_name: String,
    pub queue_code: String,
    pub called_at: DateTime<Utc>,
    pub call_count: i32,
    /// Why this patient was chosen: placement code and words.
    pub reason_code: String,
    pub reason: String,
    pub special: Vec<String>,
}

fn reason_zh(code: &str) -> &'static str {
    match code {
        "special_group" => "特殊人群优先",
        "return_interval" => "复诊插入",
        "return_ratio" => "复诊按比例",
        "recall_interval" => "过号召回",
        "fairness_cap" => "公平保障",
        "manual" => "指定叫号",
        "locked_head" => "位置锁定",
        "appointment" => "预约患者",
        "late_interval" | "late_end_of_slot" | "late_end_of_session" | "late_as_on_time" => {
            "预约迟到"
        }
        "recall_end_of_slot" | "recall_end_of_session" => "过号召回",
        "pinned" => "护士置顶",
        "moved" => "护士调整顺序",
        "overtake_cap" => "公平保障",
        "room_waiting" => "诊室候诊",
        "his_sequence" => "按挂号序号",
        "check_in_order" => "按签到顺序",
        _ => "",
    }
}

impl From<RoomOutcome> for RoomAnswer {
    fn from(o: RoomOutcome) -> Self {
        RoomAnswer {
            room_code: o.room_code,
            status: o.status,
            current: o.current.map(|c| CalledPatient {
                reason: reason_zh(&c.placement).to_string(),
                reason_code: c.placement,
                visit_no: c.visit_no,
                ticket_no: c.ticket_no,
                masked_name: c.masked_name,
                queue_code: c.queue_code,
                called_at: c.called_at,
                call_count: c.call_count,
                special: c
                    .tags
                    .iter()
                    .map(|t| triage_actors::rules::tag_label_zh(t))
                    .collect(),
            }),
            closed: o.closed,
            released: None,
            redistributed: None,
        }
    }
}

/// Runs a room command.
pub async fn room_command(
    engine: &Engine,
    room: &str,
    cmd: RoomCommand,
    audit: Audit,
) -> Result<RoomAnswer, ApiError> {
    let addr = room_addr(engine, room)?;
    let performer = audit.operator.clone();
    let res = match cmd {
        RoomCommand::CallNext => {
            addr.send(CallNext {
                audit,
                performer,
                visit_no: None,
            })
            .await
        }
        RoomCommand::Recall => addr.send(Recall { audit }).await,
        RoomCommand::Skip => addr.send(Skip { audit }).await,
        RoomCommand::SendForExam => addr.send(SendForExam { audit }).await,
        RoomCommand::Finish => addr.send(Finish { audit, performer }).await,
        RoomCommand::Pause => {
            addr.send(SetStatus {
                audit,
                status: RoomStatus::Paused,
            })
            .await
        }
        RoomCommand::Resume => {
            addr.send(SetStatus {
                audit,
                status: RoomStatus::Open,
            })
            .await
        }
        RoomCommand::Close => {
            addr.send(SetStatus {
                audit,
                status: RoomStatus::Closed,
            })
            .await
        }
    };
    let out = res.map_err(triage_actors::EngineError::from)??;
    if let (RoomCommand::CallNext, Some(c)) = (cmd, &out.current) {
        tracing::info!(room = %room, visit_no = %c.visit_no, ticket_no = %c.ticket_no, placement = %c.placement, "called");
    }
    Ok(out.into())
}

/// Closes a room (停诊): its short list goes back to the general list and,
/// with `redistribute`, the patients of its doctor's own queue move to the
/// department's shared queue keeping their check-in time — unless another
/// open room calls that queue. Repeating it finishes what a crash left.
pub async fn close_room(
    engine: &Engine,
    room: &str,
    redistribute: bool,
    reason: String,
    audit: Audit,
) -> Result<RoomAnswer, ApiError> {
    let mut answer = room_command(engine, room, RoomCommand::Close, audit.clone()).await?;
    let def = engine
        .hospital
        .room(room)
        .ok_or_else(|| ApiError::not_found("room_not_found", format!("no room {room:?}")))?;
    let mut released = 0;
    for q in &def.queues {
        let addr = queue_addr(engine, q)?;
        released += addr
            .send(triage_actors::queue::ReleaseRoom {
                room_code: room.to_string(),
                audit: audit.clone(),
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
    }
    let mut moved = 0;
    if redistribute {
        let own = def
            .queues
            .iter()
            .filter_map(|q| engine.hospital.queue(q))
            .filter(|q| q.doctor.is_some() && q.doctor == def.doctor);
        for q in own {
            let served_elsewhere = engine.directory.rooms_of_queue(&q.code).iter().any(|r| {
                r != room
                    && engine
                        .directory
                        .room_view(r, 0)
                        .is_some_and(|v| v.status == RoomStatus::Open)
            });
            let Some(shared) = engine.hospital.queue_for(&q.department, None) else {
                continue;
            };
            if served_elsewhere || shared.code == q.code {
                continue;
            }
            let waiting = list_queue(engine, &q.code).await?.entries;
            for e in waiting {
                let body = TransferBody {
                    queue_code: Some(shared.code.clone()),
                    room_code: None,
                    doctor_code: None,
                    keep_check_in_time: true,
                    reason: reason.clone(),
                };
                match transfer(engine, &e.visit_no, body, audit.clone()).await {
                    Ok(_) => moved += 1,
                    // Left meanwhile (called elsewhere, cancelled): nothing to move.
                    Err(err) if err.status.as_u16() == 409 => {}
                    Err(err) => return Err(err),
                }
            }
        }
    }
    tracing::info!(room = %room, released, redistributed = moved, "room closed");
    answer.released = Some(released);
    answer.redistributed = Some(moved);
    Ok(answer)
}

/// Calls one waiting patient by name, out of order (指定叫号), in `room`;
/// the patient must wait in one of the queues the room calls from.
pub async fn call_visit(
    engine: &Engine,
    room: &str,
    visit_no: &str,
    audit: Audit,
) -> Result<RoomAnswer, ApiError> {
    if !valid_code(visit_no, 64) {
        return Err(ApiError::invalid(
            "invalid_visit_no",
            "visit_no",
            "visit numbers are 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    let addr = room_addr(engine, room)?;
    // Checked before anything is committed: a refused call-by-name must not
    // finish the room's current patient.
    let v = load_visit(engine, visit_no).await?;
    let serves = engine
        .hospital
        .room(room)
        .is_some_and(|r| v.queue_code.as_ref().is_some_and(|q| r.queues.contains(q)));
    if v.status != "waiting" || !serves {
        return Err(ApiError::conflict(
            "visit_not_waiting_here",
            "the patient is not waiting in a queue this room calls from",
        ));
    }
    let performer = audit.operator.clone();
    let out = addr
        .send(CallNext {
            audit,
            performer,
            visit_no: Some(visit_no.to_string()),
        })
        .await
        .map_err(triage_actors::EngineError::from)?
        .map_err(|e| match e {
            triage_actors::EngineError::NotWaiting(_) => ApiError::conflict(
                "visit_not_waiting_here",
                "the patient is not waiting in a queue this room calls from",
            ),
            other => ApiError::from(other),
        })?;
    tracing::info!(room = %room, visit_no = %visit_no, "called by name");
    Ok(out.into())
}

/// Where a transfer (转诊) goes and how.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct TransferBody {
    /// The target queue; or give `room_code` (its first queue) or
    /// `doctor_code` (that doctor's own queue). Exactly one of the three.
    #[serde(default)]
    pub queue_code: Option<String>,
    #[serde(default)]
    pub room_code: Option<String>,
    #[serde(default)]
    pub doctor_code: Option<String>,
    /// Keep the original check-in time (default) or start from now.
    #[serde(default = "default_true")]
    pub keep_check_in_time: bool,
    /// Why (recorded in the audit event).
    pub reason: String,
}

fn default_true() -> bool {
    true
}

/// Moves a waiting or called patient to another queue, room or doctor
/// (转诊): one durable change; the patient keeps the ticket.
pub async fn transfer(
    engine: &Engine,
    visit_no: &str,
    body: TransferBody,
    mut audit: Audit,
) -> Result<CheckInAnswer, ApiError> {
    let reason = audit_reason(&body.reason)?;
    let target = match (&body.queue_code, &body.room_code, &body.doctor_code) {
        (Some(q), None, None) => engine.hospital.queue(q).ok_or_else(|| {
            ApiError::invalid("unknown_queue", "queue_code", format!("no queue {q:?}"))
        })?,
        (None, Some(r), None) => {
            let room = engine.hospital.room(r).ok_or_else(|| {
                ApiError::invalid("unknown_room", "room_code", format!("no room {r:?}"))
            })?;
            room.queues
                .first()
                .and_then(|q| engine.hospital.queue(q))
                .ok_or_else(|| {
                    ApiError::invalid("unknown_room", "room_code", "the room calls from no queue")
                })?
        }
        (None, None, Some(d)) => engine
            .hospital
            .queues
            .iter()
            .find(|q| q.doctor.as_deref() == Some(d.as_str()))
            .ok_or_else(|| {
                ApiError::invalid(
                    "no_doctor_queue",
                    "doctor_code",
                    format!("doctor {d:?} has no own queue"),
                )
            })?,
        _ => {
            return Err(ApiError::invalid(
                "invalid_transfer_target",
                "queue_code",
                "give exactly one of queue_code, room_code, doctor_code",
            ))
        }
    };
    let v = load_visit(engine, visit_no).await?;
    let (from_queue, from_room) = match v.status.as_str() {
        "waiting" => (v.queue_code.clone(), None),
        "called" => (None, v.room_code.clone()),
        _ => {
            return Err(ApiError::conflict(
                "visit_not_waiting",
                "only a waiting or called patient can be transferred",
            ))
        }
    };
    if from_queue.as_deref() == Some(target.code.as_str()) {
        return Err(ApiError::conflict(
            "same_queue",
            "the patient already waits in that queue",
        ));
    }
    audit.reason = Some(reason);
    let kind = EntryKind::parse(v.entry_kind.as_deref().unwrap_or("normal"));
    let draft = entry_draft(engine, &v, kind);
    let kept = v.marked_at.or(v.checked_in_at).map(utc);
    let addr = queue_addr(engine, &target.code)?;
    let out = addr
        .send(Transfer(TransferIn {
            draft,
            ticket_no: v.ticket_no.clone().unwrap_or_default(),
            misses: v.miss_count,
            checked_in_at: if body.keep_check_in_time { kept } else { None },
            from_queue: from_queue.clone(),
            from_room: from_room.clone(),
            audit,
        }))
        .await
        .map_err(triage_actors::EngineError::from)??;
    tracing::info!(visit_no = %visit_no, to_queue = %target.code, "transferred");
    Ok(waiting_answer(engine, visit_no, out))
}

/// A queue's waiting list in calling order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueAnswer {
    pub queue_code: String,
    pub name: String,
    pub department_code: String,
    pub doctor_code: Option<String>,
    pub waiting: usize,
    /// In calling order: `position`, `visit_no`, `ticket_no`, `masked_name`,
    /// `checked_in_at`, `kind`, `special`, `placement_code`, `placement_reason`.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<ListedEntry>,
}

pub async fn list_queue(engine: &Engine, code: &str) -> Result<QueueAnswer, ApiError> {
    let def = engine
        .hospital
        .queue(code)
        .ok_or_else(|| ApiError::not_found("queue_not_found", format!("no queue {code:?}")))?;
    let addr = engine
        .directory
        .queues
        .get(code)
        .map(|a| a.clone())
        .ok_or_else(|| ApiError::not_found("queue_not_found", format!("no queue {code:?}")))?;
    let mut entries = addr
        .send(ListQueue)
        .await
        .map_err(triage_actors::EngineError::from)?;
    // Staff know rooms by name.
    for e in &mut entries {
        if let triage_actors::rules::Placement::RoomWaiting { room } = &e.placement {
            if let Some(r) = engine.hospital.room(room) {
                e.placement_reason = format!("已分到{}门口候诊", r.name);
            }
        }
    }
    Ok(QueueAnswer {
        queue_code: def.code.clone(),
        name: def.name.clone(),
        department_code: def.department.clone(),
        doctor_code: def.doctor.clone(),
        waiting: entries.len(),
        entries,
    })
}

/// A visit as staff and HIS see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VisitAnswer {
    pub visit_no: String,
    pub status: String,
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

pub async fn get_visit(engine: &Engine, visit_no: &str) -> Result<VisitAnswer, ApiError> {
    let v = load_visit(engine, visit_no).await?;
    let mut position = None;
    if let (Some(q), "waiting") = (&v.queue_code, v.status.as_str()) {
        if let Some(addr) = engine.directory.queues.get(q).map(|a| a.clone()) {
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
        special: parse_tags(&v.tags)
            .into_iter()
            .chain(parse_tags(&v.special))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        visit_no: v.visit_no,
        status: v.status,
        department_code: v.department_code,
        doctor_code: v.doctor_code,
        visit_type: v.visit_type,
        queue_code: v.queue_code,
        ticket_no: v.ticket_no,
        position,
        room_code: v.room_code,
        checked_in_at: v.checked_in_at.map(utc),
        called_at: v.called_at.map(utc),
        finished_at: v.finished_at.map(utc),
    })
}
