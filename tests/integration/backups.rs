//! Backups (备份) on the backend of this run (SQLite, and PostgreSQL in the
//! test command's second pass): a backup with its manifest verifies and
//! restores to the same database; a truncated one and one with a single
//! byte changed are reported bad (also by `triage backup verify`'s exit
//! code); retention keeps the days asked and always the newest good
//! backup; the server takes, verifies and prunes the daily backup itself.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use chrono::Duration;
use triage::backups::{self, Manifest};
use triage::config::BackupPolicy;

use crate::common::{
    china, clock_at, fresh_database, registration, spawn_app, spawn_app_clocked, triage_cli,
    wednesday,
};

fn policy(dir: &Path) -> BackupPolicy {
    BackupPolicy {
        dir: dir.join("backups"),
        second_dir: Some(dir.join("share")),
        keep_days: 7,
        at: None,
    }
}

fn scratch(url: &str) -> Option<&str> {
    url.starts_with("postgres").then_some(url)
}

/// A copy of a backup and its manifest under another name, its bytes
/// changed by `damage`.
fn damaged(file: &Path, name: &str, damage: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let dir = file.parent().unwrap_or_else(|| panic!("no parent"));
    let copy = dir.join(name);
    let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
    damage(&mut bytes);
    std::fs::write(&copy, bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut m = file.as_os_str().to_owned();
    m.push(".manifest.json");
    let mut mc = copy.as_os_str().to_owned();
    mc.push(".manifest.json");
    std::fs::copy(PathBuf::from(m), PathBuf::from(mc)).unwrap_or_else(|e| panic!("{e}"));
    copy
}

fn cli_verify(file: &Path, url: &str) -> i32 {
    let mut args: Vec<&OsStr> = vec![OsStr::new("backup"), OsStr::new("verify"), file.as_os_str()];
    if let Some(s) = scratch(url) {
        args.extend([OsStr::new("--scratch-url"), OsStr::new(s)]);
    }
    triage_cli(&args, &[]).0
}

#[actix_web::test]
async fn a_backup_verifies_and_restores_and_a_damaged_one_is_reported_bad() {
    let app = spawn_app().await;
    app.arrive("BK1", &registration("备份甲", "NK")).await;
    app.arrive("BK2", &registration("备份乙", "WK")).await;
    app.room("NK-02", "call-next").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = app.db.url.clone();
    let p = policy(dir.path());
    let (u, pp, now) = (url.clone(), p.clone(), app.now());
    let (file, manifest): (PathBuf, Manifest) =
        tokio::task::spawn_blocking(move || backups::take(&u, &pp, now, &mut |_| ()))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("backup: {e}"));
    // The manifest says what the database holds.
    let live = app
        .engine
        .db()
        .read(backups::contents)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest.tables, live.tables);
    assert_eq!(manifest.audit_head, live.audit_head);
    assert!(manifest.tables["visits"] >= 2);
    assert!(
        p.second_dir
            .as_ref()
            .is_some_and(|s| s.join(&manifest.file).exists()),
        "a copy in the second location"
    );

    // It verifies (report beside it), by the library and by the command.
    let report = backups::verify(&file, scratch(&url), app.now()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{}", report.markdown());
    let mut md = file.as_os_str().to_owned();
    md.push(".verify.html");
    assert!(PathBuf::from(md).exists(), "the HTML report");
    assert_eq!(cli_verify(&file, &url), 0);

    // Truncated, or a single byte changed: bad, exit code 1.
    let truncated = damaged(&file, "truncated.backup", |b| b.truncate(b.len() / 2));
    let flipped = damaged(&file, "flipped.backup", |b| {
        let i = b.len() / 3;
        b[i] ^= 0x01;
    });
    for bad in [&truncated, &flipped] {
        let report =
            backups::verify(bad, scratch(&url), app.now()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!report.ok(), "{} passed", bad.display());
        assert!(report.markdown().contains("失败 BAD"));
        assert_eq!(cli_verify(bad, &url), 1, "{}", bad.display());
    }

    // Destroyed and restored: the same database.
    let target = fresh_database();
    let (f, t) = (file.clone(), target.url.clone());
    tokio::task::spawn_blocking(move || triage::db::backup::restore(&f, &t))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("restore: {e}"));
    let t = target.url.clone();
    let restored = tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&t)?;
        Ok::<_, triage::db::DbError>((backups::contents(&mut c)?, triage::db::store::dump(&mut c)?))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(restored.0.tables, manifest.tables, "every table's rows");
    assert_eq!(restored.0.audit_head, manifest.audit_head);
    assert_eq!(restored.1, app.dump().await);
}

/// A backup file with a manifest dated `days_ago` before the named
/// Wednesday, verified good or bad.
fn dated(dir: &Path, days_ago: i64, good: Option<bool>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let taken = wednesday() - Duration::days(days_ago) - Duration::minutes(1);
    let name = format!("triage-{}.sqlite", taken.format("%Y%m%d-%H%M%S"));
    let file = dir.join(&name);
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let m = Manifest {
        file: name,
        sha256: String::new(),
        bytes: 1,
        backend: triage::db::Backend::Sqlite,
        version: "test".into(),
        schema: "x".into(),
        taken_at: taken,
        tables: Default::default(),
        last_event: None,
        audit_head: None,
    };
    let mut mp = file.as_os_str().to_owned();
    mp.push(".manifest.json");
    std::fs::write(
        PathBuf::from(mp),
        serde_json::to_string(&m).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Some(ok) = good {
        let mut r = file.as_os_str().to_owned();
        r.push(".verify.md");
        let text = if ok {
            "结论 result: **通过 good**"
        } else {
            "结论 result: **失败 BAD**"
        };
        std::fs::write(PathBuf::from(r), text).unwrap_or_else(|e| panic!("{e}"));
    }
    file
}

#[test]
fn retention_keeps_the_days_asked_and_always_the_newest_good_backup() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().join("a");
    let old_good = dated(&d, 20, Some(true));
    let old_bad = dated(&d, 12, Some(false));
    let week = dated(&d, 6, Some(true));
    let today = dated(&d, 0, None);
    let removed = backups::prune(&d, wednesday(), 7).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removed.len(), 2, "{removed:?}");
    assert!(!old_good.exists() && !old_bad.exists());
    assert!(week.exists() && today.exists());
    let mut manifest = old_good.as_os_str().to_owned();
    manifest.push(".manifest.json");
    assert!(
        !PathBuf::from(manifest).exists(),
        "its manifest goes with it"
    );

    // Everything old: the newest good one stays, even past the days kept.
    let d = dir.path().join("b");
    let oldest = dated(&d, 30, Some(true));
    let good = dated(&d, 20, Some(true));
    let bad = dated(&d, 10, Some(false));
    backups::prune(&d, wednesday(), 7).unwrap_or_else(|e| panic!("{e}"));
    assert!(good.exists(), "the newest good backup is never removed");
    assert!(!oldest.exists() && !bad.exists());
    // Fewer than 7 days cannot be asked.
    let d = dir.path().join("c");
    let five = dated(&d, 5, Some(true));
    let _newer = dated(&d, 1, Some(true));
    backups::prune(&d, wednesday(), 1).unwrap_or_else(|e| panic!("{e}"));
    assert!(five.exists(), "kept at least 7 days");
}

#[actix_web::test]
async fn the_server_takes_verifies_and_keeps_the_daily_backup_itself() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut hospital = triage::config::Hospital::demo();
    // Due at 02:30; the server runs from 02:29 on the Thursday.
    let at = chrono::NaiveTime::from_hms_opt(2, 30, 0).unwrap_or_default();
    hospital.backup = BackupPolicy {
        at: Some(at),
        ..policy(dir.path())
    };
    let app = spawn_app_clocked(hospital, 2, fresh_database(), clock_at(china(1, "02:29"))).await;
    let backups_dir = dir.path().join("backups");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        backups::list(&backups_dir).unwrap_or_default().is_empty(),
        "not before its time"
    );
    app.advance(Duration::minutes(2));
    let backups_dir = dir.path().join("backups");
    let mut found = Vec::new();
    for _ in 0..100 {
        found = backups::list(&backups_dir).unwrap_or_default();
        if found.iter().any(|k| k.verified_ok == Some(true)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1, "one backup today");
    assert_eq!(found[0].verified_ok, Some(true), "verified by the server");
    // Not twice the same day.
    let policy = app.hospital.backup.clone();
    assert_eq!(backups::due(&policy, at, app.now()), None);
}

fn cli_restore(file: &Path, url: &str, extra: &[&str]) -> (i32, String) {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("restore"),
        file.as_os_str(),
        OsStr::new("--database-url"),
        OsStr::new(url),
    ];
    args.extend(extra.iter().map(OsStr::new));
    triage_cli(&args, &[])
}

#[actix_web::test]
async fn restore_refuses_a_database_a_server_uses_and_restores_one_that_is_stopped() {
    let app = spawn_app().await;
    app.arrive("RS1", &registration("恢复甲", "NK")).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = app.db.url.clone();
    let p = policy(dir.path());
    let (u, pp, now) = (url.clone(), p.clone(), app.now());
    let (file, manifest) =
        tokio::task::spawn_blocking(move || backups::take(&u, &pp, now, &mut |_| ()))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("backup: {e}"));

    // The running server's database: refused, nothing changed.
    assert!(backups::servers_using(&url).unwrap_or_else(|e| panic!("{e}")) >= 1);
    let before = app.dump().await;
    let (code, out) = cli_restore(&file, &url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("server"), "{out}");
    assert_eq!(app.dump().await, before);

    // A stopped one (another database, with other data): restored, the old
    // one kept aside (SQLite), migrated, the same rows as the manifest.
    let other = fresh_database();
    {
        let mut c = triage::db::connect_one(&other.url).unwrap_or_else(|e| panic!("{e}"));
        let n = backups::contents(&mut c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.tables["visits"], 0);
    }
    assert_eq!(backups::servers_using(&other.url).unwrap_or(-1), 0);
    let (code, out) = cli_restore(&file, &other.url, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("rows"), "{out}");
    let mut c = triage::db::connect_one(&other.url).unwrap_or_else(|e| panic!("{e}"));
    let got = backups::contents(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.tables, manifest.tables);
    assert_eq!(got.audit_head, manifest.audit_head);
    if other.url.starts_with("sqlite") {
        assert!(out.contains("kept as"), "{out}");
    }

    // A damaged backup is not restored.
    let bad = damaged(&file, "bad.backup", |b| b.truncate(b.len() - 10));
    let (code, out) = cli_restore(&bad, &other.url, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not match its manifest"), "{out}");
}

#[actix_web::test]
async fn the_backup_commands_follow_the_configurations_backup_section() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let kept = dir.path().join("kept");
    let share = dir.path().join("share");
    let config = dir.path().join("hospital.toml");
    let text = crate::queue_rules::hospital_toml(0, "", "").replace(
        "[backup]\nat = \"off\"",
        &format!(
            "[backup]\nat = \"off\"\ndir = {:?}\nsecond_dir = {:?}\nkeep_days = 14",
            kept.display().to_string(),
            share.display().to_string()
        ),
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let c = OsStr::new(config.as_os_str());
    let url = app.db.url.clone();
    let (code, out) = triage_cli(
        &[
            OsStr::new("backup"),
            OsStr::new("--database-url"),
            OsStr::new(&url),
            OsStr::new("--config"),
            c,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(backups::list(&kept).unwrap_or_default().len(), 1, "{out}");
    assert_eq!(
        backups::list(&share).unwrap_or_default().len(),
        1,
        "the second location"
    );
    let mut verify: Vec<&OsStr> = vec![
        OsStr::new("backup"),
        OsStr::new("verify"),
        OsStr::new("--config"),
        c,
    ];
    if let Some(s) = scratch(&url) {
        verify.extend([OsStr::new("--scratch-url"), OsStr::new(s)]);
    }
    let (code, out) = triage_cli(&verify, &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = triage_cli(
        &[
            OsStr::new("backup"),
            OsStr::new("list"),
            OsStr::new("--config"),
            c,
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("verified"), "{out}");
}
