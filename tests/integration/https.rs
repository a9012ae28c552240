//! HTTPS served directly (rustls) with a certificate the test makes: the
//! API, a staff login (its cookie `Secure`), a screen over `wss://` that
//! sees the call, and the plain-HTTP listener that redirects to HTTPS.

use serde_json::Value;
use triage::config::Hospital;

use crate::common::{registration, spawn_app_tls};

#[actix_web::test]
async fn screens_and_the_api_work_over_https_and_plain_http_is_redirected() {
    let app = spawn_app_tls(Hospital::demo()).await;
    assert!(app.base.starts_with("https://"), "{}", app.base);

    // The API over TLS: health, and a staff login whose cookie is Secure.
    let r = app
        .anonymous
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("readyz over https: {e}"));
    assert_eq!(r.status(), 200);
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"code": "t-admin", "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login over https: {e}"));
    assert_eq!(r.status(), 401, "a wrong password is refused over TLS too");
    let nurse = app
        .staff("N0042", triage::auth::policy::Role::Nurse, &["NK"])
        .await;
    let r = nurse
        .get(app.url("/api/v1/session"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("session: {e}"));
    assert_eq!(r.status(), 200, "the nurse's session works over TLS");

    // A screen over wss:// sees the patient arrive and be called.
    app.arrive("S1", &registration("张三丰", "NK")).await;
    let mut ws = app.ws("NK-02-DOOR").await;
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["rooms"][0]["next"][0]["masked_name"], "张*丰");
    let r: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "S1");
    let frames = ws.until("call").await;
    let call = frames.last().map(|f| f["call"].clone()).unwrap_or_default();
    assert_eq!(call["ticket_no"], "A001");
    assert_eq!(call["masked_name"], "张*丰");

    // The login cookie carries Secure under HTTPS.
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"code": "N0042", "password": crate::common::STAFF_PASSWORD}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cookie.contains("Secure"), "session cookie: Secure");
    if let Some(id) = cookie.split(';').next().and_then(|c| c.split_once('=')) {
        crate::common::note_secret(id.1);
    }

    // Plain HTTP on the HTTPS port gets no page.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = plain
        .get(format!("http://127.0.0.1:{}/readyz", app.port))
        .send()
        .await;
    assert!(
        r.map(|r| !r.status().is_success()).unwrap_or(true),
        "the HTTPS port does not answer plain HTTP"
    );

    // The redirect listener sends a screen's address to HTTPS, path,
    // query and fragment-free, as a permanent redirect.
    let redirect = app.redirect_port.unwrap_or_else(|| panic!("no redirect"));
    let r = plain
        .get(format!(
            "http://127.0.0.1:{redirect}/screens/NK-02-DOOR?voice=1"
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("redirect: {e}"));
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(format!("https://127.0.0.1:{}/screens/NK-02-DOOR?voice=1", app.port).as_str())
    );
    // A write sent in clear text is refused, not redirected: the sender
    // must fix its address rather than keep sending patients' data so.
    let r = plain
        .put(format!(
            "http://127.0.0.1:{redirect}/api/v1/registrations/V1"
        ))
        .body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("redirect: {e}"));
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("https://")),
        "{v}"
    );
    // And a browser following it lands on the screen page over TLS.
    let follows = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                app.tls
                    .as_ref()
                    .map(|t| t.cert_pem.as_bytes())
                    .unwrap_or_default(),
            )
            .unwrap_or_else(|e| panic!("{e}")),
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let r = follows
        .get(format!("http://127.0.0.1:{redirect}/screens/NK-02-DOOR"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("followed redirect: {e}"));
    assert_eq!(r.status(), 200);
    assert!(r.url().as_str().starts_with("https://"));
    let page = r.text().await.unwrap_or_default();
    assert!(page.contains("<html"), "the screen page");
}

#[test]
fn a_missing_or_wrong_certificate_stops_the_start_with_the_file_named() {
    let good = crate::common::test_certificate();
    let other = crate::common::test_certificate();
    let tls = |cert: &std::path::Path, key: &std::path::Path| triage::tls::Tls {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        redirect_bind: None,
    };
    assert!(triage::tls::server_config(&tls(&good.cert, &good.key)).is_ok());
    let missing = good.cert.with_file_name("nowhere.pem");
    let e = triage::tls::server_config(&tls(&missing, &good.key))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("nowhere.pem"), "{e}");
    // The key given as the certificate: no certificate in it.
    let e = triage::tls::server_config(&tls(&good.key, &good.key))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("certificate") && e.contains("key.pem"), "{e}");
    // Another certificate's key.
    let e = triage::tls::server_config(&tls(&good.cert, &other.key))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("do not fit"), "{e}");
}

#[actix_web::test]
async fn answers_over_https_carry_hsts_and_plain_http_answers_do_not() {
    let hsts = |r: &reqwest::Response| {
        r.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let app = spawn_app_tls(Hospital::demo()).await;
    for path in ["/readyz", "/api/v1/session", "/no-such-page"] {
        let r = app
            .anonymous
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path} over https: {e}"));
        assert_eq!(hsts(&r).as_deref(), Some("max-age=31536000"), "{path}");
    }
    // Served in plain HTTP (behind a proxy that ends TLS, which sets it).
    let plain = crate::common::spawn_app().await;
    let r = plain
        .anonymous
        .get(plain.url("/readyz"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("readyz: {e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(hsts(&r), None, "HSTS over plain HTTP");
}
