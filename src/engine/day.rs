//! The hospital day (门诊日): which day a visit belongs to, whether that day
//! is over, and the day end (日终) that closes it — every visit of the day
//! still waiting, called, missed or away for an exam closes with its final
//! status (未就诊 / 过号未回 / 检查未回), journaled and audited; screens and
//! rooms are cleared (doctors signed in leave: the rooms go back to their
//! configured doctors); the next day starts from ticket 1. Nothing of an
//! earlier day is ever called by accident: check-ins, recalls and HIS
//! messages for a day that is over get 409 `day_closed`.

use super::facade::Acting;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use triage_actors::model::{Audit, RoomStatus, VisitStatus};
use triage_ground::ids::RoomCode;
use utoipa::ToSchema;

pub use super::closed::ClosedThrough;
use super::facade::Engine;
use crate::db::models::{NewVisit, VisitRow};
use crate::db::store::{self, DayClosure};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::time::{service_date, shanghai, utc};

/// The day a registration belongs to: its appointment's day, else the day
/// it was registered (Asia/Shanghai).
pub fn visit_day(
    registered_at: chrono::NaiveDateTime,
    appointment_start: Option<chrono::NaiveDateTime>,
) -> NaiveDate {
    service_date(utc(appointment_start.unwrap_or(registered_at)))
}

/// The end of `day`: local midnight after it, as an instant.
pub fn day_end_instant(day: NaiveDate) -> DateTime<Utc> {
    let next = day.succ_opt().unwrap_or(day);
    next.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(shanghai()).single())
        .map_or_else(
            || utc(next.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

/// What a day end closed (日终), as staff read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayAnswer {
    /// The service day, `YYYY-MM-DD`.
    pub day: String,
    pub closed_at: DateTime<Utc>,
    pub operator: String,
    /// Waiting or called, never finished (未就诊).
    pub not_seen: i64,
    /// Missed a call and never came back (过号未回).
    pub missed_unreturned: i64,
    /// Sent for an exam and never came back (检查未回).
    pub exam_unreturned: i64,
}

/// What a day end would do now (日终预览), for the administrator's page and
/// `triage day close --preview`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayPreview {
    /// Today's service day.
    pub day: String,
    /// Whether today's day end has run already.
    pub closed: bool,
    /// Patients waiting or called, to close as not seen (未就诊).
    pub not_seen: usize,
    /// Patients set aside after a missed call (过号未回).
    pub missed: usize,
    /// Patients away for an exam (检查未回).
    pub exam: usize,
    /// Rooms paused or stopped today, opened again for the next day.
    pub rooms_to_reopen: Vec<String>,
    /// Notices ending by the next morning (a stop-clinic's), taken down.
    pub notices_to_withdraw: Vec<String>,
}

/// What closing the service day of `now` would do, read from the database
/// alone (memory holds what the database holds): for the administrator's
/// page and for `triage day close --preview`, which opens one plain
/// connection (no engine, no migration) and so changes nothing. Nothing
/// changes here.
pub fn day_preview_of(
    c: &mut crate::db::AnyConnection,
    hospital: &crate::config::Hospital,
    now: DateTime<Utc>,
) -> Result<DayPreview, crate::db::DbError> {
    let today = service_date(now);
    let at = now.naive_utc();
    let (closed_through, statuses, rooms, notices) = (
        store::closed_through(c)?,
        store::open_statuses(c, &today)?,
        store::rooms_not_open(c)?,
        store::active_notices(c, at)?,
    );
    let count = |wanted: &[VisitStatus]| statuses.iter().filter(|s| wanted.contains(s)).count();
    let next_day = day_end_instant(today).naive_utc();
    Ok(DayPreview {
        day: today.to_string(),
        closed: closed_through.is_some_and(|c| today <= c),
        not_seen: count(&[VisitStatus::Waiting, VisitStatus::Called]),
        missed: count(&[VisitStatus::Missed]),
        exam: count(&[VisitStatus::Exam]),
        rooms_to_reopen: rooms
            .iter()
            .filter_map(|code| hospital.room(code).map(|r| r.name.clone()))
            .collect(),
        notices_to_withdraw: notices
            .into_iter()
            .filter(|n| n.expires_at.is_some_and(|e| e <= next_day))
            .map(|n| n.text)
            .collect(),
    })
}

impl From<DayClosure> for DayAnswer {
    fn from(c: DayClosure) -> Self {
        DayAnswer {
            day: c.service_date,
            closed_at: utc(c.closed_at),
            operator: c.operator,
            not_seen: c.not_seen,
            missed_unreturned: c.missed_unreturned,
            exam_unreturned: c.exam_unreturned,
        }
    }
}

/// The day now, as staff and the console read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayStatus {
    /// Today's service day.
    pub today: String,
    /// When a day ends by itself (日终), local `HH:MM`; none when only an
    /// administrator closes it.
    pub day_end: Option<String>,
    /// Whether today's day end has run.
    pub closed: bool,
    /// The last day end, if any.
    pub last: Option<DayAnswer>,
}

fn day_closed_error(day: NaiveDate) -> Error {
    Error::new(
        ErrorCode::DayClosed,
        format!("{day} 已办理日终，不再办理该日的挂号、报到或召回，请患者重新挂号"),
    )
}

impl Engine {
    /// Whether `day` is over at `now`: before today, or today after the
    /// day end ran.
    pub fn day_is_over(&self, day: NaiveDate, now: DateTime<Utc>) -> bool {
        day < service_date(now) || self.closed_through.get().is_some_and(|c| day <= c)
    }

    /// Refuses (409 `day_closed`) a registration of a day that is over.
    pub(crate) fn open_day_of(&self, row: &NewVisit, now: DateTime<Utc>) -> Result<(), Error> {
        let day = visit_day(row.registered_at, row.appointment_start);
        if self.day_is_over(day, now) {
            return Err(day_closed_error(day));
        }
        if !triage_ground::time::within_days_ahead(day, now) {
            let field = if row.appointment_start.is_some() {
                "appointment.start"
            } else {
                "registered_at"
            };
            return Err(Error::field(
                ErrorCode::InvalidDate,
                field,
                format!(
                    "the visit's day is more than {} days ahead (就诊日最多在今天之后 {} 天)",
                    triage_ground::time::DAYS_AHEAD,
                    triage_ground::time::DAYS_AHEAD
                ),
            ));
        }
        Ok(())
    }

    /// Refuses (409 `day_closed`) a check-in of a stored visit whose day is
    /// over, or of a visit the day end closed.
    pub(crate) fn open_day_of_visit(&self, v: &VisitRow, now: DateTime<Utc>) -> Result<(), Error> {
        let day = visit_day(v.registered_at, v.appointment_start);
        if v.status == VisitStatus::Closed || self.day_is_over(day, now) {
            return Err(day_closed_error(day));
        }
        Ok(())
    }

    /// Closes `day` (日终): first every queue and room closes its own
    /// patients of the day (journaled, so memory follows the database),
    /// then the patients away (missed, exam) close in the database and the
    /// day is recorded; screens drop the day's recent calls. Closing a
    /// closed day again closes whatever is still open and answers the first
    /// record. From the start of this, check-ins for the day are refused.
    pub async fn close_day(&self, day: NaiveDate, who: Acting) -> Result<DayAnswer, Error> {
        let audit = self.stamp(who);
        self.closed_through.set(day);
        let until = day_end_instant(day);
        let mut closed = 0usize;
        let queues: Vec<_> = self.directory().queues.iter().map(|q| q.clone()).collect();
        for q in queues {
            closed += q
                .send(triage_actors::queue::CloseDay {
                    day,
                    until,
                    audit: audit.clone(),
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
        }
        let rooms: Vec<_> = self.directory().rooms.iter().map(|r| r.clone()).collect();
        for r in rooms {
            closed += r
                .send(triage_actors::room::CloseDay {
                    day,
                    until,
                    audit: audit.clone(),
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
        }
        // The next day starts with the configured doctors (they sign in),
        // every room open, and no notice of the day left up.
        let reseated = self.reset_seats(audit.clone()).await?;
        let reopened = self.reopen_rooms(&audit).await?;
        let withdrawn = self.withdraw_day_notices(day, &audit).await?;
        let closure = self
            .db()
            .write(move |c| {
                let closure =
                    store::close_day(c, &day, &[VisitStatus::Missed, VisitStatus::Exam], &audit)?;
                // Patient links of the day and before open nothing now.
                if let Some(next) = day.succ_opt() {
                    crate::db::links::prune_before(c, next)?;
                }
                // Patient webhooks sent (or given up) are kept a week.
                crate::db::webhooks::prune(c, audit.at.naive_utc() - chrono::Duration::days(7))?;
                Ok(closure)
            })
            .await?;
        self.closed_through.set_recorded(day);
        self.directory().day_closed(&day.to_string());
        tracing::info!(
            day = %day,
            in_queues_and_rooms = closed,
            rooms_reseated = reseated,
            rooms_reopened = reopened,
            notices_withdrawn = withdrawn,
            not_seen = closure.not_seen,
            missed_unreturned = closure.missed_unreturned,
            exam_unreturned = closure.exam_unreturned,
            "day closed"
        );
        Ok(closure.into())
    }

    /// After a start that found no day end for yesterday (the server was
    /// down at the day end): the rooms start the day as a day end leaves
    /// them, the configured doctors seated and every room open (journaled
    /// and audited as the day end's). A failure is logged; the rooms then
    /// stay as stored, and memory as the database has them.
    pub(crate) async fn start_rooms_clean(&self, now: DateTime<Utc>, rooms: &[RoomCode]) {
        let audit = Audit {
            operator: "system".into(),
            source: "day-end".into(),
            at: now,
            reason: Some("日终（启动时补做）".into()),
        };
        let (mut done, mut failed) = (0, 0);
        for code in rooms {
            // Each room on its own: one that fails does not hold the others.
            let seated = self
                .directory()
                .room_info(code.as_str())
                .is_some_and(|i| i.seat != triage_actors::model::SeatState::Configured);
            let reseated = match (seated, self.hospital().room(code.as_str())) {
                (true, Some(def)) => self
                    .seat(
                        code,
                        def.doctor.clone(),
                        triage_actors::model::SeatState::Configured,
                        def.queues.clone(),
                        def.mix.clone(),
                        audit.clone(),
                    )
                    .await
                    .map(|_| ()),
                _ => Ok(()),
            };
            let open = self
                .directory()
                .room_view(code.as_str(), 0)
                .is_some_and(|v| v.status == RoomStatus::Open);
            let reopened = if open {
                Ok(())
            } else {
                self.room_command_at(code, super::calling::RoomCommand::Resume, audit.clone())
                    .await
                    .map(|_| ())
            };
            match reseated.and(reopened) {
                Ok(()) => done += 1,
                Err(e) => {
                    failed += 1;
                    tracing::error!(room = %code, error = %e, "a room could not start the day clean (tried again at the next start)");
                }
            }
        }
        tracing::info!(
            rooms = done,
            failed,
            "rooms left from an earlier day start the day clean"
        );
    }

    /// What closing today would do now (nothing changes).
    pub async fn day_preview(&self) -> Result<DayPreview, Error> {
        let (hospital, now) = (self.hospital().clone(), self.now());
        Ok(self
            .db()
            .read(move |c| day_preview_of(c, &hospital, now))
            .await?)
    }

    /// Rooms paused or stopped now: code and name.
    fn rooms_not_open(&self) -> Vec<(RoomCode, String)> {
        self.hospital()
            .rooms
            .iter()
            .filter(|r| {
                self.directory()
                    .room_view(&r.code, 0)
                    .is_some_and(|v| v.status != RoomStatus::Open)
            })
            .map(|r| (r.code.clone(), r.name.clone()))
            .collect()
    }

    /// Opens every paused or stopped room again (journaled, as 开诊 is).
    async fn reopen_rooms(&self, audit: &Audit) -> Result<usize, Error> {
        let rooms = self.rooms_not_open();
        for (code, _) in &rooms {
            self.room_command_at(code, super::calling::RoomCommand::Resume, audit.clone())
                .await?;
        }
        Ok(rooms.len())
    }

    /// The active notices that end by the start of the day after `day` (a
    /// stop-clinic's, a nurse's notice for today).
    async fn day_notices(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<super::notices::NoticeAnswer>, Error> {
        let next_day = day_end_instant(day);
        Ok(self
            .notices()
            .await?
            .into_iter()
            .filter(|n| n.expires_at.is_some_and(|e| e <= next_day))
            .collect())
    }

    /// Takes the day's notices down from every screen (audited).
    async fn withdraw_day_notices(&self, day: NaiveDate, audit: &Audit) -> Result<usize, Error> {
        let list = self.day_notices(day).await?;
        for n in &list {
            let a = audit.clone();
            let id = n.id;
            let changed = self
                .db()
                .write(move |c| store::withdraw_notice(c, id, &a))
                .await?;
            if changed {
                self.directory().withdraw_notice(id);
            }
        }
        Ok(list.len())
    }

    /// The day now: today, when it ends, whether it has, the last day end.
    pub async fn day_status(&self) -> Result<DayStatus, Error> {
        let now = self.now();
        let today = service_date(now);
        let last = match self.closed_through.recorded() {
            Some(d) => self
                .db()
                .read(move |c| store::day_closure(c, &d))
                .await?
                .map(DayAnswer::from),
            None => None,
        };
        Ok(DayStatus {
            today: today.to_string(),
            day_end: self
                .hospital()
                .day_end
                .map(|t| t.format("%H:%M").to_string()),
            closed: self.closed_through.get().is_some_and(|c| c >= today),
            last,
        })
    }

    /// The day whose end is due at `now`, if it has not run: today once the
    /// configured time has passed (never when it is off), else yesterday
    /// (the server was down, busy or running across midnight).
    pub fn day_end_due(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let today = service_date(now);
        let local = now.with_timezone(&shanghai()).time();
        let due = match self.hospital().day_end {
            Some(end) if local >= end => today,
            _ => today.pred_opt()?,
        };
        match self.closed_through.recorded() {
            Some(c) if c >= due => None,
            _ => Some(due),
        }
    }
}
