//! The audit log's hash chain: every staff and HIS action is an event row
//! chained to the one before; `triage audit verify` names an edited, deleted
//! or inserted record and exits non-zero.

use diesel::{Connection, RunQueryDsl};
use triage::db::audit::{self, Verdict};
use triage::db::connect_one;

use triage::config::Hospital;
use triage::db::models::NewEvent;

use crate::common::{fresh_database, registration, spawn_app, spawn_app_on, TestApp};

/// A day's worth of events: registrations, check-ins, calls, a finish.
async fn some_events(app: &TestApp) {
    for i in 0..4 {
        app.arrive(&format!("AU-{i}"), &registration("审计", "WK"))
            .await;
    }
    for _ in 0..3 {
        assert_eq!(app.room("WK-01", "call-next").await.status(), 200);
    }
}

/// Runs `sql`, then the verification, and rolls both back.
fn verify_after(url: &str, sql: &str) -> Verdict {
    let mut c = connect_one(url).unwrap_or_else(|e| panic!("connect: {e}"));
    let mut verdict = None;
    let _ = c.transaction::<(), diesel::result::Error, _>(|tx| {
        diesel::sql_query(sql).execute(tx)?;
        verdict = Some(audit::verify(tx).map_err(|_| diesel::result::Error::RollbackTransaction)?);
        Err(diesel::result::Error::RollbackTransaction)
    });
    verdict.unwrap_or_else(|| panic!("no verdict after {sql}"))
}

fn ids(url: &str) -> Vec<i64> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let mut c = connect_one(url).unwrap_or_else(|e| panic!("connect: {e}"));
    diesel::sql_query("SELECT id FROM events ORDER BY id")
        .load::<Id>(&mut c)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[actix_web::test]
async fn an_edited_deleted_or_inserted_audit_record_breaks_the_chain_at_that_record() {
    let app = spawn_app().await;
    some_events(&app).await;
    let url = app.db.url.clone();
    let all = ids(&url);
    assert!(all.len() >= 10, "{} events", all.len());
    let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
    let head = audit::head(&mut c).unwrap_or_else(|e| panic!("{e}"));
    let intact = audit::verify(&mut c).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        intact,
        Verdict::Intact {
            records: all.len() as u64,
            unchained: 0,
            head: head.clone()
        }
    );
    drop(c);

    let middle = all[all.len() / 2];
    let next = all[all.len() / 2 + 1];
    let last = all[all.len() - 1];
    // Edited: someone changes who did it.
    assert_eq!(
        verify_after(
            &url,
            &format!("UPDATE events SET operator = 'someone-else' WHERE id = {middle}")
        ),
        Verdict::Edited { id: middle }
    );
    // Deleted: the record after it no longer follows.
    assert_eq!(
        verify_after(&url, &format!("DELETE FROM events WHERE id = {middle}")),
        Verdict::Broken { id: next }
    );
    // Inserted: a forged record does not follow the chain.
    let forged = last + 1;
    assert_eq!(
        verify_after(
            &url,
            &format!(
                "INSERT INTO events (id, at, kind, operator, source, detail, prev_hash, hash) \
                 VALUES ({forged}, '2026-11-29 08:00:00', 'finished', 'D-x', 'x', '{{}}', 'forged', 'forged')"
            )
        ),
        Verdict::Broken { id: forged }
    );
    // Inserted without a place in the chain.
    assert_eq!(
        verify_after(
            &url,
            &format!(
                "INSERT INTO events (id, at, kind, operator, source, detail) \
                 VALUES ({forged}, '2026-11-29 08:00:00', 'finished', 'D-x', 'x', '{{}}')"
            )
        ),
        Verdict::Broken { id: forged }
    );
    // Inserted without hashes below the chain (id 0), where rows from
    // before the chain would stand: this database never had any.
    assert_eq!(
        verify_after(
            &url,
            "INSERT INTO events (id, at, kind, operator, source, detail) \
             VALUES (0, '2026-11-29 08:00:00', 'finished', 'D-x', 'x', '{}')"
        ),
        Verdict::Broken { id: 0 }
    );

    // The command: exit 0 when intact (and at the head kept elsewhere), 1
    // naming the record when edited.
    let verify = |extra: &[&str]| {
        crate::common::triage_command()
            .args(["audit", "verify", "--database-url", &url])
            .args(extra)
            .env("TRIAGE_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("triage audit verify: {e}"))
    };
    let out = verify(&["--head", &head]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = verify(&["--head", "0000"]);
    assert_eq!(out.status.code(), Some(1));
    // Yesterday's head (kept from the daily log line) still verifies after
    // the chain grew.
    assert_eq!(app.room("WK-01", "call-next").await.status(), 200);
    let out = verify(&["--head", &head]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains(&format!("record {last}")), "{text}");
    let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(format!(
        "UPDATE events SET detail = '{{}}' WHERE id = {middle}"
    ))
    .execute(&mut c)
    .unwrap_or_else(|e| panic!("{e}"));
    let out = verify(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("record {middle}")), "{text}");
}

/// An auditor's export: every record, CSV that Excel opens with Chinese
/// intact (a byte-order mark) or JSON Lines; no patient name in either.
#[actix_web::test]
async fn the_audit_log_exports_to_csv_and_json_lines_without_names() {
    let app = spawn_app().await;
    some_events(&app).await;
    let url = app.db.url.clone();
    let count = ids(&url).len();
    let export = |format: &str| {
        let out = crate::common::triage_command()
            .args([
                "audit",
                "export",
                "--database-url",
                &url,
                "--format",
                format,
            ])
            .env("TRIAGE_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("triage audit export: {e}"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("not UTF-8: {e}"))
    };
    let csv = export("csv");
    assert!(csv.starts_with('\u{feff}'), "no byte-order mark");
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some("id,at,kind,operator,source,visit_no,room_code,queue_code,detail,prev_hash,hash")
    );
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.records().count(), count);
    let jsonl = export("jsonl");
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows.len(), count);
    assert!(rows
        .iter()
        .any(|r| r["kind"] == "checked_in" && r["visit_no"] == "AU-0"));
    assert!(rows
        .iter()
        .all(|r| r["hash"].as_str().is_some_and(|h| h.len() == 64)));
    assert!(
        !csv.contains("审计") && !jsonl.contains("审计"),
        "a patient name in the export"
    );
    let bad = crate::common::triage_command()
        .args(["audit", "export", "--database-url", &url, "--format", "xml"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
}

/// An event written `days_ago` (a test stands in for months of use).
fn old_event(days_ago: i64, n: usize) -> NewEvent {
    NewEvent {
        at: crate::common::wednesday().naive_utc() - chrono::Duration::days(days_ago),
        kind: "finished".into(),
        operator: "D1001".into(),
        source: "test".into(),
        visit_no: Some(format!("OLD-{n}")),
        room_code: Some("WK-01".into()),
        queue_code: Some("WK".into()),
        detail: "{}".into(),
        prev_hash: None,
        hash: None,
    }
}

fn kinds(url: &str) -> Vec<(i64, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    let mut c = connect_one(url).unwrap_or_else(|e| panic!("connect: {e}"));
    diesel::sql_query("SELECT id, kind FROM events ORDER BY id")
        .load::<Row>(&mut c)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| (r.id, r.kind))
        .collect()
}

/// Records are kept for the retention (180 days by default) and then
/// removed, oldest first and in batches; the chain that is left still
/// verifies from the prune's anchor, and an edited anchor or a record put
/// back before it shows.
#[actix_web::test]
async fn audit_records_past_their_retention_are_removed_and_the_chain_still_verifies() {
    let db = fresh_database();
    let url = db.url.clone();
    // 25 records from a year ago, 5 from last month (inside 180 days).
    {
        let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        for n in 0..25 {
            audit::append(&mut c, old_event(400, n)).unwrap_or_else(|e| panic!("{e}"));
        }
        for n in 25..30 {
            audit::append(&mut c, old_event(30, n)).unwrap_or_else(|e| panic!("{e}"));
        }
        // In batches of 10: three rounds, each leaving an intact chain.
        let now = crate::common::wednesday().naive_utc();
        let cutoff = now - chrono::Duration::days(180);
        let first = audit::prune(&mut c, cutoff, now, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.records, first.more), (10, true));
        assert!(matches!(audit::verify(&mut c), Ok(Verdict::Intact { .. })));
    }
    // The server removes the rest when it starts (and once a day).
    let app = spawn_app_on(Hospital::demo(), 2, db).await;
    let mut left = kinds(&url);
    for _ in 0..100 {
        if left.iter().filter(|(_, k)| k == audit::PRUNED).count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        left = kinds(&url);
    }
    let old_left = left.iter().filter(|(_, k)| k == "finished").count();
    assert_eq!(old_left, 5, "only last month's records stay: {left:?}");
    assert_eq!(
        left.iter().filter(|(_, k)| k == audit::PRUNED).count(),
        2,
        "one chained record per prune: {left:?}"
    );
    some_events(&app).await;
    let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
    let head = audit::head(&mut c).unwrap_or_else(|e| panic!("{e}"));
    let Ok(Verdict::Intact { head: walked, .. }) = audit::verify(&mut c) else {
        panic!("the chain after a prune does not verify");
    };
    assert_eq!(walked, head);
    drop(c);
    let out = crate::common::triage_command()
        .args(["audit", "verify", "--database-url", &url, "--head", &head])
        .env("TRIAGE_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("triage audit verify: {e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // An anchor edited to hide more removed records does not match its
    // chained prune record.
    assert!(matches!(
        verify_after(&url, "UPDATE audit_prunes SET records = records + 100"),
        Verdict::Anchor { id: Some(_) }
    ));
    // The oldest kept record removed: the next one no longer follows the
    // anchor.
    let kept: Vec<i64> = ids(&url);
    assert_eq!(
        verify_after(&url, &format!("DELETE FROM events WHERE id = {}", kept[0])),
        Verdict::Broken { id: kept[1] }
    );
    // A record put back before the anchor.
    assert_eq!(
        verify_after(
            &url,
            "INSERT INTO events (id, at, kind, operator, source, detail, prev_hash, hash) \
             VALUES (1, '2025-01-01 08:00:00', 'finished', 'D-x', 'x', '{}', '', 'forged')"
        ),
        Verdict::Broken { id: 1 }
    );
}

/// Each tampering through the command itself, on its own database: exit 1
/// and the record named.
#[actix_web::test]
async fn triage_audit_verify_names_a_deleted_an_inserted_and_an_edited_record() {
    for case in ["deleted", "inserted", "edited"] {
        let app = spawn_app().await;
        some_events(&app).await;
        let url = app.db.url.clone();
        let all = ids(&url);
        let middle = all[all.len() / 2];
        let forged = all[all.len() - 1] + 1;
        let (sql, named) = match case {
            "deleted" => (
                format!("DELETE FROM events WHERE id = {middle}"),
                all[all.len() / 2 + 1],
            ),
            "inserted" => (
                format!(
                    "INSERT INTO events (id, at, kind, operator, source, detail, prev_hash, hash) \
                     VALUES ({forged}, '2026-11-29 08:00:00', 'finished', 'D-x', 'x', '{{}}', 'forged', 'forged')"
                ),
                forged,
            ),
            _ => (
                format!("UPDATE events SET operator = 'someone-else' WHERE id = {middle}"),
                middle,
            ),
        };
        let mut c = connect_one(&url).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(sql)
            .execute(&mut c)
            .unwrap_or_else(|e| panic!("{e}"));
        drop(c);
        let out = crate::common::triage_command()
            .args(["audit", "verify", "--database-url", &url])
            .env("TRIAGE_LOG", "warn")
            .output()
            .unwrap_or_else(|e| panic!("triage audit verify: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{case}: {text}");
        assert!(text.contains(&format!("record {named}")), "{case}: {text}");
    }
}

/// The writer keeps the chain's head through a group commit, so one read
/// serves every event of a transaction; a write that appends and then
/// fails rolls back alone, its events with it, and the next write chains
/// on from the event before it.
#[actix_web::test]
async fn a_group_commit_chains_every_event_and_skips_a_write_that_rolled_back() {
    use triage::db::{Conflict, DbError};
    let test_db = fresh_database();
    let db = crate::common::connect_db(&test_db.url);
    let writes = (0..120).map(|i| {
        let db = db.clone();
        async move {
            db.write(move |c| {
                audit::append(c, old_event(0, i))?;
                if i % 7 == 3 {
                    // Appended, then the request fails: its savepoint rolls back.
                    audit::append(c, old_event(0, 10_000 + i))?;
                    return Err(DbError::Conflict(Conflict::Stale("the test's write fails")));
                }
                audit::append(c, old_event(0, 20_000 + i))
            })
            .await
        }
    });
    let results = futures_util::future::join_all(writes).await;
    let kept = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(kept, 120 - 17, "every write but the failing ones");
    let mut c = connect_one(&test_db.url).unwrap_or_else(|e| panic!("connect: {e}"));
    match audit::verify(&mut c).unwrap_or_else(|e| panic!("verify: {e}")) {
        Verdict::Intact { records, .. } => assert_eq!(records as usize, 2 * kept),
        other => panic!("the chain broke: {other}"),
    }
    db.stop_writer().await;
}
