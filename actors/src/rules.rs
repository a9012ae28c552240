//! Queue ordering: one pure function, [`rank`], of the waiting entries, the
//! queue's [`QueueRules`], its [`Counters`] and the time.
//!
//! Each ranked entry carries the [`Placement`] that put it there, so a nurse
//! can see *why* a patient stands where they stand.
//!
//! The rules implemented here (numbers as in `shared/QUEUE-RULES.md`):
//! 1. base order by check-in time or by the HIS sequence number (挂号序号);
//! 2. appointments (预约) `merged`, `always_first` or by time `slot` (within a
//!    slot, appointments before walk-ins); an early patient waits for the
//!    slot (listed, not callable);
//! 3. late arrivals by `interval N`, at the `end_of_session`, at the
//!    `end_of_slot` (of the slot current when they come), or `as_on_time`;
//! 4. special groups (优先) before everyone else, lower level first, same
//!    level by check-in time;
//! 5. the fairness cap (after K priority or inserted calls in a row, the
//!    longest-waiting normal patient) and the overtake cap (a normal patient
//!    overtaken M times by priority or inserted patients goes first);
//! 6. the locked head (the first L are fixed; nobody is inserted ahead);
//! 7. return visits (复诊) by `interval N` (exactly N normal patients between
//!    inserted ones, and between the head and the first) or by `ratio` (one
//!    every K calls);
//! 8. back after a missed call (过号召回) by `interval N`, at the end of the
//!    slot or at the end of the session;
//! 10. a nurse's manual intervention: pin (置顶) before every rule, move to
//!     a position (调整顺序, moving up with the line), hold (挂起: listed
//!     last, never called until released);
//! 13. two-stage waiting: patients sent to a room's short list (诊室候诊)
//!     are listed first and only that room calls them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::day::{DayPlan, Grid};
use crate::model::{Counters, EntryKind, SpecialMark, SpecialTag, WaitingEntry};

/// What orders patients of the same standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseOrder {
    /// Check-in time (签到顺序).
    #[default]
    CheckIn,
    /// The HIS registration sequence number (挂号序号); patients without
    /// one after those with one, by check-in time.
    HisSequence,
}

/// How appointment patients (预约) stand among walk-ins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentMode {
    /// One order: appointment patients by slot start, walk-ins by check-in.
    #[default]
    Merged,
    /// Every appointment patient before every walk-in.
    AlwaysFirst,
    /// By time slot (号源时段): patients of an earlier slot first; within a
    /// slot, appointment patients before walk-ins (who belong to the slot in
    /// which they checked in).
    Slot,
}

/// When an appointment patient may check in before the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EarlyCheckIn {
    /// Not before the slot starts.
    Forbidden,
    /// Any time (the patient still waits for the slot).
    Unlimited,
    /// Up to this many minutes before the slot starts.
    Minutes(u32),
}

/// What happens to an appointment patient who checks in after the slot end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateArrival {
    /// As if on time (ordered by the slot).
    AsOnTime,
    /// Inserted with N normal patients first.
    Interval(u32),
    /// After everyone who belongs to the session current at check-in.
    EndOfSession,
    /// After everyone who belongs to the time slot current at check-in.
    EndOfSlot,
}

/// Where a patient back after a missed call (召回) goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallMode {
    /// Inserted with `recall_interval` normal patients first.
    #[default]
    Interval,
    /// After everyone who belongs to the time slot current on return.
    EndOfSlot,
    /// After everyone who belongs to the session current on return.
    EndOfSession,
}

/// The ordering rules of one queue (hospital defaults merged with the queue's
/// own settings before they get here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRules {
    /// Check-in time or HIS sequence number.
    #[serde(default)]
    pub base_order: BaseOrder,
    /// Return visits: N normal patients between inserted ones. `None`: return
    /// visits queue as normal patients.
    pub return_interval: Option<u32>,
    /// Return visits in ratio mode: one return patient every K calls
    /// (K ≥ 2). When set, it replaces `return_interval` for return visits.
    #[serde(default)]
    pub return_ratio: Option<u32>,
    /// Patients back after a missed call: N normal patients before them
    /// (in `interval` recall mode).
    pub recall_interval: u32,
    /// Where patients back after a missed call go.
    #[serde(default)]
    pub recall_mode: RecallMode,
    /// After this many priority or inserted calls in a row, the next call
    /// takes the longest-waiting normal patient. `None`: no cap.
    pub fairness_cap: Option<u32>,
    /// A normal patient overtaken this many times by priority or inserted
    /// patients goes before them all (no starvation). `None`: no cap.
    #[serde(default = "default_max_overtaken")]
    pub max_overtaken: Option<u32>,
    /// A visit missed this many times ends as no-show (not recalled again).
    pub max_misses: u32,
    /// Locked head: the first L waiting patients are fixed; nobody is
    /// inserted ahead of them. 0 = off.
    #[serde(default)]
    pub locked_head: u32,
    /// Appointment patients among walk-ins.
    #[serde(default)]
    pub appointment_mode: AppointmentMode,
    /// How early an appointment patient may check in.
    #[serde(default = "default_early")]
    pub early_check_in: EarlyCheckIn,
    /// Appointment patients who come after their slot ended.
    #[serde(default = "default_late")]
    pub late_arrival: LateArrival,
    /// Special-group tag → level (1 goes first). Tags not listed give no priority.
    pub special_levels: BTreeMap<SpecialTag, u8>,
    /// Age (years, inclusive) from which the `elderly` tag is computed.
    pub elderly_min_age: Option<u32>,
    /// Age (years, exclusive) below which the `child` tag is computed.
    pub child_max_age: Option<u32>,
    /// Sessions and time slots of the clinic day.
    #[serde(default)]
    pub day: DayPlan,
}

fn default_early() -> EarlyCheckIn {
    EarlyCheckIn::Unlimited
}

fn default_late() -> LateArrival {
    LateArrival::Interval(3)
}

fn default_max_overtaken() -> Option<u32> {
    Some(10)
}

impl Default for QueueRules {
    fn default() -> Self {
        let special_levels = [
            (SpecialTag::Military, 1),
            (SpecialTag::Elderly, 2),
            (SpecialTag::Disabled, 2),
            (SpecialTag::Pregnant, 2),
            (SpecialTag::Child, 3),
        ]
        .into_iter()
        .collect();
        QueueRules {
            base_order: BaseOrder::CheckIn,
            return_interval: Some(3),
            return_ratio: None,
            recall_interval: 2,
            recall_mode: RecallMode::Interval,
            fairness_cap: Some(5),
            max_overtaken: default_max_overtaken(),
            max_misses: 2,
            locked_head: 0,
            appointment_mode: AppointmentMode::Merged,
            early_check_in: default_early(),
            late_arrival: default_late(),
            special_levels,
            elderly_min_age: Some(80),
            child_max_age: Some(6),
            day: DayPlan::default(),
        }
    }
}

impl QueueRules {
    /// The winning special mark among `tags` (lowest level; ties by tag name).
    pub fn special_mark(&self, tags: &[SpecialTag]) -> Option<SpecialMark> {
        tags.iter()
            .filter_map(|t| self.special_levels.get(t).map(|l| (*l, *t)))
            .min()
            .map(|(level, tag)| SpecialMark { tag, level })
    }

    /// Every tag of a patient under these rules: the registration's own
    /// tags plus the age tags on `today`, sorted, once each.
    pub fn tags_for(
        &self,
        registered: &[SpecialTag],
        birth_date: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Vec<SpecialTag> {
        let mut tags: Vec<SpecialTag> = registered
            .iter()
            .cloned()
            .chain(self.age_tags(birth_date, today))
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// Tags computed from the birth date on `today` (`elderly`, `child`).
    pub fn age_tags(&self, birth_date: Option<NaiveDate>, today: NaiveDate) -> Vec<SpecialTag> {
        let Some(birth) = birth_date else {
            return Vec::new();
        };
        let Some(age) = today.years_since(birth) else {
            return Vec::new();
        };
        let mut tags = Vec::new();
        if self.elderly_min_age.is_some_and(|min| age >= min) {
            tags.push(SpecialTag::Elderly);
        }
        if self.child_max_age.is_some_and(|max| age < max) {
            tags.push(SpecialTag::Child);
        }
        tags
    }
}

/// Why an entry stands where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Placement {
    /// Sent to this room's short list (诊室候诊); only that room calls them.
    RoomWaiting { room: String },
    /// Pinned to the top by a nurse (置顶).
    Pinned,
    /// Moved by a nurse (调整顺序); `position` is where they stand now.
    Moved { position: u32 },
    /// In the locked head: already told they are next (已锁定); `base` is
    /// the rule that placed them, which the counters follow.
    Locked { base: Box<Placement> },
    /// A normal patient overtaken `cap` times: nobody overtakes them again.
    OvertakeCap { cap: u32 },
    /// The longest-waiting normal patient, first because of the fairness cap.
    FairnessCap { cap: u32 },
    /// Special group, by level.
    SpecialGroup { tag: SpecialTag, level: u8 },
    /// Return visit placed by the interval rule.
    ReturnInterval { interval: u32 },
    /// Return visit placed by the ratio rule: one every K calls.
    ReturnRatio { every: u32 },
    /// Back after a missed call, placed by the recall interval.
    RecallInterval { interval: u32 },
    /// Back after a missed call, after everyone of the slot (ending
    /// `until`, local time).
    RecallEndOfSlot { until: NaiveTime },
    /// Back after a missed call, after everyone of the session (ending
    /// `until`, local time).
    RecallEndOfSession { until: NaiveTime },
    /// Late for the appointment, placed by the late-arrival interval.
    LateInterval { interval: u32 },
    /// Late for the appointment, after everyone of the slot current at check-in.
    LateEndOfSlot { until: NaiveTime },
    /// Late for the appointment, after everyone of the session.
    LateEndOfSession { until: NaiveTime },
    /// Late for the appointment, ordered by the slot as if on time.
    LateAsOnTime,
    /// An appointment patient ordered by the slot.
    Appointment,
    /// Base order: the HIS sequence number.
    HisSequence,
    /// Base order: check-in time.
    CheckInOrder,
    /// Called by name out of order (指定叫号).
    Manual,
    /// Checked in early: waits for the slot to start, not callable yet.
    AwaitingSlot,
    /// Held by a nurse (挂起): listed last, not callable until released.
    Held,
}

impl Placement {
    /// Stable code for APIs and storage.
    pub fn code(&self) -> &'static str {
        match self {
            Placement::RoomWaiting { .. } => "room_waiting",
            Placement::Pinned => "pinned",
            Placement::Moved { .. } => "moved",
            Placement::Locked { .. } => "locked_head",
            Placement::OvertakeCap { .. } => "overtake_cap",
            Placement::FairnessCap { .. } => "fairness_cap",
            Placement::SpecialGroup { .. } => "special_group",
            Placement::ReturnInterval { .. } => "return_interval",
            Placement::ReturnRatio { .. } => "return_ratio",
            Placement::RecallInterval { .. } => "recall_interval",
            Placement::RecallEndOfSlot { .. } => "recall_end_of_slot",
            Placement::RecallEndOfSession { .. } => "recall_end_of_session",
            Placement::LateInterval { .. } => "late_interval",
            Placement::LateEndOfSlot { .. } => "late_end_of_slot",
            Placement::LateEndOfSession { .. } => "late_end_of_session",
            Placement::LateAsOnTime => "late_as_on_time",
            Placement::Appointment => "appointment",
            Placement::HisSequence => "his_sequence",
            Placement::CheckInOrder => "check_in_order",
            Placement::Manual => "manual",
            Placement::AwaitingSlot => "awaiting_slot",
            Placement::Held => "held",
        }
    }

    /// The reason in words a nurse understands.
    pub fn explain_zh(&self) -> String {
        match self {
            Placement::RoomWaiting { room } => format!("已分到诊室 {room} 门口候诊"),
            Placement::Pinned => "护士置顶".to_string(),
            Placement::Moved { position } => format!("护士调整顺序（现第{position}位）"),
            Placement::Locked { base } => format!("已通知准备，位置锁定（{}）", base.explain_zh()),
            Placement::OvertakeCap { cap } => {
                format!("公平保障：已被优先/插入患者越过{cap}次，不再被越过")
            }
            Placement::FairnessCap { cap } => {
                format!("公平保障：已连续{cap}位优先/插入患者，先叫普通患者")
            }
            Placement::SpecialGroup { tag, level } => {
                format!("特殊人群优先（{}，第{}级）", tag.label_zh(), level)
            }
            Placement::ReturnInterval { interval } => {
                format!("复诊插入：每{interval}位普通患者后插入一位")
            }
            Placement::ReturnRatio { every } => {
                format!("复诊按比例：每{every}位叫一位复诊患者")
            }
            Placement::RecallInterval { interval } => {
                format!("过号召回：{interval}位普通患者后插入")
            }
            Placement::RecallEndOfSlot { until } => {
                format!(
                    "过号召回：排在本时段（{}止）患者之后",
                    until.format("%H:%M")
                )
            }
            Placement::RecallEndOfSession { until } => {
                format!(
                    "过号召回：排在本门诊时段（{}止）患者之后",
                    until.format("%H:%M")
                )
            }
            Placement::LateInterval { interval } => {
                format!("预约迟到：{interval}位普通患者后插入")
            }
            Placement::LateEndOfSlot { until } => {
                format!(
                    "预约迟到：排在当前时段（{}止）患者之后",
                    until.format("%H:%M")
                )
            }
            Placement::LateEndOfSession { until } => {
                format!(
                    "预约迟到：排在本门诊时段（{}止）患者之后",
                    until.format("%H:%M")
                )
            }
            Placement::LateAsOnTime => "预约迟到，仍按原预约时段".to_string(),
            Placement::Appointment => "预约患者，按预约时段".to_string(),
            Placement::HisSequence => "按挂号序号".to_string(),
            Placement::CheckInOrder => "按签到顺序".to_string(),
            Placement::Manual => "指定叫号".to_string(),
            Placement::AwaitingSlot => "预约时段未到，等待中".to_string(),
            Placement::Held => "护士挂起（暂不叫号）".to_string(),
        }
    }

    /// Whether this placement keeps a patient in the normal line (as opposed
    /// to a priority, an insertion or a nurse's action), for the counters.
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            Placement::CheckInOrder
                | Placement::HisSequence
                | Placement::Appointment
                | Placement::LateAsOnTime
                | Placement::LateEndOfSlot { .. }
                | Placement::LateEndOfSession { .. }
                | Placement::RecallEndOfSlot { .. }
                | Placement::RecallEndOfSession { .. }
                | Placement::FairnessCap { .. }
                | Placement::OvertakeCap { .. }
        )
    }

    /// Whether a call by this placement overtakes the normal patients who
    /// came before (a priority or an insertion rule; not a nurse's action).
    pub fn overtakes(&self) -> bool {
        match self {
            Placement::SpecialGroup { .. }
            | Placement::ReturnInterval { .. }
            | Placement::ReturnRatio { .. }
            | Placement::RecallInterval { .. }
            | Placement::LateInterval { .. } => true,
            Placement::Locked { base } => base.overtakes(),
            _ => false,
        }
    }

    /// Whether a room may call a patient so placed now.
    pub fn is_callable(&self) -> bool {
        !matches!(self, Placement::Held | Placement::AwaitingSlot)
    }
}

/// One entry in calling order, with the rule that placed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked<'a> {
    pub entry: &'a WaitingEntry,
    pub placement: Placement,
}

/// How the rules treat an entry that no nurse action, lock or special mark
/// places first.
enum Class {
    /// A return visit in ratio mode.
    Ratio,
    /// Inserted after N normal patients.
    Inserted(u32, Placement),
    /// In the normal line, by the base order.
    Regular,
    /// In the normal line, after everyone who belongs before `target`.
    Positional(DateTime<Utc>, Placement),
}

fn classify(e: &WaitingEntry, rules: &QueueRules, grid: &mut Grid<'_>) -> Class {
    let day = &rules.day;
    let mut end_of = |slot: bool| {
        let t = if slot {
            grid.slot_of(e.checked_in_at).end
        } else {
            grid.session_of(e.checked_in_at).end
        };
        (t, day.local_time(t))
    };
    match e.kind {
        EntryKind::Normal => Class::Regular,
        EntryKind::Return => match (rules.return_ratio, rules.return_interval) {
            (Some(_), _) => Class::Ratio,
            (None, Some(n)) => Class::Inserted(n, Placement::ReturnInterval { interval: n }),
            (None, None) => Class::Regular,
        },
        EntryKind::Recall => match rules.recall_mode {
            RecallMode::Interval => Class::Inserted(
                rules.recall_interval,
                Placement::RecallInterval {
                    interval: rules.recall_interval,
                },
            ),
            RecallMode::EndOfSlot => {
                let (t, until) = end_of(true);
                Class::Positional(t, Placement::RecallEndOfSlot { until })
            }
            RecallMode::EndOfSession => {
                let (t, until) = end_of(false);
                Class::Positional(t, Placement::RecallEndOfSession { until })
            }
        },
        EntryKind::Late => match rules.late_arrival {
            LateArrival::Interval(n) => Class::Inserted(n, Placement::LateInterval { interval: n }),
            LateArrival::AsOnTime => Class::Regular,
            LateArrival::EndOfSlot => {
                let (t, until) = end_of(true);
                Class::Positional(t, Placement::LateEndOfSlot { until })
            }
            LateArrival::EndOfSession => {
                let (t, until) = end_of(false);
                Class::Positional(t, Placement::LateEndOfSession { until })
            }
        },
    }
}

/// The instant that says where a patient in the normal line belongs: the
/// slot start of an appointment, else the check-in time.
fn anchor(e: &WaitingEntry) -> DateTime<Utc> {
    e.slot.map_or(e.checked_in_at, |s| s.start)
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Sort key of the normal line: (time slot, appointment before walk-in,
/// base order, tie-break, arrival).
fn base_key(e: &WaitingEntry, rules: &QueueRules, grid: &mut Grid<'_>) -> (i64, u8, i64, i64, i64) {
    let at = anchor(e);
    let walk_in = u8::from(e.slot.is_none());
    let (primary, secondary) = match rules.base_order {
        BaseOrder::CheckIn => (micros(at), 0),
        BaseOrder::HisSequence => (e.his_seq.unwrap_or(i64::MAX), micros(at)),
    };
    match rules.appointment_mode {
        AppointmentMode::Merged => (0, 0, primary, secondary, e.seq),
        AppointmentMode::AlwaysFirst => (0, walk_in, primary, secondary, e.seq),
        AppointmentMode::Slot => (
            grid.slot_us(micros(at)).0,
            walk_in,
            primary,
            secondary,
            e.seq,
        ),
    }
}

/// The placement of an entry in the normal line by the base order.
fn normal_placement(e: &WaitingEntry, rules: &QueueRules) -> Placement {
    if e.kind == EntryKind::Late {
        Placement::LateAsOnTime
    } else if e.slot.is_some() {
        Placement::Appointment
    } else if rules.base_order == BaseOrder::HisSequence && e.his_seq.is_some() {
        Placement::HisSequence
    } else {
        Placement::CheckInOrder
    }
}

/// The rule that would place `e` without a lock or a nurse's action.
pub fn base_placement(e: &WaitingEntry, rules: &QueueRules) -> Placement {
    if let Some(s) = &e.special {
        return Placement::SpecialGroup {
            tag: s.tag,
            level: s.level,
        };
    }
    match classify(e, rules, &mut Grid::new(&rules.day)) {
        Class::Ratio => Placement::ReturnRatio {
            every: rules.return_ratio.unwrap_or(2),
        },
        Class::Inserted(_, p) | Class::Positional(_, p) => p,
        Class::Regular => normal_placement(e, rules),
    }
}

/// Orders the waiting entries for calling. Pure: the same inputs give the
/// same order.
pub fn rank<'a>(
    entries: &'a [WaitingEntry],
    rules: &QueueRules,
    counters: &Counters,
    now: DateTime<Utc>,
) -> Vec<Ranked<'a>> {
    let by_arrival = |a: &&WaitingEntry, b: &&WaitingEntry| {
        (a.checked_in_at, a.seq).cmp(&(b.checked_in_at, b.seq))
    };

    let mut assigned: Vec<&WaitingEntry> = Vec::new();
    let mut held: Vec<&WaitingEntry> = Vec::new();
    let mut pinned: Vec<&WaitingEntry> = Vec::new();
    let mut moved: Vec<&WaitingEntry> = Vec::new();
    let mut awaiting: Vec<&WaitingEntry> = Vec::new();
    let mut locked: Vec<&WaitingEntry> = Vec::new();
    let mut special: Vec<&WaitingEntry> = Vec::new();
    let mut ratio: Vec<&WaitingEntry> = Vec::new();
    let mut inserted: Vec<(&WaitingEntry, u32, Placement)> = Vec::new();
    let mut regular: Vec<&WaitingEntry> = Vec::new();
    let mut positional: Vec<(&WaitingEntry, DateTime<Utc>, Placement)> = Vec::new();
    let mut grid = Grid::new(&rules.day);
    for e in entries {
        if e.assigned.is_some() {
            assigned.push(e);
        } else if e.held {
            held.push(e);
        } else if e.pinned_at.is_some() {
            pinned.push(e);
        } else if e.moved.is_some() {
            moved.push(e);
        } else if e.slot.is_some_and(|s| s.start > now) {
            awaiting.push(e);
        } else if rules.locked_head > 0 && e.locked.is_some() {
            locked.push(e);
        } else if e.special.is_some() {
            special.push(e);
        } else {
            match classify(e, rules, &mut grid) {
                Class::Ratio => ratio.push(e),
                Class::Inserted(n, p) => inserted.push((e, n, p)),
                Class::Regular => regular.push(e),
                Class::Positional(t, p) => positional.push((e, t, p)),
            }
        }
    }

    // The normal line: the base order, with patients placed "at the end of
    // the slot / session" after the last one who belongs before that end.
    regular.sort_by_cached_key(|e| base_key(e, rules, &mut grid));
    positional.sort_by_key(|(e, t, _)| (*t, e.seq));
    let mut suffix_min = vec![DateTime::<Utc>::MAX_UTC; regular.len()];
    let mut min = DateTime::<Utc>::MAX_UTC;
    for (i, e) in regular.iter().enumerate().rev() {
        min = min.min(anchor(e));
        suffix_min[i] = min;
    }
    let mut line: Vec<(&WaitingEntry, Placement)> =
        Vec::with_capacity(regular.len() + positional.len());
    let mut next_regular = 0;
    for (e, target, placement) in positional {
        let upto = suffix_min.partition_point(|m| *m < target);
        while next_regular < upto {
            let r = regular[next_regular];
            line.push((r, normal_placement(r, rules)));
            next_regular += 1;
        }
        line.push((e, placement));
    }
    for r in &regular[next_regular..] {
        line.push((r, normal_placement(r, rules)));
    }

    // The overtake cap: a normal patient overtaken M times (counting the
    // locked patients who will overtake them) goes before every rule.
    let mut protected: Vec<&WaitingEntry> = Vec::new();
    if let Some(cap) = rules.max_overtaken {
        let mut ahead: Vec<i64> = locked
            .iter()
            .filter(|e| base_placement(e, rules).overtakes())
            .map(|e| e.seq)
            .collect();
        ahead.sort_unstable();
        line.retain(|(e, _)| {
            let locked_later = ahead.len() - ahead.partition_point(|s| *s <= e.seq);
            let hit = counters.overtaken(e.seq) + locked_later >= cap as usize;
            if hit {
                protected.push(e);
            }
            !hit
        });
    }

    let mut out = Vec::with_capacity(entries.len());
    assigned.sort_by_key(|e| (e.assigned.as_ref().map(|x| (&x.room, x.order)), e.seq));
    for e in &assigned {
        out.push(Ranked {
            entry: e,
            placement: Placement::RoomWaiting {
                room: e
                    .assigned
                    .as_ref()
                    .map(|a| a.room.clone())
                    .unwrap_or_default(),
            },
        });
    }
    let assigned_count = out.len();
    // A nurse's pin comes before every rule, oldest pin first.
    pinned.sort_by_key(|e| (e.pinned_at, e.seq));
    for e in pinned {
        out.push(Ranked {
            entry: e,
            placement: Placement::Pinned,
        });
    }
    // The locked head: told they are next, nobody goes ahead of them.
    locked.sort_by_key(|e| (e.locked, e.seq));
    for e in locked {
        out.push(Ranked {
            entry: e,
            placement: Placement::Locked {
                base: Box::new(base_placement(e, rules)),
            },
        });
    }
    let cap_reached = rules
        .fairness_cap
        .is_some_and(|cap| counters.consecutive_priority >= i64::from(cap));
    let mut line = line.into_iter();
    if let Some(cap) = rules.max_overtaken {
        for e in &protected {
            out.push(Ranked {
                entry: e,
                placement: Placement::OvertakeCap { cap },
            });
        }
    }
    // Fairness cap: after K priority/inserted calls in a row, the
    // longest-waiting normal patient goes before everyone (a patient first
    // by the overtake cap already is that normal call).
    if cap_reached && protected.is_empty() {
        if let (Some(cap), Some((first, _))) = (rules.fairness_cap, line.next()) {
            out.push(Ranked {
                entry: first,
                placement: Placement::FairnessCap { cap },
            });
        }
    }
    special.sort_by(|a, b| {
        let la = a.special.as_ref().map_or(u8::MAX, |s| s.level);
        let lb = b.special.as_ref().map_or(u8::MAX, |s| s.level);
        (la, a.checked_in_at, a.seq).cmp(&(lb, b.checked_in_at, b.seq))
    });
    for e in special {
        if let Some(s) = &e.special {
            out.push(Ranked {
                entry: e,
                placement: Placement::SpecialGroup {
                    tag: s.tag,
                    level: s.level,
                },
            });
        }
    }

    // Inserted patients: exactly N normal patients before each.
    inserted.sort_by(|a, b| by_arrival(&a.0, &b.0));
    let mut first = true;
    for (e, interval, placement) in inserted {
        let interval = interval as usize;
        // Normals still owed before this inserted patient.
        let owed = if first {
            first = false;
            let since = e.mark.max(counters.last_insert_mark);
            let already = (counters.normal_calls_total - since).max(0) as usize;
            interval.saturating_sub(already)
        } else {
            interval
        };
        for (n, p) in line.by_ref().take(owed) {
            out.push(Ranked {
                entry: n,
                placement: p,
            });
        }
        out.push(Ranked {
            entry: e,
            placement,
        });
    }
    for (n, p) in line {
        out.push(Ranked {
            entry: n,
            placement: p,
        });
    }
    // Ratio mode: return patients take every K-th call, counting the calls
    // made since the last return patient; the room short lists, pins, the
    // locked head and the fairness heads keep their places.
    if let Some(every) = rules.return_ratio {
        ratio.sort_by(by_arrival);
        let k = every.max(1) as usize;
        let fixed = out
            .iter()
            .take_while(|r| {
                matches!(
                    r.placement,
                    Placement::RoomWaiting { .. }
                        | Placement::Pinned
                        | Placement::Locked { .. }
                        | Placement::OvertakeCap { .. }
                        | Placement::FairnessCap { .. }
                )
            })
            .count();
        let since = counters.calls_since_return.max(0) as usize;
        let mut at = fixed + (k - 1).saturating_sub(since);
        for e in ratio {
            let at_clamped = at.min(out.len());
            out.insert(
                at_clamped,
                Ranked {
                    entry: e,
                    placement: Placement::ReturnRatio { every },
                },
            );
            at = at_clamped + k;
        }
    }
    // A nurse's move: at the position asked for, moving up as patients are
    // taken; the latest move gets the position it asked for.
    moved.sort_by_key(|e| (e.moved.as_ref().map(|m| m.at), e.seq));
    for e in moved {
        let Some(m) = &e.moved else { continue };
        let taken_since = (counters.taken_total - m.mark).max(0);
        let position = (i64::from(m.position) - taken_since).max(1);
        let at = (assigned_count + position as usize - 1).min(out.len());
        out.insert(
            at,
            Ranked {
                entry: e,
                placement: Placement::Moved {
                    position: (at - assigned_count + 1) as u32,
                },
            },
        );
    }
    // Early appointment patients wait for their slot: listed, not callable.
    awaiting.sort_by_key(|e| (e.slot.map(|s| s.start), e.seq));
    for e in awaiting {
        out.push(Ranked {
            entry: e,
            placement: Placement::AwaitingSlot,
        });
    }
    held.sort_by(by_arrival);
    for e in held {
        out.push(Ranked {
            entry: e,
            placement: Placement::Held,
        });
    }
    out
}

/// Counters after taking the patient who arrived as `seq`, placed by
/// `placement`, from the general list (a call, or a send to a room's short
/// list). Calling a patient from a room's short list changes nothing: they
/// were counted when sent there.
pub fn counters_after_call(counters: &Counters, placement: &Placement, seq: i64) -> Counters {
    let mut next = counters.clone();
    if matches!(
        placement,
        Placement::RoomWaiting { .. } | Placement::Held | Placement::AwaitingSlot
    ) {
        return next;
    }
    next.taken_total += 1;
    next.calls_since_return += 1;
    if placement.overtakes() {
        let at = next.overtakes.partition_point(|s| *s < seq);
        next.overtakes.insert(at, seq);
    }
    let base = match placement {
        Placement::Locked { base } => base.as_ref(),
        other => other,
    };
    if base.is_normal() {
        next.normal_calls_total += 1;
        next.consecutive_priority = 0;
        return next;
    }
    next.consecutive_priority += 1;
    match base {
        Placement::ReturnInterval { .. }
        | Placement::RecallInterval { .. }
        | Placement::LateInterval { .. } => {
            next.last_insert_mark = next.normal_calls_total;
        }
        Placement::ReturnRatio { .. } => next.calls_since_return = 0,
        _ => {}
    }
    next
}
