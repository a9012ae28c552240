//! Secrets at rest (issue 25): what the database and its backups keep of a
//! HIS client's key or an account's second factor authenticates no one —
//! neither as a credential nor as a signing key — while the keys and
//! authenticator apps themselves work on, also for rows written before
//! sealing. The server key lives in its own file, mode 0600, and a server
//! with a missing or another key refuses to start rather than lock
//! everyone out silently.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;
use triage::auth::accounts;
use triage::auth::his;
use triage::auth::policy::Scope;
use triage::config::Hospital;
use triage::db::accounts::ClientRow;

use crate::accounts::{his_client, status_code};
use crate::common::{spawn_app_with, TestApp};

/// The HIS clients' rows, as anyone reading the database file sees them.
async fn client_rows(app: &TestApp) -> Vec<ClientRow> {
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        triage::db::accounts::list_clients(&mut c).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A request signed with `signing` for the key id of `key_id`.
fn signed_with(
    app: &TestApp,
    key_id: &str,
    signing: &str,
    method: &str,
    path: &str,
    body: &str,
    nonce: &str,
) -> reqwest::RequestBuilder {
    let ts = app.now().timestamp().to_string();
    let sig = his::sign(
        signing,
        &his::string_to_sign(method, path, &ts, nonce, "", body.as_bytes()),
    );
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    app.anonymous
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer tk_{key_id}"))
        .header(his::TIMESTAMP_HEADER, ts)
        .header(his::NONCE_HEADER, nonce)
        .header(his::SIGNATURE_HEADER, sig)
        .body(body.to_string())
}

#[actix_web::test]
async fn the_stored_key_rows_and_second_factor_columns_authenticate_no_one() {
    let mut hospital = Hospital::demo();
    hospital.security.admin_totp = true;
    let app = spawn_app_with(hospital, 2).await;
    let scopes = [Scope::Registrations, Scope::Read];
    let plain = his_client(&app, "his-plain", &scopes, false, 1000).await;
    let signing = his_client(&app, "his-signing", &scopes, true, 1000).await;
    let rows = client_rows(&app).await;
    let path = "/api/v1/registrations/STOLEN1";
    let body = crate::common::registration("窃取甲", "NK").to_string();
    let before = app.dump().await;
    let mut n = 0;
    for key in [&plain, &signing] {
        let id = his::key_id(key).unwrap_or_default();
        let row = rows
            .iter()
            .find(|r| r.key_id == id)
            .unwrap_or_else(|| panic!("no row for {id}"));
        let stored: Vec<&str> = [Some(row.key_hash.as_str()), row.signing_sealed.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(stored.len(), 2, "a verifier and a sealed signing key");
        for value in stored {
            assert!(!value.contains(key.as_str()) && !value.contains(&his::signing_key(key)));
            // As the credential itself.
            for bearer in [value.to_string(), format!("tk_{id}_{value}")] {
                let r = app
                    .anonymous
                    .get(app.url("/api/v1/rooms"))
                    .header("authorization", format!("Bearer {bearer}"));
                assert_eq!(status_code(r).await.0, 401, "a stored value as the key");
            }
            // As the signing key: a read and a write.
            for (method, path, body) in [("GET", "/api/v1/rooms", ""), ("PUT", path, &body[..])] {
                n += 1;
                let r = signed_with(
                    &app,
                    id,
                    value,
                    method,
                    path,
                    body,
                    &format!("stolen-{n:04}"),
                );
                assert_eq!(
                    status_code(r).await,
                    (401, "bad_signature".into()),
                    "{method} signed with a stored value"
                );
            }
        }
        // The key itself works on, whole and as a signing key.
        n += 1;
        let r = signed_with(
            &app,
            id,
            &his::signing_key(key),
            "GET",
            "/api/v1/rooms",
            "",
            &format!("genuine-{n:04}"),
        );
        assert_eq!(status_code(r).await.0, 200, "the real key signs");
    }
    let r = app
        .anonymous
        .get(app.url("/api/v1/rooms"))
        .header("authorization", format!("Bearer {plain}"));
    assert_eq!(status_code(r).await.0, 200, "the real key, whole");
    assert_eq!(app.dump().await, before, "nothing was written");

    // The second factor: the column holds no secret an authenticator app
    // could use, and codes made from it do not log in.
    let url = app.db.url.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        triage::db::accounts::get_staff(&mut c, "t-admin")
            .ok()
            .flatten()
            .and_then(|r| r.totp_secret)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|| panic!("the administrator has a second factor"));
    let url = app.db.url.clone();
    let h = app.hospital.clone();
    let real = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        crate::common::totp_secret_on(&mut c, &h, "t-admin")
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|| panic!("opens with the server key"));
    assert!(
        !stored.contains(&real),
        "the column does not hold the secret"
    );
    let now = app.now().timestamp() + 30;
    let login = |code: Option<String>| {
        app.anonymous
            .post(app.url("/api/v1/session"))
            .json(&serde_json::json!({"code": "t-admin", "password": crate::common::ADMIN_PASSWORD, "totp": code}))
    };
    // Whatever part of the stored text reads as Base32 makes no good code.
    for candidate in stored.split('.').chain([stored.as_str()]) {
        let upper = candidate.to_ascii_uppercase();
        if let Some(code) = accounts::totp_now(&upper, now) {
            if Some(&code) == accounts::totp_now(&real, now).as_ref() {
                continue;
            }
            assert_eq!(status_code(login(Some(code))).await.0, 401);
        }
    }
    let code = accounts::totp_now(&real, now);
    let r = login(code).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "the authenticator app's code logs in");
    let _ = r.json::<Value>().await;
}

/// Writes rows as a version before sealing did: a HIS client whose
/// `key_hash` is the SHA-256 of its key (the signing key itself, with no
/// sealed copy) and an administrator's second factor in the clear.
async fn write_rows_from_before_sealing(app: &TestApp, key: &str, totp_b32: &str) {
    let (url, key, b32) = (app.db.url.clone(), key.to_string(), totp_b32.to_string());
    let at = app.now().naive_utc();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        let row = ClientRow {
            name: "his-legacy".into(),
            key_id: his::key_id(&key).unwrap_or_default().to_string(),
            key_hash: triage_ground::secret::sha256_hex(key.as_bytes()),
            scopes: r#"["read","registrations"]"#.into(),
            require_signature: false,
            rate_per_minute: 1000,
            revoked_at: None,
            created_at: at,
            signing_sealed: None,
        };
        let stamp = triage::db::accounts::Stamp {
            operator: "test".into(),
            source: "test".into(),
            at,
        };
        triage::db::accounts::insert_client(&mut c, &row, &stamp).unwrap_or_else(|e| panic!("{e}"));
        triage::db::accounts::seal_totp(&mut c, "t-admin", &b32).unwrap_or_else(|e| panic!("{e}"));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[actix_web::test]
async fn keys_and_second_factors_from_before_sealing_work_on_and_are_sealed_at_the_next_start() {
    let mut hospital = Hospital::demo();
    hospital.security.admin_totp = true;
    let first = spawn_app_with(hospital, 2).await;
    let key = format!("tk_0123456789ab_{}", triage_ground::secret::random(32));
    crate::common::note_secret(&key);
    let b32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    write_rows_from_before_sealing(&first, &key, b32).await;
    // A minute later: the harness's login used this step's code.
    first.advance(chrono::Duration::seconds(60));
    let app = first.restarted().await;

    let row = client_rows(&app)
        .await
        .into_iter()
        .find(|r| r.name == "his-legacy")
        .unwrap_or_else(|| panic!("the legacy client"));
    assert_eq!(
        row.key_hash,
        his::verifier(&key),
        "key_hash is now the verifier"
    );
    assert!(row
        .signing_sealed
        .as_deref()
        .is_some_and(|s| s.starts_with("s1.")));
    // The same API key works on, whole and signing.
    let r = app
        .anonymous
        .get(app.url("/api/v1/rooms"))
        .header("authorization", format!("Bearer {key}"));
    assert_eq!(status_code(r).await.0, 200, "the key, whole");
    let r = signed_with(
        &app,
        "0123456789ab",
        &his::signing_key(&key),
        "GET",
        "/api/v1/rooms",
        "",
        "legacy-0001",
    );
    assert_eq!(status_code(r).await.0, 200, "the key, signing");
    // (What it stored before, the old key_hash, is this key's signing key:
    // backups taken before sealing hold it, so the upgrade notes ask for
    // new keys; the rows themselves no longer do.)

    // The authenticator app enrolled before works on; the column is sealed.
    let (url, h) = (app.db.url.clone(), app.hospital.clone());
    let (stored, opened) = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        let stored = triage::db::accounts::get_staff(&mut c, "t-admin")
            .ok()
            .flatten()
            .and_then(|r| r.totp_secret);
        (stored, crate::common::totp_secret_on(&mut c, &h, "t-admin"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.is_some_and(|s| s.starts_with("s1.") && !s.contains(b32)));
    assert_eq!(opened.as_deref(), Some(b32));
    let code = accounts::totp_now(b32, app.now().timestamp() + 30);
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .json(&serde_json::json!({"code": "t-admin", "password": crate::common::ADMIN_PASSWORD, "totp": code}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "the enrolled app's code logs in");
}

#[actix_web::test]
async fn the_server_key_database_and_backups_are_0600_and_backups_never_copy_the_key_and_a_wrong_key_refuses_to_start(
) {
    let app = spawn_app_with(Hospital::demo(), 2).await;
    let path = std::path::PathBuf::from(&app.hospital.security.server_key_file);
    let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the key file is its owner's only"
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let secret = text.trim().to_string();

    // A backup holds the database, never the key.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut policy = app.hospital.backup.clone();
    policy.dir = dir.path().to_path_buf();
    policy.second_dir = None;
    let (u, now) = (app.db.url.clone(), app.now());
    tokio::task::spawn_blocking(move || triage::backups::take(&u, &policy, now, &mut |_| ()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("backup: {e}"));
    let mut files = 0;
    for entry in walk(dir.path()) {
        files += 1;
        let mode = std::fs::metadata(&entry)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "{} is its owner's only", entry.display());
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the server key",
            entry.display()
        );
    }
    assert!(files > 0, "the backup was taken");

    // The SQLite database and its WAL are their owner's only too.
    if let Some(file) = app.db.url.strip_prefix("sqlite://") {
        for f in [file.to_string(), format!("{file}-wal")] {
            let mode = std::fs::metadata(&f)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            assert_eq!(mode, 0o600, "{f} is its owner's only");
        }
    }

    // A server whose key file is missing, or holds another key, refuses to
    // start and says what to do: sealed values would open no more.
    let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = other.path().join("server.key");
    let wrong = other.path().join("wrong.key");
    std::fs::write(
        &wrong,
        triage_ground::secret::ServerKey::generate().to_text(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (file, says) in [(&missing, "不存在"), (&wrong, "与数据库不符")] {
        let mut h = app.hospital.clone();
        h.security.server_key_file = file.display().to_string();
        let mut settings = triage::app::Settings::new(h, app.db.url.clone());
        settings.bind = "127.0.0.1:0".into();
        settings.clock = crate::common::clock_at(app.now());
        let refused = match triage::app::Application::build(settings).await {
            Ok(_) => panic!("started with {}", file.display()),
            Err(e) => format!("{e:#}"),
        };
        assert!(refused.contains(says), "{refused}");
        assert!(
            !file.exists() || file == &wrong,
            "no new key was made in place of the lost one"
        );
    }

    // The way out of a truly lost key: a new one; every live HIS client is
    // revoked and every second factor removed (what they sealed opens no
    // more); the server then starts.
    let mut h = app.hospital.clone();
    h.security.server_key_file = missing.display().to_string();
    let (url, policy) = (app.db.url.clone(), h.security.clone());
    let replaced = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = triage::db::accounts::Stamp {
            operator: "test".into(),
            source: "test".into(),
            at: crate::common::suite_now().naive_utc(),
        };
        triage::auth::server_key::replace(&policy, &mut c, &stamp).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !replaced.revoked.is_empty(),
        "the harness's HIS client was revoked"
    );
    assert!(missing.exists());
    let mut settings = triage::app::Settings::new(h, app.db.url.clone());
    settings.bind = "127.0.0.1:0".into();
    settings.clock = crate::common::clock_at(app.now());
    assert!(
        triage::app::Application::build(settings).await.is_ok(),
        "the server starts with the new key"
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The nonces the database keeps.
async fn nonces_kept(app: &TestApp) -> i64 {
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use triage::db::schema::his_nonces;
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        his_nonces::table
            .count()
            .get_result::<i64>(&mut c)
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[actix_web::test]
async fn a_signed_request_captured_before_a_restart_is_refused_after_it() {
    let first = spawn_app_with(Hospital::demo(), 2).await;
    let key = his_client(
        &first,
        "his-replayed",
        &[Scope::Registrations, Scope::Read],
        true,
        1000,
    )
    .await;
    let id = his::key_id(&key).unwrap_or_default().to_string();
    let signing = his::signing_key(&key);
    let path = "/api/v1/registrations/REPLAY1";
    let body = crate::common::registration("重放甲", "NK").to_string();
    // The same bytes each time: what an attacker captured on the wire.
    let captured =
        |app: &TestApp| signed_with(app, &id, &signing, "PUT", path, &body, "captured-0001");
    assert_eq!(status_code(captured(&first)).await.0, 201, "the original");
    assert_eq!(
        status_code(captured(&first)).await,
        (401, "replayed_request".into()),
        "sent again at once"
    );
    // A minute later the server restarts (deploy, crash): the request's
    // timestamp is still inside the 300 s window.
    first.advance(chrono::Duration::seconds(60));
    let app = first.restarted().await;
    let ts = (app.now() - chrono::Duration::seconds(60))
        .timestamp()
        .to_string();
    let sig = his::sign(
        &signing,
        &his::string_to_sign("PUT", path, &ts, "captured-0001", "", body.as_bytes()),
    );
    let before = app.dump().await;
    let replay = app
        .anonymous
        .put(app.url(path))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer tk_{id}"))
        .header(his::TIMESTAMP_HEADER, ts)
        .header(his::NONCE_HEADER, "captured-0001")
        .header(his::SIGNATURE_HEADER, sig)
        .body(body.clone());
    assert_eq!(
        status_code(replay).await,
        (401, "replayed_request".into()),
        "replayed after the restart"
    );
    assert_eq!(app.dump().await, before, "nothing changed");
    // A fresh nonce goes through; nonces are kept only while their window
    // is open.
    let r = signed_with(
        &app,
        &id,
        &signing,
        "GET",
        "/api/v1/rooms",
        "",
        "fresh-0001",
    );
    assert_eq!(status_code(r).await.0, 200);
    assert_eq!(nonces_kept(&app).await, 2);
    app.advance(chrono::Duration::seconds(10 * 60));
    let r = signed_with(
        &app,
        &id,
        &signing,
        "GET",
        "/api/v1/rooms",
        "",
        "later-0001",
    );
    assert_eq!(status_code(r).await.0, 200);
    assert_eq!(nonces_kept(&app).await, 1, "expired nonces are removed");
}

#[actix_web::test]
async fn metrics_answer_only_the_monitoring_token_once_one_is_set() {
    let token = triage_ground::secret::random(32);
    crate::common::note_secret(&token);
    let mut hospital = Hospital::demo();
    hospital.security.metrics_token_sha256 =
        Some(triage_ground::secret::sha256_hex(token.as_bytes()));
    let app = spawn_app_with(hospital, 2).await;
    let get = |bearer: Option<String>| {
        let mut r = app.anonymous.get(app.url("/metrics"));
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        r
    };
    assert_eq!(
        status_code(get(None)).await,
        (401, "unauthenticated".into())
    );
    let stored = app.hospital.security.metrics_token_sha256.clone();
    assert_eq!(
        status_code(get(stored)).await.0,
        401,
        "the configured digest is no token"
    );
    assert_eq!(status_code(get(Some("wrong".into()))).await.0, 401);
    let r = get(Some(token))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap_or_default().contains("triage_up"));
}
