//! `cargo bench --bench forecast` — the wait forecast (issue 28): the
//! Monte Carlo run of a queue's own rules forward, as the server runs it
//! after a change (`RUNS` runs on one thread; on two for comparison): a
//! busy queue of 300 waiting with 6 rooms, priority arrivals and return
//! visits; then a hospital's 5,000 waiting across 50 queues (100 each,
//! 3 rooms each), all recomputed. Prints the time per forecast and per
//! hospital-wide recomputation.

use std::time::Instant;

/// The allocator the `triage` binary runs with (src/main.rs), so the
/// figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use chrono::{Duration, TimeZone, Utc};
use triage_actors::model::{Audit, Counters, EntryKind, SpecialTag, TicketCounter};
use triage_actors::queue::forecast::{forecast, Arrival, ForecastInput, ForecastRoom};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::QueueRules;
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

fn draft(visit: String, kind: EntryKind, tags: Vec<SpecialTag>) -> EntryDraft {
    EntryDraft {
        visit_no: VisitNo::trusted(visit),
        masked_name: "张*".into(),
        spoken_name: String::new(),
        kind,
        tags,
        his_seq: None,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: None,
    }
}

/// A queue of `n` waiting (every tenth a priority group, every fifth a
/// return visit) with `rooms` rooms of mixed service times.
fn input(code: &str, n: u32, rooms: u32) -> ForecastInput {
    // 09:00 local (UTC+8).
    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 1, 0, 0)
        .single()
        .unwrap_or_default();
    let day = (now + Duration::hours(8)).date_naive();
    let rules = QueueRules {
        return_interval: Some(3),
        fairness_cap: Some(5),
        ..QueueRules::default()
    };
    let mut q = QueueState::new(
        QueueCode::trusted(code),
        "A",
        rules,
        vec![],
        Counters::default(),
        TicketCounter { date: day, last: 0 },
        1,
    );
    for i in 0..n {
        let at = now - Duration::seconds(i64::from(n - i) * 20);
        let kind = if i % 5 == 4 {
            EntryKind::Return
        } else {
            EntryKind::Normal
        };
        let tags = if i % 10 == 9 {
            vec![SpecialTag::Elderly]
        } else {
            vec![]
        };
        let audit = Audit {
            operator: "b".into(),
            source: "b".into(),
            at,
            reason: None,
        };
        if let Ok(c) = q.plan_check_in(draft(format!("{code}-{i}"), kind, tags), audit, day) {
            q.apply(&c);
        }
    }
    let service: Vec<f64> = (0..60).map(|k| 2.0 + f64::from(k % 12)).collect();
    ForecastInput {
        state: q,
        rooms: (0..rooms)
            .map(|r| ForecastRoom {
                code: RoomCode::trusted(format!("{code}-R{r}")),
                from: now,
                until: now + Duration::hours(3),
                busy_since: Some(now - Duration::minutes(i64::from(r))),
                share: 1.0,
                service: service.clone(),
                service_return: vec![],
                pause_days: vec![],
            })
            .collect(),
        arrivals: vec![Arrival {
            like: draft("like".into(), EntryKind::Normal, vec![SpecialTag::Elderly]),
            per_minute: 0.05,
        }],
        now,
        day,
        runs: triage::engine::waits::RUNS,
        seed: 1,
        threads: 1,
    }
}

fn main() {
    // As the server runs it (its number of runs, one thread), and on two.
    for threads in [1, 2] {
        let mut one = input("Q", 300, 6);
        one.threads = threads;
        let _ = forecast(&one);
        let rounds = 10;
        let t = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(forecast(&one));
        }
        let per = t.elapsed() / rounds;
        println!(
            "300 waiting, 6 rooms, {} runs on {threads} thread(s): {:.1} ms per forecast (goal ≤ 50 ms)",
            one.runs,
            per.as_secs_f64() * 1e3
        );
    }
    let hospital: Vec<ForecastInput> = (0..50).map(|k| input(&format!("Q{k}"), 100, 3)).collect();
    let t = Instant::now();
    let mut ranges = 0;
    for i in &hospital {
        ranges += forecast(i).len();
    }
    println!(
        "5,000 waiting in 50 queues (100 each, 3 rooms), one thread: {:.0} ms to recompute every queue ({ranges} ranges), {:.1} ms per queue",
        t.elapsed().as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3 / 50.0
    );
}
