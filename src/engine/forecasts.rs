//! The engine's wait forecasts (issue 28): which queues are due, what a
//! forecast of one starts from (the queue's copy, its rooms, its doctors'
//! pace, who may go ahead), the run on a blocking thread, and a patient's
//! wait read back. What is kept, and the rules of what a forecast knows,
//! are in `waits.rs`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Duration, Timelike, Utc};
use triage_actors::model::{EntryKind, RoomStatus, SeatState, SpecialTag};
use triage_actors::queue::forecast::{forecast, Arrival, ForecastInput, ForecastRoom, WaitRange};
use triage_actors::queue::{EntryDraft, InspectQueue};
use triage_actors::staff::StaffRoom;
use triage_ground::error::Error;
use triage_ground::ids::{QueueCode, VisitNo};
use triage_ground::time::{service_date, shanghai};

use super::facade::Engine;
use super::waits::{
    arrivals_at, session_window, share_in, AheadSeen, Pace, QueueWaits, WaitView,
    ARRIVAL_WINDOW_MINUTES, HISTORY_DAYS, HISTORY_REFRESH_MINUTES, PAUSE_MINUTES, RUNS,
    STALE_SECONDS,
};
use crate::db::waits::{ahead_arrivals, calls_since, pauses_since};

/// A stored check-in that went ahead of others, as the simulation's
/// arrival looks.
fn seen_of(a: crate::db::waits::AheadArrival) -> AheadSeen {
    let kind = match a.entry_kind.as_deref() {
        Some("return") => EntryKind::Return,
        Some("recall") => EntryKind::Recall,
        Some("late") => EntryKind::Late,
        _ => EntryKind::Normal,
    };
    let tags: Vec<SpecialTag> = serde_json::from_str(&a.tags).unwrap_or_default();
    let like = EntryDraft {
        visit_no: VisitNo::trusted("~like"),
        masked_name: String::new(),
        spoken_name: String::new(),
        kind,
        tags,
        his_seq: None,
        birth_date: a.birth_date.and_then(|d| d.parse().ok()),
        slot: None,
        seen_at: None,
        room: None,
    };
    (a.checked_in_at.and_utc(), like)
}

impl Engine {
    /// The wait of `visit_no` in `queue` now (the forecast counted down
    /// to now), if one was made.
    pub fn wait_of(&self, queue: &str, visit_no: &str) -> Option<WaitView> {
        let waits = self.waits().queues.get(queue)?.clone();
        let r = waits.ranges.get(visit_no)?;
        let gone = ((self.now() - waits.at).num_seconds().max(0) / 60) as u32;
        let less = |m: u32| m.saturating_sub(gone);
        Some(WaitView {
            p50_minutes: (r.p50_minutes != u32::MAX).then(|| less(r.p50_minutes)),
            p90_minutes: (!r.beyond_session).then(|| less(r.p90_minutes)),
            beyond_session: r.beyond_session,
        })
    }

    /// The wait of a patient who just checked in: the queue's forecast
    /// made now if the one held does not include them yet (at most a
    /// second; none after that).
    pub async fn fresh_wait_of(&self, queue: &str, visit_no: &str) -> Option<WaitView> {
        if let Some(w) = self.wait_of(queue, visit_no) {
            return Some(w);
        }
        let code = QueueCode::trusted(queue);
        let changes = self.directory().changes_of(queue);
        let made = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            self.forecast_queue(&code, changes),
        )
        .await;
        if !matches!(made, Ok(Ok(()))) {
            tracing::warn!(queue = %code, "wait forecast not ready for a ticket");
        }
        self.wait_of(queue, visit_no)
    }

    /// Forecasts every queue that changed since its last forecast (or
    /// whose forecast is stale) and has someone waiting; answers how many.
    pub async fn forecast_due(&self) -> usize {
        let now = self.now();
        let due: Vec<(QueueCode, u64)> = self
            .directory()
            .queues
            .iter()
            .map(|q| q.key().clone())
            .map(|q| {
                let changes = self.directory().changes_of(&q);
                (q, changes)
            })
            .filter(|(q, changes)| {
                self.waits().queues.get(q).is_none_or(|w| {
                    w.changes != *changes || (now - w.at).num_seconds() >= STALE_SECONDS
                })
            })
            .collect();
        let mut made = 0;
        for (q, changes) in due {
            match self.forecast_queue(&q, changes).await {
                Ok(()) => made += 1,
                Err(e) => tracing::warn!(queue = %q, code = %e.code, "wait forecast not made"),
            }
        }
        made
    }

    /// Makes and stores `queue`'s forecast (the simulation on a blocking
    /// thread, off the actors' and the workers' threads).
    pub async fn forecast_queue(&self, queue: &QueueCode, changes: u64) -> Result<(), Error> {
        let now = self.now();
        let Some(input) = self.forecast_input(queue, now).await? else {
            self.store_waits(queue, changes, now, HashMap::new());
            return Ok(());
        };
        let ranges = tokio::task::spawn_blocking(move || forecast(&input))
            .await
            .map_err(|_| {
                Error::new(
                    triage_ground::error::ErrorCode::EngineUnavailable,
                    "wait forecast stopped",
                )
            })?;
        self.store_waits(queue, changes, now, ranges);
        Ok(())
    }

    fn store_waits(
        &self,
        queue: &QueueCode,
        changes: u64,
        at: DateTime<Utc>,
        ranges: HashMap<VisitNo, WaitRange>,
    ) {
        // A forecast made earlier that finished later (the kiosk's and the
        // background's at once) does not replace a newer one.
        let fresh = Arc::new(QueueWaits {
            changes,
            at,
            ranges,
        });
        match self.waits().queues.entry(queue.clone()) {
            dashmap::Entry::Occupied(mut held) => {
                if held.get().at > at {
                    return;
                }
                held.insert(fresh);
            }
            dashmap::Entry::Vacant(slot) => {
                slot.insert(fresh);
            }
        }
        self.waits().version.fetch_add(1, Ordering::Relaxed);
    }

    /// What the forecast of `queue` starts from; none when nobody waits.
    async fn forecast_input(
        &self,
        queue: &QueueCode,
        now: DateTime<Utc>,
    ) -> Result<Option<ForecastInput>, Error> {
        let Some(addr) = self.directory().queues.get(queue).map(|a| a.clone()) else {
            return Ok(None);
        };
        let state = addr
            .send(InspectQueue)
            .await
            .map_err(triage_actors::EngineError::from)?;
        if state.is_empty() {
            return Ok(None);
        }
        let pace = self.pace(now).await?;
        let local = now.with_timezone(&shanghai());
        let (from, until) = self.session_window(now);
        let mut rooms = Vec::new();
        for code in self.directory().rooms_of_queue(queue) {
            let Some(room) = self.directory().rooms.get(&code).map(|a| a.clone()) else {
                continue;
            };
            let Ok(view) = room.send(StaffRoom).await else {
                continue;
            };
            if view.status == RoomStatus::Closed
                || view.seat == SeatState::Out
                || !self.directory().room_serves(&code)
            {
                continue;
            }
            // Paused, or the doctor stepped away (暂离): back soon.
            let from = if view.status == RoomStatus::Paused || view.seat == SeatState::Break {
                from.max(now + Duration::minutes(PAUSE_MINUTES))
            } else {
                from
            };
            let doctor = view.doctor_code.as_ref().map(|d| d.as_str());
            let (service, service_return) =
                pace.of(doctor, local.hour(), self.hospital().avg_service_minutes);
            let Some((share, before)) = self.share_of(&code, queue) else {
                continue;
            };
            // Queues the room calls first: their patients go before.
            let mean = service.iter().sum::<f64>() / service.len().max(1) as f64;
            let from = from + Duration::seconds((before as f64 * mean * 60.0) as i64);
            rooms.push(ForecastRoom {
                pause_days: pace.pauses_of(code.as_str(), now),
                share,
                busy_since: view.current.as_ref().map(|c| c.called_at),
                code,
                from,
                until,
                service,
                service_return,
            });
        }
        // No room calls the queue now (a lunch break, every room closed):
        // no number at all rather than "the session may end first".
        if rooms.is_empty() {
            return Ok(None);
        }
        let arrivals = self.ahead_of_others(queue, now, &pace).await?;
        Ok(Some(ForecastInput {
            state,
            rooms,
            arrivals,
            now,
            day: local.date_naive(),
            runs: RUNS,
            seed: now.timestamp_millis() as u64,
            threads: 1,
        }))
    }

    /// The calls of the session in force (or the next one, between
    /// sessions): from when to when rooms call.
    fn session_window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        session_window(&self.hospital().schedule.sessions, now)
    }

    /// How `room` calls `queue` as it is seated now: the share of its
    /// calls that go to it, and how many patients of queues it calls first
    /// go before (none: the room does not call the queue now).
    ///
    /// With mix weights the share is its weight against the other queues
    /// with patients (a weight of 0 calls only when the others are empty);
    /// without, the room calls in order, the first queue with someone
    /// first, so this queue waits for those before it.
    fn share_of(&self, room: &str, queue: &str) -> Option<(f64, usize)> {
        let info = self.directory().room_info(room)?;
        share_in(&info.draws_from, &info.mix, queue, |q| {
            self.directory().queue_board(q).waiting
        })
    }

    /// Patients who may go ahead of others (priority groups, return
    /// visits, recalls, late appointments): at the rate they came in the
    /// next half hour of the clock on past days (read again every few
    /// minutes) and in the last half hour today.
    async fn ahead_of_others(
        &self,
        queue: &QueueCode,
        now: DateTime<Utc>,
        pace: &Pace,
    ) -> Result<Vec<Arrival>, Error> {
        let today = now.with_timezone(&shanghai()).date_naive();
        let day_start = today
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(shanghai()).single())
            .map_or(now, |t| t.with_timezone(&Utc))
            .naive_utc();
        // Past days: read again with the pace (every few minutes).
        let held = self
            .waits()
            .past_arrivals
            .get(queue)
            .map(|e| e.value().clone())
            .filter(|(at, _)| {
                *at <= now
                    && service_date(*at) == today
                    && (now - *at).num_minutes() < HISTORY_REFRESH_MINUTES
            });
        let past = match held {
            Some((_, rows)) => rows,
            None => {
                let (q, since) = (queue.to_string(), day_start - Duration::days(HISTORY_DAYS));
                let rows = self
                    .db()
                    .read(move |c| ahead_arrivals(c, &q, since, day_start))
                    .await?;
                let rows = Arc::new(rows.into_iter().map(seen_of).collect::<Vec<_>>());
                self.waits()
                    .past_arrivals
                    .insert(queue.clone(), (now, rows.clone()));
                rows
            }
        };
        // Today: the last half hour, read now.
        let (q, since) = (
            queue.to_string(),
            (now - Duration::minutes(ARRIVAL_WINDOW_MINUTES)).naive_utc(),
        );
        let recent = self
            .db()
            .read(move |c| ahead_arrivals(c, &q, since, chrono::NaiveDateTime::MAX))
            .await?;
        let seen: Vec<AheadSeen> = past
            .iter()
            .cloned()
            .chain(recent.into_iter().map(seen_of))
            .collect();
        Ok(arrivals_at(&seen, pace.days_before(today), now))
    }

    /// The doctors' pace, read again every few minutes.
    async fn pace(&self, now: DateTime<Utc>) -> Result<Arc<Pace>, Error> {
        if let Ok(held) = self.waits().history.lock() {
            if let Some((at, pace)) = held.as_ref() {
                if (now - *at).num_minutes() < HISTORY_REFRESH_MINUTES && *at <= now {
                    return Ok(pace.clone());
                }
            }
        }
        let since = (now - Duration::days(HISTORY_DAYS)).naive_utc();
        let (calls, pauses) = self
            .db()
            .read(move |c| Ok((calls_since(c, since)?, pauses_since(c, since)?)))
            .await?;
        let pace = Arc::new(Pace::learn_around(&calls, &pauses));
        if let Ok(mut held) = self.waits().history.lock() {
            *held = Some((now, pace.clone()));
        }
        Ok(pace)
    }
}
