//! The directory of live actors and the read model screens draw from.
//!
//! - addresses of every queue, room and screen actor, by the hospital's code;
//! - who watches what: which screens show a room, which rooms draw from a queue;
//! - the board: the latest public view of every room, queue and doctor,
//!   written by the actors after each committed change and read (lock-free,
//!   per key) by screens composing their frames and by the API.
//!
//! Nothing here is authoritative: actors own their state and the database
//! owns durability; the board is what the public may see (masked names only).
//!
//! ## Layout
//! - this file: the view types and the `Directory` itself;
//! - `registry`: addresses, routing, subscriptions, rules in force;
//! - `board`: rooms, queues and doctors as screens show them, frames;
//! - `notices`: notices on screens; `presence`: screen devices.

use std::sync::Arc;

use actix::{Addr, Recipient};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::model::{CurrentCall, PlacementCode, RoomStatus};
use crate::queue::QueueActor;
use crate::room::{Refill, RoomActor};
use crate::rules::QueueRules;
use crate::screen::ScreenActor;

mod board;
mod notices;
mod presence;
mod registry;

/// Static facts of a room from the hospital configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub code: String,
    pub name: String,
    /// How the voice names the room ("内科3诊室").
    pub spoken_name: String,
    pub department_code: String,
    pub department_name: String,
    pub doctor_code: Option<String>,
    /// Queues the room calls from, in order (doctor's own first).
    pub draws_from: Vec<String>,
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
    pub seat: crate::model::SeatState,
}

/// Public facts of a doctor (master data from HIS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorView {
    pub code: String,
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
    pub room: Option<String>,
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
    pub rooms: std::collections::BTreeMap<String, Vec<EntryView>>,
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
    pub code: String,
    pub name: String,
    pub department_code: String,
    pub department_name: String,
    pub status: RoomStatus,
    pub status_label: String,
    pub doctor: Option<DoctorView>,
    /// Said beside the doctor when they stepped away or nobody sits here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_notice: Option<String>,
    pub current: Option<CallView>,
    /// Next patients: the room's own short list when it has one (two-stage
    /// waiting), else the head of the queues it calls from.
    pub next: Vec<EntryView>,
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

#[derive(Clone, Debug)]
struct RoomBoard {
    info: RoomInfo,
    status: RoomStatus,
    current: Option<CallView>,
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

/// A notice the directory keeps: the screens it targets (`None`: every
/// screen) and whether its screens have been sent it (it may start later).
#[derive(Clone, Debug)]
pub(crate) struct HeldNotice {
    view: NoticeView,
    screens: Option<Vec<String>>,
    sent: bool,
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

/// One distinct multi-room frame: a variant and the rooms in it.
type FrameKey<'a> = (RoomVariant, Vec<&'a String>);

#[derive(Clone)]
struct Watcher {
    screen: Addr<ScreenActor>,
    variant: RoomVariant,
}

/// Live addresses, routing and the public read model. Shared as `Arc`.
#[derive(Default)]
pub struct Directory {
    pub queues: DashMap<String, Addr<QueueActor>>,
    pub rooms: DashMap<String, Addr<RoomActor>>,
    pub screens: DashMap<String, Addr<ScreenActor>>,
    /// What each screen shows now (its configuration, as reassigned): read
    /// by the server; written with every start and reassignment.
    pub screen_configs: DashMap<String, crate::screen::ScreenConfig>,
    /// Who shows a room, and how (each variant is composed and encoded once).
    room_screens: DashMap<String, Vec<Watcher>>,
    queue_rooms: DashMap<String, Vec<String>>,
    room_boards: DashMap<String, RoomBoard>,
    queue_boards: DashMap<String, QueueBoard>,
    doctors: DashMap<String, DoctorView>,
    /// Each room's appointments of today not checked in yet, with the
    /// generation of the read they came from (an older read never
    /// overwrites a newer one).
    appointments: DashMap<String, (u64, Vec<AppointmentView>)>,
    /// Rooms with a short list (二级候诊) that fill it from a queue: told
    /// when the queue changes.
    refill: DashMap<String, Vec<Recipient<Refill>>>,
    /// Each queue's rules in force (a room reads `max_misses` when its
    /// patient misses a call).
    rules: DashMap<String, Arc<QueueRules>>,
    presence: DashMap<String, ScreenPresence>,
    /// Notices not yet withdrawn or expired, scheduled ones too.
    notices: DashMap<i64, HeldNotice>,
    /// Staff pages watching a queue or a room (`staff::queue_key`,
    /// `staff::room_key`).
    staff: DashMap<String, Vec<crate::staff::StaffWatcher>>,
}
