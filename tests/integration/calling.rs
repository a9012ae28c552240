//! Calling through the API: the concurrency guarantee (two rooms, one queue,
//! nobody called twice, nobody lost) and the ordering rules end to end.

use std::collections::HashSet;
use triage::auth::policy::Role;

use serde_json::{json, Value};

use crate::common::{note_secret, registration, spawn_app, spawn_app_with};

#[actix_web::test]
async fn two_rooms_calling_one_queue_never_share_or_lose_a_patient() {
    // Several HTTP workers, so the two rooms' calls really run in parallel.
    let app = spawn_app_with(triage::config::Hospital::demo(), 4).await;
    const ROUNDS: usize = 200;
    // Register concurrently too (in batches), as HIS and kiosks would.
    for batch in 0..(2 * ROUNDS / 50) {
        let futs = (0..50).map(|i| {
            let n = batch * 50 + i;
            let app = &app;
            async move {
                let mut body = registration(&format!("患者{n:03}号"), "NK");
                body["checked_in"] = json!(true);
                let r = app.put_registration(&format!("C{n:04}"), &body).await;
                assert_eq!(r.status(), 201);
            }
        });
        futures_util::future::join_all(futs).await;
    }
    assert_eq!(app.queue_order("NK").await.len(), 2 * ROUNDS);

    let mut called = Vec::new();
    for _ in 0..ROUNDS {
        let (a, b) = futures_util::join!(
            app.room("NK-02", "call-next"),
            app.room("NK-03", "call-next")
        );
        for r in [a, b] {
            assert_eq!(r.status(), 200);
            let v: Value = r.json().await.unwrap_or_default();
            called.push(
                v["current"]["visit_no"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    let unique: HashSet<&String> = called.iter().collect();
    assert_eq!(called.len(), 2 * ROUNDS);
    assert_eq!(unique.len(), 2 * ROUNDS, "a patient was called twice");
    assert!(
        app.queue_order("NK").await.is_empty(),
        "someone is left behind"
    );
    let all: HashSet<String> = (0..2 * ROUNDS).map(|n| format!("C{n:04}")).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<HashSet<_>>(),
        all,
        "someone was lost"
    );

    // The database agrees: each visit called exactly once.
    let dump = app.dump().await;
    assert_eq!(dump.matches("kind: \"called\"").count(), 2 * ROUNDS);
}

#[actix_web::test]
async fn call_next_finishes_the_current_patient_and_says_why_the_next_was_chosen() {
    let app = spawn_app().await;
    app.arrive("N1", &registration("甲一", "NK")).await;
    let mut army = registration("乙二", "NK");
    army["special"] = json!(["military"]);
    app.arrive("S1", &army).await;

    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "S1");
    assert_eq!(v["current"]["reason_code"], "special_group");
    assert_eq!(v["current"]["masked_name"], "乙*");
    assert_eq!(v["current"]["special"], json!(["军人"]));

    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "N1");
    assert_eq!(v["closed"]["visit_no"], "S1");
    assert_eq!(v["closed"]["outcome"], "finished");

    let v: Value = app
        .room("NK-02", "recall")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["call_count"], 2);
    let v: Value = app
        .room("NK-02", "skip")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["closed"]["outcome"], "skipped");
    assert!(v["current"].is_null());
    let visit = app.get_json("/api/v1/registrations/N1").await;
    assert_eq!(visit["status"], "missed");
    let visit = app.get_json("/api/v1/registrations/S1").await;
    assert_eq!(visit["status"], "finished");
}

#[actix_web::test]
async fn return_visits_wait_exactly_n_normal_patients_and_the_list_says_why() {
    let app = spawn_app().await; // NK: return_interval = 3
    for i in 1..=5 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    let mut ret = registration("复诊甲", "NK");
    ret["visit_type"] = json!("return");
    app.arrive("R1", &ret).await;
    let mut ret2 = registration("复诊乙", "NK");
    ret2["visit_type"] = json!("复诊");
    app.arrive("R2", &ret2).await;
    assert_eq!(
        app.queue_order("NK").await,
        vec!["N1", "N2", "N3", "R1", "N4", "N5", "R2"]
    );
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][3]["placement_code"], "return_interval");
    assert!(q["entries"][3]["placement_reason"]
        .as_str()
        .unwrap_or("")
        .contains("复诊"));
    assert_eq!(q["entries"][0]["placement_code"], "check_in_order");
    // Calling the head keeps the order of the rest.
    app.room("NK-02", "call-next").await;
    assert_eq!(
        app.queue_order("NK").await,
        vec!["N2", "N3", "R1", "N4", "N5", "R2"]
    );
}

#[actix_web::test]
async fn an_expert_room_calls_its_doctor_queue_first_then_the_department() {
    let app = spawn_app().await;
    app.arrive("G1", &registration("普通甲", "NK")).await;
    let mut expert = registration("专家乙", "NK");
    expert["doctor_code"] = json!("D1001");
    let t = app.arrive("E1", &expert).await;
    assert_eq!(t, "ZA001");
    let v: Value = app
        .room("NK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "E1");
    let v: Value = app
        .room("NK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "G1");
}

#[actix_web::test]
async fn a_missed_patient_comes_back_with_the_same_ticket_and_the_second_miss_is_a_no_show() {
    let app = spawn_app().await; // demo: recall_interval 2, max_misses 2
    let ticket = app.arrive("M1", &registration("过号甲", "NK")).await;
    for i in 1..=4 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "M1");
    let v: Value = app
        .room("NK-02", "skip")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["closed"]["outcome"], "skipped");
    assert_eq!(
        app.get_json("/api/v1/registrations/M1").await["status"],
        "missed"
    );

    // The nurse brings the patient back (召回): same ticket, after 2 normals.
    let r = app
        .staff("N-nurse", Role::Nurse, &["NK"])
        .await
        .post(app.url("/api/v1/registrations/M1/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let back: Value = r.json().await.unwrap_or_default();
    assert_eq!(back["ticket_no"], ticket);
    assert_eq!(back["position"], 3);
    assert_eq!(
        app.queue_order("NK").await,
        vec!["N1", "N2", "M1", "N3", "N4"]
    );
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][2]["placement_code"], "recall_interval");
    // Repeating the recall changes nothing.
    let before = app.dump().await;
    let r = app
        .http
        .post(app.url("/api/v1/registrations/M1/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(app.dump().await, before);

    // Missed a second time: the visit ends as no-show and cannot come back.
    app.room("NK-02", "call-next").await; // N1
    app.room("NK-02", "call-next").await; // N2
    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "M1");
    assert_eq!(v["current"]["reason_code"], "recall_interval");
    let v: Value = app
        .room("NK-02", "skip")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["closed"]["outcome"], "no_show");
    assert_eq!(
        app.get_json("/api/v1/registrations/M1").await["status"],
        "no_show"
    );
    let before = app.dump().await;
    let r = app
        .http
        .post(app.url("/api/v1/registrations/M1/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "visit_no_show");
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn a_nurse_holds_and_pins_patients_and_each_action_is_audited_with_its_reason() {
    let app = spawn_app().await;
    for i in 1..=3 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    let nurse = app.staff("N0042", Role::Nurse, &["NK", "WK", "EK"]).await;
    let post = |path: String, body: Value| {
        let app = &app;
        let nurse = &nurse;
        async move {
            nurse
                .post(app.url(&path))
                .json(&body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    // Bad input changes nothing.
    let before = app.dump().await;
    for (body, code) in [
        (json!({}), "missing_field"),
        (json!({"reason": " "}), "invalid_reason"),
    ] {
        let r = post("/api/v1/registrations/N1/hold".into(), body).await;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], code);
    }
    let r = post(
        "/api/v1/registrations/NOPE/pin".into(),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.dump().await, before);

    let r = post(
        "/api/v1/registrations/N1/hold".into(),
        json!({"reason": "患者去做检查"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["position"], 3);
    let r = post(
        "/api/v1/registrations/N3/pin".into(),
        json!({"reason": "行动不便"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.queue_order("NK").await, vec!["N3", "N2", "N1"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["placement_code"], "pinned");
    assert_eq!(q["entries"][2]["placement_code"], "held");

    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "N3");
    assert_eq!(v["current"]["reason_code"], "pinned");
    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "N2");
    let r = app.room("NK-02", "call-next").await;
    assert_eq!(r.status(), 409, "the held patient is not called");
    let r = post(
        "/api/v1/registrations/N1/release".into(),
        json!({"reason": "检查完回来了"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "N1");

    // Who, when and why are in the audit trail.
    let dump = app.dump().await;
    for (kind, reason) in [
        ("held", "患者去做检查"),
        ("pinned", "行动不便"),
        ("released", "检查完回来了"),
    ] {
        let line = dump
            .lines()
            .find(|l| l.contains(&format!("kind: \"{kind}\"")))
            .unwrap_or_else(|| panic!("no {kind} event"));
        assert!(line.contains("operator: \"N0042\""), "{line}");
        assert!(line.contains(reason), "{line}");
    }
}

/// A nurse sends a waiting patient to another room that calls from the
/// same queue (no longer `same_queue`): he stays in the queue on that
/// room's own list, only that room calls him, across a restart; a stopped
/// room takes nobody.
#[actix_web::test]
async fn a_transfer_to_a_room_of_the_same_queue_sends_the_patient_there_and_a_stopped_room_takes_nobody(
) {
    let app = spawn_app().await;
    for (v, name) in [("SR1", "同队甲"), ("SR2", "同队乙"), ("SR3", "同队丙")] {
        app.arrive(v, &registration(name, "NK")).await;
    }
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let post = |path: &str, body: Value| {
        let req = nurse.post(app.url(path)).json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let r = post(
        "/api/v1/visits/SR1/transfer",
        json!({"room_code": "NK-03", "reason": "指定诊室"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["queue_code"], "NK", "{v}");
    assert_eq!(app.queue_order("NK").await, vec!["SR1", "SR2", "SR3"]);
    let app = app.restarted().await;
    // NK-02 passes him by; NK-03 calls him.
    let called = |room: &'static str| {
        let app = &app;
        async move {
            let v: Value = app
                .room(room, "call-next")
                .await
                .json()
                .await
                .unwrap_or_default();
            v["current"]["visit_no"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(called("NK-02").await, "SR2");
    assert_eq!(called("NK-03").await, "SR1");
    // A held patient is not sent anywhere (he would jump his hold).
    let nurse = app.staff("N0044", Role::Nurse, &["NK"]).await;
    let held = nurse
        .post(app.url("/api/v1/registrations/SR3/hold"))
        .json(&json!({"reason": "患者暂离"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(held.status(), 200);
    let before = app.dump().await;
    let r = nurse
        .post(app.url("/api/v1/visits/SR3/transfer"))
        .json(&json!({"room_code": "NK-02", "reason": "指定诊室"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409);
    assert_eq!(app.dump().await, before);
    let released = nurse
        .post(app.url("/api/v1/registrations/SR3/release"))
        .json(&json!({"reason": "患者已返回"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(released.status(), 200);
    // A stopped room is refused, and nothing changes.
    assert_eq!(app.room("NK-04", "close").await.status(), 200);
    let nurse = app.staff("N0043", Role::Nurse, &["NK"]).await;
    let before = app.dump().await;
    let r = nurse
        .post(app.url("/api/v1/visits/SR3/transfer"))
        .json(&json!({"room_code": "NK-04", "reason": "指定诊室"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "room_closed", "{e}");
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn a_transfer_moves_the_patient_with_the_ticket_in_one_change() {
    let app = spawn_app().await;
    let ticket = app.arrive("T1", &registration("转诊甲", "NK")).await;
    app.arrive("G1", &registration("外科甲", "WK")).await;
    app.arrive("G2", &registration("外科乙", "WK")).await;
    let nurse = app.staff("N0042", Role::Nurse, &["NK", "WK", "EK"]).await;
    let post = |path: &str, body: Value| {
        let req = nurse.post(app.url(path)).json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    // Bad requests change nothing.
    let before = app.dump().await;
    for (body, code) in [
        (json!({"reason": "x"}), "invalid_transfer_target"),
        (
            json!({"queue_code": "WK", "room_code": "WK-01", "reason": "x"}),
            "invalid_transfer_target",
        ),
        (json!({"queue_code": "XX", "reason": "x"}), "unknown_queue"),
        (
            json!({"doctor_code": "D1002", "reason": "x"}),
            "no_doctor_queue",
        ),
        (json!({"queue_code": "WK", "reason": ""}), "invalid_reason"),
    ] {
        let r = post("/api/v1/visits/T1/transfer", body.clone()).await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], code, "{body}");
    }
    let r = post(
        "/api/v1/visits/T1/transfer",
        json!({"queue_code": "NK", "reason": "x"}),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.dump().await, before);

    // Keeping the check-in time: T1 arrived first, so it goes first in WK.
    let r = post(
        "/api/v1/visits/T1/transfer",
        json!({"room_code": "WK-01", "reason": "需外科会诊"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["ticket_no"], ticket);
    assert_eq!(v["queue_code"], "WK");
    assert!(app.queue_order("NK").await.is_empty());
    assert_eq!(app.queue_order("WK").await, vec!["T1", "G1", "G2"]);

    // From a room, resetting the time: the patient goes behind those waiting.
    let v: Value = app
        .room("WK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "T1");
    let r = post(
        "/api/v1/visits/T1/transfer",
        json!({"queue_code": "NK-D1001", "keep_check_in_time": false, "reason": "转王主任"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let room = app.get_json("/api/v1/rooms/WK-01").await;
    assert!(room["current"].is_null(), "the room let the patient go");
    assert_eq!(app.queue_order("NK-D1001").await, vec!["T1"]);
    let v: Value = app
        .room("NK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "T1");
    let dump = app.dump().await;
    assert_eq!(dump.matches("kind: \"transferred\"").count(), 2);
    assert!(dump.contains("需外科会诊") && dump.contains("转王主任"));
}

#[actix_web::test]
async fn a_doctor_calls_a_patient_by_name_out_of_order() {
    let app = spawn_app().await;
    for i in 1..=3 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    app.arrive("W1", &registration("外科甲", "WK")).await;
    let v: Value = app
        .room("NK-02", "call/N3")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "N3");
    assert_eq!(v["current"]["reason_code"], "manual");
    assert_eq!(app.queue_order("NK").await, vec!["N1", "N2"]);
    // Not in this room's queues: refused, nothing changes.
    let before = app.dump().await;
    let r = app.room("NK-02", "call/W1").await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "visit_not_waiting_here");
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn queue_rules_change_through_the_api_at_once_for_everyone_waiting() {
    let app = spawn_app().await; // NK: return_interval 3
    for i in 1..=4 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    let mut ret = registration("复诊甲", "NK");
    ret["visit_type"] = json!("return");
    app.arrive("R1", &ret).await;
    assert_eq!(
        app.queue_order("NK").await,
        vec!["N1", "N2", "N3", "R1", "N4"]
    );
    let rules = app.get_json("/api/v1/queues/NK/rules").await;
    assert_eq!(rules["rules"]["return_interval"], 3);

    let put = |body: Value| {
        let req = app.http.put(app.url("/api/v1/queues/NK/rules")).json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let before = app.dump().await;
    for (body, code, field) in [
        (
            json!({"return_interval": 99, "reason": "x"}),
            "invalid_rule",
            "return_interval",
        ),
        (
            json!({"max_misses": 0, "reason": "x"}),
            "invalid_rule",
            "max_misses",
        ),
        (
            json!({"special_levels": {"vip": 1}, "reason": "x"}),
            "unknown_special_tag",
            "special_levels.vip",
        ),
        (json!({"return_interval": 1}), "missing_field", "reason"),
        (
            json!({"return_interval": "one", "reason": "x"}),
            "invalid_field",
            "return_interval",
        ),
    ] {
        let r = put(body.clone()).await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], code, "{body}");
        assert_eq!(e["error"]["field"], field, "{body}");
    }
    assert_eq!(
        app.dump().await,
        before,
        "a rejected change changed something"
    );

    let r = put(json!({"return_interval": 1, "reason": "复诊患者较多"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.queue_order("NK").await,
        vec!["N1", "R1", "N2", "N3", "N4"]
    );
    assert_eq!(
        app.get_json("/api/v1/queues/NK/rules").await["rules"]["return_interval"],
        1
    );
    let dump = app.dump().await;
    let line = dump
        .lines()
        .find(|l| l.contains("kind: \"rules_changed\""))
        .unwrap_or_default();
    assert!(
        line.contains("t-admin") && line.contains("复诊患者较多"),
        "{line}"
    );
    assert!(
        line.contains("\\\"from\\\"") && line.contains("\\\"to\\\""),
        "{line}"
    );
}

#[actix_web::test]
async fn a_patient_sent_for_an_exam_comes_back_to_the_same_doctor_by_the_return_rule() {
    let app = spawn_app().await; // NK-01: 王建国 (D1001), own queue NK-D1001 with return_interval 2
    let ticket = app.arrive("X1", &registration("检查甲", "NK")).await;
    let v: Value = app
        .room("NK-01", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "X1");
    let v: Value = app
        .room("NK-01", "send-to-exam")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["closed"]["outcome"], "sent_for_exam");
    assert!(v["current"].is_null());
    assert_eq!(
        app.get_json("/api/v1/registrations/X1").await["status"],
        "exam"
    );

    let mut expert = registration("专家", "NK");
    expert["doctor_code"] = json!("D1001");
    for i in 1..=4 {
        app.arrive(&format!("E{i}"), &expert).await;
    }
    // Back with results (回诊): the same doctor's queue, after 2 patients.
    let r = app
        .http
        .post(app.url("/api/v1/registrations/X1/requeue"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let back: Value = r.json().await.unwrap_or_default();
    assert_eq!(back["queue_code"], "NK-D1001");
    assert_eq!(back["ticket_no"], ticket);
    assert_eq!(
        app.queue_order("NK-D1001").await,
        vec!["E1", "E2", "X1", "E3", "E4"]
    );
    let q = app.get_json("/api/v1/queues/NK-D1001").await;
    assert_eq!(q["entries"][2]["placement_code"], "return_interval");
}

#[actix_web::test]
async fn with_a_locked_head_a_priority_arrival_waits_behind_those_told_they_are_next() {
    let app = spawn_app().await;
    for i in 1..=3 {
        app.arrive(&format!("N{i}"), &registration(&format!("普通{i}"), "NK"))
            .await;
    }
    let r = app
        .http
        .put(app.url("/api/v1/queues/NK/rules"))
        .json(&json!({"locked_head": 2, "reason": "已通知前两位准备"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let mut army = registration("军人甲", "NK");
    army["special"] = json!(["military"]);
    app.arrive("S1", &army).await;
    assert_eq!(app.queue_order("NK").await, vec!["N1", "N2", "S1", "N3"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["placement_code"], "locked_head");
    assert_eq!(q["entries"][2]["placement_code"], "special_group");
    // The locks are stored with the change (they survive a restart).
    let dump = app.dump().await;
    let locked = dump
        .lines()
        .filter(|l| l.starts_with("visits") && l.contains("locked_seq: Some("))
        .count();
    assert_eq!(locked, 2, "N1 and N2 are locked in the database");
    // Calling moves the lock on: S1 is next and now locked.
    app.room("NK-02", "call-next").await;
    assert_eq!(app.queue_order("NK").await, vec!["N2", "S1", "N3"]);
}

#[actix_web::test]
async fn appointment_patients_check_in_within_their_window_and_go_by_their_slot() {
    let app = spawn_app().await;
    let r = app
        .http
        .put(app.url("/api/v1/queues/NK/rules"))
        .json(&json!({"appointment_mode": "always_first", "early_check_in_minutes": 30, "reason": "预约优先"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    app.arrive("W1", &registration("散号甲", "NK")).await;
    let now = app.now();
    let slot = |from: i64, to: i64| json!({"start": (now + chrono::Duration::minutes(from)).to_rfc3339(), "end": (now + chrono::Duration::minutes(to)).to_rfc3339()});
    // Two hours early: refused, nothing changes.
    let mut early = registration("预约甲", "NK");
    early["appointment"] = slot(120, 150);
    assert_eq!(app.put_registration("A1", &early).await.status(), 201);
    let before = app.dump().await;
    let r = app.check_in("A1").await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "too_early");
    assert_eq!(app.dump().await, before);
    // Slot under way: goes ahead of the walk-in (always_first).
    let mut on_time = registration("预约乙", "NK");
    // Started five minutes ago, but today (just after midnight: now).
    let since = (now - crate::common::local_midnight(now))
        .num_minutes()
        .min(5);
    on_time["appointment"] = slot(-since, 25);
    app.arrive("A2", &on_time).await;
    assert_eq!(app.queue_order("NK").await, vec!["A2", "W1"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["placement_code"], "appointment");
}

#[actix_web::test]
async fn a_nurse_marks_special_groups_which_place_the_patient_and_survive_his_resending() {
    let app = spawn_app().await;
    for i in 1..=3 {
        app.arrive(&format!("S{i}"), &registration(&format!("标记{i}"), "NK"))
            .await;
    }
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let other = app.staff("N0043", Role::Nurse, &["WK"]).await;
    let put = |who: &reqwest::Client, visit: &str, body: Value| {
        let req = who
            .put(app.url(&format!("/api/v1/registrations/{visit}/special")))
            .json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    // Bad input, another department's nurse and HIS itself change nothing.
    let before = app.dump().await;
    for (body, status, code) in [
        (
            json!({"special": ["queen"], "reason": "x"}),
            422,
            "unknown_special_tag",
        ),
        (
            json!({"special": ["pregnant"], "reason": ""}),
            422,
            "invalid_reason",
        ),
        (json!({"reason": "x"}), 422, "missing_field"),
    ] {
        let r = put(&nurse, "S3", body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], code, "{body}");
    }
    let body = json!({"special": ["pregnant"], "reason": "现场核实孕妇"});
    assert_eq!(put(&other, "S3", body.clone()).await.status(), 403);
    assert_eq!(put(&app.his(), "S3", body.clone()).await.status(), 403);
    assert_eq!(put(&nurse, "NOPE", body.clone()).await.status(), 404);
    assert_eq!(app.dump().await, before);

    // Marked pregnant: placed first as a special group, with the reminder.
    let r = put(&nurse, "S3", body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["special"], json!(["pregnant"]));
    assert_eq!(v["added"], json!(["pregnant"]));
    assert_eq!(v["position"], 1);
    assert_eq!(app.queue_order("NK").await, vec!["S3", "S1", "S2"]);
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["placement_code"], "special_group");
    let e = &app.events("special_marked").await[0];
    assert_eq!(e["reason"], "现场核实孕妇");
    assert_eq!(e["marks"]["added"], json!(["pregnant"]));

    // HIS sends the registration again with a correction and a group of
    // its own: the nurse's mark stays, HIS's group joins it.
    let mut resent = registration("标记三", "NK");
    resent["special"] = json!(["military"]);
    assert_eq!(app.put_registration("S3", &resent).await.status(), 200);
    let visit = app.get_json("/api/v1/registrations/S3").await;
    let mut groups: Vec<String> =
        serde_json::from_value(visit["special"].clone()).unwrap_or_default();
    groups.sort();
    assert_eq!(groups, vec!["military", "pregnant"]);
    assert_eq!(app.queue_order("NK").await, vec!["S3", "S1", "S2"]);

    // A dialog opened before HIS's group came does not take it away unseen.
    let r = put(
        &nurse,
        "S3",
        json!({"special": [], "was": ["pregnant"], "reason": "核实"}),
    )
    .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "state_conflict");
    assert_eq!(app.queue_order("NK").await, vec!["S3", "S1", "S2"]);

    // The nurse takes both away (HIS's too): back to its place by arrival;
    // HIS sending the same groups again does not bring them back.
    let r = put(
        &nurse,
        "S3",
        json!({"special": [], "was": ["military", "pregnant"], "reason": "核实非特殊人群"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["removed"], json!(["military"]));
    assert_eq!(app.queue_order("NK").await, vec!["S1", "S2", "S3"]);
    resent["patient"]["name"] = json!("标记叁");
    note_secret("标记叁");
    assert_eq!(app.put_registration("S3", &resent).await.status(), 200);
    let visit = app.get_json("/api/v1/registrations/S3").await;
    assert_eq!(visit["special"], json!([]));
    assert_eq!(app.queue_order("NK").await, vec!["S1", "S2", "S3"]);

    // Marked again, then a restart: the same order from the database.
    assert_eq!(
        put(
            &nurse,
            "S2",
            json!({"special": ["disabled"], "reason": "轮椅"})
        )
        .await
        .status(),
        200
    );
    assert_eq!(app.queue_order("NK").await, vec!["S2", "S1", "S3"]);
    let again = app.restarted().await;
    assert_eq!(again.queue_order("NK").await, vec!["S2", "S1", "S3"]);

    // Only a waiting patient: once called, 409.
    let v: Value = again
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(v["current"]["visit_no"], "S2");
    let nurse = again.staff("N0042", Role::Nurse, &["NK"]).await;
    let r = nurse
        .put(again.url("/api/v1/registrations/S2/special"))
        .json(&json!({"special": [], "reason": "x"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409);
}

#[actix_web::test]
async fn the_triage_desk_lists_todays_patients_away_and_brings_them_back() {
    let app = spawn_app().await;
    app.arrive("A1", &registration("离开甲", "NK")).await;
    app.arrive("A2", &registration("离开乙", "NK")).await;
    app.arrive("B1", &registration("外科丙", "WK")).await;
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let surgeon_nurse = app.staff("N0043", Role::Nurse, &["WK"]).await;
    let away = |who: &reqwest::Client, query: &str| {
        let req = who.get(app.url(&format!("/api/v1/visits/away{query}")));
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let list = |r: reqwest::Response| async move {
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap_or_default();
        v["visits"].as_array().cloned().unwrap_or_default()
    };
    assert!(list(away(&nurse, "").await).await.is_empty());

    // A1 misses the call; A2 goes for an exam.
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    assert_eq!(app.room("NK-02", "skip").await.status(), 200);
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    assert_eq!(app.room("NK-02", "send-to-exam").await.status(), 200);
    let visits = list(away(&nurse, "").await).await;
    let by = |v: &str| {
        visits
            .iter()
            .find(|x| x["visit_no"] == v)
            .cloned()
            .unwrap_or_else(|| panic!("{v} not listed: {visits:?}"))
    };
    assert_eq!(visits.len(), 2);
    assert_eq!(by("A1")["status_label"], "过号");
    assert_eq!(by("A1")["back"], "recall");
    assert_eq!(by("A1")["name"], "离开甲", "full names for the desk");
    assert_eq!(by("A1")["misses"], 1);
    assert_eq!(by("A2")["status_label"], "检查中");
    assert_eq!(by("A2")["back"], "return");
    assert_eq!(by("A2")["room_code"], "NK-02");
    // Another department's nurse does not see them; HIS and strangers get 403.
    assert!(list(away(&surgeon_nurse, "").await).await.is_empty());
    assert_eq!(away(&surgeon_nurse, "?departments=NK").await.status(), 403);
    assert_eq!(away(&app.his(), "").await.status(), 403);
    assert_eq!(away(&app.anonymous, "").await.status(), 401);

    // Brought back: off the list, waiting again.
    for v in ["A1", "A2"] {
        let r = nurse
            .post(app.url(&format!("/api/v1/registrations/{v}/requeue")))
            .json(&json!({"reason": "患者已返回"}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{v}");
    }
    assert!(list(away(&nurse, "").await).await.is_empty());
    let mut order = app.queue_order("NK").await;
    order.sort();
    assert_eq!(order, vec!["A1", "A2"]);
}

#[actix_web::test]
async fn a_call_skips_heads_whose_stored_visit_moved_on_and_calls_the_next() {
    let app = spawn_app().await;
    for (visit, name) in [("H1", "头一"), ("H2", "头二"), ("H3", "头三")] {
        app.arrive(visit, &registration(name, "NK")).await;
    }
    assert_eq!(app.queue_order("NK").await, vec!["H1", "H2", "H3"]);
    // The first two end behind the server's back (as a restore or a
    // hand edit of the database would leave them): the queue still lists
    // them, the database no longer has them waiting.
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query("UPDATE visits SET status = 'cancelled' WHERE visit_no IN ('H1', 'H2')")
            .execute(&mut c)
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let r = app.room("NK-02", "call-next").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(
        v["current"]["visit_no"], "H3",
        "the stale heads were called: {v}"
    );
    assert!(
        app.queue_order("NK").await.is_empty(),
        "the stale heads are still listed"
    );
    let visit = app.get_json("/api/v1/registrations/H3").await;
    assert_eq!(visit["status"], "called");
    let visit = app.get_json("/api/v1/registrations/H1").await;
    assert_eq!(visit["status"], "cancelled");
    // One call committed, of the one patient still waiting.
    let dump = app.dump().await;
    assert_eq!(dump.matches("kind: \"called\"").count(), 1, "{dump}");
}
