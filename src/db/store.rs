//! Queries outside the engine's journal: registrations and doctors (HIS
//! data), what the engine loads at start-up, and a full dump of every table
//! (tests compare dumps to prove that bad input changed nothing).
//!
//! Functions taking `&mut AnyConnection` run on the writer (writes) or on a
//! pooled connection (reads); none is called on an async worker.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use triage_actors::model::{Audit, DayEndStatus, VisitStatus};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

use super::conn::{native, AnyConnection, Conflict, DbError};
use super::models::{
    AppointmentRow, CounterRow, DoctorRow, EventRow, NewEvent, NewNotice, NewVisit, NoticeRow,
    QueueRulesRow, RegistrationChanges, RoomRow, VisitRow,
};
use super::schema::{
    appointments, day_closures, doctors, events, notices, queue_counters, queue_rules, rooms,
    visits,
};

/// What a registration PUT did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Replaced,
    Unchanged,
}

fn event(audit: &Audit, kind: &str, visit_no: Option<&str>, detail: serde_json::Value) -> NewEvent {
    NewEvent {
        at: audit.at.naive_utc(),
        kind: kind.to_string(),
        operator: audit.operator.clone(),
        source: audit.source.clone(),
        visit_no: visit_no.map(str::to_string),
        room_code: None,
        queue_code: None,
        detail: detail.to_string(),
        prev_hash: None,
        hash: None,
    }
}

/// Reads one visit.
pub fn get_visit(c: &mut AnyConnection, visit_no: &str) -> Result<Option<VisitRow>, DbError> {
    native!(c, |n| visits::table
        .find(visit_no)
        .select(VisitRow::as_select())
        .first(n)
        .optional()
        .map_err(DbError::from))
}

/// Reads the visits with these numbers that wait in `queue_code`, in the
/// order given.
pub fn waiting_visits(
    c: &mut AnyConnection,
    queue_code: &QueueCode,
    visit_nos: &[VisitNo],
) -> Result<Vec<VisitRow>, DbError> {
    let mut rows: Vec<VisitRow> = visits::table
        .filter(visits::queue_code.eq(queue_code))
        .filter(visits::status.eq(VisitStatus::Waiting))
        .filter(visits::visit_no.eq_any(visit_nos))
        .select(VisitRow::as_select())
        .load(c)?;
    rows.sort_by_key(|r| visit_nos.iter().position(|v| *v == r.visit_no));
    Ok(rows)
}

/// What a registration's write found and did.
#[derive(Debug)]
pub enum Registered {
    /// Stored (created, replaced or unchanged), with the visit's status.
    Stored(UpsertOutcome, VisitStatus),
    /// An appointment holds the number: nothing was written.
    Booked,
    /// The visit waits or is called and the registration differs: nothing
    /// was written; the change goes through its queue or room.
    InQueue(Box<VisitRow>),
}

/// Stores a registration in the writer's transaction, with the reads it
/// needs in the same transaction: the visit and, when `guard_appointment`,
/// whether an appointment holds the number (kept even without a visit).
pub fn register(
    c: &mut AnyConnection,
    new: NewVisit,
    audit: &Audit,
    guard_appointment: bool,
) -> Result<Registered, DbError> {
    let existing = get_visit(c, &new.visit_no)?;
    if guard_appointment
        && (existing
            .as_ref()
            .is_some_and(|v| v.appointed_room.is_some())
            || get_appointment(c, &new.visit_no)?.is_some())
    {
        return Ok(Registered::Booked);
    }
    match existing {
        Some(v)
            if v.body != new.body
                && matches!(v.status, VisitStatus::Waiting | VisitStatus::Called) =>
        {
            Ok(Registered::InQueue(Box::new(v)))
        }
        existing => upsert_registration(c, existing, new, audit)
            .map(|(outcome, status)| Registered::Stored(outcome, status)),
    }
}

/// A registration for the writer: [`register`] alone, or with the
/// registrations that come in a row with it as set-based statements
/// ([`register_all`]).
#[derive(Debug)]
pub struct Registering {
    pub new: NewVisit,
    pub audit: Audit,
    /// Whether an appointment holding the number refuses it.
    pub guard_appointment: bool,
}

impl super::writer::Grouped for Registering {
    type Output = Registered;

    fn run_group(
        c: &mut AnyConnection,
        group: &[&Self],
    ) -> Result<super::writer::GroupResults<Registered>, DbError> {
        register_all(c, group)
    }

    fn run_alone(&self, c: &mut AnyConnection) -> Result<Registered, DbError> {
        register(c, self.new.clone(), &self.audit, self.guard_appointment)
    }
}

/// Registrations as set-based statements: one read of their visits, one
/// of the appointments holding their numbers, one insert of the new
/// visits and one of the audit events (a replaced registration is still an
/// update of its own). Each is decided as [`register`] decides it, in
/// order; a refused one writes nothing. `None` when a number comes twice
/// (the second must see the first: they run one by one).
pub fn register_all(
    c: &mut AnyConnection,
    group: &[&Registering],
) -> Result<super::writer::GroupResults<Registered>, DbError> {
    let numbers: Vec<&str> = group.iter().map(|r| r.new.visit_no.as_str()).collect();
    let distinct: std::collections::HashSet<&str> = numbers.iter().copied().collect();
    if distinct.len() != numbers.len() {
        return Ok(None);
    }
    let mut existing: std::collections::HashMap<String, VisitRow> = native!(c, |n| visits::table
        .filter(visits::visit_no.eq_any(&numbers))
        .select(VisitRow::as_select())
        .load(n))?
    .into_iter()
    .map(|v| (v.visit_no.to_string(), v))
    .collect();
    let guarded: Vec<&str> = group
        .iter()
        .filter(|r| r.guard_appointment)
        .map(|r| r.new.visit_no.as_str())
        .collect();
    let booked: std::collections::HashSet<String> = if guarded.is_empty() {
        Default::default()
    } else {
        // Whole rows, as `register` reads them: a broken one is an error
        // either way.
        native!(c, |n| appointments::table
            .filter(appointments::appointment_id.eq_any(&guarded))
            .select(AppointmentRow::as_select())
            .load(n))?
        .into_iter()
        .map(|a| a.appointment_id)
        .collect()
    };
    let mut created = Vec::new();
    let mut events = Vec::new();
    let mut results = Vec::with_capacity(group.len());
    for r in group {
        let new = &r.new;
        let found = existing.remove(new.visit_no.as_str());
        if r.guard_appointment
            && (found.as_ref().is_some_and(|v| v.appointed_room.is_some())
                || booked.contains(new.visit_no.as_str()))
        {
            results.push(Ok(Registered::Booked));
            continue;
        }
        let result = match found {
            Some(v)
                if v.body != new.body
                    && matches!(v.status, VisitStatus::Waiting | VisitStatus::Called) =>
            {
                Ok(Registered::InQueue(Box::new(v)))
            }
            None => {
                events.push(event(
                    &r.audit,
                    "registered",
                    Some(&new.visit_no),
                    detail_of(new),
                ));
                created.push(new);
                Ok(Registered::Stored(
                    UpsertOutcome::Created,
                    VisitStatus::Registered,
                ))
            }
            Some(v) => replaced(c, v, new).map(|(outcome, status, replaced)| {
                if replaced {
                    events.push(event(
                        &r.audit,
                        "registration_replaced",
                        Some(&new.visit_no),
                        detail_of(new),
                    ));
                }
                Registered::Stored(outcome, status)
            }),
        };
        match result {
            // Any other failure leaves the transaction unusable on
            // PostgreSQL: they run one by one instead.
            Err(e) if !matches!(e, DbError::Conflict(_)) => return Err(e),
            result => results.push(result),
        }
    }
    if !created.is_empty() {
        native!(c, |n| diesel::insert_into(visits::table)
            .values(created)
            .execute(n))?;
    }
    super::audit::append_all(c, events)?;
    Ok(Some(results))
}

/// What a registration's audit event says of it.
fn detail_of(new: &NewVisit) -> serde_json::Value {
    serde_json::json!({
        "department_code": new.department_code,
        "doctor_code": new.doctor_code,
        "visit_type": new.visit_type,
    })
}

/// A registration over a visit that exists and is not in a queue with
/// another body: unchanged, refused, or replaced by an update (answers
/// whether it was).
fn replaced(
    c: &mut AnyConnection,
    v: VisitRow,
    new: &NewVisit,
) -> Result<(UpsertOutcome, VisitStatus, bool), DbError> {
    if v.body == new.body {
        return Ok((UpsertOutcome::Unchanged, v.status, false));
    }
    match v.status {
        VisitStatus::Cancelled => Err(DbError::Conflict(Conflict::RegistrationCancelled)),
        // In a queue: only a correction through the queue may change it (the
        // caller read an older status; it reads again).
        VisitStatus::Waiting | VisitStatus::Called => Err(DbError::Conflict(Conflict::Stale(
            "the visit is in a queue",
        ))),
        status
            if status != VisitStatus::Registered
                && (v.department_code != new.department_code
                    || v.doctor_code.as_deref() != new.doctor_code.as_deref()) =>
        {
            Err(DbError::Conflict(Conflict::VisitAlreadyInQueue))
        }
        status => {
            diesel::update(visits::table.find(&new.visit_no))
                .set(RegistrationChanges::from(new))
                .execute(c)?;
            Ok((UpsertOutcome::Replaced, status, true))
        }
    }
}

/// Creates or replaces a registration over the visit `existing` read in
/// the same transaction. The same body twice changes nothing. A cancelled
/// registration cannot be replaced; a visit already in a queue cannot
/// change department or doctor (transfer does that).
fn upsert_registration(
    c: &mut AnyConnection,
    existing: Option<VisitRow>,
    new: NewVisit,
    audit: &Audit,
) -> Result<(UpsertOutcome, VisitStatus), DbError> {
    // Answers the outcome and the visit's status (no read-back needed).
    match existing {
        None => {
            native!(c, |n| diesel::insert_into(visits::table)
                .values(&new)
                .execute(n))?;
            super::audit::append(
                c,
                event(audit, "registered", Some(&new.visit_no), detail_of(&new)),
            )?;
            Ok((UpsertOutcome::Created, VisitStatus::Registered))
        }
        Some(v) => {
            let (outcome, status, replaced) = replaced(c, v, &new)?;
            if replaced {
                super::audit::append(
                    c,
                    event(
                        audit,
                        "registration_replaced",
                        Some(&new.visit_no),
                        detail_of(&new),
                    ),
                )?;
            }
            Ok((outcome, status))
        }
    }
}

/// The appointment kept under `id`, if any.
pub fn get_appointment(c: &mut AnyConnection, id: &str) -> Result<Option<AppointmentRow>, DbError> {
    Ok(native!(c, |n| appointments::table
        .find(id)
        .select(AppointmentRow::as_select())
        .first(n)
        .optional())?)
}

/// Keeps what was applied of an appointment (replacing what was kept).
pub fn put_appointment(c: &mut AnyConnection, row: &AppointmentRow) -> Result<(), DbError> {
    let n = diesel::update(appointments::table.find(&row.appointment_id))
        .set(row)
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(appointments::table)
            .values(row)
            .execute(c)?;
    }
    Ok(())
}

/// An appointment of today not checked in yet, for its room's door screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub room_code: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub patient_name: String,
}

/// Appointments booked for a room whose slot ends after `now` and starts
/// before `until` (the end of today), not checked in or cancelled yet, by
/// room and slot.
pub fn upcoming_appointments(
    c: &mut AnyConnection,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<Vec<Upcoming>, DbError> {
    type Row = (
        Option<String>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        String,
    );
    let rows: Vec<Row> = visits::table
        .filter(visits::appointed_room.is_not_null())
        .filter(visits::status.eq(VisitStatus::Registered))
        .filter(visits::appointment_end.gt(now))
        .filter(visits::appointment_start.lt(until))
        .order((
            visits::appointed_room,
            visits::appointment_start,
            visits::visit_no,
        ))
        .select((
            visits::appointed_room,
            visits::appointment_start,
            visits::appointment_end,
            visits::patient_name,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(room, start, end, name)| {
            Some(Upcoming {
                room_code: room?,
                start: start?,
                end: end?,
                patient_name: name,
            })
        })
        .collect())
}

/// Visits of `service_date` that left the queues of `queues` for now:
/// missed a call (过号), away for an exam (检查), or ended as no-show
/// (未到), latest first; at most `limit`.
pub fn away_visits(
    c: &mut AnyConnection,
    queues: &[QueueCode],
    service_date: &str,
    limit: i64,
) -> Result<Vec<VisitRow>, DbError> {
    let away = [VisitStatus::Missed, VisitStatus::Exam, VisitStatus::NoShow];
    Ok(visits::table
        .filter(visits::status.eq_any(away))
        .filter(visits::queue_code.eq_any(queues))
        .filter(visits::service_date.eq(service_date))
        .order((visits::finished_at.desc(), visits::visit_no))
        .limit(limit)
        .select(VisitRow::as_select())
        .load(c)?)
}

/// The event row of one visit closed at day end.
pub fn record_visit_closed(
    c: &mut AnyConnection,
    audit: &Audit,
    visit_no: &str,
    closed_as: DayEndStatus,
    day: &NaiveDate,
) -> Result<(), DbError> {
    super::audit::append(
        c,
        event(
            audit,
            "visit_closed",
            Some(visit_no),
            serde_json::json!({"closed_as": closed_as.as_str(), "day": day.to_string()}),
        ),
    )
}

/// A closed day (日终) and what closed with it.
#[derive(Queryable, Selectable, Insertable, Debug, Clone, PartialEq, serde::Serialize)]
#[diesel(table_name = day_closures)]
pub struct DayClosure {
    pub service_date: String,
    pub closed_at: NaiveDateTime,
    pub operator: String,
    pub not_seen: i64,
    pub missed_unreturned: i64,
    pub exam_unreturned: i64,
}

/// The last day closed, if any.
pub fn closed_through(c: &mut AnyConnection) -> Result<Option<NaiveDate>, DbError> {
    let last: Option<String> = day_closures::table
        .select(diesel::dsl::max(day_closures::service_date))
        .first(c)?;
    last.map(|d| {
        d.parse()
            .map_err(|_| DbError::Corrupt("a day closure has an unreadable date".into()))
    })
    .transpose()
}

/// A day's closure, if it was closed.
pub fn day_closure(c: &mut AnyConnection, day: &NaiveDate) -> Result<Option<DayClosure>, DbError> {
    Ok(day_closures::table
        .find(day.to_string())
        .select(DayClosure::as_select())
        .first(c)
        .optional()?)
}

/// The statuses of the visits of `day` (and before) a day end would
/// close now: waiting, called, missed, away for an exam.
pub fn open_statuses(c: &mut AnyConnection, day: &NaiveDate) -> Result<Vec<VisitStatus>, DbError> {
    Ok(visits::table
        .filter(visits::status.eq_any([
            VisitStatus::Waiting,
            VisitStatus::Called,
            VisitStatus::Missed,
            VisitStatus::Exam,
        ]))
        .filter(visits::service_date.le(day.to_string()))
        .select(visits::status)
        .load(c)?)
}

/// Closes `day` (日终) in the database: every visit of `day` or before
/// still in one of `statuses` closes with its final status and an event
/// row; then the day is recorded with what closed that day (once: closing
/// a closed day again answers the first record). The queues and rooms
/// close their own patients first while the server runs (their journal);
/// at start-up, before any actor runs, this closes everything.
pub fn close_day(
    c: &mut AnyConnection,
    day: &NaiveDate,
    statuses: &[VisitStatus],
    audit: &Audit,
) -> Result<DayClosure, DbError> {
    let at = audit.at.naive_utc();
    let open: Vec<(String, VisitStatus)> = visits::table
        .filter(visits::status.eq_any(statuses))
        .filter(visits::service_date.le(day.to_string()))
        .select((visits::visit_no, visits::status))
        .load(c)?;
    for (visit_no, status) in &open {
        let closed_as = DayEndStatus::of(*status)
            .ok_or_else(|| DbError::Corrupt(format!("visit {visit_no} has status {status}")))?;
        let n = diesel::update(
            visits::table
                .find(visit_no)
                .filter(visits::status.eq(status)),
        )
        .set((
            visits::status.eq(VisitStatus::Closed),
            visits::closed_as.eq(closed_as),
            visits::updated_at.eq(at),
        ))
        .execute(c)?;
        if n == 0 {
            return Err(DbError::Conflict(Conflict::Stale("visit moved meanwhile")));
        }
        record_visit_closed(c, audit, visit_no, closed_as, day)?;
    }
    // A room whose current patient closed is empty.
    let called: Vec<&String> = open
        .iter()
        .filter(|(_, s)| *s == VisitStatus::Called)
        .map(|(v, _)| v)
        .collect();
    if !called.is_empty() {
        diesel::update(rooms::table.filter(rooms::current_visit_no.eq_any(called)))
            .set((
                rooms::current_visit_no.eq(None::<String>),
                rooms::updated_at.eq(at),
            ))
            .execute(c)?;
    }
    if let Some(done) = day_closure(c, day)? {
        return Ok(done);
    }
    let counted: Vec<(Option<String>, i64)> = visits::table
        .filter(visits::status.eq(VisitStatus::Closed))
        .filter(visits::service_date.eq(day.to_string()))
        .group_by(visits::closed_as)
        .select((visits::closed_as, diesel::dsl::count_star()))
        .load(c)?;
    let count = |kind: DayEndStatus| {
        counted
            .iter()
            .find(|(k, _)| k.as_deref() == Some(kind.as_str()))
            .map_or(0, |(_, n)| *n)
    };
    let closure = DayClosure {
        service_date: day.to_string(),
        closed_at: at,
        operator: audit.operator.clone(),
        not_seen: count(DayEndStatus::NotSeen),
        missed_unreturned: count(DayEndStatus::MissedUnreturned),
        exam_unreturned: count(DayEndStatus::ExamUnreturned),
    };
    diesel::insert_into(day_closures::table)
        .values(&closure)
        .execute(c)?;
    super::audit::append(
        c,
        event(
            audit,
            "day_closed",
            None,
            serde_json::json!({
                "day": closure.service_date,
                "not_seen": closure.not_seen,
                "missed_unreturned": closure.missed_unreturned,
                "exam_unreturned": closure.exam_unreturned,
            }),
        ),
    )?;
    Ok(closure)
}

/// Cancels a visit set aside (过号 or 检查中: in no queue or room); false
/// if it was not in one of those states.
pub fn cancel_set_aside(
    c: &mut AnyConnection,
    visit_no: &str,
    audit: &Audit,
) -> Result<bool, DbError> {
    cancel_from(
        c,
        visit_no,
        &[VisitStatus::Missed, VisitStatus::Exam],
        audit,
    )
}

/// Cancels a visit that has not checked in yet; false if it was not in
/// state `registered`.
pub fn cancel_registered(
    c: &mut AnyConnection,
    visit_no: &str,
    audit: &Audit,
) -> Result<bool, DbError> {
    cancel_from(c, visit_no, &[VisitStatus::Registered], audit)
}

/// Cancels a visit in one of the states `from` (states in which it is in
/// no queue or room), with its audit event; false if it was in none.
fn cancel_from(
    c: &mut AnyConnection,
    visit_no: &str,
    from: &[VisitStatus],
    audit: &Audit,
) -> Result<bool, DbError> {
    let Some(before) = visits::table
        .find(visit_no)
        .select(visits::status)
        .first::<VisitStatus>(c)
        .optional()?
    else {
        return Ok(false);
    };
    if !from.contains(&before) {
        return Ok(false);
    }
    let n = diesel::update(
        visits::table
            .find(visit_no)
            .filter(visits::status.eq(before)),
    )
    .set((
        visits::status.eq(VisitStatus::Cancelled),
        visits::updated_at.eq(audit.at.naive_utc()),
    ))
    .execute(c)?;
    if n > 0 {
        super::audit::append(
            c,
            event(
                audit,
                "cancelled",
                Some(visit_no),
                serde_json::json!({ "from": before.as_str() }),
            ),
        )?;
    }
    Ok(n > 0)
}

/// What storing a doctor's master data did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Replaced,
    /// The same data was already stored: nothing written, no event (a
    /// message delivered twice changes nothing).
    Unchanged,
}

/// Creates or replaces a doctor's master data.
pub fn upsert_doctor(
    c: &mut AnyConnection,
    row: DoctorRow,
    audit: &Audit,
) -> Result<Upserted, DbError> {
    let existing = doctors::table
        .find(&row.code)
        .select(DoctorRow::as_select())
        .first(c)
        .optional()?;
    let same = |e: &DoctorRow| {
        (
            &e.name,
            &e.department_code,
            &e.title,
            &e.introduction,
            &e.photo,
            &e.photo_mime,
            &e.sex,
            e.on_duty,
        ) == (
            &row.name,
            &row.department_code,
            &row.title,
            &row.introduction,
            &row.photo,
            &row.photo_mime,
            &row.sex,
            row.on_duty,
        )
    };
    let outcome = match &existing {
        Some(e) if same(e) => return Ok(Upserted::Unchanged),
        Some(_) => {
            diesel::update(doctors::table.find(&row.code))
                .set((
                    doctors::name.eq(&row.name),
                    doctors::department_code.eq(&row.department_code),
                    doctors::title.eq(&row.title),
                    doctors::introduction.eq(&row.introduction),
                    doctors::photo.eq(&row.photo),
                    doctors::photo_mime.eq(&row.photo_mime),
                    doctors::updated_at.eq(row.updated_at),
                    doctors::sex.eq(&row.sex),
                    doctors::on_duty.eq(row.on_duty),
                ))
                .execute(c)?;
            Upserted::Replaced
        }
        None => {
            diesel::insert_into(doctors::table)
                .values(&row)
                .execute(c)?;
            Upserted::Created
        }
    };
    let mut ev = event(
        audit,
        if outcome == Upserted::Created {
            "doctor_created"
        } else {
            "doctor_updated"
        },
        None,
        serde_json::json!({"doctor_code": row.code, "department_code": row.department_code}),
    );
    ev.visit_no = None;
    super::audit::append(c, ev)?;
    Ok(outcome)
}

/// Inserts a doctor from the configuration only if HIS has not sent one.
pub fn seed_doctor(c: &mut AnyConnection, row: DoctorRow) -> Result<(), DbError> {
    let exists = doctors::table
        .find(&row.code)
        .select(doctors::code)
        .first::<String>(c)
        .optional()?
        .is_some();
    if !exists {
        diesel::insert_into(doctors::table)
            .values(&row)
            .execute(c)?;
    }
    Ok(())
}

pub fn list_doctors(c: &mut AnyConnection) -> Result<Vec<DoctorRow>, DbError> {
    Ok(doctors::table
        .order(doctors::code)
        .select(DoctorRow::as_select())
        .load(c)?)
}

pub fn get_doctor(c: &mut AnyConnection, code: &str) -> Result<Option<DoctorRow>, DbError> {
    Ok(doctors::table
        .find(code)
        .select(DoctorRow::as_select())
        .first(c)
        .optional()?)
}

/// Makes sure every configured room and queue has its row.
pub fn ensure_rows(
    c: &mut AnyConnection,
    room_codes: &[RoomCode],
    queue_codes: &[QueueCode],
    now: NaiveDateTime,
    today: &str,
) -> Result<(), DbError> {
    for code in room_codes {
        let exists = rooms::table
            .find(code)
            .select(rooms::code)
            .first::<String>(c)
            .optional()?
            .is_some();
        if !exists {
            diesel::insert_into(rooms::table)
                .values(&RoomRow {
                    code: code.clone(),
                    status: triage_actors::model::RoomStatus::Open,
                    current_visit_no: None,
                    updated_at: now,
                    mix_cursor: 0,
                    seat: triage_actors::model::SeatState::Configured,
                    seated_doctor: None,
                    draws_from: None,
                    mix: None,
                })
                .execute(c)?;
        }
    }
    for code in queue_codes {
        let exists = queue_counters::table
            .find(code)
            .select(queue_counters::queue_code)
            .first::<String>(c)
            .optional()?
            .is_some();
        if !exists {
            diesel::insert_into(queue_counters::table)
                .values(&CounterRow {
                    queue_code: code.clone(),
                    normal_calls_total: 0,
                    last_insert_mark: 0,
                    ticket_date: today.to_string(),
                    ticket_last: 0,
                    next_seq: 1,
                    updated_at: now,
                    consecutive_priority: 0,
                    calls_since_return: 0,
                    taken_total: 0,
                    overtakes: "[]".into(),
                })
                .execute(c)?;
        }
    }
    Ok(())
}

/// Everything the engine needs to rebuild its state exactly.
pub struct Loaded {
    pub waiting: Vec<VisitRow>,
    pub called: Vec<VisitRow>,
    pub rooms: Vec<RoomRow>,
    pub counters: Vec<CounterRow>,
    pub doctors: Vec<DoctorRow>,
}

pub fn load_all(c: &mut AnyConnection) -> Result<Loaded, DbError> {
    Ok(Loaded {
        waiting: visits::table
            .filter(visits::status.eq(VisitStatus::Waiting))
            .order((visits::queue_code, visits::seq))
            .select(VisitRow::as_select())
            .load(c)?,
        called: visits::table
            .filter(visits::status.eq(VisitStatus::Called))
            .select(VisitRow::as_select())
            .load(c)?,
        rooms: rooms::table.select(RoomRow::as_select()).load(c)?,
        counters: queue_counters::table
            .select(CounterRow::as_select())
            .load(c)?,
        doctors: list_doctors(c)?,
    })
}

/// The rooms not open now (paused or stopped): code only.
pub fn rooms_not_open(c: &mut AnyConnection) -> Result<Vec<RoomCode>, DbError> {
    Ok(rooms::table
        .filter(rooms::status.ne(triage_actors::model::RoomStatus::Open))
        .order(rooms::code)
        .select(rooms::code)
        .load(c)?)
}

/// The details (JSON text) of the events of one kind, oldest first.
pub fn event_details(c: &mut AnyConnection, kind: &str) -> Result<Vec<String>, DbError> {
    Ok(events::table
        .filter(events::kind.eq(kind))
        .order(events::id)
        .select(events::detail)
        .load(c)?)
}

/// Stores a notice and its event; answers the stored row.
pub fn insert_notice(
    c: &mut AnyConnection,
    n: NewNotice,
    audit: &Audit,
) -> Result<NoticeRow, DbError> {
    diesel::insert_into(notices::table).values(&n).execute(c)?;
    let row = notices::table
        .order(notices::id.desc())
        .select(NoticeRow::as_select())
        .first(c)?;
    super::audit::append(
        c,
        event(
            audit,
            "notice_published",
            None,
            serde_json::json!({"notice_id": row.id, "screens": row.screens}),
        ),
    )?;
    Ok(row)
}

/// A screen as stored (registered at run time or reassigned).
#[derive(Queryable, Selectable, Insertable, AsChangeset, Debug, Clone, PartialEq)]
#[diesel(table_name = crate::db::schema::screens, treat_none_as_null = true)]
pub struct ScreenRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub title: String,
    pub rooms: String,
    pub voice: bool,
    pub next_count: i32,
    pub updated_at: chrono::NaiveDateTime,
    pub show_appointments: bool,
    /// Taken out of service (停用): the screen runs no more, also not from
    /// the configuration file; a new registration clears it.
    pub retired_at: Option<chrono::NaiveDateTime>,
}

/// Every stored screen definition.
pub fn load_screens(c: &mut AnyConnection) -> Result<Vec<ScreenRow>, DbError> {
    use crate::db::schema::screens;
    Ok(screens::table
        .order(screens::code)
        .select(ScreenRow::as_select())
        .load(c)?)
}

/// Stores a screen's row, new or replacing the one of its code.
fn upsert_screen(c: &mut AnyConnection, row: &ScreenRow) -> Result<(), DbError> {
    use crate::db::schema::screens;
    let exists = screens::table
        .find(&row.code)
        .select(screens::code)
        .first::<String>(c)
        .optional()?
        .is_some();
    if exists {
        diesel::update(screens::table.find(&row.code))
            .set(row)
            .execute(c)?;
    } else {
        diesel::insert_into(screens::table).values(row).execute(c)?;
    }
    Ok(())
}

/// Takes a screen out of service (停用): its row is kept, marked retired
/// (`row` is what it showed, `retired_at` set), its device token ends, and
/// one audit event records both. Answers whether a live token was ended.
pub fn retire_screen(
    c: &mut AnyConnection,
    row: &ScreenRow,
    before: serde_json::Value,
    audit: &Audit,
) -> Result<bool, DbError> {
    use crate::db::schema::screen_tokens;
    upsert_screen(c, row)?;
    let ended = diesel::update(
        screen_tokens::table
            .find(&row.code)
            .filter(screen_tokens::revoked_at.is_null()),
    )
    .set(screen_tokens::revoked_at.eq(Some(audit.at.naive_utc())))
    .execute(c)?
        > 0;
    // Its last contact is forgotten: a code registered again starts afresh.
    diesel::delete(crate::db::schema::screen_presence::table.find(&row.code)).execute(c)?;
    super::audit::append(
        c,
        event(
            audit,
            "screen_retired",
            None,
            serde_json::json!({"screen": row.code, "before": before, "token_revoked": ended}),
        ),
    )?;
    Ok(ended)
}

/// Stores a screen's definition (new or changed) and its audit event with
/// the definition before and after.
pub fn put_screen(
    c: &mut AnyConnection,
    row: &ScreenRow,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
    audit: &Audit,
) -> Result<(), DbError> {
    upsert_screen(c, row)?;
    let kind = if before.is_some() {
        "screen_reassigned"
    } else {
        "screen_registered"
    };
    super::audit::append(
        c,
        event(
            audit,
            kind,
            None,
            serde_json::json!({"screen": row.code, "before": before, "after": after}),
        ),
    )
}

/// Withdraws a notice; false if there is none or it was withdrawn already.
pub fn withdraw_notice(c: &mut AnyConnection, id: i64, audit: &Audit) -> Result<bool, DbError> {
    let n = diesel::update(
        notices::table
            .find(id)
            .filter(notices::withdrawn_at.is_null()),
    )
    .set(notices::withdrawn_at.eq(audit.at.naive_utc()))
    .execute(c)?;
    if n > 0 {
        super::audit::append(
            c,
            event(
                audit,
                "notice_withdrawn",
                None,
                serde_json::json!({"notice_id": id}),
            ),
        )?;
    }
    Ok(n > 0)
}

/// Notices neither withdrawn nor expired at `now`.
pub fn active_notices(
    c: &mut AnyConnection,
    now: NaiveDateTime,
) -> Result<Vec<NoticeRow>, DbError> {
    Ok(notices::table
        .filter(notices::withdrawn_at.is_null())
        .filter(
            notices::expires_at
                .is_null()
                .or(notices::expires_at.gt(now)),
        )
        .order(notices::id)
        .select(NoticeRow::as_select())
        .load(c)?)
}

/// Queue rules set through the API.
pub fn load_queue_rules(c: &mut AnyConnection) -> Result<Vec<QueueRulesRow>, DbError> {
    Ok(queue_rules::table
        .order(queue_rules::queue_code)
        .select(QueueRulesRow::as_select())
        .load(c)?)
}

/// Stores a queue's rules in force (they override the configuration file's
/// at start-up). Written by the journal with the `rules_changed` event.
pub fn put_queue_rules(
    c: &mut AnyConnection,
    queue_code: &str,
    rules: &str,
    operator: &str,
    at: chrono::NaiveDateTime,
) -> Result<(), DbError> {
    let exists = queue_rules::table
        .find(queue_code)
        .select(queue_rules::queue_code)
        .first::<String>(c)
        .optional()?
        .is_some();
    if exists {
        diesel::update(queue_rules::table.find(queue_code))
            .set((
                queue_rules::rules.eq(rules),
                queue_rules::operator.eq(operator),
                queue_rules::updated_at.eq(at),
            ))
            .execute(c)?;
    } else {
        diesel::insert_into(queue_rules::table)
            .values(&QueueRulesRow {
                queue_code: queue_code.to_string(),
                rules: rules.to_string(),
                operator: operator.to_string(),
                updated_at: at,
            })
            .execute(c)?;
    }
    Ok(())
}

/// A text dump of every table, in key order. Tests compare two dumps to show
/// that a rejected request changed nothing.
pub fn dump(c: &mut AnyConnection) -> Result<String, DbError> {
    let mut out = String::new();
    for r in doctors::table
        .order(doctors::code)
        .select(DoctorRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("doctors {r:?}\n"));
    }
    for r in visits::table
        .order(visits::visit_no)
        .select(VisitRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("visits {r:?}\n"));
    }
    for r in rooms::table
        .order(rooms::code)
        .select(RoomRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("rooms {r:?}\n"));
    }
    for r in appointments::table
        .order(appointments::appointment_id)
        .select(AppointmentRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("appointments {r:?}\n"));
    }
    for r in queue_counters::table
        .order(queue_counters::queue_code)
        .select(CounterRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("queue_counters {r:?}\n"));
    }
    for r in notices::table
        .order(notices::id)
        .select(NoticeRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("notices {r:?}\n"));
    }
    for r in queue_rules::table
        .order(queue_rules::queue_code)
        .select(QueueRulesRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("queue_rules {r:?}\n"));
    }
    for r in events::table
        .order(events::id)
        .select(EventRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("events {r:?}\n"));
    }
    // Accounts (sessions are not listed: a request's last use moves).
    for r in super::accounts::list_staff(c)? {
        out.push_str(&format!("staff_accounts {r:?}\n"));
    }
    for r in super::accounts::list_clients(c)? {
        out.push_str(&format!("his_clients {r:?}\n"));
    }
    for r in super::accounts::list_screen_tokens(c)? {
        out.push_str(&format!("screen_tokens {r:?}\n"));
    }
    for r in load_screens(c)? {
        out.push_str(&format!("screens {r:?}\n"));
    }
    out.push_str(&super::schedules::dump(c)?);
    out.push_str(&super::results::dump(c)?);
    Ok(out)
}
