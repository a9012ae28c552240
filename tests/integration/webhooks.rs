//! Patient webhooks (issue 28) end to end: the real binary sends N-ahead,
//! called and missed to the documented receiver (`docs/examples/
//! webhook_receiver.py`, which checks every signature and keeps the ids it
//! took), across a receiver outage and two `kill -9` restarts: each event
//! arrives exactly once, in order, signed, with no name in it; an N-ahead
//! no longer true when the gateway comes back is not sent.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{
    admin_client, free_port, fresh_database, note_secret, provision, registration,
};
use crate::durability::{start_with, wait_ready, Proc};
use crate::queue_rules::hospital_toml;
use triage::config::Hospital;

/// The example receiver, stopped when dropped.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn receiver(port: u16, secret: &str, dir: &std::path::Path) -> Receiver {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/examples/webhook_receiver.py"
    );
    let child = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string()])
        .arg("--store")
        .arg(dir.join("seen.sqlite"))
        .arg("--out")
        .arg(dir.join("events.jsonl"))
        .args(["--clock", &crate::common::suite_now().to_rfc3339()])
        .env("TRIAGE_WEBHOOK_SECRET", secret)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    // Listening once a connection is taken.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the receiver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Receiver(child)
}

/// Every line the receiver wrote.
fn lines(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `(type, visit)` of every event taken, in order.
fn taken(dir: &std::path::Path) -> Vec<(String, String)> {
    lines(dir)
        .iter()
        .filter(|l| l["type"].is_string())
        .map(|l| {
            (
                l["type"].as_str().unwrap_or_default().to_string(),
                l["data"]["visit_no"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

async fn until_taken(dir: &std::path::Path, n: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while taken(dir).len() < n {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {n} taken: {:?}",
            taken(dir).len(),
            lines(dir)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn room(http: &reqwest::Client, base: &str, room: &str, action: &str) {
    let r = http
        .post(format!("{base}/api/v1/rooms/{room}/{action}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "{room} {action}");
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

fn event(kind: &str, visit: &str) -> (String, String) {
    (kind.to_string(), visit.to_string())
}

#[tokio::test]
async fn ahead_called_and_missed_arrive_once_each_signed_across_an_outage_and_two_kills() {
    let db = fresh_database();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hook_port = free_port();
    // Two ahead in the shared queue; the doctor's own queue tells nobody.
    let toml = hospital_toml(0, "", "").replace(
        "prefix = \"ZA\"",
        "prefix = \"ZA\"\nnotify_ahead = 0",
    ) + &format!(
        "\n[patient]\nwebhook_url = \"http://127.0.0.1:{hook_port}/triage/events\"\nnotify_ahead = 2\n"
    );
    let config = dir.path().join("hospital.toml");
    std::fs::write(&config, toml).unwrap_or_else(|e| panic!("{e}"));
    let config = config.display().to_string();
    let hospital =
        Hospital::load(std::path::Path::new(&config)).unwrap_or_else(|e| panic!("config: {e:?}"));
    assert_eq!(hospital.notify_ahead("NK"), 2);
    assert_eq!(hospital.notify_ahead("NK-D1"), 0);
    let (totp, _) = provision(&db.url, &hospital);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = |_: ()| start_with(&db.url, port, &["--config", &config]);
    let mut child: Proc = server(());
    wait_ready(&reqwest::Client::new(), &base).await;
    let http = admin_client(&base, totp.as_deref(), crate::common::suite_now()).await;

    // The secret the hospital's gateway is given.
    let out = crate::common::triage_command()
        .args(["server-key", "webhook-secret", "--config", &config])
        .args(["--database-url", &db.url])
        .output()
        .unwrap_or_else(|e| panic!("triage: {e}"));
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    note_secret(&secret);

    // The gateway is down: five patients in the shared queue, one expert.
    for n in 1..=5 {
        let mut b = registration(&format!("通知病人{n}"), "NK");
        b["checked_in"] = json!(true);
        let r = http
            .put(format!("{base}/api/v1/registrations/A{n}"))
            .json(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201);
    }
    let mut b = registration("专家病人", "NK");
    b["checked_in"] = json!(true);
    b["doctor_code"] = json!("D1");
    let r = http
        .put(format!("{base}/api/v1/registrations/E1"))
        .json(&b)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    // The watch looks twice a second: it has seen the queue before the call.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // R1 calls A1 (A4 comes within two), who does not come.
    room(&http, &base, "R1", "call-next").await;
    room(&http, &base, "R1", "skip").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.0.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}"));
    let _ = child.0.wait();
    drop(child);

    // Restarted; then the gateway comes up and gets what waited.
    let mut child = server(());
    wait_ready(&http, &base).await;
    let gateway = receiver(hook_port, &secret, dir.path());
    // A1's N-ahead is no longer true (A1 was called meanwhile): dropped.
    let first = vec![
        event("patient.ahead", "A2"),
        event("patient.ahead", "A3"),
        event("patient.called", "A1"),
        event("patient.ahead", "A4"),
        event("patient.missed", "A1"),
    ];
    until_taken(dir.path(), first.len(), "after the restart").await;
    let got = taken(dir.path());
    assert_eq!(sorted(got.clone()), sorted(first.clone()));
    // In the order they happened.
    let at = |e: (String, String)| got.iter().position(|g| *g == e);
    assert!(
        at(event("patient.ahead", "A3")) < at(event("patient.called", "A1")),
        "{got:?}"
    );
    assert!(
        at(event("patient.called", "A1")) < at(event("patient.missed", "A1")),
        "{got:?}"
    );

    // Live: R2 calls A2 (A5 comes within two).
    room(&http, &base, "R2", "call-next").await;
    until_taken(dir.path(), first.len() + 2, "live").await;
    // The gateway goes down (once it has answered what it took: a gateway
    // killed between taking a webhook and answering gets it again, with the
    // same id, as the guide says), R2 calls A2 again, the gateway comes back.
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(gateway);
    room(&http, &base, "R2", "recall").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let gateway = receiver(hook_port, &secret, dir.path());
    until_taken(dir.path(), first.len() + 3, "after the outage").await;

    // Everything marked: a second kill and restart sends nothing again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.0.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}"));
    let _ = child.0.wait();
    drop(child);
    let child = server(());
    wait_ready(&http, &base).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut all = first;
    all.extend([
        event("patient.called", "A2"),
        event("patient.ahead", "A5"),
        event("patient.called", "A2"),
    ]);
    let lines = lines(dir.path());
    assert!(
        lines.iter().all(|l| l["rejected"].is_null()),
        "a signature failed: {lines:?}"
    );
    assert!(
        lines.iter().all(|l| l["duplicate"].is_null()),
        "an event came twice: {lines:?}"
    );
    assert_eq!(sorted(taken(dir.path())), sorted(all));
    let ids: BTreeMap<String, usize> = lines.iter().fold(BTreeMap::new(), |mut m, l| {
        *m.entry(l["id"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
        m
    });
    assert_eq!(ids.len(), lines.len(), "ids are unique: {ids:?}");
    // What the gateway needs, and no name.
    let text = serde_json::to_string(&lines).unwrap_or_default();
    assert!(
        !text.contains("通知病人") && !text.contains("专家病人"),
        "{text}"
    );
    let called = lines
        .iter()
        .find(|l| l["type"] == "patient.called" && l["data"]["visit_no"] == "A1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(called["data"]["room_code"], "R1");
    assert_eq!(called["data"]["room_name"], "内科1诊室");
    assert_eq!(called["data"]["queue_name"], "内科普通号");
    assert_eq!(called["data"]["ticket_no"], "A001");
    assert_eq!(
        called["data"]["has_link"],
        json!(true),
        "the page's link came"
    );
    let recall = lines
        .iter()
        .filter(|l| l["type"] == "patient.called" && l["data"]["visit_no"] == "A2")
        .map(|l| l["data"]["recall"].clone())
        .collect::<Vec<_>>();
    assert_eq!(recall, [json!(false), json!(true)]);
    let ahead: Vec<Value> = lines
        .iter()
        .filter(|l| l["type"] == "patient.ahead")
        .map(|l| l["data"]["ahead"].clone())
        .collect();
    assert_eq!(
        ahead.iter().filter(|a| **a == json!(2)).count(),
        3,
        "{ahead:?}"
    );
    assert!(!text.contains("/p/"), "the receiver keeps no link");
    let missed = lines
        .iter()
        .find(|l| l["type"] == "patient.missed")
        .cloned()
        .unwrap_or_default();
    assert_eq!(missed["data"]["no_show"], json!(false));

    // The receiver refuses what another secret signed.
    let forged = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{hook_port}/triage/events"))
        .header("webhook-id", "forged")
        .header(
            "webhook-timestamp",
            crate::common::suite_now().timestamp().to_string(),
        )
        .header("webhook-signature", "v1,AAAA")
        .body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forged.status(), 401);
    drop(gateway);
    drop(child);
}

/// A gateway that answers with a redirect has not taken the webhook: it
/// is kept and tried again (the redirect is never followed, so the signed
/// body goes nowhere else), and taken once the gateway answers 2xx.
#[actix_web::test]
async fn a_redirecting_gateway_has_not_taken_the_webhook_and_it_is_sent_again() {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;
    let redirect = Arc::new(AtomicBool::new(true));
    let posts = Arc::new(AtomicUsize::new(0));
    let elsewhere = Arc::new(AtomicUsize::new(0));
    let (r, p, e) = (redirect.clone(), posts.clone(), elsewhere.clone());
    let server = actix_web::HttpServer::new(move || {
        let (r, p, e) = (r.clone(), p.clone(), e.clone());
        actix_web::App::new()
            .route(
                "/events",
                actix_web::web::post().to(move || {
                    let (r, p) = (r.clone(), p.clone());
                    async move {
                        p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if r.load(std::sync::atomic::Ordering::SeqCst) {
                            actix_web::HttpResponse::Found()
                                .insert_header(("location", "/elsewhere"))
                                .finish()
                        } else {
                            actix_web::HttpResponse::NoContent().finish()
                        }
                    }
                }),
            )
            .default_service(actix_web::web::to(move || {
                let e = e.clone();
                async move {
                    e.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    actix_web::HttpResponse::Ok().finish()
                }
            }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap_or_else(|e| panic!("{e}"));
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    let mut hospital = Hospital::demo();
    hospital.patient.webhook_url = Some(format!("http://127.0.0.1:{port}/events"));
    hospital.patient.notify_ahead = 0;
    let app = crate::common::spawn_app_with(hospital, 2).await;
    assert_eq!(
        app.put_registration("RD1", &registration("跳转甲", "NK"))
            .await
            .status(),
        201
    );
    assert_eq!(app.check_in("RD1").await.status(), 200);
    let r = app
        .http
        .post(app.url("/api/v1/rooms/NK-02/call-next"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let sent = |app: &crate::common::TestApp| {
        let db = app.engine.db().clone();
        async move {
            db.read(|c| {
                use diesel::prelude::*;
                use triage::db::schema::patient_webhooks as w;
                Ok(w::table
                    .select((w::sent_at.is_not_null(), w::last_error))
                    .load::<(bool, Option<String>)>(c)?)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while posts.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the gateway heard nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sent(&app).await,
        [(false, Some("HTTP 302".to_string()))],
        "kept, not taken"
    );
    assert_eq!(
        elsewhere.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "not followed"
    );
    // The gateway fixed: the retry (5 s later) is taken.
    redirect.store(false, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(15);
    while sent(&app).await.first().is_none_or(|(s, _)| !s) {
        assert!(Instant::now() < deadline, "never taken after the fix");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(elsewhere.load(std::sync::atomic::Ordering::SeqCst), 0);
}
