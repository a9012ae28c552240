//! The single database writer: group commit.
//!
//! Every durable write is a closure sent to one thread. The thread takes all
//! that are waiting (up to [`MAX_BATCH`]), runs them in **one** transaction
//! with a savepoint each (a failing request rolls back alone), commits once
//! and only then answers each caller. With SQLite `synchronous=FULL` that is
//! one fsync per batch instead of one per request; with PostgreSQL one commit
//! round-trip. One writer also means writes never race each other (ticket
//! numbers, calls), on either backend.

use std::any::Any;
use std::sync::mpsc;

use diesel::Connection;
use tokio::sync::oneshot;

use super::{AnyConnection, DbError, Pool};

/// The most requests one commit carries.
pub const MAX_BATCH: usize = 512;

/// Writes committed and commits made, since start (for `/metrics`): their
/// ratio is the group-commit batch size.
pub static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub static COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

type AnyBox = Box<dyn Any + Send>;
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Result<AnyBox, DbError> + Send>;

struct Request {
    job: Job,
    reply: oneshot::Sender<Result<AnyBox, DbError>>,
}

/// Handle to the writer thread. Cloning shares the thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Request>,
}

impl Writer {
    /// Starts the writer thread on connections from `pool`.
    pub fn start(pool: Pool) -> Writer {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("triage-db-writer".into())
            .spawn(move || writer_loop(pool, rx))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the database writer"));
        Writer { tx }
    }

    /// Runs `f` in the next group commit; resolves after the commit.
    pub async fn run<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, DbError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |c| f(c).map(|v| Box::new(v) as AnyBox));
        self.tx
            .send(Request { job, reply })
            .map_err(|_| DbError::Unavailable("database writer stopped".into()))?;
        let any = rx
            .await
            .map_err(|_| DbError::Unavailable("database writer stopped".into()))??;
        any.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| DbError::Unavailable("writer answered the wrong type".into()))
    }
}

fn writer_loop(pool: Pool, rx: mpsc::Receiver<Request>) {
    let mut conn: Option<r2d2::PooledConnection<super::Manager>> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        if conn.is_none() {
            match pool.get() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::error!(error = %e, batch = batch.len(), "database writer has no connection");
                    for r in batch {
                        let _ = r
                            .reply
                            .send(Err(DbError::Unavailable("no database connection".into())));
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let mut replies = Vec::with_capacity(batch.len());
        let mut results = Vec::with_capacity(batch.len());
        let outcome = c.transaction::<(), DbError, _>(|tx| {
            for req in batch {
                replies.push(req.reply);
                let job = req.job;
                results.push(tx.transaction::<AnyBox, DbError, _>(|sp| job(sp)));
            }
            Ok(())
        });
        match outcome {
            Ok(()) => {
                use std::sync::atomic::Ordering::Relaxed;
                COMMITS.fetch_add(1, Relaxed);
                WRITES.fetch_add(replies.len() as u64, Relaxed);
                for (reply, res) in replies.into_iter().zip(results) {
                    let _ = reply.send(res);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = replies.len(), "group commit failed; nothing acknowledged");
                // The connection may be broken: take a fresh one next time.
                conn = None;
                for reply in replies {
                    let _ = reply.send(Err(DbError::Unavailable("commit failed".into())));
                }
            }
        }
    }
}
