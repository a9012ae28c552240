//! The database: SQLite (embedded default) or PostgreSQL (production) from one
//! binary, through diesel + r2d2.
//!
//! - The backend is chosen by the URL's scheme (`postgres://`/`postgresql://`
//!   → PostgreSQL; `sqlite://path` or a plain path → SQLite), never by trying
//!   each in turn, so a wrong password is reported at once with its reason.
//! - Migrations are embedded, one tree per backend with identical names, and
//!   run at start-up.
//! - Every write goes through one [`writer::Writer`] thread (group commit:
//!   one transaction per batch, a savepoint per request); reads use the pool.
//!   Neither ever runs on an async worker or an actor's thread.
//! - Backend-specific SQL stays inside this module.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod broken;
mod checkout;
pub mod columns;
pub mod conn;
pub mod journal;
pub mod links;
pub mod models;
pub mod pool;
pub mod results;
pub mod schedules;
pub mod schema;
pub mod spawn;
pub mod store;
pub mod timings;
pub mod waits;
pub mod webhooks;
pub mod writer;

pub use conn::{
    connect_one, connect_raw, migration_status, missing_sqlite_file, parse_url, redact_url,
    revert_all, revert_last, run_migrations, server_lock_path, sqlite_migrations_pending,
    write_transaction, AnyConnection, Backend, Conflict, DbError, Pool, Synchronous,
    POSTGRES_MIGRATIONS, SERVER_APPLICATION_NAME, SQLITE_MIGRATIONS,
};
pub use pool::{Db, DbSettings, CHECKPOINT_PAGES};
pub use spawn::{Spawner, StopFlag};
pub use timings::Timings;
pub use writer::Writer;
