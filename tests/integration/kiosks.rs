//! The self-service check-in kiosk's API (自助报到机): only a kiosk with its
//! live device token checks patients in; the answer is the ticket to print;
//! every refusal is in Chinese, names its code, and changes nothing.

use serde_json::{json, Value};

use crate::common::{registration, spawn_app, TestApp};

async fn scan(app: &TestApp, kiosk: &str, token: Option<&str>, visit: &str) -> (u16, Value) {
    let mut req = app
        .anonymous
        .post(app.url(&format!("/api/v1/kiosks/{kiosk}/check-in")))
        .json(&json!({"visit_no": visit}));
    if let Some(t) = token {
        req = req.header("x-device-token", t);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

#[actix_web::test]
async fn a_kiosk_checks_a_patient_in_and_every_refusal_says_why_in_chinese() {
    let app = spawn_app().await;
    let hall = app.tokens.get("KIOSK-HALL").cloned().unwrap_or_default();
    let nk = app.tokens.get("KIOSK-NK").cloned().unwrap_or_default();
    assert_eq!(
        app.put_registration("K1", &registration("自助甲", "NK"))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.put_registration("K2", &registration("自助乙", "WK"))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.put_registration("K3", &registration("自助丙", "NK"))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.http
            .delete(app.url("/api/v1/registrations/K3"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0),
        200
    );

    // No token, a wrong one, a revoked one: nothing.
    let before = app.dump().await;
    assert_eq!(scan(&app, "KIOSK-HALL", None, "K1").await.0, 401);
    assert_eq!(scan(&app, "KIOSK-HALL", Some("bad"), "K1").await.0, 401);
    assert_eq!(
        scan(&app, "KIOSK-HALL", Some(&nk), "K1").await.0,
        401,
        "another kiosk's token"
    );
    assert_eq!(scan(&app, "NOPE", Some(&hall), "K1").await.0, 404);
    let info = app
        .anonymous
        .get(app.url("/api/v1/kiosks/KIOSK-HALL"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(info, 401);

    // Refusals, each in Chinese with its code; nothing changes.
    for (kiosk, token, visit, status, code, text) in [
        (
            "KIOSK-HALL",
            &hall,
            "NOPE1",
            404,
            "visit_not_found",
            "未找到该就诊号",
        ),
        (
            "KIOSK-HALL",
            &hall,
            "K3",
            409,
            "registration_cancelled",
            "已退号",
        ),
        (
            "KIOSK-NK",
            &nk,
            "K2",
            409,
            "wrong_area",
            "请到外科分诊区报到",
        ),
        (
            "KIOSK-HALL",
            &hall,
            "bad visit!",
            422,
            "invalid_visit_no",
            "格式不正确",
        ),
    ] {
        let (s, body) = scan(&app, kiosk, Some(token), visit).await;
        assert_eq!(s, status, "{visit}: {body}");
        assert_eq!(body["error"]["code"], code, "{visit}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(text), "{visit}: {message}");
        // One sentence per case, with one instruction (never 挂号窗口 and
        // 分诊台 together, never the same phrase twice).
        assert_eq!(
            message.matches('请').count(),
            1,
            "one instruction: {message}"
        );
    }
    assert_eq!(app.dump().await, before);

    // Checked in: the ticket, matching the queue.
    let (s, t) = scan(&app, "KIOSK-HALL", Some(&hall), "K1").await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["created"], true);
    assert_eq!(t["department"], "内科");
    assert_eq!(t["masked_name"], "自*甲");
    let q = app.get_json("/api/v1/queues/NK").await;
    assert_eq!(q["entries"][0]["visit_no"], "K1");
    assert_eq!(q["entries"][0]["ticket_no"], t["ticket_no"]);
    assert_eq!(t["ahead"], 0);
    let dump = app.dump().await;
    let line = dump
        .lines()
        .find(|l| l.contains("kind: \"checked_in\""))
        .unwrap_or_else(|| panic!("no check-in event"));
    assert!(line.contains("operator: \"kiosk:KIOSK-HALL\""), "{line}");
    // Again: the same ticket, not a new one.
    let (s, again) = scan(&app, "KIOSK-NK", Some(&nk), "K1").await;
    assert_eq!(s, 200);
    assert_eq!(again["created"], false);
    assert_eq!(again["ticket_no"], t["ticket_no"]);
    // The kiosk page is served for a configured kiosk only.
    let page = |path: &str| {
        let req = app.anonymous.get(app.url(path));
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(page("/kiosk/KIOSK-HALL").await, 200);
    assert_eq!(page("/kiosk/NOPE").await, 404);
}
