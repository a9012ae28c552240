//! Who is calling, and whether they may: staff accounts and their
//! sessions, HIS clients and their keys, screens' device tokens.
//!
//! [`Auth`] holds what every request needs in memory — live sessions, the
//! accounts' roles, the clients' key digests and rate limiters, the
//! screens' token digests — and the database holds the truth: the server
//! rebuilds the caches from it at start and every [`RELOAD`] (so a
//! `triage user disable` from the command line takes effect within
//! seconds). Passwords are Argon2id ([`password`]), every other secret is
//! random and stored as a digest or a verifier (`triage_ground::secret`);
//! the two the server must read back (a HIS client's signing key, an
//! account's second factor) are sealed under the server key
//! ([`server_key`], ADR 0016), which only memory holds opened. Who may do what
//! is [`policy`]; HIS keys and signatures are [`his`]; the HTTP edge is
//! `api::authenticate`; the command line is `cli::accounts`, over
//! [`accounts`].

pub mod accounts;
pub mod cli;
pub mod his;
pub mod limits;

pub mod password;
pub mod policy;
pub mod server_key;

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use triage_ground::secret;

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use triage_ground::time::SharedClock;

use crate::config::{Hospital, SecurityPolicy};
use crate::db::accounts::{self as store, SessionRow, StaffRow, Stamp};
use crate::db::{Db, DbError};
use password::Hashing;
use policy::{Principal, Role, Scope, Staff};
use triage_ground::error::{Error, ErrorCode};

/// How often the caches are rebuilt from the database.
pub const RELOAD: Duration = Duration::from_secs(5);
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "triage_session";
/// The header a cookie session's writes carry (against cross-site requests).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session's last use is written to the database at most this often.
const TOUCH_EVERY: i64 = 60;
/// Expired nonces are removed from the database at most this often (s).
const NONCE_PURGE_EVERY: i64 = 60;

/// An account as requests see it.
#[derive(Clone, Debug)]
struct Account {
    staff: Staff,
    disabled: bool,
    must_change: bool,
}

/// Why a login that checked out was refused in the writer.
enum Refusal {
    /// The account is gone or disabled.
    Gone,
    /// The one-time code's step was used before (a replay).
    CodeUsed,
}

/// A refused login: the error, and when trying again may succeed (the
/// `Retry-After` of a 429).
#[derive(Debug)]
pub struct LoginRefused {
    pub error: Error,
    pub retry_after: Option<u64>,
}

impl From<Error> for LoginRefused {
    fn from(error: Error) -> Self {
        let retry_after = (error.code == ErrorCode::TooManyRequests).then_some(1);
        LoginRefused { error, retry_after }
    }
}

impl From<DbError> for LoginRefused {
    fn from(e: DbError) -> Self {
        Error::from(e).into()
    }
}

/// The one answer to a wrong account, a wrong password, a wrong code or a
/// disabled account: alike, so that it tells nobody which accounts exist.
fn bad_credentials() -> Error {
    Error::new(ErrorCode::BadCredentials, "工号或密码错误")
}

/// A streak of wrong passwords an administrator is told of (an alert).
#[derive(Debug, Clone)]
pub struct StreakNotice {
    /// The account (工号), known to exist.
    pub account: String,
    /// Wrong passwords in a row, from any address.
    pub failures: i32,
    /// The client address of the last one.
    pub from: String,
    pub at: DateTime<Utc>,
}

/// A live session.
struct Session {
    staff_code: String,
    /// Unix seconds of the last request, and of the last one written down.
    last_seen: AtomicI64,
    persisted: AtomicI64,
    /// When this process put it in the cache (a reload that read the
    /// table before then keeps it).
    added: std::time::Instant,
}

/// How long an ended session is remembered, so that a reload which read
/// the sessions table before it ended does not bring it back.
const ENDED_KEPT: std::time::Duration = std::time::Duration::from_secs(60);

/// A HIS client as requests see it.
pub struct Client {
    pub name: String,
    /// The public part of its key (`tk_<key id>_…`).
    pub key_id: String,
    /// The verifier of its API key ([`his::verifier`]).
    pub key_hash: String,
    /// Its signing key, opened from the database's sealed copy (memory
    /// only).
    signing: String,
    pub scopes: Vec<Scope>,
    pub require_signature: bool,
    limiter: DefaultDirectRateLimiter,
    pub rate_per_minute: u32,
}

/// The accounts' caches and the login machinery. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    clock: SharedClock,
    hospital: Arc<Hospital>,
    policy: SecurityPolicy,
    accounts: DashMap<String, Account>,
    sessions: DashMap<String, Session>,
    /// Sessions ended here lately (logout, expiry, password change).
    ended: DashMap<String, std::time::Instant>,
    clients: DashMap<String, Arc<Client>>,
    screens: DashMap<String, String>,
    /// Screens whose last socket was refused (no valid device token), until
    /// one is admitted again: `/devices` says 未授权, not 重连中.
    screens_refused: dashmap::DashSet<String>,
    /// When each kiosk last proved its token, for `/devices` (read back
    /// from the database at start).
    kiosks_seen: DashMap<String, chrono::DateTime<chrono::Utc>>,
    /// The contacts as last kept in the database (`kiosk_presence`): kept
    /// again once a minute at most.
    kiosks_kept: DashMap<String, chrono::DateTime<chrono::Utc>>,
    nonces: DashMap<String, i64>,
    /// When the database's expired nonces were last removed (unix s).
    nonces_purged: AtomicI64,
    logins: DefaultKeyedRateLimiter<String>,
    hashing: Hashing,
    /// The proxies whose forwarding headers are believed.
    proxies: limits::Proxies,
    /// Wrong-password streaks per account and address.
    streaks: limits::Streaks,
    /// Where streak alerts go (taken once by the server).
    streak_tx: tokio::sync::mpsc::UnboundedSender<StreakNotice>,
    streak_rx: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<StreakNotice>>>,
    /// Opens what the database keeps sealed.
    key: Arc<secret::ServerKey>,
}

/// What a successful login gives back: the session id for the cookie (shown
/// once) and what the page needs.
pub struct LoggedIn {
    pub session_id: String,
    pub csrf_token: String,
    pub staff: StaffView,
    pub must_change: bool,
}

/// A staff member's own view of their account.
#[derive(serde::Serialize, utoipa::ToSchema, Clone, Debug)]
pub struct StaffView {
    pub code: String,
    pub name: String,
    pub role: String,
    /// Departments (nurse) or rooms (doctor).
    pub scope: Vec<String>,
}

fn staff_of(row: &StaffRow) -> Option<Staff> {
    Some(Staff {
        code: row.code.clone(),
        role: Role::parse(&row.role)?,
        scope: row.scope_list().into(),
    })
}

fn view_of(row: &StaffRow) -> StaffView {
    StaffView {
        code: row.code.clone(),
        name: row.name.clone(),
        role: row.role.clone(),
        scope: row.scope_list(),
    }
}

/// The CSRF token of a session: derived from its id, so nothing more is
/// stored; a page of another site can read neither.
pub fn csrf_token(session_id: &str) -> String {
    secret::sha256_hex(format!("triage-csrf\n{session_id}").as_bytes())[..32].to_string()
}

impl Auth {
    /// Loads the caches from the database.
    pub async fn start(
        db: Db,
        clock: SharedClock,
        hospital: Arc<Hospital>,
        key: Arc<secret::ServerKey>,
    ) -> Result<Auth, DbError> {
        let per_minute =
            NonZeroU32::new(hospital.security.login_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let (streak_tx, streak_rx) = tokio::sync::mpsc::unbounded_channel();
        let proxies = limits::Proxies::new(&hospital.security.trusted_proxies);
        let streaks = limits::Streaks::new(
            hospital.security.lockout_failures,
            hospital.security.lockout_seconds,
        );
        let auth = Auth {
            inner: Arc::new(Inner {
                db,
                clock,
                policy: hospital.security.clone(),
                hospital,
                accounts: DashMap::new(),
                sessions: DashMap::new(),
                ended: DashMap::new(),
                clients: DashMap::new(),
                screens: DashMap::new(),
                screens_refused: dashmap::DashSet::new(),
                kiosks_seen: DashMap::new(),
                kiosks_kept: DashMap::new(),
                nonces: DashMap::new(),
                nonces_purged: AtomicI64::new(0),
                logins: RateLimiter::keyed(Quota::per_minute(per_minute)),
                hashing: Hashing::default(),
                proxies,
                streaks,
                streak_tx,
                streak_rx: std::sync::Mutex::new(Some(streak_rx)),
                key,
            }),
        };
        for (code, at) in auth.inner.db.read(store::kiosks_seen).await? {
            auth.inner.kiosks_seen.insert(code.clone(), at.and_utc());
            auth.inner.kiosks_kept.insert(code, at.and_utc());
        }
        auth.reload().await?;
        Ok(auth)
    }

    /// Keeps the kiosks' last contacts newer than a minute past what is
    /// kept (the devices page and the holiday inspection read them across
    /// restarts).
    async fn keep_kiosks_seen(&self) -> Result<(), DbError> {
        let i = &self.inner;
        let due: Vec<(String, chrono::NaiveDateTime)> = i
            .kiosks_seen
            .iter()
            .filter(|e| {
                i.kiosks_kept
                    .get(e.key())
                    .is_none_or(|kept| *e.value() - *kept >= chrono::Duration::seconds(60))
            })
            .map(|e| (e.key().clone(), e.value().naive_utc()))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let kept = due.clone();
        i.db.write(move |c| store::record_kiosks_seen(c, &kept))
            .await?;
        for (code, at) in due {
            i.kiosks_kept.insert(code, at.and_utc());
        }
        Ok(())
    }

    pub fn policy(&self) -> &SecurityPolicy {
        &self.inner.policy
    }

    pub fn hospital(&self) -> &Hospital {
        &self.inner.hospital
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Rebuilds the caches from the database: accounts, sessions (ended
    /// elsewhere: by a password change or a disable), clients (revoked
    /// ones leave) and screen tokens. Rate limiters and the last use of a
    /// session carry over.
    pub async fn reload(&self) -> Result<(), DbError> {
        let started = std::time::Instant::now();
        let (staff, sessions, clients, screens) = self
            .inner
            .db
            .read(|c| {
                Ok((
                    store::list_staff(c)?,
                    store::list_sessions(c)?,
                    store::list_clients(c)?,
                    store::list_screen_tokens(c)?,
                ))
            })
            .await?;
        let i = &self.inner;
        let mut codes = HashSet::new();
        for row in &staff {
            let Some(s) = staff_of(row) else {
                tracing::error!(staff = %row.code, role = %row.role, "account with an unknown role ignored");
                continue;
            };
            codes.insert(row.code.clone());
            i.accounts.insert(
                row.code.clone(),
                Account {
                    staff: s,
                    disabled: row.disabled,
                    must_change: row.must_change,
                },
            );
        }
        i.accounts.retain(|k, _| codes.contains(k));
        let live: HashMap<String, SessionRow> = sessions
            .into_iter()
            .map(|s| (s.id_hash.clone(), s))
            .collect();
        // A session started after the read is kept; one ended here lately
        // is not brought back by a read from before it ended.
        i.ended.retain(|_, at| at.elapsed() < ENDED_KEPT);
        i.sessions
            .retain(|k, s| live.contains_key(k) || s.added >= started);
        for (id, row) in live {
            if i.ended.contains_key(&id) {
                continue;
            }
            i.sessions.entry(id).or_insert_with(|| {
                let seen = row.last_seen_at.and_utc().timestamp();
                Session {
                    staff_code: row.staff_code.clone(),
                    last_seen: AtomicI64::new(seen),
                    persisted: AtomicI64::new(seen),
                    added: std::time::Instant::now(),
                }
            });
        }
        self.reload_clients(&clients);
        let tokens: HashMap<String, String> = screens
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (t.screen_code, t.token_hash))
            .collect();
        i.screens.retain(|k, _| tokens.contains_key(k));
        for (k, v) in tokens {
            i.screens.insert(k, v);
        }
        let horizon = self.now().timestamp() - 2 * his::MAX_SKEW;
        i.nonces.retain(|_, at| *at > horizon);
        // Addresses that have not tried to log in for a while leave the
        // per-address limiter.
        i.logins.retain_recent();
        self.keep_kiosks_seen().await
    }

    /// The live clients as the database has them: new and changed ones
    /// are built (their signing keys opened), revoked ones leave; an
    /// unchanged one keeps its rate limiter.
    fn reload_clients(&self, clients: &[store::ClientRow]) {
        let i = &self.inner;
        let mut ids = HashSet::new();
        for row in clients.iter().filter(|c| c.revoked_at.is_none()) {
            ids.insert(row.key_id.clone());
            let scopes: Vec<Scope> = row
                .scope_list()
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect();
            let rate = u32::try_from(row.rate_per_minute.max(1)).unwrap_or(1);
            let same = i.clients.get(&row.key_id).is_some_and(|c| {
                c.rate_per_minute == rate
                    && c.scopes == scopes
                    && c.require_signature == row.require_signature
            });
            if same {
                continue;
            }
            let opened = row.signing_sealed.as_deref().map(|sealed| {
                i.key
                    .open(&server_key::signing_purpose(&row.key_id), sealed)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
            });
            let Some(Some(signing)) = opened else {
                // Sealed at start, or under another key: it signs nothing.
                tracing::error!(client = %row.name, "a HIS client's signing key does not open with the server key: its requests are refused");
                continue;
            };
            let quota = Quota::per_minute(NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN));
            i.clients.insert(
                row.key_id.clone(),
                Arc::new(Client {
                    name: row.name.clone(),
                    key_id: row.key_id.clone(),
                    key_hash: row.key_hash.clone(),
                    signing,
                    scopes,
                    require_signature: row.require_signature,
                    limiter: RateLimiter::direct(quota),
                    rate_per_minute: rate,
                }),
            );
        }
        i.clients.retain(|k, _| ids.contains(k));
    }

    /// Whether `screen` has a live device token.
    pub fn has_screen_token(&self, screen: &str) -> bool {
        self.inner.screens.contains_key(screen)
    }

    /// Whether `token` is the live device token of `screen` (a live one
    /// clears [`Auth::screen_refused`]).
    pub fn screen_token_ok(&self, screen: &str, token: &str) -> bool {
        let digest = secret::sha256_hex(token.as_bytes());
        let ok = self
            .inner
            .screens
            .get(screen)
            .is_some_and(|h| secret::same(&h, &digest));
        if ok {
            self.inner.screens_refused.remove(screen);
        }
        ok
    }

    /// A socket of `screen` was refused (a wrong, revoked or missing
    /// token). Only a configured screen's socket gets this far.
    pub fn note_screen_refused(&self, screen: &str) {
        self.inner.screens_refused.insert(screen.to_string());
    }

    /// A kiosk proved its token now.
    pub fn note_kiosk_seen(&self, kiosk: &str) {
        self.inner
            .kiosks_seen
            .insert(kiosk.to_string(), self.inner.clock.now());
    }

    /// When a kiosk last proved its token (kept across restarts).
    pub fn kiosk_seen(&self, kiosk: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.inner.kiosks_seen.get(kiosk).map(|t| *t)
    }

    /// Whether the last socket of `screen` was refused and none admitted
    /// since.
    pub fn screen_refused(&self, screen: &str) -> bool {
        self.inner.screens_refused.contains(screen)
    }

    /// Whether the token with this digest is still the screen's live one
    /// (an open socket re-checks it).
    pub fn screen_digest_ok(&self, screen: &str, digest: &str) -> bool {
        self.inner
            .screens
            .get(screen)
            .is_some_and(|h| secret::same(&h, digest))
    }

    /// The principal of a session cookie, or why it has none; the session
    /// counts as used now (its idle time starts again).
    pub fn session(&self, session_id: &str) -> Result<Principal, Error> {
        let id_hash = secret::sha256_hex(session_id.as_bytes());
        let principal = self.live_session(&id_hash)?;
        self.touch(&id_hash);
        Ok(principal)
    }

    /// The principal of the session with this digest, if it is still live
    /// (not ended, not idle too long, its account enabled), without
    /// counting as a use: an open staff page re-checks its session so, and
    /// only what the staff member does keeps the session alive.
    pub fn session_alive(&self, id_hash: &str) -> Result<Principal, Error> {
        self.live_session(id_hash)
    }

    fn live_session(&self, id_hash: &str) -> Result<Principal, Error> {
        let expired = || {
            Error::new(
                ErrorCode::SessionExpired,
                "the session has ended; log in again",
            )
        };
        let (code, idle) = {
            let s = self.inner.sessions.get(id_hash).ok_or_else(expired)?;
            let now = self.now().timestamp();
            let idle = now - s.last_seen.load(Ordering::Relaxed);
            (s.staff_code.clone(), idle)
        };
        let limit = i64::try_from(self.inner.policy.session_idle_seconds).unwrap_or(i64::MAX);
        let account = self.inner.accounts.get(&code).map(|a| a.clone());
        let Some(account) = account.filter(|a| !a.disabled && idle <= limit) else {
            self.end_session(id_hash);
            let db = self.inner.db.clone();
            let id_hash = id_hash.to_string();
            actix_web::rt::spawn(async move {
                let _ = db.write(move |c| store::delete_session(c, &id_hash)).await;
            });
            return Err(expired());
        };
        Ok(Principal::Staff {
            staff: account.staff,
            must_change: account.must_change,
        })
    }

    /// Drops a session from the cache and remembers that it ended.
    fn end_session(&self, id_hash: &str) {
        self.inner.sessions.remove(id_hash);
        self.inner
            .ended
            .insert(id_hash.to_string(), std::time::Instant::now());
    }

    /// Marks a session used now; writes it down at most every minute.
    fn touch(&self, id_hash: &str) {
        let now = self.now();
        let Some(s) = self.inner.sessions.get(id_hash) else {
            return;
        };
        let secs = now.timestamp();
        s.last_seen.store(secs, Ordering::Relaxed);
        if secs - s.persisted.load(Ordering::Relaxed) < TOUCH_EVERY {
            return;
        }
        s.persisted.store(secs, Ordering::Relaxed);
        let db = self.inner.db.clone();
        let id = id_hash.to_string();
        let at = now.naive_utc();
        actix_web::rt::spawn(async move {
            if let Err(e) = db.write(move |c| store::touch_session(c, &id, at)).await {
                tracing::warn!(error = %e, "could not record a session's last use");
            }
        });
    }

    /// A staff member named by a HIS client (`X-Acting-Staff`): an
    /// account that exists and is enabled.
    pub fn acting_staff(&self, code: &str) -> Result<Staff, Error> {
        match self.inner.accounts.get(code) {
            // A workstation acts for the doctor or nurse at it; an
            // administrator's rights never come through a HIS key.
            Some(a) if !a.disabled && a.staff.role == Role::Admin => Err(Error::new(
                ErrorCode::Forbidden,
                "a HIS client cannot act for an administrator",
            )),
            Some(a) if !a.disabled => Ok(a.staff.clone()),
            _ => Err(Error::new(
                ErrorCode::Forbidden,
                "the acting staff member has no enabled account",
            )),
        }
    }

    /// The client whose key id is `key_id`, if it is live.
    pub fn client(&self, key_id: &str) -> Option<Arc<Client>> {
        self.inner.clients.get(key_id).map(|c| c.clone())
    }

    /// Whether `signature` is the client's signature of `text`.
    pub fn signature_ok(&self, client: &Client, text: &str, signature: &str) -> bool {
        his::verify(&client.signing, text, signature)
    }

    /// Takes one request from a client's allowance; `Err(seconds)` to wait.
    pub fn client_allowance(&self, client: &Client) -> Result<(), u64> {
        client.limiter.check().map_err(|not_until| {
            not_until
                .wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
                .as_secs()
                + 1
        })
    }

    /// Remembers a signed request's nonce until its timestamp `at` leaves
    /// the accepted window: in memory (a replay in flight is refused at
    /// once) and in the database before the request goes on, so a replay
    /// after a restart is refused too. False when it was seen before.
    pub async fn fresh_nonce(&self, key_id: &str, nonce: &str, at: i64) -> Result<bool, Error> {
        use dashmap::mapref::entry::Entry;
        let mark = format!("{key_id}\n{nonce}");
        match self.inner.nonces.entry(mark.clone()) {
            Entry::Occupied(_) => return Ok(false),
            Entry::Vacant(v) => {
                v.insert(at);
            }
        }
        let now = self.now().timestamp();
        let last = self.inner.nonces_purged.load(Ordering::Relaxed);
        let purge = now - last >= NONCE_PURGE_EVERY
            && self
                .inner
                .nonces_purged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        let (key_id, nonce) = (key_id.to_string(), nonce.to_string());
        let expires = at + his::MAX_SKEW;
        let kept = self
            .inner
            .db
            .write(move |c| store::remember_nonce(c, &key_id, &nonce, expires, now, purge))
            .await;
        if kept.is_err() {
            // Not recorded: the client may send it again once the
            // database answers.
            self.inner.nonces.remove(&mark);
        }
        Ok(kept?)
    }

    /// The client address of a request from `peer` with these forwarding
    /// headers: behind a trusted proxy, the workstation's (ADR 0017).
    pub fn client_address(&self, peer: std::net::IpAddr, xff: Option<&str>) -> std::net::IpAddr {
        self.inner.proxies.client(peer, xff)
    }

    /// The streak alerts, for the server to pass on (once; `None` after).
    pub fn take_streaks(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<StreakNotice>> {
        self.inner.streak_rx.lock().ok()?.take()
    }

    /// Logs in with a password (and a one-time code when the account has a
    /// second factor), from the client address `source`: at most
    /// `login_per_minute` attempts from one address, a wrong-password
    /// streak delaying that account from that address only (doubling), one
    /// hash per address at a time; unknown, disabled and known accounts
    /// answer alike; every attempt on an account in the audit log.
    pub async fn login(
        &self,
        code: &str,
        password: &str,
        totp: Option<&str>,
        source: &str,
    ) -> Result<LoggedIn, LoginRefused> {
        self.may_try(code, source)?;
        let now = self.now();
        let lookup = code.to_string();
        let row = self
            .inner
            .db
            .read(move |c| store::get_staff(c, &lookup))
            .await?;
        let stamp = Stamp {
            operator: code.to_string(),
            source: source.to_string(),
            at: now.naive_utc(),
        };
        let phc = row.as_ref().map_or_else(
            || password::decoy().to_string(),
            |r| r.password_hash.clone(),
        );
        let attempt = password.to_string();
        let matches = self
            .inner
            .hashing
            .run(&limits::limit_key(source), move || {
                password::verify(&attempt, &phc)
            })
            .await?;
        let row = match row {
            None => {
                self.inner.streaks.failed(
                    code,
                    &limits::limit_key(source),
                    self.now().timestamp_millis(),
                );
                tracing::info!("login failed: unknown account");
                return Err(bad_credentials().into());
            }
            Some(r) if r.disabled => {
                self.inner.streaks.failed(
                    code,
                    &limits::limit_key(source),
                    self.now().timestamp_millis(),
                );
                // Written after the answer, as for an unknown account: the
                // time taken tells nothing.
                let auth = self.clone();
                actix_web::rt::spawn(async move {
                    let _ = auth
                        .audit_only(
                            &stamp,
                            store::AccountEvent::LoginRefused,
                            &r.code,
                            "disabled",
                        )
                        .await;
                });
                return Err(bad_credentials().into());
            }
            Some(r) => r,
        };
        let (totp_ok, step) = self.second_factor(&row, totp, matches, now)?;
        if !matches || !totp_ok {
            return Err(self.failed(row, &stamp, !totp_ok && matches).await.into());
        }
        let (session_id, id_hash) = self.open_session(&row, step, &stamp, source, now).await?;
        self.inner
            .streaks
            .succeeded(code, &limits::limit_key(source));
        self.remember_login(&row, id_hash, now);
        tracing::info!(staff = %row.code, "logged in");
        Ok(LoggedIn {
            csrf_token: csrf_token(&session_id),
            session_id,
            staff: view_of(&row),
            must_change: row.must_change,
        })
    }

    /// Whether a password may be tried for `account` from `source` now:
    /// within the address's rate, and past the wait of a wrong-password
    /// streak of that account from there (429 with the truthful wait).
    fn may_try(&self, account: &str, source: &str) -> Result<(), LoginRefused> {
        let key = limits::limit_key(source);
        self.throttle_logins(&key)?;
        let wait = self
            .inner
            .streaks
            .wait(account, &key, self.now().timestamp_millis());
        if wait > 0 {
            tracing::warn!(source = %source, wait, "login refused: a wrong-password streak from this address waits");
            return Err(LoginRefused {
                error: Error::new(
                    ErrorCode::TooManyRequests,
                    format!("密码错误次数过多，请 {wait} 秒后再试"),
                ),
                retry_after: u64::try_from(wait).ok(),
            });
        }
        Ok(())
    }

    /// Refuses a login from an address that tried too often, saying when
    /// its next attempt is allowed (a slot returns every 60 / rate s).
    fn throttle_logins(&self, source: &str) -> Result<(), LoginRefused> {
        if let Err(not_until) = self.inner.logins.check_key(&source.to_string()) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let seconds = u64::try_from(wait.as_millis().div_ceil(1000))
                .unwrap_or(60)
                .max(1);
            tracing::warn!(source = %source, "login refused: too many attempts from this address");
            return Err(LoginRefused {
                error: Error::new(
                    ErrorCode::TooManyRequests,
                    format!("此地址登录尝试过于频繁，请 {seconds} 秒后再试"),
                ),
                retry_after: Some(seconds),
            });
        }
        Ok(())
    }

    /// Whether the second factor holds (or is not needed), and the time
    /// step of a good one-time code; refuses (uncounted) a right password
    /// without the code it needs.
    fn second_factor(
        &self,
        row: &StaffRow,
        totp: Option<&str>,
        matches: bool,
        now: DateTime<Utc>,
    ) -> Result<(bool, Option<i64>), Error> {
        let needs_totp = row.totp_secret.is_some()
            || (self.inner.policy.admin_totp && row.role == Role::Admin.as_str());
        // The time step of a good one-time code: used once, in the writer.
        let mut step: Option<i64> = None;
        let totp_ok = match (&row.totp_secret, totp) {
            (None, _) if needs_totp && matches => {
                // Not the person's fault, and no guess: not counted.
                return Err(Error::new(
                    ErrorCode::TotpRequired,
                    "administrators need a second factor: an administrator enrols one with `triage user totp`",
                ));
            }
            (None, _) => !needs_totp,
            (Some(_), None) if matches => {
                return Err(Error::new(
                    ErrorCode::TotpRequired,
                    "give the 6-digit code of your authenticator app",
                ))
            }
            (Some(_), None) => false,
            (Some(sealed), Some(code)) => {
                let b32 = self
                    .inner
                    .key
                    .open(&server_key::totp_purpose(&row.code), sealed)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        tracing::error!(staff = %row.code, "an account's second factor does not open with the server key");
                        Error::new(
                            ErrorCode::InternalError,
                            "此账号的动态口令无法校验（服务器密钥不符），请联系信息科",
                        )
                    })?;
                step = accounts::totp_step(&b32, code, now.timestamp());
                step.is_some()
            }
        };
        Ok((totp_ok, step))
    }

    /// Opens the session in the writer, on the row as it is now; answers
    /// the session's id and its hash.
    async fn open_session(
        &self,
        row: &StaffRow,
        step: Option<i64>,
        stamp: &Stamp,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String), Error> {
        let session_id = secret::random(32);
        let id_hash = secret::sha256_hex(session_id.as_bytes());
        let after = StaffRow {
            failed_logins: 0,
            ..row.clone()
        };
        let session = SessionRow {
            id_hash: id_hash.clone(),
            staff_code: row.code.clone(),
            source: source.to_string(),
            created_at: now.naive_utc(),
            last_seen_at: now.naive_utc(),
        };
        let st = stamp.clone();
        // Decided in the writer, on the row as it is now: a disable made
        // meanwhile holds.
        let refused = self
            .inner
            .db
            .write(move |c| {
                match store::get_staff(c, &after.code)? {
                    None => return Ok(Some(Refusal::Gone)),
                    Some(f) if f.disabled => return Ok(Some(Refusal::Gone)),
                    Some(_) => {}
                }
                if let Some(step) = step {
                    if !store::use_totp_step(c, &after.code, step)? {
                        return Ok(Some(Refusal::CodeUsed));
                    }
                }
                store::set_failures(c, &after.code, 0, None)?;
                store::insert_session(c, &session)?;
                store::record(
                    c,
                    &st,
                    store::AccountEvent::Login,
                    &after.code,
                    serde_json::json!({ "role": after.role, "session": &session.id_hash[..12] }),
                )?;
                Ok(None)
            })
            .await?;
        match refused {
            None => {}
            Some(Refusal::Gone) => return Err(bad_credentials()),
            Some(Refusal::CodeUsed) => {
                // A one-time code seen before: counted like a wrong code.
                let _ = self.failed(row.clone(), stamp, true).await;
                return Err(Error::new(
                    ErrorCode::BadCredentials,
                    "此动态口令已使用过，请等待下一个口令",
                ));
            }
        }
        Ok((session_id, id_hash))
    }

    /// Keeps the account and the new session in memory.
    fn remember_login(&self, row: &StaffRow, id_hash: String, now: DateTime<Utc>) {
        if let Some(staff) = staff_of(row) {
            self.inner.accounts.insert(
                row.code.clone(),
                Account {
                    staff,
                    disabled: false,
                    must_change: row.must_change,
                },
            );
        }
        self.inner.sessions.insert(
            id_hash,
            Session {
                staff_code: row.code.clone(),
                last_seen: AtomicI64::new(now.timestamp()),
                persisted: AtomicI64::new(now.timestamp()),
                added: std::time::Instant::now(),
            },
        );
    }

    /// Counts a wrong password or code: in the streak of this account
    /// from this address (which then waits, doubling) at once, and in the
    /// account's count of failures in a row from anywhere, written in the
    /// writer on the row as it is now (failures at the same time each
    /// count) after the answer, so that a known account's refusal takes as
    /// long as an unknown one's. When that count reaches `lockout_failures`
    /// an administrator is told (an alert). Nobody is locked out. Answers
    /// the one bad-credentials error.
    async fn failed(&self, row: StaffRow, stamp: &Stamp, totp: bool) -> Error {
        self.inner.streaks.failed(
            &row.code,
            &limits::limit_key(&stamp.source),
            self.now().timestamp_millis(),
        );
        let auth = self.clone();
        let st = stamp.clone();
        actix_web::rt::spawn(async move { auth.count_failure(row, st, totp).await });
        bad_credentials()
    }

    /// Writes a failed login down (see [`Auth::failed`]).
    async fn count_failure(&self, row: StaffRow, st: Stamp, totp: bool) {
        let limit = i32::try_from(self.inner.policy.lockout_failures).unwrap_or(i32::MAX);
        let code = row.code.clone();
        let at = st.at;
        let from = st.source.clone();
        let counted = self
            .inner
            .db
            .write(move |c| {
                let Some(fresh) = store::get_staff(c, &code)? else {
                    return Ok(None);
                };
                let before = fresh.failed_logins;
                let failed = before.saturating_add(1);
                store::set_failures(c, &code, failed, None)?;
                store::record(
                    c,
                    &st,
                    store::AccountEvent::LoginFailed,
                    &code,
                    serde_json::json!({ "failed_logins": failed, "factor": if totp { "totp" } else { "password" } }),
                )?;
                Ok(Some((before, failed)))
            })
            .await;
        match counted {
            Err(e) => tracing::warn!(error = %e, "could not count a failed login"),
            Ok(Some((before, failed))) => {
                tracing::warn!(staff = %row.code, failed, "login failed");
                // Told once per streak: when it crosses the limit.
                if before < limit && failed >= limit {
                    let _ = self.inner.streak_tx.send(StreakNotice {
                        account: row.code.clone(),
                        failures: failed,
                        from,
                        at: at.and_utc(),
                    });
                }
            }
            Ok(None) => {}
        }
    }

    async fn audit_only(
        &self,
        stamp: &Stamp,
        kind: store::AccountEvent,
        code: &str,
        why: &'static str,
    ) -> Result<(), Error> {
        let st = stamp.clone();
        let code = code.to_string();
        self.inner
            .db
            .write(move |c| {
                store::record(c, &st, kind, &code, serde_json::json!({ "reason": why }))
            })
            .await?;
        tracing::warn!(staff = %stamp.operator, reason = why, "login refused");
        Ok(())
    }

    /// Ends a session (log out).
    pub async fn logout(&self, session_id: &str, source: &str) -> Result<(), Error> {
        let id_hash = secret::sha256_hex(session_id.as_bytes());
        let Some((_, s)) = self.inner.sessions.remove(&id_hash) else {
            return Ok(());
        };
        self.inner
            .ended
            .insert(id_hash.clone(), std::time::Instant::now());
        let stamp = Stamp {
            operator: s.staff_code.clone(),
            source: source.to_string(),
            at: self.now().naive_utc(),
        };
        self.inner
            .db
            .write(move |c| {
                store::delete_session(c, &id_hash)?;
                store::record(
                    c,
                    &stamp,
                    store::AccountEvent::Logout,
                    &s.staff_code,
                    serde_json::json!({}),
                )
            })
            .await?;
        Ok(())
    }

    /// A staff member changes their own password (required after the first
    /// login): the current one is checked, the new one must meet the
    /// policy; every other session of the account ends.
    pub async fn change_password(
        &self,
        session_id: &str,
        current: &str,
        new: &str,
        source: &str,
    ) -> Result<(), LoginRefused> {
        let Principal::Staff { staff, .. } = self.session(session_id)? else {
            return Err(Error::new(ErrorCode::Forbidden, "only staff have passwords").into());
        };
        // A session is no way round the login limits: the same rate per
        // address and the same streak delays guard the current password.
        self.may_try(&staff.code, source)?;
        password::check_policy(new, &staff.code, &self.inner.policy)?;
        if new == current {
            return Err(Error::field(
                ErrorCode::WeakPassword,
                "new_password",
                "新密码不能与当前密码相同",
            )
            .into());
        }
        let code = staff.code.clone();
        let row = self
            .inner
            .db
            .read(move |c| store::get_staff(c, &code))
            .await?
            .ok_or_else(|| Error::new(ErrorCode::SessionExpired, "the account is gone"))?;
        let (attempt, phc, fresh) = (
            current.to_string(),
            row.password_hash.clone(),
            new.to_string(),
        );
        let (ok, hashed) = self
            .inner
            .hashing
            .run(&limits::limit_key(source), move || {
                let ok = password::verify(&attempt, &phc);
                (ok, ok.then(|| password::hash(&fresh)))
            })
            .await?;
        if !ok {
            // Counted like a failed login: a session left open is no way
            // round the lockout.
            let stamp = Stamp {
                operator: staff.code.clone(),
                source: source.to_string(),
                at: self.now().naive_utc(),
            };
            let _ = self.failed(row, &stamp, false).await;
            return Err(Error::field(
                ErrorCode::BadCredentials,
                "current_password",
                "当前密码不正确",
            )
            .into());
        }
        let hash =
            hashed.unwrap_or_else(|| Err(Error::new(ErrorCode::InternalError, "no hash")))?;
        let after = StaffRow {
            password_hash: hash,
            must_change: false,
            ..row
        };
        let id_hash = secret::sha256_hex(session_id.as_bytes());
        let stamp = Stamp {
            operator: staff.code.clone(),
            source: source.to_string(),
            at: self.now().naive_utc(),
        };
        let keep = id_hash.clone();
        let code = staff.code.clone();
        self.inner
            .db
            .write(move |c| {
                store::update_staff(
                    c,
                    &after,
                    &stamp,
                    store::AccountEvent::PasswordChanged,
                    false,
                )?;
                // Every other session of this account ends.
                for s in store::list_sessions(c)? {
                    if s.staff_code == code && s.id_hash != keep {
                        store::delete_session(c, &s.id_hash)?;
                    }
                }
                Ok(())
            })
            .await?;
        self.password_changed_in_memory(&staff.code, &id_hash);
        tracing::info!(staff = %staff.code, "password changed");
        Ok(())
    }

    /// After a password change: every other session of the account ends
    /// in memory too, and it need not change its password any more.
    fn password_changed_in_memory(&self, code: &str, id_hash: &str) {
        let now = std::time::Instant::now();
        self.inner.sessions.retain(|k, s| {
            let keep = s.staff_code != code || k == id_hash;
            if !keep {
                self.inner.ended.insert(k.clone(), now);
            }
            keep
        });
        if let Some(mut a) = self.inner.accounts.get_mut(code) {
            a.must_change = false;
        }
    }

    /// The account behind a session, as its owner sees it.
    pub async fn me(&self, session_id: &str) -> Result<(StaffView, bool), Error> {
        let Principal::Staff { staff, must_change } = self.session(session_id)? else {
            return Err(Error::new(ErrorCode::Unauthenticated, "no session"));
        };
        let code = staff.code.clone();
        let row = self
            .inner
            .db
            .read(move |c| store::get_staff(c, &code))
            .await?
            .ok_or_else(|| Error::new(ErrorCode::SessionExpired, "the account is gone"))?;
        Ok((view_of(&row), must_change))
    }
}
