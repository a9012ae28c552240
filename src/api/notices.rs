//! Notices published to screens (信息发布): `POST /api/v1/notices` to chosen
//! screens or all, `GET /api/v1/notices` (active ones), `DELETE
//! /api/v1/notices/{id}` to withdraw.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use crate::db::columns::NoticeLevel;
use crate::engine::notices::{NoticeAnswer, NoticeDraft};
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::ScreenCode;

type Answer = Result<HttpResponse, ApiError>;

/// A notice to publish.
#[derive(Deserialize, ToSchema)]
pub struct NoticeBody {
    /// 1-500 characters.
    pub text: String,
    /// `info` (default) or `urgent`.
    #[serde(default)]
    pub level: Option<String>,
    /// Screen codes; absent for every screen of the hospital.
    #[serde(default)]
    pub screens: Option<Vec<String>>,
    /// When it starts showing (at most 90 days ahead); absent for at once.
    #[serde(default, with = "triage_ground::time::rfc3339::option")]
    pub starts_at: Option<DateTime<FixedOffset>>,
    /// When it stops showing; absent for until withdrawn.
    #[serde(default, with = "triage_ground::time::rfc3339::option")]
    pub expires_at: Option<DateTime<FixedOffset>>,
}

impl NoticeBody {
    /// The notice the body asks for, its fields parsed in the order they
    /// are checked (text, level, screens); the engine checks that the
    /// screens exist and the times.
    fn draft(self) -> Result<NoticeDraft, Error> {
        let text = NoticeDraft::text(&self.text)?;
        let level = match self.level.as_deref() {
            None => NoticeLevel::Info,
            Some(l) => NoticeLevel::parse(l).ok_or_else(|| {
                Error::field(ErrorCode::InvalidNoticeLevel, "level", "info or urgent")
            })?,
        };
        let screens = match self.screens {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(Error::field(
                    ErrorCode::InvalidScreens,
                    "screens",
                    "name at least one screen, or leave screens out for all",
                ))
            }
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, code)| {
                        ScreenCode::parse(code).map_err(|_| {
                            Error::field(
                                ErrorCode::UnknownScreen,
                                &format!("screens[{i}]"),
                                format!("no screen {code:?}"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()?,
            ),
        };
        Ok(NoticeDraft {
            text,
            level,
            screens,
            starts_at: self.starts_at.map(|t| t.with_timezone(&Utc)),
            expires_at: self.expires_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

#[utoipa::path(post, path = "/api/v1/notices", tag = "screens", request_body = NoticeBody,
    responses((status = 201, description = "stored and sent to its screens", body = NoticeAnswer),
              (status = 422, description = "invalid; nothing changed", body = super::error::ErrorBody)))]
pub async fn publish(body: Json<NoticeBody>, caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller
        .principal
        .notices(engine.hospital(), body.value.screens.as_deref(), |c| {
            engine.screen(c).map(|s| s.rooms).unwrap_or_default()
        })?;
    let draft = body.value.draft()?;
    Ok(HttpResponse::Created().json(engine.publish_notice(draft, caller.acting()).await?))
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
