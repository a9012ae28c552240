//! Who sits in a room (医生签到 / 暂离 / 签退): a doctor signs in and the
//! door screen shows them at once; the room calls their own queue first;
//! a doctor sits in one room at a time; away and signed out show on the
//! door screen; everything holds after a restart.

use serde_json::{json, Value};
use triage::auth::policy::Role;
use triage_ground::ids::RoomCode;

use crate::common::{registration, spawn_app_with, TestApp, Ws};

/// The demo hospital where a doctor may sign in to any room of their
/// department (`[schedule] sign_in = "department"`): these tests move
/// doctors between rooms without a schedule.
fn any_room_of_the_department() -> triage::config::Hospital {
    let mut h = triage::config::Hospital::demo();
    h.schedule.sign_in_department = true;
    h
}

async fn post(who: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = who
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

/// The next room frame of `room` a screen gets.
async fn room_frame(ws: &mut Ws, room: &str) -> Value {
    for _ in 0..20 {
        let f = ws.next().await;
        if f["type"] == "room" && f["room"]["code"] == room {
            return f["room"].clone();
        }
        if f["type"] == "rooms" {
            if let Some(r) = f["rooms"]
                .as_array()
                .and_then(|l| l.iter().find(|r| r["code"] == room))
            {
                return r.clone();
            }
        }
    }
    panic!("no frame of {room}");
}

#[actix_web::test]
async fn a_doctor_signs_in_to_a_room_and_its_door_screen_and_queues_follow() {
    let app = spawn_app_with(any_room_of_the_department(), 2).await;
    let doctor = app.staff("D1002", Role::Doctor, &["NK-02"]).await;
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let other_doctor = app.staff("D1004", Role::Doctor, &["NK-04"]).await;

    // The doctor signs in to his room; the door screen shows him.
    let mut door2 = app.ws("NK-02-DOOR").await;
    door2.next().await;
    let (s, v) = post(&doctor, &app, "/api/v1/rooms/NK-02/sign-in", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["seat"], "in");
    assert_eq!(v["doctor_code"], "D1002");
    let room = room_frame(&mut door2, "NK-02").await;
    assert_eq!(room["doctor"]["code"], "D1002");
    assert!(room.get("seat_notice").is_none(), "{room}");

    // Refusals: another room, another doctor, another department, nobody.
    let (s, _) = post(&doctor, &app, "/api/v1/rooms/NK-03/sign-in", json!({})).await;
    assert_eq!(s, 403, "a room outside his scope");
    let (s, _) = post(
        &doctor,
        &app,
        "/api/v1/rooms/NK-02/sign-in",
        json!({"doctor_code": "D1003"}),
    )
    .await;
    assert_eq!(s, 403, "a doctor signs in only himself");
    for (body, code) in [
        (json!({"doctor_code": "D2001"}), "wrong_department"),
        (json!({"doctor_code": "D9999"}), "not_a_doctor"),
        (json!({"doctor_code": "D1002"}), "doctor_elsewhere"),
    ] {
        let (s, v) = post(&nurse, &app, "/api/v1/rooms/NK-03/sign-in", body.clone()).await;
        assert_eq!(s, 409, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{body}");
    }
    let (s, v) = post(&nurse, &app, "/api/v1/rooms/NK-03/sign-in", json!({})).await;
    assert_eq!(s, 422, "{v}");
    let (s, _) = post(
        &other_doctor,
        &app,
        "/api/v1/rooms/NK-02/sign-out",
        json!({}),
    )
    .await;
    assert_eq!(s, 403, "not his room");

    // The nurse seats the expert 王建国 (configured in NK-01) in NK-03: NK-03
    // calls his own queue first, NK-01 is left empty.
    let mut door1 = app.ws("NK-01-DOOR").await;
    door1.next().await;
    let mut door3 = app.ws("NK-03-DOOR").await;
    door3.next().await;
    let (s, v) = post(
        &nurse,
        &app,
        "/api/v1/rooms/NK-03/sign-in",
        json!({"doctor_code": "D1001"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["queues"], json!(["NK-D1001", "NK"]));
    assert_eq!(
        room_frame(&mut door3, "NK-03").await["doctor"]["name"],
        "王建国"
    );
    let empty = room_frame(&mut door1, "NK-01").await;
    assert_eq!(empty["seat_notice"], "本诊室暂无医生坐诊", "{empty}");
    assert!(empty["doctor"].is_null());
    // His patient is called in NK-03.
    let mut expert = registration("专家号甲", "NK");
    expert["doctor_code"] = json!("D1001");
    app.arrive("SX1", &expert).await;
    let called: Value = app
        .room("NK-03", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(called["current"]["visit_no"], "SX1", "{called}");
    // Called by name there too (the room calls his queue now).
    let mut second = registration("专家号乙", "NK");
    second["doctor_code"] = json!("D1001");
    app.arrive("SX2", &second).await;
    let r = app
        .http
        .post(app.url("/api/v1/rooms/NK-03/call/SX2"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "call by name in the room he sits in");
    // The room listing says who sits where.
    let rooms = app.get_json("/api/v1/rooms").await;
    let nk03 = rooms["rooms"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["code"] == "NK-03"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(nk03["doctor_code"], "D1001");
    assert_eq!(nk03["queues"], json!(["NK-D1001", "NK"]));
    // Signed in once: not also in NK-04.
    let (s, v) = post(
        &nurse,
        &app,
        "/api/v1/rooms/NK-04/sign-in",
        json!({"doctor_code": "D1001"}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["code"], "doctor_elsewhere");

    // Away, then a restart: the same seats.
    let (s, v) = post(
        &doctor,
        &app,
        "/api/v1/rooms/NK-02/sign-out",
        json!({"break": true}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["seat"], "break");
    let room = room_frame(&mut door2, "NK-02").await;
    assert_eq!(room["seat_notice"], "医生暂时离开，请稍候");
    assert_eq!(room["doctor"]["code"], "D1002", "the doctor is still shown");
    assert_eq!(room["status_label"], "医生暂离", "{room}");
    // A break refuses calls and recalls (one rule: the door never shows a
    // patient called beside 医生暂时离开).
    app.arrive("SB1", &registration("暂离甲", "NK")).await;
    for action in ["call-next", "recall", "call/SB1"] {
        let r = app.room("NK-02", action).await;
        assert_eq!(r.status(), 409, "{action}");
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(v["error"]["code"], "doctor_on_break", "{action}: {v}");
    }
    let q = app.get_json("/api/v1/queues/NK").await;
    assert!(
        q["entries"]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["visit_no"] == "SB1")),
        "nothing changed: {q}"
    );
    let again = app.restarted().await;
    let seat = |code: &str| {
        again
            .engine
            .seat_of(&RoomCode::parse(code).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(seat("NK-02").seat, "break");
    assert_eq!(seat("NK-03").doctor_code.as_deref(), Some("D1001"));
    assert_eq!(seat("NK-03").queues, vec!["NK-D1001", "NK"]);
    assert_eq!(seat("NK-01").seat, "out");
    let mut door1 = again.ws("NK-01-DOOR").await;
    let snap = door1.next().await;
    let nk01 = snap["rooms"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["code"] == "NK-01"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(nk01["seat_notice"], "本诊室暂无医生坐诊", "{snap}");

    // Signed out: the room calls its shared queue only.
    let nurse = again.staff("N0042", Role::Nurse, &["NK"]).await;
    let (s, v) = post(&nurse, &again, "/api/v1/rooms/NK-03/sign-out", json!({})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["seat"], "out");
    assert_eq!(v["queues"], json!(["NK"]));
    let (s, v) = post(&nurse, &again, "/api/v1/rooms/NK-03/sign-out", json!({})).await;
    assert_eq!(s, 409);
    assert_eq!(v["error"]["code"], "no_doctor_here");
}

#[actix_web::test]
async fn a_stop_clinic_closes_the_doctors_room_tells_the_screens_and_moves_or_keeps_his_patients() {
    let app = spawn_app_with(any_room_of_the_department(), 2).await;
    for (v, name) in [("ST1", "停诊甲"), ("ST2", "停诊乙")] {
        let mut b = registration(name, "NK");
        b["doctor_code"] = json!("D1001");
        app.arrive(v, &b).await;
    }
    let surgeon_nurse = app.staff("N0043", Role::Nurse, &["WK"]).await;
    let mut door = app.ws("NK-01-DOOR").await;
    door.next().await;
    let mut hall = app.ws("NK-HALL").await;
    hall.next().await;
    // Refusals change nothing.
    let before = app.dump().await;
    let (s, _) = post(
        &surgeon_nurse,
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403, "another department's nurse");
    let (s, v) = post(
        &app.his(),
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        json!({"reason": "x", "waiting": "later"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app.his(),
        &app,
        "/api/v1/doctors/D9999/stop-clinic",
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "not_a_doctor");
    assert_eq!(app.dump().await, before);

    // HIS stops 王建国's clinic, his patients to the shared queue.
    let (s, v) = post(
        &app.his(),
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        json!({"reason": "医生临时外出", "waiting": "redistribute"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rooms_closed"], json!(["NK-01"]));
    assert_eq!(v["redistributed"], 2);
    let affected: Vec<String> = v["affected"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|a| a["visit_no"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(affected, vec!["ST1", "ST2"]);
    assert!(v["notice_id"].is_number());
    let order = app.queue_order("NK").await;
    assert!(
        order.contains(&"ST1".to_string()) && order.contains(&"ST2".to_string()),
        "{order:?}"
    );
    assert!(app.queue_order("NK-D1001").await.is_empty());
    // The door screen and the department's overview say so at once.
    for ws in [&mut door, &mut hall] {
        let f = ws.until("notice").await;
        let text = f
            .last()
            .map(|n| n["notice"]["text"].to_string())
            .unwrap_or_default();
        assert!(text.contains("王建国医生今日停诊"), "{text}");
    }
    let rooms = app.get_json("/api/v1/rooms").await;
    let nk01 = rooms["rooms"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["code"] == "NK-01"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(nk01["status"], "closed");
}
