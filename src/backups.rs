//! Backups as a kept set (备份): each backup is a consistent copy of the
//! database ([`crate::db::backup`]: SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump -Fc`) under a timestamped name in the backup directory, with a
//! manifest beside it (version, schema, row counts, the last event, the
//! audit chain head, the file's SHA-256) and a copy in a second location
//! when one is configured. [`verify`] restores a backup into a scratch
//! place, checks its integrity and compares it with its manifest, and
//! writes a report (Markdown and HTML). [`prune`] keeps at least the
//! configured days and never the newest good backup. The server runs
//! take → verify → prune daily ([`crate::background`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, NaiveTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::BackupPolicy;
use crate::db::{self, backup, parse_url, AnyConnection, Backend, DbError};

/// The tables a backup holds (every table of the schema).
pub const TABLES: [&str; 31] = [
    "doctors",
    "visits",
    "rooms",
    "queue_counters",
    "events",
    "notices",
    "queue_rules",
    "staff_accounts",
    "staff_sessions",
    "his_clients",
    "screen_tokens",
    "audit_prunes",
    "audit_legacy",
    "staff_totp_steps",
    "screens",
    "day_closures",
    "schedules",
    "schedule_switches",
    "faults",
    "fault_events",
    "outbox",
    "screen_presence",
    "kiosk_presence",
    "server_secrets",
    "timings",
    "server_runs",
    "exam_reports",
    "exam_report_images",
    "appointments",
    "his_nonces",
    "patient_links",
];

/// What a backup holds, written beside it (`<file>.manifest.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The backup file's name (in the same directory).
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub backend: Backend,
    /// The program's version and commit.
    pub version: String,
    /// The newest migration applied.
    pub schema: String,
    pub taken_at: DateTime<Utc>,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    /// The newest event: id, kind, time.
    pub last_event: Option<(i64, String, NaiveDateTime)>,
    /// The audit chain's head (the newest event's hash).
    pub audit_head: Option<String>,
}

/// The program's version and the commit it was built from.
pub fn version() -> String {
    crate::VERSION.to_string()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn count(c: &mut AnyConnection, table: &str) -> Result<i64, DbError> {
    let q = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"));
    let n = match c {
        AnyConnection::Sqlite(c) => q.get_result::<Count>(c)?,
        AnyConnection::Postgresql(c) => q.get_result::<Count>(c)?,
    };
    Ok(n.n)
}

/// The names of the tables the database has.
fn existing_tables(c: &mut AnyConnection) -> Result<std::collections::HashSet<String>, DbError> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<Name> = match c {
        AnyConnection::Sqlite(c) => {
            diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'").load(c)?
        }
        AnyConnection::Postgresql(c) => diesel::sql_query(
            "SELECT table_name::TEXT AS name FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .load(c)?,
    };
    Ok(names.into_iter().map(|n| n.name).collect())
}

fn schema_version(c: &mut AnyConnection) -> Result<String, DbError> {
    let q = diesel::sql_query(
        "SELECT version FROM __diesel_schema_migrations ORDER BY version DESC LIMIT 1",
    );
    let v = match c {
        AnyConnection::Sqlite(c) => q.get_result::<Version>(c)?,
        AnyConnection::Postgresql(c) => q.get_result::<Version>(c)?,
    };
    Ok(v.version)
}

/// What the database at hand holds, as a manifest compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    pub schema: String,
    pub tables: BTreeMap<String, i64>,
    pub last_event: Option<(i64, String, NaiveDateTime)>,
    pub audit_head: Option<String>,
}

/// Reads the contents of a database.
pub fn contents(c: &mut AnyConnection) -> Result<Contents, DbError> {
    use crate::db::schema::events;
    let mut tables = BTreeMap::new();
    // Only the tables this database has: a backup taken before a later
    // migration added one is verified against what it holds (its manifest
    // lists the same tables).
    let present = existing_tables(c)?;
    for t in TABLES.iter().filter(|t| present.contains(**t)) {
        tables.insert(t.to_string(), count(c, t)?);
    }
    let last: Option<(i64, String, NaiveDateTime, Option<String>)> = events::table
        .order(events::id.desc())
        .select((events::id, events::kind, events::at, events::hash))
        .first(c)
        .optional()?;
    Ok(Contents {
        schema: schema_version(c)?,
        tables,
        last_event: last.as_ref().map(|(id, k, at, _)| (*id, k.clone(), *at)),
        audit_head: last.and_then(|(.., h)| h),
    })
}

/// SHA-256 of a file, read in pieces.
pub fn file_sha256(path: &Path) -> Result<(String, u64), DbError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| DbError::Unavailable(format!("cannot read {}: {e}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| DbError::Unavailable(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    Ok((triage_ground::secret::hex(&h.finalize()), total))
}

/// The manifest beside a backup file.
pub fn manifest_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

fn io(what: &str, e: std::io::Error) -> DbError {
    DbError::Unavailable(format!("{what}: {e}"))
}

/// Takes a backup of the database at `url` into `policy.dir` (and a copy in
/// `policy.second_dir`), with its manifest; answers the file and manifest.
/// `progress` hears each step.
pub fn take(
    url: &str,
    policy: &BackupPolicy,
    now: DateTime<Utc>,
    progress: &mut dyn FnMut(&str),
) -> Result<(PathBuf, Manifest), DbError> {
    let (backend, _) = parse_url(url)?;
    std::fs::create_dir_all(&policy.dir).map_err(|e| {
        io(
            &format!(
                "cannot create the backup directory {}",
                policy.dir.display()
            ),
            e,
        )
    })?;
    let ext = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "pgdump",
    };
    let name = format!("triage-{}.{ext}", now.format("%Y%m%d-%H%M%S"));
    let file = policy.dir.join(&name);
    // As the database is: a backup never migrates it (the way back of an
    // upgrade is a backup of the old schema).
    let mut c = db::connect_raw(url)?;
    progress(&format!("writing {}", file.display()));
    // The manifest states exactly what the copy holds: read from the copy
    // (SQLite), or in the transaction whose snapshot pg_dump copies.
    new_backup_file(&file)?;
    let held = match backend {
        Backend::Sqlite => {
            backup::backup(url, &file)?;
            let mut copy = scratch_sqlite(&file)?;
            contents(&mut copy)?
        }
        Backend::Postgres => {
            #[derive(QueryableByName)]
            struct Snapshot {
                #[diesel(sql_type = diesel::sql_types::Text)]
                pg_export_snapshot: String,
            }
            c.batch_execute("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
            let snapshot = match &mut c {
                AnyConnection::Postgresql(p) => {
                    diesel::sql_query("SELECT pg_export_snapshot()")
                        .get_result::<Snapshot>(p)?
                        .pg_export_snapshot
                }
                AnyConnection::Sqlite(_) => {
                    return Err(DbError::Unavailable("not PostgreSQL".into()))
                }
            };
            let held = contents(&mut c);
            let dumped = held
                .as_ref()
                .map_err(|e| DbError::Unavailable(e.to_string()))
                .and_then(|_| backup::backup_at(url, &file, Some(&snapshot)));
            c.batch_execute("COMMIT")?;
            dumped?;
            held?
        }
    };
    owner_only(&file)?;
    progress("checksumming");
    let (sha256, bytes) = file_sha256(&file)?;
    let manifest = Manifest {
        file: name.clone(),
        sha256,
        bytes,
        backend,
        version: version(),
        schema: held.schema,
        taken_at: now,
        tables: held.tables,
        last_event: held.last_event,
        audit_head: held.audit_head,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| DbError::Unavailable(format!("manifest: {e}")))?;
    std::fs::write(manifest_path(&file), text).map_err(|e| io("cannot write the manifest", e))?;
    owner_only(&manifest_path(&file))?;
    if let Some(second) = &policy.second_dir {
        progress(&format!("copying to {}", second.display()));
        copy_to_second(&file, &second.join(&name), &manifest)?;
    }
    Ok((file, manifest))
}

/// A backup and its manifest copied to the second location `to`, owner
/// only, and the copy read back against the manifest: a share that took it
/// badly is known now.
fn copy_to_second(file: &Path, to: &Path, manifest: &Manifest) -> Result<(), DbError> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the second location", e))?;
    }
    std::fs::copy(file, to).map_err(|e| io("cannot copy to the second location", e))?;
    std::fs::copy(manifest_path(file), manifest_path(to))
        .map_err(|e| io("cannot copy the manifest to the second location", e))?;
    owner_only(to)?;
    owner_only(&manifest_path(to))?;
    let (copied, _) = file_sha256(to)?;
    if copied != manifest.sha256 {
        return Err(DbError::Unavailable(format!(
            "第二位置的副本 {} 与备份不一致（校验和不符）",
            to.display()
        )));
    }
    Ok(())
}

/// Makes the backup file empty and owner-only first: the copy never
/// exists readable by others (VACUUM INTO and pg_dump write into an empty
/// file, keeping its mode).
fn new_backup_file(file: &Path) -> Result<(), DbError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map(drop)
        .map_err(|e| io("cannot create the backup file", e))
}

/// A backup file holds every patient of the day: its owner's only (0600).
fn owner_only(path: &Path) -> Result<(), DbError> {
    triage_ground::secret::owner_only(path).map_err(|e| io("cannot make the backup owner-only", e))
}

/// Opens a copy of an SQLite backup (never the file itself).
fn scratch_sqlite(file: &Path) -> Result<AnyConnection, DbError> {
    let scratch = std::env::temp_dir().join(format!(
        "triage-verify-{}-{}.sqlite",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::copy(file, &scratch).map_err(|e| io("cannot copy the backup to a scratch file", e))?;
    let c = diesel::SqliteConnection::establish(&scratch.display().to_string())
        .map_err(|e| DbError::Connect(e.to_string()));
    // The open connection keeps the file; it is removed at once (Unix).
    let _ = std::fs::remove_file(&scratch);
    Ok(AnyConnection::Sqlite(c?))
}

/// One check of a verification.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// What a verification found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub file: String,
    pub verified_at: DateTime<Utc>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The report in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "# 备份校验报告 (backup verification)\n\n- 文件 file: `{}`\n- 时间 at: {}\n- 结论 result: **{}**\n\n| 检查 check | 结果 | 说明 detail |\n| --- | --- | --- |\n",
            self.file,
            self.verified_at
                .with_timezone(&triage_ground::time::shanghai())
                .format("%Y-%m-%d %H:%M:%S（北京时间）"),
            if self.ok() { "通过 good" } else { "失败 BAD" }
        );
        for c in &self.checks {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                c.what,
                if c.ok { "✓" } else { "✗" },
                c.detail.replace('|', "/")
            ));
        }
        out
    }

    /// The report as a printable HTML page.
    pub fn html(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let rows: String = self
            .checks
            .iter()
            .map(|c| {
                format!(
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if c.ok { "ok" } else { "bad" },
                    esc(&c.what),
                    if c.ok { "✓" } else { "✗" },
                    esc(&c.detail)
                )
            })
            .collect();
        format!(
            "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>备份校验报告</title>\
             <style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #999;padding:4px 8px}}table{{border-collapse:collapse}}.bad{{color:#b00}}</style>\
             <h1>备份校验报告</h1><p>文件：<code>{}</code><br>时间：{}<br>结论：<strong>{}</strong></p>\
             <table><tr><th>检查</th><th>结果</th><th>说明</th></tr>{rows}</table></html>\n",
            esc(&self.file),
            self.verified_at
                .with_timezone(&triage_ground::time::shanghai())
                .format("%Y-%m-%d %H:%M:%S（北京时间）"),
            if self.ok() { "通过" } else { "失败" }
        )
    }
}

fn check(checks: &mut Vec<Check>, what: &str, ok: bool, detail: impl Into<String>) -> bool {
    checks.push(Check {
        what: what.into(),
        ok,
        detail: detail.into(),
    });
    ok
}

/// Verifies a backup against its manifest: the checksum, then a restore
/// into a scratch place (SQLite: a copy; PostgreSQL: a scratch database on
/// the server of `scratch_url`, dropped after), its integrity, its audit
/// chain, row counts, the last event and the chain head. Writes the report
/// beside the backup (`.verify.md`, `.verify.html`).
pub fn verify(
    file: &Path,
    scratch_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    let mut checks = Vec::new();
    let manifest: Option<Manifest> = std::fs::read_to_string(manifest_path(file))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let report = |checks: Vec<Check>| Report {
        file: file.display().to_string(),
        verified_at: now,
        checks,
    };
    let Some(m) = manifest else {
        check(
            &mut checks,
            "manifest",
            false,
            "no readable manifest beside the backup",
        );
        return finish(file, report(checks));
    };
    check(
        &mut checks,
        "manifest",
        true,
        format!(
            "taken {}（北京时间）by {}",
            m.taken_at
                .with_timezone(&triage_ground::time::shanghai())
                .format("%Y-%m-%d %H:%M:%S"),
            m.version
        ),
    );
    let (sha, bytes) = match file_sha256(file) {
        Ok(x) => x,
        Err(e) => {
            check(&mut checks, "checksum", false, e.to_string());
            return finish(file, report(checks));
        }
    };
    if !check(
        &mut checks,
        "checksum",
        sha == m.sha256 && bytes == m.bytes,
        if sha == m.sha256 {
            format!("SHA-256 {sha}, {bytes} bytes")
        } else {
            format!("SHA-256 {sha} ({bytes} bytes) is not the manifest's {} ({} bytes): the file is damaged or incomplete", m.sha256, m.bytes)
        },
    ) {
        return finish(file, report(checks));
    }
    let restored = match m.backend {
        Backend::Sqlite => restore_sqlite_scratch(file, &mut checks),
        Backend::Postgres => restore_pg_scratch(file, scratch_url, &mut checks),
    };
    if let Some((mut c, cleanup)) = restored {
        compare(&mut c, &m, &mut checks);
        drop(c);
        cleanup();
    }
    finish(file, report(checks))
}

type Cleanup = Box<dyn FnOnce()>;
/// Removes a scratch copy, saying why it could not.
type Removal = Box<dyn FnOnce() -> Result<(), String>>;

/// A backup restored where nothing uses it (a drill, an inspection's load
/// self-test): SQLite, a copy in the temporary directory; PostgreSQL, a new
/// database on the server of `server_url` (the role needs CREATEDB, as the
/// install manual grants). Removed when dropped.
pub struct ScratchCopy {
    pub url: String,
    cleanup: Option<Removal>,
}

impl Drop for ScratchCopy {
    fn drop(&mut self) {
        if let Some(c) = self.cleanup.take() {
            if let Err(e) = c() {
                tracing::error!(error = %e, "a scratch copy of the database could not be removed");
            }
        }
    }
}

impl ScratchCopy {
    /// Removes the copy now; `Err` says why it is still there (a full
    /// copy of patient data: remove it by hand).
    pub fn remove(mut self) -> Result<(), String> {
        self.cleanup.take().map_or(Ok(()), |c| c())
    }
}

impl ScratchCopy {
    /// A new, empty SQLite database in the temporary directory (migrated
    /// when first connected).
    pub fn empty_sqlite() -> Result<ScratchCopy, DbError> {
        let dir = std::env::temp_dir().join(format!(
            "triage-scratch-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| io("cannot make a scratch directory", e))?;
        Ok(ScratchCopy {
            url: format!("sqlite://{}", dir.join("triage.sqlite").display()),
            cleanup: Some(Box::new(move || {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| format!("{} 未能删除：{e}", dir.display()))
            })),
        })
    }
}

/// A PostgreSQL URL naming the database `name` on the same server, its
/// parameters kept (`?sslmode=…`, a socket's `?host=/run/postgresql`).
fn on_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let server = head.rsplit_once('/').map_or(head, |(b, _)| b);
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Restores `file` into a [`ScratchCopy`] (the live database is not read).
pub fn scratch_copy(file: &Path, server_url: &str) -> Result<ScratchCopy, DbError> {
    let (backend, _) = parse_url(server_url)?;
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!(
                "triage-scratch-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&dir).map_err(|e| io("cannot make a scratch directory", e))?;
            let path = dir.join("triage.sqlite");
            std::fs::copy(file, &path)
                .map_err(|e| io("cannot copy the backup to a scratch file", e))?;
            Ok(ScratchCopy {
                url: format!("sqlite://{}", path.display()),
                cleanup: Some(Box::new(move || {
                    std::fs::remove_dir_all(&dir)
                        .map_err(|e| format!("{} 未能删除：{e}", dir.display()))
                })),
            })
        }
        Backend::Postgres => {
            let name = format!("triage_scratch_{}", rand::random::<u32>());
            let url = on_database(server_url, &name);
            db::connect_raw(server_url)?
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| {
                    DbError::Unavailable(format!(
                        "cannot create a scratch database: {e}（数据库账号需要建库权限：ALTER ROLE triage CREATEDB）"
                    ))
                })?;
            let server = server_url.to_string();
            let copy = ScratchCopy {
                url: url.clone(),
                cleanup: Some(Box::new(move || {
                    db::connect_raw(&server)
                        .map_err(|e| e.to_string())?
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .map_err(|e| format!("临时数据库 {name} 未能删除：{e}"))
                })),
            };
            backup::restore(file, &url)?;
            Ok(copy)
        }
    }
}

/// `PRAGMA integrity_check` of an SQLite connection ("ok" when sound).
fn sqlite_integrity(c: &mut AnyConnection) -> Result<String, String> {
    #[derive(QueryableByName)]
    struct Integrity {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    match c {
        AnyConnection::Sqlite(s) => diesel::sql_query("PRAGMA integrity_check")
            .get_result::<Integrity>(s)
            .map(|r| r.integrity_check)
            .map_err(|e| e.to_string()),
        AnyConnection::Postgresql(_) => Err("not SQLite".into()),
    }
}

fn restore_sqlite_scratch(
    file: &Path,
    checks: &mut Vec<Check>,
) -> Option<(AnyConnection, Cleanup)> {
    let mut c = match scratch_sqlite(file) {
        Ok(c) => c,
        Err(e) => {
            check(checks, "restore", false, e.to_string());
            return None;
        }
    };
    let result = sqlite_integrity(&mut c);
    let ok = result.as_deref() == Ok("ok");
    check(
        checks,
        "restore and integrity",
        ok,
        match result {
            Ok(r) => format!("restored to a scratch file; PRAGMA integrity_check: {r}"),
            Err(e) => format!("the copy does not open as a database: {e}"),
        },
    );
    ok.then(|| (c, Box::new(|| ()) as Cleanup))
}

fn restore_pg_scratch(
    file: &Path,
    scratch_url: Option<&str>,
    checks: &mut Vec<Check>,
) -> Option<(AnyConnection, Cleanup)> {
    let Some(server) = scratch_url else {
        check(checks, "restore", false, "a PostgreSQL backup is restored into a scratch database: give --scratch-url (a server where a database may be created)");
        return None;
    };
    let name = format!("triage_verify_{}", rand::random::<u32>());
    let scratch = on_database(server, &name);
    let admin = match db::connect_raw(server) {
        Ok(c) => c,
        Err(e) => {
            check(
                checks,
                "restore",
                false,
                format!("cannot reach the scratch server: {e}"),
            );
            return None;
        }
    };
    let mut admin = admin;
    if let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
        check(
            checks,
            "restore",
            false,
            format!(
                "cannot create a scratch database: {e}（数据库账号无建库权限时：\
                 sudo -u postgres psql -c 'ALTER ROLE triage CREATEDB'，见安装手册）"
            ),
        );
        return None;
    }
    let server_owned = server.to_string();
    let drop_it: Cleanup = Box::new(move || {
        if let Ok(mut c) = db::connect_raw(&server_owned) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"));
        }
    });
    if let Err(e) = backup::restore(file, &scratch) {
        check(
            checks,
            "restore and integrity",
            false,
            format!("pg_restore refused the backup: {e}"),
        );
        drop_it();
        return None;
    }
    match db::connect_raw(&scratch) {
        Ok(c) => {
            check(
                checks,
                "restore and integrity",
                true,
                "restored into a scratch database with pg_restore --exit-on-error",
            );
            Some((c, drop_it))
        }
        Err(e) => {
            check(checks, "restore and integrity", false, e.to_string());
            drop_it();
            None
        }
    }
}

fn compare(c: &mut AnyConnection, m: &Manifest, checks: &mut Vec<Check>) {
    match crate::db::audit::verify(c) {
        Ok(v) => {
            let ok = matches!(v, crate::db::audit::Verdict::Intact { .. });
            check(checks, "audit chain", ok, v.to_string());
        }
        Err(e) => {
            check(checks, "audit chain", false, e.to_string());
        }
    }
    match contents(c) {
        Ok(got) => {
            check(
                checks,
                "schema",
                got.schema == m.schema,
                format!("{} (manifest {})", got.schema, m.schema),
            );
            let differ: Vec<String> = m
                .tables
                .iter()
                .filter(|(t, n)| got.tables.get(*t) != Some(n))
                .map(|(t, n)| {
                    format!(
                        "{t}: {} (manifest {n})",
                        got.tables.get(t).copied().unwrap_or(-1)
                    )
                })
                .collect();
            let total: i64 = got.tables.values().sum();
            check(
                checks,
                "row counts",
                differ.is_empty(),
                if differ.is_empty() {
                    format!(
                        "{} tables, {total} rows, as the manifest says",
                        got.tables.len()
                    )
                } else {
                    differ.join("; ")
                },
            );
            check(
                checks,
                "last event",
                got.last_event == m.last_event,
                match &got.last_event {
                    Some((id, kind, at)) => format!(
                        "#{id} {kind}, {}",
                        triage_ground::time::utc(*at)
                            .with_timezone(&triage_ground::time::shanghai())
                            .format("%Y-%m-%d %H:%M:%S")
                    ),
                    None => "none".into(),
                },
            );
            check(
                checks,
                "audit chain head",
                got.audit_head == m.audit_head,
                got.audit_head.unwrap_or_else(|| "none".into()),
            );
        }
        Err(e) => {
            check(checks, "contents", false, e.to_string());
        }
    }
}

fn finish(file: &Path, report: Report) -> Result<Report, DbError> {
    let base = file.as_os_str().to_owned();
    let mut md = base.clone();
    md.push(".verify.md");
    let mut html = base;
    html.push(".verify.html");
    std::fs::write(PathBuf::from(md), report.markdown())
        .map_err(|e| io("cannot write the report", e))?;
    std::fs::write(PathBuf::from(html), report.html())
        .map_err(|e| io("cannot write the report", e))?;
    // The ledger beside the backups keeps every result after the backup
    // itself is pruned (the monthly report reads it).
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.what.as_str())
        .collect();
    let ledger = file
        .parent()
        .unwrap_or(Path::new("."))
        .join(crate::ops::ledger::VERIFICATIONS);
    crate::ops::ledger::append(
        &ledger,
        &crate::ops::ledger::Entry {
            kind: crate::ops::ledger::Kind::Verify,
            at: report.verified_at,
            ok: report.ok(),
            subject: report.file.clone(),
            summary: if failed.is_empty() {
                format!("{} checks passed", report.checks.len())
            } else {
                format!("failed: {}", failed.join(", "))
            },
        },
    )
    .map_err(|e| io("cannot write the verification ledger", e))?;
    Ok(report)
}

/// A backup found in the directory: its file and when it was taken (from
/// its manifest), and whether its last verification passed.
#[derive(Clone, Debug)]
pub struct Kept {
    pub file: PathBuf,
    pub taken_at: DateTime<Utc>,
    pub verified_ok: Option<bool>,
}

/// The backups in `dir` (those with a manifest), oldest first.
pub fn list(dir: &Path) -> Result<Vec<Kept>, DbError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io("cannot read the backup directory", e)),
    };
    for e in entries.flatten() {
        let path = e.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(file) = name.strip_suffix(".manifest.json") else {
            continue;
        };
        let Ok(m) = std::fs::read_to_string(&path)
            .map_err(|_| ())
            .and_then(|t| serde_json::from_str::<Manifest>(&t).map_err(|_| ()))
        else {
            continue;
        };
        let file = dir.join(file);
        let mut verify = file.as_os_str().to_owned();
        verify.push(".verify.md");
        let verified_ok = std::fs::read_to_string(PathBuf::from(verify))
            .ok()
            .map(|t| t.contains("通过 good"));
        out.push(Kept {
            file,
            taken_at: m.taken_at,
            verified_ok,
        });
    }
    out.sort_by_key(|k| k.taken_at);
    Ok(out)
}

/// Removes backups older than `keep_days` at `now` (with their manifests
/// and reports), never the newest good one (verified, or else the newest):
/// answers what was removed.
pub fn prune(dir: &Path, now: DateTime<Utc>, keep_days: u32) -> Result<Vec<PathBuf>, DbError> {
    let kept = list(dir)?;
    let newest_good = kept
        .iter()
        .rev()
        .find(|k| k.verified_ok == Some(true))
        .or_else(|| kept.last())
        .map(|k| k.file.clone());
    let cutoff = now - chrono::Duration::days(i64::from(keep_days.max(7)));
    let mut removed = Vec::new();
    for k in kept {
        if k.taken_at >= cutoff || Some(&k.file) == newest_good.as_ref() {
            continue;
        }
        for suffix in ["", ".manifest.json", ".verify.md", ".verify.html"] {
            let mut p = k.file.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| io("cannot remove an old backup", e))?;
            }
        }
        removed.push(k.file);
    }
    Ok(removed)
}

/// What the daily run did.
#[derive(Clone, Debug)]
pub struct Daily {
    pub file: PathBuf,
    pub verified: bool,
    pub pruned: usize,
}

/// When today's backup is due at `now` (`at` has passed and none was taken
/// since): the instant it became due.
pub fn due(policy: &BackupPolicy, at: NaiveTime, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(&triage_ground::time::shanghai());
    let today_at = local
        .date_naive()
        .and_time(at)
        .and_local_timezone(triage_ground::time::shanghai())
        .single()?
        .with_timezone(&Utc);
    if now < today_at {
        return None;
    }
    // A directory that cannot be read holds no backup: the run is due
    // (and its failure is told), never skipped in silence.
    let last = list(&policy.dir)
        .ok()
        .and_then(|kept| kept.last().map(|k| k.taken_at));
    match last {
        Some(t) if t >= today_at => None,
        _ => Some(today_at),
    }
}

/// Takes, verifies and prunes (the daily run). A backup that fails its
/// verification is kept (with its report) and is an error.
pub fn daily(url: &str, policy: &BackupPolicy, now: DateTime<Utc>) -> Result<Daily, DbError> {
    let (file, _) = take(url, policy, now, &mut |step| {
        tracing::debug!(step, "daily backup");
    })?;
    let scratch = match parse_url(url)?.0 {
        Backend::Postgres => Some(url),
        Backend::Sqlite => None,
    };
    let report = verify(&file, scratch, now)?;
    if !report.ok() {
        // Why, in the alert mail itself: the checks that failed.
        let failed: Vec<String> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}：{}", c.what, c.detail))
            .collect();
        return Err(DbError::Unavailable(format!(
            "备份 {} 检查未通过（检查报告在备份旁）：{}",
            file.display(),
            failed.join("；")
        )));
    }
    let pruned = prune(&policy.dir, now, policy.keep_days)?.len();
    if let Some(second) = &policy.second_dir {
        prune(second, now, policy.keep_days)?;
    }
    Ok(Daily {
        file,
        verified: true,
        pruned,
    })
}

/// What a restore did.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The manifest of the backup restored (when it had one).
    pub manifest: Option<Manifest>,
    /// Where the database that was there before went (SQLite), if any.
    pub kept_aside: Option<PathBuf>,
    /// Server connections ended to take the database offline.
    pub ended_connections: i64,
}

impl Restored {
    /// Whether the backup's checksum was checked (it had its manifest).
    pub fn checked(&self) -> bool {
        self.manifest.is_some()
    }
}

/// How many servers use the database at `url` now: SQLite, whether one
/// holds its lock file (1 or 0); PostgreSQL, the server connections.
pub fn servers_using(url: &str) -> Result<i64, DbError> {
    let (backend, target) = parse_url(url)?;
    match backend {
        Backend::Sqlite => {
            let path = db::server_lock_path(&target);
            let f = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
                // Unknown: say so rather than assume nobody uses it.
                Err(e) => return Err(io("cannot tell whether a server uses the database", e)),
            };
            match f.try_lock() {
                Ok(()) => {
                    let _ = f.unlock();
                    Ok(0)
                }
                Err(_) => Ok(1),
            }
        }
        Backend::Postgres => {
            let mut c = db::connect_raw(url)?;
            let q = diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = '{}' AND pid <> pg_backend_pid()",
                db::SERVER_APPLICATION_NAME
            ));
            match &mut c {
                AnyConnection::Postgresql(p) => Ok(q.get_result::<Count>(p)?.n),
                AnyConnection::Sqlite(_) => Ok(0),
            }
        }
    }
}

/// Restores `file` into the database at `url`, so that a failure can never
/// leave the hospital worse off: refused while a server uses it, unless
/// `take_offline` (PostgreSQL: its connections are ended; an SQLite file
/// cannot be taken from a running server: stop it). A backup without its
/// manifest, or whose checksum differs from it, is refused unless `force`.
/// SQLite: the backup is copied beside the live file, checked
/// (`integrity_check`) and migrated forward there, and only then swapped in
/// by renames; the file there before is kept aside
/// (`.before-restore-<time>`). PostgreSQL: `pg_restore --single-transaction`
/// replaces the database's objects all at once or not at all. Any refusal
/// or failure leaves the live database as it was, and says so.
pub fn restore(
    file: &Path,
    url: &str,
    take_offline: bool,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Restored, DbError> {
    let (backend, target) = parse_url(url)?;
    let manifest: Option<Manifest> = std::fs::read_to_string(manifest_path(file))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    match &manifest {
        Some(m) => {
            let (sha, _) = file_sha256(file)?;
            if sha != m.sha256 && !force {
                return Err(untouched(format!(
                    "{} 与其清单（manifest）的校验和不符，备份已损坏或不完整；确需恢复请加 --force",
                    file.display()
                )));
            }
            if m.backend != backend {
                return Err(untouched(format!(
                    "{} 的备份不能恢复到 {}",
                    m.backend,
                    backend.as_str()
                )));
            }
        }
        None if !force => {
            return Err(untouched(format!(
                "{} 旁没有清单（.manifest.json），无法核对校验和；确需恢复请加 --force",
                file.display()
            )))
        }
        None => {}
    }
    // SQLite: the server lock held for the whole restore, so that a server
    // starting meanwhile waits for it (rather than writing to the file that
    // is then moved aside).
    let held = match backend {
        Backend::Sqlite => Some(hold_sqlite(&target)?),
        Backend::Postgres => None,
    };
    let ended = match held {
        Some(_) => 0,
        None => take_database(url, backend, take_offline)?,
    };
    if backend == Backend::Postgres {
        refuse_older_schema(url, manifest.as_ref())?;
    }
    let kept_aside = match backend {
        Backend::Sqlite => restore_sqlite_safely(file, &target, now)?,
        Backend::Postgres => {
            backup::restore_replacing(file, url).map_err(|e| untouched(e.to_string()))?;
            None
        }
    };
    db::connect_one(url)?;
    Ok(Restored {
        manifest,
        kept_aside,
        ended_connections: ended,
    })
}

/// The SQLite server lock, taken alone for a restore; refused while a
/// server holds it.
fn hold_sqlite(target: &str) -> Result<std::fs::File, DbError> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(db::server_lock_path(target))
        .map_err(|e| untouched(format!("无法打开服务器锁文件：{e}")))?;
    f.try_lock().map_err(|_| {
        untouched("服务器正在使用该数据库，请先停止（systemctl stop triage）".into())
    })?;
    Ok(f)
}

/// PostgreSQL: `pg_restore --clean` drops only what the backup holds, so a
/// backup older than the database's schema would leave the newer tables
/// behind and the migrations after it would fail: refused (restore it into
/// a new, empty database instead). An empty database takes any backup.
fn refuse_older_schema(url: &str, manifest: Option<&Manifest>) -> Result<(), DbError> {
    let Some(m) = manifest else {
        return Ok(());
    };
    let mut c = db::connect_raw(url)?;
    let applied = db::migration_status(&mut c)
        .map(|l| {
            l.into_iter()
                .filter(|(_, done)| *done)
                .map(|(v, _)| v)
                .max()
        })
        .unwrap_or(None);
    match applied {
        Some(newest) if m.schema.as_str() < newest.as_str() => Err(untouched(format!(
            "备份的结构版本 {} 比该库的 {newest} 旧：PostgreSQL 的恢复不会删除备份之后新增的表。\
             请恢复到新建的空库（sudo -u postgres createdb -O triage triage_restored），再把服务指向它",
            m.schema
        ))),
        _ => Ok(()),
    }
}

/// A refusal or failure of a restore that changed nothing.
fn untouched(why: String) -> DbError {
    DbError::Unavailable(format!("{why}。未恢复，现有数据库保持原样，未作任何改动"))
}

/// The database free for a restore: refused while a server uses it, unless
/// `take_offline` on PostgreSQL (its connections are ended). Answers the
/// connections ended.
fn take_database(url: &str, backend: Backend, take_offline: bool) -> Result<i64, DbError> {
    let using = servers_using(url)?;
    if using == 0 {
        return Ok(0);
    }
    match (backend, take_offline) {
        (Backend::Postgres, true) => {
            let mut c = db::connect_raw(url)?;
            let q = diesel::sql_query(format!(
                "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = '{}' \
                 AND pid <> pg_backend_pid()",
                db::SERVER_APPLICATION_NAME
            ));
            let mut ended = 0;
            if let AnyConnection::Postgresql(p) = &mut c {
                ended = q.get_result::<Count>(p)?.n;
            }
            // A running server's pool connects again at once: only a
            // server that is down (or hung) is really offline now.
            std::thread::sleep(std::time::Duration::from_secs(2));
            let back = servers_using(url)?;
            if back > 0 {
                return Err(untouched(format!(
                    "{back} 个服务器连接被结束后又连回：服务器仍在运行，请先停止（systemctl stop triage）"
                )));
            }
            Ok(ended)
        }
        (Backend::Sqlite, _) => Err(untouched(
            "服务器正在使用该数据库，请先停止（systemctl stop triage）".into(),
        )),
        (Backend::Postgres, false) => Err(untouched(format!(
            "{using} 个服务器连接正在使用该数据库：请先停止服务器，或加 --take-offline 结束这些连接"
        ))),
    }
}

/// The SQLite side of a restore: the backup copied beside the live file
/// (the same file system, so the swap is a rename), checked and migrated
/// there; then the live file (with its `-wal`, `-shm`) is moved aside and
/// the copy takes its place. Until the swap nothing of the live database
/// changes; a failed swap is undone. Answers where the old file went.
fn restore_sqlite_safely(
    file: &Path,
    target: &str,
    now: DateTime<Utc>,
) -> Result<Option<PathBuf>, DbError> {
    let stamp = now.format("%Y%m%d-%H%M%S");
    let live = PathBuf::from(target);
    let staging = PathBuf::from(format!("{target}.restoring-{stamp}"));
    let with = |p: &Path, suffix: &str| {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let discard = |p: &Path| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(with(p, suffix));
        }
    };
    if let Err(e) = std::fs::copy(file, &staging) {
        discard(&staging);
        return Err(untouched(format!(
            "无法复制备份到 {}：{e}",
            staging.display()
        )));
    }
    let checked = (|| -> Result<(), String> {
        let mut c = db::connect_raw(&format!("sqlite://{}", staging.display()))
            .map_err(|e| e.to_string())?;
        match sqlite_integrity(&mut c)? {
            r if r == "ok" => {}
            r => return Err(format!("integrity_check: {r}")),
        }
        db::conn::run_migrations(&mut c).map_err(|e| e.to_string())?;
        if let AnyConnection::Sqlite(s) = &mut c {
            use diesel::connection::SimpleConnection;
            s.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })();
    if let Err(e) = checked {
        discard(&staging);
        return Err(untouched(format!("备份不是可用的数据库（{e}）")));
    }
    let aside = PathBuf::from(format!("{target}.before-restore-{stamp}"));
    // The live database's log folded into its file first, so that it moves
    // as one file (a crash between two renames leaves no log beside the
    // wrong database).
    if live.exists() {
        if let Ok(AnyConnection::Sqlite(mut s)) = db::connect_raw(&format!("sqlite://{target}")) {
            use diesel::connection::SimpleConnection;
            let _ = s.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)");
        }
    }
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let put_back = |moved: &[(PathBuf, PathBuf)]| -> Result<(), String> {
        for (from, to) in moved.iter().rev() {
            std::fs::rename(to, from)
                .map_err(|e| format!("{} 未能改回 {}：{e}", to.display(), from.display()))?;
        }
        Ok(())
    };
    // A failed swap undone: said so, or where the old files are if not.
    let failed = |why: String, moved: &[(PathBuf, PathBuf)]| match put_back(moved) {
        Ok(()) => untouched(why),
        Err(e) => DbError::Unavailable(format!(
            "{why}；撤回时出错（{e}）：原数据库在 {}，请手动改回",
            aside.display()
        )),
    };
    for suffix in ["", "-wal", "-shm"] {
        let (from, to) = (with(&live, suffix), with(&aside, suffix));
        if from.exists() {
            if let Err(e) = std::fs::rename(&from, &to) {
                discard(&staging);
                return Err(failed(format!("无法把现有数据库移到一旁：{e}"), &moved));
            }
            moved.push((from, to));
        }
    }
    if let Err(e) = std::fs::rename(&staging, &live) {
        discard(&staging);
        return Err(failed(format!("无法换入恢复的数据库：{e}"), &moved));
    }
    discard(&staging);
    Ok((!moved.is_empty()).then_some(aside))
}

#[cfg(test)]
mod scratch_urls {
    use super::on_database;

    #[test]
    fn a_scratch_database_is_on_the_same_server_with_the_same_parameters() {
        assert_eq!(
            on_database("postgres://triage:pw@10.0.0.5:5432/triage", "s1"),
            "postgres://triage:pw@10.0.0.5:5432/s1"
        );
        assert_eq!(
            on_database(
                "postgres://t@db/triage?sslmode=require&application_name=x",
                "s1"
            ),
            "postgres://t@db/s1?sslmode=require&application_name=x"
        );
        assert_eq!(
            on_database("postgres:///triage?host=/var/run/postgresql", "s1"),
            "postgres:///s1?host=/var/run/postgresql"
        );
    }
}
