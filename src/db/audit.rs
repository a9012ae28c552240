//! The audit log's hash chain (等保三级: a record no one can quietly
//! change). Every event row carries `prev_hash`, the hash of the row before
//! it, and `hash` = SHA-256 over `prev_hash` and the row's content. Rows are
//! appended only by the single writer, so the chain is the `id` order.
//!
//! [`verify`] walks the chain and names the first record that breaks it:
//! one whose content no longer matches its hash (edited), or one whose link
//! does not match the record before it (inserted, or a record before it
//! deleted). Removing the newest records leaves a shorter chain that still
//! verifies: compare the head with one kept elsewhere (`--head`).
//!
//! Records are kept for `audit_retention_days` (at least 180: 网络安全法
//! Art. 21) and then removed by [`prune`], oldest first. A prune stores an
//! anchor (the last removed record's id and hash, table `audit_prunes`) and
//! appends an `audit.pruned` event repeating it, so the kept chain still
//! verifies from its anchor, and an anchor edited to hide a removal does
//! not match its own chained event.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use chrono::NaiveDateTime;

use super::conn::{native, AnyConnection, DbError};
use super::models::{EventRow, NewEvent};
use super::schema::{audit_legacy, audit_prunes, events};

/// The hash of an event row: SHA-256 (hex) over the previous hash and the
/// row's content, each field on its own line, times to the microsecond.
pub fn link(prev_hash: &str, e: &NewEvent) -> String {
    let content = [
        prev_hash,
        &e.at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        &e.kind,
        &e.operator,
        &e.source,
        e.visit_no.as_deref().unwrap_or("-"),
        e.room_code.as_deref().unwrap_or("-"),
        e.queue_code.as_deref().unwrap_or("-"),
        &e.detail,
    ]
    .join("\n");
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(content.as_bytes()) {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The newest hash of the chain ("" before the first chained row).
pub fn head(c: &mut AnyConnection) -> Result<String, DbError> {
    Ok(native!(c, |n| events::table
        .filter(events::hash.is_not_null())
        .order(events::id.desc())
        .select(events::hash)
        .first::<Option<String>>(n)
        .optional())?
    .flatten()
    .unwrap_or_default())
}

/// Appends an event at the head of the chain. Runs inside a transaction
/// (the writer's, or a command-line tool's), so the head it reads is the
/// last one written. In the writer's group commit the head is read once per
/// transaction and then kept in the writer (see [`Batch`]).
pub fn append(c: &mut AnyConnection, event: NewEvent) -> Result<(), DbError> {
    append_all(c, vec![event])
}

/// Appends events at the head of the chain, in order, as one statement
/// (the writer's set-based registrations). As [`append`] otherwise.
pub fn append_all(c: &mut AnyConnection, mut events: Vec<NewEvent>) -> Result<(), DbError> {
    let Some(last) = events.len().checked_sub(1) else {
        return Ok(());
    };
    let mut prev = chain_head(c)?;
    for event in &mut events {
        let hash = link(&prev, event);
        event.prev_hash = Some(std::mem::replace(&mut prev, hash.clone()));
        event.hash = Some(hash);
    }
    if last == 0 {
        native!(c, |n| diesel::insert_into(events::table)
            .values(&events[0])
            .execute(n))?;
    } else {
        native!(c, |n| diesel::insert_into(events::table)
            .values(&events)
            .execute(n))?;
    }
    BATCH_HEAD.with_borrow_mut(|b| {
        if let Some(b) = b.as_mut() {
            b.head = Some(prev);
        }
    });
    Ok(())
}

/// The head to chain on: the writer's kept head, else read (and kept when
/// in the writer's transaction).
fn chain_head(c: &mut AnyConnection) -> Result<String, DbError> {
    match BATCH_HEAD.with_borrow(|b| b.as_ref().map(|b| b.head.clone())) {
        Some(Some(head)) => Ok(head),
        // Outside the writer, or its first append in this transaction.
        in_batch => {
            let head = locked_head(c)?;
            if in_batch.is_some() {
                BATCH_HEAD.with_borrow_mut(|b| {
                    if let Some(b) = b.as_mut() {
                        b.head = Some(head.clone());
                    }
                });
            }
            Ok(head)
        }
    }
}

/// The head, read under the chain's lock.
fn locked_head(c: &mut AnyConnection) -> Result<String, DbError> {
    if matches!(c, AnyConnection::Postgresql(_)) {
        // A command-line tool (`triage user …`) may append beside the
        // server's writer: both take this lock until they commit, so each
        // reads the head the other left. (SQLite's writer holds the write
        // lock from BEGIN IMMEDIATE; a second writer's stale snapshot is
        // refused.)
        diesel::sql_query("SELECT pg_advisory_xact_lock(72616)").execute(c)?;
    }
    head(c)
}

/// The writer's transaction in progress on this thread: the head of the
/// chain once it was read in it.
struct BatchHead {
    head: Option<String>,
}

thread_local! {
    static BATCH_HEAD: std::cell::RefCell<Option<BatchHead>> = const { std::cell::RefCell::new(None) };
}

/// The chain's head kept by the writer for the length of one transaction:
/// the first append reads it (under the lock on PostgreSQL), later appends
/// chain on from memory, with no round trip. A request whose savepoint is
/// rolled back puts back the head from before it ([`Batch::mark`],
/// [`Batch::restore`]). Dropped when the transaction ends, committed or
/// not; the next transaction reads the head again, so a command-line tool's
/// append between two transactions is chained on.
///
/// The rule it relies on: a writer job never rolls back a savepoint of its
/// own after appending and then succeeds (no job opens one; the writer's
/// savepoint per job is the only one). Made and dropped on the writer's
/// thread only (not `Send`).
pub(crate) struct Batch(std::marker::PhantomData<*const ()>);

/// The head before a request of the batch ran.
pub(crate) struct Mark(Option<String>);

impl Batch {
    /// Starts keeping the head for a transaction on this thread.
    pub fn begin() -> Batch {
        BATCH_HEAD.with_borrow_mut(|b| *b = Some(BatchHead { head: None }));
        Batch(std::marker::PhantomData)
    }

    /// The head now, to put back if the next request rolls back.
    pub fn mark(&self) -> Mark {
        Mark(BATCH_HEAD.with_borrow(|b| b.as_ref().and_then(|b| b.head.clone())))
    }

    /// Puts back the head from `mark`: the request's appends were rolled
    /// back with its savepoint.
    pub fn restore(&self, mark: Mark) {
        BATCH_HEAD.with_borrow_mut(|b| {
            if let Some(b) = b.as_mut() {
                b.head = mark.0;
            }
        });
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        BATCH_HEAD.with_borrow_mut(|b| *b = None);
    }
}

/// What a walk of the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every chained record matches; `unchained` rows from before the chain
    /// (written before it existed) come first.
    Intact {
        records: u64,
        unchained: u64,
        head: String,
    },
    /// This record's content no longer matches its hash.
    Edited { id: i64 },
    /// This record does not follow the one before it: it was inserted, or
    /// a record before it was deleted.
    Broken { id: i64 },
    /// The anchor the chain starts from (after a prune) does not match the
    /// newest `audit.pruned` event (`id`), or no such event is left.
    Anchor { id: Option<i64> },
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Intact {
                records,
                unchained,
                head,
            } => write!(
                f,
                "audit chain intact: {records} records ({unchained} from before the chain), head {head}"
            ),
            Verdict::Edited { id } => write!(
                f,
                "audit chain broken at record {id}: its content was changed after it was written"
            ),
            Verdict::Broken { id } => write!(
                f,
                "audit chain broken at record {id}: it does not follow the record before it (a record was inserted here, or one before it deleted)"
            ),
            Verdict::Anchor { id: Some(id) } => write!(
                f,
                "audit chain broken: where it starts after the last prune does not match the prune record {id} (the anchor or that record was changed)"
            ),
            Verdict::Anchor { id: None } => write!(
                f,
                "audit chain broken: it starts from a prune anchor, but no prune record is left in the chain"
            ),
        }
    }
}

/// Walks the whole chain in `id` order, in pages, from the newest prune's
/// anchor (or from the start).
pub fn verify(c: &mut AnyConnection) -> Result<Verdict, DbError> {
    verify_reaching(c, None).map(|(v, _)| v)
}

/// [`verify`], and whether the chain holds a record whose hash is `head`
/// (a head kept elsewhere: the daily log line, a report). A chain that
/// grew since is fine; one that no longer holds it was cut or rewritten.
pub fn verify_reaching(
    c: &mut AnyConnection,
    head: Option<&str>,
) -> Result<(Verdict, Option<i64>), DbError> {
    let legacy: (i64, i64) = audit_legacy::table
        .select((audit_legacy::through_id, audit_legacy::records))
        .first(c)
        .optional()?
        .unwrap_or((0, 0));
    let mut reached: Option<i64> = None;
    let anchor = latest_anchor(c)?;
    let (from_id, mut prev) = match &anchor {
        Some(a) => (
            a.through_id,
            Some(a.through_hash.clone()).filter(|h| !h.is_empty()),
        ),
        None => (i64::MIN, None),
    };
    let mut unchained = 0u64;
    let mut broken: Option<Verdict> = None;
    // The detail of the newest `audit.pruned` event: it must repeat the
    // anchor the walk started from.
    let mut last_prune: Option<(i64, String)> = None;
    let records = for_each_event(c, |row| {
        if row.id <= from_id {
            // Older than the anchor, yet present: put back after a prune.
            return Ok(Flow::Stop(Verdict::Broken { id: row.id }));
        }
        if row.kind == PRUNED {
            last_prune = Some((row.id, row.detail.clone()));
        }
        let (Some(prev_hash), Some(hash)) = (&row.prev_hash, &row.hash) else {
            // A row without hashes is one from before the chain only if it
            // stands among them (the ids and the count the migration
            // recorded); anywhere else it was inserted.
            unchained += 1;
            if prev.is_some()
                || row.id < 1
                || row.id > legacy.0
                || unchained > u64::try_from(legacy.1).unwrap_or(0)
            {
                return Ok(Flow::Stop(Verdict::Broken { id: row.id }));
            }
            return Ok(Flow::Go);
        };
        if prev.as_deref().unwrap_or("") != prev_hash {
            return Ok(Flow::Stop(Verdict::Broken { id: row.id }));
        }
        if link(prev_hash, &NewEvent::from(row)) != *hash {
            return Ok(Flow::Stop(Verdict::Edited { id: row.id }));
        }
        if head == Some(hash.as_str()) {
            reached = Some(row.id);
        }
        prev = Some(hash.clone());
        Ok(Flow::Go)
    })
    .map(|walk| match walk {
        Walk::Stopped(v) => {
            broken = Some(v);
            0
        }
        Walk::Done(n) => n,
    })?;
    if broken.is_none() {
        if let Some(a) = &anchor {
            let repeated = last_prune
                .as_ref()
                .and_then(|(_, detail)| serde_json::from_str::<PruneDetail>(detail).ok());
            if repeated.as_ref() != Some(&PruneDetail::of(a)) {
                broken = Some(Verdict::Anchor {
                    id: last_prune.map(|(id, _)| id),
                });
            }
        }
    }
    let verdict = broken.unwrap_or(Verdict::Intact {
        records,
        unchained,
        head: prev.unwrap_or_default(),
    });
    Ok((verdict, reached))
}

/// How [`export`] writes the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV with a header, UTF-8 with a byte-order mark (Excel shows Chinese).
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// The columns of an export, in order.
const COLUMNS: [&str; 11] = [
    "id",
    "at",
    "kind",
    "operator",
    "source",
    "visit_no",
    "room_code",
    "queue_code",
    "detail",
    "prev_hash",
    "hash",
];

/// Whether a walk over the rows goes on.
enum Flow {
    Go,
    Stop(Verdict),
}

/// How a walk over the rows ended.
enum Walk {
    /// Every row seen; how many.
    Done(u64),
    /// Stopped at a row with this verdict.
    Stopped(Verdict),
}

/// Calls `each` with every event row, oldest first, read in pages, until it
/// says stop.
fn for_each_event(
    c: &mut AnyConnection,
    mut each: impl FnMut(&EventRow) -> Result<Flow, DbError>,
) -> Result<Walk, DbError> {
    const PAGE: i64 = 10_000;
    let (mut seen, mut last_id) = (0u64, i64::MIN);
    loop {
        let page: Vec<EventRow> = events::table
            .filter(events::id.gt(last_id))
            .order(events::id)
            .limit(PAGE)
            .select(EventRow::as_select())
            .load(c)?;
        let Some(last) = page.last() else { break };
        last_id = last.id;
        for row in &page {
            seen += 1;
            if let Flow::Stop(v) = each(row)? {
                return Ok(Walk::Stopped(v));
            }
        }
    }
    Ok(Walk::Done(seen))
}

/// The rows an export wrote (an export never stops early).
fn written(walk: Walk) -> u64 {
    match walk {
        Walk::Done(n) => n,
        Walk::Stopped(_) => 0,
    }
}

/// A row's fields in the order of [`COLUMNS`]; times in UTC (RFC 3339).
fn fields(r: &EventRow) -> [String; 11] {
    [
        r.id.to_string(),
        r.at.and_utc().to_rfc3339(),
        r.kind.clone(),
        r.operator.clone(),
        r.source.clone(),
        r.visit_no.clone().unwrap_or_default(),
        r.room_code.clone().unwrap_or_default(),
        r.queue_code.clone().unwrap_or_default(),
        r.detail.clone(),
        r.prev_hash.clone().unwrap_or_default(),
        r.hash.clone().unwrap_or_default(),
    ]
}

/// Writes every event row (oldest first) for an auditor, the detail as
/// stored (never a name). Answers how many rows were written.
pub fn export(
    c: &mut AnyConnection,
    format: ExportFormat,
    out: &mut dyn std::io::Write,
) -> Result<u64, DbError> {
    let failed =
        |e: &dyn std::fmt::Display| DbError::Unavailable(format!("cannot write the export: {e}"));
    match format {
        ExportFormat::Csv => {
            out.write_all("\u{feff}".as_bytes())
                .map_err(|e| failed(&e))?;
            let mut w = csv::Writer::from_writer(out);
            w.write_record(COLUMNS).map_err(|e| failed(&e))?;
            let walk = for_each_event(c, |r| {
                w.write_record(fields(r)).map_err(|e| failed(&e))?;
                Ok(Flow::Go)
            })?;
            w.flush().map_err(|e| failed(&e))?;
            Ok(written(walk))
        }
        ExportFormat::JsonLines => {
            let walk = for_each_event(c, |r| {
                let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(fields(r))
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                    .collect();
                writeln!(out, "{}", serde_json::Value::Object(object)).map_err(|e| failed(&e))?;
                Ok(Flow::Go)
            })?;
            Ok(written(walk))
        }
    }
}

/// The event kind a prune appends.
pub const PRUNED: &str = "audit.pruned";

/// The most records one [`prune`] call removes, so that one write never
/// holds the writer long; the caller repeats until nothing is left.
pub const PRUNE_BATCH: i64 = 20_000;

/// A prune's anchor, as stored and as repeated in its chained event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct PruneDetail {
    through_id: i64,
    through_hash: String,
    records: i64,
}

/// The anchor row of a prune.
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = audit_prunes)]
struct AnchorRow {
    through_id: i64,
    through_hash: String,
    records: i64,
}

impl PruneDetail {
    fn of(a: &AnchorRow) -> PruneDetail {
        PruneDetail {
            through_id: a.through_id,
            through_hash: a.through_hash.clone(),
            records: a.records,
        }
    }
}

fn latest_anchor(c: &mut AnyConnection) -> Result<Option<AnchorRow>, DbError> {
    Ok(audit_prunes::table
        .order(audit_prunes::id.desc())
        .select(AnchorRow::as_select())
        .first(c)
        .optional()?)
}

/// What one [`prune`] removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// Records removed.
    pub records: u64,
    /// Whether older records are left (call again).
    pub more: bool,
}

/// Removes up to `batch` (normally [`PRUNE_BATCH`]) of the oldest records written before
/// `cutoff`, records the anchor and appends the `audit.pruned` event (its
/// operator `system`, its time `now`). Runs inside the caller's
/// transaction (the writer's).
pub fn prune(
    c: &mut AnyConnection,
    cutoff: NaiveDateTime,
    now: NaiveDateTime,
    batch: i64,
) -> Result<Pruned, DbError> {
    prune_through(c, cutoff, None, now, batch)
}

/// [`prune`], removing nothing past the record `through` (the last one an
/// archive holds).
pub fn prune_through(
    c: &mut AnyConnection,
    cutoff: NaiveDateTime,
    through: Option<i64>,
    now: NaiveDateTime,
    batch: i64,
) -> Result<Pruned, DbError> {
    let batch = batch.max(1);
    if matches!(c, AnyConnection::Postgresql(_)) {
        diesel::sql_query("SELECT pg_advisory_xact_lock(72616)").execute(c)?;
    }
    // Oldest first, in id order: a record is removed only with every
    // record before it, so the kept chain has one start.
    let old: Vec<(i64, NaiveDateTime, Option<String>)> = events::table
        .order(events::id)
        .limit(batch + 1)
        .select((events::id, events::at, events::hash))
        .load(c)?;
    let removable = |id: i64, at: NaiveDateTime| at < cutoff && through.is_none_or(|t| id <= t);
    let expired: Vec<_> = old
        .iter()
        .take_while(|(id, at, _)| removable(*id, *at))
        .take(usize::try_from(batch).unwrap_or(usize::MAX))
        .collect();
    let Some((through_id, _, through_hash)) = expired.last().map(|r| (*r).clone()) else {
        return Ok(Pruned {
            records: 0,
            more: false,
        });
    };
    let more = old.len() > expired.len() && removable(old[expired.len()].0, old[expired.len()].1);
    let records =
        diesel::delete(events::table.filter(events::id.le(through_id))).execute(c)? as i64;
    let detail = PruneDetail {
        through_id,
        through_hash: through_hash.unwrap_or_default(),
        records,
    };
    diesel::insert_into(audit_prunes::table)
        .values((
            audit_prunes::pruned_at.eq(now),
            audit_prunes::through_id.eq(detail.through_id),
            audit_prunes::through_hash.eq(&detail.through_hash),
            audit_prunes::records.eq(detail.records),
        ))
        .execute(c)?;
    let text = serde_json::to_string(&detail)
        .map_err(|e| DbError::Unavailable(format!("cannot record the prune: {e}")))?;
    append(
        c,
        NewEvent {
            at: now,
            kind: PRUNED.into(),
            operator: "system".into(),
            source: "retention".into(),
            visit_no: None,
            room_code: None,
            queue_code: None,
            detail: text,
            prev_hash: None,
            hash: None,
        },
    )?;
    Ok(Pruned {
        records: records as u64,
        more,
    })
}

/// Writes the records a prune at `cutoff` would remove (the oldest, in id
/// order, while written before `cutoff`) as JSON lines, as [`export`]
/// does. Answers how many, and the first and last id.
pub fn export_expired(
    c: &mut AnyConnection,
    cutoff: NaiveDateTime,
    out: &mut dyn std::io::Write,
) -> Result<(u64, Option<(i64, i64)>), DbError> {
    const PAGE: i64 = 10_000;
    let failed =
        |e: &dyn std::fmt::Display| DbError::Unavailable(format!("cannot write the archive: {e}"));
    let (mut n, mut first, mut last_id) = (0u64, None, i64::MIN);
    loop {
        let page: Vec<EventRow> = events::table
            .filter(events::id.gt(last_id))
            .order(events::id)
            .limit(PAGE)
            .select(EventRow::as_select())
            .load(c)?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            if r.at >= cutoff {
                return Ok((n, first.map(|f| (f, last_id))));
            }
            let object: serde_json::Map<String, serde_json::Value> = COLUMNS
                .iter()
                .zip(fields(r))
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                .collect();
            writeln!(out, "{}", serde_json::Value::Object(object)).map_err(|e| failed(&e))?;
            n += 1;
            first.get_or_insert(r.id);
            last_id = r.id;
        }
    }
    Ok((n, first.map(|f| (f, last_id))))
}
