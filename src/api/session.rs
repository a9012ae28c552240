//! Staff sessions: `POST /api/v1/session` (log in), `GET` (who am I, and
//! the CSRF token the page sends with its writes), `DELETE` (log out) and
//! `POST /api/v1/session/password` (change one's password; the only thing
//! a first login may do). The session is a cookie: HttpOnly,
//! SameSite=Strict, Secure under HTTPS.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::Json;
use crate::api::authenticate::source_of;
use crate::auth::{csrf_token, Auth, StaffView, SESSION_COOKIE};
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

/// A login.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// The account's code (工号).
    pub code: String,
    pub password: String,
    /// The 6-digit code of the authenticator app, when the account has a
    /// second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// A session as its page sees it.
#[derive(Serialize, ToSchema)]
pub struct SessionAnswer {
    pub staff: StaffView,
    /// The password must be changed before anything else.
    pub must_change_password: bool,
    /// Send as `X-CSRF-Token` with every write.
    pub csrf_token: String,
    /// The session ends after this long unused.
    pub idle_timeout_seconds: u64,
    /// The hospital's password rule, in the words the password form shows
    /// (from `[security]`).
    pub password_rule: String,
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

fn cookie<'a>(req: &HttpRequest, value: String) -> Cookie<'a> {
    let secure = req
        .app_data::<web::Data<crate::listen::Served>>()
        .is_some_and(|s| s.https);
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A refused login or password change as the API answers it: 429 with
/// its `Retry-After` when it says when to try again.
fn refused(r: crate::auth::LoginRefused) -> ApiError {
    match r.retry_after {
        Some(seconds) => ApiError::too_many(r.error.message, seconds),
        None => r.error.into(),
    }
}

fn session_id(req: &HttpRequest) -> Result<String, Error> {
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(|| Error::new(ErrorCode::Unauthenticated, "no session: log in first"))
}

#[utoipa::path(post, path = "/api/v1/session", tag = "accounts", request_body = LoginBody,
    responses((status = 200, description = "logged in; the cookie is set", body = SessionAnswer),
              (status = 401, description = "bad_credentials (a wrong account, password or code, or a disabled account: alike), totp_required", body = ErrorBody),
              (status = 429, description = "too many attempts from this address, or a wrong-password streak of this account from this address waits (doubling); Retry-After says when to try again", body = ErrorBody)))]
pub async fn login(req: HttpRequest, body: Json<LoginBody>, auth: web::Data<Auth>) -> Answer {
    let b = body.value;
    let source = source_of(&req);
    let done = auth
        .login(&b.code, &b.password, b.totp.as_deref(), &source)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok()
        .cookie(cookie(&req, done.session_id))
        .json(SessionAnswer {
            staff: done.staff,
            must_change_password: done.must_change,
            csrf_token: done.csrf_token,
            idle_timeout_seconds: auth.policy().session_idle_seconds,
            password_rule: crate::auth::password::rule_zh(auth.policy()),
        }))
}

#[utoipa::path(get, path = "/api/v1/session", tag = "accounts",
    responses((status = 200, body = SessionAnswer), (status = 401, body = ErrorBody)))]
pub async fn current(req: HttpRequest, auth: web::Data<Auth>) -> Answer {
    let id = session_id(&req)?;
    let (staff, must_change) = auth.me(&id).await?;
    Ok(HttpResponse::Ok().json(SessionAnswer {
        staff,
        must_change_password: must_change,
        csrf_token: csrf_token(&id),
        idle_timeout_seconds: auth.policy().session_idle_seconds,
        password_rule: crate::auth::password::rule_zh(auth.policy()),
    }))
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 200, description = "logged out; the cookie is cleared")))]
pub async fn logout(req: HttpRequest, auth: web::Data<Auth>) -> Answer {
    if let Ok(id) = session_id(&req) {
        auth.logout(&id, &source_of(&req)).await?;
    }
    let mut gone = cookie(&req, String::new());
    gone.make_removal();
    Ok(HttpResponse::Ok()
        .cookie(gone)
        .json(serde_json::json!({ "logged_out": true })))
}

#[utoipa::path(post, path = "/api/v1/session/password", tag = "accounts", request_body = PasswordBody,
    responses((status = 200, description = "changed; other sessions of the account end"),
              (status = 401, description = "the current password is wrong", body = ErrorBody),
              (status = 422, description = "weak_password: the policy is not met", body = ErrorBody)))]
pub async fn change_password(
    req: HttpRequest,
    body: Json<PasswordBody>,
    auth: web::Data<Auth>,
) -> Answer {
    let id = session_id(&req)?;
    let b = body.value;
    auth.change_password(&id, &b.current_password, &b.new_password, &source_of(&req))
        .await
        .map_err(refused)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "changed": true })))
}
