//! Screens over real WebSocket clients: snapshot first, then seq+1 frames; a
//! reconnect gets a fresh snapshot matching the server; no frame ever carries
//! a full patient name.

use serde_json::{json, Value};

use crate::common::{registration, spawn_app};

const NAMES: [&str; 4] = ["张三丰", "欧阳娜娜", "李四", "司马相如"];

#[actix_web::test]
async fn a_screen_gets_a_snapshot_then_every_frame_with_the_next_sequence_number() {
    let app = spawn_app().await;
    app.arrive("W1", &registration(NAMES[0], "NK")).await;

    let mut ws = app.ws("NK-02-DOOR").await;
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["screen"]["kind"], "door");
    assert_eq!(snap["rooms"][0]["code"], "NK-02");
    assert_eq!(snap["rooms"][0]["next"][0]["masked_name"], "张*丰");
    let mut seq = snap["seq"].as_u64().unwrap_or(0);

    for (i, name) in NAMES.iter().enumerate().skip(1) {
        let mut b = registration(name, "NK");
        b["patient"]["sex"] = json!(if i % 2 == 0 { "2" } else { "1" });
        app.arrive(&format!("W{}", i + 1), &b).await;
    }
    let r: Value = app
        .room("NK-02", "call-next")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(r["current"]["visit_no"], "W1");

    let frames = ws.until("call").await;
    for f in &frames {
        seq += 1;
        assert_eq!(f["seq"].as_u64(), Some(seq), "frame {f}");
    }
    let call = &frames.last().map(|f| f["call"].clone()).unwrap_or_default();
    assert_eq!(call["ticket_no"], "A001");
    assert_eq!(call["masked_name"], "张*丰");
    assert_eq!(call["text"], "请 A001号 张先生 到 内科2诊室 就诊");
    // The door screen does not speak in the demo (the hall screen does).
    assert_eq!(call["repeat"], 0);

    // Forced disconnect: the reconnect gets a fresh snapshot equal to the truth.
    let mut seen = ws.close().await;
    app.room("NK-02", "call-next").await; // changes while the screen is away
    let mut ws = app.ws("NK-02-DOOR").await;
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    let truth = app.get_json("/api/v1/rooms/NK-02").await;
    let room = &snap["rooms"][0];
    assert_eq!(room["current"], truth["current"]);
    assert_eq!(room["status"], truth["status"]);
    assert_eq!(room["waiting"], truth["waiting"]);
    let next_truth: Vec<Value> = truth["next"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .take(3)
        .collect();
    assert_eq!(room["next"], Value::Array(next_truth));
    assert_eq!(room["current"]["ticket_no"], "A002");

    // A resync request gets a snapshot too.
    ws.send(json!({"type": "resync"})).await;
    let again = ws.next().await;
    assert_eq!(again["type"], "snapshot");

    seen.extend(ws.close().await);
    for frame in &seen {
        for name in NAMES {
            assert!(
                !frame.contains(name),
                "a frame carries the full name {name}: {frame}"
            );
        }
    }
}

#[actix_web::test]
async fn the_hall_screen_speaks_and_every_screen_of_the_room_changes() {
    let app = spawn_app().await;
    let mut hall = app.ws("NK-HALL").await;
    let mut door = app.ws("NK-03-DOOR").await;
    let hs = hall.next().await;
    assert_eq!(hs["rooms"].as_array().map(Vec::len), Some(4));
    door.next().await;
    let mut b = registration(NAMES[1], "NK");
    b["patient"]["sex"] = json!("2");
    app.arrive("H1", &b).await;
    app.room("NK-03", "call-next").await;
    let frames = hall.until("call").await;
    let call = &frames.last().map(|f| f["call"].clone()).unwrap_or_default();
    assert_eq!(call["repeat"], 2);
    assert_eq!(call["text"], "请 A001号 欧阳女士 到 内科3诊室 就诊");
    let frames = door.until("call").await;
    let rooms: Vec<&Value> = frames.iter().filter(|f| f["type"] == "room").collect();
    let last = rooms
        .last()
        .map(|f| f["room"]["current"]["masked_name"].clone());
    assert_eq!(last, Some(json!("欧**娜")));
    for f in hall.close().await.iter().chain(door.close().await.iter()) {
        assert!(!f.contains(NAMES[1]));
    }
}

#[actix_web::test]
async fn unknown_screens_are_refused_with_json() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/ws/screens/NOPE"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap_or_default();
    assert_eq!(e["error"]["code"], "screen_not_found");
    let page = app
        .http
        .get(app.url("/screens/NK-HALL"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap_or_default()
        .contains("/display/screen.js"));
}

#[actix_web::test]
async fn public_screens_show_a_neutral_priority_mark_never_the_group() {
    let app = spawn_app().await;
    let mut hall = app.ws("NK-HALL").await;
    hall.next().await;
    let mut b = registration("孕妇甲某", "NK");
    b["special"] = json!(["pregnant"]);
    app.arrive("P1", &b).await;
    app.arrive("P2", &registration("普通乙某", "NK")).await;
    // One check-in changes all four rooms' "next": one `rooms` frame.
    let frames = hall.until("rooms").await;
    let rooms = &frames
        .last()
        .map(|f| f["rooms"].clone())
        .unwrap_or_default();
    assert_eq!(rooms.as_array().map(Vec::len), Some(4));
    let room = &rooms[0];
    assert_eq!(room["next"][0]["priority"], true);
    assert_eq!(room["next"][0]["masked_name"], "孕**某");
    app.room("NK-02", "call-next").await;
    let frames = hall.until("call").await;
    let current = frames
        .iter()
        .rev()
        .find(|f| f["type"] == "room" && f["room"]["code"] == "NK-02")
        .map(|f| f["room"]["current"].clone())
        .unwrap_or_default();
    assert_eq!(current["priority"], true);
    // Staff see the group (特殊人群提醒); the public never does.
    let q = app.get_json("/api/v1/registrations/P1").await;
    assert_eq!(q["special"], json!(["pregnant"]));
    for f in hall.close().await {
        for word in ["pregnant", "孕妇", "孕妇甲某"] {
            assert!(!f.contains(word), "a public frame says {word}: {f}");
        }
    }
}

#[actix_web::test]
async fn a_notice_reaches_its_screens_at_once_and_stays_in_their_snapshots() {
    let app = spawn_app().await;
    let mut hall = app.ws("NK-HALL").await;
    let mut other = app.ws("WK-HALL").await;
    let s1 = hall.next().await["seq"].as_u64().unwrap_or(0);
    let s2 = other.next().await["seq"].as_u64().unwrap_or(0);
    let r = app
        .http
        .post(app.url("/api/v1/notices"))
        .json(&json!({"text": "今日下午内科王建国主任停诊", "level": "urgent", "screens": ["NK-HALL"]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let n: Value = r.json().await.unwrap_or_default();
    let f = hall.next().await;
    assert_eq!(f["type"], "notice");
    assert_eq!(f["seq"].as_u64(), Some(s1 + 1));
    assert_eq!(f["notice"]["text"], "今日下午内科王建国主任停诊");
    // Every screen: a second notice without `screens`.
    let r = app
        .http
        .post(app.url("/api/v1/notices"))
        .json(&json!({"text": "请保持安静"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    let f = other.next().await;
    assert_eq!(
        f["seq"].as_u64(),
        Some(s2 + 1),
        "WK-HALL only gets the hospital-wide notice"
    );
    assert_eq!(f["notice"]["text"], "请保持安静");
    // A reconnecting screen sees the active notices in its snapshot.
    let mut again = app.ws("NK-HALL").await;
    let snap = again.next().await;
    assert_eq!(snap["notices"].as_array().map(Vec::len), Some(2));
    // Withdrawn: gone from screens and snapshots.
    let id = n["id"].as_i64().unwrap_or(0);
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/notices/{id}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    let f = again.until("notice_withdrawn").await;
    assert_eq!(f.last().map(|x| x["notice_id"].clone()), Some(json!(id)));
    let mut third = app.ws("NK-HALL").await;
    assert_eq!(
        third.next().await["notices"].as_array().map(Vec::len),
        Some(1)
    );
    // Bad notices change nothing.
    let before = app.dump().await;
    for bad in [
        json!({"text": ""}),
        json!({"text": "x", "screens": ["NOPE"]}),
        json!({"text": "x", "level": "loud"}),
    ] {
        let r = app
            .http
            .post(app.url("/api/v1/notices"))
            .json(&bad)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 422, "{bad}");
    }
    assert_eq!(app.dump().await, before);
}

#[actix_web::test]
async fn screens_without_a_chinese_voice_get_audio_from_the_server() {
    let app = spawn_app().await;
    let text = "请 A001号 张先生 到 内科2诊室 就诊";
    let r = app
        .http
        .get(app.url("/api/v1/voice"))
        .query(&[("text", text)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/wav");
    // espeak-ng is on this server (the test command installs it, the
    // package recommends it): the call is spoken, not a chime.
    let source = r.headers()["x-triage-voice"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(source, "espeak-ng", "server speech, not the chime");
    let wav = r.bytes().await.unwrap_or_default();
    let speech = Wav::parse(&wav).unwrap_or_else(|| panic!("not a WAV file"));
    // About fifteen syllables of Mandarin: seconds of sound, not silence.
    assert!(
        (1.5..20.0).contains(&speech.seconds()),
        "{} s of audio",
        speech.seconds()
    );
    assert!(speech.loudness() > 500.0, "loudness {}", speech.loudness());
    // A longer call takes longer to say.
    let longer = app
        .http
        .get(app.url("/api/v1/voice"))
        .query(&[(
            "text",
            "请 A001号 张先生 到 内科2诊室 就诊，请 A002号 李女士 准备",
        )])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .await
        .unwrap_or_default();
    let longer = Wav::parse(&longer).unwrap_or_else(|| panic!("not a WAV file"));
    assert!(longer.seconds() > speech.seconds() + 0.5);
    // Only announcement-like text.
    for bad in ["", "<script>", &"长".repeat(200)] {
        let r = app
            .http
            .get(app.url("/api/v1/voice"))
            .query(&[("text", bad)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status(), 422, "{bad}");
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], "invalid_voice_text");
    }
}

/// Pages and answers carry the security headers: a content security policy
/// without inline script, no framing, no sniffing, no referrer.
#[actix_web::test]
async fn pages_send_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/screens/NK-HALL",
        "/display/screen.js",
        "/api/v1/rooms",
    ] {
        let r = app
            .http
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(r.status(), 200, "{path}");
        let h = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
    }
}

/// A client that announces a frame larger than a screen ever sends is cut
/// off at once: the server does not wait for (or buffer) the payload.
#[actix_web::test]
async fn a_frame_claiming_more_than_the_maximum_size_closes_the_socket_at_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    tcp.write_all(
        b"GET /ws/screens/NK-HALL HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
          Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap_or_else(|e| panic!("handshake: {e}"));
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tcp.read(&mut buf).await.unwrap_or(0);
        assert!(n > 0, "no handshake answer");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    // A masked text frame announcing 1 GiB, and nothing after it.
    let mut frame = vec![0x81, 0x80 | 127];
    frame.extend_from_slice(&(1u64 << 30).to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    tcp.write_all(&frame)
        .await
        .unwrap_or_else(|e| panic!("frame: {e}"));
    // The server closes the connection: reads end (EOF or reset) within 2 s.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue, // the snapshot, a close frame
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the socket stayed open after an oversized frame"
    );
}

/// A screen socket opens from this server's own pages, from a configured
/// origin, or from a client that is no browser (no `Origin`); a page of
/// another site gets 403 `origin_not_allowed` and no data.
#[actix_web::test]
async fn screen_sockets_refuse_pages_of_other_sites() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut hospital = triage::config::Hospital::demo();
    hospital.allowed_origins = vec!["http://kiosk.example:8080".into()];
    let app = crate::common::spawn_app_with(hospital, 2).await;
    let url = format!("ws://127.0.0.1:{}/ws/screens/NK-HALL", app.port);
    let open = |origin: Option<String>| {
        let url = url.clone();
        async move {
            let mut request = url
                .into_client_request()
                .unwrap_or_else(|e| panic!("request: {e}"));
            if let Some(o) = origin {
                request
                    .headers_mut()
                    .insert("Origin", o.parse().unwrap_or_else(|e| panic!("{e}")));
            }
            tokio_tungstenite::connect_async(request).await
        }
    };
    let own = format!("http://127.0.0.1:{}", app.port);
    for origin in [
        None,
        Some(own),
        Some("http://KIOSK.example:8080/".to_string()),
    ] {
        let (mut ws, _) = open(origin.clone())
            .await
            .unwrap_or_else(|e| panic!("{origin:?} refused: {e}"));
        let first = futures_util::StreamExt::next(&mut ws).await;
        assert!(matches!(first, Some(Ok(_))), "{origin:?}: no snapshot");
    }
    match open(Some("http://evil.example".into())).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), 403);
            let body = r.body().clone().unwrap_or_default();
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            assert_eq!(v["error"]["code"], "origin_not_allowed");
        }
        other => panic!("a foreign origin was let in: {:?}", other.map(|_| ())),
    }
}

#[actix_web::test]
async fn a_notice_with_a_start_and_an_end_shows_only_between_them_also_after_a_restart() {
    let app = spawn_app().await;
    let post = |body: Value| {
        let req = app.http.post(app.url("/api/v1/notices")).json(&body);
        async move { req.send().await.unwrap_or_else(|e| panic!("{e}")) }
    };
    let now = app.now();
    let at = |ms: i64| (now + chrono::Duration::milliseconds(ms)).to_rfc3339();
    let (start, end) = (10 * 60_000, 20 * 60_000);
    // Bad windows change nothing.
    let before = app.dump().await;
    for (bad, code) in [
        (
            json!({"text": "x", "starts_at": at(91 * 86_400_000)}),
            "invalid_notice_start",
        ),
        (
            json!({"text": "x", "starts_at": at(5_000), "expires_at": at(4_000)}),
            "invalid_expiry",
        ),
        (
            json!({"text": "x", "starts_at": "tomorrow"}),
            "invalid_field",
        ),
    ] {
        let r = post(bad.clone()).await;
        assert_eq!(r.status(), 422, "{bad}");
        let e: Value = r.json().await.unwrap_or_default();
        assert_eq!(e["error"]["code"], code, "{bad}");
    }
    assert_eq!(app.dump().await, before);

    let r = post(json!({"text": "14:00起内科停诊", "screens": ["NK-HALL"],
        "starts_at": at(start), "expires_at": at(end)}))
    .await;
    assert_eq!(r.status(), 201);
    let n: Value = r.json().await.unwrap_or_default();
    assert_eq!(n["state"], "scheduled");
    let id = n["id"].clone();
    // Before its start: listed for staff as scheduled, on no screen.
    let list = app.get_json("/api/v1/notices").await;
    assert_eq!(list["notices"][0]["state"], "scheduled");
    assert_eq!(app.ws("NK-HALL").await.next().await["notices"], json!([]));
    // A restart keeps it scheduled.
    let again = app.restarted().await;
    let list = again.get_json("/api/v1/notices").await;
    assert_eq!(list["notices"][0]["id"], id);
    assert_eq!(list["notices"][0]["state"], "scheduled");
    let mut hall = again.ws("NK-HALL").await;
    assert_eq!(hall.next().await["notices"], json!([]));
    // Not before its start, however long the screen waits.
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(2_500), hall.next())
            .await
            .is_err(),
        "shown before its start"
    );
    // Its start comes: the server's clock tick sends it to the screen.
    again.advance(chrono::Duration::minutes(10));
    let f = hall.next_within(std::time::Duration::from_secs(5)).await;
    assert_eq!(f["type"], "notice");
    assert_eq!(f["notice"]["id"], id);
    assert!(
        again.now() >= now + chrono::Duration::milliseconds(start),
        "shown before its start"
    );
    assert_eq!(
        again.get_json("/api/v1/notices").await["notices"][0]["state"],
        "showing"
    );
    let snap = again.ws("NK-HALL").await.next().await;
    assert_eq!(snap["notices"][0]["id"], id);
    // Its end comes: taken off the screen and the list.
    again.advance(chrono::Duration::minutes(10));
    let f = hall.until("notice_withdrawn").await;
    assert_eq!(f.last().map(|x| x["notice_id"].clone()), Some(id));
    assert!(
        again.now() >= now + chrono::Duration::milliseconds(end),
        "withdrawn before its end"
    );
    assert_eq!(
        again.get_json("/api/v1/notices").await["notices"],
        json!([])
    );
    assert_eq!(again.ws("NK-HALL").await.next().await["notices"], json!([]));
}

/// A PCM WAV file's format and samples (16-bit), enough to tell speech
/// from silence or a chime.
struct Wav {
    rate: u32,
    channels: u16,
    samples: Vec<i16>,
}

impl Wav {
    fn parse(b: &[u8]) -> Option<Wav> {
        if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
            return None;
        }
        let (mut at, mut fmt, mut data) = (12, None, None);
        while at + 8 <= b.len() {
            let id = &b[at..at + 4];
            let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().ok()?) as usize;
            let body = b.get(at + 8..(at + 8 + len).min(b.len()))?;
            match id {
                b"fmt " => fmt = Some(body),
                b"data" => data = Some(body),
                _ => {}
            }
            at += 8 + len + (len % 2);
        }
        let fmt = fmt?;
        let bits = u16::from_le_bytes(fmt.get(14..16)?.try_into().ok()?);
        if bits != 16 {
            return None;
        }
        Some(Wav {
            channels: u16::from_le_bytes(fmt.get(2..4)?.try_into().ok()?),
            rate: u32::from_le_bytes(fmt.get(4..8)?.try_into().ok()?),
            samples: data?
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect(),
        })
    }

    fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.rate.max(1)) / f64::from(self.channels.max(1))
    }

    /// The root mean square of the samples.
    fn loudness(&self) -> f64 {
        let n = self.samples.len().max(1) as f64;
        (self
            .samples
            .iter()
            .map(|&s| f64::from(s).powi(2))
            .sum::<f64>()
            / n)
            .sqrt()
    }
}
