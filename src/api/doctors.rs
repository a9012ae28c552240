//! Doctor master data from HIS: `PUT|GET /doctors/{code}`, `GET /doctors`,
//! `GET /doctors/{code}/photo`.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{Caller, Json, DOCTOR_BODY_LIMIT};
use super::openapi::ErrorBody;
use crate::domain::DoctorCode;
use crate::engine::doctors::DoctorBody;
use crate::engine::Engine;

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(put, path = "/api/v1/doctors/{doctor_code}", tag = "HIS", params(("doctor_code" = String, Path)), request_body = DoctorBody, responses((status = 201, description = "created"), (status = 200, description = "replaced"), (status = 400, description = "malformed body", body = ErrorBody), (status = 413, description = "body too large", body = ErrorBody), (status = 415, description = "not JSON", body = ErrorBody), (status = 422, description = "a field is invalid; nothing changed", body = ErrorBody)))]
pub async fn put_doctor(
    path: web::Path<String>,
    body: Json<DoctorBody, DOCTOR_BODY_LIMIT>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    caller.principal.master_data()?;
    let audit = caller.audit(&engine);
    let (created, view) = engine
        .put_doctor(&DoctorCode::parse(&path)?, body.value, audit)
        .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
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
