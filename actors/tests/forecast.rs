//! The wait forecast (`queue::forecast`) as a spec: on a copy of the queue,
//! with the real ranking, known service times give known calls; a priority
//! patient arriving goes ahead of those waiting; a session that ends before
//! a patient's turn says so instead of a number.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use triage_actors::model::{Audit, Counters, EntryKind, SpecialTag, TicketCounter};
use triage_actors::queue::forecast::{forecast, Arrival, ForecastInput, ForecastRoom};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::QueueRules;
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0)
        .single()
        .unwrap_or_default()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
}

fn draft(visit: &str, tags: Vec<SpecialTag>) -> EntryDraft {
    EntryDraft {
        visit_no: VisitNo::trusted(visit),
        masked_name: "张*".into(),
        spoken_name: String::new(),
        kind: EntryKind::Normal,
        tags,
        his_seq: None,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: None,
    }
}

/// `n` normal patients checked in a minute apart before `t0`.
fn queue_of(n: usize) -> QueueState {
    let mut q = QueueState::new(
        QueueCode::trusted("Q"),
        "A",
        QueueRules::default(),
        vec![],
        Counters::default(),
        TicketCounter {
            date: day(),
            last: 0,
        },
        1,
    );
    for i in 0..n {
        let at = t0() - Duration::minutes((n - i) as i64);
        let audit = Audit {
            operator: "t".into(),
            source: "t".into(),
            at,
            reason: None,
        };
        let change = q
            .plan_check_in(draft(&format!("V{i}"), vec![]), audit, day())
            .unwrap_or_else(|e| panic!("{e}"));
        q.apply(&change);
    }
    q
}

fn room(code: &str, minutes: f64, until_min: i64) -> ForecastRoom {
    ForecastRoom {
        code: RoomCode::trusted(code),
        from: t0(),
        until: t0() + Duration::minutes(until_min),
        busy_since: None,
        share: 1.0,
        service: vec![minutes],
        service_return: vec![],
        pause_days: vec![],
    }
}

fn input(q: QueueState, rooms: Vec<ForecastRoom>, arrivals: Vec<Arrival>) -> ForecastInput {
    ForecastInput {
        state: q,
        rooms,
        arrivals,
        now: t0(),
        day: day(),
        runs: 200,
        seed: 7,
        threads: 2,
    }
}

#[test]
fn known_service_times_give_known_calls() {
    // Two rooms, 6 minutes each: V0 and V1 at once, V2 and V3 at 6, V4 at 12.
    let out = forecast(&input(
        queue_of(5),
        vec![room("R1", 6.0, 240), room("R2", 6.0, 240)],
        vec![],
    ));
    let p = |v: &str| out.get(v).map(|r| (r.p50_minutes, r.p90_minutes));
    assert_eq!(p("V0"), Some((0, 0)));
    assert_eq!(p("V1"), Some((0, 0)));
    assert_eq!(p("V2"), Some((6, 6)));
    assert_eq!(p("V3"), Some((6, 6)));
    assert_eq!(p("V4"), Some((12, 12)));
}

#[test]
fn spread_service_times_give_a_range_that_grows_with_the_position() {
    let mut r = room("R1", 0.0, 600);
    r.service = vec![2.0, 4.0, 6.0, 8.0, 10.0];
    let out = forecast(&input(queue_of(20), vec![r], vec![]));
    let v10 = out.get("V10").copied().unwrap_or_else(|| panic!("V10"));
    let v19 = out.get("V19").copied().unwrap_or_else(|| panic!("V19"));
    assert!(v10.p50_minutes < v10.p90_minutes, "{v10:?}");
    assert!(
        (50..=70).contains(&v10.p50_minutes),
        "ten of mean 6: {v10:?}"
    );
    assert!(v19.p50_minutes > v10.p50_minutes && v19.p90_minutes > v10.p90_minutes);
    assert!(!v19.beyond_session);
}

#[test]
fn priority_patients_arriving_go_ahead_and_lengthen_the_wait() {
    let rooms = vec![room("R1", 5.0, 600)];
    let calm = forecast(&input(queue_of(10), rooms.clone(), vec![]));
    let elderly = Arrival {
        like: draft("like", vec![SpecialTag::Elderly]),
        per_minute: 0.1,
    };
    let busy = forecast(&input(queue_of(10), rooms, vec![elderly]));
    let (a, b) = (calm["V9"], busy["V9"]);
    assert_eq!(a.p50_minutes, 45);
    assert!(b.p50_minutes > a.p50_minutes, "calm {a:?}, busy {b:?}");
    assert!(b.p90_minutes > b.p50_minutes, "{b:?}");
}

#[test]
fn a_session_ending_first_is_said_instead_of_a_number() {
    // One room, 10 minutes each, 30 minutes left: V0, V1, V2 are seen.
    let out = forecast(&input(queue_of(5), vec![room("R1", 10.0, 30)], vec![]));
    assert!(!out["V2"].beyond_session);
    assert!(out["V3"].beyond_session, "{:?}", out["V3"]);
    assert!(out["V4"].beyond_session);
}

#[test]
fn a_room_busy_with_a_patient_first_finishes_them() {
    let mut r = room("R1", 10.0, 240);
    r.busy_since = Some(t0() - Duration::minutes(4));
    r.service = vec![10.0];
    let out = forecast(&input(queue_of(2), vec![r], vec![]));
    assert_eq!((out["V0"].p50_minutes, out["V0"].p90_minutes), (6, 6));
    assert_eq!(out["V1"].p50_minutes, 16);
}
