//! The patient's own page (issue 28) through its API and socket: every
//! check-in answer carries the visit's link (the same one again on a
//! retry), the link opens this one visit today while it is open, the
//! socket follows it to the room and to its end, and the database keeps
//! only the token's digest.

use serde_json::{json, Value};
use std::time::Duration;

use crate::common::{note_secret, registration, spawn_app_with, TestApp};
use triage::config::Hospital;

async fn visit_of(app: &TestApp, link: &str) -> (u16, Value) {
    let r = app
        .anonymous
        .get(app.url(&format!("/api/v1/patient/{}", &link[3..])))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn checked_in(app: &TestApp, visit_no: &str, name: &str) -> Value {
    assert_eq!(
        app.put_registration(visit_no, &registration(name, "NK"))
            .await
            .status(),
        201
    );
    let r = app.check_in(visit_no).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap_or_default();
    note_secret(answer["patient_link"].as_str().unwrap_or_default());
    answer
}

#[actix_web::test]
async fn a_patient_link_opens_one_visit_today_while_it_is_open_and_is_kept_only_as_a_digest() {
    let mut hospital = Hospital::demo();
    hospital.patient.public_url = Some("https://wx.example-hospital.cn".into());
    let app = spawn_app_with(hospital, 2).await;
    let first = checked_in(&app, "PL1", "链接甲").await;
    let second = checked_in(&app, "PL2", "链接乙").await;
    let link = first["patient_link"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(link.starts_with("/p/") && link.len() == 25, "{link}");
    assert_eq!(
        first["patient_url"],
        json!(format!("https://wx.example-hospital.cn{link}")),
        "the hospital's published address"
    );
    assert_ne!(second["patient_link"], first["patient_link"]);
    // Asked again (a retry), the same link.
    let again: Value = app.check_in("PL1").await.json().await.unwrap_or_default();
    assert_eq!(again["created"], json!(false));
    assert_eq!(again["patient_link"], first["patient_link"]);

    let (status, view) = visit_of(&app, &link).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["ticket_no"], first["ticket_no"]);
    assert_eq!(view["masked_name"], json!("链*甲"));
    assert_eq!(view["status"], json!("waiting"));
    assert_eq!(view["ahead"], json!(0));
    let text = view.to_string();
    assert!(!text.contains("链接甲") && !text.contains("PL1"), "{text}");
    assert!(!text.contains(second["ticket_no"].as_str().unwrap_or("-")));
    let (status, view2) = visit_of(&app, second["patient_link"].as_str().unwrap_or_default()).await;
    assert_eq!(status, 200);
    assert_eq!(view2["ahead"], json!(1));
    // The page's own address for it says the same.
    let page: Value = app
        .anonymous
        .get(app.url(&format!("{link}/visit")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(page, view);

    // At rest: the digest only; the token opens nothing from a copy.
    let token = &link[3..];
    let dump = app.dump().await;
    assert!(!dump.contains(token), "the token is not stored");
    if let Some(path) = app.db.url.strip_prefix("sqlite://") {
        // Every byte the database holds, its write-ahead log too.
        for file in [path.to_string(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{file} holds the token"
            );
        }
    }
    let digest = triage_ground::secret::sha256_hex(token.as_bytes());
    let rows: Vec<String> = {
        use diesel::prelude::*;
        use triage::db::schema::patient_links;
        app.engine
            .db()
            .read(|c| {
                Ok(patient_links::table
                    .select(patient_links::digest)
                    .load::<String>(c)?)
            })
            .await
            .unwrap_or_default()
    };
    assert_eq!(rows.len(), 2);
    assert!(rows.contains(&digest));

    // Live: the call shows the room, the end closes the link.
    let mut ws = app.ws_at(&format!("{link}/live")).await;
    let f = ws.next().await;
    assert_eq!(f["type"], json!("visit"), "{f}");
    assert_eq!(f["seq"], json!(1));
    assert_eq!(f["visit"], view);
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    // Within a second, also while the socket's first read is under way.
    let f = ws.next_within(Duration::from_secs(1)).await;
    assert_eq!(f["visit"]["status"], json!("called"), "{f}");
    assert_eq!(f["visit"]["called_room"]["name"], json!("内科2诊室"));
    assert_eq!(f["seq"], json!(2));
    let (_, now) = visit_of(&app, &link).await;
    assert_eq!(now["status"], json!("called"));
    // The second patient moved up: their own page says so, not this one.
    let (_, other) = visit_of(&app, second["patient_link"].as_str().unwrap_or("")).await;
    assert_eq!(other["ahead"], json!(0));

    assert_eq!(app.room("NK-02", "finish").await.status(), 200);
    let mut frames = Vec::new();
    while frames.last().is_none_or(|f: &Value| f["type"] != "gone") {
        frames.push(ws.next_within(Duration::from_secs(1)).await);
    }
    let last_visit = frames
        .iter()
        .rev()
        .find(|f| f["type"] == "visit")
        .cloned()
        .unwrap_or_default();
    assert_eq!(last_visit["visit"]["status"], json!("done"), "{frames:?}");
    let (status, gone) = visit_of(&app, &link).await;
    assert_eq!(status, 404);
    assert_eq!(gone["error"]["code"], json!("patient_link_expired"));
    assert!(gone["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("失效"));

    // A made-up token, a malformed one: the same answer.
    for t in ["/p/AAAAAAAAAAAAAAAAAAAAAA", "/p/short", "/p/%27%20OR%201=1"] {
        let (status, body) = visit_of(&app, t).await;
        assert_eq!(status, 404, "{t}");
        assert_eq!(body["error"]["code"], json!("patient_link_expired"));
    }

    // The next day, yesterday's link of a visit still open opens nothing.
    let day = app.today();
    app.advance(chrono::Duration::days(1));
    let (status, _) = visit_of(&app, second["patient_link"].as_str().unwrap_or("")).await;
    assert_eq!(status, 404);
    // The day end forgets the day's links.
    let _ = app
        .engine
        .close_day(day, triage::engine::Acting::new("test", "test"))
        .await;
    let left: i64 = {
        use diesel::prelude::*;
        use triage::db::schema::patient_links;
        app.engine
            .db()
            .read(|c| Ok(patient_links::table.count().get_result(c)?))
            .await
            .unwrap_or(-1)
    };
    assert_eq!(left, 0, "the day's links are pruned at its end");
}

/// The wait a patient's own page shows.
async fn wait_of(app: &TestApp, link: &str) -> Value {
    let (status, view) = visit_of(app, link).await;
    assert_eq!(status, 200, "{view}");
    view["wait"].clone()
}

#[actix_web::test]
async fn the_page_shows_a_wait_range_from_the_queues_own_rules_run_forward() {
    let app = spawn_app_with(Hospital::demo(), 2).await;
    // 12 waiting in 内科 with its 4 rooms free at 09:30: the first four are
    // called at once, the rest as rooms finish (the configured 6 minutes,
    // as no doctor has a record yet).
    let mut links = Vec::new();
    for i in 0..12 {
        let a = checked_in(&app, &format!("PW{i:02}"), "等候者").await;
        links.push(a["patient_link"].as_str().unwrap_or_default().to_string());
    }
    // The background task may have made it already; this makes sure.
    app.engine.forecast_due().await;
    let first = wait_of(&app, &links[0]).await;
    assert_eq!(first["p90_minutes"], json!(0), "{first}");
    let mut last_p50 = 0;
    for link in &links[4..] {
        let w = wait_of(&app, link).await;
        let (p50, p90) = (
            w["p50_minutes"].as_u64().unwrap_or(0),
            w["p90_minutes"].as_u64().unwrap_or(0),
        );
        assert!(p50 <= p90 && p90 > 0, "{w}");
        assert!(p50 >= last_p50, "a later place waits longer: {w}");
        assert_eq!(w["beyond_session"], json!(false));
        last_p50 = p50;
    }
    let last = wait_of(&app, &links[11]).await;
    assert!(
        last["p90_minutes"].as_u64().unwrap_or(0) > last["p50_minutes"].as_u64().unwrap_or(0),
        "a range, not a point: {last}"
    );

    // Three rooms stop: the same patient waits longer.
    for room in ["NK-02", "NK-03", "NK-04"] {
        assert_eq!(app.room(room, "close").await.status(), 200);
    }
    app.engine.forecast_due().await;
    let fewer = wait_of(&app, &links[11]).await;
    assert!(
        fewer["p50_minutes"].as_u64().unwrap_or(0) > last["p50_minutes"].as_u64().unwrap_or(0),
        "one room left: {fewer} against {last}"
    );

    // Near the session's end (11:50), those who cannot be seen before it
    // are told so, not given a number.
    app.set_clock(crate::common::china(0, "11:50"));
    app.engine.forecast_due().await;
    let late = wait_of(&app, &links[11]).await;
    assert_eq!(late["beyond_session"], json!(true), "{late}");
    assert_eq!(late["p90_minutes"], Value::Null);
    // The first in line, with the one room free, is called at once.
    let soon = wait_of(&app, &links[0]).await;
    assert_eq!(soon["beyond_session"], json!(false), "{soon}");
}

#[actix_web::test]
async fn a_room_that_calls_its_doctors_own_queue_first_is_forecast_so() {
    // NK-01 (王建国, D1001) calls his own queue NK-D1001 first, then the
    // shared NK; NK-02..04 call NK only.
    let app = spawn_app_with(Hospital::demo(), 2).await;
    let mut expert = Vec::new();
    for i in 0..3 {
        let mut r = registration("专家号", "NK");
        r["doctor_code"] = json!("D1001");
        assert_eq!(
            app.put_registration(&format!("PX{i}"), &r).await.status(),
            201
        );
        let a: Value = app
            .check_in(&format!("PX{i}"))
            .await
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(a["queue_code"], json!("NK-D1001"), "{a}");
        note_secret(a["patient_link"].as_str().unwrap_or_default());
        expert.push(a["patient_link"].as_str().unwrap_or_default().to_string());
    }
    let mut shared = Vec::new();
    for i in 0..8 {
        let a = checked_in(&app, &format!("PS{i}"), "普通号").await;
        shared.push(a["patient_link"].as_str().unwrap_or_default().to_string());
    }
    app.engine.forecast_due().await;
    // His first patient is called at once, the others in his time only.
    let first = wait_of(&app, &expert[0]).await;
    assert_eq!(first["p90_minutes"], json!(0), "{first}");
    let third = wait_of(&app, &expert[2]).await;
    assert_eq!(third["beyond_session"], json!(false), "{third}");
    assert!(third["p50_minutes"].as_u64().unwrap_or(0) > 0, "{third}");
    // The shared queue's first three go to NK-02..04 at once; the fourth
    // waits for one of them (NK-01 is busy with his own patients).
    let fourth = wait_of(&app, &shared[3]).await;
    assert!(fourth["p50_minutes"].as_u64().unwrap_or(0) > 0, "{fourth}");
}

#[actix_web::test]
async fn the_page_follows_a_transfer_and_shows_the_call_from_the_new_queue() {
    let app = spawn_app_with(Hospital::demo(), 2).await;
    let a = checked_in(&app, "PT1", "转诊甲").await;
    let link = a["patient_link"].as_str().unwrap_or_default().to_string();
    let mut ws = app.ws_at(&format!("{link}/live")).await;
    let f = ws.next().await;
    assert_eq!(f["visit"]["queue"], json!("内科普通号"), "{f}");
    let r = app
        .http
        .post(app.url("/api/v1/visits/PT1/transfer"))
        .json(&json!({"queue_code": "WK", "keep_check_in_time": false, "reason": "转外科"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    // At once after the transfer: the new queue's room calls.
    assert_eq!(app.room("WK-01", "call-next").await.status(), 200);
    let mut last = Value::Null;
    while last["visit"]["status"] != json!("called") {
        last = ws.next_within(Duration::from_secs(1)).await;
    }
    assert_eq!(last["visit"]["called_room"]["name"], json!("外科1诊室"));
    assert_eq!(
        last["visit"]["department"],
        json!("外科"),
        "where the patient waits now"
    );
}

#[actix_web::test]
async fn a_missed_patients_link_stops_at_the_day_end_even_before_midnight() {
    let app = spawn_app_with(Hospital::demo(), 2).await;
    let a = checked_in(&app, "PM1", "过号甲").await;
    let link = a["patient_link"].as_str().unwrap_or_default().to_string();
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    assert_eq!(app.room("NK-02", "skip").await.status(), 200);
    let (status, view) = visit_of(&app, &link).await;
    assert_eq!(
        (status, view["status"].clone()),
        (200, json!("missed")),
        "{view}"
    );
    let mut ws = app.ws_at(&format!("{link}/live")).await;
    assert_eq!(ws.next().await["visit"]["status"], json!("missed"));
    // 日终 at 21:00 the same day closes the missed visit in the database
    // alone; the page and the link stop with it.
    app.set_clock(crate::common::china(0, "21:00"));
    let _ = app
        .engine
        .close_day(app.today(), triage::engine::Acting::new("test", "test"))
        .await;
    let (status, _) = visit_of(&app, &link).await;
    assert_eq!(status, 404);
    // The session looks at every heartbeat (5 s); pings do not count.
    let gone = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            if ws.next_within(Duration::from_secs(8)).await["type"] == json!("gone") {
                return;
            }
        }
    })
    .await;
    assert!(gone.is_ok(), "the page was told the link is gone");
}
