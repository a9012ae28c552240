//! `cargo bench --bench load` — Triage's speed, measured at the client.
//!
//! Starts the real (release) `triage` binary on a generated hospital of
//! ~5,000 screens (173 departments × 10 rooms; each department has 10 door
//! screens and 19 overview screens, so one call reaches 20 screens), on a
//! fresh SQLite file with `synchronous=FULL`, connects real WebSocket clients
//! and prints:
//! - P1  call latency (HTTP call sent → each screen's socket has the frame)
//! - P1b a hospital-wide notice to every screen
//! - P2  server memory per connected screen at 5,000 and 19,900 sockets
//! - P3  durable registrations per second beside the disk's fsync rate
//! - P4  every screen dropped at once (server killed and restarted): time
//!   until all have resynced to the true state
//! - P5  restart to ready with 1,000,000 history rows
//! - P6  200 staff pages (nurse consoles on `/ws/staff`) beside the screens:
//!   call → staff page latency, and P1 again with them connected
//!
//! The load generator runs on the same machine as the server (2 cores here):
//! every figure includes that competition.
//!
//! Options (after `--`): `--screens N` (5000), `--sockets N` (19900),
//! `--rate N` calls/s (20), `--seconds N` (60), `--history N` (1000000),
//! `--staff N` (200), `--only p1,p1b,p2,p3,p4,p5,p6`, `--settle N` seconds
//! to wait after the setup's registrations before measuring (0): the
//! server's WAL checkpoint of the setup then falls outside P1's minute
//! (see `docs/performance.md`, issue 27's P1 section).
//!
//! `TRIAGE_BENCH_SERVER=/path/to/triage` runs another build of the server
//! (an older commit's, for alternating runs) with this same client.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    screens: usize,
    sockets: usize,
    rate: u32,
    seconds: u64,
    history: u64,
    staff: usize,
    only: Vec<String>,
    settle: u64,
}

fn args() -> Args {
    let mut a = Args {
        screens: 5000,
        sockets: 19_900,
        rate: 20,
        seconds: 60,
        history: 1_000_000,
        staff: 200,
        only: vec![],
        settle: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_default();
        match k.as_str() {
            "--screens" => a.screens = v().parse().unwrap_or(a.screens),
            "--sockets" => a.sockets = v().parse().unwrap_or(a.sockets),
            "--rate" => a.rate = v().parse().unwrap_or(a.rate),
            "--seconds" => a.seconds = v().parse().unwrap_or(a.seconds),
            "--history" => a.history = v().parse().unwrap_or(a.history),
            "--staff" => a.staff = v().parse().unwrap_or(a.staff),
            "--only" => a.only = v().split(',').map(str::to_string).collect(),
            "--settle" => a.settle = v().parse().unwrap_or(a.settle),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

impl Args {
    fn wants(&self, p: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|x| x == p)
    }
}

const ROOMS_PER_DEPT: usize = 10;
const OVERVIEWS_PER_DEPT: usize = 19;

fn prefix(i: usize) -> String {
    let a = (b'A' + (i / 26) as u8) as char;
    let b = (b'A' + (i % 26) as u8) as char;
    format!("{a}{b}")
}

/// The generated hospital: (toml, room codes, department codes).
fn hospital(screens: usize) -> (String, Vec<String>, Vec<String>) {
    let per = ROOMS_PER_DEPT + OVERVIEWS_PER_DEPT;
    let depts = screens.div_ceil(per).min(26 * 26);
    // Staff sessions last the whole run (they are made before it starts).
    let mut t = String::from(
        "[hospital]\nname = \"bench\"\n[voice]\nrepeat = 1\n[security]\nsession_idle_seconds = 86400\n",
    );
    let mut rooms = Vec::new();
    let mut dcodes = Vec::new();
    for d in 0..depts {
        let dc = format!("D{d:03}");
        dcodes.push(dc.clone());
        t += &format!("[[departments]]\ncode = \"{dc}\"\nname = \"科室{d}\"\n");
        t += &format!("[[queues]]\ncode = \"{dc}\"\nname = \"队列{d}\"\ndepartment = \"{dc}\"\nprefix = \"{}\"\n", prefix(d));
        for r in 0..ROOMS_PER_DEPT {
            let rc = format!("{dc}-R{r:02}");
            t += &format!(
                "[[rooms]]\ncode = \"{rc}\"\nname = \"{d}科{r}诊室\"\ndepartment = \"{dc}\"\n"
            );
            t += &format!("[[screens]]\ncode = \"{rc}-DOOR\"\nname = \"门口屏\"\nkind = \"door\"\nrooms = [\"{rc}\"]\n");
            rooms.push(rc);
        }
        for o in 0..OVERVIEWS_PER_DEPT {
            t += &format!(
                "[[screens]]\ncode = \"{dc}-O{o:02}\"\nname = \"综合屏\"\nkind = \"overview\"\ndepartment = \"{dc}\"\nvoice = {}\n",
                o == 0
            );
        }
    }
    (t, rooms, dcodes)
}

fn screen_codes(depts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for dc in depts {
        for r in 0..ROOMS_PER_DEPT {
            out.push(format!("{dc}-R{r:02}-DOOR"));
        }
        for o in 0..OVERVIEWS_PER_DEPT {
            out.push(format!("{dc}-O{o:02}"));
        }
    }
    out
}

/// The instant the benchmark's hospital runs at: a Wednesday, 09:30 China
/// time, running on from the bench's start (a restarted server goes on
/// from where the last one was). The bench runs the same at 23:00 as at
/// 10:00, and on any date: the host's clock is never read.
fn bench_now() -> chrono::DateTime<chrono::Utc> {
    use triage_ground::time::Clock as _;
    static CLOCK: std::sync::LazyLock<triage_ground::time::AnchoredClock> =
        std::sync::LazyLock::new(|| {
            let at = chrono::DateTime::parse_from_rfc3339("2026-12-09T09:30:00+08:00")
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_default();
            triage_ground::time::AnchoredClock::starting_at(at)
        });
    CLOCK.now()
}

/// The server binary: this build's, or the one `TRIAGE_BENCH_SERVER`
/// names (an older build, measured with the same client).
fn server_binary() -> std::ffi::OsString {
    std::env::var_os("TRIAGE_BENCH_SERVER").unwrap_or_else(|| env!("CARGO_BIN_EXE_triage").into())
}

struct Server {
    child: Child,
    port: u16,
    config: String,
    db: String,
}

impl Server {
    fn start(config: &str, db: &str, port: u16) -> Server {
        let child = Command::new(server_binary())
            .args([
                "serve",
                "--config",
                config,
                "--database-url",
                &format!("sqlite://{db}"),
            ])
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "2",
                "--synchronous",
                "full",
            ])
            .env("TRIAGE_LOG", "error")
            .env(
                triage_ground::time::CLOCK_VARIABLE,
                bench_now().to_rfc3339(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start triage: {e}"));
        Server {
            child,
            port,
            config: config.into(),
            db: db.into(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        *self = Server::start(&self.config.clone(), &self.db.clone(), self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str) -> Duration {
    let t0 = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return t0.elapsed();
            }
        }
        if t0.elapsed() > Duration::from_secs(120) {
            panic!("server never became ready");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What the bench logs in with: the HIS key, every screen's token, and the
/// staff pages' session cookies with the department each nurse works in.
struct Access {
    key: String,
    tokens: HashMap<String, String>,
    staff: Vec<(String, String)>,
    /// The bench's administrator's session: only an administrator may
    /// address every screen with a notice.
    admin: String,
}

/// The bench's credentials, made as an administrator would before the
/// server starts: the triage desk's nurse, a HIS client with every scope, a
/// token per screen (in one transaction) and `staff` nurses with sessions.
fn provision(toml: &str, db: &str, codes: &[String], depts: &[String], staff: usize) -> Access {
    use triage::auth::accounts::{self, NewAccount, NewClient};
    use triage::auth::policy::{Role, Scope};
    let hospital = triage::config::Hospital::parse(toml, "bench-hospital.toml")
        .unwrap_or_else(|e| panic!("bench hospital: {e:?}"));
    let mut c =
        triage::db::connect_one(&format!("sqlite://{db}")).unwrap_or_else(|e| panic!("{e}"));
    let stamp = triage::db::accounts::Stamp {
        operator: "bench".into(),
        source: "bench".into(),
        at: bench_now().naive_utc(),
    };
    accounts::add_user(
        &mut c,
        &hospital,
        // The triage desk's nurse, working every department: the HIS
        // workstation client calls every room acting for her (a HIS key
        // never acts for an administrator).
        NewAccount {
            code: "bench-desk".into(),
            name: "bench".into(),
            role: Role::Nurse,
            scope: depts.to_vec(),
            password: None,
            totp: false,
            must_change: false,
        },
        &stamp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let key = accounts::add_client(
        &mut c,
        &hospital.security,
        NewClient {
            name: "bench-his".into(),
            scopes: Scope::ALL.to_vec(),
            require_signature: false,
            rate_per_minute: 1_000_000,
        },
        &stamp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tokens = c
        .transaction::<_, triage::db::DbError, _>(|c| {
            codes
                .iter()
                .map(|code| {
                    let token = triage_ground::secret::random(32);
                    let digest = triage_ground::secret::sha256_hex(token.as_bytes());
                    triage::db::accounts::issue_screen_token(c, code, &digest, &stamp)
                        .map(|()| (code.clone(), token))
                })
                .collect()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // Nurses, one department each, and the bench's administrator, each with
    // a live session (made here as a login would: 200 logins from one
    // address would meet the login rate limit, which is not what is
    // measured).
    let session = |c: &mut triage::db::AnyConnection, code: &str| {
        let id = triage_ground::secret::random(32);
        triage::db::accounts::insert_session(
            c,
            &triage::db::accounts::SessionRow {
                id_hash: triage_ground::secret::sha256_hex(id.as_bytes()),
                staff_code: code.to_string(),
                source: "bench".into(),
                created_at: stamp.at,
                last_seen_at: stamp.at,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        id
    };
    accounts::add_user(
        &mut c,
        &hospital,
        NewAccount {
            code: "bench-admin".into(),
            name: "bench".into(),
            role: Role::Admin,
            scope: vec![],
            password: None,
            totp: false,
            must_change: false,
        },
        &stamp,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let admin = session(&mut c, "bench-admin");
    let mut sessions = Vec::new();
    for i in 0..staff {
        let dept = depts[i % depts.len()].clone();
        let code = format!("bench-nurse-{i}");
        accounts::add_user(
            &mut c,
            &hospital,
            NewAccount {
                code: code.clone(),
                name: "bench".into(),
                role: Role::Nurse,
                scope: vec![dept.clone()],
                password: None,
                totp: false,
                must_change: false,
            },
            &stamp,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        sessions.push((dept, session(&mut c, &code)));
    }
    Access {
        key,
        tokens,
        staff: sessions,
        admin,
    }
}

/// What every client task shares.
#[derive(Default)]
struct Shared {
    /// room → when its call was sent.
    pending: DashMap<String, Instant>,
    call_lat_us: Mutex<Vec<u64>>,
    call_frames: AtomicU64,
    notice_t0: Mutex<Option<Instant>>,
    notice_lat_us: Mutex<Vec<u64>>,
    /// Bumped when all screens are dropped; a client's snapshot after that
    /// counts as a resync.
    generation: AtomicU64,
    resynced: AtomicUsize,
    last_resync: Mutex<Option<Instant>>,
    /// screen index → (room → current ticket) from the last snapshot.
    snapshots: DashMap<usize, BTreeMap<String, Option<String>>>,
    /// Call → staff page latencies, and the room frames staff pages got.
    staff_lat_us: Mutex<Vec<u64>>,
    staff_frames: AtomicU64,
    stop: AtomicBool,
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096)
}

fn snapshot_rooms(v: &Value) -> BTreeMap<String, Option<String>> {
    v["rooms"]
        .as_array()
        .map(|rooms| {
            rooms
                .iter()
                .map(|r| {
                    (
                        r["code"].as_str().unwrap_or_default().to_string(),
                        r["current"]["ticket_no"].as_str().map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One screen: connects, keeps reading, reconnects with jittered backoff.
async fn screen_client(
    idx: usize,
    url: String,
    token: String,
    shared: Arc<Shared>,
    reconnect: bool,
    connected: Arc<AtomicUsize>,
) {
    let mut attempt = 0u32;
    let mut first = true;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let conn =
            tokio_tungstenite::connect_async_with_config(url.as_str(), Some(ws_config()), true)
                .await;
        let Ok((mut ws, _)) = conn else {
            if !reconnect {
                return;
            }
            attempt += 1;
            let base = (50u64 << attempt.min(5)).min(1000);
            let jitter = base / 2 + (rand_u64() % base.max(1));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
            continue;
        };
        attempt = 0;
        // A screen is a registered device: its token first.
        let hello = json!({"type": "hello", "token": token}).to_string();
        if futures_util::SinkExt::send(&mut ws, Message::Text(hello.into()))
            .await
            .is_err()
        {
            continue;
        }
        let generation = shared.generation.load(Ordering::SeqCst);
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            let text = t.as_str();
            let now = Instant::now();
            if text.starts_with("{\"") && text.contains("\"type\":\"snapshot\"") {
                let v: Value = serde_json::from_str(text).unwrap_or_default();
                shared.snapshots.insert(idx, snapshot_rooms(&v));
                if first {
                    connected.fetch_add(1, Ordering::SeqCst);
                    first = false;
                } else if generation > 0 {
                    shared.resynced.fetch_add(1, Ordering::SeqCst);
                    *shared.last_resync.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
                }
            } else if text.contains("\"type\":\"call\"") {
                let v: Value = serde_json::from_str(text).unwrap_or_default();
                if let Some(room) = v["call"]["room_code"].as_str() {
                    if let Some(sent) = shared.pending.get(room) {
                        shared
                            .call_lat_us
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(now.duration_since(*sent).as_micros() as u64);
                        shared.call_frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            } else if text.contains("\"type\":\"notice\"") {
                if let Some(t0) = *shared.notice_t0.lock().unwrap_or_else(|e| e.into_inner()) {
                    shared
                        .notice_lat_us
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(now.duration_since(t0).as_micros() as u64);
                }
            }
        }
        if !reconnect {
            return;
        }
        // Dropped: come back after a jittered pause (as the display client does).
        let jitter = 100 + rand_u64() % 900;
        tokio::time::sleep(Duration::from_millis(jitter)).await;
    }
}

/// One staff page (a nurse console): the session cookie admits it; every
/// `room` frame of a room with a call on its way is timed.
async fn staff_client(
    url: String,
    cookie: String,
    shared: Arc<Shared>,
    connected: Arc<AtomicUsize>,
) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let Ok(mut req) = url.as_str().into_client_request() else {
        return;
    };
    let Ok(value) = format!("triage_session={cookie}").parse() else {
        return;
    };
    req.headers_mut().insert("cookie", value);
    let Ok((mut ws, _)) =
        tokio_tungstenite::connect_async_with_config(req, Some(ws_config()), true).await
    else {
        return;
    };
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(t) = msg else { continue };
        let text = t.as_str();
        let now = Instant::now();
        if text.contains("\"type\":\"snapshot\"") {
            connected.fetch_add(1, Ordering::SeqCst);
        } else if text.contains("\"type\":\"room\"") {
            let v: Value = serde_json::from_str(text).unwrap_or_default();
            if let Some(room) = v["room"]["code"].as_str() {
                if let Some(sent) = shared.pending.get(room) {
                    shared
                        .staff_lat_us
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(now.duration_since(*sent).as_micros() as u64);
                    shared.staff_frames.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// The calls of P1 (and P6): `rate` calls a second for `seconds`, round the
/// rooms; answers (sent, failed, screen latencies sorted, screen frames).
async fn calling(
    http: &reqwest::Client,
    base: &str,
    rooms: &[String],
    a: &Args,
    shared: &Arc<Shared>,
) -> (usize, usize, Vec<u64>, usize) {
    shared
        .call_lat_us
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    shared.call_frames.store(0, Ordering::SeqCst);
    shared
        .staff_lat_us
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    shared.staff_frames.store(0, Ordering::SeqCst);
    let interval = Duration::from_secs_f64(1.0 / a.rate as f64);
    let mut tick = tokio::time::interval(interval);
    let t0 = Instant::now();
    let mut sent = 0usize;
    let failed = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    while t0.elapsed() < Duration::from_secs(a.seconds) {
        tick.tick().await;
        let room = rooms[sent % rooms.len()].clone();
        shared.pending.insert(room.clone(), Instant::now());
        let (http, base, failed) = (http.clone(), base.to_string(), failed.clone());
        handles.push(tokio::spawn(async move {
            let ok = matches!(http.post(format!("{base}/api/v1/rooms/{room}/call-next")).send().await, Ok(r) if r.status() == 200);
            if !ok {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }));
        sent += 1;
    }
    for h in handles {
        let _ = h.await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut lat = shared
        .call_lat_us
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    lat.sort_unstable();
    let got = shared.call_frames.load(Ordering::Relaxed) as usize;
    (sent, failed.load(Ordering::Relaxed), lat, got)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Instant::now().elapsed().as_nanos() as u64);
    h.finish()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn fsync_rate(dir: &std::path::Path) -> f64 {
    let path = dir.join("fsync-probe");
    let Ok(mut f) = std::fs::File::create(&path) else {
        return 0.0;
    };
    let buf = [7u8; 4096];
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs(3) {
        let _ = f.write_all(&buf);
        let _ = f.sync_data();
        n += 1;
    }
    let _ = std::fs::remove_file(&path);
    n as f64 / t0.elapsed().as_secs_f64()
}

/// The writer's (writes, commits) counters from `/metrics`.
async fn writer_counts(http: &reqwest::Client, base: &str) -> (u64, u64) {
    let text = match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let get = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (
        get("triage_db_writes_total "),
        get("triage_db_commits_total "),
    )
}

async fn register(
    http: &reqwest::Client,
    base: &str,
    visit: &str,
    dept: &str,
    check_in: bool,
) -> bool {
    let body = json!({
        "patient": {"id": format!("P{visit}"), "name": "测试患者", "sex": "1", "birth_date": "1980-01-01"},
        "department_code": dept, "visit_type": "first",
        "registered_at": bench_now().to_rfc3339(), "checked_in": check_in
    });
    // The answer is read to its end, as a HIS client does: the connection
    // then goes back to the client's pool and the next request reuses it.
    match http
        .put(format!("{base}/api/v1/registrations/{visit}"))
        .json(&body)
        .send()
        .await
    {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(run(a));
}

async fn run(a: Args) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (toml, rooms, depts) = hospital(a.screens);
    // The server key lives beside the run's database, outside the tree.
    let toml = toml.replacen(
        "[security]\n",
        &format!(
            "[security]\nserver_key_file = \"{}\"\n",
            dir.path().join("server.key").display()
        ),
        1,
    );
    let config = dir.path().join("bench-hospital.toml");
    std::fs::write(&config, &toml).unwrap_or_else(|e| panic!("{e}"));
    let codes = screen_codes(&depts);
    let db = dir.path().join("bench.sqlite");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18080);
    // Authentication is on, as in a hospital: HIS registers with its API
    // key; calls go through a HIS workstation client acting for the triage
    // desk's nurse; every screen has its device token.
    let access = provision(
        &toml,
        &db.display().to_string(),
        &codes,
        &depts,
        if a.wants("p6") { a.staff } else { 0 },
    );
    let (key, tokens) = (access.key.clone(), access.tokens.clone());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    headers.insert(
        "x-acting-staff",
        "bench-desk".parse().unwrap_or_else(|e| panic!("{e}")),
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .default_headers(headers)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut server = Server::start(
        &config.display().to_string(),
        &db.display().to_string(),
        port,
    );
    let base = server.base();
    wait_ready(&http, &base).await;
    println!("Triage load benchmark — {} screens, {} rooms, {} departments; machine: {} cores (shared by server and load generator)",
        codes.len(), rooms.len(), depts.len(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0));
    let mut results: Vec<(String, String, String)> = Vec::new();

    // Patients for the calls: ~calls/departments + 2 per department.
    let rounds = 1 + u64::from(a.wants("p1") && a.wants("p6"));
    let calls = (a.rate as u64 * a.seconds * rounds) as usize;
    let per_dept = calls.div_ceil(depts.len()) + ROOMS_PER_DEPT;
    let t0 = Instant::now();
    let mut jobs = futures_util::stream::iter((0..depts.len() * per_dept).map(|i| {
        let http = http.clone();
        let base = base.clone();
        let dept = depts[i % depts.len()].clone();
        async move { register(&http, &base, &format!("W{i:06}"), &dept, true).await }
    }))
    .buffer_unordered(64);
    let mut ok = 0;
    while let Some(r) = jobs.next().await {
        ok += usize::from(r);
    }
    println!(
        "setup: {ok} patients registered and checked in ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );
    if a.settle > 0 {
        tokio::time::sleep(Duration::from_secs(a.settle)).await;
        println!("settled {} s before measuring", a.settle);
    }

    // Connect one socket per screen.
    let shared = Arc::new(Shared::default());
    let connected = Arc::new(AtomicUsize::new(0));
    let rss0 = server.rss_kib();
    let t0 = Instant::now();
    for (i, code) in codes.iter().enumerate() {
        let url = format!("ws://127.0.0.1:{port}/ws/screens/{code}");
        tokio::spawn(screen_client(
            i,
            url,
            tokens.get(code).cloned().unwrap_or_default(),
            shared.clone(),
            true,
            connected.clone(),
        ));
        if i % 200 == 199 {
            while connected.load(Ordering::SeqCst) < i / 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    while connected.load(Ordering::SeqCst) < codes.len() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if t0.elapsed() > Duration::from_secs(120) {
            panic!(
                "only {} screens connected",
                connected.load(Ordering::SeqCst)
            );
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_n = server.rss_kib();
    println!(
        "setup: {} screens connected ({:.1} s)",
        codes.len(),
        t0.elapsed().as_secs_f64()
    );

    if a.wants("p1") {
        let (sent, failed, lat, got) = calling(&http, &base, &rooms, &a, &shared).await;
        let expected = (sent - failed) * (OVERVIEWS_PER_DEPT + 1);
        results.push((
            "P1 call → screen latency".into(),
            format!(
                "{} calls in {} s ({} /s), {} frames: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; lost {} ({} calls failed)",
                sent, a.seconds, a.rate, got, pct(&lat, 0.5), pct(&lat, 0.99), pct(&lat, 0.999), pct(&lat, 1.0),
                expected.saturating_sub(got), failed
            ),
            "p99 ≤ 15 ms, nothing lost".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
    }

    if a.wants("p6") {
        // The staff pages connect, then the calls of P1 run again.
        let staff_connected = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        let mut pages = Vec::new();
        for (_, cookie) in &access.staff {
            pages.push(tokio::spawn(staff_client(
                format!("ws://127.0.0.1:{port}/ws/staff"),
                cookie.clone(),
                shared.clone(),
                staff_connected.clone(),
            )));
        }
        while staff_connected.load(Ordering::SeqCst) < access.staff.len() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if t0.elapsed() > Duration::from_secs(60) {
                panic!(
                    "only {} staff pages connected",
                    staff_connected.load(Ordering::SeqCst)
                );
            }
        }
        println!(
            "setup: {} staff pages connected ({:.1} s)",
            access.staff.len(),
            t0.elapsed().as_secs_f64()
        );
        let (sent, failed, lat, got) = calling(&http, &base, &rooms, &a, &shared).await;
        let mut staff_lat = shared
            .staff_lat_us
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        staff_lat.sort_unstable();
        // Each call reaches the pages of the nurses of its department.
        let mut per_dept: HashMap<&str, usize> = HashMap::new();
        for (d, _) in &access.staff {
            *per_dept.entry(d.as_str()).or_default() += 1;
        }
        let watchers: usize = (0..sent)
            .map(|i| {
                let room = &rooms[i % rooms.len()];
                let dept = room.split('-').next().unwrap_or_default();
                per_dept.get(dept).copied().unwrap_or(0)
            })
            .sum();
        let staff_got = shared.staff_frames.load(Ordering::Relaxed) as usize;
        let expected = (sent - failed) * (OVERVIEWS_PER_DEPT + 1);
        results.push((
            "P6 staff pages beside the screens".into(),
            format!(
                "{} staff pages: call → staff page p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} room frames, {} expected); screens meanwhile: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, lost {} ({} calls failed)",
                access.staff.len(), pct(&staff_lat, 0.5), pct(&staff_lat, 0.99), pct(&staff_lat, 1.0),
                staff_got, watchers.saturating_sub(failed),
                pct(&lat, 0.5), pct(&lat, 0.99), pct(&lat, 0.999), expected.saturating_sub(got), failed
            ),
            "staff p99 ≤ 50 ms; screens' P1 within 10 % of P1 without staff pages".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
        // The staff pages close: P2's 19,900 screen sockets then fit in
        // the 20,000 open files a process may have here.
        for page in pages {
            page.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    if a.wants("p1b") {
        let mut all = Vec::new();
        for round in 0..5 {
            shared
                .notice_lat_us
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            *shared.notice_t0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            // The administrator's page publishes it: her session cookie
            // and the CSRF token her page carries, not the HIS key.
            let r = reqwest::Client::new()
                .post(format!("{base}/api/v1/notices"))
                .header(
                    "cookie",
                    format!("{}={}", triage::auth::SESSION_COOKIE, access.admin),
                )
                .header(
                    triage::auth::CSRF_HEADER,
                    triage::auth::csrf_token(&access.admin),
                )
                .json(&json!({"text": format!("全院通知 {round}")}))
                .send()
                .await;
            assert!(
                matches!(r, Ok(ref r) if r.status() == 201),
                "notice refused"
            );
            let t0 = Instant::now();
            while shared
                .notice_lat_us
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len()
                < codes.len()
                && t0.elapsed() < Duration::from_secs(10)
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let lat = shared
                .notice_lat_us
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            all.push(lat);
        }
        let last: Vec<f64> = all
            .iter()
            .map(|l| l.iter().max().copied().unwrap_or(0) as f64 / 1000.0)
            .collect();
        let mut flat: Vec<u64> = all.iter().flatten().copied().collect();
        flat.sort_unstable();
        let reached: Vec<usize> = all.iter().map(Vec::len).collect();
        results.push((
            "P1b notice to every screen".into(),
            format!(
                "5 notices × {} screens: last screen after {} ms; per-screen p50 {:.1} ms, p99 {:.1} ms; reached {:?}",
                codes.len(),
                last.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" / "),
                pct(&flat, 0.5),
                pct(&flat, 0.99),
                reached
            ),
            "p99 ≤ 100 ms".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
    }

    if a.wants("p2") {
        let per_n = (rss_n.saturating_sub(rss0)) as f64 / codes.len() as f64;
        let extra_connected = Arc::new(AtomicUsize::new(0));
        let extra_shared = Arc::new(Shared::default());
        let extra = a.sockets.saturating_sub(codes.len());
        let mut handles = Vec::new();
        let t0 = Instant::now();
        for i in 0..extra {
            let code = &codes[i % codes.len()];
            let url = format!("ws://127.0.0.1:{port}/ws/screens/{code}");
            handles.push(tokio::spawn(screen_client(
                i,
                url,
                tokens.get(code).cloned().unwrap_or_default(),
                extra_shared.clone(),
                false,
                extra_connected.clone(),
            )));
            if i % 200 == 199 {
                while extra_connected.load(Ordering::SeqCst) < i / 2 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        while extra_connected.load(Ordering::SeqCst) < extra
            && t0.elapsed() < Duration::from_secs(180)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let total = codes.len() + extra_connected.load(Ordering::SeqCst);
        let rss_all = server.rss_kib();
        let per_all = (rss_all.saturating_sub(rss0)) as f64 / total as f64;
        results.push((
            "P2 server memory per screen".into(),
            format!(
                "RSS {} MiB idle → {} MiB with {} sockets ({per_n:.1} KiB each) → {} MiB with {} sockets ({per_all:.1} KiB each)",
                rss0 / 1024, rss_n / 1024, codes.len(), rss_all / 1024, total
            ),
            "≤ 15 KiB each".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
        for h in handles {
            h.abort();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    if a.wants("p4") {
        shared.generation.fetch_add(1, Ordering::SeqCst);
        shared.resynced.store(0, Ordering::SeqCst);
        let dropped = Instant::now();
        server.restart();
        let ready_after = wait_ready(&http, &base).await;
        let ready_at = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(60);
        while shared.resynced.load(Ordering::SeqCst) < codes.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let done = *shared.last_resync.lock().unwrap_or_else(|e| e.into_inner());
        let n = shared.resynced.load(Ordering::SeqCst);
        // Compare every screen's snapshot with the true state of its rooms.
        let truth: Value = http
            .get(format!("{base}/api/v1/rooms"))
            .send()
            .await
            .ok()
            .map(|r| r.json())
            .unwrap_or_else(|| panic!("no rooms"))
            .await
            .unwrap_or_default();
        let truth: HashMap<String, Option<String>> = truth["rooms"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r["code"].as_str().unwrap_or_default().to_string(),
                    r["current_ticket_no"].as_str().map(str::to_string),
                )
            })
            .collect();
        let mismatched = shared
            .snapshots
            .iter()
            .filter(|s| {
                s.value()
                    .iter()
                    .any(|(room, cur)| truth.get(room) != Some(cur))
            })
            .count();
        let from_drop = done
            .map(|d| d.duration_since(dropped).as_secs_f64())
            .unwrap_or(f64::NAN);
        let from_ready = done
            .map(|d| d.saturating_duration_since(ready_at).as_secs_f64())
            .unwrap_or(f64::NAN);
        results.push((
            "P4 all screens dropped, resync".into(),
            format!(
                "{n}/{} resynced: {from_ready:.2} s after the restarted server was ready ({:.2} s restart; {from_drop:.2} s from the drop); snapshots not matching the true state: {mismatched}",
                codes.len(), ready_after.as_secs_f64()
            ),
            "5,000 within 5 s".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
    }
    shared.stop.store(true, Ordering::SeqCst);

    if a.wants("p3") {
        let fsync = fsync_rate(dir.path());
        let (w0, c0) = writer_counts(&http, &base).await;
        let acked = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let secs = 10;
        let mut workers = Vec::new();
        for w in 0..64 {
            let (http, base, acked, depts) =
                (http.clone(), base.clone(), acked.clone(), depts.clone());
            workers.push(tokio::spawn(async move {
                let mut i = 0;
                while t0.elapsed() < Duration::from_secs(secs) {
                    let visit = format!("R{w:02}{i:06}");
                    if register(&http, &base, &visit, &depts[i % depts.len()], false).await {
                        acked.lock().unwrap_or_else(|e| e.into_inner()).push(visit);
                    }
                    i += 1;
                }
            }));
        }
        for w in workers {
            let _ = w.await;
        }
        let elapsed = t0.elapsed().as_secs_f64();
        let acked = acked.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let rate = acked.len() as f64 / elapsed;
        let (w1, c1) = writer_counts(&http, &base).await;
        let (writes, commits) = (w1 - w0, (c1 - c0).max(1));
        // Kill the server at once and count what is on disk.
        server.kill();
        let mut c =
            diesel::SqliteConnection::establish(&server.db).unwrap_or_else(|e| panic!("{e}"));
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::Text)]
            visit_no: String,
        }
        let on_disk: std::collections::HashSet<String> =
            diesel::sql_query("SELECT visit_no FROM visits WHERE visit_no LIKE 'R%'")
                .load::<V>(&mut c)
                .unwrap_or_default()
                .into_iter()
                .map(|v| v.visit_no)
                .collect();
        let missing = acked.iter().filter(|v| !on_disk.contains(*v)).count();
        results.push((
            "P3 durable registrations".into(),
            format!(
                "{rate:.0} registrations/s acknowledged (64 concurrent clients, {elapsed:.1} s, synchronous=FULL); disk fsync rate {fsync:.0}/s → {:.1}×; {writes} writes in {commits} commits ({:.1} per commit, {:.0} commits/s); after SIGKILL {missing} of {} acknowledged missing",
                rate / fsync.max(1.0),
                writes as f64 / commits as f64,
                commits as f64 / elapsed,
                acked.len()
            ),
            "≥ 2× the fsync rate, none missing".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
        server.restart();
        wait_ready(&http, &base).await;
    }

    if a.wants("p5") {
        server.kill();
        let t0 = Instant::now();
        let mut c =
            diesel::SqliteConnection::establish(&server.db).unwrap_or_else(|e| panic!("{e}"));
        let visits = a.history / 4;
        let events = a.history - visits;
        c.batch_execute(&format!(
            "PRAGMA synchronous = NORMAL;
             BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {visits})
             INSERT INTO visits (visit_no, patient_id, patient_name, sex, department_code, visit_type, registered_at,
                                 special, exam_items, body, status, queue_code, ticket_no, service_date, seq, queue_mark,
                                 entry_kind, tags, checked_in_at, called_at, room_code, call_count, finished_at, performer,
                                 created_at, updated_at)
             SELECT 'H' || i, 'P' || i, '历史患者', '1', 'D000', 'first', '2026-01-01 08:00:00', '[]', '[]', '{{}}', 'finished',
                    'D000', 'AA' || i, '2026-01-' || printf('%02d', 1 + i % 28), i, 0, 'normal', '[]', '2026-01-01 08:00:00',
                    '2026-01-01 08:10:00', 'D000-R00', 1, '2026-01-01 08:20:00', 'doc', '2026-01-01 08:00:00', '2026-01-01 08:20:00'
             FROM n;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {events})
             INSERT INTO events (at, kind, operator, source, visit_no, room_code, queue_code, detail)
             SELECT '2026-01-01 08:00:00', 'called', 'doc', 'bench', 'H' || (1 + i % {visits}), 'D000-R00', 'D000', '{{}}' FROM n;
             COMMIT;"
        ))
        .unwrap_or_else(|e| panic!("history: {e}"));
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: i64 = diesel::sql_query(
            "SELECT (SELECT COUNT(*) FROM visits) + (SELECT COUNT(*) FROM events) AS n",
        )
        .get_result::<N>(&mut c)
        .map(|x| x.n)
        .unwrap_or(0);
        drop(c);
        println!(
            "P5 setup: {rows} rows in the database ({:.1} s)",
            t0.elapsed().as_secs_f64()
        );
        let mut times = Vec::new();
        for _ in 0..3 {
            server.restart();
            times.push(wait_ready(&http, &base).await.as_secs_f64());
        }
        results.push((
            "P5 restart to ready".into(),
            format!(
                "{rows} history rows: ready after {} s (3 restarts, process start to /readyz 200)",
                times
                    .iter()
                    .map(|t| format!("{t:.2}"))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
            "≤ 2 s".into(),
        ));
        println!(
            "{}: {}",
            results.last().map(|r| r.0.as_str()).unwrap_or(""),
            results.last().map(|r| r.1.as_str()).unwrap_or("")
        );
    }

    println!("\n| benchmark | measured (server and load generator share this machine) | goal |\n| --- | --- | --- |");
    for (name, fig, goal) in &results {
        println!("| {name} | {fig} | {goal} |");
    }
}
