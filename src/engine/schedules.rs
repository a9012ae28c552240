//! The schedule (出诊排班): which doctor sits in which room in each session
//! of a day (上午 / 下午 / 晚上), the queues the room calls then and an
//! optional patient limit. HIS pushes it (one entry, or a whole day that
//! replaces the one before; cancel), nurses and administrators edit it.
//!
//! At each session's start the rooms switch to its schedule by themselves
//! (journaled by the rooms, recorded once per session so a restart does
//! not switch again and a server that was down catches up): the door
//! screens show the new doctor at once, and the own queue of a doctor who
//! sits nowhere any more is frozen or moved to the department's shared
//! queue, as `[schedule]` says. A room the day's schedule does not name
//! keeps the configuration's doctor. A change to the session in force
//! reaches its rooms at once.

use super::facade::Acting;
use crate::db::columns::ScheduleStatus;
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use triage_actors::model::{Audit, SeatState};
use utoipa::ToSchema;

use super::facade::Engine;
use crate::config::{RoomDef, SessionDef};
use crate::db::schedules::{self as store, ScheduleRow, Written};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode};
use triage_ground::time::{service_date, shanghai, utc};

/// How early before a session a doctor may sign in to its rooms.
const SIGN_IN_EARLY_MINUTES: i64 = 30;
/// The largest patient limit (限号) an entry may carry.
const MAX_LIMIT: u32 = 999;
/// How far ahead a schedule may be pushed.
const MAX_DAYS_AHEAD: i64 = 366;

/// One entry of a day's schedule to write, as HIS or a nurse asked
/// (`api::schedules`). Every field names something of the running
/// hospital (a session, a room, a doctor of the master data, queues), so
/// the engine checks it against them, in that order, then the patient
/// limit.
#[derive(Debug, Clone)]
pub struct ScheduleEntryDraft {
    /// A session code of `[schedule]` (`am`, `pm`, `eve`).
    pub session: String,
    pub room_code: String,
    pub doctor_code: String,
    /// The queues the room calls in the session; empty: the doctor's own
    /// queue first, then the room's shared queues.
    pub queues: Vec<String>,
    /// At most this many patients (限号), 1-999.
    pub patient_limit: Option<u32>,
}

/// A schedule entry as staff and HIS read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleEntry {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub session: String,
    pub session_name: String,
    pub room_code: String,
    pub room_name: String,
    pub doctor_code: String,
    pub doctor_name: Option<String>,
    /// The queues the room calls in the session (as the entry says, or the
    /// doctor's own and the room's shared queues).
    pub queues: Vec<String>,
    pub patient_limit: Option<u32>,
    /// `active`, `cancelled` or `stopped` (停诊).
    pub status: String,
    /// Who wrote it last: a HIS client or a staff code.
    pub source: String,
    pub updated_at: DateTime<Utc>,
}

/// A day's schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleDay {
    pub date: String,
    /// The hospital's sessions, in the order of the day.
    pub sessions: Vec<SessionDef>,
    /// The session in progress now (its start passed, its end not yet),
    /// when `date` is today: none between sessions and after the last.
    pub session_now: Option<String>,
    /// The next session of today still to start, when `date` is today.
    pub session_next: Option<String>,
    /// The sessions whose schedule the rooms took already.
    pub switched: Vec<String>,
    /// Each room's configured doctor by name (who sits there where the
    /// schedule names nobody).
    pub default_doctors: std::collections::BTreeMap<String, String>,
    pub entries: Vec<ScheduleEntry>,
}

/// What a schedule write did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleWriteAnswer {
    pub date: String,
    pub created: usize,
    pub replaced: usize,
    pub unchanged: usize,
    /// Entries a whole-day write cancelled (not named any more).
    pub cancelled: usize,
    /// The entries written, as stored.
    pub entries: Vec<ScheduleEntry>,
}

/// What a session switch did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwitchAnswer {
    pub date: String,
    pub session: String,
    /// Rooms whose doctor changed.
    pub rooms: Vec<String>,
    /// Doctors who sit nowhere any more, with their own queues frozen or
    /// redistributed.
    pub left: Vec<String>,
    /// Patients moved to shared queues.
    pub redistributed: usize,
}

/// Who a room should have in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    seat: SeatState,
    doctor: Option<DoctorCode>,
    draws: Vec<QueueCode>,
    mix: Vec<u32>,
}

fn queues_of(row: &ScheduleRow) -> Result<Vec<QueueCode>, Error> {
    serde_json::from_str(&row.queues).map_err(|_| {
        tracing::error!(room = %row.room_code, "schedule entry with unreadable queues");
        Error::internal()
    })
}

/// Parses a schedule date: exactly `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<NaiveDate, Error> {
    triage_ground::time::parse_date(text).ok_or_else(|| {
        Error::field(
            ErrorCode::InvalidDate,
            "date",
            "the date is not a date YYYY-MM-DD",
        )
    })
}

impl Engine {
    /// The local time of an instant.
    fn local_time(at: DateTime<Utc>) -> chrono::NaiveTime {
        at.with_timezone(&shanghai()).time()
    }

    /// The session in force at `at` (none before the first of the day).
    pub fn session_at(&self, at: DateTime<Utc>) -> Option<&SessionDef> {
        self.hospital().schedule.in_force(Self::local_time(at))
    }

    fn session_def(&self, code: &str, field: &str) -> Result<&SessionDef, Error> {
        self.hospital().schedule.session(code).ok_or_else(|| {
            let known: Vec<&str> = self
                .hospital()
                .schedule
                .sessions
                .iter()
                .map(|s| s.code.as_str())
                .collect();
            Error::field(
                ErrorCode::UnknownSession,
                field,
                format!("no session {code:?} (sessions: {})", known.join(", ")),
            )
        })
    }

    /// The start of `session` on `day`, as an instant.
    pub(crate) fn session_start(&self, day: NaiveDate, session: &SessionDef) -> DateTime<Utc> {
        day.and_time(session.start)
            .and_local_timezone(shanghai())
            .single()
            .map_or_else(
                || super::day::day_end_instant(day),
                |t| t.with_timezone(&Utc),
            )
    }

    /// The end of `session` on `day`, as an instant.
    pub(crate) fn session_end(&self, day: NaiveDate, session: &SessionDef) -> DateTime<Utc> {
        day.and_time(session.end)
            .and_local_timezone(shanghai())
            .single()
            .map_or_else(
                || super::day::day_end_instant(day),
                |t| t.with_timezone(&Utc),
            )
    }

    fn entry_view(&self, row: &ScheduleRow) -> Result<ScheduleEntry, Error> {
        let session_name = self
            .hospital()
            .schedule
            .session(&row.session)
            .map_or_else(|| row.session.clone(), |s| s.name.clone());
        let room = self.hospital().room(&row.room_code);
        let mut queues = queues_of(row)?;
        if queues.is_empty() {
            if let Some(room) = room {
                queues = self.seating(room, Some(&row.doctor_code)).0;
            }
        }
        Ok(ScheduleEntry {
            date: row.service_date.clone(),
            session: row.session.clone(),
            session_name,
            room_code: row.room_code.clone(),
            room_name: room.map_or_else(|| row.room_code.clone(), |r| r.name.clone()),
            doctor_name: self.doctor_name(&row.doctor_code),
            doctor_code: row.doctor_code.clone(),
            queues: queues.into_iter().map(String::from).collect(),
            patient_limit: row.patient_limit.map(|n| n.max(0) as u32),
            status: row.status.to_string(),
            source: row.source.clone(),
            updated_at: utc(row.updated_at),
        })
    }

    async fn day_rows(&self, day: NaiveDate) -> Result<Vec<ScheduleRow>, Error> {
        let d = day.to_string();
        Ok(self.db().read(move |c| store::day(c, &d)).await?)
    }

    /// A day's schedule; `doctor` keeps one doctor's entries only.
    pub async fn schedule_day(
        &self,
        day: NaiveDate,
        doctor: Option<&str>,
    ) -> Result<ScheduleDay, Error> {
        let rows = self.day_rows(day).await?;
        let d = day.to_string();
        let now = self.now();
        let today = service_date(now) == day;
        let mut switched = Vec::new();
        for s in &self.hospital().schedule.sessions {
            let (d2, s2) = (d.clone(), s.code.clone());
            if self
                .db()
                .read(move |c| store::switched(c, &d2, &s2))
                .await?
            {
                switched.push(s.code.clone());
            }
        }
        let entries = rows
            .iter()
            .filter(|r| doctor.is_none_or(|x| r.doctor_code == x))
            .map(|r| self.entry_view(r))
            .collect::<Result<Vec<_>, _>>()?;
        // Today's session in progress, and the next one to begin.
        let t = Self::local_time(now);
        let session = |hit: &dyn Fn(&crate::config::SessionDef) -> bool| {
            self.hospital()
                .schedule
                .sessions
                .iter()
                .find(|s| today && hit(s))
                .map(|s| s.code.clone())
        };
        Ok(ScheduleDay {
            date: d,
            sessions: self.hospital().schedule.sessions.clone(),
            session_now: session(&|s| s.start <= t && t < s.end),
            session_next: session(&|s| s.start > t),
            switched,
            default_doctors: self
                .hospital()
                .rooms
                .iter()
                .filter_map(|r| {
                    let d = r.doctor.as_ref()?;
                    Some((
                        r.code.to_string(),
                        self.doctor_name(d.as_str())
                            .unwrap_or_else(|| d.to_string()),
                    ))
                })
                .collect(),
            entries,
        })
    }

    /// The day a schedule write is for: today or later (a day that is over
    /// or closed takes no schedule: 409 `day_closed`).
    fn writable_day(&self, date: &str) -> Result<NaiveDate, Error> {
        let day = parse_date(date)?;
        let today = service_date(self.now());
        if day < today || self.closed_through.get().is_some_and(|c| c >= day) {
            return Err(Error::new(
                ErrorCode::DayClosed,
                format!("{date} is over; its schedule cannot change"),
            ));
        }
        if (day - today).num_days() > MAX_DAYS_AHEAD {
            return Err(Error::field(
                ErrorCode::InvalidDate,
                "date",
                format!("a schedule reaches at most {MAX_DAYS_AHEAD} days ahead"),
            ));
        }
        Ok(day)
    }

    /// The department of the room a schedule entry names (for the
    /// caller's access check).
    pub fn schedule_room_department(&self, room: &str) -> Result<String, Error> {
        self.hospital()
            .room(room)
            .map(|r| r.department.to_string())
            .ok_or_else(|| {
                Error::field(
                    ErrorCode::UnknownRoom,
                    "room_code",
                    format!("no room {room:?}"),
                )
            })
    }

    /// Checks one entry and makes its row.
    fn entry_row(
        &self,
        day: NaiveDate,
        at: &str,
        body: &ScheduleEntryDraft,
        audit: &Audit,
    ) -> Result<ScheduleRow, Error> {
        let field = |f: &str| format!("{at}{f}");
        self.session_def(&body.session, &field("session"))?;
        let room = self.hospital().room(&body.room_code).ok_or_else(|| {
            Error::field(
                ErrorCode::UnknownRoom,
                &field("room_code"),
                format!("no room {:?}", body.room_code),
            )
        })?;
        let department = self.doctor_department(&body.doctor_code).ok_or_else(|| {
            Error::field(
                ErrorCode::NotADoctor,
                &field("doctor_code"),
                format!(
                    "{:?} is not a doctor in the master data (send the doctor first)",
                    body.doctor_code
                ),
            )
        })?;
        if !department.is_empty() && department != room.department {
            return Err(Error::field(
                ErrorCode::WrongDepartment,
                &field("doctor_code"),
                format!("the doctor is not of {}'s department", room.name),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, q) in body.queues.iter().enumerate() {
            let def = self.hospital().queue(q).ok_or_else(|| {
                Error::field(
                    ErrorCode::UnknownQueue,
                    &field(&format!("queues[{i}]")),
                    format!("no queue {q:?}"),
                )
            })?;
            if def.department != room.department || !seen.insert(q.clone()) {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    &field(&format!("queues[{i}]")),
                    "each queue once, of the room's department",
                ));
            }
        }
        if body.patient_limit.is_some_and(|n| n == 0 || n > MAX_LIMIT) {
            return Err(Error::field(
                ErrorCode::InvalidField,
                &field("patient_limit"),
                format!("a patient limit is 1 to {MAX_LIMIT}"),
            ));
        }
        Ok(ScheduleRow {
            service_date: day.to_string(),
            session: body.session.clone(),
            room_code: body.room_code.clone(),
            doctor_code: body.doctor_code.clone(),
            queues: serde_json::json!(body.queues).to_string(),
            patient_limit: body.patient_limit.map(|n| n as i32),
            status: ScheduleStatus::Active,
            source: audit.operator.clone(),
            updated_at: audit.at.naive_utc(),
        })
    }

    /// A doctor in two rooms in one session (unless `several_rooms`),
    /// with `rows` written over `existing` (and, replacing the day, the
    /// entries not named gone).
    fn double_booked(
        &self,
        existing: &[ScheduleRow],
        rows: &[ScheduleRow],
        replace: bool,
    ) -> Result<(), Error> {
        if self.hospital().schedule.several_rooms {
            return Ok(());
        }
        let mut active: Vec<&ScheduleRow> = rows
            .iter()
            .filter(|r| r.status == ScheduleStatus::Active)
            .collect();
        if !replace {
            active.extend(existing.iter().filter(|e| {
                e.status == ScheduleStatus::Active
                    && !rows
                        .iter()
                        .any(|r| r.session == e.session && r.room_code == e.room_code)
            }));
        }
        let mut seen = BTreeSet::new();
        for r in active {
            if !seen.insert((r.session.clone(), r.doctor_code.clone())) {
                return Err(Error::new(
                    ErrorCode::DoctorDoubleBooked,
                    format!(
                        "doctor {} is in two rooms in session {} (one room per session)",
                        r.doctor_code, r.session
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn write_schedule(
        &self,
        day: NaiveDate,
        rows: Vec<ScheduleRow>,
        replace: bool,
        on_stop: Option<bool>,
        audit: Audit,
    ) -> Result<ScheduleWriteAnswer, Error> {
        // One schedule change at a time, and none during a switch: the
        // check and the write must see the same day.
        let _one = self.seating.lock().await;
        let existing = self.day_rows(day).await?;
        // HIS pushing the same assignment again does not undo a stop (停诊).
        let mut rows = rows;
        for r in rows
            .iter_mut()
            .filter(|r| r.status == ScheduleStatus::Active)
        {
            let stopped = existing.iter().any(|e| {
                e.session == r.session
                    && e.room_code == r.room_code
                    && e.status == ScheduleStatus::Stopped
                    && e.doctor_code == r.doctor_code
            });
            if stopped {
                r.status = ScheduleStatus::Stopped;
            }
        }
        self.double_booked(&existing, &rows, replace)?;
        let d = day.to_string();
        let (written, to_write, a) = (rows.clone(), rows, audit.clone());
        let (outcomes, cancelled) = self
            .db()
            .write(move |c| store::write(c, &to_write, replace.then_some(d.as_str()), &a))
            .await?;
        drop(_one);
        // Changes to the session in force reach its rooms at once.
        let touched: BTreeSet<(String, String)> = written
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| **o != Written::Unchanged)
            .map(|(r, _)| (r.session.clone(), r.room_code.clone()))
            .chain(
                cancelled
                    .iter()
                    .map(|r| (r.session.clone(), r.room_code.clone())),
            )
            .collect();
        // The write is committed: a failure to seat now is logged (the
        // next session's switch seats from the stored schedule).
        if let Err(e) = self.reapply(day, &touched, on_stop, audit).await {
            tracing::error!(error = %e, "schedule stored, rooms not reseated");
        }
        let count = |w: Written| outcomes.iter().filter(|o| **o == w).count();
        Ok(ScheduleWriteAnswer {
            date: day.to_string(),
            created: count(Written::Created),
            replaced: count(Written::Replaced),
            unchanged: count(Written::Unchanged),
            cancelled: cancelled.len(),
            entries: written
                .iter()
                .map(|r| self.entry_view(r))
                .collect::<Result<_, _>>()?,
        })
    }

    /// HIS or a nurse sets a whole day: it replaces the day's entries.
    /// Idempotent: the same day again changes nothing.
    pub async fn put_schedule_day(
        &self,
        date: &str,
        entries: Vec<ScheduleEntryDraft>,
        who: Acting,
    ) -> Result<ScheduleWriteAnswer, Error> {
        let audit = self.stamp(who);
        let day = self.writable_day(date)?;
        let mut rows: Vec<ScheduleRow> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let row = self.entry_row(day, &format!("entries[{i}]."), e, &audit)?;
            if rows
                .iter()
                .any(|r| r.session == row.session && r.room_code == row.room_code)
            {
                return Err(Error::field(
                    ErrorCode::InvalidField,
                    &format!("entries[{i}]"),
                    "one entry per session and room",
                ));
            }
            rows.push(row);
        }
        self.write_schedule(day, rows, true, None, audit).await
    }

    /// Sets one entry (created or replaced; the same again changes
    /// nothing).
    pub async fn put_schedule_entry(
        &self,
        date: &str,
        entry: ScheduleEntryDraft,
        who: Acting,
    ) -> Result<ScheduleWriteAnswer, Error> {
        let audit = self.stamp(who);
        let day = self.writable_day(date)?;
        let row = self.entry_row(day, "", &entry, &audit)?;
        self.write_schedule(day, vec![row], false, None, audit)
            .await
    }

    /// Cancels one entry (HIS took it back): the room keeps the
    /// configuration's doctor in that session. 404 when there is none.
    pub async fn cancel_schedule_entry(
        &self,
        date: &str,
        session: &str,
        room: &str,
        who: Acting,
    ) -> Result<ScheduleWriteAnswer, Error> {
        let audit = self.stamp(who);
        let day = self.writable_day(date)?;
        self.session_def(session, "session")?;
        let existing = self.day_rows(day).await?;
        let mut row = existing
            .into_iter()
            .find(|r| r.session == session && r.room_code == room)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ScheduleNotFound,
                    format!("no schedule for {room:?} in {session:?} on {date}"),
                )
            })?;
        row.status = ScheduleStatus::Cancelled;
        row.source = audit.operator.clone();
        row.updated_at = audit.at.naive_utc();
        self.write_schedule(day, vec![row], false, None, audit)
            .await
    }

    /// Marks a doctor's entries of `sessions` today as stopped (停诊).
    /// Answers the rooms those entries named.
    pub(crate) async fn stop_schedule(
        &self,
        doctor: &str,
        sessions: &[String],
        redistribute: bool,
        audit: Audit,
    ) -> Result<Vec<String>, Error> {
        let day = service_date(audit.at);
        let existing = self.day_rows(day).await?;
        let mut rows: Vec<ScheduleRow> = existing
            .iter()
            .filter(|r| {
                r.doctor_code == doctor
                    && r.status == ScheduleStatus::Active
                    && sessions.contains(&r.session)
            })
            .cloned()
            .map(|mut r| {
                r.status = ScheduleStatus::Stopped;
                r.source = audit.operator.clone();
                r.updated_at = audit.at.naive_utc();
                r
            })
            .collect();
        // A doctor who sits by the configuration (no entry in the session):
        // their configured room is stopped for it too, so that it stays
        // empty when the session starts.
        for session in sessions {
            let scheduled = existing.iter().any(|r| {
                &r.session == session
                    && r.doctor_code == doctor
                    && r.status != ScheduleStatus::Cancelled
            });
            if scheduled {
                continue;
            }
            for room in self
                .hospital()
                .rooms
                .iter()
                .filter(|r| r.doctor.as_deref() == Some(doctor))
            {
                let named = existing.iter().any(|r| {
                    &r.session == session
                        && r.room_code == room.code
                        && r.status != ScheduleStatus::Cancelled
                });
                if !named {
                    rows.push(ScheduleRow {
                        service_date: day.to_string(),
                        session: session.clone(),
                        room_code: room.code.to_string(),
                        doctor_code: doctor.to_string(),
                        queues: "[]".into(),
                        patient_limit: None,
                        status: ScheduleStatus::Stopped,
                        source: audit.operator.clone(),
                        updated_at: audit.at.naive_utc(),
                    });
                }
            }
        }
        let rooms = rows.iter().map(|r| r.room_code.clone()).collect();
        if !rows.is_empty() {
            self.write_schedule(day, rows, false, Some(redistribute), audit)
                .await?;
        }
        Ok(rooms)
    }

    /// The plan of `room` in `session` of a day: the schedule's doctor, no
    /// doctor (stopped), or the configuration's (no entry, or cancelled).
    fn target(
        &self,
        room: &RoomDef,
        entry: Option<&ScheduleRow>,
        elsewhere: bool,
    ) -> Result<Target, Error> {
        Ok(match entry {
            Some(e) if e.status == ScheduleStatus::Active => {
                let own = queues_of(e)?;
                let (draws, mix) = if own.is_empty() {
                    self.seating(room, Some(&e.doctor_code))
                } else {
                    let mix = if room.mix.len() == own.len() {
                        room.mix.clone()
                    } else {
                        Vec::new()
                    };
                    (own, mix)
                };
                Target {
                    seat: SeatState::Scheduled,
                    doctor: Some(DoctorCode::trusted(e.doctor_code.clone())),
                    draws,
                    mix,
                }
            }
            // Stopped (停诊), or the configured doctor is scheduled in
            // another room: nobody sits here.
            Some(e) if e.status == ScheduleStatus::Stopped => {
                let (draws, mix) = self.seating(room, None);
                Target {
                    seat: SeatState::Out,
                    doctor: None,
                    draws,
                    mix,
                }
            }
            _ if elsewhere => {
                let (draws, mix) = self.seating(room, None);
                Target {
                    seat: SeatState::Out,
                    doctor: None,
                    draws,
                    mix,
                }
            }
            _ => Target {
                seat: SeatState::Configured,
                doctor: room.doctor.clone(),
                draws: room.queues.clone(),
                mix: room.mix.clone(),
            },
        })
    }

    /// Seats every room the day's schedule concerns as `session` says;
    /// answers the rooms changed and the doctors who left a room. A doctor
    /// who signed in to the room the plan gives them stays signed in; for a
    /// change `within` the session every doctor signed in stays until they
    /// sign out. The caller holds `seating`.
    async fn seat_plan(
        &self,
        session: &SessionDef,
        within: bool,
        rows: &[ScheduleRow],
        audit: &Audit,
    ) -> Result<(Vec<RoomCode>, BTreeSet<DoctorCode>), Error> {
        let order = &self.hospital().schedule.sessions;
        let index = order
            .iter()
            .position(|s| s.code == session.code)
            .unwrap_or(0);
        // This session and the ones before it today (a server down across
        // several boundaries catches up on all of them).
        let so_far: Vec<&String> = order[..=index].iter().map(|s| &s.code).collect();
        let mut changed = Vec::new();
        let mut left = BTreeSet::new();
        for room in &self.hospital().rooms {
            let entry = rows
                .iter()
                .find(|r| r.session == session.code && r.room_code == room.code);
            let earlier = rows
                .iter()
                .any(|r| so_far.contains(&&r.session) && r.room_code == room.code);
            // The configured doctor scheduled (or stopped) in another room,
            // now or earlier today.
            let away = |now_only: bool| {
                room.doctor.as_ref().is_some_and(|d| {
                    rows.iter().any(|r| {
                        (if now_only {
                            r.session == session.code
                        } else {
                            so_far.contains(&&r.session)
                        }) && &r.doctor_code == d
                            && r.room_code != room.code
                            && r.status != ScheduleStatus::Cancelled
                    })
                })
            };
            let elsewhere = away(true);
            // A room the schedule says nothing about today keeps whoever
            // sits there.
            if entry.is_none() && !earlier && !elsewhere && !away(false) {
                continue;
            }
            let target = self.target(room, entry, elsewhere)?;
            let Some(now) = self.directory().room_info(&room.code) else {
                continue;
            };
            // A doctor stopped (停诊) here leaves even when signed in.
            let stopped_doctor = entry.is_some_and(|e| {
                e.status == ScheduleStatus::Stopped
                    && now.doctor_code.as_deref() == Some(e.doctor_code.as_str())
            });
            let signed_in = matches!(now.seat, SeatState::In | SeatState::Break) && !stopped_doctor;
            // A doctor signed in stays: in the room the plan gives them, and
            // (a change within the session) wherever they are until they
            // sign out.
            let here = signed_in
                && ((now.doctor_code.is_some() && now.doctor_code == target.doctor) || within);
            let same = now.seat == target.seat
                && now.doctor_code == target.doctor
                && now.draws_from == target.draws
                && now.mix == target.mix;
            if here || same {
                continue;
            }
            if let Some(d) = now.doctor_code.clone() {
                if now.seat != SeatState::Out && Some(&d) != target.doctor.as_ref() {
                    left.insert(d);
                }
            }
            let code = room.code.clone();
            self.seat(
                &code,
                target.doctor,
                target.seat,
                target.draws,
                target.mix,
                audit.clone(),
            )
            .await?;
            changed.push(room.code.clone());
        }
        // Who still sits somewhere did not leave.
        left.retain(|d| {
            !self.hospital().rooms.iter().any(|r| {
                self.directory().room_info(&r.code).is_some_and(|i| {
                    i.doctor_code.as_deref() == Some(d.as_str()) && i.seat != SeatState::Out
                })
            })
        });
        Ok((changed, left))
    }

    /// Doctors with their own queue who sit nowhere now although the
    /// schedule had them in an earlier session today, or stops them in
    /// this one: recomputed from the plan, so a switch retried after a
    /// failure half-way still finds them.
    fn unseated(&self, rows: &[ScheduleRow], session: &SessionDef) -> BTreeSet<DoctorCode> {
        let order = &self.hospital().schedule.sessions;
        let index = order
            .iter()
            .position(|s| s.code == session.code)
            .unwrap_or(0);
        let before: Vec<&String> = order[..index].iter().map(|s| &s.code).collect();
        rows.iter()
            .filter(|r| {
                (before.contains(&&r.session) && r.status != ScheduleStatus::Cancelled)
                    || (r.session == session.code && r.status == ScheduleStatus::Stopped)
            })
            .map(|r| DoctorCode::trusted(r.doctor_code.clone()))
            .filter(|d| {
                self.hospital()
                    .queues
                    .iter()
                    .any(|q| q.doctor.as_ref() == Some(d))
            })
            .filter(|d| {
                !self.hospital().rooms.iter().any(|r| {
                    self.directory().room_info(&r.code).is_some_and(|i| {
                        i.doctor_code.as_deref() == Some(d.as_str()) && i.seat != SeatState::Out
                    })
                })
            })
            .collect()
    }

    /// The own queues of doctors who sit nowhere any more: redistributed
    /// to their department's shared queue (a stopped doctor as
    /// `stop_clinic` says, else as `after_session`), else frozen.
    async fn unattended(
        &self,
        left: &BTreeSet<DoctorCode>,
        rows: &[ScheduleRow],
        session: &str,
        on_stop: Option<bool>,
        audit: &Audit,
    ) -> Result<usize, Error> {
        let policy = &self.hospital().schedule;
        let mut moved = 0;
        for d in left {
            let stopped = rows.iter().any(|r| {
                r.session == session && &r.doctor_code == d && r.status == ScheduleStatus::Stopped
            });
            let redistribute = if stopped {
                on_stop.unwrap_or(policy.redistribute_on_stop)
            } else {
                policy.redistribute_after_session
            };
            if !redistribute {
                continue;
            }
            for q in self
                .hospital()
                .queues
                .iter()
                .filter(|q| q.doctor.as_deref() == Some(d.as_str()))
            {
                let reason = if stopped {
                    "医生停诊，转到科室普通队列"
                } else {
                    "医生本时段出诊结束，转到科室普通队列"
                };
                moved += self
                    .move_to_shared(q, None, None, reason.into(), audit.clone())
                    .await?;
            }
        }
        Ok(moved)
    }

    /// The session switch (出诊时段切换): when the session in force now
    /// (by the engine's clock) has not been switched to today, the rooms take its schedule.
    /// Answers what changed; `None` when nothing was due (before the
    /// first session, already switched, the day closed).
    pub async fn schedule_tick(&self) -> Result<Option<SwitchAnswer>, Error> {
        let now = self.now();
        let day = service_date(now);
        // A day end still to run (today's, or one missed while the server
        // was down) goes first: it puts every room back as configured.
        if self.closed_through.get().is_some_and(|c| c >= day) || self.day_end_due(now).is_some() {
            return Ok(None);
        }
        let Some(session) = self.session_at(now).cloned() else {
            return Ok(None);
        };
        let switched = |d: NaiveDate, s: String| async move {
            let d = d.to_string();
            self.db().read(move |c| store::switched(c, &d, &s)).await
        };
        if switched(day, session.code.clone()).await? {
            return Ok(None);
        }
        let audit = Audit {
            operator: "system".into(),
            source: "schedule".into(),
            at: now,
            reason: Some(format!("{}出诊开始", session.name)),
        };
        // The whole switch under `seating`: a schedule change waits for it
        // (and then finds it recorded), so none is lost in between.
        let _one = self.seating.lock().await;
        if switched(day, session.code.clone()).await? {
            return Ok(None);
        }
        let rows = self.day_rows(day).await?;
        if rows.is_empty() {
            // No schedule today: every room keeps the configuration's
            // doctor (or whoever signed in); nothing to switch.
            return Ok(None);
        }
        let (rooms, mut left) = self.seat_plan(&session, false, &rows, &audit).await?;
        left.extend(self.unseated(&rows, &session));
        let redistributed = self
            .unattended(&left, &rows, &session.code, None, &audit)
            .await?;
        let (d, s, r, a) = (
            day.to_string(),
            session.code.clone(),
            rooms.iter().map(ToString::to_string).collect::<Vec<_>>(),
            audit.clone(),
        );
        self.db()
            .write(move |c| store::record_switch(c, &d, &s, &r, &a))
            .await?;
        tracing::info!(
            session = %session.code,
            rooms = rooms.len(),
            left = left.len(),
            redistributed,
            "rooms switched to the session's schedule"
        );
        Ok(Some(SwitchAnswer {
            date: day.to_string(),
            session: session.code,
            rooms: rooms.into_iter().map(String::from).collect(),
            left: left.into_iter().map(String::from).collect(),
            redistributed,
        }))
    }

    /// After a schedule change: the rooms it touched in the session in
    /// force today (once switched to) take their new plan at once.
    async fn reapply(
        &self,
        day: NaiveDate,
        touched: &BTreeSet<(String, String)>,
        on_stop: Option<bool>,
        audit: Audit,
    ) -> Result<(), Error> {
        let now = self.now();
        if service_date(now) != day {
            return Ok(());
        }
        let Some(session) = self.session_at(now).cloned() else {
            return Ok(());
        };
        if !touched.iter().any(|(s, _)| *s == session.code) {
            return Ok(());
        }
        // Under `seating`, so a switch in progress is either done (and
        // recorded) or not begun (and will read this change).
        let one = self.seating.lock().await;
        let (d, s) = (day.to_string(), session.code.clone());
        if !self.db().read(move |c| store::switched(c, &d, &s)).await? {
            // The session's first schedule of the day (no switch recorded:
            // there was nothing to switch to): switch now, as the next tick
            // would, so the door shows it at once.
            drop(one);
            self.schedule_tick().await?;
            return Ok(());
        }
        let _one = one;
        let rows = self.day_rows(day).await?;
        let (_, left) = self.seat_plan(&session, true, &rows, &audit).await?;
        self.unattended(&left, &rows, &session.code, on_stop, &audit)
            .await?;
        Ok(())
    }

    /// The rooms `doctor` may sign in to at `now`: those the schedule of
    /// the session in force (or starting within 30 minutes) gives them, a
    /// room the day's schedule does not name whose configured doctor they
    /// are, and with `sign_in = "department"` any room of their
    /// department.
    pub async fn sign_in_rooms(
        &self,
        doctor: &str,
        department: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomCode>, Error> {
        let day = service_date(now);
        let soon = now + chrono::Duration::minutes(SIGN_IN_EARLY_MINUTES);
        // The session in force and the one starting soon (a doctor running
        // late keeps their morning room while the afternoon nears).
        let mut sessions: Vec<String> = [self.session_at(now), self.session_at(soon)]
            .into_iter()
            .flatten()
            .map(|s| s.code.clone())
            .collect();
        if sessions.is_empty() {
            sessions.extend(
                self.hospital()
                    .schedule
                    .sessions
                    .first()
                    .map(|s| s.code.clone()),
            );
        }
        let rows = self.day_rows(day).await?;
        let mine = |session: &String, r: &RoomDef| {
            let entry = rows
                .iter()
                .find(|e| &e.session == session && e.room_code == r.code);
            let scheduled_elsewhere = rows.iter().any(|e| {
                &e.session == session
                    && e.doctor_code == doctor
                    && e.status != ScheduleStatus::Cancelled
            });
            match entry {
                Some(e) if e.status != ScheduleStatus::Cancelled => {
                    e.status == ScheduleStatus::Active && e.doctor_code == doctor
                }
                _ => r.doctor.as_deref() == Some(doctor) && !scheduled_elsewhere,
            }
        };
        Ok(self
            .hospital()
            .rooms
            .iter()
            .filter(|r| {
                sessions.iter().any(|s| mine(s, r))
                    || (self.hospital().schedule.sign_in_department && r.department == department)
            })
            .map(|r| r.code.clone())
            .collect())
    }
}
