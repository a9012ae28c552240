//! The `triage` command: `serve` (with `--demo` for the bundled demo
//! hospital), `check-config` and `migrate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use triage::app::{Application, Settings};
use triage::config::Hospital;
use triage::db::{redact_url, Db, DbSettings, Synchronous};

#[derive(Parser)]
#[command(
    name = "triage",
    version,
    about = "Hospital outpatient triage and queue calling (分诊叫号)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve {
        /// Use the bundled demo hospital (2 departments, 7 rooms, 9 screens).
        #[arg(long)]
        demo: bool,
        /// With --demo: keep the demo hospital but simulate no patients.
        #[arg(long)]
        no_simulation: bool,
        /// The hospital configuration file (see docs/configuration.md).
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
        /// sqlite://PATH (default) or postgres://USER:PASS@HOST:PORT/DB.
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// SQLite synchronous mode: full (survives power loss) or normal.
        #[arg(long, env = "TRIAGE_SQLITE_SYNCHRONOUS", default_value = "full")]
        synchronous: Synchronous,
        /// Address to listen on.
        #[arg(long, env = "TRIAGE_BIND", default_value = "0.0.0.0:8080")]
        bind: String,
        /// HTTP worker threads.
        #[arg(long, env = "TRIAGE_WORKERS", default_value_t = 2)]
        workers: usize,
        /// Seconds between simulated events (demo).
        #[arg(long, default_value_t = 1.5)]
        simulation_tick: f64,
    },
    /// Validate a hospital configuration file and print what it defines.
    CheckConfig { path: PathBuf },
    /// Write a consistent copy of the database (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump -Fc).
    Backup {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// The backup file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the OpenAPI document (docs/openapi.json is this output).
    Openapi,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run database migrations and exit.
    Migrate {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the hash chain of the audit log: names the first edited,
    /// inserted or deleted record and exits 1; exits 0 when intact.
    Verify {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// The head hash kept elsewhere (a printed report, a log line): the
        /// chain must end there, so removed newest records show too.
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

/// `triage audit export`: 0 written, 1 failed, 2 bad arguments.
fn audit_export(database_url: &str, format: &str, out: Option<&PathBuf>) -> ExitCode {
    use triage::db::audit::ExportFormat;
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
    let written = triage::db::connect_one(database_url)
        .and_then(|mut c| triage::db::audit::export(&mut c, format, &mut sink));
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
fn audit_verify(database_url: &str, expected_head: Option<&str>) -> ExitCode {
    let verdict =
        triage::db::connect_one(database_url).and_then(|mut c| triage::db::audit::verify(&mut c));
    match verdict {
        Ok(v @ triage::db::audit::Verdict::Intact { .. }) => {
            let triage::db::audit::Verdict::Intact { head, .. } = &v else {
                return ExitCode::from(2);
            };
            if let Some(expected) = expected_head {
                if head != expected {
                    println!("{v}");
                    println!(
                        "audit chain broken: the chain ends at {head}, not at the head kept elsewhere ({expected}); newest records were removed or rewritten"
                    );
                    return ExitCode::from(1);
                }
            }
            println!("{v}");
            ExitCode::SUCCESS
        }
        Ok(v) => {
            println!("{v}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn load_hospital(config: Option<PathBuf>, demo: bool) -> Result<Hospital, String> {
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

fn main() -> ExitCode {
    triage::telemetry::init();
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { path } => match Hospital::load(&path) {
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
        },
        Command::Backup { database_url, out } => {
            match triage::db::backup::backup(&database_url, &out) {
                Ok(backend) => {
                    println!(
                        "{} backup of {} written to {}",
                        backend.as_str(),
                        redact_url(&database_url),
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Audit {
            command: AuditCommand::Verify { database_url, head },
        } => audit_verify(&database_url, head.as_deref()),
        Command::Audit {
            command:
                AuditCommand::Export {
                    database_url,
                    format,
                    out,
                },
        } => audit_export(&database_url, &format, out.as_ref()),
        Command::Openapi => {
            println!("{}", triage::api::openapi::document());
            ExitCode::SUCCESS
        }
        Command::Migrate { database_url } => {
            let s = DbSettings {
                url: database_url.clone(),
                synchronous: Synchronous::Full,
                pool_size: 2,
            };
            match Db::connect(&s, &triage::background::Background::new()) {
                Ok(_) => {
                    println!("migrations applied to {}", redact_url(&database_url));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Serve {
            demo,
            no_simulation,
            config,
            database_url,
            synchronous,
            bind,
            workers,
            simulation_tick,
        } => {
            let hospital = match load_hospital(config, demo) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut settings = Settings::new(hospital, database_url.clone());
            settings.synchronous = synchronous;
            settings.bind = bind.clone();
            settings.workers = workers;
            settings.simulate = demo && !no_simulation;
            settings.simulation_tick = Duration::from_secs_f64(simulation_tick.max(0.05));
            let result = actix_web::rt::System::new().block_on(async move {
                let screens = settings.hospital.screens.clone();
                let app = Application::build(settings).await?;
                let port = app.port;
                let host = match bind.rsplit_once(':').map(|x| x.0) {
                    Some("0.0.0.0") | Some("[::]") | None => "localhost".to_string(),
                    Some(h) => h.to_string(),
                };
                println!(
                    "Triage is running on http://{host}:{port}/ (database: {})",
                    redact_url(&database_url)
                );
                println!("Screens:");
                for s in &screens {
                    println!("  {:<14} http://{host}:{port}/screens/{}", s.name, s.code);
                }
                println!(
                    "API: http://{host}:{port}/api/v1/rooms   Health: http://{host}:{port}/readyz"
                );
                app.run_until_stopped().await?;
                anyhow::Ok(())
            });
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
