//! `triage inspect`: the inspection report (巡检报告) now, its summary and
//! risks printed.

use std::process::ExitCode;

use chrono::NaiveDate;

use super::target::{on_target, Target};

/// `triage inspect`: 0 written, 1 failed.
pub fn run(target: Target, days: u32, holiday: Option<NaiveDate>) -> ExitCode {
    on_target(
        target,
        |database_url, hospital| match crate::ops::inspect::run(
            database_url,
            hospital,
            triage_ground::time::program_now(),
            days,
            holiday,
        ) {
            Ok(i) => {
                println!(
                    "inspection {} to {}: {} visits, database {}, {} backups kept, {} faults, audit {}",
                    i.from,
                    i.to,
                    i.visits_in_period,
                    crate::ops::maintain::human_bytes(i.bytes),
                    i.backups.len(),
                    i.faults.total,
                    if i.audit_intact { "intact" } else { "NOT INTACT" }
                );
                for r in &i.risks {
                    println!("risk ({:?}): {} — {}", r.level, r.finding, r.recommendation);
                }
                println!("report: {} (and .html)", i.report.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    )
}
