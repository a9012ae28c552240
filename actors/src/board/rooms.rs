//! The public board: the latest view of every room, queue and doctor,
//! written by the actors after each committed change; room frames composed
//! and encoded once per screen variant and shared.

use super::events::{Announce, Broadcast, ScreenLink};
use super::frame::{Announcement, ScreenFrame};
use super::view::DoctorView;
use crate::model::{CurrentCall, RoomStatus, SeatState};
use triage_ground::ids::{QueueCode, RoomCode};

use super::*;

impl Board {
    /// Records a room's public state and tells the screens that show it.
    pub fn publish_room(&self, room: &str, status: RoomStatus, current: Option<&CurrentCall>) {
        let mut queues = Vec::new();
        if let Some(mut b) = self.room_boards.get_mut(room) {
            b.status = status;
            b.current = current.map(CallView::from);
            queues.clone_from(&b.info.draws_from);
        }
        for q in &queues {
            self.changed(q);
        }
        self.notify_room(room);
    }

    /// Counts a change of `queue` (its head, or a room drawing from it).
    fn changed(&self, queue: &QueueCode) {
        *self.changes.entry(queue.clone()).or_default() += 1;
    }

    /// How many changes `queue` has seen: a forecast made at another count
    /// is due again.
    pub fn changes_of(&self, queue: &str) -> u64 {
        self.changes.get(queue).map_or(0, |c| *c)
    }

    /// Records a queue's public head and tells the screens of every room
    /// drawing from it (but `except`, which will publish itself). A screen
    /// showing several of those rooms gets them in **one** `rooms` frame.
    pub fn publish_queue(&self, queue: &QueueCode, board: QueueBoard, except: Option<&str>) {
        self.set_queue_board(queue, board);
        self.notify_queue(queue, except);
    }

    /// Records a queue's public head without telling anyone yet.
    pub fn set_queue_board(&self, queue: &QueueCode, board: QueueBoard) {
        self.queue_boards.insert(queue.clone(), board);
        self.changed(queue);
    }

    /// Tells the screens of every room drawing from `queue` (but `except`).
    pub fn notify_queue(&self, queue: &str, except: Option<&str>) {
        let rooms: Vec<RoomCode> = self
            .rooms_of_queue(queue)
            .into_iter()
            .filter(|r| except != Some(r.as_str()))
            .collect();
        self.notify_rooms(&rooms);
    }

    /// Tells every screen showing any of `rooms`: one frame per screen,
    /// each distinct frame composed and encoded once.
    fn notify_rooms(&self, rooms: &[RoomCode]) {
        if rooms.len() == 1 {
            self.notify_room(&rooms[0]);
            return;
        }
        // screen → (variant, rooms it shows among these), in room order.
        let mut per_screen: Vec<(ScreenLink, RoomVariant, Vec<&RoomCode>)> = Vec::new();
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
                    let mut views: Vec<RoomView> = key
                        .1
                        .iter()
                        .filter_map(|r| self.room_view_as(r, variant))
                        .collect();
                    let b = if views.len() == 1 {
                        ScreenFrame::Room {
                            room: views.swap_remove(0),
                        }
                    } else {
                        ScreenFrame::Rooms { rooms: views }
                    }
                    .encode();
                    encoded.push((key, b.clone()));
                    b
                }
            };
            screen.broadcast(Broadcast(body));
        }
    }

    /// A doctor's public facts, if known.
    pub fn doctor(&self, code: &str) -> Option<DoctorView> {
        self.doctors.get(code).map(|d| d.clone())
    }

    /// Whether HIS has the doctor on duty (`None`: unknown doctor).
    pub fn doctor_on_duty(&self, code: &str) -> Option<bool> {
        self.doctors.get(code).map(|d| d.on_duty)
    }

    /// Records a doctor's public facts and refreshes the rooms they staff
    /// (their screens); answers those rooms, whose staff pages the caller
    /// refreshes (the rooms' actors hold those views).
    pub fn publish_doctor(&self, doctor: DoctorView) -> Vec<RoomCode> {
        let code = doctor.code.clone();
        self.doctors.insert(code.clone(), doctor);
        let rooms: Vec<RoomCode> = self
            .room_boards
            .iter()
            .filter(|b| b.info.doctor_code.as_deref() == Some(code.as_str()))
            .map(|b| b.info.code.clone())
            .collect();
        for room in &rooms {
            self.notify_room(room);
        }
        rooms
    }

    /// Records the appointments booked for `room` as read at generation
    /// `generation`, and tells its screens if the list changed. A read
    /// older than the one held is ignored.
    pub fn publish_appointments(
        &self,
        room: &RoomCode,
        generation: u64,
        list: Vec<AppointmentView>,
    ) {
        // Compare and replace under the entry's lock: two publishers on two
        // threads never let an older read win.
        let changed = match self.appointments.entry(room.clone()) {
            dashmap::mapref::entry::Entry::Occupied(mut held) => {
                if held.get().0 > generation {
                    return;
                }
                let changed = held.get().1 != list;
                held.insert((generation, list));
                changed
            }
            dashmap::mapref::entry::Entry::Vacant(slot) => {
                let changed = !list.is_empty();
                slot.insert((generation, list));
                changed
            }
        };
        if changed {
            self.notify_room(room);
        }
    }

    /// The appointments held for `room` (first `limit`).
    pub fn room_appointments(&self, room: &str, limit: usize) -> Vec<AppointmentView> {
        self.appointments
            .get(room)
            .map(|e| e.1.iter().take(limit).cloned().collect())
            .unwrap_or_default()
    }

    /// Sends a voice announcement to the screens that show `room`.
    pub fn announce(&self, room: &str, announcement: Announcement) {
        if let Some(screens) = self.room_screens.get(room) {
            for w in screens.iter() {
                w.screen.announce(Announce(announcement.clone()));
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
                    let b = ScreenFrame::Room { room: view }.encode();
                    encoded.push((w.variant, b.clone()));
                    b
                }
            };
            w.screen.broadcast(Broadcast(body));
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
        if variant.appointments {
            view.appointments = self.room_appointments(room, variant.next_count);
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
                // Patients booked for another room are not this room's next.
                qb.head
                    .into_iter()
                    .filter(|e| e.room.as_ref().is_none_or(|b| b == room))
                    .collect()
            };
            for e in shown {
                if next.len() < next_count {
                    next.push(e);
                }
            }
        }
        let doctor: Option<DoctorView> = board
            .info
            .doctor_code
            .as_ref()
            .and_then(|d| self.doctors.get(d).map(|v| v.clone()));
        let guidance = guidance(board.status, board.info.seat, doctor.as_ref());
        if guidance.is_some() {
            // The truth of the room: nobody is to get ready for it now (a
            // paused two-stage room keeps its short list, counted as such).
            next.clear();
        }
        Some(RoomView {
            code: board.info.code.clone(),
            name: board.info.name.clone(),
            department_code: board.info.department_code.clone(),
            department_name: board.info.department_name.clone(),
            status: board.status,
            status_label: crate::model::room_label(
                board.status,
                board.info.seat,
                doctor.as_ref().is_some_and(|d| !d.on_duty),
                board.current.is_some(),
            )
            .to_string(),
            doctor,
            seat_notice: board.info.seat.notice_zh().map(str::to_string),
            current: board.current.clone(),
            next,
            guidance,
            waiting,
            waiting_cap: cap,
            short_list,
            appointments: Vec::new(),
        })
    }
}

/// What a room's waiting patients should do while it cannot call, or
/// `None` while it can (open, a doctor seated or expected, on duty).
pub fn guidance(
    status: RoomStatus,
    seat: SeatState,
    doctor: Option<&DoctorView>,
) -> Option<String> {
    let off_duty = doctor.is_some_and(|d| !d.on_duty);
    let text = match (status, seat) {
        (RoomStatus::Closed, _) | (_, SeatState::Out) => {
            "本诊室暂停接诊，请在候诊区留意大屏叫号，或到分诊台咨询"
        }
        _ if off_duty => "本诊室暂停接诊，请在候诊区留意大屏叫号，或到分诊台咨询",
        (RoomStatus::Paused, _) | (_, SeatState::Break) => {
            "本诊室暂停叫号，请在候诊区稍候，恢复后按顺序叫号"
        }
        (RoomStatus::Open, _) => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_that_cannot_call_says_what_to_do_and_one_that_can_says_nothing() {
        for seat in [SeatState::Configured, SeatState::Scheduled, SeatState::In] {
            assert_eq!(guidance(RoomStatus::Open, seat, None), None, "{seat:?}");
        }
        let says = |status, seat| guidance(status, seat, None).unwrap_or_default();
        assert!(says(RoomStatus::Paused, SeatState::In).contains("暂停叫号"));
        assert!(says(RoomStatus::Open, SeatState::Break).contains("暂停叫号"));
        assert!(says(RoomStatus::Closed, SeatState::In).contains("暂停接诊"));
        assert!(says(RoomStatus::Open, SeatState::Out).contains("暂停接诊"));
        let off = DoctorView {
            code: triage_ground::ids::DoctorCode::trusted("D001"),
            name: "王建国".into(),
            title: "主任医师".into(),
            introduction: String::new(),
            photo_url: None,
            on_duty: false,
        };
        assert!(guidance(RoomStatus::Open, SeatState::In, Some(&off))
            .unwrap_or_default()
            .contains("暂停接诊"));
    }
}
