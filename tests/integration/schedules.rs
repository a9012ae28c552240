//! The schedule (出诊排班): at a session boundary on an injected clock the
//! morning doctor's room switches to the afternoon doctor (the door view
//! shows the change, the switch is journaled), the morning doctor's own
//! queue is frozen or redistributed as configured, and a restart mid-day
//! rebuilds the same. Over HTTP: HIS pushes a day (idempotent, replace,
//! cancel), every refusal changes nothing, the rooms follow within a
//! switch tick, sign-in is limited to the rooms scheduled now, a stop-clinic
//! for a session reaches screens and queues.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use triage::auth::policy::Role;
use triage::background::Background;
use triage::config::{Hospital, SessionDef};
use triage::engine::schedules::ScheduleEntryDraft;
use triage::engine::Acting;
use triage::engine::{Engine, RoomCommand};
use triage_ground::ids::{RoomCode, VisitNo};

use crate::common::{fresh_database, registration, spawn_app_with, TestApp};
use crate::restart::{at, first_difference, memory, settle, start, waiting, ManualClock};

/// Who acts in this test (the engine stamps the time from its clock).
fn audit() -> Acting {
    Acting::new("his:test", "schedule-test")
}

fn entry(session: &str, room: &str, doctor: &str) -> ScheduleEntryDraft {
    ScheduleEntryDraft {
        session: session.into(),
        room_code: room.into(),
        doctor_code: doctor.into(),
        queues: vec![],
        patient_limit: Some(30),
    }
}

/// The doctor the door screens of `room` show, and the seat note.
fn door(e: &Engine, room: &str) -> (Option<String>, Option<String>) {
    let view = e
        .directory()
        .room_view(room, 3)
        .unwrap_or_else(|| panic!("no room {room}"));
    (view.doctor.map(|d| d.name), view.seat_notice)
}

async fn session_boundary(redistribute: bool) {
    let mut hospital = Hospital::demo();
    hospital.schedule.redistribute_after_session = redistribute;
    let db = fresh_database();
    let clock = Arc::new(ManualClock(AtomicI64::new(at(&crate::common::rfc(
        -9, "07:40:00",
    )))));
    let background = Background::new();
    let e = start(&hospital, &db.url, clock.clone(), &background).await;

    // HIS pushes the day: 王建国 (D1001, his own queue NK-D1001) in NK-01 in
    // the morning, 张伟 (D1003) there in the afternoon.
    let day = vec![entry("am", "NK-01", "D1001"), entry("pm", "NK-01", "D1003")];
    let written = e
        .put_schedule_day(
            &crate::common::service_day(-9).to_string(),
            day.clone(),
            audit(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((written.created, written.unchanged), (2, 0));
    let again = e
        .put_schedule_day(&crate::common::service_day(-9).to_string(), day, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.created, again.unchanged), (0, 2), "idempotent");
    // Before the first session nothing switches.
    assert!(e
        .schedule_tick()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());

    // Three patients for 王建国; the morning begins, he calls one.
    for v in ["S1", "S2", "S3"] {
        let mut body = registration(&format!("排班{v}"), "NK");
        body["doctor_code"] = json!("D1001");
        body["registered_at"] = json!(&crate::common::rfc(-9, "07:30:00"));
        let parsed = crate::common::parsed_registration(&e, &body);
        let visit = VisitNo::parse(v).unwrap_or_else(|e| panic!("{e}"));
        e.put_registration(&visit, parsed, audit())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        e.check_in(&visit, audit())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    clock
        .0
        .store(at(&crate::common::rfc(-9, "08:00:30")), Ordering::SeqCst);
    let am = e
        .schedule_tick()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the morning switch is due"));
    assert_eq!(am.session, "am");
    let nk01 = RoomCode::parse("NK-01").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        e.seat_of(&nk01).unwrap_or_else(|e| panic!("{e}")).seat,
        "scheduled"
    );
    assert_eq!(door(&e, "NK-01").0.as_deref(), Some("王建国"));
    e.room_command(&nk01, RoomCommand::CallNext, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting(&e, "NK-D1001").await, vec!["S2", "S3"]);
    // He signs in; running late at 13:05 he steps away and comes back
    // (the afternoon is not his, the room still is until 13:30).
    e.sign_in(&nk01, "D1001", audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    clock
        .0
        .store(at(&crate::common::rfc(-9, "13:05:00")), Ordering::SeqCst);
    e.sign_out(&nk01, true, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    e.sign_in(&nk01, "D1001", audit())
        .await
        .unwrap_or_else(|e| panic!("back from a break: {e}"));
    // Another doctor is not scheduled here now.
    assert_eq!(
        e.sign_in(&nk01, "D1004", audit())
            .await
            .err()
            .map(|e| e.code.as_str().to_string())
            .as_deref(),
        Some("not_scheduled")
    );
    assert!(
        e.schedule_tick()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "once a session"
    );

    // 13:30: the afternoon. NK-01 shows 张伟; 王建国 sits nowhere now.
    clock
        .0
        .store(at(&crate::common::rfc(-9, "13:30:02")), Ordering::SeqCst);
    let pm = e
        .schedule_tick()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the afternoon switch is due"));
    // NK-03, where 张伟 sits by the configuration, is empty now.
    assert_eq!(pm.rooms, vec!["NK-01", "NK-03"]);
    assert_eq!(pm.left, vec!["D1001"]);
    assert_eq!(door(&e, "NK-01").0.as_deref(), Some("张伟"));
    assert_eq!(
        door(&e, "NK-03"),
        (None, Some("本诊室暂无医生坐诊".to_string()))
    );
    let seat = e.seat_of(&nk01).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seat.doctor_code.as_deref(), Some("D1003"));
    assert!(
        !seat.queues.contains(&"NK-D1001".to_string()),
        "nobody calls 王建国's queue: {:?}",
        seat.queues
    );
    if redistribute {
        assert_eq!(pm.redistributed, 2);
        assert!(waiting(&e, "NK-D1001").await.is_empty());
        let nk = waiting(&e, "NK").await;
        assert!(
            nk.contains(&"S2".into()) && nk.contains(&"S3".into()),
            "{nk:?}"
        );
    } else {
        assert_eq!(pm.redistributed, 0);
        assert_eq!(waiting(&e, "NK-D1001").await, vec!["S2", "S3"], "frozen");
    }
    // The switch is journaled and audited.
    let events = e
        .db()
        .read(|c| triage::db::store::event_details(c, "session_switched"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 2, "{events:?}");
    let seated = e
        .db()
        .read(|c| triage::db::store::event_details(c, "room_seated"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(seated.iter().any(|d| d.contains("D1003")), "{seated:?}");

    // A restart mid-afternoon rebuilds the same, and does not switch again.
    settle(&e).await;
    let before = memory(&e, &hospital).await;
    e.db().stop_writer().await;
    let rebuilt = start(&hospital, &db.url, clock.clone(), &background).await;
    settle(&rebuilt).await;
    let after = memory(&rebuilt, &hospital).await;
    for ((what, a), (_, b)) in before.iter().zip(&after) {
        assert!(a == b, "{what} differs:\n{}", first_difference(a, b));
    }
    assert_eq!(door(&rebuilt, "NK-01").0.as_deref(), Some("张伟"));
    assert!(rebuilt
        .schedule_tick()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_none());
    rebuilt.db().stop_writer().await;
    background.stop_threads();
}

#[actix_web::test]
async fn at_the_session_boundary_the_room_switches_doctor_and_the_morning_queue_freezes() {
    session_boundary(false).await;
}

#[actix_web::test]
async fn at_the_session_boundary_the_morning_queue_is_redistributed_when_configured() {
    session_boundary(true).await;
}

/// The demo hospital with one session covering the whole day (so that the
/// session in force is known whatever the time), switching every tick.
fn all_day() -> Hospital {
    let mut h = Hospital::demo();
    let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_default();
    h.schedule.sessions = vec![SessionDef {
        code: "all".into(),
        name: "全天".into(),
        start: t("00:00"),
        end: t("23:59"),
    }];
    h
}

async fn send(
    who: &reqwest::Client,
    method: reqwest::Method,
    app: &TestApp,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = who.request(method, app.url(path));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

/// Waits (at most 8 s: a switch tick is 5 s) for `room`'s door to show
/// `doctor` ("": nobody).
async fn door_shows(app: &TestApp, room: &str, doctor: &str) {
    for _ in 0..80 {
        let v = app.get_json(&format!("/api/v1/rooms/{room}")).await;
        if v["doctor"]["code"] == doctor || (doctor.is_empty() && v["doctor"].is_null()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = app.get_json(&format!("/api/v1/rooms/{room}")).await;
    panic!("{room} never showed {doctor}: {v}");
}

#[actix_web::test]
async fn his_pushes_a_schedule_the_rooms_follow_and_bad_input_changes_nothing() {
    let app = spawn_app_with(all_day(), 2).await;
    let his = app.his();
    let date = app.today().to_string();
    let put = reqwest::Method::PUT;

    // Every refusal first: nothing changes.
    let before = app.dump().await;
    let yesterday = (app.today() - chrono::Duration::days(2)).to_string();
    for (path, body, status, code) in [
        (
            format!("/api/v1/schedules/{yesterday}"),
            json!({"entries": []}),
            409,
            "day_closed",
        ),
        (
            "/api/v1/schedules/2026-13-01".to_string(),
            json!({"entries": []}),
            422,
            "invalid_date",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "night", "room_code": "NK-02", "doctor_code": "D1003"}]}),
            422,
            "unknown_session",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "XX-09", "doctor_code": "D1003"}]}),
            422,
            "unknown_room",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "NK-02", "doctor_code": "D9999"}]}),
            409,
            "not_a_doctor",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "NK-02", "doctor_code": "D2001"}]}),
            409,
            "wrong_department",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "NK-02", "doctor_code": "D1003", "queues": ["WK"]}]}),
            422,
            "invalid_field",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "NK-02", "doctor_code": "D1003", "patient_limit": 0}]}),
            422,
            "invalid_field",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [
            {"session": "all", "room_code": "NK-02", "doctor_code": "D1003"},
            {"session": "all", "room_code": "NK-03", "doctor_code": "D1003"}]}),
            409,
            "doctor_double_booked",
        ),
        (
            format!("/api/v1/schedules/{date}"),
            json!({"entries": [{"session": "all", "room_code": "NK-02", "doctor": "D1003"}]}),
            422,
            "unknown_field",
        ),
    ] {
        let (s, v) = send(&his, put.clone(), &app, &path, Some(body.clone())).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {v}"
        );
    }
    let (s, v) = send(
        &his,
        reqwest::Method::DELETE,
        &app,
        &format!("/api/v1/schedules/{date}/all/NK-02"),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("schedule_not_found"))
    );
    assert_eq!(
        app.dump().await,
        before,
        "a refused schedule changed nothing"
    );

    // Who may write: HIS, administrators, the department's nurses (one
    // entry; a whole day is HIS's or an administrator's).
    let nurse_wk = app.staff("N0100", Role::Nurse, &["WK"]).await;
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let doctor = app.staff("D1002", Role::Doctor, &["NK-02", "NK-03"]).await;
    let one = json!({"doctor_code": "D1003", "patient_limit": 20});
    let entry_path = format!("/api/v1/schedules/{date}/all/NK-02");
    for who in [&nurse_wk, &doctor] {
        let (s, _) = send(who, put.clone(), &app, &entry_path, Some(one.clone())).await;
        assert_eq!(s, 403);
    }
    let (s, _) = send(
        &nurse,
        put.clone(),
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(json!({"entries": []})),
    )
    .await;
    assert_eq!(s, 403, "a whole day is HIS's");

    // HIS seats 张伟 (D1003) in NK-02 for the day; the door follows within
    // a switch tick; the same again changes nothing.
    let day = json!({"entries": [
        {"session": "all", "room_code": "NK-02", "doctor_code": "D1003", "patient_limit": 20},
        {"session": "all", "room_code": "NK-03", "doctor_code": "D1002"}
    ]});
    let (s, v) = send(
        &his,
        put.clone(),
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(day.clone()),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["created"], 2);
    door_shows(&app, "NK-02", "D1003").await;
    door_shows(&app, "NK-03", "D1002").await;
    let (s, v) = send(
        &his,
        put.clone(),
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(day),
    )
    .await;
    assert_eq!((s, v["unchanged"].as_i64()), (200, Some(2)));

    // Sign-in follows the schedule: 张伟 in NK-02 (hers now), not
    // 李秀梅 (D1002, configured there, scheduled in NK-03).
    let (s, v) = send(
        &nurse,
        reqwest::Method::POST,
        &app,
        "/api/v1/rooms/NK-02/sign-in",
        Some(json!({"doctor_code": "D1002"})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("not_scheduled")),
        "{v}"
    );
    let (s, v) = send(
        &doctor,
        reqwest::Method::POST,
        &app,
        "/api/v1/rooms/NK-03/sign-in",
        None,
    )
    .await;
    assert_eq!((s, v["seat"].as_str()), (200, Some("in")), "{v}");

    // A nurse moves NK-02 to 陈静 (D1004): his door at once (the session
    // is in force); the listing shows it, with who wrote it.
    let (s, v) = send(
        &nurse,
        put.clone(),
        &app,
        &entry_path,
        Some(json!({"doctor_code": "D1004"})),
    )
    .await;
    assert_eq!((s, v["replaced"].as_i64()), (200, Some(1)), "{v}");
    door_shows(&app, "NK-02", "D1004").await;
    // 陈静 sits by the configuration in NK-04: not on two doors.
    door_shows(&app, "NK-04", "").await;
    let listed = app
        .get_json(&format!("/api/v1/schedules?date={date}"))
        .await;
    assert_eq!(listed["session_now"], "all");
    assert_eq!(listed["switched"], json!(["all"]));
    let nk02 = listed["entries"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["room_code"] == "NK-02"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (nk02["doctor_code"].as_str(), nk02["source"].as_str()),
        (Some("D1004"), Some("N0042"))
    );
    // The doctor reads his own entries.
    let (s, mine) = send(
        &doctor,
        reqwest::Method::GET,
        &app,
        "/api/v1/schedules?doctor=me",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(mine["entries"].as_array().map(Vec::len), Some(1), "{mine}");

    // HIS replaces the day with NK-03 only: NK-02's entry is cancelled;
    // its configured doctor 李秀梅 sits in NK-03, so nobody sits in NK-02.
    let (s, v) = send(
        &his,
        put.clone(),
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(json!({"entries": [
        {"session": "all", "room_code": "NK-03", "doctor_code": "D1002"}]})),
    )
    .await;
    assert_eq!((s, v["cancelled"].as_i64()), (200, Some(1)), "{v}");
    door_shows(&app, "NK-02", "").await;
    // Cancelling NK-03 keeps 李秀梅 there: he signed in.
    let (s, v) = send(
        &his,
        reqwest::Method::DELETE,
        &app,
        &format!("/api/v1/schedules/{date}/all/NK-03"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    door_shows(&app, "NK-03", "D1002").await;
    let (s, v) = send(
        &his,
        reqwest::Method::DELETE,
        &app,
        &format!("/api/v1/schedules/{date}/all/NK-03"),
        None,
    )
    .await;
    assert_eq!(
        (s, v["unchanged"].as_i64()),
        (200, Some(1)),
        "cancelling again changes nothing"
    );
    let events = app.events("schedule_cancelled").await;
    assert_eq!(events.len(), 2, "{events:?}");
}

#[actix_web::test]
async fn a_stop_clinic_for_the_session_from_his_reaches_the_screens_and_moves_the_queue() {
    let mut hospital = all_day();
    hospital.schedule.redistribute_on_stop = true;
    let app = spawn_app_with(hospital, 2).await;
    let his = app.his();
    let date = app.today().to_string();
    let (s, v) = send(
        &his,
        reqwest::Method::PUT,
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(json!({"entries": [
        {"session": "all", "room_code": "NK-03", "doctor_code": "D1001"}]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    door_shows(&app, "NK-03", "D1001").await;
    // Two patients wait for 王建国.
    for v in ["SC1", "SC2"] {
        let mut body = registration(&format!("停诊{v}"), "NK");
        body["doctor_code"] = json!("D1001");
        app.arrive(v, &body).await;
    }
    assert_eq!(app.queue_order("NK-D1001").await, vec!["SC1", "SC2"]);
    let mut hall = app.ws("NK-HALL").await;
    hall.next().await;
    let (s, v) = send(
        &his,
        reqwest::Method::POST,
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        Some(json!({
        "reason": "医生临时外出", "session": "all"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sessions"], json!(["all"]));
    assert_eq!(v["schedule_rooms"], json!(["NK-03"]));
    assert_eq!(v["affected"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["redistributed"], 2, "as configured");
    // The notice names the session; the screens get it at once.
    let frames = hall.until("notice").await;
    let notice = frames.last().cloned().unwrap_or_default();
    assert!(
        notice.to_string().contains("王建国医生今日全天停诊"),
        "{notice}"
    );
    assert!(app.queue_order("NK-D1001").await.is_empty());
    let nk = app.queue_order("NK").await;
    assert!(
        nk.contains(&"SC1".into()) && nk.contains(&"SC2".into()),
        "{nk:?}"
    );
    // The schedule says stopped; the room stays empty.
    let listed = app
        .get_json(&format!("/api/v1/schedules?date={date}"))
        .await;
    assert_eq!(listed["entries"][0]["status"], "stopped", "{listed}");
    let room = app.get_json("/api/v1/rooms/NK-03").await;
    assert!(room["doctor"].is_null(), "{room}");
    assert_eq!(room["seat_notice"], "本诊室暂无医生坐诊", "{room}");
    // HIS pushes the same day again (its routine): the stop stands; the
    // same stop again answers the same record, without a second notice.
    let (s, v) = send(
        &his,
        reqwest::Method::PUT,
        &app,
        &format!("/api/v1/schedules/{date}"),
        Some(json!({"entries": [
        {"session": "all", "room_code": "NK-03", "doctor_code": "D1001"}]})),
    )
    .await;
    assert_eq!((s, v["unchanged"].as_i64()), (200, Some(1)), "{v}");
    assert_eq!(
        app.get_json("/api/v1/rooms/NK-03").await["doctor"],
        Value::Null
    );
    let (s, again) = send(
        &his,
        reqwest::Method::POST,
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        Some(json!({
        "reason": "医生临时外出", "session": "all"})),
    )
    .await;
    assert_eq!(s, 200, "{again}");
    assert!(again["notice_id"].is_null(), "{again}");
    assert_eq!(again["affected"].as_array().map(Vec::len), Some(2));
    let stops = app.get_json("/api/v1/stop-clinics").await;
    assert_eq!(stops["stops"].as_array().map(Vec::len), Some(1), "{stops}");
    let (s, v) = send(
        &his,
        reqwest::Method::POST,
        &app,
        "/api/v1/doctors/D1001/stop-clinic",
        Some(json!({
        "reason": "医生临时外出", "session": "night"})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("unknown_session"))
    );
}

#[actix_web::test]
async fn a_stop_clinic_for_a_session_running_late_keeps_its_notice_until_the_next_session() {
    let hospital = Hospital::demo();
    let db = fresh_database();
    let clock = Arc::new(ManualClock(AtomicI64::new(at(&crate::common::rfc(
        -9, "13:00:00",
    )))));
    let background = Background::new();
    let e = start(&hospital, &db.url, clock.clone(), &background).await;
    let day = vec![
        entry("pm", "NK-02", "D1002"),
        entry("eve", "NK-02", "D1002"),
    ];
    e.put_schedule_day(&crate::common::service_day(-9).to_string(), day, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // 17:45: the afternoon ran past its end (17:30); the evening is later.
    clock
        .0
        .store(at(&crate::common::rfc(-9, "17:45:00")), Ordering::SeqCst);
    e.schedule_tick().await.unwrap_or_else(|e| panic!("{e}"));
    let stopped = e
        .stop_clinic(
            "D1002",
            Some("pm"),
            false,
            None,
            "医生临时外出".into(),
            audit(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stopped.rooms_closed, vec!["NK-02"]);
    let notices = e.notices().await.unwrap_or_else(|e| panic!("{e}"));
    let notice = notices
        .iter()
        .find(|n| Some(n.id) == stopped.notice_id)
        .unwrap_or_else(|| panic!("no notice {:?}", stopped.notice_id));
    let json = serde_json::to_value(notice).unwrap_or_default();
    assert!(
        json["text"]
            .as_str()
            .unwrap_or_default()
            .contains("今日下午停诊"),
        "{json}"
    );
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(json["expires_at"].as_str().unwrap_or_default())
            .map(|t| t.timestamp_micros())
            .ok(),
        Some(at(&crate::common::rfc(-9, "18:00:00"))),
        "until the evening starts: {json}"
    );
    // The evening entry still stands: the doctor comes back then.
    let listed = e
        .schedule_day(crate::common::service_day(-9), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status: Vec<(&str, &str)> = listed
        .entries
        .iter()
        .map(|x| (x.session.as_str(), x.status.as_str()))
        .collect();
    assert_eq!(status, vec![("eve", "active"), ("pm", "stopped")]);
    // Refusals: a session that is over, one that does not exist.
    for (s, code) in [("am", "invalid_field"), ("night", "unknown_session")] {
        let err = e
            .stop_clinic("D1002", Some(s), false, None, "x".into(), audit())
            .await
            .err()
            .map(|e| e.code.as_str().to_string());
        assert_eq!(err.as_deref(), Some(code), "{s}");
    }
    e.db().stop_writer().await;
    background.stop_threads();
}

#[actix_web::test]
async fn a_doctor_sitting_by_the_configuration_stopped_for_the_afternoon_leaves_his_room_empty_then(
) {
    let mut hospital = Hospital::demo();
    hospital.schedule.redistribute_on_stop = true;
    let db = fresh_database();
    let clock = Arc::new(ManualClock(AtomicI64::new(at(&crate::common::rfc(
        -9, "10:00:00",
    )))));
    let background = Background::new();
    let e = start(&hospital, &db.url, clock.clone(), &background).await;
    // No schedule at all: 王建国 sits in NK-01 by the configuration. At
    // 10:00 his afternoon is stopped.
    let stopped = e
        .stop_clinic(
            "D1001",
            Some("pm"),
            true,
            None,
            "医生下午开会".into(),
            audit(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(stopped.rooms_closed.is_empty(), "the morning goes on");
    assert_eq!(stopped.schedule_rooms, vec!["NK-01"]);
    assert_eq!(door(&e, "NK-01").0.as_deref(), Some("王建国"));
    // 13:30: NK-01 is empty; nobody calls his queue.
    clock
        .0
        .store(at(&crate::common::rfc(-9, "13:30:01")), Ordering::SeqCst);
    let pm = e
        .schedule_tick()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the afternoon switch is due"));
    assert_eq!(pm.rooms, vec!["NK-01"]);
    assert_eq!(
        door(&e, "NK-01"),
        (None, Some("本诊室暂无医生坐诊".to_string()))
    );
    e.db().stop_writer().await;
    background.stop_threads();
}
