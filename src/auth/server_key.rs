//! The server key's file (ADR 0016): where it is (`[security]
//! server_key_file`), making it once with mode 0600, reading it, refusing
//! a key that is not the one the database's sealed values name, and
//! sealing what rows written before sealing kept in the clear. The key
//! itself and sealing are the ground floor's (`triage_ground::secret`).

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::SecurityPolicy;
use crate::db::accounts as store;
use crate::db::{AnyConnection, Db, DbError};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::secret::{self, ServerKey};

/// What a HIS client's signing key is sealed for (bound to its key id).
pub fn signing_purpose(key_id: &str) -> String {
    format!("his-signing\n{key_id}")
}

/// What an account's second-factor secret is sealed for (bound to it).
pub fn totp_purpose(code: &str) -> String {
    format!("totp\n{code}")
}

/// The key file the configuration names.
pub fn path_of(policy: &SecurityPolicy) -> PathBuf {
    PathBuf::from(&policy.server_key_file)
}

fn refused(message: String) -> Error {
    Error::new(ErrorCode::InternalError, message)
}

/// The key ids the sealed values of live rows name (a revoked client's or
/// a disabled account's secret opens nothing anyone uses).
fn sealed_ids(c: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    let values: Vec<String> = store::list_clients(c)?
        .into_iter()
        .filter(|r| r.revoked_at.is_none())
        .filter_map(|r| r.signing_sealed)
        .chain(
            store::list_staff(c)?
                .into_iter()
                .filter(|r| !r.disabled)
                .filter_map(|r| r.totp_secret),
        )
        .collect();
    let mut ids: Vec<String> = values
        .iter()
        .filter_map(|v| secret::sealed_under(v).map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Who may make a missing key file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Making {
    /// The server at its start (its working directory is the service's).
    Server,
    /// A command or the admin API: only a file named by an absolute path
    /// (a relative one would land wherever the command was run).
    Command,
}

/// The server key named by the configuration, for a command or the admin
/// API: see [`open_at_start`]; a missing file named by a relative path is
/// refused (start the server once, which makes it).
pub fn open(policy: &SecurityPolicy, c: &mut AnyConnection) -> Result<ServerKey, Error> {
    open_as(policy, c, Making::Command)
}

/// The server key named by the configuration, at the server's start. Made
/// (mode 0600) when the file does not exist and no live row is sealed yet;
/// refused, saying what to do, when the file is missing or another key
/// sealed what a live row holds.
pub fn open_at_start(policy: &SecurityPolicy, c: &mut AnyConnection) -> Result<ServerKey, Error> {
    open_as(policy, c, Making::Server)
}

fn open_as(
    policy: &SecurityPolicy,
    c: &mut AnyConnection,
    making: Making,
) -> Result<ServerKey, Error> {
    let path = path_of(policy);
    let ids = sealed_ids(c)?;
    let key = match std::fs::read_to_string(&path) {
        Ok(text) => ServerKey::from_text(&text).map_err(|_| {
            refused(format!(
                "服务器密钥文件 {} 格式不对（应为一行 Base64，32 字节）",
                path.display()
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(id) = ids.first() {
                return Err(refused(format!(
                    "服务器密钥文件 {} 不存在，而数据库中的密钥由编号 {id} 的服务器密钥加密：\
                     请从单独保存的副本恢复该文件（见《运维手册》“服务器密钥”），切勿新建",
                    path.display()
                )));
            }
            if making == Making::Command && path.is_relative() {
                return Err(refused(format!(
                    "服务器密钥文件 {} 不存在：请先启动一次服务器（它会生成该文件），\
                     或在配置中用绝对路径指定 [security] server_key_file",
                    path.display()
                )));
            }
            create(&path)?
        }
        Err(e) => {
            return Err(refused(format!(
                "无法读取服务器密钥文件 {}：{e}",
                path.display()
            )))
        }
    };
    if let Some(other) = ids.iter().find(|id| *id != key.id()) {
        return Err(refused(format!(
            "服务器密钥文件 {} （编号 {}）与数据库不符：数据库中的密钥由编号 {other} 的服务器密钥加密。\
             请恢复原来的服务器密钥文件（见《运维手册》“服务器密钥”）",
            path.display(),
            key.id()
        )));
    }
    warn_if_open(&path);
    Ok(key)
}

/// Makes a new key file, readable by its owner only.
fn create(path: &Path) -> Result<ServerKey, Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| refused(format!("无法创建目录 {}：{e}", dir.display())))?;
    }
    let key = ServerKey::generate();
    // Written whole beside it, then linked into place: the link fails when
    // the file exists, so two processes starting at once agree on one key
    // and neither reads a half-written file.
    let draft = path.with_extension(format!("new-{}", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&draft)
        .and_then(|mut f| {
            f.write_all(key.to_text().as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match made {
        Ok(()) => {
            tracing::warn!(
                file = %path.display(),
                key = key.id(),
                "a new server key was made: back it up apart from the database (docs/operations.zh.md, 服务器密钥)"
            );
            Ok(key)
        }
        // Another process made it meanwhile: its key is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .ok()
            .and_then(|t| ServerKey::from_text(&t).ok())
            .ok_or_else(|| refused(format!("服务器密钥文件 {} 无法读取", path.display()))),
        Err(e) => Err(refused(format!(
            "无法创建服务器密钥文件 {}：{e}",
            path.display()
        ))),
    }
}

/// Logs when the key file may be read by others than its owner.
fn warn_if_open(path: &Path) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{mode:o}"),
                "the server key file is readable by others: chmod 600 it"
            );
        }
    }
}

/// Seals what rows written before sealing hold in the clear: a client's
/// signing key (then `key_hash`, which becomes its verifier) and second-
/// factor secrets. The API keys and authenticator apps work on unchanged.
/// Answers how many clients and accounts it sealed. Runs in the writer's
/// transaction.
pub fn seal_legacy(c: &mut AnyConnection, key: &ServerKey) -> Result<(usize, usize), DbError> {
    let mut clients = 0;
    for row in store::list_clients(c)? {
        // Before sealing, key_hash was the signing key itself (64 hex
        // digits); a verifier is tagged, so a row whose sealed copy went
        // (a migration reverted) is never hashed twice.
        if row.signing_sealed.is_some() || super::his::is_verifier(&row.key_hash) {
            continue;
        }
        let signing = row.key_hash.clone();
        let verifier = super::his::verifier_of_signing_key(&signing);
        let sealed = key.seal(&signing_purpose(&row.key_id), signing.as_bytes());
        store::seal_client(c, &row.name, &verifier, &sealed)?;
        clients += 1;
    }
    let mut accounts = 0;
    for row in store::list_staff(c)? {
        let Some(plain) = row.totp_secret.as_deref() else {
            continue;
        };
        if secret::sealed_under(plain).is_some() {
            continue;
        }
        let sealed = key.seal(&totp_purpose(&row.code), plain.as_bytes());
        store::seal_totp(c, &row.code, &sealed)?;
        accounts += 1;
    }
    Ok((clients, accounts))
}

/// At a server's start: opens (or makes) the key, then seals what rows
/// from before sealing keep in the clear, in one write.
pub async fn start(db: &Db, policy: &SecurityPolicy) -> Result<Arc<ServerKey>, Error> {
    let p = policy.clone();
    let key = Arc::new(db.read(move |c| Ok(open_at_start(&p, c))).await??);
    tracing::info!(
        file = %path_of(policy).display(),
        key = key.id(),
        "server key in use (keep a copy apart from the backups)"
    );
    let k = key.clone();
    let (clients, accounts) = db.write(move |c| seal_legacy(c, &k)).await?;
    if clients + accounts > 0 {
        tracing::warn!(
            clients,
            accounts,
            "secrets kept in the clear before this version are now sealed under the server key"
        );
    }
    Ok(key)
}

/// What replacing a lost server key did.
#[derive(Debug)]
pub struct Replaced {
    /// The new key's id.
    pub key_id: String,
    /// The HIS clients revoked (each needs a new key).
    pub revoked: Vec<String>,
    /// The accounts whose second factor was removed (they enrol again).
    pub second_factors: Vec<String>,
    /// Where the old key file went, if there was one.
    pub old_file: Option<PathBuf>,
}

/// Replaces a server key that is lost (or no longer to be trusted): every
/// live HIS client is revoked (each gets a new key with `triage client
/// add`), every second factor is removed (administrators enrol again with
/// `triage user totp`), in one transaction, audited; then the old key
/// file, if any, is kept aside and a new one made. Nothing else changes:
/// passwords, sessions, screens' tokens and every patient stay.
pub fn replace(
    policy: &SecurityPolicy,
    c: &mut AnyConnection,
    stamp: &store::Stamp,
) -> Result<Replaced, Error> {
    let (revoked, second_factors) = crate::db::write_transaction(c, |c| {
        let mut revoked = Vec::new();
        for row in store::list_clients(c)?
            .into_iter()
            .filter(|r| r.revoked_at.is_none())
        {
            store::revoke_client(c, &row.name, stamp)?;
            revoked.push(row.name);
        }
        let mut cleared = Vec::new();
        for row in store::list_staff(c)?
            .into_iter()
            .filter(|r| r.totp_secret.is_some())
        {
            store::clear_totp(c, &row.code, stamp)?;
            cleared.push(row.code);
        }
        Ok::<_, DbError>((revoked, cleared))
    })?;
    let path = path_of(policy);
    let old_file = if path.exists() {
        let aside = path.with_extension(format!("replaced-{}", stamp.at.format("%Y%m%d-%H%M%S")));
        std::fs::rename(&path, &aside).map_err(|e| {
            refused(format!(
                "无法移走旧的服务器密钥文件 {}：{e}",
                path.display()
            ))
        })?;
        Some(aside)
    } else {
        None
    };
    let key = create(&path)?;
    Ok(Replaced {
        key_id: key.id().to_string(),
        revoked,
        second_factors,
        old_file,
    })
}
