//! `RoomState` without a runtime: what a call plans and what a committed
//! call changes, on an injected time.

use chrono::{TimeZone, Utc};
use triage_actors::journal::Change;
use triage_actors::model::RoomInfo;
use triage_actors::model::{
    Audit, CallOutcome, CurrentCall, PlacementCode, RoomStatus, SpecialTag,
};
use triage_actors::room::{CurrentPolicy, RoomState};
use triage_actors::EngineError;
use triage_ground::ids::{DepartmentCode, DoctorCode, QueueCode, RoomCode, VisitNo};

fn audit() -> Audit {
    Audit {
        operator: "D1001".into(),
        source: "test".into(),
        at: Utc
            .with_ymd_and_hms(2026, 11, 30, 1, 0, 0)
            .single()
            .unwrap_or_default(),
        reason: None,
    }
}

fn room(mix: Vec<u32>, waiting_cap: u32) -> RoomState {
    RoomState {
        info: RoomInfo {
            code: RoomCode::trusted("NK-01"),
            name: "内科1诊室".into(),
            spoken_name: "内科1诊室".into(),
            department_code: DepartmentCode::trusted("NK"),
            department_name: "内科".into(),
            doctor_code: Some(DoctorCode::trusted("D1001")),
            draws_from: vec![QueueCode::trusted("NK-D1001"), QueueCode::trusted("NK")],
            mix,
            waiting_cap,
            seat: Default::default(),
        },
        status: RoomStatus::Open,
        current: None,
        policy: CurrentPolicy::Finish,
        mix_cursor: 0,
    }
}

fn call(visit: &str, misses: i32) -> CurrentCall {
    CurrentCall {
        visit_no: VisitNo::trusted(visit),
        ticket_no: format!("A{visit}"),
        masked_name: "张*".into(),
        spoken_name: String::new(),
        queue_code: QueueCode::trusted("NK"),
        called_at: audit().at,
        call_count: 1,
        placement: PlacementCode::CheckInOrder,
        tags: vec![SpecialTag::Elderly],
        misses,
    }
}

#[test]
fn a_room_that_is_not_open_plans_no_call() {
    for status in [RoomStatus::Paused, RoomStatus::Closed] {
        let mut r = room(vec![], 0);
        r.status = status;
        assert_eq!(
            r.plan_call(&audit(), "D1001", 2),
            Err(EngineError::RoomNotOpen(status))
        );
    }
}

#[test]
fn a_call_closes_the_current_patient_per_policy_and_only_when_applied() {
    let mut r = room(vec![], 0);
    assert_eq!(r.plan_call(&audit(), "D1001", 2).map(|p| p.close), Ok(None));

    r.current = Some(call("V1", 0));
    let plan = r
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(plan.close, Some(Change::Finished { ref visit_no, .. }) if visit_no == "V1"));
    assert_eq!(plan.closed.map(|c| c.outcome), Some(CallOutcome::Finished));
    // Planning changed nothing.
    assert_eq!(r.current.as_ref().map(|c| c.visit_no.as_str()), Some("V1"));

    // Policy skip: the second miss of two allowed ends the visit as no-show.
    r.policy = CurrentPolicy::Skip;
    r.current = Some(call("V1", 1));
    let plan = r
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        plan.close,
        Some(Change::Skipped { no_show: true, .. })
    ));
    let plan = r
        .plan_call(&audit(), "D1001", 3)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        plan.close,
        Some(Change::Skipped { no_show: false, .. })
    ));

    // Applied: the close and the new current patient together.
    r.apply_call(&plan, call("V2", 0), false);
    assert_eq!(r.current.as_ref().map(|c| c.visit_no.as_str()), Some("V2"));
}

#[test]
fn a_mixed_room_tries_its_queues_by_turns_and_commits_its_turn_with_a_call() {
    let mut r = room(vec![2, 1], 0);
    let mut turns = Vec::new();
    for _ in 0..6 {
        let plan = r
            .plan_call(&audit(), "D1001", 2)
            .unwrap_or_else(|e| panic!("{e}"));
        turns.push(plan.order[0]);
        r.apply_call(&plan, call("V", 0), true);
    }
    assert_eq!(turns, [0, 0, 1, 0, 0, 1]);
    assert_eq!(r.mix_cursor, 6);

    // A call from the room's own short list does not move the turn.
    let plan = r
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    r.apply_call(&plan, call("V9", 0), false);
    assert_eq!(r.mix_cursor, 6);

    let two_stage = room(vec![], 3);
    let plan = two_stage
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.short_list_first);
    assert_eq!(plan.order, [0, 1]);
    assert_eq!(plan.cursor, None);
}

#[test]
fn a_call_by_the_rules_tries_the_short_list_first_then_the_turns() {
    use triage_actors::room::{earliest_short_list, Attempt, Take};
    let two_stage = room(vec![], 3);
    let plan = two_stage
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    let at = audit().at;
    // Queue 1 holds the earliest patient sent to this room's door; a tie
    // goes to the earlier queue.
    assert_eq!(earliest_short_list(&[None, Some((at, 4))]), Some(1));
    assert_eq!(
        earliest_short_list(&[Some((at, 4)), Some((at, 4))]),
        Some(0)
    );
    assert_eq!(earliest_short_list(&[None, None]), None);
    assert_eq!(
        plan.by_rules(Some(1)),
        vec![
            Attempt {
                queue: 1,
                take: Take::ShortList
            },
            Attempt {
                queue: 0,
                take: Take::Turn { room_cursor: None }
            },
            Attempt {
                queue: 1,
                take: Take::Turn { room_cursor: None }
            },
        ]
    );
    // Only a call taken by the turns moves the mix.
    assert!(!Take::ShortList.by_mix());
    assert!(Take::Turn { room_cursor: None }.by_mix());

    let mixed = room(vec![2, 1], 0);
    let plan = mixed
        .plan_call(&audit(), "D1001", 2)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plan.by_rules(None),
        vec![
            Attempt {
                queue: 0,
                take: Take::Turn {
                    room_cursor: Some(1)
                }
            },
            Attempt {
                queue: 1,
                take: Take::Turn {
                    room_cursor: Some(1)
                }
            },
        ]
    );
    let named = plan.named(&VisitNo::trusted("V7"), 2);
    assert_eq!(named.len(), 2);
    assert!(named
        .iter()
        .all(|a| !a.take.by_mix() && a.take.room_cursor().is_none()));
}

#[test]
fn a_refill_is_planned_only_for_an_open_seated_two_stage_room() {
    use triage_actors::model::SeatState;
    assert_eq!(room(vec![], 0).plan_refill(2), None);
    let mut r = room(vec![2, 1], 3);
    let mut plan = r.plan_refill(2).unwrap_or_else(|| panic!("a refill"));
    assert_eq!(
        (plan.cap, plan.order(), plan.room_cursor()),
        (3, vec![0, 1], Some(1))
    );
    plan.sent();
    plan.sent();
    assert_eq!((plan.order(), plan.room_cursor()), (vec![1, 0], Some(3)));
    r.status = RoomStatus::Paused;
    assert_eq!(r.plan_refill(2), None);
    r.status = RoomStatus::Open;
    r.info.seat = SeatState::Out;
    assert_eq!(r.plan_refill(2), None);
}
