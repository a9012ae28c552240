//! The wait forecast proven on history (issue 28): `triage wait backtest`
//! replays the recorded changes (the `events` rows: each change's JSON
//! without names) day by day through the queues' own state
//! ([`QueueState::apply`]), and at every check-in forecasts the new
//! patient's wait exactly as the server would have then — with the queue as
//! it stood, the rooms as they were (paused, closed, busy, who sat in
//! them), the doctors' pace and the rooms' pauses learned only from what
//! was recorded before that moment, and who went ahead at that hour on the
//! days before and in the hour before. The 28 days before the first day
//! are replayed first, unforecast, as the server's record. The real wait is the patient's first
//! call that day. The old estimate (people ahead × the configured average
//! ÷ rooms open) is scored beside it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde_json::Value;
use triage_actors::journal::Change;
use triage_actors::model::{Counters, EntryKind, RoomStatus, SeatState, TicketCounter};
use triage_actors::queue::forecast::{forecast, ForecastInput, ForecastRoom};
use triage_actors::queue::{EntryDraft, QueueState};
use triage_ground::ids::{QueueCode, VisitNo};
use triage_ground::time::{service_date, shanghai};

use super::waits::{
    arrivals_at, session_window, share_in, Pace, HISTORY_DAYS, HISTORY_REFRESH_MINUTES,
    PAUSE_MINUTES,
};
use crate::config::Hospital;
use crate::db::waits::{CallRecord, EventRecord, PauseRecord};

/// One check-in as forecast then, and what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub day: NaiveDate,
    pub department: String,
    pub queue: String,
    /// The local hour of the check-in.
    pub hour: u32,
    /// Minutes; none: no room was calling (no range was shown).
    pub p50: Option<u32>,
    pub p90: Option<u32>,
    /// The page said the session may end first.
    pub beyond_session: bool,
    /// The old estimate, minutes.
    pub old_minutes: u32,
    /// Minutes to the first call; none: not called that day.
    pub actual_minutes: Option<f64>,
    /// Not called that day: how long they had waited when they left the
    /// record (cancelled, transferred away, or the day's last change).
    pub uncalled_minutes: Option<f64>,
}

/// A room as the replay knows it at a moment.
#[derive(Clone, Debug)]
struct Room {
    status: RoomStatus,
    seat: SeatState,
    doctor: Option<String>,
    draws_from: Vec<QueueCode>,
    mix: Vec<u32>,
    busy_since: Option<DateTime<Utc>>,
}

/// What the replay holds while it goes.
struct Replay<'a> {
    hospital: &'a Hospital,
    runs: usize,
    day: Option<NaiveDate>,
    queues: HashMap<String, QueueState>,
    rooms: HashMap<String, Room>,
    /// Every call so far, for the pace.
    calls: Vec<CallRecord>,
    /// Every pause so far, and the rooms paused now (since when).
    pauses: Vec<PauseRecord>,
    paused_at: HashMap<String, DateTime<Utc>>,
    /// Check-ins before this day are replayed but not forecast (what the
    /// forecasts of the first day learn from).
    predict_from: NaiveDate,
    pace: Pace,
    learned_at: Option<DateTime<Utc>>,
    /// Visits checked in as return visits (their calls teach the return
    /// pace).
    returns: std::collections::HashSet<String>,
    /// Patients who went ahead of others: when, to which queue, like whom.
    ahead: Vec<(DateTime<Utc>, String, EntryDraft)>,
    /// Today's predictions still waiting for their call, with the
    /// check-in's time.
    open: HashMap<String, (usize, DateTime<Utc>)>,
    /// The last change replayed (where today's uncalled stop waiting).
    last_at: Option<DateTime<Utc>>,
    out: Vec<Prediction>,
    /// Recorded changes that could not be read back, by kind.
    undecoded: std::collections::BTreeMap<String, usize>,
}

/// What a replay found.
#[derive(Clone, Debug, Default)]
pub struct Replayed {
    pub predictions: Vec<Prediction>,
    /// Recorded changes that could not be read back, by kind (the replay
    /// went on without them).
    pub undecoded: std::collections::BTreeMap<String, usize>,
}

/// Replays `events` (in order) and forecasts every check-in from
/// `predict_from` on with `runs` runs; the days before are what those
/// forecasts learn from (the server's own 28 days).
pub fn replay(
    hospital: &Hospital,
    events: &[EventRecord],
    runs: usize,
    predict_from: NaiveDate,
) -> Replayed {
    let mut r = Replay {
        hospital,
        runs,
        day: None,
        queues: HashMap::new(),
        rooms: HashMap::new(),
        calls: Vec::new(),
        pauses: Vec::new(),
        paused_at: HashMap::new(),
        predict_from,
        pace: Pace::default(),
        learned_at: None,
        returns: Default::default(),
        ahead: Vec::new(),
        open: HashMap::new(),
        last_at: None,
        out: Vec::new(),
        undecoded: Default::default(),
    };
    for e in events {
        // Audit rows that are no queue's change (logins, registrations,
        // the day's record, …).
        if !REPLAYED.contains(&e.kind.as_str()) {
            continue;
        }
        let Some(change) = decode(e) else {
            *r.undecoded.entry(e.kind.clone()).or_default() += 1;
            continue;
        };
        r.step(e, &change);
    }
    r.close_day();
    Replayed {
        predictions: r.out,
        undecoded: r.undecoded,
    }
}

/// The kinds of recorded change the replay reads (`Change::kind`); the
/// locked head (`locks`) is kept without an event row and is not replayed,
/// and the day end is the replay's own new day.
const REPLAYED: [&str; 20] = [
    "checked_in",
    "called",
    "assigned",
    "unassigned",
    "moved",
    "recalled",
    "skipped",
    "requeued",
    "sent_for_exam",
    "held",
    "released",
    "special_marked",
    "pinned",
    "transferred",
    "finished",
    "room_status_set",
    "cancelled",
    "room_seated",
    "rules_changed",
    "registration_corrected",
];

/// The change an event recorded, its names blank and its audit rebuilt.
fn decode(e: &EventRecord) -> Option<Change> {
    let mut v: Value = serde_json::from_str(&e.detail).ok()?;
    add_names(&mut v);
    let reason = v.get("reason").cloned().unwrap_or(Value::Null);
    let obj = v.as_object_mut()?;
    obj.insert(
        "audit".into(),
        serde_json::json!({
            "operator": e.operator,
            "source": "backtest",
            "at": e.at.and_utc().to_rfc3339(),
            "reason": reason,
        }),
    );
    serde_json::from_value(v).ok()
}

/// Puts back the (blank) names the event rows leave out, wherever a visit
/// is named (an entry, a correction).
fn add_names(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.contains_key("ticket_no") || map.contains_key("visit_no") {
                map.entry("masked_name")
                    .or_insert(Value::String(String::new()));
                map.entry("spoken_name")
                    .or_insert(Value::String(String::new()));
            }
            map.values_mut().for_each(add_names);
        }
        Value::Array(list) => list.iter_mut().for_each(add_names),
        _ => {}
    }
}

impl Replay<'_> {
    fn step(&mut self, e: &EventRecord, change: &Change) {
        let at = e.at.and_utc();
        let day = service_date(at);
        if self.day != Some(day) {
            self.close_day();
            self.new_day(day);
        }
        self.last_at = Some(at);
        match change {
            Change::CheckedIn {
                queue_code, entry, ..
            } => {
                self.queue(queue_code).apply(change);
                if entry.kind == EntryKind::Return {
                    self.returns.insert(entry.visit_no.to_string());
                }
                if entry.kind != EntryKind::Normal || !entry.tags.is_empty() {
                    self.ahead
                        .push((at, queue_code.to_string(), like(&entry.visit_no, entry)));
                }
                if day >= self.predict_from {
                    self.predict(queue_code, &entry.visit_no, at);
                }
            }
            Change::Requeued { queue_code, .. } => self.queue(queue_code).apply(change),
            Change::Transferred {
                queue_code,
                from_queue,
                entry,
                ..
            } => {
                if let Some(from) = from_queue {
                    self.queue(from).drop_stale(entry.visit_no.as_str());
                }
                if let Change::Transferred {
                    from_room: Some(r), ..
                } = change
                {
                    self.room(r.as_str()).busy_since = None;
                }
                self.queue(queue_code).apply(change);
            }
            Change::Called {
                queue_code,
                room_code,
                visit_no,
                ..
            } => {
                self.queue(queue_code).apply(change);
                // The room's doctor is who sits in it (as the server
                // forecasts), not whoever pressed call.
                self.room(room_code.as_str()).busy_since = Some(at);
                self.calls.push(CallRecord {
                    room_code: room_code.to_string(),
                    performer: Some(e.operator.clone()),
                    called_at: e.at,
                    visit_type: if self.returns.contains(visit_no.as_str()) {
                        "return".into()
                    } else {
                        "first".into()
                    },
                });
                if let Some((i, since)) = self.open.remove(visit_no.as_str()) {
                    if let Some(p) = self.out.get_mut(i) {
                        p.actual_minutes = Some((at - since).num_milliseconds() as f64 / 60_000.0);
                    }
                }
            }
            Change::Assigned { queue_code, .. }
            | Change::Unassigned { queue_code, .. }
            | Change::Moved { queue_code, .. }
            | Change::HoldSet { queue_code, .. }
            | Change::Pinned { queue_code, .. }
            | Change::Marked { queue_code, .. }
            | Change::Locks { queue_code, .. }
            | Change::RulesChanged { queue_code, .. } => self.queue(queue_code).apply(change),
            Change::Corrected {
                queue_code: Some(q),
                ..
            } => self.queue(q).apply(change),
            Change::Cancelled {
                queue_code,
                room_code,
                visit_no,
                ..
            } => {
                if let Some(q) = queue_code {
                    self.queue(q).apply(change);
                }
                if let Some(r) = room_code {
                    self.room(r.as_str()).busy_since = None;
                }
                self.stop_waiting(visit_no.as_str(), at);
            }
            _ => self.room_change(change, at),
        }
    }

    /// A room's own change: its patient done, its status, who sits in it.
    fn room_change(&mut self, change: &Change, at: DateTime<Utc>) {
        match change {
            Change::Finished { room_code, .. }
            | Change::Skipped { room_code, .. }
            | Change::SentForExam { room_code, .. } => {
                self.room(room_code.as_str()).busy_since = None;
            }
            Change::RoomStatusSet {
                room_code, status, ..
            } => {
                self.room(room_code.as_str()).status = *status;
                if *status == RoomStatus::Paused {
                    self.paused_at.entry(room_code.to_string()).or_insert(at);
                } else if let Some(from) = self.paused_at.remove(room_code.as_str()) {
                    self.pauses.push(PauseRecord {
                        room_code: room_code.to_string(),
                        from: from.naive_utc(),
                        minutes: (at - from).num_seconds() as f64 / 60.0,
                    });
                }
            }
            Change::Seated {
                room_code,
                doctor_code,
                seat,
                draws_from,
                mix,
                ..
            } => {
                let room = self.room(room_code.as_str());
                room.seat = *seat;
                room.doctor = doctor_code.as_ref().map(|d| d.to_string());
                room.draws_from = draws_from.clone();
                room.mix = mix.clone();
            }
            _ => {}
        }
    }

    /// A visit leaves the record uncalled (cancelled): how long it waited.
    fn stop_waiting(&mut self, visit: &str, at: DateTime<Utc>) {
        if let Some((i, since)) = self.open.remove(visit) {
            if let Some(p) = self.out.get_mut(i) {
                p.uncalled_minutes = Some((at - since).num_milliseconds() as f64 / 60_000.0);
            }
        }
    }

    /// The day's end: who was never called waited until its last change.
    fn close_day(&mut self) {
        let Some(last) = self.last_at else { return };
        let open: Vec<String> = self.open.keys().cloned().collect();
        for v in open {
            self.stop_waiting(&v, last);
        }
    }

    /// A new service day: empty queues, rooms as configured; what is
    /// learned from keeps the server's 28 days.
    fn new_day(&mut self, day: NaiveDate) {
        self.day = Some(day);
        self.queues.clear();
        self.open.clear();
        self.paused_at.clear();
        let since = day - Duration::days(HISTORY_DAYS);
        let start = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(shanghai()).single())
                .map(|t| t.with_timezone(&Utc))
        };
        if let Some(cut) = start(since) {
            self.calls.retain(|c| c.called_at.and_utc() >= cut);
            self.pauses.retain(|p| p.from.and_utc() >= cut);
            self.ahead.retain(|(t, _, _)| *t >= cut);
            self.learned_at = None;
        }
        self.rooms = self
            .hospital
            .rooms
            .iter()
            .map(|r| {
                (
                    r.code.to_string(),
                    Room {
                        status: RoomStatus::Open,
                        seat: SeatState::Configured,
                        doctor: r.doctor.as_ref().map(|d| d.to_string()),
                        draws_from: r.queues.clone(),
                        mix: r.mix.clone(),
                        busy_since: None,
                    },
                )
            })
            .collect();
    }

    fn queue(&mut self, code: &QueueCode) -> &mut QueueState {
        let (hospital, day) = (self.hospital, self.day.unwrap_or_default());
        self.queues.entry(code.to_string()).or_insert_with(|| {
            let def = hospital.queue(code);
            QueueState::new(
                code.clone(),
                def.map_or_else(String::new, |q| q.prefix.clone()),
                def.map_or_else(|| hospital.default_rules.clone(), |q| q.rules.clone()),
                Vec::new(),
                Counters::default(),
                TicketCounter { date: day, last: 0 },
                0,
            )
        })
    }

    fn room(&mut self, code: &str) -> &mut Room {
        self.rooms.entry(code.to_string()).or_insert(Room {
            status: RoomStatus::Open,
            seat: SeatState::Configured,
            doctor: None,
            draws_from: Vec::new(),
            mix: Vec::new(),
            busy_since: None,
        })
    }

    /// Forecasts `visit` just checked in to `queue` at `at`, as the server
    /// would have then.
    fn predict(&mut self, queue: &QueueCode, visit: &VisitNo, at: DateTime<Utc>) {
        if self
            .learned_at
            .is_none_or(|t| at < t || (at - t).num_minutes() >= HISTORY_REFRESH_MINUTES)
        {
            let mut known = self.calls.clone();
            known.sort_by(|a, b| (&a.room_code, a.called_at).cmp(&(&b.room_code, b.called_at)));
            self.pace = Pace::learn_around(&known, &self.pauses);
            self.learned_at = Some(at);
        }
        let Some(state) = self.queues.get(queue.as_str()).cloned() else {
            return;
        };
        let local = at.with_timezone(&shanghai());
        let avg = self.hospital.avg_service_minutes;
        let (from, until) = session_window(&self.hospital.schedule.sessions, at);
        let waiting = |q: &QueueCode| self.queues.get(q.as_str()).map_or(0, QueueState::len);
        let mut rooms = Vec::new();
        let mut open_rooms = 0u32;
        let mut codes: Vec<&String> = self.rooms.keys().collect();
        codes.sort();
        for code in codes {
            let room = &self.rooms[code];
            if room.status == RoomStatus::Closed
                || room.seat == SeatState::Out
                || !room.draws_from.contains(queue)
            {
                continue;
            }
            open_rooms += 1;
            let Some((share, before)) =
                share_in(&room.draws_from, &room.mix, queue.as_str(), waiting)
            else {
                continue;
            };
            let from = if room.status == RoomStatus::Paused || room.seat == SeatState::Break {
                from.max(at + Duration::minutes(PAUSE_MINUTES))
            } else {
                from
            };
            let (service, service_return) = self.pace.of(room.doctor.as_deref(), local.hour(), avg);
            let mean = service.iter().sum::<f64>() / service.len().max(1) as f64;
            rooms.push(ForecastRoom {
                pause_days: self.pace.pauses_of(code, at),
                code: triage_ground::ids::RoomCode::trusted(code.clone()),
                from: from + Duration::seconds((before as f64 * mean * 60.0) as i64),
                until,
                busy_since: room.busy_since,
                share,
                service,
                service_return,
            });
        }
        let ahead = state.position(visit.as_str(), at).unwrap_or(0);
        let seen: Vec<(DateTime<Utc>, EntryDraft)> = self
            .ahead
            .iter()
            .filter(|(t, q, _)| *t >= at - Duration::days(HISTORY_DAYS) && q == queue.as_str())
            .map(|(t, _, like)| (*t, like.clone()))
            .collect();
        let arrivals = arrivals_at(&seen, self.pace.days_before(local.date_naive()), at);
        let range = if rooms.is_empty() {
            None
        } else {
            forecast(&ForecastInput {
                state,
                rooms,
                arrivals,
                now: at,
                day: local.date_naive(),
                runs: self.runs,
                seed: at.timestamp_millis() as u64,
                threads: 1,
            })
            .get(visit)
            .copied()
        };
        let department = self
            .hospital
            .queue(queue)
            .map_or_else(String::new, |q| q.department.to_string());
        self.open.insert(visit.to_string(), (self.out.len(), at));
        self.out.push(Prediction {
            day: local.date_naive(),
            department,
            queue: queue.to_string(),
            hour: local.hour(),
            p50: range
                .filter(|r| r.p50_minutes != u32::MAX)
                .map(|r| r.p50_minutes),
            p90: range.filter(|r| !r.beyond_session).map(|r| r.p90_minutes),
            beyond_session: range.is_some_and(|r| r.beyond_session),
            // As the check-in answer computes it.
            old_minutes: (ahead as u32 * avg).div_ceil(open_rooms.max(1)),
            actual_minutes: None,
            uncalled_minutes: None,
        });
    }
}

/// What a patient who went ahead looks like, for the arrivals.
fn like(visit: &VisitNo, e: &triage_actors::model::WaitingEntry) -> EntryDraft {
    EntryDraft {
        visit_no: visit.clone(),
        masked_name: String::new(),
        spoken_name: String::new(),
        kind: e.kind,
        tags: e.tags.clone(),
        his_seq: None,
        birth_date: None,
        slot: None,
        seen_at: None,
        room: None,
    }
}

/// How well a set of predictions did.
#[derive(
    Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct Score {
    /// Check-ins forecast.
    pub check_ins: usize,
    /// With a range shown and a call that day: the ones scored.
    pub scored: usize,
    /// With a range shown and never called that day (cancelled, gone):
    /// a miss of each bound they waited past, unknown otherwise.
    pub uncalled: usize,
    /// Scored ones told "the session may end first".
    pub beyond_session: usize,
    /// Share called by their P90 (of those with a P90: not those told the
    /// session may end first).
    pub p90_coverage: f64,
    /// Share called by their P50.
    pub p50_coverage: f64,
    /// Median absolute error of P50, minutes.
    pub p50_error_minutes: f64,
    /// Median absolute error of the old estimate on the same patients.
    pub old_error_minutes: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Scores `preds`.
pub fn score<'a>(preds: impl IntoIterator<Item = &'a Prediction>) -> Score {
    let all: Vec<&Prediction> = preds.into_iter().collect();
    let scored: Vec<(&Prediction, f64, u32)> = all
        .iter()
        .filter_map(|p| Some((*p, p.actual_minutes?, p.p50?)))
        .collect();
    // Coverage of a bound: a call by it is a hit, a call after it a miss;
    // one never called is a miss once they had waited past it, and
    // unknown before.
    let coverage = |bound: fn(&Prediction) -> Option<u32>| {
        let (mut hits, mut of) = (0usize, 0usize);
        for p in all.iter().filter(|p| p.p50.is_some()) {
            let Some(b) = bound(p).map(f64::from) else {
                continue;
            };
            match (p.actual_minutes, p.uncalled_minutes) {
                (Some(a), _) => {
                    of += 1;
                    hits += usize::from(a <= b);
                }
                (None, Some(waited)) if waited > b => of += 1,
                _ => {}
            }
        }
        if of == 0 {
            0.0
        } else {
            hits as f64 / of as f64
        }
    };
    Score {
        check_ins: all.len(),
        scored: scored.len(),
        uncalled: all
            .iter()
            .filter(|p| p.p50.is_some() && p.uncalled_minutes.is_some())
            .count(),
        beyond_session: scored.iter().filter(|(p, _, _)| p.beyond_session).count(),
        p90_coverage: coverage(|p| p.p90),
        p50_coverage: coverage(|p| p.p50),
        p50_error_minutes: median(
            scored
                .iter()
                .map(|(_, a, p50)| (a - f64::from(*p50)).abs())
                .collect(),
        ),
        old_error_minutes: median(
            scored
                .iter()
                .map(|(p, a, _)| (a - f64::from(p.old_minutes)).abs())
                .collect(),
        ),
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn row(label: Vec<String>, s: &Score) -> Vec<String> {
    let mut r = label;
    r.extend([
        s.scored.to_string(),
        pct(s.p90_coverage),
        pct(s.p50_coverage),
        format!("{:.1}", s.p50_error_minutes),
        format!("{:.1}", s.old_error_minutes),
    ]);
    r
}

/// The backtest's report (Markdown and printable HTML), per department
/// and hour.
pub fn report(
    hospital: &Hospital,
    from: NaiveDate,
    to: NaiveDate,
    preds: &[Prediction],
    undecoded: &std::collections::BTreeMap<String, usize>,
) -> crate::report::Doc {
    let all = score(preds);
    let mut doc = crate::report::Doc::new(format!("候诊时间预测回测 {from} 至 {to}"));
    doc.para(format!(
        "按当时已知的情况（队列、诊室状态和坐诊医生、医生以往的接诊间隔和暂停、以往同一时段和刚才插到前面的患者）\
         重放每一次签到，把当时给出的范围与实际叫号时间比较。共 {} 次签到，{} 次有范围且当天被叫到，参与评分\
         （其中 {} 次页面提示“本时段可能叫不到”，不计入 P90 覆盖）；{} 次有范围但当天未被叫到（退号、转走或未到），\
         等候已超过 P50 或 P90 的记为未覆盖。",
        all.check_ins, all.scored, all.beyond_session, all.uncalled
    ));
    if !undecoded.is_empty() {
        doc.para(format!(
            "未能重放的记录（已跳过，结果可能因此有偏差）：{}",
            undecoded
                .iter()
                .map(|(k, n)| format!("{k} {n} 条"))
                .collect::<Vec<_>>()
                .join("，")
        ));
    }
    doc.heading("总体");
    doc.list(vec![
        format!("P90 之前被叫到的比例：{}（目标 ≥ 90%）", pct(all.p90_coverage)),
        format!("P50 之前被叫到的比例：{}（目标约 50%）", pct(all.p50_coverage)),
        format!(
            "P50 的绝对误差中位数：{:.1} 分钟（目标 ≤ 10）；旧公式（前面人数 × 平均接诊时间 ÷ 开诊诊室数）：{:.1} 分钟",
            all.p50_error_minutes, all.old_error_minutes
        ),
    ]);
    let head = [
        "",
        "评分人次",
        "P90 覆盖",
        "P50 覆盖",
        "P50 误差中位数（分）",
        "旧公式误差中位数（分）",
    ];
    let mut by_department: std::collections::BTreeMap<String, Vec<&Prediction>> =
        Default::default();
    let mut by_hour: std::collections::BTreeMap<(String, u32), Vec<&Prediction>> =
        Default::default();
    for p in preds {
        by_department
            .entry(p.department.clone())
            .or_default()
            .push(p);
        by_hour
            .entry((p.department.clone(), p.hour))
            .or_default()
            .push(p);
    }
    let name = |code: &str| {
        hospital
            .departments
            .iter()
            .find(|d| d.code.as_str() == code)
            .map_or_else(|| code.to_string(), |d| d.name.clone())
    };
    doc.heading("按科室");
    let mut head_d = head.to_vec();
    head_d[0] = "科室";
    doc.table(
        &head_d,
        by_department
            .iter()
            .map(|(d, ps)| row(vec![name(d)], &score(ps.iter().copied())))
            .collect(),
    );
    doc.heading("按科室和签到时段");
    let mut head_h = vec!["科室", "时段"];
    head_h.extend_from_slice(&head[1..]);
    doc.table(
        &head_h,
        by_hour
            .iter()
            .map(|((d, h), ps)| {
                row(
                    vec![name(d), format!("{h:02}:00–{:02}:00", h + 1)],
                    &score(ps.iter().copied()),
                )
            })
            .collect(),
    );
    doc
}

/// Reads what the backtest of `[from, to]` (service days, inclusive)
/// replays: the recorded changes from 28 days before `from` (what its
/// first forecasts learn from) to the end of `to`.
pub fn read(
    c: &mut crate::db::AnyConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<EventRecord>, crate::db::DbError> {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(shanghai()).single())
            .map_or(d.and_time(chrono::NaiveTime::MIN), |t| t.naive_utc())
    };
    let begin = start(from) - Duration::days(HISTORY_DAYS);
    let end = start(to.succ_opt().unwrap_or(to));
    crate::db::waits::events_between(c, begin, end)
}

/// A backtest as kept for the statistics page: the period, the whole
/// hospital's score and each department's.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Calibration {
    pub computed_at: DateTime<Utc>,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The whole hospital's; none for a caller who sees only some
    /// departments.
    pub overall: Option<Score>,
    pub departments: Vec<DepartmentScore>,
}

/// One department's score in a [`Calibration`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DepartmentScore {
    pub department: String,
    pub score: Score,
}

/// The calibration `preds` of `[from, to]` show, made at `at`.
pub fn calibration(
    preds: &[Prediction],
    from: NaiveDate,
    to: NaiveDate,
    at: DateTime<Utc>,
) -> Calibration {
    let mut by: std::collections::BTreeMap<&str, Vec<&Prediction>> = Default::default();
    for p in preds {
        by.entry(p.department.as_str()).or_default().push(p);
    }
    Calibration {
        computed_at: at,
        from,
        to,
        overall: Some(score(preds)),
        departments: by
            .into_iter()
            .map(|(d, ps)| DepartmentScore {
                department: d.to_string(),
                score: score(ps),
            })
            .collect(),
    }
}

impl super::facade::Engine {
    /// The latest backtest's calibration (`triage wait backtest`), if one
    /// was made.
    pub async fn wait_calibration(
        &self,
    ) -> Result<Option<Calibration>, triage_ground::error::Error> {
        let kept = self.db().read(crate::db::waits::latest_calibration).await?;
        Ok(kept.and_then(|json| serde_json::from_str(&json).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event row as the journal writes it: the change's JSON without
    /// names or audit.
    fn row(change: &Change) -> EventRecord {
        fn strip(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.remove("masked_name");
                    m.remove("spoken_name");
                    m.values_mut().for_each(strip);
                }
                Value::Array(l) => l.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let mut v = serde_json::to_value(change).unwrap_or_default();
        strip(&mut v);
        if let Some(o) = v.as_object_mut() {
            o.remove("audit");
        }
        EventRecord {
            at: change.audit().at.naive_utc(),
            kind: change.kind().to_string(),
            operator: change.audit().operator.clone(),
            detail: v.to_string(),
        }
    }

    #[test]
    fn a_correction_and_a_call_read_back_from_their_rows() {
        let audit = triage_actors::model::Audit {
            operator: "D1".into(),
            source: "test".into(),
            at: chrono::DateTime::from_timestamp(1_796_779_800, 0).unwrap_or_default(),
            reason: None,
        };
        let correction = Change::Corrected {
            audit: audit.clone(),
            queue_code: Some(QueueCode::trusted("NK")),
            room_code: None,
            correction: triage_actors::model::Correction {
                visit_no: VisitNo::trusted("V1"),
                masked_name: "张*".into(),
                spoken_name: "张某".into(),
                return_visit: true,
                visit_type_changed: true,
                registered_tags: vec![],
                birth_date: None,
                his_seq: None,
                slot: None,
                record: triage_actors::model::SealedRecord(serde_json::json!({})),
                staff_marks: Default::default(),
                room: None,
            },
            entry_kind: Some(EntryKind::Return),
            tags: vec![],
        };
        let back = decode(&row(&correction));
        assert!(
            matches!(back, Some(Change::Corrected { ref correction, .. }) if correction.return_visit),
            "{back:?}"
        );
    }
}
