//! Configuration reads for screens and departments: `GET /screens` (with
//! online state and last heartbeat) and `GET /departments`.

use actix_web::{web, HttpResponse};

use crate::engine::Engine;

#[utoipa::path(get, path = "/api/v1/departments", tag = "configuration", responses((status = 200, description = "departments")))]
pub async fn list_departments(engine: web::Data<Engine>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "departments": engine.hospital.departments }))
}

#[utoipa::path(get, path = "/api/v1/screens", tag = "configuration", responses((status = 200, description = "screens with online status and last heartbeat")))]
pub async fn list_screens(engine: web::Data<Engine>) -> HttpResponse {
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
    HttpResponse::Ok().json(serde_json::json!({ "screens": screens }))
}
