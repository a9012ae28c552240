//! The patient notifications' outbox (issue 28, ADR 0020): signed webhooks
//! to the hospital's own channel (its WeChat service account or SMS
//! platform). A call (叫号) and a missed call (过号) write their row in the
//! change's own commit; a patient coming within N of the room writes one
//! once (per visit, day and queue). Each row's `event_id` is unique: the
//! idempotency key the receiver sees, so no event is written twice and a
//! restart neither loses nor repeats one. The stored body holds codes only,
//! no name and no link (the link is a credential: it is added when sent).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use triage_actors::journal::Change;

use super::conn::{AnyConnection, DbError};
use super::schema::{patient_webhooks, visits};
use triage_actors::model::VisitStatus;

/// A patient came within N of the room.
pub const AHEAD: &str = "patient.ahead";
/// A room called the patient (also called again, 重呼).
pub const CALLED: &str = "patient.called";
/// The patient missed the call (过号).
pub const MISSED: &str = "patient.missed";

/// A webhook waiting to be sent (or sent).
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = patient_webhooks)]
pub struct WebhookRow {
    pub id: i64,
    pub event_id: String,
    pub kind: String,
    pub visit_no: String,
    pub service_date: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub gave_up_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = patient_webhooks)]
struct NewWebhook<'a> {
    event_id: &'a str,
    kind: &'a str,
    visit_no: &'a str,
    service_date: &'a str,
    body: &'a str,
    created_at: NaiveDateTime,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
}

/// Writes one event unless its id is already there; whether it wrote.
fn enqueue(
    c: &mut AnyConnection,
    event_id: &str,
    kind: &str,
    visit_no: &str,
    day: &str,
    at: DateTime<Utc>,
    data: Value,
) -> Result<bool, DbError> {
    let known: i64 = patient_webhooks::table
        .filter(patient_webhooks::event_id.eq(event_id))
        .count()
        .get_result(c)?;
    if known > 0 {
        return Ok(false);
    }
    let body = json!({
        "type": kind,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    diesel::insert_into(patient_webhooks::table)
        .values(NewWebhook {
            event_id,
            kind,
            visit_no,
            service_date: day,
            body: &body,
            created_at: at.naive_utc(),
            attempts: 0,
            next_attempt_at: at.naive_utc(),
        })
        .execute(c)?;
    Ok(true)
}

/// What a call or a miss reads back of its visit (after the change).
type Visit = (Option<String>, Option<String>, Option<String>, i32, i32);

/// Writes the webhook a committed change tells of, in its commit: a call,
/// a recall (重呼) and a missed call. Other changes write nothing.
pub fn record_change(c: &mut AnyConnection, change: &Change) -> Result<(), DbError> {
    let (kind, room, visit_no) = match change {
        Change::Called {
            room_code,
            visit_no,
            ..
        }
        | Change::Recalled {
            room_code,
            visit_no,
            ..
        } => (CALLED, room_code, visit_no),
        Change::Skipped {
            room_code,
            visit_no,
            ..
        } => (MISSED, room_code, visit_no),
        _ => return Ok(()),
    };
    let Some((ticket, queue, day, calls, misses)) = visits::table
        .find(visit_no.as_str())
        .select((
            visits::ticket_no,
            visits::queue_code,
            visits::service_date,
            visits::call_count,
            visits::miss_count,
        ))
        .first::<Visit>(c)
        .optional()?
    else {
        return Ok(());
    };
    let Some(day) = day else { return Ok(()) };
    let at = change.audit().at;
    let mut data = json!({
        "visit_no": visit_no.as_str(),
        "service_date": day,
        "ticket_no": ticket,
        "queue_code": queue,
        "room_code": room.as_str(),
    });
    match change {
        Change::Skipped { no_show, .. } => {
            data["miss_count"] = json!(misses);
            data["no_show"] = json!(no_show);
        }
        _ => {
            data["call_count"] = json!(calls);
            data["recall"] = json!(matches!(change, Change::Recalled { .. }));
        }
    }
    let event_id = format!(
        "{}:{day}:{visit_no}:{}",
        kind.trim_start_matches("patient."),
        at.timestamp_micros()
    );
    enqueue(c, &event_id, kind, visit_no.as_str(), &day, at, data)?;
    Ok(())
}

/// A waiting patient `ahead` places from a room.
pub struct Ahead<'a> {
    pub day: NaiveDate,
    pub visit_no: &'a str,
    pub ticket_no: &'a str,
    pub queue_code: &'a str,
    pub ahead: usize,
}

/// Whether `visit_no` still waits in `queue` (an N-ahead is news only
/// then).
pub fn still_waiting(c: &mut AnyConnection, visit_no: &str, queue: &str) -> Result<bool, DbError> {
    let n: i64 = visits::table
        .filter(visits::visit_no.eq(visit_no))
        .filter(visits::queue_code.eq(queue))
        .filter(visits::status.eq(VisitStatus::Waiting.as_str()))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

/// Writes the N-ahead webhook of a visit once per day and queue, if it
/// still waits there (a call may have come since the queue was read);
/// whether it was written.
pub fn record_ahead(
    c: &mut AnyConnection,
    at: DateTime<Utc>,
    a: &Ahead<'_>,
) -> Result<bool, DbError> {
    if !still_waiting(c, a.visit_no, a.queue_code)? {
        return Ok(false);
    }
    let day = a.day.to_string();
    let event_id = format!("ahead:{day}:{}:{}", a.visit_no, a.queue_code);
    let data = json!({
        "visit_no": a.visit_no,
        "service_date": day,
        "ticket_no": a.ticket_no,
        "queue_code": a.queue_code,
        "ahead": a.ahead,
    });
    enqueue(c, &event_id, AHEAD, a.visit_no, &day, at, data)
}

/// The events already written of `day` (ids), for the N-ahead watcher.
pub fn known_ahead(c: &mut AnyConnection, day: NaiveDate) -> Result<Vec<String>, DbError> {
    Ok(patient_webhooks::table
        .filter(patient_webhooks::kind.eq(AHEAD))
        .filter(patient_webhooks::service_date.eq(day.to_string()))
        .select(patient_webhooks::event_id)
        .load(c)?)
}

/// The webhooks not sent yet, oldest first, at most `limit` (sent in this
/// order: the oldest's retry time holds the rest back).
pub fn pending(c: &mut AnyConnection, limit: i64) -> Result<Vec<WebhookRow>, DbError> {
    Ok(patient_webhooks::table
        .filter(patient_webhooks::sent_at.is_null())
        .filter(patient_webhooks::gave_up_at.is_null())
        .order(patient_webhooks::id)
        .limit(limit)
        .select(WebhookRow::as_select())
        .load(c)?)
}

/// Marks a webhook taken by the receiver.
pub fn mark_sent(c: &mut AnyConnection, id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(patient_webhooks::table.find(id))
        .set((
            patient_webhooks::sent_at.eq(Some(at)),
            patient_webhooks::attempts.eq(patient_webhooks::attempts + 1),
        ))
        .execute(c)?;
    Ok(())
}

/// Records a failed attempt: tried again at `next`, or given up (`next`
/// none: the news is too old to help the patient, no longer true, or its
/// body was refused).
pub fn mark_failed(
    c: &mut AnyConnection,
    id: i64,
    at: NaiveDateTime,
    next: Option<NaiveDateTime>,
    error: &str,
) -> Result<(), DbError> {
    diesel::update(patient_webhooks::table.find(id))
        .set((
            patient_webhooks::attempts.eq(patient_webhooks::attempts + 1),
            patient_webhooks::next_attempt_at.eq(next.unwrap_or(at)),
            patient_webhooks::gave_up_at.eq(next.is_none().then_some(at)),
            patient_webhooks::last_error.eq(Some(error)),
        ))
        .execute(c)?;
    Ok(())
}

/// How many wait to be sent, and the oldest's creation (for `/metrics`
/// and the inspection).
pub fn backlog(c: &mut AnyConnection) -> Result<(i64, Option<NaiveDateTime>), DbError> {
    let pending = patient_webhooks::table
        .filter(patient_webhooks::sent_at.is_null())
        .filter(patient_webhooks::gave_up_at.is_null());
    let n: i64 = pending.count().get_result(c)?;
    let oldest: Option<NaiveDateTime> = pending
        .select(diesel::dsl::min(patient_webhooks::created_at))
        .first(c)?;
    Ok((n, oldest))
}

/// Removes what was sent or given up before `before` (the day end keeps
/// a week).
pub fn prune(c: &mut AnyConnection, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(diesel::delete(
        patient_webhooks::table
            .filter(patient_webhooks::created_at.lt(before))
            .filter(
                patient_webhooks::sent_at
                    .is_not_null()
                    .or(patient_webhooks::gave_up_at.is_not_null()),
            ),
    )
    .execute(c)?)
}
