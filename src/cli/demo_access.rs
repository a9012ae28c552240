//! The demo's accounts and screens' tokens (`triage serve --demo`): an
//! administrator, a nurse for every department, a doctor per room and a
//! token for every screen and kiosk, kept in a file beside the database so
//! that a restart prints the same ones.

use std::io::Write;
use std::path::Path;

use super::accounts::connect;
use crate::auth::accounts::{self, NewAccount};
use crate::auth::cli::DemoAccess;
use crate::auth::policy::Role;
use crate::config::Hospital;
use crate::db::accounts::{self as store, Stamp};
use crate::db::AnyConnection;

/// An account the demo makes: code, name, role, scope.
type Planned = (String, String, Role, Vec<String>);

/// Makes sure the demo's accounts (an administrator, a nurse for every
/// department, a doctor per room) and every screen's token exist, kept in
/// `file` (mode 0600) so that a restart prints the same ones. Without the
/// file they are made; when it no longer matches the database (a token
/// revoked, an account disabled) they are made anew and the console says
/// which and why.
pub fn demo_access(url: &str, hospital: &Hospital, file: &Path) -> Result<DemoAccess, String> {
    let mut c = connect(url).map_err(|e| e.message)?;
    match still_valid(&mut c, hospital, file)? {
        Kept::Valid(kept) => return Ok(kept),
        Kept::None => {}
        // Said, not silently done: the passwords and screen addresses
        // printed before stop working.
        Kept::Stale(why) => eprintln!(
            "注意：{why}，演示账号的密码和全部屏幕、自助机的令牌已重新生成（见下方）；此前打印的密码和屏幕地址不再有效。"
        ),
    }
    let stamp = Stamp {
        operator: "demo".into(),
        source: "serve --demo".into(),
        at: triage_ground::time::program_now().naive_utc(),
    };
    let mut access = DemoAccess {
        accounts: Vec::new(),
        screens: Vec::new(),
        kiosks: Vec::new(),
    };
    for (code, name, role, scope) in planned_accounts(hospital) {
        let password = ensure_account(&mut c, hospital, &stamp, &code, name, role, &scope)?;
        access
            .accounts
            .push((code, role.as_str().to_string(), password, scope));
    }
    issue_tokens(&mut c, hospital, &stamp, &mut access)?;
    keep(file, &access)?;
    Ok(access)
}

/// What the access file says about the database.
enum Kept {
    /// No file (the first start): nothing to say.
    None,
    /// It still holds: the same passwords and tokens.
    Valid(DemoAccess),
    /// It no longer does, and why (said when new ones are made).
    Stale(String),
}

/// What `file` keeps, if every account in it is enabled and every screen
/// and kiosk of the hospital still has the token it names.
fn still_valid(c: &mut AnyConnection, hospital: &Hospital, file: &Path) -> Result<Kept, String> {
    let Some(text) = std::fs::read_to_string(file).ok() else {
        return Ok(Kept::None);
    };
    let Ok(kept) = serde_json::from_str::<DemoAccess>(&text) else {
        return Ok(Kept::Stale(format!("{} 无法读取", file.display())));
    };
    let tokens = store::list_screen_tokens(c).map_err(|e| e.to_string())?;
    for (code, ..) in &kept.accounts {
        let live = store::get_staff(c, code)
            .ok()
            .flatten()
            .is_some_and(|r| !r.disabled);
        if !live {
            return Ok(Kept::Stale(format!("账号 {code} 已不存在或已停用")));
        }
    }
    if kept.screens.len() != hospital.screens.len() || kept.kiosks.len() != hospital.kiosks.len() {
        return Ok(Kept::Stale("屏幕或自助机的配置已变化".into()));
    }
    for (code, token) in kept.screens.iter().chain(&kept.kiosks) {
        let live = tokens.iter().any(|t| {
            &t.screen_code == code
                && t.revoked_at.is_none()
                && t.token_hash == triage_ground::secret::sha256_hex(token.as_bytes())
        });
        if !live {
            return Ok(Kept::Stale(format!("设备 {code} 的令牌已被吊销或更换")));
        }
    }
    Ok(Kept::Valid(kept))
}

/// The accounts the demo has: an administrator, a nurse for every
/// department, a doctor per room.
fn planned_accounts(hospital: &Hospital) -> Vec<Planned> {
    let mut planned: Vec<Planned> = vec![
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
    planned
}

/// Makes the account `code` with a new random password, or gives an
/// existing one that password (enabled, unlocked, no change asked);
/// answers the password.
fn ensure_account(
    c: &mut AnyConnection,
    hospital: &Hospital,
    stamp: &Stamp,
    code: &str,
    name: String,
    role: Role,
    scope: &[String],
) -> Result<String, String> {
    let password = accounts::random_password();
    match store::get_staff(c, code).map_err(|e| e.to_string())? {
        None => {
            accounts::add_user(
                c,
                hospital,
                NewAccount {
                    code: code.to_string(),
                    name,
                    role,
                    scope: scope.to_vec(),
                    password: Some(password.clone()),
                    totp: false,
                    must_change: false,
                },
                stamp,
            )
            .map_err(|e| e.message)?;
        }
        Some(row) => {
            let after = store::StaffRow {
                password_hash: crate::auth::password::hash(&password).map_err(|e| e.message)?,
                must_change: false,
                disabled: false,
                failed_logins: 0,
                locked_until: None,
                ..row
            };
            store::update_staff(c, &after, stamp, store::AccountEvent::PasswordReset, true)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(password)
}

/// A new device token for every screen, then every kiosk.
fn issue_tokens(
    c: &mut AnyConnection,
    hospital: &Hospital,
    stamp: &Stamp,
    access: &mut DemoAccess,
) -> Result<(), String> {
    for s in &hospital.screens {
        let token =
            accounts::issue_screen_token(c, hospital, &s.code, stamp).map_err(|e| e.message)?;
        access.screens.push((s.code.to_string(), token));
    }
    for k in &hospital.kiosks {
        let token =
            accounts::issue_screen_token(c, hospital, &k.code, stamp).map_err(|e| e.message)?;
        access.kiosks.push((k.code.clone(), token));
    }
    Ok(())
}

/// Writes `access` into `file`, readable by its owner only.
fn keep(file: &Path, access: &DemoAccess) -> Result<(), String> {
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = serde_json::to_string_pretty(access).map_err(|e| e.to_string())?;
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
        .map_err(|e| format!("cannot write {}: {e}", file.display()))
}
