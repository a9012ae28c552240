//! Wait ranges by running the queue's own rules forward (issue 28): a
//! Monte Carlo simulation of the rest of the session on a copy of the
//! [`QueueState`], each room calling with the real ranking
//! ([`QueueState::plan_take_next`]) whenever it is free, each patient seen
//! for a time drawn from the room's doctor's recorded service times, rooms
//! pausing as on one of their recorded days, and patients who go ahead (priority groups, return visits, recalls) arriving
//! at the rate observed. Every waiting patient gets the 50th and 90th
//! percentile of the minutes until a room calls them; one not called
//! before the rooms' session ends in more than a tenth of the runs is
//! "beyond the session" instead of a number.
//!
//! Pure: no actor, clock or I/O; the server hands it what it knows and
//! runs it off the calling path.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use triage_ground::ids::{RoomCode, VisitNo};

use super::state::{EntryDraft, QueueState};
use crate::model::{Audit, EntryKind};

/// A room drawing from the queue, as the simulation needs it.
#[derive(Clone, Debug)]
pub struct ForecastRoom {
    pub code: RoomCode,
    /// The room calls in `[from, until)`: its session (a closed, stopped or
    /// unseated room is left out; a paused one starts when it resumes,
    /// unknown: its `from` is the caller's guess).
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The patient in the room now: when they were called.
    pub busy_since: Option<DateTime<Utc>>,
    /// The share of its calls that go to this queue (mix weights against
    /// the other queues it draws from that have patients), 0–1.
    pub share: f64,
    /// Service times of its doctor, minutes (drawn from with replacement).
    pub service: Vec<f64>,
    /// Those of return visits (复诊), when known apart; empty: `service`.
    pub service_return: Vec<f64>,
    /// The room's pauses (暂停, a break) on each day its record holds,
    /// set on today's clock: when each starts and how many minutes it
    /// lasts (a day without pauses is an empty list). Each run lives one
    /// of these days, drawn at random; none: the room does not pause.
    pub pause_days: Vec<Vec<(DateTime<Utc>, f64)>>,
}

/// Patients who may go ahead of those waiting, arriving at a rate.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// What such a patient looks like (kind, tags, birth date).
    pub like: EntryDraft,
    pub per_minute: f64,
}

/// What a forecast starts from.
#[derive(Clone, Debug)]
pub struct ForecastInput {
    pub state: QueueState,
    pub rooms: Vec<ForecastRoom>,
    pub arrivals: Vec<Arrival>,
    pub now: DateTime<Utc>,
    pub day: NaiveDate,
    pub runs: usize,
    pub seed: u64,
    /// Threads to share the runs between (1: this one).
    pub threads: usize,
}

/// One patient's wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRange {
    /// Minutes from the forecast's `now` until the call: half the runs
    /// call sooner (P50), nine in ten sooner (P90).
    pub p50_minutes: u32,
    pub p90_minutes: u32,
    /// More than one run in ten ends the session without calling them: no
    /// number is given for P90.
    pub beyond_session: bool,
}

/// Runs the simulation: a range for every patient waiting now whom some
/// room may call (held patients get none).
pub fn forecast(input: &ForecastInput) -> HashMap<VisitNo, WaitRange> {
    let waiting: Vec<VisitNo> = input
        .state
        .entries()
        .iter()
        .filter(|e| !e.held)
        .map(|e| e.visit_no.clone())
        .collect();
    let index: HashMap<&VisitNo, usize> = waiting.iter().enumerate().map(|(i, v)| (v, i)).collect();
    let runs = input.runs.max(1);
    // waits[i]: the minutes of each run that called patient i. The runs
    // are shared between threads (each run has its own seed, so the
    // result does not depend on how they are shared).
    let threads = input.threads.clamp(1, runs);
    let share = |t: usize| {
        let mut waits: Vec<Vec<f64>> = vec![Vec::new(); waiting.len()];
        for run in (t..runs).step_by(threads) {
            let mut rng = SmallRng::seed_from_u64(input.seed.wrapping_add(run as u64));
            for (visit, at) in one_run(input, &index, &mut rng) {
                if let Some(&i) = index.get(&visit) {
                    waits[i].push((at - input.now).num_seconds() as f64 / 60.0);
                }
            }
        }
        waits
    };
    let parts: Vec<Vec<Vec<f64>>> = if threads == 1 {
        vec![share(0)]
    } else {
        std::thread::scope(|scope| {
            let share = &share;
            let handles: Vec<_> = (0..threads)
                .map(|t| scope.spawn(move || share(t)))
                .collect();
            // A run that panicked would bias the ranges: none are kept then.
            handles
                .into_iter()
                .map(|h| h.join().ok())
                .collect::<Option<Vec<_>>>()
                .unwrap_or_default()
        })
    };
    let mut waits: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); waiting.len()];
    for part in parts {
        for (i, w) in part.into_iter().enumerate() {
            if let Some(all) = waits.get_mut(i) {
                all.extend(w);
            }
        }
    }
    waiting
        .into_iter()
        .zip(waits)
        .map(|(v, mut w)| {
            w.sort_by(f64::total_cmp);
            let at = |q: f64| -> Option<f64> {
                // The q-quantile over all runs; runs that never called count
                // as beyond every value.
                let k = ((q * runs as f64).ceil() as usize).max(1);
                w.get(k - 1).copied()
            };
            let p50 = at(0.5);
            let p90 = at(0.9);
            let range = WaitRange {
                p50_minutes: p50.map_or(u32::MAX, |m| m.round().max(0.0) as u32),
                p90_minutes: p90.map_or(u32::MAX, |m| m.ceil().max(0.0) as u32),
                beyond_session: p90.is_none(),
            };
            (v, range)
        })
        .collect()
}

/// A room during one run.
struct Busy {
    free_at: DateTime<Utc>,
}

/// One run's pauses (per room, one recorded day) and service records.
type RunRooms<'a> = (Vec<&'a [(DateTime<Utc>, f64)]>, Vec<(Vec<f64>, Vec<f64>)>);

/// One run's rooms: the day of pauses each lives (drawn from its recorded
/// days), and its doctor's record drawn again with replacement, so a run
/// may live a slower or a quicker doctor than the record's average, as a
/// short record allows.
fn this_runs_rooms<'a>(input: &'a ForecastInput, rng: &mut SmallRng) -> RunRooms<'a> {
    let pauses = input
        .rooms
        .iter()
        .map(|r| match r.pause_days.len() {
            0 => &[][..],
            n => r.pause_days[rng.random_range(0..n)].as_slice(),
        })
        .collect();
    let resampled = |v: &[f64], rng: &mut SmallRng| -> Vec<f64> {
        (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .collect()
    };
    let record = input
        .rooms
        .iter()
        .map(|r| {
            (
                resampled(&r.service, rng),
                resampled(&r.service_return, rng),
            )
        })
        .collect();
    (pauses, record)
}

/// One run: who is called when.
fn one_run(
    input: &ForecastInput,
    index: &HashMap<&VisitNo, usize>,
    rng: &mut SmallRng,
) -> Vec<(VisitNo, DateTime<Utc>)> {
    let mut state = input.state.clone();
    let horizon = input
        .rooms
        .iter()
        .map(|r| r.until)
        .max()
        .unwrap_or(input.now);
    let mut arrivals = arrival_times(input, horizon, rng);
    let (pauses, record) = this_runs_rooms(input, rng);
    let mut rooms: Vec<Busy> = input
        .rooms
        .iter()
        .enumerate()
        .map(|(i, r)| Busy {
            free_at: after_pauses(pauses[i], first_free(r, input.now, rng)),
        })
        .collect();
    let mut called = Vec::with_capacity(index.len());
    let mut audit = Audit {
        operator: "forecast".into(),
        source: "forecast".into(),
        at: input.now,
        reason: None,
    };
    let mut made = 0u32;
    while called.len() < index.len() {
        // The room free first, among those still in their session.
        let Some((i, t)) = rooms
            .iter()
            .enumerate()
            .filter(|(i, b)| b.free_at < input.rooms[*i].until)
            .map(|(i, b)| (i, b.free_at))
            .min_by_key(|(_, t)| *t)
        else {
            break;
        };
        let room = &input.rooms[i];
        // Those who arrived meanwhile enter the queue by its rules.
        enter(input, &mut state, &mut arrivals, t, &mut made, &mut audit);
        // A call of another queue the room also draws from.
        if rng.random::<f64>() >= room.share {
            rooms[i].free_at = after_pauses(pauses[i], t + draw(&record[i].0, rng));
            continue;
        }
        audit.at = t;
        match state.plan_take_next(&room.code, &audit, None) {
            Some((change, call)) => {
                let kind = state.find(&call.visit_no).map(|e| e.kind);
                state.apply(&change);
                if index.contains_key(&call.visit_no) {
                    called.push((call.visit_no, t));
                }
                let times = match kind {
                    Some(EntryKind::Return) if !record[i].1.is_empty() => &record[i].1,
                    _ => &record[i].0,
                };
                rooms[i].free_at = after_pauses(pauses[i], t + draw(times, rng));
            }
            // Nobody for this room now: it looks again when someone may
            // have arrived, or a minute later (a slot may open).
            None => {
                let next = arrivals.front().map(|(at, _)| *at);
                rooms[i].free_at = next
                    .filter(|at| *at > t)
                    .unwrap_or(t + Duration::minutes(1));
            }
        }
    }
    called
}

/// The arrivals until `t` check in to the run's queue by its rules.
fn enter(
    input: &ForecastInput,
    state: &mut QueueState,
    arrivals: &mut VecDeque<(DateTime<Utc>, usize)>,
    t: DateTime<Utc>,
    made: &mut u32,
    audit: &mut Audit,
) {
    while let Some((at, _)) = arrivals.front() {
        if *at > t {
            break;
        }
        let Some((at, like)) = arrivals.pop_front() else {
            break;
        };
        *made += 1;
        let mut draft = input.arrivals[like].like.clone();
        draft.visit_no = VisitNo::trusted(format!("~forecast-{made}"));
        audit.at = at;
        if let Ok(change) = state.plan_check_in(draft, audit.clone(), input.day) {
            state.apply(&change);
        }
    }
}

/// When a room free at `at` may call: after the pause it is in then.
fn after_pauses(pauses: &[(DateTime<Utc>, f64)], at: DateTime<Utc>) -> DateTime<Utc> {
    let mut t = at;
    for (from, m) in pauses {
        let until = *from + minutes(*m);
        if *from <= t && t < until {
            t = until;
        }
    }
    t
}

/// When a room may first call: at `from`, or when its current patient is
/// done (the rest of a service time longer than they have been in).
fn first_free(r: &ForecastRoom, now: DateTime<Utc>, rng: &mut SmallRng) -> DateTime<Utc> {
    let start = r.from.max(now);
    let Some(since) = r.busy_since else {
        return start;
    };
    let spent = (now - since).num_seconds() as f64 / 60.0;
    let longer: Vec<f64> = r.service.iter().copied().filter(|s| *s > spent).collect();
    let rest = if longer.is_empty() {
        // Already longer than any recorded visit: soon.
        rng.random_range(0.0..2.0)
    } else {
        longer[rng.random_range(0..longer.len())] - spent
    };
    start.max(now + minutes(rest))
}

/// A service time drawn from `times` (minutes; none known: 5).
fn draw(times: &[f64], rng: &mut SmallRng) -> Duration {
    let m = if times.is_empty() {
        5.0
    } else {
        times[rng.random_range(0..times.len())]
    };
    minutes(m.max(0.25))
}

fn minutes(m: f64) -> Duration {
    Duration::milliseconds((m * 60_000.0) as i64)
}

/// The arrivals of one run until `horizon`, in time order, each naming its
/// kind (an index into `input.arrivals`): a Poisson process per kind.
fn arrival_times(
    input: &ForecastInput,
    horizon: DateTime<Utc>,
    rng: &mut SmallRng,
) -> VecDeque<(DateTime<Utc>, usize)> {
    let mut out = Vec::new();
    for (k, a) in input.arrivals.iter().enumerate() {
        if a.per_minute <= 0.0 {
            continue;
        }
        let mut t = input.now;
        loop {
            let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
            t += minutes(-u.ln() / a.per_minute);
            if t >= horizon {
                break;
            }
            out.push((t, k));
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out.into()
}
