//! Appointments (预约) from HIS, booked for an exact room:
//! `PUT|GET|DELETE /appointments/{appointment_id}` and check-in. HIS
//! clients with the `registrations` scope write them; staff of the room's
//! department read them and check the patient in.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use crate::db::store::UpsertOutcome;
use crate::engine::appointments::{AppointmentAnswer, AppointmentPutBody, AppointmentState};
use crate::engine::{CheckInAnswer, Engine};
use triage_ground::ids::VisitNo;

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(put, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path, description = "HIS appointment id: also the visit number of the visit it makes")),
    request_body = AppointmentPutBody,
    responses((status = 201, description = "booked", body = AppointmentAnswer),
              (status = 200, description = "moved or changed (`replaced`), the same message again (`unchanged`), or an older version than the one applied (`superseded`: nothing changed)", body = AppointmentAnswer),
              (status = 409, description = "cancelled; the same version with other content; the number is a registration's; checked in to a queue the new room does not call from, or being called", body = ErrorBody),
              (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_appointment(
    path: web::Path<String>,
    body: Json<AppointmentPutBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let audit = caller.acting();
    let (outcome, answer) = engine
        .put_appointment(&id, body.value, body.text, audit)
        .await?;
    Ok(match outcome {
        UpsertOutcome::Created => HttpResponse::Created().json(answer),
        _ => HttpResponse::Ok().json(answer),
    })
}

#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "the version in force, active or cancelled, and its visit", body = AppointmentState),
              (status = 404, description = "no such appointment", body = ErrorBody)))]
pub async fn get_appointment(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    // Every caller is authenticated here (staff or a HIS client); who may
    // read it depends on its department, so it is read first.
    let state = engine.get_appointment(&id).await?;
    if !caller.principal.may_register() {
        match &state.visit {
            Some(v) => caller
                .principal
                .read(engine.hospital(), &v.department_code)?,
            None => caller.principal.register()?,
        }
    }
    Ok(HttpResponse::Ok().json(state))
}

#[utoipa::path(delete, path = "/api/v1/appointments/{appointment_id}", tag = "HIS",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "cancelled (取消预约), final; `unchanged` when it already was, or when the appointment has not arrived yet (it is refused when it does)", body = AppointmentAnswer),
              (status = 409, description = "the visit is already finished, or the number is a registration's", body = ErrorBody)))]
pub async fn delete_appointment(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    caller.principal.register()?;
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.cancel_appointment(&id, audit).await?))
}

#[utoipa::path(post, path = "/api/v1/appointments/{appointment_id}/check-in", tag = "HIS", operation_id = "appointment_check_in",
    params(("appointment_id" = String, Path)),
    responses((status = 200, description = "in the booked room's queue (签到), ordered by the slot under its rules; repeat gives the same ticket", body = CheckInAnswer),
              (status = 404, body = ErrorBody),
              (status = 409, description = "cancelled, on a later day (too_early), before the early check-in window, called or finished", body = ErrorBody)))]
pub async fn check_in(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id = VisitNo::parse(&path)?;
    if !caller.principal.may_register() {
        let department = engine.department_of(&id).await?;
        caller.principal.check_in(engine.hospital(), &department)?;
    }
    let audit = caller.acting();
    let answer: CheckInAnswer = engine.check_in(&id, audit).await?;
    Ok(HttpResponse::Ok().json(answer))
}
