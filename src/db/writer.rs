//! The single database writer: group commit.
//!
//! Every durable write is a closure sent to one thread. The thread takes all
//! that are waiting (up to [`MAX_BATCH`]), runs them in **one** transaction
//! with a savepoint each (a failing request rolls back alone), commits once
//! and only then answers each caller. With SQLite `synchronous=FULL` that is
//! one fsync per batch instead of one per request; with PostgreSQL one commit
//! round-trip. One writer also means writes never race each other (ticket
//! numbers, calls), on either backend.
//!
//! Writes of one [`Grouped`] kind that come in a row in a batch
//! (registrations) run together, as set-based statements in one savepoint;
//! if they cannot, each runs alone as any other write.

use std::any::Any;
use std::sync::mpsc;

use diesel::Connection;
use tokio::sync::oneshot;

use super::conn::{AnyConnection, DbError};
use super::spawn::Spawner;

/// The most requests one commit carries.
pub const MAX_BATCH: usize = 512;

/// Writes committed and commits made, since start (for `/metrics`): their
/// ratio is the group-commit batch size.
pub static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub static COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Requests per group commit.
pub static BATCH_SIZE: std::sync::LazyLock<prometheus_client::metrics::histogram::Histogram> =
    std::sync::LazyLock::new(|| {
        prometheus_client::metrics::histogram::Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 10),
        )
    });
/// Seconds a group commit takes (the transaction, fsync included).
pub static COMMIT_SECONDS: std::sync::LazyLock<prometheus_client::metrics::histogram::Histogram> =
    std::sync::LazyLock::new(|| {
        prometheus_client::metrics::histogram::Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 16),
        )
    });
/// When a writer last committed, and last failed to (microseconds on the
/// monotonic clock; 0: never): its database is failing while the failure is the
/// later of the two.
#[derive(Default)]
struct Health {
    last_commit: std::sync::atomic::AtomicI64,
    last_failure: std::sync::atomic::AtomicI64,
}

/// Microseconds on the monotonic clock since the first call (at least 1):
/// only the order of commits and failures matters.
fn now_micros() -> i64 {
    static START: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    i64::try_from(START.elapsed().as_micros()).unwrap_or(i64::MAX) + 1
}

/// Database errors: reads and writes that failed for the database's sake.
pub static DB_ERRORS: std::sync::LazyLock<prometheus_client::metrics::counter::Counter> =
    std::sync::LazyLock::new(Default::default);

type AnyBox = Box<dyn Any + Send>;
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Result<AnyBox, DbError> + Send>;

/// What a group of writes answers: one result per write, in order, or
/// `None` when they cannot run together.
pub type GroupResults<T> = Option<Vec<Result<T, DbError>>>;

/// Writes of one kind that run as set-based statements when several come
/// in a row in one batch (registrations: one read of the visits and one
/// insert for all of them, instead of statements per request).
pub trait Grouped: Send + 'static {
    type Output: Send + 'static;
    /// Runs `group` (two or more, in arrival order) together: one result
    /// per request, in order, where a refused request wrote nothing.
    /// `Ok(None)`: these cannot run together (nothing written); `Err`: the
    /// database failed. Either way the writer runs each one alone.
    fn run_group(
        c: &mut AnyConnection,
        group: &[&Self],
    ) -> Result<GroupResults<Self::Output>, DbError>;
    /// Runs one request alone (in its own savepoint).
    fn run_alone(&self, c: &mut AnyConnection) -> Result<Self::Output, DbError>;
}

/// The type-erased halves of a [`Grouped`] write.
struct GroupedJob {
    item: AnyBox,
    kind: std::any::TypeId,
    group: fn(&mut AnyConnection, &[&AnyBox]) -> Result<GroupResults<AnyBox>, DbError>,
    alone: fn(&mut AnyConnection, &AnyBox) -> Result<AnyBox, DbError>,
}

impl GroupedJob {
    fn new<G: Grouped>(item: G) -> GroupedJob {
        GroupedJob {
            item: Box::new(item),
            kind: std::any::TypeId::of::<G>(),
            group: |c, items| {
                let typed: Option<Vec<&G>> = items.iter().map(|b| b.downcast_ref::<G>()).collect();
                let Some(typed) = typed else { return Ok(None) };
                Ok(G::run_group(c, &typed)?.map(|results| {
                    results
                        .into_iter()
                        .map(|r| r.map(|v| Box::new(v) as AnyBox))
                        .collect()
                }))
            },
            alone: |c, item| match item.downcast_ref::<G>() {
                Some(g) => g.run_alone(c).map(|v| Box::new(v) as AnyBox),
                None => Err(DbError::Unavailable("writer got the wrong type".into())),
            },
        }
    }
}

enum Work {
    One(Job),
    Grouped(GroupedJob),
}

struct Request {
    work: Work,
    reply: oneshot::Sender<Result<AnyBox, DbError>>,
}

enum Msg {
    Write(Request),
    /// Commit what came before, answer, and end the thread; later writes
    /// are refused as unavailable.
    Stop(oneshot::Sender<()>),
}

/// Handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Msg>,
    health: std::sync::Arc<Health>,
}

impl Writer {
    /// Starts the writer thread on connections from `pool`, through the
    /// server's spawner.
    pub(super) fn start(pool: super::checkout::Checkout, spawner: &dyn Spawner) -> Writer {
        let (tx, rx) = mpsc::channel::<Msg>();
        let health = std::sync::Arc::new(Health::default());
        let h = health.clone();
        spawner.thread(
            "triage-db-writer",
            Box::new(move |_stop| writer_loop(pool, rx, &h)),
        );
        Writer { tx, health }
    }

    /// Whether the last commit failed (disk full, file unwritable, server
    /// gone) and none succeeded since.
    pub fn failing(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.health.last_failure.load(Relaxed) > self.health.last_commit.load(Relaxed)
    }

    /// Commits every write sent before this call, then stops the thread.
    pub async fn stop(&self) {
        let (done, rx) = oneshot::channel();
        if self.tx.send(Msg::Stop(done)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Runs `f` in the next group commit; resolves after the commit.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        let job: Job = Box::new(move |c| f(c).map(|v| Box::new(v) as AnyBox));
        self.send(Work::One(job)).await
    }

    /// Runs `item` in the next group commit, together with the writes of
    /// its kind that come in a row with it; resolves after the commit.
    pub async fn run_grouped<G: Grouped>(&self, item: G) -> Result<G::Output, DbError> {
        self.send(Work::Grouped(GroupedJob::new(item))).await
    }

    async fn send<T: 'static>(&self, work: Work) -> Result<T, DbError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Msg::Write(Request { work, reply }))
            .map_err(|_| DbError::Unavailable("database writer stopped".into()))?;
        let any = rx
            .await
            .map_err(|_| DbError::Unavailable("database writer stopped".into()))??;
        any.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| DbError::Unavailable("writer answered the wrong type".into()))
    }
}

fn writer_loop(pool: super::checkout::Checkout, rx: mpsc::Receiver<Msg>, health: &Health) {
    let mut conn: Option<r2d2::PooledConnection<super::conn::Manager>> = None;
    let mut stopped: Option<oneshot::Sender<()>> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        match first {
            Msg::Write(r) => batch.push(r),
            Msg::Stop(done) => {
                let _ = done.send(());
                break;
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Write(r)) => batch.push(r),
                Ok(Msg::Stop(done)) => {
                    stopped = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(&pool, &mut conn, batch, health);
        if let Some(done) = stopped.take() {
            let _ = done.send(());
            break;
        }
    }
    tracing::info!("database writer stopped");
}

/// Why writes of one kind did not run together.
enum GroupError {
    /// They cannot (nothing was written).
    Apart,
    /// The database refused a set-based statement.
    Db(DbError),
}

impl From<DbError> for GroupError {
    fn from(e: DbError) -> Self {
        GroupError::Db(e)
    }
}

impl From<diesel::result::Error> for GroupError {
    fn from(e: diesel::result::Error) -> Self {
        GroupError::Db(e.into())
    }
}

/// On SQLite, the writer's savepoints keep the pages they may have to put
/// back (the statement journal) in memory: by default a journal past
/// 64 KiB spills to a temporary file, and a batch's savepoints then wrote
/// a quarter of the writer's bytes through `pwrite` (profiled during P3).
/// Only the writer's connection: reads keep sorting large results on disk
/// (the writer undoes it when it gives a failed connection back).
fn keep_savepoints_in_memory(c: &mut AnyConnection) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    match c {
        AnyConnection::Sqlite(s) => s
            .batch_execute("PRAGMA temp_store = MEMORY")
            .map_err(|e| e.to_string()),
        AnyConnection::Postgresql(_) => Ok(()),
    }
}

/// Undoes [`keep_savepoints_in_memory`] on a connection the writer gives
/// back to the pool (best effort: a broken connection fails this too).
fn keep_savepoints_on_disk(c: &mut AnyConnection) {
    use diesel::connection::SimpleConnection;
    if let AnyConnection::Sqlite(s) = c {
        let _ = s.batch_execute("PRAGMA temp_store = DEFAULT");
    }
}

/// Runs writes of one kind that came in a row: together in one savepoint
/// when there are several, else (or when they cannot run together, or the
/// database refused the set-based statements) each alone in its own.
fn run_grouped(
    tx: &mut AnyConnection,
    chain: &super::audit::Batch,
    run: &[GroupedJob],
) -> Vec<Result<AnyBox, DbError>> {
    if let [first, _, ..] = run {
        let items: Vec<&AnyBox> = run.iter().map(|g| &g.item).collect();
        let mark = chain.mark();
        match tx.transaction::<_, GroupError, _>(|sp| match (first.group)(sp, &items)? {
            Some(results) if results.len() == items.len() => Ok(results),
            _ => Err(GroupError::Apart),
        }) {
            Ok(results) => return results,
            Err(GroupError::Apart) => {}
            Err(GroupError::Db(e)) => {
                tracing::warn!(error = %e, writes = run.len(), "set-based writes refused; each runs alone");
            }
        }
        chain.restore(mark);
    }
    run.iter()
        .map(|g| {
            let mark = chain.mark();
            let result = tx.transaction::<AnyBox, DbError, _>(|sp| (g.alone)(sp, &g.item));
            if result.is_err() {
                chain.restore(mark);
            }
            result
        })
        .collect()
}

/// Runs one batch in one transaction, a savepoint per request, and answers
/// every request once the commit is done (or failed).
fn commit_batch(
    pool: &super::checkout::Checkout,
    conn: &mut Option<r2d2::PooledConnection<super::conn::Manager>>,
    batch: Vec<Request>,
    health: &Health,
) {
    if conn.is_none() {
        match pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            keep_savepoints_in_memory(&mut c)?;
            Ok(c)
        }) {
            Ok(c) => *conn = Some(c),
            Err(e) => {
                tracing::error!(error = %e, batch = batch.len(), "database writer has no connection");
                DB_ERRORS.inc();
                health
                    .last_failure
                    .store(now_micros(), std::sync::atomic::Ordering::Relaxed);
                for r in batch {
                    let _ = r
                        .reply
                        .send(Err(DbError::Unavailable("no database connection".into())));
                }
                return;
            }
        }
    }
    let Some(c) = conn.as_mut() else { return };
    let started = std::time::Instant::now();
    let mut replies = Vec::with_capacity(batch.len());
    let mut results = Vec::with_capacity(batch.len());
    let outcome = super::conn::write_transaction::<(), DbError>(c, |tx| {
        // The audit chain's head, read once and then kept for this
        // transaction (dropped when it ends, committed or not).
        let chain = super::audit::Batch::begin();
        let mut works = batch.into_iter().map(|req| {
            replies.push(req.reply);
            req.work
        });
        let mut next = works.next();
        while let Some(work) = next.take() {
            match work {
                Work::One(job) => {
                    let mark = chain.mark();
                    let result = tx.transaction::<AnyBox, DbError, _>(|sp| job(sp));
                    if result.is_err() {
                        chain.restore(mark);
                    }
                    results.push(result);
                    next = works.next();
                }
                Work::Grouped(first) => {
                    // The writes of this kind that come in a row.
                    let mut run = vec![first];
                    next = works.next();
                    while let Some(Work::Grouped(g)) =
                        next.take_if(|w| matches!(w, Work::Grouped(g) if g.kind == run[0].kind))
                    {
                        run.push(g);
                        next = works.next();
                    }
                    results.extend(run_grouped(tx, &chain, &run));
                }
            }
        }
        Ok(())
    });
    match outcome {
        Ok(()) => {
            use std::sync::atomic::Ordering::Relaxed;
            COMMITS.fetch_add(1, Relaxed);
            WRITES.fetch_add(replies.len() as u64, Relaxed);
            BATCH_SIZE.observe(replies.len() as f64);
            health.last_commit.store(now_micros(), Relaxed);
            COMMIT_SECONDS.observe(started.elapsed().as_secs_f64());
            for (reply, res) in replies.into_iter().zip(results) {
                let _ = reply.send(res);
            }
        }
        Err(e) => {
            tracing::error!(error = %e, batch = replies.len(), "group commit failed; nothing acknowledged");
            DB_ERRORS.inc();
            health
                .last_failure
                .store(now_micros(), std::sync::atomic::Ordering::Relaxed);
            // The connection may be broken: take a fresh one next time. It
            // goes back to the pool, so it reads as the others do again.
            if let Some(mut c) = conn.take() {
                keep_savepoints_on_disk(&mut c);
            }
            for reply in replies {
                let _ = reply.send(Err(DbError::Unavailable("commit failed".into())));
            }
        }
    }
}
