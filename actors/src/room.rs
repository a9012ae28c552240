//! A clinic or exam room (诊室): [`RoomState`] and the [`RoomActor`] over it.
//!
//! Messages in: [`CallNext`] (next by the rules, or one patient by name),
//! [`Recall`], [`Skip`], [`SendForExam`], [`Finish`], [`SetStatus`],
//! [`CancelCurrent`], [`ForgetCurrent`], [`Refill`], [`GetRoom`]. Out:
//! [`TakeNext`] / [`TakeSpecific`] / [`Assign`] / [`ShortList`] down to the
//! queues the room draws from — in order (doctor's own first) or by a
//! configured mix ([`draw_order`]) — board updates and voice announcements
//! to the [`Directory`]. Replies come back through responses; queues never
//! message rooms, so there are no cycles.
//!
//! Two-stage waiting (二级候诊): a room with a `waiting_cap` keeps its own
//! short list full from the general list ([`Refill`], after every call, on
//! start, when it opens, when a queue it draws from changed, and on the
//! server's clock ticks),
//! and calls from that list first.

use std::sync::Arc;

use actix::prelude::*;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, RoomInfo};
use crate::error::EngineError;
use crate::journal::{Change, SharedJournal};
use crate::mask::announcement_text;
use crate::model::{Audit, CallOutcome, Correction, CurrentCall, RoomStatus};
use crate::queue::{Assign, QueueActor, ShortList, TakeNext, TakeSpecific};
use crate::screen::Announcement;
use crate::staff::{room_key, StaffCall, StaffRoom, StaffRoomView, StaffUpdate};
use triage_ground::time::SharedClock;

/// What "call next" does with a patient who is still current.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrentPolicy {
    /// The current patient is finished (诊结) first.
    #[default]
    Finish,
    /// The current patient is set aside as missed (过号) first.
    Skip,
}

/// `max_misses` for a patient whose queue published no rules.
const DEFAULT_MAX_MISSES: u32 = 2;

/// The order in which a room tries its `queues`: in order, or — with mix
/// weights (one per queue) — the queue whose turn it is at `cursor` first,
/// then the others in order. Weights 2, 1 give turns A, A, B, A, A, B, …
pub fn draw_order(weights: &[u32], queues: usize, cursor: i64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..queues).collect();
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    if weights.len() != queues || total == 0 {
        return order;
    }
    let mut at = cursor.rem_euclid(total);
    let mut turn = 0;
    for (i, w) in weights.iter().enumerate() {
        if at < i64::from(*w) {
            turn = i;
            break;
        }
        at -= i64::from(*w);
    }
    order.retain(|i| *i != turn);
    order.insert(0, turn);
    order
}

/// Plain state of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomState {
    pub info: RoomInfo,
    pub status: RoomStatus,
    pub current: Option<CurrentCall>,
    pub policy: CurrentPolicy,
    /// Calls made by the mix so far (its position in the turns).
    pub mix_cursor: i64,
}

impl RoomState {
    /// The mix position to commit with the next call drawn by the mix.
    pub fn next_cursor(&self) -> Option<i64> {
        (!self.info.mix.is_empty()).then_some(self.mix_cursor + 1)
    }

    /// Whether missing this call is the patient's last allowed miss, with
    /// the queue's `max_misses` in force.
    pub fn last_miss(cur: &CurrentCall, max_misses: u32) -> bool {
        i64::from(cur.misses) + 1 >= i64::from(max_misses)
    }

    /// Plans closing the current patient before a new call, per policy;
    /// `max_misses` is the rule in force of the patient's queue.
    pub fn plan_close_current(
        &self,
        audit: &Audit,
        performer: &str,
        max_misses: u32,
    ) -> Option<Change> {
        let cur = self.current.as_ref()?;
        Some(match self.policy {
            CurrentPolicy::Finish => Change::Finished {
                audit: audit.clone(),
                room_code: self.info.code.clone(),
                visit_no: cur.visit_no.clone(),
                performer: performer.to_string(),
            },
            CurrentPolicy::Skip => Change::Skipped {
                audit: audit.clone(),
                room_code: self.info.code.clone(),
                visit_no: cur.visit_no.clone(),
                no_show: Self::last_miss(cur, max_misses),
            },
        })
    }

    /// The visit a change closes (finished, sent for exam, skipped), if it
    /// closes the current one.
    pub fn closed_of(&self, change: &Change) -> Option<ClosedVisit> {
        let cur = self.current.as_ref()?;
        match change {
            Change::Finished { .. } => Some(ClosedVisit {
                visit_no: cur.visit_no.clone(),
                ticket_no: cur.ticket_no.clone(),
                outcome: CallOutcome::Finished,
            }),
            Change::SentForExam { .. } => Some(ClosedVisit {
                visit_no: cur.visit_no.clone(),
                ticket_no: cur.ticket_no.clone(),
                outcome: CallOutcome::SentForExam,
            }),
            Change::Skipped { no_show, .. } => Some(ClosedVisit {
                visit_no: cur.visit_no.clone(),
                ticket_no: cur.ticket_no.clone(),
                outcome: if *no_show {
                    CallOutcome::NoShow
                } else {
                    CallOutcome::Skipped
                },
            }),
            _ => None,
        }
    }

    /// Plans a call (next by the rules, or one patient by name): refused
    /// unless the room is open; the close of the current patient per policy
    /// (committed in the same batch as the call, or not at all); the order
    /// in which to try the queues and the mix position to commit.
    pub fn plan_call(
        &self,
        audit: &Audit,
        performer: &str,
        max_misses: u32,
    ) -> Result<CallPlan, EngineError> {
        if self.status != RoomStatus::Open {
            return Err(EngineError::RoomNotOpen(self.status));
        }
        let close = self.plan_close_current(audit, performer, max_misses);
        Ok(CallPlan {
            closed: close.as_ref().and_then(|c| self.closed_of(c)),
            close,
            order: draw_order(&self.info.mix, self.info.draws_from.len(), self.mix_cursor),
            cursor: self.next_cursor(),
            short_list_first: self.info.waiting_cap > 0,
        })
    }

    /// Applies a committed call: the close it carried, the mix position it
    /// used (when a queue was taken by the mix), the new current patient.
    pub fn apply_call(&mut self, plan: &CallPlan, call: CurrentCall, by_mix: bool) {
        if let Some(change) = &plan.close {
            self.apply(change);
        }
        if let (true, Some(c)) = (by_mix, plan.cursor) {
            self.mix_cursor = c;
        }
        self.current = Some(call);
    }

    /// Applies a committed change to memory.
    pub fn apply(&mut self, change: &Change) {
        let is_current = |v: &String| self.current.as_ref().is_some_and(|c| &c.visit_no == v);
        match change {
            Change::Finished { visit_no, .. }
            | Change::Skipped { visit_no, .. }
            | Change::SentForExam { visit_no, .. }
                if is_current(visit_no) =>
            {
                self.current = None;
            }
            Change::Cancelled {
                visit_no,
                room_code: Some(r),
                ..
            } if *r == self.info.code && is_current(visit_no) => {
                self.current = None;
            }
            Change::DayClosed {
                room_code: Some(r),
                visits,
                ..
            } if *r == self.info.code && visits.iter().any(is_current) => {
                self.current = None;
            }
            Change::Recalled { call_count, .. } => {
                if let Some(c) = self.current.as_mut() {
                    c.call_count = *call_count;
                }
            }
            Change::RoomStatusSet { status, .. } => self.status = *status,
            Change::Seated {
                room_code,
                doctor_code,
                seat,
                draws_from,
                mix,
                ..
            } if *room_code == self.info.code => {
                self.info.doctor_code = doctor_code.clone();
                self.info.seat = *seat;
                self.info.draws_from = draws_from.clone();
                self.info.mix = mix.clone();
            }
            Change::Corrected {
                room_code: Some(r),
                correction: c,
                tags,
                ..
            } if *r == self.info.code && is_current(&c.visit_no) => {
                if let Some(cur) = self.current.as_mut() {
                    cur.masked_name = c.masked_name.clone();
                    cur.spoken_name = c.spoken_name.clone();
                    cur.tags = tags.clone();
                }
            }
            _ => {}
        }
    }
}

/// What a call will try, planned on the plain state ([`RoomState::plan_call`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallPlan {
    /// The close of the current patient, committed with the call.
    pub close: Option<Change>,
    /// What the close ends, for the answer.
    pub closed: Option<ClosedVisit>,
    /// The queues (indexes into `draws_from`) in the order to try them.
    pub order: Vec<usize>,
    /// The mix position to commit with a call taken by the mix.
    pub cursor: Option<i64>,
    /// A two-stage room calls from its own short list first.
    pub short_list_first: bool,
}

/// The answer to a room command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomOutcome {
    pub room_code: String,
    pub status: RoomStatus,
    /// The patient now current (called), if any.
    pub current: Option<CurrentCall>,
    /// The visit closed by this command (finished, skipped), if any.
    pub closed: Option<ClosedVisit>,
}

/// A visit a command closed, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedVisit {
    pub visit_no: String,
    pub ticket_no: String,
    /// `finished`, `sent_for_exam`, `skipped` or `no_show`.
    pub outcome: CallOutcome,
}

/// Call the next patient by the queues' rules, or — with `visit_no` — that
/// waiting patient by name, out of order (指定叫号).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct CallNext {
    pub audit: Audit,
    /// Recorded as performer if a current patient is finished first.
    pub performer: String,
    pub visit_no: Option<String>,
}

/// The current visit moved away (转诊): forget it (memory only).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetCurrent {
    pub visit_no: String,
}

/// Call the current patient again (重呼).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Recall {
    pub audit: Audit,
}

/// The called patient did not come (过号).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Skip {
    pub audit: Audit,
}

/// The doctor sends the current patient for an exam (置为检查); they come
/// back to this room's first queue (its doctor's own) with the results.
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct SendForExam {
    pub audit: Audit,
}

/// The current patient is done (诊结).
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct Finish {
    pub audit: Audit,
    pub performer: String,
}

/// Open, pause or close the room.
#[derive(Message)]
#[rtype(result = "Result<RoomOutcome, EngineError>")]
pub struct SetStatus {
    pub audit: Audit,
    pub status: RoomStatus,
}

/// Who sits in the room changes (医生签到 / 暂离 / 签退): the doctor shown,
/// the queues called (the doctor's own first) and their mix. Answers the
/// room's facts now.
#[derive(Message)]
#[rtype(result = "Result<crate::directory::RoomInfo, EngineError>")]
pub struct Seat {
    pub doctor_code: Option<String>,
    pub seat: crate::model::SeatState,
    pub draws_from: Vec<String>,
    pub mix: Vec<u32>,
    pub audit: Audit,
}

/// The day ended (日终): the current patient, called before `until`, closes
/// as not seen. Answers how many closed (0 or 1).
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct CloseDay {
    pub day: chrono::NaiveDate,
    pub until: chrono::DateTime<chrono::Utc>,
    pub audit: Audit,
}

/// Cancel the current patient's visit (退号 while called); answers whether
/// that visit was current here.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct CancelCurrent {
    pub audit: Audit,
    pub visit_no: String,
}

/// A HIS correction of the patient called here: `tags` as the queue's
/// rules give them. Answers whether that visit is current here (false:
/// nothing changed).
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Correct {
    pub correction: Correction,
    pub tags: Vec<crate::model::SpecialTag>,
    pub audit: Audit,
}

/// The room's state now.
#[derive(Message)]
#[rtype(result = "RoomOutcome")]
pub struct GetRoom;

/// The whole state held in memory (to compare with a rebuild).
#[derive(Message)]
#[rtype(result = "RoomState")]
pub struct InspectRoom;

/// Fill the room's short list (two-stage waiting) up to its cap from the
/// general list; nothing for a room without one or not open.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refill;

/// The actor that owns one [`RoomState`].
pub struct RoomActor {
    state: RoomState,
    queues: Vec<Addr<QueueActor>>,
    journal: SharedJournal,
    clock: SharedClock,
    directory: Arc<Directory>,
    /// How many times each call is spoken.
    voice_repeat: u8,
    /// The version of the staff view (grows with every publication).
    staff_version: std::cell::Cell<u64>,
}

impl RoomActor {
    pub fn new(
        state: RoomState,
        queues: Vec<Addr<QueueActor>>,
        journal: SharedJournal,
        clock: SharedClock,
        directory: Arc<Directory>,
        voice_repeat: u8,
    ) -> Self {
        RoomActor {
            state,
            queues,
            journal,
            clock,
            directory,
            voice_repeat,
            staff_version: std::cell::Cell::new(0),
        }
    }

    /// The room for staff pages, at the current version.
    fn staff_view(&self) -> Arc<StaffRoomView> {
        Arc::new(StaffRoomView {
            code: self.state.info.code.clone(),
            version: self.staff_version.get(),
            status: self.state.status,
            status_label: self.state.status.label_zh().to_string(),
            current: self.state.current.as_ref().map(StaffCall::from),
            doctor_code: self.state.info.doctor_code.clone(),
            seat: self.state.info.seat,
            queues: self.state.info.draws_from.clone(),
        })
    }

    /// `max_misses` in force for the current patient's queue (the rules
    /// as the queue last published them; 2 if it never did).
    fn max_misses(&self) -> u32 {
        self.state
            .current
            .as_ref()
            .and_then(|c| self.directory.rules_of(&c.queue_code))
            .map_or(DEFAULT_MAX_MISSES, |r| r.max_misses)
    }

    fn outcome(&self, closed: Option<ClosedVisit>) -> RoomOutcome {
        RoomOutcome {
            room_code: self.state.info.code.clone(),
            status: self.state.status,
            current: self.state.current.clone(),
            closed,
        }
    }

    fn publish(&self) {
        self.directory.publish_room(
            &self.state.info.code,
            self.state.status,
            self.state.current.as_ref(),
        );
        self.staff_version.set(self.staff_version.get() + 1);
        let key = room_key(&self.state.info.code);
        if self.directory.watched_by_staff(&key) {
            self.directory
                .tell_staff(&key, StaffUpdate::Room(self.staff_view()));
        }
    }

    fn announce(&self) {
        let Some(cur) = &self.state.current else {
            return;
        };
        self.directory.announce(
            &self.state.info.code,
            Announcement {
                room_code: self.state.info.code.clone(),
                room_name: self.state.info.name.clone(),
                ticket_no: cur.ticket_no.clone(),
                masked_name: cur.masked_name.clone(),
                text: announcement_text(
                    &cur.ticket_no,
                    &cur.spoken_name,
                    &self.state.info.spoken_name,
                ),
                repeat: self.voice_repeat,
                call_count: cur.call_count,
            },
        );
    }

    /// Commits one change, applies it and publishes; the common shape of
    /// recall, skip, finish and status.
    fn commit_simple(
        &mut self,
        change: Change,
        announce: bool,
    ) -> AtomicResponse<Self, Result<RoomOutcome, EngineError>> {
        self.commit_then(change, announce, |act, closed| act.outcome(closed))
    }

    /// Commits one change, applies it, publishes (and announces), then
    /// answers with `answer` (given what the change closed).
    fn commit_then<T: 'static>(
        &mut self,
        change: Change,
        announce: bool,
        answer: impl FnOnce(&Self, Option<ClosedVisit>) -> T + 'static,
    ) -> AtomicResponse<Self, Result<T, EngineError>> {
        let journal = self.journal.clone();
        let committed = change.clone();
        AtomicResponse::new(Box::pin(
            async move { journal.commit(committed).await }
                .into_actor(self)
                .map(move |res, act, _ctx| {
                    res?;
                    let closed = act.state.closed_of(&change);
                    act.state.apply(&change);
                    act.publish();
                    if announce {
                        act.announce();
                    }
                    Ok(answer(act, closed))
                }),
        ))
    }
}

impl Actor for RoomActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.publish();
        if self.state.info.waiting_cap > 0 {
            for q in &self.state.info.draws_from {
                self.directory
                    .subscribe_refill(q, ctx.address().recipient());
            }
            ctx.notify(Refill);
        }
    }
}

fn ready<T: 'static>(v: T) -> AtomicResponse<RoomActor, T> {
    AtomicResponse::new(Box::pin(fut::ready(v)))
}

impl Handler<CallNext> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: CallNext, _ctx: &mut Self::Context) -> Self::Result {
        let started = std::time::Instant::now();
        let plan = match self
            .state
            .plan_call(&msg.audit, &msg.performer, self.max_misses())
        {
            Ok(plan) => plan,
            Err(e) => return ready(Err(e)),
        };
        let queues = self.queues.clone();
        let room_code = self.state.info.code.clone();
        let close = plan.close.clone();
        let order = plan.order.clone();
        let cursor = plan.cursor;
        let two_stage = plan.short_list_first;
        let audit = msg.audit;
        let wanted = msg.visit_no;
        AtomicResponse::new(Box::pin(
            async move {
                // The close travels with every attempt and is committed in
                // the same batch as the call that succeeds, or not at all.
                let take = |q: Addr<QueueActor>, room_cursor: Option<i64>| {
                    q.send(TakeNext {
                        room_code: room_code.clone(),
                        audit: audit.clone(),
                        room_cursor,
                        close: close.clone(),
                    })
                };
                if let Some(v) = &wanted {
                    for q in queues {
                        let taken = q
                            .send(TakeSpecific {
                                visit_no: v.clone(),
                                room_code: room_code.clone(),
                                audit: audit.clone(),
                                close: close.clone(),
                            })
                            .await;
                        match taken {
                            Ok(Ok(Some(call))) => return (Ok(Some(call)), false),
                            Ok(Ok(None)) => continue,
                            Ok(Err(e)) => return (Err(e), false),
                            Err(e) => return (Err(EngineError::from(e)), false),
                        }
                    }
                    return (Err(EngineError::NotWaiting(v.clone())), false);
                }
                // Two-stage: the room's own short list first, earliest sent first.
                if two_stage {
                    let mut first: Option<((chrono::DateTime<chrono::Utc>, i64), usize)> = None;
                    for (i, q) in queues.iter().enumerate() {
                        match q
                            .send(ShortList {
                                room_code: room_code.clone(),
                            })
                            .await
                        {
                            Ok((_, Some(at))) if first.is_none_or(|(f, _)| at < f) => {
                                first = Some((at, i))
                            }
                            Ok(_) => {}
                            Err(e) => return (Err(EngineError::from(e)), false),
                        }
                    }
                    if let Some((_, i)) = first {
                        match take(queues[i].clone(), None).await {
                            Ok(Ok(Some(call))) => return (Ok(Some(call)), false),
                            Ok(Ok(None)) => {}
                            Ok(Err(e)) => return (Err(e), false),
                            Err(e) => return (Err(EngineError::from(e)), false),
                        }
                    }
                }
                for i in order {
                    match take(queues[i].clone(), cursor).await {
                        Ok(Ok(Some(call))) => return (Ok(Some(call)), true),
                        Ok(Ok(None)) => continue,
                        Ok(Err(e)) => return (Err(e), false),
                        Err(e) => return (Err(EngineError::from(e)), false),
                    }
                }
                (Ok(None), false)
            }
            .into_actor(self)
            .map(move |(res, by_mix), act, ctx| {
                if two_stage {
                    ctx.notify(Refill);
                }
                // Only a call that was committed closed the current patient
                // (same batch); otherwise nothing changed.
                match res {
                    Ok(Some(call)) => {
                        act.state.apply_call(&plan, call, by_mix);
                        // Screens first show the new state, then speak it.
                        act.publish();
                        act.announce();
                        triage_ground::metrics::CALL_TO_BROADCAST
                            .observe(started.elapsed().as_secs_f64());
                        Ok(act.outcome(plan.closed.clone()))
                    }
                    Ok(None) => Err(EngineError::QueueEmpty),
                    Err(e) => Err(e),
                }
            }),
        ))
    }
}

impl Handler<Refill> for RoomActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _msg: Refill, _ctx: &mut Self::Context) -> Self::Result {
        let cap = self.state.info.waiting_cap as usize;
        // Nobody sits here: no patient is sent to wait at the door.
        if cap == 0
            || self.state.status != RoomStatus::Open
            || self.state.info.seat == crate::model::SeatState::Out
        {
            return ready(());
        }
        let queues = self.queues.clone();
        let weights = self.state.info.mix.clone();
        let mixed = !weights.is_empty();
        let mut cursor = self.state.mix_cursor;
        let room_code = self.state.info.code.clone();
        let clock = self.clock.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let mut have = 0;
                for q in &queues {
                    match q
                        .send(ShortList {
                            room_code: room_code.clone(),
                        })
                        .await
                    {
                        Ok((n, _)) => have += n,
                        Err(_) => return cursor,
                    }
                }
                'fill: while have < cap {
                    let audit = Audit {
                        operator: "system".into(),
                        source: "two-stage".into(),
                        at: clock.now(),
                        reason: None,
                    };
                    let next = mixed.then_some(cursor + 1);
                    for i in draw_order(&weights, queues.len(), cursor) {
                        match queues[i]
                            .send(Assign {
                                room_code: room_code.clone(),
                                audit: audit.clone(),
                                room_cursor: next,
                            })
                            .await
                        {
                            Ok(Ok(true)) => {
                                if mixed {
                                    cursor += 1;
                                }
                                have += 1;
                                continue 'fill;
                            }
                            Ok(Ok(false)) => continue,
                            // Not durable now: the next refill tries again.
                            Ok(Err(_)) | Err(_) => break 'fill,
                        }
                    }
                    break;
                }
                cursor
            }
            .into_actor(self)
            .map(|cursor, act, _ctx| {
                act.state.mix_cursor = cursor;
            }),
        ))
    }
}

impl Handler<Recall> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: Recall, _ctx: &mut Self::Context) -> Self::Result {
        let Some(cur) = &self.state.current else {
            return ready(Err(EngineError::NoCurrentPatient));
        };
        let change = Change::Recalled {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            visit_no: cur.visit_no.clone(),
            call_count: cur.call_count + 1,
        };
        self.commit_simple(change, true)
    }
}

impl Handler<Skip> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: Skip, _ctx: &mut Self::Context) -> Self::Result {
        let Some(cur) = &self.state.current else {
            return ready(Err(EngineError::NoCurrentPatient));
        };
        let change = Change::Skipped {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            visit_no: cur.visit_no.clone(),
            no_show: RoomState::last_miss(cur, self.max_misses()),
        };
        self.commit_simple(change, false)
    }
}

impl Handler<SendForExam> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: SendForExam, _ctx: &mut Self::Context) -> Self::Result {
        let Some(cur) = &self.state.current else {
            return ready(Err(EngineError::NoCurrentPatient));
        };
        let return_queue = self
            .state
            .info
            .draws_from
            .first()
            .cloned()
            .unwrap_or_else(|| cur.queue_code.clone());
        let change = Change::SentForExam {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            visit_no: cur.visit_no.clone(),
            return_queue,
        };
        self.commit_simple(change, false)
    }
}

impl Handler<Finish> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: Finish, _ctx: &mut Self::Context) -> Self::Result {
        let Some(cur) = &self.state.current else {
            return ready(Err(EngineError::NoCurrentPatient));
        };
        let change = Change::Finished {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            visit_no: cur.visit_no.clone(),
            performer: msg.performer,
        };
        self.commit_simple(change, false)
    }
}

impl Handler<SetStatus> for RoomActor {
    type Result = AtomicResponse<Self, Result<RoomOutcome, EngineError>>;

    fn handle(&mut self, msg: SetStatus, ctx: &mut Self::Context) -> Self::Result {
        if self.state.status == msg.status {
            return ready(Ok(self.outcome(None)));
        }
        if msg.status == RoomStatus::Open {
            // Runs after the status is committed and applied.
            ctx.notify(Refill);
        }
        let change = Change::RoomStatusSet {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            status: msg.status,
        };
        self.commit_simple(change, false)
    }
}

impl Handler<Seat> for RoomActor {
    type Result = AtomicResponse<Self, Result<crate::directory::RoomInfo, EngineError>>;

    fn handle(&mut self, msg: Seat, ctx: &mut Self::Context) -> Self::Result {
        // The room calls these queues by address: every one must run.
        let addrs: Option<Vec<Addr<QueueActor>>> = msg
            .draws_from
            .iter()
            .map(|q| self.directory.queues.get(q).map(|a| a.clone()))
            .collect();
        let Some(addrs) = addrs else {
            // A queue the room would call is not running.
            return ready(Err(EngineError::Mailbox));
        };
        let change = Change::Seated {
            audit: msg.audit,
            room_code: self.state.info.code.clone(),
            doctor_code: msg.doctor_code,
            seat: msg.seat,
            draws_from: msg.draws_from,
            mix: msg.mix,
        };
        let journal = self.journal.clone();
        let committed = change.clone();
        let me = ctx.address().recipient::<Refill>();
        AtomicResponse::new(Box::pin(
            async move { journal.commit(committed).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    res?;
                    act.state.apply(&change);
                    act.queues = addrs;
                    act.directory.reseat_room(act.state.info.clone());
                    if act.state.info.waiting_cap > 0 {
                        for q in &act.state.info.draws_from {
                            act.directory.subscribe_refill(q, me.clone());
                        }
                        ctx.notify(Refill);
                    }
                    act.publish();
                    Ok(act.state.info.clone())
                }),
        ))
    }
}

impl Handler<CloseDay> for RoomActor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, msg: CloseDay, _ctx: &mut Self::Context) -> Self::Result {
        let Some(current) = self
            .state
            .current
            .as_ref()
            .filter(|c| c.called_at < msg.until)
        else {
            return ready(Ok(0));
        };
        let change = Change::DayClosed {
            audit: msg.audit,
            day: msg.day,
            queue_code: None,
            room_code: Some(self.state.info.code.clone()),
            visits: vec![current.visit_no.clone()],
        };
        self.commit_then(change, false, |_, _| 1)
    }
}

impl Handler<CancelCurrent> for RoomActor {
    type Result = AtomicResponse<Self, Result<bool, EngineError>>;

    fn handle(&mut self, msg: CancelCurrent, _ctx: &mut Self::Context) -> Self::Result {
        if self
            .state
            .current
            .as_ref()
            .is_none_or(|c| c.visit_no != msg.visit_no)
        {
            return ready(Ok(false));
        }
        let change = Change::Cancelled {
            audit: msg.audit,
            visit_no: msg.visit_no,
            queue_code: None,
            room_code: Some(self.state.info.code.clone()),
        };
        self.commit_then(change, false, |_, _| true)
    }
}

impl Handler<Correct> for RoomActor {
    type Result = AtomicResponse<Self, Result<bool, EngineError>>;

    fn handle(&mut self, msg: Correct, _ctx: &mut Self::Context) -> Self::Result {
        if self
            .state
            .current
            .as_ref()
            .is_none_or(|c| c.visit_no != msg.correction.visit_no)
        {
            return ready(Ok(false));
        }
        let change = Change::Corrected {
            audit: msg.audit,
            queue_code: None,
            room_code: Some(self.state.info.code.clone()),
            correction: msg.correction,
            // A called patient keeps the kind they were called as.
            entry_kind: None,
            tags: msg.tags,
        };
        self.commit_then(change, false, |_, _| true)
    }
}

impl Handler<ForgetCurrent> for RoomActor {
    type Result = ();

    fn handle(&mut self, msg: ForgetCurrent, _ctx: &mut Self::Context) {
        if self
            .state
            .current
            .as_ref()
            .is_some_and(|c| c.visit_no == msg.visit_no)
        {
            self.state.current = None;
            self.publish();
        }
    }
}

impl Handler<InspectRoom> for RoomActor {
    type Result = MessageResult<InspectRoom>;

    fn handle(&mut self, _msg: InspectRoom, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.clone())
    }
}

impl Handler<StaffRoom> for RoomActor {
    type Result = MessageResult<StaffRoom>;

    fn handle(&mut self, _msg: StaffRoom, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.staff_view())
    }
}

impl Handler<GetRoom> for RoomActor {
    type Result = MessageResult<GetRoom>;

    fn handle(&mut self, _msg: GetRoom, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.outcome(None))
    }
}
