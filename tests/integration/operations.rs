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
    assert!(out.contains("working hours"), "{out}");
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
