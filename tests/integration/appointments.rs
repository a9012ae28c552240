//! Appointments (预约) booked by HIS for an exact room: the room's door
//! screen lists them at once (masked), a move or a cancellation changes
//! the screens at once, check-in puts the patient in the room's queue
//! ordered by the slot, and only the booked room calls them; the same
//! messages twice or out of order end in the same state; every refusal
//! changes nothing.

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::{china, local_midnight, note_secret, registration, spawn_app, TestApp, Ws};

/// A slot that began up to ten minutes ago (today) and ends in twenty, on
/// the app's clock.
fn slot_now(app: &TestApp) -> Value {
    let now = app.now();
    let start = (now - Duration::minutes(10)).max(local_midnight(now));
    json!({"start": start.to_rfc3339(), "end": (now + Duration::minutes(20)).to_rfc3339()})
}

fn appointment(version: i64, name: &str, room: &str, slot: Value) -> Value {
    note_secret(name);
    json!({
        "version": version,
        "patient": {"id": format!("P-{name}"), "name": name, "sex": "2", "birth_date": "1990-05-06"},
        "room_code": room,
        "slot": slot,
        "booked_at": china(-2, "15:20").to_rfc3339(),
        "exam_items": [{"code": "GAS-01", "name": "胃镜"}]
    })
}

/// A HIS request about appointment `id` (`tail` after it): status and body.
async fn his(
    app: &TestApp,
    method: &str,
    id: &str,
    tail: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let url = app.url(&format!("/api/v1/appointments/{id}{tail}"));
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut req = app.his().request(method, url);
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

async fn put(app: &TestApp, id: &str, body: &Value) -> (u16, Value) {
    his(app, "PUT", id, "", Some(body)).await
}

async fn delete(app: &TestApp, id: &str) -> (u16, Value) {
    his(app, "DELETE", id, "", None).await
}

async fn check_in(app: &TestApp, id: &str) -> (u16, Value) {
    his(app, "POST", id, "/check-in", None).await
}

/// The room of the next frame about `room` on a door screen.
async fn next_room_frame(ws: &mut Ws) -> Value {
    loop {
        let f = ws.next().await;
        match f["type"].as_str() {
            Some("room") => return f["room"].clone(),
            Some("snapshot") => return f["rooms"][0].clone(),
            _ => {}
        }
    }
}

/// The door screen's list of appointments (masked names).
fn listed(room: &Value) -> Vec<String> {
    room["appointments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["masked_name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn next_tickets(room: &Value) -> Vec<String> {
    room["next"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["ticket_no"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn an_appointment_reaches_its_door_screen_moves_at_once_and_only_its_room_calls_it() {
    let app = spawn_app().await;
    let mut door2 = app.ws("NK-02-DOOR").await;
    let mut door3 = app.ws("NK-03-DOOR").await;
    let mut door4 = app.ws("NK-04-DOOR").await; // without the option
    assert!(listed(&next_room_frame(&mut door2).await).is_empty());
    assert!(listed(&next_room_frame(&mut door3).await).is_empty());
    next_room_frame(&mut door4).await;

    // Booked for NK-02: its door lists the masked name at once.
    let body = appointment(1, "赵晓六", "NK-02", slot_now(&app));
    let (s, v) = put(&app, "AP1", &body).await;
    assert_eq!((s, v["outcome"].as_str()), (201, Some("created")), "{v}");
    assert_eq!(v["status"], "registered");
    let room = next_room_frame(&mut door2).await;
    assert_eq!(listed(&room), vec!["赵*六"]);
    let shown = room["appointments"][0].to_string();
    assert!(
        !shown.contains("胃镜") && !shown.contains("AP1") && !shown.contains("赵晓六"),
        "{shown}"
    );

    // The same message again: nothing changes, one event.
    let (s, v) = put(&app, "AP1", &body).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("unchanged")), "{v}");
    assert_eq!(app.events("registered").await.len(), 1);

    // Moved to NK-03 (version 2): both doors change at once.
    let moved = appointment(2, "赵晓六", "NK-03", slot_now(&app));
    let (s, v) = put(&app, "AP1", &moved).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("replaced")), "{v}");
    assert!(listed(&next_room_frame(&mut door2).await).is_empty());
    assert_eq!(listed(&next_room_frame(&mut door3).await), vec!["赵*六"]);

    // Version 1 arriving late changes nothing; version 2 with other
    // content is a conflict; neither changes a table.
    let before = app.dump().await;
    let (s, v) = put(&app, "AP1", &body).await;
    assert_eq!(
        (s, v["outcome"].as_str(), v["version"].as_i64()),
        (200, Some("superseded"), Some(2)),
        "{v}"
    );
    let mut other = moved.clone();
    other["slot"]["end"] = json!((app.now() + Duration::minutes(40)).to_rfc3339());
    let (s, v) = put(&app, "AP1", &other).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("version_conflict")),
        "{v}"
    );
    assert_eq!(app.dump().await, before);
    let state = app.get_json("/api/v1/appointments/AP1").await;
    assert_eq!(
        (state["version"].as_i64(), state["room_code"].as_str()),
        (Some(2), Some("NK-03"))
    );
    assert_eq!(state["visit"]["status"], "registered");

    // Two walk-ins, then the appointment checks in: its slot began before
    // they came, so it is first in the department's queue; it leaves the
    // door's list of appointments not checked in yet.
    let w1 = app.arrive("W1", &registration("钱一", "NK")).await;
    let w2 = app.arrive("W2", &registration("孙二", "NK")).await;
    let (s, v) = check_in(&app, "AP1").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["queue_code"].as_str(), v["position"].as_u64()),
        (Some("NK"), Some(1)),
        "{v}"
    );
    let ticket = v["ticket_no"].as_str().unwrap_or_default().to_string();
    assert_eq!(app.queue_order("NK").await, vec!["AP1", "W1", "W2"]);

    // Only NK-03's door shows the patient as next; NK-02 and NK-04 do not.
    let mut r3 = next_room_frame(&mut door3).await;
    while next_tickets(&r3).first() != Some(&ticket) || !listed(&r3).is_empty() {
        r3 = next_room_frame(&mut door3).await;
    }
    let mut r2 = next_room_frame(&mut door2).await;
    while next_tickets(&r2).len() < 2 {
        r2 = next_room_frame(&mut door2).await;
    }
    assert_eq!(next_tickets(&r2), vec![w1.clone(), w2.clone()]);

    // NK-02 calls the walk-in; NK-03 the booked patient.
    let r: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "W1", "{r}");
    let r: Value = app
        .room("NK-03", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "AP1", "{r}");

    // After a restart the reservation holds: a second booked patient is
    // skipped by NK-02 and taken by NK-03.
    let (s, _) = put(
        &app,
        "AP2",
        &appointment(1, "周小七", "NK-03", slot_now(&app)),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(check_in(&app, "AP2").await.0, 200);
    let app = app.restarted().await;
    let r: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "W2", "{r}");
    let r: Value = app
        .room("NK-03", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "AP2", "{r}");
}

#[actix_web::test]
async fn a_waiting_appointment_moves_within_its_queue_and_a_cancellation_removes_it() {
    let app = spawn_app().await;
    let (s, _) = put(
        &app,
        "AP3",
        &appointment(1, "吴小八", "NK-02", slot_now(&app)),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(check_in(&app, "AP3").await.0, 200);
    app.arrive("W1", &registration("郑九", "NK")).await;

    // Moved to NK-04 while waiting (same queue): NK-02 no longer takes it.
    let (s, v) = put(
        &app,
        "AP3",
        &appointment(2, "吴小八", "NK-04", slot_now(&app)),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("waiting")), "{v}");
    let r: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "W1", "{r}");

    // Moved to a room of another department while waiting: refused,
    // nothing changes (a nurse transfers the patient).
    let before = app.dump().await;
    let (s, v) = put(
        &app,
        "AP3",
        &appointment(3, "吴小八", "WK-01", slot_now(&app)),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("appointment_in_queue")),
        "{v}"
    );
    assert_eq!(app.dump().await, before);

    // Cancelled: it leaves the queue; the cancellation is final.
    let (s, v) = delete(&app, "AP3").await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("cancelled")), "{v}");
    assert!(app.queue_order("NK").await.is_empty());
    let (s, v) = delete(&app, "AP3").await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("unchanged")), "{v}");
    let (s, v) = put(
        &app,
        "AP3",
        &appointment(4, "吴小八", "NK-04", slot_now(&app)),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("appointment_cancelled")),
        "{v}"
    );
    let state = app.get_json("/api/v1/appointments/AP3").await;
    assert_eq!(
        (state["status"].as_str(), state["visit"]["status"].as_str()),
        (Some("cancelled"), Some("cancelled"))
    );
}

/// What HIS can read of an appointment, without the times of arrival.
async fn seen(app: &TestApp, id: &str) -> Value {
    let mut v = app.get_json(&format!("/api/v1/appointments/{id}")).await;
    v["visit"]
        .as_object_mut()
        .map(|o| o.remove("checked_in_at"));
    v
}

#[actix_web::test]
async fn the_same_messages_twice_or_out_of_order_end_in_the_same_state() {
    let in_order = spawn_app().await;
    let shuffled = spawn_app().await;
    let slot = slot_now(&in_order);
    let v1 = appointment(1, "冯十", "NK-02", slot.clone());
    let v2 = appointment(2, "冯十", "NK-03", slot.clone());
    let v3 = appointment(3, "冯十", "NK-04", slot);
    for b in [&v1, &v2, &v3, &v3, &v2] {
        assert!(put(&in_order, "AP4", b).await.0 < 300);
    }
    for b in [&v3, &v1, &v2, &v3, &v1] {
        assert!(put(&shuffled, "AP4", b).await.0 < 300);
    }
    assert_eq!(seen(&in_order, "AP4").await, seen(&shuffled, "AP4").await);
    assert_eq!(seen(&in_order, "AP4").await["room_code"], "NK-04");

    // A cancellation before the appointment wins, as one after it does.
    let (s, v) = delete(&in_order, "AP5").await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("unchanged")), "{v}");
    let (s, v) = put(&in_order, "AP5", &v1).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("appointment_cancelled")),
        "{v}"
    );
    assert_eq!(put(&shuffled, "AP5", &v1).await.0, 201);
    assert_eq!(delete(&shuffled, "AP5").await.0, 200);
    for app in [&in_order, &shuffled] {
        let state = app.get_json("/api/v1/appointments/AP5").await;
        assert_eq!(state["status"], "cancelled");
        assert!(app.queue_order("NK").await.is_empty());
    }
}

#[actix_web::test]
async fn bad_appointments_get_a_json_error_and_change_nothing() {
    let app = spawn_app().await;
    app.put_registration("R1", &registration("陈十一", "NK"))
        .await;
    let (s, _) = put(
        &app,
        "AP6",
        &appointment(1, "褚十二", "NK-02", slot_now(&app)),
    )
    .await;
    assert_eq!(s, 201);
    let nurse = app
        .staff("n-nk", triage::auth::policy::Role::Nurse, &["NK"])
        .await;
    let before = app.dump().await;

    let good = appointment(2, "褚十二", "NK-02", slot_now(&app));
    let with = |path: &str, value: Value| {
        let mut b = good.clone();
        let mut at = &mut b;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = &mut at[*p];
        }
        at[parts[parts.len() - 1]] = value;
        b
    };
    let now = app.now();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with("room_code", json!("NOPE")),
            422,
            "unknown_room",
            "room_code",
        ),
        (with("version", json!(0)), 422, "invalid_version", "version"),
        (
            with("slot.end", json!((now - Duration::hours(1)).to_rfc3339())),
            422,
            "invalid_appointment",
            "slot.end",
        ),
        (
            with("patient.name", json!("")),
            422,
            "invalid_patient_name",
            "patient.name",
        ),
        (
            with("patient.sex", json!("x")),
            422,
            "invalid_sex",
            "patient.sex",
        ),
        (
            with("visit_type", json!("later")),
            422,
            "invalid_visit_type",
            "visit_type",
        ),
        (
            with("special", json!(["vip"])),
            422,
            "unknown_special_tag",
            "special[0]",
        ),
        (
            with("exam_items", json!([{"code": "", "name": "x"}])),
            422,
            "invalid_exam_item",
            "exam_items[0]",
        ),
        (
            with("sequence_no", json!(0)),
            422,
            "invalid_sequence_no",
            "sequence_no",
        ),
    ];
    for (body, status, code, field) in cases {
        let (s, v) = put(&app, "AP6", &body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (status, Some(code), Some(field)),
            "{body}: {v}"
        );
    }
    let mut extra = good.clone();
    extra["colour"] = json!("red");
    let (s, v) = put(&app, "AP6", &extra).await;
    assert_eq!(s, 422, "{v}");

    // An appointment under a registration's number, and the reverse.
    let (s, v) = put(&app, "R1", &good).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("visit_no_taken")),
        "{v}"
    );
    let r = app
        .put_registration("AP6", &registration("褚十二", "NK"))
        .await;
    assert_eq!(r.status(), 409);
    let (s, v) = delete(&app, "R1").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("visit_no_taken")),
        "{v}"
    );
    // A nurse's session may not book.
    let r = nurse
        .put(app.url("/api/v1/appointments/AP6"))
        .json(&good)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn a_nurses_transfer_releases_the_room_and_a_cancellation_reaches_a_patient_set_aside() {
    let app = spawn_app().await;
    // Booked for NK-01: waits in its doctor's own queue.
    let booked = appointment(1, "蒋十三", "NK-01", slot_now(&app));
    assert_eq!(put(&app, "AP7", &booked).await.0, 201);
    let (s, v) = check_in(&app, "AP7").await;
    assert_eq!(
        (s, v["queue_code"].as_str()),
        (200, Some("NK-D1001")),
        "{v}"
    );

    // The nurse transfers the patient to the department's queue: any room
    // there calls them now, also after a restart.
    let r = app
        .http
        .post(app.url("/api/v1/visits/AP7/transfer"))
        .json(&json!({"queue_code": "NK", "reason": "专家停诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    // The same message from HIS again changes nothing and is not refused.
    let (s, v) = put(&app, "AP7", &booked).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("unchanged")), "{v}");
    let app = app.restarted().await;
    let r: Value = app
        .room("NK-03", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "AP7", "{r}");

    // Missed (过号), then cancelled by HIS: nobody brings them back.
    assert_eq!(app.room("NK-03", "skip").await.status(), 200);
    let (s, v) = delete(&app, "AP7").await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("cancelled")), "{v}");
    let r = app
        .http
        .post(app.url("/api/v1/registrations/AP7/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["error"]["code"], "registration_cancelled", "{v}");

    // DELETE /registrations of an appointment keeps the cancellation final.
    assert_eq!(
        put(
            &app,
            "AP8",
            &appointment(1, "沈十四", "NK-02", slot_now(&app))
        )
        .await
        .0,
        201
    );
    let r = app
        .his()
        .delete(app.url("/api/v1/registrations/AP8"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let (s, v) = put(
        &app,
        "AP8",
        &appointment(2, "沈十四", "NK-02", slot_now(&app)),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("appointment_cancelled")),
        "{v}"
    );
}

#[actix_web::test]
async fn a_patient_booked_for_one_room_and_sent_by_the_nurse_to_another_is_called_there() {
    let app = spawn_app().await;
    let booked = appointment(1, "韩十五", "NK-02", slot_now(&app));
    assert_eq!(put(&app, "AP9", &booked).await.0, 201);
    let (s, v) = check_in(&app, "AP9").await;
    assert_eq!(s, 200, "{v}");
    let queue = v["queue_code"].as_str().unwrap_or_default().to_string();
    // NK-03 calls from the same queue: the nurse sends him there.
    let rooms = app.get_json("/api/v1/rooms").await;
    let serves = rooms["rooms"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["code"] == "NK-03"))
        .map(|r| r["queues"].to_string())
        .unwrap_or_default();
    assert!(
        serves.contains(&queue),
        "NK-03 calls {serves}, he waits in {queue}"
    );
    let r = app
        .http
        .post(app.url("/api/v1/visits/AP9/transfer"))
        .json(&json!({"room_code": "NK-03", "reason": "二诊室医生手术"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    // The booking no longer binds him: NK-03 calls him, also after a
    // restart (as stored).
    let app = app.restarted().await;
    let r: Value = app
        .room("NK-03", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "AP9", "{r}");
}
