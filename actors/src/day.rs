//! The clinic day a queue runs on: sessions (上午 / 下午 / 晚上) and the grid
//! of time slots (预约时段) inside them, in the hospital's local time.
//!
//! Pure time arithmetic, used by the ordering rules that speak of "the end
//! of the slot" or "the end of the session" and by appointment `slot` mode.
//! Every function takes the instant it reasons about; nothing reads a clock.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Offset, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// One clinic session (门诊时段), local time, `start < end`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// What staff call it (上午, 下午, 晚上).
    pub name: String,
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Sessions and slot length of a queue's day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPlan {
    /// Offset of the hospital's local time from UTC, in minutes
    /// (Asia/Shanghai: +480, no daylight saving).
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    /// Sessions in the day, sorted, not overlapping.
    #[serde(default = "default_sessions")]
    pub sessions: Vec<Session>,
    /// Length of one time slot (号源时段), counted from each session's start.
    #[serde(default = "default_slot_minutes")]
    pub slot_minutes: u32,
}

fn default_offset() -> i32 {
    480
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

fn default_sessions() -> Vec<Session> {
    vec![
        Session {
            name: "上午".into(),
            start: hm(8, 0),
            end: hm(12, 0),
        },
        Session {
            name: "下午".into(),
            start: hm(13, 30),
            end: hm(17, 30),
        },
        Session {
            name: "晚上".into(),
            start: hm(18, 0),
            end: hm(21, 0),
        },
    ]
}

fn default_slot_minutes() -> u32 {
    30
}

impl Default for DayPlan {
    fn default() -> Self {
        DayPlan {
            utc_offset_minutes: default_offset(),
            sessions: default_sessions(),
            slot_minutes: default_slot_minutes(),
        }
    }
}

/// A span of time `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

const MINUTE_US: i64 = 60_000_000;
const DAY_US: i64 = 24 * 60 * MINUTE_US;

fn instant(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl DayPlan {
    fn offset(&self) -> FixedOffset {
        // Validated to lie within ±14 h where it is configured.
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or(Utc.fix())
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.offset()).date_naive()
    }

    /// Local wall-clock time of an instant (to the second).
    pub fn local_time(&self, t: DateTime<Utc>) -> NaiveTime {
        let local = t.timestamp_micros() + i64::from(self.utc_offset_minutes) * MINUTE_US;
        let secs = local.rem_euclid(DAY_US) / 1_000_000;
        NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, 0).unwrap_or(NaiveTime::MIN)
    }

    /// The session holding `t`; between sessions (or before the first) the
    /// next one; after the last, the rest of the day. Without sessions,
    /// the whole day.
    pub fn session_of(&self, t: DateTime<Utc>) -> Span {
        Grid::new(self).session_of(t)
    }

    /// The time slot holding `t` on the grid of `slot_minutes` counted from
    /// its session's start (a slot never runs past the session's end);
    /// before a session starts, that session's first slot.
    pub fn slot_of(&self, t: DateTime<Utc>) -> Span {
        Grid::new(self).slot_of(t)
    }
}

/// A [`DayPlan`] resolved into instants one local day at a time, so that
/// ranking thousands of patients asks no calendar questions: each lookup is
/// integer arithmetic on the day it last resolved.
pub struct Grid<'a> {
    plan: &'a DayPlan,
    /// Local day number (days since 1970-01-01 local) now resolved.
    day: i64,
    /// Sessions of that day, as UTC microseconds `[start, end)`.
    sessions: Vec<(i64, i64)>,
}

impl<'a> Grid<'a> {
    pub fn new(plan: &'a DayPlan) -> Self {
        Grid {
            plan,
            day: i64::MIN,
            sessions: Vec::with_capacity(plan.sessions.len()),
        }
    }

    fn offset_us(&self) -> i64 {
        i64::from(self.plan.utc_offset_minutes) * MINUTE_US
    }

    /// Resolves the local day of `t` (µs) if it is not the one held.
    fn day_of(&mut self, t: i64) -> i64 {
        let day = (t + self.offset_us()).div_euclid(DAY_US);
        if day != self.day {
            let midnight = day * DAY_US - self.offset_us();
            self.sessions.clear();
            for s in &self.plan.sessions {
                let at = |time: NaiveTime| {
                    midnight + i64::from(time.num_seconds_from_midnight()) * 1_000_000
                };
                self.sessions.push((at(s.start), at(s.end)));
            }
            self.day = day;
        }
        day
    }

    fn session_us(&mut self, t: i64) -> (i64, i64) {
        let day = self.day_of(t);
        if let Some(span) = self.sessions.iter().find(|(_, end)| t < *end) {
            return *span;
        }
        let midnight = day * DAY_US - self.offset_us();
        let start = self.sessions.last().map_or(midnight, |(_, end)| *end);
        (start, midnight + DAY_US)
    }

    /// See [`DayPlan::session_of`].
    pub fn session_of(&mut self, t: DateTime<Utc>) -> Span {
        let (start, end) = self.session_us(t.timestamp_micros());
        Span {
            start: instant(start),
            end: instant(end),
        }
    }

    /// The slot holding `t`, in UTC microseconds `[start, end)`.
    pub fn slot_us(&mut self, t: i64) -> (i64, i64) {
        let (session_start, session_end) = self.session_us(t);
        let len = i64::from(self.plan.slot_minutes.max(1)) * MINUTE_US;
        let start = if t <= session_start {
            session_start
        } else {
            session_start + (t - session_start) / len * len
        };
        (start, (start + len).min(session_end))
    }

    /// See [`DayPlan::slot_of`].
    pub fn slot_of(&mut self, t: DateTime<Utc>) -> Span {
        let (start, end) = self.slot_us(t.timestamp_micros());
        Span {
            start: instant(start),
            end: instant(end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{Duration, TimeZone};

    /// 2026-11-25 at local (UTC+8) hh:mm, as UTC.
    fn local(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(i64::from(h * 60 + m) - 8 * 60)
    }

    #[test]
    fn sessions_are_found_in_local_time_with_the_next_one_between_sessions() {
        let d = DayPlan::default();
        let cases = [
            ((9, 15), (8, 0), (12, 0)),
            ((7, 0), (8, 0), (12, 0)),
            ((12, 30), (13, 30), (17, 30)),
            ((17, 29), (13, 30), (17, 30)),
            ((18, 0), (18, 0), (21, 0)),
        ];
        for ((h, m), (sh, sm), (eh, em)) in cases {
            let s = d.session_of(local(h, m));
            assert_eq!((s.start, s.end), (local(sh, sm), local(eh, em)), "{h}:{m}");
        }
        // After the last session: the rest of the day.
        let late = d.session_of(local(22, 0));
        assert_eq!(late.start, local(21, 0));
        assert_eq!(late.end, local(0, 0) + Duration::days(1));
    }

    #[test]
    fn slots_run_on_a_grid_from_the_session_start_and_stop_at_its_end() {
        let d = DayPlan {
            slot_minutes: 45,
            ..DayPlan::default()
        };
        let s = d.slot_of(local(8, 50));
        assert_eq!((s.start, s.end), (local(8, 45), local(9, 30)));
        let s = d.slot_of(local(11, 50));
        assert_eq!(
            (s.start, s.end),
            (local(11, 45), local(12, 0)),
            "cut at the end"
        );
        let s = d.slot_of(local(12, 10));
        assert_eq!(
            (s.start, s.end),
            (local(13, 30), local(14, 15)),
            "the next session's first slot"
        );
        assert_eq!(d.local_time(local(9, 5)), hm(9, 5));
    }
}
