//! Upgrades (升级) on the backend of this run: every migration has a
//! working way back (down) and forward again; `triage migrate --status`
//! and `--check` report without changing anything; a migration during the
//! working hours asks for an explicit flag; the server names its version,
//! commit and schema.

use std::ffi::OsStr;

use crate::common::{china, fresh_database, spawn_app, triage_cli};

/// `triage migrate` at `at` (the clock it runs on), under the default
/// working hours (07:30-18:00).
fn migrate(url: &str, args: &[&str], at: chrono::DateTime<chrono::Utc>) -> (i32, String) {
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("migrate"),
        OsStr::new("--database-url"),
        OsStr::new(url),
    ];
    all.extend(args.iter().map(OsStr::new));
    let at = at.to_rfc3339();
    triage_cli(&all, &[(triage_ground::time::CLOCK_VARIABLE, at.as_str())])
}

#[test]
fn every_migration_goes_down_and_up_again() {
    let db = fresh_database();
    let mut c = triage::db::connect_one(&db.url).unwrap_or_else(|e| panic!("{e}"));
    let before = triage::db::migration_status(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert!(before.iter().all(|(_, applied)| *applied));
    let n = triage::db::revert_all(&mut c).unwrap_or_else(|e| panic!("down: {e}"));
    assert_eq!(n, before.len(), "every migration reverted");
    let none = triage::db::migration_status(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert!(none.iter().all(|(_, applied)| !applied));
    triage::db::run_migrations(&mut c).unwrap_or_else(|e| panic!("up again: {e}"));
    let again = triage::db::migration_status(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, before);
}

#[test]
fn migrate_reports_and_waits_for_the_evening_unless_told() {
    let db = fresh_database();
    // The Wednesday at 10:00 (working hours) and at 20:00 (evening).
    let (morning, evening) = (china(0, "10:00"), china(0, "20:00"));
    // Nothing applied yet: --check fails, --status lists, neither changes.
    let (code, out) = migrate(&db.url, &["--check"], morning);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PENDING"), "{out}");
    let (code, _) = migrate(&db.url, &["--status"], morning);
    assert_eq!(code, 0);
    // Reading makes no database file (issue 27).
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        assert!(!std::path::Path::new(path).exists(), "--status made {path}");
    }
    assert_eq!(
        migrate(&db.url, &["--check"], morning).0,
        1,
        "--status changed nothing"
    );
    // During the working hours: refused without the flag, nothing applied.
    let (code, out) = migrate(&db.url, &[], morning);
    assert_eq!(code, 3, "refused at 10:00: {out}");
    assert!(out.contains("现在是工作时间（07:30-18:00）"), "{out}");
    assert_eq!(
        migrate(&db.url, &["--check"], morning).0,
        1,
        "nothing applied"
    );
    // With the flag during the day, or in the evening without it: applied.
    let (code, out) = migrate(&db.url, &["--during-working-hours"], morning);
    assert_eq!(code, 0, "{out}");
    let (code, out) = migrate(&db.url, &["--check"], morning);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 pending"), "{out}");
    let other = fresh_database();
    assert_eq!(migrate(&other.url, &[], morning).0, 3);
    let (code, out) = migrate(&other.url, &[], evening);
    assert_eq!(code, 0, "applied at 20:00 without the flag: {out}");
    assert_eq!(migrate(&other.url, &["--check"], evening).0, 0);
}

/// Whether the server `child` answers ready on `port` within `limit`
/// seconds (false: it exited, or the time passed).
async fn ready_within(child: &mut std::process::Child, port: u16, limit: u64) -> bool {
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(limit);
    while std::time::Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return true;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// `triage serve` on a database one migration behind (a new version
/// installed over an old database): in working hours it applies nothing
/// and waits, saying why, and `triage migrate --may-serve` says so first
/// (the package's post-install step leaves the old server running); when
/// the hours end it migrates and serves by itself; told with
/// --migrate-during-working-hours it does at once. A new database is made
/// at any hour.
#[actix_web::test]
async fn the_server_does_not_migrate_in_working_hours_unless_told() {
    let db = fresh_database();
    let mut c = triage::db::connect_one(&db.url).unwrap_or_else(|e| panic!("{e}"));
    triage::db::revert_last(&mut c).unwrap_or_else(|e| panic!("{e}"));
    drop(c);
    let pending = |url: &str| {
        let mut c = triage::db::connect_raw(url).unwrap_or_else(|e| panic!("{e}"));
        triage::db::migration_status(&mut c)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .filter(|(_, done)| !done)
            .count()
    };
    assert_eq!(pending(&db.url), 1);
    let (morning, evening) = (china(0, "10:00"), china(0, "20:00"));
    let (code, out) = migrate(&db.url, &["--may-serve"], morning);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("1 个待执行的迁移"), "{out}");
    let (code, out) = migrate(&db.url, &["--may-serve"], evening);
    assert_eq!(code, 0, "{out}");
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo-hospital.toml");
    let serve = |url: &str, at: chrono::DateTime<chrono::Utc>, extra: &[&str]| {
        let port = crate::common::free_port();
        let mut cmd = crate::common::triage_command();
        cmd.current_dir(home.path())
            .args(["serve", "--config", config, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--database-url", url])
            .args(extra)
            .env(triage_ground::time::CLOCK_VARIABLE, at.to_rfc3339())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        (cmd, port)
    };
    let stop = |mut child: std::process::Child| {
        let _ = child.kill();
        child.wait_with_output().map_or_else(
            |e| e.to_string(),
            |o| String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    // In working hours: it waits, says why, applies nothing.
    let (mut cmd, port) = serve(&db.url, morning, &[]);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let served = ready_within(&mut child, port, 4).await;
    let said = stop(child);
    assert!(
        !served,
        "the server served in working hours with a migration pending"
    );
    assert!(
        said.contains("工作时间内不执行迁移") && said.contains("工作时间结束后自动迁移并启动"),
        "{said}"
    );
    assert_eq!(pending(&db.url), 1, "a held start applied a migration");
    // Started at 17:59:57: when the hours end it migrates and serves by
    // itself (a server down after a deferred upgrade comes back).
    let (mut cmd, port) = serve(
        &db.url,
        china(0, "17:59") + chrono::Duration::seconds(57),
        &[],
    );
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let served = ready_within(&mut child, port, 30).await;
    let said = stop(child);
    assert!(served, "not served after the working hours: {said}");
    assert_eq!(pending(&db.url), 0);
    // Told, in the day: it migrates and serves at once.
    let told = fresh_database();
    let mut c = triage::db::connect_one(&told.url).unwrap_or_else(|e| panic!("{e}"));
    triage::db::revert_last(&mut c).unwrap_or_else(|e| panic!("{e}"));
    drop(c);
    let (mut cmd, port) = serve(&told.url, morning, &["--migrate-during-working-hours"]);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{e}"));
    let served = ready_within(&mut child, port, 30).await;
    let said = stop(child);
    assert!(served, "the server told to migrate did not serve: {said}");
    assert_eq!(pending(&told.url), 0);
    // A new database: made and served at 10:00 without being told.
    let new = fresh_database();
    let (code, out) = migrate(&new.url, &["--may-serve"], morning);
    assert_eq!(code, 0, "{out}");
}

#[actix_web::test]
async fn the_server_names_its_version_commit_and_schema() {
    let app = spawn_app().await;
    let v = app.get_json("/api/v1/version").await;
    assert_eq!(v["version"], triage::VERSION);
    assert!(
        v["version"].as_str().unwrap_or_default().contains('('),
        "{v}"
    );
    let mut c = triage::db::connect_one(&app.db.url).unwrap_or_else(|e| panic!("{e}"));
    let list = triage::db::migration_status(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v["schema"],
        list.last().map(|(s, _)| s.clone()).unwrap_or_default()
    );
    let r = app
        .anonymous
        .get(app.url("/api/v1/version"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 401);
}

#[test]
fn the_package_installs_a_production_configuration() {
    let h = triage::config::Hospital::load(std::path::Path::new("config/debian/hospital.toml"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let demo = triage::config::Hospital::demo();
    assert!(h.security.admin_totp, "administrators need a one-time code");
    assert!(
        h.backup.at.is_some() && h.operations.at.is_some(),
        "backups and operations run by themselves"
    );
    assert!(h.day_end.is_some(), "the day ends by itself");
    for dir in [
        &h.backup.dir,
        &h.operations.reports_dir,
        &h.operations.archive_dir,
    ] {
        assert!(dir.starts_with("/var/lib/triage"), "{}", dir.display());
    }
    assert!(h.backup.keep_days >= 7);
    // Otherwise it starts as the demo hospital, to be described.
    assert_eq!(h.departments.len(), demo.departments.len());
    assert_eq!(h.rooms.len(), demo.rooms.len());
    assert_eq!(h.screens.len(), demo.screens.len());
}
