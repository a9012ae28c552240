//! HIS registrations and what staff do with a waiting patient:
//! `PUT|GET|DELETE /registrations/{visit_no}`, check-in, requeue, hold,
//! release, pin, move, special groups, the patients away (`GET
//! /visits/away`), and `POST /visits/{visit_no}/transfer`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use triage_actors::queue::Intervention;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, OptionalJson};
use crate::db::store::UpsertOutcome;
use crate::engine::queues::{TransferCommand, TransferTarget};
use crate::engine::registrations::{audit_reason, parse_special};
use crate::engine::{
    AwayVisit, CancelAnswer, CheckInAnswer, Engine, InterventionAnswer, RegistrationAnswer,
    RegistrationBody, SpecialAnswer, VisitAnswer,
};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};

type Answer = Result<HttpResponse, ApiError>;

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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
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
    let audit = caller.acting();
    let (outcome, answer) = engine
        .put_registration(&visit_no, body.value, body.text, audit)
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
    let visit_no = VisitNo::parse(&path)?;
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
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
    let visit_no = VisitNo::parse(&path)?;
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
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
    #[schema(inline, value_type = Vec<crate::engine::registrations::SpecialCode>)]
    pub special: Vec<String>,
    /// The groups the nurse saw when she started (the registration's
    /// `registered` groups then); when given and no longer so, 409
    /// `state_conflict` and nothing changes — a group HIS added meanwhile
    /// is never taken away unseen.
    #[serde(default)]
    #[schema(inline, value_type = Option<Vec<crate::engine::registrations::SpecialCode>>)]
    pub was: Option<Vec<String>>,
    /// 1-200 characters, e.g. "现场核实孕妇".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
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
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
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
