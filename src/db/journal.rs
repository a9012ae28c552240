//! The engine's [`Journal`] over the database: each [`Change`] becomes
//! conditional updates plus one event row (who, when, what, from where), in
//! the writer's group commit. A condition that no longer holds (the visit
//! moved on) is a `Conflict` and writes nothing.

use diesel::prelude::*;
use triage_actors::journal::{BoxFuture, Change, Journal, JournalError};

use super::conn::{AnyConnection, Conflict, DbError};
use super::links::PatientLinks;
use super::models::{NewEvent, RegistrationChanges};
use super::pool::Db;
use super::schema::{queue_counters, rooms, visits};
use super::store;
use chrono::{NaiveDate, NaiveDateTime};
use triage_actors::model::{
    Audit, Correction, Counters, DayEndStatus, EntryKind, PlacementCode, RoomStatus, SeatState,
    SpecialTag, StaffMarks, TicketCounter, VisitStatus, WaitingEntry,
};
use triage_actors::rules::QueueRules;
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};

/// The database journal.
#[derive(Clone)]
pub struct DbJournal {
    db: Db,
    links: PatientLinks,
    /// Whether calls and missed calls write the patient's webhook.
    notify: bool,
}

impl DbJournal {
    /// A journal over `db`; a check-in stores its patient link (made by
    /// `links`) in its own commit.
    pub fn new(db: Db, links: PatientLinks) -> Self {
        DbJournal {
            db,
            links,
            notify: false,
        }
    }

    /// Calls and missed calls also write the patient's webhook in their
    /// commit (`[patient] webhook_url` set).
    pub fn notifying(self, notify: bool) -> Self {
        DbJournal { notify, ..self }
    }
}

/// Writes one change and, for a check-in, its patient link; with `notify`,
/// a call's or a missed call's webhook.
fn apply(
    c: &mut AnyConnection,
    change: &Change,
    links: &PatientLinks,
    notify: bool,
) -> Result<(), DbError> {
    apply_change(c, change)?;
    if notify {
        super::webhooks::record_change(c, change)?;
    }
    if let Change::CheckedIn {
        audit,
        service_date,
        entry,
        ..
    } = change
    {
        links.record(c, audit.at.naive_utc(), *service_date, &entry.visit_no)?;
    }
    Ok(())
}

impl Journal for DbJournal {
    fn commit_all(&self, changes: Vec<Change>) -> BoxFuture<Result<(), JournalError>> {
        let (db, links, notify) = (self.db.clone(), self.links.clone(), self.notify);
        Box::pin(async move {
            db.write(move |c| {
                for (index, change) in changes.iter().enumerate() {
                    apply(c, change, &links, notify).map_err(|e| match e {
                        DbError::Conflict(reason) => DbError::ConflictAt(index, reason),
                        other => other,
                    })?;
                }
                Ok(())
            })
            .await
            .map_err(|e| match e {
                DbError::ConflictAt(index, why) => JournalError::Conflict {
                    index,
                    reason: why.to_string(),
                },
                DbError::Conflict(why) => JournalError::Conflict {
                    index: 0,
                    reason: why.to_string(),
                },
                other => JournalError::Unavailable(other.to_string()),
            })
        })
    }

    fn commit(&self, change: Change) -> BoxFuture<Result<(), JournalError>> {
        let (db, links, notify) = (self.db.clone(), self.links.clone(), self.notify);
        Box::pin(async move {
            db.write(move |c| apply(c, &change, &links, notify))
                .await
                .map_err(|e| match e {
                    DbError::Conflict(why) => JournalError::Conflict {
                        index: 0,
                        reason: why.to_string(),
                    },
                    other => JournalError::Unavailable(other.to_string()),
                })
        })
    }
}

/// Stores a registration checked in within the same commit: it must be
/// new (`seen_at` none) or replace the row as read; an appointment holding
/// the number, or a visit in a queue, refuses it (the engine then stores
/// and checks in as two steps, each answering for itself).
fn registered(
    c: &mut AnyConnection,
    audit: &Audit,
    visit_no: &VisitNo,
    record: &triage_actors::model::SealedRecord,
    seen_at: &Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), DbError> {
    let new: super::models::NewVisit = serde_json::from_value(record.0.clone())
        .map_err(|_| DbError::Corrupt(format!("registration {visit_no} is unreadable")))?;
    if new.visit_no != visit_no.as_str() {
        return Err(DbError::Corrupt(format!(
            "registration {visit_no} carries another number"
        )));
    }
    match seen_at {
        None => {
            let n: i64 = visits::table
                .filter(visits::visit_no.eq(visit_no))
                .count()
                .get_result(c)?;
            if n > 0 {
                return Err(DbError::Conflict(Conflict::Stale(
                    "the registration was stored meanwhile",
                )));
            }
        }
        Some(_) => unchanged_since(c, visit_no, seen_at)?,
    }
    match super::store::register(c, new, audit, true)? {
        super::store::Registered::Stored(..) => Ok(()),
        _ => Err(DbError::Conflict(Conflict::Stale(
            "the number is held by an appointment or a queue",
        ))),
    }
}

fn conflict_if_none(n: usize, what: &'static str) -> Result<(), DbError> {
    if n == 0 {
        Err(DbError::Conflict(Conflict::Stale(what)))
    } else {
        Ok(())
    }
}

/// Writes one change and its event row. Runs inside the writer's savepoint.
pub fn apply_change(c: &mut AnyConnection, change: &Change) -> Result<(), DbError> {
    if let Change::Locks {
        queue_code, locks, ..
    } = change
    {
        // Bookkeeping of the locked head: no audit event of its own.
        return save_locks(c, queue_code, locks);
    }
    if let Change::Registered {
        audit,
        visit_no,
        record,
        seen_at,
    } = change
    {
        // The registration writes its own event, as a PUT alone does.
        return registered(c, audit, visit_no, record, seen_at);
    }
    let audit = change.audit();
    let at = audit.at.naive_utc();
    let (visit_no, room_code, queue_code) = match change {
        Change::CheckedIn { .. }
        | Change::Requeued { .. }
        | Change::Transferred { .. }
        | Change::Moved { .. }
        | Change::HoldSet { .. }
        | Change::Pinned { .. }
        | Change::Marked { .. }
        | Change::RulesChanged { .. }
        | Change::Unassigned { .. }
        | Change::Corrected { .. } => write_queue_change(c, at, audit, change)?,
        _ => write_room_change(c, at, audit, change)?,
    };
    super::audit::append(
        c,
        NewEvent {
            at,
            kind: change.kind().to_string(),
            operator: audit.operator.clone(),
            source: audit.source.clone(),
            visit_no: visit_no.map(String::from),
            room_code: room_code.map(String::from),
            queue_code: queue_code.map(String::from),
            detail: event_detail(change),
            prev_hash: None,
            hash: None,
        },
    )
}

/// Keeps the locked head's numbers of a queue.
fn save_locks(
    c: &mut AnyConnection,
    queue_code: &QueueCode,
    locks: &[(VisitNo, i64)],
) -> Result<(), DbError> {
    let listed: Vec<&VisitNo> = locks.iter().map(|(v, _)| v).collect();
    diesel::update(
        visits::table
            .filter(visits::queue_code.eq(queue_code))
            .filter(visits::status.eq(VisitStatus::Waiting))
            .filter(visits::locked_seq.is_not_null())
            .filter(visits::visit_no.ne_all(listed)),
    )
    .set(visits::locked_seq.eq(None::<i64>))
    .execute(c)?;
    for (v, n) in locks {
        // Only in this queue: a visit that has just moved on (a transfer
        // the queue has not heard of yet) is not touched.
        diesel::update(waiting_in(v, queue_code))
            .set(visits::locked_seq.eq(n))
            .execute(c)?;
    }
    Ok(())
}

/// A change of a queue's waiting list: a visit entering, moved by a nurse,
/// marked, corrected, or the queue's rules.
fn write_queue_change(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    audit: &Audit,
    change: &Change,
) -> Result<EventKeys, DbError> {
    match change {
        Change::CheckedIn {
            queue_code,
            service_date,
            entry,
            tickets,
            next_seq,
            seen_at,
            ..
        } => {
            unchanged_since(c, &entry.visit_no, seen_at)?;
            checked_in(c, at, queue_code, service_date, entry, tickets, next_seq)
        }
        Change::Unassigned {
            queue_code,
            room_code,
            visits: list,
            ..
        } => unassigned(c, at, queue_code, room_code, list),
        Change::Moved {
            queue_code,
            visit_no,
            position,
            mark,
            ..
        } => moved(c, at, queue_code, visit_no, position, mark),
        Change::Requeued {
            queue_code,
            entry,
            next_seq,
            seen_at,
            ..
        } => {
            unchanged_since(c, &entry.visit_no, seen_at)?;
            requeued(c, at, queue_code, entry, next_seq)
        }
        Change::Transferred {
            from_queue,
            from_room,
            queue_code,
            entry,
            next_seq,
            seen_at,
            ..
        } => {
            unchanged_since(c, &entry.visit_no, seen_at)?;
            transferred(c, at, from_queue, from_room, queue_code, entry, next_seq)
        }
        Change::Corrected {
            queue_code,
            room_code,
            correction,
            entry_kind,
            tags,
            ..
        } => corrected(c, at, queue_code, room_code, correction, entry_kind, tags),
        Change::RulesChanged {
            queue_code,
            to,
            retagged,
            ..
        } => rules_changed(c, at, audit, queue_code, to, retagged),
        Change::HoldSet {
            queue_code,
            visit_no,
            held,
            ..
        } => hold_set(c, at, queue_code, visit_no, held),
        Change::Pinned {
            queue_code,
            visit_no,
            ..
        } => pinned(c, at, queue_code, visit_no),
        Change::Marked {
            queue_code,
            visit_no,
            his_tags,
            marks,
            tags,
            ..
        } => marked(c, at, queue_code, visit_no, his_tags, marks, tags),
        other => Err(not_here(other, "queue")),
    }
}

/// A change at a room: a call and how it ended, a room's status or seat,
/// a cancellation, the day's close.
fn write_room_change(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    audit: &Audit,
    change: &Change,
) -> Result<EventKeys, DbError> {
    match change {
        Change::Called {
            queue_code,
            room_code,
            visit_no,
            placement,
            counters,
            room_cursor,
            ..
        } => called(
            c,
            at,
            Taken {
                queue_code,
                room_code,
                visit_no,
                placement: *placement,
                counters,
                room_cursor: *room_cursor,
            },
            &audit.operator,
        ),
        Change::Assigned {
            queue_code,
            room_code,
            visit_no,
            placement,
            counters,
            room_cursor,
            ..
        } => assigned(
            c,
            at,
            Taken {
                queue_code,
                room_code,
                visit_no,
                placement: *placement,
                counters,
                room_cursor: *room_cursor,
            },
        ),
        Change::Recalled {
            room_code,
            visit_no,
            call_count,
            ..
        } => recalled(c, at, room_code, visit_no, call_count),
        Change::Skipped {
            room_code,
            visit_no,
            no_show,
            ..
        } => skipped(c, at, room_code, visit_no, no_show),
        Change::SentForExam {
            room_code,
            visit_no,
            return_queue,
            ..
        } => sent_for_exam(c, at, room_code, visit_no, return_queue),
        Change::Finished {
            room_code,
            visit_no,
            performer,
            ..
        } => finished(c, at, room_code, visit_no, performer),
        Change::RoomStatusSet {
            room_code, status, ..
        } => room_status_set(c, at, room_code, status),
        Change::Cancelled {
            visit_no,
            queue_code,
            room_code,
            ..
        } => cancelled(c, at, visit_no, queue_code, room_code),
        Change::DayClosed {
            day,
            queue_code,
            room_code,
            visits,
            ..
        } => day_closed(c, audit, day, queue_code, room_code, visits),
        Change::Seated {
            room_code,
            doctor_code,
            seat,
            draws_from,
            mix,
            ..
        } => seated(c, at, room_code, doctor_code, *seat, draws_from, mix),
        other => Err(not_here(other, "room")),
    }
}

/// A change sent to the wrong writer: a bug, reported, nothing written.
fn not_here(change: &Change, writer: &str) -> DbError {
    DbError::Corrupt(format!("{} is not a {writer} change", change.kind()))
}

/// A visit checked in: waiting with its ticket; the queue's ticket counter.
fn checked_in(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    service_date: &NaiveDate,
    entry: &WaitingEntry,
    tickets: &TicketCounter,
    next_seq: &i64,
) -> Result<EventKeys, DbError> {
    let tags = serde_json::to_string(&entry.tags).unwrap_or_else(|_| "[]".into());
    let n = diesel::update(
        visits::table
            .filter(visits::visit_no.eq(&entry.visit_no))
            .filter(visits::status.eq(VisitStatus::Registered)),
    )
    .set((
        visits::marked_at.eq(at),
        visits::status.eq(VisitStatus::Waiting),
        visits::queue_code.eq(queue_code),
        visits::ticket_no.eq(&entry.ticket_no),
        visits::service_date.eq(service_date.to_string()),
        visits::seq.eq(entry.seq),
        visits::queue_mark.eq(entry.mark),
        visits::entry_kind.eq(entry.kind),
        visits::tags.eq(tags),
        visits::checked_in_at.eq(at),
        visits::updated_at.eq(at),
    ))
    .execute(c)?;
    conflict_if_none(n, "visit is not registered")?;
    let n = diesel::update(queue_counters::table.find(queue_code))
        .set((
            queue_counters::ticket_date.eq(tickets.date.to_string()),
            queue_counters::ticket_last.eq(tickets.last as i32),
            queue_counters::next_seq.eq(next_seq),
            queue_counters::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "queue has no counters")?;
    Ok((Some(entry.visit_no.clone()), None, Some(queue_code.clone())))
}

/// A patient taken from a queue by a room: a call or a send to its short
/// list.
struct Taken<'a> {
    queue_code: &'a QueueCode,
    room_code: &'a RoomCode,
    visit_no: &'a VisitNo,
    placement: PlacementCode,
    counters: &'a Counters,
    room_cursor: Option<i64>,
}

/// A room called a waiting visit; the room's current patient, the queue's
/// counters. Who called is the visit's performer until a finish names who
/// saw the patient (statistics count each call for whoever made it).
fn called(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    t: Taken<'_>,
    caller: &str,
) -> Result<EventKeys, DbError> {
    let n = diesel::update(waiting_in(t.visit_no, t.queue_code))
        .set((
            visits::performer.eq(caller),
            visits::locked_seq.eq(None::<i64>),
            visits::status.eq(VisitStatus::Called),
            visits::room_code.eq(t.room_code),
            visits::called_at.eq(at),
            visits::call_count.eq(1),
            visits::placement.eq(t.placement),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "visit is not waiting")?;
    clear_waiting_marks(c, t.visit_no)?;
    diesel::update(rooms::table.find(t.room_code))
        .set((
            rooms::current_visit_no.eq(t.visit_no),
            rooms::updated_at.eq(at),
        ))
        .execute(c)?;
    taken(c, &t, at)
}

/// A waiting visit sent to a room's short list; the queue's counters.
fn assigned(c: &mut AnyConnection, at: NaiveDateTime, t: Taken<'_>) -> Result<EventKeys, DbError> {
    let n = diesel::update(waiting_in(t.visit_no, t.queue_code))
        .set((
            visits::assigned_room.eq(t.room_code),
            visits::assigned_at.eq(at),
            visits::assigned_order.eq(t.counters.taken_total),
            visits::placement.eq(t.placement),
            visits::locked_seq.eq(None::<i64>),
            visits::pinned_at.eq(None::<chrono::NaiveDateTime>),
            visits::moved_position.eq(None::<i32>),
            visits::moved_mark.eq(None::<i64>),
            visits::moved_at.eq(None::<chrono::NaiveDateTime>),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "visit is not waiting")?;
    taken(c, &t, at)
}

/// A closed room's short list back to the general list.
fn unassigned(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    room_code: &RoomCode,
    list: &[VisitNo],
) -> Result<EventKeys, DbError> {
    diesel::update(
        visits::table
            .filter(visits::visit_no.eq_any(list))
            .filter(visits::status.eq(VisitStatus::Waiting))
            .filter(visits::queue_code.eq(queue_code))
            .filter(visits::assigned_room.eq(room_code)),
    )
    .set((
        visits::assigned_room.eq(None::<String>),
        visits::assigned_at.eq(None::<chrono::NaiveDateTime>),
        visits::assigned_order.eq(None::<i64>),
        visits::updated_at.eq(at),
    ))
    .execute(c)?;
    Ok((None, Some(room_code.clone()), Some(queue_code.clone())))
}

/// A nurse moved a waiting visit to a position.
fn moved(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    visit_no: &VisitNo,
    position: &u32,
    mark: &i64,
) -> Result<EventKeys, DbError> {
    let n = diesel::update(waiting_in(visit_no, queue_code))
        .set((
            visits::moved_position.eq(*position as i32),
            visits::moved_mark.eq(mark),
            visits::moved_at.eq(at),
            visits::pinned_at.eq(None::<chrono::NaiveDateTime>),
            visits::held.eq(false),
            visits::locked_seq.eq(None::<i64>),
            visits::assigned_room.eq(None::<String>),
            visits::assigned_at.eq(None::<chrono::NaiveDateTime>),
            visits::assigned_order.eq(None::<i64>),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "visit is not waiting")?;
    Ok(in_queue(visit_no, queue_code))
}

/// The current patient called again.
fn recalled(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    visit_no: &VisitNo,
    call_count: &i32,
) -> Result<EventKeys, DbError> {
    let n = diesel::update(
        visits::table
            .filter(visits::visit_no.eq(visit_no))
            .filter(visits::status.eq(VisitStatus::Called))
            .filter(visits::room_code.eq(room_code)),
    )
    .set((visits::call_count.eq(call_count), visits::updated_at.eq(at)))
    .execute(c)?;
    conflict_if_none(n, "visit is not called in this room")?;
    Ok(in_room(visit_no, room_code))
}

/// The current patient missed the call (or ended as no-show).
fn skipped(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    visit_no: &VisitNo,
    no_show: &bool,
) -> Result<EventKeys, DbError> {
    let status = if *no_show {
        VisitStatus::NoShow
    } else {
        VisitStatus::Missed
    };
    close_current(c, room_code, visit_no, status, None, at)?;
    diesel::update(visits::table.find(visit_no))
        .set(visits::miss_count.eq(visits::miss_count + 1))
        .execute(c)?;
    Ok(in_room(visit_no, room_code))
}

/// The current patient sent for an exam, back to `return_queue` later.
fn sent_for_exam(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    visit_no: &VisitNo,
    return_queue: &QueueCode,
) -> Result<EventKeys, DbError> {
    close_current(c, room_code, visit_no, VisitStatus::Exam, None, at)?;
    diesel::update(visits::table.find(visit_no))
        .set(visits::queue_code.eq(return_queue))
        .execute(c)?;
    Ok((
        Some(visit_no.clone()),
        Some(room_code.clone()),
        Some(return_queue.clone()),
    ))
}

/// A visit set aside waits again (recall or back from an exam).
fn requeued(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    entry: &WaitingEntry,
    next_seq: &i64,
) -> Result<EventKeys, DbError> {
    let set_aside = if entry.kind == triage_actors::model::EntryKind::Return {
        VisitStatus::Exam
    } else {
        VisitStatus::Missed
    };
    let n = diesel::update(
        visits::table
            .filter(visits::visit_no.eq(&entry.visit_no))
            .filter(visits::status.eq(set_aside)),
    )
    .set((
        entry_row(queue_code, entry, at)?,
        visits::finished_at.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(c)?;
    conflict_if_none(n, "visit is not set aside")?;
    clear_waiting_marks(c, &entry.visit_no)?;
    diesel::update(queue_counters::table.find(queue_code))
        .set((
            queue_counters::next_seq.eq(next_seq),
            queue_counters::updated_at.eq(at),
        ))
        .execute(c)?;
    Ok((Some(entry.visit_no.clone()), None, Some(queue_code.clone())))
}

/// The current patient is done.
fn finished(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    visit_no: &VisitNo,
    performer: &str,
) -> Result<EventKeys, DbError> {
    close_current(
        c,
        room_code,
        visit_no,
        VisitStatus::Finished,
        Some(performer),
        at,
    )?;
    Ok(in_room(visit_no, room_code))
}

/// A visit moved to another queue, from a queue or a room.
fn transferred(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    from_queue: &Option<QueueCode>,
    from_room: &Option<RoomCode>,
    queue_code: &QueueCode,
    entry: &WaitingEntry,
    next_seq: &i64,
) -> Result<EventKeys, DbError> {
    let from = visits::table.filter(visits::visit_no.eq(&entry.visit_no));
    let n = match (from_queue, from_room) {
        (Some(q), _) => diesel::update(
            from.filter(
                visits::status
                    .eq(VisitStatus::Waiting)
                    .and(visits::queue_code.eq(q)),
            ),
        )
        .set(entry_row(queue_code, entry, at)?)
        .execute(c)?,
        (None, Some(r)) => diesel::update(
            from.filter(
                visits::status
                    .eq(VisitStatus::Called)
                    .and(visits::room_code.eq(r)),
            ),
        )
        .set(entry_row(queue_code, entry, at)?)
        .execute(c)?,
        (None, None) => 0,
    };
    conflict_if_none(n, "visit moved meanwhile")?;
    clear_waiting_marks(c, &entry.visit_no)?;
    if entry.room.is_none() {
        // A transfer releases an appointment's room (the engine sends the
        // entry without one): no room is kept for the patient any more.
        diesel::update(
            visits::table
                .find(&entry.visit_no)
                .filter(visits::appointed_room.is_not_null()),
        )
        .set(visits::appointed_room.eq(None::<String>))
        .execute(c)?;
    }
    if let Some(r) = from_room {
        diesel::update(
            rooms::table
                .find(r)
                .filter(rooms::current_visit_no.eq(&entry.visit_no)),
        )
        .set((
            rooms::current_visit_no.eq(None::<String>),
            rooms::updated_at.eq(at),
        ))
        .execute(c)?;
    }
    diesel::update(queue_counters::table.find(queue_code))
        .set((
            queue_counters::next_seq.eq(next_seq),
            queue_counters::updated_at.eq(at),
        ))
        .execute(c)?;
    Ok((
        Some(entry.visit_no.clone()),
        from_room.clone(),
        Some(queue_code.clone()),
    ))
}

/// HIS corrected a waiting or called visit: the registration and the queue's view.
fn corrected(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &Option<QueueCode>,
    room_code: &Option<RoomCode>,
    correction: &Correction,
    entry_kind: &Option<EntryKind>,
    tags: &[SpecialTag],
) -> Result<EventKeys, DbError> {
    let mut row: RegistrationChanges = serde_json::from_value(correction.record.0.clone())
        // Never the serde text: it could quote the record (a name).
        .map_err(|_| DbError::Corrupt("a correction record could not be read".into()))?;
    row.updated_at = at;
    let tags = serde_json::to_string(tags)
        .map_err(|e| DbError::Unavailable(format!("tags not serialisable: {e}")))?;
    let visit = &correction.visit_no;
    let marks = correction.staff_marks.to_json();
    let n = match (queue_code, room_code) {
        (Some(q), _) => {
            let n = diesel::update(waiting_in(visit, q).filter(visits::special_staff.eq(marks)))
                .set((
                    row,
                    visits::tags.eq(tags),
                    visits::entry_kind.eq(entry_kind.map(EntryKind::as_str)),
                ))
                .execute(c)?;
            // An appointment moved to another room leaves a short list of a
            // room that may no longer call it (as the queue does in memory).
            if let Some(booked) = &correction.room {
                diesel::update(
                    waiting_in(visit, q)
                        .filter(visits::assigned_room.is_not_null())
                        .filter(visits::assigned_room.ne(booked)),
                )
                .set((
                    visits::assigned_room.eq(None::<String>),
                    visits::assigned_at.eq(None::<NaiveDateTime>),
                    visits::assigned_order.eq(None::<i64>),
                ))
                .execute(c)?;
            }
            n
        }
        (None, Some(r)) => diesel::update(
            visits::table
                .filter(visits::visit_no.eq(visit))
                .filter(visits::status.eq(VisitStatus::Called))
                .filter(visits::room_code.eq(r))
                .filter(visits::special_staff.eq(marks)),
        )
        .set((row, visits::tags.eq(tags)))
        .execute(c)?,
        (None, None) => 0,
    };
    conflict_if_none(n, "visit moved meanwhile")?;
    Ok((Some(visit.clone()), room_code.clone(), queue_code.clone()))
}

/// A queue's rules in force, and the visits re-tagged by them.
fn rules_changed(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    audit: &Audit,
    queue_code: &QueueCode,
    to: &QueueRules,
    retagged: &[(VisitNo, Vec<SpecialTag>)],
) -> Result<EventKeys, DbError> {
    let rules = serde_json::to_string(to)
        .map_err(|e| DbError::Unavailable(format!("rules not serialisable: {e}")))?;
    store::put_queue_rules(c, queue_code, &rules, &audit.operator, at)?;
    for (visit_no, tags) in retagged {
        let tags = serde_json::to_string(tags)
            .map_err(|e| DbError::Unavailable(format!("tags not serialisable: {e}")))?;
        diesel::update(waiting_in(visit_no, queue_code))
            .set((visits::tags.eq(tags), visits::updated_at.eq(at)))
            .execute(c)?;
    }
    Ok((None, None, Some(queue_code.clone())))
}

/// A nurse held or released a waiting visit.
fn hold_set(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    visit_no: &VisitNo,
    held: &bool,
) -> Result<EventKeys, DbError> {
    let n = diesel::update(waiting_in(visit_no, queue_code))
        .set((
            visits::held.eq(held),
            visits::pinned_at.eq(None::<chrono::NaiveDateTime>),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "visit is not waiting")?;
    if *held {
        clear_waiting_marks(c, visit_no)?;
    }
    Ok(in_queue(visit_no, queue_code))
}

/// The day ended: each visit still waiting in the queue (or called in
/// the room) closes as not seen, with its own event row.
fn day_closed(
    c: &mut AnyConnection,
    audit: &Audit,
    day: &NaiveDate,
    queue_code: &Option<QueueCode>,
    room_code: &Option<RoomCode>,
    closing: &[VisitNo],
) -> Result<EventKeys, DbError> {
    let at = audit.at.naive_utc();
    let closed = (
        visits::status.eq(VisitStatus::Closed),
        visits::closed_as.eq(DayEndStatus::NotSeen),
        visits::updated_at.eq(at),
    );
    for v in closing {
        let n = match (queue_code, room_code) {
            (Some(q), _) => diesel::update(waiting_in(v, q)).set(closed).execute(c)?,
            (None, Some(r)) => diesel::update(
                visits::table
                    .filter(visits::visit_no.eq(v))
                    .filter(visits::status.eq(VisitStatus::Called))
                    .filter(visits::room_code.eq(r)),
            )
            .set(closed)
            .execute(c)?,
            (None, None) => 0,
        };
        conflict_if_none(n, "visit moved meanwhile")?;
        store::record_visit_closed(c, audit, v, DayEndStatus::NotSeen, day)?;
    }
    if let Some(r) = room_code {
        diesel::update(rooms::table.find(r))
            .set((
                rooms::current_visit_no.eq(None::<String>),
                rooms::updated_at.eq(at),
            ))
            .execute(c)?;
    }
    Ok((None, room_code.clone(), queue_code.clone()))
}

/// The registration a queue entry was made from has not changed since
/// the engine read it (`updated_at`); else the engine reads it again.
fn unchanged_since(
    c: &mut AnyConnection,
    visit_no: &VisitNo,
    seen_at: &Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), DbError> {
    let Some(seen) = seen_at else {
        return Ok(());
    };
    let n: i64 = visits::table
        .filter(visits::visit_no.eq(visit_no))
        .filter(visits::updated_at.eq(seen.naive_utc()))
        .count()
        .get_result(c)?;
    conflict_if_none(n as usize, "the registration changed meanwhile")
}

/// Who sits in a room changed: the doctor, the seat, the queues called.
fn seated(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    doctor_code: &Option<DoctorCode>,
    seat: SeatState,
    draws_from: &[QueueCode],
    mix: &[u32],
) -> Result<EventKeys, DbError> {
    let json = |v: serde_json::Value| v.to_string();
    let configured = seat == SeatState::Configured;
    let n = diesel::update(rooms::table.find(room_code))
        .set((
            rooms::seat.eq(seat),
            rooms::seated_doctor.eq(doctor_code.clone()),
            rooms::draws_from.eq((!configured).then(|| json(serde_json::json!(draws_from)))),
            rooms::mix.eq((!configured).then(|| json(serde_json::json!(mix)))),
            rooms::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "no such room")?;
    Ok((None, Some(room_code.clone()), None))
}

/// A nurse set a waiting visit's special groups: her marks and the tags
/// that place the patient, provided HIS's groups are still those she saw.
fn marked(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    visit_no: &VisitNo,
    his_tags: &[SpecialTag],
    marks: &StaffMarks,
    tags: &[SpecialTag],
) -> Result<EventKeys, DbError> {
    let his = serde_json::to_string(his_tags)
        .map_err(|e| DbError::Unavailable(format!("tags not serialisable: {e}")))?;
    let tags = serde_json::to_string(tags)
        .map_err(|e| DbError::Unavailable(format!("tags not serialisable: {e}")))?;
    let n = diesel::update(waiting_in(visit_no, queue_code).filter(visits::special.eq(his)))
        .set((
            visits::special_staff.eq(marks.to_json()),
            visits::tags.eq(tags),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(
        n,
        "visit is not waiting or HIS changed its groups meanwhile",
    )?;
    Ok(in_queue(visit_no, queue_code))
}

/// A nurse pinned a waiting visit.
fn pinned(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    queue_code: &QueueCode,
    visit_no: &VisitNo,
) -> Result<EventKeys, DbError> {
    clear_waiting_marks(c, visit_no)?;
    let n = diesel::update(waiting_in(visit_no, queue_code))
        .set((
            visits::pinned_at.eq(at),
            visits::held.eq(false),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
    conflict_if_none(n, "visit is not waiting")?;
    Ok(in_queue(visit_no, queue_code))
}

/// A room opened, paused or closed.
fn room_status_set(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    room_code: &RoomCode,
    status: &RoomStatus,
) -> Result<EventKeys, DbError> {
    let n = diesel::update(rooms::table.find(room_code))
        .set((rooms::status.eq(status), rooms::updated_at.eq(at)))
        .execute(c)?;
    conflict_if_none(n, "unknown room")?;
    Ok((None, Some(room_code.clone()), None))
}

/// A waiting or called visit cancelled.
fn cancelled(
    c: &mut AnyConnection,
    at: NaiveDateTime,
    visit_no: &VisitNo,
    queue_code: &Option<QueueCode>,
    room_code: &Option<RoomCode>,
) -> Result<EventKeys, DbError> {
    let allowed = if room_code.is_some() {
        VisitStatus::Called
    } else {
        VisitStatus::Waiting
    };
    let n = diesel::update(
        visits::table
            .filter(visits::visit_no.eq(visit_no))
            .filter(visits::status.eq(allowed)),
    )
    .set((
        visits::status.eq(VisitStatus::Cancelled),
        visits::updated_at.eq(at),
    ))
    .execute(c)?;
    conflict_if_none(n, "visit cannot be cancelled in its state")?;
    if let Some(room) = room_code {
        diesel::update(
            rooms::table
                .find(room)
                .filter(rooms::current_visit_no.eq(visit_no)),
        )
        .set((
            rooms::current_visit_no.eq(None::<String>),
            rooms::updated_at.eq(at),
        ))
        .execute(c)?;
    }
    Ok((
        Some(visit_no.clone()),
        room_code.clone(),
        queue_code.clone(),
    ))
}

/// A visit entering a queue's waiting list (transfer, back after a missed
/// call or an exam): the queue's view of the entry.
#[derive(AsChangeset)]
#[diesel(table_name = visits, treat_none_as_null = true)]
struct EntryChanges<'a> {
    status: VisitStatus,
    queue_code: &'a str,
    seq: i64,
    queue_mark: i64,
    entry_kind: EntryKind,
    marked_at: chrono::NaiveDateTime,
    room_code: Option<&'a str>,
    held: bool,
    pinned_at: Option<chrono::NaiveDateTime>,
    tags: String,
    updated_at: chrono::NaiveDateTime,
}

fn entry_row<'a>(
    queue_code: &'a str,
    entry: &'a triage_actors::model::WaitingEntry,
    at: chrono::NaiveDateTime,
) -> Result<EntryChanges<'a>, DbError> {
    Ok(EntryChanges {
        status: VisitStatus::Waiting,
        queue_code,
        seq: entry.seq,
        queue_mark: entry.mark,
        entry_kind: entry.kind,
        marked_at: entry.checked_in_at.naive_utc(),
        room_code: None,
        held: false,
        pinned_at: None,
        tags: serde_json::to_string(&entry.tags)
            .map_err(|e| DbError::Unavailable(format!("tags not serialisable: {e}")))?,
        updated_at: at,
    })
}

/// A query for one visit waiting in one queue.
type WaitingIn<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<visits::table, diesel::dsl::Eq<visits::visit_no, &'a str>>,
    diesel::dsl::And<
        diesel::dsl::Eq<visits::status, VisitStatus>,
        diesel::dsl::Eq<visits::queue_code, &'a str>,
    >,
>;

/// The visit, if it is waiting in `queue_code`.
fn waiting_in<'a>(visit_no: &'a str, queue_code: &'a str) -> WaitingIn<'a> {
    visits::table.filter(visits::visit_no.eq(visit_no)).filter(
        visits::status
            .eq(VisitStatus::Waiting)
            .and(visits::queue_code.eq(queue_code)),
    )
}

/// The visit, room and queue an event row names.
type EventKeys = (Option<VisitNo>, Option<RoomCode>, Option<QueueCode>);

/// An event about a visit in a queue.
fn in_queue(visit_no: &str, queue_code: &str) -> EventKeys {
    (
        Some(VisitNo::trusted(visit_no)),
        None,
        Some(QueueCode::trusted(queue_code)),
    )
}

/// An event about a visit in a room.
fn in_room(visit_no: &str, room_code: &str) -> EventKeys {
    (
        Some(VisitNo::trusted(visit_no)),
        Some(RoomCode::trusted(room_code)),
        None,
    )
}

/// The bookkeeping of a patient taken from a queue by a room (a call or a
/// send to its short list): the queue's counters and the room's mix turn;
/// answers the event's (visit, room, queue).
fn taken(
    c: &mut AnyConnection,
    t: &Taken<'_>,
    at: chrono::NaiveDateTime,
) -> Result<EventKeys, DbError> {
    save_counters(c, t.queue_code, t.counters, at)?;
    save_cursor(c, t.room_code, t.room_cursor)?;
    Ok((
        Some(t.visit_no.clone()),
        Some(t.room_code.clone()),
        Some(t.queue_code.clone()),
    ))
}

/// Stores a queue's rule counters.
fn save_counters(
    c: &mut AnyConnection,
    queue_code: &QueueCode,
    counters: &triage_actors::model::Counters,
    at: chrono::NaiveDateTime,
) -> Result<(), DbError> {
    let overtakes = serde_json::to_string(&counters.overtakes).unwrap_or_else(|_| "[]".into());
    diesel::update(queue_counters::table.find(queue_code))
        .set((
            queue_counters::normal_calls_total.eq(counters.normal_calls_total),
            queue_counters::last_insert_mark.eq(counters.last_insert_mark),
            queue_counters::consecutive_priority.eq(counters.consecutive_priority),
            queue_counters::calls_since_return.eq(counters.calls_since_return),
            queue_counters::taken_total.eq(counters.taken_total),
            queue_counters::overtakes.eq(overtakes),
            queue_counters::updated_at.eq(at),
        ))
        .execute(c)?;
    Ok(())
}

/// Stores a room's mix position, if the change carries one.
fn save_cursor(c: &mut AnyConnection, room: &str, cursor: Option<i64>) -> Result<(), DbError> {
    if let Some(n) = cursor {
        diesel::update(rooms::table.find(room))
            .set(rooms::mix_cursor.eq(n))
            .execute(c)?;
    }
    Ok(())
}

/// Clears what only a waiting patient has: a nurse's move or pin, a place
/// on a room's short list (a called, re-queued or transferred patient
/// starts clean).
fn clear_waiting_marks(c: &mut AnyConnection, visit_no: &str) -> Result<(), DbError> {
    diesel::update(visits::table.find(visit_no))
        .set((
            visits::pinned_at.eq(None::<chrono::NaiveDateTime>),
            visits::moved_position.eq(None::<i32>),
            visits::moved_mark.eq(None::<i64>),
            visits::moved_at.eq(None::<chrono::NaiveDateTime>),
            visits::assigned_room.eq(None::<String>),
            visits::assigned_at.eq(None::<chrono::NaiveDateTime>),
            visits::assigned_order.eq(None::<i64>),
        ))
        .execute(c)?;
    Ok(())
}

fn close_current(
    c: &mut AnyConnection,
    room_code: &RoomCode,
    visit_no: &VisitNo,
    status: VisitStatus,
    performer: Option<&str>,
    at: chrono::NaiveDateTime,
) -> Result<(), DbError> {
    let n = diesel::update(
        visits::table
            .filter(visits::visit_no.eq(visit_no))
            .filter(visits::status.eq(VisitStatus::Called))
            .filter(visits::room_code.eq(room_code)),
    )
    .set((
        visits::status.eq(status),
        visits::finished_at.eq(at),
        visits::updated_at.eq(at),
    ))
    .execute(c)?;
    conflict_if_none(n, "visit is not called in this room")?;
    // A finish names who saw the patient; a skip or an exam keeps the
    // caller recorded at the call.
    if let Some(p) = performer {
        diesel::update(visits::table.find(visit_no))
            .set(visits::performer.eq(p))
            .execute(c)?;
    }
    diesel::update(rooms::table.find(room_code))
        .set((
            rooms::current_visit_no.eq(None::<String>),
            rooms::updated_at.eq(at),
        ))
        .execute(c)?;
    Ok(())
}

/// The event's detail: the change without names (masked or spoken); the
/// audit's reason (why) is kept, the rest of the audit has its own columns.
fn event_detail(change: &Change) -> String {
    let mut v = serde_json::to_value(change).unwrap_or(serde_json::Value::Null);
    if let Some(reason) = &change.audit().reason {
        v["reason"] = serde_json::json!(reason);
    }
    strip_names(&mut v);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("audit");
    }
    v.to_string()
}

/// Removes every masked or spoken name, at any depth.
fn strip_names(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove("masked_name");
            map.remove("spoken_name");
            map.values_mut().for_each(strip_names);
        }
        serde_json::Value::Array(list) => list.iter_mut().for_each(strip_names),
        _ => {}
    }
}
