//! Plain domain values shared by the engine: waiting entries, current calls,
//! room status, audit stamps and the views that screens and the API read.
//!
//! Nothing here holds a full patient name: entries carry the masked name
//! shown on screens and the name spoken by the voice (already reduced per
//! the hospital's privacy setting when the entry was built).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::{DepartmentCode, DoctorCode, QueueCode, RoomCode, VisitNo};

/// How an entry entered the queue; decides which ordering rule places it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum EntryKind {
    /// Checked in on time, no priority.
    Normal,
    /// Return visit (复诊 / 回诊): placed by the return-visit interval rule.
    Return,
    /// Came back after a missed call (过号召回): placed by the recall interval.
    Recall,
    /// An appointment patient who checked in after the slot ended, placed by
    /// the late-arrival interval.
    Late,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 4] = [
        EntryKind::Normal,
        EntryKind::Return,
        EntryKind::Recall,
        EntryKind::Late,
    ];

    /// Stable code stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Normal => "normal",
            EntryKind::Return => "return",
            EntryKind::Recall => "recall",
            EntryKind::Late => "late",
        }
    }

    /// The kind of a stored code, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "normal" => Some(EntryKind::Normal),
            "return" => Some(EntryKind::Return),
            "recall" => Some(EntryKind::Recall),
            "late" => Some(EntryKind::Late),
            _ => None,
        }
    }
}

/// Where a visit stands (就诊状态). The allowed moves between statuses
/// live here, in [`VisitStatus::can_become`], and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum VisitStatus {
    /// Registered by HIS, not checked in yet (已挂号).
    Registered,
    /// In a queue with a ticket (候诊).
    Waiting,
    /// Called into a room (就诊中).
    Called,
    /// Done (诊结).
    Finished,
    /// Missed a call, set aside (过号); may come back.
    Missed,
    /// Missed too many calls; the visit ended (未到).
    NoShow,
    /// Sent for an exam; comes back with the results (检查中).
    Exam,
    /// Cancelled by HIS (退号).
    Cancelled,
    /// Still open when its day ended (日终): closed with a final status
    /// ([`DayEndStatus`]).
    Closed,
}

impl VisitStatus {
    pub const ALL: [VisitStatus; 9] = [
        VisitStatus::Registered,
        VisitStatus::Waiting,
        VisitStatus::Called,
        VisitStatus::Finished,
        VisitStatus::Missed,
        VisitStatus::NoShow,
        VisitStatus::Exam,
        VisitStatus::Cancelled,
        VisitStatus::Closed,
    ];

    /// The stable code (API and database).
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Registered => "registered",
            VisitStatus::Waiting => "waiting",
            VisitStatus::Called => "called",
            VisitStatus::Finished => "finished",
            VisitStatus::Missed => "missed",
            VisitStatus::NoShow => "no_show",
            VisitStatus::Exam => "exam",
            VisitStatus::Cancelled => "cancelled",
            VisitStatus::Closed => "closed",
        }
    }

    /// The status of a stored code, if it is one.
    pub fn parse(code: &str) -> Option<VisitStatus> {
        VisitStatus::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// Whether a visit in this status may move to `next`: check-in,
    /// calls, the end of a call (finished, missed, no-show, exam), back
    /// after a miss or an exam, transfers (waiting or called → waiting
    /// elsewhere) and cancellation before the visit ended.
    pub fn can_become(self, next: VisitStatus) -> bool {
        use VisitStatus::*;
        matches!(
            (self, next),
            (Registered, Waiting | Cancelled)
                | (Waiting, Waiting | Called | Cancelled)
                | (
                    Called,
                    Waiting | Finished | Missed | NoShow | Exam | Cancelled
                )
                | (Missed | Exam, Waiting)
                | (Waiting | Called | Missed | Exam, Closed)
        )
    }

    /// The statuses from which a visit may move to `next`.
    pub fn sources(next: VisitStatus) -> Vec<VisitStatus> {
        VisitStatus::ALL
            .into_iter()
            .filter(|s| s.can_become(next))
            .collect()
    }

    /// Whether the visit is over (nothing moves it any more).
    pub fn is_final(self) -> bool {
        VisitStatus::ALL.iter().all(|n| !self.can_become(*n))
    }
}

/// How a visit still open at the end of its day was closed (日终).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum DayEndStatus {
    /// Waiting or called, never finished (未就诊).
    NotSeen,
    /// Missed a call and never came back (过号未回).
    MissedUnreturned,
    /// Sent for an exam and never came back (检查未回).
    ExamUnreturned,
}

impl DayEndStatus {
    /// Every final status.
    pub const ALL: [DayEndStatus; 3] = [
        DayEndStatus::NotSeen,
        DayEndStatus::MissedUnreturned,
        DayEndStatus::ExamUnreturned,
    ];

    /// The status of a stored code, if it is one.
    pub fn parse(code: &str) -> Option<DayEndStatus> {
        DayEndStatus::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// The final status of a visit closed at day end in `status`, if it
    /// was still open.
    pub fn of(status: VisitStatus) -> Option<DayEndStatus> {
        match status {
            VisitStatus::Waiting | VisitStatus::Called => Some(DayEndStatus::NotSeen),
            VisitStatus::Missed => Some(DayEndStatus::MissedUnreturned),
            VisitStatus::Exam => Some(DayEndStatus::ExamUnreturned),
            _ => None,
        }
    }

    /// The stable code (API and database).
    pub fn as_str(self) -> &'static str {
        match self {
            DayEndStatus::NotSeen => "not_seen",
            DayEndStatus::MissedUnreturned => "missed_unreturned",
            DayEndStatus::ExamUnreturned => "exam_unreturned",
        }
    }

    /// What staff read.
    pub fn label_zh(self) -> &'static str {
        match self {
            DayEndStatus::NotSeen => "未就诊",
            DayEndStatus::MissedUnreturned => "过号未回",
            DayEndStatus::ExamUnreturned => "检查未回",
        }
    }
}

impl std::fmt::Display for VisitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stable code of a placement — why a patient stands where they stand,
/// without the rule's numbers: what a call records, the API answers and
/// the database stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum PlacementCode {
    RoomWaiting,
    Pinned,
    Moved,
    LockedHead,
    OvertakeCap,
    FairnessCap,
    SpecialGroup,
    ReturnInterval,
    ReturnRatio,
    RecallInterval,
    RecallEndOfSlot,
    RecallEndOfSession,
    LateInterval,
    LateEndOfSlot,
    LateEndOfSession,
    LateAsOnTime,
    Appointment,
    HisSequence,
    CheckInOrder,
    Manual,
    AwaitingSlot,
    Held,
}

impl PlacementCode {
    pub const ALL: [PlacementCode; 22] = [
        PlacementCode::RoomWaiting,
        PlacementCode::Pinned,
        PlacementCode::Moved,
        PlacementCode::LockedHead,
        PlacementCode::OvertakeCap,
        PlacementCode::FairnessCap,
        PlacementCode::SpecialGroup,
        PlacementCode::ReturnInterval,
        PlacementCode::ReturnRatio,
        PlacementCode::RecallInterval,
        PlacementCode::RecallEndOfSlot,
        PlacementCode::RecallEndOfSession,
        PlacementCode::LateInterval,
        PlacementCode::LateEndOfSlot,
        PlacementCode::LateEndOfSession,
        PlacementCode::LateAsOnTime,
        PlacementCode::Appointment,
        PlacementCode::HisSequence,
        PlacementCode::CheckInOrder,
        PlacementCode::Manual,
        PlacementCode::AwaitingSlot,
        PlacementCode::Held,
    ];

    /// The stable code (API and database).
    pub fn as_str(self) -> &'static str {
        match self {
            PlacementCode::RoomWaiting => "room_waiting",
            PlacementCode::Pinned => "pinned",
            PlacementCode::Moved => "moved",
            PlacementCode::LockedHead => "locked_head",
            PlacementCode::OvertakeCap => "overtake_cap",
            PlacementCode::FairnessCap => "fairness_cap",
            PlacementCode::SpecialGroup => "special_group",
            PlacementCode::ReturnInterval => "return_interval",
            PlacementCode::ReturnRatio => "return_ratio",
            PlacementCode::RecallInterval => "recall_interval",
            PlacementCode::RecallEndOfSlot => "recall_end_of_slot",
            PlacementCode::RecallEndOfSession => "recall_end_of_session",
            PlacementCode::LateInterval => "late_interval",
            PlacementCode::LateEndOfSlot => "late_end_of_slot",
            PlacementCode::LateEndOfSession => "late_end_of_session",
            PlacementCode::LateAsOnTime => "late_as_on_time",
            PlacementCode::Appointment => "appointment",
            PlacementCode::HisSequence => "his_sequence",
            PlacementCode::CheckInOrder => "check_in_order",
            PlacementCode::Manual => "manual",
            PlacementCode::AwaitingSlot => "awaiting_slot",
            PlacementCode::Held => "held",
        }
    }

    /// The code of a stored text, if it is one.
    pub fn parse(code: &str) -> Option<PlacementCode> {
        PlacementCode::ALL.into_iter().find(|p| p.as_str() == code)
    }

    /// The short reason staff read beside a called patient.
    pub fn reason_zh(self) -> &'static str {
        match self {
            PlacementCode::RoomWaiting => "诊室候诊",
            PlacementCode::Pinned => "护士置顶",
            PlacementCode::Moved => "护士调整顺序",
            PlacementCode::LockedHead => "位置锁定",
            PlacementCode::OvertakeCap => "公平保障",
            PlacementCode::FairnessCap => "公平保障",
            PlacementCode::SpecialGroup => "特殊人群优先",
            PlacementCode::ReturnInterval => "复诊插入",
            PlacementCode::ReturnRatio => "复诊按比例",
            PlacementCode::RecallInterval => "过号召回",
            PlacementCode::RecallEndOfSlot => "过号召回",
            PlacementCode::RecallEndOfSession => "过号召回",
            PlacementCode::LateInterval => "预约迟到",
            PlacementCode::LateEndOfSlot => "预约迟到",
            PlacementCode::LateEndOfSession => "预约迟到",
            PlacementCode::LateAsOnTime => "预约迟到",
            PlacementCode::Appointment => "预约患者",
            PlacementCode::HisSequence => "按挂号序号",
            PlacementCode::CheckInOrder => "按签到顺序",
            PlacementCode::Manual => "指定叫号",
            PlacementCode::AwaitingSlot => "等待预约时段",
            PlacementCode::Held => "护士挂起",
        }
    }
}

impl std::fmt::Display for PlacementCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a room's command ended its current patient's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Finished,
    SentForExam,
    Skipped,
    NoShow,
}

/// A patient's or doctor's sex as GB/T 2261.1 codes it; stored as its
/// code (`"0"`, `"1"`, `"2"`, `"9"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum Sex {
    /// 0 未知的性别.
    Unknown,
    /// 1 男.
    Male,
    /// 2 女.
    Female,
    /// 9 未说明的性别.
    Unstated,
}

impl Sex {
    /// Every sex, in code order.
    pub const ALL: [Sex; 4] = [Sex::Unknown, Sex::Male, Sex::Female, Sex::Unstated];

    /// The GB/T 2261.1 code, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Unknown => "0",
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::Unstated => "9",
        }
    }

    /// The sex of a stored code, if it is one.
    pub fn parse(code: &str) -> Option<Sex> {
        Sex::ALL.into_iter().find(|s| s.as_str() == code)
    }
}

/// Written as its code (`"1"`), as stored.
impl Serialize for Sex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sex, D::Error> {
        let code = String::deserialize(d)?;
        Sex::parse(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("{code} is no GB/T 2261.1 sex code")))
    }
}

/// A special group (特殊人群), as HIS or a nurse tags a patient or the
/// rules compute it from the birth date (elderly, child). Serialised as
/// the stable snake_case codes of the API; variants in code order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialTag {
    Child,
    Disabled,
    Elderly,
    Military,
    Pregnant,
}

impl SpecialTag {
    /// Every tag, in code order.
    pub const ALL: [SpecialTag; 5] = [
        SpecialTag::Child,
        SpecialTag::Disabled,
        SpecialTag::Elderly,
        SpecialTag::Military,
        SpecialTag::Pregnant,
    ];

    /// The stable code (API, configuration, database).
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialTag::Child => "child",
            SpecialTag::Disabled => "disabled",
            SpecialTag::Elderly => "elderly",
            SpecialTag::Military => "military",
            SpecialTag::Pregnant => "pregnant",
        }
    }

    /// The tag of a code, if it is one.
    pub fn parse(code: &str) -> Option<SpecialTag> {
        SpecialTag::ALL.into_iter().find(|t| t.as_str() == code)
    }

    /// What staff read (特殊人群提醒).
    pub fn label_zh(self) -> &'static str {
        match self {
            SpecialTag::Child => "幼儿",
            SpecialTag::Disabled => "残疾人",
            SpecialTag::Elderly => "高龄老人",
            SpecialTag::Military => "军人",
            SpecialTag::Pregnant => "孕妇",
        }
    }

    /// The codes, for messages: "child, disabled, …".
    pub fn codes() -> String {
        SpecialTag::ALL.map(SpecialTag::as_str).join(", ")
    }
}

impl std::fmt::Display for SpecialTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A nurse's changes to the special groups HIS sent (特殊人群标记): groups
/// she added and groups she took away. Kept apart from what HIS sends, so
/// a HIS message sent again neither undoes her marks nor is hidden by them:
/// the registration's groups are always `(HIS ∪ added) \ removed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMarks {
    /// Sorted, once each.
    pub added: Vec<SpecialTag>,
    /// Sorted, once each; never also in `added`.
    pub removed: Vec<SpecialTag>,
}

impl StaffMarks {
    /// The marks that turn what HIS sent into what the nurse wants.
    pub fn between(his: &[SpecialTag], wanted: &[SpecialTag]) -> StaffMarks {
        let mut added: Vec<SpecialTag> = wanted
            .iter()
            .filter(|t| !his.contains(t))
            .copied()
            .collect();
        let mut removed: Vec<SpecialTag> = his
            .iter()
            .filter(|t| !wanted.contains(t))
            .copied()
            .collect();
        added.sort();
        added.dedup();
        removed.sort();
        removed.dedup();
        StaffMarks { added, removed }
    }

    /// The registration's groups: what HIS sent with these marks applied
    /// (sorted, once each).
    pub fn apply(&self, his: &[SpecialTag]) -> Vec<SpecialTag> {
        let mut tags: Vec<SpecialTag> = his
            .iter()
            .chain(&self.added)
            .filter(|t| !self.removed.contains(t))
            .copied()
            .collect();
        tags.sort();
        tags.dedup();
        tags
    }

    /// The stored form (one JSON text; the database compares it to detect
    /// a change made meanwhile).
    pub fn to_json(&self) -> String {
        let codes = |tags: &[SpecialTag]| {
            tags.iter()
                .map(|t| format!("\"{}\"", t.as_str()))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "{{\"added\":[{}],\"removed\":[{}]}}",
            codes(&self.added),
            codes(&self.removed)
        )
    }
}

/// A special-group mark (特殊人群): the tag that won and its level (1 = first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialMark {
    pub tag: SpecialTag,
    pub level: u8,
}

/// One patient waiting in one queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingEntry {
    pub visit_no: VisitNo,
    pub ticket_no: String,
    /// Name as public screens show it (张*三).
    pub masked_name: String,
    /// Name as the voice says it, per the privacy setting (may be empty).
    pub spoken_name: String,
    pub checked_in_at: DateTime<Utc>,
    /// Arrival order within the queue; breaks ties of equal check-in times.
    pub seq: i64,
    pub kind: EntryKind,
    pub special: Option<SpecialMark>,
    /// The queue's `normal_calls_total` when this entry was (re)inserted; the
    /// interval rule counts normal calls since then.
    pub mark: i64,
    /// Every special tag the patient carries, for the nurse/doctor reminder.
    pub tags: Vec<SpecialTag>,
    /// Missed calls so far (过号次数).
    #[serde(default)]
    pub misses: i32,
    /// Held by a nurse (挂起): stays in the list, never called until released.
    #[serde(default)]
    pub held: bool,
    /// Pinned to the top by a nurse (置顶), at this time.
    #[serde(default)]
    pub pinned_at: Option<DateTime<Utc>>,
    /// Locked head: the order in which this patient was told they are next;
    /// nobody is inserted ahead of a locked patient.
    #[serde(default)]
    pub locked: Option<i64>,
    /// The appointment slot (预约时段), if the patient has one.
    #[serde(default)]
    pub slot: Option<Slot>,
    /// The HIS registration sequence number (挂号序号), for queues ordered
    /// by it instead of by check-in time.
    #[serde(default)]
    pub his_seq: Option<i64>,
    /// Moved by a nurse to a position (调整顺序).
    #[serde(default)]
    pub moved: Option<MoveMark>,
    /// Sent ahead to one room's own short list (二级候诊): only that room
    /// calls this patient now.
    #[serde(default)]
    pub assigned: Option<Assignment>,
    /// The special tags of the registration (HIS or staff); `tags` is these
    /// plus the age tags the queue's rules compute from `birth_date`.
    #[serde(default)]
    pub registered_tags: Vec<SpecialTag>,
    /// Birth date, for the age tags (elderly, child) of the rules in force.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// The room an appointment booked (预约到诊室): no other room calls
    /// this patient by the rules.
    #[serde(default)]
    pub room: Option<RoomCode>,
}

/// A nurse's move of a waiting patient to a position in the calling order.
/// The position counts down as patients are taken from the queue, so the
/// patient moves up with the line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveMark {
    /// The position asked for (1 = next).
    pub position: u32,
    /// The queue's `taken_total` when moved.
    pub mark: i64,
    pub at: DateTime<Utc>,
}

/// A patient sent to a room's short list (诊室候诊): which room, when, and
/// the rule that picked them (kept to say why when they are called).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub room: RoomCode,
    pub at: DateTime<Utc>,
    /// The queue's `taken_total` after the send: orders a room's short list.
    pub order: i64,
    pub placement: PlacementCode,
}

/// An appointment slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Room status (诊室状态).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum RoomStatus {
    Open,
    Paused,
    Closed,
}

impl RoomStatus {
    /// Every status.
    pub const ALL: [RoomStatus; 3] = [RoomStatus::Open, RoomStatus::Paused, RoomStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            RoomStatus::Open => "open",
            RoomStatus::Paused => "paused",
            RoomStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(RoomStatus::Open),
            "paused" => Some(RoomStatus::Paused),
            "closed" => Some(RoomStatus::Closed),
            _ => None,
        }
    }

    /// The status alone, in Chinese (开诊 / 暂停叫号 / 停诊); what a room
    /// is doing, as screens and pages show it, is [`room_label`].
    pub fn label_zh(self) -> &'static str {
        match self {
            RoomStatus::Open => "开诊",
            RoomStatus::Paused => "暂停叫号",
            RoomStatus::Closed => "停诊",
        }
    }
}

/// What a room is doing, in the one label every screen and staff page
/// shows beside its name: its status, who sits in it, whether HIS has its
/// doctor off duty, and whether a patient is with the doctor. A room whose
/// doctor stepped away never says 就诊中, and an idle one says 等待叫号.
pub fn room_label(
    status: RoomStatus,
    seat: SeatState,
    off_duty: bool,
    seeing: bool,
) -> &'static str {
    match (status, seat) {
        (RoomStatus::Closed, _) => "停诊",
        (_, SeatState::Out) => "暂无医生",
        _ if off_duty => "停诊",
        (RoomStatus::Paused, _) => "暂停叫号",
        (_, SeatState::Break) => "医生暂离",
        _ if seeing => "就诊中",
        _ => "等待叫号",
    }
}

/// Who sits in a room (医生坐诊): the configuration's doctor until a
/// doctor signs in; a signed-in doctor may step away (暂离) or sign out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(
    feature = "diesel",
    derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow),
    diesel(sql_type = diesel::sql_types::Text)
)]
pub enum SeatState {
    /// The configuration's doctor (nobody signed in yet).
    #[default]
    Configured,
    /// The doctor the schedule (出诊排班) gives this session, not signed in
    /// yet.
    Scheduled,
    /// A doctor signed in (坐诊).
    In,
    /// The signed-in doctor stepped away (暂离).
    Break,
    /// Nobody: the doctor signed out (签退).
    Out,
}

impl SeatState {
    /// Every seat state.
    pub const ALL: [SeatState; 5] = [
        SeatState::Configured,
        SeatState::Scheduled,
        SeatState::In,
        SeatState::Break,
        SeatState::Out,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeatState::Configured => "configured",
            SeatState::Scheduled => "scheduled",
            SeatState::In => "in",
            SeatState::Break => "break",
            SeatState::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SeatState::Configured,
            SeatState::Scheduled,
            SeatState::In,
            SeatState::Break,
            SeatState::Out,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// What the door screen says beside the doctor, if anything.
    pub fn notice_zh(self) -> Option<&'static str> {
        match self {
            SeatState::Break => Some("医生暂时离开，请稍候"),
            SeatState::Out => Some("本诊室暂无医生坐诊"),
            _ => None,
        }
    }
}

/// Static facts of a room from the hospital configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: RoomCode,
    pub name: String,
    /// How the voice names the room ("内科3诊室").
    pub spoken_name: String,
    pub department_code: DepartmentCode,
    pub department_name: String,
    pub doctor_code: Option<DoctorCode>,
    /// Queues the room calls from, in order (doctor's own first).
    pub draws_from: Vec<QueueCode>,
    /// Mix weights, one per queue in `draws_from` (a room calls from them by
    /// weighted turns); empty: in order, the first queue with someone.
    #[serde(default)]
    pub mix: Vec<u32>,
    /// Two-stage waiting: how many patients this room's own short list
    /// (诊室候诊) holds; 0 = off (the room calls from the general list).
    #[serde(default)]
    pub waiting_cap: u32,
    /// Who sits in the room: the configuration's doctor, a signed-in one,
    /// one away for a moment, or nobody.
    #[serde(default)]
    pub seat: SeatState,
}

/// The patient a room is serving (or has called and is waiting for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentCall {
    pub visit_no: VisitNo,
    pub ticket_no: String,
    pub masked_name: String,
    pub spoken_name: String,
    pub queue_code: QueueCode,
    pub called_at: DateTime<Utc>,
    /// How many times this patient has been called in this room (1 = first call).
    pub call_count: i32,
    /// Why this patient was chosen (placement code at the time of the call).
    pub placement: PlacementCode,
    pub tags: Vec<SpecialTag>,
    /// Missed calls before this one.
    #[serde(default)]
    pub misses: i32,
}

/// Who did something, when and from where; every change carries one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// Staff number, system name (`his`, `demo-simulator`) or `anonymous`.
    pub operator: String,
    /// Where the request came from (peer address or subsystem).
    pub source: String,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Queue counters the ordering rules read; persisted with every call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Normal patients called from this queue, ever.
    pub normal_calls_total: i64,
    /// `normal_calls_total` when the last inserted patient was called.
    pub last_insert_mark: i64,
    /// Priority or inserted patients called in a row (for the fairness cap).
    pub consecutive_priority: i64,
    /// Calls since the last return patient (return visits in ratio mode).
    #[serde(default)]
    pub calls_since_return: i64,
    /// Patients taken from the general list, ever (calls and sends to a
    /// room's short list): a nurse's move counts down with it.
    #[serde(default)]
    pub taken_total: i64,
    /// Arrival numbers (`seq`) of patients called ahead of the line by a
    /// priority or insertion rule, newer than the oldest waiting patient: a
    /// normal patient has been overtaken once for each number above theirs.
    #[serde(default)]
    pub overtakes: Vec<i64>,
}

impl Counters {
    /// How often a patient who arrived as `seq` has been overtaken.
    pub fn overtaken(&self, seq: i64) -> usize {
        self.overtakes.len() - self.overtakes.partition_point(|s| *s <= seq)
    }

    /// Forgets overtakes no waiting patient can have suffered (every waiting
    /// patient arrived after them).
    pub fn prune(&mut self, oldest_waiting_seq: Option<i64>) {
        match oldest_waiting_seq {
            Some(min) => self.overtakes.retain(|s| *s > min),
            None => self.overtakes.clear(),
        }
    }
}

/// Ticket numbering state of a queue: numbers restart every service day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCounter {
    pub date: NaiveDate,
    pub last: u32,
}

/// The stored registration's new fields after a HIS correction, written by
/// the journal in the same commit as the queue's change. Opaque to the
/// engine; it carries the full name, so it prints and serialises (event
/// rows) as a placeholder and is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRecord(pub serde_json::Value);

impl std::fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedRecord(..)")
    }
}

impl Serialize for SealedRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("(registration)")
    }
}

impl<'de> Deserialize<'de> for SealedRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(SealedRecord)
    }
}

/// A HIS correction of a waiting or called patient's registration (same
/// department and doctor): what the queue or room shows of them changes in
/// one journaled change with the stored registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub visit_no: VisitNo,
    pub masked_name: String,
    pub spoken_name: String,
    /// Return visit (复诊) or not, as HIS now says.
    pub return_visit: bool,
    /// Whether HIS changed the visit type with this message: only then is
    /// the entry's kind decided again (a patient back from an exam stays
    /// one whatever else is corrected).
    pub visit_type_changed: bool,
    /// The registration's special tags (the queue adds the age tags).
    pub registered_tags: Vec<SpecialTag>,
    pub birth_date: Option<NaiveDate>,
    pub his_seq: Option<i64>,
    pub slot: Option<Slot>,
    pub record: SealedRecord,
    /// The nurse's marks `registered_tags` was computed with; the stored
    /// correction checks they did not change meanwhile.
    #[serde(default)]
    pub staff_marks: StaffMarks,
    /// The room the appointment now books, when the patient waits in a
    /// queue that room calls from (none: any room of the queue).
    #[serde(default)]
    pub room: Option<RoomCode>,
}

// Stored as their text columns (the main crate's database).
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(EntryKind);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(VisitStatus);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(DayEndStatus);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(PlacementCode);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(Sex);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(RoomStatus);
#[cfg(feature = "diesel")]
triage_ground::stored_as_text!(SeatState);

#[cfg(test)]
mod tests {
    use super::{SpecialTag::*, StaffMarks};

    #[test]
    fn staff_marks_keep_what_the_nurse_ticked_over_what_his_sends() {
        let marks = StaffMarks::between(&[Military, Elderly], &[Pregnant, Military]);
        assert_eq!(marks.added, vec![Pregnant]);
        assert_eq!(marks.removed, vec![Elderly]);
        assert_eq!(marks.apply(&[Military, Elderly]), vec![Military, Pregnant]);
        // HIS sends again with a group of its own: it joins; the removed one stays away.
        assert_eq!(marks.apply(&[Elderly, Disabled]), vec![Disabled, Pregnant]);
        assert_eq!(StaffMarks::default().apply(&[Child]), vec![Child]);
    }

    #[test]
    fn the_stored_form_is_serde_json_and_reads_back() {
        for marks in [
            StaffMarks::default(),
            StaffMarks::between(&[Military], &[Pregnant, Child]),
        ] {
            let text = marks.to_json();
            assert_eq!(serde_json::to_string(&marks).ok(), Some(text.clone()));
            assert_eq!(serde_json::from_str::<StaffMarks>(&text).ok(), Some(marks));
        }
        // The migration's default is the empty form.
        assert_eq!(
            StaffMarks::default().to_json(),
            r#"{"added":[],"removed":[]}"#
        );
    }
}
