//! The board: the read model screens draw from, and the one way events
//! travel up or sideways between actors (never awaited).
//!
//! - who watches what: which screens show a room, which rooms draw from a
//!   queue, which staff pages watch a queue or a room;
//! - the latest public view of every room, queue and doctor, written by the
//!   actors after each committed change and read (lock-free, per key) by
//!   screens composing their frames and by the API;
//! - the links it delivers events through: to every screen, to two-stage
//!   rooms (`Refill`), to queues (`Left`). It holds no actor's address: the
//!   [`Directory`](crate::directory::Directory) above the actors does.
//!
//! Nothing here is authoritative: actors own their state and the database
//! owns durability; the board is what the public may see (masked names only).
//!
//! ## Layout
//! - [`view`]: what the public sees; [`frame`]: what screens get;
//!   [`events`]: what the board delivers;
//! - this file: the `Board` itself;
//! - `routes`: who watches what, links, subscriptions, rules in force;
//! - `rooms`: rooms, queues and doctors as screens show them, frames;
//! - `notices`: notices on screens; `presence`: screen devices.

use std::sync::Arc;
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, ScreenCode};

use actix::Recipient;
use dashmap::DashMap;

use crate::model::RoomStatus;
use crate::rules::QueueRules;

pub mod events;
pub mod frame;
pub mod view;

mod notices;
mod presence;
mod rooms;
mod routes;

pub use crate::model::RoomInfo;
pub use view::*;

use events::{Left, Refill, ScreenLink};

#[derive(Clone, Debug)]
struct RoomBoard {
    info: RoomInfo,
    status: RoomStatus,
    current: Option<CallView>,
}

/// A notice the directory keeps: the screens it targets (`None`: every
/// screen) and whether its screens have been sent it (it may start later).
#[derive(Clone, Debug)]
pub(crate) struct HeldNotice {
    view: NoticeView,
    screens: Option<Vec<ScreenCode>>,
    sent: bool,
}

/// One distinct multi-room frame: a variant and the rooms in it.
type FrameKey<'a> = (RoomVariant, Vec<&'a RoomCode>);

#[derive(Clone)]
struct Watcher {
    screen: ScreenLink,
    variant: RoomVariant,
}

/// Routing and the public read model. Shared as `Arc`.
#[derive(Default)]
pub struct Board {
    /// What each screen shows now (its configuration, as reassigned): read
    /// by the server; written with every start and reassignment.
    pub screen_configs: DashMap<ScreenCode, ScreenConfig>,
    /// Who shows a room, and how (each variant is composed and encoded once).
    room_screens: DashMap<RoomCode, Vec<Watcher>>,
    queue_rooms: DashMap<QueueCode, Vec<RoomCode>>,
    room_boards: DashMap<RoomCode, RoomBoard>,
    queue_boards: DashMap<QueueCode, QueueBoard>,
    doctors: DashMap<DoctorCode, DoctorView>,
    /// Each room's appointments of today not checked in yet, with the
    /// generation of the read they came from (an older read never
    /// overwrites a newer one).
    appointments: DashMap<RoomCode, (u64, Vec<AppointmentView>)>,
    /// Rooms with a short list (二级候诊) that fill it from a queue: told
    /// when the queue changes.
    refill: DashMap<QueueCode, Vec<Recipient<Refill>>>,
    /// Each queue's rules in force (a room reads `max_misses` when its
    /// patient misses a call).
    rules: DashMap<QueueCode, Arc<QueueRules>>,
    presence: DashMap<ScreenCode, ScreenPresence>,
    /// Notices not yet withdrawn or expired, scheduled ones too.
    notices: DashMap<i64, HeldNotice>,
    /// Staff pages watching a queue or a room.
    staff: DashMap<crate::staff::StaffKey, Vec<crate::staff::StaffWatcher>>,
    /// Every running screen, as the board reaches it (notices, the day
    /// end, restarting), by code.
    screen_links: DashMap<ScreenCode, ScreenLink>,
    /// Every running queue's inbox for `Left`, by code.
    queue_links: DashMap<QueueCode, Recipient<Left>>,
    /// How many times each queue's head or one of its rooms changed: what
    /// the wait forecast watches to know a queue is due again.
    changes: DashMap<QueueCode, u64>,
}
