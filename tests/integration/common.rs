//! Test harness: fresh databases, the app on port 0, HTTP and WebSocket
//! helpers, and a dump of every table.
#![allow(dead_code, reason = "each test module uses part of the harness")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use triage::app::{Application, Settings};
use triage::auth::accounts::{self, NewAccount, NewClient};
use triage::auth::policy::{Role, Scope};
use triage::auth::Auth;
use triage::config::Hospital;
use triage::db::accounts::Stamp;
use triage::db::store;
use triage::engine::Engine;
use triage_ground::time::Clock as _;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The instant every test runs at unless it names another: a Wednesday,
/// 09:30 China time, in the morning session of an ordinary working day. It
/// is the one date of the suite: every other instant a test uses is named
/// from it ([`china`]), and the app's clock starts there (a test moves it
/// with [`TestApp::advance`] or [`TestApp::set_clock`]). No test reads the
/// host's clock; the test command runs the suite again under `faketime`,
/// at night and more than a year ahead, to prove it.
pub const WEDNESDAY_0930: &str = "2026-12-09T09:30:00+08:00";

/// An RFC 3339 instant.
pub fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("instant {text}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// The named Wednesday, 09:30 China time.
pub fn wednesday() -> chrono::DateTime<chrono::Utc> {
    instant(WEDNESDAY_0930)
}

/// `hh:mm` China time on the day `days` after the named Wednesday (before
/// it when negative).
pub fn china(days: i64, hhmm: &str) -> chrono::DateTime<chrono::Utc> {
    let day = triage_ground::time::service_date(wednesday()) + chrono::Duration::days(days);
    let t = chrono::NaiveTime::parse_from_str(hhmm, "%H:%M")
        .unwrap_or_else(|e| panic!("time {hhmm}: {e}"));
    day.and_time(t)
        .and_local_timezone(triage_ground::time::shanghai())
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| panic!("{day} {hhmm}"))
}

/// `hh:mm:ss` China time on the day `days` after the named Wednesday, as
/// RFC 3339 text (what HIS sends).
pub fn rfc(days: i64, hhmmss: &str) -> String {
    let day = service_day(days);
    let t = chrono::NaiveTime::parse_from_str(hhmmss, "%H:%M:%S")
        .unwrap_or_else(|e| panic!("time {hhmmss}: {e}"));
    day.and_time(t)
        .and_local_timezone(triage_ground::time::shanghai())
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| panic!("{day} {hhmmss}"))
}

/// The service day `days` after the named Wednesday.
pub fn service_day(days: i64) -> chrono::NaiveDate {
    triage_ground::time::service_date(wednesday()) + chrono::Duration::days(days)
}

/// The suite's own clock for what runs outside a test app (the `triage`
/// binary a test starts, several times in a row): the named Wednesday
/// 09:30 when the suite began, running on, so a restarted server goes on
/// from where the last one was.
pub fn suite_now() -> chrono::DateTime<chrono::Utc> {
    static SUITE: std::sync::LazyLock<triage_ground::time::AnchoredClock> =
        std::sync::LazyLock::new(|| triage_ground::time::AnchoredClock::starting_at(wednesday()));
    SUITE.now()
}

/// A port free on the loopback now (a server started on it may still
/// find it taken: tests that start one try again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// The `triage` binary, to be run by a test at [`suite_now`]
/// (`TRIAGE_CLOCK`).
pub fn triage_command() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    c.env(
        triage_ground::time::CLOCK_VARIABLE,
        suite_now().to_rfc3339(),
    );
    c
}

/// A clock at `at`, running from now on.
pub fn clock_at(
    at: chrono::DateTime<chrono::Utc>,
) -> std::sync::Arc<triage_ground::time::AnchoredClock> {
    std::sync::Arc::new(triage_ground::time::AnchoredClock::starting_at(at))
}

/// A clock at the named Wednesday, 09:30, running from now on.
pub fn test_clock() -> std::sync::Arc<triage_ground::time::AnchoredClock> {
    std::sync::Arc::new(triage_ground::time::AnchoredClock::starting_at(wednesday()))
}

/// Where the test command collects every log line of the run and the
/// secrets and names the tests made (`TRIAGE_TEST_LOG_DIR`);
/// `scripts/scan-logs.py` then looks for the second in the first.
pub fn log_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("TRIAGE_TEST_LOG_DIR").map(std::path::PathBuf::from)
}

static CAPTURE: std::sync::Once = std::sync::Once::new();

/// Sends this test process's log lines (the in-process servers', at debug
/// for triage itself) to a file in [`log_dir`], once.
pub fn capture_logs() {
    CAPTURE.call_once(|| {
        let Some(dir) = log_dir() else { return };
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!(
            "integration-{}-{}.log",
            backend_name(),
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,triage=debug,triage_actors=debug,actix_server=warn",
            ))
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    });
}

/// Lists a secret or a name a test made, for the log scan.
pub fn note_secret(secret: &str) {
    use std::io::Write as _;
    let Some(dir) = log_dir() else { return };
    if secret.is_empty() {
        return;
    }
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("secrets.txt"))
    {
        let _ = writeln!(f, "{secret}");
    }
}

/// A database handle (read pool and writer, `synchronous=FULL`) on `url`,
/// without a server: for tests of the storage layer itself.
pub fn connect_db(url: &str) -> triage::db::Db {
    triage::db::Db::connect(
        &triage::db::DbSettings {
            url: url.to_string(),
            synchronous: triage::db::Synchronous::Full,
            pool_size: 2,
        },
        &triage::background::Background::new(),
    )
    .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// A database for one test; dropped with the last app that uses it.
#[derive(Clone)]
pub struct TestDb {
    pub url: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl TestDb {
    /// A database at `url` that the test made itself (its own server or
    /// file system).
    pub fn at(url: String) -> TestDb {
        TestDb { url, _dir: None }
    }
}

/// Which backend this run tests (for messages).
pub fn backend_name() -> &'static str {
    if std::env::var("TRIAGE_TEST_POSTGRES_URL").is_ok() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// A fresh, empty database: a new SQLite file, or a new PostgreSQL database
/// on the server named by `TRIAGE_TEST_POSTGRES_URL`.
pub fn fresh_database() -> TestDb {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    match std::env::var("TRIAGE_TEST_POSTGRES_URL") {
        Ok(base) => {
            let name = format!("triage_test_{}_{}_{}", std::process::id(), n, rand_suffix());
            let mut admin = diesel::PgConnection::establish(&base)
                .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap_or_else(|e| panic!("cannot create {name}: {e}"));
            let (prefix, _) = base.rsplit_once('/').unwrap_or((&base, ""));
            TestDb {
                url: format!("{prefix}/{name}"),
                _dir: None,
            }
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
            let path = dir.path().join("triage-test.sqlite");
            TestDb {
                url: format!("sqlite://{}", path.display()),
                _dir: Some(std::sync::Arc::new(dir)),
            }
        }
    }
}

fn rand_suffix() -> u32 {
    // Unique without the wall clock: a random value (the database name
    // only has to be new on the server).
    rand::random::<u32>()
}

/// A running application.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub engine: Engine,
    pub auth: Auth,
    pub hospital: Hospital,
    /// Logged in as the test administrator (`t-admin`): its session cookie
    /// and CSRF token go with every request.
    pub http: reqwest::Client,
    /// No credentials at all.
    pub anonymous: reqwest::Client,
    /// The API key of `t-his`, a HIS client with every scope.
    pub his_key: String,
    /// Every screen's device token.
    pub tokens: std::collections::HashMap<String, String>,
    pub db: TestDb,
    /// The certificate the app serves HTTPS with (`spawn_app_tls`).
    pub tls: Option<TestTls>,
    /// The plain-HTTP port that redirects to HTTPS (`spawn_app_tls`).
    pub redirect_port: Option<u16>,
    /// The app's clock: the named instant the test runs at, moved by the
    /// test.
    pub clock: std::sync::Arc<triage_ground::time::AnchoredClock>,
    /// Where the app's relative directories (backups, reports, the audit
    /// archive) went: its own, never the work tree.
    pub scratch: std::sync::Arc<tempfile::TempDir>,
    /// The app's background work (woken when the test moves the clock).
    pub background: std::sync::Arc<triage::background::Background>,
    /// Staff clients already logged in, by account code.
    logged_in: std::sync::Mutex<std::collections::HashMap<String, reqwest::Client>>,
}

/// The test administrator's password.
pub const ADMIN_PASSWORD: &str = "Admin-Test-2026";
/// Every other test account's password.
pub const STAFF_PASSWORD: &str = "Staff-Test-2026!";

fn stamp() -> Stamp {
    Stamp {
        operator: "test".into(),
        source: "test".into(),
        at: wednesday().naive_utc(),
    }
}

fn client_with(headers: reqwest::header::HeaderMap) -> reqwest::Client {
    client_tls(headers, None)
}

/// A client that trusts `tls`'s certificate (and only HTTPS) when given.
fn client_tls(headers: reqwest::header::HeaderMap, tls: Option<&TestTls>) -> reqwest::Client {
    let mut b = reqwest::Client::builder();
    if let Some(t) = tls {
        let root = reqwest::Certificate::from_pem(t.cert_pem.as_bytes())
            .unwrap_or_else(|e| panic!("test certificate: {e}"));
        b = b
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .https_only(true);
    }
    b.timeout(Duration::from_secs(30))
        // Below the server's keep-alive, as docs/API.md asks of clients.
        .pool_idle_timeout(Duration::from_secs(20))
        .default_headers(headers)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// The demo hospital, no simulation, fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Hospital::demo(), 2).await
}

pub async fn spawn_app_with(hospital: Hospital, workers: usize) -> TestApp {
    spawn_app_on(hospital, workers, fresh_database()).await
}

/// The demo hospital, no simulation, fresh database, its clock at `at`.
pub async fn spawn_app_at(at: chrono::DateTime<chrono::Utc>) -> TestApp {
    let clock = std::sync::Arc::new(triage_ground::time::AnchoredClock::starting_at(at));
    spawn_app_full(Hospital::demo(), 2, fresh_database(), None, clock).await
}

/// The application started on `db` as it is (the recovery path), its
/// clock at the named Wednesday.
pub async fn spawn_app_on(hospital: Hospital, workers: usize, db: TestDb) -> TestApp {
    spawn_app_full(hospital, workers, db, None, test_clock()).await
}

/// The application started on `db` as it is, on `clock` (a restart that
/// goes on from the instant the test reached).
pub async fn spawn_app_clocked(
    hospital: Hospital,
    workers: usize,
    db: TestDb,
    clock: std::sync::Arc<triage_ground::time::AnchoredClock>,
) -> TestApp {
    spawn_app_full(hospital, workers, db, None, clock).await
}

/// A self-signed certificate for 127.0.0.1 and localhost, made by the
/// test, in PEM files.
pub struct TestTls {
    pub cert_pem: String,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

pub fn test_certificate() -> TestTls {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap_or_else(|e| panic!("certificate: {e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let cert_pem = made.cert.pem();
    std::fs::write(&cert, &cert_pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap_or_else(|e| panic!("{e}"));
    TestTls {
        cert_pem,
        cert,
        key,
        _dir: std::sync::Arc::new(dir),
    }
}

/// The demo hospital served over HTTPS only (with a plain-HTTP listener
/// that redirects): every client of the returned app speaks TLS.
pub async fn spawn_app_tls(hospital: Hospital) -> TestApp {
    spawn_app_full(
        hospital,
        2,
        fresh_database(),
        Some(test_certificate()),
        test_clock(),
    )
    .await
}

async fn spawn_app_full(
    hospital: Hospital,
    workers: usize,
    db: TestDb,
    tls: Option<TestTls>,
    clock: std::sync::Arc<triage_ground::time::AnchoredClock>,
) -> TestApp {
    capture_logs();
    let (hospital, scratch) = own_directories(hospital);
    let mut settings = Settings::new(hospital.clone(), db.url.clone());
    settings.workers = workers;
    settings.clock = clock.clone();
    settings.tls = tls.as_ref().map(|t| triage::tls::Tls {
        cert: t.cert.clone(),
        key: t.key.clone(),
        redirect_bind: Some("127.0.0.1:0".into()),
    });
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("app failed to start: {e:#}"));
    let port = app.port;
    let background = app.background.clone();
    let engine = app.engine.clone();
    let auth = app.auth.clone();
    actix_web::rt::spawn(app.server);
    let redirect_port = app.redirect.map(|(server, port)| {
        actix_web::rt::spawn(server);
        port
    });
    // The test administrator, a HIS client with every scope and every
    // screen's token, made as an administrator would (idempotent: a
    // restarted app finds the account and gets new keys and tokens).
    let (url, h) = (db.url.clone(), hospital.clone());
    let now = clock.now();
    let (admin_totp, tokens, his_key) = tokio::task::spawn_blocking(move || {
        let (totp, tokens) = provision(&url, &h);
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("connect: {e}"));
        let name = format!("t-his-{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        let key = accounts::add_client(
            &mut c,
            &h.security,
            NewClient {
                name,
                scopes: Scope::ALL.to_vec(),
                require_signature: false,
                rate_per_minute: 100_000,
            },
            &stamp(),
        )
        .unwrap_or_else(|e| panic!("client: {e}"));
        note_secret(&key);
        (totp, tokens, key)
    })
    .await
    .unwrap_or_else(|e| panic!("setup: {e}"));
    auth.reload()
        .await
        .unwrap_or_else(|e| panic!("reload: {e}"));
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://127.0.0.1:{port}");
    let anonymous = client_tls(reqwest::header::HeaderMap::new(), tls.as_ref());
    let http = client_tls(
        login_headers(
            &anonymous,
            &base,
            "t-admin",
            ADMIN_PASSWORD,
            admin_totp.as_deref(),
            now,
        )
        .await,
        tls.as_ref(),
    );
    TestApp {
        base,
        port,
        engine,
        auth,
        hospital,
        http,
        anonymous,
        his_key,
        tokens,
        db,
        tls,
        redirect_port,
        clock,
        scratch,
        background,
        logged_in: std::sync::Mutex::new(std::collections::HashMap::new()),
    }
}

/// The hospital with its relative directories (backups, reports, the
/// audit archive: the configuration's defaults) moved into a directory of
/// the test's own, so no test writes into the work tree or meets another's
/// files. Absolute directories a test chose stay.
fn own_directories(mut h: Hospital) -> (Hospital, std::sync::Arc<tempfile::TempDir>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let own = |p: &mut std::path::PathBuf| {
        if p.is_relative() {
            *p = dir.path().join(&*p);
        }
    };
    own(&mut h.backup.dir);
    if let Some(second) = h.backup.second_dir.as_mut() {
        own(second);
    }
    own(&mut h.operations.reports_dir);
    own(&mut h.operations.archive_dir);
    let mut key = std::path::PathBuf::from(&h.security.server_key_file);
    own(&mut key);
    h.security.server_key_file = key.display().to_string();
    (h, std::sync::Arc::new(dir))
}

/// Makes the test administrator `t-admin` (once) and gives every screen a
/// new device token, as an administrator would on `url` (blocking). Returns
/// the administrator's second-factor secret (when the hospital asks for one)
/// and the tokens.
pub fn provision(
    url: &str,
    h: &Hospital,
) -> (Option<String>, std::collections::HashMap<String, String>) {
    let mut c = triage::db::connect_one(url).unwrap_or_else(|e| panic!("connect: {e}"));
    if triage::db::accounts::get_staff(&mut c, "t-admin")
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none()
    {
        accounts::add_user(
            &mut c,
            h,
            NewAccount {
                code: "t-admin".into(),
                name: "测试管理员".into(),
                role: Role::Admin,
                scope: vec![],
                password: Some(ADMIN_PASSWORD.into()),
                totp: false,
                must_change: false,
            },
            &stamp(),
        )
        .unwrap_or_else(|e| panic!("admin: {e}"));
    }
    // Screens retired (停用) get no token, as the server refuses them one.
    let retired: Vec<String> = triage::db::store::load_screens(&mut c)
        .unwrap_or_else(|e| panic!("screens: {e}"))
        .into_iter()
        .filter(|r| r.retired_at.is_some())
        .map(|r| r.code)
        .collect();
    let tokens = h
        .screens
        .iter()
        .map(|s| s.code.to_string())
        .filter(|code| !retired.contains(code))
        .chain(h.kiosks.iter().map(|k| k.code.clone()))
        .map(|code| {
            let t = accounts::issue_screen_token(&mut c, h, &code, &stamp())
                .unwrap_or_else(|e| panic!("token: {e}"));
            note_secret(&t);
            (code, t)
        })
        .collect();
    let totp = totp_secret_on(&mut c, h, "t-admin");
    note_secret(ADMIN_PASSWORD);
    if let Some(t) = &totp {
        note_secret(t);
    }
    (totp, tokens)
}

/// An account's second-factor secret (Base32), opened from the sealed
/// copy the database keeps with the hospital's server key, as the server
/// does (the authenticator app's copy, for making codes).
pub fn totp_secret_on(
    c: &mut triage::db::AnyConnection,
    h: &Hospital,
    code: &str,
) -> Option<String> {
    let sealed = triage::db::accounts::get_staff(c, code)
        .unwrap_or_else(|e| panic!("{e}"))
        .and_then(|r| r.totp_secret)?;
    let key = triage::auth::server_key::open(&h.security, c).unwrap_or_else(|e| panic!("{e}"));
    let plain = key
        .open(&triage::auth::server_key::totp_purpose(code), &sealed)
        .unwrap_or_else(|e| panic!("{e}"));
    Some(String::from_utf8(plain).unwrap_or_else(|e| panic!("{e}")))
}

/// A client logged in as the test administrator at `base`, whose clock
/// shows `now`.
pub async fn admin_client(
    base: &str,
    totp: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> reqwest::Client {
    let anonymous = client_with(reqwest::header::HeaderMap::new());
    client_with(login_headers(&anonymous, base, "t-admin", ADMIN_PASSWORD, totp, now).await)
}

/// Logs in and returns the headers a page sends with every request: the
/// session cookie and the CSRF token. A one-time code is made for `now`,
/// the server's clock.
pub async fn login_headers(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    password: &str,
    totp_secret: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> reqwest::header::HeaderMap {
    let totp = totp_secret.and_then(|s| accounts::totp_now(s, now.timestamp()));
    note_secret(password);
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"code": code, "password": password, "totp": totp}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(r.status(), 200, "login of {code}");
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    let body: Value = r.json().await.unwrap_or_default();
    if let Some((_, id)) = cookie.split_once('=') {
        note_secret(id);
    }
    note_secret(body["csrf_token"].as_str().unwrap_or_default());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        cookie.parse().unwrap_or_else(|e| panic!("cookie: {e}")),
    );
    headers.insert(
        "x-csrf-token",
        body["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|e| panic!("csrf: {e}")),
    );
    headers
}

/// A registration body parsed as `PUT /registrations/{visit_no}` parses
/// it (for tests that drive the engine directly); the body as sent is
/// its canonical text.
pub fn parsed_registration(
    e: &triage::engine::Engine,
    body: &Value,
) -> triage::engine::Registration {
    let wire: triage::api::registrations::RegistrationBody =
        serde_json::from_value(body.clone()).unwrap_or_else(|err| panic!("{err}"));
    let today = triage_ground::time::service_date(e.now());
    wire.parse(e.hospital(), today, body.to_string())
        .unwrap_or_else(|err| panic!("{err}"))
}

/// An appointment body parsed as `PUT /appointments/{id}` parses it.
pub fn parsed_appointment(
    e: &triage::engine::Engine,
    body: &Value,
) -> Result<triage::engine::appointments::Appointment, triage_ground::error::Error> {
    let wire: triage::api::appointments::AppointmentPutBody =
        serde_json::from_value(body.clone()).unwrap_or_else(|err| panic!("{err}"));
    let today = triage_ground::time::service_date(e.now());
    wire.parse(e.hospital(), today, body.to_string())
}

/// A registration body HIS would send, registered at 08:00 of the named
/// Wednesday (the day every test app starts on).
pub fn registration(name: &str, department: &str) -> Value {
    registration_at(name, department, china(0, "08:00"))
}

/// A registration body HIS would send, registered at `at`.
pub fn registration_at(name: &str, department: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
    note_secret(name);
    json!({
        "patient": {"id": format!("P-{name}"), "name": name, "sex": "1", "birth_date": "1980-03-04"},
        "department_code": department,
        "visit_type": "first",
        "registered_at": at.to_rfc3339()
    })
}

impl TestApp {
    /// Creates a staff account (once) and returns a client logged in as it.
    pub async fn staff(&self, code: &str, role: Role, scope: &[&str]) -> reqwest::Client {
        if let Some(c) = self
            .logged_in
            .lock()
            .ok()
            .and_then(|m| m.get(code).cloned())
        {
            return c;
        }
        let client = client_tls(self.staff_login(code, role, scope).await, self.tls.as_ref());
        if let Ok(mut m) = self.logged_in.lock() {
            m.insert(code.to_string(), client.clone());
        }
        client
    }

    /// Creates a staff account (once) and logs in anew: the session's
    /// cookie and CSRF headers.
    pub async fn staff_login(
        &self,
        code: &str,
        role: Role,
        scope: &[&str],
    ) -> reqwest::header::HeaderMap {
        let (url, h, c2, p2) = (
            self.db.url.clone(),
            self.hospital.clone(),
            code.to_string(),
            STAFF_PASSWORD.to_string(),
        );
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("connect: {e}"));
            if triage::db::accounts::get_staff(&mut c, &c2)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none()
            {
                accounts::add_user(
                    &mut c,
                    &h,
                    NewAccount {
                        code: c2.clone(),
                        name: format!("测试{c2}"),
                        role,
                        scope,
                        password: Some(p2),
                        totp: false,
                        must_change: false,
                    },
                    &stamp(),
                )
                .unwrap_or_else(|e| panic!("account {c2}: {e}"));
            }
        })
        .await
        .unwrap_or_else(|e| panic!("setup: {e}"));
        self.auth
            .reload()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
        login_headers(
            &self.anonymous,
            &self.base,
            code,
            STAFF_PASSWORD,
            None,
            self.now(),
        )
        .await
    }

    /// The test administrator logged in anew (after the clock moved past
    /// the idle limit of the first session).
    pub async fn admin_again(&self) -> reqwest::Client {
        let (url, h) = (self.db.url.clone(), self.hospital.clone());
        let totp = tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("connect: {e}"));
            totp_secret_on(&mut c, &h, "t-admin")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        client_tls(
            login_headers(
                &self.anonymous,
                &self.base,
                "t-admin",
                ADMIN_PASSWORD,
                totp.as_deref(),
                self.now(),
            )
            .await,
            self.tls.as_ref(),
        )
    }

    /// Now on the app's clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use triage_ground::time::Clock as _;
        self.clock.now()
    }

    /// Today's service date on the app's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        triage_ground::time::service_date(self.now())
    }

    /// Runs now what the background would do within seconds of a command
    /// (the session switch, which follows a schedule or a stop-clinic),
    /// so that a test comparing two snapshots sees only its own request.
    pub async fn settle(&self) {
        self.engine
            .schedule_tick()
            .await
            .unwrap_or_else(|e| panic!("session switch: {e}"));
    }

    /// Moves the app's clock forward by `by`; every timed task of the app
    /// (day end, session switch, notices, backups, alerts) looks at once.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.background.wake();
    }

    /// Sets the app's clock to `at` (it runs on from there); every timed
    /// task looks at once.
    pub fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        self.clock.set(at);
        self.background.wake();
    }

    /// A staff page's live channel (`/ws/staff` + `query`), logged in as a
    /// staff account made for it.
    pub async fn staff_socket(&self, code: &str, role: Role, scope: &[&str], query: &str) -> Ws {
        let headers = self.staff_login(code, role, scope).await;
        let cookie = headers
            .get(reqwest::header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        match self.staff_socket_with(Some(&cookie), query).await {
            Ok(ws) => ws,
            Err(status) => panic!("staff socket of {code} refused: {status}"),
        }
    }

    /// The staff channel with this `Cookie` header (or none): the socket,
    /// or the HTTP status that refused it.
    pub async fn staff_socket_with(&self, cookie: Option<&str>, query: &str) -> Result<Ws, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/ws/staff{query}", self.ws_base());
        let mut req = url
            .into_client_request()
            .unwrap_or_else(|e| panic!("request: {e}"));
        if let Some(c) = cookie {
            req.headers_mut().insert(
                "cookie",
                c.parse().unwrap_or_else(|e| panic!("cookie: {e}")),
            );
        }
        match self.ws_connect(req).await {
            Ok((stream, _)) => Ok(Ws {
                stream,
                seen: Vec::new(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("staff socket: {e}"),
        }
    }

    /// `ws://…` or, over HTTPS, `wss://…`.
    fn ws_base(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Opens a socket, over TLS trusting only the test certificate when the
    /// app serves HTTPS.
    async fn ws_connect(
        &self,
        req: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<
        (
            tokio_tungstenite::WebSocketStream<
                tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
            >,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    > {
        let connector = self.tls.as_ref().map(|t| {
            use rustls_pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls_pki_types::CertificateDer::pem_slice_iter(t.cert_pem.as_bytes()) {
                roots
                    .add(c.unwrap_or_else(|e| panic!("test certificate: {e}")))
                    .unwrap_or_else(|e| panic!("test certificate: {e}"));
            }
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("tls: {e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
            tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(config))
        });
        tokio_tungstenite::connect_async_tls_with_config(req, None, false, connector).await
    }

    /// A HIS client named `name` with only `scopes` (made as an
    /// administrator would), ready to call.
    pub async fn client_with_scopes(&self, name: &str, scopes: &[Scope]) -> reqwest::Client {
        let (url, name, scopes) = (self.db.url.clone(), name.to_string(), scopes.to_vec());
        let policy = self.hospital.security.clone();
        let key = tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("connect: {e}"));
            accounts::add_client(
                &mut c,
                &policy,
                NewClient {
                    name,
                    scopes,
                    require_signature: false,
                    rate_per_minute: 100_000,
                },
                &stamp(),
            )
            .unwrap_or_else(|e| panic!("client: {e}"))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        note_secret(&key);
        self.auth
            .reload()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {key}")
                .parse()
                .unwrap_or_else(|e| panic!("key: {e}")),
        );
        client_tls(headers, self.tls.as_ref())
    }

    /// A client of the test HIS, with every scope.
    pub fn his(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {}", self.his_key)
                .parse()
                .unwrap_or_else(|e| panic!("key: {e}")),
        );
        client_tls(headers, self.tls.as_ref())
    }

    /// A second application rebuilt from this one's database, as after a
    /// restart (this one keeps running but is no longer used).
    pub async fn restarted(&self) -> TestApp {
        let clock =
            std::sync::Arc::new(triage_ground::time::AnchoredClock::starting_at(self.now()));
        let mut again = spawn_app_clocked(self.hospital.clone(), 2, self.db.clone(), clock).await;
        // The same directories as before the restart.
        again.scratch = self.scratch.clone();
        again
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn put_registration(&self, visit_no: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/api/v1/registrations/{visit_no}")))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PUT registration: {e}"))
    }

    pub async fn check_in(&self, visit_no: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/registrations/{visit_no}/check-in")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("check-in: {e}"))
    }

    /// Registers and checks in; returns the ticket.
    pub async fn arrive(&self, visit_no: &str, body: &Value) -> String {
        let r = self.put_registration(visit_no, body).await;
        assert!(
            r.status().is_success(),
            "register {visit_no}: {}",
            r.status()
        );
        let r = self.check_in(visit_no).await;
        assert_eq!(r.status(), 200, "check in {visit_no}");
        let v: Value = r.json().await.unwrap_or_default();
        v["ticket_no"].as_str().unwrap_or_default().to_string()
    }

    pub async fn room(&self, room: &str, action: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/api/v1/rooms/{room}/{action}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("room {action}: {e}"))
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap_or_default()
    }

    /// Visit numbers of a queue, in calling order.
    pub async fn queue_order(&self, queue: &str) -> Vec<String> {
        let q = self.get_json(&format!("/api/v1/queues/{queue}")).await;
        q["entries"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["visit_no"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The details (JSON) of the audit events of `kind`, oldest first.
    pub async fn events(&self, kind: &str) -> Vec<Value> {
        let kind = kind.to_string();
        self.engine
            .db()
            .read(move |c| store::event_details(c, &kind))
            .await
            .unwrap_or_else(|e| panic!("events: {e}"))
            .iter()
            .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("event detail: {e}")))
            .collect()
    }

    /// Every table, as text.
    pub async fn dump(&self) -> String {
        self.engine
            .db()
            .read(store::dump)
            .await
            .unwrap_or_else(|e| panic!("dump: {e}"))
    }

    /// A screen's socket, admitted with its device token.
    pub async fn ws(&self, screen: &str) -> Ws {
        let token = self.tokens.get(screen).cloned().unwrap_or_default();
        let mut ws = self.ws_bare(screen).await;
        ws.send(json!({"type": "hello", "token": token})).await;
        ws
    }

    /// A screen's socket that has said nothing yet.
    pub async fn ws_bare(&self, screen: &str) -> Ws {
        self.ws_at(&format!("/ws/screens/{screen}")).await
    }

    /// A socket on `path` (a screen's, a patient page's).
    pub async fn ws_at(&self, path: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}{path}", self.ws_base());
        let req = url
            .into_client_request()
            .unwrap_or_else(|e| panic!("request: {e}"));
        let (stream, _) = self
            .ws_connect(req)
            .await
            .unwrap_or_else(|e| panic!("ws connect: {e}"));
        Ws {
            stream,
            seen: Vec::new(),
        }
    }
}

/// A real WebSocket client of a screen; keeps every text frame it saw.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pub seen: Vec<String>,
}

impl Ws {
    /// The next text frame (JSON), within 5 s.
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(5)).await
    }

    /// The next text frame (JSON), within `limit`.
    /// Keeps the socket alive for `d` as a screen would (a ping every
    /// 2 s, frames read).
    pub async fn alive_for(&mut self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        while tokio::time::Instant::now() < until {
            self.send(json!({"type": "ping"})).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(Ok(_)) = self.stream.next().await {}
            })
            .await;
        }
    }

    pub async fn next_within(&mut self, limit: Duration) -> Value {
        loop {
            let msg = tokio::time::timeout(limit, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {limit:?}"))
                .unwrap_or_else(|| panic!("socket closed"))
                .unwrap_or_else(|e| panic!("socket error: {e}"));
            if let Message::Text(t) = msg {
                self.seen.push(t.to_string());
                return serde_json::from_str(&t)
                    .unwrap_or_else(|e| panic!("frame is not JSON: {e}"));
            }
        }
    }

    /// Frames until one of `kind` arrives; all are returned.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let f = self.next().await;
            let done = f["type"] == kind;
            out.push(f);
            if done {
                return out;
            }
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap_or_else(|e| panic!("ws send: {e}"));
    }

    /// The reason the server gives when it closes the socket within
    /// `limit` (empty for a close without one, the end of the stream or an
    /// error), reading past any text frames; none if it stays open.
    pub async fn closed_within(&mut self, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, async {
            loop {
                match self.stream.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return frame.map(|f| f.reason.to_string()).unwrap_or_default()
                    }
                    None | Some(Err(_)) => return String::new(),
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await
        .ok()
    }

    pub async fn close(mut self) -> Vec<String> {
        let _ = self.stream.close(None).await;
        self.seen
    }
}

/// The start of today in Beijing (a visit's day is the day of its
/// appointment: a slot a test places "two hours ago" must stay today).
pub fn local_midnight(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let bj = now.with_timezone(&triage_ground::time::shanghai());
    bj.date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(triage_ground::time::shanghai())
                .single()
        })
        .map_or(now, |t| t.with_timezone(&chrono::Utc))
}

/// Runs the `triage` binary with `input` on its standard input (a
/// password typed for `--password-stdin`); its exit code and what it
/// printed.
pub fn triage_cli_stdin(args: &[&str], input: &str) -> (i32, String) {
    use std::io::Write as _;
    let mut child = triage_command()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("triage: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("triage: {e}"));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The lines of a dump that differ between `before` and `after` (for a
/// message that shows what changed rather than every table).
pub fn dump_diff(before: &str, after: &str) -> String {
    let (b, a): (
        std::collections::BTreeSet<&str>,
        std::collections::BTreeSet<&str>,
    ) = (before.lines().collect(), after.lines().collect());
    let mut out = String::new();
    for gone in b.difference(&a) {
        out.push_str(&format!("- {gone}\n"));
    }
    for new in a.difference(&b) {
        out.push_str(&format!("+ {new}\n"));
    }
    out
}

/// Runs the `triage` binary as an operator would, at [`suite_now`] unless
/// `env` names another instant (`TRIAGE_CLOCK`); its exit
/// code and what it printed (standard output, then errors).
pub fn triage_cli(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (i32, String) {
    let out = triage_command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("triage: {e}"));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
