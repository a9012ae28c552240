//! `RoomState` without a runtime: what a call plans and what a committed
//! call changes, on an injected time.

use chrono::{TimeZone, Utc};
use triage_actors::directory::RoomInfo;
use triage_actors::journal::Change;
use triage_actors::model::{
    Audit, CallOutcome, CurrentCall, PlacementCode, RoomStatus, SpecialTag,
};
use triage_actors::room::{CurrentPolicy, RoomState};
use triage_actors::EngineError;

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
            code: "NK-01".into(),
            name: "内科1诊室".into(),
            spoken_name: "内科1诊室".into(),
            department_code: "NK".into(),
            department_name: "内科".into(),
            doctor_code: Some("D1001".into()),
            draws_from: vec!["NK-D1001".into(), "NK".into()],
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
        visit_no: visit.into(),
        ticket_no: format!("A{visit}"),
        masked_name: "张*".into(),
        spoken_name: String::new(),
        queue_code: "NK".into(),
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
