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
    // Read by hospital IT: Beijing time, the last event as a sentence.
    let md = report.markdown();
    assert!(md.contains("北京时间") && !md.contains("UTC"), "{md}");
    assert!(!md.contains("Some(("), "{md}");
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
    assert!(
        out.contains("服务器正在使用") || out.contains("个服务器连接"),
        "{out}"
    );
    assert!(out.contains("现有数据库保持原样"), "{out}");
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
    assert!(out.contains("校验和不符"), "{out}");
}

/// Issue 27, item 5: a restore that fails cannot leave the hospital worse
/// off. A backup without its manifest is refused unless `--force`; with it,
/// a truncated or garbage file fails its check before anything is touched:
/// the live database has the same rows, opens, and nothing is left beside it.
#[actix_web::test]
async fn a_restore_that_fails_leaves_the_live_database_as_it_was() {
    let app = spawn_app().await;
    app.arrive("RF1", &registration("恢复丙", "NK")).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (u, pp, now) = (app.db.url.clone(), policy(dir.path()), app.now());
    let (file, _) = tokio::task::spawn_blocking(move || backups::take(&u, &pp, now, &mut |_| ()))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("backup: {e}"));
    // The live database: a stopped one holding the backup's rows.
    let live = fresh_database();
    let (code, out) = cli_restore(&file, &live.url, &[]);
    assert_eq!(code, 0, "{out}");
    let state = |url: &str| {
        let mut c = triage::db::connect_one(url).unwrap_or_else(|e| panic!("{e}"));
        let n = backups::contents(&mut c).unwrap_or_else(|e| panic!("{e}"));
        (n.tables, n.audit_head)
    };
    let before = state(&live.url);
    let beside = |url: &str| -> Vec<String> {
        let Some(path) = url.strip_prefix("sqlite://") else {
            return Vec::new();
        };
        let p = Path::new(path);
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut found: Vec<String> = std::fs::read_dir(p.parent().unwrap_or(Path::new(".")))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    // Anything beside the live file but its own log.
                    .filter(|f| {
                        f.starts_with(&name)
                            && *f != name
                            && *f != format!("{name}-wal")
                            && *f != format!("{name}-shm")
                    })
                    .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let files_before = beside(&live.url);
    // Without manifests: truncated, garbage, one bit flipped.
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let bare = |name: &str, b: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap_or_else(|e| panic!("{e}"));
        p
    };
    let truncated = bare("truncated.backup", bytes[..bytes.len() / 2].to_vec());
    let garbage = bare("garbage.backup", vec![0x5a; 64 * 1024]);
    let mut flip = bytes.clone();
    let i = flip.len() / 3;
    flip[i] ^= 0x01;
    let flipped = bare("flipped.backup", flip);
    for bad in [&truncated, &garbage, &flipped] {
        let (code, out) = cli_restore(bad, &live.url, &[]);
        assert_eq!(code, 1, "{}: {out}", bad.display());
        assert!(
            out.contains("--force") && out.contains("现有数据库保持原样"),
            "{out}"
        );
    }
    for bad in [&truncated, &garbage] {
        let (code, out) = cli_restore(bad, &live.url, &["--force"]);
        assert_eq!(code, 1, "{} restored: {out}", bad.display());
        assert!(out.contains("现有数据库保持原样"), "{out}");
        assert_eq!(
            state(&live.url),
            before,
            "{} changed the live database",
            bad.display()
        );
        assert_eq!(beside(&live.url), files_before, "left beside the live file");
    }
    // PostgreSQL: a backup of an older schema is not restored over a newer
    // database (its newer tables would stay and the migrations fail).
    if live.url.starts_with("postgres") {
        let older = dir.path().join("older.backup");
        std::fs::copy(&file, &older).unwrap_or_else(|e| panic!("{e}"));
        let mut m: Manifest = serde_json::from_str(
            &std::fs::read_to_string(backups::manifest_path(&file)).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        m.schema = "20261125000001".into();
        std::fs::write(
            backups::manifest_path(&older),
            serde_json::to_string(&m).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (code, out) = cli_restore(&older, &live.url, &[]);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("新建的空库") && out.contains("现有数据库保持原样"),
            "{out}"
        );
        assert_eq!(state(&live.url), before);
    }
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

/// Issue 27, item 1: on PostgreSQL the daily backup and its check run under
/// the role `docs/install.md` creates (its `createuser` line, read from the
/// manual), not only as a superuser. Before, that role could not create the
/// check's scratch database and every night's check failed.
#[test]
fn on_postgresql_the_daily_check_works_under_the_role_the_install_manual_creates() {
    use diesel::{Connection, RunQueryDsl};
    let Ok(admin_url) = std::env::var("TRIAGE_TEST_POSTGRES_URL") else {
        eprintln!("NOT RUN here: PostgreSQL only (the test command's second pass)");
        return;
    };
    let manual = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/install.md"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let line = manual
        .lines()
        .find(|l| l.contains("createuser"))
        .unwrap_or_else(|| panic!("docs/install.md creates no role"));
    let createdb = line
        .split_whitespace()
        .any(|w| w == "-d" || w == "--createdb");
    // The role and its database, as the manual's two commands make them.
    let n = rand::random::<u32>();
    let (role, database) = (format!("triage_install_{n}"), format!("triage_inst_{n}"));
    let mut admin = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'install-pw' {}",
        if createdb { "CREATEDB" } else { "NOCREATEDB" }
    ))
    .execute(&mut admin)
    .unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(format!("CREATE DATABASE {database} OWNER {role}"))
        .execute(&mut admin)
        .unwrap_or_else(|e| panic!("{e}"));
    let (host, _) = admin_url
        .split_once('@')
        .map(|(_, rest)| rest.split_once('/').unwrap_or((rest, "")))
        .unwrap_or_else(|| panic!("{admin_url}"));
    let url = format!("postgres://{role}:install-pw@{host}/{database}");
    let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
    triage::db::conn::run_migrations(&mut c)
        .unwrap_or_else(|e| panic!("migrate as the install role: {e}"));
    drop(c);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let outcome = backups::daily(&url, &policy(dir.path()), wednesday());
    let outcome =
        outcome.unwrap_or_else(|e| panic!("the daily backup under the install role: {e}"));
    assert!(outcome.verified, "not verified");
}

/// Issue 27: `triage backup prune --keep-days 3` is refused with the reason
/// (before, it silently kept 7 days); nothing is removed.
#[test]
fn a_prune_asked_to_keep_fewer_than_seven_days_is_refused_and_removes_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path().join("backups");
    let old = dated(&d, 30, Some(true));
    let _newest = dated(&d, 1, Some(true));
    let args: Vec<&OsStr> = vec![
        OsStr::new("backup"),
        OsStr::new("prune"),
        OsStr::new("--dir"),
        d.as_os_str(),
        OsStr::new("--keep-days"),
        OsStr::new("3"),
    ];
    let (code, out) = triage_cli(&args, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("至少保留 7 天"), "{out}");
    assert!(old.exists(), "a backup was removed");
}

/// A backup taken before the newest migration (its database one migration
/// behind: a table the new version adds is not in it) verifies under the
/// new version: what it holds is checked against its own manifest (a
/// drill or a holiday inspection right after an upgrade uses such a
/// backup).
#[test]
fn a_backup_taken_before_the_newest_migration_still_verifies() {
    let db = fresh_database();
    let mut c = triage::db::connect_one(&db.url).unwrap_or_else(|e| panic!("{e}"));
    triage::db::revert_last(&mut c).unwrap_or_else(|e| panic!("{e}"));
    drop(c);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = policy(dir.path());
    let now = wednesday();
    let (file, manifest) =
        backups::take(&db.url, &p, now, &mut |_| ()).unwrap_or_else(|e| panic!("backup: {e}"));
    assert!(
        !manifest.tables.contains_key("wait_calibrations"),
        "the older schema (before 000033) has no wait_calibrations: {:?}",
        manifest.tables.keys()
    );
    let report =
        backups::verify(&file, scratch(&db.url), now).unwrap_or_else(|e| panic!("verify: {e}"));
    assert!(report.ok(), "{}", report.markdown());
}
