//! `triage migrate`: apply pending migrations (outside the working hours
//! unless asked), or report them (`--status`, `--check`).

use std::process::ExitCode;

use crate::db::{redact_url, Db, DbSettings, Synchronous};

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
                "error: it is working hours ({working_hours}); {} migrations are pending. Upgrade at night or at the weekend, or give --during-working-hours (back up first: triage backup).",
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
