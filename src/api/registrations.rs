//! HIS registrations and what staff do with a waiting patient:
//! `PUT|GET|DELETE /registrations/{visit_no}`, check-in, requeue, hold,
//! release, pin, move, special groups, the patients away (`GET
//! /visits/away`), and `POST /visits/{visit_no}/transfer`. A registration
//! as HIS sends it (`RegistrationBody`) is parsed here into the engine's
//! `Registration`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use triage_actors::model::{Slot, SpecialTag};
use triage_actors::queue::Intervention;
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, OptionalJson};
use super::fields::{audit_reason, line_ok, parse_sex, parse_special};
use crate::config::Hospital;
use crate::db::columns::VisitType;
use crate::db::store::UpsertOutcome;
use crate::engine::queues::{TransferCommand, TransferTarget};
use crate::engine::{
    AwayVisit, CancelAnswer, CheckInAnswer, Engine, ExamEntry, InterventionAnswer, Patient,
    Registration, RegistrationAnswer, SpecialAnswer, VisitAnswer,
};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};
use triage_ground::time::service_date;

type Answer = Result<HttpResponse, ApiError>;

/// A registration as HIS sends it (`PUT /api/v1/registrations/{visit_no}`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RegistrationBody {
    pub patient: PatientBody,
    /// A department of the hospital's configuration.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub department_code: String,
    /// The doctor registered with (专家号), if any.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,32}$")]
    pub doctor_code: Option<String>,
    /// `first` (初诊) or `return` (复诊); 初诊/复诊/回诊 accepted.
    #[schema(pattern = "^(first|return|初诊|复诊|回诊)$")]
    pub visit_type: String,
    #[serde(with = "triage_ground::time::rfc3339")]
    pub registered_at: DateTime<FixedOffset>,
    #[serde(default)]
    pub appointment: Option<AppointmentBody>,
    /// Special groups (特殊人群): military, elderly, disabled, pregnant, child.
    #[serde(default)]
    #[schema(inline, value_type = Vec<SpecialCode>)]
    pub special: Vec<String>,
    #[serde(default)]
    pub exam_items: Vec<ExamItem>,
    /// Check the patient in at once.
    #[serde(default)]
    pub checked_in: bool,
    /// The HIS registration sequence number (挂号序号), 1-999999; queues
    /// configured with `base_order = his_sequence` call by it.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 999999)]
    pub sequence_no: Option<i64>,
}

/// A special-group code (特殊人群).
#[derive(ToSchema)]
#[schema(as = SpecialCode, pattern = "^(military|elderly|disabled|pregnant|child)$")]
pub struct SpecialCode(
    #[expect(dead_code, reason = "a type of the API document only: never built")] String,
);

/// The patient part of a registration.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct PatientBody {
    /// The patient's id in HIS (1-64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub id: String,
    /// The full name (1-64 characters; screens show it masked).
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// GB/T 2261.1 code (0/1/2/9, number or string) or 男/女.
    #[schema(value_type = String, example = "1")]
    pub sex: Value,
    /// `YYYY-MM-DD`, not in the future.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub birth_date: Option<String>,
}

/// An appointment slot.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct AppointmentBody {
    #[serde(with = "triage_ground::time::rfc3339")]
    pub start: DateTime<FixedOffset>,
    #[serde(with = "triage_ground::time::rfc3339")]
    pub end: DateTime<FixedOffset>,
}

/// An exam item (检查项目).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ExamItem {
    #[schema(min_length = 1, max_length = 64)]
    pub code: String,
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
}

impl PatientBody {
    /// The patient: id and name present, sex a GB/T 2261.1 code, a birth
    /// date that can be (not after `today`, not before 1880).
    pub fn parse(&self, today: NaiveDate) -> Result<Patient, Error> {
        if !line_ok(&self.id, 64) {
            return Err(Error::field(
                ErrorCode::InvalidPatientId,
                "patient.id",
                "patient id is required (at most 64 characters)",
            ));
        }
        if !line_ok(&self.name, 64) {
            return Err(Error::field(
                ErrorCode::InvalidPatientName,
                "patient.name",
                "patient name is required (at most 64 characters)",
            ));
        }
        let sex = parse_sex(&self.sex).ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidSex,
                "patient.sex",
                "sex is a GB/T 2261.1 code (0, 1, 2, 9) or 男/女",
            )
        })?;
        let birth_date = match &self.birth_date {
            None => None,
            Some(s) => {
                let bad = |message: &str| {
                    Error::field(ErrorCode::InvalidBirthDate, "patient.birth_date", message)
                };
                let d = triage_ground::time::parse_date(s)
                    .ok_or_else(|| bad("birth date is YYYY-MM-DD"))?;
                let earliest = NaiveDate::from_ymd_opt(1880, 1, 1).unwrap_or(d);
                if d > today || d < earliest {
                    return Err(bad("birth date is in the future or before 1880"));
                }
                Some(d)
            }
        };
        Ok(Patient {
            id: self.id.trim().to_string(),
            name: self.name.trim().to_string(),
            sex,
            birth_date,
        })
    }
}

/// A visit type as HIS writes it.
pub fn parse_visit_type(text: &str) -> Result<VisitType, Error> {
    match text.trim() {
        "first" | "初诊" => Ok(VisitType::First),
        "return" | "复诊" | "回诊" => Ok(VisitType::Return),
        _ => Err(Error::field(
            ErrorCode::InvalidVisitType,
            "visit_type",
            "visit_type is first (初诊) or return (复诊)",
        )),
    }
}

/// The HIS sequence number: 1 to 999999.
pub fn parse_sequence_no(n: Option<i64>) -> Result<Option<i64>, Error> {
    if n.is_some_and(|n| !(1..=999_999).contains(&n)) {
        return Err(Error::field(
            ErrorCode::InvalidSequenceNo,
            "sequence_no",
            "the HIS sequence number is 1 to 999999",
        ));
    }
    Ok(n)
}

/// The exam items, each with a code and a name.
pub fn parse_exam_items(items: &[ExamItem]) -> Result<Vec<ExamEntry>, Error> {
    items
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if !line_ok(&e.code, 64) || !line_ok(&e.name, 128) {
                return Err(Error::field(
                    ErrorCode::InvalidExamItem,
                    &format!("exam_items[{i}]"),
                    "exam items need a code and a name",
                ));
            }
            Ok(ExamEntry {
                code: e.code.clone(),
                name: e.name.clone(),
            })
        })
        .collect()
}

impl AppointmentBody {
    /// The slot, ending after it starts (`field` names its end).
    pub fn parse(&self, field: &str) -> Result<Slot, Error> {
        if self.start >= self.end {
            return Err(Error::field(
                ErrorCode::InvalidAppointment,
                field,
                "the slot must end after it starts",
            ));
        }
        Ok(Slot {
            start: self.start.with_timezone(&Utc),
            end: self.end.with_timezone(&Utc),
        })
    }
}

impl RegistrationBody {
    /// The registration, checked in this order (the first problem is the
    /// answer, 422 naming the field): the patient (dates bounded by
    /// `today`), a department of `hospital`, the doctor, the visit type, the
    /// slot, the sequence number, the special groups, the exam items.
    /// `canonical` is the body as sent.
    pub fn parse(
        self,
        hospital: &Hospital,
        today: NaiveDate,
        canonical: String,
    ) -> Result<Registration, Error> {
        let patient = self.patient.parse(today)?;
        if hospital.department(&self.department_code).is_none() {
            return Err(Error::field(
                ErrorCode::UnknownDepartment,
                "department_code",
                format!(
                    "no department {:?} in this hospital's configuration",
                    self.department_code
                ),
            ));
        }
        let doctor_code = self
            .doctor_code
            .as_deref()
            .map(DoctorCode::parse)
            .transpose()?;
        let visit_type = parse_visit_type(&self.visit_type)?;
        let slot = self
            .appointment
            .as_ref()
            .map(|a| a.parse("appointment.end"))
            .transpose()?;
        let sequence_no = parse_sequence_no(self.sequence_no)?;
        let special: Vec<SpecialTag> = parse_special(&self.special)?;
        let exam_items = parse_exam_items(&self.exam_items)?;
        Ok(Registration {
            patient,
            department_code: self.department_code,
            doctor_code,
            visit_type,
            registered_at: self.registered_at.with_timezone(&Utc),
            slot,
            special,
            exam_items,
            checked_in: self.checked_in,
            sequence_no,
            canonical,
        })
    }
}

/// Where a transfer (转诊) goes and how.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

fn default_true() -> bool {
    true
}

impl TransferBody {
    /// The transfer the body asks for: the reason first, then exactly one
    /// target, its code read (a code that cannot be one is unknown, as a
    /// code the hospital does not have).
    fn transfer(self) -> Result<TransferCommand, Error> {
        let reason = audit_reason(&self.reason)?;
        let target = match (self.queue_code, self.room_code, self.doctor_code) {
            (Some(q), None, None) => TransferTarget::Queue(QueueCode::parse(&q).map_err(|_| {
                Error::field(
                    ErrorCode::UnknownQueue,
                    "queue_code",
                    format!("no queue {q:?}"),
                )
            })?),
            (None, Some(r), None) => TransferTarget::Room(RoomCode::parse(&r).map_err(|_| {
                Error::field(
                    ErrorCode::UnknownRoom,
                    "room_code",
                    format!("no room {r:?}"),
                )
            })?),
            (None, None, Some(d)) => {
                TransferTarget::Doctor(DoctorCode::parse(&d).map_err(|_| {
                    Error::field(
                        ErrorCode::NoDoctorQueue,
                        "doctor_code",
                        format!("doctor {d:?} has no own queue"),
                    )
                })?)
            }
            _ => {
                return Err(Error::field(
                    ErrorCode::InvalidTransferTarget,
                    "queue_code",
                    "give exactly one of queue_code, room_code, doctor_code",
                ))
            }
        };
        Ok(TransferCommand {
            target,
            keep_check_in_time: self.keep_check_in_time,
            reason,
        })
    }
}

#[utoipa::path(put, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path, description = "HIS visit serial (idempotency key)")), request_body = RegistrationBody, responses((status = 201, description = "created", body = RegistrationAnswer), (status = 200, description = "replaced or unchanged", body = RegistrationAnswer), (status = 409, description = "cancelled, or already in a queue with another department", body = ErrorBody), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_registration(
    path: web::Path<String>,
    body: Json<RegistrationBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let today = service_date(engine.now());
    let registration = body.value.parse(engine.hospital(), today, body.text)?;
    let (outcome, answer) = engine
        .put_registration(&visit_no, registration, caller.acting())
        .await?;
    Ok(match outcome {
        UpsertOutcome::Created => HttpResponse::Created().json(answer),
        _ => HttpResponse::Ok().json(answer),
    })
}

#[utoipa::path(get, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, body = VisitAnswer), (status = 404, body = ErrorBody)))]
pub async fn get_registration(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = VisitNo::parse(&path)?;
    let department = engine.department_of(&visit_no).await?;
    caller.principal.read(engine.hospital(), &department)?;
    Ok(HttpResponse::Ok().json(engine.get_visit(&visit_no).await?))
}

#[utoipa::path(delete, path = "/api/v1/registrations/{visit_no}", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, description = "cancelled (退号)", body = CancelAnswer), (status = 404, body = ErrorBody), (status = 409, description = "already finished", body = ErrorBody)))]
pub async fn delete_registration(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let audit = caller.acting();
    if engine.is_appointment(&visit_no).await? {
        // An appointment's cancellation is kept as final (as DELETE
        // /appointments does), so a late PUT cannot bring it back.
        let a = engine.cancel_appointment(&visit_no, audit).await?;
        return Ok(HttpResponse::Ok().json(CancelAnswer {
            visit_no: a.appointment_id,
            status: a.status,
            changed: a.outcome == crate::engine::appointments::AppointmentOutcome::Cancelled,
        }));
    }
    Ok(HttpResponse::Ok().json(engine.cancel(&visit_no, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/check-in", tag = "HIS", params(("visit_no" = String, Path)), responses((status = 200, description = "in the queue (签到); repeat gives the same ticket", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn check_in(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = engine.visit_no_as_registered(VisitNo::parse(&path)?).await;
    if !caller.principal.may_register() {
        let department = engine.department_of(&visit_no).await?;
        caller.principal.check_in(engine.hospital(), &department)?;
    }
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.check_in(&visit_no, audit).await?))
}

/// Why a patient is called by name or brought back (optional; a default
/// reason is recorded when absent).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// The reason of an optional `{"reason": …}` body, or `default`.
pub fn reason_or(body: OptionalJson<ReasonBody>, default: &str) -> Result<String, Error> {
    match body.0 {
        None => Ok(default.to_string()),
        Some(b) => audit_reason(&b.reason),
    }
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/requeue", tag = "calling", params(("visit_no" = String, Path)), request_body(content = Option<ReasonBody>, description = "optional: why (default 召回)"), responses((status = 200, description = "back in the queue, same ticket: after a missed call (过号召回) or with exam results (回诊, same doctor)", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, description = "no-show, not set aside, cancelled", body = ErrorBody)))]
pub async fn requeue(
    path: web::Path<String>,
    body: OptionalJson<ReasonBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = engine.visit_no_as_registered(VisitNo::parse(&path)?).await;
    arrange(&caller, &engine, &visit_no).await?;
    let audit = caller.acting_why(reason_or(body, "召回")?);
    Ok(HttpResponse::Ok().json(engine.requeue(&visit_no, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/visits/{visit_no}/transfer", tag = "calling", params(("visit_no" = String, Path)), request_body = TransferBody, responses((status = 200, description = "moved (转诊): waiting in the target queue, same ticket", body = CheckInAnswer), (status = 404, body = ErrorBody), (status = 409, description = "not waiting or called; already in that queue", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transfer(
    path: web::Path<String>,
    body: Json<TransferBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = VisitNo::parse(&path)?;
    // The department's nurses transfer any of its patients; a doctor (or
    // his workstation) the patient he has called in his room (转诊 after
    // seeing them).
    let (department, room) = engine.department_and_room_of(&visit_no).await?;
    if let Err(refused) = caller.principal.arrange(engine.hospital(), &department) {
        match &room {
            Some(room) => caller.principal.operate_room(engine.hospital(), room)?,
            None => return Err(refused.into()),
        }
    }
    let transfer = body.value.transfer()?;
    Ok(HttpResponse::Ok().json(
        engine
            .transfer(&visit_no, transfer, caller.acting())
            .await?,
    ))
}

/// The patients away for now.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AwayAnswer {
    pub visits: Vec<AwayVisit>,
}

/// Which departments (`?departments=NK,WK`; default: all of the caller's).
#[derive(Deserialize)]
pub struct AwayQuery {
    departments: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/visits/away", tag = "calling",
    params(("departments" = Option<String>, Query, description = "department codes, comma-separated; default: all of the caller's")),
    responses((status = 200, description = "today's patients of the caller's queues who left them for now: missed a call (过号), away for an exam (检查中), no-show (未到); latest first; full names", body = AwayAnswer),
              (status = 401, body = ErrorBody),
              (status = 403, description = "not staff, or a department outside the caller's", body = ErrorBody),
              (status = 422, description = "an unknown department", body = ErrorBody)))]
pub async fn away(
    query: web::Query<AwayQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let Some(who) = caller.principal.staff().cloned() else {
        return Err(Error::new(ErrorCode::Forbidden, "lists with names are for staff").into());
    };
    let asked = crate::staff::asked_departments(query.departments.as_deref());
    let watch = crate::staff::Watch::of(&who, engine.hospital(), asked.as_deref())?;
    let visits = engine.away_visits(watch.queues).await?;
    Ok(HttpResponse::Ok().json(AwayAnswer { visits }))
}

/// Whether the caller may arrange this visit's queue (its department's
/// nurses, administrators).
async fn arrange(caller: &Caller, engine: &Engine, visit_no: &VisitNo) -> Result<(), ApiError> {
    let department = engine.department_of(visit_no).await?;
    Ok(caller.principal.arrange(engine.hospital(), &department)?)
}

/// Why a nurse intervenes (recorded in the audit event).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct InterventionBody {
    /// 1-200 characters, e.g. "患者去做检查" / "行动不便".
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

async fn intervention(
    visit_no: &str,
    reason: &str,
    caller: Caller,
    engine: &Engine,
    action: Intervention,
) -> Answer {
    let visit_no = VisitNo::parse(visit_no)?;
    arrange(&caller, engine, &visit_no).await?;
    let audit = caller.acting_why(audit_reason(reason)?);
    Ok(HttpResponse::Ok().json(engine.intervene(&visit_no, action, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/hold", tag = "calling", params(("visit_no" = String, Path)), request_body = InterventionBody, responses((status = 200, description = "held (挂起): listed last, not called until released", body = InterventionAnswer), (status = 409, description = "not waiting", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn hold(
    path: web::Path<String>,
    body: Json<InterventionBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    intervention(
        &path,
        &body.value.reason,
        caller,
        &engine,
        Intervention::Hold,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/release", tag = "calling", params(("visit_no" = String, Path)), request_body = InterventionBody, responses((status = 200, description = "released (恢复): back in its place by the rules", body = InterventionAnswer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn release(
    path: web::Path<String>,
    body: Json<InterventionBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    intervention(
        &path,
        &body.value.reason,
        caller,
        &engine,
        Intervention::Release,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/pin", tag = "calling", params(("visit_no" = String, Path)), request_body = InterventionBody, responses((status = 200, description = "pinned to the top (置顶)", body = InterventionAnswer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn pin(
    path: web::Path<String>,
    body: Json<InterventionBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    intervention(
        &path,
        &body.value.reason,
        caller,
        &engine,
        Intervention::Pin,
    )
    .await
}

/// The special groups a nurse sees ticked for a waiting patient, and why.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SpecialBody {
    /// The whole set: child, disabled, elderly, military, pregnant (an
    /// empty list takes every group away). The queue's rules also give
    /// elderly and child by the birth date; leaving them out does not take
    /// away what the age gives.
    #[schema(inline, value_type = Vec<SpecialCode>)]
    pub special: Vec<String>,
    /// The groups the nurse saw when she started (the registration's
    /// `registered` groups then); when given and no longer so, 409
    /// `state_conflict` and nothing changes — a group HIS added meanwhile
    /// is never taken away unseen.
    #[serde(default)]
    #[schema(inline, value_type = Option<Vec<SpecialCode>>)]
    pub was: Option<Vec<String>>,
    /// 1-200 characters, e.g. "现场核实孕妇".
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

#[utoipa::path(put, path = "/api/v1/registrations/{visit_no}/special", tag = "calling", params(("visit_no" = String, Path)), request_body = SpecialBody, responses((status = 200, description = "the special groups set (特殊人群标记): kept as the nurse's marks over HIS's, so HIS sending the registration again keeps them; the patient is placed by them at once; audited", body = SpecialAnswer), (status = 403, body = ErrorBody), (status = 409, description = "not waiting", body = ErrorBody), (status = 422, description = "unknown group or no reason", body = ErrorBody)))]
pub async fn set_special(
    path: web::Path<String>,
    body: Json<SpecialBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let visit_no = VisitNo::parse(&path)?;
    let wanted = parse_special(&body.value.special)?;
    let was = body.value.was.as_deref().map(parse_special).transpose()?;
    let reason = audit_reason(&body.value.reason)?;
    arrange(&caller, &engine, &visit_no).await?;
    let audit = caller.acting_why(reason);
    Ok(HttpResponse::Ok().json(engine.set_special(&visit_no, wanted, was, audit).await?))
}

/// Where a nurse moves a waiting patient (调整顺序), and why.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct MoveBody {
    /// 1 = next, counted in the general list (patients already sent to a
    /// room's short list not counted); 1-9999. The patient moves up with
    /// the line as patients ahead are called.
    #[schema(minimum = 1, maximum = 9999)]
    pub position: i64,
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/registrations/{visit_no}/move", tag = "calling", params(("visit_no" = String, Path)), request_body = MoveBody, responses((status = 200, description = "moved (调整顺序) to the position asked for; audited", body = InterventionAnswer), (status = 409, description = "not waiting", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn move_to(
    path: web::Path<String>,
    body: Json<MoveBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let position = u32::try_from(body.value.position)
        .ok()
        .filter(|p| (1..=9999).contains(p))
        .ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidPosition,
                "position",
                "a position from 1 (next) to 9999",
            )
        })?;
    intervention(
        &path,
        &body.value.reason,
        caller,
        &engine,
        Intervention::Move(position),
    )
    .await
}
