//! The HIS contract keeps its word at its edges: a body with a key twice,
//! a date not written as the document's pattern says, a service day far
//! ahead — each refused with the JSON envelope and a stable code, nothing
//! changed; the `Authorization` scheme in any case; HEAD wherever GET; and
//! every refusal the HTTP layer makes (413, 431) in the same envelope.

use serde_json::{json, Value};

use crate::common::{registration, spawn_app, TestApp};

async fn send_raw(app: &TestApp, method: &str, path: &str, body: &str) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let r = app
        .his()
        .request(m, app.url(path))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

#[actix_web::test]
async fn a_body_with_a_key_twice_is_malformed_and_changes_nothing() {
    let app = spawn_app().await;
    let before = app.dump().await;
    let at = crate::common::china(0, "08:00").to_rfc3339();
    let twice = format!(
        r#"{{"patient": {{"id": "P1", "name": "重复键", "sex": "1"}}, "department_code": "NK",
        "visit_type": "first", "registered_at": "{at}", "department_code": "WK"}}"#
    );
    crate::common::note_secret("重复键");
    let (s, v) = send_raw(&app, "PUT", "/api/v1/registrations/DUP1", &twice).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("malformed_json")),
        "{v}"
    );
    // Also deeper in the body.
    let inner = format!(
        r#"{{"patient": {{"id": "P1", "name": "重复键", "sex": "1", "sex": "2"}},
        "department_code": "NK", "visit_type": "first", "registered_at": "{at}"}}"#
    );
    let (s, v) = send_raw(&app, "PUT", "/api/v1/registrations/DUP1", &inner).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("malformed_json")),
        "{v}"
    );
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn dates_are_written_as_the_pattern_says_and_a_visit_is_at_most_ninety_days_ahead() {
    let app = spawn_app().await;
    let before = app.dump().await;
    let mut body = registration("日期甲", "NK");
    body["patient"]["birth_date"] = json!("1980-1-1");
    let (s, v) = send_raw(&app, "PUT", "/api/v1/registrations/DT1", &body.to_string()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("invalid_birth_date"), Some("patient.birth_date")),
        "{v}"
    );
    // The named Wednesday is the 9th: its date written unpadded.
    let unpadded = app.today().format("%Y-%-m-%-d").to_string();
    assert_ne!(unpadded, app.today().to_string());
    let (s, v) = send_raw(
        &app,
        "PUT",
        &format!("/api/v1/schedules/{unpadded}"),
        r#"{"entries": []}"#,
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_date")),
        "{v}"
    );
    let r = app
        .http
        .get(app.url(&format!(
            "/api/v1/stats/workload?from={}",
            app.today().format("%Y-%-m-%-d")
        )))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 422);
    // A service day far ahead: refused, naming the field.
    let mut far = registration("日期乙", "NK");
    far["registered_at"] = json!("9999-12-31T08:00:00+08:00");
    let (s, v) = send_raw(&app, "PUT", "/api/v1/registrations/DT2", &far.to_string()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("invalid_date"), Some("registered_at")),
        "{v}"
    );
    let at = |days: i64| (app.now() + chrono::Duration::days(days)).to_rfc3339();
    let mut appointment = registration("日期丙", "NK");
    appointment["appointment"] = json!({"start": at(91), "end": at(92)});
    let (s, v) = send_raw(
        &app,
        "PUT",
        "/api/v1/registrations/DT3",
        &appointment.to_string(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("appointment.start")),
        "{v}"
    );
    assert_eq!(app.dump().await, before, "nothing stored");
    // Ninety days ahead is still a day.
    appointment["appointment"] = json!({"start": at(89), "end": at(89)});
    appointment["appointment"]["end"] = json!((app.now()
        + chrono::Duration::days(89)
        + chrono::Duration::minutes(30))
    .to_rfc3339());
    let (s, v) = send_raw(
        &app,
        "PUT",
        "/api/v1/registrations/DT3",
        &appointment.to_string(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
}

#[actix_web::test]
async fn the_authorization_scheme_is_read_in_any_case() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = app
            .anonymous
            .get(app.url("/api/v1/departments"))
            .header("authorization", format!("{scheme} {}", app.his_key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 200, "{scheme}");
    }
    let r = app
        .anonymous
        .get(app.url("/api/v1/departments"))
        .header("authorization", format!("Basic {}", app.his_key))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401, "another scheme");
}

#[actix_web::test]
async fn head_works_wherever_get_does_with_the_same_headers_and_no_body() {
    let app = spawn_app().await;
    app.arrive("HD1", &registration("头部甲", "NK")).await;
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/departments",
        "/api/v1/registrations/HD1",
        "/api/v1/queues/NK",
        "/screens/NK-HALL",
    ] {
        let get = app
            .his()
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let head = app
            .his()
            .head(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        let length = get.headers().get("content-length").cloned();
        assert_eq!(
            head.headers().get("content-length"),
            length.as_ref(),
            "HEAD {path} says the GET's length"
        );
        assert!(
            head.bytes().await.unwrap_or_default().is_empty(),
            "HEAD {path} has no body"
        );
    }
    // Not allowed stays not allowed, with the envelope.
    let r = app
        .his()
        .head(app.url("/api/v1/rooms/NK-01/call-next"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 405);
}

#[actix_web::test]
async fn refusals_of_the_http_layer_carry_the_json_envelope() {
    let app = spawn_app().await;
    // A body over its limit.
    let big = format!(r#"{{"text": "{}"}}"#, "x".repeat(200 * 1024));
    let (s, v) = send_raw(&app, "POST", "/api/v1/notices", &big).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    // A URL of a megabyte, and a request that is not HTTP: the HTTP
    // layer answers before any handler, in the same envelope.
    let long = format!(
        "GET /api/v1/registrations/{} HTTP/1.1\r\nhost: x\r\n\r\n",
        "V".repeat(1024 * 1024)
    );
    let (status, head, body) = raw(app.port, long.as_bytes()).await;
    assert_eq!(status, 431, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["error"]["code"], "request_head_too_large", "{body}");
    let (status, head, body) = raw(app.port, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_eq!(status, 400, "{head}");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["error"]["code"], "bad_request", "{body}");
    // The server goes on serving.
    assert!(app.get_json("/api/v1/departments").await["departments"].is_array());
}

/// Sends `request` as it is over a new connection; the status, the head
/// and the body of the answer.
async fn raw(port: u16, request: &[u8]) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The server may answer and close before it read everything.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}
