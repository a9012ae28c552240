//! The `triage` command: its command line (`serve` with `--demo` for the
//! bundled demo hospital and its demo accounts, `check-config`, `migrate`,
//! `backup`, `restore`, `db`, `inspect`, `doctors`, `openapi`, `audit`, and
//! the accounts' `user`, `client` and `screen`) parsed and handed to its
//! command in `triage::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use triage::cli::accounts::{ClientCommand, ScreenCommand, UserCommand};
use triage::cli::audit::AuditCommand;
use triage::cli::backup::BackupCommand;
use triage::cli::db::DbCommand;
use triage::cli::doctors::DoctorsCommand;
use triage::cli::serve::ServeArgs;
use triage::cli::target::Target;
use triage::cli::{self as commands};

/// The server's memory allocator: jemalloc (ADR 0015). glibc's allocator
/// spent a fifth of the server's time on the registration path in its
/// arena locks and `malloc_consolidate`; mimalloc was faster than glibc but
/// held more memory per screen socket (docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    Serve(ServeArgs),
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
        /// Restore a backup without its manifest, or whose checksum differs
        /// from it (refused otherwise).
        #[arg(long)]
        force: bool,
    },
    /// Database maintenance (数据库维护): integrity check, audit records past
    /// their retention archived then removed, statistics, indexes, space;
    /// sizes before and after and the slowest statements, in a report.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// The emergency drill (应急演练): the emergency plan's technical steps
    /// (docs/emergency-plan.zh.md) timed on a scratch copy of the newest
    /// backup (never the live database), with a report in the reports
    /// directory.
    Drill {
        #[command(flatten)]
        target: Target,
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
    /// The wait forecast: `backtest` replays recorded days and scores the
    /// ranges the server would have shown (issue 28).
    Wait {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: commands::wait::WaitCommand,
    },
    /// Print the OpenAPI document (docs/openapi.json is this output).
    Openapi,
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Fault records (故障工单): `list`, `ack ID --by`, `resolve ID --note
    /// --by`, as on the console's 故障 page.
    Fault {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: commands::faults::FaultCommand,
    },
    /// The day end (日终): `close --preview` shows what it would close,
    /// `close --reason …` closes today (with no server running).
    Day {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: commands::day::DayCommand,
    },
    /// The server key (ADR 0016): show its file and id, or replace a lost
    /// one (every HIS client revoked, every second factor removed).
    ServerKey {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: commands::server_key::ServerKeyCommand,
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
        /// Change nothing: exit 0 when `triage serve` would start now, 3
        /// when it would refuse (migrations pending in working hours).
        #[arg(long, conflicts_with_all = ["status", "check", "during_working_hours"])]
        may_serve: bool,
    },
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
        Command::Serve(args) => commands::serve::run(args, clock),
        Command::CheckConfig { path } => commands::check_config::run(&path),
        Command::Backup {
            command,
            database_url,
            dir,
            second_dir,
            config,
        } => commands::backup::run(command, &database_url, dir, second_dir, config),
        Command::Restore {
            file,
            database_url,
            take_offline,
            force,
        } => commands::restore::run(&file, &database_url, take_offline, force),
        Command::Db { command } => commands::db::run(command),
        Command::Inspect {
            target,
            days,
            holiday,
        } => commands::inspect::run(target, days, holiday),
        Command::Drill { target } => commands::drill::run(target),
        Command::Doctors { command } => commands::doctors::run(command),
        Command::Wait { target, command } => commands::wait::run(target, command),
        Command::Openapi => commands::openapi::run(),
        Command::Audit { command } => commands::audit::run(command),
        Command::ServerKey { target, command } => commands::server_key::run(target, command),
        Command::Day { target, command } => commands::day::run(target, command),
        Command::Fault { target, command } => commands::faults::run(target, command),
        Command::User { target, command } => commands::accounts::user(target, command),
        Command::Client { target, command } => commands::accounts::client(target, command),
        Command::Screen { target, command } => commands::accounts::screen(target, command),
        Command::Migrate {
            database_url,
            may_serve: true,
            working_hours,
            ..
        } => commands::migrate::may_serve_now(&database_url, &working_hours),
        Command::Migrate {
            database_url,
            status,
            check,
            working_hours,
            during_working_hours,
            may_serve: false,
        } => commands::migrate::run(
            &database_url,
            status,
            check,
            &working_hours,
            during_working_hours,
        ),
    }
}
