//! The staff channel's content (`GET /ws/staff`, the socket itself lives in
//! `ws.rs`): which queues and rooms a staff member's page watches, and the
//! frames it gets.
//!
//! - A nurse watches every queue and room of her departments (or of the
//!   ones her page asks for, within them); a doctor his rooms and the
//!   queues they call from; an admin every department, or the ones asked
//!   for.
//! - Frames are the actors' staff views (whole lists in calling order, the
//!   rule that placed each patient, special groups, holds, pins, misses)
//!   with the full names added — staff in scope only; never on a public
//!   screen, never in a log.
//!
//! Frames: `snapshot` (every watched queue and room), then `queue` and
//! `room`, each with the page's next `seq`; a page that sees a gap asks
//! `{"type":"resync"}` and gets a new snapshot.

use crate::db::columns::VisitType;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use triage_actors::model::{EntryKind, SpecialTag};
use triage_actors::staff::{
    StaffCall, StaffEntry, StaffKey, StaffQueue, StaffQueueView, StaffRoom, StaffRoomView,
};
use triage_ground::ids::{DepartmentCode, QueueCode, RoomCode};

use crate::auth::policy::{Role, Staff};
use crate::config::Hospital;
use crate::engine::names::VisitNames;
use crate::engine::Engine;
use triage_ground::error::{Error, ErrorCode};

/// What one staff page watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub departments: Vec<DepartmentCode>,
    pub queues: Vec<QueueCode>,
    pub rooms: Vec<RoomCode>,
}

/// The departments a page asks for (`?departments=NK,WK`), if it does.
pub fn asked_departments(query: Option<&str>) -> Option<Vec<String>> {
    query.map(|d| {
        d.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

impl Watch {
    /// What `staff` watches; `asked` narrows a nurse's or an admin's page to
    /// some departments (a department outside a nurse's scope is refused).
    pub fn of(
        staff: &Staff,
        hospital: &Hospital,
        asked: Option<&[String]>,
    ) -> Result<Watch, Error> {
        let departments: Vec<DepartmentCode> = match staff.role {
            Role::Doctor => {
                let rooms: Vec<RoomCode> = hospital
                    .rooms
                    .iter()
                    .filter(|r| staff.scope.iter().any(|s| *s == r.code))
                    .map(|r| r.code.clone())
                    .collect();
                let mut queues: Vec<QueueCode> = Vec::new();
                let mut departments: Vec<DepartmentCode> = Vec::new();
                for r in hospital.rooms.iter().filter(|r| rooms.contains(&r.code)) {
                    for q in &r.queues {
                        if !queues.contains(q) {
                            queues.push(q.clone());
                        }
                    }
                    if !departments.contains(&r.department) {
                        departments.push(r.department.clone());
                    }
                }
                // The doctor's own queue (专家号): the room he signs in to
                // calls it, whichever room of his that is.
                for q in hospital.queues.iter().filter(|q| {
                    q.doctor.as_deref() == Some(staff.code.as_str())
                        && departments.contains(&q.department)
                }) {
                    if !queues.contains(&q.code) {
                        queues.push(q.code.clone());
                    }
                }
                return Ok(Watch {
                    departments,
                    queues,
                    rooms,
                });
            }
            Role::Nurse | Role::Admin => {
                let allowed =
                    |d: &str| staff.role == Role::Admin || staff.scope.iter().any(|s| s == d);
                match asked {
                    Some(list) => {
                        for d in list {
                            if hospital.departments.iter().all(|x| x.code != *d) {
                                return Err(Error::new(
                                    ErrorCode::UnknownDepartment,
                                    format!("no department {d:?}"),
                                ));
                            }
                            if !allowed(d) {
                                return Err(Error::new(
                                    ErrorCode::Forbidden,
                                    format!("department {d} is outside your departments"),
                                ));
                            }
                        }
                        list.iter().map(DepartmentCode::trusted).collect()
                    }
                    None => hospital
                        .departments
                        .iter()
                        .filter(|d| allowed(&d.code))
                        .map(|d| d.code.clone())
                        .collect(),
                }
            }
        };
        Ok(Watch {
            queues: hospital
                .queues
                .iter()
                .filter(|q| departments.contains(&q.department))
                .map(|q| q.code.clone())
                .collect(),
            rooms: hospital
                .rooms
                .iter()
                .filter(|r| departments.contains(&r.department))
                .map(|r| r.code.clone())
                .collect(),
            departments,
        })
    }

    /// The directory keys of everything watched.
    pub fn keys(&self) -> Vec<StaffKey> {
        self.queues
            .iter()
            .map(|q| StaffKey::Queue(q.clone()))
            .chain(self.rooms.iter().map(|r| StaffKey::Room(r.clone())))
            .collect()
    }
}

/// The latest view of everything a page watches (highest versions).
#[derive(Default)]
pub struct Latest {
    pub queues: HashMap<QueueCode, Arc<StaffQueueView>>,
    pub rooms: HashMap<RoomCode, Arc<StaffRoomView>>,
}

impl Latest {
    /// Keeps `view` if it is newer than the one held; answers whether it was.
    pub fn queue(&mut self, view: Arc<StaffQueueView>) -> bool {
        match self.queues.get(&view.code) {
            Some(held) if held.version >= view.version => false,
            _ => {
                self.queues.insert(view.code.clone(), view);
                true
            }
        }
    }

    /// Keeps `view` if it is newer than the one held; answers whether it was.
    pub fn room(&mut self, view: Arc<StaffRoomView>) -> bool {
        match self.rooms.get(&view.code) {
            Some(held) if held.version >= view.version => false,
            _ => {
                self.rooms.insert(view.code.clone(), view);
                true
            }
        }
    }
}

/// Asks every watched queue and room for its view now.
pub async fn fetch(engine: &Engine, watch: &Watch) -> Latest {
    let mut latest = Latest::default();
    for q in &watch.queues {
        if let Some(addr) = engine.directory().queues.get(q).map(|a| a.clone()) {
            if let Ok(view) = addr.send(StaffQueue).await {
                latest.queue(view);
            }
        }
    }
    for r in &watch.rooms {
        if let Some(addr) = engine.directory().rooms.get(r).map(|a| a.clone()) {
            if let Ok(view) = addr.send(StaffRoom).await {
                latest.room(view);
            }
        }
    }
    latest
}

/// A waiting patient on a staff page.
#[derive(Serialize)]
struct EntryFrame<'a> {
    position: usize,
    visit_no: &'a str,
    ticket_no: &'a str,
    /// The full name (staff in scope only).
    name: String,
    kind: &'static str,
    /// 复诊, 回诊, 过号, 迟到 or empty.
    kind_label: &'static str,
    tags: &'a [String],
    special: Option<&'a str>,
    /// The registration's groups as codes (what a nurse may unmark).
    registered: &'a [SpecialTag],
    placement_code: &'a str,
    placement_reason: &'a str,
    callable: bool,
    held: bool,
    pinned: bool,
    misses: i32,
    checked_in_at: chrono::DateTime<chrono::Utc>,
    room: Option<&'a str>,
}

/// A queue on a staff page.
#[derive(Serialize)]
pub struct QueueFrame<'a> {
    code: &'a str,
    name: &'a str,
    department_code: &'a str,
    doctor_code: Option<&'a str>,
    version: u64,
    callable: usize,
    waiting: usize,
    entries: Vec<EntryFrame<'a>>,
}

/// The called patient on a staff page.
#[derive(Serialize)]
struct CallFrame<'a> {
    visit_no: &'a str,
    ticket_no: &'a str,
    name: String,
    queue_code: &'a str,
    called_at: chrono::DateTime<chrono::Utc>,
    call_count: i32,
    placement_code: &'a str,
    /// The special groups to remind the doctor of (特殊人群提醒).
    tags: &'a [String],
    misses: i32,
}

/// A room on a staff page.
#[derive(Serialize)]
pub struct RoomFrame<'a> {
    code: &'a str,
    name: &'a str,
    department_code: &'a str,
    doctor_code: Option<&'a str>,
    doctor_name: Option<&'a str>,
    /// `configured`, `scheduled` (出诊排班, not signed in yet), `in` (signed
    /// in), `break` (away) or `out` (nobody).
    seat: &'static str,
    queues: &'a [QueueCode],
    version: u64,
    status: &'static str,
    status_label: &'a str,
    current: Option<CallFrame<'a>>,
}

/// The full name of a visit for staff; a visit the cache does not know
/// (which would be a bug) shows its masked name and is logged by number.
fn full_name(names: &VisitNames, visit_no: &str, masked: &str) -> (String, Option<VisitType>) {
    match names.get(visit_no) {
        Some(f) => (f.name, Some(f.visit_type)),
        None => {
            tracing::warn!(
                visit_no,
                "staff page: full name not known, masked name shown"
            );
            (masked.to_string(), None)
        }
    }
}

fn kind_label(kind: EntryKind, visit_type: Option<VisitType>) -> &'static str {
    match kind {
        EntryKind::Normal => "",
        EntryKind::Return if visit_type == Some(VisitType::Return) => "复诊",
        EntryKind::Return => "回诊",
        EntryKind::Recall => "过号",
        EntryKind::Late => "迟到",
    }
}

fn entry<'a>(e: &'a StaffEntry, names: &VisitNames) -> EntryFrame<'a> {
    let (name, visit_type) = full_name(names, &e.visit_no, &e.masked_name);
    EntryFrame {
        position: e.position,
        visit_no: &e.visit_no,
        ticket_no: &e.ticket_no,
        name,
        kind: e.kind.as_str(),
        kind_label: kind_label(e.kind, visit_type),
        tags: &e.tags,
        special: e.special.as_deref(),
        registered: &e.registered,
        placement_code: e.placement_code.as_str(),
        placement_reason: &e.placement_reason,
        callable: e.callable,
        held: e.held,
        pinned: e.pinned,
        misses: e.misses,
        checked_in_at: e.checked_in_at,
        room: e.room.as_deref(),
    }
}

/// A queue's frame content.
pub fn queue_frame<'a>(
    view: &'a StaffQueueView,
    hospital: &'a Hospital,
    names: &VisitNames,
) -> Option<QueueFrame<'a>> {
    let def = hospital.queues.iter().find(|q| q.code == view.code)?;
    Some(QueueFrame {
        code: &view.code,
        name: &def.name,
        department_code: &def.department,
        doctor_code: def.doctor.as_deref(),
        version: view.version,
        callable: view.callable,
        waiting: view.entries.len(),
        entries: view.entries.iter().map(|e| entry(e, names)).collect(),
    })
}

fn call<'a>(c: &'a StaffCall, names: &VisitNames) -> CallFrame<'a> {
    CallFrame {
        visit_no: &c.visit_no,
        ticket_no: &c.ticket_no,
        name: full_name(names, &c.visit_no, &c.masked_name).0,
        queue_code: &c.queue_code,
        called_at: c.called_at,
        call_count: c.call_count,
        placement_code: c.placement_code.as_str(),
        tags: &c.tags,
        misses: c.misses,
    }
}

/// A room's frame content.
pub fn room_frame<'a>(
    view: &'a StaffRoomView,
    hospital: &'a Hospital,
    names: &VisitNames,
) -> Option<RoomFrame<'a>> {
    let def = hospital.rooms.iter().find(|r| r.code == view.code)?;
    Some(RoomFrame {
        code: &view.code,
        name: &def.name,
        department_code: &def.department,
        doctor_code: view.doctor_code.as_deref(),
        doctor_name: view.doctor_code.as_deref().and_then(|d| {
            hospital
                .doctors
                .iter()
                .find(|x| x.code == d)
                .map(|x| x.name.as_str())
        }),
        seat: view.seat.as_str(),
        queues: &view.queues,
        version: view.version,
        status: view.status.as_str(),
        status_label: &view.status_label,
        current: view.current.as_ref().map(|c| call(c, names)),
    })
}

/// A frame of the staff channel (`restarting`, `pong` and `signed_out` are
/// the socket's own, in `ws.rs`).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StaffFrame<'a> {
    /// Every watched queue and room, first and on `resync`.
    Snapshot {
        seq: u64,
        server_time: chrono::DateTime<chrono::Utc>,
        staff: StaffWho<'a>,
        departments: &'a [DepartmentCode],
        queues: Vec<QueueFrame<'a>>,
        rooms: Vec<RoomFrame<'a>>,
    },
    /// A newer view of one queue.
    Queue { seq: u64, queue: QueueFrame<'a> },
    /// A newer view of one room.
    Room { seq: u64, room: RoomFrame<'a> },
}

/// Who the page belongs to.
#[derive(Serialize)]
pub struct StaffWho<'a> {
    code: &'a str,
    role: &'static str,
    scope: &'a [String],
}

impl StaffFrame<'_> {
    /// The frame as sent: through a JSON value, keys sorted (byte for byte
    /// what the `json!` bodies were).
    pub fn encode(&self) -> String {
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

/// The whole snapshot frame at `seq`.
pub fn snapshot(
    seq: u64,
    staff: &Staff,
    watch: &Watch,
    latest: &Latest,
    engine: &Engine,
) -> String {
    let queues: Vec<QueueFrame<'_>> = watch
        .queues
        .iter()
        .filter_map(|q| latest.queues.get(q))
        .filter_map(|v| queue_frame(v, engine.hospital(), engine.names()))
        .collect();
    let rooms: Vec<RoomFrame<'_>> = watch
        .rooms
        .iter()
        .filter_map(|r| latest.rooms.get(r))
        .filter_map(|v| room_frame(v, engine.hospital(), engine.names()))
        .collect();
    StaffFrame::Snapshot {
        seq,
        server_time: engine.now(),
        staff: StaffWho {
            code: &staff.code,
            role: staff.role.as_str(),
            scope: &staff.scope,
        },
        departments: &watch.departments,
        queues,
        rooms,
    }
    .encode()
}

/// A queue frame at `seq`.
pub fn queue_update(seq: u64, view: &StaffQueueView, engine: &Engine) -> Option<String> {
    let q = queue_frame(view, engine.hospital(), engine.names())?;
    Some(StaffFrame::Queue { seq, queue: q }.encode())
}

/// A room frame at `seq`.
pub fn room_update(seq: u64, view: &StaffRoomView, engine: &Engine) -> Option<String> {
    let r = room_frame(view, engine.hospital(), engine.names())?;
    Some(StaffFrame::Room { seq, room: r }.encode())
}

/// Every watched queue's waiting list as rows of text (the columns of
/// `api::exports::COLUMNS`), in calling order: (queue name, rows).
pub fn waiting_lists(
    watch: &Watch,
    latest: &Latest,
    engine: &Engine,
) -> Vec<(String, Vec<[String; 8]>)> {
    let local = triage_ground::time::shanghai();
    watch
        .queues
        .iter()
        .filter_map(|q| latest.queues.get(q))
        .filter_map(|view| {
            let def = engine
                .hospital()
                .queues
                .iter()
                .find(|q| q.code == view.code)?;
            let rows = view
                .entries
                .iter()
                .map(|e| {
                    let f = entry(e, engine.names());
                    let mut marks: Vec<&str> = Vec::new();
                    if !f.kind_label.is_empty() {
                        marks.push(f.kind_label);
                    }
                    if f.pinned {
                        marks.push("置顶");
                    }
                    let state = if f.held {
                        "挂起".to_string()
                    } else if let Some(room) = f.room {
                        format!("已分诊到{room}")
                    } else if f.callable {
                        "候诊".to_string()
                    } else {
                        "未到时段".to_string()
                    };
                    [
                        f.position.to_string(),
                        f.ticket_no.to_string(),
                        f.name.clone(),
                        marks.join(" "),
                        f.tags.join("、"),
                        f.placement_reason.to_string(),
                        state,
                        f.checked_in_at
                            .with_timezone(&local)
                            .format("%H:%M")
                            .to_string(),
                    ]
                })
                .collect();
            Some((def.name.clone(), rows))
        })
        .collect()
}
