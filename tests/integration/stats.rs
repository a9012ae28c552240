//! Workload statistics and the outpatient indicators over a day of visits
//! whose waits and service times the test knows (stored as the server
//! stores them), as JSON and as CSV for Excel; who may see which
//! departments; every bad parameter refused.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use triage::auth::policy::Role;
use triage::db::schema::visits;

use crate::common::{spawn_app, TestApp};

/// The known day: the Friday 19 days before the named Wednesday.
fn day() -> String {
    crate::common::service_day(-19).to_string()
}

fn t(hm: &str) -> NaiveDateTime {
    // Beijing time of the known day, stored in UTC.
    NaiveDateTime::parse_from_str(&format!("{} {hm}", day()), "%Y-%m-%d %H:%M")
        .map(|x| x - chrono::Duration::hours(8))
        .unwrap_or_default()
}

struct V {
    no: &'static str,
    dept: &'static str,
    room: Option<&'static str>,
    performer: Option<&'static str>,
    items: &'static str,
    status: &'static str,
    appointment: Option<&'static str>,
    checked: &'static str,
    called: Option<&'static str>,
    finished: Option<&'static str>,
    calls: i32,
}

/// Six visits of one day: NK's two doctors, a no-show, one still with the
/// doctor, and one in surgery.
async fn a_known_day(app: &TestApp) {
    let day = [
        V {
            no: "S1",
            dept: "NK",
            room: Some("NK-01"),
            performer: Some("D1001"),
            items: r#"[{"code":"XRAY","name":"胸片"}]"#,
            status: "finished",
            appointment: Some("08:05"),
            checked: "08:00",
            called: Some("08:10"),
            finished: Some("08:20"),
            calls: 1,
        },
        V {
            no: "S2",
            dept: "NK",
            room: Some("NK-01"),
            performer: Some("D1001"),
            items: "[]",
            status: "finished",
            appointment: None,
            checked: "08:00",
            called: Some("08:30"),
            finished: Some("08:36"),
            calls: 2,
        },
        V {
            no: "S3",
            dept: "NK",
            room: Some("NK-02"),
            performer: Some("D1002"),
            items: r#"[{"code":"XRAY","name":"胸片"},{"code":"CT","name":"CT"}]"#,
            status: "finished",
            appointment: None,
            checked: "08:15",
            called: Some("08:45"),
            finished: Some("09:15"),
            calls: 1,
        },
        V {
            no: "S4",
            dept: "NK",
            room: None,
            performer: None,
            items: "[]",
            status: "no_show",
            appointment: None,
            checked: "09:00",
            called: None,
            finished: None,
            calls: 0,
        },
        V {
            no: "S5",
            dept: "NK",
            room: Some("NK-02"),
            performer: None,
            items: "[]",
            status: "called",
            appointment: None,
            checked: "09:00",
            called: Some("09:20"),
            finished: None,
            calls: 1,
        },
        V {
            no: "S6",
            dept: "WK",
            room: Some("WK-01"),
            performer: Some("D2001"),
            items: "[]",
            status: "finished",
            appointment: Some("08:00"),
            checked: "08:10",
            called: Some("08:20"),
            finished: Some("08:30"),
            calls: 1,
        },
    ];
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_raw(&url).unwrap_or_else(|e| panic!("{e}"));
        for v in day {
            diesel::insert_into(visits::table)
                .values((
                    visits::visit_no.eq(v.no),
                    visits::patient_id.eq(format!("P-{}", v.no)),
                    visits::patient_name.eq("统计"),
                    visits::sex.eq("1"),
                    visits::department_code.eq(v.dept),
                    visits::visit_type.eq("first"),
                    visits::registered_at.eq(t(v.checked)),
                    visits::special.eq("[]"),
                    visits::exam_items.eq(v.items),
                    visits::body.eq("{}"),
                    visits::status.eq(v.status),
                    visits::tags.eq("[]"),
                    visits::call_count.eq(v.calls),
                    visits::created_at.eq(t(v.checked)),
                    visits::updated_at.eq(t(v.checked)),
                    visits::miss_count.eq(0),
                    visits::held.eq(false),
                    visits::special_staff.eq("{}"),
                    visits::service_date.eq(self::day()),
                    visits::room_code.eq(v.room),
                    visits::performer.eq(v.performer),
                    visits::appointment_start.eq(v.appointment.map(t)),
                    visits::checked_in_at.eq(t(v.checked)),
                    visits::called_at.eq(v.called.map(t)),
                    visits::finished_at.eq(v.finished.map(t)),
                ))
                .execute(&mut c)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn get(c: &reqwest::Client, app: &TestApp, q: &str) -> (u16, Value) {
    let r = c
        .get(app.url(q))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

fn group<'a>(v: &'a Value, dim: &str, key: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|x| x["key"][dim] == key))
        .unwrap_or_else(|| panic!("no group {dim}={key} in {v}"))
}

#[actix_web::test]
async fn the_figures_are_those_of_the_day_by_performer_item_and_hour() {
    let app = spawn_app().await;
    a_known_day(&app).await;
    let q = format!(
        "/api/v1/stats/workload?from={day}&to={day}&group_by=performer",
        day = day()
    );
    let (s, v) = get(&app.http, &app, &q).await;
    assert_eq!(s, 200, "{v}");
    let d = group(&v, "performer", "D1001");
    // Waits 10 and 30 minutes; services 10 and 6; one repeated call.
    assert_eq!(
        (
            d["visits"].as_u64(),
            d["called"].as_u64(),
            d["finished"].as_u64(),
            d["recalls"].as_u64()
        ),
        (Some(2), Some(2), Some(2), Some(1))
    );
    assert_eq!(d["wait_minutes"]["mean"], 20.0);
    assert_eq!(d["wait_minutes"]["median"], 20.0);
    assert_eq!(d["wait_minutes"]["p90"], 30.0);
    assert_eq!(d["service_minutes"]["mean"], 8.0);
    assert_eq!(d["service_minutes"]["p90"], 10.0);
    let total = &v["total"];
    assert_eq!(
        (
            total["visits"].as_u64(),
            total["called"].as_u64(),
            total["finished"].as_u64(),
            total["no_shows"].as_u64()
        ),
        (Some(6), Some(5), Some(4), Some(1))
    );
    // Waits 10, 30, 30, 20, 10: mean 20, median 20, p90 30.
    assert_eq!(total["wait_minutes"]["n"], 5);
    assert_eq!(total["wait_minutes"]["mean"], 20.0);
    assert_eq!(total["wait_minutes"]["median"], 20.0);
    // Services 10, 6, 30, 10: mean 14, median 10.
    assert_eq!(total["service_minutes"]["mean"], 14.0);
    assert_eq!(total["service_minutes"]["median"], 10.0);

    // By exam item (S3 counts under both of its items) and by hour.
    let (_, v) = get(
        &app.http,
        &app,
        &format!(
            "/api/v1/stats/workload?from={day}&group_by=exam_item,department",
            day = day()
        ),
    )
    .await;
    let xray = v["groups"]
        .as_array()
        .map(|g| g.iter().filter(|x| x["key"]["exam_item"] == "XRAY").count());
    assert_eq!(xray, Some(1));
    let x = group(&v, "exam_item", "XRAY");
    assert_eq!(
        (x["key"]["department"].as_str(), x["visits"].as_u64()),
        (Some("NK"), Some(2))
    );
    assert_eq!(group(&v, "exam_item", "CT")["visits"], 1);
    let (_, v) = get(
        &app.http,
        &app,
        &format!(
            "/api/v1/stats/workload?from={day}&group_by=hour",
            day = day()
        ),
    )
    .await;
    assert_eq!(
        group(&v, "hour", "08")["called"],
        4,
        "calls in the 8 o'clock hour"
    );
    assert_eq!(group(&v, "hour", "09")["called"], 1);

    // The indicators: NK 1 of 5 by appointment (20 %), its wait after the
    // appointment 5 minutes; WK 1 of 1, 10 minutes (arrived after it).
    let (s, v) = get(
        &app.http,
        &app,
        &format!(
            "/api/v1/stats/indicators?from={day}&by=department",
            day = day()
        ),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let nk = v["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|x| x["key"] == "NK"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (nk["visits"].as_u64(), nk["appointments"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(nk["appointment_rate_percent"], 20.0);
    assert_eq!(nk["mean_wait_after_appointment_minutes"], 5.0);
    let wk = v["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|x| x["key"] == "WK"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(wk["mean_wait_after_appointment_minutes"], 10.0);
    assert_eq!(v["total"]["appointment_rate_percent"], 33.33);

    // CSV for Excel: a BOM, Chinese headers, one line per group and the total.
    let r = app
        .http
        .get(app.url(&format!(
            "/api/v1/stats/workload?from={day}&group_by=performer&format=csv",
            day = day()
        )))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok()),
        Some("text/csv; charset=utf-8")
    );
    let text = r.text().await.unwrap_or_default();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        lines[0].starts_with("performer,就诊人次 visits,"),
        "{}",
        lines[0]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("D1001,2,2,2,0,1,20.00,20.00,30.00,8.00,8.00,10.00")),
        "{text}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("合计 total,6,5,4,1,")),
        "{text}"
    );
}

#[actix_web::test]
async fn staff_see_their_departments_and_bad_parameters_are_refused() {
    let app = spawn_app().await;
    a_known_day(&app).await;
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let (s, v) = get(
        &nurse,
        &app,
        &format!(
            "/api/v1/stats/workload?from={day}&group_by=department",
            day = day()
        ),
    )
    .await;
    assert_eq!(s, 200);
    let depts: Vec<&str> = v["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|x| x["key"]["department"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(depts, ["NK"], "a nurse sees her departments only");
    assert_eq!(
        get(
            &nurse,
            &app,
            &format!(
                "/api/v1/stats/workload?from={day}&department=WK",
                day = day()
            )
        )
        .await
        .0,
        403
    );
    let doctor = app.staff("D1002", Role::Doctor, &["WK-01"]).await;
    let (_, v) = get(
        &doctor,
        &app,
        &format!("/api/v1/stats/workload?from={day}", day = day()),
    )
    .await;
    assert_eq!(
        v["total"]["visits"], 1,
        "a doctor sees his rooms' departments"
    );
    assert_eq!(
        get(&app.anonymous, &app, "/api/v1/stats/workload").await.0,
        401
    );
    for (q, code, field) in [
        ("from=2026-13-01", "invalid_date", "from"),
        (
            &format!("from={}&to={}", day(), crate::common::service_day(-38)),
            "invalid_date",
            "to",
        ),
        (
            &format!("from={}&to={}", crate::common::service_day(-707), day()),
            "invalid_date",
            "to",
        ),
        ("group_by=colour", "invalid_field", "group_by"),
        ("format=xml", "invalid_field", "format"),
        ("department=XX", "unknown_department", "department"),
    ] {
        let (s, v) = get(&app.http, &app, &format!("/api/v1/stats/workload?{q}")).await;
        assert_eq!(
            (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
            (422, Some(code), Some(field)),
            "{q}: {v}"
        );
    }
    let (s, v) = get(&app.http, &app, "/api/v1/stats/indicators?by=room").await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("by")));
}

#[actix_web::test]
async fn the_wait_calibration_is_shown_to_staff_for_their_departments() {
    let app = spawn_app().await;
    let admin = &app.http;
    let (s, v) = get(admin, &app, "/api/v1/stats/wait-calibration").await;
    assert_eq!(
        (s, &v["calibration"]),
        (200, &Value::Null),
        "none before a backtest"
    );
    // As `triage wait backtest` keeps it.
    let score = |scored: usize| triage::engine::backtest::Score {
        check_ins: scored,
        scored,
        uncalled: 0,
        beyond_session: 0,
        p90_coverage: 0.92,
        p50_coverage: 0.51,
        p50_error_minutes: 4.5,
        old_error_minutes: 9.0,
    };
    let kept = triage::engine::backtest::Calibration {
        computed_at: crate::common::suite_now(),
        from: crate::common::service_day(-7),
        to: crate::common::service_day(-1),
        overall: Some(score(300)),
        departments: ["NK", "WK"]
            .iter()
            .map(|d| triage::engine::backtest::DepartmentScore {
                department: d.to_string(),
                score: score(150),
            })
            .collect(),
    };
    let json = serde_json::to_string(&kept).unwrap_or_default();
    app.engine
        .db()
        .write(move |c| {
            triage::db::waits::record_calibration(
                c,
                kept.computed_at.naive_utc(),
                &kept.from.to_string(),
                &kept.to.to_string(),
                &json,
            )
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, v) = get(admin, &app, "/api/v1/stats/wait-calibration").await;
    assert_eq!(s, 200);
    assert_eq!(v["calibration"]["overall"]["p90_coverage"], 0.92);
    assert_eq!(
        v["calibration"]["departments"].as_array().map(Vec::len),
        Some(2)
    );
    let nurse = app.staff("N0042", Role::Nurse, &["NK"]).await;
    let (_, v) = get(&nurse, &app, "/api/v1/stats/wait-calibration").await;
    let depts: Vec<&str> = v["calibration"]["departments"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["department"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(depts, ["NK"], "a nurse sees her departments only");
    assert_eq!(
        v["calibration"]["overall"],
        Value::Null,
        "not the whole hospital's"
    );
    assert_eq!(
        get(&app.anonymous, &app, "/api/v1/stats/wait-calibration")
            .await
            .0,
        401
    );
}
