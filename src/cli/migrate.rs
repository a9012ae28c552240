//! `triage migrate`: apply pending migrations (outside the working hours
//! unless asked), or report them (`--status`, `--check`).

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::db::{redact_url, Db, DbSettings, Synchronous};

/// The exit code of a start or a migration refused in working hours.
pub const REFUSED_IN_WORKING_HOURS: u8 = 3;

/// Whether `triage serve` may start now on `database_url`: it applies
/// pending migrations at start, which in `working_hours` (local time) waits
/// for the evening or the weekend unless `allowed`, the same rule as
/// `triage migrate`. A database not made yet, or with no migration applied,
/// is a first installation and may start. `Err((code, why))` when not:
/// 3 refused in working hours, 2 bad working hours, 1 the database cannot
/// be read.
pub fn may_serve(
    database_url: &str,
    working_hours: &str,
    now: DateTime<Utc>,
    allowed: bool,
) -> Result<(), (u8, String)> {
    if allowed || crate::db::missing_sqlite_file(database_url).is_some() {
        return Ok(());
    }
    let list = crate::db::connect_raw(database_url)
        .and_then(|mut c| crate::db::migration_status(&mut c))
        .map_err(|e| (1, e.to_string()))?;
    let pending = list.iter().filter(|(_, done)| !done).count();
    if pending == 0 || pending == list.len() {
        return Ok(());
    }
    let local = now.with_timezone(&triage_ground::time::shanghai()).time();
    match triage_ground::time::in_daily_window(working_hours, local) {
        Err(e) => Err((2, e)),
        Ok(false) => Ok(()),
        Ok(true) => Err((
            REFUSED_IN_WORKING_HOURS,
            format!(
                "现在是工作时间（{working_hours}），数据库有 {pending} 个待执行的迁移：工作时间内不执行迁移（升级安排在下班后或周末）。\
                 确需现在升级：先备份（triage backup），再执行 triage migrate --during-working-hours，然后（重新）启动服务，\
                 或给 triage serve 加 --migrate-during-working-hours；见《升级说明》"
            ),
        )),
    }
}

/// `triage migrate --may-serve`: 0 when `triage serve` would start now
/// (nothing pending, outside working hours, or a new database), 3 when it
/// would refuse (the package's post-install step then leaves the running
/// server alone).
pub fn may_serve_now(database_url: &str, working_hours: &str) -> ExitCode {
    // A database file that is not there, named by a relative path (the
    // built-in default): most likely the service's settings were not read,
    // and "a new database" would let a server migrate in the daytime.
    if let Some(target) = crate::db::missing_sqlite_file(database_url) {
        if std::path::Path::new(&target).is_relative() {
            eprintln!(
                "无法确定服务使用的数据库（{target} 不存在，且是相对路径：TRIAGE_DATABASE_URL 未设置？）；为稳妥起见不启动"
            );
            return ExitCode::from(1);
        }
    }
    match may_serve(
        database_url,
        working_hours,
        triage_ground::time::program_now(),
        false,
    ) {
        Ok(()) => {
            println!("可以启动：没有待执行的迁移，或不在工作时间（{working_hours}）");
            ExitCode::SUCCESS
        }
        Err((code, why)) => {
            eprintln!("{why}");
            ExitCode::from(code)
        }
    }
}

/// `triage migrate`: apply pending migrations (outside working hours unless
/// asked), or report them (`--status`, `--check`).
pub fn run(
    database_url: &str,
    status: bool,
    check: bool,
    working_hours: &str,
    during_working_hours: bool,
) -> ExitCode {
    if let Err(e) = crate::db::parse_url(database_url) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    // Reporting only reads: a database file that does not exist has every
    // migration pending, and is not made.
    let missing = crate::db::missing_sqlite_file(database_url);
    let list = match &missing {
        Some(target) if status || check => {
            println!("数据库文件 {target} 尚不存在（不新建）：所有迁移待执行");
            crate::db::sqlite_migrations_pending()
        }
        _ => crate::db::connect_raw(database_url)
            .and_then(|mut c| crate::db::migration_status(&mut c)),
    };
    let list = match list {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let pending: Vec<&String> = list.iter().filter(|(_, d)| !d).map(|(v, _)| v).collect();
    if status || check {
        for (v, done) in &list {
            println!("{v}  {}", if *done { "applied" } else { "PENDING" });
        }
        println!(
            "{} applied, {} pending ({})",
            list.len() - pending.len(),
            pending.len(),
            redact_url(database_url)
        );
        return if check && !pending.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    if pending.is_empty() {
        println!(
            "nothing to migrate: {} is up to date",
            redact_url(database_url)
        );
        return ExitCode::SUCCESS;
    }
    let now = triage_ground::time::program_now()
        .with_timezone(&triage_ground::time::shanghai())
        .time();
    match triage_ground::time::in_daily_window(working_hours, now) {
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Ok(true) if !during_working_hours => {
            eprintln!(
                "error: 现在是工作时间（{working_hours}），有 {} 个待执行的迁移，未执行。请在下班后或周末升级；确需现在执行：先备份（triage backup），再加 --during-working-hours",
                pending.len()
            );
            return ExitCode::from(3);
        }
        Ok(_) => {}
    }
    let s = DbSettings {
        url: database_url.to_string(),
        synchronous: Synchronous::Full,
        pool_size: 2,
    };
    match Db::connect(&s, crate::background::Background::new().as_ref()) {
        Ok(_) => {
            println!(
                "{} migrations applied to {}",
                pending.len(),
                redact_url(database_url)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
