//! `triage doctors check`: the doctors' integrity report
//! (医生信息完整性检查), counts by kind and the findings, also written as a
//! report.

use std::process::ExitCode;

use clap::Subcommand;

use super::target::{on_target, Target};
use crate::config::Hospital;

#[derive(Subcommand)]
pub enum DoctorsCommand {
    /// Doctors missing a photo, title or introduction, unknown
    /// departments, same-named doctors of a department, rooms whose doctor
    /// is unknown: counts by kind and the list, also written as a report
    /// into `[operations] reports_dir`. Exits 1 when anything is found.
    Check {
        #[command(flatten)]
        target: Target,
    },
}

/// `triage doctors …`.
pub fn run(command: DoctorsCommand) -> ExitCode {
    match command {
        DoctorsCommand::Check { target } => on_target(target, check),
    }
}

/// `triage doctors check`: 0 nothing found, 1 findings (or failed).
fn check(database_url: &str, hospital: &Hospital) -> ExitCode {
    match crate::ops::doctors_check(database_url, hospital, triage_ground::time::program_now()) {
        Ok((report, path)) => {
            println!(
                "{} doctors, {} findings",
                report.doctors,
                report.findings.len()
            );
            for (kind, n) in &report.counts {
                println!("  {kind:<22} {n}");
            }
            for f in &report.findings {
                println!(
                    "{:<22} {:<10} {:<10} {}",
                    f.kind,
                    f.doctor_code.as_deref().unwrap_or("-"),
                    f.room_code.as_deref().unwrap_or("-"),
                    f.detail
                );
            }
            println!("report: {} (and .html)", path.display());
            if report.findings.is_empty() {
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
