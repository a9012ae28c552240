//! `cargo bench --bench ranking` — the ordering rules on 5,000 waiting
//! patients, on the plain queue state (no actors, no database), under the
//! full rule set at once: slot mode by HIS sequence number, appointments
//! (on time, early, late to the end of the slot), walk-ins, return visits
//! by interval, patients back after a missed call to the end of the
//! session, five special groups, the fairness and overtake caps, a locked
//! head, a nurse's pins, moves and holds, and two rooms' short lists.
//! Prints the time per ranking, per call-next (as the queue actor makes
//! it) and per send to a short list.

use std::time::Instant;

/// The allocator the `triage` binary runs with (src/main.rs), so the
/// figures are the server's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use chrono::{Duration, TimeZone, Utc};
use triage_actors::model::{Audit, Counters, EntryKind, Slot, SpecialTag, TicketCounter};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::{AppointmentMode, BaseOrder, LateArrival, QueueRules, RecallMode};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

fn audit(at: chrono::DateTime<Utc>) -> Audit {
    Audit {
        operator: "bench".into(),
        source: "bench".into(),
        at,
        reason: Some("bench".into()),
    }
}

fn main() {
    println!("full rule set: slot mode by HIS number, appointments (on time / early / late to end of slot), return interval 3, recall to end of session, 5 special groups, fairness cap 5, overtake cap 10, locked head 3, pins / moves / holds, 2 short lists");
    // A large department's day, then a typical queue.
    run(5000);
    run(300);
    println!(
        "goal: at most 300 µs per ranking of 5,000 and 600 µs per call-next (one core of this 2-core machine; release build)"
    );
}

/// Builds a queue of `n` waiting patients under the full rule set and times
/// ranking, call-next and sends to a short list on it.
fn run(n: u32) {
    // 07:00 local (UTC+8) on the bench day.
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 24, 23, 0, 0)
        .single()
        .unwrap_or_default();
    let day = (t0 + Duration::hours(8)).date_naive();
    let rules = QueueRules {
        base_order: BaseOrder::HisSequence,
        appointment_mode: AppointmentMode::Slot,
        late_arrival: LateArrival::EndOfSlot,
        recall_mode: RecallMode::EndOfSession,
        return_interval: Some(3),
        fairness_cap: Some(5),
        max_overtaken: Some(10),
        locked_head: 3,
        ..QueueRules::default()
    };
    let (r1, r2, r3) = (
        RoomCode::trusted("R1"),
        RoomCode::trusted("R2"),
        RoomCode::trusted("R3"),
    );
    let mut q = QueueState::new(
        QueueCode::trusted("Q"),
        "A",
        rules,
        vec![],
        Counters::default(),
        TicketCounter { date: day, last: 0 },
        1,
    );
    let tags = SpecialTag::ALL;
    for i in 0..n {
        // Arrivals over the morning, two a second.
        let at = t0 + Duration::milliseconds(i64::from(i) * 500);
        let kind = match i % 10 {
            0 | 5 => EntryKind::Return,
            7 => EntryKind::Recall,
            _ => EntryKind::Normal,
        };
        let draft = EntryDraft {
            visit_no: VisitNo::trusted(format!("V{i:05}")),
            masked_name: "张*".into(),
            spoken_name: String::new(),
            kind,
            tags: if i % 17 == 0 {
                vec![tags[(i as usize / 17) % 5]]
            } else {
                vec![]
            },
            his_seq: (i % 4 != 3).then_some(i64::from((i * 7919) % 100_000)),
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        };
        // Every third patient has an appointment: on time, early or late.
        let slot = (i % 3 == 0).then(|| {
            let start = at + Duration::minutes(i64::from(i % 90) - 45);
            Slot {
                start,
                end: start + Duration::minutes(30),
            }
        });
        let change = if kind == EntryKind::Recall {
            Ok(q.plan_requeue(draft, format!("A{i}"), 1, audit(at)))
        } else {
            q.plan_check_in_at(draft, slot, audit(at), day)
        };
        match change {
            Ok(c) => q.apply(&c),
            Err(e) => panic!("{e}"),
        }
    }
    let now = t0 + Duration::minutes(45);
    // A nurse's actions, the locked head and two rooms' short lists.
    let visits: Vec<VisitNo> = q.entries().iter().map(|e| e.visit_no.clone()).collect();
    for (k, v) in visits.iter().enumerate().step_by((n / 20).max(1) as usize) {
        let c = match k % 3 {
            0 => q.plan_pin(v, audit(now)),
            1 => q.plan_move(v, (k % 40) as u32 + 1, audit(now)),
            _ => q.plan_hold(v, true, audit(now)),
        };
        if let Some(c) = c {
            q.apply(&c);
        }
    }
    q.relock(now);
    for room in [&r1, &r2, &r1, &r2, &r1, &r2] {
        if let Some(c) = q.plan_assign(room, &audit(now), None) {
            q.apply(&c);
        }
    }
    let waiting = q.len();

    let runs = 200;
    let start = Instant::now();
    let mut sink = 0usize;
    for _ in 0..runs {
        sink += q.ranked(now).len();
    }
    let per_rank = start.elapsed().as_secs_f64() * 1e6 / f64::from(runs);

    let calls = i64::from(n / 5);
    let start = Instant::now();
    let mut called = 0;
    for i in 0..calls {
        let at = now + Duration::seconds(i);
        let room = if i % 2 == 0 { &r1 } else { &r3 };
        // As the queue actor calls: the plan, the lock set the call leads
        // to (committed with it), then both applied.
        if let Some((change, _)) = q.plan_take_next(room, &audit(at), None).into_iter().next() {
            let locks = q.locks_after(&change);
            q.apply(&change);
            q.apply(&locks);
            called += 1;
        }
    }
    let per_call = start.elapsed().as_secs_f64() * 1e6 / f64::from(called.max(1));

    let sends = n / 10;
    let start = Instant::now();
    for i in 0..sends {
        let at = now + Duration::seconds(2000 + i64::from(i));
        if let Some(c) = q.plan_assign(if i % 2 == 0 { &r1 } else { &r2 }, &audit(at), None) {
            q.apply(&c);
        }
    }
    let per_send = start.elapsed().as_secs_f64() * 1e6 / f64::from(sends);

    println!("ranking {waiting} waiting entries: {per_rank:.0} µs per ranking ({runs} runs; {sink} entries ranked)");
    println!("call-next on the plain state as the queue actor makes it (rank + plan + the lock set after the call + apply both), {called} calls from {waiting} waiting down: {per_call:.0} µs per call");
    println!("send to a room's short list (rank + plan + apply): {per_send:.0} µs per send");
}
