//! Whole-database copies, one path per backend: SQLite `VACUUM INTO` (online,
//! consistent, a plain database file), PostgreSQL `pg_dump -Fc` /
//! `pg_restore`. Used by `triage backup` and the restore check.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::conn::{parse_url, Backend, DbError};

/// Finds a PostgreSQL client tool: the newest server install first, then PATH.
pub fn pg_tool(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

/// A PostgreSQL URL for a client tool, without its password (a command
/// line is visible to every user of the machine): the URL and the
/// password, which goes in `PGPASSWORD`.
fn pg_target(target: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = target.split_once("://") else {
        return (target.to_string(), None);
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return (target.to_string(), None);
    };
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{scheme}://{user}@{host}"),
            Some(password.to_string()),
        ),
        None => (target.to_string(), None),
    }
}

/// A PostgreSQL client tool aimed at `target`, the password in its
/// environment.
fn pg_command(tool: &str, target: &str) -> Command {
    let (url, password) = pg_target(target);
    let mut cmd = Command::new(pg_tool(tool));
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.arg(format!("--dbname={url}"));
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<(), DbError> {
    let out = cmd
        .output()
        .map_err(|e| DbError::Unavailable(format!("cannot run {what}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DbError::Unavailable(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Writes a consistent copy of the database at `url` to `out`.
pub fn backup(url: &str, out: &Path) -> Result<Backend, DbError> {
    backup_at(url, out, None)
}

/// [`backup`]; a PostgreSQL copy taken at an exported snapshot (what a
/// transaction of the caller sees), so a manifest read in that
/// transaction describes it exactly.
pub fn backup_at(url: &str, out: &Path, snapshot: Option<&str>) -> Result<Backend, DbError> {
    let (backend, target) = parse_url(url)?;
    // An empty file may be there: the caller made it owner-only first.
    if out.metadata().is_ok_and(|m| m.len() > 0) {
        return Err(DbError::Unavailable(format!(
            "{} already exists",
            out.display()
        )));
    }
    match backend {
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(&target)
                .map_err(|e| DbError::Connect(e.to_string()))?;
            let path = out.display().to_string().replace('\'', "''");
            c.batch_execute(&format!("VACUUM INTO '{path}'"))?;
        }
        Backend::Postgres => {
            let mut cmd = pg_command("pg_dump", &target);
            cmd.args(["--format=custom", "--no-owner", "--file"])
                .arg(out);
            if let Some(s) = snapshot {
                cmd.arg(format!("--snapshot={s}"));
            }
            run(cmd, "pg_dump")?;
        }
    }
    Ok(backend)
}

/// Restores a backup into the (empty) database at `url`.
pub fn restore(backup: &Path, url: &str) -> Result<(), DbError> {
    let (backend, target) = parse_url(url)?;
    match backend {
        Backend::Sqlite => {
            if Path::new(&target).exists() {
                return Err(DbError::Unavailable(format!("{target} already exists")));
            }
            std::fs::copy(backup, &target)
                .map_err(|e| DbError::Unavailable(format!("cannot copy the backup: {e}")))?;
        }
        Backend::Postgres => {
            let mut cmd = pg_command("pg_restore", &target);
            cmd.args(["--no-owner", "--exit-on-error"]).arg(backup);
            run(cmd, "pg_restore")?;
        }
    }
    Ok(())
}

/// Restores a PostgreSQL backup into a database that may hold objects:
/// they are dropped and replaced (`pg_restore --clean --if-exists`), in one
/// transaction (`--single-transaction`): all of it, or nothing changed.
pub fn restore_replacing(backup: &Path, url: &str) -> Result<(), DbError> {
    let (backend, target) = parse_url(url)?;
    if backend != Backend::Postgres {
        return restore(backup, url);
    }
    let mut cmd = pg_command("pg_restore", &target);
    cmd.args([
        "--no-owner",
        "--clean",
        "--if-exists",
        "--exit-on-error",
        "--single-transaction",
    ])
    .arg(backup);
    run(cmd, "pg_restore")
}

#[cfg(test)]
mod tests {
    use super::pg_target;

    #[test]
    fn the_password_leaves_the_command_line() {
        assert_eq!(
            pg_target("postgres://triage:s3cret@db:5432/triage"),
            (
                "postgres://triage@db:5432/triage".into(),
                Some("s3cret".into())
            )
        );
        assert_eq!(
            pg_target("postgres://triage@db/triage"),
            ("postgres://triage@db/triage".into(), None)
        );
    }
}
