//! The server's own timings in the database: a run's start and heartbeat
//! (`server_runs`) and the timings gathered in memory (`db::timings`)
//! written to `timings` every minute, so `triage db maintain` and `triage
//! inspect` read them from the database.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{server_runs, timings};
pub use crate::db::timings::{Agg, Row};
use crate::db::{AnyConnection, DbError};

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Records a start; answers the run's id.
pub fn start_run(c: &mut AnyConnection, now: NaiveDateTime) -> Result<i64, DbError> {
    diesel::insert_into(server_runs::table)
        .values((
            server_runs::started_at.eq(now),
            server_runs::seen_at.eq(now),
            server_runs::version.eq(crate::VERSION),
        ))
        .execute(c)?;
    let q = diesel::sql_query("SELECT MAX(id) AS id FROM server_runs");
    let id = match c {
        AnyConnection::Sqlite(c) => q.get_result::<Id>(c)?,
        AnyConnection::Postgresql(c) => q.get_result::<Id>(c)?,
    };
    Ok(id.id)
}

/// Writes `rows` (added to what is stored) and the run's heartbeat; with
/// `stopped`, the run's graceful end.
pub fn flush(
    c: &mut AnyConnection,
    rows: &[Row],
    run: Option<i64>,
    now: NaiveDateTime,
    stopped: bool,
) -> Result<(), DbError> {
    for r in rows {
        let day = r.day.to_string();
        let existing: Option<(i64, f64, f64)> = timings::table
            .find((&day, r.kind, &r.name))
            .select((timings::calls, timings::total_ms, timings::max_ms))
            .first(c)
            .optional()?;
        match existing {
            Some((calls, total, max)) => {
                diesel::update(timings::table.find((&day, r.kind, &r.name)))
                    .set((
                        timings::calls.eq(calls + r.agg.calls),
                        timings::total_ms.eq(total + r.agg.total_ms),
                        timings::max_ms.eq(max.max(r.agg.max_ms)),
                    ))
                    .execute(c)?;
            }
            None => {
                diesel::insert_into(timings::table)
                    .values((
                        timings::day.eq(&day),
                        timings::kind.eq(r.kind),
                        timings::name.eq(&r.name),
                        timings::calls.eq(r.agg.calls),
                        timings::total_ms.eq(r.agg.total_ms),
                        timings::max_ms.eq(r.agg.max_ms),
                    ))
                    .execute(c)?;
            }
        }
    }
    if let Some(id) = run {
        let q = diesel::update(server_runs::table.find(id));
        if stopped {
            q.set((
                server_runs::seen_at.eq(now),
                server_runs::stopped_at.eq(Some(now)),
            ))
            .execute(c)?;
        } else {
            q.set(server_runs::seen_at.eq(now)).execute(c)?;
        }
    }
    Ok(())
}

/// Timings of `kind` between two days (inclusive), by name: calls, total
/// and longest.
pub fn between(
    c: &mut AnyConnection,
    kind: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, Agg)>, DbError> {
    let rows: Vec<(String, i64, f64, f64)> = timings::table
        .filter(timings::kind.eq(kind))
        .filter(timings::day.ge(from.to_string()))
        .filter(timings::day.le(to.to_string()))
        .select((
            timings::name,
            timings::calls,
            timings::total_ms,
            timings::max_ms,
        ))
        .load(c)?;
    let mut by: HashMap<String, Agg> = HashMap::new();
    for (name, calls, total, max) in rows {
        let a = by.entry(name).or_default();
        a.calls += calls;
        a.total_ms += total;
        a.max_ms = a.max_ms.max(max);
    }
    Ok(by.into_iter().collect())
}

/// A server run as stored.
#[derive(Clone, Debug, Queryable)]
pub struct Run {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub seen_at: NaiveDateTime,
    pub stopped_at: Option<NaiveDateTime>,
    pub version: String,
}

/// The runs started since `since`, and the one before (still running
/// then), oldest first.
pub fn runs(c: &mut AnyConnection, since: NaiveDateTime) -> Result<Vec<Run>, DbError> {
    let mut out: Vec<Run> = server_runs::table
        .filter(server_runs::started_at.lt(since))
        .order(server_runs::id.desc())
        .limit(1)
        .load(c)?;
    out.extend(
        server_runs::table
            .filter(server_runs::started_at.ge(since))
            .order(server_runs::id)
            .load::<Run>(c)?,
    );
    Ok(out)
}
