//! The hospital day (门诊日): `GET /api/v1/day` (today, when it ends, the
//! last day end), `GET /api/v1/day/preview` (what a day end would close
//! now) and `POST /api/v1/day/close` (administrators: run today's day end
//! now, e.g. when the clinic closes early; it also runs by itself at the
//! configured time).

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use super::fields::audit_reason;
use super::registrations::ReasonBody;
use crate::engine::day::{DayAnswer, DayPreview, DayStatus};
use crate::engine::Engine;
use triage_ground::time::service_date;

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(get, path = "/api/v1/day", tag = "calling",
    responses((status = 200, description = "today, when it ends (日终), whether it has, the last day end", body = DayStatus),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn status(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(engine.day_status().await?))
}

#[utoipa::path(post, path = "/api/v1/day/close", tag = "calling", request_body = ReasonBody,
    responses((status = 200, description = "today closed (日终): every visit still open closed with its final status, audited; repeating it answers the same record", body = DayAnswer),
              (status = 401, body = ErrorBody), (status = 403, description = "administrators only", body = ErrorBody),
              (status = 422, description = "no reason", body = ErrorBody)))]
pub async fn close(body: Json<ReasonBody>, caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.admin()?;
    let reason = audit_reason(&body.value.reason)?;
    let today = service_date(engine.now());
    Ok(HttpResponse::Ok().json(engine.close_day(today, caller.acting_why(reason)).await?))
}

#[utoipa::path(get, path = "/api/v1/day/preview", tag = "calling",
    responses((status = 200, description = "what a day end (日终) would do now: patients it would close by status, rooms it would open again, notices it would take down; nothing changes", body = DayPreview),
              (status = 401, body = ErrorBody), (status = 403, description = "administrators only", body = ErrorBody)))]
pub async fn preview(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.admin()?;
    Ok(HttpResponse::Ok().json(engine.day_preview().await?))
}
