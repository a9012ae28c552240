//! The ordering rules as tables: one table per rule of `QUEUE-RULES.md`,
//! then combinations, each case a short script of what happens at the
//! desk and the calling order written out by hand. Runs on the plain
//! `QueueState` with an injected clock (no runtime, no sleeps).
//!
//! Script (one step per `;`; times are the hospital's local time on
//! 2026-11-25, every arrival and call takes one minute):
//!
//! | step | meaning |
//! | --- | --- |
//! | `@09:30` | the clock is set to 09:30 |
//! | `+5` | five minutes pass |
//! | `w W1` / `w W1 #7` | a walk-in checks in (with HIS sequence number 7) |
//! | `a A1 09:00-09:30` / `… #3` | an appointment patient checks in (slot 09:00–09:30) |
//! | `r R1` | a return visit (复诊) checks in |
//! | `s S1 elderly` | a special-group patient checks in |
//! | `x X1` | back after a missed call (过号召回) |
//! | `b B1` | back from an exam with results (回诊) |
//! | `c` / `c R2` | room R1 (or R2) calls next |
//! | `h V` / `u V` / `p V` / `m V 2` | hold, release, pin, move to position 2 |
//! | `g R1` | room R1 takes the next patient onto its short list |
//! | `l` | the locked head is brought up to date |

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use triage_actors::journal::Change;
use triage_actors::model::{Audit, Counters, EntryKind, Slot, SpecialTag, TicketCounter};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_actors::rules::{
    AppointmentMode, BaseOrder, EarlyCheckIn, LateArrival, QueueRules, RecallMode,
};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

struct Case {
    name: &'static str,
    rules: fn(&mut QueueRules),
    script: &'static str,
    /// Calling order at the end (every waiting patient).
    order: &'static str,
    /// Placement codes of `order`, or empty to skip.
    codes: &'static str,
    /// Patients called by the script's `c` steps, in order.
    calls: &'static str,
}

/// 2026-11-25 local `hh:mm` (UTC+8) as UTC.
fn local(hhmm: &str) -> DateTime<Utc> {
    let (h, m) = hhmm.split_once(':').unwrap_or(("0", "0"));
    let (h, m): (i64, i64) = (h.parse().unwrap_or(0), m.parse().unwrap_or(0));
    Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(h * 60 + m - 8 * 60)
}

fn audit(at: DateTime<Utc>) -> Audit {
    Audit {
        operator: "nurse".into(),
        source: "table".into(),
        at,
        reason: Some("table".into()),
    }
}

fn his(words: &[&str]) -> Option<i64> {
    words
        .iter()
        .find_map(|w| w.strip_prefix('#'))
        .and_then(|n| n.parse().ok())
}

/// Runs a case's script; answers (order, codes, calls).
fn run(case: &Case) -> (String, String, String) {
    let mut rules = QueueRules {
        // Each rule on its own unless the case turns others on.
        fairness_cap: None,
        max_overtaken: None,
        ..QueueRules::default()
    };
    (case.rules)(&mut rules);
    let day = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default();
    let mut q = QueueState::new(
        QueueCode::trusted("Q"),
        "A",
        rules,
        vec![],
        Counters::default(),
        TicketCounter { date: day, last: 0 },
        1,
    );
    let mut now = local("08:00");
    let mut calls: Vec<String> = Vec::new();
    for step in case
        .script
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let w: Vec<&str> = step.split_whitespace().collect();
        let draft = |kind, tags: Vec<SpecialTag>| EntryDraft {
            visit_no: VisitNo::trusted(w.get(1).copied().unwrap_or("")),
            masked_name: String::new(),
            spoken_name: String::new(),
            kind,
            tags,
            his_seq: his(&w),
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        };
        let change: Option<Change> = match w[0] {
            t if t.starts_with('@') => {
                now = local(&t[1..]);
                None
            }
            t if t.starts_with('+') => {
                now += Duration::minutes(t[1..].parse().unwrap_or(0));
                None
            }
            "w" | "r" | "s" => {
                let (kind, tags) = match w[0] {
                    "r" => (EntryKind::Return, vec![]),
                    "s" => (
                        EntryKind::Normal,
                        vec![SpecialTag::parse(w[2])
                            .unwrap_or_else(|| panic!("{}: {step}: no tag {}", case.name, w[2]))],
                    ),
                    _ => (EntryKind::Normal, vec![]),
                };
                let c = q.plan_check_in(draft(kind, tags), audit(now), day);
                Some(c.unwrap_or_else(|e| panic!("{}: {step}: {e}", case.name)))
            }
            "a" => {
                let (start, end) = w[2].split_once('-').unwrap_or(("", ""));
                let slot = Slot {
                    start: local(start),
                    end: local(end),
                };
                let c = q.plan_check_in_at(
                    draft(EntryKind::Normal, vec![]),
                    Some(slot),
                    audit(now),
                    day,
                );
                Some(c.unwrap_or_else(|e| panic!("{}: {step}: {e}", case.name)))
            }
            "x" | "b" => {
                let kind = if w[0] == "x" {
                    EntryKind::Recall
                } else {
                    EntryKind::Return
                };
                Some(q.plan_requeue(draft(kind, vec![]), "A999".into(), 1, audit(now)))
            }
            "c" => {
                let room = w.get(1).copied().unwrap_or("R1");
                let plan = q
                    .plan_take_next(&RoomCode::trusted(room), &audit(now), None)
                    .into_iter()
                    .next();
                plan.map(|(change, call)| {
                    calls.push(call.visit_no.to_string());
                    change
                })
            }
            "h" => q.plan_hold(&VisitNo::trusted(w[1]), true, audit(now)),
            "u" => q.plan_hold(&VisitNo::trusted(w[1]), false, audit(now)),
            "p" => q.plan_pin(&VisitNo::trusted(w[1]), audit(now)),
            "m" => q.plan_move(
                &VisitNo::trusted(w[1]),
                w[2].parse().unwrap_or(1),
                audit(now),
            ),
            "g" => q.plan_assign(&RoomCode::trusted(w[1]), &audit(now), None),
            "l" => {
                q.relock(now);
                None
            }
            other => panic!("{}: unknown step {other}", case.name),
        };
        if let Some(c) = change {
            q.apply(&c);
            now += Duration::minutes(1);
        }
    }
    let ranked = q.ranked(now);
    let order: Vec<&str> = ranked.iter().map(|r| r.entry.visit_no.as_str()).collect();
    let codes: Vec<&str> = ranked.iter().map(|r| r.placement.code()).collect();
    (order.join(" "), codes.join(" "), calls.join(" "))
}

fn check(table: &[Case]) {
    for case in table {
        let (order, codes, calls) = run(case);
        assert_eq!(order, case.order, "{}: order", case.name);
        if !case.codes.is_empty() {
            assert_eq!(codes, case.codes, "{}: placements", case.name);
        }
        assert_eq!(calls, case.calls, "{}: calls", case.name);
    }
}

fn none(_: &mut QueueRules) {}

#[test]
fn rule_1_base_order() {
    check(&[
        Case {
            name: "check-in time",
            rules: none,
            script: "w W1; w W2; w W3",
            order: "W1 W2 W3",
            codes: "check_in_order check_in_order check_in_order",
            calls: "",
        },
        Case {
            name: "HIS sequence; without a number after those with one",
            rules: |r| r.base_order = BaseOrder::HisSequence,
            script: "w W1 #3; w W2 #1; w W3; w W4 #2",
            order: "W2 W4 W1 W3",
            codes: "his_sequence his_sequence his_sequence check_in_order",
            calls: "",
        },
        Case {
            name: "HIS sequence decides the calls",
            rules: |r| r.base_order = BaseOrder::HisSequence,
            script: "w W1 #9; w W2 #4; c; w W3 #1; c; c",
            order: "",
            codes: "",
            calls: "W2 W3 W1",
        },
    ]);
}

#[test]
fn rule_2_appointments() {
    check(&[
        Case {
            name: "merged: appointments by slot start among walk-ins by check-in",
            rules: none,
            script: "@08:40; w W1; a A1 08:30-09:00; w W2",
            order: "A1 W1 W2",
            codes: "appointment check_in_order check_in_order",
            calls: "",
        },
        Case {
            name: "always_first: every appointment before every walk-in",
            rules: |r| r.appointment_mode = AppointmentMode::AlwaysFirst,
            script: "@09:00; w W1; a A2 08:45-09:30; a A1 08:30-09:30; w W2",
            order: "A1 A2 W1 W2",
            codes: "appointment appointment check_in_order check_in_order",
            calls: "",
        },
        Case {
            name: "slot: by time slot, appointments first within a slot",
            rules: |r| r.appointment_mode = AppointmentMode::Slot,
            script: "@08:05; w W1; a A1 08:00-08:30; @08:31; w W2; a A2 08:30-09:00",
            order: "A1 W1 A2 W2",
            codes: "appointment check_in_order appointment check_in_order",
            calls: "",
        },
        Case {
            name: "slot: a walk-in of an earlier slot goes before a later appointment",
            rules: |r| r.appointment_mode = AppointmentMode::Slot,
            script: "@08:10; w W1; @08:40; a A1 08:30-09:00; c; c",
            order: "",
            codes: "",
            calls: "W1 A1",
        },
        Case {
            name: "an early patient waits for the slot, then takes it",
            rules: none,
            script: "@08:40; a A1 09:00-09:30; w W1; c; @09:00; w W2",
            order: "A1 W2",
            codes: "appointment check_in_order",
            calls: "W1",
        },
        Case {
            name: "an early patient is listed but not callable",
            rules: none,
            script: "@08:40; a A1 09:00-09:30; c",
            order: "A1",
            codes: "awaiting_slot",
            calls: "",
        },
    ]);
}

#[test]
fn rule_3_late_arrivals() {
    check(&[
        Case {
            name: "interval 2",
            rules: |r| r.late_arrival = LateArrival::Interval(2),
            script: "@09:10; w W1; w W2; w W3; a L1 08:00-08:30",
            order: "W1 W2 L1 W3",
            codes: "check_in_order check_in_order late_interval check_in_order",
            calls: "",
        },
        Case {
            name: "end of the slot current on arrival",
            rules: |r| r.late_arrival = LateArrival::EndOfSlot,
            script: "@09:10; w W1; w W2; a L1 08:00-08:30; w W3; @09:35; w W4",
            order: "W1 W2 W3 L1 W4",
            codes: "check_in_order check_in_order check_in_order late_end_of_slot check_in_order",
            calls: "",
        },
        Case {
            name: "end of the session (morning ends 12:00)",
            rules: |r| r.late_arrival = LateArrival::EndOfSession,
            script: "@11:00; w W1; a L1 08:00-08:30; w W2; @13:40; w W3",
            order: "W1 W2 L1 W3",
            codes: "check_in_order check_in_order late_end_of_session check_in_order",
            calls: "",
        },
        Case {
            name: "as on time: by the slot",
            rules: |r| r.late_arrival = LateArrival::AsOnTime,
            script: "@09:00; w W1; a L1 08:00-08:30",
            order: "L1 W1",
            codes: "late_as_on_time check_in_order",
            calls: "",
        },
    ]);
}

#[test]
fn rule_4_special_groups() {
    check(&[
        Case {
            name: "before everyone, lower level first, same level by time",
            rules: none,
            script: "s S1 child; s S2 military; w W1; s S3 elderly; s S4 pregnant",
            order: "S2 S3 S4 S1 W1",
            codes: "special_group special_group special_group special_group check_in_order",
            calls: "",
        },
        Case {
            name: "levels are per queue",
            rules: |r| {
                r.special_levels.insert(SpecialTag::Child, 1);
            },
            script: "s S1 military; s S2 child",
            order: "S1 S2",
            codes: "",
            calls: "",
        },
        Case {
            name: "a tag without a level gives no priority",
            rules: |r| {
                r.special_levels.remove(&SpecialTag::Pregnant);
            },
            script: "w W1; s S1 pregnant",
            order: "W1 S1",
            codes: "check_in_order check_in_order",
            calls: "",
        },
    ]);
}

#[test]
fn rule_5_fairness() {
    check(&[
        Case {
            name: "after K = 2 priority calls in a row, the longest-waiting normal",
            rules: |r| r.fairness_cap = Some(2),
            script: "w W1; w W2; s S1 elderly; s S2 elderly; s S3 elderly; s S4 elderly; c; c; c; c; c; c",
            order: "",
            codes: "",
            calls: "S1 S2 W1 S3 S4 W2",
        },
        Case {
            name: "the fairness head says why",
            rules: |r| r.fairness_cap = Some(2),
            script: "w W1; s S1 elderly; s S2 elderly; s S3 elderly; c; c",
            order: "W1 S3",
            codes: "fairness_cap special_group",
            calls: "S1 S2",
        },
        Case {
            name: "overtaken M = 2 times, a normal patient is not overtaken again",
            rules: |r| r.max_overtaken = Some(2),
            script: "w W1; s S1 elderly; s S2 elderly; s S3 elderly; c; c",
            order: "W1 S3",
            codes: "overtake_cap special_group",
            calls: "S1 S2",
        },
        Case {
            name: "only those who came later overtake",
            rules: |r| r.max_overtaken = Some(1),
            script: "s S1 elderly; w W1; c; s S2 elderly",
            order: "S2 W1",
            codes: "special_group check_in_order",
            calls: "S1",
        },
    ]);
}

#[test]
fn rule_6_locked_head() {
    check(&[Case {
        name: "nobody is inserted ahead of the first L = 2",
        rules: |r| {
            r.locked_head = 2;
            r.return_interval = Some(0);
        },
        script: "w N1; l; w N2; l; w N3; l; s S1 military; l; r R1; l",
        order: "N1 N2 S1 R1 N3",
        codes: "locked_head locked_head special_group return_interval check_in_order",
        calls: "",
    }]);
}

#[test]
fn rule_7_return_visits() {
    check(&[
        Case {
            name: "interval 2: exactly 2 normals between",
            rules: |r| r.return_interval = Some(2),
            script: "w N1; w N2; w N3; w N4; r R1; r R2; w N5",
            order: "N1 N2 R1 N3 N4 R2 N5",
            codes: "",
            calls: "",
        },
        Case {
            name: "interval 0: first",
            rules: |r| r.return_interval = Some(0),
            script: "w N1; r R1",
            order: "R1 N1",
            codes: "return_interval check_in_order",
            calls: "",
        },
        Case {
            name: "normals called while waiting count",
            rules: |r| r.return_interval = Some(2),
            script: "w N1; w N2; w N3; r R1; c; w N4",
            order: "N2 R1 N3 N4",
            codes: "",
            calls: "N1",
        },
        Case {
            name: "ratio: one return patient every 3 calls",
            rules: |r| r.return_ratio = Some(3),
            script: "w N1; w N2; w N3; w N4; r R1; r R2",
            order: "N1 N2 R1 N3 N4 R2",
            codes: "check_in_order check_in_order return_ratio check_in_order check_in_order return_ratio",
            calls: "",
        },
        Case {
            name: "off: return visits queue as normal",
            rules: |r| r.return_interval = None,
            script: "w N1; r R1; w N2",
            order: "N1 R1 N2",
            codes: "check_in_order check_in_order check_in_order",
            calls: "",
        },
    ]);
}

#[test]
fn rule_8_missed_calls() {
    check(&[
        Case {
            name: "recall by interval 2",
            rules: |r| r.recall_interval = 2,
            script: "w N1; w N2; w N3; x X1",
            order: "N1 N2 X1 N3",
            codes: "check_in_order check_in_order recall_interval check_in_order",
            calls: "",
        },
        Case {
            name: "recall to the end of the slot",
            rules: |r| r.recall_mode = RecallMode::EndOfSlot,
            script: "@09:05; w N1; w N2; x X1; w N3; @09:31; w N4",
            order: "N1 N2 N3 X1 N4",
            codes: "check_in_order check_in_order check_in_order recall_end_of_slot check_in_order",
            calls: "",
        },
        Case {
            name: "recall to the end of the session",
            rules: |r| r.recall_mode = RecallMode::EndOfSession,
            script: "@11:50; w N1; x X1; w N2; @13:31; w N3",
            order: "N1 N2 X1 N3",
            codes: "check_in_order check_in_order recall_end_of_session check_in_order",
            calls: "",
        },
    ]);
}

#[test]
fn rule_9_back_from_an_exam() {
    check(&[Case {
        name: "back with results: by the return-visit interval",
        rules: |r| r.return_interval = Some(2),
        script: "w N1; w N2; w N3; b B1",
        order: "N1 N2 B1 N3",
        codes: "check_in_order check_in_order return_interval check_in_order",
        calls: "",
    }]);
}

#[test]
fn rule_10_manual_intervention() {
    check(&[
        Case {
            name: "pin",
            rules: none,
            script: "w N1; w N2; w N3; p N3",
            order: "N3 N1 N2",
            codes: "pinned check_in_order check_in_order",
            calls: "",
        },
        Case {
            name: "hold: listed last, not called; release: back in place",
            rules: none,
            script: "w N1; w N2; h N1; c; w N3",
            order: "N3 N1",
            codes: "check_in_order held",
            calls: "N2",
        },
        Case {
            name: "released",
            rules: none,
            script: "w N1; w N2; h N1; u N1",
            order: "N1 N2",
            codes: "",
            calls: "",
        },
        Case {
            name: "move to position 2, then up with the line",
            rules: none,
            script: "w N1; w N2; w N3; w N4; w N5; m N5 2; c",
            order: "N5 N2 N3 N4",
            codes: "moved check_in_order check_in_order check_in_order",
            calls: "N1",
        },
        Case {
            name: "the latest move gets the position asked for",
            rules: none,
            script: "w N1; w N2; w N3; w N4; m N3 1; m N4 1",
            order: "N4 N3 N1 N2",
            codes: "moved moved check_in_order check_in_order",
            calls: "",
        },
    ]);
}

#[test]
fn rule_13_two_stage_waiting() {
    check(&[
        Case {
            name: "short lists in the order sent; only that room calls them",
            rules: none,
            script: "w N1; w N2; w N3; w N4; g R1; g R2; g R1",
            order: "N1 N3 N2 N4",
            codes: "room_waiting room_waiting room_waiting check_in_order",
            calls: "",
        },
        Case {
            name: "a room calls its own short list, others the general list",
            rules: none,
            script: "w N1; w N2; w N3; g R1; g R2; c R2; c R3; c R1",
            order: "",
            codes: "",
            calls: "N2 N3 N1",
        },
        Case {
            name: "a send is a call for the rules: return interval counts it",
            rules: |r| r.return_interval = Some(2),
            script: "w N1; w N2; w N3; r R1; g R1",
            order: "N1 N2 R1 N3",
            codes: "room_waiting check_in_order return_interval check_in_order",
            calls: "",
        },
    ]);
}

fn slots_late_return_fairness(r: &mut QueueRules) {
    r.appointment_mode = AppointmentMode::Slot;
    r.late_arrival = LateArrival::EndOfSlot;
    r.return_interval = Some(1);
    r.fairness_cap = Some(2);
}

#[test]
fn combination_slots_late_return_special_and_fairness_cap() {
    // Slot mode (30 min), late to the end of the slot, return interval 1,
    // fairness cap 2. At 09:07: specials first (military, then elderly);
    // W1 of the 08:30 slot; R1 after 1 normal; the 09:00 slot: A1
    // (appointment) before the walk-ins W2, W3; L1 (late, came 09:02) at
    // the end of the 09:00 slot; A2 waits for 09:30.
    check(&[Case {
        name: "order",
        rules: slots_late_return_fairness,
        script: "@08:50; w W1; a A1 09:00-09:30; @09:01; w W2; a L1 08:00-08:30; r R1; s S1 elderly; w W3; s S2 military; a A2 09:30-10:00",
        order: "S2 S1 W1 R1 A1 W2 W3 L1 A2",
        codes: "special_group special_group check_in_order return_interval appointment check_in_order check_in_order late_end_of_slot awaiting_slot",
        calls: "",
    },
    // Calling it out: after two priority calls the cap lets W1 (the
    // longest-waiting normal) through; R1 has had its 1 normal; A2 once
    // 09:30 has come.
    Case {
        name: "calls",
        rules: slots_late_return_fairness,
        script: "@08:50; w W1; a A1 09:00-09:30; @09:01; w W2; a L1 08:00-08:30; r R1; s S1 elderly; w W3; s S2 military; a A2 09:30-10:00; c; c; c; c; c; c; c; c; c; @09:31; c",
        order: "",
        codes: "",
        calls: "S2 S1 W1 R1 A1 W2 W3 L1 A2",
    }]);
}

#[test]
fn combination_his_sequence_always_first_recall_overtake_cap_move_and_hold() {
    // HIS order, appointments first, recall to the end of the session,
    // overtake cap 2, return interval 3. Two specials are called; every
    // normal patient who came before them has now been overtaken twice and
    // goes first, in the base order (A1, then HIS numbers 3, 7, none). X1
    // comes back from a missed call to the end of the morning: the normal
    // line, where R1 is still owed 3 normals. The nurse holds W1 and moves
    // R1 to the front.
    check(&[Case {
        name: "order",
        rules: |r| {
            r.base_order = BaseOrder::HisSequence;
            r.appointment_mode = AppointmentMode::AlwaysFirst;
            r.recall_mode = RecallMode::EndOfSession;
            r.max_overtaken = Some(2);
            r.return_interval = Some(3);
            r.early_check_in = EarlyCheckIn::Unlimited;
        },
        script: "@10:00; w W1 #7; w W2 #3; a A1 09:30-10:30 #9; w W3; r R1; s S1 pregnant; s S2 child; c; c; x X1; h W1; m R1 1",
        order: "R1 A1 W2 W3 X1 W1",
        codes: "moved overtake_cap overtake_cap overtake_cap recall_end_of_session held",
        calls: "S1 S2",
    }]);
}

#[test]
fn combination_two_stage_with_specials_and_return_visits() {
    // S1 goes to R1's short list first (special), then N1 to R1, N2 to R2;
    // R3 has no short list and calls the general list. The return visit is
    // owed 3 normals counted from its arrival: the two sends before it do
    // not count.
    check(&[Case {
        name: "order and calls",
        rules: |r| r.return_interval = Some(3),
        script: "w N1; w N2; w N3; s S1 military; g R1; g R1; g R2; r RR; c R1; c R2; c R3",
        order: "N1 RR",
        codes: "room_waiting return_interval",
        calls: "S1 N2 N3",
    }]);
}
