//! Fault records, their timelines, the outbox and screens' last contact in
//! the database. Every fault change and the messages telling of it are one
//! transaction (the writer's): a message is never lost, nor written for a
//! change that did not happen.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::columns::{Channel, FaultKind, FaultState, Severity};
use crate::db::schema::{fault_events, faults, outbox, screen_presence, server_secrets};
use crate::db::{AnyConnection, Conflict, DbError};

/// A fault record as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = faults)]
pub struct FaultRow {
    pub id: i64,
    pub fault_key: String,
    pub kind: FaultKind,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub place: String,
    pub state: FaultState,
    pub opened_at: NaiveDateTime,
    pub reported_by: Option<String>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    pub archived_at: Option<NaiveDateTime>,
    pub escalation: i32,
    pub next_reminder_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// A fault to open.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = faults)]
pub struct NewFault {
    pub fault_key: String,
    pub kind: FaultKind,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub place: String,
    pub state: FaultState,
    pub opened_at: NaiveDateTime,
    pub reported_by: Option<String>,
    pub escalation: i32,
    pub next_reminder_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// One step of a fault's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = fault_events)]
pub struct FaultEventRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub fault_id: i64,
    pub at: NaiveDateTime,
    pub kind: String,
    pub actor: String,
    pub note: String,
}

#[derive(Insertable)]
#[diesel(table_name = fault_events)]
struct NewFaultEvent<'a> {
    fault_id: i64,
    at: NaiveDateTime,
    kind: &'a str,
    actor: &'a str,
    note: &'a str,
}

/// A message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub fault_id: Option<i64>,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// The random part of a mail's Message-ID (none on older rows).
    pub message_token: Option<String>,
}

/// A message to send, written with the change it tells of.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMessage {
    pub fault_id: Option<i64>,
    pub channel: Channel,
    /// An e-mail address, or the webhook's kind.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    /// Not before (quiet hours hold warnings until they end).
    pub next_attempt_at: NaiveDateTime,
    /// The random part of its Message-ID, drawn once here.
    pub message_token: Option<String>,
}

fn timeline(
    c: &mut AnyConnection,
    fault_id: i64,
    at: NaiveDateTime,
    kind: &str,
    actor: &str,
    note: &str,
) -> Result<(), DbError> {
    diesel::insert_into(fault_events::table)
        .values(NewFaultEvent {
            fault_id,
            at,
            kind,
            actor,
            note,
        })
        .execute(c)?;
    Ok(())
}

fn enqueue(c: &mut AnyConnection, fault_id: i64, messages: Vec<NewMessage>) -> Result<(), DbError> {
    for mut m in messages {
        m.fault_id = Some(fault_id);
        diesel::insert_into(outbox::table).values(&m).execute(c)?;
    }
    Ok(())
}

/// Adds a step to a fault's timeline.
pub fn note(
    c: &mut AnyConnection,
    fault_id: i64,
    at: NaiveDateTime,
    kind: &str,
    note: &str,
) -> Result<(), DbError> {
    timeline(c, fault_id, at, kind, "system", note)
}

/// The fault open for `key`, if any.
pub fn open_for(c: &mut AnyConnection, key: &str) -> Result<Option<FaultRow>, DbError> {
    Ok(faults::table
        .filter(faults::fault_key.eq(key))
        .filter(faults::state.eq_any([FaultState::Opened, FaultState::Acknowledged]))
        .select(FaultRow::as_select())
        .first(c)
        .optional()?)
}

/// Every fault open now (opened or acknowledged).
pub fn open_faults(c: &mut AnyConnection) -> Result<Vec<FaultRow>, DbError> {
    Ok(faults::table
        .filter(faults::state.eq_any([FaultState::Opened, FaultState::Acknowledged]))
        .order(faults::id)
        .select(FaultRow::as_select())
        .load(c)?)
}

/// Opens a fault with the messages telling of it, unless one is open for
/// its key already (then `None`, nothing written). `messages(id)` makes
/// the messages once the record's number is known.
pub fn open(
    c: &mut AnyConnection,
    new: NewFault,
    actor: &str,
    messages: impl FnOnce(i64) -> Vec<NewMessage>,
) -> Result<Option<FaultRow>, DbError> {
    if open_for(c, &new.fault_key)?.is_some() {
        return Ok(None);
    }
    diesel::insert_into(faults::table).values(&new).execute(c)?;
    let row: FaultRow = faults::table
        .order(faults::id.desc())
        .select(FaultRow::as_select())
        .first(c)?;
    timeline(c, row.id, new.opened_at, "opened", actor, &new.detail)?;
    let out = messages(row.id);
    let told = out.len();
    enqueue(c, row.id, out)?;
    if told > 0 {
        timeline(
            c,
            row.id,
            new.opened_at,
            "notified",
            "system",
            &format!("{told}"),
        )?;
    }
    Ok(Some(row))
}

/// One fault.
pub fn get(c: &mut AnyConnection, id: i64) -> Result<Option<FaultRow>, DbError> {
    Ok(faults::table
        .find(id)
        .select(FaultRow::as_select())
        .first(c)
        .optional()?)
}

/// A fault's timeline, oldest first.
pub fn events_of(c: &mut AnyConnection, id: i64) -> Result<Vec<FaultEventRow>, DbError> {
    Ok(fault_events::table
        .filter(fault_events::fault_id.eq(id))
        .order(fault_events::id)
        .select(FaultEventRow::as_select())
        .load(c)?)
}

/// What a listing keeps.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub state: Option<FaultState>,
    pub kind: Option<FaultKind>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub limit: i64,
}

/// Faults, newest first.
pub fn list(c: &mut AnyConnection, f: &Filter) -> Result<Vec<FaultRow>, DbError> {
    let mut q = faults::table.select(FaultRow::as_select()).into_boxed();
    if let Some(s) = &f.state {
        q = q.filter(faults::state.eq(*s));
    }
    if let Some(k) = &f.kind {
        q = q.filter(faults::kind.eq(*k));
    }
    if let Some(t) = f.since {
        q = q.filter(faults::opened_at.ge(t));
    }
    if let Some(t) = f.until {
        q = q.filter(faults::opened_at.lt(t));
    }
    Ok(q.order(faults::id.desc()).limit(f.limit).load(c)?)
}

/// The state change of a fault, with the messages telling of it.
pub enum Change {
    Acknowledge,
    /// `always`: tell even when nothing of the fault was sent through the
    /// outbox (the database outage, told directly).
    Resolve {
        note: String,
        always: bool,
    },
    Archive,
    /// Unacknowledged past its time: remind, tell the next person.
    Remind {
        escalation: i32,
        next: Option<NaiveDateTime>,
    },
}

/// Applies `change` to fault `id` if its state allows; answers the fault
/// after it, and whether anything changed (an acknowledgement of a fault
/// acknowledged already changes nothing). Err(Conflict) when the state
/// does not allow it.
pub fn change(
    c: &mut AnyConnection,
    id: i64,
    change: Change,
    actor: &str,
    at: NaiveDateTime,
    messages: Vec<NewMessage>,
) -> Result<(FaultRow, bool), DbError> {
    let row = get(c, id)?.ok_or(DbError::Conflict(Conflict::NoFault(id)))?;
    let state = row.state;
    let (kind, note) = match &change {
        Change::Acknowledge => match state {
            FaultState::Opened => {
                diesel::update(faults::table.find(id))
                    .set((
                        faults::state.eq(FaultState::Acknowledged),
                        faults::acknowledged_at.eq(Some(at)),
                        faults::acknowledged_by.eq(Some(actor)),
                        faults::next_reminder_at.eq(None::<NaiveDateTime>),
                        faults::updated_at.eq(at),
                    ))
                    .execute(c)?;
                ("acknowledged", String::new())
            }
            FaultState::Acknowledged | FaultState::Resolved | FaultState::Archived => {
                return Ok((row, false))
            }
        },
        Change::Resolve { note, .. } => match state {
            FaultState::Opened | FaultState::Acknowledged => {
                diesel::update(faults::table.find(id))
                    .set((
                        faults::state.eq(FaultState::Resolved),
                        faults::resolved_at.eq(Some(at)),
                        faults::resolved_by.eq(Some(actor)),
                        faults::resolution.eq(Some(note.as_str())),
                        faults::next_reminder_at.eq(None::<NaiveDateTime>),
                        faults::updated_at.eq(at),
                    ))
                    .execute(c)?;
                ("resolved", note.clone())
            }
            FaultState::Resolved | FaultState::Archived => return Ok((row, false)),
        },
        Change::Archive => match state {
            FaultState::Resolved => {
                diesel::update(faults::table.find(id))
                    .set((
                        faults::state.eq(FaultState::Archived),
                        faults::archived_at.eq(Some(at)),
                        faults::updated_at.eq(at),
                    ))
                    .execute(c)?;
                ("archived", String::new())
            }
            FaultState::Archived => return Ok((row, false)),
            FaultState::Opened | FaultState::Acknowledged => {
                return Err(fault_state(id, state, ": resolve it first"))
            }
        },
        Change::Remind { escalation, next } => {
            if state != FaultState::Opened {
                return Ok((row, false));
            }
            diesel::update(faults::table.find(id))
                .set((
                    faults::escalation.eq(*escalation),
                    faults::next_reminder_at.eq(*next),
                    faults::updated_at.eq(at),
                ))
                .execute(c)?;
            let note = if *escalation > row.escalation {
                format!("升级通知第 {escalation} 位值班人员")
            } else {
                "提醒".to_string()
            };
            ("reminded", note)
        }
    };
    timeline(c, id, at, kind, actor, &note)?;
    let mut messages = messages;
    match &change {
        // Someone is on it: what was waiting (quiet hours, a reminder) is
        // not sent any more.
        Change::Acknowledge => drop_unsent(c, id)?,
        // Over: what was waiting goes; and nobody hears of the recovery of
        // something they were never told of.
        Change::Resolve { always, .. } => {
            let sent: i64 = outbox::table
                .filter(outbox::fault_id.eq(id))
                .filter(outbox::sent_at.is_not_null())
                .count()
                .get_result(c)?;
            drop_unsent(c, id)?;
            if sent == 0 && !*always {
                messages.clear();
            }
        }
        _ => {}
    }
    let told = messages.len();
    enqueue(c, id, messages)?;
    if told > 0 {
        timeline(c, id, at, "notified", "system", &format!("{told}"))?;
    }
    let after = get(c, id)?.ok_or(DbError::Conflict(Conflict::NoFault(id)))?;
    Ok((after, true))
}

/// Removes a fault's messages not sent yet.
fn drop_unsent(c: &mut AnyConnection, fault_id: i64) -> Result<(), DbError> {
    diesel::delete(
        outbox::table
            .filter(outbox::fault_id.eq(fault_id))
            .filter(outbox::sent_at.is_null()),
    )
    .execute(c)?;
    Ok(())
}

/// Messages due at `now`, oldest first.
pub fn due(
    c: &mut AnyConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<OutboxRow>, DbError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::id)
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(c)?)
}

/// Messages not sent yet (the outbox's depth).
pub fn depth(c: &mut AnyConnection) -> Result<i64, DbError> {
    Ok(outbox::table
        .filter(outbox::sent_at.is_null())
        .count()
        .get_result(c)?)
}

/// A message was taken by the server it went to.
pub fn mark_sent(c: &mut AnyConnection, id: i64, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(Some(at)),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(())
}

/// A message failed; tried again at `next`.
pub fn mark_failed(
    c: &mut AnyConnection,
    id: i64,
    error: &str,
    next: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::next_attempt_at.eq(next),
            outbox::last_error.eq(Some(error)),
        ))
        .execute(c)?;
    Ok(())
}

/// Records when screens were last heard from.
pub fn record_seen(c: &mut AnyConnection, seen: &[(String, NaiveDateTime)]) -> Result<(), DbError> {
    for (code, at) in seen {
        let n = diesel::update(screen_presence::table.find(code))
            .set(screen_presence::last_seen.eq(*at))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(screen_presence::table)
                .values((
                    screen_presence::code.eq(code),
                    screen_presence::last_seen.eq(*at),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

/// When each screen was last heard from.
pub fn last_seen(c: &mut AnyConnection) -> Result<Vec<(String, NaiveDateTime)>, DbError> {
    Ok(screen_presence::table
        .select((screen_presence::code, screen_presence::last_seen))
        .load(c)?)
}

/// Removes a value versions before kept in `server_secrets` (the alert
/// links' key, now derived from the server key: ADR 0016).
pub fn forget_secret(c: &mut AnyConnection, name: &str) -> Result<(), DbError> {
    diesel::delete(server_secrets::table.find(name)).execute(c)?;
    Ok(())
}

/// Fault records by state.
pub fn count_by_state(c: &mut AnyConnection) -> Result<Vec<(String, i64)>, DbError> {
    Ok(faults::table
        .group_by(faults::state)
        .select((faults::state, diesel::dsl::count_star()))
        .load(c)?)
}

/// A fault whose state does not allow the step.
fn fault_state(id: i64, state: FaultState, hint: &'static str) -> DbError {
    DbError::Conflict(Conflict::FaultState {
        id,
        state: state.to_string(),
        hint,
    })
}
