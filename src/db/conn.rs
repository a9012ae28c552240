//! Connections over both backends: [`AnyConnection`] (SQLite or
//! PostgreSQL, chosen by the URL's scheme, never by trying each in turn,
//! so a wrong password is reported at once with its reason), the pooled
//! connection's manager, [`DbError`] and what it is to a caller, the
//! migrations (embedded, one tree per backend with identical names) and
//! the write transaction every write runs in.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::timings::Timings;

/// SQLite migrations (embedded).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// PostgreSQL migrations (embedded).
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Runs `$body` with `$conn` bound to the backend's own connection inside
/// an [`AnyConnection`]. Diesel then caches a statement by its Rust type; a
/// statement run through the multi-backend connection has its SQL text
/// built on every execution to find it in the cache (a tenth of the
/// writer's time for a registration: docs/performance.md). For the
/// statements on the write path that every request runs.
macro_rules! native {
    ($c:expr, |$conn:ident| $body:expr) => {
        match $c {
            $crate::db::conn::AnyConnection::Sqlite($conn) => $body,
            $crate::db::conn::AnyConnection::Postgresql($conn) => $body,
        }
    };
}
pub(crate) use native;

/// One connection type over both backends.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Sqlite(SqliteConnection),
    Postgresql(PgConnection),
}

/// Which database a URL names (`sqlite` or `postgres` in a backup's
/// manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SQLite's `synchronous` setting: FULL survives power loss, NORMAL survives
/// a killed process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

impl std::str::FromStr for Synchronous {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            other => Err(format!(
                "unknown synchronous mode {other:?} (full or normal)"
            )),
        }
    }
}

/// Database errors. `Display` never carries database text meant for clients;
/// the API maps these to stable codes.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("bad database url: {0}")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// The stored state does not allow the write; nothing was written.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// A batch write: the change at this index was refused; nothing was
    /// written.
    #[error("conflict in change {0}: {1}")]
    ConflictAt(usize, Conflict),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that cannot be what it claims (an unknown status code).
    #[error("stored data is broken: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Query(diesel::result::Error),
}

impl From<diesel::result::Error> for DbError {
    /// A stored text that names no value of its enum (a status, kind,
    /// placement, sex or seat) is broken data, never an unavailable
    /// database; every other error stays a query error, as before.
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DeserializationError(cause) => match unknown_text(&*cause) {
                Some(what) => DbError::Corrupt(what),
                None => DbError::Query(diesel::result::Error::DeserializationError(cause)),
            },
            other => DbError::Query(other),
        }
    }
}

/// What was read, when a read failed on a stored text that names no value
/// of its enum (diesel names the field around it when it knows it).
fn unknown_text(cause: &(dyn std::error::Error + Send + Sync + 'static)) -> Option<String> {
    use triage_ground::stored::UnknownText;
    if let Some(t) = cause.downcast_ref::<UnknownText>() {
        return Some(t.to_string());
    }
    let f = cause.downcast_ref::<diesel::result::DeserializeFieldError>()?;
    let t = f.error.downcast_ref::<UnknownText>()?;
    Some(match &f.field_name {
        Some(field) => format!("{field}: {t}"),
        None => t.to_string(),
    })
}

/// Why the stored state refused a write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// An account, client or code of that name exists.
    #[error("exists")]
    Exists,
    /// The registration was cancelled (已退号).
    #[error("the registration was cancelled")]
    RegistrationCancelled,
    /// The visit left the queue and waits for another department or doctor
    /// only through a transfer.
    #[error("the visit is already in a queue")]
    VisitAlreadyInQueue,
    /// The row is no longer as the write was planned on it (it moved
    /// meanwhile, it is in a queue now): the caller reads again.
    #[error("{0}")]
    Stale(&'static str),
    /// No fault record of that number.
    #[error("no fault {0}")]
    NoFault(i64),
    /// The fault's state does not allow the step.
    #[error("fault {id} is {state}{hint}")]
    FaultState {
        id: i64,
        state: String,
        hint: &'static str,
    },
}

/// Splits a database URL into backend and connection target.
pub fn parse_url(url: &str) -> Result<(Backend, String), DbError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(DbError::BadUrl("empty database url".into()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(DbError::BadUrl("sqlite:// needs a file path".into()));
        }
        return Ok((Backend::Sqlite, path.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        return Ok((Backend::Sqlite, path.to_string()));
    }
    if let Some((scheme, _)) = url.split_once("://") {
        return Err(DbError::BadUrl(format!(
            "unsupported scheme {scheme:?}: use sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB"
        )));
    }
    Ok((Backend::Sqlite, url.to_string()))
}

/// Removes the password from a URL before it is logged.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Runs `f` in one transaction that takes the write lock when it begins.
///
/// On SQLite a plain (deferred) transaction that reads first and writes
/// later fails at once with "database is locked" when another process (a
/// command-line tool beside the server) committed in between: its snapshot
/// is stale and cannot become a write. `BEGIN IMMEDIATE` takes the write
/// lock first (waiting up to `busy_timeout`), so the reads see the latest
/// commit. PostgreSQL needs nothing of the kind (row locks, and the audit
/// chain's advisory lock).
pub fn write_transaction<T, E>(
    c: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    match c {
        AnyConnection::Sqlite(s) => {
            AnsiTransactionManager::begin_transaction_sql(s, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(p) => AnsiTransactionManager::begin_transaction(p)?,
    }
    match f(c) {
        Ok(value) => match AnyConnection::commit_transaction(c) {
            Ok(()) => Ok(value),
            Err(e) => {
                // A failed COMMIT leaves the transaction open on SQLite
                // (e.g. busy): end it so the connection stays usable.
                let _ = AnyConnection::rollback_transaction(c);
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = AnyConnection::rollback_transaction(c);
            Err(e)
        }
    }
}

/// An SQLite file is made owner-only (0600) before SQLite opens it, so its
/// WAL and shared-memory files are too (SQLite gives them the database
/// file's mode); one made before with a looser mode is tightened.
fn owner_only_database(target: &str) -> Result<(), DbError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if target.is_empty() || target.starts_with(':') || target.starts_with("file:") {
        return Ok(());
    }
    let path = std::path::Path::new(target);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let loose = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o077 != 0)
                .unwrap_or(false);
            if loose {
                for file in [
                    target.to_string(),
                    format!("{target}-wal"),
                    format!("{target}-shm"),
                ] {
                    if std::path::Path::new(&file).exists() {
                        if let Err(e) =
                            triage_ground::secret::owner_only(std::path::Path::new(&file))
                        {
                            tracing::warn!(error = %e, "could not make the database file owner-only");
                        }
                    }
                }
            }
            Ok(())
        }
        Err(e) => Err(DbError::Connect(format!("cannot create {path:?}: {e}"))),
    }
}

/// One connection for a command-line tool, migrated to this version (no
/// pool, no writer).
pub fn connect_one(url: &str) -> Result<AnyConnection, DbError> {
    let (backend, target) = parse_url(url)?;
    let mut c = establish(backend, &target, Synchronous::Full)?;
    run_migrations(&mut c)?;
    Ok(c)
}

/// The SQLite file `url` names when it does not exist (a read-only command
/// reports it rather than making an empty database there).
pub fn missing_sqlite_file(url: &str) -> Option<String> {
    match parse_url(url) {
        Ok((Backend::Sqlite, target)) if !std::path::Path::new(&target).exists() => Some(target),
        _ => None,
    }
}

/// One connection as the database is, without migrating it (a scratch
/// database, a backup being checked).
pub fn connect_raw(url: &str) -> Result<AnyConnection, DbError> {
    let (backend, target) = parse_url(url)?;
    establish(backend, &target, Synchronous::Full)
}

/// Opens a connection of the named backend, with SQLite's settings applied.
pub(super) fn establish(
    backend: Backend,
    target: &str,
    sync: Synchronous,
) -> Result<AnyConnection, DbError> {
    match backend {
        Backend::Sqlite => {
            if let Some(parent) = std::path::Path::new(target).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| DbError::Connect(format!("cannot create {parent:?}: {e}")))?;
                }
            }
            owner_only_database(target)?;
            let mut c =
                SqliteConnection::establish(target).map_err(|e| DbError::Connect(e.to_string()))?;
            let sync = match sync {
                Synchronous::Full => "FULL",
                Synchronous::Normal => "NORMAL",
            };
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                 PRAGMA wal_autocheckpoint = 0;"
            ))
            .map_err(|e| DbError::Connect(e.to_string()))?;
            Ok(AnyConnection::Sqlite(c))
        }
        Backend::Postgres => {
            let c = PgConnection::establish(target).map_err(|e| DbError::Connect(e.to_string()))?;
            Ok(AnyConnection::Postgresql(c))
        }
    }
}

/// r2d2 manager that knows its backend (no trial-and-error connects).
pub struct Manager {
    pub(super) backend: Backend,
    pub(super) target: String,
    pub(super) sync: Synchronous,
    /// Every connection times its statements into these (the slow ones).
    pub(super) timings: Timings,
}

/// Connection error type for r2d2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnError(String);

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = ConnError;

    fn connect(&self) -> Result<AnyConnection, ConnError> {
        let mut c = establish(self.backend, &self.target, self.sync)
            .map_err(|e| ConnError(e.to_string()))?;
        c.set_instrumentation(self.timings.sql_timer());
        Ok(c)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// The lock file beside an SQLite database that servers hold shared while
/// they use it.
pub fn server_lock_path(target: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{target}.server-lock"))
}

/// The application name a server's PostgreSQL connections carry (seen in
/// `pg_stat_activity`, so `triage restore` can tell the database is in use).
pub const SERVER_APPLICATION_NAME: &str = "triage-server";

pub(super) fn with_application_name(target: &str) -> String {
    if target.contains("application_name=") {
        target.to_string()
    } else if target.contains('?') {
        format!("{target}&application_name={SERVER_APPLICATION_NAME}")
    } else {
        format!("{target}?application_name={SERVER_APPLICATION_NAME}")
    }
}

/// Runs pending migrations of the connection's backend.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<(), DbError> {
    let res = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        AnyConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    };
    res.map_err(|e| DbError::Migration(e.to_string()))
}

/// The migrations this program knows, each with whether the database has
/// it applied, oldest first.
/// Every migration of SQLite's tree, none applied: the status of a
/// database file that does not exist yet (read without making it).
pub fn sqlite_migrations_pending() -> Result<Vec<(String, bool)>, DbError> {
    use diesel::migration::MigrationSource;
    let mut out: Vec<(String, bool)> =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .iter()
            .map(|m| (m.name().version().to_string(), false))
            .collect();
    out.sort();
    Ok(out)
}

pub fn migration_status(conn: &mut AnyConnection) -> Result<Vec<(String, bool)>, DbError> {
    use diesel::migration::MigrationSource;
    let err = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let (known, applied): (Vec<String>, Vec<String>) = match conn {
        AnyConnection::Sqlite(c) => (
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map_err(err)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
            c.applied_migrations()
                .map_err(err)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
        ),
        AnyConnection::Postgresql(c) => (
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map_err(err)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
            c.applied_migrations()
                .map_err(err)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
        ),
    };
    let mut out: Vec<(String, bool)> = known
        .into_iter()
        .map(|v| {
            let done = applied.contains(&v);
            (v, done)
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Reverts the newest applied migration (its `down.sql`): the database as
/// the version before it left it (tests of an upgrade).
pub fn revert_last(conn: &mut AnyConnection) -> Result<(), DbError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    match conn {
        AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map_err(err)?,
        AnyConnection::Postgresql(c) => {
            c.revert_last_migration(POSTGRES_MIGRATIONS).map_err(err)?
        }
    };
    Ok(())
}

/// Reverts every applied migration, newest first (each one's `down.sql`):
/// answers how many. Used to prove every migration has a working way back.
pub fn revert_all(conn: &mut AnyConnection) -> Result<usize, DbError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| DbError::Migration(e.to_string());
    let mut n = 0;
    loop {
        let applied = match conn {
            AnyConnection::Sqlite(c) => c.applied_migrations().map_err(err)?.len(),
            AnyConnection::Postgresql(c) => c.applied_migrations().map_err(err)?.len(),
        };
        if applied == 0 {
            return Ok(n);
        }
        match conn {
            AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS).map_err(err)?,
            AnyConnection::Postgresql(c) => {
                c.revert_last_migration(POSTGRES_MIGRATIONS).map_err(err)?
            }
        };
        n += 1;
    }
}

/// What a refusal or failure of the database is to a caller: a conflict
/// with its stable code, broken stored data an internal error (the cause
/// logged), anything else the database unavailable.
impl From<DbError> for triage_ground::error::Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(why) | DbError::ConflictAt(_, why) => match why {
                Conflict::RegistrationCancelled => triage_ground::error::Error::new(
                    triage_ground::error::ErrorCode::RegistrationCancelled,
                    "the registration was cancelled (已退号); register again with a new visit number",
                ),
                Conflict::VisitAlreadyInQueue => triage_ground::error::Error::new(
                    triage_ground::error::ErrorCode::VisitAlreadyInQueue,
                    "the visit is already in a queue; to change department or doctor, transfer the visit (转诊)",
                ),
                Conflict::NoFault(_) | Conflict::FaultState { .. } => {
                    triage_ground::error::Error::new(
                        triage_ground::error::ErrorCode::FaultState,
                        why.to_string(),
                    )
                }
                // Stale: the engine reads again (a registration retries);
                // Exists: the accounts name their own error first.
                Conflict::Stale(_) | Conflict::Exists => triage_ground::error::Error::new(
                    triage_ground::error::ErrorCode::StateConflict,
                    "the stored state does not allow this change",
                ),
            },
            DbError::Corrupt(cause) => {
                tracing::error!(error.cause = %cause, "stored data is broken");
                triage_ground::error::Error::internal()
            }
            other => {
                tracing::error!(error.cause = %other, "database error");
                triage_ground::error::Error::unavailable()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_their_backend() {
        assert_eq!(
            parse_url("sqlite://data/t.sqlite").ok().map(|x| x.0),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            parse_url("data/t.sqlite").ok().map(|x| x.0),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            parse_url("postgres://u:p@h/db").ok().map(|x| x.0),
            Some(Backend::Postgres)
        );
        assert!(matches!(parse_url("mysql://h/db"), Err(DbError::BadUrl(_))));
        assert!(matches!(parse_url(""), Err(DbError::BadUrl(_))));
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
    }
}
