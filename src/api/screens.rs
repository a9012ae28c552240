//! Screens as managed devices and the departments: `GET /screens` (what
//! each shows, online state, last heartbeat, whether it has a device
//! token), `PUT /screens/{code}` (register or reassign, at once on the
//! running screen), `DELETE /screens/{code}` (retire it: 停用),
//! `POST|DELETE /screens/{code}/token` (a new device
//! token, shown once; revoke it) and `GET /departments`.

use actix_web::{web, HttpResponse};

use super::error::ApiError;
use super::extract::{Caller, Json};
use serde::Deserialize;
use triage_actors::screen::{ScreenConfig, ScreenKind};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::config::Hospital;
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{RoomCode, ScreenCode};

/// What a screen shows: `PUT /api/v1/screens/{code}` (creates it, or
/// reassigns it).
#[derive(Deserialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ScreenBody {
    /// What the hospital calls the device (1-40 characters), e.g.
    /// "内科候诊区2号屏".
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// `overview` (综合屏: several rooms) or `door` (门口屏: one room).
    #[schema(pattern = "^(overview|door)$")]
    pub kind: String,
    /// The rooms it shows (a door screen exactly one).
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    /// An overview of a whole department (instead of `rooms`).
    #[serde(default)]
    pub department: Option<String>,
    /// The heading (default: the department's or the room's name).
    #[serde(default)]
    pub title: Option<String>,
    /// Whether it speaks the calls (default: overviews yes, doors no).
    #[serde(default)]
    pub voice: Option<bool>,
    /// Waiting patients shown per room, 1-10 (default: the hospital's).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10)]
    pub next_count: Option<usize>,
    /// A door screen that also lists its room's appointments of today
    /// (今日预约: slot and masked name); default no. Overviews cannot.
    #[serde(default)]
    pub appointments: bool,
}

impl ScreenBody {
    /// The screen this body describes, checked against the hospital.
    pub fn config(&self, code: &str, hospital: &Hospital) -> Result<ScreenConfig, Error> {
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 40 {
            return Err(Error::field(
                ErrorCode::InvalidField,
                "name",
                "1-40 characters",
            ));
        }
        let kind = ScreenKind::parse(&self.kind)
            .ok_or_else(|| Error::field(ErrorCode::InvalidField, "kind", "overview or door"))?;
        let mut rooms: Vec<RoomCode> = Vec::new();
        let mut department_name = None;
        if let Some(d) = &self.department {
            let Some(dep) = hospital.departments.iter().find(|x| x.code == *d) else {
                return Err(Error::field(
                    ErrorCode::UnknownDepartment,
                    "department",
                    format!("no department {d:?}"),
                ));
            };
            department_name = Some(dep.name.clone());
            if self.rooms.is_none() {
                rooms.extend(
                    hospital
                        .rooms
                        .iter()
                        .filter(|r| r.department == *d)
                        .map(|r| r.code.clone()),
                );
            }
        }
        for (i, r) in self.rooms.iter().flatten().enumerate() {
            if hospital.room(r).is_none() {
                return Err(Error::field(
                    ErrorCode::UnknownRoom,
                    &format!("rooms[{i}]"),
                    format!("no room {r:?}"),
                ));
            }
            // Known, hence well-formed.
            if !rooms.iter().any(|x| x == r) {
                rooms.push(RoomCode::trusted(r.clone()));
            }
        }
        match kind {
            ScreenKind::Door if rooms.len() != 1 => {
                return Err(Error::field(
                    ErrorCode::InvalidScreens,
                    "rooms",
                    "a door screen shows exactly one room",
                ))
            }
            ScreenKind::Overview if rooms.is_empty() => {
                return Err(Error::field(
                    ErrorCode::InvalidScreens,
                    "rooms",
                    "an overview screen needs a department or rooms",
                ))
            }
            _ => {}
        }
        if self.appointments && kind != ScreenKind::Door {
            return Err(Error::field(
                ErrorCode::InvalidScreens,
                "appointments",
                "only a door screen lists its room's appointments",
            ));
        }
        let next_count = self.next_count.unwrap_or(hospital.next_count);
        if !(1..=10).contains(&next_count) {
            return Err(Error::field(ErrorCode::InvalidField, "next_count", "1-10"));
        }
        // Counted as sent, stored trimmed.
        let sent = self.title.as_deref().map_or(0, |t| t.chars().count());
        let title = match self.title.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() && sent <= 40 => t.to_string(),
            Some(_) => {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    "title",
                    "1-40 characters",
                ))
            }
            None => department_name
                .or_else(|| {
                    (kind == ScreenKind::Door)
                        .then(|| {
                            rooms
                                .first()
                                .and_then(|r| hospital.room(r))
                                .map(|r| r.name.clone())
                        })
                        .flatten()
                })
                .unwrap_or_else(|| name.to_string()),
        };
        Ok(ScreenConfig {
            code: ScreenCode::trusted(code),
            name: name.to_string(),
            kind,
            title,
            rooms,
            voice: self.voice.unwrap_or(kind == ScreenKind::Overview),
            next_count,
            appointments: self.appointments,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "configuration", responses((status = 200, description = "departments")))]
pub async fn list_departments(
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.read_hospital()?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({ "departments": engine.hospital().departments })),
    )
}

#[utoipa::path(get, path = "/api/v1/screens", tag = "configuration", responses((status = 200, description = "screens with online status, `state` (online, unauthorized (its last socket was refused: no valid device token), reconnecting, offline after `[alerts] screen_offline_seconds` of silence, never_seen) and last contact (kept across restarts)")))]
pub async fn list_screens(
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
    alerts: web::Data<crate::alerts::Alerts>,
) -> Result<HttpResponse, ApiError> {
    caller.principal.read_hospital()?;
    let offline_after = alerts.hospital.alerts.screen_offline_seconds as i64;
    let now = engine.now();
    let screens: Vec<_> = engine
        .screens()
        .iter()
        .map(|s| {
            let p = engine.directory().presence(&s.code);
            // Last contact: this run's heartbeats, else the one kept in
            // the database (across restarts).
            let last_seen = crate::alerts::monitor::last_seen_of(&alerts, &s.code, p.last_seen);
            let state = if p.sessions > 0 {
                "online"
            } else if auth.screen_refused(&s.code) {
                "unauthorized"
            } else if last_seen.is_none() {
                "never_seen"
            } else if last_seen.is_some_and(|t| (now - t).num_seconds() >= offline_after) {
                "offline"
            } else {
                "reconnecting"
            };
            serde_json::json!({
                "code": s.code,
                "name": s.name,
                "kind": s.kind,
                "title": s.title,
                "rooms": s.rooms,
                "voice": s.voice,
                "next_count": s.next_count,
                "appointments": s.appointments,
                "online": p.sessions > 0,
                "sessions": p.sessions,
                "last_seen": last_seen,
                "state": state,
                "has_token": auth.has_screen_token(&s.code),
                "url": format!("/screens/{}", s.code),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "screens": screens })))
}

#[utoipa::path(put, path = "/api/v1/screens/{screen_code}", tag = "configuration", params(("screen_code" = String, Path)), request_body = ScreenBody,
    responses((status = 201, description = "registered: a new screen (give it a device token next)"),
              (status = 200, description = "reassigned: the running screen shows it at once, without a reload"),
              (status = 422, description = "invalid_field, unknown_room, unknown_department, invalid_screens", body = super::error::ErrorBody)))]
pub async fn put_screen(
    path: web::Path<String>,
    body: Json<ScreenBody>,
    caller: Caller,
    engine: web::Data<Engine>,
) -> Result<HttpResponse, ApiError> {
    // A new screen's code: a bad one is a bad field, not an unknown screen.
    let code = ScreenCode::parse(&path).map_err(|_| {
        Error::field(
            ErrorCode::InvalidField,
            "screen_code",
            "codes are 1-64 letters, digits, '.', '_' or '-'",
        )
    })?;
    // A kiosk's code is no screen's: the two share the token table, and a
    // kiosk's token is an administrator's to give (/devices).
    if engine.hospital().kiosk(code.as_str()).is_some() {
        return Err(Error::field(
            ErrorCode::InvalidField,
            "screen_code",
            "this code is a kiosk's (自助报到机); a screen needs its own code",
        )
        .into());
    }
    let body = body.value;
    // Both what it showed (also as a retired screen) and what it will show
    // must be the caller's.
    let before = engine.screen_rooms_known(&code).await?;
    let after = match (&body.rooms, &body.department) {
        // Unchecked here: a code that is no room is in no department.
        (Some(r), _) => r.iter().map(RoomCode::trusted).collect(),
        (None, Some(d)) => engine
            .hospital()
            .rooms
            .iter()
            .filter(|r| r.department == *d)
            .map(|r| r.code.clone())
            .collect(),
        (None, None) => vec![],
    };
    let mut all = before;
    all.extend(after);
    caller.principal.manage_screen(engine.hospital(), &all)?;
    let config = body.config(code.as_str(), engine.hospital())?;
    let (screen, created) = engine.put_screen(&code, config, caller.acting()).await?;
    let status = if created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .json(serde_json::json!({ "screen": screen, "created": created })))
}

#[utoipa::path(delete, path = "/api/v1/screens/{screen_code}", tag = "configuration", params(("screen_code" = String, Path)),
    responses((status = 200, description = "retired (停用): the screen is listed no more, its device token ends, an open screen is wiped and closed at once, and it stays retired across restarts (also one of the configuration file). `PUT` registers the code again. `{screen, retired, token_revoked}`"),
              (status = 403, description = "forbidden: only an administrator, or a nurse of every room the screen shows", body = super::error::ErrorBody),
              (status = 404, description = "screen_not_found", body = super::error::ErrorBody)))]
pub async fn retire_screen(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
    alerts: web::Data<crate::alerts::Alerts>,
) -> Result<HttpResponse, ApiError> {
    let screen = managed(&path, &caller, &engine)?;
    let (_, token_revoked) = engine.retire_screen(&screen.code, caller.acting()).await?;
    // Retired and stored: what follows is told, not answered (a retry
    // would find no screen). The token is refused from the database within
    // seconds anyway; the monitor clears the fault when it looks again.
    if let Err(e) = auth.reload().await {
        tracing::error!(error = %e, "device tokens not reloaded after a retirement");
    }
    // A dark screen that was taken away is no fault any more, and its last
    // contact is forgotten (a code registered again starts afresh).
    alerts.seen.remove(screen.code.as_str());
    if let Err(e) = alerts
        .resolve_key(
            &format!("screen_offline:{}", screen.code),
            &caller.principal.operator(),
            "屏幕已停用".into(),
        )
        .await
    {
        tracing::error!(error.code = %e.code, "the retired screen's fault not resolved");
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "screen": screen.code,
        "retired": true,
        "token_revoked": token_revoked,
    })))
}

/// The running screen `code` names, if the caller may manage it.
fn managed(
    code: &str,
    caller: &Caller,
    engine: &Engine,
) -> Result<triage_actors::screen::ScreenConfig, ApiError> {
    let code = ScreenCode::parse(code)?;
    let screen = engine
        .screen(code.as_str())
        .ok_or_else(|| Error::new(ErrorCode::ScreenNotFound, format!("no screen {code:?}")))?;
    caller
        .principal
        .manage_screen(engine.hospital(), &screen.rooms)?;
    Ok(screen)
}

/// A new device token for a screen or kiosk `code` (the caller's right to
/// it checked before): stored as its digest, audited, in force at once;
/// answers the token, to be shown once.
pub(super) async fn issue_device_token(
    caller: &Caller,
    engine: &Engine,
    auth: &Auth,
    code: &str,
) -> Result<String, Error> {
    let stamp = caller.stamp(engine);
    let token = triage_ground::secret::random(32);
    let digest = triage_ground::secret::sha256_hex(token.as_bytes());
    let c = code.to_string();
    engine
        .db()
        .write(move |conn| crate::db::accounts::issue_screen_token(conn, &c, &digest, &stamp))
        .await?;
    auth.reload().await?;
    Ok(token)
}

/// Revokes the device token of a screen or kiosk `code` (audited; 404
/// when it has none).
pub(super) async fn revoke_device_token(
    caller: &Caller,
    engine: &Engine,
    auth: &Auth,
    code: &str,
) -> Result<(), Error> {
    let stamp = caller.stamp(engine);
    let c = code.to_string();
    engine
        .db()
        .write(move |conn| crate::db::accounts::revoke_screen_token(conn, &c, &stamp))
        .await
        .map_err(|e| match e {
            crate::db::DbError::Query(diesel::result::Error::NotFound) => {
                Error::new(ErrorCode::NotFound, "no live device token")
            }
            other => Error::from(other),
        })?;
    auth.reload().await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/screens/{screen_code}/token", tag = "configuration", params(("screen_code" = String, Path)),
    responses((status = 201, description = "a new device token, shown once (the old one stops working): `{token, url}`"),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn issue_token(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, ApiError> {
    let screen = managed(&path, &caller, &engine)?;
    let token = issue_device_token(&caller, &engine, &auth, screen.code.as_str()).await?;
    tracing::info!(screen = %screen.code, "screen device token issued");
    Ok(HttpResponse::Created().json(serde_json::json!({
        "screen": screen.code,
        "token": token,
        "url": format!("/screens/{}#token={token}", screen.code),
    })))
}

#[utoipa::path(delete, path = "/api/v1/screens/{screen_code}/token", tag = "configuration", params(("screen_code" = String, Path)),
    responses((status = 200, description = "revoked: an open screen closes within seconds"),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn revoke_token(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Result<HttpResponse, ApiError> {
    let screen = managed(&path, &caller, &engine)?;
    revoke_device_token(&caller, &engine, &auth, screen.code.as_str()).await?;
    tracing::info!(screen = %screen.code, "screen device token revoked");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "screen": screen.code, "revoked": true })))
}
