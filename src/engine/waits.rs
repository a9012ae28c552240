//! Wait ranges (issue 28): each queue's forecast, made by running its own
//! rules forward ([`triage_actors::queue::forecast`]) off the calling path
//! and kept here for the patient pages.
//!
//! What a forecast knows, and nothing else:
//! - the queue as its actor holds it (a copy: `InspectQueue`);
//! - its rooms as staff see them: a stopped, closed or unseated room calls
//!   nobody, a paused one is assumed back in [`PAUSE_MINUTES`], a room
//!   busy with a patient first finishes them; each calls until the end of
//!   the session in force (a room drawing from other queues too spends its
//!   share of calls on them);
//! - its doctor's pace from the record: the gaps between one call and the
//!   next by the same doctor in the same room over the last
//!   [`HISTORY_DAYS`] days, those of this hour of the day when there are
//!   [`ENOUGH`], else all of the doctor's (at least [`ENOUGH_OWN`]), else the hospital's, else the
//!   configured average (`avg_service_minutes`, as an exponential spread);
//!   return visits from their own gaps when there are enough;
//! - who may go ahead of those waiting (priority groups, return visits,
//!   recalls, late appointments), arriving at the rate of the next half
//!   hour of the clock on past days and the last half hour today;
//! - the rooms' pauses, one recorded day of each room per run.
//!
//! A queue is forecast again when it or one of its rooms changed, and at
//! least every [`STALE_SECONDS`]; the ranges count down in between. The
//! engine's methods that make and read forecasts are in `forecasts.rs`;
//! this file holds what they keep.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Timelike, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use triage_actors::queue::forecast::WaitRange;
use triage_ground::ids::{QueueCode, VisitNo};
use triage_ground::time::shanghai;
use utoipa::ToSchema;

use crate::db::waits::{CallRecord, PauseRecord};

/// A paused room is assumed to call again after this long.
pub const PAUSE_MINUTES: i64 = 10;
/// How far back a doctor's pace is learned.
pub const HISTORY_DAYS: i64 = 28;
/// Samples a narrower group needs before it is used.
pub const ENOUGH: usize = 20;
/// Gaps of a doctor's own that are preferred to the whole hospital's.
pub const ENOUGH_OWN: usize = 8;
/// The stretch of the clock whose arrivals (on past days, and just before
/// now today) set the rate of those who may go ahead, minutes.
pub const ARRIVAL_WINDOW_MINUTES: i64 = 30;
/// A forecast older than this is made again even if nothing changed.
pub const STALE_SECONDS: i64 = 30;
/// Monte Carlo runs per forecast.
pub const RUNS: usize = 100;
/// The record is read again after this long.
pub const HISTORY_REFRESH_MINUTES: i64 = 10;
/// A gap between two calls longer than this is a break, not a patient.
pub const LONGEST_GAP_MINUTES: f64 = 60.0;

/// A patient's wait as the page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WaitView {
    /// Half the simulated days call sooner (minutes from now); absent
    /// when in half of them the session ends first.
    pub p50_minutes: Option<u32>,
    /// Nine in ten call sooner; absent when the session may end first.
    pub p90_minutes: Option<u32>,
    /// More than one simulated day in ten ended the session before the
    /// patient's turn: the page says so instead of a number.
    pub beyond_session: bool,
}

/// One queue's forecast.
#[derive(Debug)]
pub struct QueueWaits {
    /// The queue's change count it was made at.
    pub changes: u64,
    pub at: DateTime<Utc>,
    pub ranges: HashMap<VisitNo, WaitRange>,
}

/// Every queue's latest forecast, and the record it learns from.
#[derive(Default)]
pub struct Waits {
    pub(crate) queues: DashMap<QueueCode, Arc<QueueWaits>>,
    /// Grows with every forecast stored (pages look for news).
    pub(crate) version: AtomicU64,
    pub(crate) history: Mutex<Option<(DateTime<Utc>, Arc<Pace>)>>,
    /// Each queue's check-ins that went ahead of others on past days (the
    /// forecast's arrivals), read again with the pace.
    pub(crate) past_arrivals: DashMap<QueueCode, (DateTime<Utc>, Arc<Vec<AheadSeen>>)>,
}

/// A patient who went ahead of others: when, and what they were like.
pub type AheadSeen = (DateTime<Utc>, triage_actors::queue::EntryDraft);

impl Waits {
    /// The count of forecasts stored so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }
}

/// The doctors' pace: gaps between calls (minutes), by doctor and hour,
/// by doctor, by doctor for return visits, and the hospital's.
#[derive(Debug, Default)]
pub struct Pace {
    by_hour: HashMap<(String, u32), Vec<f64>>,
    by_doctor: HashMap<String, Vec<f64>>,
    returns: HashMap<String, Vec<f64>>,
    all: Vec<f64>,
    /// The service days the record holds calls on.
    days: std::collections::BTreeSet<chrono::NaiveDate>,
    /// Each room's pauses by service day: local seconds of the day when
    /// each began, and its minutes.
    pauses: HashMap<String, std::collections::BTreeMap<chrono::NaiveDate, Vec<(u32, f64)>>>,
    /// The service days each room called on.
    room_days: HashMap<String, std::collections::BTreeSet<chrono::NaiveDate>>,
}

impl Pace {
    /// Learns from calls in room and time order.
    pub fn learn(calls: &[CallRecord]) -> Pace {
        Pace::learn_around(calls, &[])
    }

    /// Learns from calls in room and time order, and the rooms' pauses: a
    /// gap a pause began in is not a patient's time (the pause is drawn
    /// apart, [`Pace::pauses_of`]).
    pub fn learn_around(calls: &[CallRecord], pauses: &[PauseRecord]) -> Pace {
        let mut began: HashMap<&str, Vec<chrono::NaiveDateTime>> = HashMap::new();
        for p in pauses {
            began.entry(p.room_code.as_str()).or_default().push(p.from);
        }
        let paused_between = |room: &str, a: chrono::NaiveDateTime, b: chrono::NaiveDateTime| {
            began
                .get(room)
                .is_some_and(|v| v.iter().any(|t| a <= *t && *t < b))
        };
        let mut pace = Pace::default();
        for pair in calls.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if paused_between(&a.room_code, a.called_at, b.called_at) {
                continue;
            }
            let (Some(doctor), Some(next)) = (
                a.performer.as_deref().map(doctor_of),
                b.performer.as_deref().map(doctor_of),
            ) else {
                continue;
            };
            let doctor = doctor.to_string();
            if a.room_code != b.room_code || doctor != next {
                continue;
            }
            let gap = (b.called_at - a.called_at).num_seconds() as f64 / 60.0;
            if !(0.0..=LONGEST_GAP_MINUTES).contains(&gap) {
                continue;
            }
            let hour = (a.called_at.and_utc().with_timezone(&shanghai())).hour();
            pace.by_hour
                .entry((doctor.clone(), hour))
                .or_default()
                .push(gap);
            pace.by_doctor.entry(doctor.clone()).or_default().push(gap);
            if a.visit_type == "return" {
                pace.returns.entry(doctor.clone()).or_default().push(gap);
            }
            pace.all.push(gap);
        }
        let mut pace = pace.with_pauses(pauses, calls);
        pace.days = calls
            .iter()
            .map(|c| triage_ground::time::service_date(c.called_at.and_utc()))
            .collect();
        pace
    }

    /// Adds the rooms' pauses (暂停) by day, and the days each room called
    /// on (a day without a pause counts as such).
    fn with_pauses(mut self, pauses: &[PauseRecord], calls: &[CallRecord]) -> Pace {
        for c in calls {
            self.room_days
                .entry(c.room_code.clone())
                .or_default()
                .insert(triage_ground::time::service_date(c.called_at.and_utc()));
        }
        for p in pauses {
            if !(0.0..=LONGEST_GAP_MINUTES * 4.0).contains(&p.minutes) {
                continue;
            }
            let local = p.from.and_utc().with_timezone(&shanghai());
            self.pauses
                .entry(p.room_code.clone())
                .or_default()
                .entry(local.date_naive())
                .or_default()
                .push((local.num_seconds_from_midnight(), p.minutes));
        }
        self
    }

    /// `room`'s pauses on each day it called before today, set on today's
    /// clock (the day `now` is in): what a run draws one day of.
    pub fn pauses_of(&self, room: &str, now: DateTime<Utc>) -> Vec<Vec<(DateTime<Utc>, f64)>> {
        let today = now.with_timezone(&shanghai()).date_naive();
        let Some(days) = self.room_days.get(room) else {
            return Vec::new();
        };
        let mine = self.pauses.get(room);
        days.range(..today)
            .map(|d| {
                mine.and_then(|m| m.get(d))
                    .map(|list| {
                        list.iter()
                            .filter_map(|(secs, minutes)| {
                                let t = chrono::NaiveTime::from_num_seconds_from_midnight_opt(
                                    *secs, 0,
                                )?;
                                let at =
                                    today.and_time(t).and_local_timezone(shanghai()).single()?;
                                Some((at.with_timezone(&Utc), *minutes))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Service days with calls before `day`.
    pub fn days_before(&self, day: chrono::NaiveDate) -> usize {
        self.days.range(..day).count()
    }

    /// The gaps to draw from for `doctor` at local `hour`, and those of
    /// return visits (empty: the same).
    pub fn of(&self, doctor: Option<&str>, hour: u32, average: u32) -> (Vec<f64>, Vec<f64>) {
        let enough = |v: Option<&Vec<f64>>| v.filter(|v| v.len() >= ENOUGH).cloned();
        // A doctor's own few gaps say more of their pace than everyone's.
        let own = |v: Option<&Vec<f64>>| v.filter(|v| v.len() >= ENOUGH_OWN).cloned();
        let first = doctor
            .and_then(|d| {
                enough(self.by_hour.get(&(d.to_string(), hour)))
                    .or_else(|| own(self.by_doctor.get(d)))
            })
            .or_else(|| enough(Some(&self.all)))
            .unwrap_or_else(|| spread(average));
        let returns = doctor
            .and_then(|d| enough(self.returns.get(d)))
            .unwrap_or_default();
        (first, returns)
    }
}

/// The doctor a call's performer names: a HIS call records
/// `"D1001 via his:HIS"`, a doctor's own `"D1001"`.
pub fn doctor_of(performer: &str) -> &str {
    performer.split(" via ").next().unwrap_or(performer).trim()
}

/// The configured average as an exponential spread (its twenty
/// quantiles' midpoints), for a hospital with no record yet.
fn spread(average: u32) -> Vec<f64> {
    let mean = f64::from(average.max(1));
    (0..20)
        .map(|k| -mean * (1.0 - (f64::from(k) + 0.5) / 20.0).ln())
        .collect()
}

/// How a room drawing from `draws_from` (with `mix` weights, empty: in
/// order) calls `queue`: the share of its calls that go to it, and how many
/// patients of queues it calls first go before (none: it does not call the
/// queue). `waiting` counts a queue's patients.
///
/// With weights the share is the queue's weight against the other queues
/// with patients (a weight of 0 calls only when the others are empty);
/// without, the room calls in order, the first queue with someone first.
pub fn share_in(
    draws_from: &[QueueCode],
    mix: &[u32],
    queue: &str,
    waiting: impl Fn(&QueueCode) -> usize,
) -> Option<(f64, usize)> {
    let at = draws_from.iter().position(|q| q.as_str() == queue)?;
    let others: Vec<(usize, usize)> = draws_from
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(i, q)| (i, waiting(q)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if mix.is_empty() {
        let before: usize = others.iter().filter(|(i, _)| *i < at).map(|(_, n)| n).sum();
        return Some((1.0, before));
    }
    let weight = |i: usize| f64::from(mix.get(i).copied().unwrap_or(1));
    let mine = weight(at);
    if mine == 0.0 {
        return Some((1.0, others.iter().map(|(_, n)| n).sum()));
    }
    let all = mine + others.iter().map(|(i, _)| weight(*i)).sum::<f64>();
    Some((mine / all, 0))
}

/// The calls of the session in force at `now` (or the next one, between
/// sessions) of `sessions`: from when to when rooms call; `(now, now)`
/// after the last.
pub fn session_window(
    sessions: &[crate::config::hospital::SessionDef],
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&shanghai());
    let day = local.date_naive();
    let at = |t: chrono::NaiveTime| {
        day.and_time(t)
            .and_local_timezone(shanghai())
            .single()
            .map_or(now, |d| d.with_timezone(&Utc))
    };
    let time = local.time();
    match sessions
        .iter()
        .find(|s| s.start <= time && time < s.end)
        .or_else(|| sessions.iter().find(|s| s.start > time))
    {
        Some(s) => (at(s.start).max(now), at(s.end)),
        None => (now, now),
    }
}

/// Patients who may go ahead of those waiting, as arrivals from `now`:
/// those who came in the next half hour of the clock on past days (`days`
/// of them) and in the last half hour today, each at one in `30 × (days + 1)`
/// minutes, so their sum is the average of those hours.
pub fn arrivals_at(
    seen: &[(DateTime<Utc>, triage_actors::queue::EntryDraft)],
    days: usize,
    now: DateTime<Utc>,
) -> Vec<triage_actors::queue::forecast::Arrival> {
    let local = |t: DateTime<Utc>| t.with_timezone(&shanghai());
    let today = local(now).date_naive();
    let minute_of = |t: DateTime<Utc>| {
        let l = local(t);
        i64::from(l.hour()) * 60 + i64::from(l.minute())
    };
    let from = minute_of(now);
    let window = ARRIVAL_WINDOW_MINUTES;
    let per_minute = 1.0 / (window as f64 * (days as f64 + 1.0));
    seen.iter()
        .filter(|(t, _)| {
            let day = local(*t).date_naive();
            if day == today {
                *t < now && now - *t <= chrono::Duration::minutes(window)
            } else {
                let m = minute_of(*t);
                day < today && m >= from && m < from + window
            }
        })
        .map(|(_, like)| triage_actors::queue::forecast::Arrival {
            like: like.clone(),
            per_minute,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn call(room: &str, doctor: &str, hhmm: (u32, u32), visit_type: &str) -> CallRecord {
        // Local time → the UTC the record holds.
        let at = NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(hhmm.0, hhmm.1, 0))
            .unwrap_or_default()
            - chrono::Duration::hours(8);
        CallRecord {
            room_code: room.into(),
            performer: Some(doctor.into()),
            called_at: at,
            visit_type: visit_type.into(),
        }
    }

    #[test]
    fn a_doctors_pace_is_the_gaps_between_their_calls_in_one_room() {
        let mut calls = vec![
            call("R1", "D1", (9, 0), "first"),
            call("R1", "D1 via his:HIS", (9, 7), "return"),
            call("R1", "D1", (9, 10), "first"),
            // A break of more than an hour, another doctor, another room:
            // no gap.
            call("R1", "D1", (11, 0), "first"),
            call("R1", "D2", (11, 5), "first"),
            call("R2", "D2", (11, 6), "first"),
        ];
        calls.sort_by(|a, b| (&a.room_code, a.called_at).cmp(&(&b.room_code, b.called_at)));
        let pace = Pace::learn(&calls);
        assert_eq!(pace.by_doctor.get("D1"), Some(&vec![7.0, 3.0]));
        assert_eq!(pace.returns.get("D1"), Some(&vec![3.0]));
        assert_eq!(
            pace.by_hour.get(&("D1".to_string(), 9)),
            Some(&vec![7.0, 3.0])
        );
        assert_eq!(pace.all.len(), 2);
        // Too few to stand alone: the configured average's spread.
        let (first, returns) = pace.of(Some("D1"), 9, 6);
        assert_eq!(first.len(), 20);
        let mean = first.iter().sum::<f64>() / 20.0;
        assert!((mean - 6.0).abs() < 0.6, "{mean}");
        assert!(returns.is_empty());
    }

    #[test]
    fn with_enough_record_the_doctors_own_hour_is_used() {
        let calls: Vec<CallRecord> = (0..30)
            .map(|i| call("R1", "D1", (9, i * 2), "first"))
            .collect();
        let pace = Pace::learn(&calls);
        let (first, _) = pace.of(Some("D1"), 9, 6);
        assert_eq!(first.len(), 29);
        assert!(first.iter().all(|g| (*g - 2.0).abs() < 1e-9));
        // Another hour of the same doctor: all of theirs.
        assert_eq!(pace.of(Some("D1"), 14, 6).0.len(), 29);
        // Another doctor: the hospital's.
        assert_eq!(pace.of(Some("D9"), 9, 6).0.len(), 29);
    }
}
