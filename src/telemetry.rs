//! Logging set-up (tracing) and the rules logs follow: dotted field names,
//! units in names, and never a patient's name, ID number or phone — log
//! visit numbers and tickets instead (see `docs/LOGGING.md`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing. Log lines
/// go to standard error; standard output is for what a command prints on
/// purpose (demo credentials, keys shown once, reports).
pub fn init() {
    let filter = EnvFilter::try_from_env("TRIAGE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
