//! Screens as managed devices: a screen moved to another room (搬迁, 备用屏)
//! changes at once on the open socket (a new snapshot, the next `seq`),
//! follows the new room's calls only, and a restart keeps it; a screen
//! registered at run time gets a device token and shows its rooms; nurses
//! manage only their departments' screens; bad definitions change nothing;
//! a retired screen (停用) is wiped and closed at once, loses its token and
//! stays retired across a restart until it is registered again.

use std::time::Duration;

use serde_json::{json, Value};
use triage::auth::policy::Role;

use crate::common::{registration, spawn_app};

#[actix_web::test]
async fn a_reassigned_screen_changes_at_once_follows_its_new_room_and_keeps_it_after_a_restart() {
    let app = spawn_app().await;
    app.arrive("R1", &registration("张三丰", "NK")).await;
    app.arrive("R2", &registration("李四", "NK")).await;
    let mut ws = app.ws("NK-01-DOOR").await;
    let snap = ws.next().await;
    assert_eq!(snap["rooms"][0]["code"], "NK-01");
    let seq = snap["seq"].as_u64().unwrap_or(0);

    let r = app
        .http
        .put(app.url("/api/v1/screens/NK-01-DOOR"))
        .json(&json!({"name": "内科1诊室门口屏（备用）", "kind": "door", "rooms": ["NK-03"]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let moved = ws.next().await;
    assert_eq!(moved["type"], "snapshot", "{moved}");
    assert_eq!(moved["seq"].as_u64(), Some(seq + 1));
    assert_eq!(moved["screen"]["rooms"], json!(["NK-03"]));
    assert_eq!(moved["rooms"][0]["code"], "NK-03");
    assert_eq!(moved["screen"]["title"], "内科3诊室");

    // The old room's call does not reach it; the new room's does.
    assert_eq!(app.room("NK-01", "call-next").await.status(), 200);
    assert_eq!(app.room("NK-03", "call-next").await.status(), 200);
    let frames = ws.until("call").await;
    for f in &frames {
        let room = f["room"]["code"]
            .as_str()
            .or(f["call"]["room_code"].as_str())
            .unwrap_or("NK-03");
        assert_ne!(room, "NK-01", "a frame of the old room: {f}");
    }
    assert_eq!(
        frames.last().map(|f| f["call"]["room_code"].clone()),
        Some(json!("NK-03"))
    );

    // The same body again changes nothing.
    let r = app
        .http
        .put(app.url("/api/v1/screens/NK-01-DOOR"))
        .json(&json!({"name": "内科1诊室门口屏（备用）", "kind": "door", "rooms": ["NK-03"]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let _ = ws.close().await;

    let app = app.restarted().await;
    let screens = app.get_json("/api/v1/screens").await;
    let listed = screens["screens"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["code"] == "NK-01-DOOR"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(listed["rooms"], json!(["NK-03"]));
    let mut ws = app.ws("NK-01-DOOR").await;
    assert_eq!(ws.next().await["rooms"][0]["code"], "NK-03");
}

#[actix_web::test]
async fn a_screen_registered_at_run_time_gets_a_token_and_shows_its_department() {
    let app = spawn_app().await;
    let r = app
        .http
        .put(app.url("/api/v1/screens/SPARE-1"))
        .json(&json!({"name": "外科备用屏", "kind": "overview", "department": "WK"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let r = app
        .http
        .post(app.url("/api/v1/screens/SPARE-1/token"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().await.unwrap_or_default();
    let token = issued["token"].as_str().unwrap_or_default().to_string();
    crate::common::note_secret(&token);
    assert_eq!(
        issued["url"].as_str(),
        Some(format!("/screens/SPARE-1#token={token}").as_str())
    );
    let mut ws = app.ws_bare("SPARE-1").await;
    ws.send(json!({"type": "hello", "token": token})).await;
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    let rooms: Vec<&str> = snap["rooms"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(rooms, ["WK-01", "WK-02", "WK-03"]);
    assert_eq!(snap["screen"]["title"], "外科");
    let r = app
        .http
        .delete(app.url("/api/v1/screens/SPARE-1/token"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let mut again = app.ws_bare("SPARE-1").await;
    again.send(json!({"type": "hello", "token": token})).await;
    assert_eq!(again.next().await["type"], "unauthorized");
}

#[actix_web::test]
async fn nurses_manage_only_their_departments_screens_and_bad_definitions_change_nothing() {
    let app = spawn_app().await;
    let nurse = app.staff("N-NK", Role::Nurse, &["NK"]).await;
    let doctor = app.staff("D1002", Role::Doctor, &["NK-02"]).await;
    let nurse_wk = app.staff("N-WK", Role::Nurse, &["WK"]).await;
    let put = |client: &reqwest::Client, code: &str, body: Value| {
        client
            .put(app.url(&format!("/api/v1/screens/{code}")))
            .json(&body)
            .send()
    };
    let before = app.dump().await;
    for (client, code, body, status, error) in [
        // A kiosk's code is no screen's (they share the token table).
        (
            &nurse,
            "KIOSK-HALL",
            json!({"name": "x", "kind": "door", "rooms": ["NK-01"]}),
            422,
            "invalid_field",
        ),
        (
            &nurse,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["WK-01"]}),
            403,
            "forbidden",
        ),
        (
            &nurse,
            "WK-01-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["NK-01"]}),
            403,
            "forbidden",
        ),
        (
            &doctor,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["NK-02"]}),
            403,
            "forbidden",
        ),
        (
            &app.anonymous,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["NK-02"]}),
            401,
            "unauthenticated",
        ),
        (
            &app.http,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["NK-01", "NK-02"]}),
            422,
            "invalid_screens",
        ),
        (
            &app.http,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "door", "rooms": ["XX-9"]}),
            422,
            "unknown_room",
        ),
        (
            &app.http,
            "NK-02-DOOR",
            json!({"name": "", "kind": "door", "rooms": ["NK-02"]}),
            422,
            "invalid_field",
        ),
        (
            &app.http,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "wall", "rooms": ["NK-02"]}),
            422,
            "invalid_field",
        ),
        (
            &app.http,
            "NK-02-DOOR",
            json!({"name": "x", "kind": "overview", "department": "XX"}),
            422,
            "unknown_department",
        ),
        (
            &app.http,
            "bad code!",
            json!({"name": "x", "kind": "door", "rooms": ["NK-02"]}),
            422,
            "invalid_field",
        ),
    ] {
        let r = put(client, code, body.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let s = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or_default();
        assert_eq!(s, status, "{code} {body}: {v}");
        assert_eq!(v["error"]["code"], error, "{code} {body}");
    }
    // Device tokens: a nurse of another department and a doctor may not.
    for client in [&nurse_wk, &doctor] {
        for r in [
            client.post(app.url("/api/v1/screens/NK-02-DOOR/token")),
            client.delete(app.url("/api/v1/screens/NK-02-DOOR/token")),
        ] {
            let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.status(), 403);
        }
    }
    let r = app
        .anonymous
        .post(app.url("/api/v1/screens/NK-02-DOOR/token"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.dump().await,
        before,
        "a refused screen change changed something"
    );
    // Within her departments she may.
    let r = put(
        &nurse,
        "NK-02-DOOR",
        json!({"name": "内科2诊室门口屏", "kind": "door", "rooms": ["NK-04"]}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert!(app.dump().await.contains("kind: \"screen_reassigned\""));
}

#[actix_web::test]
async fn a_retired_screen_is_wiped_and_closed_at_once_and_stays_retired_after_a_restart() {
    let app = spawn_app().await;
    app.arrive("R1", &registration("张三丰", "NK")).await;
    // NK-01-DOOR comes from the configuration file.
    let mut ws = app.ws("NK-01-DOOR").await;
    assert_eq!(ws.next().await["type"], "snapshot");
    let r = app
        .http
        .delete(app.url("/api/v1/screens/NK-01-DOOR"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["retired"], true, "{body}");
    assert_eq!(body["token_revoked"], true, "{body}");
    // The open screen is told at once (it wipes every patient), then closed.
    let told = ws.next_within(Duration::from_secs(1)).await;
    assert_eq!(told["type"], "unauthorized", "{told}");
    // Closed by the retirement itself (not by the token check, which
    // closes with "device token required" within 5 s).
    assert_eq!(
        ws.closed_within(Duration::from_secs(1)).await.as_deref(),
        Some("screen retired")
    );

    let listed = |v: &Value| {
        v["screens"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["code"] == "NK-01-DOOR"))
    };
    assert!(!listed(&app.get_json("/api/v1/screens").await));
    let r = app
        .http
        .get(app.url("/ws/screens/NK-01-DOOR"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
    // Its room calls on; a second retire finds no screen.
    assert_eq!(app.room("NK-01", "call-next").await.status(), 200);
    let r = app
        .http
        .delete(app.url("/api/v1/screens/NK-01-DOOR"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
    let err: Value = r.json().await.unwrap_or_default();
    assert_eq!(err["error"]["code"], "screen_not_found", "{err}");
    let events = app.events("screen_retired").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["screen"], "NK-01-DOOR");

    // A restart does not bring the configured screen back.
    let app = app.restarted().await;
    assert!(!listed(&app.get_json("/api/v1/screens").await));
    // Registering the code again puts it back in service.
    let r = app
        .http
        .put(app.url("/api/v1/screens/NK-01-DOOR"))
        .json(&json!({"name": "内科1诊室门口屏", "kind": "door", "rooms": ["NK-01"]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let app = app.restarted().await;
    assert!(listed(&app.get_json("/api/v1/screens").await));
}

/// Who may retire a screen: an administrator, or a nurse of every room it
/// shows. A nurse of another department and a doctor get 403, a caller
/// without a session 401, and the screen goes on as before.
#[actix_web::test]
async fn only_an_administrator_or_the_screens_own_nurses_retire_it() {
    let app = spawn_app().await;
    let doctor = app.staff("D1002", Role::Doctor, &["NK-02"]).await;
    let nurse_wk = app.staff("N-WK", Role::Nurse, &["WK"]).await;
    let nurse_nk = app.staff("N-NK", Role::Nurse, &["NK"]).await;
    let listed = |v: &Value| {
        v["screens"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["code"] == "NK-02-DOOR"))
    };
    let url = app.url("/api/v1/screens/NK-02-DOOR");
    for (client, status) in [(&nurse_wk, 403), (&doctor, 403), (&app.anonymous, 401)] {
        let r = client
            .delete(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), status);
        let v: Value = r.json().await.unwrap_or_default();
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    assert!(listed(&app.get_json("/api/v1/screens").await));
    assert!(app.events("screen_retired").await.is_empty());
    let mut ws = app.ws("NK-02-DOOR").await;
    assert_eq!(
        ws.next().await["type"],
        "snapshot",
        "the screen still serves"
    );
    // Its own department's nurse may.
    let r = nurse_nk
        .delete(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert!(!listed(&app.get_json("/api/v1/screens").await));
}
