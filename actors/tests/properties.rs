//! Property tests over random sequences of arrivals, recalls, a nurse's
//! actions, two-stage sends and calls: the queue never loses or duplicates
//! a patient, ranking is deterministic, the interval rules hold in every
//! ranking ("exactly N normals between"), the locked head never changes by
//! an insertion, special patients come first within the fairness caps, the
//! fairness cap and the overtake cap hold in the calling sequence, early
//! appointment patients are never called before their slot, and the base
//! order and the "end of slot / session" placements hold; the order a
//! queue keeps its entries in ranks as the pure `rank` of any order.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use triage_actors::journal::Change;
use triage_actors::model::{
    Audit, Counters, EntryKind, Slot, SpecialTag, TicketCounter, WaitingEntry,
};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::{
    base_placement, rank, AppointmentMode, BaseOrder, EarlyCheckIn, LateArrival, QueueRules,
    RecallMode,
};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

#[derive(Clone, Debug)]
enum Op {
    Normal,
    Return,
    Special(u8),
    Recall,
    Call,
    Hold(usize),
    Release(usize),
    Pin(usize),
    Move(usize, u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Normal),
        2 => Just(Op::Return),
        1 => (0u8..5).prop_map(Op::Special),
        1 => Just(Op::Recall),
        4 => Just(Op::Call),
        1 => (0usize..64).prop_map(Op::Hold),
        1 => (0usize..64).prop_map(Op::Release),
        1 => (0usize..64).prop_map(Op::Pin),
        1 => (0usize..64, 1u32..8).prop_map(|(k, p)| Op::Move(k, p)),
    ]
}

fn audit(at: DateTime<Utc>) -> Audit {
    Audit {
        operator: "prop".into(),
        source: "prop".into(),
        at,
        reason: None,
    }
}

const TAGS: [SpecialTag; 5] = [
    SpecialTag::Military,
    SpecialTag::Elderly,
    SpecialTag::Disabled,
    SpecialTag::Pregnant,
    SpecialTag::Child,
];

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
}

fn new_queue(rules: QueueRules) -> QueueState {
    QueueState::new(
        QueueCode::trusted("Q"),
        "A",
        rules,
        vec![],
        Counters::default(),
        TicketCounter {
            date: day(),
            last: 0,
        },
        1,
    )
}

fn draft(visit: &str, kind: EntryKind, tags: Vec<SpecialTag>, his_seq: Option<i64>) -> EntryDraft {
    EntryDraft {
        visit_no: VisitNo::trusted(visit),
        masked_name: String::new(),
        spoken_name: String::new(),
        kind,
        tags,
        his_seq,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: None,
    }
}

/// Placement codes of patients in the normal line by the base order.
const BASE_CODES: [&str; 4] = [
    "check_in_order",
    "his_sequence",
    "appointment",
    "late_as_on_time",
];

/// Whether a call placed by `code` overtakes (a priority or insertion rule),
/// given the called patient's own rule.
fn overtakes(code: &str, e: &WaitingEntry, rules: &QueueRules) -> bool {
    match code {
        "special_group" | "return_interval" | "recall_interval" | "return_ratio"
        | "late_interval" => true,
        "locked_head" => base_placement(e, rules).overtakes(),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn queue_rules_hold_over_random_days(
        ops in prop::collection::vec(op(), 1..160),
        return_n in 0u32..5,
        recall_n in 0u32..4,
        cap in prop::option::of(1u32..5),
        max_overtaken in prop::option::of(1u32..6),
        locked_head in 0u32..3,
    ) {
        let rules = QueueRules {
            return_interval: Some(return_n),
            recall_interval: recall_n,
            fairness_cap: cap,
            max_overtaken,
            locked_head,
            ..QueueRules::default()
        };
        let mut now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).single().unwrap_or_default();
        let mut q = new_queue(rules.clone());
        let mut arrived: BTreeSet<VisitNo> = BTreeSet::new();
        let mut called: Vec<VisitNo> = Vec::new();
        let mut run_of_priority = 0u32;
        // Overtakes suffered in the normal line, per patient; patients a
        // nurse held, pinned or moved are left out (a nurse overrides).
        let mut overtaken: BTreeMap<VisitNo, u32> = BTreeMap::new();
        let mut touched: BTreeSet<VisitNo> = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            now += Duration::seconds(30);
            let visit = format!("V{i:03}");
            let locked_before: Vec<VisitNo> = q
                .ranked(now)
                .iter()
                .filter(|r| r.placement.code() == "locked_head")
                .map(|r| r.entry.visit_no.clone())
                .collect();
            match op {
                Op::Normal | Op::Return | Op::Special(_) => {
                    let (kind, tags) = match op {
                        Op::Return => (EntryKind::Return, vec![]),
                        Op::Special(t) => (EntryKind::Normal, vec![TAGS[*t as usize]]),
                        _ => (EntryKind::Normal, vec![]),
                    };
                    let c = q.plan_check_in(draft(&visit, kind, tags, None), audit(now), day());
                    prop_assert!(c.is_ok());
                    if let Ok(c) = c { q.apply(&c); }
                    arrived.insert(VisitNo::trusted(visit.clone()));
                }
                Op::Recall => {
                    let c = q.plan_requeue(draft(&visit, EntryKind::Recall, vec![], None), "A000".into(), 1, audit(now));
                    q.apply(&c);
                    arrived.insert(VisitNo::trusted(visit.clone()));
                }
                Op::Hold(k) | Op::Release(k) | Op::Pin(k) | Op::Move(k, _) => {
                    let Some(target) = q.entries().get(*k % q.entries().len().max(1)).map(|e| e.visit_no.clone()) else { continue };
                    let c = match op {
                        Op::Hold(_) => q.plan_hold(&target, true, audit(now)),
                        Op::Release(_) => q.plan_hold(&target, false, audit(now)),
                        Op::Move(_, p) => q.plan_move(&target, *p, audit(now)),
                        _ => q.plan_pin(&target, audit(now)),
                    };
                    if let Some(c) = c { q.apply(&c); }
                    touched.insert(target);
                }
                Op::Call => {
                    let plain_normal: BTreeSet<VisitNo> = q.entries().iter()
                        .filter(|e| e.special.is_none() && e.kind == EntryKind::Normal && e.pinned_at.is_none() && e.moved.is_none())
                        .map(|e| e.visit_no.clone()).collect();
                    let held_before: BTreeSet<VisitNo> = q.entries().iter().filter(|e| e.held).map(|e| e.visit_no.clone()).collect();
                    let normal_waiting = q.entries().iter().any(|e| e.special.is_none() && e.kind == EntryKind::Normal && !e.held && e.pinned_at.is_none() && e.moved.is_none());
                    let before: Vec<WaitingEntry> = q.entries().to_vec();
                    let Some((change, call)) = q.plan_take_next(&RoomCode::trusted("R"), &audit(now), None).into_iter().next() else { continue };
                    let locks = q.locks_after(&change);
                    q.apply(&change);
                    // The lock set a call commits (read off the queue without
                    // the called patient) is the one the call and a relock give.
                    let mut relocked = q.clone();
                    relocked.relock(now);
                    let mut expected: Vec<(VisitNo, i64)> = relocked.entries().iter().filter_map(|e| e.locked.map(|n| (e.visit_no.clone(), n))).collect();
                    expected.sort_by_key(|(_, n)| *n);
                    match locks {
                        Change::Locks { locks, .. } => prop_assert_eq!(locks, expected, "the call's lock set"),
                        other => prop_assert!(false, "not a lock set: {}", other.kind()),
                    }
                    prop_assert!(!held_before.contains(&call.visit_no), "a held patient was called");
                    let is_normal = matches!(call.placement.as_str(), "check_in_order" | "fairness_cap" | "overtake_cap")
                        || (call.placement.as_str() == "locked_head" && plain_normal.contains(&call.visit_no));
                    // The fairness cap holds in the calling sequence (a pin,
                    // a move or the locked head come first by design).
                    if let Some(k) = cap {
                        if run_of_priority >= k && normal_waiting && !matches!(call.placement.as_str(), "pinned" | "locked_head" | "moved") {
                            prop_assert!(is_normal, "a normal patient waited past the cap of {k}");
                        }
                    }
                    run_of_priority = if is_normal { 0 } else { run_of_priority + 1 };
                    prop_assert!(!called.contains(&call.visit_no), "{} called twice", call.visit_no);
                    // The overtake cap holds: no normal patient left in the
                    // line by the rules is overtaken more than M times.
                    let x = before.iter().find(|e| e.visit_no == call.visit_no);
                    if let Some(x) = x {
                        if overtakes(call.placement.as_str(), x, &rules) {
                            for y in before.iter().filter(|y| y.seq < x.seq && y.visit_no != x.visit_no) {
                                if y.special.is_some() || y.kind != EntryKind::Normal || touched.contains(&y.visit_no) {
                                    continue;
                                }
                                let n = overtaken.entry(y.visit_no.clone()).or_default();
                                *n += 1;
                                if let Some(m) = max_overtaken {
                                    prop_assert!(*n <= m, "{} overtaken {} times (cap {})", y.visit_no, n, m);
                                }
                            }
                        }
                    }
                    called.push(call.visit_no);
                }
            }

            q.relock(now);
            // The locked head never changes by an insertion.
            if matches!(op, Op::Normal | Op::Return | Op::Special(_) | Op::Recall) && !locked_before.is_empty() {
                let head: Vec<VisitNo> = q
                    .ranked(now)
                    .iter()
                    .filter(|r| !matches!(r.placement.code(), "pinned" | "moved"))
                    .take(locked_before.len())
                    .map(|r| r.entry.visit_no.clone())
                    .collect();
                prop_assert_eq!(&head, &locked_before, "an arrival went ahead of the locked head");
            }
            // Nobody lost, nobody duplicated.
            let waiting: Vec<VisitNo> = q.entries().iter().map(|e| e.visit_no.clone()).collect();
            let waiting_set: BTreeSet<VisitNo> = waiting.iter().cloned().collect();
            prop_assert_eq!(waiting.len(), waiting_set.len());
            let called_set: BTreeSet<VisitNo> = called.iter().cloned().collect();
            prop_assert!(waiting_set.is_disjoint(&called_set));
            let all: BTreeSet<VisitNo> = waiting_set.union(&called_set).cloned().collect();
            prop_assert_eq!(&all, &arrived);

            // Deterministic.
            let a: Vec<VisitNo> = q.ranked(now).iter().map(|r| r.entry.visit_no.clone()).collect();
            let b: Vec<VisitNo> = q.ranked(now).iter().map(|r| r.entry.visit_no.clone()).collect();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.len(), waiting.len());
            // The entries the queue keeps in line order rank as the pure
            // function ranks them in any order.
            let reversed: Vec<WaitingEntry> = q.entries().iter().rev().cloned().collect();
            let pure: Vec<VisitNo> = rank(&reversed, q.rules(), q.counters(), now).iter().map(|r| r.entry.visit_no.clone()).collect();
            prop_assert_eq!(&a, &pure);

            let ranked = q.ranked(now);
            // A nurse's moves stand where she put them; the rest keep the
            // rules' order around them.
            let all_codes: Vec<&str> = ranked.iter().map(|r| r.placement.code()).filter(|c| *c != "moved").collect();
            // Pinned first, held last, everything else by the rules between.
            let pins = all_codes.iter().take_while(|c| **c == "pinned" || **c == "locked_head").count();
            let helds = all_codes.iter().rev().take_while(|c| **c == "held").count();
            prop_assert!(all_codes[pins..all_codes.len() - helds].iter().all(|c| *c != "pinned" && *c != "held" && *c != "locked_head"), "{all_codes:?}");
            let codes: Vec<&str> = all_codes[pins..all_codes.len() - helds].to_vec();
            // Overtake-capped patients, then a fairness-cap head, then specials.
            let start = codes.iter().take_while(|c| **c == "overtake_cap").count();
            prop_assert!(max_overtaken.is_some() || start == 0);
            prop_assert!(codes[start..].iter().all(|c| *c != "overtake_cap"), "{codes:?}");
            let start = start + usize::from(codes.get(start) == Some(&"fairness_cap"));
            // Special before every non-special (after the fairness heads).
            if let Some(last_special) = codes.iter().rposition(|c| *c == "special_group") {
                prop_assert!(codes[start..=last_special].iter().all(|c| *c == "special_group"), "{codes:?}");
            }
            // Exactly N normals between consecutive inserted patients (fewer
            // only when no normal patient is left after it), at most N before
            // the first.
            let tail: Vec<&str> = codes.iter().copied().skip_while(|c| matches!(*c, "special_group" | "fairness_cap" | "overtake_cap")).collect();
            let interval_of = |c: &str| if c == "recall_interval" { recall_n } else { return_n } as usize;
            let mut normals_since = 0usize;
            let mut seen_inserted = false;
            for (j, c) in tail.iter().enumerate() {
                match *c {
                    "check_in_order" => normals_since += 1,
                    "return_interval" | "recall_interval" => {
                        let n = interval_of(c);
                        let normals_after = tail[j + 1..].contains(&"check_in_order");
                        if seen_inserted {
                            prop_assert!(normals_since == n || (normals_since < n && !normals_after), "{codes:?}");
                        } else {
                            prop_assert!(normals_since <= n, "{codes:?}");
                        }
                        seen_inserted = true;
                        normals_since = 0;
                    }
                    other => prop_assert!(false, "unexpected {other} in {codes:?}"),
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Ratio mode on its own: once K-1 calls have passed since the last
    /// return patient, a waiting return patient is called next (unless a
    /// nurse's pin or the fairness cap comes first); nobody is lost or
    /// called twice.
    #[test]
    fn ratio_mode_calls_a_return_patient_every_k_calls(
        ops in prop::collection::vec(op(), 1..160),
        k in 2u32..6,
    ) {
        let rules = QueueRules { return_ratio: Some(k), fairness_cap: None, max_overtaken: None, ..QueueRules::default() };
        let mut now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).single().unwrap_or_default();
        let mut q = new_queue(rules);
        let mut since_return = 0u32;
        let mut called = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            now += Duration::seconds(30);
            let visit = format!("V{i:03}");
            match op {
                Op::Normal | Op::Special(_) | Op::Recall => {
                    let tags = if let Op::Special(t) = op { vec![TAGS[*t as usize]] } else { vec![] };
                    if let Ok(c) = q.plan_check_in(draft(&visit, EntryKind::Normal, tags, None), audit(now), day()) { q.apply(&c); }
                }
                Op::Return => {
                    if let Ok(c) = q.plan_check_in(draft(&visit, EntryKind::Return, vec![], None), audit(now), day()) { q.apply(&c); }
                }
                Op::Hold(_) | Op::Release(_) | Op::Pin(_) | Op::Move(..) => {}
                Op::Call => {
                    let return_waiting = q.entries().iter().any(|e| e.kind == EntryKind::Return && e.special.is_none() && !e.held);
                    let Some((change, call)) = q.plan_take_next(&RoomCode::trusted("R"), &audit(now), None).into_iter().next() else { continue };
                    q.apply(&change);
                    prop_assert!(called.insert(call.visit_no.clone()), "called twice");
                    if return_waiting && since_return + 1 >= k {
                        prop_assert_eq!(call.placement.as_str(), "return_ratio", "a return patient was due (k = {})", k);
                    }
                    since_return = if call.placement.as_str() == "return_ratio" { 0 } else { since_return + 1 };
                }
            }
        }
    }
}

/// A day with appointments and the time rules: arrivals at random times,
/// some with slots (early, on time, late), HIS numbers, recalls.
#[derive(Clone, Debug)]
enum TimedOp {
    Walk(Option<i64>),
    /// An appointment: slot starts this many minutes from now (may be
    /// past), lasting 30 minutes.
    Appt(i64, Option<i64>),
    Return,
    Special(u8),
    Recall,
    Call,
    /// Time passes (minutes).
    Wait(i64),
    /// A two-stage room takes a patient onto its short list.
    Assign(usize),
}

fn timed_op() -> impl Strategy<Value = TimedOp> {
    prop_oneof![
        4 => prop::option::of(1i64..200).prop_map(TimedOp::Walk),
        3 => (-120i64..90, prop::option::of(1i64..200)).prop_map(|(m, s)| TimedOp::Appt(m, s)),
        1 => Just(TimedOp::Return),
        1 => (0u8..5).prop_map(TimedOp::Special),
        1 => Just(TimedOp::Recall),
        4 => Just(TimedOp::Call),
        2 => (1i64..40).prop_map(TimedOp::Wait),
        1 => (0usize..2).prop_map(TimedOp::Assign),
    ]
}

fn late_rule() -> impl Strategy<Value = LateArrival> {
    prop_oneof![
        Just(LateArrival::AsOnTime),
        (0u32..4).prop_map(LateArrival::Interval),
        Just(LateArrival::EndOfSession),
        Just(LateArrival::EndOfSlot),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn time_rules_hold_over_random_days(
        ops in prop::collection::vec(timed_op(), 1..140),
        mode in prop_oneof![Just(AppointmentMode::Merged), Just(AppointmentMode::AlwaysFirst), Just(AppointmentMode::Slot)],
        base in prop_oneof![Just(BaseOrder::CheckIn), Just(BaseOrder::HisSequence)],
        late in late_rule(),
        recall in prop_oneof![Just(RecallMode::Interval), Just(RecallMode::EndOfSlot), Just(RecallMode::EndOfSession)],
        slot_minutes in prop_oneof![Just(15u32), Just(30), Just(45)],
        start_minute in 0i64..600,
    ) {
        let mut rules = QueueRules {
            appointment_mode: mode,
            base_order: base,
            late_arrival: late,
            recall_mode: recall,
            early_check_in: EarlyCheckIn::Unlimited,
            ..QueueRules::default()
        };
        rules.day.slot_minutes = slot_minutes;
        // 07:30 local (23:30 UTC the day before) plus a random offset: the
        // day crosses sessions and the gaps between them.
        let mut now = Utc.with_ymd_and_hms(2026, 11, 24, 23, 30, 0).single().unwrap_or_default() + Duration::minutes(start_minute);
        let mut q = new_queue(rules.clone());
        let mut arrived = BTreeSet::new();
        let mut called = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            now += Duration::seconds(20);
            let visit = format!("V{i:03}");
            match op {
                TimedOp::Walk(s) => {
                    if let Ok(c) = q.plan_check_in(draft(&visit, EntryKind::Normal, vec![], *s), audit(now), day()) { q.apply(&c); arrived.insert(VisitNo::trusted(visit)); }
                }
                TimedOp::Appt(m, s) => {
                    let slot = Slot { start: now + Duration::minutes(*m), end: now + Duration::minutes(*m + 30) };
                    let c = q.plan_check_in_at(draft(&visit, EntryKind::Normal, vec![], *s), Some(slot), audit(now), day());
                    prop_assert!(c.is_ok(), "unlimited early check-in");
                    if let Ok(c) = c { q.apply(&c); arrived.insert(VisitNo::trusted(visit)); }
                }
                TimedOp::Return => {
                    if let Ok(c) = q.plan_check_in(draft(&visit, EntryKind::Return, vec![], None), audit(now), day()) { q.apply(&c); arrived.insert(VisitNo::trusted(visit)); }
                }
                TimedOp::Special(t) => {
                    if let Ok(c) = q.plan_check_in(draft(&visit, EntryKind::Normal, vec![TAGS[*t as usize]], None), audit(now), day()) { q.apply(&c); arrived.insert(VisitNo::trusted(visit)); }
                }
                TimedOp::Recall => {
                    let c = q.plan_requeue(draft(&visit, EntryKind::Recall, vec![], None), "A000".into(), 1, audit(now));
                    q.apply(&c);
                    arrived.insert(VisitNo::trusted(visit));
                }
                TimedOp::Wait(m) => now += Duration::minutes(*m),
                TimedOp::Assign(r) => {
                    let room = ["R1", "R2"][*r];
                    if let Some(c) = q.plan_assign(&RoomCode::trusted(room), &audit(now), None) { q.apply(&c); }
                }
                TimedOp::Call => {
                    let before: Vec<WaitingEntry> = q.entries().to_vec();
                    let Some((change, call)) = q.plan_take_next(&RoomCode::trusted("R1"), &audit(now), None).into_iter().next() else { continue };
                    let x = before.iter().find(|e| e.visit_no == call.visit_no);
                    prop_assert!(x.is_some_and(|x| x.slot.is_none_or(|s| s.start <= now) || x.assigned.is_some()),
                        "an early appointment patient was called before the slot");
                    prop_assert!(x.is_some_and(|x| x.assigned.as_ref().is_none_or(|a| a.room == "R1")),
                        "a patient on another room's short list was called");
                    q.apply(&change);
                    prop_assert!(called.insert(call.visit_no), "called twice");
                }
            }
            // Nobody lost or duplicated; deterministic.
            let waiting: BTreeSet<VisitNo> = q.entries().iter().map(|e| e.visit_no.clone()).collect();
            prop_assert_eq!(waiting.len(), q.entries().len());
            prop_assert!(waiting.is_disjoint(&called));
            prop_assert_eq!(waiting.union(&called).cloned().collect::<BTreeSet<_>>(), arrived.clone());
            let ranked = q.ranked(now);
            let again: Vec<&str> = q.ranked(now).iter().map(|r| r.entry.visit_no.as_str()).collect();
            prop_assert_eq!(ranked.iter().map(|r| r.entry.visit_no.as_str()).collect::<Vec<_>>(), again.clone());
            let reversed: Vec<WaitingEntry> = q.entries().iter().rev().cloned().collect();
            let pure: Vec<&str> = rank(&reversed, q.rules(), q.counters(), now).iter().map(|r| r.entry.visit_no.as_str()).collect();
            prop_assert_eq!(again, pure, "the kept line order ranks otherwise than the pure function");

            let anchor = |e: &WaitingEntry| e.slot.map_or(e.checked_in_at, |s| s.start);
            let slot_key = |e: &WaitingEntry| (rules.day.slot_of(anchor(e)).start, e.slot.is_none());
            // The base order holds along the normal line.
            let line: Vec<&WaitingEntry> = ranked.iter().filter(|r| BASE_CODES.contains(&r.placement.code())).map(|r| r.entry).collect();
            for w in line.windows(2) {
                let (a, b) = (w[0], w[1]);
                let primary = |e: &WaitingEntry| match base {
                    BaseOrder::CheckIn => (anchor(e).timestamp_micros(), 0),
                    BaseOrder::HisSequence => (e.his_seq.unwrap_or(i64::MAX), anchor(e).timestamp_micros()),
                };
                match mode {
                    AppointmentMode::Merged => prop_assert!(primary(a) <= primary(b), "merged order"),
                    AppointmentMode::AlwaysFirst => prop_assert!((a.slot.is_none(), primary(a)) <= (b.slot.is_none(), primary(b)), "appointments first"),
                    AppointmentMode::Slot => prop_assert!((slot_key(a), primary(a)) <= (slot_key(b), primary(b)), "slot order"),
                }
            }
            // "End of slot / session": nobody who belongs before that end
            // stands after the patient placed there.
            for (i, r) in ranked.iter().enumerate() {
                let t = match r.placement.code() {
                    "late_end_of_slot" | "recall_end_of_slot" => rules.day.slot_of(r.entry.checked_in_at).end,
                    "late_end_of_session" | "recall_end_of_session" => rules.day.session_of(r.entry.checked_in_at).end,
                    _ => continue,
                };
                for later in &ranked[i + 1..] {
                    if BASE_CODES.contains(&later.placement.code()) {
                        prop_assert!(anchor(later.entry) >= t, "{} belongs before {} but stands after {}", later.entry.visit_no, t, r.entry.visit_no);
                    }
                }
            }
            // Early appointment patients are listed, never ahead of callable ones.
            if let Some(first_waiting) = ranked.iter().position(|r| r.placement.code() == "awaiting_slot") {
                prop_assert!(ranked[first_waiting..].iter().all(|r| matches!(r.placement.code(), "awaiting_slot" | "held")));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Two rooms calling from one queue, some patients booked for one of
    /// them (预约到诊室): a booked patient is called by its room only,
    /// nobody is called twice, and when both rooms call until the queue is
    /// empty nobody is left behind.
    #[test]
    fn rooms_never_take_a_patient_booked_for_another_room(
        arrivals in prop::collection::vec((prop::option::of(0usize..2), 0u8..4), 1..60),
        calls in prop::collection::vec(0usize..2, 0..80),
    ) {
        const ROOMS: [&str; 2] = ["R1", "R2"];
        let mut now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).single().unwrap_or_default();
        let mut q = new_queue(QueueRules::default());
        let mut booked = std::collections::BTreeMap::new();
        for (i, (room, kind)) in arrivals.iter().enumerate() {
            now += Duration::seconds(30);
            let visit = format!("V{i:03}");
            let kind = match kind { 0 => EntryKind::Return, _ => EntryKind::Normal };
            let mut d = draft(&visit, kind, vec![], None);
            d.room = room.map(|r| RoomCode::trusted(ROOMS[r]));
            if let Some(r) = room { booked.insert(visit.clone(), ROOMS[*r]); }
            if let Ok(c) = q.plan_check_in(d, audit(now), day()) { q.apply(&c); }
        }
        let mut called = BTreeSet::new();
        let take = |q: &mut QueueState, room: &str, now| -> Option<String> {
            let (change, call) = q.plan_take_next(&RoomCode::trusted(room), &audit(now), None).into_iter().next()?;
            q.apply(&change);
            Some(call.visit_no.into())
        };
        for r in calls.iter().map(|r| ROOMS[*r]).chain(std::iter::repeat_n("R1", 60)).chain(std::iter::repeat_n("R2", 60)) {
            now += Duration::seconds(30);
            if let Some(v) = take(&mut q, r, now) {
                if let Some(b) = booked.get(&v) { prop_assert_eq!(*b, r, "{} booked for {} called by {}", v, b, r); }
                prop_assert!(called.insert(v), "called twice");
            }
        }
        prop_assert!(q.entries().is_empty(), "left behind: {:?}", q.entries().iter().map(|e| &e.visit_no).collect::<Vec<_>>());
    }
}
