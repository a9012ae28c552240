//! Queue ordering: one pure function, [`rank`], of the waiting entries, the
//! queue's [`QueueRules`], its [`Counters`] and the time.
//!
//! Each ranked entry carries the [`Placement`] that put it there, so a nurse
//! can see *why* a patient stands where they stand.
//!
//! The rules implemented here (see `shared/QUEUE-RULES.md`):
//! - base order by check-in time (ties by arrival sequence);
//! - special groups (优先) before everyone else, lower level first, same
//!   level by check-in time;
//! - inserted patients — return visits (复诊) and patients back after a
//!   missed call (过号召回) — each by its own interval N: exactly N normal
//!   patients between the head of the line and the first inserted patient,
//!   and N before each further one (fewer only if fewer are waiting). Normal
//!   calls made while an inserted patient waits count towards its N, so the
//!   order is stable as the head is called;
//! - return visits in ratio mode instead: one return patient every K calls;
//! - the fairness cap: after K priority or inserted patients called in a
//!   row, the longest-waiting normal patient goes first;
//! - a nurse's manual intervention: pinned patients (置顶) before every rule,
//!   held patients (挂起) listed last and never called until released.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Counters, EntryKind, SpecialMark, WaitingEntry};

/// How appointment patients (预约) stand among walk-ins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentMode {
    /// One order: appointment patients by slot start, walk-ins by check-in.
    #[default]
    Merged,
    /// Every appointment patient before every walk-in.
    AlwaysFirst,
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
}

/// The ordering rules of one queue (hospital defaults merged with the queue's
/// own settings before they get here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRules {
    /// Return visits: N normal patients between inserted ones. `None`: return
    /// visits queue as normal patients.
    pub return_interval: Option<u32>,
    /// Return visits in ratio mode: one return patient every K calls
    /// (K ≥ 2). When set, it replaces `return_interval` for return visits.
    #[serde(default)]
    pub return_ratio: Option<u32>,
    /// Patients back after a missed call: N normal patients before them.
    pub recall_interval: u32,
    /// After this many priority or inserted calls in a row, the next call
    /// takes the longest-waiting normal patient. `None`: no cap.
    pub fairness_cap: Option<u32>,
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
    pub special_levels: BTreeMap<String, u8>,
    /// Age (years, inclusive) from which the `elderly` tag is computed.
    pub elderly_min_age: Option<u32>,
    /// Age (years, exclusive) below which the `child` tag is computed.
    pub child_max_age: Option<u32>,
}

fn default_early() -> EarlyCheckIn {
    EarlyCheckIn::Unlimited
}

fn default_late() -> LateArrival {
    LateArrival::Interval(3)
}

impl Default for QueueRules {
    fn default() -> Self {
        let special_levels = [
            ("military", 1),
            ("elderly", 2),
            ("disabled", 2),
            ("pregnant", 2),
            ("child", 3),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        QueueRules {
            return_interval: Some(3),
            return_ratio: None,
            recall_interval: 2,
            fairness_cap: Some(5),
            max_misses: 2,
            locked_head: 0,
            appointment_mode: AppointmentMode::Merged,
            early_check_in: default_early(),
            late_arrival: default_late(),
            special_levels,
            elderly_min_age: Some(80),
            child_max_age: Some(6),
        }
    }
}

impl QueueRules {
    /// The winning special mark among `tags` (lowest level; ties by tag name).
    pub fn special_mark(&self, tags: &[String]) -> Option<SpecialMark> {
        tags.iter()
            .filter_map(|t| self.special_levels.get(t).map(|l| (*l, t)))
            .min()
            .map(|(level, tag)| SpecialMark {
                tag: tag.clone(),
                level,
            })
    }

    /// Tags computed from the birth date on `today` (`elderly`, `child`).
    pub fn age_tags(&self, birth_date: Option<NaiveDate>, today: NaiveDate) -> Vec<String> {
        let Some(birth) = birth_date else {
            return Vec::new();
        };
        let Some(age) = today.years_since(birth) else {
            return Vec::new();
        };
        let mut tags = Vec::new();
        if self.elderly_min_age.is_some_and(|min| age >= min) {
            tags.push("elderly".to_string());
        }
        if self.child_max_age.is_some_and(|max| age < max) {
            tags.push("child".to_string());
        }
        tags
    }
}

/// Why an entry stands where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Placement {
    /// Special group, by level.
    SpecialGroup { tag: String, level: u8 },
    /// Return visit placed by the interval rule.
    ReturnInterval { interval: u32 },
    /// Return visit placed by the ratio rule: one every K calls.
    ReturnRatio { every: u32 },
    /// Back after a missed call, placed by the recall interval.
    RecallInterval { interval: u32 },
    /// The longest-waiting normal patient, first because of the fairness cap.
    FairnessCap { cap: u32 },
    /// Pinned to the top by a nurse (置顶).
    Pinned,
    /// Called by name out of order (指定叫号).
    Manual,
    /// Late for the appointment, placed by the late-arrival interval.
    LateInterval { interval: u32 },
    /// An appointment patient ordered by the slot.
    Appointment,
    /// Checked in early: waits for the slot to start, not callable yet.
    AwaitingSlot,
    /// In the locked head: already told they are next (已锁定); `base` is
    /// the rule that placed them, which the counters follow.
    Locked { base: Box<Placement> },
    /// Held by a nurse (挂起): listed last, not callable until released.
    Held,
    /// Base order: check-in time.
    CheckInOrder,
}

impl Placement {
    /// Stable code for APIs and storage.
    pub fn code(&self) -> &'static str {
        match self {
            Placement::SpecialGroup { .. } => "special_group",
            Placement::ReturnInterval { .. } => "return_interval",
            Placement::ReturnRatio { .. } => "return_ratio",
            Placement::RecallInterval { .. } => "recall_interval",
            Placement::FairnessCap { .. } => "fairness_cap",
            Placement::Pinned => "pinned",
            Placement::Manual => "manual",
            Placement::Locked { .. } => "locked_head",
            Placement::LateInterval { .. } => "late_interval",
            Placement::Appointment => "appointment",
            Placement::AwaitingSlot => "awaiting_slot",
            Placement::Held => "held",
            Placement::CheckInOrder => "check_in_order",
        }
    }

    /// The reason in words a nurse understands.
    pub fn explain_zh(&self) -> String {
        match self {
            Placement::SpecialGroup { tag, level } => {
                format!("特殊人群优先（{}，第{}级）", tag_label_zh(tag), level)
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
            Placement::FairnessCap { cap } => {
                format!("公平保障：已连续{cap}位优先/插入患者，先叫普通患者")
            }
            Placement::Pinned => "护士置顶".to_string(),
            Placement::Manual => "指定叫号".to_string(),
            Placement::LateInterval { interval } => {
                format!("预约迟到：{interval}位普通患者后插入")
            }
            Placement::Appointment => "预约患者，按预约时段".to_string(),
            Placement::AwaitingSlot => "预约时段未到，等待中".to_string(),
            Placement::Locked { base } => format!("已通知准备，位置锁定（{}）", base.explain_zh()),
            Placement::Held => "护士挂起（暂不叫号）".to_string(),
            Placement::CheckInOrder => "按签到顺序".to_string(),
        }
    }

    /// Whether this placement is an "inserted" or priority one (as opposed to
    /// normal), for the counters.
    pub fn is_normal(&self) -> bool {
        matches!(
            self,
            Placement::CheckInOrder | Placement::FairnessCap { .. }
        )
    }
}

/// Chinese label of a special-group tag (the tag itself when unknown).
pub fn tag_label_zh(tag: &str) -> String {
    match tag {
        "military" => "军人".into(),
        "elderly" => "高龄老人".into(),
        "disabled" => "残疾人".into(),
        "pregnant" => "孕妇".into(),
        "child" => "幼儿".into(),
        other => other.into(),
    }
}

/// One entry in calling order, with the rule that placed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked<'a> {
    pub entry: &'a WaitingEntry,
    pub placement: Placement,
}

/// Orders the waiting entries for calling. Pure: the same inputs give the
/// same order. `_now` is taken so that time-based rules share one signature.
pub fn rank<'a>(
    entries: &'a [WaitingEntry],
    rules: &QueueRules,
    counters: &Counters,
    now: DateTime<Utc>,
) -> Vec<Ranked<'a>> {
    let by_arrival = |a: &&WaitingEntry, b: &&WaitingEntry| {
        (a.checked_in_at, a.seq).cmp(&(b.checked_in_at, b.seq))
    };

    let mut special: Vec<&WaitingEntry> = Vec::new();
    let mut normal: Vec<&WaitingEntry> = Vec::new();
    let mut inserted: Vec<&WaitingEntry> = Vec::new();
    let mut pinned: Vec<&WaitingEntry> = Vec::new();
    let mut held: Vec<&WaitingEntry> = Vec::new();
    let mut ratio: Vec<&WaitingEntry> = Vec::new();
    let mut locked: Vec<&WaitingEntry> = Vec::new();
    let mut awaiting: Vec<&WaitingEntry> = Vec::new();
    for e in entries {
        if e.held {
            held.push(e);
        } else if e.slot.is_some_and(|s| s.start > now) && e.pinned_at.is_none() {
            awaiting.push(e);
        } else if e.pinned_at.is_some() {
            pinned.push(e);
        } else if rules.locked_head > 0 && e.locked.is_some() {
            locked.push(e);
        } else if e.special.is_some() {
            special.push(e);
        } else if e.kind == EntryKind::Return && rules.return_ratio.is_some() {
            ratio.push(e);
        } else if matches!(e.kind, EntryKind::Recall | EntryKind::Late)
            || (e.kind == EntryKind::Return && rules.return_interval.is_some())
        {
            inserted.push(e);
        } else {
            normal.push(e);
        }
    }
    special.sort_by(|a, b| {
        let la = a.special.as_ref().map_or(u8::MAX, |s| s.level);
        let lb = b.special.as_ref().map_or(u8::MAX, |s| s.level);
        (la, a.checked_in_at, a.seq).cmp(&(lb, b.checked_in_at, b.seq))
    });
    // Base order: walk-ins by check-in, appointment patients by slot start;
    // `always_first` puts every appointment patient first.
    let key = |e: &&WaitingEntry| (e.slot.map_or(e.checked_in_at, |s| s.start), e.seq);
    match rules.appointment_mode {
        AppointmentMode::Merged => normal.sort_by_key(key),
        AppointmentMode::AlwaysFirst => normal.sort_by_key(|e| (e.slot.is_none(), key(e))),
    }
    inserted.sort_by(by_arrival);

    let mut out = Vec::with_capacity(entries.len());
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
    // Fairness cap: after K priority/inserted calls in a row, the
    // longest-waiting normal patient goes before everyone.
    if let Some(cap) = rules.fairness_cap {
        if counters.consecutive_priority >= i64::from(cap) && !normal.is_empty() {
            let first = normal.remove(0);
            out.push(Ranked {
                entry: first,
                placement: Placement::FairnessCap { cap },
            });
        }
    }
    for e in special {
        let (tag, level) = e
            .special
            .as_ref()
            .map(|s| (s.tag.clone(), s.level))
            .unwrap_or_default();
        out.push(Ranked {
            entry: e,
            placement: Placement::SpecialGroup { tag, level },
        });
    }

    let mut normals = normal.into_iter().peekable();
    let mut first = true;
    for e in inserted {
        let (interval, placement) = match e.kind {
            EntryKind::Recall => (
                rules.recall_interval,
                Placement::RecallInterval {
                    interval: rules.recall_interval,
                },
            ),
            EntryKind::Late => {
                let n = match rules.late_arrival {
                    LateArrival::Interval(n) => n,
                    LateArrival::AsOnTime => 0,
                };
                (n, Placement::LateInterval { interval: n })
            }
            _ => {
                let n = rules.return_interval.unwrap_or(0);
                (n, Placement::ReturnInterval { interval: n })
            }
        };
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
        for _ in 0..owed {
            match normals.next() {
                Some(n) => out.push(Ranked {
                    entry: n,
                    placement: normal_placement(n),
                }),
                None => break,
            }
        }
        out.push(Ranked {
            entry: e,
            placement,
        });
    }
    for n in normals {
        out.push(Ranked {
            entry: n,
            placement: normal_placement(n),
        });
    }
    // Ratio mode: return patients take every K-th call, counting the calls
    // made since the last return patient; pins and a fairness-cap head keep
    // their places.
    if let Some(every) = rules.return_ratio {
        ratio.sort_by(by_arrival);
        let k = every.max(1) as usize;
        let fixed = out
            .iter()
            .take_while(|r| {
                matches!(
                    r.placement,
                    Placement::Pinned | Placement::FairnessCap { .. }
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

fn normal_placement(e: &WaitingEntry) -> Placement {
    if e.slot.is_some() {
        Placement::Appointment
    } else {
        Placement::CheckInOrder
    }
}

/// The rule that would place `e` without a lock or a nurse's action.
fn base_placement(e: &WaitingEntry, rules: &QueueRules) -> Placement {
    if let Some(s) = &e.special {
        return Placement::SpecialGroup {
            tag: s.tag.clone(),
            level: s.level,
        };
    }
    match e.kind {
        EntryKind::Recall => Placement::RecallInterval {
            interval: rules.recall_interval,
        },
        EntryKind::Return => match (rules.return_ratio, rules.return_interval) {
            (Some(every), _) => Placement::ReturnRatio { every },
            (None, Some(interval)) => Placement::ReturnInterval { interval },
            (None, None) => Placement::CheckInOrder,
        },
        EntryKind::Late => Placement::LateInterval {
            interval: match rules.late_arrival {
                LateArrival::Interval(n) => n,
                LateArrival::AsOnTime => 0,
            },
        },
        EntryKind::Normal => normal_placement(e),
    }
}

/// Counters after calling an entry placed by `placement`.
pub fn counters_after_call(counters: Counters, placement: &Placement) -> Counters {
    let next = Counters {
        calls_since_return: counters.calls_since_return + 1,
        ..counters
    };
    match placement {
        Placement::CheckInOrder | Placement::Appointment | Placement::FairnessCap { .. } => {
            Counters {
                normal_calls_total: next.normal_calls_total + 1,
                consecutive_priority: 0,
                ..next
            }
        }
        Placement::ReturnInterval { .. }
        | Placement::RecallInterval { .. }
        | Placement::LateInterval { .. } => Counters {
            last_insert_mark: next.normal_calls_total,
            consecutive_priority: next.consecutive_priority + 1,
            ..next
        },
        Placement::ReturnRatio { .. } => Counters {
            consecutive_priority: next.consecutive_priority + 1,
            calls_since_return: 0,
            ..next
        },
        Placement::Locked { base } => counters_after_call(counters, base),
        Placement::SpecialGroup { .. } | Placement::Pinned | Placement::Manual => Counters {
            consecutive_priority: next.consecutive_priority + 1,
            ..next
        },
        // Never called; listed for completeness.
        Placement::Held | Placement::AwaitingSlot => counters,
    }
}
