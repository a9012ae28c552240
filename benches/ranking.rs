//! `cargo bench --bench ranking` — ranking 5,000 waiting entries under the
//! rule set, and call-next on the plain queue state (no actors, no database).
//! Prints time per ranking and per call-next.

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use triage_actors::journal::Change;
use triage_actors::model::{Audit, Counters, EntryKind, TicketCounter};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::QueueRules;

fn main() {
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let day = t0.date_naive();
    let mut q = QueueState::new(
        "Q",
        "A",
        QueueRules::default(),
        vec![],
        Counters::default(),
        TicketCounter { date: day, last: 0 },
        1,
    );
    let tags = ["military", "elderly", "disabled", "pregnant", "child"];
    for i in 0..5000u32 {
        let at = t0 + Duration::seconds(i as i64);
        let draft = EntryDraft {
            visit_no: format!("V{i:05}"),
            masked_name: "张*".into(),
            spoken_name: String::new(),
            kind: if i % 5 == 0 {
                EntryKind::Return
            } else {
                EntryKind::Normal
            },
            tags: if i % 17 == 0 {
                vec![tags[(i as usize / 17) % 5].to_string()]
            } else {
                vec![]
            },
            his_seq: None,
        };
        let audit = Audit {
            operator: "bench".into(),
            source: "bench".into(),
            at,
            reason: None,
        };
        match q.plan_check_in(draft, audit, day) {
            Ok(c) => q.apply(&c),
            Err(e) => panic!("{e}"),
        }
    }
    let now = t0 + Duration::hours(2);
    let n = 200;
    let start = Instant::now();
    let mut sink = 0usize;
    for _ in 0..n {
        sink += q.ranked(now).len();
    }
    let per_rank = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    let calls = 1000;
    let start = Instant::now();
    for i in 0..calls {
        let audit = Audit {
            operator: "bench".into(),
            source: "bench".into(),
            at: now + Duration::seconds(i),
            reason: None,
        };
        if let Some((change, _)) = q.plan_take_next("R1", &audit, None).into_iter().next() {
            if let Change::Called { .. } = change {
                q.apply(&change);
            }
        }
    }
    let per_call = start.elapsed().as_secs_f64() * 1e6 / calls as f64;
    println!("ranking 5,000 waiting entries (specials, return visits interval 3): {per_rank:.0} µs per ranking ({n} runs; {sink} entries ranked)");
    println!("call-next on the plain state (rank + plan + apply), from 5,000 down to 4,000 waiting: {per_call:.0} µs per call");
    println!("goal: under 1 ms per ranking (one core of this 2-core machine)");
}
