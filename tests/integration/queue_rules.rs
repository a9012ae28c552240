//! The rest of the rule set through the real API: HIS sequence order, late
//! arrivals at the end of the session, the overtake cap, a nurse's move,
//! rooms drawing a mix of queues, two-stage waiting with a per-room cap on
//! the door screen, and closing a room with redistribution.

use std::time::{Duration, Instant};
use triage::auth::policy::Role;

use serde_json::{json, Value};
use triage::config::Hospital;

use crate::common::{registration, spawn_app, spawn_app_with, TestApp};

/// A small hospital: one department, a shared queue and a doctor's own
/// queue; R1 and R2 keep short lists of `cap` (0 = off); EXP is the
/// doctor's room, calling its own queue and the shared one by `mix`
/// (a TOML line, or empty); `rules` goes into `[rules]`.
pub fn hospital_toml(cap: u32, mix: &str, rules: &str) -> String {
    format!(
        r#"
[hospital]
name = "测试医院"

# Tests run at any hour: no day end and no daily backup by the clock.
[calling]
day_end = "off"

[backup]
at = "off"

[rules]
{rules}

[[departments]]
code = "NK"
name = "内科"

[[queues]]
code = "NK"
name = "内科普通号"
department = "NK"
prefix = "A"

[[queues]]
code = "NK-D1"
name = "专家号"
department = "NK"
doctor = "D1"
prefix = "ZA"

[[rooms]]
code = "R1"
name = "内科1诊室"
department = "NK"
waiting_cap = {cap}

[[rooms]]
code = "R2"
name = "内科2诊室"
department = "NK"
waiting_cap = {cap}

[[rooms]]
code = "EXP"
name = "专家诊室"
department = "NK"
doctor = "D1"
{mix}

[[doctors]]
code = "D1"
name = "王建国"
department = "NK"
title = "主任医师"

[[screens]]
code = "R1-DOOR"
name = "1诊室门口屏"
kind = "door"
rooms = ["R1"]
"#
    )
}

fn hospital(cap: u32, mix: &str) -> Hospital {
    Hospital::parse(&hospital_toml(cap, mix, ""), "test-hospital.toml")
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn checked_in(name: &str, department: &str) -> Value {
    let mut b = registration(name, department);
    b["checked_in"] = json!(true);
    b
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.staff("N0042", Role::Nurse, &["NK", "WK", "EK"])
        .await
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

async fn put_rules(app: &TestApp, queue: &str, body: Value) -> reqwest::Response {
    app.http
        .put(app.url(&format!("/api/v1/queues/{queue}/rules")))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT rules: {e}"))
}

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or_default();
    (status, v["error"].clone())
}

/// Placement codes of a queue, in calling order.
async fn codes(app: &TestApp, queue: &str) -> Vec<String> {
    let q = app.get_json(&format!("/api/v1/queues/{queue}")).await;
    q["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["placement_code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn call(app: &TestApp, room: &str) -> Value {
    let r = app.room(room, "call-next").await;
    assert_eq!(r.status(), 200, "call-next {room}");
    let v: Value = r.json().await.unwrap_or_default();
    v["current"].clone()
}

/// Waits (up to 10 s) until `done` holds for the room's view.
async fn wait_room(app: &TestApp, room: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = app.get_json(&format!("/api/v1/rooms/{room}")).await;
        if done(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "room {room} never got there: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn tickets(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["ticket_no"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn queues_ordered_by_the_his_sequence_number_call_by_it() {
    let app = spawn_app().await;
    let r = put_rules(
        &app,
        "NK",
        json!({"base_order": "his_sequence", "reason": "按挂号序号叫号"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    // Bad numbers change nothing.
    let before = app.dump().await;
    for (n, code) in [
        (json!(0), "invalid_sequence_no"),
        (json!(1_000_000), "invalid_sequence_no"),
        (json!("seven"), "invalid_field"),
    ] {
        let mut b = checked_in("某某", "NK");
        b["sequence_no"] = n.clone();
        let (status, e) = error_of(app.put_registration("BAD", &b).await).await;
        assert_eq!((status, e["code"].as_str()), (422, Some(code)), "{n}");
        assert_eq!(e["field"], "sequence_no");
    }
    assert_eq!(app.dump().await, before);

    for (visit, seq) in [
        ("V30", Some(30)),
        ("V10", Some(10)),
        ("VX", None),
        ("V20", Some(20)),
    ] {
        let mut b = checked_in(visit, "NK");
        if let Some(n) = seq {
            b["sequence_no"] = json!(n);
        }
        assert_eq!(app.put_registration(visit, &b).await.status(), 201);
    }
    assert_eq!(app.queue_order("NK").await, ["V10", "V20", "V30", "VX"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["placement_code"], "his_sequence");
    assert_eq!(q["entries"][0]["placement_reason"], "按挂号序号");
    assert_eq!(q["entries"][3]["placement_code"], "check_in_order");
    assert_eq!(call(&app, "NK-02").await["visit_no"], "V10");
}

#[actix_web::test]
async fn late_patients_go_to_the_end_of_the_session_and_a_rule_change_moves_them_at_once() {
    let app = spawn_app().await;
    let r = put_rules(
        &app,
        "NK",
        json!({"late_arrival": "end_of_session", "reason": "迟到排本时段末"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    app.arrive("W1", &registration("散号甲", "NK")).await;
    app.arrive("W2", &registration("散号乙", "NK")).await;
    let now = app.now();
    let mut late = registration("迟到丙", "NK");
    // Over an hour ago, but today (just after midnight: early today).
    let midnight = crate::common::local_midnight(now);
    let (start, end) = if now - chrono::Duration::hours(2) >= midnight {
        (
            now - chrono::Duration::hours(2),
            now - chrono::Duration::hours(1),
        )
    } else {
        (
            midnight + chrono::Duration::seconds(1),
            midnight + (now - midnight) / 2,
        )
    };
    late["appointment"] = json!({
        "start": start.to_rfc3339(),
        "end": end.to_rfc3339(),
    });
    app.arrive("L1", &late).await;
    app.arrive("W3", &registration("散号丁", "NK")).await;
    assert_eq!(app.queue_order("NK").await, ["W1", "W2", "W3", "L1"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][3]["placement_code"], "late_end_of_session");
    let reason = q["entries"][3]["placement_reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.starts_with("预约迟到：排在本门诊时段"), "{reason}");

    // In force at once for those already waiting.
    let r = put_rules(
        &app,
        "NK",
        json!({"late_arrival": "interval", "late_arrival_interval": 1, "reason": "迟到插一位"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.queue_order("NK").await, ["W1", "L1", "W2", "W3"]);
    assert_eq!(codes(&app, "NK").await[1], "late_interval");
}

#[actix_web::test]
async fn rule_changes_name_the_bad_field_and_change_nothing() {
    let app = spawn_app().await;
    let before = app.dump().await;
    for (body, code, field) in [
        (
            json!({"base_order": "alphabetical", "reason": "x"}),
            "invalid_rule",
            "base_order",
        ),
        (
            json!({"appointment_mode": "lottery", "reason": "x"}),
            "invalid_rule",
            "appointment_mode",
        ),
        (
            json!({"late_arrival": "end_of_slot", "late_arrival_interval": 2, "reason": "x"}),
            "invalid_rule",
            "late_arrival_interval",
        ),
        (
            json!({"max_overtaken": 51, "reason": "x"}),
            "invalid_rule",
            "max_overtaken",
        ),
        (
            json!({"slot_minutes": 2, "reason": "x"}),
            "invalid_rule",
            "slot_minutes",
        ),
        (
            json!({"sessions": [{"name": "上午", "start": "08:00", "end": "12:00"},
                                {"name": "下午", "start": "11:30", "end": "17:00"}], "reason": "x"}),
            "invalid_rule",
            "sessions[1].start",
        ),
        (
            json!({"sessions": [{"name": "上午", "start": "8 点", "end": "12:00"}], "reason": "x"}),
            "invalid_rule",
            "sessions[0].start",
        ),
        (
            json!({"recall_modes": "interval", "reason": "x"}),
            "unknown_field",
            "recall_modes",
        ),
    ] {
        let (status, e) = error_of(put_rules(&app, "NK", body.clone()).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(e["code"], code, "{body}");
        assert_eq!(e["field"], field, "{body}");
    }
    assert_eq!(
        app.dump().await,
        before,
        "a rejected change changed something"
    );

    let r = put_rules(
        &app,
        "NK",
        json!({"appointment_mode": "slot", "recall_mode": "end_of_slot", "max_overtaken": 3,
               "slot_minutes": 20, "sessions": [{"name": "上午", "start": "07:30", "end": "11:30"}],
               "reason": "按时段就诊"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let rules = &app.get_json("/api/v1/queues/NK/rules").await["rules"];
    assert_eq!(rules["appointment_mode"], "slot");
    assert_eq!(rules["recall_mode"], "end_of_slot");
    assert_eq!(rules["max_overtaken"], 3);
    assert_eq!(rules["day"]["slot_minutes"], 20);
    assert_eq!(rules["day"]["sessions"][0]["start"], "07:30:00");
}

#[actix_web::test]
async fn a_normal_patient_overtaken_too_often_is_not_overtaken_again() {
    let app = spawn_app().await;
    let r = put_rules(
        &app,
        "NK",
        json!({"max_overtaken": 2, "fairness_cap": 0, "reason": "防止普通患者久等"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    app.arrive("W1", &registration("普通甲", "NK")).await;
    for i in 1..=3 {
        let mut b = registration(&format!("军人{i}"), "NK");
        b["special"] = json!(["military"]);
        app.arrive(&format!("S{i}"), &b).await;
    }
    let calls: Vec<Value> = [
        call(&app, "NK-02").await,
        call(&app, "NK-02").await,
        call(&app, "NK-02").await,
    ]
    .to_vec();
    let who: Vec<&str> = calls
        .iter()
        .map(|c| c["visit_no"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(who, ["S1", "S2", "W1"]);
    assert_eq!(calls[2]["reason_code"], "overtake_cap");
    assert_eq!(calls[2]["reason"], "公平保障");
}

#[actix_web::test]
async fn a_nurse_moves_a_patient_who_then_moves_up_with_the_line() {
    let app = spawn_app().await;
    // The nurse logs in first (a login is an audit event).
    let _ = app.staff("N0042", Role::Nurse, &["NK", "WK", "EK"]).await;
    for i in 1..=5 {
        app.arrive(&format!("P{i}"), &registration(&format!("病人{i}"), "NK"))
            .await;
    }
    let before = app.dump().await;
    for (visit, body, status, code) in [
        (
            "P5",
            json!({"position": 0, "reason": "x"}),
            422,
            "invalid_position",
        ),
        ("P5", json!({"position": 2}), 422, "missing_field"),
        (
            "P5",
            json!({"position": 2, "reason": ""}),
            422,
            "invalid_reason",
        ),
        (
            "NOPE",
            json!({"position": 2, "reason": "x"}),
            404,
            "visit_not_found",
        ),
    ] {
        let (s, e) = error_of(
            post(
                &app,
                &format!("/api/v1/registrations/{visit}/move"),
                body.clone(),
            )
            .await,
        )
        .await;
        assert_eq!((s, e["code"].as_str()), (status, Some(code)), "{body}");
    }
    assert_eq!(app.dump().await, before, "a refused move changed something");

    let r = post(
        &app,
        "/api/v1/registrations/P5/move",
        json!({"position": 2, "reason": "行动不便"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(
        (v["action"].as_str(), v["position"].as_u64()),
        (Some("moved"), Some(2))
    );
    assert_eq!(app.queue_order("NK").await, ["P1", "P5", "P2", "P3", "P4"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][1]["placement_code"], "moved");
    assert_eq!(
        q["entries"][1]["placement_reason"],
        "护士调整顺序（现第2位）"
    );

    assert_eq!(call(&app, "NK-02").await["visit_no"], "P1");
    assert_eq!(app.queue_order("NK").await, ["P5", "P2", "P3", "P4"]);
    let v = call(&app, "NK-02").await;
    assert_eq!(
        (v["visit_no"].as_str(), v["reason_code"].as_str()),
        (Some("P5"), Some("moved"))
    );

    // A called patient cannot be moved; the move is audited.
    let (s, e) = error_of(
        post(
            &app,
            "/api/v1/registrations/P5/move",
            json!({"position": 1, "reason": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("visit_not_waiting")));
    let dump = app.dump().await;
    let line = dump
        .lines()
        .find(|l| l.contains("kind: \"moved\""))
        .unwrap_or_else(|| panic!("no moved event"));
    assert!(
        line.contains("operator: \"N0042\"") && line.contains("行动不便"),
        "{line}"
    );
}

#[actix_web::test]
async fn a_room_calls_its_queues_by_the_configured_mix() {
    let app = spawn_app_with(hospital(0, "mix = [2, 1]"), 2).await;
    for i in 1..=4 {
        let mut b = checked_in(&format!("专家{i}"), "NK");
        b["doctor_code"] = json!("D1");
        app.put_registration(&format!("D{i}"), &b).await;
    }
    for i in 1..=3 {
        app.put_registration(&format!("N{i}"), &checked_in(&format!("普通{i}"), "NK"))
            .await;
    }
    let mut calls = Vec::new();
    for _ in 0..7 {
        let c = call(&app, "EXP").await;
        calls.push(format!(
            "{}@{}",
            c["visit_no"].as_str().unwrap_or_default(),
            c["queue_code"].as_str().unwrap_or_default()
        ));
    }
    // Two from the doctor's own queue, one from the department's; when the
    // doctor's queue is empty, the department's.
    assert_eq!(
        calls,
        ["D1@NK-D1", "D2@NK-D1", "N1@NK", "D3@NK-D1", "D4@NK-D1", "N2@NK", "N3@NK"]
    );
    assert!(
        app.dump().await.contains("mix_cursor: 7"),
        "the turn is stored with each call"
    );
}

#[actix_web::test]
async fn two_stage_rooms_keep_their_short_lists_full_and_the_door_screen_shows_them() {
    let app = spawn_app_with(hospital(2, ""), 2).await;
    let mut door = app.ws("R1-DOOR").await;
    let snapshot = door.next().await;
    assert_eq!(snapshot["type"], "snapshot");
    for i in 1..=6 {
        app.put_registration(&format!("P{i}"), &checked_in(&format!("病人{i}"), "NK"))
            .await;
    }
    let full = |v: &Value| v["short_list"] == 2;
    let r1 = wait_room(&app, "R1", full).await;
    let r2 = wait_room(&app, "R2", full).await;
    assert_eq!(r1["waiting_cap"], 2);
    // The first four by the rules are on the short lists, two each; the
    // general list holds the rest.
    let mut sent: Vec<String> = tickets(&r1["next"]);
    sent.extend(tickets(&r2["next"]));
    sent.sort();
    assert_eq!(sent, ["A001", "A002", "A003", "A004"]);
    assert_eq!(
        codes(&app, "NK").await,
        [
            "room_waiting",
            "room_waiting",
            "room_waiting",
            "room_waiting",
            "check_in_order",
            "check_in_order"
        ]
    );
    let q = app.get_json("/api/v1/queues/NK").await;
    let reason = q["entries"][0]["placement_reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("门口候诊"), "{reason}");

    // The door screen shows R1's own short list, masked, with its cap.
    let shown = loop {
        let f = door.next().await;
        let room = if f["type"] == "room" {
            f["room"].clone()
        } else {
            continue;
        };
        if room["short_list"] == 2 {
            break room;
        }
    };
    assert_eq!(tickets(&shown["next"]), tickets(&r1["next"]));
    assert_eq!(shown["waiting_cap"], 2);
    assert!(
        !door.seen.iter().any(|f| f.contains("病人")),
        "a full name reached a screen"
    );

    // R1 calls its own first patient; its list fills up again from the
    // general list, and the door screen follows.
    let first = tickets(&r1["next"])[0].clone();
    let c = call(&app, "R1").await;
    assert_eq!(c["ticket_no"], first.as_str());
    let r1 = wait_room(&app, "R1", full).await;
    assert!(tickets(&r1["next"]).contains(&"A005".to_string()), "{r1}");
    // R2 still calls only from its own list.
    let r2_first = tickets(&r2["next"])[0].clone();
    assert_eq!(call(&app, "R2").await["ticket_no"], r2_first.as_str());

    // Paused, a room keeps its list and takes nobody new.
    wait_room(&app, "R2", full).await;
    assert_eq!(app.room("R2", "pause").await.status(), 200);
    app.put_registration("P7", &checked_in("病人7", "NK")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.get_json("/api/v1/rooms/R2").await["short_list"], 2);
    assert_eq!(
        codes(&app, "NK").await.last().map(String::as_str),
        Some("check_in_order"),
        "the newcomer waits in the general list"
    );
    // Closed, its list goes back to the general list.
    let r = app.room("R2", "close").await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["released"], 2);
    assert_eq!(app.get_json("/api/v1/rooms/R2").await["short_list"], 0);
    assert_eq!(
        codes(&app, "NK").await,
        [
            "room_waiting",
            "room_waiting",
            "check_in_order",
            "check_in_order",
            "check_in_order"
        ]
    );
}

/// A patient a nurse sends from one room's short list to another room:
/// the room that lost him fills its list again at once (not at the next
/// periodic look, 5 s later).
#[actix_web::test]
async fn a_room_whose_short_list_loses_a_patient_to_another_room_fills_it_at_once() {
    let app = spawn_app_with(hospital(2, ""), 2).await;
    for i in 1..=6 {
        app.put_registration(&format!("P{i}"), &checked_in(&format!("病人{i}"), "NK"))
            .await;
    }
    let full = |v: &Value| v["short_list"] == 2;
    let r1 = wait_room(&app, "R1", full).await;
    wait_room(&app, "R2", full).await;
    let ticket = tickets(&r1["next"])[0].clone();
    let q = app.get_json("/api/v1/queues/NK").await;
    let visit = q["entries"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["ticket_no"] == ticket.as_str()))
        .map(|e| e["visit_no"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    // No periodic look from here on: only the queue's word refills R1.
    app.background.stop_tasks();
    let r = app
        .http
        .post(app.url(&format!("/api/v1/visits/{visit}/transfer")))
        .json(&json!({"room_code": "R2", "reason": "R1 医生请会诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_millis(2000);
    loop {
        let v = app.get_json("/api/v1/rooms/R1").await;
        if full(&v) {
            assert!(!tickets(&v["next"]).contains(&ticket), "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "R1 did not fill up again: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // R2 calls him from its own list.
    let r2 = app.get_json("/api/v1/rooms/R2").await;
    assert!(tickets(&r2["next"]).contains(&ticket), "{r2}");
}

#[actix_web::test]
async fn closing_a_room_can_send_its_doctors_patients_to_the_department_queue() {
    let app = spawn_app().await;
    for i in 1..=3 {
        let mut b = registration(&format!("专家号{i}"), "NK");
        b["doctor_code"] = json!("D1001");
        app.arrive(&format!("E{i}"), &b).await;
    }
    app.arrive("N1", &registration("普通号", "NK")).await;
    assert_eq!(app.queue_order("NK-D1001").await, ["E1", "E2", "E3"]);

    let before = app.dump().await;
    let r = app
        .http
        .post(app.url("/api/v1/rooms/NK-01/close"))
        .json(&json!({"waiting": "later"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, e) = error_of(r).await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (422, Some("invalid_field"), Some("waiting"))
    );
    assert_eq!(app.dump().await, before);

    let r = app
        .staff("N0042", Role::Nurse, &["NK", "WK", "EK"])
        .await
        .post(app.url("/api/v1/rooms/NK-01/close"))
        .json(&json!({"waiting": "redistribute", "reason": "医生临时停诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(
        (v["status"].as_str(), v["redistributed"].as_u64()),
        (Some("closed"), Some(3))
    );
    assert!(app.queue_order("NK-D1001").await.is_empty());
    // They keep their check-in times: ahead of the later walk-in, same tickets.
    assert_eq!(app.queue_order("NK").await, ["E1", "E2", "E3", "N1"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["ticket_no"], "ZA001");
    let dump = app.dump().await;
    assert_eq!(
        dump.lines()
            .filter(|l| l.contains("kind: \"transferred\"") && l.contains("医生临时停诊"))
            .count(),
        3
    );
    // Closing again finds nothing left to move.
    let r = app.room("NK-01", "close").await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["redistributed"], 0);
}

#[actix_web::test]
async fn calls_by_name_and_recalls_are_audited_with_who_and_why() {
    let app = spawn_app().await;
    // The nurse logs in first (a login is an audit event).
    let _ = app.staff("N0042", Role::Nurse, &["NK", "WK", "EK"]).await;
    for i in 1..=3 {
        app.arrive(&format!("P{i}"), &registration(&format!("病人{i}"), "NK"))
            .await;
    }
    // A bad reason is refused before anything changes.
    let before = app.dump().await;
    let (s, e) =
        error_of(post(&app, "/api/v1/rooms/NK-02/call/P3", json!({"reason": ""})).await).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_reason")));
    assert_eq!(app.dump().await, before);

    let r = post(
        &app,
        "/api/v1/rooms/NK-02/call/P3",
        json!({"reason": "急诊转来"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    // P3 does not come; the nurse brings P3 back when P3 returns.
    assert_eq!(app.room("NK-02", "skip").await.status(), 200);
    let r = post(
        &app,
        "/api/v1/registrations/P3/requeue",
        json!({"reason": "患者已返回"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    // Without a body, the default reason.
    let r = app
        .staff("D0007", Role::Doctor, &["NK-02"])
        .await
        .post(app.url("/api/v1/rooms/NK-02/call/P1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);

    let dump = app.dump().await;
    let event = |kind: &str, reason: &str| {
        dump.lines()
            .find(|l| l.contains(&format!("kind: \"{kind}\"")) && l.contains(reason))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no {kind} event saying {reason}"))
    };
    assert!(event("called", "急诊转来").contains("operator: \"N0042\""));
    assert!(event("requeued", "患者已返回").contains("operator: \"N0042\""));
    assert!(event("called", "指定叫号").contains("operator: \"D0007\""));
}
