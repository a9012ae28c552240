//! Administration over HTTP (the admin pages' API): accounts and HIS
//! clients, administrators only; a new password or key is in the answer
//! once and never in a list; each change holds at once.

use serde_json::{json, Value};
use triage::auth::policy::Role;

use crate::common::{note_secret, spawn_app};

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

#[actix_web::test]
async fn an_administrator_manages_accounts_and_his_clients_over_http() {
    let app = spawn_app().await;
    let (s, made) = json_of(
        app.http
            .post(app.url("/api/v1/accounts"))
            .json(&json!({"code": "N0042", "name": "王护士", "role": "nurse", "scope": ["NK"]}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(s, 201, "{made}");
    let password = made["password"].as_str().unwrap_or_default().to_string();
    note_secret(&password);
    assert!(password.len() >= 8);
    // The list never shows a password.
    let list = app.get_json("/api/v1/accounts").await;
    assert!(!list.to_string().contains(&password));
    let row = list["accounts"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["code"] == "N0042"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["must_change_password"], true);
    assert_eq!(row["scope"], json!(["NK"]));

    // She logs in with it (and must change it first).
    let login = |password: String| {
        let c = app.anonymous.clone();
        let url = app.url("/api/v1/session");
        async move {
            c.post(url)
                .json(&json!({"code": "N0042", "password": password}))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .json::<Value>()
                .await
                .unwrap_or_default()
        }
    };
    assert_eq!(login(password.clone()).await["must_change_password"], true);

    // A new password: the old one stops working.
    let (s, reset) = json_of(
        app.http
            .post(app.url("/api/v1/accounts/N0042/password"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(s, 200);
    let fresh = reset["password"].as_str().unwrap_or_default().to_string();
    note_secret(&fresh);
    assert_eq!(login(password).await["error"]["code"], "bad_credentials");
    assert_eq!(login(fresh.clone()).await["staff"]["code"], "N0042");

    // Disabled: refused; enabled again: in.
    let r = app
        .http
        .post(app.url("/api/v1/accounts/N0042/disable"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(
        login(fresh.clone()).await["error"]["code"],
        "bad_credentials"
    );
    let r = app
        .http
        .post(app.url("/api/v1/accounts/N0042/enable"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(login(fresh).await["staff"]["code"], "N0042");
    // An administrator cannot lock themself out.
    let r = app
        .http
        .post(app.url("/api/v1/accounts/t-admin/disable"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 409, "own_account");

    // A HIS client: its key once, working at once, never listed; revoked.
    let (s, client) = json_of(
        app.http
            .post(app.url("/api/v1/clients"))
            .json(&json!({"name": "his-lab", "scopes": ["read"], "rate_per_minute": 100}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(s, 201, "{client}");
    let key = client["key"].as_str().unwrap_or_default().to_string();
    note_secret(&key);
    let keyed = reqwest::Client::new();
    let r = keyed
        .get(app.url("/api/v1/queues/NK"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let clients = app.get_json("/api/v1/clients").await;
    assert!(!clients.to_string().contains(&key));
    let r = app
        .http
        .delete(app.url("/api/v1/clients/his-lab"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = keyed
        .get(app.url("/api/v1/queues/NK"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
}

#[actix_web::test]
async fn only_administrators_manage_accounts_and_clients_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let nurse = app.staff("N-NK", Role::Nurse, &["NK"]).await;
    let before = app.dump().await;
    for (method, path, body) in [
        ("GET", "/api/v1/accounts", None),
        (
            "POST",
            "/api/v1/accounts",
            Some(json!({"code": "X1", "name": "x", "role": "admin"})),
        ),
        ("POST", "/api/v1/accounts/N-NK/password", None),
        ("POST", "/api/v1/accounts/t-admin/disable", None),
        ("POST", "/api/v1/accounts/N-NK/enable", None),
        ("GET", "/api/v1/clients", None),
        ("DELETE", "/api/v1/clients/anything", None),
        (
            "POST",
            "/api/v1/clients",
            Some(json!({"name": "x", "scopes": ["read"]})),
        ),
    ] {
        let mut r = nurse.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET),
            app.url(path),
        );
        if let Some(b) = &body {
            r = r.json(b);
        }
        let (s, v) = json_of(r.send().await.unwrap_or_else(|e| panic!("{e}"))).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
    }
    for body in [
        json!({"code": "bad code", "name": "x", "role": "nurse", "scope": ["NK"]}),
        json!({"code": "N1", "name": "x", "role": "chief", "scope": []}),
        json!({"code": "N1", "name": "x", "role": "nurse", "scope": ["XX"]}),
    ] {
        let (s, v) = json_of(
            app.http
                .post(app.url("/api/v1/accounts"))
                .json(&body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (422, Some("invalid_account")),
            "{body}"
        );
    }
    // A code already taken is a conflict (409), not a bad field.
    let (s, v) = json_of(
        app.http
            .post(app.url("/api/v1/accounts"))
            .json(&json!({"code": "N-NK", "name": "x", "role": "nurse", "scope": ["NK"]}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("name_taken")));
    // An administrator's own account: disabled or reset by another only.
    for action in ["disable", "password"] {
        let (s, v) = json_of(
            app.http
                .post(app.url(&format!("/api/v1/accounts/t-admin/{action}")))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (409, Some("own_account")),
            "{action} of one's own account"
        );
    }
    let (s, v) = json_of(
        app.http
            .post(app.url("/api/v1/clients"))
            .json(&json!({"name": "x", "scopes": ["everything"]}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_account"))
    );
    assert_eq!(
        app.dump().await,
        before,
        "a refused change changed something"
    );
}
