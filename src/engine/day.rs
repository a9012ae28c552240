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
use triage_actors::model::VisitStatus;
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
        format!("the day {day} is over (日终已结束); the patient registers again (请重新挂号)"),
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
        // The next day starts with the configured doctors (they sign in).
        let reseated = self.reset_seats(audit.clone()).await?;
        let closure = self
            .db()
            .write(move |c| {
                store::close_day(c, &day, &[VisitStatus::Missed, VisitStatus::Exam], &audit)
            })
            .await?;
        self.closed_through.set_recorded(day);
        self.directory().day_closed(&day.to_string());
        tracing::info!(
            day = %day,
            in_queues_and_rooms = closed,
            rooms_reseated = reseated,
            not_seen = closure.not_seen,
            missed_unreturned = closure.missed_unreturned,
            exam_unreturned = closure.exam_unreturned,
            "day closed"
        );
        Ok(closure.into())
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
