//! The HIS integration guide's Python client (`docs/his-integration.md`,
//! section 三), taken from the document as it is and run with python3
//! against a real server for every interface the guide shows, unsigned and
//! signed: what the guide says each call answers is what it answers.

use serde_json::Value;
use triage::auth::accounts::{self, NewClient};
use triage::auth::policy::Scope;

use crate::common::{note_secret, spawn_app};

/// The guide's client: the first python block after its heading.
fn guide_client() -> String {
    let doc = include_str!("../../docs/his-integration.md");
    let after = doc
        .split("## 三、Python 客户端")
        .nth(1)
        .unwrap_or_else(|| panic!("the guide has no client section"));
    after
        .split("```python\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .unwrap_or_else(|| panic!("no python block"))
        .to_string()
}

const DRIVER: &str = r#"
import json, sys, base64
from his_client import Triage, TriageError
base, key, signed_key, tomorrow = sys.argv[1:5]
out = {}
def run(name, client, method, path, payload=None):
    try:
        status, body = client.call(method, path, payload)
        out[name] = {"status": status, "body": body}
    except TriageError as e:
        out[name] = {"status": e.status, "code": e.code, "field": e.field}
T = Triage(base, key)
S = Triage(base, signed_key, signed=True)
reg = {"patient": {"id": "P0012345", "name": "张三丰", "sex": "1", "birth_date": "1950-03-04"},
       "department_code": "NK", "visit_type": "first", "registered_at": "2026-11-30T08:01:00+08:00"}
run("register", T, "PUT", "/api/v1/registrations/G1", reg)
run("register_again", T, "PUT", "/api/v1/registrations/G1", reg)
run("register_signed", S, "PUT", "/api/v1/registrations/G2", dict(reg, patient=dict(reg["patient"], id="P2")))
bad = dict(reg, patient=dict(reg["patient"], sex="x"))
run("register_bad", T, "PUT", "/api/v1/registrations/G3", bad)
run("check_in", T, "POST", "/api/v1/registrations/G1/check-in")
run("check_in_again", T, "POST", "/api/v1/registrations/G1/check-in")
run("doctors", T, "PUT", "/api/v1/doctors", {"doctors": [
    {"code": "D1001", "name": "王建国", "department_code": "NK", "title": "231", "introduction": "心血管内科"}]})
run("integrity", S, "GET", "/api/v1/doctors/integrity")
run("schedule", T, "PUT", "/api/v1/schedules/" + tomorrow, {"entries": [
    {"session": "am", "room_code": "NK-01", "doctor_code": "D1001", "patient_limit": 40}]})
png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()
result = {"visit_no": "G1", "item_code": "CT-HEAD", "item_name": "头颅CT平扫", "findings": "……",
          "conclusion": "未见明显异常。", "reporter": "D2001", "reported_at": "2026-11-30T10:20:00+08:00",
          "status": "final", "images": [{"mime": "image/png", "title": "轴位", "data": png}]}
run("result", S, "PUT", "/api/v1/results/CT-1", result)
run("result_again", T, "PUT", "/api/v1/results/CT-1", result)
run("results", T, "GET", "/api/v1/results?visit_no=G1")
run("indicators", T, "GET", "/api/v1/stats/indicators?by=department")
appt = {"version": 1, "room_code": "NK-02", "booked_at": "2026-11-27T15:20:00+08:00",
        "slot": {"start": tomorrow + "T09:00:00+08:00", "end": tomorrow + "T09:30:00+08:00"},
        "patient": {"id": "P0012345", "name": "张三丰", "sex": "1"}}
run("appointment", T, "PUT", "/api/v1/appointments/YY1", appt)
run("appointment_moved", S, "PUT", "/api/v1/appointments/YY1", dict(appt, version=2, room_code="NK-03"))
run("appointment_late_v1", T, "PUT", "/api/v1/appointments/YY1", appt)
run("appointment_check_in", T, "POST", "/api/v1/appointments/YY1/check-in")
run("appointment_cancel", T, "DELETE", "/api/v1/appointments/YY1")
run("appointment_after_cancel", T, "PUT", "/api/v1/appointments/YY1", dict(appt, version=3))
run("cancel", T, "DELETE", "/api/v1/registrations/G2")
run("cancel_again", T, "DELETE", "/api/v1/registrations/G2")
print(json.dumps(out, ensure_ascii=False))
"#;

#[actix_web::test]
async fn the_guides_python_client_makes_every_call_it_shows() {
    let app = spawn_app().await;
    let url = app.db.url.clone();
    let signed = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        accounts::add_client(
            &mut c,
            NewClient {
                name: "his-signed".into(),
                scopes: Scope::ALL.to_vec(),
                require_signature: true,
                rate_per_minute: 10_000,
            },
            &triage::auth::store::Stamp {
                operator: "test".into(),
                source: "test".into(),
                at: chrono::Utc::now().naive_utc(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    note_secret(&signed);
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("his_client.py"), guide_client())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("driver.py"), DRIVER).unwrap_or_else(|e| panic!("{e}"));
    let tomorrow =
        (triage::engine::service_date(chrono::Utc::now()) + chrono::Duration::days(1)).to_string();
    let (base, key) = (app.base.clone(), app.his_key.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("driver.py")
            .args([&base, &key, &signed, &tomorrow])
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("python3: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let status = |k: &str| v[k]["status"].as_u64().unwrap_or(0);
    assert_eq!(
        (status("register"), &v["register"]["body"]["outcome"]),
        (201, &Value::from("created"))
    );
    assert_eq!(v["register_again"]["body"]["outcome"], "unchanged");
    assert_eq!(
        status("register_signed"),
        201,
        "the signed client: {}",
        v["register_signed"]
    );
    assert_eq!(
        (status("register_bad"), v["register_bad"]["code"].as_str()),
        (422, Some("invalid_sex"))
    );
    assert_eq!(status("check_in"), 200);
    assert!(v["check_in"]["body"]["ticket_no"].is_string());
    assert_eq!(
        status("check_in_again"),
        200,
        "a repeated check-in: {}",
        v["check_in_again"]
    );
    assert_eq!(
        v["check_in_again"]["body"]["ticket_no"],
        v["check_in"]["body"]["ticket_no"]
    );
    assert_eq!(status("doctors"), 200);
    assert_eq!(status("integrity"), 200);
    assert!(v["integrity"]["body"]["counts"].is_object());
    assert_eq!(status("schedule"), 200, "{}", v["schedule"]);
    assert_eq!(
        (status("result"), &v["result"]["body"]["outcome"]),
        (201, &Value::from("created"))
    );
    assert_eq!(v["result_again"]["body"]["outcome"], "unchanged");
    assert_eq!(
        v["results"]["body"]["reports"][0]["images"][0]["title"],
        "轴位"
    );
    assert_eq!(status("indicators"), 200);
    assert_eq!(
        (status("appointment"), &v["appointment"]["body"]["outcome"]),
        (201, &Value::from("created"))
    );
    assert_eq!(v["appointment_moved"]["body"]["outcome"], "replaced");
    assert_eq!(v["appointment_late_v1"]["body"]["outcome"], "superseded");
    // A slot of tomorrow checks in tomorrow.
    assert_eq!(
        (
            status("appointment_check_in"),
            v["appointment_check_in"]["code"].as_str()
        ),
        (409, Some("too_early"))
    );
    assert_eq!(v["appointment_cancel"]["body"]["outcome"], "cancelled");
    assert_eq!(
        v["appointment_after_cancel"]["code"].as_str(),
        Some("appointment_cancelled")
    );
    assert_eq!(status("cancel"), 200, "{}", v["cancel"]);
    assert_eq!(
        status("cancel_again"),
        200,
        "a second cancellation changes nothing: {}",
        v["cancel_again"]
    );
}
