//! `triage user`, `triage client` and `triage screen`: the accounts,
//! HIS clients and device tokens an administrator manages on the server.
//! Each prints what it did; a secret it creates is printed once and never
//! again. Exit codes: 0 done, 1 refused or failed, 2 bad arguments.

use std::process::ExitCode;

use clap::Subcommand;

use super::target::{on_target, Target};
use crate::auth::accounts::{self, NewAccount, NewClient};
use crate::auth::policy::{Role, Scope};
use crate::config::Hospital;
use crate::db::accounts::{self as store, Stamp};
use crate::db::{connect_one, AnyConnection};
use triage_ground::error::Error;

#[derive(Subcommand)]
pub enum UserCommand {
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
pub enum ClientCommand {
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
pub enum ScreenCommand {
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

/// `triage user …`.
pub fn user(target: Target, command: UserCommand) -> ExitCode {
    on_target(target, |url, h| match command {
        UserCommand::Add {
            code,
            name,
            role,
            scope,
            password_stdin,
            totp,
        } => match password_arg(password_stdin) {
            Ok(p) => user_add(url, h, &code, &name, &role, &scope, p, totp),
            Err(e) => e,
        },
        UserCommand::Passwd {
            code,
            password_stdin,
        } => match password_arg(password_stdin) {
            Ok(p) => user_passwd(url, h, &code, p),
            Err(e) => e,
        },
        UserCommand::Disable { code } => user_disable(url, &code, true),
        UserCommand::Enable { code } => user_disable(url, &code, false),
        UserCommand::Totp { code } => user_totp(url, h, &code),
        UserCommand::List => user_list(url),
    })
}

/// `triage client …`.
pub fn client(target: Target, command: ClientCommand) -> ExitCode {
    on_target(target, |url, h| match command {
        ClientCommand::Add {
            name,
            scopes,
            signed,
            rate,
        } => client_add(url, h, &name, &scopes, signed, rate),
        ClientCommand::Revoke { name } => client_revoke(url, &name),
        ClientCommand::List => client_list(url),
    })
}

/// `triage screen …`.
pub fn screen(target: Target, command: ScreenCommand) -> ExitCode {
    on_target(target, |url, h| match command {
        ScreenCommand::Token { screen, base_url } => {
            screen_token(url, h, &screen, base_url.trim_end_matches('/'))
        }
        ScreenCommand::Revoke { screen } => screen_revoke(url, &screen),
        ScreenCommand::List => screen_list(url, h),
    })
}

/// The password of `--password-stdin`, if given (exit 2 when standard
/// input holds none).
fn password_arg(from_stdin: bool) -> Result<Option<String>, ExitCode> {
    if !from_stdin {
        return Ok(None);
    }
    match read_password() {
        Some(p) => Ok(Some(p)),
        None => {
            eprintln!("error: no password on standard input");
            Err(ExitCode::from(2))
        }
    }
}

fn stamp() -> Stamp {
    accounts::cli_stamp(triage_ground::time::program_now().naive_utc())
}

fn done<T>(result: Result<T, Error>, ok: impl FnOnce(T)) -> ExitCode {
    match result {
        Ok(v) => {
            ok(v);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(1)
        }
    }
}

/// One connection to the database at `url`.
pub fn connect(url: &str) -> Result<AnyConnection, Error> {
    Ok(connect_one(url)?)
}

/// Reads a password from standard input (one line), for `--password-stdin`.
fn read_password() -> Option<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    (!p.is_empty()).then_some(p)
}

/// `triage user add`.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per command-line flag"
)]
fn user_add(
    url: &str,
    hospital: &Hospital,
    code: &str,
    name: &str,
    role: &str,
    scope: &[String],
    password: Option<String>,
    totp: bool,
) -> ExitCode {
    let Some(role) = Role::parse(role) else {
        eprintln!("error: --role is admin, nurse or doctor");
        return ExitCode::from(1);
    };
    let chosen = password.is_some();
    let result = connect(url).and_then(|mut c| {
        accounts::add_user(
            &mut c,
            hospital,
            NewAccount {
                code: code.to_string(),
                name: name.to_string(),
                role,
                scope: scope.to_vec(),
                password,
                totp,
                must_change: true,
            },
            &stamp(),
        )
    });
    done(result, |created| {
        println!("account {code} ({}) created", role.as_str());
        // A password the administrator typed is never printed back.
        if chosen {
            println!("initial password: as given on standard input");
        } else {
            println!("initial password: {}", created.password);
        }
        println!("(the first login must change it)");
        if let Some((uri, secret)) = created.totp {
            println!("second factor (TOTP): add to an authenticator app");
            println!("  {uri}");
            println!("  secret: {secret}");
        }
    })
}

/// `triage user passwd` (an administrator's reset).
fn user_passwd(url: &str, hospital: &Hospital, code: &str, password: Option<String>) -> ExitCode {
    let chosen = password.is_some();
    let result = connect(url).and_then(|mut c| {
        accounts::set_password(&mut c, &hospital.security, code, password, &stamp())
    });
    done(result, |p| {
        println!("password of {code} reset; its sessions ended; the next login must change it");
        // A password the administrator typed is never printed back.
        if chosen {
            println!("new password: as given on standard input");
        } else {
            println!("new password: {p}");
        }
    })
}

/// `triage user disable` / `enable`.
fn user_disable(url: &str, code: &str, disabled: bool) -> ExitCode {
    let result =
        connect(url).and_then(|mut c| accounts::set_disabled(&mut c, code, disabled, &stamp()));
    done(result, |()| {
        if disabled {
            println!("account {code} disabled; its sessions ended");
        } else {
            println!("account {code} enabled");
        }
    })
}

/// `triage user totp`: enrols a new second factor.
fn user_totp(url: &str, hospital: &Hospital, code: &str) -> ExitCode {
    let result =
        connect(url).and_then(|mut c| accounts::enrol_totp(&mut c, hospital, code, &stamp()));
    done(result, |(uri, secret)| {
        println!("second factor of {code} (re)enrolled; its sessions ended");
        println!("  {uri}");
        println!("  secret: {secret}");
    })
}

/// `triage user list`.
fn user_list(url: &str) -> ExitCode {
    let result = connect(url).and_then(|mut c| accounts::list_users(&mut c));
    done(result, |rows| {
        println!(
            "{:<16} {:<7} {:<9} {:<5} {:<7} scope",
            "code", "role", "state", "2fa", "change"
        );
        for r in rows {
            // Nobody is locked out (ADR 0017): an account is disabled or
            // active.
            let state = if r.disabled { "disabled" } else { "active" };
            println!(
                "{:<16} {:<7} {:<9} {:<5} {:<7} {}",
                r.code,
                r.role,
                state,
                if r.totp_secret.is_some() { "yes" } else { "no" },
                if r.must_change { "yes" } else { "no" },
                r.scope_list().join(",")
            );
        }
    })
}

/// `triage client add`.
fn client_add(
    url: &str,
    hospital: &Hospital,
    name: &str,
    scopes: &[String],
    signed: bool,
    rate: u32,
) -> ExitCode {
    let mut parsed = Vec::new();
    for s in scopes {
        match Scope::parse(s) {
            Some(s) => parsed.push(s),
            None => {
                eprintln!(
                    "error: scopes are registrations, master_data, calling, read (not {s:?})"
                );
                return ExitCode::from(1);
            }
        }
    }
    let result = connect(url).and_then(|mut c| {
        accounts::add_client(
            &mut c,
            &hospital.security,
            NewClient {
                name: name.to_string(),
                scopes: parsed,
                require_signature: signed,
                rate_per_minute: rate,
            },
            &stamp(),
        )
    });
    done(result, |key| {
        println!("client {name} added");
        println!("API key (shown once; keep it in the HIS's configuration): {key}");
        if signed {
            println!("this client must sign its requests (see docs/security.md)");
        }
    })
}

/// `triage client revoke`.
fn client_revoke(url: &str, name: &str) -> ExitCode {
    let result = connect(url).and_then(|mut c| accounts::revoke_client(&mut c, name, &stamp()));
    done(result, |()| {
        println!("client {name} revoked: its key no longer works")
    })
}

/// `triage client list`.
fn client_list(url: &str) -> ExitCode {
    let result = connect(url).and_then(|mut c| accounts::list_clients(&mut c));
    done(result, |rows| {
        println!(
            "{:<16} {:<14} {:<8} {:<7} {:<8} scopes",
            "name", "key id", "state", "signed", "per min"
        );
        for r in rows {
            println!(
                "{:<16} {:<14} {:<8} {:<7} {:<8} {}",
                r.name,
                r.key_id,
                if r.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                },
                if r.require_signature { "yes" } else { "no" },
                r.rate_per_minute,
                r.scope_list().join(",")
            );
        }
    })
}

/// `triage screen token`: a new device token and the screen's address.
fn screen_token(url: &str, hospital: &Hospital, screen: &str, base: &str) -> ExitCode {
    let result = connect(url)
        .and_then(|mut c| accounts::issue_screen_token(&mut c, hospital, screen, &stamp()));
    done(result, |token| {
        let page = if hospital.kiosk(screen).is_some() {
            "kiosk"
        } else {
            "screens"
        };
        println!("{screen}: new device token (the old one no longer works)");
        println!("open on the device: {base}/{page}/{screen}#token={token}");
    })
}

/// `triage screen revoke`.
fn screen_revoke(url: &str, screen: &str) -> ExitCode {
    let result =
        connect(url).and_then(|mut c| accounts::revoke_screen_token(&mut c, screen, &stamp()));
    done(result, |()| {
        println!("screen {screen}: token revoked; an open screen stops within seconds")
    })
}

/// `triage screen list`.
fn screen_list(url: &str, hospital: &Hospital) -> ExitCode {
    let result = connect(url).and_then(|mut c| {
        let retired: Vec<String> = crate::db::store::load_screens(&mut c)?
            .into_iter()
            .filter(|r| r.retired_at.is_some())
            .map(|r| r.code)
            .collect();
        Ok((store::list_screen_tokens(&mut c)?, retired))
    });
    done(result, |(rows, retired)| {
        println!("{:<14} {:<10} issued (UTC)", "screen", "token");
        // Retired screens (停用) are no screens any more.
        for s in hospital
            .screens
            .iter()
            .filter(|s| !retired.contains(&s.code.to_string()))
        {
            let row = rows.iter().find(|r| r.screen_code == s.code);
            let (state, at) = match row {
                None => ("none", String::new()),
                Some(r) if r.revoked_at.is_some() => ("revoked", r.issued_at.to_string()),
                Some(r) => ("active", r.issued_at.to_string()),
            };
            println!("{:<14} {:<10} {}", s.code, state, at);
        }
    })
}

/// Whether any account exists (the server says how to create the first).
pub fn has_accounts(url: &str) -> bool {
    connect(url)
        .and_then(|mut c| Ok(store::list_staff(&mut c)?))
        .is_ok_and(|r| !r.is_empty())
}
