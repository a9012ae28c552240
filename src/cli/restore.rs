//! `triage restore`: a backup into the database (refused while a server
//! uses it, or without its manifest unless `--force`), checked and
//! migrated forward before it replaces anything; says what it restored, or
//! that the live database was left as it was.

use std::path::Path;
use std::process::ExitCode;

use crate::db::redact_url;

/// `triage restore FILE`: 0 restored, 1 refused or failed.
pub fn run(file: &Path, database_url: &str, take_offline: bool, force: bool) -> ExitCode {
    match crate::backups::restore(
        file,
        database_url,
        take_offline,
        force,
        triage_ground::time::program_now(),
    ) {
        Ok(r) => {
            println!(
                "restored {} into {}",
                file.display(),
                redact_url(database_url)
            );
            if let Some(m) = &r.manifest {
                let rows: i64 = m.tables.values().sum();
                println!(
                    "  taken {} by {}; {rows} rows; schema {} (migrated forward to this version)",
                    m.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    m.version,
                    m.schema
                );
                if let Some(h) = &m.audit_head {
                    println!("  audit chain head {h}");
                }
            }
            if !r.checked() {
                eprintln!("warning: no manifest beside the backup: its checksum was not checked");
            }
            if let Some(a) = &r.kept_aside {
                println!("  the database there before is kept as {}", a.display());
            }
            if r.ended_connections > 0 {
                println!("  {} server connections were ended", r.ended_connections);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
