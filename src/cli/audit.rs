//! `triage audit`: walk the audit log's hash chain (`verify`), or write
//! every record for an auditor (`export`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain of the audit log: names the first edited,
    /// inserted or deleted record and exits 1; exits 0 when intact.
    Verify {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// A head hash kept elsewhere (a printed report, the daily log
        /// line): the chain must still hold that record, so records removed
        /// or rewritten up to it show too (the chain may have grown since).
        #[arg(long)]
        head: Option<String>,
    },
    /// Write every audit record for an auditor: CSV (opens in Excel with
    /// Chinese intact) or JSON Lines.
    Export {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// csv or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The file to write (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `triage audit verify` or `triage audit export`.
pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify { database_url, head } => verify(&database_url, head.as_deref()),
        AuditCommand::Export {
            database_url,
            format,
            out,
        } => export(&database_url, &format, out.as_ref()),
    }
}

/// `triage audit export`: 0 written, 1 failed, 2 bad arguments.
fn export(database_url: &str, format: &str, out: Option<&PathBuf>) -> ExitCode {
    use crate::db::audit::ExportFormat;
    let format = match format {
        "csv" => ExportFormat::Csv,
        "jsonl" => ExportFormat::JsonLines,
        other => {
            eprintln!("error: --format is csv or jsonl, not {other:?}");
            return ExitCode::from(2);
        }
    };
    let mut sink: Box<dyn std::io::Write> = match out {
        None => Box::new(std::io::stdout().lock()),
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", path.display());
                return ExitCode::from(1);
            }
        },
    };
    let written = crate::db::connect_one(database_url)
        .and_then(|mut c| crate::db::audit::export(&mut c, format, &mut sink));
    match (written, sink.flush()) {
        (Ok(n), Ok(())) => {
            eprintln!("{n} audit records written");
            ExitCode::SUCCESS
        }
        (Err(e), _) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        (_, Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `triage audit verify`: 0 intact, 1 broken, 2 the database could not be read.
fn verify(database_url: &str, expected_head: Option<&str>) -> ExitCode {
    use crate::db::audit::Verdict;
    let verdict = crate::db::connect_one(database_url)
        .and_then(|mut c| crate::db::audit::verify_reaching(&mut c, expected_head));
    match verdict {
        Ok((v @ Verdict::Intact { .. }, reached)) => {
            println!("{v}");
            match (expected_head, reached) {
                (None, _) => ExitCode::SUCCESS,
                (Some(_), Some(id)) => {
                    println!("the head kept elsewhere is record {id} of the chain: nothing before it was removed or rewritten");
                    ExitCode::SUCCESS
                }
                (Some(expected), None) => {
                    println!(
                        "audit chain broken: no record of the chain has the head kept elsewhere ({expected}); records were removed or rewritten (or that head is older than the records removed by retention)"
                    );
                    ExitCode::from(1)
                }
            }
        }
        Ok((v, _)) => {
            println!("{v}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
