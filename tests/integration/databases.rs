//! The two backends: identical migration trees, identical tables and
//! columns after migrating, and connection errors reported at once with the
//! real reason.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use triage::db::{Db, DbError, DbSettings, Synchronous};

use crate::common::fresh_database;

fn dirs(tree: &str) -> BTreeSet<String> {
    let path = format!("{}/migrations/{tree}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn both_migration_trees_have_the_same_names() {
    let sqlite = dirs("sqlite");
    let postgres = dirs("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
    for d in &sqlite {
        for f in ["up.sql", "down.sql"] {
            for tree in ["sqlite", "postgres"] {
                let p = format!("{}/migrations/{tree}/{d}/{f}", env!("CARGO_MANIFEST_DIR"));
                assert!(std::path::Path::new(&p).is_file(), "missing {p}");
            }
        }
    }
}

#[derive(QueryableByName, Debug)]
struct Col {
    #[diesel(sql_type = Text)]
    t: String,
    #[diesel(sql_type = Text)]
    c: String,
}

fn connect(url: &str) -> Db {
    crate::common::connect_db(url)
}

#[test]
fn both_databases_end_up_with_the_same_tables_and_columns() {
    let Ok(_) = std::env::var("TRIAGE_TEST_POSTGRES_URL") else {
        // The SQLite-only run has nothing to compare with; scripts/test.sh runs
        // this suite again with PostgreSQL, where this test does its work.
        eprintln!("both_databases_end_up_with_the_same_tables_and_columns: needs TRIAGE_TEST_POSTGRES_URL; checked in the PostgreSQL run");
        return;
    };
    let pg = fresh_database();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sqlite_url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let s = connect(&sqlite_url);
    let p = connect(&pg.url);
    let cols = |db: &Db, sql: &'static str| -> BTreeSet<(String, String)> {
        db.read_blocking(|c| Ok(diesel::sql_query(sql).load::<Col>(c)?))
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|x| (x.t, x.c))
            .collect()
    };
    let sqlite_cols = cols(
        &s,
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
    );
    let pg_cols = cols(
        &p,
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    );
    assert!(sqlite_cols.len() > 20);
    assert_eq!(sqlite_cols, pg_cols, "the two databases differ");
}

fn fails_fast(url: &str, expect: &str) {
    let started = Instant::now();
    let res = Db::connect(
        &DbSettings {
            url: url.to_string(),
            synchronous: Synchronous::Full,
            pool_size: 2,
        },
        &triage::background::Background::new(),
    );
    let took = started.elapsed();
    let err = match res {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(expect),
        "{url}: {err:?} does not say {expect:?}"
    );
    assert!(took < Duration::from_secs(5), "{url}: took {took:?}");
}

#[test]
fn a_bad_url_is_reported_at_once() {
    fails_fast("mysql://localhost/triage", "unsupported scheme");
    fails_fast("", "empty database url");
    assert!(matches!(
        triage::db::parse_url("sqlite://"),
        Err(DbError::BadUrl(_))
    ));
}

#[test]
fn an_unreachable_server_is_reported_at_once_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    fails_fast(
        &format!("postgres://u:p@127.0.0.1:{port}/db"),
        "Connection refused",
    );
}

#[test]
fn a_wrong_password_is_reported_at_once_with_the_reason() {
    let Ok(base) = std::env::var("TRIAGE_TEST_POSTGRES_URL") else {
        eprintln!("a_wrong_password_is_reported_at_once_with_the_reason: needs TRIAGE_TEST_POSTGRES_URL; checked in the PostgreSQL run");
        return;
    };
    // Sanity: the right password works.
    diesel::PgConnection::establish(&base).unwrap_or_else(|e| panic!("{e}"));
    let (creds, host) = base.split_once('@').unwrap_or((&base, ""));
    let user = creds
        .trim_start_matches("postgres://")
        .split(':')
        .next()
        .unwrap_or("postgres");
    let wrong = format!("postgres://{user}:not-the-password@{host}");
    fails_fast(&wrong, "password authentication failed");
}

#[actix_web::test]
async fn a_backup_restores_to_an_identical_database() {
    let app = crate::common::spawn_app().await;
    app.arrive("B1", &crate::common::registration("备份甲", "NK"))
        .await;
    app.arrive("B2", &crate::common::registration("备份乙", "WK"))
        .await;
    app.room("NK-02", "call-next").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("triage.backup");
    let url = app.db.url.clone();
    let f = file.clone();
    tokio::task::spawn_blocking(move || triage::db::backup::backup(&url, &f))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("backup: {e}"));
    let target = fresh_database();
    let t = target.url.clone();
    tokio::task::spawn_blocking(move || triage::db::backup::restore(&file, &t))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("restore: {e}"));
    let restored = connect(&target.url);
    let dump = restored
        .read(triage::db::store::dump)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dump, app.dump().await);
    assert!(dump.contains("B2"));
}

/// A status, seat or other enumerated text changed behind the server's
/// back is broken data: the read that meets it fails as `Corrupt` (500
/// `internal` over HTTP), and the error names the visit and the room to
/// mend, never the patient; any other row reads as before.
#[actix_web::test]
async fn broken_stored_texts_are_named_by_visit_and_room() {
    let app = crate::common::spawn_app().await;
    app.arrive("BR1", &crate::common::registration("坏数据甲", "NK"))
        .await;
    app.arrive("BR2", &crate::common::registration("坏数据乙", "NK"))
        .await;
    let url = app.db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = triage::db::connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        for sql in [
            "UPDATE visits SET status = 'lost' WHERE visit_no = 'BR1'",
            "UPDATE rooms SET seat = 'sofa' WHERE code = 'NK-02'",
        ] {
            diesel::sql_query(sql)
                .execute(&mut c)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let err = app
        .engine
        .db()
        .read(|c| triage::db::store::get_visit(c, "BR1"))
        .await
        .err();
    let Some(DbError::Corrupt(cause)) = err else {
        panic!("not broken data: {err:?}");
    };
    assert!(cause.contains("\"lost\" is no VisitStatus"), "{cause}");
    assert!(cause.contains("visits: BR1;"), "{cause}");
    assert!(cause.contains("rooms: NK-02"), "{cause}");
    assert!(!cause.contains("坏数据"), "never the patient: {cause}");

    let r = app
        .http
        .get(app.url("/api/v1/registrations/BR1"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 500);
    // The other visit reads as before.
    let r = app
        .http
        .get(app.url("/api/v1/registrations/BR2"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), 200);
}

/// SQLite is built with its query planner stability guarantee on
/// (`.cargo/config.toml`): without it, every statement with `LIMIT ?`
/// (diesel's `.first()`) was compiled again on each execution.
#[test]
fn sqlite_is_built_with_the_query_planner_stability_guarantee() {
    #[derive(QueryableByName)]
    struct Opt {
        #[diesel(sql_type = Text)]
        compile_options: String,
    }
    let mut c = diesel::SqliteConnection::establish(":memory:").unwrap_or_else(|e| panic!("{e}"));
    let options: Vec<String> = diesel::sql_query("PRAGMA compile_options")
        .load::<Opt>(&mut c)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite without ENABLE_QPSG: {options:?}"
    );
}

/// The writer's savepoints keep their statement journal in memory on
/// SQLite (a journal past 64 KiB spilled to a temporary file: a quarter of
/// the writer's bytes went through `pwrite` during P3); reads keep the
/// default, so a large sort may still spill to disk.
#[actix_web::test]
async fn the_sqlite_writer_keeps_its_savepoints_in_memory_and_reads_do_not() {
    #[derive(QueryableByName)]
    struct Store {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        temp_store: i64,
    }
    let test_db = fresh_database();
    if !test_db.url.starts_with("sqlite") {
        return;
    }
    let db = crate::common::connect_db(&test_db.url);
    let read = |c: &mut triage::db::AnyConnection| {
        Ok(diesel::sql_query("PRAGMA temp_store")
            .get_result::<Store>(c)?
            .temp_store)
    };
    let writer = db.write(read).await.unwrap_or_else(|e| panic!("{e}"));
    let reader = db.read(read).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (writer, reader),
        (2, 0),
        "temp_store: 2 is MEMORY, 0 the default"
    );
    db.stop_writer().await;
}
