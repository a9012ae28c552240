//! An acknowledged write is never lost: the real binary is killed with
//! SIGKILL right after acknowledgements and restarted on the same database;
//! every acknowledged change is there and the queues are in the same order.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{admin_client, fresh_database, log_dir, note_secret, provision, registration};
use crate::queue_rules::hospital_toml;
use triage::config::Hospital;

use crate::common::free_port;

/// The server process; killed (SIGKILL) when dropped, so a failing test
/// never leaves it running. The database URL names its demo credentials,
/// listed for the log scan when it goes.
pub(crate) struct Proc(pub(crate) Child, String);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if let Some(demo) = std::fs::read_to_string(triage::auth::cli::demo_file(&self.1))
            .ok()
            .and_then(|t| serde_json::from_str::<triage::auth::cli::DemoAccess>(&t).ok())
        {
            for (_, _, password, _) in &demo.accounts {
                note_secret(password);
            }
            for (_, token) in &demo.screens {
                note_secret(token);
            }
        }
    }
}

fn start(db_url: &str, port: u16) -> Proc {
    start_with(db_url, port, &["--demo"])
}

/// The real binary on `port`, with `hospital` (`--demo` or `--config PATH`).
pub(crate) fn start_with(db_url: &str, port: u16, hospital: &[&str]) -> Proc {
    // Its log lines go beside the others of the run for the log scan.
    let (stderr, level) = match log_dir() {
        Some(dir) => {
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("serve-{}-{port}.log", std::process::id()));
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                Ok(f) => (Stdio::from(f), "info"),
                Err(e) => panic!("cannot open {}: {e}", path.display()),
            }
        }
        None => (Stdio::inherit(), "warn"),
    };
    Proc(
        crate::common::triage_command()
            .arg("serve")
            .args(hospital)
            .args(["--no-simulation", "--workers", "2"])
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                db_url,
            ])
            .env("TRIAGE_LOG", level)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start triage: {e}")),
        db_url.to_string(),
    )
}

pub(crate) async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server at {base} never became ready");
}

async fn state(http: &reqwest::Client, base: &str) -> (Vec<Vec<String>>, Vec<Value>) {
    let mut queues = Vec::new();
    for q in ["NK", "NK-D1001", "WK"] {
        let v: Value = http
            .get(format!("{base}/api/v1/queues/{q}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        queues.push(
            v["entries"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    format!(
                        "{}:{}:{}",
                        e["visit_no"], e["ticket_no"], e["placement_code"]
                    )
                })
                .collect(),
        );
    }
    let rooms: Value = http
        .get(format!("{base}/api/v1/rooms"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    (
        queues,
        rooms["rooms"].as_array().cloned().unwrap_or_default(),
    )
}

fn body(n: usize) -> Value {
    let dept = if n.is_multiple_of(3) { "WK" } else { "NK" };
    let mut b = registration(&format!("病人{n}"), dept);
    b["checked_in"] = json!(true);
    if n.is_multiple_of(7) {
        b["visit_type"] = json!("return");
    }
    if n.is_multiple_of(11) {
        b["special"] = json!(["disabled"]);
    }
    if n.is_multiple_of(13) && dept == "NK" {
        b["doctor_code"] = json!("D1001");
    }
    b
}

#[tokio::test]
async fn acknowledged_changes_survive_sigkill_and_the_queues_keep_their_order() {
    let db = fresh_database();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (totp, _) = provision(&db.url, &Hospital::demo());
    let mut child = start(&db.url, port);
    wait_ready(&reqwest::Client::new(), &base).await;
    let http = admin_client(&base, totp.as_deref(), crate::common::suite_now()).await;

    // Sequential acknowledged work: registrations, check-ins, calls, a pause.
    let mut acked: Vec<(String, String)> = Vec::new();
    for n in 0..60 {
        let visit = format!("K{n:03}");
        let r = http
            .put(format!("{base}/api/v1/registrations/{visit}"))
            .json(&body(n))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap_or_default();
        acked.push((
            visit,
            v["check_in"]["ticket_no"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
        if n % 6 == 5 {
            for room in ["NK-02", "WK-01", "NK-01"] {
                let r = http
                    .post(format!("{base}/api/v1/rooms/{room}/call-next"))
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(r.status(), 200, "{room}");
            }
        }
    }
    let r = http
        .post(format!("{base}/api/v1/rooms/NK-04/pause"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/api/v1/notices"))
        .json(&json!({"text": "门诊楼三层电梯检修"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let r = http
        .put(format!("{base}/api/v1/queues/WK/rules"))
        .json(&json!({"fairness_cap": 2, "reason": "测试"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let before = state(&http, &base).await;

    // Then a burst in flight; kill the moment the 10th acknowledgement lands.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 100..130 {
        let (http, base, tx) = (http.clone(), base.clone(), tx.clone());
        tokio::spawn(async move {
            let visit = format!("K{n:03}");
            if let Ok(r) = http
                .put(format!("{base}/api/v1/registrations/{visit}"))
                .json(&body(n))
                .send()
                .await
            {
                if r.status() == 201 {
                    if let Ok(v) = r.json::<Value>().await {
                        let _ = tx.send((
                            visit,
                            v["check_in"]["ticket_no"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                        ));
                    }
                }
            }
        });
    }
    drop(tx);
    let mut burst = Vec::new();
    while let Some(a) = rx.recv().await {
        burst.push(a);
        if burst.len() == 10 {
            break;
        }
    }
    child.0.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}")); // SIGKILL on Unix
    let _ = child.0.wait();
    while let Ok(a) = rx.try_recv() {
        burst.push(a); // acknowledged before the kill took effect
    }
    assert!(burst.len() >= 10);

    let child = start(&db.url, port);
    wait_ready(&http, &base).await;
    let after = state(&http, &base).await;

    // Every acknowledged burst registration is there, checked in, same ticket.
    for (visit, ticket) in &burst {
        let v: Value = http
            .get(format!("{base}/api/v1/registrations/{visit}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(v["status"], "waiting", "{visit} lost its check-in");
        assert_eq!(v["ticket_no"].as_str(), Some(ticket.as_str()), "{visit}");
    }
    // The earlier state is unchanged: queues in the same order (the burst's
    // entries may stand among them), rooms with the same current patient.
    for (b, a) in before.0.iter().zip(after.0.iter()) {
        let a_old: Vec<&String> = a.iter().filter(|e| !e.starts_with("\"K1")).collect();
        let b_old: Vec<&String> = b.iter().collect();
        assert_eq!(a_old, b_old, "queue order changed across the crash");
    }
    for (b, a) in before.1.iter().zip(after.1.iter()) {
        assert_eq!(b["code"], a["code"]);
        assert_eq!(b["status"], a["status"], "room status lost");
        assert_eq!(
            b["current_ticket_no"], a["current_ticket_no"],
            "room's current patient lost"
        );
    }
    for (visit, ticket) in &acked {
        let v: Value = http
            .get(format!("{base}/api/v1/registrations/{visit}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        assert!(
            ["waiting", "called", "finished"].contains(&v["status"].as_str().unwrap_or("")),
            "{visit}: {v}"
        );
        assert_eq!(v["ticket_no"].as_str(), Some(ticket.as_str()));
    }
    let notices: Value = http
        .get(format!("{base}/api/v1/notices"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(
        notices["notices"][0]["text"], "门诊楼三层电梯检修",
        "notice lost"
    );
    let rules: Value = http
        .get(format!("{base}/api/v1/queues/WK/rules"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(rules["rules"]["fairness_cap"], 2, "rules change lost");
    // And it keeps working: the next call takes the head of the queue.
    let head = after.0[0].first().cloned().unwrap_or_default();
    let r: Value = http
        .post(format!("{base}/api/v1/rooms/NK-02/call-next"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default();
    assert!(
        head.starts_with(&format!("{}", r["current"]["visit_no"])),
        "{head} vs {r}"
    );
    drop(child);
}

async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_default()
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let r = http
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap_or_default()
}

/// What a restart must give back exactly: each queue in calling order with
/// the rule that placed each patient, and each room's short list.
async fn rule_state(http: &reqwest::Client, base: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in ["NK", "NK-D1"] {
        let v = get(http, format!("{base}/api/v1/queues/{q}")).await;
        for e in v["entries"].as_array().cloned().unwrap_or_default() {
            out.push(format!(
                "{q}: {} {} {} {}",
                e["visit_no"], e["ticket_no"], e["placement_code"], e["placement_reason"]
            ));
        }
    }
    for room in ["R1", "R2", "EXP"] {
        let v = get(http, format!("{base}/api/v1/rooms/{room}")).await;
        out.push(format!(
            "{room}: {} {} {} {}",
            v["status"], v["short_list"], v["next"], v["current"]["ticket_no"]
        ));
    }
    out
}

#[tokio::test]
async fn short_lists_moves_mix_turns_and_overtakes_survive_sigkill() {
    let db = fresh_database();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("hospital.toml");
    std::fs::write(
        &config,
        hospital_toml(
            2,
            "mix = [2, 1]",
            "max_overtaken = 2\nbase_order = \"his_sequence\"",
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let config = config.display().to_string();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let hospital =
        Hospital::load(std::path::Path::new(&config)).unwrap_or_else(|e| panic!("config: {e:?}"));
    let (totp, _) = provision(&db.url, &hospital);
    let mut child = start_with(&db.url, port, &["--config", &config]);
    wait_ready(&reqwest::Client::new(), &base).await;
    let http = admin_client(&base, totp.as_deref(), crate::common::suite_now()).await;

    // Seven in the shared queue: R1 and R2 take the first four onto their
    // short lists as they come; the last three have HIS numbers in reverse.
    for n in 1..=7 {
        let mut b = registration(&format!("普通{n}"), "NK");
        b["checked_in"] = json!(true);
        b["sequence_no"] = json!(if n <= 4 { n } else { 12 - n });
        let r = http
            .put(format!("{base}/api/v1/registrations/N{n}"))
            .json(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201);
    }
    // The doctor's own queue: two normal, then two military patients.
    for (v, special) in [("D1", false), ("D2", false), ("S1", true), ("S2", true)] {
        let mut b = registration(&format!("专家{v}"), "NK");
        b["checked_in"] = json!(true);
        b["doctor_code"] = json!("D1");
        if special {
            b["special"] = json!(["military"]);
        }
        let r = http
            .put(format!("{base}/api/v1/registrations/{v}"))
            .json(&b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 201);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for room in ["R1", "R2"] {
        while get(&http, format!("{base}/api/v1/rooms/{room}")).await["short_list"] != 2 {
            assert!(
                Instant::now() < deadline,
                "{room} never filled its short list"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(
        get(&http, format!("{base}/api/v1/queues/NK")).await["entries"][4]["visit_no"],
        "N7",
        "by HIS number in the general list"
    );
    // A nurse moves N5 (last by HIS number) to the front of the general list.
    let v = post(
        &http,
        format!("{base}/api/v1/registrations/N5/move"),
        json!({"position": 1, "reason": "行动不便"}),
    )
    .await;
    assert_eq!(v["position"], 5, "after the four on short lists");
    // EXP calls by turns 2:1 — both specials from the doctor's queue; D1
    // and D2 have now been overtaken twice.
    for expect in ["S1", "S2"] {
        let v = post(
            &http,
            format!("{base}/api/v1/rooms/EXP/call-next"),
            json!({}),
        )
        .await;
        assert_eq!(v["current"]["visit_no"], expect);
    }
    let before = rule_state(&http, &base).await;
    assert!(
        before.iter().any(|l| l.contains("\"overtake_cap\"")),
        "{before:#?}"
    );

    child.0.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}"));
    let _ = child.0.wait();
    let child = start_with(&db.url, port, &["--config", &config]);
    wait_ready(&http, &base).await;
    let after = rule_state(&http, &base).await;
    assert_eq!(after, before, "the rule state changed across the crash");

    // The turn is kept: the third call goes to the shared queue (the moved
    // N5 first), the fourth back to the doctor's, where D1 is protected.
    let v = post(
        &http,
        format!("{base}/api/v1/rooms/EXP/call-next"),
        json!({}),
    )
    .await;
    assert_eq!(v["current"]["visit_no"], "N5");
    assert_eq!(v["current"]["reason_code"], "moved");
    let v = post(
        &http,
        format!("{base}/api/v1/rooms/EXP/call-next"),
        json!({}),
    )
    .await;
    assert_eq!(v["current"]["visit_no"], "D1");
    assert_eq!(v["current"]["reason_code"], "overtake_cap");
    drop(child);
}

/// SIGTERM is a shutdown on purpose: requests in flight finish, every
/// acknowledged command is on disk, each screen gets the `restarting`
/// frame before its socket closes, and the process exits 0 within 10 s.
#[tokio::test]
async fn sigterm_loses_nothing_tells_the_screens_and_exits_zero() {
    use futures_util::StreamExt;
    let db = fresh_database();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (totp, _) = provision(&db.url, &Hospital::demo());
    let mut server = start(&db.url, port);
    wait_ready(&reqwest::Client::new(), &base).await;
    let http = admin_client(&base, totp.as_deref(), crate::common::suite_now()).await;
    // `serve --demo` gave every screen a token, kept beside the database.
    let demo: triage::auth::cli::DemoAccess = serde_json::from_str(
        &std::fs::read_to_string(triage::auth::cli::demo_file(&db.url))
            .unwrap_or_else(|e| panic!("demo credentials: {e}")),
    )
    .unwrap_or_else(|e| panic!("demo credentials: {e}"));
    let tokens: std::collections::HashMap<String, String> = demo.screens.into_iter().collect();

    let mut screens = Vec::new();
    for code in ["NK-HALL", "WK-01-DOOR"] {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws/screens/{code}"))
                .await
                .unwrap_or_else(|e| panic!("ws: {e}"));
        let hello =
            json!({"type": "hello", "token": tokens.get(code).cloned().unwrap_or_default()});
        futures_util::SinkExt::send(
            &mut ws,
            tokio_tungstenite::tungstenite::Message::Text(hello.to_string().into()),
        )
        .await
        .unwrap_or_else(|e| panic!("hello: {e}"));
        let first = ws.next().await;
        assert!(matches!(first, Some(Ok(_))), "no snapshot on {code}");
        screens.push(ws);
    }

    // 40 registrations with check-in in flight; SIGTERM after the 10th answer.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..40 {
        let (http, base, tx) = (http.clone(), base.clone(), tx.clone());
        tokio::spawn(async move {
            let r = http
                .put(format!("{base}/api/v1/registrations/T{n:03}"))
                .json(&body(n))
                .send()
                .await;
            let acked = matches!(&r, Ok(r) if r.status().is_success());
            let _ = tx.send((n, acked));
        });
    }
    drop(tx);
    let mut acked = Vec::new();
    let mut answers = 0;
    let mut termed = None;
    while let Some((n, ok)) = rx.recv().await {
        answers += 1;
        if ok {
            acked.push(n);
        }
        if answers == 10 && termed.is_none() {
            let pid = server.0.id().to_string();
            let status = Command::new("kill").args(["-TERM", &pid]).status();
            assert!(matches!(status, Ok(s) if s.success()), "kill -TERM");
            termed = Some(Instant::now());
        }
    }
    let termed = termed.unwrap_or_else(|| panic!("never sent SIGTERM"));

    // Every screen: the restarting frame, then the close.
    for mut ws in screens {
        let mut saw_restarting = false;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(10), ws.next()).await
        {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = &msg {
                let v: Value = serde_json::from_str(t).unwrap_or_default();
                if v["type"] == "restarting" {
                    saw_restarting = true;
                }
            }
            if msg.is_close() {
                break;
            }
        }
        assert!(saw_restarting, "a screen got no restarting frame");
    }

    // The process exits 0 within 10 s.
    let deadline = termed + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");

    // Restarted: every acknowledged registration is there, checked in.
    let _server = start(&db.url, port);
    wait_ready(&http, &base).await;
    assert!(acked.len() >= 10, "only {} acknowledged", acked.len());
    for n in acked {
        let v: Value = http
            .get(format!("{base}/api/v1/registrations/T{n:03}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(
            v["status"], "waiting",
            "acknowledged T{n:03} after SIGTERM: {v}"
        );
        assert!(v["ticket_no"].is_string());
    }
}

/// `serve --demo` once, its console (standard output and error) kept in
/// `out`; answers when it was ready, then stops it.
async fn demo_once(db_url: &str, out: &std::path::Path) {
    let port = free_port();
    let file = std::fs::File::create(out).unwrap_or_else(|e| panic!("{e}"));
    let err = file.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let child = crate::common::triage_command()
        .args(["serve", "--demo", "--no-simulation", "--workers", "2"])
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            db_url,
        ])
        .env("TRIAGE_LOG", "warn")
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start triage: {e}"));
    let server = Proc(child, db_url.to_string());
    wait_ready(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;
    drop(server);
}

/// The demo keeps its passwords and screen tokens across restarts; when
/// one no longer holds (a token revoked on the devices page) it makes new
/// ones and says so, and why, instead of silently.
#[tokio::test]
async fn the_demo_says_when_and_why_it_made_new_passwords_and_tokens() {
    let db = fresh_database();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let console = |n: u8| dir.path().join(format!("console-{n}.txt"));
    demo_once(&db.url, &console(1)).await;
    demo_once(&db.url, &console(2)).await;
    let said = |n: u8| std::fs::read_to_string(console(n)).unwrap_or_default();
    assert!(
        !said(2).contains("重新生成"),
        "nothing changed: {}",
        said(2)
    );
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        let stamp = triage::db::accounts::Stamp {
            operator: "test".into(),
            source: "test".into(),
            at: crate::common::suite_now().naive_utc(),
        };
        triage::auth::accounts::revoke_screen_token(&mut c, "NK-HALL", &stamp)
            .unwrap_or_else(|e| panic!("{e}"));
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    demo_once(&db.url, &console(3)).await;
    let third = said(3);
    assert!(
        third.contains("NK-HALL") && third.contains("重新生成"),
        "the console says what was made anew and why: {third}"
    );
}
