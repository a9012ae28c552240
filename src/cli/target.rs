//! What most commands work on: the database and the hospital
//! configuration ([`Target`]), and reading that configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Hospital;

/// The database and hospital a command works on (accounts, clients,
/// screens, maintenance, inspections, doctors).
#[derive(clap::Args)]
pub struct Target {
    #[arg(
        long,
        global = true,
        env = "TRIAGE_DATABASE_URL",
        default_value = "sqlite://data/triage.sqlite"
    )]
    pub database_url: String,
    /// The hospital configuration (docs/configuration.md): its departments,
    /// rooms and screens, its backup and reports directories.
    #[arg(long, global = true, env = "TRIAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use the bundled demo hospital.
    #[arg(long, global = true)]
    pub demo: bool,
}

/// Runs a command on its target's database and hospital (exit 2 when the
/// configuration cannot be read).
pub fn on_target(target: Target, run: impl FnOnce(&str, &Hospital) -> ExitCode) -> ExitCode {
    match load_hospital(target.config, target.demo) {
        Ok(h) => run(&target.database_url, &h),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The environment variable that names the server key's file in place of
/// `[security] server_key_file` (for every command and the server).
pub const SERVER_KEY_ENV: &str = "TRIAGE_SERVER_KEY_FILE";

/// The hospital of `--config PATH`, or the demo hospital with `--demo`;
/// `TRIAGE_SERVER_KEY_FILE`, when set, names the server key's file.
pub fn load_hospital(config: Option<PathBuf>, demo: bool) -> Result<Hospital, String> {
    let mut hospital = configured_hospital(config, demo)?;
    if let Some(file) = std::env::var_os(SERVER_KEY_ENV).filter(|f| !f.is_empty()) {
        hospital.security.server_key_file = PathBuf::from(file).display().to_string();
    }
    Ok(hospital)
}

fn configured_hospital(config: Option<PathBuf>, demo: bool) -> Result<Hospital, String> {
    match (config, demo) {
        (Some(p), _) => Hospital::load(&p).map_err(|errs| {
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        }),
        (None, true) => Ok(Hospital::demo()),
        (None, false) => {
            Err("give --config PATH (your hospital) or --demo (the demo hospital)".into())
        }
    }
}
