//! The schedule (出诊排班) in the database: entries per day, session and
//! room, written with their audit event in one transaction; the session
//! switches done.

use crate::db::columns::ScheduleStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use triage_actors::model::Audit;

use super::conn::{AnyConnection, DbError};
use super::models::NewEvent;
use super::schema::{events, schedule_switches, schedules};

/// One schedule entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = schedules)]
pub struct ScheduleRow {
    pub service_date: String,
    pub session: String,
    pub room_code: String,
    pub doctor_code: String,
    /// JSON array of queue codes; `[]`: the doctor's own, then the room's
    /// shared queues.
    pub queues: String,
    pub patient_limit: Option<i32>,
    pub status: ScheduleStatus,
    pub source: String,
    pub updated_at: NaiveDateTime,
}

impl ScheduleRow {
    /// The same entry, the update time aside.
    fn same(&self, other: &ScheduleRow) -> bool {
        self.doctor_code == other.doctor_code
            && self.queues == other.queues
            && self.patient_limit == other.patient_limit
            && self.status == other.status
    }
}

fn event(audit: &Audit, kind: &str, detail: serde_json::Value) -> NewEvent {
    NewEvent {
        at: audit.at.naive_utc(),
        kind: kind.to_string(),
        operator: audit.operator.clone(),
        source: audit.source.clone(),
        visit_no: None,
        room_code: None,
        queue_code: None,
        detail: detail.to_string(),
        prev_hash: None,
        hash: None,
    }
}

fn detail(r: &ScheduleRow) -> serde_json::Value {
    serde_json::json!({
        "service_date": r.service_date, "session": r.session, "room_code": r.room_code,
        "doctor_code": r.doctor_code, "queues": r.queues, "patient_limit": r.patient_limit,
        "status": r.status,
    })
}

/// The entries of a day (every status), by session and room.
pub fn day(c: &mut AnyConnection, service_date: &str) -> Result<Vec<ScheduleRow>, DbError> {
    Ok(schedules::table
        .filter(schedules::service_date.eq(service_date))
        .order((schedules::session, schedules::room_code))
        .select(ScheduleRow::as_select())
        .load(c)?)
}

/// What a schedule write did to one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    Unchanged,
}

/// Writes `rows` (each replacing the entry of its day, session and room)
/// and, with `replace_day`, cancels the day's other active entries; each
/// change with its audit event. Answers what happened to each row and the
/// entries cancelled.
pub fn write(
    c: &mut AnyConnection,
    rows: &[ScheduleRow],
    replace_day: Option<&str>,
    audit: &Audit,
) -> Result<(Vec<Written>, Vec<ScheduleRow>), DbError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let old: Option<ScheduleRow> = schedules::table
            .find((&row.service_date, &row.session, &row.room_code))
            .select(ScheduleRow::as_select())
            .first(c)
            .optional()?;
        let outcome = match &old {
            Some(o) if o.same(row) => Written::Unchanged,
            Some(_) => Written::Replaced,
            None => Written::Created,
        };
        match outcome {
            Written::Unchanged => {}
            Written::Replaced => {
                diesel::update(schedules::table.find((
                    &row.service_date,
                    &row.session,
                    &row.room_code,
                )))
                .set((
                    schedules::doctor_code.eq(&row.doctor_code),
                    schedules::queues.eq(&row.queues),
                    schedules::patient_limit.eq(row.patient_limit),
                    schedules::status.eq(&row.status),
                    schedules::source.eq(&row.source),
                    schedules::updated_at.eq(row.updated_at),
                ))
                .execute(c)?;
            }
            Written::Created => {
                diesel::insert_into(schedules::table)
                    .values(row)
                    .execute(c)?;
            }
        }
        if outcome != Written::Unchanged {
            let kind = match row.status {
                ScheduleStatus::Cancelled => "schedule_cancelled",
                ScheduleStatus::Stopped => "schedule_stopped",
                ScheduleStatus::Active => "schedule_set",
            };
            super::audit::append(c, event(audit, kind, detail(row)))?;
        }
        outcomes.push(outcome);
    }
    let mut cancelled = Vec::new();
    if let Some(day_) = replace_day {
        for mut old in day(c, day_)? {
            let named = rows
                .iter()
                .any(|r| r.session == old.session && r.room_code == old.room_code);
            if named || old.status != ScheduleStatus::Active {
                continue;
            }
            diesel::update(schedules::table.find((
                &old.service_date,
                &old.session,
                &old.room_code,
            )))
            .set((
                schedules::status.eq(ScheduleStatus::Cancelled),
                schedules::updated_at.eq(audit.at.naive_utc()),
            ))
            .execute(c)?;
            old.status = ScheduleStatus::Cancelled;
            super::audit::append(c, event(audit, "schedule_cancelled", detail(&old)))?;
            cancelled.push(old);
        }
    }
    Ok((outcomes, cancelled))
}

/// Whether the rooms switched to a session already.
pub fn switched(c: &mut AnyConnection, service_date: &str, session: &str) -> Result<bool, DbError> {
    Ok(schedule_switches::table
        .find((service_date, session))
        .select(schedule_switches::session)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// Records that the rooms switched to a session, with its audit event.
pub fn record_switch(
    c: &mut AnyConnection,
    service_date: &str,
    session: &str,
    rooms: &[String],
    audit: &Audit,
) -> Result<(), DbError> {
    if switched(c, service_date, session)? {
        return Ok(());
    }
    diesel::insert_into(schedule_switches::table)
        .values((
            schedule_switches::service_date.eq(service_date),
            schedule_switches::session.eq(session),
            schedule_switches::switched_at.eq(audit.at.naive_utc()),
        ))
        .execute(c)?;
    super::audit::append(
        c,
        event(
            audit,
            "session_switched",
            serde_json::json!({"service_date": service_date, "session": session, "rooms": rooms}),
        ),
    )
}

/// Records a stop-clinic (停诊) with what it did (its audit event).
pub fn record_stop(
    c: &mut AnyConnection,
    audit: &Audit,
    detail: serde_json::Value,
) -> Result<(), DbError> {
    super::audit::append(c, event(audit, CLINIC_STOPPED, detail))
}

/// The audit kind of a stop-clinic (停诊).
pub const CLINIC_STOPPED: &str = "clinic_stopped";

/// The stop-clinics recorded since `since`: when, by whom, what.
pub fn stops_since(
    c: &mut AnyConnection,
    since: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, String, String)>, DbError> {
    Ok(events::table
        .filter(events::kind.eq(CLINIC_STOPPED))
        .filter(events::at.ge(since))
        .order(events::id)
        .select((events::at, events::operator, events::detail))
        .load(c)?)
}

/// Every row, for the dump tests compare.
pub fn dump(c: &mut AnyConnection) -> Result<String, DbError> {
    let mut out = String::new();
    for r in schedules::table
        .order((
            schedules::service_date,
            schedules::session,
            schedules::room_code,
        ))
        .select(ScheduleRow::as_select())
        .load(c)?
    {
        out.push_str(&format!("schedules {r:?}\n"));
    }
    let switches: Vec<(String, String, NaiveDateTime)> = schedule_switches::table
        .order((schedule_switches::service_date, schedule_switches::session))
        .load(c)?;
    for s in switches {
        out.push_str(&format!("schedule_switches {s:?}\n"));
    }
    Ok(out)
}
