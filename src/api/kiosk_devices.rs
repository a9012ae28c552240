//! Kiosks as managed devices, beside the screens on `/devices`:
//! `GET /api/v1/kiosks` (every kiosk of the configuration with its areas,
//! whether it has a device token and when it was last heard from) and
//! `POST` · `DELETE /api/v1/kiosks/{code}/token` (administrators: a new
//! token shown once, or the token revoked). A kiosk's token is kept as a
//! screen's is (its digest only), and audited the same way.

use actix_web::{web, HttpResponse};

use super::error::{ApiError, ErrorBody};
use super::extract::Caller;
use crate::auth::Auth;
use crate::config::KioskDef;
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

fn kiosk_def<'a>(engine: &'a Engine, code: &str) -> Result<&'a KioskDef, Error> {
    engine
        .hospital()
        .kiosk(code)
        .ok_or_else(|| Error::new(ErrorCode::KioskNotFound, format!("no kiosk {code:?}")))
}

#[utoipa::path(get, path = "/api/v1/kiosks", tag = "configuration", operation_id = "list_kiosks",
    responses((status = 200, description = "the kiosks: code, name, departments (names; all for 通签), has_token, last_seen (kept in the database once a minute, across restarts), url"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(caller: Caller, engine: web::Data<Engine>, auth: web::Data<Auth>) -> Answer {
    caller.principal.read_hospital()?;
    let kiosks: Vec<_> = engine
        .hospital()
        .kiosks
        .iter()
        .map(|k| {
            let departments: Vec<String> = match &k.departments {
                Some(list) => list
                    .iter()
                    .map(|d| {
                        engine
                            .hospital()
                            .department(d)
                            .map_or_else(|| d.clone(), |x| x.name.clone())
                    })
                    .collect(),
                None => vec!["全院（通签）".to_string()],
            };
            serde_json::json!({
                "code": k.code,
                "name": k.name,
                "departments": departments,
                "all_areas": k.departments.is_none(),
                "has_token": auth.has_screen_token(&k.code),
                "last_seen": auth.kiosk_seen(&k.code),
                "url": format!("/kiosk/{}", k.code),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "kiosks": kiosks })))
}

#[utoipa::path(post, path = "/api/v1/kiosks/{code}/token", tag = "configuration", operation_id = "issue_kiosk_token", params(("code" = String, Path)),
    responses((status = 201, description = "a new device token, shown once (the old one stops working): `{kiosk, token, url}`"),
              (status = 403, description = "administrators only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn issue_token(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let code = kiosk_def(&engine, &path)?.code.clone();
    let token = super::screens::issue_device_token(&caller, &engine, &auth, &code).await?;
    tracing::info!(kiosk = %code, "kiosk device token issued");
    Ok(HttpResponse::Created().json(serde_json::json!({
        "kiosk": code,
        "token": token,
        "url": format!("/kiosk/{code}#token={token}"),
    })))
}

#[utoipa::path(delete, path = "/api/v1/kiosks/{code}/token", tag = "configuration", operation_id = "revoke_kiosk_token", params(("code" = String, Path)),
    responses((status = 200, description = "revoked: the kiosk refuses check-ins at once"),
              (status = 403, description = "administrators only", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let code = kiosk_def(&engine, &path)?.code.clone();
    super::screens::revoke_device_token(&caller, &engine, &auth, &code).await?;
    tracing::info!(kiosk = %code, "kiosk device token revoked");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "kiosk": code, "revoked": true })))
}
