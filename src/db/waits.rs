//! What the wait forecast learns from the record (issue 28): each room's
//! calls in order, for the time a doctor takes per patient (the gap from
//! one call to the next by the same doctor in the same room), and the
//! recent check-ins that may go ahead of those waiting (priority groups,
//! return visits, recalls, late appointments).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::{AnyConnection, DbError};
use super::schema::visits;

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
    let rows: Vec<CallRow> = visits::table
        .filter(visits::called_at.ge(since))
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

/// A recent check-in that may go ahead of others: its kind, its groups
/// (as stored, JSON) and birth date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AheadArrival {
    pub entry_kind: Option<String>,
    pub tags: String,
    pub birth_date: Option<String>,
}

/// Check-ins to `queue` since `since` that were not plain walk-ins.
pub fn ahead_arrivals(
    c: &mut AnyConnection,
    queue: &str,
    since: NaiveDateTime,
) -> Result<Vec<AheadArrival>, DbError> {
    let rows: Vec<(Option<String>, String, Option<String>)> = visits::table
        .filter(visits::queue_code.eq(queue))
        .filter(visits::checked_in_at.ge(since))
        .select((visits::entry_kind, visits::tags, visits::birth_date))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|(kind, tags, _)| kind.as_deref().is_some_and(|k| k != "normal") || tags != "[]")
        .map(|(entry_kind, tags, birth_date)| AheadArrival {
            entry_kind,
            tags,
            birth_date,
        })
        .collect())
}
