//! `triage db maintain`: a database maintenance now (数据库维护), its
//! steps, sizes and slowest statements printed and written as a report.

use std::process::ExitCode;

use clap::Subcommand;

use super::target::{on_target, Target};
use crate::config::Hospital;
use crate::ops::maintain::{human_bytes, Maintenance};

#[derive(Subcommand)]
pub enum DbCommand {
    /// Run a maintenance now and write its report (SQLite: REINDEX and
    /// VACUUM only with no server on the database). Exits 1 when a step
    /// failed.
    Maintain {
        #[command(flatten)]
        target: Target,
    },
}

/// `triage db …`.
pub fn run(command: DbCommand) -> ExitCode {
    match command {
        DbCommand::Maintain { target } => on_target(target, maintain),
    }
}

/// `triage db maintain`: 0 every step done, 1 a step failed.
fn maintain(database_url: &str, hospital: &Hospital) -> ExitCode {
    // Not knowing whether a server runs counts as one running (REINDEX
    // and VACUUM only within the size a running server can wait for).
    let running = match crate::backups::servers_using(database_url) {
        Ok(n) => n > 0,
        Err(e) => {
            eprintln!("无法判断是否有服务器在使用该数据库（{e}）：按“在使用”处理（REINDEX 和 VACUUM 只在数据库较小时执行）");
            true
        }
    };
    match crate::ops::maintain::run(
        database_url,
        hospital,
        triage_ground::time::program_now(),
        running,
    ) {
        Ok(m) => {
            print_maintenance(&m);
            if m.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// What a maintenance did: its steps, the sizes, the slowest statements,
/// where the report is.
fn print_maintenance(m: &Maintenance) {
    for s in &m.steps {
        let mark = match s.ok {
            Some(true) => "ok     ",
            Some(false) => "FAILED ",
            None => "skipped",
        };
        println!("{mark} {} ({:.2} s): {}", s.what, s.seconds, s.detail);
    }
    println!(
        "size: {} before, {} after",
        human_bytes(m.bytes_before),
        human_bytes(m.bytes_after)
    );
    for (sql, a) in m.slowest.iter().take(5) {
        println!("slow: {:.1} ms max, {} calls: {sql}", a.max_ms, a.calls);
    }
    println!("report: {} (and .html)", m.report.display());
}
