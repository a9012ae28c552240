//! Exam results (检查结果) as an exam station sends them and staff read
//! them: images decoded, checked against their bytes and capped; every
//! version kept (an amended report keeps what it amended); the same
//! messages twice or out of order end in the same state; every refusal
//! changes nothing.

use base64::Engine as _;
use serde_json::{json, Value};
use triage::auth::policy::{Role, Scope};

use crate::common::{registration, spawn_app, TestApp};

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend((0..200u8).collect::<Vec<_>>());
    b
}

fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];
    b.extend((0..100u8).rev());
    b
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn report(status: &str, at: &str, conclusion: &str) -> Value {
    json!({
        "visit_no": "R1", "item_code": "CT-HEAD", "item_name": "头颅CT平扫",
        "findings": "脑实质未见异常密度影。", "conclusion": conclusion,
        "reporter": "D2001", "reported_at": at, "status": status,
        "images": [{"mime": "image/png", "title": "轴位", "data": b64(&png())}]
    })
}

async fn station(app: &TestApp) -> reqwest::Client {
    app.client_with_scopes("ct-station", &[Scope::Results])
        .await
}

async fn put(c: &reqwest::Client, app: &TestApp, id: &str, body: &Value) -> (u16, Value) {
    let r = c
        .put(app.url(&format!("/api/v1/results/{id}")))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, Value) {
    let r = c
        .get(app.url(path))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

#[actix_web::test]
async fn a_station_reports_and_staff_read_images_and_text_with_the_history() {
    let app = spawn_app().await;
    app.arrive("R1", &registration("吴九", "NK")).await;
    let ct = station(&app).await;

    let (s, v) = put(
        &ct,
        &app,
        "CT-001",
        &report(
            "preliminary",
            &crate::common::rfc(-9, "09:00:00"),
            "初步：未见异常",
        ),
    )
    .await;
    assert_eq!((s, v["outcome"].as_str()), (201, Some("created")), "{v}");
    assert_eq!(v["report"]["status"], "preliminary");
    let (s, v) = put(
        &ct,
        &app,
        "CT-001",
        &report(
            "final",
            &crate::common::rfc(-9, "10:00:00"),
            "头颅CT平扫未见明显异常。",
        ),
    )
    .await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("updated")), "{v}");
    // An amendment with a second image (a JPEG).
    let mut amended = report(
        "amended",
        &crate::common::rfc(-9, "15:00:00"),
        "修正：左侧基底节区腔隙灶。",
    );
    amended["images"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("images"))
        .push(json!({"mime": "image/jpeg", "title": "冠状位", "data": b64(&jpeg())}));
    let (s, v) = put(&ct, &app, "CT-001", &amended).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("updated")));

    // The department's nurse reads them as the seed asks: Base64 images
    // plus structured text, with the history.
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let (s, v) = get(&nurse, &app, "/api/v1/results?visit_no=R1").await;
    assert_eq!(s, 200, "{v}");
    let r = &v["reports"][0];
    assert_eq!(v["reports"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["report_id"], "CT-001");
    assert_eq!(r["status"], "amended");
    assert_eq!(r["conclusion"], "修正：左侧基底节区腔隙灶。");
    assert_eq!(r["item_name"], "头颅CT平扫");
    assert_eq!(r["images"][0]["mime"], "image/png");
    assert_eq!(r["images"][0]["data"], b64(&png()));
    assert_eq!(r["images"][0]["bytes"], png().len());
    assert_eq!(r["images"][1]["mime"], "image/jpeg");
    assert_eq!(r["images"][1]["data"], b64(&jpeg()));
    let history: Vec<&str> = r["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|x| x["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(history, ["preliminary", "final", "amended"]);
    assert_eq!(
        r["history"][1]["conclusion"], "头颅CT平扫未见明显异常。",
        "the amended final is kept"
    );
    let (s, one) = get(&nurse, &app, "/api/v1/results/CT-001").await;
    assert_eq!((s, &one), (200, r));

    // Another department's nurse may not; an unknown report or visit is 404.
    let other = app.staff("N0100", Role::Nurse, &["WK"]).await;
    assert_eq!(
        get(&other, &app, "/api/v1/results?visit_no=R1").await.0,
        403
    );
    assert_eq!(get(&other, &app, "/api/v1/results/CT-001").await.0, 403);
    let (s, v) = get(&nurse, &app, "/api/v1/results/NOPE").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("report_not_found"))
    );
    let (s, v) = get(&nurse, &app, "/api/v1/results?visit_no=NOPE").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("visit_not_found"))
    );
    let (s, v) = get(&nurse, &app, "/api/v1/results").await;
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("missing_field"), Some("visit_no"))
    );
    // A station may not write doctors, a nurse may not write results.
    let (s, _) = put(
        &nurse,
        &app,
        "CT-002",
        &report("final", &crate::common::rfc(-9, "10:00:00"), "x"),
    )
    .await;
    assert_eq!(s, 403);
    // Stored with its audit record (no names in it).
    let stored = app.events("result_stored").await;
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[2]["status"], "amended");
    assert_eq!(stored[2]["images"], 2);
}

#[actix_web::test]
async fn bad_images_and_fields_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.arrive("R1", &registration("郑十", "NK")).await;
    let ct = station(&app).await;
    let good = report("final", &crate::common::rfc(-9, "10:00:00"), "未见异常");
    let with_image = |mime: &str, data: String| {
        let mut b = good.clone();
        b["images"] = json!([{"mime": mime, "data": data}]);
        b
    };
    let mut big = png();
    big.resize(4 * 1024 * 1024 + 1, 0);
    let mut too_many = good.clone();
    too_many["images"] = json!((0..9)
        .map(|_| json!({"mime": "image/png", "data": b64(&png())}))
        .collect::<Vec<_>>());
    let mut cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with_image("image/png", "not base64 at all!".into()),
            422,
            "invalid_image",
            "images[0].data",
        ),
        (
            with_image("image/png", b64(&jpeg())),
            422,
            "invalid_image",
            "images[0].mime",
        ),
        (
            with_image("image/gif", b64(b"GIF89a......")),
            422,
            "invalid_image",
            "images[0].mime",
        ),
        (
            with_image("image/png", b64(b"hello, not an image")),
            422,
            "invalid_image",
            "images[0].mime",
        ),
        (
            with_image("image/png", b64(&big)),
            422,
            "invalid_image",
            "images[0].data",
        ),
        (too_many, 422, "invalid_image", "images"),
    ];
    for (field, value) in [
        ("item_code", json!("")),
        ("item_name", json!("x".repeat(65))),
        ("reporter", json!("")),
        ("conclusion", json!("字".repeat(5001))),
    ] {
        let mut b = good.clone();
        b[field] = value;
        cases.push((b, 422, "invalid_field", field));
    }
    let mut b = good.clone();
    b["status"] = json!("draft");
    cases.push((b, 422, "invalid_field", "status"));
    let mut b = good.clone();
    b["colour"] = json!("red");
    cases.push((b, 422, "unknown_field", "colour"));
    let mut b = good.clone();
    b["visit_no"] = json!("NOBODY");
    cases.push((b, 404, "visit_not_found", ""));
    let mut b = good.clone();
    b["visit_no"] = json!("bad visit!");
    cases.push((b, 422, "invalid_visit_no", "visit_no"));
    let before = app.dump().await;
    for (body, status, code, field) in &cases {
        let (s, v) = put(&ct, &app, "CT-9", body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (*status, Some(*code)),
            "{v}"
        );
        if !field.is_empty() {
            assert_eq!(v["error"]["field"].as_str(), Some(*field), "{v}");
        }
    }
    let (s, v) = put(&ct, &app, "bad id!", &good).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
    assert_eq!(app.dump().await, before, "a refused report stored nothing");

    // A report id belongs to one visit.
    assert_eq!(put(&ct, &app, "CT-9", &good).await.0, 201);
    app.arrive("R2", &registration("王十一", "NK")).await;
    let mut elsewhere = good.clone();
    elsewhere["visit_no"] = json!("R2");
    let (s, v) = put(&ct, &app, "CT-9", &elsewhere).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (422, Some("visit_no")),
        "{v}"
    );
}

#[actix_web::test]
async fn the_same_messages_twice_or_out_of_order_end_in_the_same_state() {
    let messages = [
        report("preliminary", &crate::common::rfc(-9, "09:00:00"), "初步"),
        report("final", &crate::common::rfc(-9, "10:00:00"), "正式"),
        report("amended", &crate::common::rfc(-9, "15:00:00"), "修正"),
    ];
    let mut states = Vec::new();
    for order in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
        let app = spawn_app().await;
        app.arrive("R1", &registration("冯十二", "NK")).await;
        let ct = station(&app).await;
        for round in 0..2 {
            for i in order {
                let (s, v) = put(&ct, &app, "CT-7", &messages[i]).await;
                assert!(s == 200 || s == 201, "{v}");
                if round == 1 {
                    assert_eq!(v["outcome"], "unchanged", "a repeat changes nothing");
                }
            }
        }
        let (_, v) = get(&app.http, &app, "/api/v1/results?visit_no=R1").await;
        let mut r = v["reports"][0].clone();
        for h in r["history"].as_array_mut().into_iter().flatten() {
            h["received_at"] = Value::Null;
        }
        assert_eq!(r["conclusion"], "修正");
        states.push(r);
    }
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0], states[2]);
    // Arriving after the amendment, the final one was kept as history.
    let app = spawn_app().await;
    app.arrive("R1", &registration("陈十三", "NK")).await;
    let ct = station(&app).await;
    assert_eq!(
        put(&ct, &app, "CT-8", &messages[2]).await.1["outcome"],
        "created"
    );
    let (_, v) = put(&ct, &app, "CT-8", &messages[1]).await;
    assert_eq!(v["outcome"], "superseded");
    assert_eq!(v["report"]["status"], "amended");
}
