//! Notices published to screens (信息发布): `POST /api/v1/notices` to chosen
//! screens or all, `GET /api/v1/notices` (active ones), `DELETE
//! /api/v1/notices/{id}` to withdraw. Stored before any screen sees them; part
//! of every snapshot while active.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use triage_actors::directory::NoticeView;
use utoipa::ToSchema;

use super::error::ApiError;
use super::{audit, parse_json, read_body, BODY_LIMIT};
use crate::db::models::{NewNotice, NoticeRow};
use crate::db::store;
use crate::engine::{utc, Engine};

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
    /// When it stops showing; absent for until withdrawn.
    #[serde(default)]
    pub expires_at: Option<DateTime<FixedOffset>>,
}

/// A notice as stored.
#[derive(Serialize, ToSchema)]
pub struct NoticeAnswer {
    pub id: i64,
    pub text: String,
    pub level: String,
    /// Target screens; null for every screen.
    pub screens: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn answer(r: &NoticeRow) -> NoticeAnswer {
    NoticeAnswer {
        id: r.id,
        text: r.text.clone(),
        level: r.level.clone(),
        screens: if r.screens == "*" {
            None
        } else {
            serde_json::from_str(&r.screens).ok()
        },
        created_at: utc(r.created_at),
        expires_at: r.expires_at.map(utc),
    }
}

/// The engine's view of a stored notice.
pub fn view(r: &NoticeRow) -> (NoticeView, Option<Vec<String>>) {
    let a = answer(r);
    (
        NoticeView {
            id: a.id,
            text: a.text,
            level: a.level,
            created_at: a.created_at,
            expires_at: a.expires_at,
        },
        a.screens,
    )
}

#[utoipa::path(post, path = "/api/v1/notices", tag = "screens", request_body = NoticeBody,
    responses((status = 201, description = "stored and sent to its screens", body = NoticeAnswer),
              (status = 422, description = "invalid; nothing changed", body = super::openapi::ErrorBody)))]
pub async fn publish(
    req: HttpRequest,
    payload: web::Payload,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let audit = audit(&req, &engine, "anonymous")?;
    let bytes = read_body(payload, BODY_LIMIT).await?;
    let (body, _): (NoticeBody, String) = parse_json(&req, &bytes)?;
    let text = body.text.trim();
    if text.is_empty()
        || text.chars().count() > 500
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(ApiError::invalid(
            "invalid_notice_text",
            "text",
            "1-500 characters",
        ));
    }
    let level = body.level.as_deref().unwrap_or("info");
    if !matches!(level, "info" | "urgent") {
        return Err(ApiError::invalid(
            "invalid_notice_level",
            "level",
            "info or urgent",
        ));
    }
    if let Some(list) = &body.screens {
        if list.is_empty() {
            return Err(ApiError::invalid(
                "invalid_screens",
                "screens",
                "name at least one screen, or leave screens out for all",
            ));
        }
        for (i, code) in list.iter().enumerate() {
            if !engine.directory.screens.contains_key(code) {
                return Err(ApiError::invalid(
                    "unknown_screen",
                    &format!("screens[{i}]"),
                    format!("no screen {code:?}"),
                ));
            }
        }
    }
    let expires = body.expires_at.map(|t| t.with_timezone(&Utc));
    if expires.is_some_and(|e| e <= audit.at) {
        return Err(ApiError::invalid(
            "invalid_expiry",
            "expires_at",
            "the notice would already be expired",
        ));
    }
    let new = NewNotice {
        text: text.to_string(),
        level: level.to_string(),
        screens: match &body.screens {
            None => "*".into(),
            Some(l) => serde_json::to_string(l).unwrap_or_else(|_| "[]".into()),
        },
        operator: audit.operator.clone(),
        created_at: audit.at.naive_utc(),
        expires_at: expires.map(|e| e.naive_utc()),
    };
    let row = engine
        .db
        .write(move |c| store::insert_notice(c, new, &audit))
        .await?;
    let (v, screens) = view(&row);
    engine.directory.publish_notice(v, screens);
    tracing::info!(notice_id = row.id, "notice published");
    Ok(HttpResponse::Created().json(answer(&row)))
}

#[utoipa::path(get, path = "/api/v1/notices", tag = "screens",
    responses((status = 200, description = "active notices", body = Vec<NoticeAnswer>)))]
pub async fn list(engine: web::Data<Engine>) -> Result<HttpResponse, ApiError> {
    let now = engine.clock.now().naive_utc();
    let rows = engine
        .db
        .read(move |c| store::active_notices(c, now))
        .await?;
    let list: Vec<NoticeAnswer> = rows.iter().map(answer).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "notices": list })))
}

#[utoipa::path(delete, path = "/api/v1/notices/{id}", tag = "screens", params(("id" = i64, Path)),
    responses((status = 200, description = "withdrawn"), (status = 404, body = super::openapi::ErrorBody)))]
pub async fn withdraw(
    req: HttpRequest,
    path: web::Path<String>,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    let id: i64 = path
        .into_inner()
        .parse()
        .map_err(|_| ApiError::not_found("notice_not_found", "no such notice"))?;
    let audit = audit(&req, &engine, "anonymous")?;
    let changed = engine
        .db
        .write(move |c| store::withdraw_notice(c, id, &audit))
        .await?;
    if !changed {
        return Err(ApiError::not_found(
            "notice_not_found",
            "no such active notice",
        ));
    }
    engine.directory.withdraw_notice(id);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": id, "withdrawn": true })))
}
