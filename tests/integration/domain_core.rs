//! The domain core's promises: one command is one durable change or none,
//! values derived from the rules are in force at once, HIS corrections reach
//! the queue, the rooms and the screens, and the figures the API and
//! `/metrics` give are the ones they declare.

use serde_json::Value;

use crate::common::{registration, spawn_app};

#[actix_web::test]
async fn call_next_with_nobody_to_take_finishes_nobody() {
    let app = spawn_app().await;
    app.arrive("DC-1", &registration("张三", "WK")).await;
    let r = app.room("WK-01", "call-next").await;
    assert_eq!(r.status(), 200);
    let before = app.dump().await;

    // Nobody else waits: the answer is 409 queue_empty and nothing changed —
    // the current patient is still called, not finished.
    let r = app.room("WK-01", "call-next").await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "queue_empty");
    assert_eq!(
        app.dump().await,
        before,
        "a refused call-next changed the database"
    );
    let visit = app.get_json("/api/v1/registrations/DC-1").await;
    assert_eq!(visit["status"], "called");
    let room = app.get_json("/api/v1/rooms/WK-01").await;
    assert_eq!(room["current"]["ticket_no"], "B001");

    // Someone arrives: the next call finishes DC-1 and calls them, together.
    app.arrive("DC-2", &registration("李四", "WK")).await;
    let r = app.room("WK-01", "call-next").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["closed"]["visit_no"], "DC-1");
    assert_eq!(body["current"]["visit_no"], "DC-2");
    let visit = app.get_json("/api/v1/registrations/DC-1").await;
    assert_eq!(visit["status"], "finished");
}

#[actix_web::test]
async fn wait_estimate_counts_only_rooms_that_are_serving() {
    let app = spawn_app().await;
    for i in 0..6 {
        app.arrive(&format!("WE-{i}"), &registration("王五", "WK"))
            .await;
    }
    // Three rooms call the 外科 queue at 6 minutes each: 6 ahead → 12 min.
    app.put_registration("WE-6", &registration("赵六", "WK"))
        .await;
    let r = app.check_in("WE-6").await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["ahead"], 6);
    assert_eq!(v["estimated_wait_minutes"], 12);

    // Two rooms close: one room serves the 7 ahead → 42 min.
    for room in ["WK-01", "WK-02"] {
        assert_eq!(app.room(room, "close").await.status(), 200);
    }
    app.put_registration("WE-7", &registration("钱七", "WK"))
        .await;
    let v: Value = app.check_in("WE-7").await.json().await.unwrap_or_default();
    assert_eq!(v["ahead"], 7);
    assert_eq!(v["estimated_wait_minutes"], 42);

    // A paused room still serves (it resumes): two rooms → 8 ahead → 24 min.
    assert_eq!(app.room("WK-01", "resume").await.status(), 200);
    assert_eq!(app.room("WK-01", "pause").await.status(), 200);
    app.put_registration("WE-8", &registration("孙八", "WK"))
        .await;
    let v: Value = app.check_in("WE-8").await.json().await.unwrap_or_default();
    assert_eq!(v["ahead"], 8);
    assert_eq!(v["estimated_wait_minutes"], 24);
}

/// Every sample in the Prometheus text has its `# TYPE` line, and every
/// declared metric has samples.
#[actix_web::test]
async fn metrics_declare_exactly_the_samples_they_emit() {
    let app = spawn_app().await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("metrics: {e}"))
        .text()
        .await
        .unwrap_or_default();
    let mut declared = std::collections::BTreeSet::new();
    let mut sampled = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            declared.insert(name.to_string());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let name = line
                .split(['{', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
            sampled.insert(name);
        }
    }
    assert_eq!(declared, sampled, "metrics declared vs emitted:\n{text}");
    assert!(text.contains("triage_room_status{room=\"NK-01\",status=\"open\"} 1"));
}
