//! Restart equivalence (property): after any sequence of HIS and staff
//! commands, an engine rebuilt from the database holds exactly what the
//! running one held in memory — every queue's state and calling order with
//! placements, every room, every screen's snapshot. Runs on SQLite and, in
//! the test command's second pass, on PostgreSQL.
//!
//! Commands go through the engine's way in (the same functions the API
//! handlers call) on an injected clock, so a case is deterministic and a
//! failure shrinks to a short sequence.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{json, Value};
use triage::background::Background;
use triage::config::Hospital;
use triage::db::{Db, DbSettings, Synchronous};
use triage::engine::Acting;
use triage::engine::Engine;
use triage::engine::{RoomCommand, TransferCommand, TransferTarget};
use triage_actors::model::SpecialTag;
use triage_actors::queue::{InspectQueue, Intervention, ListQueue, Refresh};
use triage_actors::room::{InspectRoom, Refill};
use triage_actors::screen::InspectScreen;
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};
use triage_ground::time::{Clock, SharedClock};

use crate::common::fresh_database;

/// A clock the test moves.
pub(crate) struct ManualClock(pub(crate) AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

const VISITS: u8 = 24;
const DEPARTMENTS: [&str; 3] = ["NK", "WK", "EK"];
const ROOMS: [&str; 10] = [
    "NK-01", "NK-02", "NK-03", "NK-04", "WK-01", "WK-02", "WK-03", "EK-01", "EK-02", "EK-03",
];
const QUEUES: [&str; 5] = ["NK", "NK-D1001", "WK", "EK", "EK-D3001"];
const NAMES: [&str; 6] = [
    "张三",
    "李四丰",
    "欧阳明华",
    "王",
    "赵钱孙",
    "阿依古丽·买买提",
];

/// One command of a random day.
#[derive(Clone, Debug)]
enum Op {
    /// HIS registers (or corrects) visit `v`.
    Register {
        v: u8,
        dept: u8,
        doctor: bool,
        ret: bool,
        special: u8,
        born: u8,
        appt: Option<i8>,
        seq: Option<u16>,
        name: u8,
        check_in: bool,
    },
    /// HIS books (or moves) visit `v` for a room (预约到诊室), version
    /// `version`, slot `appt` × 20 minutes from now.
    Book {
        v: u8,
        room: u8,
        appt: i8,
        version: u8,
        check_in: bool,
    },
    /// HIS cancels appointment `v`.
    Unbook(u8),
    CheckIn(u8),
    Room(u8, u8),
    CallByName(u8, u8),
    Requeue(u8),
    Intervene(u8, u8, u8),
    /// A nurse sets the special groups (bits of `SpecialTag::ALL`).
    Mark(u8, u8),
    Transfer(u8, u8, bool),
    Cancel(u8),
    Rules(u8, u8),
    Close(u8, bool),
    /// The day end (日终) of today (ends half the days: the case's last
    /// command when it has an odd number of them).
    CloseDay,
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    let v = 0..VISITS;
    prop_oneof![
        4 => (v.clone(), 0u8..3, any::<bool>(), any::<bool>(), 0u8..8, 0u8..4,
              prop::option::weighted(0.3, -3i8..4), prop::option::weighted(0.3, 1u16..60),
              0u8..6, any::<bool>())
            .prop_map(|(v, dept, doctor, ret, special, born, appt, seq, name, check_in)| Op::Register {
                v, dept, doctor, ret, special, born, appt, seq, name, check_in
            }),
        2 => (v.clone(), 0u8..10, -2i8..3, 1u8..4, any::<bool>())
            .prop_map(|(v, room, appt, version, check_in)| Op::Book { v, room, appt, version, check_in }),
        1 => v.clone().prop_map(Op::Unbook),
        3 => v.clone().prop_map(Op::CheckIn),
        5 => (0u8..10, 0u8..8).prop_map(|(r, c)| Op::Room(r, c)),
        1 => (0u8..10, v.clone()).prop_map(|(r, x)| Op::CallByName(r, x)),
        1 => v.clone().prop_map(Op::Requeue),
        2 => (v.clone(), 0u8..4, 1u8..6).prop_map(|(x, a, p)| Op::Intervene(x, a, p)),
        1 => (v.clone(), 0u8..5, any::<bool>()).prop_map(|(x, q, k)| Op::Transfer(x, q, k)),
        1 => v.clone().prop_map(Op::Cancel),
        1 => (v.clone(), 0u8..32).prop_map(|(x, bits)| Op::Mark(x, bits)),
        1 => (0u8..5, 0u8..8).prop_map(|(q, p)| Op::Rules(q, p)),
        1 => (0u8..10, any::<bool>()).prop_map(|(r, d)| Op::Close(r, d)),
        2 => (1u16..900).prop_map(Op::Tick),
    ]
}

/// Preset rule changes, each valid for every queue.
fn rule_preset(p: u8) -> Value {
    match p {
        0 => json!({"locked_head": 2}),
        1 => json!({"locked_head": 0, "return_interval": 1}),
        2 => json!({"recall_mode": "end_of_session"}),
        3 => json!({"elderly_min_age": 60}),
        4 => json!({"appointment_mode": "always_first", "late_arrival": "end_of_slot"}),
        5 => json!({"base_order": "his_sequence"}),
        6 => json!({"fairness_cap": 2, "max_overtaken": 3}),
        _ => json!({"return_ratio": 3, "max_misses": 3}),
    }
}

struct Day {
    engine: Engine,
    clock: Arc<ManualClock>,
}

impl Day {
    /// Who acts (the engine stamps the time from this day's clock).
    fn audit(&self, reason: Option<&str>) -> Acting {
        let who = Acting::new("N-test", "restart-test");
        match reason {
            Some(r) => who.because(r),
            None => who,
        }
    }

    fn tick(&self, seconds: i64) {
        self.clock
            .0
            .fetch_add(seconds * 1_000_000, Ordering::SeqCst);
    }

    /// Runs one command; refusals are part of a random day, but a server
    /// error (5xx) fails the case.
    async fn run(&self, op: &Op) -> Result<(), String> {
        self.tick(20);
        let e = &self.engine;
        let visit = |v: &u8| VisitNo::parse(&format!("V{v:02}")).unwrap_or_else(|e| panic!("{e}"));
        let room = |r: &u8| RoomCode::parse(ROOMS[*r as usize]).unwrap_or_else(|e| panic!("{e}"));
        let queue =
            |q: &u8| QueueCode::parse(QUEUES[*q as usize]).unwrap_or_else(|e| panic!("{e}"));
        let res: Result<(), triage_ground::error::Error> = match op {
            Op::Register {
                v,
                dept,
                doctor,
                ret,
                special,
                born,
                appt,
                seq,
                name,
                check_in,
            } => {
                let dept = DEPARTMENTS[*dept as usize];
                let tags: Vec<&str> = [(1, "military"), (2, "pregnant"), (4, "disabled")]
                    .iter()
                    .filter(|(bit, _)| special & bit != 0)
                    .map(|(_, t)| *t)
                    .collect();
                let birth =
                    ["1940-02-03", "1962-06-07", "1990-01-01", "2023-05-06"][*born as usize];
                let mut body = json!({
                    "patient": {"id": format!("P{v}"), "name": NAMES[*name as usize], "sex": "2", "birth_date": birth},
                    "department_code": dept,
                    "visit_type": if *ret { "return" } else { "first" },
                    "registered_at": crate::common::rfc(-9, "07:30:00"),
                    "special": tags,
                    "checked_in": check_in,
                });
                if *doctor && dept != "WK" {
                    body["doctor_code"] = json!(if dept == "NK" { "D1001" } else { "D3001" });
                }
                if let Some(a) = appt {
                    let start = self.clock.now() + chrono::Duration::minutes(i64::from(*a) * 20);
                    body["appointment"] = json!({"start": start.to_rfc3339(), "end": (start + chrono::Duration::minutes(20)).to_rfc3339()});
                }
                if let Some(s) = seq {
                    body["sequence_no"] = json!(s);
                }
                let canonical = body.to_string();
                let wire: triage::api::registrations::RegistrationBody =
                    serde_json::from_value(body).map_err(|e| e.to_string())?;
                let today = triage_ground::time::service_date(e.now());
                match wire.parse(e.hospital(), today, canonical) {
                    Ok(parsed) => e
                        .put_registration(&visit(v), parsed, self.audit(None))
                        .await
                        .map(|_| ()),
                    Err(refused) => Err(refused),
                }
            }
            Op::Book {
                v,
                room: r,
                appt,
                version,
                check_in,
            } => {
                let start = self.clock.now() + chrono::Duration::minutes(i64::from(*appt) * 20);
                let body = json!({
                    "version": version,
                    "patient": {"id": format!("P{v}"), "name": NAMES[usize::from(*v) % NAMES.len()], "sex": "1"},
                    "room_code": ROOMS[*r as usize],
                    "slot": {"start": start.to_rfc3339(), "end": (start + chrono::Duration::minutes(20)).to_rfc3339()},
                    "booked_at": crate::common::rfc(-11, "07:30:00"),
                });
                let parsed = crate::common::parsed_appointment(e, &body);
                let stored = match parsed {
                    Ok(a) => e.put_appointment(&visit(v), a, self.audit(None)).await,
                    Err(refused) => Err(refused),
                };
                match stored {
                    Ok(_) if *check_in => e.check_in(&visit(v), self.audit(None)).await.map(|_| ()),
                    other => other.map(|_| ()),
                }
            }
            Op::Unbook(v) => e
                .cancel_appointment(&visit(v), self.audit(None))
                .await
                .map(|_| ()),
            Op::CheckIn(v) => e.check_in(&visit(v), self.audit(None)).await.map(|_| ()),
            Op::Room(r, c) => {
                let cmd = [
                    RoomCommand::CallNext,
                    RoomCommand::CallNext,
                    RoomCommand::Recall,
                    RoomCommand::Skip,
                    RoomCommand::Finish,
                    RoomCommand::Pause,
                    RoomCommand::Resume,
                    RoomCommand::SendForExam,
                ][*c as usize];
                e.room_command(&room(r), cmd, self.audit(None))
                    .await
                    .map(|_| ())
            }
            Op::CallByName(r, v) => e
                .call_visit(&room(r), &visit(v), self.audit(Some("指定")))
                .await
                .map(|_| ()),
            Op::Requeue(v) => e
                .requeue(&visit(v), self.audit(Some("召回")))
                .await
                .map(|_| ()),
            Op::Intervene(v, a, p) => {
                let action = match a {
                    0 => Intervention::Hold,
                    1 => Intervention::Release,
                    2 => Intervention::Pin,
                    _ => Intervention::Move(u32::from(*p)),
                };
                e.intervene(&visit(v), action, self.audit(Some("护士调整")))
                    .await
                    .map(|_| ())
            }
            Op::Mark(v, bits) => {
                let wanted = SpecialTag::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, t)| t)
                    .collect();
                e.set_special(&visit(v), wanted, None, self.audit(Some("现场核实")))
                    .await
                    .map(|_| ())
            }
            Op::Transfer(v, q, keep) => {
                let queue = triage_ground::ids::QueueCode::parse(QUEUES[*q as usize])
                    .unwrap_or_else(|e| panic!("{e}"));
                let body = TransferCommand {
                    target: TransferTarget::Queue(queue),
                    keep_check_in_time: *keep,
                    reason: "转诊".into(),
                };
                e.transfer(&visit(v), body, self.audit(None))
                    .await
                    .map(|_| ())
            }
            Op::Cancel(v) => e.cancel(&visit(v), self.audit(None)).await.map(|_| ()),
            Op::Rules(q, p) => {
                let change: triage::rule_change::RuleChange =
                    serde_json::from_value(rule_preset(*p)).map_err(|e| e.to_string())?;
                e.change_rules(&queue(q), change, self.audit(Some("规则调整")))
                    .await
                    .map(|_| ())
            }
            Op::Close(r, redistribute) => e
                .close_room(&room(r), *redistribute, "停诊".into(), self.audit(None))
                .await
                .map(|_| ()),
            Op::CloseDay => {
                let today = triage_ground::time::service_date(self.clock.now());
                e.close_day(today, self.audit(Some("日终")))
                    .await
                    .map(|_| ())
            }
            Op::Tick(s) => {
                self.tick(i64::from(*s));
                Ok(())
            }
        };
        match res {
            Err(err) if triage::api::error::status_of(err.code).is_server_error() => {
                Err(format!("{op:?}: {err}"))
            }
            _ => Ok(()),
        }
    }
}

/// Lets two-stage rooms finish filling their short lists, so that memory
/// is at rest before it is compared.
pub(crate) async fn settle(engine: &Engine) {
    // The door screens' appointment lists as the periodic read leaves them.
    engine.publish_appointments().await;
    for queue in QUEUES {
        if let Some(addr) = engine.directory().queues.get(queue).map(|a| a.clone()) {
            let _ = addr.send(Refresh).await;
        }
    }
    for room in ROOMS {
        if let Some(addr) = engine.directory().rooms.get(room).map(|a| a.clone()) {
            let _ = addr.send(Refill).await;
        }
    }
}

/// Everything the engine holds in memory, as comparable text.
pub(crate) async fn memory(engine: &Engine, hospital: &Hospital) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for q in &hospital.queues {
        let addr = engine.directory().queues.get(&q.code).map(|a| a.clone());
        let Some(addr) = addr else {
            out.push((format!("queue {}", q.code), "not running".into()));
            continue;
        };
        let state = match addr.send(InspectQueue).await {
            Ok(s) => format!("{s:#?}"),
            Err(e) => format!("mailbox: {e}"),
        };
        let order = match addr.send(ListQueue).await {
            Ok(l) => format!("{l:#?}"),
            Err(e) => format!("mailbox: {e}"),
        };
        out.push((format!("queue {} state", q.code), state));
        out.push((format!("queue {} order", q.code), order));
    }
    for r in &hospital.rooms {
        let addr = engine.directory().rooms.get(&r.code).map(|a| a.clone());
        let state = match addr {
            Some(a) => format!("{:#?}", a.send(InspectRoom).await),
            None => "not running".into(),
        };
        out.push((format!("room {}", r.code), state));
    }
    for s in &hospital.screens {
        let addr = engine.directory().screens.get(&s.code).map(|a| a.clone());
        let snap = match addr {
            Some(a) => {
                let mut v = a.send(InspectScreen).await.unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("seq");
                }
                serde_json::to_string_pretty(&v).unwrap_or_default()
            }
            None => "not running".into(),
        };
        out.push((format!("screen {}", s.code), snap));
    }
    out
}

/// The first lines where two texts differ.
pub(crate) fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = al
        .iter()
        .zip(&bl)
        .position(|(x, y)| x != y)
        .unwrap_or(al.len().min(bl.len()));
    let from = i.saturating_sub(6);
    format!(
        "memory:\n{}\nrebuilt:\n{}",
        al[from..(i + 4).min(al.len())].join("\n"),
        bl[from..(i + 4).min(bl.len())].join("\n")
    )
}

pub(crate) async fn start(
    hospital: &Hospital,
    url: &str,
    clock: SharedClock,
    background: &Arc<Background>,
) -> Engine {
    crate::common::capture_logs();
    for name in NAMES {
        crate::common::note_secret(name);
    }
    let settings = DbSettings {
        url: url.to_string(),
        synchronous: Synchronous::Normal,
        pool_size: 4,
    };
    let bg = background.clone();
    let db = tokio::task::spawn_blocking(move || Db::connect(&settings, &bg))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("db: {e}"));
    Engine::start(
        Arc::new(hospital.clone()),
        db,
        clock,
        triage::db::links::PatientLinks::ephemeral(),
    )
    .await
    .unwrap_or_else(|e| panic!("engine: {e}"))
}

fn one_day(ops: &[Op]) -> Result<(), TestCaseError> {
    let outcome: Result<(), String> = actix_web::rt::System::new().block_on(async {
        let hospital = Hospital::demo();
        let db = fresh_database();
        // The Monday before the named Wednesday, 08:05 in Beijing.
        let start_at = chrono::DateTime::parse_from_rfc3339(&crate::common::rfc(-9, "08:05:00"))
            .map_err(|e| e.to_string())?
            .timestamp_micros();
        let clock = Arc::new(ManualClock(AtomicI64::new(start_at)));
        let background = Background::new();
        let engine = start(&hospital, &db.url, clock.clone(), &background).await;
        let day = Day {
            engine,
            clock: clock.clone(),
        };
        for op in ops {
            day.run(op).await?;
        }
        if ops.len() % 2 == 1 {
            day.run(&Op::CloseDay).await?;
        }
        settle(&day.engine).await;
        let before = memory(&day.engine, &hospital).await;
        let rebuilt = start(&hospital, &db.url, clock, &background).await;
        settle(&rebuilt).await;
        let after = memory(&rebuilt, &hospital).await;
        day.engine.db().stop_writer().await;
        rebuilt.db().stop_writer().await;
        background.stop_threads();
        for ((what, a), (_, b)) in before.iter().zip(&after) {
            if a != b {
                return Err(format!(
                    "{what} differs after a rebuild\n{}",
                    first_difference(a, b)
                ));
            }
        }
        Ok(())
    });
    outcome.map_err(TestCaseError::fail)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_rebuild_from_the_database_holds_exactly_what_memory_held(ops in prop::collection::vec(op(), 1..120)) {
        one_day(&ops)?;
    }
}

/// An RFC 3339 instant as the microseconds a `ManualClock` holds.
pub(crate) fn at(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{e}"))
        .timestamp_micros()
}

/// The visit numbers waiting in `queue`, in calling order.
pub(crate) async fn waiting(e: &Engine, queue: &str) -> Vec<String> {
    let addr = e
        .directory()
        .queues
        .get(queue)
        .map(|a| a.clone())
        .unwrap_or_else(|| panic!("no queue {queue}"));
    addr.send(ListQueue)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .iter()
        .map(|l| l.visit_no.to_string())
        .collect()
}
