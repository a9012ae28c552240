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

/// A registration row as the engine would store it (department NK).
fn stored_visit(visit_no: &str, body: &str, department: &str) -> triage::db::models::NewVisit {
    use triage::db::columns::VisitType;
    use triage_actors::model::{Sex, VisitStatus};
    let at = crate::common::china(0, "08:00").naive_utc();
    triage::db::models::NewVisit {
        visit_no: visit_no.into(),
        patient_id: format!("P-{visit_no}"),
        patient_name: "测试".into(),
        sex: Sex::Female,
        birth_date: None,
        department_code: department.into(),
        doctor_code: None,
        visit_type: VisitType::First,
        registered_at: at,
        appointment_start: None,
        appointment_end: None,
        special: "[]".into(),
        exam_items: "[]".into(),
        body: body.into(),
        status: VisitStatus::Registered,
        created_at: at,
        updated_at: at,
        his_seq: None,
        appointed_room: None,
    }
}

/// What a registration's write answered, as text to compare.
fn outcome(r: &Result<triage::db::store::Registered, triage::db::DbError>) -> String {
    use triage::db::store::Registered;
    match r {
        Ok(Registered::Stored(outcome, status)) => format!("stored {outcome:?} {status:?}"),
        Ok(Registered::Booked) => "booked".into(),
        Ok(Registered::InQueue(v)) => format!("in queue {}", v.visit_no),
        Err(e) => format!("refused {e:?}"),
    }
}

#[actix_web::test]
async fn registrations_in_a_row_decide_and_store_as_one_by_one_in_set_based_statements() {
    use triage::db::store::{self, Registering};
    use triage::db::{audit, connect_one};
    use triage_actors::model::Audit;
    let audit_of = |i: usize| Audit {
        operator: "t-his".into(),
        source: "his".into(),
        at: crate::common::china(0, "08:30") + chrono::Duration::seconds(i as i64),
        reason: None,
    };
    // The same history on two databases: registered visits, one of them
    // cancelled, one waiting, one booked for a room, one number an
    // appointment holds.
    let seeded = |url: String| async move {
        let db = crate::common::connect_db(&url);
        let a = audit_of(0);
        db.write(move |c| {
            for no in ["OLD", "SAME", "GONE", "WAIT", "ROOM", "MOVED"] {
                store::register(c, stored_visit(no, "v1", "NK"), &a, false)?;
            }
            for sql in [
                "UPDATE visits SET status = 'cancelled' WHERE visit_no = 'GONE'",
                "UPDATE visits SET status = 'waiting' WHERE visit_no = 'WAIT'",
                "UPDATE visits SET status = 'finished' WHERE visit_no = 'MOVED'",
                "UPDATE visits SET appointed_room = 'NK-02' WHERE visit_no = 'ROOM'",
                "INSERT INTO appointments (appointment_id, version, digest, room_code, status, updated_at) \
                 VALUES ('HELD', 1, 'd', 'NK-02', 'active', '2026-12-07 00:00:00')",
            ] {
                diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("seed: {e}"));
        db
    };
    // Every way a registration ends, in a row: new, replaced, unchanged,
    // cancelled, waiting with another body (a correction) and with the
    // same, booked, held by an appointment (and not guarded), finished
    // with another department.
    let requests: Vec<Registering> = [
        ("NEW1", "v1", "NK", true),
        ("OLD", "v2", "NK", true),
        ("SAME", "v1", "NK", true),
        ("GONE", "v2", "NK", true),
        ("WAIT", "v2", "NK", true),
        ("NEW2", "v1", "NK", true),
        ("WAIT", "v1", "NK", false),
        ("ROOM", "v2", "NK", true),
        ("HELD", "v1", "NK", true),
        ("MOVED", "v2", "WK", true),
        ("NEW3", "v1", "NK", false),
    ]
    .iter()
    .enumerate()
    .filter(|(i, _)| *i != 6) // a number twice runs one by one (below)
    .map(|(i, (no, body, dept, guard))| Registering {
        new: stored_visit(no, body, dept),
        audit: audit_of(i + 1),
        guard_appointment: *guard,
    })
    .collect();
    let (together_db, alone_db) = (
        crate::common::fresh_database(),
        crate::common::fresh_database(),
    );
    let together = seeded(together_db.url.clone()).await;
    let alone = seeded(alone_db.url.clone()).await;
    let (mine, theirs): (Vec<String>, Vec<String>) = {
        let copy = |r: &Registering| Registering {
            new: r.new.clone(),
            audit: r.audit.clone(),
            guard_appointment: r.guard_appointment,
        };
        let group: Vec<Registering> = requests.iter().map(copy).collect();
        let one_by_one: Vec<Registering> = requests.iter().map(copy).collect();
        let mine = together
            .write(move |c| {
                let refs: Vec<&Registering> = group.iter().collect();
                let results = store::register_all(c, &refs)?
                    .unwrap_or_else(|| panic!("distinct numbers ran one by one"));
                Ok(results.iter().map(outcome).collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|e| panic!("together: {e}"));
        let theirs = alone
            .write(move |c| {
                Ok(one_by_one
                    .iter()
                    .map(|r| {
                        use diesel::Connection;
                        outcome(&c.transaction(|sp| {
                            store::register(sp, r.new.clone(), &r.audit, r.guard_appointment)
                        }))
                    })
                    .collect::<Vec<_>>())
            })
            .await
            .unwrap_or_else(|e| panic!("alone: {e}"));
        (mine, theirs)
    };
    assert_eq!(mine, theirs, "decided otherwise together than one by one");
    assert_eq!(
        mine.iter().filter(|o| o.contains("Created")).count(),
        3,
        "{mine:?}"
    );
    assert!(mine.iter().any(|o| o.contains("Replaced")), "{mine:?}");
    assert!(mine.iter().any(|o| o == "booked"), "{mine:?}");
    assert!(mine.iter().any(|o| o == "in queue WAIT"), "{mine:?}");
    assert!(
        mine.iter().any(|o| o.contains("RegistrationCancelled")),
        "{mine:?}"
    );
    assert!(
        mine.iter().any(|o| o.contains("VisitAlreadyInQueue")),
        "{mine:?}"
    );
    // The same rows and the same audit events (kinds, visits, order).
    let dump = |url: String| {
        tokio::task::spawn_blocking(move || {
            let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            let verdict = audit::verify(&mut c).unwrap_or_else(|e| panic!("verify: {e}"));
            (
                store::dump(&mut c).unwrap_or_else(|e| panic!("dump: {e}")),
                verdict,
            )
        })
    };
    let (a, verdict_a) = dump(together_db.url.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (b, verdict_b) = dump(alone_db.url.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a, b, "stored otherwise together than one by one");
    assert_eq!(verdict_a, verdict_b, "the audit chains differ");
    assert!(
        matches!(verdict_a, audit::Verdict::Intact { records: 10, .. }),
        "{verdict_a}"
    );

    // A number twice in a row: they run one by one (the second sees the
    // first).
    let twice = [
        Registering {
            new: stored_visit("DUP", "v1", "NK"),
            audit: audit_of(20),
            guard_appointment: true,
        },
        Registering {
            new: stored_visit("DUP", "v1", "NK"),
            audit: audit_of(21),
            guard_appointment: true,
        },
    ];
    let apart = together
        .write(move |c| {
            let refs: Vec<&Registering> = twice.iter().collect();
            Ok(store::register_all(c, &refs)?.is_none())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(apart, "a number twice ran together");

    // An appointment row that cannot be read refuses the registration
    // its number guards, together as alone (the writer then runs each
    // alone).
    let broken = [
        Registering {
            new: stored_visit("BROKEN", "v1", "NK"),
            audit: audit_of(22),
            guard_appointment: true,
        },
        Registering {
            new: stored_visit("NEW9", "v1", "NK"),
            audit: audit_of(23),
            guard_appointment: true,
        },
    ];
    let (grouped, alone_answer) = together
        .write(move |c| {
            diesel::RunQueryDsl::execute(
                diesel::sql_query(
                    "INSERT INTO appointments (appointment_id, version, digest, room_code, status, updated_at) \
                     VALUES ('BROKEN', 1, 'd', 'NK-02', 'no-such-status', '2026-12-07 00:00:00')",
                ),
                c,
            )?;
            let refs: Vec<&Registering> = broken.iter().collect();
            let grouped = store::register_all(c, &refs).map(|r| r.is_some());
            let alone = store::register(c, broken[0].new.clone(), &broken[0].audit, true);
            Ok((format!("{grouped:?}"), outcome(&alone)))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(grouped.starts_with("Err"), "together: {grouped}");
    assert!(alone_answer.starts_with("refused"), "alone: {alone_answer}");
    together.stop_writer().await;
    alone.stop_writer().await;
}

#[actix_web::test]
async fn many_registrations_at_once_through_the_writer_are_each_answered_and_chained() {
    use triage::db::store::{Registered, Registering};
    use triage::db::{audit, connect_one, Db};
    let test_db = crate::common::fresh_database();
    let db = crate::common::connect_db(&test_db.url);
    let register = |db: Db, number: String, body: &'static str| async move {
        db.write_grouped(Registering {
            new: stored_visit(&number, body, "NK"),
            audit: triage_actors::model::Audit {
                operator: "t-his".into(),
                source: "his".into(),
                at: crate::common::china(0, "09:00"),
                reason: None,
            },
            guard_appointment: true,
        })
        .await
        .map(|r| match r {
            Registered::Stored(o, _) => format!("{o:?}"),
            other => format!("{other:?}"),
        })
        .unwrap_or_else(|e| panic!("refused: {e}"))
    };
    let count = |answers: &[String], what: &str| answers.iter().filter(|a| *a == what).count();
    let stored = |sql: &'static str| {
        let mut c = connect_one(&test_db.url).unwrap_or_else(|e| panic!("connect: {e}"));
        diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), &mut c)
            .map(|r| r.n)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // 300 at once, with writes of another kind between them: the runs of
    // registrations go set-based.
    let first = (0..300).map(|i| {
        let db = db.clone();
        async move {
            if i % 50 == 25 {
                db.write(|_| Ok(()))
                    .await
                    .map(|()| "other".to_string())
                    .unwrap_or_else(|e| panic!("{e}"))
            } else {
                register(db, format!("M{i:04}"), "v1").await
            }
        }
    });
    let answers = futures_util::future::join_all(first).await;
    assert_eq!(
        (count(&answers, "Created"), count(&answers, "other")),
        (294, 6),
        "{answers:?}"
    );
    assert_eq!(
        stored("SELECT COUNT(*) AS n FROM visits"),
        294,
        "a visit for every creation"
    );
    // Every tenth number twice more at once: a number twice in a run
    // runs one by one, and the later body wins.
    let again = (0..300)
        .step_by(10)
        .flat_map(|n| ["v2", "v3"].map(|body| register(db.clone(), format!("M{n:04}"), body)));
    let answers = futures_util::future::join_all(again).await;
    assert_eq!(count(&answers, "Replaced"), 60, "{answers:?}");
    assert_eq!(
        stored("SELECT COUNT(*) AS n FROM visits WHERE body = 'v3'"),
        30
    );
    let mut c = connect_one(&test_db.url).unwrap_or_else(|e| panic!("connect: {e}"));
    match audit::verify(&mut c).unwrap_or_else(|e| panic!("verify: {e}")) {
        audit::Verdict::Intact { records, .. } => assert_eq!(records, 294 + 60),
        other => panic!("the chain broke: {other}"),
    }
    db.stop_writer().await;
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[actix_web::test]
async fn wrong_typed_ids_phones_and_passwords_are_refused_and_never_reach_a_log_line() {
    crate::common::capture_logs();
    let app = spawn_app().await;
    // Values a HIS or a login form sends with the wrong type: a resident
    // ID number and a birth date as numbers, a mobile number as a number
    // where a code goes, a password as a number.
    const ID: u64 = 110105194912310021;
    const PHONE: u64 = 13812345678;
    const BIRTH: u64 = 19491231;
    const PASSWORD: u64 = 87654321;
    for secret in [ID, PHONE, BIRTH, PASSWORD] {
        crate::common::note_secret(&secret.to_string());
    }
    let mut body = registration("类型错", "NK");
    body["patient"]["id"] = json!(ID);
    let mut birth = registration("生日错", "NK");
    birth["patient"]["birth_date"] = json!(BIRTH);
    let mut phone = registration("电话错", "NK");
    phone["doctor_code"] = json!(PHONE);
    for (visit, body, field) in [
        ("T1", &body, "patient.id"),
        ("T2", &birth, "patient.birth_date"),
        ("T3", &phone, "doctor_code"),
    ] {
        let r = app.put_registration(visit, body).await;
        assert!(r.status().is_client_error(), "{field}: {}", r.status());
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(v["error"]["field"], field, "{v}");
    }
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&json!({"code": "t-admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.status().is_client_error(), "login: {}", r.status());
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["error"]["field"], "password", "{v}");
    // This process's log lines (when the test command collects them; the
    // CI log scan reads them all again with every secret noted above).
    let Some(dir) = crate::common::log_dir() else {
        return;
    };
    let log = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|f| {
            f.file_name()
                .to_string_lossy()
                .ends_with(&format!("-{}.log", std::process::id()))
        })
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect::<String>();
    assert!(
        log.contains("request refused"),
        "the refusals were not logged at all"
    );
    for secret in [ID, PHONE, BIRTH, PASSWORD] {
        assert!(
            !log.contains(&secret.to_string()),
            "a value a client sent reached a log line"
        );
    }
}

/// A registration with `checked_in` is one commit: when the check-in cannot
/// be stored (here a trigger refuses every ticket, as a full disk refuses
/// the second write), the answer is an error and nothing of the visit is
/// stored, so HIS sending it again is the whole of the recovery.
#[actix_web::test]
async fn a_registration_whose_check_in_fails_stores_nothing() {
    let app = spawn_app().await;
    let run = |sql: Vec<&'static str>| {
        let url = app.db.url.clone();
        tokio::task::spawn_blocking(move || {
            use diesel::RunQueryDsl;
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            for s in sql {
                diesel::sql_query(s)
                    .execute(&mut c)
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
        })
    };
    let refuse = if crate::common::backend_name() == "postgres" {
        vec![
            "CREATE FUNCTION refuse_ticket() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no space left (test)'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_ticket BEFORE UPDATE OF ticket_no ON visits FOR EACH ROW EXECUTE FUNCTION refuse_ticket()",
        ]
    } else {
        vec!["CREATE TRIGGER refuse_ticket BEFORE UPDATE OF ticket_no ON visits BEGIN SELECT RAISE(ABORT, 'no space left (test)'); END"]
    };
    run(refuse).await.unwrap_or_else(|e| panic!("{e}"));
    let body = {
        let mut b = registration("赵六", "NK");
        b["checked_in"] = json!(true);
        b
    };
    let r = app.put_registration("V9", &body).await;
    let status = r.status().as_u16();
    assert!(status >= 500, "the check-in could not be stored: {status}");
    let kept = app
        .http
        .get(app.url("/api/v1/registrations/V9"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        kept.status().as_u16(),
        404,
        "an error answer stored the registration"
    );
    assert!(app.events("registered").await.is_empty());
    // Sent again once the disk has room: registered and checked in.
    run(vec!["DROP TRIGGER refuse_ticket ON visits"]
        .into_iter()
        .filter(|_| crate::common::backend_name() == "postgres")
        .chain(
            ["DROP TRIGGER refuse_ticket"]
                .into_iter()
                .filter(|_| crate::common::backend_name() != "postgres"),
        )
        .collect())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let r = app.put_registration("V9", &body).await;
    assert_eq!(r.status().as_u16(), 201);
    let answer: Value = r.json().await.unwrap_or_default();
    assert_eq!(answer["outcome"], "created");
    assert_eq!(answer["check_in"]["ticket_no"], "A001");
}

/// A registration with `checked_in` whose check-in is refused (here too
/// early: an appointment two hours ahead, under a 30-minute early window)
/// keeps the registration, as before the one-commit path: the 409 is the
/// check-in's, and the registration is there to check in later.
#[actix_web::test]
async fn a_refused_check_in_keeps_the_registration() {
    let app = spawn_app().await;
    let r = app
        .http
        .put(app.url("/api/v1/queues/NK/rules"))
        .json(&json!({"early_check_in_minutes": 30, "reason": "预约报到窗口"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let now = app.now();
    let mut body = registration("预约丙", "NK");
    body["appointment"] = json!({
        "start": (now + chrono::Duration::minutes(120)).to_rfc3339(),
        "end": (now + chrono::Duration::minutes(150)).to_rfc3339(),
    });
    body["checked_in"] = json!(true);
    let r = app.put_registration("A9", &body).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "too_early", "{e}");
    let kept = app.get_json("/api/v1/registrations/A9").await;
    assert_eq!(kept["status"], "registered", "{kept}");
}
