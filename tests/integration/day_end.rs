//! The day end (日终) on an injected clock: every visit of the day still
//! open closes with its final status (未就诊 / 过号未回 / 检查未回), audited;
//! queues, rooms and screens are empty; the next day starts from ticket 1;
//! yesterday's patients appear nowhere, also after a restart, and late
//! messages about a closed day get 409 `day_closed`. A server that was down
//! at the day end closes the days before today when it starts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::json;
use triage::background::Background;
use triage::config::Hospital;
use triage::db::store;
use triage::engine::Acting;
use triage::engine::{Engine, RoomCommand};
use triage_actors::room::InspectRoom;
use triage_ground::error::ErrorCode;
use triage_ground::ids::{RoomCode, VisitNo};
use triage_ground::time::Clock;

use crate::common::fresh_database;
use crate::restart::{at, first_difference, memory, settle, start, waiting, ManualClock};

/// Who acts in this test (the engine stamps the time from its clock).
fn audit() -> Acting {
    Acting::new("N-test", "day-end-test")
}

fn visit(v: &str) -> VisitNo {
    VisitNo::parse(v).unwrap_or_else(|e| panic!("{e}"))
}

async fn register(e: &Engine, v: &str, registered_at: &str) -> Result<(), ErrorCode> {
    crate::common::note_secret(&format!("日终{v}"));
    let body = json!({
        "patient": {"id": format!("P{v}"), "name": format!("日终{v}"), "sex": "1", "birth_date": "1980-01-01"},
        "department_code": "NK", "visit_type": "first", "registered_at": registered_at
    });
    let parsed = crate::common::parsed_registration(e, &body);
    e.put_registration(&visit(v), parsed, audit())
        .await
        .map(|_| ())
        .map_err(|e| e.code)
}

async fn status(e: &Engine, v: &str) -> (String, Option<String>) {
    let v = v.to_string();
    let row = e
        .db()
        .read(move |c| store::get_visit(c, &v))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no visit"));
    (
        row.status.as_str().to_string(),
        row.closed_as.map(|c| c.as_str().to_string()),
    )
}

#[actix_web::test]
async fn the_day_end_closes_every_open_visit_and_the_next_day_starts_from_ticket_one() {
    let mut hospital = Hospital::demo();
    hospital.day_end = chrono::NaiveTime::from_hms_opt(21, 30, 0);
    // 王建国 signs in to a room the schedule does not give him.
    hospital.schedule.sign_in_department = true;
    let db = fresh_database();
    let clock = Arc::new(ManualClock(AtomicI64::new(at(&crate::common::rfc(
        -9, "08:05:00",
    )))));
    let background = Background::new();
    let e = start(&hospital, &db.url, clock.clone(), &background).await;
    let room = RoomCode::parse("NK-02").unwrap_or_else(|e| panic!("{e}"));

    // A day: five patients; V1 misses the call, V2 goes for an exam, V3 is
    // being seen, V4 and V5 wait.
    for v in ["V1", "V2", "V3", "V4", "V5"] {
        register(&e, v, &crate::common::rfc(-9, "07:30:00"))
            .await
            .unwrap_or_else(|c| panic!("{v}: {c:?}"));
        e.check_in(&visit(v), audit())
            .await
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        clock.0.fetch_add(60_000_000, Ordering::SeqCst);
    }
    for cmd in [
        RoomCommand::CallNext,
        RoomCommand::Skip,
        RoomCommand::CallNext,
        RoomCommand::SendForExam,
        RoomCommand::CallNext,
    ] {
        e.room_command(&room, cmd, audit())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(waiting(&e, "NK").await, vec!["V4", "V5"]);
    // 王建国 sits in NK-03 today (his own room NK-01 left empty).
    let nk03 = RoomCode::parse("NK-03").unwrap_or_else(|e| panic!("{e}"));
    e.sign_in(&nk03, "D1001", audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Not due before the configured time, due after it.
    clock
        .0
        .store(at(&crate::common::rfc(-9, "21:29:00")), Ordering::SeqCst);
    assert_eq!(e.day_end_due(clock.now()), None);
    clock
        .0
        .store(at(&crate::common::rfc(-9, "21:31:00")), Ordering::SeqCst);
    let today = crate::common::service_day(-9);
    assert_eq!(e.day_end_due(clock.now()), Some(today));
    let closed = e
        .close_day(today, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            closed.not_seen,
            closed.missed_unreturned,
            closed.exam_unreturned
        ),
        (3, 1, 1)
    );
    assert_eq!(e.day_end_due(clock.now()), None, "once a day");
    // The next day starts with the configured doctors.
    for (room, doctor) in [("NK-03", "D1003"), ("NK-01", "D1001")] {
        let seat = e
            .seat_of(&RoomCode::parse(room).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seat.seat, "configured", "{room}");
        assert_eq!(seat.doctor_code.as_deref(), Some(doctor), "{room}");
    }
    for (v, as_) in [
        ("V1", "missed_unreturned"),
        ("V2", "exam_unreturned"),
        ("V3", "not_seen"),
        ("V4", "not_seen"),
        ("V5", "not_seen"),
    ] {
        assert_eq!(
            status(&e, v).await,
            ("closed".into(), Some(as_.into())),
            "{v}"
        );
    }
    assert!(waiting(&e, "NK").await.is_empty());
    let addr = e
        .directory()
        .rooms
        .get("NK-02")
        .map(|a| a.clone())
        .unwrap_or_else(|| panic!("room"));
    let room_state = addr
        .send(InspectRoom)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(room_state.current.is_none(), "the room is empty");
    // Every closed visit has its audit event.
    let events = e
        .db()
        .read(|c| store::event_details(c, "visit_closed"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 5);
    // Again: the same record, nothing more.
    let again = e
        .close_day(today, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.not_seen, 3);

    // After the day end, the day takes nothing more.
    assert_eq!(
        register(&e, "V6", &crate::common::rfc(-9, "21:00:00")).await,
        Err(ErrorCode::DayClosed),
        "a registration of the closed day"
    );
    let err = e.requeue(&visit("V1"), audit()).await.map(|_| ()).err();
    assert_eq!(err.map(|e| e.code), Some(ErrorCode::DayClosed));
    let err = e.check_in(&visit("V4"), audit()).await.map(|_| ()).err();
    assert_eq!(err.map(|e| e.code), Some(ErrorCode::DayClosed));

    // A check-in already on its way when the queue closed is refused by
    // the queue itself (nobody of the day enters after its end).
    let queue = e
        .directory()
        .queues
        .get("NK")
        .map(|a| a.clone())
        .unwrap_or_else(|| panic!("queue"));
    let late = queue
        .send(triage_actors::queue::CheckIn {
            draft: triage_actors::queue::EntryDraft {
                visit_no: triage_ground::ids::VisitNo::trusted("V6"),
                masked_name: "日*6".into(),
                spoken_name: String::new(),
                kind: triage_actors::model::EntryKind::Normal,
                tags: vec![],
                his_seq: None,
                birth_date: None,
                slot: None,
                seen_at: None,
                room: None,
            },
            audit: e.stamp(audit()),
            service_date: today,
            slot: None,
            before: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(late.err(), Some(triage_actors::EngineError::DayClosed));
    assert!(waiting(&e, "NK").await.is_empty());

    // The next morning: ticket 1; yesterday's registration is refused.
    clock
        .0
        .store(at(&crate::common::rfc(-8, "08:00:00")), Ordering::SeqCst);
    register(&e, "V7", &crate::common::rfc(-8, "07:50:00"))
        .await
        .unwrap_or_else(|c| panic!("{c:?}"));
    let ticket = e
        .check_in(&visit("V7"), audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ticket.ticket_no, "A001", "the new day starts from ticket 1");
    assert_eq!(
        register(&e, "V8", &crate::common::rfc(-9, "20:00:00")).await,
        Err(ErrorCode::DayClosed),
        "a late HIS message about a closed day"
    );
    assert_eq!(waiting(&e, "NK").await, vec!["V7"]);
    // An appointment of a later day checks in on its day, not today (today's
    // day end would close it).
    crate::common::note_secret("日终V9");
    let body = json!({
        "patient": {"id": "PV9", "name": "日终V9", "sex": "1", "birth_date": "1980-01-01"},
        "department_code": "NK", "visit_type": "first", "registered_at": crate::common::rfc(-8, "08:00:00"),
        "appointment": {"start": crate::common::rfc(-7, "08:30:00"), "end": crate::common::rfc(-7, "09:00:00")}
    });
    let parsed = crate::common::parsed_registration(&e, &body);
    e.put_registration(&visit("V9"), parsed, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = e.check_in(&visit("V9"), audit()).await.map(|_| ()).err();
    assert_eq!(err.as_ref().map(|e| e.code), Some(ErrorCode::TooEarly));
    assert!(err.is_some_and(|e| e
        .message
        .contains(&crate::common::service_day(-7).to_string())));
    let away = e
        .away_visits(vec![triage_ground::ids::QueueCode::trusted("NK")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(away.is_empty(), "yesterday's patients appear nowhere");

    // A restart shows the same.
    settle(&e).await;
    let before = memory(&e, &hospital).await;
    let rebuilt = start(&hospital, &db.url, clock.clone(), &background).await;
    settle(&rebuilt).await;
    let after = memory(&rebuilt, &hospital).await;
    for ((what, a), (_, b)) in before.iter().zip(&after) {
        assert!(
            a == b,
            "{what} differs after a restart\n{}",
            first_difference(a, b)
        );
    }
    assert_eq!(waiting(&rebuilt, "NK").await, vec!["V7"]);
    e.db().stop_writer().await;
    rebuilt.db().stop_writer().await;
    background.stop_threads();
}

#[actix_web::test]
async fn a_server_down_at_the_day_end_closes_the_days_before_today_when_it_starts() {
    let hospital = Hospital::demo();
    let db = fresh_database();
    let clock = Arc::new(ManualClock(AtomicI64::new(at(&crate::common::rfc(
        -9, "10:00:00",
    )))));
    let background = Background::new();
    let e = start(&hospital, &db.url, clock.clone(), &background).await;
    let room = RoomCode::parse("NK-02").unwrap_or_else(|e| panic!("{e}"));
    for v in ["W1", "W2", "W3"] {
        register(&e, v, &crate::common::rfc(-9, "09:30:00"))
            .await
            .unwrap_or_else(|c| panic!("{v}: {c:?}"));
        e.check_in(&visit(v), audit())
            .await
            .unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    e.room_command(&room, RoomCommand::CallNext, audit())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Two rooms were paused and stopped yesterday.
    for (r, command) in [("NK-03", RoomCommand::Pause), ("NK-04", RoomCommand::Close)] {
        let code = RoomCode::parse(r).unwrap_or_else(|e| panic!("{e}"));
        e.room_command(&code, command, audit())
            .await
            .unwrap_or_else(|e| panic!("{r}: {e}"));
    }
    e.db().stop_writer().await;

    // The server comes back the next morning: nothing of yesterday is left.
    clock
        .0
        .store(at(&crate::common::rfc(-8, "07:55:00")), Ordering::SeqCst);
    let next = start(&hospital, &db.url, clock.clone(), &background).await;
    assert!(waiting(&next, "NK").await.is_empty());
    let addr = next
        .directory()
        .rooms
        .get("NK-02")
        .map(|a| a.clone())
        .unwrap_or_else(|| panic!("room"));
    let room_state = addr
        .send(InspectRoom)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        room_state.current.is_none(),
        "yesterday's patient is not in the room"
    );
    for v in ["W1", "W2", "W3"] {
        assert_eq!(
            status(&next, v).await,
            ("closed".into(), Some("not_seen".into())),
            "{v}"
        );
    }
    let day = next.day_status().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(day.last.map(|d| d.not_seen), Some(3));
    assert!(!day.closed, "today is open");
    // Every room starts the day open, as after a day end (not 暂停/停诊).
    for r in ["NK-03", "NK-04"] {
        let view = next.directory().room_view(r, 0);
        assert_eq!(
            view.map(|v| (v.status, v.status_label)),
            Some((
                triage_actors::model::RoomStatus::Open,
                "等待叫号".to_string()
            )),
            "{r}"
        );
    }
    next.db().stop_writer().await;
    // And so it stays across the next restart (it was stored).
    let again = start(&hospital, &db.url, clock.clone(), &background).await;
    assert_eq!(
        again.directory().room_view("NK-04", 0).map(|v| v.status),
        Some(triage_actors::model::RoomStatus::Open)
    );
    again.db().stop_writer().await;
    background.stop_threads();
}

#[actix_web::test]
async fn an_administrator_ends_the_day_early_and_the_day_then_takes_no_check_in() {
    use crate::common::{registration, spawn_app};
    use triage::auth::policy::Role;
    let app = spawn_app().await;
    app.arrive("D1", &registration("日终甲", "NK")).await;
    assert_eq!(
        app.put_registration("D2", &registration("日终乙", "NK"))
            .await
            .status(),
        201
    );
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let close = |who: &reqwest::Client, body: serde_json::Value| {
        let req = who.post(app.url("/api/v1/day/close")).json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let day = app.get_json("/api/v1/day").await;
    assert_eq!(day["closed"], false);
    assert_eq!(close(&nurse, json!({"reason": "x"})).await.status(), 403);
    assert_eq!(
        close(&app.his(), json!({"reason": "x"})).await.status(),
        403
    );
    assert_eq!(
        close(&app.anonymous, json!({"reason": "x"})).await.status(),
        401
    );
    assert_eq!(close(&app.http, json!({"reason": ""})).await.status(), 422);
    assert_eq!(app.get_json("/api/v1/queues/NK").await["waiting"], 1);

    let r = close(&app.http, json!({"reason": "全院提前停诊"})).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(v["not_seen"], 1);
    assert_eq!(v["operator"], "t-admin");
    assert_eq!(app.get_json("/api/v1/queues/NK").await["waiting"], 0);
    let day = app.get_json("/api/v1/day").await;
    assert_eq!(day["closed"], true);
    assert_eq!(day["last"]["not_seen"], 1);
    let visit = app.get_json("/api/v1/registrations/D1").await;
    assert_eq!(visit["status"], "closed");
    // The day takes no more check-ins.
    let r = app.check_in("D2").await;
    assert_eq!(r.status(), 409);
    let e: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "day_closed");
}

/// A Sunday evening into Monday morning on the server's own clock: the day
/// end runs by itself at 22:00, a Sunday patient still waiting is closed
/// and leaves the screens, registrations of Sunday are refused after it,
/// midnight passes, and Monday starts again from ticket A001 with Sunday
/// appearing nowhere.
#[actix_web::test]
async fn sunday_evening_to_monday_morning_the_day_ends_by_itself_and_monday_starts_clean() {
    use crate::common::{china, clock_at, fresh_database, registration_at, spawn_app_clocked};
    let mut hospital = Hospital::demo();
    hospital.day_end = chrono::NaiveTime::from_hms_opt(22, 0, 0);
    // The Sunday before the named Wednesday, 21:50.
    let sunday = china(-3, "21:50");
    assert_eq!(
        sunday
            .with_timezone(&triage_ground::time::shanghai())
            .format("%a")
            .to_string(),
        "Sun"
    );
    let app = spawn_app_clocked(hospital, 2, fresh_database(), clock_at(sunday)).await;
    let ticket = app
        .arrive("SUN1", &registration_at("周日甲", "NK", china(-3, "21:40")))
        .await;
    assert_eq!(ticket, "A001");
    let mut hall = app.ws("NK-HALL").await;
    let snap = hall.next().await;
    assert!(
        snap.to_string().contains("A001"),
        "Sunday's patient is on the hall screen"
    );

    // 22:00 passes: the day ends without anyone touching it.
    app.set_clock(china(-3, "22:01"));
    let mut closed = false;
    for _ in 0..100 {
        if app.get_json("/api/v1/registrations/SUN1").await["status"] == "closed" {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(closed, "the day end ran at 22:00 by itself");
    assert_eq!(app.get_json("/api/v1/day").await["closed"], true);
    assert_eq!(app.get_json("/api/v1/queues/NK").await["waiting"], 0);
    let r = app
        .put_registration("SUN2", &registration_at("周日乙", "NK", china(-3, "22:02")))
        .await;
    assert_eq!(
        r.status(),
        409,
        "Sunday takes no registration after its day end"
    );

    // Midnight passes; Monday morning (a new session: the evening's ended
    // while nobody worked).
    app.set_clock(china(-2, "07:59"));
    let monday = app.today();
    assert_eq!(monday.format("%a").to_string(), "Mon");
    let admin = app.admin_again().await;
    let get = |path: &'static str| {
        let req = admin.get(app.url(path));
        async move {
            req.send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json::<serde_json::Value>()
                .await
                .unwrap_or_default()
        }
    };
    assert_eq!(get("/api/v1/day").await["closed"], false, "Monday is open");
    let his = app.his();
    let r = his
        .put(app.url("/api/v1/registrations/MON1"))
        .json(&registration_at("周一甲", "NK", china(-2, "07:50")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let r = his
        .post(app.url("/api/v1/registrations/MON1/check-in"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(answer["ticket_no"], "A001", "Monday starts from ticket 1");
    let screen = app.ws("NK-HALL").await.next().await;
    assert!(
        !screen.to_string().contains("周一甲"),
        "no full name on a screen: {screen}"
    );
    assert_eq!(
        screen.to_string().matches("\"ticket_no\":\"A001\"").count(),
        4,
        "Monday's one patient, next at each of the four rooms: {screen}"
    );
    let queue = get("/api/v1/queues/NK").await;
    let visits: Vec<&str> = queue["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["visit_no"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(visits, ["MON1"], "Sunday appears nowhere");
    drop(hall);
}

/// Issue 26, item 8: the day end leaves a clean next day. Its preview says
/// what it will close, reopen and take down; after it no room is paused or
/// stopped and no notice of the day is left on a screen. `triage day close`
/// refuses while a server uses the database, previews and closes without.
#[actix_web::test]
async fn the_day_end_reopens_every_room_takes_the_days_notices_down_and_runs_from_the_command() {
    use crate::common::{registration, spawn_app, triage_command};
    let app = spawn_app().await;
    app.arrive("DC1", &registration("日终丙", "NK")).await;
    assert_eq!(app.room("NK-03", "pause").await.status(), 200);
    assert_eq!(app.room("NK-04", "close").await.status(), 200);
    let stop = app
        .http
        .post(app.url("/api/v1/doctors/D1001/stop-clinic"))
        .json(&json!({"reason": "医生临时外出", "waiting": "keep"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stop.status(), 200);
    let lasting = app
        .http
        .post(app.url("/api/v1/notices"))
        .json(&json!({"text": "本周六门诊照常", "level": "info",
            "expires_at": (app.now() + chrono::Duration::days(3)).to_rfc3339()}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lasting.status(), 201);
    let preview = app.get_json("/api/v1/day/preview").await;
    assert_eq!(preview["not_seen"], 1, "{preview}");
    let reopen: Vec<&str> = preview["rooms_to_reopen"]
        .as_array()
        .map(|l| l.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for room in ["内科1诊室", "内科3诊室", "内科4诊室"] {
        assert!(reopen.contains(&room), "{room} in {preview}");
    }
    let notices = preview["notices_to_withdraw"].to_string();
    assert!(
        notices.contains("停诊") && !notices.contains("本周六"),
        "{notices}"
    );

    let today = triage_ground::time::service_date(crate::common::suite_now()).to_string();
    // The command refuses while this server uses the database.
    let url = app.db.url.clone();
    let out = triage_command()
        .args([
            "day",
            "close",
            "--reason",
            "门诊结束",
            "--day",
            &today,
            "--demo",
            "--database-url",
            &url,
        ])
        .env("TRIAGE_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("triage day close: {e}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("服务器正在使用该数据库"));

    // From the page's API: closed; every room open, the day's notices down.
    let r = app
        .http
        .post(app.url("/api/v1/day/close"))
        .json(&json!({"reason": "门诊结束"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let rooms = app.get_json("/api/v1/rooms").await;
    let not_open: Vec<String> = rooms["rooms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["status"] != "open")
        .map(|r| r.to_string())
        .collect();
    assert!(not_open.is_empty(), "{not_open:?}");
    let left = app.get_json("/api/v1/notices").await.to_string();
    assert!(!left.contains("停诊") && left.contains("本周六"), "{left}");
    let after = app.get_json("/api/v1/day/preview").await;
    assert_eq!(after["closed"], true);
    assert_eq!(after["rooms_to_reopen"], json!([]));

    // With no server: a database of its own (made by the command itself),
    // where a room was left paused.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("day.sqlite");
    let copy_url = format!("sqlite://{}", copy.display());
    let run = |args: &[&str]| {
        triage_command()
            .args(["day", "close", "--demo", "--database-url", &copy_url])
            .args(args)
            .env("TRIAGE_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("triage day close: {e}"))
    };
    // The preview reads only: no database file, none made.
    let out = run(&["--preview"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("不存在"));
    assert!(!copy.exists(), "the preview made a database file");
    assert_eq!(
        run(&["--reason", "门诊结束", "--day", &today])
            .status
            .code(),
        Some(0)
    );
    let out = run(&["--preview"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("将重新开诊：无"));
    // A room left paused, and no day end recorded (the server was down
    // over night): the preview reads it and changes nothing.
    let sql = |q: &str| {
        let mut c = triage::db::connect_one(&copy_url).unwrap_or_else(|e| panic!("{e}"));
        diesel::RunQueryDsl::execute(diesel::sql_query(q), &mut c)
            .unwrap_or_else(|e| panic!("{q}: {e}"));
    };
    sql("UPDATE rooms SET status = 'paused' WHERE code = 'NK-02'");
    sql("DELETE FROM day_closures");
    let out = run(&["--preview"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("将重新开诊：内科2诊室"));
    let out = run(&["--preview"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("将重新开诊：内科2诊室"), "{said}");
    // The day is named on purpose: none, or tomorrow, is refused; an
    // earlier day closes nothing (the engine's start closed it).
    let tomorrow = (triage_ground::time::service_date(crate::common::suite_now())
        + chrono::Duration::days(1))
    .to_string();
    assert_eq!(run(&["--reason", "门诊结束"]).status.code(), Some(2));
    assert_eq!(
        run(&["--reason", "门诊结束", "--day", &tomorrow])
            .status
            .code(),
        Some(2)
    );
    let out = run(&["--reason", "门诊结束", "--day", "2020-01-01"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("不是今天"));
    let out = run(&["--preview"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("将重新开诊：内科2诊室"));
    let out = run(&["--reason", "门诊结束", "--day", &today]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("日终已办理") && said.contains("重新开诊 1 个诊室"),
        "{said}"
    );
    let out = run(&["--preview"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("将重新开诊：无"));
}
