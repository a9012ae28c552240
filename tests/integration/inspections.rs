//! The inspection report (巡检报告) and database maintenance (数据库维护)
//! as the on-call engineer runs them, through the `triage` command on the
//! backend of this run: the inspection's figures are those the database
//! holds; maintenance archives audit records past their retention before
//! removing them (the chain stays intact) and leaves SQLite's exclusive
//! steps to a run without a server.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::json;
use triage::config::Hospital;

use crate::common::{fresh_database, registration, spawn_app_on, triage_cli};

/// The demo configuration with its backup, report and archive directories
/// under `dir`, written there; the hospital it describes.
fn config_in(dir: &Path) -> (Hospital, PathBuf) {
    let text = include_str!("../../config/demo-hospital.toml")
        .replace(
            "dir = \"data/backups\"",
            &format!("dir = {:?}", dir.join("backups").display().to_string()),
        )
        .replace(
            "reports_dir = \"data/reports\"",
            &format!(
                "reports_dir = {:?}",
                dir.join("reports").display().to_string()
            ),
        )
        .replace(
            "archive_dir = \"data/archive\"",
            &format!(
                "archive_dir = {:?}",
                dir.join("archive").display().to_string()
            ),
        );
    let file = dir.join("hospital.toml");
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let h = Hospital::load(&file).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(h.operations.reports_dir, dir.join("reports"));
    (h, file)
}

fn cli(args: &[&str], url: &str, config: &Path) -> (i32, String) {
    cli_at(args, url, config, None)
}

/// As [`cli`], at `at` (a running server's instant: its heartbeat and the
/// command read the same clock, however long the suite has run).
fn cli_at(
    args: &[&str],
    url: &str,
    config: &Path,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> (i32, String) {
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.extend([
        OsStr::new("--database-url"),
        OsStr::new(url),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    let at = at.map(|t| t.to_rfc3339());
    let env: Vec<(&str, &str)> = at
        .as_deref()
        .map(|t| vec![("TRIAGE_CLOCK", t)])
        .unwrap_or_default();
    triage_cli(&all, &env)
}

/// The report a command printed the path of.
fn report_of(out: &str) -> String {
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .and_then(|l| l.strip_suffix(" (and .html)"))
        .unwrap_or_else(|| panic!("no report in: {out}"));
    let html = std::fs::read_to_string(Path::new(path).with_extension("html"))
        .unwrap_or_else(|e| panic!("html beside {path}: {e}"));
    assert!(html.starts_with("<!doctype html>") && html.contains("<table>"));
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[actix_web::test]
async fn the_inspection_reports_what_the_database_holds() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (hospital, config) = config_in(dir.path());
    let app = spawn_app_on(hospital.clone(), 2, fresh_database()).await;

    // Three patients in internal medicine, two called; one in surgery.
    for (v, name, dept) in [
        ("I1", "赵一", "NK"),
        ("I2", "钱二", "NK"),
        ("I3", "孙三", "NK"),
        ("I4", "李四", "WK"),
    ] {
        app.arrive(v, &registration(name, dept)).await;
    }
    for _ in 0..2 {
        assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    }
    // A nurse reports a fault.
    let r = app
        .http
        .post(app.url("/api/v1/faults"))
        .json(&json!({"title": "二诊室门口屏黑屏"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 201);
    // A backup, verified.
    let policy = hospital.backup.clone();
    let url = app.db.url.clone();
    let now = app.now();
    let file = tokio::task::spawn_blocking(move || {
        let (file, _) = triage::backups::take(&url, &policy, now, &mut |_| {})
            .unwrap_or_else(|e| panic!("backup: {e}"));
        let scratch = url.starts_with("postgres").then_some(url.as_str());
        let report =
            triage::backups::verify(&file, scratch, now).unwrap_or_else(|e| panic!("verify: {e}"));
        assert!(report.ok());
        file
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // The server's timings reach the database (every minute; now here,
    // after the backup, however long it took).
    let now = app.now();
    let rows = app.engine.db().timings().take();
    assert!(!rows.is_empty(), "requests were timed");
    app.engine
        .db()
        .write(move |c| triage::ops::timings::flush(c, &rows, None, now.naive_utc(), false))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // What the database holds, read directly.
    let head = app
        .engine
        .db()
        .read(triage::db::audit::head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let waits: Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime)> = {
        let url = app.db.url.clone();
        tokio::task::spawn_blocking(move || {
            use diesel::prelude::*;
            use triage::db::schema::visits;
            let mut c = triage::db::connect_raw(&url).unwrap_or_else(|e| panic!("{e}"));
            visits::table
                .filter(visits::called_at.is_not_null())
                .select((
                    visits::department_code,
                    visits::checked_in_at.assume_not_null(),
                    visits::called_at.assume_not_null(),
                ))
                .load(&mut c)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(waits.len(), 2);
    let longest = waits
        .iter()
        .map(|(_, a, b)| (*b - *a).num_seconds() as f64 / 60.0)
        .fold(0.0f64, f64::max);

    let (code, out) = cli_at(&["inspect"], &app.db.url, &config, Some(app.now()));
    assert_eq!(code, 0, "{out}");
    let md = report_of(&out);
    assert!(out.contains("4 visits"), "{out}");
    assert!(
        md.contains("| 期间就诊数 visits in the period | 4 |"),
        "{md}"
    );
    assert!(
        md.contains("| NK | 2 | ") && md.contains(&format!("| {longest:.1} |")),
        "waits of NK: 2 called, longest {longest:.1} min\n{md}"
    );
    assert!(!md.contains("| WK |"), "nobody in surgery was called");
    assert!(md.contains("故障总数 faults: 1（严重 critical 0）"), "{md}");
    assert!(md.contains("仍未解决 open now: 1"), "{md}");
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(md.contains(&format!("最新备份 newest: {name}")), "{md}");
    assert!(md.contains("保留的备份 backups kept: 1"), "{md}");
    assert!(md.contains("通过 good"), "the verification: {md}");
    assert!(md.contains(&head), "the audit chain head {head}");
    assert!(md.contains("audit chain intact"), "{md}");
    assert!(
        md.contains("| POST /api/v1/rooms/{room}/{action} | 2 |"),
        "the calls are among the timed endpoints: {md}"
    );
    // The server runs on it: its run is there, and it is running.
    assert!(md.contains("运行中"), "{md}");
    // Risks follow the facts: no maintenance yet, no second location,
    // the fault still open.
    assert!(md.contains("没有数据库维护记录"), "{md}");
    assert!(md.contains("个故障仍未解决"), "{md}");
    assert!(!md.contains("没有任何备份"), "{md}");
}

#[actix_web::test]
async fn maintenance_archives_expired_audit_records_before_removing_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (hospital, config) = config_in(dir.path());
    let db = fresh_database();
    // Five records from 200 days ago open the chain, then one of today.
    {
        let url = db.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
            let now = crate::common::suite_now().naive_utc();
            for (i, days) in [200, 200, 199, 199, 198, 0].iter().enumerate() {
                triage::db::write_transaction(&mut c, |c| {
                    triage::db::audit::append(
                        c,
                        triage::db::models::NewEvent {
                            at: now - chrono::Duration::days(*days),
                            kind: "test.old".into(),
                            operator: "test".into(),
                            source: "test".into(),
                            visit_no: None,
                            room_code: None,
                            queue_code: None,
                            detail: format!("{{\"n\":{i}}}"),
                            prev_hash: None,
                            hash: None,
                        },
                    )
                })
                .unwrap_or_else(|e| panic!("{e}"));
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let (code, out) = cli(&["db", "maintain"], &db.url, &config);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 records before"), "{out}");
    let sqlite = db.url.starts_with("sqlite");
    if sqlite {
        assert!(out.contains("ok      完整性检查"), "{out}");
        assert!(out.contains("ok      空间整理 VACUUM"), "{out}");
    } else {
        assert!(out.contains("ok      清理与统计 VACUUM (ANALYZE)"), "{out}");
        // Honest about checksums (the test cluster has them off), and the
        // tables read in full: not skipped on a claim.
        assert!(out.contains("ok      完整性检查"), "{out}");
        assert!(
            out.contains("data checksums OFF") || out.contains("data checksums on"),
            "{out}"
        );
        assert!(
            out.contains("ok      重建索引 REINDEX DATABASE CONCURRENTLY"),
            "{out}"
        );
    }
    let md = report_of(&out);
    assert!(md.contains("数据库大小 size"), "{md}");
    // The archive holds the five, oldest first, whole.
    let archive = std::fs::read_dir(dir.path().join("archive"))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".jsonl.gz"))
        .unwrap_or_else(|| panic!("no archive"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap_or_else(|e| panic!("{e}")))
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["detail"], "{\"n\":0}");
    assert_eq!(lines[4]["detail"], "{\"n\":4}");
    // Removed from the database; the chain still verifies.
    let (code, out) = triage_cli(
        &[
            OsStr::new("audit"),
            OsStr::new("verify"),
            OsStr::new("--database-url"),
            OsStr::new(&db.url),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(&["db", "maintain"], &db.url, &config);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("none older than 180 days"),
        "nothing twice: {out}"
    );

    // With a server on a small SQLite database, REINDEX and VACUUM run
    // beside it (its writes wait meanwhile), and the report says so
    // (issue 27: they were always left out).
    if sqlite {
        let app = spawn_app_on(hospital, 2, db.clone()).await;
        let (code, out) = cli_at(&["db", "maintain"], &app.db.url, &config, Some(app.now()));
        assert_eq!(code, 0, "{out}");
        for step in ["重建索引 REINDEX", "空间整理 VACUUM"] {
            assert!(
                out.lines().any(|l| l.starts_with("ok")
                    && l.contains(step)
                    && l.contains("服务器运行中执行")),
                "{step}: {out}"
            );
        }
        // And the server goes on taking writes.
        app.arrive("AFTER", &registration("维护后", "NK")).await;
    }
}

/// Issue 27: the second backup location is checked, not taken on its
/// configuration's word: a folder that does not exist is said, and is a
/// risk (before: "异地副本 已配置 yes").
#[actix_web::test]
async fn the_inspection_checks_the_second_backup_location_rather_than_its_setting() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (_, config) = config_in(dir.path());
    let missing = dir.path().join("nas-not-mounted");
    let text = std::fs::read_to_string(&config).unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen(
        "[backup]\n",
        &format!(
            "[backup]\nsecond_dir = {:?}\n",
            missing.display().to_string()
        ),
        1,
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let db = fresh_database();
    {
        let url = db.url.clone();
        tokio::task::spawn_blocking(move || triage::db::connect_one(&url).map(|_| ()))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (code, out) = cli(&["inspect"], &db.url, &config);
    assert_eq!(code, 0, "{out}");
    let md = report_of(&out);
    assert!(
        md.contains(&format!("目录 {} 不存在", missing.display())),
        "{md}"
    );
    assert!(md.contains("异地副本不可用"), "{md}");
    assert!(!md.contains("已配置 yes"), "{md}");
}

/// The emergency drill (应急演练): the plan's technical steps timed on a
/// scratch copy while the server runs. With no backup kept it takes one of
/// its own (not added to the backup set), verifies it, restores it where
/// nothing uses it, starts the engine there and finds every waiting patient,
/// draws the manual-triage lists (masked names only), and removes the copy;
/// the live database is as it was. The report has its four sections.
#[actix_web::test]
async fn the_drill_times_the_emergency_plan_on_a_scratch_copy_and_reports_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (hospital, config) = config_in(dir.path());
    let app = spawn_app_on(hospital.clone(), 2, fresh_database()).await;
    for (v, name, dept) in [
        ("D1", "赵一", "NK"),
        ("D2", "钱二", "NK"),
        ("D3", "孙三", "NK"),
        ("D4", "李四", "WK"),
    ] {
        app.arrive(v, &registration(name, dept)).await;
    }
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    let before = app.dump().await;
    let (url, at) = (app.db.url.clone(), app.now());
    let (code, out) =
        tokio::task::spawn_blocking(move || cli_at(&["drill"], &url, &config, Some(at)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{out}");
    let path = out
        .lines()
        .find_map(|l| l.split_once("报告：").map(|(_, p)| p))
        .and_then(|p| p.strip_suffix("（及 .html）"))
        .unwrap_or_else(|| panic!("no report in: {out}"));
    let md = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for section in [
        "## 演练步骤与用时",
        "## 结论",
        "## 手工分诊名单（演练副本）",
        "## 未计时的步骤",
    ] {
        assert!(md.contains(section), "no {section} in:\n{md}");
    }
    for step in [
        "找到最新备份",
        "校验备份",
        "恢复到演练副本",
        "在副本上启动叫号引擎",
        "生成手工分诊名单",
        "删除演练副本",
    ] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {step} |")))
            .unwrap_or_else(|| panic!("no step {step} in:\n{md}"));
        assert!(row.contains("| 通过 |"), "{row}");
    }
    assert!(md.contains("3 位候诊患者"), "{md}");
    assert!(md.contains("在 4 小时恢复目标之内"), "{md}");
    // The lists: tickets and masked names, never a full name.
    assert!(md.contains("| 1 | A002 | 钱*"), "{md}");
    for full in ["赵一", "钱二", "孙三", "李四"] {
        assert!(!md.contains(full), "{full} in the report");
    }
    assert!(std::path::Path::new(path).with_extension("html").exists());
    // The live database and the backup set are as they were.
    assert_eq!(app.dump().await, before);
    assert!(triage::backups::list(&hospital.backup.dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty());
}

/// The holiday deep inspection (节前深度巡检) does more than the quarterly
/// one and says what it did: the newest backup restored in full and
/// checked, a maintenance run now (REINDEX and VACUUM beside the running
/// server on a small SQLite database), the load self-test on a scratch
/// copy (every call reaches every screen of its room; p50 and p99), and
/// every screen and kiosk with its last contact, the silent ones a risk.
/// The live queues are as they were.
#[actix_web::test]
async fn the_holiday_inspection_restores_maintains_self_tests_and_looks_at_every_device() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (hospital, config) = config_in(dir.path());
    let app = spawn_app_on(hospital.clone(), 2, fresh_database()).await;
    for (v, name, dept) in [
        ("H1", "赵一", "NK"),
        ("H2", "钱二", "NK"),
        ("H3", "李四", "WK"),
    ] {
        app.arrive(v, &registration(name, dept)).await;
    }
    assert_eq!(app.room("NK-02", "call-next").await.status(), 200);
    // A kiosk heard from now (kept by the next reload), one screen too.
    app.auth.note_kiosk_seen("KIOSK-NK");
    app.auth.reload().await.unwrap_or_else(|e| panic!("{e}"));
    let now = app.now();
    app.engine
        .db()
        .write(move |c| {
            use diesel::prelude::*;
            use triage::db::schema::screen_presence;
            diesel::insert_into(screen_presence::table)
                .values((
                    screen_presence::code.eq("NK-HALL"),
                    screen_presence::last_seen.eq(now.naive_utc()),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Tonight's backup.
    let (policy, url) = (hospital.backup.clone(), app.db.url.clone());
    tokio::task::spawn_blocking(move || {
        triage::backups::take(&url, &policy, now, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let queues = (app.queue_order("NK").await, app.queue_order("WK").await);
    let (url, at) = (app.db.url.clone(), app.now());
    let (code, out) = tokio::task::spawn_blocking(move || {
        cli_at(
            &["inspect", "--holiday", "2027-02-06"],
            &url,
            &config,
            Some(at),
        )
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{out}");
    let md = report_of(&out);
    assert!(md.contains("节前深度巡检报告（2027-02-06 假期前）"), "{md}");
    assert!(md.contains("## 十、节前深度检查 Holiday checks"), "{md}");
    let row = |what: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {what} |")))
            .unwrap_or_else(|| panic!("no {what} in:\n{md}"))
            .to_string()
    };
    assert!(row("最新备份完整恢复并核对").contains("| 通过 |"), "{md}");
    let maintained = row("数据库维护");
    assert!(maintained.contains("| 通过 |"), "{maintained}");
    // Beside the running server: SQLite's REINDEX and VACUUM too (a small
    // database); PostgreSQL's run beside it anyway.
    let rebuilt = if crate::common::backend_name() == "postgres" {
        maintained.contains("重建索引 REINDEX DATABASE CONCURRENTLY 通过")
    } else {
        maintained.contains("重建索引 REINDEX 通过") && maintained.contains("空间整理 VACUUM 通过")
    };
    assert!(rebuilt, "{maintained}");
    let test = row("负载自检（叫号到屏幕）");
    assert!(test.contains("| 通过 |"), "{test}");
    assert!(test.contains("最新备份的临时副本"), "{test}");
    assert!(
        test.contains("叫号到屏幕 p50") && test.contains("p99"),
        "{test}"
    );
    // Every call of the self-test reached every screen of its room.
    let counts: Vec<u64> = test
        .split("应更新的屏幕 ")
        .nth(1)
        .map(|t| {
            t.split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .take(2)
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        counts.len() == 2 && counts[0] > 0 && counts[0] == counts[1],
        "{test}"
    );
    // Devices: the kiosk and screen heard from are online, the rest a risk.
    assert!(row("自助机").contains("KIOSK-HALL"), "{md}");
    let kiosk = md
        .lines()
        .find(|l| l.contains("| KIOSK-NK |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(kiosk.contains("| 在线 |"), "{kiosk}");
    let hall = md
        .lines()
        .find(|l| l.contains("| NK-HALL |") && l.starts_with("| 屏幕 |"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(hall.contains("| 在线 |"), "{hall}");
    assert!(md.contains("台设备近期没有联系"), "{md}");
    assert!(
        !md.contains("KIOSK-NK、") && !md.contains("、KIOSK-NK"),
        "{md}"
    );
    // The live queues are untouched by the self-test.
    assert_eq!(
        (app.queue_order("NK").await, app.queue_order("WK").await),
        queues
    );
}
