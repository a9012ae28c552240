//! Routes: who watches what (screens of a room, rooms of a queue, two-stage
//! rooms subscribed to a queue, staff pages), the links events travel
//! through (screens, queues) and each queue's rules in force.

use std::sync::Arc;

use triage_ground::ids::{QueueCode, RoomCode, ScreenCode};

use actix::Recipient;

use super::events::{Left, ScreenLink};
use crate::model::{CurrentCall, RoomStatus};
use crate::rules::QueueRules;
use crate::staff::{StaffKey, StaffUpdate, StaffWatcher};

use super::*;

impl Board {
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

    /// A room's doctor or the queues it calls changed (a doctor signed in
    /// or out): its board entry and which queues feed it.
    pub fn reseat_room(&self, info: RoomInfo) {
        for mut rooms in self.queue_rooms.iter_mut() {
            rooms.retain(|r| *r != info.code);
        }
        for q in &info.draws_from {
            self.queue_rooms
                .entry(q.clone())
                .or_default()
                .push(info.code.clone());
        }
        if let Some(mut b) = self.room_boards.get_mut(&info.code) {
            b.info = info;
        }
    }

    /// Declares that `screen` shows `room` in `variant`.
    pub fn watch_room(&self, room: &RoomCode, screen: ScreenLink, variant: RoomVariant) {
        self.room_screens
            .entry(room.clone())
            .or_default()
            .push(Watcher { screen, variant });
    }

    /// A screen stops showing every room (before it is reassigned).
    pub fn unwatch_screen(&self, screen: &ScreenLink) {
        for mut list in self.room_screens.iter_mut() {
            list.retain(|w| w.screen != *screen);
        }
        self.room_screens.retain(|_, list| !list.is_empty());
    }

    /// Rooms that draw from `queue`.
    pub fn rooms_of_queue(&self, queue: &str) -> Vec<RoomCode> {
        self.queue_rooms
            .get(queue)
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Rooms drawing from `queue` that are serving now (open or paused, with
    /// a doctor; a closed or empty room calls nobody): the divisor of a
    /// wait estimate.
    pub fn serving_rooms_of_queue(&self, queue: &str) -> usize {
        self.rooms_of_queue(queue)
            .iter()
            .filter(|r| self.room_serves(r.as_str()))
            .count()
    }

    /// Whether `room` serves today (not stopped: open or paused, a doctor
    /// seated or expected and not off duty in HIS), so patients may be
    /// sent to it.
    pub fn room_serves(&self, room: &str) -> bool {
        self.room_boards.get(room).is_some_and(|b| {
            b.status != RoomStatus::Closed
                && b.info.seat != crate::model::SeatState::Out
                && b.info
                    .doctor_code
                    .as_ref()
                    .and_then(|d| self.doctors.get(d.as_str()))
                    .is_none_or(|d| d.on_duty)
        })
    }

    /// A room keeping a short list from `queue` asks to be told when the
    /// queue changes.
    pub fn subscribe_refill(&self, queue: &QueueCode, room: Recipient<Refill>) {
        let mut list = self.refill.entry(queue.clone()).or_default();
        if !list.contains(&room) {
            list.push(room);
        }
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
    pub fn publish_rules(&self, queue: &QueueCode, rules: &QueueRules) {
        let fresh = self.rules.get(queue).is_none_or(|r| r.as_ref() != rules);
        if fresh {
            self.rules.insert(queue.clone(), Arc::new(rules.clone()));
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

    /// The server is restarting: every screen tells its sessions so and
    /// closes them, and so does every staff page. Answers how many screens
    /// were told.
    pub fn restarting(&self) -> usize {
        for s in self.screen_links.iter() {
            s.restarting();
        }
        let mut told = std::collections::HashSet::new();
        for watchers in self.staff.iter() {
            for w in watchers.iter() {
                if told.insert(w.id) {
                    w.recipient.do_send(StaffUpdate::Restarting);
                }
            }
        }
        self.screen_links.len()
    }

    /// A screen runs: how the board reaches it.
    pub fn link_screen(&self, screen: &ScreenCode, link: ScreenLink) {
        self.screen_links.insert(screen.clone(), link);
    }

    /// A screen is gone: its link, configuration and presence are
    /// forgotten (call [`Board::unwatch_screen`] first for its rooms).
    pub fn unlink_screen(&self, screen: &ScreenCode) {
        self.screen_links.remove(screen);
        self.screen_configs.remove(screen);
        self.presence.remove(screen);
    }

    /// A queue runs: where `Left` reaches it.
    pub fn link_queue(&self, queue: &QueueCode, left: Recipient<Left>) {
        self.queue_links.insert(queue.clone(), left);
    }

    /// Tells `queue` that a transferred visit left it (best effort).
    pub fn tell_left(&self, queue: &str, left: Left) {
        if let Some(q) = self.queue_links.get(queue) {
            q.do_send(left);
        }
    }

    /// A staff page watches these queues and rooms.
    pub fn watch_staff(&self, keys: &[StaffKey], watcher: StaffWatcher) {
        for k in keys {
            self.staff
                .entry(k.clone())
                .or_default()
                .push(watcher.clone());
        }
    }

    /// A staff page stops watching (its socket closed).
    pub fn unwatch_staff(&self, keys: &[StaffKey], id: u64) {
        for k in keys {
            if let Some(mut list) = self.staff.get_mut(k) {
                list.retain(|w| w.id != id);
            }
        }
        self.staff.retain(|_, list| !list.is_empty());
    }

    /// Staff pages watching now (for the figures).
    pub fn staff_watchers(&self) -> usize {
        let mut ids = std::collections::HashSet::new();
        for list in self.staff.iter() {
            ids.extend(list.iter().map(|w| w.id));
        }
        ids.len()
    }

    /// Whether any staff page watches `key`.
    pub fn watched_by_staff(&self, key: &StaffKey) -> bool {
        self.staff.contains_key(key)
    }

    /// Sends an update to the staff pages watching `key`.
    pub fn tell_staff(&self, key: &StaffKey, update: StaffUpdate) {
        if let Some(list) = self.staff.get(key) {
            for w in list.iter() {
                w.recipient.do_send(update.clone());
            }
        }
    }
}
