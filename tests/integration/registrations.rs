//! HIS registrations and check-in: idempotency, and bad input that changes
//! nothing (compared by a dump of every table).

use serde_json::{json, Value};

use crate::common::{registration, spawn_app};

#[actix_web::test]
async fn the_same_registration_twice_is_one_visit_and_the_same_check_in_twice_one_ticket() {
    let app = spawn_app().await;
    let body = registration("张三丰", "NK");

    let first = app.put_registration("V1001", &body).await;
    assert_eq!(first.status(), 201);
    let after_first = app.dump().await;
    let second = app.put_registration("V1001", &body).await;
    assert_eq!(second.status(), 200);
    let v: Value = second.json().await.unwrap_or_default();
    assert_eq!(v["outcome"], "unchanged");
    assert_eq!(
        app.dump().await,
        after_first,
        "an identical PUT changes nothing"
    );

    let a: Value = app.check_in("V1001").await.json().await.unwrap_or_default();
    let b: Value = app.check_in("V1001").await.json().await.unwrap_or_default();
    assert_eq!(a["ticket_no"], "A001");
    assert_eq!(a["created"], true);
    assert_eq!(b["ticket_no"], "A001", "same ticket on repeat");
    assert_eq!(b["created"], false);
    assert_eq!(app.queue_order("NK").await, vec!["V1001"]);
    let dump = app.dump().await;
    assert_eq!(dump.matches("visits VisitRow").count(), 1, "one visit row");
    assert_eq!(
        dump.matches("kind: \"checked_in\"").count(),
        1,
        "one check-in event"
    );
}

#[actix_web::test]
async fn check_in_answers_ticket_position_and_wait() {
    let app = spawn_app().await;
    app.arrive("V1", &registration("李四", "NK")).await;
    app.arrive("V2", &registration("王五", "NK")).await;
    let r: Value = app
        .put_registration("V3", &{
            let mut b = registration("赵六", "NK");
            b["checked_in"] = json!(true);
            b
        })
        .await
        .json()
        .await
        .unwrap_or_default();
    let ci = &r["check_in"];
    assert_eq!(ci["ticket_no"], "A003");
    assert_eq!(ci["queue_code"], "NK");
    assert_eq!(ci["position"], 3);
    assert_eq!(ci["ahead"], 2);
    assert!(ci["estimated_wait_minutes"].as_u64().is_some());
}

#[actix_web::test]
async fn replacing_a_registration_updates_it_and_cancel_removes_it_from_the_queue() {
    let app = spawn_app().await;
    app.arrive("V1", &registration("李四", "NK")).await;
    app.arrive("V2", &registration("王五", "NK")).await;
    let mut changed = registration("李四", "NK");
    changed["patient"]["sex"] = json!("女");
    let r = app.put_registration("V1", &changed).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["outcome"], "replaced");

    let r = app
        .http
        .delete(app.url("/api/v1/registrations/V1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(app.queue_order("NK").await, vec!["V2"]);
    // Cancelled twice: still cancelled, nothing new.
    let before = app.dump().await;
    let r = app
        .http
        .delete(app.url("/api/v1/registrations/V1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(app.dump().await, before);
    // A cancelled registration cannot check in.
    let r = app.check_in("V1").await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "registration_cancelled");
}

/// One bad request: (what, path, content type, body, status, code, field).
type Bad = (
    &'static str,
    String,
    Option<&'static str>,
    Vec<u8>,
    u16,
    &'static str,
    Option<&'static str>,
);

fn bad_requests() -> Vec<Bad> {
    let good = registration("张三丰", "NK");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        serde_json::to_vec(&b).unwrap_or_default()
    };
    let p = "/api/v1/registrations/V9".to_string();
    let json = Some("application/json");
    vec![
        (
            "missing name",
            p.clone(),
            json,
            with(&|b| {
                b["patient"].as_object_mut().map(|o| o.remove("name"));
            }),
            422,
            "missing_field",
            Some("patient.name"),
        ),
        (
            "missing department",
            p.clone(),
            json,
            with(&|b| {
                b.as_object_mut().map(|o| o.remove("department_code"));
            }),
            422,
            "missing_field",
            Some("department_code"),
        ),
        (
            "mistyped sex",
            p.clone(),
            json,
            with(&|b| b["patient"]["sex"] = json!(true)),
            422,
            "invalid_sex",
            Some("patient.sex"),
        ),
        (
            "mistyped name",
            p.clone(),
            json,
            with(&|b| b["patient"]["name"] = json!(42)),
            422,
            "invalid_field",
            Some("patient.name"),
        ),
        (
            "bad date",
            p.clone(),
            json,
            with(&|b| b["registered_at"] = json!("yesterday")),
            422,
            "invalid_field",
            Some("registered_at"),
        ),
        (
            "future birth",
            p.clone(),
            json,
            with(&|b| b["patient"]["birth_date"] = json!("2999-01-01")),
            422,
            "invalid_birth_date",
            Some("patient.birth_date"),
        ),
        (
            "unknown department",
            p.clone(),
            json,
            with(&|b| b["department_code"] = json!("XK")),
            422,
            "unknown_department",
            Some("department_code"),
        ),
        (
            "unknown special tag",
            p.clone(),
            json,
            with(&|b| b["special"] = json!(["vip"])),
            422,
            "unknown_special_tag",
            Some("special[0]"),
        ),
        (
            "bad visit type",
            p.clone(),
            json,
            with(&|b| b["visit_type"] = json!("second")),
            422,
            "invalid_visit_type",
            Some("visit_type"),
        ),
        (
            "slot ends before start",
            p.clone(),
            json,
            with(
                &|b| b["appointment"] = json!({"start": crate::common::rfc(-14, "09:00:00"), "end": crate::common::rfc(-14, "08:00:00")}),
            ),
            422,
            "invalid_appointment",
            Some("appointment.end"),
        ),
        (
            "empty name",
            p.clone(),
            json,
            with(&|b| b["patient"]["name"] = json!("  ")),
            422,
            "invalid_patient_name",
            Some("patient.name"),
        ),
        (
            "not JSON",
            p.clone(),
            json,
            b"hello, HIS".to_vec(),
            400,
            "malformed_json",
            None,
        ),
        (
            "JSON array",
            p.clone(),
            json,
            b"[1,2]".to_vec(),
            400,
            "malformed_json",
            None,
        ),
        (
            "empty body",
            p.clone(),
            json,
            Vec::new(),
            400,
            "missing_body",
            None,
        ),
        (
            "wrong content type",
            p.clone(),
            Some("text/plain"),
            with(&|_| {}),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "oversize",
            p.clone(),
            json,
            with(&|b| b["patient"]["id"] = json!("x".repeat(70 * 1024))),
            413,
            "payload_too_large",
            None,
        ),
        (
            "bad visit number",
            "/api/v1/registrations/V%209".to_string(),
            json,
            with(&|_| {}),
            422,
            "invalid_visit_no",
            Some("visit_no"),
        ),
    ]
}

#[actix_web::test]
async fn bad_registrations_get_a_json_error_and_change_nothing() {
    let app = spawn_app().await;
    app.arrive("V1", &registration("李四", "NK")).await;
    let before = app.dump().await;
    for (what, path, ct, body, status, code, field) in bad_requests() {
        let mut req = app.http.put(app.url(&path)).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.status().as_u16(), status, "{what}");
        let e: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: error body is not JSON: {e}"));
        assert_eq!(e["error"]["code"], code, "{what}: {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}"
        );
        if let Some(f) = field {
            assert_eq!(e["error"]["field"], f, "{what}: {e}");
        }
        assert_eq!(app.dump().await, before, "{what} changed stored data");
    }
}

#[actix_web::test]
async fn bad_commands_get_a_json_error_and_change_nothing() {
    let app = spawn_app().await;
    app.arrive("V1", &registration("李四", "NK")).await;
    let before = app.dump().await;
    let cases = [
        (
            "/api/v1/registrations/NOPE/check-in",
            404,
            "visit_not_found",
        ),
        ("/api/v1/rooms/NOPE/call-next", 404, "room_not_found"),
        ("/api/v1/rooms/NK-02/finish", 409, "no_current_patient"),
        ("/api/v1/rooms/NK-02/recall", 409, "no_current_patient"),
        ("/api/v1/rooms/NK-02/skip", 409, "no_current_patient"),
        ("/api/v1/rooms/NK-02/dance", 404, "unknown_action"),
        ("/api/v1/rooms/WK-01/call-next", 409, "queue_empty"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ];
    for (path, status, code) in cases {
        let r = app
            .http
            .post(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status().as_u16(), status, "{path}");
        let e: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
        assert_eq!(e["error"]["code"], code, "{path}");
        assert_eq!(app.dump().await, before, "{path} changed stored data");
    }
    // Wrong method on a known path.
    let r = app
        .http
        .get(app.url("/api/v1/rooms/NK-02/call-next"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error());
    let e: Value = r.json().await.unwrap_or_default();
    assert!(e["error"]["code"].is_string());
    // A paused room calls nobody.
    assert_eq!(app.room("NK-02", "pause").await.status(), 200);
    let paused = app.dump().await;
    let r = app.room("NK-02", "call-next").await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "room_paused");
    assert_eq!(app.dump().await, paused);
}

#[actix_web::test]
async fn the_configuration_is_visible_through_the_api() {
    let app = spawn_app().await;
    let d = app.get_json("/api/v1/departments").await;
    assert_eq!(d["departments"].as_array().map(Vec::len), Some(3));
    let r = app.get_json("/api/v1/rooms").await;
    assert_eq!(r["rooms"].as_array().map(Vec::len), Some(10));
    assert_eq!(r["rooms"][0]["queues"], json!(["NK-D1001", "NK"]));
    let ek2 = app.get_json("/api/v1/rooms/EK-02").await;
    assert_eq!(ek2["waiting_cap"], 3, "two-stage room: {ek2}");
    let q = app.get_json("/api/v1/queues").await;
    assert_eq!(q["queues"].as_array().map(Vec::len), Some(5));
    let ek = q["queues"]
        .as_array()
        .and_then(|a| a.iter().find(|q| q["code"] == "EK"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(ek["rules"]["appointment_mode"], "slot", "{ek}");
    assert_eq!(ek["rules"]["day"]["slot_minutes"], 20);
    let doc = app.get_json("/api/v1/doctors").await;
    assert_eq!(doc["doctors"][0]["title"], "主任医师");
    let s = app.get_json("/api/v1/screens").await;
    assert_eq!(s["screens"].as_array().map(Vec::len), Some(13));
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = metrics.text().await.unwrap_or_default();
    assert!(
        text.contains("triage_queue_waiting{queue=\"NK\"} 0"),
        "{text}"
    );
}

#[actix_web::test]
async fn doctor_master_data_reaches_the_door_screen() {
    let app = spawn_app().await;
    let png = base64_png();
    let r = app
        .http
        .put(app.url("/api/v1/doctors/D1002"))
        .json(&json!({"name": "李秀梅", "department_code": "NK", "title": "主任医师", "introduction": "内分泌专家", "photo": png}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let room = app.get_json("/api/v1/rooms/NK-02").await;
    assert_eq!(room["doctor"]["title"], "主任医师");
    assert_eq!(room["doctor"]["photo_url"], "/api/v1/doctors/D1002/photo");
    let photo = app
        .http
        .get(app.url("/api/v1/doctors/D1002/photo"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(photo.headers()["content-type"], "image/png");
    let before = app.dump().await;
    let r = app
        .http
        .put(app.url("/api/v1/doctors/D1002"))
        .json(&json!({"name": "李秀梅", "department_code": "NK", "photo": "not base64!"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 422);
    assert_eq!(app.dump().await, before);
}

fn base64_png() -> String {
    // A 1x1 PNG.
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==".to_string()
}

#[actix_web::test]
async fn a_his_sequence_delivered_twice_ends_in_the_same_state() {
    let app = spawn_app().await;
    let his = app.his();
    let mut first = registration("孔十四", "NK");
    let mut corrected = first.clone();
    corrected["patient"]["name"] = json!("孔十四郎");
    crate::common::note_secret("孔十四郎");
    first["checked_in"] = json!(false);
    corrected["checked_in"] = json!(false);
    let other = registration("曹十五", "WK");
    let sequence: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::PUT,
            "/api/v1/registrations/Q1".into(),
            Some(first),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/registrations/Q2".into(),
            Some(other),
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/registrations/Q1".into(),
            Some(corrected),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/registrations/Q1/check-in".into(),
            None,
        ),
        (
            reqwest::Method::DELETE,
            "/api/v1/registrations/Q2".into(),
            None,
        ),
    ];
    let deliver = || async {
        for (m, path, body) in &sequence {
            let mut r = his.request(m.clone(), app.url(path));
            if let Some(b) = body {
                r = r.json(b);
            }
            let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(r.status().is_success(), "{m} {path}: {}", r.status());
        }
    };
    // What the sequence leaves: every row but the audit log (which records
    // each delivery that changed something: replayed in order, the first
    // message puts the old name back until the correction comes again)
    // and the times rows were last written.
    let state = || async {
        app.dump()
            .await
            .lines()
            .filter(|l| !l.starts_with("events "))
            .map(|l| {
                l.split(", ")
                    .filter(|f| !f.starts_with("updated_at: "))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    deliver().await;
    let once = state().await;
    deliver().await;
    assert_eq!(
        state().await,
        once,
        "the second delivery ends in the same state"
    );
    assert_eq!(app.queue_order("NK").await, ["Q1"]);
}
