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
//! `{"type":"resync"}` and gets a new snapshot. The socket's own `pong`,
//! `restarting` and `signed_out` go outside the sequence. Every one is a
//! [`StaffFrame`] (nothing on the channel is written by hand), and reads
//! back into one: `tests/fixtures/staff-frames/` holds each as sent, the
//! contract the staff pages' browser tests read too.

use crate::db::columns::VisitType;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use triage_actors::board::frame::RESTARTING_MESSAGE;
use triage_actors::model::{EntryKind, PlacementCode, RoomStatus, SeatState, SpecialTag};
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

/// A department a doctor asks for must be one of his rooms' (403
/// otherwise, as for a nurse: docs/API.md; 422 for one that does not exist).
fn doctor_asks_his_own(
    asked: Option<&[String]>,
    his: &[DepartmentCode],
    hospital: &Hospital,
) -> Result<(), Error> {
    match asked
        .unwrap_or_default()
        .iter()
        .find(|d| !his.iter().any(|x| x == d.as_str()))
    {
        None => Ok(()),
        Some(d) => Err(Error::new(
            if hospital.departments.iter().any(|x| x.code == *d) {
                ErrorCode::Forbidden
            } else {
                ErrorCode::UnknownDepartment
            },
            format!("科室 {d} 不在您诊室所属的科室内"),
        )),
    }
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
                doctor_asks_his_own(asked, &departments, hospital)?;
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFrame<'a> {
    pub position: usize,
    #[serde(borrow)]
    pub visit_no: Cow<'a, str>,
    #[serde(borrow)]
    pub ticket_no: Cow<'a, str>,
    /// The full name (staff in scope only).
    pub name: String,
    pub kind: EntryKind,
    /// 复诊, 回诊, 过号, 迟到 or empty.
    #[serde(borrow)]
    pub kind_label: Cow<'a, str>,
    pub tags: Cow<'a, [String]>,
    pub special: Option<Cow<'a, str>>,
    /// The registration's groups as codes (what a nurse may unmark).
    pub registered: Cow<'a, [SpecialTag]>,
    pub placement_code: PlacementCode,
    #[serde(borrow)]
    pub placement_reason: Cow<'a, str>,
    pub callable: bool,
    pub held: bool,
    pub pinned: bool,
    pub misses: i32,
    pub checked_in_at: chrono::DateTime<chrono::Utc>,
    pub room: Option<Cow<'a, str>>,
}

/// A queue on a staff page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueFrame<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub department_code: Cow<'a, str>,
    pub doctor_code: Option<Cow<'a, str>>,
    pub version: u64,
    pub callable: usize,
    pub waiting: usize,
    #[serde(borrow)]
    pub entries: Vec<EntryFrame<'a>>,
}

/// The called patient on a staff page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFrame<'a> {
    #[serde(borrow)]
    pub visit_no: Cow<'a, str>,
    #[serde(borrow)]
    pub ticket_no: Cow<'a, str>,
    pub name: String,
    #[serde(borrow)]
    pub queue_code: Cow<'a, str>,
    pub called_at: chrono::DateTime<chrono::Utc>,
    pub call_count: i32,
    pub placement_code: PlacementCode,
    /// The special groups to remind the doctor of (特殊人群提醒).
    pub tags: Cow<'a, [String]>,
    pub misses: i32,
}

/// A room on a staff page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomFrame<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub department_code: Cow<'a, str>,
    pub doctor_code: Option<Cow<'a, str>>,
    pub doctor_name: Option<Cow<'a, str>>,
    /// `configured`, `scheduled` (出诊排班, not signed in yet), `in` (signed
    /// in), `break` (away) or `out` (nobody).
    pub seat: SeatState,
    pub queues: Cow<'a, [QueueCode]>,
    pub version: u64,
    pub status: RoomStatus,
    #[serde(borrow)]
    pub status_label: Cow<'a, str>,
    #[serde(borrow)]
    pub current: Option<CallFrame<'a>>,
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
        visit_no: Cow::Borrowed(&e.visit_no),
        ticket_no: Cow::Borrowed(&e.ticket_no),
        name,
        kind: e.kind,
        kind_label: Cow::Borrowed(kind_label(e.kind, visit_type)),
        tags: Cow::Borrowed(&e.tags),
        special: e.special.as_deref().map(Cow::Borrowed),
        registered: Cow::Borrowed(&e.registered),
        placement_code: e.placement_code,
        placement_reason: Cow::Borrowed(&e.placement_reason),
        callable: e.callable,
        held: e.held,
        pinned: e.pinned,
        misses: e.misses,
        checked_in_at: e.checked_in_at,
        room: e.room.as_deref().map(Cow::Borrowed),
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
        code: Cow::Borrowed(&view.code),
        name: Cow::Borrowed(&def.name),
        department_code: Cow::Borrowed(&def.department),
        doctor_code: def.doctor.as_deref().map(Cow::Borrowed),
        version: view.version,
        callable: view.callable,
        waiting: view.entries.len(),
        entries: view.entries.iter().map(|e| entry(e, names)).collect(),
    })
}

fn call<'a>(c: &'a StaffCall, names: &VisitNames) -> CallFrame<'a> {
    CallFrame {
        visit_no: Cow::Borrowed(&c.visit_no),
        ticket_no: Cow::Borrowed(&c.ticket_no),
        name: full_name(names, &c.visit_no, &c.masked_name).0,
        queue_code: Cow::Borrowed(&c.queue_code),
        called_at: c.called_at,
        call_count: c.call_count,
        placement_code: c.placement_code,
        tags: Cow::Borrowed(&c.tags),
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
        code: Cow::Borrowed(&view.code),
        name: Cow::Borrowed(&def.name),
        department_code: Cow::Borrowed(&def.department),
        doctor_code: view.doctor_code.as_deref().map(Cow::Borrowed),
        doctor_name: view.doctor_code.as_deref().and_then(|d| {
            hospital
                .doctors
                .iter()
                .find(|x| x.code == d)
                .map(|x| Cow::Borrowed(x.name.as_str()))
        }),
        seat: view.seat,
        queues: Cow::Borrowed(&view.queues),
        version: view.version,
        status: view.status,
        status_label: Cow::Borrowed(&view.status_label),
        current: view.current.as_ref().map(|c| call(c, names)),
    })
}

/// Every frame of the staff channel: what the server sends a staff page,
/// and what a test or a tool reads back (text fields borrow from the input
/// where they can).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StaffFrame<'a> {
    /// Every watched queue and room, first and on `resync`.
    Snapshot {
        seq: u64,
        server_time: chrono::DateTime<chrono::Utc>,
        #[serde(borrow)]
        staff: StaffWho<'a>,
        departments: Cow<'a, [DepartmentCode]>,
        #[serde(borrow)]
        queues: Vec<QueueFrame<'a>>,
        #[serde(borrow)]
        rooms: Vec<RoomFrame<'a>>,
    },
    /// A newer view of one queue.
    Queue {
        seq: u64,
        #[serde(borrow)]
        queue: QueueFrame<'a>,
    },
    /// A newer view of one room.
    Room {
        seq: u64,
        #[serde(borrow)]
        room: RoomFrame<'a>,
    },
    /// The answer to the page's `ping`.
    Pong,
    /// The server is shutting down: keep the last state (offline) and
    /// reconnect; the socket closes next.
    Restarting {
        #[serde(borrow)]
        message: Cow<'a, str>,
    },
    /// The page's session ended (logout, idle, account disabled or its
    /// scope changed): the socket closes next.
    SignedOut,
}

/// Who the page belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffWho<'a> {
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    pub role: Role,
    pub scope: Cow<'a, [String]>,
}

impl StaffFrame<'_> {
    /// The `restarting` frame, saying what the screens say.
    pub fn restarting() -> StaffFrame<'static> {
        StaffFrame::Restarting {
            message: Cow::Borrowed(RESTARTING_MESSAGE),
        }
    }

    /// Whether the frame is the socket's own, outside the sequence (no
    /// `seq`).
    pub fn is_control(&self) -> bool {
        matches!(
            self,
            StaffFrame::Pong | StaffFrame::Restarting { .. } | StaffFrame::SignedOut
        )
    }

    /// The frame as sent, byte for byte as it has always been: a data
    /// frame through a JSON value (keys sorted, what the `json!` bodies
    /// were), a control frame as declared (`type` first).
    pub fn encode(&self) -> String {
        let text = if self.is_control() {
            serde_json::to_string(self)
        } else {
            serde_json::to_value(self).map(|v| v.to_string())
        };
        // Cannot fail: every key is a string.
        text.unwrap_or_default()
    }
}

/// The whole snapshot at `seq` and `now`: every watched queue and room
/// `latest` holds, in the watch's order.
pub fn snapshot_frame<'a>(
    seq: u64,
    now: chrono::DateTime<chrono::Utc>,
    staff: &'a Staff,
    watch: &'a Watch,
    latest: &'a Latest,
    hospital: &'a Hospital,
    names: &VisitNames,
) -> StaffFrame<'a> {
    let queues: Vec<QueueFrame<'_>> = watch
        .queues
        .iter()
        .filter_map(|q| latest.queues.get(q))
        .filter_map(|v| queue_frame(v, hospital, names))
        .collect();
    let rooms: Vec<RoomFrame<'_>> = watch
        .rooms
        .iter()
        .filter_map(|r| latest.rooms.get(r))
        .filter_map(|v| room_frame(v, hospital, names))
        .collect();
    StaffFrame::Snapshot {
        seq,
        server_time: now,
        staff: StaffWho {
            code: Cow::Borrowed(&staff.code),
            role: staff.role,
            scope: Cow::Borrowed(&staff.scope[..]),
        },
        departments: Cow::Borrowed(&watch.departments),
        queues,
        rooms,
    }
}

/// The whole snapshot frame at `seq`, encoded.
pub fn snapshot(
    seq: u64,
    staff: &Staff,
    watch: &Watch,
    latest: &Latest,
    engine: &Engine,
) -> String {
    snapshot_frame(
        seq,
        engine.now(),
        staff,
        watch,
        latest,
        engine.hospital(),
        engine.names(),
    )
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
                        marks.push(&f.kind_label);
                    }
                    if f.pinned {
                        marks.push("置顶");
                    }
                    let state = if f.held {
                        "挂起".to_string()
                    } else if let Some(room) = &f.room {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeZone, Utc};
    use std::path::PathBuf;
    use triage_ground::ids::{DoctorCode, VisitNo};

    /// 2026-12-09 (a Wednesday) at `h:m:s` UTC; 01:30 is 09:30 in Beijing,
    /// the browser tests' named instant.
    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 9, h, m, s)
            .single()
            .unwrap_or_else(|| panic!("{h}:{m}:{s}"))
    }

    /// A triage nurse (分诊护士) of 内科.
    fn nurse() -> Staff {
        Staff {
            code: "N1001".into(),
            role: Role::Nurse,
            scope: vec!["NK".into()].into(),
        }
    }

    /// The full names the server keeps beside the masked ones.
    fn names() -> VisitNames {
        let names = VisitNames::default();
        for (visit, name, visit_type) in [
            ("MZ20261209002", "王建军", VisitType::First),
            ("MZ20261209003", "李秀英", VisitType::First),
            ("MZ20261209004", "欧阳娜娜", VisitType::First),
            ("MZ20261209006", "司马相如", VisitType::Return),
            ("MZ20261209101", "陈小春", VisitType::First),
            ("MZ20261209102", "张三丰", VisitType::First),
            ("MZ20261209103", "上官婉儿", VisitType::First),
        ] {
            names.set(visit, name, visit_type, at(0, 30, 0));
        }
        names
    }

    /// A callable patient checked in on time, at `position`.
    fn waiting(position: usize, visit: &str, ticket: &str, masked: &str) -> StaffEntry {
        StaffEntry {
            position,
            visit_no: VisitNo::trusted(visit),
            ticket_no: ticket.into(),
            masked_name: masked.into(),
            kind: EntryKind::Normal,
            tags: vec![],
            special: None,
            registered: vec![],
            placement_code: PlacementCode::CheckInOrder,
            placement_reason: "按签到顺序".into(),
            callable: true,
            held: false,
            pinned: false,
            misses: 0,
            checked_in_at: at(1, 0, 0),
            room: None,
            booked_room: None,
        }
    }

    /// 内科普通号: a pinned patient first, a 军人 by priority, a 复诊 by
    /// the return interval, and a held one last.
    fn general() -> StaffQueueView {
        StaffQueueView {
            code: QueueCode::trusted("NK"),
            version: 34,
            callable: 3,
            entries: vec![
                StaffEntry {
                    placement_code: PlacementCode::Pinned,
                    placement_reason: "护士置顶".into(),
                    pinned: true,
                    checked_in_at: at(0, 58, 0),
                    ..waiting(1, "MZ20261209003", "A003", "李*英")
                },
                StaffEntry {
                    tags: vec!["军人".into()],
                    special: Some("军人".into()),
                    registered: vec![SpecialTag::Military],
                    placement_code: PlacementCode::SpecialGroup,
                    placement_reason: "特殊人群优先（军人，第1级）".into(),
                    checked_in_at: at(1, 5, 0),
                    ..waiting(2, "MZ20261209004", "A004", "欧**娜")
                },
                StaffEntry {
                    kind: EntryKind::Return,
                    placement_code: PlacementCode::ReturnInterval,
                    placement_reason: "复诊插入：每3位普通患者后插入一位".into(),
                    checked_in_at: at(1, 12, 0),
                    ..waiting(3, "MZ20261209006", "A006", "司**如")
                },
                StaffEntry {
                    placement_code: PlacementCode::Held,
                    placement_reason: "护士挂起（暂不叫号）".into(),
                    callable: false,
                    held: true,
                    checked_in_at: at(0, 52, 0),
                    ..waiting(4, "MZ20261209002", "A002", "王*军")
                },
            ],
        }
    }

    /// 王建国主任专家号 at `version`: an elderly patient first by the age
    /// rule (not marked at registration), then one back from a missed call.
    fn expert(version: u64) -> StaffQueueView {
        let elderly = StaffEntry {
            tags: vec!["高龄老人".into()],
            special: Some("高龄老人".into()),
            placement_code: PlacementCode::SpecialGroup,
            placement_reason: "特殊人群优先（高龄老人，第2级）".into(),
            checked_in_at: at(1, 1, 0),
            ..waiting(1, "MZ20261209102", "B002", "张*丰")
        };
        let recalled = |position| StaffEntry {
            kind: EntryKind::Recall,
            placement_code: PlacementCode::RecallInterval,
            placement_reason: "过号召回：2位普通患者后插入".into(),
            misses: 1,
            checked_in_at: at(1, 20, 0),
            ..waiting(position, "MZ20261209103", "B003", "上**儿")
        };
        let entries = if version == 17 {
            vec![elderly, recalled(2)]
        } else {
            // B002 was called into 内科1诊室.
            vec![recalled(1)]
        };
        StaffQueueView {
            code: QueueCode::trusted("NK-D1001"),
            version,
            callable: entries.len(),
            entries,
        }
    }

    /// A room of 内科 calling the general queue, nobody called.
    fn room(code: &str, version: u64, status: RoomStatus, seat: SeatState) -> StaffRoomView {
        StaffRoomView {
            code: RoomCode::trusted(code),
            version,
            status,
            status_label: triage_actors::model::room_label(status, seat, false, false).into(),
            current: None,
            doctor_code: None,
            seat,
            queues: vec![QueueCode::trusted("NK")],
        }
    }

    /// 内科1诊室 with 王建国 signed in, calling his own queue first.
    fn room_one(version: u64, current: StaffCall) -> StaffRoomView {
        StaffRoomView {
            current: Some(current),
            status_label: "就诊中".into(),
            doctor_code: Some(DoctorCode::trusted("D1001")),
            queues: vec![QueueCode::trusted("NK-D1001"), QueueCode::trusted("NK")],
            ..room("NK-01", version, RoomStatus::Open, SeatState::In)
        }
    }

    fn first_call() -> StaffCall {
        StaffCall {
            visit_no: VisitNo::trusted("MZ20261209101"),
            ticket_no: "B001".into(),
            masked_name: "陈*春".into(),
            queue_code: QueueCode::trusted("NK-D1001"),
            called_at: at(1, 25, 0),
            call_count: 1,
            placement_code: PlacementCode::CheckInOrder,
            tags: vec![],
            misses: 0,
        }
    }

    fn elderly_call() -> StaffCall {
        StaffCall {
            visit_no: VisitNo::trusted("MZ20261209102"),
            ticket_no: "B002".into(),
            masked_name: "张*丰".into(),
            called_at: at(1, 30, 5),
            placement_code: PlacementCode::SpecialGroup,
            tags: vec!["高龄老人".into()],
            ..first_call()
        }
    }

    /// What a 内科 nurse's page holds when it connects: both queues, the
    /// four rooms (one calling, one whose doctor stepped away, one paused,
    /// one closed with nobody in it).
    fn latest() -> Latest {
        let mut latest = Latest::default();
        latest.queue(Arc::new(general()));
        latest.queue(Arc::new(expert(17)));
        latest.room(Arc::new(room_one(21, first_call())));
        latest.room(Arc::new(StaffRoomView {
            doctor_code: Some(DoctorCode::trusted("D1002")),
            ..room("NK-02", 9, RoomStatus::Open, SeatState::Break)
        }));
        latest.room(Arc::new(StaffRoomView {
            doctor_code: Some(DoctorCode::trusted("D1003")),
            ..room("NK-03", 6, RoomStatus::Paused, SeatState::Configured)
        }));
        latest.room(Arc::new(room(
            "NK-04",
            3,
            RoomStatus::Closed,
            SeatState::Out,
        )));
        latest
    }

    /// One file of `tests/fixtures/staff-frames/`.
    struct Fixture {
        /// `04-pong.json`.
        file: String,
        /// The frame it holds, after the number: `pong`.
        name: String,
        /// The text without its trailing newline.
        text: String,
    }

    /// The fixtures, in order.
    fn fixtures() -> Vec<Fixture> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/staff-frames");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let file = path
                    .file_name()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                let stem = file.strip_suffix(".json").unwrap_or(file);
                Fixture {
                    file: file.to_string(),
                    name: stem.split_once('-').map_or(stem, |(_, n)| n).to_string(),
                    text: text.strip_suffix('\n').unwrap_or(&text).to_string(),
                }
            })
            .collect()
    }

    /// `sent` is the fixture's text byte for byte; if not, says where they
    /// part (a snapshot is one long line).
    fn assert_same_bytes(sent: &str, fixture: &Fixture, what: &str) {
        if sent == fixture.text {
            return;
        }
        let same = sent
            .chars()
            .zip(fixture.text.chars())
            .take_while(|(a, b)| a == b)
            .count();
        let around =
            |s: &str| -> String { s.chars().skip(same.saturating_sub(40)).take(80).collect() };
        panic!(
            "{}: {what}, from character {same}:\n  sent:    …{}…\n  fixture: …{}…",
            fixture.file,
            around(sent),
            around(&fixture.text)
        );
    }

    /// A frame's `type`, one arm per variant: a new frame does not compile
    /// here until it is named, and then wants its fixture.
    fn name(f: &StaffFrame<'_>) -> &'static str {
        match f {
            StaffFrame::Snapshot { .. } => "snapshot",
            StaffFrame::Queue { .. } => "queue",
            StaffFrame::Room { .. } => "room",
            StaffFrame::Pong => "pong",
            StaffFrame::Restarting { .. } => "restarting",
            StaffFrame::SignedOut => "signed_out",
        }
    }

    /// The fixtures are the contract the staff pages' browser tests read:
    /// each is exactly what the server sends a 内科 nurse's page, built by
    /// the server's own functions from the actors' views and the names
    /// cache, in the order the page gets them (snapshot at `seq` 1, a
    /// queue at 2, a room at 3, then the socket's own frames).
    #[test]
    fn every_staff_frame_has_a_fixture_the_server_sends_byte_for_byte() {
        let hospital = Hospital::demo();
        let names = names();
        let staff = nurse();
        let watch = Watch::of(&staff, &hospital, None).unwrap_or_else(|e| panic!("{e}"));
        let latest = latest();
        let expert = expert(18);
        let room = room_one(22, elderly_call());
        let queue = queue_frame(&expert, &hospital, &names).unwrap_or_else(|| panic!("queue"));
        let room = room_frame(&room, &hospital, &names).unwrap_or_else(|| panic!("room"));
        let sent = [
            snapshot_frame(1, at(1, 30, 0), &staff, &watch, &latest, &hospital, &names),
            StaffFrame::Queue { seq: 2, queue },
            StaffFrame::Room { seq: 3, room },
            StaffFrame::Pong,
            StaffFrame::restarting(),
            StaffFrame::SignedOut,
        ];
        let fixtures = fixtures();
        assert_eq!(
            fixtures.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            sent.iter().map(name).collect::<Vec<_>>(),
            "one fixture per frame, in the order a page gets them"
        );
        for (fixture, frame) in fixtures.iter().zip(&sent) {
            assert_same_bytes(&frame.encode(), fixture, "not what the server sends");
        }
    }

    /// Each fixture reads back into a [`StaffFrame`] and encodes to the
    /// same bytes: the type holds everything a page gets, nothing more.
    #[test]
    fn every_staff_fixture_reads_back_and_encodes_to_the_same_bytes() {
        let mut seqs = Vec::new();
        let fixtures = fixtures();
        for f in &fixtures {
            let frame: StaffFrame<'_> =
                serde_json::from_str(&f.text).unwrap_or_else(|e| panic!("{}: {e}", f.file));
            assert_eq!(name(&frame), f.name, "{}", f.file);
            assert_same_bytes(&frame.encode(), f, "encodes to other bytes");
            match frame {
                StaffFrame::Snapshot { seq, .. }
                | StaffFrame::Queue { seq, .. }
                | StaffFrame::Room { seq, .. } => seqs.push(seq),
                StaffFrame::Pong | StaffFrame::Restarting { .. } | StaffFrame::SignedOut => {}
            }
        }
        assert_eq!(seqs, [1, 2, 3], "a snapshot, then the next seq each");
    }

    /// The typed codes of a frame are the strings the pages have always
    /// read (the enums' own codes).
    #[test]
    fn frame_codes_are_the_stable_codes() {
        /// What a frame carries for `v`.
        fn sent<T: Serialize>(v: T) -> String {
            serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        }
        let mut pairs: Vec<(String, &str)> = Vec::new();
        pairs.extend(PlacementCode::ALL.map(|p| (sent(p), p.as_str())));
        pairs.extend(
            [
                SeatState::Configured,
                SeatState::Scheduled,
                SeatState::In,
                SeatState::Break,
                SeatState::Out,
            ]
            .map(|s| (sent(s), s.as_str())),
        );
        pairs.extend(
            [RoomStatus::Open, RoomStatus::Paused, RoomStatus::Closed]
                .map(|s| (sent(s), s.as_str())),
        );
        pairs.extend(
            [
                EntryKind::Normal,
                EntryKind::Return,
                EntryKind::Recall,
                EntryKind::Late,
            ]
            .map(|k| (sent(k), k.as_str())),
        );
        pairs.extend([Role::Admin, Role::Nurse, Role::Doctor].map(|r| (sent(r), r.as_str())));
        for (sent, code) in pairs {
            assert_eq!(sent, code);
        }
    }
}
