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
use triage::config::Hospital;
use triage::db::store;
use triage::engine::Engine;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database for one test; dropped with the last app that uses it.
#[derive(Clone)]
pub struct TestDb {
    pub url: String,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
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
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// A running application.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub engine: Engine,
    pub hospital: Hospital,
    pub http: reqwest::Client,
    pub db: TestDb,
}

/// The demo hospital, no simulation, fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Hospital::demo(), 2).await
}

pub async fn spawn_app_with(hospital: Hospital, workers: usize) -> TestApp {
    spawn_app_on(hospital, workers, fresh_database()).await
}

/// The application started on `db` as it is (the recovery path).
pub async fn spawn_app_on(hospital: Hospital, workers: usize, db: TestDb) -> TestApp {
    let mut settings = Settings::new(hospital.clone(), db.url.clone());
    settings.workers = workers;
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("app failed to start: {e:#}"));
    let port = app.port;
    let engine = app.engine.clone();
    actix_web::rt::spawn(app.server);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        engine,
        hospital,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("client: {e}")),
        db,
    }
}

/// A registration body HIS would send.
pub fn registration(name: &str, department: &str) -> Value {
    json!({
        "patient": {"id": format!("P-{name}"), "name": name, "sex": "1", "birth_date": "1980-03-04"},
        "department_code": department,
        "visit_type": "first",
        "registered_at": "2026-11-25T08:01:00+08:00"
    })
}

impl TestApp {
    /// A second application rebuilt from this one's database, as after a
    /// restart (this one keeps running but is no longer used).
    pub async fn restarted(&self) -> TestApp {
        spawn_app_on(self.hospital.clone(), 2, self.db.clone()).await
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
            .header("X-Operator", "D-test")
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
            .db
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
            .db
            .read(store::dump)
            .await
            .unwrap_or_else(|e| panic!("dump: {e}"))
    }

    pub async fn ws(&self, screen: &str) -> Ws {
        let url = format!("ws://127.0.0.1:{}/ws/screens/{screen}", self.port);
        let (stream, _) = tokio_tungstenite::connect_async(url)
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
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within 5 s"))
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

    pub async fn close(mut self) -> Vec<String> {
        let _ = self.stream.close(None).await;
        self.seen
    }
}
