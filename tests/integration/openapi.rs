//! The API document is a tested artifact: what the server serves is what
//! `docs/openapi.json` holds, and it covers every route of contract v1.

use serde_json::Value;

use crate::common::spawn_app;

#[actix_web::test]
async fn the_served_openapi_document_is_the_one_in_docs_and_covers_every_route() {
    let app = spawn_app().await;
    let served = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let path = format!("{}/docs/openapi.json", env!("CARGO_MANIFEST_DIR"));
    let in_docs = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        served.trim(),
        in_docs.trim(),
        "docs/openapi.json is stale: run `cargo run -- openapi > docs/openapi.json`"
    );
    let doc: Value = serde_json::from_str(&served).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with('3')),
        Some(true)
    );
    let routes = [
        ("put", "/api/v1/registrations/{visit_no}"),
        ("get", "/api/v1/registrations/{visit_no}"),
        ("delete", "/api/v1/registrations/{visit_no}"),
        ("post", "/api/v1/registrations/{visit_no}/check-in"),
        ("post", "/api/v1/registrations/{visit_no}/requeue"),
        ("post", "/api/v1/registrations/{visit_no}/hold"),
        ("post", "/api/v1/registrations/{visit_no}/release"),
        ("post", "/api/v1/registrations/{visit_no}/pin"),
        ("post", "/api/v1/notices"),
        ("get", "/api/v1/notices"),
        ("delete", "/api/v1/notices/{id}"),
        ("post", "/api/v1/rooms/{room_code}/{action}"),
        ("post", "/api/v1/rooms/{room_code}/call/{visit_no}"),
        ("post", "/api/v1/visits/{visit_no}/transfer"),
        ("get", "/api/v1/rooms"),
        ("get", "/api/v1/rooms/{room_code}"),
        ("get", "/api/v1/queues"),
        ("get", "/api/v1/queues/{queue_code}"),
        ("get", "/api/v1/queues/{queue_code}/rules"),
        ("put", "/api/v1/queues/{queue_code}/rules"),
        ("get", "/api/v1/departments"),
        ("get", "/api/v1/screens"),
        ("put", "/api/v1/doctors/{doctor_code}"),
        ("get", "/api/v1/doctors"),
        ("get", "/api/v1/doctors/{doctor_code}"),
        ("get", "/api/v1/doctors/{doctor_code}/photo"),
        ("get", "/healthz"),
        ("get", "/readyz"),
    ];
    for (method, p) in routes {
        assert!(
            doc["paths"][p][method].is_object(),
            "{method} {p} is not documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for s in [
        "RegistrationBody",
        "CheckInAnswer",
        "RoomAnswer",
        "QueueAnswer",
        "ErrorBody",
    ] {
        assert!(schemas[s].is_object(), "schema {s} missing");
    }
    // Every documented error answer uses the one envelope.
    let put = &doc["paths"]["/api/v1/registrations/{visit_no}"]["put"]["responses"]["422"];
    assert!(put.to_string().contains("ErrorBody"));
}

#[actix_web::test]
async fn a_method_the_document_does_not_declare_answers_405_with_allow() {
    let app = crate::common::spawn_app().await;
    let his = app.his();
    for (method, path, allow) in [
        (reqwest::Method::POST, "/api/v1/doctors", "GET, PUT"),
        (reqwest::Method::DELETE, "/api/v1/results/R1", "GET, PUT"),
        (
            reqwest::Method::PATCH,
            "/api/v1/registrations/V1",
            "DELETE, GET, PUT",
        ),
        (reqwest::Method::PUT, "/api/v1/stats/workload", "GET"),
    ] {
        let r = his
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(
            r.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(v["error"]["code"], "method_not_allowed");
    }
    let r = his
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
}

/// What the document allows, the server takes: a whole number written with
/// a fraction, an optional body sent as `null`; what the path names and is
/// not there is 404.
#[actix_web::test]
async fn whole_numbers_null_bodies_and_missing_path_names_as_the_document_says() {
    use crate::common::registration;
    let app = spawn_app().await;
    for v in ["N1", "N2", "N3"] {
        app.arrive(v, &registration("文档甲", "NK")).await;
    }
    let r = app
        .http
        .post(app.url("/api/v1/registrations/N3/move"))
        .header("Content-Type", "application/json")
        .body(r#"{"position": 1.0, "reason": "行动不便"}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(
        app.queue_order("NK").await.first().map(String::as_str),
        Some("N3")
    );
    let r = app
        .http
        .post(app.url("/api/v1/rooms/NK-02/call/N2"))
        .header("Content-Type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = app
        .http
        .post(app.url("/api/v1/registrations/N1/move"))
        .header("Content-Type", "application/json")
        .body(r#"{"position": 1.5, "reason": "行动不便"}"#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 422, "a fraction is not a position");
    for path in [
        "/api/v1/clients/no-such-client",
        "/api/v1/accounts/no-such-account/disable",
    ] {
        let req = if path.starts_with("/api/v1/clients") {
            app.http.delete(app.url(path))
        } else {
            app.http.post(app.url(path))
        };
        let r = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(v["error"]["code"], "not_found", "{path}");
    }
}

/// The served document is valid OpenAPI 3.1: openapi-spec-validator (the
/// test command installs 0.9.0) finds no error in it, every response has
/// its description and every operation its own operationId.
#[actix_web::test]
async fn the_served_document_is_valid_openapi_by_the_validator() {
    let app = spawn_app().await;
    let served = app
        .anonymous
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &served).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", "--validation-errors", "all"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named"),
        "openapi-spec-validator is not installed (the test command installs it): {text}"
    );
    assert!(
        out.status.success(),
        "the served document is not valid:\n{text}"
    );
    // And the operationIds are unique (the validator says so too; this
    // names them).
    let doc: Value = serde_json::from_str(&served).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = std::collections::BTreeMap::new();
    for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in ops.as_object().into_iter().flatten() {
            if let Some(id) = op["operationId"].as_str() {
                if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
                    panic!("operationId {id} is used by {other} and by {method} {path}");
                }
            }
        }
    }
}
