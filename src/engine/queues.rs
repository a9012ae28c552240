//! Queues (候诊队列): the waiting list in calling order with the rule that
//! placed each patient, a nurse's hold / release / pin / move, special-group
//! marks, transfer
//! (转诊) and rule changes.

use super::facade::Acting;
use serde::Serialize;
use triage_actors::model::{Audit, SpecialTag, StaffMarks, VisitStatus};
use triage_actors::queue::{
    AssignTo, ChangeRules, GetRules, Intervene, Intervention, ListQueue, ListedEntry, Mark,
    Transfer, TransferIn,
};
use triage_actors::room::TransferCurrent;
use triage_actors::rules::QueueRules;
use triage_actors::EngineError;
use utoipa::ToSchema;

use super::facade::Engine;
use super::registrations::CheckInAnswer;
use crate::rule_change::RuleChange;
use triage_ground::error::{Error, ErrorCode};
use triage_ground::ids::{DoctorCode, QueueCode, RoomCode, VisitNo};
use triage_ground::time::utc;

/// The answer to a nurse's intervention.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InterventionAnswer {
    pub visit_no: String,
    /// `held`, `released`, `pinned` or `moved`.
    pub action: String,
    pub queue_code: String,
    /// Position in calling order now (held patients are listed last).
    pub position: usize,
}

/// The answer to a nurse's special-group marks (特殊人群标记).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpecialAnswer {
    pub visit_no: String,
    pub queue_code: String,
    /// The registration's groups now (HIS's with the nurse's marks), as codes.
    pub special: Vec<String>,
    /// Groups the nurse added to what HIS sent.
    pub added: Vec<String>,
    /// Groups HIS sent that the nurse took away.
    pub removed: Vec<String>,
    /// Position in calling order now.
    pub position: usize,
}

/// Where a transfer (转诊) goes: a queue, a room's first queue or a
/// doctor's own queue (parsed from the body in `api/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    Queue(QueueCode),
    Room(RoomCode),
    Doctor(DoctorCode),
}

/// A transfer, its fields parsed.
#[derive(Debug, Clone)]
pub struct TransferCommand {
    pub target: TransferTarget,
    /// Keep the original check-in time, or start from now.
    pub keep_check_in_time: bool,
    /// Why (1-200 characters, trimmed: `audit_reason`).
    pub reason: String,
}

/// A queue's waiting list in calling order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueAnswer {
    pub queue_code: String,
    pub name: String,
    pub department_code: String,
    pub doctor_code: Option<String>,
    pub waiting: usize,
    /// In calling order: `position`, `visit_no`, `ticket_no`, `masked_name`,
    /// `checked_in_at`, `kind`, `special`, `placement_code`, `placement_reason`.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<ListedEntry>,
}

impl Engine {
    /// A nurse holds (挂起), releases (恢复), pins (置顶) or moves (调整顺序) a
    /// waiting patient.
    /// `audit.reason` says why; every one is an audited event.
    pub async fn intervene(
        &self,
        visit_no: &VisitNo,
        action: Intervention,
        who: Acting,
    ) -> Result<InterventionAnswer, Error> {
        let audit = self.stamp(who);
        let v = self.load_visit(visit_no).await?;
        if v.status != VisitStatus::Waiting {
            return Err(Error::new(
                ErrorCode::VisitNotWaiting,
                "only a waiting patient can be held, released, pinned or moved",
            ));
        }
        let q = v.required(&v.queue_code, "queue")?;
        let addr = self.queue_addr(&q)?;
        let position = addr
            .send(Intervene {
                visit_no: visit_no.clone(),
                action,
                audit,
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
        let action = match action {
            Intervention::Hold => "held",
            Intervention::Release => "released",
            Intervention::Pin => "pinned",
            Intervention::Move(_) => "moved",
        };
        tracing::info!(visit_no = %visit_no, queue = %q, action, "manual intervention");
        Ok(InterventionAnswer {
            visit_no: visit_no.to_string(),
            action: action.to_string(),
            queue_code: q.into(),
            position,
        })
    }

    /// A nurse sets the special groups of a waiting patient (特殊人群标记 /
    /// 取消标记): `wanted` is the whole set she sees ticked, `was` the set
    /// she started from (refused when it changed meanwhile). Stored as her
    /// marks over what HIS sent, so HIS sending the registration again
    /// keeps them; the queue places the patient by the groups at once.
    pub async fn set_special(
        &self,
        visit_no: &VisitNo,
        wanted: Vec<SpecialTag>,
        was: Option<Vec<SpecialTag>>,
        who: Acting,
    ) -> Result<SpecialAnswer, Error> {
        let audit = self.stamp(who);
        const ATTEMPTS: usize = 3;
        for _ in 0..ATTEMPTS {
            let v = self.load_visit(visit_no).await?;
            if v.status != VisitStatus::Waiting {
                return Err(Error::new(
                    ErrorCode::VisitNotWaiting,
                    "only a waiting patient's special groups can be marked",
                ));
            }
            if let Some(w) = &was {
                if *w != v.registered_tags()? {
                    return Err(Error::new(
                        ErrorCode::StateConflict,
                        "the patient's groups changed meanwhile (HIS); look again and mark",
                    ));
                }
            }
            let his_tags = v.his_tags()?;
            let marks = StaffMarks::between(&his_tags, &wanted);
            let q = v.required(&v.queue_code, "queue")?;
            let sent = self
                .queue_addr(&q)?
                .send(Mark {
                    visit_no: visit_no.clone(),
                    his_tags: his_tags.clone(),
                    marks: marks.clone(),
                    audit: audit.clone(),
                })
                .await
                .map_err(EngineError::from)?
                .map_err(Error::from);
            let position = match sent {
                // HIS changed the groups between the read and the write.
                Err(e) if e.code == ErrorCode::StateConflict => continue,
                other => other?,
            };
            tracing::info!(visit_no = %visit_no, queue = %q, "special groups marked");
            let codes = |tags: &[SpecialTag]| tags.iter().map(|t| t.as_str().to_string()).collect();
            return Ok(SpecialAnswer {
                visit_no: visit_no.to_string(),
                queue_code: q.into(),
                special: codes(&marks.apply(&his_tags)),
                added: codes(&marks.added),
                removed: codes(&marks.removed),
                position,
            });
        }
        Err(Error::new(
            ErrorCode::StateConflict,
            "the visit kept changing meanwhile; mark it again",
        ))
    }

    /// Moves a waiting or called patient to another queue, room or doctor
    /// (转诊): one durable change; the patient keeps the ticket.
    pub async fn transfer(
        &self,
        visit_no: &VisitNo,
        body: TransferCommand,
        who: Acting,
    ) -> Result<CheckInAnswer, Error> {
        let audit = self.stamp(who);
        super::facade::retrying(|| self.transfer_once(visit_no, body.clone(), audit.clone())).await
    }

    /// The queue a transfer target names: a queue, a room's first queue
    /// (never a stopped room's), or a doctor's own queue.
    fn transfer_queue(&self, target: &TransferTarget) -> Result<QueueCode, Error> {
        let def = match target {
            TransferTarget::Queue(q) => self.hospital().queue(q.as_str()).ok_or_else(|| {
                Error::field(
                    ErrorCode::UnknownQueue,
                    "queue_code",
                    format!("no queue {q:?}"),
                )
            })?,
            TransferTarget::Room(r) => {
                let room = self.hospital().room(r.as_str()).ok_or_else(|| {
                    Error::field(
                        ErrorCode::UnknownRoom,
                        "room_code",
                        format!("no room {r:?}"),
                    )
                })?;
                // Nobody is sent to a stopped room (停诊, nobody seated).
                if !self.directory().board().room_serves(r.as_str()) {
                    return Err(Error::field(
                        ErrorCode::RoomClosed,
                        "room_code",
                        format!("诊室{}已停诊或无人坐诊，不能转入", room.name),
                    ));
                }
                // The first queue the room calls now (a doctor signed in
                // there calls his own queue first), else the configured one.
                let now_first = self
                    .directory()
                    .room_info(r.as_str())
                    .and_then(|i| i.draws_from.first().cloned());
                if let Some(q) = now_first.and_then(|q| self.hospital().queue(q.as_str())) {
                    return Ok(q.code.clone());
                }
                self.hospital().queue_for_room(&room.code).ok_or_else(|| {
                    Error::field(
                        ErrorCode::UnknownRoom,
                        "room_code",
                        "the room calls from no queue",
                    )
                })?
            }
            TransferTarget::Doctor(d) => self
                .hospital()
                .queues
                .iter()
                .find(|q| q.doctor.as_deref() == Some(d.as_str()))
                .ok_or_else(|| {
                    Error::field(
                        ErrorCode::NoDoctorQueue,
                        "doctor_code",
                        format!("doctor {d:?} has no own queue"),
                    )
                })?,
        };
        Ok(def.code.clone())
    }

    async fn transfer_once(
        &self,
        visit_no: &VisitNo,
        body: TransferCommand,
        mut audit: Audit,
    ) -> Result<CheckInAnswer, Error> {
        let reason = body.reason.clone();
        let target = self.transfer_queue(&body.target)?;
        let v = self.load_visit(visit_no).await?;
        let (from_queue, from_room) = match v.status {
            VisitStatus::Waiting => (v.queue_code.clone(), None),
            VisitStatus::Called => (None, v.room_code.clone()),
            _ => {
                return Err(Error::new(
                    ErrorCode::VisitNotWaiting,
                    "only a waiting or called patient can be transferred",
                ))
            }
        };
        audit.reason = Some(reason);
        let to_room = match &body.target {
            TransferTarget::Room(r) => Some(r.clone()),
            _ => None,
        };
        // A room that calls from the queue the patient waits in: he stays
        // in the queue, on that room's own list (only it calls him, before
        // its general list).
        if let (Some(r), Some(q)) = (&to_room, &from_queue) {
            let draws = self
                .directory()
                .room_info(r.as_str())
                .is_some_and(|i| i.draws_from.iter().any(|d| d.as_str() == q.as_str()));
            if draws {
                return self.send_to_room(visit_no, q, r, audit).await;
            }
        }
        if from_queue.as_deref() == Some(target.as_str()) {
            return Err(Error::new(
                ErrorCode::SameQueue,
                "the patient already waits in that queue",
            ));
        }
        let kind = v.entry_kind();
        let mut draft = self.entry_draft(&v, kind, &target)?;
        // A nurse's transfer (or a closed room's redistribution) releases an
        // appointment's room: the patient is called wherever they now wait.
        draft.room = None;
        let kept = v.marked_at.or(v.checked_in_at).map(utc);
        let addr = self.queue_addr(&target)?;
        let audit_again = audit.clone();
        let transfer = TransferIn {
            draft,
            ticket_no: v.required(&v.ticket_no, "ticket")?,
            misses: v.miss_count,
            checked_in_at: if body.keep_check_in_time { kept } else { None },
            from_queue: from_queue.clone(),
            from_room: from_room.clone(),
            audit,
        };
        // A called patient leaves through their room, which forgets them
        // once the receiving queue has committed the move; a waiting one
        // goes straight to the receiving queue.
        let room = from_room
            .as_deref()
            .and_then(|r| self.directory().rooms.get(r).map(|a| a.clone()));
        let out = match room {
            Some(room) => room.send(TransferCurrent { to: addr, transfer }).await,
            None => addr.send(Transfer(transfer)).await,
        }
        .map_err(triage_actors::EngineError::from)??;
        tracing::info!(visit_no = %visit_no, to_queue = %target, "transferred");
        if let Some(r) = to_room {
            // Sent to a room: only that room calls him in his new queue. The
            // transfer stands if this second step fails (any room of the
            // queue calls him then).
            let q = target.clone();
            match self.send_to_room(visit_no, &q, &r, audit_again).await {
                Ok(answer) => return Ok(answer),
                Err(e) => tracing::warn!(visit_no = %visit_no, error.code = %e.code,
                    "transferred, but not sent to the room"),
            }
        }
        Ok(self.waiting_answer(visit_no, out))
    }

    /// Sends a patient waiting in `queue` to `room` (which calls from it):
    /// only that room calls him, from its short list when it keeps one.
    async fn send_to_room(
        &self,
        visit_no: &VisitNo,
        queue: &QueueCode,
        room: &RoomCode,
        audit: Audit,
    ) -> Result<CheckInAnswer, Error> {
        let out = self
            .queue_addr(queue)?
            .send(AssignTo {
                visit_no: visit_no.clone(),
                room_code: room.clone(),
                audit,
            })
            .await
            .map_err(triage_actors::EngineError::from)??;
        tracing::info!(visit_no = %visit_no, room = %room, "sent to a room");
        Ok(self.waiting_answer(visit_no, out))
    }

    pub async fn list_queue(&self, code: &QueueCode) -> Result<QueueAnswer, Error> {
        let def = self
            .hospital()
            .queue(code)
            .ok_or_else(|| Error::new(ErrorCode::QueueNotFound, format!("no queue {code:?}")))?;
        let addr = self
            .directory()
            .queues
            .get(code.as_str())
            .map(|a| a.clone())
            .ok_or_else(|| Error::new(ErrorCode::QueueNotFound, format!("no queue {code:?}")))?;
        let mut entries = addr
            .send(ListQueue)
            .await
            .map_err(triage_actors::EngineError::from)?;
        // Staff know rooms by name.
        for e in &mut entries {
            if let triage_actors::rules::Placement::RoomWaiting { room } = &e.placement {
                if let Some(r) = self.hospital().room(room) {
                    e.placement_reason = format!("已分到{}门口候诊", r.name);
                }
            }
        }
        Ok(QueueAnswer {
            queue_code: def.code.to_string(),
            name: def.name.clone(),
            department_code: def.department.to_string(),
            doctor_code: def.doctor.as_ref().map(|d| d.to_string()),
            waiting: entries.len(),
            entries,
        })
    }

    /// A queue's rules in force.
    pub async fn rules(&self, queue: &QueueCode) -> Result<QueueRules, Error> {
        let addr = self
            .queue_addr(queue)
            .map_err(|_| Error::new(ErrorCode::QueueNotFound, format!("no queue {queue:?}")))?;
        Ok(addr.send(GetRules).await.map_err(EngineError::from)?)
    }

    /// Changes a queue's rules: merged with the rules in force inside the
    /// queue actor (two changes never race), journaled with everything
    /// derived from them, audited old → new (`audit.reason` says why), in
    /// force at once. Answers the new rules.
    pub async fn change_rules(
        &self,
        queue: &QueueCode,
        change: RuleChange,
        who: Acting,
    ) -> Result<QueueRules, Error> {
        let audit = self.stamp(who);
        let addr = self
            .queue_addr(queue)
            .map_err(|_| Error::new(ErrorCode::QueueNotFound, format!("no queue {queue:?}")))?;
        let rules = addr
            .send(ChangeRules {
                merge: Box::new(move |current| merge(current, &change)),
                audit,
            })
            .await
            .map_err(EngineError::from)??;
        tracing::info!(queue = %queue, "queue rules changed");
        Ok(rules)
    }
}

/// Applies a change to `current`; the first problem is the answer (422).
pub fn merge(current: &QueueRules, change: &RuleChange) -> Result<QueueRules, EngineError> {
    change.apply(current).map_err(|errors| {
        let (code, field, message) = match errors.into_iter().next() {
            Some(e) => (e.code, e.field, e.message),
            None => (
                ErrorCode::InvalidRule,
                String::new(),
                "the change was refused".into(),
            ),
        };
        EngineError::InvalidRules {
            code,
            field,
            message,
        }
    })
}
