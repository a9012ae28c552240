//! What staff pages see live (the nurse console, the doctor caller): each
//! queue's whole waiting list in calling order with the rule that placed
//! every patient, the special groups, holds, pins and misses; each room's
//! status and its current patient with the group to remind the doctor of.
//! Public screens never get these (they get a neutral 优先 mark).
//!
//! Names stay masked here: the actors hold no full names. The server adds
//! them for the staff whose scope covers the queue or room.
//!
//! A queue or room sends a fresh view to its staff watchers after every
//! change it publishes, numbered by a `version` that only grows; the same
//! view is answered to [`StaffQueue`] / [`StaffRoom`] (a page's snapshot).
//! A watcher keeps the highest version it has seen of each, so a view that
//! arrives twice or late changes nothing.

use std::sync::Arc;
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CurrentCall, EntryKind, PlacementCode, RoomStatus, SpecialTag, WaitingEntry};
use crate::rules::Ranked;

/// A waiting patient as staff see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffEntry {
    /// 1 = called next.
    pub position: usize,
    pub visit_no: VisitNo,
    pub ticket_no: String,
    pub masked_name: String,
    pub kind: EntryKind,
    /// Every special group the patient belongs to (Chinese labels).
    pub tags: Vec<String>,
    /// The group that gives the priority, if one does (its label).
    pub special: Option<String>,
    /// The registration's groups (HIS's with a nurse's marks), as codes:
    /// what a nurse may unmark; `tags` adds the age groups of the rules.
    pub registered: Vec<SpecialTag>,
    pub placement_code: PlacementCode,
    /// Why the patient stands here (the rule, in Chinese).
    pub placement_reason: String,
    /// Whether a room may call the patient now (not held, not an early
    /// appointment).
    pub callable: bool,
    pub held: bool,
    pub pinned: bool,
    pub misses: i32,
    /// When the patient (re)entered this queue.
    pub checked_in_at: DateTime<Utc>,
    /// The room whose short list (二级候诊) holds the patient.
    pub room: Option<RoomCode>,
    /// The room an appointment booked (预约到诊室): only it calls them by
    /// the rules.
    #[serde(default)]
    pub booked_room: Option<RoomCode>,
}

impl StaffEntry {
    /// A ranked entry at `position` (1-based).
    pub fn of(position: usize, r: &Ranked<'_>) -> StaffEntry {
        let e: &WaitingEntry = r.entry;
        StaffEntry {
            position,
            visit_no: e.visit_no.clone(),
            ticket_no: e.ticket_no.clone(),
            masked_name: e.masked_name.clone(),
            kind: e.kind,
            tags: labels(&e.tags),
            special: e.special.as_ref().map(|s| s.tag.label_zh().to_string()),
            registered: e.registered_tags.clone(),
            placement_code: r.placement.kind(),
            placement_reason: r.placement.explain_zh(),
            callable: r.placement.is_callable(),
            held: e.held,
            pinned: e.pinned_at.is_some(),
            misses: e.misses,
            checked_in_at: e.checked_in_at,
            room: e.assigned.as_ref().map(|a| a.room.clone()),
            booked_room: e.room.clone(),
        }
    }
}

fn labels(tags: &[SpecialTag]) -> Vec<String> {
    tags.iter().map(|t| t.label_zh().to_string()).collect()
}

/// A queue's whole waiting list for staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffQueueView {
    pub code: QueueCode,
    /// Grows with every published change of the queue.
    pub version: u64,
    /// Patients a room may call now.
    pub callable: usize,
    /// Every waiting patient in calling order (held ones too).
    pub entries: Vec<StaffEntry>,
}

/// The patient a room has called, for staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffCall {
    pub visit_no: VisitNo,
    pub ticket_no: String,
    pub masked_name: String,
    pub queue_code: QueueCode,
    pub called_at: DateTime<Utc>,
    pub call_count: i32,
    pub placement_code: PlacementCode,
    /// Every special group of the patient (Chinese labels): the doctor's
    /// reminder (特殊人群提醒).
    pub tags: Vec<String>,
    pub misses: i32,
}

impl From<&CurrentCall> for StaffCall {
    fn from(c: &CurrentCall) -> Self {
        StaffCall {
            visit_no: c.visit_no.clone(),
            ticket_no: c.ticket_no.clone(),
            masked_name: c.masked_name.clone(),
            queue_code: c.queue_code.clone(),
            called_at: c.called_at,
            call_count: c.call_count,
            placement_code: c.placement,
            tags: labels(&c.tags),
            misses: c.misses,
        }
    }
}

/// A room for staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRoomView {
    pub code: RoomCode,
    /// Grows with every published change of the room.
    pub version: u64,
    pub status: RoomStatus,
    pub status_label: String,
    pub current: Option<StaffCall>,
    /// Who sits in the room and the queues it calls now.
    pub doctor_code: Option<DoctorCode>,
    pub seat: crate::model::SeatState,
    pub queues: Vec<QueueCode>,
}

/// A fresh view for a staff page, or the server's last word.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum StaffUpdate {
    Queue(Arc<StaffQueueView>),
    Room(Arc<StaffRoomView>),
    /// The server is shutting down: tell the page and close.
    Restarting,
}

/// Who a staff watcher is: a page's session id and where its updates go.
#[derive(Clone)]
pub struct StaffWatcher {
    pub id: u64,
    pub recipient: Recipient<StaffUpdate>,
}

/// Asks a queue for its staff view now.
#[derive(Message)]
#[rtype(result = "Arc<StaffQueueView>")]
pub struct StaffQueue;

/// Asks a room for its staff view now.
#[derive(Message)]
#[rtype(result = "Arc<StaffRoomView>")]
pub struct StaffRoom;

/// What a staff page watches, as the board keeps its watchers: a queue
/// or a room.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StaffKey {
    Queue(QueueCode),
    Room(RoomCode),
}
