//! [`Placement`]: why an entry stands where it stands — a stable code for
//! the API and the database and a Chinese reason for staff.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use triage_ground::ids::RoomCode;

use crate::model::{PlacementCode, SpecialTag};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Placement {
    /// Sent to this room's short list (诊室候诊); only that room calls them.
    RoomWaiting { room: RoomCode },
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
    /// The stable code of this placement.
    pub fn kind(&self) -> PlacementCode {
        match self {
            Placement::RoomWaiting { .. } => PlacementCode::RoomWaiting,
            Placement::Pinned => PlacementCode::Pinned,
            Placement::Moved { .. } => PlacementCode::Moved,
            Placement::Locked { .. } => PlacementCode::LockedHead,
            Placement::OvertakeCap { .. } => PlacementCode::OvertakeCap,
            Placement::FairnessCap { .. } => PlacementCode::FairnessCap,
            Placement::SpecialGroup { .. } => PlacementCode::SpecialGroup,
            Placement::ReturnInterval { .. } => PlacementCode::ReturnInterval,
            Placement::ReturnRatio { .. } => PlacementCode::ReturnRatio,
            Placement::RecallInterval { .. } => PlacementCode::RecallInterval,
            Placement::RecallEndOfSlot { .. } => PlacementCode::RecallEndOfSlot,
            Placement::RecallEndOfSession { .. } => PlacementCode::RecallEndOfSession,
            Placement::LateInterval { .. } => PlacementCode::LateInterval,
            Placement::LateEndOfSlot { .. } => PlacementCode::LateEndOfSlot,
            Placement::LateEndOfSession { .. } => PlacementCode::LateEndOfSession,
            Placement::LateAsOnTime => PlacementCode::LateAsOnTime,
            Placement::Appointment => PlacementCode::Appointment,
            Placement::HisSequence => PlacementCode::HisSequence,
            Placement::CheckInOrder => PlacementCode::CheckInOrder,
            Placement::Manual => PlacementCode::Manual,
            Placement::AwaitingSlot => PlacementCode::AwaitingSlot,
            Placement::Held => PlacementCode::Held,
        }
    }

    /// Stable code for APIs and storage.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
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
