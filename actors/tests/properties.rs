//! Property tests over random sequences of arrivals, recalls and calls: the
//! queue never loses or duplicates a patient, ranking is deterministic, the
//! interval rules hold in every ranking, special patients come first within
//! the fairness cap, and the cap holds in the calling sequence.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use triage_actors::model::{Audit, Counters, EntryKind, TicketCounter};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::QueueRules;

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

const TAGS: [&str; 5] = ["military", "elderly", "disabled", "pregnant", "child"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn queue_rules_hold_over_random_days(
        ops in prop::collection::vec(op(), 1..160),
        return_n in 0u32..5,
        recall_n in 0u32..4,
        cap in prop::option::of(1u32..5),
        locked_head in 0u32..3,
    ) {
        let rules = QueueRules {
            return_interval: Some(return_n),
            recall_interval: recall_n,
            fairness_cap: cap,
            locked_head,
            ..QueueRules::default()
        };
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        let mut now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).single().unwrap_or_default();
        let mut q = QueueState::new("Q", "A", rules.clone(), vec![], Counters::default(), TicketCounter { date: day, last: 0 }, 1);
        let mut arrived: BTreeSet<String> = BTreeSet::new();
        let mut called: Vec<String> = Vec::new();
        let mut run_of_priority = 0u32;
        for (i, op) in ops.iter().enumerate() {
            now += Duration::seconds(30);
            let visit = format!("V{i:03}");
            let locked_before: Vec<String> = q
                .ranked(now)
                .iter()
                .filter(|r| r.placement.code() == "locked_head")
                .map(|r| r.entry.visit_no.clone())
                .collect();
            let draft = |kind, tags: Vec<String>| EntryDraft {
                visit_no: visit.clone(),
                masked_name: String::new(),
                spoken_name: String::new(),
                kind,
                tags,
            };
            match op {
                Op::Normal | Op::Return | Op::Special(_) => {
                    let (kind, tags) = match op {
                        Op::Return => (EntryKind::Return, vec![]),
                        Op::Special(t) => (EntryKind::Normal, vec![TAGS[*t as usize].to_string()]),
                        _ => (EntryKind::Normal, vec![]),
                    };
                    let c = q.plan_check_in(draft(kind, tags), audit(now), day);
                    prop_assert!(c.is_ok());
                    if let Ok(c) = c { q.apply(&c); }
                    arrived.insert(visit.clone());
                }
                Op::Recall => {
                    let c = q.plan_requeue(draft(EntryKind::Recall, vec![]), "A000".into(), 1, audit(now));
                    q.apply(&c);
                    arrived.insert(visit.clone());
                }
                Op::Hold(k) | Op::Release(k) | Op::Pin(k) => {
                    let Some(target) = q.entries().get(*k % q.entries().len().max(1)).map(|e| e.visit_no.clone()) else { continue };
                    let c = match op {
                        Op::Hold(_) => q.plan_hold(&target, true, audit(now)),
                        Op::Release(_) => q.plan_hold(&target, false, audit(now)),
                        _ => q.plan_pin(&target, audit(now)),
                    };
                    if let Some(c) = c { q.apply(&c); }
                }
                Op::Call => {
                    let plain_normal: BTreeSet<String> = q.entries().iter()
                        .filter(|e| e.special.is_none() && e.kind == EntryKind::Normal && e.pinned_at.is_none())
                        .map(|e| e.visit_no.clone()).collect();
                    let held_before: BTreeSet<String> = q.entries().iter().filter(|e| e.held).map(|e| e.visit_no.clone()).collect();
                    let normal_waiting = q.entries().iter().any(|e| e.special.is_none() && e.kind == EntryKind::Normal && !e.held && e.pinned_at.is_none());
                    let Some((change, call)) = q.plan_take_next("R", &audit(now)).into_iter().next() else { continue };
                    q.apply(&change);
                    prop_assert!(!held_before.contains(&call.visit_no), "a held patient was called");
                    let is_normal = matches!(call.placement.as_str(), "check_in_order" | "fairness_cap")
                        || (call.placement == "locked_head" && plain_normal.contains(&call.visit_no));
                    // The fairness cap holds in the calling sequence (a pin or
                    // the locked head come first by design).
                    if let Some(k) = cap {
                        if run_of_priority >= k && normal_waiting && call.placement != "pinned" && call.placement != "locked_head" {
                            prop_assert!(is_normal, "a normal patient waited past the cap of {k}");
                        }
                    }
                    run_of_priority = if is_normal { 0 } else { run_of_priority + 1 };
                    prop_assert!(!called.contains(&call.visit_no), "{} called twice", call.visit_no);
                    called.push(call.visit_no);
                }
            }

            q.relock(now);
            // The locked head never changes by an insertion.
            if matches!(op, Op::Normal | Op::Return | Op::Special(_) | Op::Recall) && !locked_before.is_empty() {
                let head: Vec<String> = q
                    .ranked(now)
                    .iter()
                    .filter(|r| r.placement.code() != "pinned")
                    .take(locked_before.len())
                    .map(|r| r.entry.visit_no.clone())
                    .collect();
                prop_assert_eq!(&head, &locked_before, "an arrival went ahead of the locked head");
            }
            // Nobody lost, nobody duplicated.
            let waiting: Vec<String> = q.entries().iter().map(|e| e.visit_no.clone()).collect();
            let waiting_set: BTreeSet<String> = waiting.iter().cloned().collect();
            prop_assert_eq!(waiting.len(), waiting_set.len());
            let called_set: BTreeSet<String> = called.iter().cloned().collect();
            prop_assert!(waiting_set.is_disjoint(&called_set));
            let all: BTreeSet<String> = waiting_set.union(&called_set).cloned().collect();
            prop_assert_eq!(&all, &arrived);

            // Deterministic.
            let a: Vec<String> = q.ranked(now).iter().map(|r| r.entry.visit_no.clone()).collect();
            let b: Vec<String> = q.ranked(now).iter().map(|r| r.entry.visit_no.clone()).collect();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.len(), waiting.len());

            let ranked = q.ranked(now);
            let all_codes: Vec<&str> = ranked.iter().map(|r| r.placement.code()).collect();
            // Pinned first, held last, everything else by the rules between.
            let pins = all_codes.iter().take_while(|c| **c == "pinned" || **c == "locked_head").count();
            let helds = all_codes.iter().rev().take_while(|c| **c == "held").count();
            prop_assert!(all_codes[pins..all_codes.len() - helds].iter().all(|c| *c != "pinned" && *c != "held" && *c != "locked_head"), "{all_codes:?}");
            let codes: Vec<&str> = all_codes[pins..all_codes.len() - helds].to_vec();
            let start = usize::from(codes.first() == Some(&"fairness_cap"));
            // Special before every non-special (after a fairness-cap head).
            if let Some(last_special) = codes.iter().rposition(|c| *c == "special_group") {
                prop_assert!(codes[start..=last_special].iter().all(|c| *c == "special_group"), "{codes:?}");
            }
            // Exactly N normals between consecutive inserted patients (fewer
            // only when no normal patient is left after it), at most N before
            // the first.
            let tail: Vec<&str> = codes.iter().copied().skip_while(|c| *c == "special_group" || *c == "fairness_cap").collect();
            let interval_of = |c: &str| if c == "recall_interval" { recall_n } else { return_n } as usize;
            let mut normals_since = 0usize;
            let mut seen_inserted = false;
            for (j, c) in tail.iter().enumerate() {
                match *c {
                    "check_in_order" => normals_since += 1,
                    "return_interval" | "recall_interval" => {
                        let n = interval_of(c);
                        let normals_after = tail[j + 1..].iter().any(|x| *x == "check_in_order");
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

    /// Ratio mode: once K-1 calls have passed since the last return patient,
    /// a waiting return patient is called next (unless a nurse's pin or the
    /// fairness cap comes first); nobody is lost or called twice.
    #[test]
    fn ratio_mode_calls_a_return_patient_every_k_calls(
        ops in prop::collection::vec(op(), 1..160),
        k in 2u32..6,
    ) {
        let rules = QueueRules { return_ratio: Some(k), fairness_cap: None, ..QueueRules::default() };
        let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
        let mut now = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).single().unwrap_or_default();
        let mut q = QueueState::new("Q", "A", rules, vec![], Counters::default(), TicketCounter { date: day, last: 0 }, 1);
        let mut since_return = 0u32;
        let mut called = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            now += Duration::seconds(30);
            let visit = format!("V{i:03}");
            let draft = |kind, tags: Vec<String>| EntryDraft { visit_no: visit.clone(), masked_name: String::new(), spoken_name: String::new(), kind, tags };
            match op {
                Op::Normal | Op::Special(_) | Op::Recall => {
                    let tags = if let Op::Special(t) = op { vec![TAGS[*t as usize].to_string()] } else { vec![] };
                    if let Ok(c) = q.plan_check_in(draft(EntryKind::Normal, tags), audit(now), day) { q.apply(&c); }
                }
                Op::Return => {
                    if let Ok(c) = q.plan_check_in(draft(EntryKind::Return, vec![]), audit(now), day) { q.apply(&c); }
                }
                Op::Hold(_) | Op::Release(_) | Op::Pin(_) => {}
                Op::Call => {
                    let return_waiting = q.entries().iter().any(|e| e.kind == EntryKind::Return && e.special.is_none() && !e.held);
                    let Some((change, call)) = q.plan_take_next("R", &audit(now)).into_iter().next() else { continue };
                    q.apply(&change);
                    prop_assert!(called.insert(call.visit_no.clone()), "called twice");
                    if return_waiting && since_return + 1 >= k {
                        prop_assert_eq!(call.placement.as_str(), "return_ratio", "a return patient was due (k = {})", k);
                    }
                    since_return = if call.placement == "return_ratio" { 0 } else { since_return + 1 };
                }
            }
        }
    }
}
