//! Managing accounts, HIS clients and screen tokens: what `triage user`,
//! `triage client` and `triage screen` do (and the demo, and the tests).
//! Each function runs on one connection in one transaction and appends its
//! audit event there; the server picks the change up within
//! [`RELOAD`](super::RELOAD). Secrets (initial passwords, API keys, screen
//! tokens, second-factor secrets) are returned once; what the database
//! keeps of them is a digest or a verifier, or (a HIS client's signing
//! key, a second-factor secret, which the server must read back) sealed
//! under the server key, a file outside the database (ADR 0016).

use chrono::NaiveDateTime;
use totp_rs::{Algorithm, Secret, Totp};

use super::his;
use super::password;
use super::policy::{Role, Scope};
use super::server_key;
use crate::config::{Hospital, SecurityPolicy};
use crate::db::accounts::{self as store, ClientRow, StaffRow, Stamp};
use crate::db::{AnyConnection, DbError};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::secret;

/// What creating an account gives back, once.
#[derive(Debug, Clone)]
pub struct Created {
    pub password: String,
    /// The second factor to enrol in an authenticator app
    /// (`otpauth://` URI and its Base32 secret), for administrators.
    pub totp: Option<(String, String)>,
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub code: String,
    pub name: String,
    pub role: Role,
    pub scope: Vec<String>,
    /// `None`: a random initial password.
    pub password: Option<String>,
    /// Enrol a second factor even when the policy does not ask for it.
    pub totp: bool,
    /// The first login must change the password (always, but for the demo).
    pub must_change: bool,
}

/// A refused account or client field (`field` names it, as every 422).
fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::field(ErrorCode::InvalidAccount, field, message)
}

fn db_error(e: DbError, exists: &str, missing: &str) -> Error {
    match e {
        // A name taken is a conflict with what exists, not a bad field.
        DbError::Conflict(_) => Error::new(ErrorCode::NameTaken, exists.to_string()),
        // What the path names is not there: 404, as for every resource.
        DbError::Query(diesel::result::Error::NotFound) => {
            Error::new(ErrorCode::NotFound, missing.to_string())
        }
        other => other.into(),
    }
}

/// Account codes: 1–32 of letters, digits, `.`, `_`, `-` (the hospital's
/// staff number, 工号).
pub fn check_code(code: &str) -> Result<(), Error> {
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(invalid(
            "code",
            "an account code is 1-32 letters, digits, '.', '_' or '-'",
        ));
    }
    Ok(())
}

/// A password that meets any policy: 20 random characters with every class.
pub fn random_password() -> String {
    format!("{}-9a", secret::random(15))
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { 'T' } else { c })
        .collect()
}

/// The second factor of an account: a TOTP (RFC 6238: SHA-1, 6 digits,
/// 30 s, one step of drift) over a Base32 secret.
fn totp_of(secret_b32: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_b32).ok()?;
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .ok()
}

/// Whether `code` is the account's one-time code at `now` (unix seconds).
pub fn totp_matches(secret_b32: &str, code: &str, now: i64) -> bool {
    totp_step(secret_b32, code, now).is_some()
}

/// The time step whose code `code` is, if it is one of the account's codes
/// at `now` (one step of skew either way). A step is accepted once.
pub fn totp_step(secret_b32: &str, code: &str, now: i64) -> Option<i64> {
    let now = u64::try_from(now).ok()?;
    let step = totp_of(secret_b32)?.check(code.trim(), now)?;
    i64::try_from(step).ok()
}

/// The current one-time code of a secret (for tests and the demo).
pub fn totp_now(secret_b32: &str, now: i64) -> Option<String> {
    let t = totp_of(secret_b32)?;
    Some(t.generate(u64::try_from(now).ok()?).to_string())
}

fn new_totp(account: &str, hospital: &Hospital) -> (String, String) {
    let mut raw = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
    let b32 = Secret::from(raw.to_vec()).to_base32();
    let issuer: String = hospital
        .name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>();
    let issuer = if issuer.is_ascii() && !issuer.is_empty() {
        issuer
    } else {
        "Triage".to_string()
    };
    let uri = format!(
        "otpauth://totp/{issuer}:{account}?secret={b32}&issuer={issuer}&algorithm=SHA1&digits=6&period=30"
    );
    (uri, b32)
}

/// Checks a scope against the hospital: departments for a nurse, rooms for
/// a doctor, nothing for an administrator.
fn check_scope(role: Role, scope: &[String], hospital: &Hospital) -> Result<(), Error> {
    match role {
        Role::Admin if !scope.is_empty() => Err(invalid(
            "scope",
            "an administrator has no department or room scope",
        )),
        Role::Admin => Ok(()),
        Role::Nurse => {
            if scope.is_empty() {
                return Err(invalid(
                    "scope",
                    "a nurse needs at least one department (--scope)",
                ));
            }
            match scope.iter().find(|d| hospital.department(d).is_none()) {
                Some(_) => Err(invalid(
                    "scope",
                    "a department of the scope is not configured",
                )),
                None => Ok(()),
            }
        }
        Role::Doctor => {
            if scope.is_empty() {
                return Err(invalid(
                    "scope",
                    "a doctor needs at least one room (--scope)",
                ));
            }
            match scope.iter().find(|r| hospital.room(r).is_none()) {
                Some(_) => Err(invalid("scope", "a room of the scope is not configured")),
                None => Ok(()),
            }
        }
    }
}

/// Creates a staff account.
pub fn add_user(
    c: &mut AnyConnection,
    hospital: &Hospital,
    account: NewAccount,
    stamp: &Stamp,
) -> Result<Created, Error> {
    let policy: &SecurityPolicy = &hospital.security;
    check_code(&account.code)?;
    let name = account.name.trim();
    if name.is_empty() || account.name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(invalid("name", "a name is 1-40 characters"));
    }
    check_scope(account.role, &account.scope, hospital)?;
    let password = match account.password {
        Some(p) => {
            password::check_policy(&p, &account.code, policy)?;
            p
        }
        None => random_password(),
    };
    let totp = (account.role == Role::Admin && (policy.admin_totp || account.totp))
        .then(|| new_totp(&account.code, hospital));
    let sealed = match &totp {
        Some((_, b32)) => {
            let key = server_key::open(policy, c)?;
            Some(key.seal(&server_key::totp_purpose(&account.code), b32.as_bytes()))
        }
        None => None,
    };
    let row = StaffRow {
        code: account.code.clone(),
        name: name.to_string(),
        role: account.role.as_str().to_string(),
        scope: serde_json::to_string(&account.scope).unwrap_or_else(|_| "[]".into()),
        password_hash: password::hash(&password)?,
        must_change: account.must_change,
        disabled: false,
        totp_secret: sealed,
        failed_logins: 0,
        locked_until: None,
        created_at: stamp.at,
        updated_at: stamp.at,
    };
    crate::db::write_transaction(c, |c| store::insert_staff(c, &row, stamp))
        .map_err(|e| db_error(e, "an account with this code exists", ""))?;
    Ok(Created { password, totp })
}

fn existing(c: &mut AnyConnection, code: &str) -> Result<StaffRow, Error> {
    store::get_staff(c, code)?
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no account {code:?}")))
}

/// An administrator sets a new password (a random one when `None`): the
/// next login must change it; the account is unlocked and its sessions end.
pub fn set_password(
    c: &mut AnyConnection,
    policy: &SecurityPolicy,
    code: &str,
    new: Option<String>,
    stamp: &Stamp,
) -> Result<String, Error> {
    let row = existing(c, code)?;
    let password = match new {
        Some(p) => {
            password::check_policy(&p, code, policy)?;
            p
        }
        None => random_password(),
    };
    let after = StaffRow {
        password_hash: password::hash(&password)?,
        must_change: true,
        failed_logins: 0,
        locked_until: None,
        ..row
    };
    crate::db::write_transaction(c, |c| {
        store::update_staff(c, &after, stamp, store::AccountEvent::PasswordReset, true)
    })?;
    Ok(password)
}

/// Disables (or enables again) an account; disabling ends its sessions.
pub fn set_disabled(
    c: &mut AnyConnection,
    code: &str,
    disabled: bool,
    stamp: &Stamp,
) -> Result<(), Error> {
    let row = existing(c, code)?;
    let after = StaffRow { disabled, ..row };
    let kind = if disabled {
        store::AccountEvent::AccountDisabled
    } else {
        store::AccountEvent::AccountEnabled
    };
    crate::db::write_transaction(c, |c| store::update_staff(c, &after, stamp, kind, disabled))?;
    Ok(())
}

/// Enrols (or replaces) an account's second factor.
pub fn enrol_totp(
    c: &mut AnyConnection,
    hospital: &Hospital,
    code: &str,
    stamp: &Stamp,
) -> Result<(String, String), Error> {
    let row = existing(c, code)?;
    let (uri, b32) = new_totp(code, hospital);
    let key = server_key::open(&hospital.security, c)?;
    let after = StaffRow {
        totp_secret: Some(key.seal(&server_key::totp_purpose(code), b32.as_bytes())),
        ..row
    };
    crate::db::write_transaction(c, |c| {
        store::update_staff(c, &after, stamp, store::AccountEvent::TotpEnrolled, true)
    })?;
    Ok((uri, b32))
}

pub fn list_users(c: &mut AnyConnection) -> Result<Vec<StaffRow>, Error> {
    Ok(store::list_staff(c)?)
}

/// A HIS client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub require_signature: bool,
    pub rate_per_minute: u32,
}

/// Registers a HIS client; returns its API key (shown once). The database
/// keeps the key's verifier and its signing key sealed (ADR 0016).
pub fn add_client(
    c: &mut AnyConnection,
    policy: &SecurityPolicy,
    client: NewClient,
    stamp: &Stamp,
) -> Result<String, Error> {
    check_code(&client.name).map_err(|_| {
        invalid(
            "name",
            "a client name is 1-32 letters, digits, '.', '_' or '-'",
        )
    })?;
    if client.scopes.is_empty() {
        return Err(invalid("scopes", "give the client at least one scope"));
    }
    if client.rate_per_minute == 0 || client.rate_per_minute > 1_000_000 {
        return Err(invalid(
            "rate_per_minute",
            "the rate limit is 1-1000000 requests per minute",
        ));
    }
    let key_id = secret::sha256_hex(secret::random(16).as_bytes())[..12].to_string();
    let key = format!("tk_{key_id}_{}", secret::random(32));
    let server = server_key::open(policy, c)?;
    let signing_sealed = Some(server.seal(
        &server_key::signing_purpose(&key_id),
        his::signing_key(&key).as_bytes(),
    ));
    let row = ClientRow {
        name: client.name.clone(),
        key_id,
        key_hash: his::verifier(&key),
        signing_sealed,
        scopes: serde_json::to_string(
            &client.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
        require_signature: client.require_signature,
        rate_per_minute: i32::try_from(client.rate_per_minute).unwrap_or(i32::MAX),
        revoked_at: None,
        created_at: stamp.at,
    };
    crate::db::write_transaction(c, |c| store::insert_client(c, &row, stamp))
        .map_err(|e| db_error(e, "a client with this name exists", ""))?;
    Ok(key)
}

pub fn revoke_client(c: &mut AnyConnection, name: &str, stamp: &Stamp) -> Result<(), Error> {
    crate::db::write_transaction(c, |c| store::revoke_client(c, name, stamp))
        .map_err(|e| db_error(e, "", &format!("no live client {name:?}")))
}

pub fn list_clients(c: &mut AnyConnection) -> Result<Vec<ClientRow>, Error> {
    Ok(store::list_clients(c)?)
}

/// Gives a screen or a kiosk a new device token (its old one stops
/// working); returns the token, shown once.
pub fn issue_screen_token(
    c: &mut AnyConnection,
    hospital: &Hospital,
    screen: &str,
    stamp: &Stamp,
) -> Result<String, Error> {
    let configured =
        hospital.screens.iter().any(|s| s.code == screen) || hospital.kiosk(screen).is_some();
    let stored = crate::db::store::load_screens(c)?;
    let row = stored.iter().find(|s| s.code == screen);
    // A retired screen (停用) gets no token: register it again first.
    if row.is_some_and(|r| r.retired_at.is_some()) {
        return Err(Error::new(
            ErrorCode::ScreenNotFound,
            format!("屏幕 {screen} 已停用：请先在屏幕管理中重新注册"),
        ));
    }
    if !configured && row.is_none() {
        return Err(Error::new(
            ErrorCode::ScreenNotFound,
            format!("no screen {screen:?}"),
        ));
    }
    let token = secret::random(32);
    let digest = secret::sha256_hex(token.as_bytes());
    crate::db::write_transaction(c, |c| store::issue_screen_token(c, screen, &digest, stamp))?;
    Ok(token)
}

pub fn revoke_screen_token(
    c: &mut AnyConnection,
    screen: &str,
    stamp: &Stamp,
) -> Result<(), Error> {
    crate::db::write_transaction(c, |c| store::revoke_screen_token(c, screen, stamp))
        .map_err(|e| db_error(e, "", &format!("screen {screen:?} has no live token")))
}

/// The stamp of a command-line action: the operating-system user.
pub fn cli_stamp(now: NaiveDateTime) -> Stamp {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Stamp {
        operator: format!("cli:{user}"),
        source: "command line".into(),
        at: now,
    }
}
