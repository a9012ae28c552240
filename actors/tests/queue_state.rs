//! `QueueState` as a spec: the ordering rules of the foundation, on plain
//! state with an injected `now` (no runtime, no sleeps).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use triage_actors::journal::Change;
use triage_actors::model::{Audit, Counters, EntryKind, SpecialTag, TicketCounter};
use triage_actors::queue::{EntryDraft, QueueState, TransferIn};
use triage_actors::rules::QueueRules;
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 0, 30, 0)
        .single()
        .unwrap_or_default()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default()
}

fn queue(rules: QueueRules) -> QueueState {
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

fn audit(at: DateTime<Utc>) -> Audit {
    Audit {
        operator: "test".into(),
        source: "test".into(),
        at,
        reason: None,
    }
}

/// A small driver: check patients in and call them, one minute apart.
struct Day {
    q: QueueState,
    now: DateTime<Utc>,
}

impl Day {
    fn new(rules: QueueRules) -> Self {
        Day {
            q: queue(rules),
            now: t0(),
        }
    }

    fn arrive(&mut self, visit: &str, kind: EntryKind, tags: &[&str]) -> String {
        self.now += Duration::minutes(1);
        let draft = EntryDraft {
            visit_no: VisitNo::trusted(visit),
            masked_name: "张*".into(),
            spoken_name: String::new(),
            kind,
            tags: tags.iter().map(|t| tag(t)).collect(),
            his_seq: None,
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        };
        let change = self
            .q
            .plan_check_in(draft, audit(self.now), day())
            .unwrap_or_else(|e| panic!("{e}"));
        self.q.apply(&change);
        match change {
            Change::CheckedIn { entry, .. } => entry.ticket_no,
            _ => String::new(),
        }
    }

    fn normal(&mut self, visit: &str) {
        self.arrive(visit, EntryKind::Normal, &[]);
    }

    fn ret(&mut self, visit: &str) {
        self.arrive(visit, EntryKind::Return, &[]);
    }

    fn special(&mut self, visit: &str, tag: &str) {
        self.arrive(visit, EntryKind::Normal, &[tag]);
    }

    /// A patient back after a missed call (召回), same ticket.
    fn recall(&mut self, visit: &str) {
        self.now += Duration::minutes(1);
        let draft = EntryDraft {
            visit_no: VisitNo::trusted(visit),
            masked_name: "张*".into(),
            spoken_name: String::new(),
            kind: EntryKind::Recall,
            tags: vec![],
            his_seq: None,
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        };
        let change = self
            .q
            .plan_requeue(draft, "A999".into(), 1, audit(self.now));
        self.q.apply(&change);
    }

    fn intervene(&mut self, visit: &str, hold: Option<bool>) {
        self.now += Duration::minutes(1);
        let change = match hold {
            Some(h) => self
                .q
                .plan_hold(&VisitNo::trusted(visit), h, audit(self.now)),
            None => self.q.plan_pin(&VisitNo::trusted(visit), audit(self.now)),
        };
        if let Some(c) = change {
            self.q.apply(&c);
        }
    }

    fn call_with_reason(&mut self) -> Option<(String, String)> {
        self.now += Duration::minutes(1);
        let plans = self
            .q
            .plan_take_next(&RoomCode::trusted("R1"), &audit(self.now), None);
        let (change, call) = plans.into_iter().next()?;
        self.q.apply(&change);
        Some((call.visit_no.into(), call.placement.to_string()))
    }

    fn order(&self) -> Vec<String> {
        self.q
            .ranked(self.now)
            .iter()
            .map(|r| r.entry.visit_no.to_string())
            .collect()
    }

    fn call(&mut self) -> Option<String> {
        self.now += Duration::minutes(1);
        let plans = self
            .q
            .plan_take_next(&RoomCode::trusted("R1"), &audit(self.now), None);
        let (change, call) = plans.into_iter().next()?;
        self.q.apply(&change);
        Some(call.visit_no.into())
    }

    fn call_all(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.call()).collect()
    }
}

fn interval(n: u32) -> QueueRules {
    QueueRules {
        return_interval: Some(n),
        ..QueueRules::default()
    }
}

#[test]
fn tickets_are_numbered_per_queue_and_day_with_three_digits() {
    let mut d = Day::new(interval(3));
    assert_eq!(d.arrive("V1", EntryKind::Normal, &[]), "A001");
    assert_eq!(d.arrive("V2", EntryKind::Normal, &[]), "A002");
    // A new service day starts again at 001.
    let tomorrow = day().succ_opt().unwrap_or_default();
    let draft = EntryDraft {
        visit_no: VisitNo::trusted("V3"),
        masked_name: String::new(),
        spoken_name: String::new(),
        kind: EntryKind::Normal,
        tags: vec![],
        his_seq: None,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: None,
    };
    match d.q.plan_check_in(draft, audit(d.now), tomorrow) {
        Ok(Change::CheckedIn { entry, .. }) => assert_eq!(entry.ticket_no, "A001"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_priorities_patients_are_called_in_check_in_order() {
    let mut d = Day::new(interval(3));
    for v in ["N1", "N2", "N3"] {
        d.normal(v);
    }
    assert_eq!(d.call_all(), ["N1", "N2", "N3"]);
}

#[test]
fn a_return_visit_waits_exactly_n_normals() {
    for n in 0..=5u32 {
        let mut d = Day::new(interval(n));
        for i in 1..=8 {
            d.normal(&format!("N{i}"));
        }
        d.ret("R1");
        let order = d.order();
        let pos = order.iter().position(|v| v == "R1");
        assert_eq!(pos, Some(n as usize), "N={n}: {order:?}");
    }
}

#[test]
fn consecutive_return_visits_have_exactly_n_normals_between_them() {
    let mut d = Day::new(interval(2));
    for i in 1..=7 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1");
    d.ret("R2");
    d.ret("R3");
    assert_eq!(
        d.order(),
        ["N1", "N2", "R1", "N3", "N4", "R2", "N5", "N6", "R3", "N7"]
    );
}

#[test]
fn fewer_normals_than_n_only_when_fewer_are_waiting() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    d.ret("R1");
    d.ret("R2");
    assert_eq!(d.order(), ["N1", "R1", "R2"]);
    // More normals arrive: R1 now waits exactly 3, R2 3 more (2 available).
    for i in 2..=5 {
        d.normal(&format!("N{i}"));
    }
    assert_eq!(d.order(), ["N1", "N2", "N3", "R1", "N4", "N5", "R2"]);
}

#[test]
fn the_calling_order_is_stable_as_the_head_is_called() {
    let mut d = Day::new(interval(3));
    for i in 1..=8 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1");
    d.ret("R2");
    let planned = d.order();
    assert_eq!(d.call_all(), planned);
}

#[test]
fn normals_called_while_a_return_patient_waits_count_towards_n() {
    let mut d = Day::new(interval(3));
    for i in 1..=6 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1"); // N1 N2 N3 R1 ...
    assert_eq!(d.call(), Some("N1".into()));
    assert_eq!(d.call(), Some("N2".into()));
    assert_eq!(d.order()[..2], ["N3", "R1"]);
    // A return patient arriving now waits a full N after R1.
    d.ret("R2");
    assert_eq!(d.order(), ["N3", "R1", "N4", "N5", "N6", "R2"]);
}

#[test]
fn a_return_patient_arriving_after_a_quiet_spell_still_waits_n() {
    let mut d = Day::new(interval(2));
    for i in 1..=10 {
        d.normal(&format!("N{i}"));
    }
    for _ in 0..5 {
        d.call();
    }
    d.ret("R1");
    assert_eq!(d.order(), ["N6", "N7", "R1", "N8", "N9", "N10"]);
}

#[test]
fn return_visits_queue_as_normal_when_the_rule_is_off() {
    let mut d = Day::new(QueueRules {
        return_interval: None,
        ..QueueRules::default()
    });
    d.ret("R1");
    d.normal("N1");
    d.ret("R2");
    assert_eq!(d.order(), ["R1", "N1", "R2"]);
}

#[test]
fn special_groups_go_first_by_level_then_by_time() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    d.special("C1", "child"); // level 3
    d.special("E1", "elderly"); // level 2
    d.special("M1", "military"); // level 1
    d.special("P1", "pregnant"); // level 2, later than E1
    d.ret("R1");
    assert_eq!(d.order(), ["M1", "E1", "P1", "C1", "N1", "R1"]);
    let ranked = d.q.ranked(d.now);
    assert_eq!(ranked[0].placement.code(), "special_group");
    assert!(ranked[0].placement.explain_zh().contains("军人"));
    assert_eq!(ranked[4].placement.code(), "check_in_order");
    assert_eq!(ranked[5].placement.code(), "return_interval");
}

#[test]
fn the_lowest_level_of_several_tags_wins() {
    let rules = interval(3);
    let mark = rules.special_mark(&[SpecialTag::Child, SpecialTag::Military]);
    assert_eq!(
        mark.map(|m| (m.tag, m.level)),
        Some((SpecialTag::Military, 1))
    );
    let mut without = interval(3);
    without.special_levels.remove(&SpecialTag::Pregnant);
    assert_eq!(
        without.special_mark(&[SpecialTag::Pregnant]),
        None,
        "a tag without a level gives no priority"
    );
}

#[test]
fn special_levels_are_configurable_per_queue() {
    let mut rules = interval(3);
    rules.special_levels.insert(SpecialTag::Child, 1);
    rules.special_levels.insert(SpecialTag::Military, 3);
    let mut d = Day::new(rules);
    d.special("M1", "military");
    d.special("C1", "child");
    assert_eq!(d.order(), ["C1", "M1"]);
}

#[test]
fn calling_special_patients_does_not_use_up_a_return_patients_wait() {
    let mut d = Day::new(interval(2));
    for i in 1..=4 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1");
    d.special("S1", "disabled");
    assert_eq!(d.order(), ["S1", "N1", "N2", "R1", "N3", "N4"]);
    assert_eq!(d.call(), Some("S1".into()));
    assert_eq!(d.order(), ["N1", "N2", "R1", "N3", "N4"]);
}

#[test]
fn age_tags_come_from_the_birth_date_on_the_day_of_check_in() {
    let rules = QueueRules::default(); // elderly >= 80, child < 6
    let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    assert_eq!(
        rules.age_tags(on(1946, 11, 25), day()),
        [SpecialTag::Elderly]
    );
    assert!(
        rules.age_tags(on(1946, 11, 26), day()).is_empty(),
        "79 the day before the birthday"
    );
    assert_eq!(rules.age_tags(on(2021, 1, 1), day()), [SpecialTag::Child]);
    assert!(
        rules.age_tags(on(2020, 11, 25), day()).is_empty(),
        "6 today"
    );
    assert!(rules.age_tags(None, day()).is_empty());
}

#[test]
fn cancelling_removes_only_that_patient() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    d.normal("N2");
    let change = d.q.plan_remove(&VisitNo::trusted("N1"), audit(d.now));
    assert!(change.is_some());
    if let Some(c) = change {
        d.q.apply(&c);
    }
    assert_eq!(d.order(), ["N2"]);
    assert!(d
        .q
        .plan_remove(&VisitNo::trusted("N1"), audit(d.now))
        .is_none());
}

#[test]
fn a_patient_back_after_a_missed_call_waits_the_recall_interval() {
    let mut rules = interval(3);
    rules.recall_interval = 2;
    let mut d = Day::new(rules);
    for i in 1..=5 {
        d.normal(&format!("N{i}"));
    }
    d.recall("M1");
    assert_eq!(d.order(), ["N1", "N2", "M1", "N3", "N4", "N5"]);
    let ranked = d.q.ranked(d.now);
    assert_eq!(ranked[2].placement.code(), "recall_interval");
    assert!(ranked[2].placement.explain_zh().contains("过号召回"));
}

#[test]
fn return_and_recalled_patients_share_the_line_each_with_its_own_interval() {
    let mut rules = interval(3);
    rules.recall_interval = 1;
    let mut d = Day::new(rules);
    for i in 1..=6 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1"); // first inserted: 3 normals
    d.recall("M1"); // then 1 normal
    assert_eq!(d.order(), ["N1", "N2", "N3", "R1", "N4", "M1", "N5", "N6"]);
    assert_eq!(
        d.call_all(),
        ["N1", "N2", "N3", "R1", "N4", "M1", "N5", "N6"]
    );
}

#[test]
fn the_fairness_cap_lets_a_normal_patient_through_after_k_priority_calls() {
    let mut rules = interval(3);
    rules.fairness_cap = Some(2);
    let mut d = Day::new(rules);
    d.normal("N1");
    d.normal("N2");
    for i in 1..=4 {
        d.special(&format!("S{i}"), "elderly");
    }
    let calls: Vec<(String, String)> = std::iter::from_fn(|| d.call_with_reason()).collect();
    let order: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(order, ["S1", "S2", "N1", "S3", "S4", "N2"]);
    assert_eq!(calls[2].1, "fairness_cap");
    assert_eq!(calls[5].1, "fairness_cap");
}

#[test]
fn without_a_cap_special_patients_all_go_first() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    for i in 1..=4 {
        d.special(&format!("S{i}"), "elderly");
    }
    assert_eq!(d.call_all(), ["S1", "S2", "S3", "S4", "N1"]);
}

#[test]
fn the_fairness_cap_counts_inserted_patients_too() {
    let mut rules = interval(0); // return visits go straight to the front
    rules.fairness_cap = Some(2);
    let mut d = Day::new(rules);
    d.normal("N1");
    d.ret("R1");
    d.ret("R2");
    d.ret("R3");
    assert_eq!(d.call_all(), ["R1", "R2", "N1", "R3"]);
}

#[test]
fn a_held_patient_is_listed_last_and_never_called_until_released() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    d.normal("N2");
    d.normal("N3");
    d.intervene("N1", Some(true));
    assert_eq!(d.order(), ["N2", "N3", "N1"]);
    assert_eq!(d.q.ranked(d.now)[2].placement.code(), "held");
    assert_eq!(d.call(), Some("N2".into()));
    assert_eq!(d.call(), Some("N3".into()));
    assert_eq!(d.call(), None, "a held patient is not called");
    assert!(
        d.q.board(d.now).head.is_empty(),
        "screens do not list held patients"
    );
    d.intervene("N1", Some(false));
    assert_eq!(d.call(), Some("N1".into()));
}

#[test]
fn a_released_patient_returns_to_the_place_the_rules_give() {
    let mut d = Day::new(interval(3));
    for v in ["N1", "N2", "N3"] {
        d.normal(v);
    }
    d.intervene("N1", Some(true));
    d.intervene("N1", Some(false));
    assert_eq!(d.order(), ["N1", "N2", "N3"]);
}

#[test]
fn pinned_patients_go_before_every_rule_oldest_pin_first() {
    let mut d = Day::new(interval(3));
    d.normal("N1");
    d.special("S1", "military");
    d.normal("N2");
    d.normal("N3");
    d.intervene("N3", None);
    d.intervene("N2", None);
    assert_eq!(d.order(), ["N3", "N2", "S1", "N1"]);
    assert_eq!(d.q.ranked(d.now)[0].placement.code(), "pinned");
}

#[test]
fn in_ratio_mode_every_kth_call_is_a_return_patient() {
    let rules = QueueRules {
        return_ratio: Some(3),
        ..interval(3)
    };
    let mut d = Day::new(rules);
    for i in 1..=6 {
        d.normal(&format!("N{i}"));
    }
    d.ret("R1");
    d.ret("R2");
    assert_eq!(d.order(), ["N1", "N2", "R1", "N3", "N4", "R2", "N5", "N6"]);
    assert_eq!(d.q.ranked(d.now)[2].placement.code(), "return_ratio");
    let planned = d.order();
    assert_eq!(d.call_all(), planned, "stable as the head is called");
}

#[test]
fn in_ratio_mode_special_calls_count_towards_k() {
    let rules = QueueRules {
        return_ratio: Some(2),
        ..interval(3)
    };
    let mut d = Day::new(rules);
    d.special("S1", "military");
    d.normal("N1");
    d.ret("R1");
    d.ret("R2");
    assert_eq!(d.call_all(), ["S1", "R1", "N1", "R2"]);
}

#[test]
fn nobody_is_inserted_ahead_of_the_locked_head() {
    let rules = QueueRules {
        locked_head: 2,
        ..interval(0)
    };
    let mut d = Day::new(rules);
    d.normal("N1");
    d.q.relock(d.now);
    d.normal("N2");
    d.q.relock(d.now);
    d.normal("N3");
    d.q.relock(d.now);
    d.special("S1", "military"); // would go first without the lock
    d.q.relock(d.now);
    d.ret("R1"); // interval 0: would go to the front
    d.q.relock(d.now);
    assert_eq!(d.order(), ["N1", "N2", "S1", "R1", "N3"]);
    assert_eq!(d.q.ranked(d.now)[0].placement.code(), "locked_head");
    assert_eq!(d.call(), Some("N1".into()));
    d.q.relock(d.now);
    assert_eq!(
        d.order(),
        ["N2", "S1", "R1", "N3"],
        "the next one in line is now locked"
    );
}

mod appointments {
    use super::*;
    use triage_actors::model::Slot;
    use triage_actors::rules::{AppointmentMode, EarlyCheckIn, LateArrival};

    fn slot(from_min: i64, to_min: i64) -> Slot {
        Slot {
            start: t0() + Duration::minutes(from_min),
            end: t0() + Duration::minutes(to_min),
        }
    }

    fn appt(d: &mut Day, visit: &str, s: Slot) -> Result<(), triage_actors::EngineError> {
        d.now += Duration::minutes(1);
        let draft = EntryDraft {
            visit_no: VisitNo::trusted(visit),
            masked_name: String::new(),
            spoken_name: String::new(),
            kind: EntryKind::Normal,
            tags: vec![],
            his_seq: None,
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        };
        let c = d.q.plan_check_in_at(draft, Some(s), audit(d.now), day())?;
        d.q.apply(&c);
        Ok(())
    }

    fn rules(mode: AppointmentMode, early: EarlyCheckIn, late: LateArrival) -> QueueRules {
        QueueRules {
            appointment_mode: mode,
            early_check_in: early,
            late_arrival: late,
            ..interval(3)
        }
    }

    #[test]
    fn merged_orders_appointments_by_slot_among_walk_ins_by_check_in() {
        let mut d = Day::new(rules(
            AppointmentMode::Merged,
            EarlyCheckIn::Unlimited,
            LateArrival::Interval(2),
        ));
        d.normal("W1"); // checks in at +1 min
        assert!(appt(&mut d, "A1", slot(-10, 20)).is_ok()); // slot began before W1 came
        d.normal("W2");
        assert_eq!(d.order(), ["A1", "W1", "W2"]);
        assert_eq!(d.q.ranked(d.now)[0].placement.code(), "appointment");
    }

    #[test]
    fn an_early_patient_waits_for_the_slot_then_always_first_puts_them_ahead() {
        let mut d = Day::new(rules(
            AppointmentMode::AlwaysFirst,
            EarlyCheckIn::Unlimited,
            LateArrival::Interval(2),
        ));
        d.normal("W1");
        assert!(appt(&mut d, "A1", slot(10, 40)).is_ok()); // slot starts at +10 min
        d.normal("W2");
        assert_eq!(d.order(), ["W1", "W2", "A1"]);
        assert_eq!(d.q.ranked(d.now)[2].placement.code(), "awaiting_slot");
        assert!(
            d.q.board(d.now).head.iter().all(|e| e.ticket_no != "A002"),
            "not shown as next yet"
        );
        assert_eq!(
            d.call(),
            Some("W1".into()),
            "an early patient is not called before the slot"
        );
        d.now = t0() + Duration::minutes(11);
        assert_eq!(d.order(), ["A1", "W2"]);
        assert_eq!(d.call(), Some("A1".into()));
    }

    #[test]
    fn early_check_in_is_refused_before_the_window_opens() {
        let mut d = Day::new(rules(
            AppointmentMode::Merged,
            EarlyCheckIn::Forbidden,
            LateArrival::Interval(2),
        ));
        match appt(&mut d, "A1", slot(30, 60)) {
            Err(triage_actors::EngineError::TooEarly(opens)) => {
                assert_eq!(opens, t0() + Duration::minutes(30))
            }
            other => panic!("{other:?}"),
        }
        let mut d = Day::new(rules(
            AppointmentMode::Merged,
            EarlyCheckIn::Minutes(10),
            LateArrival::Interval(2),
        ));
        assert!(
            appt(&mut d, "A1", slot(20, 50)).is_err(),
            "19 minutes early"
        );
        assert!(appt(&mut d, "A2", slot(5, 35)).is_ok(), "within 10 minutes");
        assert!(!d.q.is_empty());
    }

    #[test]
    fn a_late_patient_is_inserted_by_the_late_interval_or_kept_as_on_time() {
        let mut d = Day::new(rules(
            AppointmentMode::Merged,
            EarlyCheckIn::Unlimited,
            LateArrival::Interval(2),
        ));
        for i in 1..=4 {
            d.normal(&format!("W{i}"));
        }
        assert!(appt(&mut d, "L1", slot(-60, -30)).is_ok()); // the slot ended half an hour ago
        assert_eq!(d.order(), ["W1", "W2", "L1", "W3", "W4"]);
        assert_eq!(d.q.ranked(d.now)[2].placement.code(), "late_interval");

        let mut d = Day::new(rules(
            AppointmentMode::Merged,
            EarlyCheckIn::Unlimited,
            LateArrival::AsOnTime,
        ));
        for i in 1..=2 {
            d.normal(&format!("W{i}"));
        }
        assert!(appt(&mut d, "L1", slot(-60, -30)).is_ok());
        assert_eq!(
            d.order(),
            ["L1", "W1", "W2"],
            "as on time: ordered by the slot"
        );
    }

    #[test]
    fn combination_appointments_late_return_special_and_fairness_cap() {
        // Written out by hand: always_first, late interval 1, return interval 2,
        // fairness cap 2.
        let mut r = rules(
            AppointmentMode::AlwaysFirst,
            EarlyCheckIn::Unlimited,
            LateArrival::Interval(1),
        );
        r.return_interval = Some(2);
        r.fairness_cap = Some(2);
        let mut d = Day::new(r);
        d.normal("W1");
        d.normal("W2");
        assert!(appt(&mut d, "A1", slot(-5, 30)).is_ok());
        d.ret("R1");
        assert!(appt(&mut d, "L1", slot(-90, -60)).is_ok());
        d.special("S1", "elderly");
        d.special("S2", "military");
        // Specials first (military before elderly); then appointment A1 ahead
        // of walk-ins; R1 after 2 normals; L1 after 1 more normal.
        assert_eq!(d.order(), ["S2", "S1", "A1", "W1", "R1", "W2", "L1"]);
        // Calling: after 2 priority calls the cap lets the longest-waiting
        // normal (A1, first in the normal order) through.
        let calls: Vec<String> = std::iter::from_fn(|| d.call()).collect();
        assert_eq!(calls, ["S2", "S1", "A1", "W1", "R1", "W2", "L1"]);
    }
}

/// The special tag of a code the test names.
fn tag(code: &str) -> SpecialTag {
    SpecialTag::parse(code).unwrap_or_else(|| panic!("no special tag {code:?}"))
}

#[test]
fn a_patient_booked_for_a_room_is_called_and_listed_by_that_room_only() {
    let mut d = Day::new(interval(3));
    d.now += Duration::minutes(1);
    let booked = EntryDraft {
        visit_no: VisitNo::trusted("B1"),
        masked_name: "赵*六".into(),
        spoken_name: String::new(),
        kind: EntryKind::Normal,
        tags: vec![],
        his_seq: None,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: Some(RoomCode::trusted("R2")),
    };
    let change =
        d.q.plan_check_in(booked, audit(d.now), day())
            .unwrap_or_else(|e| panic!("{e}"));
    d.q.apply(&change);
    d.normal("N1");
    assert_eq!(d.order(), ["B1", "N1"]);

    // The board lists the booked patient with its room; R1's short list
    // would not take them.
    let board = d.q.board(d.now);
    assert_eq!(board.head.len(), 2);
    assert_eq!(board.head[0].room.as_deref(), Some("R2"));
    assert_eq!(board.head[1].room, None);
    match d
        .q
        .plan_assign(&RoomCode::trusted("R1"), &audit(d.now), None)
    {
        Some(Change::Assigned { visit_no, .. }) => assert_eq!(visit_no, "N1"),
        other => panic!("{other:?}"),
    }

    // R1 skips them; R2 takes them first.
    let r1 =
        d.q.plan_take_next(&RoomCode::trusted("R1"), &audit(d.now), None);
    assert_eq!(r1.as_ref().map(|(_, c)| c.visit_no.as_str()), Some("N1"));
    let r2 =
        d.q.plan_take_next(&RoomCode::trusted("R2"), &audit(d.now), None);
    assert_eq!(r2.as_ref().map(|(_, c)| c.visit_no.as_str()), Some("B1"));
    // A nurse may still call them by name in R1.
    assert!(d
        .q
        .plan_take_specific(
            &VisitNo::trusted("B1"),
            &RoomCode::trusted("R1"),
            &audit(d.now)
        )
        .is_some());
}

/// A closed room's or a stopped doctor's patients move in one batch: each
/// after the one before (consecutive arrival numbers, their check-in times
/// kept, the locked head relocked after each as one transfer at a time
/// would), one locked head stored after them all, a visit already here
/// left out.
#[test]
fn many_transfers_plan_as_one_batch() {
    let mut d = Day::new(QueueRules {
        locked_head: 2,
        ..QueueRules::default()
    });
    d.arrive("HERE", EntryKind::Normal, &[]);
    d.q.relock(d.now);
    let transfer = |visit: &str, minutes: i64| TransferIn {
        draft: EntryDraft {
            visit_no: VisitNo::trusted(visit),
            masked_name: "李*".into(),
            spoken_name: String::new(),
            kind: EntryKind::Normal,
            tags: vec![],
            his_seq: None,
            birth_date: None,
            slot: None,
            seen_at: None,
            room: None,
        },
        ticket_no: format!("B{visit}"),
        misses: 0,
        checked_in_at: Some(t0() - Duration::minutes(minutes)),
        from_queue: Some(QueueCode::trusted("OWN")),
        from_room: None,
        audit: audit(d.now),
    };
    let all = [transfer("M1", 30), transfer("HERE", 20), transfer("M2", 10)];
    let Some((changes, locks)) = d.q.plan_transfers_in(&all) else {
        panic!("nothing planned");
    };
    let planned: Vec<(String, i64, i64)> = changes
        .iter()
        .map(|c| match c {
            Change::Transferred {
                entry, next_seq, ..
            } => (entry.visit_no.to_string(), entry.seq, *next_seq),
            other => panic!("not a transfer: {}", other.kind()),
        })
        .collect();
    assert_eq!(
        planned,
        vec![("M1".to_string(), 2, 3), ("M2".to_string(), 3, 4)]
    );
    for c in changes.iter().chain([&locks]) {
        d.q.apply(c);
    }
    // Nobody goes ahead of the locked head (HERE); the first to move in,
    // who checked in earliest, is locked next; the second follows.
    assert_eq!(d.order(), vec!["HERE", "M1", "M2"]);
    match locks {
        Change::Locks { locks, .. } => assert_eq!(
            locks.iter().map(|(v, _)| v.to_string()).collect::<Vec<_>>(),
            vec!["HERE", "M1"]
        ),
        other => panic!("not the locked head: {}", other.kind()),
    }
    assert!(d.q.plan_transfers_in(&[transfer("M1", 30)]).is_none());
}
