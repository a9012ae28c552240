//! Logins behind the hospital's proxy (issue 25): the limits see the real
//! workstation (`[security] trusted_proxies`), a wrong-password streak
//! slows that account from that address only (doubling, with a truthful
//! Retry-After) and never locks anyone out, unknown and known accounts
//! answer alike, an administrator is told of a streak, and a correct login
//! gets through a flood of logins from other addresses (fair hashing).
//! The proxy's part is what nginx or HAProxy send from 127.0.0.1: the
//! client's address in `X-Forwarded-For`.

use serde_json::{json, Value};
use triage::auth::policy::Role;
use triage::config::Hospital;

use crate::common::{spawn_app_with, TestApp, STAFF_PASSWORD};

/// What a login from the workstation `from` (behind the proxy) is
/// answered: status, code, message, Retry-After.
async fn login_from(
    app: &TestApp,
    from: &str,
    code: &str,
    password: &str,
) -> (u16, String, String, Option<String>) {
    let r = app
        .anonymous
        .post(app.url("/api/v1/session"))
        .header("x-forwarded-for", from)
        .json(&json!({"code": code, "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let v: Value = r.json().await.unwrap_or_default();
    (
        status,
        v["error"]["code"].as_str().unwrap_or_default().to_string(),
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        retry,
    )
}

/// The app on a clock that stands still unless the test moves it: the
/// streaks' waits are asserted to the second.
async fn spawn_frozen(hospital: Hospital) -> TestApp {
    let clock = std::sync::Arc::new(triage_ground::time::AnchoredClock::frozen_at(
        crate::common::suite_now(),
    ));
    crate::common::spawn_app_clocked(hospital, 2, crate::common::fresh_database(), clock).await
}

fn behind_the_proxy(failures: u32) -> Hospital {
    let mut h = Hospital::demo();
    h.security.trusted_proxies = vec!["127.0.0.1".into()];
    h.security.lockout_failures = failures;
    h
}

#[actix_web::test]
async fn a_streak_slows_that_account_from_that_workstation_only_and_unknown_accounts_answer_alike()
{
    let app = spawn_frozen(behind_the_proxy(3)).await;
    let _ = app.staff("N-STREAK", Role::Nurse, &["NK"]).await;
    let (ws1, ws2, ws3) = ("192.168.10.11", "192.168.10.12", "192.168.10.13");
    for i in 0..3 {
        let known = login_from(&app, ws1, "N-STREAK", &format!("wrong-{i}")).await;
        let unknown = login_from(&app, ws3, "N-NOBODY", &format!("wrong-{i}")).await;
        assert_eq!(known.0, 401, "{known:?}");
        assert_eq!(known.1, "bad_credentials");
        assert_eq!(known, unknown, "a real and an unknown account answer alike");
    }
    // The next attempt from that workstation waits one second, for a real
    // account exactly as for an unknown one; no account is locked.
    let known = login_from(&app, ws1, "N-STREAK", STAFF_PASSWORD).await;
    let unknown = login_from(&app, ws3, "N-NOBODY", "wrong").await;
    assert_eq!(
        (known.0, known.1.as_str(), known.3.as_deref()),
        (429, "too_many_requests", Some("1"))
    );
    assert_eq!(known, unknown, "waiting alike");
    assert!(
        !known.2.is_empty() && !known.2.is_ascii(),
        "a message in Chinese: {}",
        known.2
    );
    // An administrator is told (before a good login ends the streak).
    let mut told = Value::Null;
    for _ in 0..50 {
        told = app.get_json("/api/v1/faults?state=opened").await;
        if told.to_string().contains("login_failures") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        told.to_string().contains("N-STREAK"),
        "an alert names the account: {told}"
    );
    assert!(
        !told.to_string().contains("N-NOBODY"),
        "unknown accounts raise none"
    );
    // Another workstation, the right password: in at once.
    let other = login_from(&app, ws2, "N-STREAK", STAFF_PASSWORD).await;
    assert_eq!(
        other.0, 200,
        "another workstation is not blocked: {other:?}"
    );
    // The first workstation, after its wait: in, and its streak is over.
    app.advance(chrono::Duration::seconds(2));
    let back = login_from(&app, ws1, "N-STREAK", STAFF_PASSWORD).await;
    assert_eq!(back.0, 200, "{back:?}");
    assert_eq!(
        login_from(&app, ws1, "N-STREAK", "wrong-again").await.1,
        "bad_credentials"
    );
    // The audit log names the workstation.
    let dump = app.dump().await;
    assert!(
        dump.contains("192.168.10.11"),
        "the audit log names the workstation"
    );
}

#[actix_web::test]
async fn a_nurses_correct_login_gets_through_a_login_flood_from_other_addresses() {
    let app = spawn_app_with(behind_the_proxy(5), 2).await;
    let _ = app.staff("N-FLOOD", Role::Nurse, &["NK"]).await;
    // 64 wrong logins from 32 workstations at once, and in their midst the
    // nurse at her own workstation with her password.
    let flood = (0..64).map(|i| {
        let from = format!("192.168.30.{}", i % 32 + 1);
        let app = &app;
        async move { login_from(app, &from, &format!("N-X{}", i % 7), "guess-123").await }
    });
    let nurse = async { login_from(&app, "192.168.40.7", "N-FLOOD", STAFF_PASSWORD).await };
    let (answers, nurse) =
        futures_util::future::join(futures_util::future::join_all(flood), nurse).await;
    assert_eq!(nurse.0, 200, "the nurse got in during the flood: {nurse:?}");
    assert!(
        answers.iter().all(|a| a.0 == 401 || a.0 == 429),
        "{answers:?}"
    );
}

#[actix_web::test]
async fn a_flood_from_one_address_is_limited_with_a_truthful_retry_after() {
    let mut h = behind_the_proxy(1000);
    h.security.login_per_minute = 10;
    let app = spawn_app_with(h, 2).await;
    let mut limited = None;
    for i in 0..11 {
        let a = login_from(&app, "192.168.50.5", "N-NOBODY", &format!("w{i}")).await;
        if a.0 == 429 {
            limited = Some(a);
            break;
        }
    }
    let a = limited.unwrap_or_else(|| panic!("no 429 after 11 logins in a minute"));
    let retry: u64 = a.3.as_deref().unwrap_or("0").parse().unwrap_or(0);
    // Ten a minute: a slot returns every 6 s, and Retry-After says so.
    assert!((1..=6).contains(&retry), "Retry-After {retry}");
    // Another address is not limited by it.
    assert_eq!(
        login_from(&app, "192.168.50.6", "N-NOBODY", "w").await.0,
        401
    );
}

/// nginx, configured with the server block of `docs/install.md` as it
/// stands (its certificate and the addresses put in), in front of `app`;
/// one process (`master_process off`), so that killing it when dropped
/// leaves no worker behind.
struct Nginx {
    child: std::process::Child,
    port: u16,
    tls: crate::common::TestTls,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ```nginx block of docs/install.md.
fn documented_nginx_server() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/install.md"))
        .unwrap_or_else(|e| panic!("docs/install.md: {e}"));
    let start = doc
        .find("```nginx\n")
        .unwrap_or_else(|| panic!("docs/install.md has no nginx example"))
        + "```nginx\n".len();
    let end = doc[start..].find("```").map_or(doc.len(), |e| start + e);
    doc[start..end].to_string()
}

async fn nginx_before(app: &TestApp) -> Nginx {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tls = crate::common::test_certificate();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let server = documented_nginx_server()
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
        .replace("/etc/nginx/tls/triage.pem", &tls.cert.display().to_string())
        .replace("/etc/nginx/tls/triage.key", &tls.key.display().to_string())
        .replace(
            "http://127.0.0.1:8080",
            &format!("http://127.0.0.1:{}", app.port),
        );
    assert!(
        server.contains("X-Forwarded-For $proxy_add_x_forwarded_for"),
        "{server}"
    );
    let d = dir.path().display();
    let conf = format!(
        "master_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n{server}\n}}\n"
    );
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, conf).unwrap_or_else(|e| panic!("{e}"));
    let child = std::process::Command::new("nginx")
        .args([
            "-p",
            &d.to_string(),
            "-c",
            &path.display().to_string(),
            "-g",
            "daemon off; user root;",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("nginx (the test command installs it: apt-get install nginx-light): {e}")
        });
    let proxy = Nginx {
        child,
        port,
        tls,
        _dir: dir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return proxy;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nginx did not listen on {port}");
}

/// A browser at the workstation with the address `ip`, reaching the
/// server through nginx over HTTPS.
fn workstation(proxy: &Nginx, ip: [u8; 4]) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(proxy.tls.cert_pem.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn login_at(
    proxy: &Nginx,
    client: &reqwest::Client,
    password: &str,
    spoof: Option<&str>,
) -> (u16, String) {
    let mut r = client
        .post(format!("https://127.0.0.1:{}/api/v1/session", proxy.port))
        .json(&json!({"code": "N-NGINX", "password": password}));
    if let Some(s) = spoof {
        r = r.header("x-forwarded-for", s);
    }
    let r = r.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or_default();
    (
        status,
        v["error"]["code"].as_str().unwrap_or_default().to_string(),
    )
}

#[actix_web::test]
async fn behind_the_documented_nginx_one_workstations_failed_logins_do_not_block_another() {
    let app = spawn_frozen(behind_the_proxy(3)).await;
    let _ = app.staff("N-NGINX", Role::Nurse, &["NK"]).await;
    let proxy = nginx_before(&app).await;
    let (a, b) = (
        workstation(&proxy, [127, 0, 0, 11]),
        workstation(&proxy, [127, 0, 0, 12]),
    );
    for i in 0..3 {
        assert_eq!(
            login_at(&proxy, &a, &format!("wrong-{i}"), None).await,
            (401, "bad_credentials".into())
        );
    }
    // Workstation A waits, also when it names B in its own header (nginx
    // appends the real address, which is read from the right).
    assert_eq!(login_at(&proxy, &a, STAFF_PASSWORD, None).await.0, 429);
    assert_eq!(
        login_at(&proxy, &a, STAFF_PASSWORD, Some("127.0.0.12"))
            .await
            .0,
        429
    );
    // Workstation B, the right password: in.
    assert_eq!(login_at(&proxy, &b, STAFF_PASSWORD, None).await.0, 200);
    let dump = app.dump().await;
    assert!(
        dump.contains("127.0.0.11") && dump.contains("127.0.0.12"),
        "the audit log names each workstation"
    );
}
