//! Notices published to screens (信息发布): `POST /api/v1/notices` to chosen
//! screens or all, `GET /api/v1/notices` (active ones), `DELETE
//! /api/v1/notices/{id}` to withdraw.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{Caller, Json};
use crate::engine::notices::{NoticeAnswer, NoticeBody};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

#[utoipa::path(post, path = "/api/v1/notices", tag = "screens", request_body = NoticeBody,
    responses((status = 201, description = "stored and sent to its screens", body = NoticeAnswer),
              (status = 422, description = "invalid; nothing changed", body = super::error::ErrorBody)))]
pub async fn publish(body: Json<NoticeBody>, caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller
        .principal
        .notices(engine.hospital(), body.value.screens.as_deref(), |c| {
            engine.screen(c).map(|s| s.rooms).unwrap_or_default()
        })?;
    let audit = caller.acting();
    Ok(HttpResponse::Created().json(engine.publish_notice(body.value, audit).await?))
}

/// The notices in force and those waiting for their start.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct NoticeList {
    pub notices: Vec<NoticeAnswer>,
}

#[utoipa::path(get, path = "/api/v1/notices", tag = "screens", operation_id = "list_notices",
    responses((status = 200, description = "active notices", body = NoticeList),
        (status = 401, description = "no or bad credentials", body = super::error::ErrorBody),
        (status = 403, description = "a client without a reading scope", body = super::error::ErrorBody)))]
pub async fn list(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.read_hospital()?;
    let notices: Vec<NoticeAnswer> = engine.notices().await?;
    Ok(HttpResponse::Ok().json(NoticeList { notices }))
}

#[utoipa::path(delete, path = "/api/v1/notices/{id}", tag = "screens", params(("id" = i64, Path)),
    responses((status = 200, description = "withdrawn"), (status = 404, body = super::error::ErrorBody)))]
pub async fn withdraw(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Answer {
    let id: i64 = path
        .parse()
        .map_err(|_| Error::new(ErrorCode::NoticeNotFound, "no such notice"))?;
    let notice = engine
        .notices()
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| Error::new(ErrorCode::NoticeNotFound, "no such active notice"))?;
    caller
        .principal
        .notices(engine.hospital(), notice.screens.as_deref(), |c| {
            engine.screen(c).map(|s| s.rooms).unwrap_or_default()
        })?;
    let audit = caller.acting();
    engine.withdraw_notice(id, audit).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id, "withdrawn": true })))
}
