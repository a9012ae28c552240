//! `triage serve`: start the server (with `--demo`, the bundled demo
//! hospital, its demo accounts and its simulated patients) and say where
//! it is reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use triage_actors::screen::ScreenConfig;
use triage_ground::time::SharedClock;

use super::accounts::has_accounts;
use super::demo_access::demo_access;
use super::target::load_hospital;
use crate::app::{Application, Settings};
use crate::auth::cli::{demo_file, DemoAccess};
use crate::config::Hospital;
use crate::db::{redact_url, Synchronous};

// The flags of `triage serve` (its help is the command's doc comment).
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Use the bundled demo hospital (3 departments, 10 rooms, 13 screens,
    /// 2 kiosks).
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
    /// The hospital's working hours (local time): pending database
    /// migrations are not applied at start then, the same rule as `triage
    /// migrate`: the start waits for the hours to end (a new database is
    /// made at any hour).
    #[arg(long, env = "TRIAGE_WORKING_HOURS", default_value = "07:30-18:00")]
    working_hours: String,
    /// Apply pending migrations at start even in working hours.
    #[arg(long)]
    migrate_during_working_hours: bool,
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
}

/// The demo's accounts and tokens and the file keeping them.
type Demo = Option<(DemoAccess, PathBuf)>;

/// Where the server is reached, as printed.
struct Base {
    scheme: &'static str,
    host: String,
    port: u16,
}

/// `triage serve`: runs until SIGTERM or Ctrl-C; 0 stopped, 1 failed, 2
/// the configuration cannot be read.
pub fn run(args: ServeArgs, clock: SharedClock) -> ExitCode {
    let hospital = match load_hospital(args.config.clone(), args.demo) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // A demo database is the demo's own, migrated whenever it starts.
    if !args.demo {
        if let Err(code) = wait_for_the_window(&args, &clock) {
            return code;
        }
    }
    let demo = match demo_accounts(&args, &hospital) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let first_admin = !args.demo && !has_accounts(&args.database_url);
    let (bind, database_url) = (args.bind.clone(), args.database_url.clone());
    let settings = settings(args, hospital, clock);
    let result = actix_web::rt::System::new().block_on(async move {
        let screens = settings.hospital.screens.clone();
        let app = Application::build(settings).await?;
        announce(&app, &bind, &database_url, &screens, &demo, first_admin);
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

/// How often a start held back by pending migrations looks again.
const WINDOW_LOOK: Duration = Duration::from_secs(5);

/// Pending migrations are not applied in working hours (the same rule as
/// `triage migrate`): the start waits, saying why once, until the hours
/// end or the migrations were applied meanwhile (`triage migrate
/// --during-working-hours`), then goes on. Waiting rather than exiting: a
/// server that went down after an upgrade deferred in the daytime comes
/// back by itself in the evening. `Err` when the database cannot be read
/// or the hours are malformed.
fn wait_for_the_window(args: &ServeArgs, clock: &SharedClock) -> Result<(), ExitCode> {
    let mut told = false;
    loop {
        match super::migrate::may_serve(
            &args.database_url,
            &args.working_hours,
            clock.now(),
            args.migrate_during_working_hours,
        ) {
            Ok(()) => return Ok(()),
            Err((super::migrate::REFUSED_IN_WORKING_HOURS, why)) => {
                if !told {
                    eprintln!("{why}。服务等到工作时间结束后自动迁移并启动。");
                    tracing::warn!("start held back: migrations pending in working hours");
                    told = true;
                }
                std::thread::sleep(WINDOW_LOOK);
            }
            Err((code, why)) => {
                eprintln!("error: {why}");
                return Err(ExitCode::from(code));
            }
        }
    }
}

/// With `--demo`: its accounts and screens' tokens (exit 1 when they
/// cannot be made).
fn demo_accounts(args: &ServeArgs, hospital: &Hospital) -> Result<Demo, ExitCode> {
    if !args.demo {
        return Ok(None);
    }
    let file = demo_file(&args.database_url);
    match demo_access(&args.database_url, hospital, &file) {
        Ok(a) => Ok(Some((a, file))),
        Err(e) => {
            eprintln!("error: demo accounts: {e}");
            Err(ExitCode::from(1))
        }
    }
}

/// The server's settings from the flags.
fn settings(args: ServeArgs, hospital: Hospital, clock: SharedClock) -> Settings {
    let mut settings = Settings::new(hospital, args.database_url.clone());
    settings.synchronous = args.synchronous;
    settings.bind = args.bind.clone();
    settings.workers = args.workers;
    settings.clock = clock.clone();
    settings.simulate = args.demo && !args.no_simulation;
    settings.simulation_tick = Duration::from_secs_f64(args.simulation_tick.max(0.05));
    settings.tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::Tls {
            cert,
            key,
            redirect_bind: args.http_redirect,
        }),
        _ => None,
    };
    settings
}

/// Says where the server runs, its screens (with the demo, its accounts
/// and devices' addresses) and where the API is.
fn announce(
    app: &Application,
    bind: &str,
    database_url: &str,
    screens: &[ScreenConfig],
    demo: &Demo,
    first_admin: bool,
) {
    let base = Base {
        scheme: if app.https { "https" } else { "http" },
        host: match bind.rsplit_once(':').map(|x| x.0) {
            Some("0.0.0.0") | Some("[::]") | None => "localhost".to_string(),
            Some(h) => h.to_string(),
        },
        port: app.port,
    };
    let Base { scheme, host, port } = &base;
    println!(
        "Triage is running on {scheme}://{host}:{port}/ (database: {})",
        redact_url(database_url)
    );
    if let Some((_, redirect_port)) = &app.redirect {
        println!("Plain HTTP on port {redirect_port} redirects to HTTPS");
    }
    match demo {
        Some((access, file)) => print_demo(&base, screens, access, file),
        None => {
            println!("Screens (give each a device token: triage screen token --screen CODE):");
            for s in screens {
                println!(
                    "  {:<14} {scheme}://{host}:{port}/screens/{}",
                    s.name, s.code
                );
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
}

/// The demo's accounts with their passwords, and every screen's and
/// kiosk's address with its device token.
fn print_demo(base: &Base, screens: &[ScreenConfig], access: &DemoAccess, file: &std::path::Path) {
    let Base { scheme, host, port } = base;
    println!("Demo accounts (kept in {}):", file.display());
    for (code, role, password, scope) in &access.accounts {
        println!("  {role:<7} {code:<12} {password}  {}", scope.join(","));
    }
    println!("Screens (each address carries the screen's device token):");
    for s in screens {
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

#[cfg(test)]
mod tests {
    use clap::{Args, Command};

    /// `serve --help` counts the demo hospital as it is.
    #[test]
    fn the_help_counts_the_demo_hospital_as_it_is() {
        let help = super::ServeArgs::augment_args(Command::new("serve"))
            .render_help()
            .to_string();
        let demo = crate::config::Hospital::demo();
        let said = format!(
            "{} departments, {} rooms, {} screens, {} kiosks",
            demo.departments.len(),
            demo.rooms.len(),
            demo.screens.len(),
            demo.kiosks.len()
        );
        assert!(
            help.replace('\n', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&said),
            "{said} not in {help}"
        );
    }
}
