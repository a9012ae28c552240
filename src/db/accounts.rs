//! The accounts' tables: staff accounts, their sessions, HIS clients and
//! screen device tokens. Every change that matters to an auditor appends
//! an audit event in the same transaction, with the state before and
//! after (never a secret or a hash of one).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::audit;
use super::conn::{AnyConnection, Conflict, DbError};
use super::models::NewEvent;
use super::schema::{his_clients, his_nonces, screen_tokens, staff_accounts, staff_sessions};

/// A staff account as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = staff_accounts)]
pub struct StaffRow {
    pub code: String,
    pub name: String,
    pub role: String,
    pub scope: String,
    pub password_hash: String,
    pub must_change: bool,
    pub disabled: bool,
    pub totp_secret: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl StaffRow {
    /// The scope list (departments or rooms).
    pub fn scope_list(&self) -> Vec<String> {
        serde_json::from_str(&self.scope).unwrap_or_default()
    }

    /// What an auditor sees of an account: no password hash, no second
    /// factor's secret, no name.
    pub fn public(&self) -> serde_json::Value {
        json!({
            "role": self.role,
            "scope": self.scope_list(),
            "disabled": self.disabled,
            "must_change": self.must_change,
            "totp": self.totp_secret.is_some(),
        })
    }
}

/// A session as stored (the id itself is never stored, only its hash).
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = staff_sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub staff_code: String,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
}

/// A HIS client as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = his_clients)]
pub struct ClientRow {
    pub name: String,
    pub key_id: String,
    /// The verifier of the API key: hex SHA-256 of the signing key (it
    /// signs nothing, and no key follows from it).
    pub key_hash: String,
    pub scopes: String,
    pub require_signature: bool,
    pub rate_per_minute: i32,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The signing key sealed under the server key (`None`: a row from
    /// before sealing, which the server seals at its start).
    pub signing_sealed: Option<String>,
}

impl ClientRow {
    pub fn scope_list(&self) -> Vec<String> {
        serde_json::from_str(&self.scopes).unwrap_or_default()
    }

    fn public(&self) -> serde_json::Value {
        json!({
            "key_id": self.key_id,
            "scopes": self.scope_list(),
            "require_signature": self.require_signature,
            "rate_per_minute": self.rate_per_minute,
            "revoked": self.revoked_at.is_some(),
        })
    }
}

/// A screen's device token as stored.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = screen_tokens)]
pub struct ScreenTokenRow {
    pub screen_code: String,
    pub token_hash: String,
    pub issued_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Who did it, from where, when: the stamp of an account event.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub operator: String,
    pub source: String,
    pub at: NaiveDateTime,
}

/// What an account event records (its `kind` in the audit log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountEvent {
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    AccountLocked,
    ClientAdded,
    ClientRevoked,
    Login,
    LoginFailed,
    LoginRefused,
    Logout,
    PasswordChanged,
    PasswordReset,
    ScreenTokenIssued,
    ScreenTokenRevoked,
    TotpEnrolled,
}

impl AccountEvent {
    /// The stable text stored in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountEvent::AccountCreated => "account_created",
            AccountEvent::AccountDisabled => "account_disabled",
            AccountEvent::AccountEnabled => "account_enabled",
            AccountEvent::AccountLocked => "account_locked",
            AccountEvent::ClientAdded => "client_added",
            AccountEvent::ClientRevoked => "client_revoked",
            AccountEvent::Login => "login",
            AccountEvent::LoginFailed => "login_failed",
            AccountEvent::LoginRefused => "login_refused",
            AccountEvent::Logout => "logout",
            AccountEvent::PasswordChanged => "password_changed",
            AccountEvent::PasswordReset => "password_reset",
            AccountEvent::ScreenTokenIssued => "screen_token_issued",
            AccountEvent::ScreenTokenRevoked => "screen_token_revoked",
            AccountEvent::TotpEnrolled => "totp_enrolled",
        }
    }
}

/// Appends an account event (`kind`, about `subject`) with `detail`.
pub fn record(
    c: &mut AnyConnection,
    stamp: &Stamp,
    kind: AccountEvent,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("subject".into(), json!(subject));
    }
    audit::append(
        c,
        NewEvent {
            at: stamp.at,
            kind: kind.as_str().to_string(),
            operator: stamp.operator.clone(),
            source: stamp.source.clone(),
            visit_no: None,
            room_code: None,
            queue_code: None,
            detail: detail.to_string(),
            prev_hash: None,
            hash: None,
        },
    )
}

pub fn get_staff(c: &mut AnyConnection, code: &str) -> Result<Option<StaffRow>, DbError> {
    Ok(staff_accounts::table
        .find(code)
        .select(StaffRow::as_select())
        .first(c)
        .optional()?)
}

pub fn list_staff(c: &mut AnyConnection) -> Result<Vec<StaffRow>, DbError> {
    Ok(staff_accounts::table
        .order(staff_accounts::code)
        .select(StaffRow::as_select())
        .load(c)?)
}

/// Creates an account; `Conflict` when the code is taken.
pub fn insert_staff(c: &mut AnyConnection, row: &StaffRow, stamp: &Stamp) -> Result<(), DbError> {
    if get_staff(c, &row.code)?.is_some() {
        return Err(DbError::Conflict(Conflict::Exists));
    }
    diesel::insert_into(staff_accounts::table)
        .values(row)
        .execute(c)?;
    record(
        c,
        stamp,
        AccountEvent::AccountCreated,
        &row.code,
        json!({ "before": null, "after": row.public() }),
    )
}

/// Replaces an account's stored state (after a password change, a
/// disable, a lockout, a second factor), recording before and after
/// under `kind`. Sessions end when the password changes or the account is
/// disabled (`end_sessions`).
pub fn update_staff(
    c: &mut AnyConnection,
    after: &StaffRow,
    stamp: &Stamp,
    kind: AccountEvent,
    end_sessions: bool,
) -> Result<(), DbError> {
    let before =
        get_staff(c, &after.code)?.ok_or(DbError::Query(diesel::result::Error::NotFound))?;
    diesel::update(staff_accounts::table.find(&after.code))
        .set((
            staff_accounts::name.eq(&after.name),
            staff_accounts::role.eq(&after.role),
            staff_accounts::scope.eq(&after.scope),
            staff_accounts::password_hash.eq(&after.password_hash),
            staff_accounts::must_change.eq(after.must_change),
            staff_accounts::disabled.eq(after.disabled),
            staff_accounts::totp_secret.eq(&after.totp_secret),
            staff_accounts::failed_logins.eq(after.failed_logins),
            staff_accounts::locked_until.eq(after.locked_until),
            staff_accounts::updated_at.eq(stamp.at),
        ))
        .execute(c)?;
    if end_sessions {
        diesel::delete(staff_sessions::table.filter(staff_sessions::staff_code.eq(&after.code)))
            .execute(c)?;
    }
    let mut detail = json!({ "before": before.public(), "after": after.public() });
    if matches!(
        kind,
        AccountEvent::LoginFailed | AccountEvent::AccountLocked
    ) {
        detail["failed_logins"] = json!(after.failed_logins);
    }
    record(c, stamp, kind, &after.code, detail)
}

/// Records that `staff` used the one-time code of `step`; false when that
/// step (or a later one) was used before: a replayed code.
pub fn use_totp_step(c: &mut AnyConnection, staff: &str, step: i64) -> Result<bool, DbError> {
    use crate::db::schema::staff_totp_steps as t;
    let last: Option<i64> = t::table
        .find(staff)
        .select(t::last_step)
        .first(c)
        .optional()?;
    match last {
        Some(l) if l >= step => Ok(false),
        Some(_) => {
            diesel::update(t::table.find(staff))
                .set(t::last_step.eq(step))
                .execute(c)?;
            Ok(true)
        }
        None => {
            diesel::insert_into(t::table)
                .values((t::staff_code.eq(staff), t::last_step.eq(step)))
                .execute(c)?;
            Ok(true)
        }
    }
}

/// Counts a failed login without an audit event of its own (the caller
/// records one).
pub fn set_failures(
    c: &mut AnyConnection,
    code: &str,
    failed: i32,
    locked_until: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    diesel::update(staff_accounts::table.find(code))
        .set((
            staff_accounts::failed_logins.eq(failed),
            staff_accounts::locked_until.eq(locked_until),
        ))
        .execute(c)?;
    Ok(())
}

pub fn insert_session(c: &mut AnyConnection, row: &SessionRow) -> Result<(), DbError> {
    diesel::insert_into(staff_sessions::table)
        .values(row)
        .execute(c)?;
    Ok(())
}

pub fn delete_session(c: &mut AnyConnection, id_hash: &str) -> Result<(), DbError> {
    diesel::delete(staff_sessions::table.find(id_hash)).execute(c)?;
    Ok(())
}

pub fn touch_session(
    c: &mut AnyConnection,
    id_hash: &str,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(staff_sessions::table.find(id_hash))
        .set(staff_sessions::last_seen_at.eq(at))
        .execute(c)?;
    Ok(())
}

pub fn list_sessions(c: &mut AnyConnection) -> Result<Vec<SessionRow>, DbError> {
    Ok(staff_sessions::table
        .select(SessionRow::as_select())
        .load(c)?)
}

pub fn list_clients(c: &mut AnyConnection) -> Result<Vec<ClientRow>, DbError> {
    Ok(his_clients::table
        .order(his_clients::name)
        .select(ClientRow::as_select())
        .load(c)?)
}

/// Seals a client row written before sealing (ADR 0016): its verifier
/// and its sealed signing key, in place of the signing key kept in the
/// clear. Not an account event: the key itself does not change.
pub fn seal_client(
    c: &mut AnyConnection,
    name: &str,
    verifier: &str,
    sealed: &str,
) -> Result<(), DbError> {
    diesel::update(his_clients::table.find(name))
        .set((
            his_clients::key_hash.eq(verifier),
            his_clients::signing_sealed.eq(Some(sealed)),
        ))
        .execute(c)?;
    Ok(())
}

/// Removes an account's second factor (a lost server key: it enrols again).
pub fn clear_totp(c: &mut AnyConnection, code: &str, stamp: &Stamp) -> Result<(), DbError> {
    diesel::update(staff_accounts::table.find(code))
        .set(staff_accounts::totp_secret.eq(None::<String>))
        .execute(c)?;
    record(
        c,
        stamp,
        AccountEvent::TotpEnrolled,
        code,
        json!({ "cleared": true, "reason": "server key replaced" }),
    )
}

/// Seals an account's second-factor secret kept in the clear (ADR 0016).
pub fn seal_totp(c: &mut AnyConnection, code: &str, sealed: &str) -> Result<(), DbError> {
    diesel::update(staff_accounts::table.find(code))
        .set(staff_accounts::totp_secret.eq(Some(sealed)))
        .execute(c)?;
    Ok(())
}

/// Records a signed request's nonce until `expires_at` (unix seconds);
/// false when the client sent it before (a replay, also from before a
/// restart). With `purge`, nonces whose window closed by `now` go first.
/// Checked, then inserted, in the one writer of this server: nothing comes
/// between. (Two servers writing at once would meet the primary key: the
/// second write fails and its request is refused, never accepted twice.)
pub fn remember_nonce(
    c: &mut AnyConnection,
    key_id: &str,
    nonce: &str,
    expires_at: i64,
    now: i64,
    purge: bool,
) -> Result<bool, DbError> {
    if purge {
        diesel::delete(his_nonces::table.filter(his_nonces::expires_at.lt(now))).execute(c)?;
    }
    let seen = his_nonces::table
        .find((key_id, nonce))
        .count()
        .get_result::<i64>(c)?;
    if seen > 0 {
        return Ok(false);
    }
    diesel::insert_into(his_nonces::table)
        .values((
            his_nonces::key_id.eq(key_id),
            his_nonces::nonce.eq(nonce),
            his_nonces::expires_at.eq(expires_at),
        ))
        .execute(c)?;
    Ok(true)
}

/// Registers a client; `Conflict` when the name is taken.
pub fn insert_client(c: &mut AnyConnection, row: &ClientRow, stamp: &Stamp) -> Result<(), DbError> {
    let taken = his_clients::table
        .find(&row.name)
        .count()
        .get_result::<i64>(c)?;
    if taken > 0 {
        return Err(DbError::Conflict(Conflict::Exists));
    }
    diesel::insert_into(his_clients::table)
        .values(row)
        .execute(c)?;
    record(
        c,
        stamp,
        AccountEvent::ClientAdded,
        &row.name,
        json!({ "before": null, "after": row.public() }),
    )
}

/// Revokes a client's key; `NotFound` when there is no such live client.
pub fn revoke_client(c: &mut AnyConnection, name: &str, stamp: &Stamp) -> Result<(), DbError> {
    let before: ClientRow = his_clients::table
        .find(name)
        .filter(his_clients::revoked_at.is_null())
        .select(ClientRow::as_select())
        .first(c)
        .optional()?
        .ok_or(DbError::Query(diesel::result::Error::NotFound))?;
    diesel::update(his_clients::table.find(name))
        .set(his_clients::revoked_at.eq(Some(stamp.at)))
        .execute(c)?;
    let after = ClientRow {
        revoked_at: Some(stamp.at),
        ..before.clone()
    };
    record(
        c,
        stamp,
        AccountEvent::ClientRevoked,
        name,
        json!({ "before": before.public(), "after": after.public() }),
    )
}

pub fn list_screen_tokens(c: &mut AnyConnection) -> Result<Vec<ScreenTokenRow>, DbError> {
    Ok(screen_tokens::table
        .order(screen_tokens::screen_code)
        .select(ScreenTokenRow::as_select())
        .load(c)?)
}

/// Gives a screen a new token (the old one stops working).
pub fn issue_screen_token(
    c: &mut AnyConnection,
    screen: &str,
    token_hash: &str,
    stamp: &Stamp,
) -> Result<(), DbError> {
    let before = screen_tokens::table
        .find(screen)
        .select(ScreenTokenRow::as_select())
        .first(c)
        .optional()?;
    diesel::delete(screen_tokens::table.find(screen)).execute(c)?;
    diesel::insert_into(screen_tokens::table)
        .values(ScreenTokenRow {
            screen_code: screen.to_string(),
            token_hash: token_hash.to_string(),
            issued_at: stamp.at,
            revoked_at: None,
        })
        .execute(c)?;
    let state = |r: Option<&ScreenTokenRow>| match r {
        None => json!("none"),
        Some(r) if r.revoked_at.is_some() => json!("revoked"),
        Some(_) => json!("active"),
    };
    record(
        c,
        stamp,
        AccountEvent::ScreenTokenIssued,
        screen,
        json!({ "before": state(before.as_ref()), "after": "active" }),
    )
}

/// Revokes a screen's token; `NotFound` when it has no live one.
pub fn revoke_screen_token(
    c: &mut AnyConnection,
    screen: &str,
    stamp: &Stamp,
) -> Result<(), DbError> {
    let n = diesel::update(
        screen_tokens::table
            .find(screen)
            .filter(screen_tokens::revoked_at.is_null()),
    )
    .set(screen_tokens::revoked_at.eq(Some(stamp.at)))
    .execute(c)?;
    if n == 0 {
        return Err(DbError::Query(diesel::result::Error::NotFound));
    }
    record(
        c,
        stamp,
        AccountEvent::ScreenTokenRevoked,
        screen,
        json!({ "before": "active", "after": "revoked" }),
    )
}

/// When each kiosk was last heard from, as kept.
pub fn kiosks_seen(c: &mut AnyConnection) -> Result<Vec<(String, NaiveDateTime)>, DbError> {
    use crate::db::schema::kiosk_presence;
    Ok(kiosk_presence::table
        .select((kiosk_presence::code, kiosk_presence::last_seen))
        .load(c)?)
}

/// Keeps when kiosks were last heard from.
pub fn record_kiosks_seen(
    c: &mut AnyConnection,
    seen: &[(String, NaiveDateTime)],
) -> Result<(), DbError> {
    use crate::db::schema::kiosk_presence;
    for (code, at) in seen {
        let n = diesel::update(kiosk_presence::table.find(code))
            .set(kiosk_presence::last_seen.eq(*at))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(kiosk_presence::table)
                .values((
                    kiosk_presence::code.eq(code),
                    kiosk_presence::last_seen.eq(*at),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}
