//! The command line of accounts: `triage user`, `triage client` and
//! `triage screen` (what an administrator runs on the server), and the
//! demo's accounts. Each prints what it did; a secret it creates is
//! printed once and never again. Exit codes: 0 done, 1 refused or failed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::accounts::{self, NewAccount, NewClient};
use super::policy::{Role, Scope};
use crate::config::Hospital;
use crate::db::accounts::{self as store, Stamp};
use crate::db::{connect_one, AnyConnection};
use triage_ground::error::Error;

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

fn connect(url: &str) -> Result<AnyConnection, Error> {
    Ok(connect_one(url)?)
}

/// Reads a password from standard input (one line), for `--password-stdin`.
pub fn read_password() -> Option<String> {
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
pub fn user_add(
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
pub fn user_passwd(
    url: &str,
    hospital: &Hospital,
    code: &str,
    password: Option<String>,
) -> ExitCode {
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
pub fn user_disable(url: &str, code: &str, disabled: bool) -> ExitCode {
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
pub fn user_totp(url: &str, hospital: &Hospital, code: &str) -> ExitCode {
    let result =
        connect(url).and_then(|mut c| accounts::enrol_totp(&mut c, hospital, code, &stamp()));
    done(result, |(uri, secret)| {
        println!("second factor of {code} (re)enrolled; its sessions ended");
        println!("  {uri}");
        println!("  secret: {secret}");
    })
}

/// `triage user list`.
pub fn user_list(url: &str) -> ExitCode {
    let result = connect(url).and_then(|mut c| accounts::list_users(&mut c));
    done(result, |rows| {
        println!(
            "{:<16} {:<7} {:<9} {:<5} {:<7} scope",
            "code", "role", "state", "2fa", "change"
        );
        for r in rows {
            let state = if r.disabled {
                "disabled"
            } else if r
                .locked_until
                .is_some_and(|u| u > triage_ground::time::program_now().naive_utc())
            {
                "locked"
            } else {
                "active"
            };
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
pub fn client_add(url: &str, name: &str, scopes: &[String], signed: bool, rate: u32) -> ExitCode {
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
pub fn client_revoke(url: &str, name: &str) -> ExitCode {
    let result = connect(url).and_then(|mut c| accounts::revoke_client(&mut c, name, &stamp()));
    done(result, |()| {
        println!("client {name} revoked: its key no longer works")
    })
}

/// `triage client list`.
pub fn client_list(url: &str) -> ExitCode {
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
pub fn screen_token(url: &str, hospital: &Hospital, screen: &str, base: &str) -> ExitCode {
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
pub fn screen_revoke(url: &str, screen: &str) -> ExitCode {
    let result =
        connect(url).and_then(|mut c| accounts::revoke_screen_token(&mut c, screen, &stamp()));
    done(result, |()| {
        println!("screen {screen}: token revoked; an open screen stops within seconds")
    })
}

/// `triage screen list`.
pub fn screen_list(url: &str, hospital: &Hospital) -> ExitCode {
    let result = connect(url).and_then(|mut c| Ok(store::list_screen_tokens(&mut c)?));
    done(result, |rows| {
        println!("{:<14} {:<10} issued (UTC)", "screen", "token");
        for s in &hospital.screens {
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

/// Where the demo keeps its accounts' passwords and screens' tokens: next
/// to the SQLite file, or in `data/`.
pub fn demo_file(database_url: &str) -> PathBuf {
    match database_url.strip_prefix("sqlite://") {
        Some(p) => std::path::Path::new(p)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("data"), std::path::Path::to_path_buf)
            .join("demo-credentials.json"),
        // One file per database, so demos on two databases keep theirs.
        None => PathBuf::from("data").join(format!(
            "demo-credentials-{}.json",
            &triage_ground::secret::sha256_hex(database_url.as_bytes())[..8]
        )),
    }
}

/// The demo hospital's accounts and screen tokens.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct DemoAccess {
    /// (code, role, password, scope)
    pub accounts: Vec<(String, String, String, Vec<String>)>,
    /// (screen, token)
    pub screens: Vec<(String, String)>,
    /// (kiosk, token)
    #[serde(default)]
    pub kiosks: Vec<(String, String)>,
}

/// Makes sure the demo's accounts (an administrator, a nurse for every
/// department, a doctor per room) and every screen's token exist, kept in
/// `file` (mode 0600) so that a restart prints the same ones. Without the
/// file (or when it no longer matches the database) they are made anew.
pub fn demo_access(url: &str, hospital: &Hospital, file: &Path) -> Result<DemoAccess, String> {
    let mut c = connect(url).map_err(|e| e.message)?;
    if let Some(kept) = std::fs::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str::<DemoAccess>(&t).ok())
    {
        let tokens = store::list_screen_tokens(&mut c).map_err(|e| e.to_string())?;
        let accounts_ok = kept.accounts.iter().all(|(code, ..)| {
            store::get_staff(&mut c, code)
                .ok()
                .flatten()
                .is_some_and(|r| !r.disabled)
        });
        let screens_ok = kept.screens.len() == hospital.screens.len()
            && kept.kiosks.len() == hospital.kiosks.len()
            && kept
                .screens
                .iter()
                .chain(&kept.kiosks)
                .all(|(code, token)| {
                    tokens.iter().any(|t| {
                        &t.screen_code == code
                            && t.revoked_at.is_none()
                            && t.token_hash == triage_ground::secret::sha256_hex(token.as_bytes())
                    })
                });
        if accounts_ok && screens_ok {
            return Ok(kept);
        }
    }
    let stamp = Stamp {
        operator: "demo".into(),
        source: "serve --demo".into(),
        at: triage_ground::time::program_now().naive_utc(),
    };
    let mut planned: Vec<(String, String, Role, Vec<String>)> = vec![
        ("admin".into(), "演示管理员".into(), Role::Admin, vec![]),
        (
            "nurse".into(),
            "演示护士".into(),
            Role::Nurse,
            hospital
                .departments
                .iter()
                .map(|d| d.code.to_string())
                .collect(),
        ),
    ];
    // A doctor's account code is their 工号, the doctor code of the master
    // data (so signing in to a room names the doctor); a room without a
    // configured doctor gets a room account.
    for r in &hospital.rooms {
        let doctor = r
            .doctor
            .as_ref()
            .and_then(|d| hospital.doctors.iter().find(|x| &x.code == d));
        let (code, name) = match doctor {
            Some(d) if !planned.iter().any(|p| p.0 == d.code) => {
                (d.code.to_string(), format!("{}医生", d.name))
            }
            _ => (
                format!("doc-{}", r.code.to_lowercase()),
                format!("{}医生", r.name),
            ),
        };
        planned.push((code, name, Role::Doctor, vec![r.code.to_string()]));
    }
    let mut access = DemoAccess {
        accounts: Vec::new(),
        screens: Vec::new(),
        kiosks: Vec::new(),
    };
    for (code, name, role, scope) in planned {
        let password = accounts::random_password();
        match store::get_staff(&mut c, &code).map_err(|e| e.to_string())? {
            None => {
                accounts::add_user(
                    &mut c,
                    hospital,
                    NewAccount {
                        code: code.clone(),
                        name,
                        role,
                        scope: scope.clone(),
                        password: Some(password.clone()),
                        totp: false,
                        must_change: false,
                    },
                    &stamp,
                )
                .map_err(|e| e.message)?;
            }
            Some(row) => {
                let after = store::StaffRow {
                    password_hash: super::password::hash(&password).map_err(|e| e.message)?,
                    must_change: false,
                    disabled: false,
                    failed_logins: 0,
                    locked_until: None,
                    ..row
                };
                store::update_staff(&mut c, &after, &stamp, "password_reset", true)
                    .map_err(|e| e.to_string())?;
            }
        }
        access
            .accounts
            .push((code, role.as_str().to_string(), password, scope));
    }
    for s in &hospital.screens {
        let token = accounts::issue_screen_token(&mut c, hospital, &s.code, &stamp)
            .map_err(|e| e.message)?;
        access.screens.push((s.code.to_string(), token));
    }
    for k in &hospital.kiosks {
        let token = accounts::issue_screen_token(&mut c, hospital, &k.code, &stamp)
            .map_err(|e| e.message)?;
        access.kiosks.push((k.code.clone(), token));
    }
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = serde_json::to_string_pretty(&access).map_err(|e| e.to_string())?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(file)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(access)
}

/// Whether any account exists (the server says how to create the first).
pub fn has_accounts(url: &str) -> bool {
    connect(url)
        .and_then(|mut c| Ok(store::list_staff(&mut c)?))
        .is_ok_and(|r| !r.is_empty())
}
