//! The `triage` command: `serve` (with `--demo` for the bundled demo
//! hospital and its demo accounts), `check-config`, `migrate`, `backup`,
//! `audit`, and the accounts' `user`, `client` and `screen`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use triage::app::{Application, Settings};
use triage::auth::cli;
use triage::config::Hospital;
use triage::db::{redact_url, Db, DbSettings, Synchronous};

#[derive(Parser)]
#[command(
    name = "triage",
    version = triage::VERSION,
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
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, env = "TRIAGE_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "TRIAGE_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// With HTTPS: also listen for plain HTTP here (e.g. 0.0.0.0:80) and
        /// redirect every request to HTTPS.
        #[arg(long, env = "TRIAGE_HTTP_REDIRECT", requires = "tls_cert")]
        http_redirect: Option<String>,
    },
    /// Validate a hospital configuration file and print what it defines.
    CheckConfig { path: PathBuf },
    /// Take a backup into the backup directory (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump -Fc) with its manifest and a copy in the second
    /// location; or `verify`, `prune`, `list` the kept backups.
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        command: Option<BackupCommand>,
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// The backup directory (default: the configuration's `[backup]
        /// dir`, else `backups`).
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        /// A second location (a mounted network share) for a copy (default:
        /// the configuration's `[backup] second_dir`).
        #[arg(long, env = "TRIAGE_BACKUP_SECOND_DIR")]
        second_dir: Option<PathBuf>,
        /// The hospital configuration whose `[backup]` section applies.
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Restore a backup into the database (refused while a server uses
    /// it), then migrate it forward; says what it restored.
    Restore {
        /// The backup file (its manifest beside it is checked first).
        file: PathBuf,
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// PostgreSQL: end the running server's connections first (takes
        /// the service offline). An SQLite server must be stopped.
        #[arg(long)]
        take_offline: bool,
    },
    /// Database maintenance (数据库维护): integrity check, audit records past
    /// their retention archived then removed, statistics, indexes, space;
    /// sizes before and after and the slowest statements, in a report.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The inspection report (巡检报告), Markdown and printable HTML, in the
    /// configuration's `[operations] reports_dir`: version and uptime,
    /// database size and growth, backups and verifications, screens, alerts
    /// and faults, slowest endpoints, queue waits, the audit chain, and the
    /// risks found with recommendations.
    Inspect {
        #[command(flatten)]
        target: Target,
        /// The period: this many days up to today.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// A deep inspection before this holiday (its first day, YYYY-MM-DD).
        #[arg(long)]
        holiday: Option<chrono::NaiveDate>,
    },
    /// Doctor master data: `check`, the integrity report (医生信息完整性检查).
    Doctors {
        #[command(subcommand)]
        command: DoctorsCommand,
    },
    /// Print the OpenAPI document (docs/openapi.json is this output).
    Openapi,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Staff accounts: add, reset a password, disable, enrol a second
    /// factor, list.
    User {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// HIS clients and their API keys: add, revoke, list.
    Client {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Screens' device tokens: issue (the URL to open on the screen),
    /// revoke, list.
    Screen {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: ScreenCommand,
    },
    /// Run database migrations and exit.
    Migrate {
        #[arg(
            long,
            env = "TRIAGE_DATABASE_URL",
            default_value = "sqlite://data/triage.sqlite"
        )]
        database_url: String,
        /// List the migrations, applied or pending; change nothing.
        #[arg(long)]
        status: bool,
        /// Exit 1 when migrations are pending; change nothing.
        #[arg(long, conflicts_with = "status")]
        check: bool,
        /// The hospital's working hours (local time), when upgrades wait
        /// for the evening or the weekend.
        #[arg(long, env = "TRIAGE_WORKING_HOURS", default_value = "07:30-18:00")]
        working_hours: String,
        /// Migrate even during the working hours.
        #[arg(long)]
        during_working_hours: bool,
    },
}

/// The database and hospital a command works on (accounts, clients,
/// screens, maintenance, inspections, doctors).
#[derive(clap::Args)]
struct Target {
    #[arg(
        long,
        global = true,
        env = "TRIAGE_DATABASE_URL",
        default_value = "sqlite://data/triage.sqlite"
    )]
    database_url: String,
    /// The hospital configuration (docs/configuration.md): its departments,
    /// rooms and screens, its backup and reports directories.
    #[arg(long, global = true, env = "TRIAGE_CONFIG")]
    config: Option<PathBuf>,
    /// Use the bundled demo hospital.
    #[arg(long, global = true)]
    demo: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; prints its initial password (and, for an
    /// administrator, the second factor to enrol).
    Add {
        /// The staff number (工号): letters, digits, '.', '_', '-'.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// admin, nurse or doctor.
        #[arg(long)]
        role: String,
        /// Departments (nurse) or rooms (doctor), comma-separated.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// Read the initial password from standard input instead of
        /// making a random one.
        #[arg(long)]
        password_stdin: bool,
        /// Enrol a second factor even if the policy does not ask for it.
        #[arg(long)]
        totp: bool,
    },
    /// Reset a password (random, or from standard input); the next login
    /// must change it.
    Passwd {
        #[arg(long)]
        code: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (its sessions end at once).
    Disable {
        #[arg(long)]
        code: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        code: String,
    },
    /// Enrol (or replace) an account's second factor.
    Totp {
        #[arg(long)]
        code: String,
    },
    /// List accounts (never a password).
    List,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a HIS client; prints its API key once.
    Add {
        #[arg(long)]
        name: String,
        /// registrations, master_data, calling, read, results (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<String>,
        /// The client must sign every request (HMAC-SHA256).
        #[arg(long)]
        signed: bool,
        /// Requests per minute before 429.
        #[arg(long, default_value_t = 600)]
        rate: u32,
    },
    /// Revoke a client's key.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// List clients (never a key).
    List,
}

#[derive(Subcommand)]
enum ScreenCommand {
    /// Give a screen a new device token; prints the address to open on it.
    Token {
        #[arg(long)]
        screen: String,
        /// The server's address as the screens reach it.
        #[arg(long, default_value = "http://localhost:8080")]
        base_url: String,
    },
    /// Revoke a screen's token (an open screen stops within seconds).
    Revoke {
        #[arg(long)]
        screen: String,
    },
    /// Which screens have a live token.
    List,
}

/// Runs a command on its target's database and hospital (exit 2 when the
/// configuration cannot be read).
fn accounts_command(target: Target, run: impl FnOnce(&str, &Hospital) -> ExitCode) -> ExitCode {
    match load_hospital(target.config, target.demo) {
        Ok(h) => run(&target.database_url, &h),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn password_arg(from_stdin: bool) -> Result<Option<String>, ExitCode> {
    if !from_stdin {
        return Ok(None);
    }
    match cli::read_password() {
        Some(p) => Ok(Some(p)),
        None => {
            eprintln!("error: no password on standard input");
            Err(ExitCode::from(2))
        }
    }
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Restore a backup into a scratch place and check it against its
    /// manifest (checksum, integrity, audit chain, row counts, the last
    /// event); writes a report (.verify.md, .verify.html) beside it. Exits
    /// 1 when anything is wrong. Without FILE: the newest backup.
    Verify {
        file: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
        /// PostgreSQL backups: a server where a scratch database may be
        /// created (and is dropped after), e.g. the production server's URL.
        #[arg(long, env = "TRIAGE_DATABASE_URL")]
        scratch_url: Option<String>,
    },
    /// Remove backups older than the kept days, never the newest good one.
    Prune {
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        /// Days kept, at least 7 (default: the configuration's `[backup]
        /// keep_days`, else 7).
        #[arg(long)]
        keep_days: Option<u32>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The monthly verification report (备份恢复月度报告) from the ledger
    /// of every verification: each day's results and the days without a
    /// good backup. Exits 1 when a day had none.
    Report {
        /// YYYY-MM (default: the month before this one).
        #[arg(long)]
        month: Option<String>,
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// The kept backups, oldest first, with their last verification.
    List {
        #[arg(long, env = "TRIAGE_BACKUP_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, env = "TRIAGE_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum DoctorsCommand {
    /// Doctors missing a photo, title or introduction, unknown
    /// departments, same-named doctors of a department, rooms whose doctor
    /// is unknown: counts by kind and the list, also written as a report
    /// into `[operations] reports_dir`. Exits 1 when anything is found.
    Check {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Run a maintenance now and write its report (SQLite: REINDEX and
    /// VACUUM only with no server on the database). Exits 1 when a step
    /// failed.
    Maintain {
        #[command(flatten)]
        target: Target,
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
    use triage::db::audit::Verdict;
    let verdict = triage::db::connect_one(database_url)
        .and_then(|mut c| triage::db::audit::verify_reaching(&mut c, expected_head));
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
    let clock = match triage_ground::time::program_clock() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
        Command::Backup {
            command,
            database_url,
            dir,
            second_dir,
            config,
        } => backup_command(command, &database_url, dir, second_dir, config),
        Command::Restore {
            file,
            database_url,
            take_offline,
        } => match triage::backups::restore(
            &file,
            &database_url,
            take_offline,
            triage_ground::time::program_now(),
        ) {
            Ok(r) => {
                println!(
                    "restored {} into {}",
                    file.display(),
                    redact_url(&database_url)
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
                    eprintln!(
                        "warning: no manifest beside the backup: its checksum was not checked"
                    );
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
        },
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
        Command::User { target, command } => accounts_command(target, |url, h| match command {
            UserCommand::Add {
                code,
                name,
                role,
                scope,
                password_stdin,
                totp,
            } => match password_arg(password_stdin) {
                Ok(p) => cli::user_add(url, h, &code, &name, &role, &scope, p, totp),
                Err(e) => e,
            },
            UserCommand::Passwd {
                code,
                password_stdin,
            } => match password_arg(password_stdin) {
                Ok(p) => cli::user_passwd(url, h, &code, p),
                Err(e) => e,
            },
            UserCommand::Disable { code } => cli::user_disable(url, &code, true),
            UserCommand::Enable { code } => cli::user_disable(url, &code, false),
            UserCommand::Totp { code } => cli::user_totp(url, h, &code),
            UserCommand::List => cli::user_list(url),
        }),
        Command::Client { target, command } => accounts_command(target, |url, _| match command {
            ClientCommand::Add {
                name,
                scopes,
                signed,
                rate,
            } => cli::client_add(url, &name, &scopes, signed, rate),
            ClientCommand::Revoke { name } => cli::client_revoke(url, &name),
            ClientCommand::List => cli::client_list(url),
        }),
        Command::Screen { target, command } => accounts_command(target, |url, h| match command {
            ScreenCommand::Token { screen, base_url } => {
                cli::screen_token(url, h, &screen, base_url.trim_end_matches('/'))
            }
            ScreenCommand::Revoke { screen } => cli::screen_revoke(url, &screen),
            ScreenCommand::List => cli::screen_list(url, h),
        }),
        Command::Openapi => {
            println!("{}", triage::api::openapi::document());
            ExitCode::SUCCESS
        }
        Command::Db {
            command: DbCommand::Maintain { target },
        } => accounts_command(target, |database_url, hospital| {
            // Not knowing whether a server runs counts as one running (no
            // VACUUM under a server).
            let running = match triage::backups::servers_using(database_url) {
                Ok(n) => n > 0,
                Err(e) => {
                    eprintln!("cannot tell whether a server uses the database ({e}); REINDEX and VACUUM are left out");
                    true
                }
            };
            match triage::ops::maintain::run(
                database_url,
                hospital,
                triage_ground::time::program_now(),
                running,
            ) {
                Ok(m) => {
                    use triage::ops::maintain::human_bytes;
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
        }),
        Command::Doctors {
            command: DoctorsCommand::Check { target },
        } => accounts_command(
            target,
            |database_url, hospital| match triage::ops::doctors_check(
                database_url,
                hospital,
                triage_ground::time::program_now(),
            ) {
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
            },
        ),
        Command::Inspect {
            target,
            days,
            holiday,
        } => accounts_command(
            target,
            |database_url, hospital| match triage::ops::inspect::run(
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
                        triage::ops::maintain::human_bytes(i.bytes),
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
        ),
        Command::Migrate {
            database_url,
            status,
            check,
            working_hours,
            during_working_hours,
        } => migrate_command(
            &database_url,
            status,
            check,
            &working_hours,
            during_working_hours,
        ),
        Command::Serve {
            demo,
            no_simulation,
            config,
            database_url,
            synchronous,
            bind,
            workers,
            simulation_tick,
            tls_cert,
            tls_key,
            http_redirect,
        } => {
            let hospital = match load_hospital(config, demo) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let demo_access = if demo {
                let file = cli::demo_file(&database_url);
                match cli::demo_access(&database_url, &hospital, &file) {
                    Ok(a) => Some((a, file)),
                    Err(e) => {
                        eprintln!("error: demo accounts: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                None
            };
            let first_admin = !demo && !cli::has_accounts(&database_url);
            let mut settings = Settings::new(hospital, database_url.clone());
            settings.synchronous = synchronous;
            settings.bind = bind.clone();
            settings.workers = workers;
            settings.clock = clock.clone();
            settings.simulate = demo && !no_simulation;
            settings.simulation_tick = Duration::from_secs_f64(simulation_tick.max(0.05));
            settings.tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(triage::tls::Tls {
                    cert,
                    key,
                    redirect_bind: http_redirect,
                }),
                _ => None,
            };
            let result = actix_web::rt::System::new().block_on(async move {
                let screens = settings.hospital.screens.clone();
                let app = Application::build(settings).await?;
                let port = app.port;
                let scheme = if app.https { "https" } else { "http" };
                let host = match bind.rsplit_once(':').map(|x| x.0) {
                    Some("0.0.0.0") | Some("[::]") | None => "localhost".to_string(),
                    Some(h) => h.to_string(),
                };
                println!(
                    "Triage is running on {scheme}://{host}:{port}/ (database: {})",
                    redact_url(&database_url)
                );
                if let Some((_, redirect_port)) = &app.redirect {
                    println!("Plain HTTP on port {redirect_port} redirects to HTTPS");
                }
                match &demo_access {
                    Some((access, file)) => {
                        println!("Demo accounts (kept in {}):", file.display());
                        for (code, role, password, scope) in &access.accounts {
                            println!("  {role:<7} {code:<12} {password}  {}", scope.join(","));
                        }
                        println!("Screens (each address carries the screen's device token):");
                        for s in &screens {
                            let token = access
                                .screens
                                .iter()
                                .find(|(c, _)| c == &s.code)
                                .map(|(_, t)| t.as_str())
                                .unwrap_or("");
                            println!(
                                "  {:<14} {scheme}://{host}:{port}/screens/{}#token={token}",
                                s.name, s.code
                            );
                        }
                        println!("Check-in kiosks (自助报到机):");
                        for (code, token) in &access.kiosks {
                            println!("  {code:<14} {scheme}://{host}:{port}/kiosk/{code}#token={token}");
                        }
                    }
                    None => {
                        println!("Screens (give each a device token: triage screen token --screen CODE):");
                        for s in &screens {
                            println!("  {:<14} {scheme}://{host}:{port}/screens/{}", s.name, s.code);
                        }
                    }
                }
                if first_admin {
                    println!(
                        "No accounts yet: create the first administrator with\n  triage user add --code admin --name NAME --role admin --config FILE"
                    );
                }
                println!(
                    "API: {scheme}://{host}:{port}/api/v1/rooms   Health: {scheme}://{host}:{port}/readyz"
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

/// `triage backup` and its subcommands.
fn backup_command(
    command: Option<BackupCommand>,
    database_url: &str,
    dir: Option<PathBuf>,
    second_dir: Option<PathBuf>,
    config: Option<PathBuf>,
) -> ExitCode {
    use triage::backups;
    let now = triage_ground::time::program_now();
    // The configuration's `[backup]` (when given), flags over it.
    let config = match &command {
        Some(BackupCommand::Verify { config: c, .. })
        | Some(BackupCommand::Prune { config: c, .. })
        | Some(BackupCommand::Report { config: c, .. })
        | Some(BackupCommand::List { config: c, .. }) => c.clone().or(config),
        None => config,
    };
    let (base, operations) = match config {
        Some(p) => match load_hospital(Some(p), false) {
            Ok(h) => (h.backup, h.operations),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => (
            triage::config::BackupPolicy::default(),
            triage::config::OperationsPolicy::default(),
        ),
    };
    match command {
        Some(BackupCommand::Report { month, dir, .. }) => {
            let dir = dir.unwrap_or(base.dir);
            let month = match month {
                Some(m) => {
                    match chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d") {
                        Ok(d) => d,
                        Err(_) => {
                            eprintln!("error: --month YYYY-MM, e.g. 2026-11");
                            return ExitCode::from(2);
                        }
                    }
                }
                None => {
                    use chrono::Datelike;
                    let today = triage_ground::time::service_date(now);
                    chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
                        .and_then(|d| d.checked_sub_months(chrono::Months::new(1)))
                        .unwrap_or(today)
                }
            };
            match triage::ops::monthly::write_monthly(&dir, &operations.reports_dir, month, now) {
                Ok((md, m)) => {
                    println!(
                        "{}: {} of {} days with a backup that restored; {} verifications, {} failed",
                        month.format("%Y-%m"),
                        m.good_days,
                        m.days,
                        m.verifications,
                        m.failures
                    );
                    if !m.missing.is_empty() {
                        let days: Vec<String> = m.missing.iter().map(|d| d.to_string()).collect();
                        println!("days without a good backup: {}", days.join(", "));
                    }
                    if m.unreadable_lines > 0 {
                        println!("unreadable ledger lines: {}", m.unreadable_lines);
                    }
                    println!("report: {} (and .html)", md.display());
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
        None => {
            let policy = triage::config::BackupPolicy {
                dir: dir.unwrap_or(base.dir),
                second_dir: second_dir.or(base.second_dir),
                ..base
            };
            let mut progress = |step: &str| eprintln!("backup: {step}");
            match backups::take(database_url, &policy, now, &mut progress) {
                Ok((file, m)) => {
                    let rows: i64 = m.tables.values().sum();
                    println!(
                        "{} backup of {} written to {} ({} bytes, {rows} rows, SHA-256 {})",
                        m.backend,
                        redact_url(database_url),
                        file.display(),
                        m.bytes,
                        m.sha256
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(BackupCommand::Verify {
            file,
            dir,
            scratch_url,
            ..
        }) => {
            let dir = dir.unwrap_or(base.dir);
            let file = match file {
                Some(f) => f,
                None => match backups::list(&dir).map(|l| l.last().map(|k| k.file.clone())) {
                    Ok(Some(f)) => f,
                    Ok(None) => {
                        eprintln!("error: no backup in {}", dir.display());
                        return ExitCode::from(1);
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                },
            };
            match backups::verify(&file, scratch_url.as_deref(), now) {
                Ok(report) => {
                    print!("{}", report.markdown());
                    if report.ok() {
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
        Some(BackupCommand::Prune { dir, keep_days, .. }) => match backups::prune(
            &dir.unwrap_or(base.dir),
            now,
            keep_days.unwrap_or(base.keep_days),
        ) {
            Ok(removed) => {
                for f in &removed {
                    println!("removed {}", f.display());
                }
                println!("{} old backups removed", removed.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
        Some(BackupCommand::List { dir, .. }) => match backups::list(&dir.unwrap_or(base.dir)) {
            Ok(list) => {
                for k in list {
                    let state = match k.verified_ok {
                        Some(true) => "verified",
                        Some(false) => "BAD",
                        None => "not verified",
                    };
                    println!(
                        "{}  {}  {state}",
                        k.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        k.file.display()
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

/// `triage migrate`: apply pending migrations (outside working hours unless
/// asked), or report them (`--status`, `--check`).
fn migrate_command(
    database_url: &str,
    status: bool,
    check: bool,
    working_hours: &str,
    during_working_hours: bool,
) -> ExitCode {
    if let Err(e) = triage::db::parse_url(database_url) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let list = triage::db::connect_raw(database_url)
        .and_then(|mut c| triage::db::migration_status(&mut c));
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
    match Db::connect(&s, triage::background::Background::new().as_ref()) {
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
