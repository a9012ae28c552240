//! The directory of live actors and the read model screens draw from.
//!
//! - addresses of every queue, room and screen actor, by the hospital's code;
//! - who watches what: which screens show a room, which rooms draw from a queue;
//! - the [`Board`]: the latest public view of every room, queue and doctor,
//!   written by the actors after each committed change and read (lock-free,
//!   per key) by screens composing their frames and by the API.
//!
//! Nothing here is authoritative: actors own their state and the database
//! owns durability; the board is what the public may see (masked names only).

use std::sync::Arc;

use actix::{Addr, Recipient};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::model::{CurrentCall, RoomStatus};
use crate::queue::QueueActor;
use crate::room::{Refill, RoomActor};
use crate::rules::QueueRules;
use crate::screen::{Announce, Announcement, Broadcast, Restarting, ScreenActor};

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
}

/// A waiting patient as public screens show them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    pub ticket_no: String,
    pub masked_name: String,
    pub placement: String,
    /// A priority patient (shown as a neutral 优先 mark: which group is for
    /// staff only, never on a public screen).
    pub priority: bool,
}

/// The public head of a queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBoard {
    /// Callable patients (general list and short lists).
    pub waiting: usize,
    /// The general list, first few.
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
            priority: c.placement == "special_group",
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
    pub current: Option<CallView>,
    /// Next patients: the room's own short list when it has one (two-stage
    /// waiting), else the head of the queues it calls from.
    pub next: Vec<EntryView>,
    pub waiting: usize,
    /// Two-stage waiting: the short list's cap (诊室候诊上限); 0 = off.
    pub waiting_cap: u32,
    /// Patients on the room's short list now.
    pub short_list: usize,
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
    pub expires_at: Option<DateTime<Utc>>,
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
    /// Who shows a room, and how (each variant is composed and encoded once).
    room_screens: DashMap<String, Vec<Watcher>>,
    queue_rooms: DashMap<String, Vec<String>>,
    room_boards: DashMap<String, RoomBoard>,
    queue_boards: DashMap<String, QueueBoard>,
    doctors: DashMap<String, DoctorView>,
    /// Rooms with a short list (二级候诊) that fill it from a queue: told
    /// when the queue changes.
    refill: DashMap<String, Vec<Recipient<Refill>>>,
    /// Each queue's rules in force (a room reads `max_misses` when its
    /// patient misses a call).
    rules: DashMap<String, Arc<QueueRules>>,
    presence: DashMap<String, ScreenPresence>,
    /// Active notices and the screens they target (`None`: every screen).
    notices: DashMap<i64, (NoticeView, Option<Vec<String>>)>,
}

impl Directory {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Declares a room (before its actor starts): its board entry and which
    /// queues feed it.
    pub fn declare_room(&self, info: RoomInfo, status: RoomStatus, current: Option<&CurrentCall>) {
        for q in &info.draws_from {
            self.queue_rooms
                .entry(q.clone())
                .or_default()
                .push(info.code.clone());
        }
        self.room_boards.insert(
            info.code.clone(),
            RoomBoard {
                info,
                status,
                current: current.map(CallView::from),
            },
        );
    }

    /// Declares that `screen` shows `room` in `variant`.
    pub fn watch_room(&self, room: &str, screen: Addr<ScreenActor>, variant: RoomVariant) {
        self.room_screens
            .entry(room.to_string())
            .or_default()
            .push(Watcher { screen, variant });
    }

    /// Rooms that draw from `queue`.
    pub fn rooms_of_queue(&self, queue: &str) -> Vec<String> {
        self.queue_rooms
            .get(queue)
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Rooms drawing from `queue` that are serving now (open or paused; a
    /// closed room calls nobody): the divisor of a wait estimate.
    pub fn serving_rooms_of_queue(&self, queue: &str) -> usize {
        self.rooms_of_queue(queue)
            .iter()
            .filter(|r| {
                self.room_boards
                    .get(r.as_str())
                    .is_some_and(|b| b.status != RoomStatus::Closed)
            })
            .count()
    }

    /// A room keeping a short list from `queue` asks to be told when the
    /// queue changes.
    pub fn subscribe_refill(&self, queue: &str, room: Recipient<Refill>) {
        self.refill.entry(queue.to_string()).or_default().push(room);
    }

    /// A queue changed: its subscribed rooms fill their short lists (best
    /// effort; they also look every few seconds).
    pub fn queue_changed(&self, queue: &str) {
        if let Some(rooms) = self.refill.get(queue) {
            for r in rooms.iter() {
                r.do_send(Refill);
            }
        }
    }

    /// Records a queue's rules in force (after start and every change).
    pub fn publish_rules(&self, queue: &str, rules: &QueueRules) {
        let fresh = self.rules.get(queue).is_none_or(|r| r.as_ref() != rules);
        if fresh {
            self.rules
                .insert(queue.to_string(), Arc::new(rules.clone()));
        }
    }

    /// A queue's rules in force.
    pub fn rules_of(&self, queue: &str) -> Option<Arc<QueueRules>> {
        self.rules.get(queue).map(|r| r.clone())
    }

    /// Static facts of a room.
    pub fn room_info(&self, room: &str) -> Option<RoomInfo> {
        self.room_boards.get(room).map(|b| b.info.clone())
    }

    /// Records a room's public state and tells the screens that show it.
    pub fn publish_room(&self, room: &str, status: RoomStatus, current: Option<&CurrentCall>) {
        if let Some(mut b) = self.room_boards.get_mut(room) {
            b.status = status;
            b.current = current.map(CallView::from);
        }
        self.notify_room(room);
    }

    /// Records a queue's public head and tells the screens of every room
    /// drawing from it (but `except`, which will publish itself). A screen
    /// showing several of those rooms gets them in **one** `rooms` frame.
    pub fn publish_queue(&self, queue: &str, board: QueueBoard, except: Option<&str>) {
        self.set_queue_board(queue, board);
        self.notify_queue(queue, except);
    }

    /// Records a queue's public head without telling anyone yet.
    pub fn set_queue_board(&self, queue: &str, board: QueueBoard) {
        self.queue_boards.insert(queue.to_string(), board);
    }

    /// Tells the screens of every room drawing from `queue` (but `except`).
    pub fn notify_queue(&self, queue: &str, except: Option<&str>) {
        let rooms: Vec<String> = self
            .rooms_of_queue(queue)
            .into_iter()
            .filter(|r| except != Some(r.as_str()))
            .collect();
        self.notify_rooms(&rooms);
    }

    /// Tells every screen showing any of `rooms`: one frame per screen,
    /// each distinct frame composed and encoded once.
    fn notify_rooms(&self, rooms: &[String]) {
        if rooms.len() == 1 {
            self.notify_room(&rooms[0]);
            return;
        }
        // screen → (variant, rooms it shows among these), in room order.
        let mut per_screen: Vec<(Addr<ScreenActor>, RoomVariant, Vec<&String>)> = Vec::new();
        for room in rooms {
            let Some(watchers) = self.room_screens.get(room).map(|w| w.clone()) else {
                continue;
            };
            for w in watchers {
                match per_screen.iter_mut().find(|(a, _, _)| *a == w.screen) {
                    Some((_, _, list)) => list.push(room),
                    None => per_screen.push((w.screen, w.variant, vec![room])),
                }
            }
        }
        let mut encoded: Vec<(FrameKey<'_>, std::sync::Arc<str>)> = Vec::new();
        for (screen, variant, list) in per_screen {
            let key = (variant, list);
            let body = match encoded.iter().find(|(k, _)| *k == key) {
                Some((_, b)) => b.clone(),
                None => {
                    let views: Vec<RoomView> = key
                        .1
                        .iter()
                        .filter_map(|r| self.room_view_as(r, variant))
                        .collect();
                    let b: std::sync::Arc<str> = if views.len() == 1 {
                        serde_json::json!({ "type": "room", "room": views[0] })
                    } else {
                        serde_json::json!({ "type": "rooms", "rooms": views })
                    }
                    .to_string()
                    .into();
                    encoded.push((key, b.clone()));
                    b
                }
            };
            screen.do_send(Broadcast(body));
        }
    }

    /// Records a doctor's public facts and refreshes the rooms they staff.
    pub fn publish_doctor(&self, doctor: DoctorView) {
        let code = doctor.code.clone();
        self.doctors.insert(code.clone(), doctor);
        let rooms: Vec<String> = self
            .room_boards
            .iter()
            .filter(|b| b.info.doctor_code.as_deref() == Some(code.as_str()))
            .map(|b| b.info.code.clone())
            .collect();
        for room in rooms {
            self.notify_room(&room);
        }
    }

    /// Sends a voice announcement to the screens that show `room`.
    pub fn announce(&self, room: &str, announcement: Announcement) {
        if let Some(screens) = self.room_screens.get(room) {
            for w in screens.iter() {
                w.screen.do_send(Announce(announcement.clone()));
            }
        }
    }

    /// Composes the room's frame once per variant, from the latest board,
    /// and shares the encoded bytes with every screen that shows the room.
    fn notify_room(&self, room: &str) {
        let Some(watchers) = self.room_screens.get(room).map(|w| w.clone()) else {
            return;
        };
        let mut encoded: Vec<(RoomVariant, std::sync::Arc<str>)> = Vec::with_capacity(2);
        for w in &watchers {
            let body = match encoded.iter().find(|(v, _)| *v == w.variant) {
                Some((_, b)) => b.clone(),
                None => {
                    let Some(view) = self.room_view_as(room, w.variant) else {
                        return;
                    };
                    let b: std::sync::Arc<str> =
                        serde_json::json!({ "type": "room", "room": view })
                            .to_string()
                            .into();
                    encoded.push((w.variant, b.clone()));
                    b
                }
            };
            w.screen.do_send(Broadcast(body));
        }
    }

    /// The head of a queue as public screens show it.
    pub fn queue_board(&self, queue: &str) -> QueueBoard {
        self.queue_boards
            .get(queue)
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// Composes a room as a screen of `variant` shows it.
    pub fn room_view_as(&self, room: &str, variant: RoomVariant) -> Option<RoomView> {
        let mut view = self.room_view(room, variant.next_count)?;
        if !variant.with_introduction {
            if let Some(d) = view.doctor.as_mut() {
                d.introduction.clear();
            }
        }
        Some(view)
    }

    /// Composes what a screen shows of a room, with up to `next_count`
    /// patients next (the room's queues in order).
    pub fn room_view(&self, room: &str, next_count: usize) -> Option<RoomView> {
        let board = self.room_boards.get(room)?.clone();
        let mut next = Vec::with_capacity(next_count);
        let mut waiting = 0;
        let mut short_list = 0;
        let cap = board.info.waiting_cap;
        for q in &board.info.draws_from {
            let mut qb = self.queue_board(q);
            waiting += qb.waiting;
            let shown = if cap > 0 {
                let list = qb.rooms.remove(room).unwrap_or_default();
                short_list += list.len();
                list
            } else {
                qb.head
            };
            for e in shown {
                if next.len() < next_count {
                    next.push(e);
                }
            }
        }
        let doctor = board
            .info
            .doctor_code
            .as_ref()
            .and_then(|d| self.doctors.get(d).map(|v| v.clone()));
        Some(RoomView {
            code: board.info.code.clone(),
            name: board.info.name.clone(),
            department_code: board.info.department_code.clone(),
            department_name: board.info.department_name.clone(),
            status: board.status,
            status_label: board.status.label_zh().to_string(),
            doctor,
            current: board.current.clone(),
            next,
            waiting,
            waiting_cap: cap,
            short_list,
        })
    }

    /// Records a notice and sends it to its screens: the frame body is
    /// encoded once and shared; each screen only prefixes its sequence number.
    pub fn publish_notice(&self, notice: NoticeView, screens: Option<Vec<String>>) {
        let body: std::sync::Arc<str> = serde_json::json!({ "type": "notice", "notice": notice })
            .to_string()
            .into();
        self.broadcast(&body, screens.as_deref());
        self.notices.insert(notice.id, (notice, screens));
    }

    /// The server is restarting: every screen tells its sessions so and
    /// closes them. Answers how many screens were told.
    pub fn restarting(&self) -> usize {
        for s in self.screens.iter() {
            s.do_send(Restarting);
        }
        self.screens.len()
    }

    /// Withdraws a notice from its screens.
    pub fn withdraw_notice(&self, id: i64) {
        if let Some((_, (_, screens))) = self.notices.remove(&id) {
            let body: std::sync::Arc<str> =
                serde_json::json!({ "type": "notice_withdrawn", "notice_id": id })
                    .to_string()
                    .into();
            self.broadcast(&body, screens.as_deref());
        }
    }

    fn broadcast(&self, body: &std::sync::Arc<str>, screens: Option<&[String]>) {
        match screens {
            None => {
                for s in self.screens.iter() {
                    s.do_send(Broadcast(body.clone()));
                }
            }
            Some(list) => {
                for code in list {
                    if let Some(s) = self.screens.get(code) {
                        s.do_send(Broadcast(body.clone()));
                    }
                }
            }
        }
    }

    /// Notices a screen shows at `now`, oldest first.
    pub fn notices_for(&self, screen: &str, now: DateTime<Utc>) -> Vec<NoticeView> {
        let mut out: Vec<NoticeView> = self
            .notices
            .iter()
            .filter(|n| n.1.as_ref().is_none_or(|l| l.iter().any(|s| s == screen)))
            .filter(|n| n.0.expires_at.is_none_or(|e| e > now))
            .map(|n| n.0.clone())
            .collect();
        out.sort_by_key(|n| n.id);
        out
    }

    /// Updates a screen's presence (sessions, heartbeat, sequence).
    pub fn set_presence(&self, screen: &str, presence: ScreenPresence) {
        self.presence.insert(screen.to_string(), presence);
    }

    /// A screen's presence; `sessions == 0` means offline.
    pub fn presence(&self, screen: &str) -> ScreenPresence {
        self.presence
            .get(screen)
            .map(|p| p.clone())
            .unwrap_or_default()
    }
}
