//! The schedule (出诊排班) over HTTP: `GET /api/v1/schedules` (a day, or
//! one doctor's entries), `PUT /api/v1/schedules/{date}` (HIS sends a whole
//! day: it replaces the one before; HIS and administrators), `PUT` and `DELETE
//! /api/v1/schedules/{date}/{session}/{room}` (one entry; delete cancels
//! it). HIS writes with the master_data scope; nurses write their
//! departments' rooms, administrators every room. Every write is
//! idempotent: the same again changes nothing. The bodies become the
//! engine's `ScheduleEntryDraft`s, checked there against the running
//! hospital and the master data.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use crate::engine::schedules::{parse_date, ScheduleDay, ScheduleEntryDraft, ScheduleWriteAnswer};
use crate::engine::Engine;
use triage_ground::time::service_date;

type Answer = Result<HttpResponse, ApiError>;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ScheduleQuery {
    /// `YYYY-MM-DD`; default today.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", format = Date)]
    pub date: Option<String>,
    /// One doctor's entries only; `me` for the doctor signed in.
    pub doctor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules", params(ScheduleQuery),
    responses((status = 200, description = "the day's schedule: the sessions, the one in force, those switched to, every entry (active, cancelled, stopped)", body = ScheduleDay),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, description = "invalid_date", body = ErrorBody)))]
pub async fn day(
    query: web::Query<ScheduleQuery>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.read_schedule()?;
    let day = match query.date.as_deref() {
        Some(d) => parse_date(d)?,
        None => service_date(engine.now()),
    };
    let doctor = match query.doctor.as_deref() {
        Some("me") => Some(
            caller
                .principal
                .staff()
                .map(|s| s.code.clone())
                .ok_or_else(|| {
                    triage_ground::error::Error::field(
                        triage_ground::error::ErrorCode::InvalidField,
                        "doctor",
                        "`me` is for a staff member signed in",
                    )
                })?,
        ),
        other => other.map(str::to_string),
    };
    Ok(HttpResponse::Ok().json(engine.schedule_day(day, doctor.as_deref()).await?))
}

/// One entry of the schedule as HIS sends it for a day (`PUT
/// /schedules/{date}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayEntryBody {
    /// A session code of `[schedule]` (`am`, `pm`, `eve`).
    pub session: String,
    pub room_code: String,
    pub doctor_code: String,
    /// The queues the room calls in the session; absent or empty: the
    /// doctor's own queue first, then the room's shared queues.
    #[serde(default)]
    pub queues: Vec<String>,
    /// At most this many patients (限号), 1-999.
    #[serde(default)]
    pub patient_limit: Option<u32>,
}

/// A whole day's schedule: it replaces the day's entries (those not named
/// are cancelled).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayBody {
    pub entries: Vec<DayEntryBody>,
}

/// One entry (`PUT /schedules/{date}/{session}/{room}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    pub doctor_code: String,
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub patient_limit: Option<u32>,
}

impl From<DayEntryBody> for ScheduleEntryDraft {
    fn from(e: DayEntryBody) -> Self {
        ScheduleEntryDraft {
            session: e.session,
            room_code: e.room_code,
            doctor_code: e.doctor_code,
            queues: e.queues,
            patient_limit: e.patient_limit,
        }
    }
}

impl EntryBody {
    /// The entry for `session` and `room` of the path.
    fn draft(self, session: String, room: String) -> ScheduleEntryDraft {
        ScheduleEntryDraft {
            session,
            room_code: room,
            doctor_code: self.doctor_code,
            queues: self.queues,
            patient_limit: self.patient_limit,
        }
    }
}

#[utoipa::path(put, path = "/api/v1/schedules/{date}", tag = "schedules",
    params(("date" = String, Path, description = "YYYY-MM-DD, today or later")), request_body = DayBody,
    responses((status = 200, description = "the day's schedule replaced (entries not named are cancelled); a change to the session in force reaches its rooms and door screens at once; audited", body = ScheduleWriteAnswer),
              (status = 401, body = ErrorBody),
              (status = 403, description = "not HIS (master_data) or an administrator (nurses set single entries)", body = ErrorBody),
              (status = 409, description = "day_closed (the day is over), not_a_doctor, wrong_department, doctor_double_booked", body = ErrorBody),
              (status = 422, description = "invalid_date, unknown_session, unknown_room, unknown_queue, invalid_field (patient limit, an entry twice)", body = ErrorBody)))]
pub async fn put_day(
    path: web::Path<String>,
    body: Json<DayBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    // A whole day touches every department's rooms: HIS and administrators.
    caller.principal.schedule(engine.hospital(), "")?;
    let entries = body.value.entries.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(
        engine
            .put_schedule_day(&path, entries, caller.acting())
            .await?,
    ))
}

/// One entry's request: the date, session and room of the path (an
/// unknown room first, 422), whether the caller may write that room's
/// schedule, the audit stamp.
fn entry_request(
    path: web::Path<(String, String, String)>,
    caller: &Caller,
    engine: &Engine,
) -> Result<(String, String, String, crate::engine::Acting), ApiError> {
    let (date, session, room) = path.into_inner();
    let department = engine.schedule_room_department(&room)?;
    caller.principal.schedule(engine.hospital(), &department)?;
    Ok((date, session, room, caller.acting()))
}

#[utoipa::path(put, path = "/api/v1/schedules/{date}/{session}/{room_code}", tag = "schedules",
    params(("date" = String, Path, description = "YYYY-MM-DD, today or later"), ("session" = String, Path, description = "am, pm, eve (the hospital's sessions)"), ("room_code" = String, Path)),
    request_body = EntryBody,
    responses((status = 200, description = "the entry created, replaced or unchanged; audited", body = ScheduleWriteAnswer),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "day_closed, not_a_doctor, wrong_department, doctor_double_booked", body = ErrorBody),
              (status = 422, description = "invalid_date, unknown_session, unknown_room, unknown_queue, invalid_field", body = ErrorBody)))]
pub async fn put_entry(
    path: web::Path<(String, String, String)>,
    body: Json<EntryBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let (date, session, room, audit) = entry_request(path, &caller, &engine)?;
    Ok(HttpResponse::Ok().json(
        engine
            .put_schedule_entry(&date, body.value.draft(session, room), audit)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/schedules/{date}/{session}/{room_code}", tag = "schedules",
    params(("date" = String, Path), ("session" = String, Path), ("room_code" = String, Path)),
    responses((status = 200, description = "the entry cancelled (the room keeps the configuration's doctor in that session); cancelling again changes nothing", body = ScheduleWriteAnswer),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "schedule_not_found", body = ErrorBody),
              (status = 409, description = "day_closed", body = ErrorBody),
              (status = 422, description = "invalid_date, unknown_session, unknown_room", body = ErrorBody)))]
pub async fn cancel_entry(
    path: web::Path<(String, String, String)>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let (date, session, room, audit) = entry_request(path, &caller, &engine)?;
    Ok(HttpResponse::Ok().json(
        engine
            .cancel_schedule_entry(&date, &session, &room, audit)
            .await?,
    ))
}
