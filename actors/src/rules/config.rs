//! [`QueueRules`]: the ordering rules one queue is configured with
//! (hospital defaults merged with the queue's own), and what the rules
//! derive from a patient (special mark, age tags).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::day::DayPlan;
use crate::model::{SpecialMark, SpecialTag};

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
