//! One validation of a change to a queue's ordering rules, shared by the
//! hospital configuration file (`[rules]`, `queues[].rules`) and the rules
//! API (`PUT /api/v1/queues/{code}/rules`): the same names, ranges and
//! messages in both places.
//!
//! A [`RuleChange`] names only what changes; [`RuleChange::apply`] checks
//! every field and answers the new [`QueueRules`] or every problem found,
//! each naming its field.

use std::collections::BTreeMap;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use triage_actors::day::Session;
use triage_actors::model::SpecialTag;
use triage_actors::rules::{
    AppointmentMode, BaseOrder, EarlyCheckIn, LateArrival, QueueRules, RecallMode,
};
use triage_ground::error::ErrorCode;
use utoipa::ToSchema;

/// A change of rules; absent fields keep their value.
#[derive(Clone, Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleChange {
    /// Base order: `check_in` (签到顺序) or `his_sequence` (挂号序号).
    #[schema(pattern = "^(check_in|his_sequence)$")]
    pub base_order: Option<String>,
    /// Return visits: N normal patients between (0-50).
    #[schema(minimum = 0, maximum = 50)]
    pub return_interval: Option<i64>,
    /// `true`: return visits queue as normal patients.
    pub return_as_normal: Option<bool>,
    /// Return visits by ratio: one every K calls (2-20); 0 = interval rule.
    #[schema(minimum = 0, maximum = 20)]
    pub return_ratio: Option<i64>,
    /// Back after a missed call: N normal patients first (0-50).
    #[schema(minimum = 0, maximum = 50)]
    pub recall_interval: Option<i64>,
    /// Back after a missed call: `interval`, `end_of_slot` or `end_of_session`.
    #[schema(pattern = "^(interval|end_of_slot|end_of_session)$")]
    pub recall_mode: Option<String>,
    /// After K priority/inserted calls in a row, a normal patient (1-50; 0 = off).
    #[schema(minimum = 0, maximum = 50)]
    pub fairness_cap: Option<i64>,
    /// A normal patient overtaken M times goes first (1-50; 0 = off).
    #[schema(minimum = 0, maximum = 50)]
    pub max_overtaken: Option<i64>,
    /// Missed calls that end a visit as no-show (1-9).
    #[schema(minimum = 1, maximum = 9)]
    pub max_misses: Option<i64>,
    /// Locked head: the first L waiting patients are fixed (0 = off, up to 10).
    #[schema(minimum = 0, maximum = 10)]
    pub locked_head: Option<i64>,
    /// Appointment patients among walk-ins: `merged`, `always_first` or `slot`.
    #[schema(pattern = "^(merged|always_first|slot)$")]
    pub appointment_mode: Option<String>,
    /// Minutes before the slot an appointment patient may check in
    /// (-1 = any time, 0 = not before the slot, up to 720).
    #[schema(minimum = -1, maximum = 720)]
    pub early_check_in_minutes: Option<i64>,
    /// Late appointment patients: `interval`, `as_on_time`,
    /// `end_of_session` or `end_of_slot`.
    #[schema(pattern = "^(interval|as_on_time|end_of_session|end_of_slot)$")]
    pub late_arrival: Option<String>,
    /// Late appointment patients, interval mode: N normal patients first
    /// (0-50; -1 = as if on time).
    #[schema(minimum = -1, maximum = 50)]
    pub late_arrival_interval: Option<i64>,
    /// Tag → level (1 first): military, elderly, disabled, pregnant, child.
    pub special_levels: Option<BTreeMap<String, i64>>,
    /// `elderly` from this age (50-120).
    #[schema(minimum = 50, maximum = 120)]
    pub elderly_min_age: Option<i64>,
    /// `child` below this age (1-18).
    #[schema(minimum = 1, maximum = 18)]
    pub child_max_age: Option<i64>,
    /// Length of a time slot in minutes (5-240), counted from each session's start.
    #[schema(minimum = 5, maximum = 240)]
    pub slot_minutes: Option<i64>,
    /// The clinic sessions (1-6, local time, in order, not overlapping).
    pub sessions: Option<Vec<SessionInput>>,
}

/// A clinic session as written in a change: `{"name": "上午", "start":
/// "08:00", "end": "12:00"}`.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    pub name: String,
    pub start: String,
    pub end: String,
}

/// One problem with a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `invalid_rule` or `unknown_special_tag`.
    pub code: ErrorCode,
    /// The field's name (`sessions[1].end`, `special_levels.child`).
    pub field: String,
    pub message: String,
}

struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            code: ErrorCode::InvalidRule,
            field: field.into(),
            message: message.into(),
        });
    }

    fn range(&mut self, v: i64, lo: i64, hi: i64, field: &str, what: &str) -> Option<u32> {
        if (lo..=hi).contains(&v) {
            Some(v as u32)
        } else {
            self.fail(field, format!("{what}：{lo} 至 {hi}"));
            None
        }
    }

    /// 0 means off, else `lo..=hi`.
    fn off_or(&mut self, v: i64, lo: i64, hi: i64, field: &str, what: &str) -> Option<Option<u32>> {
        if v == 0 {
            Some(None)
        } else {
            self.range(v, lo, hi, field, &format!("{what}（0 为不启用）"))
                .map(Some)
        }
    }

    fn choice<T: Copy>(&mut self, v: &str, field: &str, options: &[(&str, T)]) -> Option<T> {
        let found = options.iter().find(|(name, _)| *name == v).map(|(_, t)| *t);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            self.fail(field, format!("请从以下选择：{}", names.join("、")));
        }
        found
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl RuleChange {
    /// The rules in force written as a change (every field, in this
    /// vocabulary): what a form shows and sends back. Applying it to the
    /// same rules changes nothing. Age limits that are off stay absent.
    pub fn of(r: &QueueRules) -> RuleChange {
        let off = |v: Option<u32>| i64::from(v.unwrap_or(0));
        RuleChange {
            base_order: Some(
                match r.base_order {
                    BaseOrder::CheckIn => "check_in",
                    BaseOrder::HisSequence => "his_sequence",
                }
                .into(),
            ),
            return_interval: r.return_interval.map(i64::from),
            return_as_normal: Some(r.return_interval.is_none()),
            return_ratio: Some(off(r.return_ratio)),
            recall_interval: Some(i64::from(r.recall_interval)),
            recall_mode: Some(
                match r.recall_mode {
                    RecallMode::Interval => "interval",
                    RecallMode::EndOfSlot => "end_of_slot",
                    RecallMode::EndOfSession => "end_of_session",
                }
                .into(),
            ),
            fairness_cap: Some(off(r.fairness_cap)),
            max_overtaken: Some(off(r.max_overtaken)),
            max_misses: Some(i64::from(r.max_misses)),
            locked_head: Some(i64::from(r.locked_head)),
            appointment_mode: Some(
                match r.appointment_mode {
                    AppointmentMode::Merged => "merged",
                    AppointmentMode::AlwaysFirst => "always_first",
                    AppointmentMode::Slot => "slot",
                }
                .into(),
            ),
            early_check_in_minutes: Some(match r.early_check_in {
                EarlyCheckIn::Unlimited => -1,
                EarlyCheckIn::Forbidden => 0,
                EarlyCheckIn::Minutes(m) => i64::from(m),
            }),
            late_arrival: Some(
                match r.late_arrival {
                    LateArrival::Interval(_) => "interval",
                    LateArrival::AsOnTime => "as_on_time",
                    LateArrival::EndOfSession => "end_of_session",
                    LateArrival::EndOfSlot => "end_of_slot",
                }
                .into(),
            ),
            late_arrival_interval: match r.late_arrival {
                LateArrival::Interval(n) => Some(i64::from(n)),
                _ => None,
            },
            special_levels: Some(
                r.special_levels
                    .iter()
                    .map(|(t, l)| (t.as_str().to_string(), i64::from(*l)))
                    .collect(),
            ),
            elderly_min_age: r.elderly_min_age.map(i64::from),
            child_max_age: r.child_max_age.map(i64::from),
            slot_minutes: Some(i64::from(r.day.slot_minutes)),
            sessions: Some(
                r.day
                    .sessions
                    .iter()
                    .map(|s| SessionInput {
                        name: s.name.clone(),
                        start: s.start.format("%H:%M").to_string(),
                        end: s.end.format("%H:%M").to_string(),
                    })
                    .collect(),
            ),
        }
    }

    /// Applies the change to `current`, checking every field; all problems
    /// are reported, and nothing is applied unless there are none.
    pub fn apply(&self, current: &QueueRules) -> Result<QueueRules, Vec<FieldError>> {
        let mut r = current.clone();
        let mut c = Check { errors: Vec::new() };
        self.apply_order(&mut r, &mut c);
        self.apply_appointments(&mut r, &mut c);
        self.apply_groups(&mut r, &mut c);
        self.apply_day(&mut r, &mut c);
        if c.errors.is_empty() {
            Ok(r)
        } else {
            Err(c.errors)
        }
    }

    /// The order of the line: base order, return visits, recalls, the
    /// fairness and overtake caps, missed calls, the locked head.
    fn apply_order(&self, r: &mut QueueRules, c: &mut Check) {
        if let Some(v) = &self.base_order {
            if let Some(o) = c.choice(
                v,
                "base_order",
                &[
                    ("check_in", BaseOrder::CheckIn),
                    ("his_sequence", BaseOrder::HisSequence),
                ],
            ) {
                r.base_order = o;
            }
        }
        if let Some(n) = self.return_interval {
            if let Some(n) = c.range(n, 0, 50, "return_interval", "复诊患者之间的普通患者人数")
            {
                r.return_interval = Some(n);
            }
        }
        if self.return_as_normal == Some(true) {
            r.return_interval = None;
        }
        if let Some(n) = self.return_ratio {
            if let Some(k) = c.off_or(n, 2, 20, "return_ratio", "每叫 K 位插入一位复诊患者")
            {
                r.return_ratio = k;
            }
        }
        if let Some(n) = self.recall_interval {
            if let Some(n) = c.range(n, 0, 50, "recall_interval", "过号患者前的普通患者人数")
            {
                r.recall_interval = n;
            }
        }
        if let Some(v) = &self.recall_mode {
            if let Some(m) = c.choice(
                v,
                "recall_mode",
                &[
                    ("interval", RecallMode::Interval),
                    ("end_of_slot", RecallMode::EndOfSlot),
                    ("end_of_session", RecallMode::EndOfSession),
                ],
            ) {
                r.recall_mode = m;
            }
        }
        if let Some(n) = self.fairness_cap {
            if let Some(k) = c.off_or(n, 1, 50, "fairness_cap", "连续优先叫号的人数上限")
            {
                r.fairness_cap = k;
            }
        }
        if let Some(n) = self.max_overtaken {
            if let Some(k) = c.off_or(n, 1, 50, "max_overtaken", "普通患者最多被插队的次数")
            {
                r.max_overtaken = k;
            }
        }
        if let Some(n) = self.max_misses {
            if let Some(n) = c.range(n, 1, 9, "max_misses", "过号几次记为爽约") {
                r.max_misses = n;
            }
        }
        if let Some(n) = self.locked_head {
            if let Some(n) = c.range(n, 0, 10, "locked_head", "锁定不再插队的队首人数") {
                r.locked_head = n;
            }
        }
    }

    /// Appointment patients: mode, early check-in, late arrivals.
    fn apply_appointments(&self, r: &mut QueueRules, c: &mut Check) {
        if let Some(v) = &self.appointment_mode {
            if let Some(m) = c.choice(
                v,
                "appointment_mode",
                &[
                    ("merged", AppointmentMode::Merged),
                    ("always_first", AppointmentMode::AlwaysFirst),
                    ("slot", AppointmentMode::Slot),
                ],
            ) {
                r.appointment_mode = m;
            }
        }
        if let Some(n) = self.early_check_in_minutes {
            match n {
                -1 => r.early_check_in = EarlyCheckIn::Unlimited,
                0 => r.early_check_in = EarlyCheckIn::Forbidden,
                m => {
                    if let Some(m) = c.range(
                        m,
                        1,
                        720,
                        "early_check_in_minutes",
                        "-1 (any time), 0 (not before the slot) or minutes",
                    ) {
                        r.early_check_in = EarlyCheckIn::Minutes(m);
                    }
                }
            }
        }
        self.apply_late(r, c);
    }

    /// Special groups: levels and the age limits of the age tags.
    fn apply_groups(&self, r: &mut QueueRules, c: &mut Check) {
        if let Some(levels) = &self.special_levels {
            let mut map = BTreeMap::new();
            for (tag, level) in levels {
                let field = format!("special_levels.{tag}");
                match SpecialTag::parse(tag) {
                    None => c.errors.push(FieldError {
                        code: ErrorCode::UnknownSpecialTag,
                        field,
                        message: format!("特殊人群标记只能是：{}", SpecialTag::codes()),
                    }),
                    Some(t) => {
                        if let Some(l) = c.range(*level, 1, 9, &field, "优先级别，1 最先") {
                            map.insert(t, l as u8);
                        }
                    }
                }
            }
            r.special_levels = map;
        }
        if let Some(n) = self.elderly_min_age {
            if let Some(n) = c.range(n, 50, 120, "elderly_min_age", "高龄老人起始年龄（岁）")
            {
                r.elderly_min_age = Some(n);
            }
        }
        if let Some(n) = self.child_max_age {
            if let Some(n) = c.range(n, 1, 18, "child_max_age", "幼儿最大年龄（岁）") {
                r.child_max_age = Some(n);
            }
        }
    }

    /// The clinic day: slot length and sessions.
    fn apply_day(&self, r: &mut QueueRules, c: &mut Check) {
        if let Some(n) = self.slot_minutes {
            if let Some(n) = c.range(n, 5, 240, "slot_minutes", "每个预约时段的分钟数") {
                r.day.slot_minutes = n;
            }
        }
        if let Some(list) = &self.sessions {
            if let Some(sessions) = sessions(list, c) {
                r.day.sessions = sessions;
            }
        }
    }

    fn apply_late(&self, r: &mut QueueRules, c: &mut Check) {
        let interval_now = match r.late_arrival {
            LateArrival::Interval(n) => n,
            _ => 3,
        };
        let mode = match &self.late_arrival {
            None => None,
            Some(v) => c.choice(
                v,
                "late_arrival",
                &[
                    ("interval", "interval"),
                    ("as_on_time", "as_on_time"),
                    ("end_of_session", "end_of_session"),
                    ("end_of_slot", "end_of_slot"),
                ],
            ),
        };
        let interval = match self.late_arrival_interval {
            None => None,
            Some(-1) if mode.is_none() => {
                r.late_arrival = LateArrival::AsOnTime;
                return;
            }
            Some(n) => c.range(
                n,
                0,
                50,
                "late_arrival_interval",
                "迟到患者前的普通患者人数（-1 为按准时处理）",
            ),
        };
        match (mode, interval, self.late_arrival_interval) {
            (Some("interval"), n, _) => {
                r.late_arrival = LateArrival::Interval(n.unwrap_or(interval_now))
            }
            (Some(_), _, Some(_)) => c.fail(
                "late_arrival_interval",
                "只有迟到规则选“间隔插入”时才能设置间隔",
            ),
            (Some("as_on_time"), ..) => r.late_arrival = LateArrival::AsOnTime,
            (Some("end_of_session"), ..) => r.late_arrival = LateArrival::EndOfSession,
            (Some(_), ..) => r.late_arrival = LateArrival::EndOfSlot,
            (None, Some(n), _) => r.late_arrival = LateArrival::Interval(n),
            (None, None, _) => {}
        }
    }
}

/// Checks a list of sessions: 1-6, each named, `HH:MM` times, start before
/// end, in order and not overlapping.
fn sessions(list: &[SessionInput], c: &mut Check) -> Option<Vec<Session>> {
    if list.is_empty() || list.len() > 6 {
        c.fail("sessions", "时段数须为 1 至 6 个");
        return None;
    }
    let before = c.errors.len();
    let mut out: Vec<Session> = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let name = s.name.trim();
        if name.is_empty() || s.name.chars().count() > 16 || name.chars().any(char::is_control) {
            c.fail(format!("sessions[{i}].name"), "时段名称为 1 至 16 个字");
        }
        let start = parse_time(&s.start);
        let end = parse_time(&s.end);
        if start.is_none() {
            c.fail(
                format!("sessions[{i}].start"),
                "时间格式为 时:分（如 08:00）",
            );
        }
        if end.is_none() {
            c.fail(format!("sessions[{i}].end"), "时间格式为 时:分（如 08:00）");
        }
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        if start >= end {
            c.fail(format!("sessions[{i}].end"), "时段的结束时间须晚于开始时间");
            continue;
        }
        if out.last().is_some_and(|p| p.end > start) {
            c.fail(format!("sessions[{i}].start"), "时段须按先后排列且不能重叠");
        }
        out.push(Session {
            name: name.to_string(),
            start,
            end,
        });
    }
    (c.errors.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_written_as_a_change_apply_back_to_themselves() {
        let base = QueueRules::default();
        let variants = [
            serde_json::json!({}),
            serde_json::json!({"base_order": "his_sequence", "return_as_normal": true,
                "return_ratio": 3, "recall_mode": "end_of_slot", "fairness_cap": 4,
                "max_overtaken": 6, "locked_head": 2, "appointment_mode": "slot",
                "early_check_in_minutes": -1, "late_arrival": "interval",
                "late_arrival_interval": 5, "special_levels": {"pregnant": 1, "military": 2},
                "elderly_min_age": 70, "child_max_age": 3, "slot_minutes": 20,
                "sessions": [{"name": "上午", "start": "07:30", "end": "11:30"}]}),
            serde_json::json!({"early_check_in_minutes": 0, "late_arrival": "end_of_session"}),
            serde_json::json!({"early_check_in_minutes": 45, "late_arrival": "as_on_time"}),
        ];
        for v in variants {
            let change: RuleChange = serde_json::from_value(v.clone()).unwrap_or_default();
            let Ok(rules) = change.apply(&base) else {
                panic!("{v} does not apply");
            };
            let again = RuleChange::of(&rules).apply(&base);
            assert_eq!(again.as_ref().ok(), Some(&rules), "{v}: {again:?}");
            // Also over other rules: the form is the whole of them.
            let other = RuleChange::of(&rules).apply(&rules);
            assert_eq!(other.ok(), Some(rules));
        }
    }

    fn apply(json: serde_json::Value) -> Result<QueueRules, Vec<FieldError>> {
        let change: RuleChange =
            serde_json::from_value(json).unwrap_or_else(|e| panic!("shape: {e}"));
        change.apply(&QueueRules::default())
    }

    #[test]
    fn every_rule_is_set_by_name() {
        let r = apply(serde_json::json!({
            "base_order": "his_sequence", "appointment_mode": "slot",
            "late_arrival": "end_of_slot", "recall_mode": "end_of_session",
            "max_overtaken": 4, "slot_minutes": 20,
            "sessions": [{"name": "上午", "start": "07:30", "end": "11:30"}],
        }));
        let r = r.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.base_order, BaseOrder::HisSequence);
        assert_eq!(r.appointment_mode, AppointmentMode::Slot);
        assert_eq!(r.late_arrival, LateArrival::EndOfSlot);
        assert_eq!(r.recall_mode, RecallMode::EndOfSession);
        assert_eq!(r.max_overtaken, Some(4));
        assert_eq!(r.day.slot_minutes, 20);
        assert_eq!(r.day.sessions.len(), 1);
    }

    #[test]
    fn every_bad_field_is_named_and_nothing_applies() {
        let errs = apply(serde_json::json!({
            "base_order": "alphabetical", "fairness_cap": 99, "slot_minutes": 1,
            "special_levels": {"vip": 1},
            "sessions": [{"name": "上午", "start": "08:00", "end": "12:00"},
                         {"name": "下午", "start": "11:00", "end": "17:00"}],
            "late_arrival": "end_of_slot", "late_arrival_interval": 2,
        }))
        .err()
        .unwrap_or_default();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "base_order",
                "fairness_cap",
                "late_arrival_interval",
                "special_levels.vip",
                "slot_minutes",
                "sessions[1].start"
            ]
        );
        assert_eq!(errs[3].code, ErrorCode::UnknownSpecialTag);
    }

    #[test]
    fn late_arrival_interval_alone_keeps_its_meaning() {
        let r = apply(serde_json::json!({"late_arrival_interval": -1}));
        assert_eq!(r.map(|r| r.late_arrival), Ok(LateArrival::AsOnTime));
        let r = apply(serde_json::json!({"late_arrival_interval": 4}));
        assert_eq!(r.map(|r| r.late_arrival), Ok(LateArrival::Interval(4)));
        let r = apply(serde_json::json!({"late_arrival": "interval"}));
        assert_eq!(r.map(|r| r.late_arrival), Ok(LateArrival::Interval(3)));
    }
}
