//! What the public sees: rooms, queues, doctors, calls, appointments and
//! notices as screens show them (masked names only), and what a screen is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::{DepartmentCode, DoctorCode, RoomCode, ScreenCode};

use crate::model::{CurrentCall, PlacementCode, RoomStatus};

/// Public facts of a doctor (master data from HIS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorView {
    pub code: DoctorCode,
    pub name: String,
    pub title: String,
    /// Shown on door screens; left out of overview frames.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub introduction: String,
    /// Where the screen loads the photo from, if there is one.
    pub photo_url: Option<String>,
    /// On duty (在岗); false: not seeing patients (停诊), as HIS says.
    #[serde(default = "on_duty")]
    pub on_duty: bool,
}

fn on_duty() -> bool {
    true
}

/// A waiting patient as public screens show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub ticket_no: String,
    pub masked_name: String,
    pub placement: PlacementCode,
    /// A priority patient (shown as a neutral 优先 mark: which group is for
    /// staff only, never on a public screen).
    pub priority: bool,
    /// The room an appointment booked: only that room's screens list the
    /// patient as next (never sent to a screen).
    #[serde(skip)]
    pub room: Option<RoomCode>,
}

/// The public head of a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBoard {
    /// Callable patients (general list and short lists).
    pub waiting: usize,
    /// The general list, first few, with the patients booked for one room
    /// among them in calling order (those do not count to the few).
    pub head: Vec<EntryView>,
    /// Each room's short list (二级候诊), in calling order.
    #[serde(default)]
    pub rooms: std::collections::BTreeMap<RoomCode, Vec<EntryView>>,
}

/// The patient a room calls, as screens show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallView {
    pub ticket_no: String,
    pub masked_name: String,
    pub called_at: DateTime<Utc>,
    pub call_count: i32,
    /// A priority patient (neutral mark; the group is for staff only).
    pub priority: bool,
}

impl From<&CurrentCall> for CallView {
    fn from(c: &CurrentCall) -> Self {
        CallView {
            ticket_no: c.ticket_no.clone(),
            masked_name: c.masked_name.clone(),
            called_at: c.called_at,
            call_count: c.call_count,
            priority: c.placement == PlacementCode::SpecialGroup,
        }
    }
}

/// Everything a screen shows of one room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub code: RoomCode,
    pub name: String,
    pub department_code: DepartmentCode,
    pub department_name: String,
    pub status: RoomStatus,
    pub status_label: String,
    pub doctor: Option<DoctorView>,
    /// Said beside the doctor when they stepped away or nobody sits here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_notice: Option<String>,
    pub current: Option<CallView>,
    /// Next patients: the room's own short list when it has one (two-stage
    /// waiting), else the head of the queues it calls from. Empty while the
    /// room cannot call (stopped, paused, closed, its doctor away or off
    /// duty): a screen never tells patients to get ready for a room that
    /// will not call them.
    pub next: Vec<EntryView>,
    /// While the room cannot call: what its waiting patients should do,
    /// in one sentence (Chinese), shown in place of the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    pub waiting: usize,
    /// Two-stage waiting: the short list's cap (诊室候诊上限); 0 = off.
    pub waiting_cap: u32,
    /// Patients on the room's short list now.
    pub short_list: usize,
    /// Today's appointments booked for this room not checked in yet
    /// (今日预约), by slot: on door screens that show them only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appointments: Vec<AppointmentView>,
}

/// An appointment booked for a room, as its door screen lists it: the slot
/// and the masked name only (no exam, no number: health data).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentView {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub masked_name: String,
}

/// A notice published to screens (信息发布).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    pub id: i64,
    pub text: String,
    /// `info` or `urgent`.
    pub level: String,
    pub created_at: DateTime<Utc>,
    /// When it starts showing; none for at once.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl NoticeView {
    /// Whether the notice shows at `now` (started, not expired).
    pub fn shows_at(&self, now: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|s| s <= now) && self.expires_at.is_none_or(|e| e > now)
    }
}

/// Presence of a screen device (heartbeat, online/offline).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenPresence {
    pub sessions: usize,
    pub last_seen: Option<DateTime<Utc>>,
    pub seq: u64,
}

/// How a screen shows a room: the variant of the room's frame it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoomVariant {
    pub next_count: usize,
    /// Door screens show the doctor's introduction; overviews do not.
    pub with_introduction: bool,
    /// Door screens configured to list the room's appointments of today.
    pub appointments: bool,
}

/// What a screen is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenKind {
    /// Department overview (综合屏): every room of an area.
    Overview,
    /// Room door screen (诊室门口屏).
    Door,
}

impl ScreenKind {
    /// Every kind.
    pub const ALL: [ScreenKind; 2] = [ScreenKind::Overview, ScreenKind::Door];

    /// The stable text (API, configuration, database).
    pub fn as_str(self) -> &'static str {
        match self {
            ScreenKind::Overview => "overview",
            ScreenKind::Door => "door",
        }
    }

    /// The kind a stable text names.
    pub fn parse(text: &str) -> Option<ScreenKind> {
        ScreenKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A screen's configuration, from the hospital configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenConfig {
    pub code: ScreenCode,
    pub name: String,
    pub kind: ScreenKind,
    /// Heading shown on the screen (e.g. the department's name).
    pub title: String,
    pub rooms: Vec<RoomCode>,
    /// Whether this screen speaks announcements.
    pub voice: bool,
    /// How many waiting patients to show per room.
    pub next_count: usize,
    /// A door screen that lists its room's appointments of today (预约).
    #[serde(default)]
    pub appointments: bool,
}
