//! What a patient's own page sees (`/p/{token}`, issue 28): one visit, as
//! the patient needs it — the ticket, the masked name, the department and
//! queue, the rooms that may call, how many are ahead, the status in plain
//! Chinese and, once called, the room. Never a full name, an ID or another
//! patient.
//!
//! The view is computed from the same staff views the nurse console gets
//! (the queue's calling order, the rooms' current patients), filtered to
//! this visit on the server; only the result leaves it. When those views
//! no longer say where the visit is (it was called, missed, moved, seen),
//! the visit's row is read again ([`Watched::reread`]).
//!
//! Frames (`GET /p/{token}/live`, the socket lives in `ws.rs`): `visit`, the
//! whole view each time with the page's next `seq` (a page that sees a gap
//! asks `{"type":"resync"}`); `gone` when the link stops working (the visit
//! closed, the day ended); `pong` and `restarting` outside the sequence.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use triage_actors::mask::mask_name;
use triage_actors::model::{RoomStatus, SeatState, VisitStatus};
use triage_actors::staff::StaffQueueView;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{QueueCode, RoomCode};
use triage_ground::time::service_date;
use utoipa::ToSchema;

use crate::db::models::VisitRow;
use crate::db::{links, store};
use crate::engine::Engine;
use crate::staff::{Latest, Watch};

/// What the page says when a link opens nothing (unknown, expired, closed).
pub const LINK_GONE: &str = "此链接已失效：本次就诊已结束，或已过当天。如需帮助请到分诊台。";

/// The patient's status as the page shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    /// In the queue.
    Waiting,
    /// In the queue, held by the nurse (暂不叫号).
    Held,
    /// Called into a room.
    Called,
    /// Missed the call (过号).
    Missed,
    /// Away for an exam (检查中).
    Exam,
    /// Seen, or the visit otherwise closed.
    Done,
}

/// A room's name as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientRoom {
    #[schema(value_type = String)]
    pub code: RoomCode,
    pub name: String,
}

/// One visit as its patient sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PatientView {
    pub ticket_no: String,
    /// As public screens show it (张*三).
    pub masked_name: String,
    pub department: String,
    pub queue: String,
    pub status: PatientStatus,
    /// The status in Chinese.
    pub status_label: String,
    /// Patients a room calls before this one (waiting only).
    pub ahead: Option<usize>,
    /// The rooms that may call the patient now (waiting only).
    pub rooms: Vec<PatientRoom>,
    /// The wait as a range (waiting, not held; once the queue's forecast
    /// includes the patient): P50–P90 minutes, or that the session may end
    /// first.
    pub wait: Option<crate::engine::waits::WaitView>,
    /// The room that called the patient.
    pub called_room: Option<PatientRoom>,
    pub called_at: Option<DateTime<Utc>>,
    /// What to do now, in plain words (the missed-call rule when called).
    pub advice: String,
}

/// A frame on the patient's socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PatientFrame {
    Visit { seq: u64, visit: Box<PatientView> },
    Gone { message: String },
    Pong,
    Restarting { message: String },
}

impl PatientFrame {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The visit a link opens and what its page watches.
pub struct Watched {
    pub row: VisitRow,
    pub day: NaiveDate,
    pub watch: Watch,
    pub latest: Latest,
}

/// The open visit `token` shows today, or `link_expired` (the same answer
/// for a token never made: a guess learns nothing).
pub async fn open(engine: &Engine, token: &str) -> Result<Watched, Error> {
    let gone = || Error::new(ErrorCode::PatientLinkExpired, LINK_GONE);
    if !links::well_formed(token) {
        return Err(gone());
    }
    let t = token.to_string();
    let (visit_no, day) = engine
        .db()
        .read(move |c| links::find(c, &t))
        .await?
        .ok_or_else(gone)?;
    let day: NaiveDate = day.parse().map_err(|_| gone())?;
    if day != service_date(engine.now()) {
        return Err(gone());
    }
    let row = read_row(engine, &visit_no).await?.ok_or_else(gone)?;
    if closed(row.status) {
        return Err(gone());
    }
    let watch = watch_of(engine, &row);
    let latest = crate::staff::fetch(engine, &watch).await;
    Ok(Watched {
        row,
        day,
        watch,
        latest,
    })
}

/// The visit's row read again and the views of what it should watch now.
pub struct Reread {
    pub row: Option<VisitRow>,
    pub watch: Watch,
    pub latest: Latest,
}

/// Reads `visit_no`'s row again (the visit moved on) and the views of its
/// queue and rooms now.
pub async fn reread(engine: &Engine, visit_no: &str, watch: &Watch) -> Result<Reread, Error> {
    let row = read_row(engine, visit_no).await?;
    let watch = row
        .as_ref()
        .map_or_else(|| watch.clone(), |r| watch_of(engine, r));
    let latest = crate::staff::fetch(engine, &watch).await;
    Ok(Reread { row, watch, latest })
}

async fn read_row(engine: &Engine, visit_no: &str) -> Result<Option<VisitRow>, Error> {
    let v = visit_no.to_string();
    Ok(engine.db().read(move |c| store::get_visit(c, &v)).await?)
}

/// Whether the link of a visit in `status` has stopped working.
pub fn closed(status: VisitStatus) -> bool {
    matches!(
        status,
        VisitStatus::Finished
            | VisitStatus::NoShow
            | VisitStatus::Cancelled
            | VisitStatus::Closed
            | VisitStatus::Registered
    )
}

/// The visit's queue and the rooms drawing from it.
fn watch_of(engine: &Engine, row: &VisitRow) -> Watch {
    let queues: Vec<QueueCode> = row.queue_code.iter().cloned().collect();
    let mut rooms: Vec<RoomCode> = queues
        .iter()
        .flat_map(|q| engine.directory().rooms_of_queue(q))
        .collect();
    if let Some(r) = &row.room_code {
        if !rooms.contains(r) {
            rooms.push(r.clone());
        }
    }
    Watch {
        departments: Vec::new(),
        queues,
        rooms,
    }
}

impl Watched {
    /// The view now, or `None` when the staff views no longer agree with
    /// the row (the visit moved on): read the row again.
    pub fn view(&self, engine: &Engine) -> Option<PatientView> {
        let row = &self.row;
        let h = engine.hospital();
        let room = |code: &RoomCode| room_of(engine, code);
        let queue = row.queue_code.as_ref().and_then(|q| h.queue(q));
        let mut view = PatientView {
            ticket_no: row.ticket_no.clone().unwrap_or_default(),
            masked_name: mask_name(&row.patient_name),
            // Where the patient waits now (a transfer moves them).
            department: {
                let code = queue.map_or(&row.department_code, |q| &q.department);
                h.departments
                    .iter()
                    .find(|d| d.code == *code)
                    .map_or_else(|| code.to_string(), |d| d.name.clone())
            },
            queue: queue.map_or_else(String::new, |q| q.name.clone()),
            status: PatientStatus::Done,
            status_label: String::new(),
            ahead: None,
            rooms: Vec::new(),
            wait: None,
            called_room: None,
            called_at: None,
            advice: String::new(),
        };
        // Is the visit some room's current patient?
        let current_in = self.latest.rooms.values().find(|r| {
            r.current
                .as_ref()
                .is_some_and(|c| c.visit_no == row.visit_no)
        });
        let max_misses = queue.map_or(2, |q| q.rules.max_misses);
        // Back in a queue (recalled, returned) while the row says otherwise.
        let queued = self
            .latest
            .queues
            .values()
            .any(|q| position_in(q, &row.visit_no).is_some());
        if row.status != VisitStatus::Waiting && queued {
            return None;
        }
        match row.status {
            VisitStatus::Waiting => {
                if current_in.is_some() {
                    return None;
                }
                self.waiting(engine, &mut view)?;
            }
            VisitStatus::Called => {
                let r = current_in?;
                let c = r.current.as_ref()?;
                view.status = PatientStatus::Called;
                view.called_room = Some(room(&r.code));
                view.called_at = Some(c.called_at);
                view.advice = format!(
                    "请立即到{}就诊。未及时到达视为过号；过号后请到分诊台报到，累计过号{}次将不再排队。",
                    room(&r.code).name,
                    max_misses
                );
            }
            VisitStatus::Missed => {
                if current_in.is_some() {
                    return None;
                }
                view.status = PatientStatus::Missed;
                view.advice = format!(
                    "您已过号（第 {} 次）。请尽快到分诊台报到，护士会为您重新排队；累计过号{}次将不再排队。",
                    row.miss_count, max_misses
                );
            }
            VisitStatus::Exam => {
                view.status = PatientStatus::Exam;
                view.advice = "检查完成后请回到分诊台报到，护士会安排您回诊。".into();
            }
            _ => {
                view.status = PatientStatus::Done;
                view.advice = "本次就诊已结束，祝您早日康复。".into();
            }
        }
        view.status_label = label(view.status).into();
        Some(view)
    }

    /// Fills in a waiting visit: how many are ahead, the rooms that may
    /// call, what to do; `None` when the queue's view does not hold it.
    fn waiting(&self, engine: &Engine, view: &mut PatientView) -> Option<()> {
        let row = &self.row;
        let q = self.latest.queues.get(row.queue_code.as_ref()?)?;
        let (ahead, entry) = position_in(q, &row.visit_no)?;
        // A short list (二级候诊) or a booked room: that room alone.
        let rooms: Vec<PatientRoom> = match entry.room.as_ref().or(entry.booked_room.as_ref()) {
            Some(r) => vec![room_of(engine, r)],
            None => {
                let mut rooms: Vec<&RoomCode> = self
                    .latest
                    .rooms
                    .values()
                    .filter(|r| {
                        r.status != RoomStatus::Closed
                            && r.seat != SeatState::Out
                            && r.queues.contains(&q.code)
                    })
                    .map(|r| &r.code)
                    .collect();
                rooms.sort();
                rooms.into_iter().map(|r| room_of(engine, r)).collect()
            }
        };
        view.status = if entry.held {
            PatientStatus::Held
        } else {
            PatientStatus::Waiting
        };
        view.ahead = Some(ahead);
        if !entry.held {
            view.wait = engine.wait_of(&q.code, &row.visit_no);
        }
        view.advice = if entry.held {
            "分诊台已暂停为您叫号，请到分诊台询问。".into()
        } else if rooms.is_empty() {
            "暂无诊室开诊，请留意叫号屏和本页。".into()
        } else {
            "请在候诊区等候，叫到您时本页会提醒。".into()
        };
        view.rooms = rooms;
        Some(())
    }

    /// Takes what [`reread`] found: the row, and the views (newer ones
    /// only, as updates that arrived meanwhile may be newer still); a
    /// changed watch starts from its own views.
    pub fn merge(&mut self, found: Reread) {
        if let Some(row) = found.row {
            self.row = row;
        }
        if found.watch != self.watch {
            // Views of what is no longer watched go; the others stay (an
            // update newer than the read may already be here).
            self.latest
                .queues
                .retain(|q, _| found.watch.queues.contains(q));
            self.latest
                .rooms
                .retain(|r, _| found.watch.rooms.contains(r));
            self.watch = found.watch;
        }
        for v in found.latest.queues.into_values() {
            self.latest.queue(v);
        }
        for v in found.latest.rooms.into_values() {
            self.latest.room(v);
        }
    }

    /// Whether the link still works (the visit open, the day today and
    /// not closed: the day end closes the missed and the away with a
    /// write no queue or room tells).
    pub fn open_now(&self, engine: &Engine) -> bool {
        !closed(self.row.status)
            && self.day == service_date(engine.now())
            && engine.closed_through.get().is_none_or(|d| d < self.day)
    }
}

/// Patients a room calls before `visit_no` in the queue's calling order
/// (not the held or those not callable yet; for a patient bound to one
/// room, a short list's or a booking's, only those that room may call),
/// and its entry.
fn position_in<'a>(
    q: &'a Arc<StaffQueueView>,
    visit_no: &str,
) -> Option<(usize, &'a triage_actors::staff::StaffEntry)> {
    let at = q
        .entries
        .iter()
        .position(|e| e.visit_no.as_str() == visit_no)?;
    Some((ahead_at(q, at), &q.entries[at]))
}

/// Patients a room calls before the entry at `at` of the queue's calling
/// order: the callable and not held before it; for a patient bound to one
/// room (a short list's or a booking's), only those that room may call.
pub fn ahead_at(q: &StaffQueueView, at: usize) -> usize {
    let Some(me) = q.entries.get(at) else {
        return 0;
    };
    let room_of = |e: &triage_actors::staff::StaffEntry| e.room.clone().or(e.booked_room.clone());
    let mine = room_of(me);
    q.entries[..at]
        .iter()
        .filter(|e| e.callable && !e.held)
        .filter(|e| mine.is_none() || room_of(e).is_none_or(|r| Some(r) == mine))
        .count()
}

fn room_of(engine: &Engine, code: &RoomCode) -> PatientRoom {
    PatientRoom {
        code: code.clone(),
        name: engine
            .hospital()
            .room(code)
            .map_or_else(|| code.to_string(), |r| r.name.clone()),
    }
}

fn label(s: PatientStatus) -> &'static str {
    match s {
        PatientStatus::Waiting => "候诊中",
        PatientStatus::Held => "暂停叫号",
        PatientStatus::Called => "请就诊",
        PatientStatus::Missed => "已过号",
        PatientStatus::Exam => "检查中",
        PatientStatus::Done => "就诊结束",
    }
}
