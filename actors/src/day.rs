//! The clinic day a queue runs on: sessions (上午 / 下午 / 晚上) and the grid
//! of time slots (预约时段) inside them, in the hospital's local time.
//!
//! Pure time arithmetic, used by the ordering rules that speak of "the end
//! of the slot" or "the end of the session" and by appointment `slot` mode.
//! Every function takes the instant it reasons about; nothing reads a clock.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, Utc};
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

impl DayPlan {
    fn offset(&self) -> FixedOffset {
        // Validated to lie within ±14 h where it is configured.
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or(Utc.fix())
    }

    /// The local date of an instant.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.offset()).date_naive()
    }

    /// Local wall-clock "HH:MM" of an instant (for staff-facing reasons).
    pub fn local_hm(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.offset()).format("%H:%M").to_string()
    }

    fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        DateTime::from_naive_utc_and_offset(
            local - Duration::minutes(i64::from(self.utc_offset_minutes)),
            Utc,
        )
    }

    /// The session holding `t`; between sessions (or before the first) the
    /// next one; after the last, the rest of the day. Without sessions,
    /// the whole day.
    pub fn session_of(&self, t: DateTime<Utc>) -> Span {
        let date = self.local_date(t);
        for s in &self.sessions {
            let end = self.at(date, s.end);
            if t < end {
                return Span {
                    start: self.at(date, s.start),
                    end,
                };
            }
        }
        let start = self
            .sessions
            .last()
            .map_or_else(|| self.at(date, NaiveTime::MIN), |s| self.at(date, s.end));
        let next_day = date.succ_opt().unwrap_or(date);
        Span {
            start,
            end: self.at(next_day, NaiveTime::MIN),
        }
    }

    /// The time slot holding `t` on the grid of `slot_minutes` counted from
    /// its session's start (a slot never runs past the session's end);
    /// before a session starts, that session's first slot.
    pub fn slot_of(&self, t: DateTime<Utc>) -> Span {
        let session = self.session_of(t);
        let len = Duration::minutes(i64::from(self.slot_minutes.max(1)));
        let start = if t <= session.start {
            session.start
        } else {
            let k = (t - session.start).num_microseconds().unwrap_or(0)
                / len.num_microseconds().unwrap_or(1);
            session.start + len * (k as i32)
        };
        Span {
            start,
            end: (start + len).min(session.end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25 at local (UTC+8) hh:mm, as UTC.
    fn local(h: u32, m: u32) -> DateTime<Utc> {
        DayPlan::default().at(
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap_or_default(),
            hm(h, m),
        )
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
        assert_eq!(d.local_hm(local(9, 5)), "09:05");
    }
}
