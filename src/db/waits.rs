//! What the wait forecast learns from the record (issue 28): each room's
//! calls in order, for the time a doctor takes per patient (the gap from
//! one call to the next by the same doctor in the same room), and the
//! recent check-ins that may go ahead of those waiting (priority groups,
//! return visits, recalls, late appointments); and for the backtest, the
//! recorded changes of past days.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::{AnyConnection, DbError};
use super::schema::{events, visits, wait_calibrations};

/// One call as the record holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    pub room_code: String,
    /// Who called (the doctor's code), when recorded.
    pub performer: Option<String>,
    pub called_at: NaiveDateTime,
    /// `first` or `return` (the registration's visit type).
    pub visit_type: String,
}

/// A call's columns: room, performer, time, visit type.
type CallRow = (
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    String,
);

/// Every call since `since` (the visits' last calls), by room and time.
pub fn calls_since(
    c: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<Vec<CallRecord>, DbError> {
    calls_between(c, since, NaiveDateTime::MAX)
}

/// Every call in `[since, until)` (the visits' last calls), by room and
/// time: what the record held before a day the backtest replays.
pub fn calls_between(
    c: &mut AnyConnection,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<CallRecord>, DbError> {
    let rows: Vec<CallRow> = visits::table
        .filter(visits::called_at.ge(since))
        .filter(visits::called_at.lt(until))
        .filter(visits::room_code.is_not_null())
        .select((
            visits::room_code,
            visits::performer,
            visits::called_at,
            visits::visit_type,
        ))
        .order((visits::room_code.asc(), visits::called_at.asc()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(room, performer, at, visit_type)| {
            Some(CallRecord {
                room_code: room?,
                performer,
                called_at: at?,
                visit_type,
            })
        })
        .collect())
}

/// A check-in that may go ahead of others: when, its kind, its groups
/// (as stored, JSON) and birth date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AheadArrival {
    pub checked_in_at: NaiveDateTime,
    pub entry_kind: Option<String>,
    pub tags: String,
    pub birth_date: Option<String>,
}

/// Check-ins to `queue` since `since` that were not plain walk-ins (the
/// forecast's arrivals: the same hour on past days, and the last hour).
pub fn ahead_arrivals(
    c: &mut AnyConnection,
    queue: &str,
    since: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<AheadArrival>, DbError> {
    // By service day first, so the index of a queue's days serves it.
    let first_day = triage_ground::time::service_date(since.and_utc()).to_string();
    type Row = (
        Option<NaiveDateTime>,
        Option<String>,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = visits::table
        .filter(visits::queue_code.eq(queue))
        .filter(visits::service_date.ge(first_day))
        .filter(visits::checked_in_at.ge(since))
        .filter(visits::checked_in_at.lt(until))
        .filter(visits::entry_kind.ne("normal").or(visits::tags.ne("[]")))
        .select((
            visits::checked_in_at,
            visits::entry_kind,
            visits::tags,
            visits::birth_date,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|(_, kind, tags, _)| kind.as_deref().is_some_and(|k| k != "normal") || tags != "[]")
        .filter_map(|(at, entry_kind, tags, birth_date)| {
            Some(AheadArrival {
                checked_in_at: at?,
                entry_kind,
                tags,
                birth_date,
            })
        })
        .collect())
}

/// One recorded change, as the backtest replays it: the change's JSON
/// without names or audit, with who made it and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub at: NaiveDateTime,
    pub kind: String,
    pub operator: String,
    pub detail: String,
}

/// The recorded changes in `[from, until)`, in the order they were made.
pub fn events_between(
    c: &mut AnyConnection,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<EventRecord>, DbError> {
    let rows: Vec<(NaiveDateTime, String, String, String)> = events::table
        .filter(events::at.ge(from))
        .filter(events::at.lt(until))
        .order(events::id.asc())
        .select((events::at, events::kind, events::operator, events::detail))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(at, kind, operator, detail)| EventRecord {
            at,
            kind,
            operator,
            detail,
        })
        .collect())
}

/// A room's pause (暂停) as the record holds it: which room, how long.
#[derive(Clone, Debug, PartialEq)]
pub struct PauseRecord {
    pub room_code: String,
    pub from: NaiveDateTime,
    pub minutes: f64,
}

/// The rooms' pauses since `since`: from each `paused` to the status that
/// followed it.
pub fn pauses_since(
    c: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<Vec<PauseRecord>, DbError> {
    let rows: Vec<(NaiveDateTime, Option<String>, String)> = events::table
        .filter(events::kind.eq("room_status_set"))
        .filter(events::at.ge(since))
        .order(events::id.asc())
        .select((events::at, events::room_code, events::detail))
        .load(c)?;
    let mut open: std::collections::HashMap<String, NaiveDateTime> = Default::default();
    let mut out = Vec::new();
    for (at, room, detail) in rows {
        let Some(room) = room else { continue };
        let status = serde_json::from_str::<serde_json::Value>(&detail)
            .ok()
            .and_then(|v| v["status"].as_str().map(str::to_string));
        match status.as_deref() {
            Some("paused") => {
                open.entry(room).or_insert(at);
            }
            Some(_) => {
                if let Some(from) = open.remove(&room) {
                    out.push(PauseRecord {
                        room_code: room,
                        from,
                        minutes: (at - from).num_seconds() as f64 / 60.0,
                    });
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// Keeps a backtest's summary (JSON) of `[from, to]`.
pub fn record_calibration(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    from: &str,
    to: &str,
    summary: &str,
) -> Result<(), DbError> {
    diesel::insert_into(wait_calibrations::table)
        .values((
            wait_calibrations::computed_at.eq(at),
            wait_calibrations::from_day.eq(from),
            wait_calibrations::to_day.eq(to),
            wait_calibrations::summary.eq(summary),
        ))
        .execute(c)?;
    Ok(())
}

/// The latest backtest's summary (JSON), if one was made.
pub fn latest_calibration(c: &mut AnyConnection) -> Result<Option<String>, DbError> {
    Ok(wait_calibrations::table
        .order(wait_calibrations::id.desc())
        .select(wait_calibrations::summary)
        .first(c)
        .optional()?)
}
