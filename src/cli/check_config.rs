//! `triage check-config`: validate a hospital configuration file and say
//! what it defines.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Hospital;

/// `triage check-config PATH`: 0 valid, 2 every error with its line.
pub fn run(path: &Path) -> ExitCode {
    match Hospital::load(path) {
        Ok(h) => {
            println!(
                "{}: ok — {} departments, {} queues, {} rooms, {} doctors, {} screens",
                path.display(),
                h.departments.len(),
                h.queues.len(),
                h.rooms.len(),
                h.doctors.len(),
                h.screens.len()
            );
            ExitCode::SUCCESS
        }
        Err(errs) => {
            for e in errs {
                eprintln!("{e}");
            }
            ExitCode::from(2)
        }
    }
}
