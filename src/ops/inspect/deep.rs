//! What the holiday deep inspection (节前深度巡检) does beyond the quarterly
//! report, before days when fewer people are on call: the newest backup
//! restored in full and checked, a maintenance run now, the built-in load
//! self-test (a short P1-style run on a scratch copy: calls, and the time
//! until each screen showing the room has the frame), and every screen and
//! kiosk looked at. Each part says what it did; none touches what patients
//! see (the self-test's engine runs on its own copy, with no socket).

use crate::db::links::PatientLinks;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::model::{Deep, Device, Done, ScreenHistory, SelfTest};
use crate::backups;
use crate::config::Hospital;
use crate::db::{Db, DbSettings, Spawner, StopFlag, Synchronous};
use crate::engine::{Acting, Engine};
use triage_actors::screen::{Connect, Frame};

/// Rooms the self-test calls in (the first ones of the configuration).
const SELF_TEST_ROOMS: usize = 10;
/// Calls per room.
const SELF_TEST_CALLS: usize = 5;
/// How long a call's frames are waited for.
const FRAME_WAIT: Duration = Duration::from_secs(2);
/// Runs the deep part on the database at `url` (`server_running`: a server
/// serves on it, as maintenance must know).
pub fn run(
    url: &str,
    hospital: &Hospital,
    now: DateTime<Utc>,
    server_running: bool,
    screens: &[ScreenHistory],
    kiosks_seen: &BTreeMap<String, NaiveDateTime>,
) -> Deep {
    let newest = backups::list(&hospital.backup.dir)
        .ok()
        .and_then(|mut k| k.pop());
    let restore = timed(|| match &newest {
        None => (
            false,
            format!("{} 中没有备份可恢复", hospital.backup.dir.display()),
        ),
        Some(k) => {
            let scratch = url.starts_with("postgres").then_some(url);
            match backups::verify(&k.file, scratch, now) {
                Ok(r) if r.ok() => (
                    true,
                    format!(
                        "{} 完整恢复到临时位置并核对：{} 项检查全部通过",
                        k.file.display(),
                        r.checks.len()
                    ),
                ),
                Ok(r) => (
                    false,
                    r.checks
                        .iter()
                        .filter(|c| !c.ok)
                        .map(|c| format!("{}：{}", c.what, c.detail))
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                Err(e) => (false, e.to_string()),
            }
        }
    });
    let maintenance =
        timed(
            || match crate::ops::maintain::run(url, hospital, now, server_running) {
                Ok(m) => (
                    m.ok(),
                    format!(
                        "{}；报告 {}",
                        m.steps
                            .iter()
                            .map(|s| format!(
                                "{} {}",
                                s.what,
                                match s.ok {
                                    Some(true) => "通过",
                                    Some(false) => "未通过",
                                    None => "未执行",
                                }
                            ))
                            .collect::<Vec<_>>()
                            .join("，"),
                        m.report.display()
                    ),
                ),
                Err(e) => (false, e.to_string()),
            },
        );
    let self_test = self_test(url, hospital, newest.as_ref().map(|k| k.file.as_path()));
    Deep {
        restore,
        maintenance,
        self_test,
        devices: devices(hospital, now, screens, kiosks_seen),
    }
}

fn timed(f: impl FnOnce() -> (bool, String)) -> Done {
    let t = Instant::now();
    let (ok, detail) = f();
    Done {
        ok,
        detail,
        seconds: t.elapsed().as_secs_f64(),
    }
}

/// Every screen in service and every kiosk, with its last contact: heard
/// from within the alert's offline limit (at least 5 minutes: contacts are
/// kept once a minute) or not.
fn devices(
    hospital: &Hospital,
    now: DateTime<Utc>,
    screens: &[ScreenHistory],
    kiosks_seen: &BTreeMap<String, NaiveDateTime>,
) -> Vec<Device> {
    let limit = chrono::Duration::seconds(
        i64::try_from(hospital.alerts.screen_offline_seconds.max(300)).unwrap_or(i64::MAX),
    );
    let fresh = |t: Option<NaiveDateTime>| t.is_some_and(|t| now.naive_utc() - t <= limit);
    let mut out: Vec<Device> = screens
        .iter()
        .map(|s| Device {
            kind: "屏幕",
            code: s.code.clone(),
            name: s.name.clone(),
            last_seen: s.last_seen,
            ok: fresh(s.last_seen),
        })
        .collect();
    out.extend(hospital.kiosks.iter().map(|k| {
        let seen = kiosks_seen.get(&k.code).copied();
        Device {
            kind: "自助机",
            code: k.code.clone(),
            name: k.name.clone(),
            last_seen: seen,
            ok: fresh(seen),
        }
    }));
    out
}

/// Threads of the self-test's own database, stopped and joined when it
/// ends (not the server's: its engine lives only for the test).
#[derive(Default)]
struct OwnThreads {
    stop: StopFlag,
    handles: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Spawner for OwnThreads {
    fn thread(&self, name: &'static str, work: Box<dyn FnOnce(StopFlag) + Send + 'static>) {
        let stop = self.stop.clone();
        if let Ok(h) = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(stop))
        {
            if let Ok(mut hs) = self.handles.lock() {
                hs.push(h);
            }
        }
    }
}

impl OwnThreads {
    fn finish(&self) {
        self.stop.set();
        let handles = self
            .handles
            .lock()
            .map(|mut h| std::mem::take(&mut *h))
            .unwrap_or_default();
        for h in handles {
            let _ = h.join();
        }
    }
}

/// The built-in load self-test: on a scratch copy of `newest` (or a new
/// scratch SQLite database when there is no backup), an engine as the
/// server's, a listener on every screen, patients checked in to the first
/// rooms and called one at a time; each call timed until every screen
/// showing its room has a frame naming the ticket. On its own thread: the
/// server's scheduled run comes from a blocking task of its runtime.
fn self_test(
    url: &str,
    hospital: &Hospital,
    newest: Option<&std::path::Path>,
) -> Result<SelfTest, String> {
    let (copy, on) = match newest {
        Some(f) => (
            backups::scratch_copy(f, url).map_err(|e| e.to_string())?,
            "最新备份的临时副本",
        ),
        None => (
            backups::ScratchCopy::empty_sqlite().map_err(|e| e.to_string())?,
            "新建的临时 SQLite 数据库（没有备份）",
        ),
    };
    let hospital = Arc::new(hospital.clone());
    let scratch = copy.url.clone();
    let out = std::thread::scope(|s| {
        s.spawn(move || {
            let threads = OwnThreads::default();
            let out = actix::System::new().block_on(calls_on(&scratch, hospital, &threads));
            threads.finish();
            out
        })
        .join()
        .unwrap_or_else(|_| Err("自检线程意外退出".into()))
    });
    drop(copy);
    out.map(|mut t| {
        t.on = on.to_string();
        t
    })
}

/// Frames each screen got: (screen, when, text).
type Log = Arc<Mutex<Vec<(String, Instant, Arc<str>)>>>;

/// Listens on one screen as a display would (no socket).
struct Listener {
    screen: String,
    log: Log,
}

impl Actor for Listener {
    type Context = Context<Self>;
}

impl Handler<Frame> for Listener {
    type Result = ();

    fn handle(&mut self, msg: Frame, _ctx: &mut Self::Context) {
        let text = match msg {
            Frame::Text(t) | Frame::Last(t) | Frame::Refused(t) => t,
        };
        if let Ok(mut l) = self.log.lock() {
            l.push((self.screen.clone(), Instant::now(), text));
        }
    }
}

async fn calls_on(
    url: &str,
    hospital: Arc<Hospital>,
    threads: &OwnThreads,
) -> Result<SelfTest, String> {
    let settings = DbSettings {
        url: url.to_string(),
        synchronous: Synchronous::Full,
        pool_size: 2,
    };
    let db = Db::connect(&settings, threads).map_err(|e| e.to_string())?;
    let clock = triage_ground::time::program_clock()?;
    let engine = Engine::start(
        hospital.clone(),
        db.clone(),
        clock,
        PatientLinks::ephemeral(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let log: Log = Arc::default();
    let mut session = u64::MAX;
    for entry in engine.directory().screens.iter() {
        let listener = Listener {
            screen: entry.key().to_string(),
            log: log.clone(),
        }
        .start();
        session -= 1;
        let _ = entry
            .value()
            .send(Connect {
                session_id: session,
                recipient: listener.recipient(),
            })
            .await;
    }
    let screens = engine.screens();
    let who = || Acting::new("self-test", "节前深度巡检负载自检");
    let rooms: Vec<_> = hospital.rooms.iter().take(SELF_TEST_ROOMS).collect();
    let mut latencies = Vec::new();
    let (mut calls, mut expected) = (0, 0);
    for (r, room) in rooms.iter().enumerate() {
        let _ = engine
            .room_command(&room.code, crate::engine::RoomCommand::Resume, who())
            .await;
        for i in 0..SELF_TEST_CALLS {
            let visit = triage_ground::ids::VisitNo::parse(&format!("SELFTEST{r:02}{i:02}"))
                .map_err(|e| e.to_string())?;
            engine
                .put_registration(&visit, patient(&room.department, engine.now(), i), who())
                .await
                .map_err(|e| e.message)?;
        }
    }
    for _ in 0..SELF_TEST_CALLS {
        for room in &rooms {
            let shows: Vec<String> = screens
                .iter()
                .filter(|s| s.rooms.contains(&room.code))
                .map(|s| s.code.to_string())
                .collect();
            let t0 = Instant::now();
            let Ok(answer) = engine
                .room_command(&room.code, crate::engine::RoomCommand::CallNext, who())
                .await
            else {
                continue;
            };
            let Some(ticket) = answer.current.map(|c| c.ticket_no) else {
                continue;
            };
            calls += 1;
            expected += shows.len();
            latencies.extend(wait_for(&log, &shows, room.code.as_str(), &ticket, t0).await);
        }
    }
    db.stop_writer().await;
    if calls == 0 {
        return Err("没有诊室能够叫号（诊室均停诊或暂停？）".into());
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::INFINITY)
    };
    Ok(SelfTest {
        on: String::new(),
        rooms: rooms.len(),
        calls,
        expected,
        delivered: latencies.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::INFINITY),
    })
}

/// Milliseconds from `t0` until each of `shows` has a frame showing
/// `ticket` called to `room` (the ones that got none within
/// [`FRAME_WAIT`] are missing). Each frame is read once.
async fn wait_for(log: &Log, shows: &[String], room: &str, ticket: &str, t0: Instant) -> Vec<f64> {
    let mut first: BTreeMap<&str, f64> = BTreeMap::new();
    let mut read = 0;
    while t0.elapsed() < FRAME_WAIT && first.len() < shows.len() {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let Ok(l) = log.lock() else { break };
        for (screen, at, text) in l.iter().skip(read).filter(|(_, at, _)| *at >= t0) {
            if let Some(s) = shows.iter().find(|s| *s == screen) {
                if shows_call(text, room, ticket) {
                    first
                        .entry(s.as_str())
                        .or_insert_with(|| at.duration_since(t0).as_secs_f64() * 1000.0);
                }
            }
        }
        read = l.len();
    }
    first.into_values().collect()
}

/// Whether a screen frame shows `ticket` as `room`'s current patient (a
/// room or rooms frame, a snapshot) or announces it (a call frame); a
/// frame only listing the ticket among those next does not count.
fn shows_call(text: &str, room: &str, ticket: &str) -> bool {
    let Ok(frame) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let current = |r: &serde_json::Value| r["code"] == room && r["current"]["ticket_no"] == ticket;
    match frame["type"].as_str() {
        Some("call") => frame["call"]["room_code"] == room && frame["call"]["ticket_no"] == ticket,
        Some("room") => current(&frame["room"]),
        _ => frame["rooms"]
            .as_array()
            .is_some_and(|rooms| rooms.iter().any(current)),
    }
}

/// A test patient of `department`, checked in at once.
fn patient(
    department: &str,
    now: DateTime<Utc>,
    i: usize,
) -> crate::engine::registrations::Registration {
    use crate::engine::registrations::{Patient, Registration};
    Registration {
        patient: Patient {
            id: format!("SELFTEST{i}"),
            name: "自检患者".into(),
            sex: triage_actors::model::Sex::Unknown,
            birth_date: None,
        },
        department_code: department.to_string(),
        doctor_code: None,
        visit_type: crate::db::columns::VisitType::First,
        registered_at: now,
        slot: None,
        special: Vec::new(),
        exam_items: Vec::new(),
        checked_in: true,
        sequence_no: None,
        canonical: format!("self-test {department} {i}"),
    }
}
