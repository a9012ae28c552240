//! Doctor master data from HIS: `PUT|GET /doctors/{code}`, `GET /doctors`,
//! `GET /doctors/{code}/photo`; a doctor stops the clinic (停诊): `POST
//! /doctors/{code}/stop-clinic`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json, DOCTORS_BODY_LIMIT, DOCTOR_BODY_LIMIT};
use crate::engine::doctors::{DoctorBody, DoctorsAnswer, DoctorsBody, Integrity};
use crate::engine::Engine;
use triage_ground::ids::DoctorCode;

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(put, path = "/api/v1/doctors/{doctor_code}", tag = "HIS", params(("doctor_code" = String, Path)), request_body = DoctorBody, responses((status = 201, description = "created"), (status = 200, description = "replaced"), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_doctor(
    path: web::Path<String>,
    body: Json<DoctorBody, DOCTOR_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.master_data()?;
    let audit = caller.acting();
    let (created, view) = engine
        .put_doctor(&DoctorCode::parse(&path)?, body.value, audit)
        .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[utoipa::path(put, path = "/api/v1/doctors", tag = "HIS", request_body = DoctorsBody,
    responses(
        (status = 200, description = "every doctor created or replaced; door screens updated", body = DoctorsAnswer),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "not HIS with master_data, nor an administrator", body = ErrorBody),
        (status = 413, description = "body over 32 MiB", body = ErrorBody),
        (status = 415, description = "not JSON", body = ErrorBody),
        (status = 422, description = "an entry is invalid (its field named as doctors[i].field) or a staff number is given twice; nothing changed", body = ErrorBody)))]
pub async fn put_doctors(
    body: Json<DoctorsBody, DOCTORS_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.master_data()?;
    let audit = caller.acting();
    Ok(HttpResponse::Ok().json(engine.put_doctors(body.value, audit).await?))
}

#[utoipa::path(get, path = "/api/v1/doctors/integrity", tag = "configuration",
    responses(
        (status = 200, description = "the integrity report: counts by kind and every finding", body = Integrity),
        (status = 401, description = "no or bad credentials", body = ErrorBody),
        (status = 403, description = "a client without master_data or read", body = ErrorBody)))]
pub async fn integrity(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_schedule()?;
    Ok(HttpResponse::Ok().json(engine.doctors_integrity().await?))
}

#[utoipa::path(get, path = "/api/v1/doctors", tag = "configuration", responses((status = 200, description = "doctors")))]
pub async fn list_doctors(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "doctors": engine.doctors().await? })))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "a doctor"), (status = 404, body = ErrorBody)))]
pub async fn get_doctor(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(engine.doctor(&DoctorCode::parse(&path)?).await?))
}

#[utoipa::path(get, path = "/api/v1/doctors/{doctor_code}/photo", tag = "configuration", params(("doctor_code" = String, Path)), responses((status = 200, description = "the photo (PNG, JPEG or WebP)"), (status = 404, body = ErrorBody)))]
pub async fn doctor_photo(path: web::Path<String>, engine: web::Data<Engine>) -> Answer {
    let (bytes, mime) = engine.doctor_photo(&DoctorCode::parse(&path)?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "max-age=300"))
        .body(bytes))
}

/// A stop-clinic (停诊): why, and what becomes of the patients waiting.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopClinicBody {
    /// 1-200 characters, e.g. "医生临时外出".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub reason: String,
    /// `keep`: the doctor's patients wait, frozen, for the doctor to open
    /// again; `redistribute`: they move to the department's shared queue,
    /// keeping their check-in time. Absent: `[schedule] stop_clinic`.
    #[serde(default)]
    pub waiting: Option<String>,
    /// A session of today (`am`, `pm`, `eve`); absent: the rest of the day.
    #[serde(default)]
    pub session: Option<String>,
    /// With `redistribute`: the queue the patients move to (another queue
    /// of the doctor's department); absent: the department's shared queue.
    #[serde(default)]
    pub queue_code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/doctors/{code}/stop-clinic", tag = "calling", params(("code" = String, Path)), request_body = StopClinicBody,
    responses((status = 200, description = "stopped (停诊) for a session or the rest of the day: the doctor's rooms closed (if the session is in force), their schedule entries stopped, a notice on their screens and the department's overviews until the session or the day ends; every patient who was waiting for the doctor", body = crate::engine::seats::StopClinicAnswer),
              (status = 403, description = "a HIS client without master_data, or a nurse of another department", body = ErrorBody),
              (status = 409, description = "not_a_doctor", body = ErrorBody),
              (status = 422, description = "no reason, waiting not keep/redistribute, unknown_session, a session that is over, unknown_queue or invalid_transfer_target (queue_code)", body = ErrorBody)))]
pub async fn stop_clinic(
    path: web::Path<String>,
    body: Json<StopClinicBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let code = DoctorCode::parse(&path)?;
    let department = engine.doctor_department(code.as_str()).ok_or_else(|| {
        triage_ground::error::Error::new(
            triage_ground::error::ErrorCode::NotADoctor,
            format!("{:?} is not a doctor in the master data", code.as_str()),
        )
    })?;
    match caller.principal.staff() {
        Some(_) => caller.principal.arrange(engine.hospital(), &department)?,
        None => caller.principal.master_data()?,
    }
    let reason = crate::engine::registrations::audit_reason(&body.value.reason)?;
    let redistribute = match body.value.waiting.as_deref() {
        None => engine.hospital().schedule.redistribute_on_stop,
        Some("keep") => false,
        Some("redistribute") => true,
        Some(_) => {
            return Err(triage_ground::error::Error::field(
                triage_ground::error::ErrorCode::InvalidField,
                "waiting",
                "keep or redistribute",
            )
            .into())
        }
    };
    let audit = caller.acting_why(reason.clone());
    Ok(HttpResponse::Ok().json(
        engine
            .stop_clinic(
                code.as_str(),
                body.value.session.as_deref(),
                redistribute,
                body.value.queue_code.as_deref(),
                reason,
                audit,
            )
            .await?,
    ))
}

/// Today's stop-clinics (停诊) of the caller's departments.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct StopsAnswer {
    pub stops: Vec<crate::engine::seats::StopRecord>,
}

#[utoipa::path(get, path = "/api/v1/stop-clinics", tag = "calling",
    responses((status = 200, description = "today's stop-clinics (停诊) of the caller's departments, from HIS or the console: who, which sessions, why, the rooms closed and every patient who was waiting then", body = StopsAnswer),
              (status = 401, body = ErrorBody), (status = 403, description = "not staff", body = ErrorBody)))]
pub async fn stops_today(
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    if caller.principal.staff().is_none() {
        return Err(triage_ground::error::Error::new(
            triage_ground::error::ErrorCode::Forbidden,
            "the list of stop-clinics is for staff",
        )
        .into());
    }
    let hospital = engine.hospital().clone();
    let stops = engine
        .stops_today(|d| caller.principal.may_read(&hospital, d))
        .await?;
    Ok(HttpResponse::Ok().json(StopsAnswer { stops }))
}
