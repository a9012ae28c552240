//! Who may do what: every write and staff read tried by every kind of
//! caller (the role × action matrix, with a dump of every table before and
//! after each refusal), lockout, the login rate limit, idle sessions, the
//! forced first password change, the second factor, HIS request signatures
//! and rate limits, and screens' device tokens.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use triage::auth::accounts::{self, NewAccount, NewClient};
use triage::auth::his;
use triage::auth::policy::{Role, Scope};
use triage::config::Hospital;
use triage::db::accounts::Stamp;

use crate::common::{registration, spawn_app, spawn_app_with, TestApp, STAFF_PASSWORD};

fn stamp() -> Stamp {
    Stamp {
        operator: "test".into(),
        source: "test".into(),
        at: crate::common::wednesday().naive_utc(),
    }
}

/// A HIS client with `scopes` (blocking setup); its API key.
pub(crate) async fn his_client(
    app: &TestApp,
    name: &str,
    scopes: &[Scope],
    signed: bool,
    rate: u32,
) -> String {
    let (url, name, scopes) = (app.db.url.clone(), name.to_string(), scopes.to_vec());
    let policy = app.hospital.security.clone();
    let key = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        accounts::add_client(
            &mut c,
            &policy,
            NewClient {
                name,
                scopes,
                require_signature: signed,
                rate_per_minute: rate,
            },
            &stamp(),
        )
        .unwrap_or_else(|e| panic!("client: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    key
}

fn keyed(key: &str, acting: Option<&str>) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    if let Some(a) = acting {
        h.insert(
            "x-acting-staff",
            a.parse().unwrap_or_else(|e| panic!("{e}")),
        );
    }
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(20))
        .default_headers(h)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let url = app.url(path);
    let req = match method {
        "GET" => client.get(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    };
    let req = match body {
        Some(b) => req.json(b),
        None => req,
    };
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn every_write_and_staff_read_is_allowed_or_refused_by_role_and_scope() {
    let app = spawn_app().await;
    for (v, d) in [
        ("V-NK1", "NK"),
        ("V-NK2", "NK"),
        ("V-NK3", "NK"),
        ("V-WK1", "WK"),
    ] {
        app.arrive(v, &registration(&format!("病人{v}"), d)).await;
    }
    let r = app
        .put_registration("V-NK4", &registration("未签到", "NK"))
        .await;
    assert_eq!(r.status(), 201);

    let mut who: Vec<(&str, reqwest::Client)> = vec![
        ("anonymous", app.anonymous.clone()),
        ("admin", app.http.clone()),
        ("nurse_nk", app.staff("N-NK", Role::Nurse, &["NK"]).await),
        ("nurse_wk", app.staff("N-WK", Role::Nurse, &["WK"]).await),
        (
            "doctor_nk01",
            app.staff("D-NK01", Role::Doctor, &["NK-01"]).await,
        ),
        (
            "doctor_nk02",
            app.staff("D-NK02", Role::Doctor, &["NK-02"]).await,
        ),
    ];
    let reg = his_client(&app, "his-reg", &[Scope::Registrations], false, 1000).await;
    let read = his_client(&app, "his-read", &[Scope::Read], false, 1000).await;
    let master = his_client(&app, "his-master", &[Scope::MasterData], false, 1000).await;
    let call = his_client(&app, "his-call", &[Scope::Calling], false, 1000).await;
    let results = his_client(&app, "his-results", &[Scope::Results], false, 1000).await;
    who.push(("his_reg", keyed(&reg, None)));
    who.push(("his_read", keyed(&read, None)));
    who.push(("his_master", keyed(&master, None)));
    who.push(("his_call_nk01", keyed(&call, Some("D-NK01"))));
    who.push(("his_call_nobody", keyed(&call, None)));
    who.push(("his_results", keyed(&results, None)));

    let reason = json!({"reason": "测试"});
    let doctor = json!({"name": "王建国", "department_code": "NK", "title": "主任医师", "introduction": "x"});
    let readers =
        "admin nurse_nk doctor_nk01 doctor_nk02 his_reg his_read his_call_nk01 his_call_nobody";
    let staff_readers =
        "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02 his_read his_call_nk01 his_call_nobody";
    let room_nk01 = "admin nurse_nk doctor_nk01 his_call_nk01";
    let result_readers = format!("{readers} his_results");
    let exam = json!({"visit_no": "V-NK1", "item_code": "XRAY", "item_name": "胸部正位片",
        "findings": "双肺纹理清晰", "conclusion": "未见异常", "reporter": "D2001",
        "reported_at": crate::common::china(0, "09:10").to_rfc3339(), "status": "final"});
    // Tomorrow's schedule: today's would make the server switch rooms in
    // the background while the loop compares dumps.
    let tomorrow = app.today() + chrono::Duration::days(1);
    let schedule_day = format!("/api/v1/schedules/{tomorrow}");
    let schedule_entry = format!("/api/v1/schedules/{tomorrow}/am/NK-02");
    let schedule_readers = format!("{staff_readers} his_master");
    let now = app.now();
    let slot_start = now - chrono::Duration::minutes(5);
    crate::common::note_secret("预约病人");
    let appointment = json!({"version": 1, "room_code": "NK-02",
        "slot": {"start": slot_start.to_rfc3339(), "end": (now + chrono::Duration::minutes(30)).to_rfc3339()},
        "booked_at": now.to_rfc3339(), "patient": {"id": "P-AP", "name": "预约病人", "sex": "1"}});
    #[rustfmt::skip]
    let actions: Vec<(&str, &str, Option<Value>, &str)> = vec![
        ("PUT", "/api/v1/registrations/NEW1", Some(registration("新病人", "NK")), "admin his_reg"),
        ("GET", "/api/v1/registrations/V-NK1", None, readers),
        ("GET", "/api/v1/registrations/V-WK1", None, "admin nurse_wk his_reg his_read his_call_nk01 his_call_nobody"),
        ("POST", "/api/v1/registrations/V-NK4/check-in", None, "admin nurse_nk his_reg"),
        ("POST", "/api/v1/registrations/V-NK2/hold", Some(reason.clone()), "admin nurse_nk"),
        ("POST", "/api/v1/registrations/V-NK2/release", Some(reason.clone()), "admin nurse_nk"),
        ("POST", "/api/v1/registrations/V-NK2/pin", Some(reason.clone()), "admin nurse_nk"),
        ("POST", "/api/v1/registrations/V-NK2/move", Some(json!({"position": 1, "reason": "测试"})), "admin nurse_nk"),
        ("POST", "/api/v1/registrations/V-NK1/requeue", None, "admin nurse_nk"),
        ("POST", "/api/v1/visits/V-WK1/transfer", Some(json!({"queue_code": "NK", "reason": "测试"})), "admin nurse_wk"),
        ("POST", "/api/v1/rooms/NK-01/pause", None, room_nk01),
        ("POST", "/api/v1/rooms/NK-01/resume", None, room_nk01),
        ("POST", "/api/v1/rooms/NK-02/call-next", None, "admin nurse_nk doctor_nk02"),
        ("POST", "/api/v1/rooms/NK-02/recall", None, "admin nurse_nk doctor_nk02"),
        ("POST", "/api/v1/rooms/NK-01/call/V-NK3", None, room_nk01),
        ("POST", "/api/v1/rooms/NK-01/finish", None, room_nk01),
        ("POST", "/api/v1/rooms/WK-01/close", None, "admin nurse_wk"),
        ("DELETE", "/api/v1/registrations/V-NK3", None, "admin his_reg"),
        ("GET", "/api/v1/queues/NK", None, readers),
        ("GET", "/api/v1/queues/WK", None, "admin nurse_wk his_reg his_read his_call_nk01 his_call_nobody"),
        ("GET", "/api/v1/queues/NK/rules", None, readers),
        ("PUT", "/api/v1/queues/NK/rules", Some(json!({"reason": "测试", "return_interval": 2})), "admin nurse_nk"),
        ("PUT", "/api/v1/doctors/D1001", Some(doctor), "admin his_master"),
        ("POST", "/api/v1/notices", Some(json!({"text": "内科通知", "screens": ["NK-HALL"]})), "admin nurse_nk"),
        ("POST", "/api/v1/notices", Some(json!({"text": "全院通知"})), "admin"),
        ("GET", "/api/v1/notices", None, staff_readers),
        ("GET", "/api/v1/rooms", None, staff_readers),
        ("GET", "/api/v1/rooms/NK-01", None, readers),
        ("GET", "/api/v1/queues", None, staff_readers),
        ("GET", "/api/v1/departments", None, staff_readers),
        ("GET", "/api/v1/doctors", None, staff_readers),
        ("GET", "/api/v1/screens", None, staff_readers),
        ("PUT", "/api/v1/registrations/V-NK2/special", Some(json!({"special": ["pregnant"], "reason": "测试"})), "admin nurse_nk"),
        ("GET", "/api/v1/visits/away", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02"),
        ("GET", "/api/v1/day", None, staff_readers),
        ("GET", "/api/v1/version", None, staff_readers),
        ("POST", "/api/v1/rooms/NK-01/sign-in", Some(json!({})), room_nk01),
        ("POST", "/api/v1/rooms/NK-01/sign-out", Some(json!({"break": true})), room_nk01),
        ("POST", "/api/v1/doctors/D1001/stop-clinic", Some(json!({"reason": "测试"})), "admin nurse_nk his_master"),
        ("GET", "/api/v1/schedules", None, &schedule_readers),
        ("GET", "/api/v1/stop-clinics", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02"),
        ("GET", "/api/v1/faults", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02"),
        ("POST", "/api/v1/faults", Some(json!({"title": "屏幕黑屏"})), "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02"),
        ("GET", "/api/v1/faults/1", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02"),
        ("POST", "/api/v1/faults/1/acknowledge", None, "admin nurse_nk nurse_wk"),
        ("POST", "/api/v1/faults/1/resolve", Some(json!({"note": "已处理"})), "admin nurse_nk nurse_wk"),
        ("POST", "/api/v1/faults/1/archive", None, "admin nurse_nk nurse_wk"),
        ("PUT", &schedule_day, Some(json!({"entries": [{"session": "pm", "room_code": "NK-03", "doctor_code": "D1003"}]})), "admin his_master"),
        ("PUT", &schedule_entry, Some(json!({"doctor_code": "D1002"})), "admin nurse_nk his_master"),
        ("DELETE", &schedule_entry, None, "admin nurse_nk his_master"),
        ("PUT", "/api/v1/results/RPT-1", Some(exam), "admin his_results"),
        ("GET", "/api/v1/results?visit_no=V-NK1", None, &result_readers),
        ("GET", "/api/v1/results/RPT-1", None, &result_readers),
        ("GET", "/api/v1/stats/workload?group_by=performer", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02 his_read"),
        ("GET", "/api/v1/stats/indicators", None, "admin nurse_nk nurse_wk doctor_nk01 doctor_nk02 his_read"),
        ("PUT", "/api/v1/doctors", Some(json!({"doctors": [{"code": "D1001", "name": "王建国", "department_code": "NK", "title": "231"}]})), "admin his_master"),
        ("GET", "/api/v1/doctors/integrity", None, &schedule_readers),
        ("GET", "/api/v1/stats/workload?department=WK", None, "admin nurse_wk his_read"),
        ("PUT", "/api/v1/appointments/AP-NK", Some(appointment.clone()), "admin his_reg"),
        ("GET", "/api/v1/appointments/AP-NK", None, readers),
        ("POST", "/api/v1/appointments/AP-NK/check-in", None, "admin nurse_nk his_reg"),
        ("DELETE", "/api/v1/appointments/AP-NK", None, "admin his_reg"),
    ];
    let mut refused = 0;
    let mut allowed = 0;
    for (method, path, body, may) in &actions {
        let may: Vec<&str> = may.split_whitespace().collect();
        for (name, client) in &who {
            // What an earlier allowed action set going in the background
            // (a stop-clinic's session switch) lands before the snapshot.
            app.settle().await;
            let before = app.dump().await;
            let (status, answer) = send(client, &app, method, path, body.as_ref()).await;
            if may.contains(name) {
                allowed += 1;
                assert!(
                    !matches!(status, 401 | 403) && status < 500,
                    "{name} may {method} {path}, got {status}: {answer}"
                );
            } else {
                refused += 1;
                let want = if *name == "anonymous" { 401 } else { 403 };
                assert_eq!(status, want, "{name} {method} {path}: {answer}");
                let code = answer["error"]["code"].as_str().unwrap_or_default();
                assert_eq!(
                    code,
                    if want == 401 {
                        "unauthenticated"
                    } else {
                        "forbidden"
                    },
                    "{name} {method} {path}"
                );
                let after = app.dump().await;
                assert!(
                    after == before,
                    "{name} {method} {path} was refused but changed something:\n{}",
                    crate::common::dump_diff(&before, &after)
                );
            }
        }
    }
    assert!(
        refused > 150 && allowed > 100,
        "{refused} refused, {allowed} allowed"
    );

    // Every staff member sees every room (a transfer may go to another
    // department): names and states, no patient's name.
    let nurse = app.staff("N-NK", Role::Nurse, &["NK"]).await;
    let (_, rooms) = send(&nurse, &app, "GET", "/api/v1/rooms", None).await;
    let listed = rooms["rooms"].as_array().map_or(0, Vec::len);
    assert_eq!(listed, app.hospital.rooms.len(), "{rooms}");
    for r in rooms["rooms"].as_array().into_iter().flatten() {
        let keys: Vec<&String> = r
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert!(
            // The room's, its department's and its doctor's names (as its
            // door screen shows them): never a patient's.
            keys.iter().all(|k| !k.contains("name")
                || ["name", "department_name", "doctor_name"].contains(&k.as_str())),
            "a room listing carries {keys:?}"
        );
    }

    // A workstation key never carries an administrator's rights.
    let before = app.dump().await;
    let (s, answer) = send(
        &keyed(&call, Some("t-admin")),
        &app,
        "POST",
        "/api/v1/rooms/WK-02/pause",
        None,
    )
    .await;
    assert_eq!(s, 403, "{answer}");
    assert_eq!(app.dump().await, before);

    // The operator of every change is the authenticated principal.
    let _ = send(&app.http, &app, "POST", "/api/v1/rooms/NK-01/resume", None).await;
    let workstation = keyed(&call, Some("D-NK01"));
    let (s, answer) = send(
        &workstation,
        &app,
        "POST",
        "/api/v1/rooms/NK-01/pause",
        None,
    )
    .await;
    assert_eq!(s, 200, "{answer}");
    let (s, answer) = send(
        &keyed(&reg, None),
        &app,
        "PUT",
        "/api/v1/registrations/NEW2",
        Some(&registration("新病人乙", "NK")),
    )
    .await;
    assert_eq!(s, 201, "{answer}");
    let dump = app.dump().await;
    assert!(dump.lines().any(|l| l.starts_with("events") && l.contains("operator: \"D-NK01 via his:his-call\"")),
        "a HIS workstation's command is recorded as the doctor via the client");
    assert!(dump
        .lines()
        .any(|l| l.contains("kind: \"registered\"") && l.contains("operator: \"his:his-reg\"")));
    assert!(!dump.contains("operator: \"anonymous\""));
}

#[actix_web::test]
async fn wrong_passwords_sent_at_the_same_time_each_count_and_lock_no_one_out() {
    let mut hospital = Hospital::demo();
    hospital.security.lockout_failures = 3;
    hospital.security.login_per_minute = 1000;
    hospital.security.trusted_proxies = vec!["127.0.0.1".into()];
    let app = spawn_app_with(hospital, 2).await;
    let _ = app.staff_login("N-RACE", Role::Nurse, &["NK"]).await;
    let attempt = |password: String, from: &'static str| {
        let c = app.anonymous.clone();
        let url = app.url("/api/v1/session");
        async move {
            let r = c
                .post(url)
                .header("x-forwarded-for", from)
                .json(&json!({"code": "N-RACE", "password": password}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let v: Value = r.json().await.unwrap_or_default();
            v["error"]["code"].as_str().unwrap_or_default().to_string()
        }
    };
    let answers = futures_util::future::join_all(
        (0..12).map(|i| attempt(format!("wrong-{i}"), "192.168.60.1")),
    )
    .await;
    // Each wrong password hashed is counted (one at a time per address: the
    // others wait their turn, 429); none locks the account.
    let counted = answers.iter().filter(|a| *a == "bad_credentials").count();
    assert!(counted >= 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| a == "bad_credentials" || a == "too_many_requests"),
        "{answers:?}"
    );
    // Counted in the database just after each answer (the answer waits
    // for no write, so its time tells nothing about the account).
    let mut failed = None;
    for _ in 0..50 {
        let url = app.db.url.clone();
        failed = tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            triage::db::accounts::get_staff(&mut c, "N-RACE")
                .ok()
                .flatten()
                .map(|r| r.failed_logins)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        if failed == i32::try_from(counted).ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        failed,
        i32::try_from(counted).ok(),
        "every hashed attempt counted"
    );
    // The right password from another workstation: in, whatever happened.
    assert_eq!(
        attempt(STAFF_PASSWORD.to_string(), "192.168.60.2").await,
        ""
    );
}

#[actix_web::test]
async fn a_wrong_password_streak_waits_doubling_and_the_audit_log_keeps_every_attempt() {
    let mut hospital = Hospital::demo();
    hospital.security.lockout_failures = 3;
    hospital.security.login_per_minute = 1000;
    // A clock that stands still unless moved: the waits are exact.
    let clock = std::sync::Arc::new(triage_ground::time::AnchoredClock::frozen_at(
        crate::common::suite_now(),
    ));
    let app =
        crate::common::spawn_app_clocked(hospital, 2, crate::common::fresh_database(), clock).await;
    let _ = app.staff("N-LOCK", Role::Nurse, &["NK"]).await;
    let login = |password: &str| {
        let body = json!({"code": "N-LOCK", "password": password});
        let c = app.anonymous.clone();
        let url = app.url("/api/v1/session");
        async move {
            let r = c
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap_or("").to_string());
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or_default();
            (
                status,
                v["error"]["code"].as_str().unwrap_or_default().to_string(),
                retry,
            )
        }
    };
    for i in 1..=3 {
        assert_eq!(login(&format!("wrong-{i}")).await.1, "bad_credentials");
    }
    // Then each further attempt waits: 1 s, then 2 s (the server's clock).
    assert_eq!(
        login(STAFF_PASSWORD).await,
        (429, "too_many_requests".into(), Some("1".into()))
    );
    app.advance(chrono::Duration::seconds(1));
    assert_eq!(login("wrong-4").await.1, "bad_credentials");
    assert_eq!(
        login(STAFF_PASSWORD).await,
        (429, "too_many_requests".into(), Some("2".into()))
    );
    app.advance(chrono::Duration::seconds(2));
    // Not locked: the right password, once the wait is over.
    assert_eq!(login(STAFF_PASSWORD).await.0, 200);
    let kinds = app.dump().await;
    assert!(kinds.contains("kind: \"login_failed\""));
    assert!(!kinds.contains("kind: \"account_locked\""));
}

#[actix_web::test]
async fn an_unused_session_ends_after_the_idle_time() {
    let mut hospital = Hospital::demo();
    hospital.security.session_idle_seconds = 2;
    let app = spawn_app_with(hospital, 2).await;
    assert_eq!(
        app.http
            .get(app.url("/api/v1/rooms"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0),
        200
    );
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let r = app
        .http
        .get(app.url("/api/v1/rooms"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["error"]["code"], "session_expired");
}

#[actix_web::test]
async fn the_first_login_must_change_the_password_and_writes_need_the_csrf_token() {
    let app = spawn_app().await;
    let (url, h) = (app.db.url.clone(), app.hospital.clone());
    let created = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        accounts::add_user(
            &mut c,
            &h,
            NewAccount {
                code: "N-NEW".into(),
                name: "新护士".into(),
                role: Role::Nurse,
                scope: vec!["NK".into()],
                password: None,
                totp: false,
                must_change: true,
            },
            &stamp(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = jar
        .post(app.url("/api/v1/session"))
        .json(&json!({"code": "N-NEW", "password": created.password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let s: Value = r.json().await.unwrap_or_default();
    assert_eq!(s["must_change_password"], true);
    let csrf = s["csrf_token"].as_str().unwrap_or_default().to_string();
    let r = jar
        .get(app.url("/api/v1/queues/NK"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap_or_default()["error"]["code"],
        "password_change_required"
    );
    // A write without the CSRF token is refused before anything else.
    let r = jar
        .post(app.url("/api/v1/session/password"))
        .json(&{
            crate::common::note_secret(&created.password);
            crate::common::note_secret("Better-Pass-42");
            json!({"current_password": created.password, "new_password": "Better-Pass-42"})
        })
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap_or_default()["error"]["code"],
        "csrf_failed"
    );
    let change = |new: &str| {
        jar.post(app.url("/api/v1/session/password"))
            .header("x-csrf-token", csrf.clone())
            .json(&json!({"current_password": created.password, "new_password": new}))
            .send()
    };
    let r = change("weakpass").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap_or_default()["error"]["code"],
        "weak_password"
    );
    let r = change("Better-Pass-42")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = jar
        .get(app.url("/api/v1/queues/NK"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = jar
        .delete(app.url("/api/v1/session"))
        .header("x-csrf-token", csrf.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = jar
        .get(app.url("/api/v1/queues/NK"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401, "logged out");
}

#[actix_web::test]
async fn administrators_give_a_one_time_code_when_the_hospital_asks_for_it() {
    let mut hospital = Hospital::demo();
    hospital.security.admin_totp = true;
    hospital.security.lockout_failures = 2;
    // The harness logs its administrator in with the code; so does this test.
    let app = spawn_app_with(hospital, 2).await;
    let secret = {
        let (url, h) = (app.db.url.clone(), app.hospital.clone());
        tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            crate::common::totp_secret_on(&mut c, &h, "t-admin")
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the administrator has no second factor"))
    };
    let login = |totp: Option<String>| {
        app.anonymous.post(app.url("/api/v1/session"))
            .json(&json!({"code": "t-admin", "password": crate::common::ADMIN_PASSWORD, "totp": totp}))
            .send()
    };
    let code_of = |r: reqwest::Response| async move {
        (
            r.status().as_u16(),
            r.json::<Value>().await.unwrap_or_default()["error"]["code"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    assert_eq!(
        code_of(login(None).await.unwrap_or_else(|e| panic!("{e}"))).await,
        (401, "totp_required".into())
    );
    assert_eq!(
        code_of(
            login(Some("000000".into()))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        )
        .await
        .0,
        401
    );
    // The harness used this step's code: the next step's (one step of
    // skew is allowed) logs in once; the same code again is a replay.
    let next = accounts::totp_now(&secret, app.now().timestamp() + 30);
    let r = login(next.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let (status, code) = code_of(login(next).await.unwrap_or_else(|e| panic!("{e}"))).await;
    assert_eq!(
        (status, code.as_str()),
        (401, "bad_credentials"),
        "a one-time code used twice"
    );
    // An administrator without a second factor is told so, not counted.
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        diesel::RunQueryDsl::execute(
            diesel::sql_query(
                "UPDATE staff_accounts SET totp_secret = NULL WHERE code = 't-admin'",
            ),
            &mut c,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        assert_eq!(
            code_of(login(None).await.unwrap_or_else(|e| panic!("{e}"))).await,
            (401, "totp_required".into())
        );
    }
}

/// A request signed as the interface asks: `Authorization: Bearer
/// tk_<key id>` (the secret never travels), the signature keyed with the
/// SHA-256 of the key over method, path, time, nonce, acting staff and
/// body.
struct Signing<'a> {
    key: &'a str,
    method: &'a str,
    path: &'a str,
    body: String,
    skew: i64,
    nonce: &'a str,
    /// Acting staff signed for, and the one sent (a changed header).
    acting: (Option<&'a str>, Option<&'a str>),
}

fn key_id_only(key: &str) -> String {
    let id = his::key_id(key).unwrap_or_default();
    format!("tk_{id}")
}

fn signed(client: &reqwest::Client, app: &TestApp, s: Signing<'_>) -> reqwest::RequestBuilder {
    let ts = (app.now().timestamp() + s.skew).to_string();
    let sig = his::sign(
        &his::signing_key(s.key),
        &his::string_to_sign(
            s.method,
            s.path,
            &ts,
            s.nonce,
            s.acting.0.unwrap_or(""),
            s.body.as_bytes(),
        ),
    );
    let method = reqwest::Method::from_bytes(s.method.as_bytes()).unwrap_or(reqwest::Method::PUT);
    let mut r = client
        .request(method, app.url(s.path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", key_id_only(s.key)))
        .header(his::TIMESTAMP_HEADER, ts)
        .header(his::NONCE_HEADER, s.nonce)
        .header(his::SIGNATURE_HEADER, sig);
    if let Some(a) = s.acting.1 {
        r = r.header(his::ACTING_HEADER, a);
    }
    r.body(s.body)
}

pub(crate) async fn status_code(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (
        s,
        r.json::<Value>().await.unwrap_or_default()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[actix_web::test]
async fn signed_his_requests_refuse_replays_changed_bodies_wrong_keys_and_old_clocks() {
    let app = spawn_app().await;
    let key = his_client(&app, "his-signed", &[Scope::Registrations], true, 1000).await;
    let other = his_client(&app, "his-other", &[Scope::Registrations], true, 1000).await;
    let c = app.anonymous.clone();
    let path = "/api/v1/registrations/S1";
    let body = registration("签名甲", "NK").to_string();
    let put = |key: &'static str, body: String, skew: i64, nonce: &'static str| Signing {
        key,
        method: "PUT",
        path,
        body,
        skew,
        nonce,
        acting: (None, None),
    };
    let key: &'static str = Box::leak(key.into_boxed_str());
    let other: &'static str = Box::leak(other.into_boxed_str());

    let before = app.dump().await;
    // Without a signature: the key id alone, or the whole key.
    for auth in [key_id_only(key), key.to_string()] {
        let r = c
            .put(app.url(path))
            .header("authorization", format!("Bearer {auth}"))
            .header("content-type", "application/json")
            .body(body.clone());
        assert_eq!(status_code(r).await, (401, "signature_required".into()));
    }
    // Signed with another client's key.
    let ts = app.now().timestamp().to_string();
    let r = c
        .put(app.url(path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", key_id_only(key)))
        .header(his::TIMESTAMP_HEADER, ts.clone())
        .header(his::NONCE_HEADER, "nonce-wrong-key")
        .header(
            his::SIGNATURE_HEADER,
            his::sign(
                &his::signing_key(other),
                &his::string_to_sign("PUT", path, &ts, "nonce-wrong-key", "", body.as_bytes()),
            ),
        )
        .body(body.clone());
    assert_eq!(status_code(r).await, (401, "bad_signature".into()));
    // A changed body under the original signature.
    let good = his::sign(
        &his::signing_key(key),
        &his::string_to_sign("PUT", path, &ts, "nonce-tamper-1", "", body.as_bytes()),
    );
    let r = c
        .put(app.url(path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", key_id_only(key)))
        .header(his::TIMESTAMP_HEADER, ts.clone())
        .header(his::NONCE_HEADER, "nonce-tamper-1")
        .header(his::SIGNATURE_HEADER, good)
        .body(body.replace("签名甲", "签名乙"));
    assert_eq!(status_code(r).await, (401, "bad_signature".into()));
    // Signed with the API key itself (the old way): not the signing key.
    let r = c
        .put(app.url(path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", key_id_only(key)))
        .header(his::TIMESTAMP_HEADER, ts.clone())
        .header(his::NONCE_HEADER, "nonce-raw-key")
        .header(
            his::SIGNATURE_HEADER,
            his::sign(
                key,
                &his::string_to_sign("PUT", path, &ts, "nonce-raw-key", "", body.as_bytes()),
            ),
        )
        .body(body.clone());
    assert_eq!(status_code(r).await, (401, "bad_signature".into()));
    // A clock more than 300 s off, either way.
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            put(key, body.clone(), -301, "nonce-old-clock")
        ))
        .await,
        (401, "stale_request".into())
    );
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            put(key, body.clone(), 400, "nonce-new-clock")
        ))
        .await,
        (401, "stale_request".into())
    );
    assert_eq!(
        app.dump().await,
        before,
        "a refused signed request changed something"
    );

    // The right signature works once; the same request again is a replay.
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            put(key, body.clone(), 0, "nonce-once-0001")
        ))
        .await
        .0,
        201
    );
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            put(key, body.clone(), 0, "nonce-once-0001")
        ))
        .await,
        (401, "replayed_request".into())
    );
    let dump = app.dump().await;
    assert!(
        dump.contains("operator: \"his:his-signed\""),
        "the registration is attributed to its client"
    );

    // A doctor's workstation signs the staff member it acts for: changing
    // X-Acting-Staff on the way breaks the signature.
    let caller = his_client(&app, "his-ws", &[Scope::Calling], true, 1000).await;
    let caller: &'static str = Box::leak(caller.into_boxed_str());
    let call =
        |nonce: &'static str, acting: (Option<&'static str>, Option<&'static str>)| Signing {
            key: caller,
            method: "POST",
            path: "/api/v1/rooms/NK-02/pause",
            body: String::new(),
            skew: 0,
            nonce,
            acting,
        };
    let _ = app.staff_login("D1002", Role::Doctor, &["NK-02"]).await;
    let _ = app.staff_login("D1003", Role::Doctor, &["NK-03"]).await;
    let before = app.dump().await;
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            call("nonce-acting-1", (Some("D1003"), Some("D1002")))
        ))
        .await,
        (401, "bad_signature".into())
    );
    assert_eq!(app.dump().await, before);
    assert_eq!(
        status_code(signed(
            &c,
            &app,
            call("nonce-acting-2", (Some("D1002"), Some("D1002")))
        ))
        .await
        .0,
        200
    );
}

#[actix_web::test]
async fn a_his_client_over_its_rate_limit_gets_429_with_retry_after() {
    let app = spawn_app().await;
    let key = his_client(&app, "his-slow", &[Scope::Read], false, 5).await;
    let c = keyed(&key, None);
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..8 {
        let r = c
            .get(app.url("/api/v1/queues/NK"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
        }
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    let retry: u64 = retry.unwrap_or_default().parse().unwrap_or(0);
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // A revoked key is refused.
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        accounts::revoke_client(&mut c, "his-slow", &stamp()).unwrap_or_else(|e| panic!("{e}"));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    let r = c
        .get(app.url("/api/v1/queues/NK"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
}

#[actix_web::test]
async fn a_screen_without_a_valid_token_gets_no_data_and_a_revoked_one_is_cut_off() {
    let app = spawn_app().await;
    app.arrive("T1", &registration("欧阳娜娜", "NK")).await;
    // Wrong token: told so, then closed; never a snapshot.
    let mut ws = app.ws_bare("NK-HALL").await;
    ws.send(json!({"type": "hello", "token": "not-the-token"}))
        .await;
    assert_eq!(ws.next().await["type"], "unauthorized");
    // Asking for data before a token is refused too.
    let mut ws = app.ws_bare("NK-HALL").await;
    ws.send(json!({"type": "resync"})).await;
    assert_eq!(ws.next().await["type"], "unauthorized");
    let seen = ws.close().await;
    assert!(seen.iter().all(|f| !f.contains("snapshot")), "{seen:?}");

    // The right token: the snapshot. Then the token is revoked: the open
    // socket is told and closed within seconds, and a new one is refused.
    let mut ws = app.ws("NK-HALL").await;
    assert_eq!(ws.next().await["type"], "snapshot");
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        accounts::revoke_screen_token(&mut c, "NK-HALL", &stamp())
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    // The socket re-checks its token every heartbeat (5 s): the word comes
    // within one heartbeat and a little (`next` alone waits only 5 s).
    let mut cut = false;
    for _ in 0..3 {
        let f = ws.next_within(Duration::from_secs(8)).await;
        if f["type"] == "unauthorized" {
            cut = true;
            break;
        }
    }
    assert!(cut, "a revoked screen kept its socket");
    let mut again = app.ws("NK-HALL").await;
    assert_eq!(again.next().await["type"], "unauthorized");
    let _ = HashMap::<String, String>::new();
}

#[actix_web::test]
async fn a_password_given_on_standard_input_is_never_printed_back() {
    let app = spawn_app().await;
    let typed = "Typed-Pass-2026!x";
    crate::common::note_secret(typed);
    let url = app.db.url.clone();
    let add = [
        "user",
        "add",
        "--database-url",
        &url,
        "--demo",
        "--code",
        "N-STDIN",
        "--name",
        "标准输入",
        "--role",
        "nurse",
        "--scope",
        "NK",
        "--password-stdin",
    ];
    let (code, out) = crate::common::triage_cli_stdin(&add, &format!("{typed}\n"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(typed), "user add printed the password: {out}");
    let again = "Typed-Again-2026!y";
    crate::common::note_secret(again);
    let passwd = [
        "user",
        "passwd",
        "--database-url",
        &url,
        "--demo",
        "--code",
        "N-STDIN",
        "--password-stdin",
    ];
    let (code, out) = crate::common::triage_cli_stdin(&passwd, &format!("{again}\n"));
    assert_eq!(code, 0, "{out}");
    assert!(
        !out.contains(again),
        "user passwd printed the password: {out}"
    );
    // It is the password: the account logs in with it.
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&json!({"code": "N-STDIN", "password": again}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "the typed password logs in");
}
