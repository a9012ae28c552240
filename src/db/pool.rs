//! The database handle [`Db`]: a pool of connections for reads and the
//! single writer (group commit) for writes, both off the async workers;
//! the server's own timings; SQLite's WAL checkpoints on their own thread.
//! Its threads start through the [`Spawner`] the server hands it.

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::checkout::{probe_target, Checkout, POOL_WAIT};
use super::conn::{
    establish, parse_url, run_migrations, server_lock_path, with_application_name, AnyConnection,
    Backend, DbError, Manager, Pool, Synchronous,
};
use super::spawn::Spawner;
use super::timings::Timings;
use super::writer::{self, Writer};

/// Database settings.
#[derive(Clone, Debug)]
pub struct DbSettings {
    pub url: String,
    pub synchronous: Synchronous,
    pub pool_size: u32,
}

/// How recent the monitor's failed look must be for work to be refused at
/// once ([`Db::known_down`]).
const KNOWN_DOWN_FOR: Duration = Duration::from_secs(3);

/// The database handle: a read pool and the single writer. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    pool: Pool,
    checkout: Checkout,
    backend: Backend,
    writer: Writer,
    timings: Timings,
    /// SQLite: a shared lock on `<database>.server-lock` held while this
    /// server uses the file, so `triage restore` can tell it is in use.
    _in_use: Option<std::fs::File>,
    /// The last look at the database (the alert monitor's, every second):
    /// whether it answered, and when; `/readyz` answers from it at once.
    health: std::sync::Mutex<Option<(bool, std::time::Instant)>>,
    /// Looks that failed in a row (0 after a good one).
    failed_looks: std::sync::atomic::AtomicU32,
}

impl Db {
    /// Connects (reporting the real error at once), runs migrations, builds
    /// the pool and starts the writer. Blocking: call off the async workers.
    pub fn connect(settings: &DbSettings, spawner: &dyn Spawner) -> Result<Db, DbError> {
        let (backend, target) = parse_url(&settings.url)?;
        let mut first = establish(backend, &target, settings.synchronous)?;
        run_migrations(&mut first)?;
        drop(first);
        let (target, in_use) = match backend {
            Backend::Sqlite => {
                let lock = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(server_lock_path(&target))
                    .and_then(|f| f.lock_shared().map(|()| f))
                    .map_err(|e| DbError::Connect(format!("cannot hold the server lock: {e}")))?;
                (target, Some(lock))
            }
            Backend::Postgres => (with_application_name(&target), None),
        };
        let timings = Timings::default();
        let probe = probe_target(backend, &target);
        let manager = Manager {
            backend,
            target,
            sync: settings.synchronous,
            timings: timings.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(2))
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .build(manager)
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let checkout = Checkout {
            pool: pool.clone(),
            backend,
            probe,
            sync: settings.synchronous,
            last_probe: Default::default(),
        };
        let writer = Writer::start(checkout.clone(), spawner);
        if backend == Backend::Sqlite {
            start_checkpointer(pool.clone(), spawner);
        }
        Ok(Db {
            inner: Arc::new(DbInner {
                pool,
                checkout,
                backend,
                writer,
                timings,
                _in_use: in_use,
                health: std::sync::Mutex::new(None),
                failed_looks: std::sync::atomic::AtomicU32::new(0),
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The server's own timings not yet written (requests, slow SQL).
    pub fn timings(&self) -> &Timings {
        &self.inner.timings
    }

    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Refuses work at once while the database is known to be down: the
    /// monitor's last two looks failed, the last within [`KNOWN_DOWN_FOR`]
    /// (a database that hangs, behind a dropped network, would otherwise
    /// hold every request until TCP gives up). One slow look is not enough.
    fn known_down(&self) -> Result<(), DbError> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.inner.failed_looks.load(Relaxed) >= 2
            && self.recent_health(KNOWN_DOWN_FOR) == Some(false)
        {
            return Err(DbError::Unavailable(
                "the database failed its last looks".into(),
            ));
        }
        Ok(())
    }

    /// Runs a read on a pooled connection, off the async workers (at once
    /// `Unavailable` while the database is known to be down).
    pub async fn read<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.known_down()?;
        self.read_probe(f).await
    }

    /// As [`Db::read`], whatever the last looks found: the monitor's own
    /// look, which is how the database is found back.
    pub async fn read_probe<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        let checkout = self.inner.checkout.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut conn = checkout.get()?;
            f(&mut conn).map_err(|e| super::broken::name_broken(&mut conn, e))
        })
        .await
        .map_err(|e| DbError::Unavailable(format!("blocking task failed: {e}")))?;
        if matches!(out, Err(DbError::Unavailable(_))) {
            writer::DB_ERRORS.inc();
        }
        out
    }

    /// Runs a write in the writer's next group commit; resolves once it is
    /// durable (or failed and rolled back). At once `Unavailable`, with
    /// nothing queued, while the database is known to be down.
    pub async fn write<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.known_down()?;
        self.inner.writer.run(f).await
    }

    /// As [`Db::write`], whatever the last looks found (the monitor's look
    /// at whether the database takes writes again).
    pub async fn write_probe<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        self.inner.writer.run(f).await
    }

    /// Runs a write of a [`writer::Grouped`] kind in the writer's next group
    /// commit, set-based with the writes of its kind in a row with it;
    /// resolves once it is durable (or failed and rolled back).
    pub async fn write_grouped<G: writer::Grouped>(&self, item: G) -> Result<G::Output, DbError> {
        self.known_down()?;
        self.inner.writer.run_grouped(item).await
    }

    /// Records a look at the database: whether it answered (and took a
    /// write when it had to).
    pub fn note_health(&self, ok: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if ok {
            self.inner.failed_looks.store(0, Relaxed);
        } else {
            self.inner.failed_looks.fetch_add(1, Relaxed);
        }
        if let Ok(mut h) = self.inner.health.lock() {
            *h = Some((ok, std::time::Instant::now()));
        }
    }

    /// The last look at the database, if it is at most `max_age` old.
    pub fn recent_health(&self, max_age: std::time::Duration) -> Option<bool> {
        let h = *self.inner.health.lock().ok()?;
        h.filter(|(_, at)| at.elapsed() <= max_age)
            .map(|(ok, _)| ok)
    }

    /// Whether the writer's last commit failed and none succeeded since
    /// (the database is failing: `/readyz` says so, the monitor alerts).
    pub fn writer_failing(&self) -> bool {
        self.inner.writer.failing()
    }

    /// Resolves once every write sent before it is committed.
    pub async fn flush(&self) -> Result<(), DbError> {
        self.write(|_| Ok(())).await
    }

    /// Commits the writes sent so far and stops the writer; later writes
    /// answer `Unavailable` (the server is shutting down).
    pub async fn stop_writer(&self) {
        self.inner.writer.stop().await;
    }

    /// Blocking read for start-up and tools (never on an async worker).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut conn = self
            .inner
            .pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        f(&mut conn)
    }
}

/// SQLite WAL checkpoints run here, on their own connection (`PASSIVE`:
/// never blocks the writer), instead of inside a commit where their fsyncs
/// would stall acknowledged writes. A checkpoint runs when the WAL holds more
/// than [`CHECKPOINT_PAGES`] pages not yet copied (what SQLite's automatic
/// checkpoint would do), checked twice a second, until the background work
/// stops.
fn start_checkpointer(pool: Pool, spawner: &dyn Spawner) {
    #[derive(diesel::QueryableByName)]
    struct Wal {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        checkpointed: i32,
    }
    spawner.thread(
        "triage-db-checkpoint",
        Box::new(move |stop| {
            let mut pending_estimate = 0i32;
            while !stop.is_set() {
                // Half a second, looking at the stop flag as it passes.
                for _ in 0..10 {
                    std::thread::sleep(Duration::from_millis(50));
                    if stop.is_set() {
                        return;
                    }
                }
                let Ok(mut c) = pool.get() else { continue };
                // A NOOP-cost probe: a PASSIVE checkpoint of nothing answers
                // the WAL's size; only checkpoint for real when it is large.
                if pending_estimate < CHECKPOINT_PAGES {
                    let probe =
                        diesel::sql_query("PRAGMA wal_checkpoint(NOOP)").get_result::<Wal>(&mut c);
                    pending_estimate = probe.map(|w| w.log - w.checkpointed).unwrap_or(0);
                    if pending_estimate < CHECKPOINT_PAGES {
                        continue;
                    }
                }
                match c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    Ok(()) => pending_estimate = 0,
                    Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
                }
            }
        }),
    );
}

/// WAL pages that trigger a checkpoint (SQLite's own default is 1000).
pub const CHECKPOINT_PAGES: i32 = 1000;
