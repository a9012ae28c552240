//! The wait forecast proven on history (issue 28): thirteen generated days
//! run through the real engine on a clock the test moves — three doctors with
//! known service-time distributions (lognormal, means 4, 6 and 9 minutes),
//! walk-ins and military patients who go ahead by the rules, one room
//! paused for twenty minutes each morning — then `triage wait backtest`
//! replays the last ten days from the recorded changes alone (the three
//! before are what the first forecasts learn from). The ranges
//! must hold: P90 covers at least 90 %, P50 between 35 % and 65 %, and the
//! median error beats the old estimate's.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use triage::background::Background;
use triage::config::Hospital;
use triage::engine::backtest;
use triage::engine::{Acting, Engine, RoomCommand};
use triage_ground::ids::{RoomCode, VisitNo};

use crate::common::{fresh_database, rfc};
use crate::restart::{start, ManualClock};

fn toml(reports: &std::path::Path) -> String {
    format!(
        r#"
[hospital]
name = "回测医院"

[calling]
avg_service_minutes = 6
day_end = "off"

[backup]
at = "off"

[operations]
reports_dir = "{}"

[[departments]]
code = "NK"
name = "内科"

[[queues]]
code = "NK"
name = "内科普通号"
department = "NK"
prefix = "A"

[[rooms]]
code = "R1"
name = "内科1诊室"
department = "NK"
doctor = "D1"
queues = ["NK"]

[[rooms]]
code = "R2"
name = "内科2诊室"
department = "NK"
doctor = "D2"
queues = ["NK"]

[[rooms]]
code = "R3"
name = "内科3诊室"
department = "NK"
doctor = "D3"
queues = ["NK"]

[[doctors]]
code = "D1"
name = "甲医生"
department = "NK"
title = "主治医师"

[[doctors]]
code = "D2"
name = "乙医生"
department = "NK"
title = "主治医师"

[[doctors]]
code = "D3"
name = "丙医生"
department = "NK"
title = "主任医师"
"#,
        reports.display()
    )
}

/// The doctors: room, code, mean minutes per patient.
const DOCTORS: [(&str, &str, f64); 3] = [("R1", "D1", 4.0), ("R2", "D2", 6.0), ("R3", "D3", 9.0)];

/// A lognormal service time with mean `mean` (σ 0.4).
fn service(mean: f64, rng: &mut SmallRng) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random_range(f64::MIN_POSITIVE..1.0), rng.random());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    mean * (0.4 * z - 0.08).exp()
}

struct Sim {
    engine: Engine,
    clock: Arc<ManualClock>,
}

impl Sim {
    fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        self.clock.0.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    async fn arrive(&self, n: usize, military: bool) {
        let e = &self.engine;
        let body = json!({
            "patient": {"id": format!("P{n}"), "name": format!("回测{n}"), "sex": "1", "birth_date": "1980-01-01"},
            "department_code": "NK",
            "visit_type": "first",
            "registered_at": e.now().to_rfc3339(),
            "special": if military { vec!["military"] } else { vec![] },
            "checked_in": true,
        });
        let canonical = body.to_string();
        let wire: triage::api::registrations::RegistrationBody =
            serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        let today = triage_ground::time::service_date(e.now());
        let parsed = wire
            .parse(e.hospital(), today, canonical)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let visit = VisitNo::parse(&format!("B{n:04}")).unwrap_or_else(|e| panic!("{e}"));
        e.put_registration(&visit, parsed, Acting::new("HIS", "backtest-test"))
            .await
            .unwrap_or_else(|e| panic!("register: {e}"));
    }

    async fn room(&self, room: &str, doctor: &str, cmd: RoomCommand) -> bool {
        let code = RoomCode::parse(room).unwrap_or_else(|e| panic!("{e}"));
        self.engine
            .room_command(&code, cmd, Acting::new(doctor, "backtest-test"))
            .await
            .is_ok_and(|a| a.current.is_some())
    }
}

/// One generated morning (07:50–12:00, 15-second steps): walk-ins at 0.6 a
/// minute until 10:30 (one in ten military), three doctors calling when
/// free, room R2 paused 09:30–09:50.
async fn one_day(sim: &Sim, day: i64, rng: &mut SmallRng, next: &mut usize) {
    let at = |hhmm: &str| -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(&rfc(day, &format!("{hhmm}:00")))
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timezone(&chrono::Utc)
    };
    let (open, last_arrival, pause, resume, end) = (
        at("08:00"),
        at("10:30"),
        at("09:30"),
        at("09:50"),
        at("12:00"),
    );
    let mut t = at("07:50");
    let mut arrival = t;
    let mut busy_until: [Option<chrono::DateTime<chrono::Utc>>; 3] = [None; 3];
    let mut waiting = 0usize;
    while t < end {
        sim.set(t);
        while arrival <= t && arrival < last_arrival {
            *next += 1;
            sim.arrive(*next, rng.random_range(0..10) == 0).await;
            waiting += 1;
            let gap: f64 = -rng.random_range(f64::MIN_POSITIVE..1.0f64).ln() / 0.6;
            arrival += chrono::Duration::milliseconds((gap * 60_000.0) as i64);
        }
        if t == pause {
            sim.room("R2", "D2", RoomCommand::Pause).await;
        }
        if t == resume {
            sim.room("R2", "D2", RoomCommand::Resume).await;
        }
        for (i, (room, doctor, mean)) in DOCTORS.iter().enumerate() {
            if busy_until[i].is_some_and(|b| t >= b) {
                sim.room(room, doctor, RoomCommand::Finish).await;
                busy_until[i] = None;
            }
            let paused = *room == "R2" && t >= pause && t < resume;
            if busy_until[i].is_none()
                && !paused
                && t >= open
                && waiting > 0
                && sim.room(room, doctor, RoomCommand::CallNext).await
            {
                waiting -= 1;
                let m = service(*mean, rng);
                busy_until[i] = Some(t + chrono::Duration::milliseconds((m * 60_000.0) as i64));
            }
        }
        t += chrono::Duration::seconds(15);
    }
    for (room, doctor, _) in DOCTORS {
        sim.room(room, doctor, RoomCommand::Finish).await;
    }
}

#[actix_web::test]
async fn replayed_days_keep_p90_above_90_percent_p50_near_half_and_beat_the_old_estimate() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = toml(&dir.path().join("reports"));
    let config = dir.path().join("hospital.toml");
    std::fs::write(&config, &text).unwrap_or_else(|e| panic!("{e}"));
    let hospital =
        Hospital::parse(&text, "hospital.toml").unwrap_or_else(|e| panic!("config: {e:?}"));
    let db = fresh_database();
    let first = -14;
    let clock = Arc::new(ManualClock(AtomicI64::new(crate::restart::at(&rfc(
        first, "07:40:00",
    )))));
    let background = Background::new();
    let engine = start(&hospital, &db.url, clock.clone(), &background).await;
    let sim = Sim { engine, clock };
    let mut rng = SmallRng::seed_from_u64(20261208);
    let mut next = 0;
    for day in first..first + 13 {
        one_day(&sim, day, &mut rng, &mut next).await;
    }
    sim.engine.db().stop_writer().await;
    background.stop_threads();

    // The last ten days, from the record alone (the three before are the
    // record the first forecasts learn from).
    let (from, to) = (
        crate::common::service_day(first + 3),
        crate::common::service_day(first + 12),
    );
    let read = crate::common::connect_db(&db.url)
        .read(move |c| backtest::read(c, from, to))
        .await
        .unwrap_or_else(|e| panic!("read: {e}"));
    let events = read;
    let replayed = backtest::replay(&hospital, &events, 100, from);
    assert!(replayed.undecoded.is_empty(), "{:?}", replayed.undecoded);
    let s = backtest::score(&replayed.predictions);
    assert!(s.scored >= 800, "{s:?}");
    assert!(s.p90_coverage >= 0.90, "P90 coverage {s:?}");
    assert!(
        (0.35..=0.65).contains(&s.p50_coverage),
        "P50 coverage {s:?}"
    );
    assert!(
        s.p50_error_minutes < s.old_error_minutes,
        "the forecast's median error is below the old estimate's: {s:?}"
    );

    // The command as hospital IT runs it: the summary and the report.
    let out = crate::common::triage_command()
        .args([
            "wait",
            "backtest",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
        ])
        .arg("--config")
        .arg(&config)
        .args(["--database-url", &db.url])
        .output()
        .unwrap_or_else(|e| panic!("triage: {e}"));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains(&format!("P90 覆盖 {:.0}%", s.p90_coverage * 100.0)),
        "{printed}"
    );
    let report = dir
        .path()
        .join("reports")
        .join(format!("wait-backtest-{from}-{to}.md"));
    let md = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        md.contains("按科室和签到时段") && md.contains("| 内科 | 09:00–10:00 |"),
        "{md}"
    );
    assert!(md.contains(&format!("共 {} 次签到", s.check_ins)), "{md}");
}
