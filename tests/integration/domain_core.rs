//! The domain core's promises: one command is one durable change or none,
//! values derived from the rules are in force at once, HIS corrections reach
//! the queue, the rooms and the screens, and the figures the API and
//! `/metrics` give are the ones they declare.

use serde_json::{json, Value};

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

async fn scrape(app: &crate::common::TestApp) -> (String, prometheus_parse::Scrape) {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("metrics: {e}"))
        .text()
        .await
        .unwrap_or_default();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("not Prometheus text ({e}):\n{text}"));
    (text, parsed)
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(b) => b.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
}

/// `/metrics` passes `promtool check metrics` (the classic text format, for
/// any client not asking for OpenMetrics: every counter's HELP names its
/// `_total` sample, no HELP text ends in two periods), and Prometheus,
/// asking for OpenMetrics, gets OpenMetrics.
#[actix_web::test]
async fn metrics_pass_promtool_and_openmetrics_is_served_when_asked() {
    use std::io::Write;
    let app = spawn_app().await;
    // Some traffic, so that the request counter has samples.
    let _ = app.room("NK-01", "call-next").await;
    let (text, _) = scrape(&app).await;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("NOT RUN: promtool (apt-get install prometheus): {e}"));
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("# HELP") && l.ends_with("..")),
        "{text}"
    );
    let r = app
        .http
        .get(app.url("/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let om = r.text().await.unwrap_or_default();
    assert!(om.trim_end().ends_with("# EOF"), "{om}");
    assert!(om.contains("# TYPE triage_http_requests counter"), "{om}");
}

/// `/metrics` parses with a Prometheus text parser, every sample belongs to
/// a declared family, and its figures move when calls happen.
#[actix_web::test]
async fn metrics_parse_as_prometheus_text_and_move_when_calls_happen() {
    let app = spawn_app().await;
    let (text, before) = scrape(&app).await;
    let declared: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for s in &before.samples {
        let family = ["_total", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .find_map(|suffix| s.metric.strip_suffix(suffix))
            .unwrap_or(&s.metric);
        assert!(
            declared.contains(family) || declared.contains(s.metric.as_str()),
            "{} has no # TYPE",
            s.metric
        );
    }
    assert_eq!(
        sample(&before, "triage_queue_waiting", &[("queue", "NK")]),
        Some(0.0)
    );
    assert_eq!(
        sample(&before, "triage_rooms", &[("state", "open")]),
        Some(10.0)
    );
    assert_eq!(
        sample(&before, "triage_screens", &[("state", "never_seen")]),
        Some(13.0)
    );
    for name in [
        "triage_queue_longest_wait_seconds",
        "triage_db_pool_connections",
        "triage_alert_outbox_depth",
        "triage_patient_webhook_backlog",
        "triage_patient_webhook_oldest_seconds",
        "triage_faults",
    ] {
        assert!(
            before.samples.iter().any(|s| s.metric == name),
            "{name} missing:\n{text}"
        );
    }
    let calls = |s: &prometheus_parse::Scrape| {
        sample(s, "triage_call_to_broadcast_seconds_count", &[]).unwrap_or(0.0)
    };
    let commits =
        |s: &prometheus_parse::Scrape| sample(s, "triage_db_commits_total", &[]).unwrap_or(0.0);
    let (c0, k0) = (calls(&before), commits(&before));
    // Two patients arrive; one is called.
    for v in ["M1", "M2"] {
        app.arrive(v, &crate::common::registration(&format!("指标{v}"), "NK"))
            .await;
    }
    let r = app.room("NK-02", "call-next").await;
    assert_eq!(r.status(), 200);
    let (text, after) = scrape(&app).await;
    assert_eq!(
        sample(&after, "triage_queue_waiting", &[("queue", "NK")]),
        Some(1.0),
        "{text}"
    );
    assert!(calls(&after) >= c0 + 1.0, "the call is measured:\n{text}");
    assert!(commits(&after) > k0, "the writer committed:\n{text}");
    let room_calls = sample(
        &after,
        "triage_http_requests_total",
        &[
            ("route", "/api/v1/rooms/:room/:action"),
            ("status", "2xx"),
            ("client", "staff"),
        ],
    );
    assert!(room_calls.is_some_and(|n| n >= 1.0), "{text}");
    assert!(
        sample(
            &after,
            "triage_http_request_duration_seconds_count",
            &[("route", "/api/v1/rooms/:room/:action")]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}

/// Rule changes are commands of the queue actor: concurrent changes of
/// different fields all take effect, and the audit chain of `from → to`
/// has no gap (each change read the rules the previous one wrote).
#[actix_web::test]
async fn concurrent_rule_changes_all_take_effect_in_one_audited_chain() {
    let app = spawn_app().await;
    let changes = [
        json!({"return_interval": 4, "reason": "甲"}),
        json!({"recall_interval": 5, "reason": "乙"}),
        json!({"fairness_cap": 7, "reason": "丙"}),
        json!({"max_misses": 3, "reason": "丁"}),
        json!({"locked_head": 1, "reason": "戊"}),
        json!({"max_overtaken": 9, "reason": "己"}),
    ];
    let sends = changes.iter().map(|body| {
        app.http
            .put(app.url("/api/v1/queues/NK/rules"))
            .json(body)
            .send()
    });
    for r in futures_util::future::join_all(sends).await {
        let r = r.unwrap_or_else(|e| panic!("PUT rules: {e}"));
        assert_eq!(r.status(), 200);
    }
    let rules = &app.get_json("/api/v1/queues/NK/rules").await["rules"];
    assert_eq!(rules["return_interval"], 4);
    assert_eq!(rules["recall_interval"], 5);
    assert_eq!(rules["fairness_cap"], 7);
    assert_eq!(rules["max_misses"], 3);
    assert_eq!(rules["locked_head"], 1);
    assert_eq!(rules["max_overtaken"], 9);

    // Six events; each one's `from` is the previous one's `to`.
    let chain: Vec<Value> = app
        .events("rules_changed")
        .await
        .into_iter()
        .map(|d| json!([d["from"], d["to"]]))
        .collect();
    assert_eq!(chain.len(), 6);
    for pair in chain.windows(2) {
        assert_eq!(pair[0][1], pair[1][0], "a rule change read stale rules");
    }
    // After a restart the same rules are in force.
    let again = app.restarted().await;
    assert_eq!(
        &again.get_json("/api/v1/queues/NK/rules").await["rules"],
        rules
    );
}

/// The age limits that tag elderly patients follow a rule change at once:
/// for patients checking in after it and for those already waiting; a
/// restart shows the same.
#[actix_web::test]
async fn age_limits_follow_a_rule_change_at_once_and_after_a_restart() {
    let app = spawn_app().await;
    let born = |name: &str, date: &str| {
        let mut b = registration(name, "NK");
        b["patient"]["birth_date"] = json!(date);
        b
    };
    app.arrive("AG-1", &born("普通甲", "1990-01-01")).await;
    app.arrive("AG-2", &born("花甲乙", "1960-01-01")).await; // 66: not elderly at 80
    assert_eq!(app.queue_order("NK").await, vec!["AG-1", "AG-2"]);

    let r = app
        .http
        .put(app.url("/api/v1/queues/NK/rules"))
        .json(&json!({"elderly_min_age": 65, "reason": "老年人优先年龄调整为65岁"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    // AG-2 is elderly now, while waiting; a new 66-year-old too.
    app.arrive("AG-3", &born("花甲丙", "1960-05-05")).await;
    let q = app.get_json("/api/v1/queues/NK").await;
    let order: Vec<(&str, &str)> = q["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["visit_no"].as_str().unwrap_or_default(),
                        e["placement_code"].as_str().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        order,
        vec![
            ("AG-2", "special_group"),
            ("AG-3", "special_group"),
            ("AG-1", "check_in_order")
        ]
    );
    let visit = app.get_json("/api/v1/registrations/AG-2").await;
    assert_eq!(visit["special"], json!(["elderly"]));

    let again = app.restarted().await;
    assert_eq!(
        again.get_json("/api/v1/queues/NK").await["entries"],
        q["entries"]
    );
}

/// `(visit_no, masked_name, placement_code, special)` of a queue, in order.
async fn entries(
    app: &crate::common::TestApp,
    queue: &str,
) -> Vec<(String, String, String, Value)> {
    let q = app.get_json(&format!("/api/v1/queues/{queue}")).await;
    q["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["visit_no"].as_str().unwrap_or_default().to_string(),
                        e["masked_name"].as_str().unwrap_or_default().to_string(),
                        e["placement_code"].as_str().unwrap_or_default().to_string(),
                        e["special"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A HIS correction of a waiting patient (new name, new special tag, return
/// visit) reaches the queue, the door screen and the database at once, in
/// one journaled change; a restart shows the same.
#[actix_web::test]
async fn his_corrections_of_a_waiting_patient_reach_the_queue_and_the_screens() {
    let app = spawn_app().await;
    for (v, name) in [
        ("HC-1", "甲一"),
        ("HC-2", "乙二"),
        ("HC-3", "丙三"),
        ("HC-4", "丁四"),
    ] {
        app.arrive(v, &registration(name, "WK")).await;
    }
    let mut door = app.ws("WK-01-DOOR").await;
    let snap = door.next().await;
    assert_eq!(snap["rooms"][0]["next"][2]["masked_name"], "丙*");

    // HIS: HC-3 is 欧阳明华, a soldier (military).
    let mut fixed = registration("欧阳明华", "WK");
    fixed["special"] = json!(["military"]);
    let r = app.put_registration("HC-3", &fixed).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["outcome"], "replaced");
    assert_eq!(body["status"], "waiting");
    let now = entries(&app, "WK").await;
    assert_eq!(now[0].0, "HC-3");
    assert_eq!(now[0].1, "欧**华");
    assert_eq!(now[0].2, "special_group");
    assert_eq!(now[0].3, json!(["军人"]));
    // The door screen shows the new order and name without a reload.
    let frames = door.until("room").await;
    let room = &frames.last().map(|f| f["room"].clone()).unwrap_or_default();
    assert_eq!(room["next"][0]["masked_name"], "欧**华");
    assert_eq!(room["next"][0]["priority"], true);

    // HIS: HC-4 is a return visit (复诊): inserted by the return interval.
    let mut ret = registration("丁四", "WK");
    ret["visit_type"] = json!("return");
    assert_eq!(app.put_registration("HC-4", &ret).await.status(), 200);
    let now = entries(&app, "WK").await;
    let hc4 = now
        .iter()
        .find(|e| e.0 == "HC-4")
        .cloned()
        .unwrap_or_default();
    assert_eq!(hc4.2, "return_interval");

    // The same message again changes nothing.
    let before = app.dump().await;
    let r = app.put_registration("HC-4", &ret).await;
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["outcome"], "unchanged");
    assert_eq!(app.dump().await, before);

    // One journaled change per correction, without names.
    let events = app.events("registration_corrected").await;
    assert_eq!(events.len(), 2);
    assert!(!events[0].to_string().contains("欧阳"), "{}", events[0]);

    let again = app.restarted().await;
    assert_eq!(entries(&again, "WK").await, now);
}

/// A called patient's correction changes the room's current patient on the
/// screens; a change of department stays a 409 that says to transfer and
/// changes nothing.
#[actix_web::test]
async fn his_corrections_of_a_called_patient_reach_the_room_and_other_departments_need_a_transfer()
{
    let app = spawn_app().await;
    app.arrive("HC-9", &registration("错名", "WK")).await;
    assert_eq!(app.room("WK-01", "call-next").await.status(), 200);
    let mut door = app.ws("WK-01-DOOR").await;
    door.next().await;

    let r = app
        .put_registration("HC-9", &registration("李小龙", "WK"))
        .await;
    assert_eq!(r.status(), 200);
    let frames = door.until("room").await;
    let room = &frames.last().map(|f| f["room"].clone()).unwrap_or_default();
    assert_eq!(room["current"]["masked_name"], "李*龙");
    let truth = app.get_json("/api/v1/rooms/WK-01").await;
    assert_eq!(truth["current"]["masked_name"], "李*龙");

    let before = app.dump().await;
    let r = app
        .put_registration("HC-9", &registration("李小龙", "NK"))
        .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "visit_already_in_queue");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("transfer"));
    assert_eq!(app.dump().await, before);

    let again = app.restarted().await;
    let after = again.get_json("/api/v1/rooms/WK-01").await;
    assert_eq!(after["current"], truth["current"]);
}

/// `docs/API.md` lists exactly the error codes the server has, each under
/// the status the API answers with it.
#[test]
fn the_api_document_lists_exactly_the_error_codes_with_their_status() {
    use triage::api::error::status_of;
    use triage_ground::error::ErrorCode;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md"))
        .unwrap_or_else(|e| panic!("docs/API.md: {e}"));
    let section = doc
        .split("## Errors")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_default();
    let mut listed = std::collections::BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| ")) {
        let mut cells = row.split('|').map(str::trim).filter(|c| !c.is_empty());
        let Some(status) = cells.next().and_then(|s| s.parse::<u16>().ok()) else {
            continue;
        };
        for code in cells.flat_map(|c| c.split('`').skip(1).step_by(2)) {
            let before = listed.insert(code.to_string(), status);
            assert!(before.is_none(), "{code} is listed twice");
        }
    }
    let actual: std::collections::BTreeMap<String, u16> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), status_of(*c).as_u16()))
        .collect();
    assert_eq!(listed, actual, "docs/API.md's error table");
}

/// Every error code of the enum has a Chinese message in the pages' table
/// (`display-client/messages.js`), so no English server text reaches a
/// nurse, doctor or patient; and the table names no code the server lacks.
#[test]
fn every_error_code_has_a_chinese_message_in_the_pages() {
    use triage_ground::error::ErrorCode;
    let js = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/display-client/messages.js"
    ))
    .unwrap_or_else(|e| panic!("display-client/messages.js: {e}"));
    let table = js
        .split("export const MESSAGES = {")
        .nth(1)
        .and_then(|s| s.split("\n};").next())
        .unwrap_or_default();
    let mut messages = std::collections::BTreeMap::new();
    for line in table.lines().map(str::trim) {
        let Some((code, text)) = line.split_once(": \"") else {
            continue;
        };
        messages.insert(code.to_string(), text.trim_end_matches("\",").to_string());
    }
    let han = |t: &str| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let english = |t: &str| {
        t.split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| w.len() >= 2 && !["JPEG", "PNG", "MB", "HIS"].contains(&w))
    };
    for code in ErrorCode::ALL {
        let text = messages
            .get(code.as_str())
            .unwrap_or_else(|| panic!("{code} has no message in display-client/messages.js"));
        assert!(
            han(text) && !english(text),
            "{code}: {text:?} is not a Chinese sentence"
        );
    }
    for code in messages.keys() {
        assert!(
            code == "offline" || ErrorCode::parse(code).is_some(),
            "display-client/messages.js names {code}, which the server does not have"
        );
    }
}

/// A patient back from an exam (回诊) keeps that standing when HIS corrects
/// something else, e.g. a typo in the name.
#[actix_web::test]
async fn a_correction_keeps_a_patient_back_from_an_exam_where_the_rule_put_them() {
    let app = spawn_app().await; // NK-01: 王建国 (D1001), own queue NK-D1001
    app.arrive("EX-1", &registration("检查甲", "NK")).await;
    let r: Value = app
        .room("NK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "EX-1");
    assert_eq!(app.room("NK-01", "send-to-exam").await.status(), 200);
    let mut expert = registration("专家", "NK");
    expert["doctor_code"] = json!("D1001");
    for i in 1..=3 {
        app.arrive(&format!("EX-E{i}"), &expert).await;
    }
    let back = app
        .http
        .post(app.url("/api/v1/registrations/EX-1/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.status(), 200);
    let before = entries(&app, "NK-D1001").await;
    let ex1 = before
        .iter()
        .find(|e| e.0 == "EX-1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ex1.2, "return_interval");

    // HIS fixes the name only (still a first visit, 初诊).
    let r = app
        .put_registration("EX-1", &registration("检查乙", "NK"))
        .await;
    assert_eq!(r.status(), 200);
    let after = entries(&app, "NK-D1001").await;
    let ex1 = after
        .iter()
        .find(|e| e.0 == "EX-1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        ex1.2, "return_interval",
        "the correction demoted a patient back from an exam"
    );
    assert_eq!(ex1.1, "检*乙");
    assert_eq!(
        after.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        before.iter().map(|e| e.0.clone()).collect::<Vec<_>>()
    );
}

/// Only `close` reads a body: other room actions ignore what a workstation
/// sends along, and the action is checked before the operator.
#[actix_web::test]
async fn room_actions_other_than_close_ignore_a_body_and_unknown_actions_are_404_first() {
    let app = spawn_app().await;
    app.arrive("RB-1", &registration("甲", "WK")).await;
    let r = app
        .http
        .post(app.url("/api/v1/rooms/WK-01/call-next"))
        .header("Content-Type", "text/plain")
        .body("call the next one please")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = app
        .http
        .post(app.url("/api/v1/rooms/WK-01/dance"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
    // Rules: an unknown queue is 404 whatever the body.
    let r = app
        .http
        .put(app.url("/api/v1/queues/NOPE/rules"))
        .header("Content-Type", "text/plain")
        .body("{")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
}

/// The alert rules and the dashboard in docs/monitoring use only metrics
/// the server exports.
#[actix_web::test]
async fn the_monitoring_files_use_only_exported_metrics() {
    let app = spawn_app().await;
    // A call, so that every histogram and labelled counter has samples.
    app.arrive("MX1", &registration("监控甲", "NK")).await;
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    let (text, _) = scrape(&app).await;
    let exported: std::collections::BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "docs/monitoring/triage-alerts.yml",
        "docs/monitoring/grafana-dashboard.json",
    ] {
        let body =
            std::fs::read_to_string(repo.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut used = std::collections::BTreeSet::new();
        let mut rest = body.as_str();
        while let Some(at) = rest.find("triage_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            used.insert(name);
        }
        assert!(!used.is_empty(), "{file}");
        for name in used {
            assert!(
                exported.contains(&name),
                "{file} uses {name}, not exported:\n{text}"
            );
        }
    }
}
