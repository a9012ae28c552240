//! Configuration reads for screens and departments: `GET /screens` (with
//! online state and last heartbeat) and `GET /departments`.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::Caller;
use crate::engine::Engine;

#[utoipa::path(get, path = "/api/v1/departments", tag = "configuration", responses((status = 200, description = "departments")))]
pub async fn list_departments(
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.read_hospital()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "departments": engine.hospital.departments })))
}

#[utoipa::path(get, path = "/api/v1/screens", tag = "configuration", responses((status = 200, description = "screens with online status and last heartbeat")))]
pub async fn list_screens(
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.read_hospital()?;
    let screens: Vec<_> = engine
        .hospital
        .screens
        .iter()
        .map(|s| {
            let p = engine.directory.presence(&s.code);
            serde_json::json!({
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "title": s.title,
                "rooms": s.rooms,
                "voice": s.voice,
                "online": p.sessions > 0,
                "sessions": p.sessions,
                "last_seen": p.last_seen,
                "url": format!("/screens/{}", s.code),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "screens": screens })))
}
