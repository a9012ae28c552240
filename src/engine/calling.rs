//! Room commands (叫号): call next, call by name (指定叫号), recall, skip,
//! send for exam, finish, pause, resume, and close (停诊) with the
//! redistribution of the doctor's own queue.

use super::facade::Acting;
use chrono::{DateTime, Utc};
use serde::Serialize;
use triage_actors::model::{Audit, PlacementCode, RoomStatus, VisitStatus};
use triage_actors::room::{CallNext, Finish, Recall, RoomOutcome, SendForExam, SetStatus, Skip};
use utoipa::ToSchema;

use super::facade::Engine;
use crate::db::store;
use triage_actors::queue::{TransferAll, TransferIn};
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};
use triage_ground::time::utc;

/// A room command (doctor's caller page or HIS workstation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomCommand {
    CallNext,
    Recall,
    Skip,
    SendForExam,
    Finish,
    Pause,
    Resume,
    Close,
}

/// The answer to a room command.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomAnswer {
    pub room_code: String,
    /// `open`, `paused` or `closed`.
    #[schema(value_type = String, example = "open")]
    pub status: RoomStatus,
    /// The patient now called in this room, if any.
    pub current: Option<CalledPatient>,
    /// The visit this command closed (finished or skipped), if any:
    /// `{visit_no, ticket_no, outcome}`.
    #[schema(value_type = Option<Object>)]
    pub closed: Option<triage_actors::room::ClosedVisit>,
    /// Closing a room: patients of its short list sent back to the general
    /// list, and patients moved to the department's shared queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redistributed: Option<usize>,
}

/// A called patient as staff answers show it (masked name).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ToSchema)]
pub struct CalledPatient {
    pub visit_no: String,
    pub ticket_no: String,
    pub masked_name: String,
    pub queue_code: String,
    pub called_at: DateTime<Utc>,
    pub call_count: i32,
    /// Why this patient was chosen: placement code and words.
    #[schema(value_type = String, example = "special_group")]
    pub reason_code: PlacementCode,
    pub reason: String,
    pub special: Vec<String>,
}

impl From<RoomOutcome> for RoomAnswer {
    fn from(o: RoomOutcome) -> Self {
        RoomAnswer {
            room_code: o.room_code.into(),
            status: o.status,
            current: o.current.map(|c| CalledPatient {
                reason: c.placement.reason_zh().to_string(),
                reason_code: c.placement,
                visit_no: c.visit_no.into(),
                ticket_no: c.ticket_no,
                masked_name: c.masked_name,
                queue_code: c.queue_code.into(),
                called_at: c.called_at,
                call_count: c.call_count,
                special: c.tags.iter().map(|t| t.label_zh().to_string()).collect(),
            }),
            closed: o.closed,
            released: None,
            redistributed: None,
        }
    }
}

impl Engine {
    /// Runs a room command.
    pub async fn room_command(
        &self,
        room: &RoomCode,
        cmd: RoomCommand,
        who: Acting,
    ) -> Result<RoomAnswer, Error> {
        self.room_command_at(room, cmd, self.stamp(who)).await
    }

    /// As [`Engine::room_command`], stamped by the command that runs it (one
    /// action, one instant).
    pub(crate) async fn room_command_at(
        &self,
        room: &RoomCode,
        cmd: RoomCommand,
        audit: Audit,
    ) -> Result<RoomAnswer, Error> {
        let addr = self.room_addr(room)?;
        let performer = audit.operator.clone();
        let res = match cmd {
            RoomCommand::CallNext => {
                addr.send(CallNext {
                    audit,
                    performer,
                    visit_no: None,
                })
                .await
            }
            RoomCommand::Recall => addr.send(Recall { audit }).await,
            RoomCommand::Skip => addr.send(Skip { audit }).await,
            RoomCommand::SendForExam => addr.send(SendForExam { audit }).await,
            RoomCommand::Finish => addr.send(Finish { audit, performer }).await,
            RoomCommand::Pause => {
                addr.send(SetStatus {
                    audit,
                    status: RoomStatus::Paused,
                })
                .await
            }
            RoomCommand::Resume => {
                addr.send(SetStatus {
                    audit,
                    status: RoomStatus::Open,
                })
                .await
            }
            RoomCommand::Close => {
                addr.send(SetStatus {
                    audit,
                    status: RoomStatus::Closed,
                })
                .await
            }
        };
        let out = res.map_err(triage_actors::EngineError::from)??;
        if let (RoomCommand::CallNext, Some(c)) = (cmd, &out.current) {
            tracing::info!(room = %room, visit_no = %c.visit_no, ticket_no = %c.ticket_no, placement = %c.placement, "called");
        }
        Ok(out.into())
    }

    /// Closes a room (停诊): its short list goes back to the general list and,
    /// with `redistribute`, the patients of its doctor's own queue move to the
    /// department's shared queue keeping their check-in time — unless another
    /// open room calls that queue. Repeating it finishes what a crash left.
    pub async fn close_room(
        &self,
        room: &RoomCode,
        redistribute: bool,
        reason: String,
        who: Acting,
    ) -> Result<RoomAnswer, Error> {
        self.close_room_at(room, redistribute, reason, self.stamp(who))
            .await
    }

    /// As [`Engine::close_room`], stamped by the command that runs it (one
    /// action, one instant).
    pub(crate) async fn close_room_at(
        &self,
        room: &RoomCode,
        redistribute: bool,
        reason: String,
        audit: Audit,
    ) -> Result<RoomAnswer, Error> {
        let mut answer = self
            .room_command_at(room, RoomCommand::Close, audit.clone())
            .await?;
        // The room as it is now: the queues it calls and who sits there.
        let now = self
            .directory()
            .room_info(room.as_str())
            .ok_or_else(|| Error::new(ErrorCode::RoomNotFound, format!("no room {room:?}")))?;
        let mut released = 0;
        for q in &now.draws_from {
            let addr = self.queue_addr(q)?;
            released += addr
                .send(triage_actors::queue::ReleaseRoom {
                    room_code: room.clone(),
                    audit: audit.clone(),
                })
                .await
                .map_err(triage_actors::EngineError::from)??;
        }
        let mut moved = 0;
        if redistribute {
            let own = now
                .draws_from
                .iter()
                .filter_map(|q| self.hospital().queue(q))
                .filter(|q| q.doctor.is_some() && q.doctor == now.doctor_code);
            for q in own {
                moved += self
                    .move_to_shared(q, Some(room.as_str()), None, reason.clone(), audit.clone())
                    .await?;
            }
        }
        tracing::info!(room = %room, released, redistributed = moved, "room closed");
        answer.released = Some(released);
        answer.redistributed = Some(moved);
        Ok(answer)
    }

    /// Moves the patients waiting in a doctor's own queue `q` to `to` (by
    /// default the department's shared queue), keeping their check-in
    /// time — unless another open room (besides `except`) still calls `q`.
    /// Answers how many moved.
    pub(crate) async fn move_to_shared(
        &self,
        q: &crate::config::QueueDef,
        except: Option<&str>,
        to: Option<&str>,
        reason: String,
        audit: Audit,
    ) -> Result<usize, Error> {
        let served_elsewhere = self.directory().rooms_of_queue(&q.code).iter().any(|r| {
            Some(r.as_str()) != except
                && self
                    .directory()
                    .room_view(r, 0)
                    .is_some_and(|v| v.status == RoomStatus::Open)
                && self
                    .directory()
                    .room_info(r)
                    .is_some_and(|i| i.seat != triage_actors::model::SeatState::Out)
        });
        let shared = match to {
            Some(code) => self.hospital().queue(code),
            None => self.hospital().queue_for(&q.department, None),
        };
        let Some(shared) = shared else {
            return Ok(0);
        };
        if served_elsewhere || shared.code == q.code {
            return Ok(0);
        }
        let mut audit = audit;
        audit.reason = Some(reason);
        // In the calling order of the queue they leave.
        let order: Vec<VisitNo> = self
            .list_queue(&q.code)
            .await?
            .entries
            .into_iter()
            .map(|e| e.visit_no)
            .collect();
        let target = self.queue_addr(&shared.code)?;
        let mut pending = order;
        let mut moved = 0;
        // A row changed between the read and the batch (a nurse's hold, a
        // HIS correction): read those again, as a single transfer retries.
        for _ in 0..3 {
            let (code, wanted) = (q.code.clone(), std::mem::take(&mut pending));
            let rows = self
                .db()
                .read(move |c| store::waiting_visits(c, &code, &wanted))
                .await?;
            if rows.is_empty() {
                break;
            }
            let transfers = rows
                .iter()
                .map(|v| self.moving_in(v, &q.code, &shared.code, audit.clone()))
                .collect::<Result<Vec<_>, Error>>()?;
            let out = target
                .send(TransferAll(transfers))
                .await
                .map_err(triage_actors::EngineError::from)??;
            for v in &out.moved {
                tracing::info!(visit_no = %v, to_queue = %shared.code, "transferred");
            }
            moved += out.moved.len();
            pending = out.stale;
        }
        for v in &pending {
            tracing::warn!(visit_no = %v, queue = %q.code, "kept changing: not moved");
        }
        Ok(moved)
    }

    /// A waiting visit of `from` moving to `to` with its check-in time.
    fn moving_in(
        &self,
        v: &crate::db::models::VisitRow,
        from: &QueueCode,
        to: &QueueCode,
        audit: Audit,
    ) -> Result<TransferIn, Error> {
        let mut draft = self.entry_draft(v, v.entry_kind(), to)?;
        // The move releases an appointment's room: the patient is called
        // wherever they now wait.
        draft.room = None;
        Ok(TransferIn {
            draft,
            ticket_no: v.required(&v.ticket_no, "ticket")?,
            misses: v.miss_count,
            checked_in_at: v.marked_at.or(v.checked_in_at).map(utc),
            from_queue: Some(from.clone()),
            from_room: None,
            audit,
        })
    }

    /// Calls one waiting patient by name, out of order (指定叫号), in `room`;
    /// the patient must wait in one of the queues the room calls from.
    pub async fn call_visit(
        &self,
        room: &RoomCode,
        visit_no: &VisitNo,
        who: Acting,
    ) -> Result<RoomAnswer, Error> {
        let audit = self.stamp(who);
        let addr = self.room_addr(room)?;
        // Checked before anything is committed: a refused call-by-name must not
        // finish the room's current patient.
        let v = self.load_visit(visit_no).await?;
        // The queues the room calls now (a doctor signed in brings his own).
        let serves = self.directory().room_info(room.as_str()).is_some_and(|r| {
            v.queue_code
                .as_ref()
                .is_some_and(|q| r.draws_from.contains(q))
        });
        if v.status != VisitStatus::Waiting || !serves {
            return Err(Error::new(
                ErrorCode::VisitNotWaitingHere,
                "the patient is not waiting in a queue this room calls from",
            ));
        }
        let performer = audit.operator.clone();
        let out = addr
            .send(CallNext {
                audit,
                performer,
                visit_no: Some(visit_no.clone()),
            })
            .await
            .map_err(triage_actors::EngineError::from)?
            .map_err(|e| match e {
                triage_actors::EngineError::NotWaiting(_) => Error::new(
                    ErrorCode::VisitNotWaitingHere,
                    "the patient is not waiting in a queue this room calls from",
                ),
                other => Error::from(other),
            })?;
        tracing::info!(room = %room, visit_no = %visit_no, "called by name");
        Ok(out.into())
    }
}
