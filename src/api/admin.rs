//! Administration over HTTP, for the admin pages (administrators only; the
//! same operations as `triage user` and `triage client`, through the same
//! functions, each audited): staff accounts (`GET|POST /accounts`, a new
//! password, disable, enable) and HIS clients (`GET|POST /clients`, revoke).
//! A new password or API key is in the answer once and never again; none
//! is logged.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::error::ErrorBody;
use super::extract::{Caller, Json};
use crate::auth::accounts::{self, NewAccount, NewClient};
use crate::auth::policy::{Role, Scope};
use crate::auth::Auth;
use crate::db::accounts as store;
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};

type Answer = Result<HttpResponse, ApiError>;

/// Runs an account operation on a connection of its own (as the command
/// line does: it begins its own write transaction and hashes passwords off
/// the async workers), then reloads the caches so the change holds at once.
async fn account_op<T: Send + 'static>(
    engine: &Engine,
    auth: &Auth,
    op: impl FnOnce(&mut crate::db::AnyConnection) -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    let out = engine
        .db()
        .read(move |c| Ok(op(c)))
        .await
        .map_err(Error::from)??;
    auth.reload().await.map_err(Error::from)?;
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, description = "every staff account (never a password or a second factor's secret)")))]
pub async fn list_accounts(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.admin()?;
    let rows = engine
        .db()
        .read(store::list_staff)
        .await
        .map_err(Error::from)?;
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "code": r.code,
                "name": r.name,
                "role": r.role,
                "scope": r.scope_list(),
                "disabled": r.disabled,
                "must_change_password": r.must_change,
                "totp": r.totp_secret.is_some(),
                "failed_logins": r.failed_logins,
                "locked_until": r.locked_until.map(|t| t.and_utc()),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "accounts": list })))
}

/// A new staff account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    /// The staff number (工号): 1-32 letters, digits, `.`, `_`, `-`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,32}$")]
    pub code: String,
    pub name: String,
    /// `admin`, `nurse` or `doctor`.
    #[schema(pattern = "^(admin|nurse|doctor)$")]
    pub role: String,
    /// Departments (nurse) or rooms (doctor); empty for an admin.
    #[serde(default)]
    pub scope: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = AccountBody,
    responses((status = 201, description = "created: `{code, password, totp_uri?}`, the initial password shown once (the first login must change it)"),
              (status = 409, description = "name_taken: an account with this code exists", body = ErrorBody),
              (status = 422, description = "invalid_account", body = ErrorBody)))]
pub async fn add_account(
    body: Json<AccountBody>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let b = body.value;
    let role = Role::parse(&b.role)
        .ok_or_else(|| Error::field(ErrorCode::InvalidAccount, "role", "admin, nurse or doctor"))?;
    let stamp = caller.stamp(&engine);
    let hospital = engine.hospital().clone();
    let code = b.code.clone();
    let created = account_op(&engine, &auth, move |c| {
        accounts::add_user(
            c,
            &hospital,
            NewAccount {
                code: b.code,
                name: b.name,
                role,
                scope: b.scope,
                password: None,
                totp: false,
                must_change: true,
            },
            &stamp,
        )
    })
    .await?;
    tracing::info!(staff = %code, "account created");
    Ok(HttpResponse::Created().json(serde_json::json!({
        "code": code,
        "password": created.password,
        "totp_uri": created.totp.map(|(uri, _)| uri),
    })))
}

#[utoipa::path(post, path = "/api/v1/accounts/{code}/password", tag = "accounts", params(("code" = String, Path)),
    responses((status = 200, description = "a new random password, shown once: the next login must change it; sessions end, the account is unlocked"),
              (status = 409, description = "own_account: one's own password is changed with POST /api/v1/session/password", body = ErrorBody),
              (status = 404, description = "not_found: no such account", body = ErrorBody)))]
pub async fn reset_password(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let code = path.into_inner();
    own_account(
        &caller,
        &code,
        "an administrator changes their own password with 修改密码 (POST /api/v1/session/password), not by a reset",
    )?;
    let stamp = caller.stamp(&engine);
    let policy = engine.hospital().security.clone();
    let c2 = code.clone();
    let password = account_op(&engine, &auth, move |c| {
        accounts::set_password(c, &policy, &c2, None, &stamp)
    })
    .await?;
    tracing::info!(staff = %code, "password reset by an administrator");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "code": code, "password": password })))
}

/// Refuses (409 `own_account`) an administrator acting on their own
/// account where another administrator must.
fn own_account(caller: &Caller, code: &str, message: &'static str) -> Result<(), Error> {
    match caller.principal.staff() {
        Some(me) if me.code == code => Err(Error::new(ErrorCode::OwnAccount, message)),
        _ => Ok(()),
    }
}

async fn set_disabled(
    code: String,
    disabled: bool,
    caller: Caller,
    engine: &Engine,
    auth: &Auth,
) -> Answer {
    caller.principal.admin()?;
    if disabled {
        own_account(
            &caller,
            &code,
            "an administrator cannot disable their own account (管理员不能停用自己的账号)",
        )?;
    }
    let stamp = caller.stamp(engine);
    let c2 = code.clone();
    account_op(engine, auth, move |c| {
        accounts::set_disabled(c, &c2, disabled, &stamp)
    })
    .await?;
    tracing::info!(staff = %code, disabled, "account disabled or enabled");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "code": code, "disabled": disabled })))
}

#[utoipa::path(post, path = "/api/v1/accounts/{code}/disable", tag = "accounts", params(("code" = String, Path)),
    responses((status = 200, description = "disabled: its sessions end at once"),
              (status = 409, description = "own_account: an administrator's own account is disabled by another", body = ErrorBody),
              (status = 404, description = "not_found: no such account", body = ErrorBody)))]
pub async fn disable_account(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    set_disabled(path.into_inner(), true, caller, &engine, &auth).await
}

#[utoipa::path(post, path = "/api/v1/accounts/{code}/enable", tag = "accounts", params(("code" = String, Path)),
    responses((status = 200, description = "enabled again"), (status = 404, description = "not_found: no such account", body = ErrorBody)))]
pub async fn enable_account(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    set_disabled(path.into_inner(), false, caller, &engine, &auth).await
}

#[utoipa::path(get, path = "/api/v1/clients", tag = "accounts",
    responses((status = 200, description = "every HIS client (never its key)")))]
pub async fn list_clients(caller: Caller, engine: web::Data<Engine>) -> Answer {
    caller.principal.admin()?;
    let rows = engine
        .db()
        .read(store::list_clients)
        .await
        .map_err(Error::from)?;
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name,
                "key_id": r.key_id,
                "scopes": r.scope_list(),
                "signed": r.require_signature,
                "rate_per_minute": r.rate_per_minute,
                "revoked_at": r.revoked_at.map(|t| t.and_utc()),
                "created_at": r.created_at.and_utc(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "clients": list })))
}

/// A HIS client's scope.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^(registrations|master_data|calling|read|results)$")]
pub struct ScopeCode(
    #[expect(dead_code, reason = "a type of the API document only: never built")] String,
);

/// A new HIS client.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    /// 1-32 letters, digits, `.`, `_`, `-`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,32}$")]
    pub name: String,
    /// Any of `registrations`, `master_data`, `calling`, `read`, `results`.
    #[schema(inline, value_type = Vec<ScopeCode>)]
    pub scopes: Vec<String>,
    /// The client must sign its requests.
    #[serde(default)]
    pub signed: bool,
    /// Requests a minute (default 600).
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/clients", tag = "accounts", request_body = ClientBody,
    responses((status = 201, description = "created: `{name, key}`, the API key shown once"),
              (status = 409, description = "name_taken: a client with this name exists", body = ErrorBody),
              (status = 422, description = "invalid_account", body = ErrorBody)))]
pub async fn add_client(
    body: Json<ClientBody>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let b = body.value;
    let mut scopes = Vec::new();
    for (i, s) in b.scopes.iter().enumerate() {
        scopes.push(Scope::parse(s).ok_or_else(|| {
            Error::field(
                ErrorCode::InvalidAccount,
                &format!("scopes[{i}]"),
                "registrations, master_data, calling or read",
            )
        })?);
    }
    let stamp = caller.stamp(&engine);
    let name = b.name.clone();
    let policy = auth.policy().clone();
    let key = account_op(&engine, &auth, move |c| {
        accounts::add_client(
            c,
            &policy,
            NewClient {
                name: b.name,
                scopes,
                require_signature: b.signed,
                rate_per_minute: b.rate_per_minute.unwrap_or(600),
            },
            &stamp,
        )
    })
    .await?;
    tracing::info!(client = %name, "HIS client added");
    Ok(HttpResponse::Created().json(serde_json::json!({ "name": name, "key": key })))
}

#[utoipa::path(delete, path = "/api/v1/clients/{name}", tag = "accounts", params(("name" = String, Path)),
    responses((status = 200, description = "revoked: its key stops working within seconds"), (status = 404, description = "not_found: no such client", body = ErrorBody)))]
pub async fn revoke_client(
    path: web::Path<String>,
    caller: Caller,
    engine: web::Data<Engine>,
    auth: web::Data<Auth>,
) -> Answer {
    caller.principal.admin()?;
    let name = path.into_inner();
    let stamp = caller.stamp(&engine);
    let n2 = name.clone();
    account_op(&engine, &auth, move |c| {
        accounts::revoke_client(c, &n2, &stamp)
    })
    .await?;
    tracing::info!(client = %name, "HIS client revoked");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "name": name, "revoked": true })))
}
