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
//!   [`ENOUGH`], else all of the doctor's, else the hospital's, else the
//!   configured average (`avg_service_minutes`, as an exponential spread);
//!   return visits from their own gaps when there are enough;
//! - who may go ahead of those waiting (priority groups, return visits,
//!   recalls, late appointments), arriving at the rate of the last hour.
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

use crate::db::waits::CallRecord;

/// A paused room is assumed to call again after this long.
pub const PAUSE_MINUTES: i64 = 10;
/// How far back a doctor's pace is learned.
pub const HISTORY_DAYS: i64 = 28;
/// Samples a narrower group needs before it is used.
pub const ENOUGH: usize = 20;
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
}

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
}

impl Pace {
    /// Learns from calls in room and time order.
    pub fn learn(calls: &[CallRecord]) -> Pace {
        let mut pace = Pace::default();
        for pair in calls.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
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
        pace
    }

    /// The gaps to draw from for `doctor` at local `hour`, and those of
    /// return visits (empty: the same).
    pub fn of(&self, doctor: Option<&str>, hour: u32, average: u32) -> (Vec<f64>, Vec<f64>) {
        let enough = |v: Option<&Vec<f64>>| v.filter(|v| v.len() >= ENOUGH).cloned();
        let first = doctor
            .and_then(|d| {
                enough(self.by_hour.get(&(d.to_string(), hour)))
                    .or_else(|| enough(self.by_doctor.get(d)))
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
fn doctor_of(performer: &str) -> &str {
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
