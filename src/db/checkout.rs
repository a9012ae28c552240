//! [`Checkout`]: how reads and the writer take a pooled connection, failing
//! fast (about 0.3 s, not the pool's 5 s) when the database is down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::{establish, Backend, DbError, Manager, Pool, Synchronous};

/// How long a request waits for a pooled connection before finding out
/// whether the database answers at all.
const BUSY_WAIT: Duration = Duration::from_millis(250);
/// The longest a request waits for a pooled connection while the database
/// answers (the pool is only busy).
pub(super) const POOL_WAIT: Duration = Duration::from_secs(5);
/// How long one probe's answer serves the requests waiting meanwhile: a
/// busy pool opens one connection of its own at a time, not one per
/// waiting request.
const PROBE_KEPT: Duration = Duration::from_secs(1);

/// A probe's answer and when it was found.
pub(super) type Probe = (Instant, Result<(), String>);

/// Takes connections from the pool, failing fast when the database is
/// down: a pool that has none free within [`BUSY_WAIT`] is either busy or
/// cut off from its database, and a connection of its own tells which. A
/// database that refuses it answers `Unavailable` at once (a stopped
/// PostgreSQL: about 0.3 s; one behind a dropped network: libpq's shortest
/// connect timeout, 2 s); one that answers is only busy, and the request
/// waits up to [`POOL_WAIT`] as before.
#[derive(Clone)]
pub(super) struct Checkout {
    pub(super) pool: Pool,
    pub(super) backend: Backend,
    /// Where the probe connects (PostgreSQL: with a short connect timeout).
    pub(super) probe: String,
    pub(super) sync: Synchronous,
    /// The last probe: when, and what it found (one probe at a time).
    pub(super) last_probe: Arc<Mutex<Option<Probe>>>,
}

impl Checkout {
    pub(super) fn get(&self) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        if let Ok(c) = self.pool.get_timeout(BUSY_WAIT) {
            return Ok(c);
        }
        self.database_answers().map_err(DbError::Unavailable)?;
        self.pool
            .get_timeout(POOL_WAIT.saturating_sub(BUSY_WAIT))
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }
}

impl Checkout {
    /// Whether the database takes a connection of this probe's own: one
    /// probe at a time, its answer kept for [`PROBE_KEPT`].
    fn database_answers(&self) -> Result<(), String> {
        let mut last = self
            .last_probe
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((at, found)) = last.as_ref() {
            if at.elapsed() < PROBE_KEPT {
                return found.clone();
            }
        }
        let found = establish(self.backend, &self.probe, self.sync)
            .map(|_| ())
            .map_err(|e| format!("the database does not answer: {e}"));
        *last = Some((Instant::now(), found.clone()));
        found
    }
}

/// The probe's target: PostgreSQL's with `connect_timeout` (libpq takes 2 s
/// as its shortest), SQLite's as is.
pub(super) fn probe_target(backend: Backend, target: &str) -> String {
    match backend {
        Backend::Sqlite => target.to_string(),
        Backend::Postgres if target.contains("connect_timeout=") => target.to_string(),
        Backend::Postgres if target.contains('?') => format!("{target}&connect_timeout=2"),
        Backend::Postgres => format!("{target}?connect_timeout=2"),
    }
}
