//! Doctor master data in bulk (HIS's sync) and the integrity report:
//! every entry checked before any is stored, GB/T 8561 title codes shown as
//! their names, the door screens updated, and the report's counts and list
//! from the API and from `triage doctors check`.

use std::ffi::OsStr;

use serde_json::{json, Value};

use crate::common::{spawn_app, triage_cli, TestApp};

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async fn put_all(app: &TestApp, body: &Value) -> (u16, Value) {
    let r = app
        .his()
        .put(app.url("/api/v1/doctors"))
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

#[actix_web::test]
async fn his_sends_every_doctor_at_once_and_the_doors_follow() {
    let app = spawn_app().await;
    let mut door = app.ws("NK-02-DOOR").await;
    assert_eq!(door.next().await["type"], "snapshot");
    let all = json!({"doctors": [
        {"code": "D1002", "name": "李秀梅", "department_code": "NK", "title": "231", "introduction": "内分泌专家", "photo": PNG},
        {"code": "D9001", "name": "新医生", "department_code": "WK", "title": "主治医师"}
    ]});
    let (s, v) = put_all(&app, &all).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["created"].as_u64(), v["replaced"].as_u64()),
        (Some(1), Some(1))
    );
    // The GB/T 8561 code 231 is shown as 主任医师, on the door at once.
    let room = app.get_json("/api/v1/rooms/NK-02").await;
    assert_eq!(room["doctor"]["title"], "主任医师");
    let mut saw = false;
    for _ in 0..5 {
        let f = door.next().await;
        if f.to_string().contains("主任医师") {
            saw = true;
            break;
        }
    }
    assert!(saw, "the door screen shows the new title");
    assert_eq!(
        app.get_json("/api/v1/doctors/D9001").await["department_code"],
        "WK"
    );
    // The same again changes nothing (a sync delivered twice).
    let before = app.dump().await;
    let (_, v) = put_all(&app, &all).await;
    assert_eq!(
        (
            v["created"].as_u64(),
            v["replaced"].as_u64(),
            v["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(2))
    );
    assert_eq!(app.dump().await, before, "a repeated sync changed nothing");

    // One bad entry refuses the whole update, naming it.
    let before = app.dump().await;
    for (body, code, field) in [
        (
            json!({"doctors": [{"code": "D1002", "name": "李秀梅", "department_code": "NK"}, {"code": "D9002", "name": "", "department_code": "NK"}]}),
            "invalid_doctor_name",
            "doctors[1].name",
        ),
        (
            json!({"doctors": [{"code": "D9003", "name": "甲", "department_code": "XX"}]}),
            "unknown_department",
            "doctors[0].department_code",
        ),
        (
            json!({"doctors": [{"code": "D9004", "name": "乙", "department_code": "NK", "photo": "not base64"}]}),
            "invalid_photo",
            "doctors[0].photo",
        ),
        (
            json!({"doctors": [{"code": "bad code!", "name": "丙", "department_code": "NK"}]}),
            "invalid_doctor_code",
            "doctors[0].code",
        ),
        (
            json!({"doctors": [{"code": "D9005", "name": "丁", "department_code": "NK"}, {"code": "D9005", "name": "丁", "department_code": "NK"}]}),
            "invalid_field",
            "doctors[1].code",
        ),
    ] {
        let (s, v) = put_all(&app, &body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (422, Some(code), Some(field)),
            "{v}"
        );
    }
    assert_eq!(
        app.dump().await,
        before,
        "a refused bulk update changed nothing"
    );
    // Only HIS with master_data (or an administrator).
    let nurse = app
        .staff("N0042", triage::auth::policy::Role::Nurse, &["NK"])
        .await;
    let r = nurse
        .put(app.url("/api/v1/doctors"))
        .json(&all)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 403);
}

#[actix_web::test]
async fn the_integrity_report_counts_and_lists_what_to_fix() {
    let app = spawn_app().await;
    // Two same-named doctors in NK, one without title or introduction.
    let (s, v) = put_all(
        &app,
        &json!({"doctors": [
            {"code": "D9101", "name": "王强", "department_code": "NK", "title": "医师", "introduction": "全科", "photo": PNG},
            {"code": "D9102", "name": "王强", "department_code": "NK", "photo": PNG}
        ]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let r = app.get_json("/api/v1/doctors/integrity").await;
    let doctors = r["doctors"].as_u64().unwrap_or(0);
    let listed = |kind: &str| -> Vec<String> {
        r["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|x| x["kind"] == kind)
                    .filter_map(|x| x["doctor_code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(listed("duplicate_name"), ["D9101", "D9102"]);
    assert!(listed("missing_title").contains(&"D9102".to_string()));
    assert!(listed("missing_introduction").contains(&"D9102".to_string()));
    assert!(!listed("missing_photo").contains(&"D9101".to_string()));
    for kind in [
        "room_doctor_unknown",
        "unknown_department",
        "duplicate_name",
        "missing_title",
        "missing_photo",
        "missing_introduction",
    ] {
        assert_eq!(
            r["counts"][kind].as_u64(),
            Some(listed(kind).len() as u64),
            "count of {kind}"
        );
    }
    // The same from the command line, which also keeps the report.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = include_str!("../../config/demo-hospital.toml").replace(
        "reports_dir = \"data/reports\"",
        &format!("reports_dir = {:?}", dir.path().display().to_string()),
    );
    let config = dir.path().join("hospital.toml");
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let (code, out) = triage_cli(
        &[
            OsStr::new("doctors"),
            OsStr::new("check"),
            OsStr::new("--database-url"),
            OsStr::new(&app.db.url),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &[],
    );
    assert_eq!(code, 1, "findings exit 1: {out}");
    assert!(out.starts_with(&format!("{doctors} doctors, ")), "{out}");
    assert!(out.contains("duplicate_name         2"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("duplicate_name") && l.contains("D9102")),
        "{out}"
    );
    let kept = std::fs::read_dir(dir.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("doctors-integrity-")
        });
    assert!(kept, "the report is kept");
}

#[actix_web::test]
async fn a_doctors_sex_and_duty_status_are_kept_and_the_door_screen_shows_stopped_at_once() {
    let app = spawn_app().await;
    let mut door = app.ws("NK-02-DOOR").await;
    let snap = door.next().await;
    assert_eq!(snap["rooms"][0]["doctor"]["on_duty"], true);
    // The nurse's console reads the room's label as the screens do.
    let mut console = app
        .staff_socket("N-NK", triage::auth::policy::Role::Nurse, &["NK"], "")
        .await;
    let label_of = |frame: &serde_json::Value| {
        frame["rooms"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["code"] == "NK-02"))
            .map(|r| r["status_label"].clone())
    };
    assert_eq!(label_of(&console.next().await), Some(json!("等待叫号")));
    let r = app
        .http
        .put(app.url("/api/v1/doctors/D1002"))
        .json(&json!({"name": "李秀梅", "department_code": "NK", "title": "232", "sex": "女", "duty_status": "停诊"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    // The door screen shows it at once.
    let mut frame = door.next().await;
    while frame["type"] != "room" {
        frame = door.next().await;
    }
    assert_eq!(frame["room"]["doctor"]["on_duty"], false, "{frame}");
    assert_eq!(frame["room"]["status_label"], "停诊", "{frame}");
    // Within a few frames (a heartbeat may come first).
    let mut update = console.next().await;
    for _ in 0..5 {
        if update["type"] == "room" {
            break;
        }
        update = console.next().await;
    }
    assert_eq!(update["room"]["code"], "NK-02", "{update}");
    assert_eq!(update["room"]["status_label"], "停诊", "{update}");
    let d = app.get_json("/api/v1/doctors/D1002").await;
    assert_eq!(
        (d["sex"].as_str(), d["duty_status"].as_str()),
        (Some("2"), Some("off_duty")),
        "{d}"
    );
    // Back on duty; bad values change nothing.
    let r = app
        .http
        .put(app.url("/api/v1/doctors/D1002"))
        .json(&json!({"name": "李秀梅", "department_code": "NK", "title": "232", "sex": 2, "duty_status": "on_duty"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_json("/api/v1/rooms/NK-02").await["doctor"]["on_duty"],
        true
    );
    let before = app.dump().await;
    for (body, field) in [
        (
            json!({"name": "李秀梅", "department_code": "NK", "duty_status": "holiday"}),
            "duty_status",
        ),
        (
            json!({"name": "李秀梅", "department_code": "NK", "sex": "x"}),
            "sex",
        ),
    ] {
        let (s, v) = put_all(&app, &json!({"doctors": [{"code": "D1002", "name": body["name"], "department_code": "NK", field: body[field]}]})).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some(format!("doctors[0].{field}").as_str())),
            "{v}"
        );
    }
    assert_eq!(app.dump().await, before);
}
