//! The HIS contract's word on idempotence, under concurrency: every write
//! the guide says may be sent again is sent twelve times at once, and every
//! copy is answered as a success — one that made the change, the others
//! that changed nothing — never a 409 the guide says not to retry; the
//! stored state is that of one request; the audit log holds one change.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::{china, note_secret, registration, spawn_app, TestApp};

/// Sends `method path body` twelve times at once as HIS; the statuses and
/// bodies.
async fn twelve(
    app: &TestApp,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Vec<(u16, Value)> {
    let his = app.his();
    let sends = (0..12).map(|_| {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut r = his.request(m, app.url(path));
        if let Some(b) = body {
            r = r.json(b);
        }
        async move {
            let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or_default())
        }
    });
    join_all(sends).await
}

/// Every answer a success; exactly one made the change (by `changed`;
/// an answer that cannot tell counts every copy, and its caller checks the
/// one 201).
fn once(what: &str, answers: &[(u16, Value)], changed: impl Fn(&Value) -> bool) {
    for (s, v) in answers {
        assert!(
            (200..300).contains(s),
            "{what}: every copy succeeds, got {s} {v}"
        );
    }
    let made = answers.iter().filter(|(_, v)| changed(v)).count();
    assert_eq!(
        made, 1,
        "{what}: exactly one copy changed something: {answers:?}"
    );
}

/// Every answer a success (an answer that does not say whether it changed
/// something: its caller counts the 201s).
fn all_succeed(what: &str, answers: &[(u16, Value)]) {
    for (s, v) in answers {
        assert!(
            (200..300).contains(s),
            "{what}: every copy succeeds, got {s} {v}"
        );
    }
}

fn outcome_is_new(v: &Value) -> bool {
    matches!(
        v["outcome"].as_str(),
        Some("created" | "replaced" | "cancelled")
    )
}

#[actix_web::test]
async fn every_idempotent_his_write_sent_twelve_times_at_once_succeeds_once() {
    let app = spawn_app().await;

    // A registration.
    let reg = registration("并发甲", "NK");
    let a = twelve(&app, "PUT", "/api/v1/registrations/C1", Some(&reg)).await;
    once("PUT registration", &a, outcome_is_new);
    assert_eq!(
        a.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "one 201: {a:?}"
    );
    // Its correction.
    let mut corrected = reg.clone();
    corrected["visit_type"] = json!("return");
    let a = twelve(&app, "PUT", "/api/v1/registrations/C1", Some(&corrected)).await;
    once("PUT correction", &a, outcome_is_new);
    // Check-in: one ticket for all.
    let a = twelve(&app, "POST", "/api/v1/registrations/C1/check-in", None).await;
    once("check-in", &a, |v| v["created"] == true);
    let tickets: std::collections::BTreeSet<String> = a
        .iter()
        .map(|(_, v)| v["ticket_no"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(tickets.len(), 1, "one ticket: {tickets:?}");
    // Cancellation, waiting in the queue and before it.
    let a = twelve(&app, "DELETE", "/api/v1/registrations/C1", None).await;
    once("DELETE registration (waiting)", &a, |v| {
        v["changed"] == true
    });
    app.put_registration("C2", &registration("并发乙", "WK"))
        .await;
    let a = twelve(&app, "DELETE", "/api/v1/registrations/C2", None).await;
    once("DELETE registration (registered)", &a, |v| {
        v["changed"] == true
    });
    assert_eq!(app.queue_order("NK").await, Vec::<String>::new());

    // An appointment: booked, moved, checked in, cancelled.
    note_secret("并发丙");
    let now = app.now();
    let slot = json!({"start": (now - chrono::Duration::minutes(5)).to_rfc3339(),
        "end": (now + chrono::Duration::minutes(25)).to_rfc3339()});
    let appt = |version: i64, room: &str| {
        json!({"version": version, "room_code": room, "slot": slot.clone(),
            "booked_at": china(-2, "15:00").to_rfc3339(),
            "patient": {"id": "P-并发丙", "name": "并发丙", "sex": "2"}})
    };
    let a = twelve(
        &app,
        "PUT",
        "/api/v1/appointments/CA1",
        Some(&appt(1, "NK-02")),
    )
    .await;
    once("PUT appointment", &a, outcome_is_new);
    let a = twelve(
        &app,
        "PUT",
        "/api/v1/appointments/CA1",
        Some(&appt(2, "NK-03")),
    )
    .await;
    once("PUT appointment moved", &a, outcome_is_new);
    let a = twelve(&app, "POST", "/api/v1/appointments/CA1/check-in", None).await;
    once("appointment check-in", &a, |v| v["created"] == true);
    let a = twelve(&app, "DELETE", "/api/v1/appointments/CA1", None).await;
    once("DELETE appointment", &a, outcome_is_new);

    // Master data: a doctor, the bulk list, a schedule day.
    let doctor =
        json!({"name": "并发医生", "department_code": "NK", "title": "231", "introduction": "x"});
    let a = twelve(&app, "PUT", "/api/v1/doctors/D9001", Some(&doctor)).await;
    all_succeed("PUT doctor", &a);
    assert_eq!(
        a.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "one 201: {a:?}"
    );
    let bulk = json!({"doctors": [{"code": "D9002", "name": "并发医生乙", "department_code": "WK",
        "title": "232", "introduction": "y"}]});
    let a = twelve(&app, "PUT", "/api/v1/doctors", Some(&bulk)).await;
    once("PUT doctors", &a, |v| v["created"].as_i64() == Some(1));
    let tomorrow = app.today() + chrono::Duration::days(1);
    let day = json!({"entries": [{"session": "am", "room_code": "NK-01", "doctor_code": "D1001",
        "patient_limit": 30}]});
    let a = twelve(
        &app,
        "PUT",
        &format!("/api/v1/schedules/{tomorrow}"),
        Some(&day),
    )
    .await;
    once("PUT schedule day", &a, |v| v["created"].as_i64() == Some(1));

    // An exam report.
    app.put_registration("C3", &registration("并发丁", "NK"))
        .await;
    let report = json!({"visit_no": "C3", "item_code": "XRAY", "item_name": "胸片", "findings": "x",
        "conclusion": "未见异常", "reporter": "D2001", "reported_at": now.to_rfc3339(), "status": "final"});
    let a = twelve(&app, "PUT", "/api/v1/results/R-C3", Some(&report)).await;
    once("PUT result", &a, outcome_is_new);

    // One change of each in the audit log: two check-ins (the
    // registration's, the appointment's), three cancellations.
    let kinds = app.dump().await;
    for (kind, n) in [("checked_in", 2), ("cancelled", 3)] {
        assert_eq!(
            app.events(kind).await.len(),
            n,
            "{kind} events: {}",
            kinds
                .lines()
                .filter(|l| l.starts_with("events"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
