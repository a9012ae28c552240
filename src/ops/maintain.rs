//! Database maintenance (数据库维护, at least four times a year): the
//! integrity check, audit records past their retention archived (gzip JSON
//! lines) and then deleted, statistics, indexes rebuilt and space given
//! back, sizes before and after, and the slowest statements the server
//! timed. SQLite's `REINDEX` and `VACUUM` take the write lock: beside a
//! running server they run when the database is small enough that its
//! writes wait only a few seconds ([`ONLINE_REBUILD_BYTES`]), and are
//! otherwise left for a stop, said in the report (a scheduled run raises a
//! warning). PostgreSQL's `VACUUM (ANALYZE)` and `REINDEX DATABASE
//! CONCURRENTLY` run beside the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::ledger;
use super::timings::{self, Agg};
use crate::db::{self, AnyConnection, Backend, DbError};
use crate::report::Doc;

/// The largest SQLite database whose REINDEX and VACUUM run beside a
/// running server (its writes wait meanwhile, a few seconds at most at
/// this size); a larger one is left for a stop, and the maintenance says
/// so (a scheduled one raises a warning).
pub const ONLINE_REBUILD_BYTES: u64 = 128 * 1024 * 1024;

/// One step of a maintenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub what: String,
    /// `None`: skipped (the detail says why).
    pub ok: Option<bool>,
    pub detail: String,
    pub seconds: f64,
}

/// What an archive of expired audit records wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Archived {
    pub file: Option<PathBuf>,
    pub records: u64,
    pub removed: u64,
}

/// What a maintenance did.
#[derive(Clone, Debug)]
pub struct Maintenance {
    pub at: DateTime<Utc>,
    pub backend: Backend,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub rows_before: BTreeMap<String, i64>,
    pub rows_after: BTreeMap<String, i64>,
    pub steps: Vec<Step>,
    pub archived: Archived,
    pub slowest: Vec<(String, Agg)>,
    pub report: PathBuf,
}

impl Maintenance {
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.ok != Some(false))
    }

    /// The steps left undone, with why.
    pub fn skipped(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.ok.is_none())
            .map(|s| format!("{}：{}", s.what, s.detail))
            .collect()
    }
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// PostgreSQL's integrity check, honest about what it can see: every table
/// of the schema read in full (a read error shows), and whether the
/// cluster has data checksums (with them, every page read was checked;
/// without, silent corruption cannot be seen).
fn pg_integrity(p: &mut diesel::PgConnection) -> Result<String, String> {
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_checksums: String,
    }
    #[derive(QueryableByName)]
    struct Rows {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let checksums = diesel::sql_query("SHOW data_checksums")
        .get_result::<Setting>(p)
        .map_err(|e| e.to_string())?
        .data_checksums;
    let tables: Vec<Name> = diesel::sql_query(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
    )
    .load(p)
    .map_err(|e| e.to_string())?;
    let mut rows = 0i64;
    for t in &tables {
        // Whole rows, long values too (no index-only shortcut): every
        // page and every TOAST value is read.
        rows += diesel::sql_query(format!(
            "SELECT COUNT(length(t::text))::BIGINT AS n FROM \"{}\" t",
            t.name.replace('"', "\"\"")
        ))
        .get_result::<Rows>(p)
        .map_err(|e| format!("{}: {e}", t.name))?
        .n;
    }
    let read = format!(
        "完整读取 {} 张表、{rows} 行（含长字段） {} tables, {rows} rows read in full",
        tables.len(),
        tables.len()
    );
    Ok(if checksums == "on" {
        format!("{read}；数据校验和已开启，读取的每一页都经过校验 data checksums on")
    } else {
        format!(
            "{read}；数据校验和未开启 data checksums OFF：读错误会被发现，静默损坏无法发现；\
             可在 PostgreSQL 停止时用 pg_checksums --enable 开启"
        )
    })
}

/// The database's size on disk: SQLite's file and its write-ahead log, or
/// PostgreSQL's `pg_database_size`.
pub fn database_bytes(c: &mut AnyConnection, url: &str) -> Result<u64, DbError> {
    match c {
        AnyConnection::Sqlite(_) => {
            let (_, path) = db::parse_url(url)?;
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            Ok(size(&path) + size(&format!("{path}-wal")))
        }
        AnyConnection::Postgresql(p) => {
            let b: Bytes =
                diesel::sql_query("SELECT pg_database_size(current_database())::BIGINT AS bytes")
                    .get_result(p)?;
            Ok(u64::try_from(b.bytes).unwrap_or(0))
        }
    }
}

/// Exports the audit records written before `cutoff` into
/// `<dir>/events-<first id>-<last id>-<time>.jsonl.gz` (written whole and synced
/// before anything is deleted), then removes them through the chain's
/// prune (its anchor and `audit.pruned` event), batch by batch.
pub fn archive_expired(
    c: &mut AnyConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    dir: &Path,
) -> Result<Archived, DbError> {
    use crate::db::schema::events;
    let failed = |e: std::io::Error| DbError::Unavailable(format!("cannot write the archive: {e}"));
    let oldest: Option<NaiveDateTime> = events::table
        .order(events::id)
        .select(events::at)
        .first(c)
        .optional()?;
    if oldest.is_none_or(|at| at >= cutoff) {
        return Ok(Archived::default());
    }
    std::fs::create_dir_all(dir).map_err(failed)?;
    // A name no other archiver uses; removed on every failure, so a full
    // disk is not filled further by what could not be finished.
    let partial = dir.join(format!(
        "events-{}-{}.partial",
        now.format("%Y%m%d%H%M%S"),
        std::process::id()
    ));
    let written = (|| -> Result<(u64, Option<(i64, i64)>), DbError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(failed)?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let exported = db::audit::export_expired(c, cutoff, &mut gz)?;
        let file = gz.finish().map_err(failed)?;
        file.sync_all().map_err(failed)?;
        Ok(exported)
    })();
    let (records, ids) = match written {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let Some((first, last)) = ids else {
        std::fs::remove_file(&partial).map_err(failed)?;
        return Ok(Archived::default());
    };
    let done = dir.join(format!(
        "events-{first}-{last}-{}.jsonl.gz",
        now.format("%Y%m%d%H%M%S")
    ));
    if done.exists() {
        let _ = std::fs::remove_file(&partial);
        return Err(DbError::Unavailable(format!(
            "the archive {} exists already: records {first} to {last} were archived before but not removed; look at it before running again",
            done.display()
        )));
    }
    if let Err(e) = std::fs::rename(&partial, &done) {
        let _ = std::fs::remove_file(&partial);
        return Err(failed(e));
    }
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(failed)?;
    // Only what the archive holds is removed.
    let mut removed = 0;
    loop {
        let p = db::write_transaction(c, |c| {
            db::audit::prune_through(c, cutoff, Some(last), now, db::audit::PRUNE_BATCH)
        })?;
        removed += p.records;
        if !p.more {
            break;
        }
    }
    Ok(Archived {
        file: Some(done),
        records,
        removed,
    })
}

fn timed(steps: &mut Vec<Step>, what: &str, f: impl FnOnce() -> Result<String, String>) {
    let started = Instant::now();
    let (ok, detail) = match f() {
        Ok(d) => (Some(true), d),
        Err(e) => (Some(false), e),
    };
    steps.push(Step {
        what: what.into(),
        ok,
        detail,
        seconds: started.elapsed().as_secs_f64(),
    });
}

fn skipped(steps: &mut Vec<Step>, what: &str, why: &str) {
    steps.push(Step {
        what: what.into(),
        ok: None,
        detail: why.into(),
        seconds: 0.0,
    });
}

fn rows(c: &mut AnyConnection) -> Result<BTreeMap<String, i64>, DbError> {
    Ok(crate::backups::contents(c)?.tables)
}

/// Runs a maintenance of the database at `url` with the configuration's
/// retention and directories; `server_running` leaves SQLite's exclusive
/// steps out. Writes the report (Markdown and HTML) and its ledger line.
pub fn run(
    url: &str,
    hospital: &crate::config::Hospital,
    now: DateTime<Utc>,
    server_running: bool,
) -> Result<Maintenance, DbError> {
    let mut c = db::connect_raw(url)?;
    let backend = db::parse_url(url)?.0;
    let policy = &hospital.operations;
    let bytes_before = database_bytes(&mut c, url)?;
    let rows_before = rows(&mut c)?;
    let mut steps = Vec::new();
    match &mut c {
        AnyConnection::Sqlite(s) => timed(&mut steps, "完整性检查 integrity_check", || {
            let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
                .load(s)
                .map_err(|e| e.to_string())?;
            let text: Vec<String> = lines.into_iter().map(|l| l.integrity_check).collect();
            if text == ["ok"] {
                Ok("ok".into())
            } else {
                Err(text.join("; "))
            }
        }),
        AnyConnection::Postgresql(p) => {
            timed(&mut steps, "完整性检查 integrity check", || {
                pg_integrity(p)
            })
        }
    }
    let cutoff =
        now.naive_utc() - chrono::Duration::days(i64::from(hospital.security.audit_retention_days));
    let mut archived = Archived::default();
    timed(
        &mut steps,
        "归档过期审计记录 archive expired audit records",
        || {
            archived = archive_expired(&mut c, cutoff, now.naive_utc(), &policy.archive_dir)
                .map_err(|e| e.to_string())?;
            Ok(match &archived.file {
                Some(f) => format!(
                    "{} records before {} archived to {} and removed ({})",
                    archived.records,
                    cutoff.format("%Y-%m-%d"),
                    f.display(),
                    archived.removed
                ),
                None => format!(
                    "none older than {} days",
                    hospital.security.audit_retention_days
                ),
            })
        },
    );
    match &mut c {
        AnyConnection::Sqlite(s) => {
            timed(&mut steps, "统计信息 ANALYZE", || {
                s.batch_execute("ANALYZE")
                    .map(|_| "ok".into())
                    .map_err(|e| e.to_string())
            });
            if server_running && bytes_before > ONLINE_REBUILD_BYTES {
                let why = format!(
                    "服务器正在使用该数据库（{}，超过 {}）：整理期间写入要暂停太久，未执行。请在停机窗口停止服务后执行 triage db maintain",
                    human_bytes(bytes_before),
                    human_bytes(ONLINE_REBUILD_BYTES)
                );
                skipped(&mut steps, "重建索引 REINDEX", &why);
                skipped(&mut steps, "空间整理 VACUUM", &why);
            } else {
                // Beside a running server (a small database): the server's
                // writes wait for these (its busy timeout is 10 s), each a
                // second or two at this size; said with the time taken.
                timed(&mut steps, "重建索引 REINDEX", || {
                    s.batch_execute("REINDEX")
                        .map(|_| "ok".into())
                        .map_err(|e| e.to_string())
                });
                timed(&mut steps, "空间整理 VACUUM", || {
                    s.batch_execute("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
                        .map(|_| "ok".into())
                        .map_err(|e| e.to_string())
                });
                if server_running {
                    let paused: f64 = steps.iter().rev().take(2).map(|s| s.seconds).sum();
                    for s in steps.iter_mut().rev().take(2) {
                        s.detail = format!(
                            "{}（服务器运行中执行，写入随之暂停，两步共约 {paused:.1} 秒）",
                            s.detail
                        );
                    }
                }
            }
        }
        AnyConnection::Postgresql(p) => {
            timed(&mut steps, "清理与统计 VACUUM (ANALYZE)", || {
                p.batch_execute("VACUUM (ANALYZE)")
                    .map(|_| "ok".into())
                    .map_err(|e| e.to_string())
            });
            timed(
                &mut steps,
                "重建索引 REINDEX DATABASE CONCURRENTLY",
                || {
                    let n: Name = diesel::sql_query("SELECT current_database()::TEXT AS name")
                        .get_result(p)
                        .map_err(|e| e.to_string())?;
                    let quoted = format!("\"{}\"", n.name.replace('"', "\"\""));
                    p.batch_execute(&format!("REINDEX DATABASE CONCURRENTLY {quoted}"))
                        .map(|_| "ok".into())
                        .map_err(|e| e.to_string())
                },
            );
        }
    }
    let bytes_after = database_bytes(&mut c, url)?;
    let rows_after = rows(&mut c)?;
    let today = triage_ground::time::service_date(now);
    let mut slowest = timings::between(&mut c, "sql", today - chrono::Duration::days(90), today)?;
    slowest.sort_by(|a, b| b.1.max_ms.total_cmp(&a.1.max_ms));
    slowest.truncate(15);
    let mut m = Maintenance {
        at: now,
        backend,
        bytes_before,
        bytes_after,
        rows_before,
        rows_after,
        steps,
        archived,
        slowest,
        report: PathBuf::new(),
    };
    let stem = format!(
        "maintenance-{}",
        now.with_timezone(&triage_ground::time::shanghai())
            .format("%Y%m%d-%H%M%S")
    );
    let fail = |e: std::io::Error| DbError::Unavailable(format!("cannot write the report: {e}"));
    let (md, _) = report(&m, url)
        .write(&policy.reports_dir, &stem)
        .map_err(fail)?;
    m.report = md.clone();
    ledger::append(
        &policy.reports_dir.join(ledger::OPERATIONS),
        &ledger::Entry {
            kind: crate::ops::ledger::Kind::Maintain,
            at: now,
            ok: m.ok(),
            subject: md.display().to_string(),
            summary: format!(
                "{} → {} bytes; {} audit records archived",
                m.bytes_before, m.bytes_after, m.archived.records
            ),
        },
    )
    .map_err(fail)?;
    Ok(m)
}

/// `12.3 MB`.
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} KB", b / 1e3)
    }
}

fn report(m: &Maintenance, url: &str) -> Doc {
    let mut d = Doc::new("数据库维护报告 (database maintenance)");
    d.para(format!(
        "数据库 database: {}（{}）　时间 at: {}　结论 result: {}",
        db::redact_url(url),
        match m.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        m.at.with_timezone(&triage_ground::time::shanghai())
            .format("%Y-%m-%d %H:%M:%S"),
        if m.ok() {
            "完成 done"
        } else {
            "有步骤失败 a step FAILED"
        }
    ));
    d.heading("步骤 Steps").table(
        &["步骤 step", "结果 result", "用时 seconds", "说明 detail"],
        m.steps
            .iter()
            .map(|s| {
                vec![
                    s.what.clone(),
                    match s.ok {
                        Some(true) => "✓".into(),
                        Some(false) => "✗ 失败".into(),
                        None => "跳过 skipped".into(),
                    },
                    format!("{:.2}", s.seconds),
                    s.detail.clone(),
                ]
            })
            .collect(),
    );
    let mut sizes = vec![vec![
        "数据库大小 size".to_string(),
        human_bytes(m.bytes_before),
        human_bytes(m.bytes_after),
    ]];
    for (t, before) in &m.rows_before {
        let after = m.rows_after.get(t).copied().unwrap_or(0);
        sizes.push(vec![t.clone(), before.to_string(), after.to_string()]);
    }
    d.heading("维护前后 Before and after")
        .table(&["项目 item", "维护前 before", "维护后 after"], sizes);
    d.heading("最慢的语句 Slowest statements (90 days, ≥ 10 ms)")
        .table(
            &[
                "语句 statement",
                "次数 calls",
                "平均 mean ms",
                "最长 max ms",
            ],
            m.slowest
                .iter()
                .map(|(sql, a)| {
                    vec![
                        sql.clone(),
                        a.calls.to_string(),
                        format!("{:.1}", a.total_ms / a.calls.max(1) as f64),
                        format!("{:.1}", a.max_ms),
                    ]
                })
                .collect(),
        );
    d
}
