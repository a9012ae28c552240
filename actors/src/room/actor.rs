//! [`RoomActor`]: the thin actor over a [`RoomState`]. Each handler plans
//! on the state, asks the queues (requests go down), commits through the
//! journal, applies, answers, then tells the board.

use std::sync::Arc;

use actix::prelude::*;
use triage_ground::time::SharedClock;

use crate::board::events::Refill;
use crate::board::frame::Announcement;
use crate::board::Board;
use crate::error::EngineError;
use crate::journal::{Change, SharedJournal};
use crate::mask::announcement_text;
use crate::model::{Audit, RoomStatus};
use crate::queue::actor::QueueActor;
use crate::queue::messages::{Assign, CheckInOutcome, ShortList, TakeNext, TakeSpecific, Transfer};
use crate::staff::{StaffCall, StaffKey, StaffRoom, StaffRoomView, StaffUpdate};

use super::messages::*;
use super::state::{earliest_short_list, ClosedVisit, RoomState, Take};

/// `max_misses` for a patient whose queue published no rules.
const DEFAULT_MAX_MISSES: u32 = 2;

/// The actor that owns one [`RoomState`].
pub struct RoomActor {
    state: RoomState,
    queues: Vec<Addr<QueueActor>>,
    journal: SharedJournal,
    clock: SharedClock,
    board: Arc<Board>,
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
        board: Arc<Board>,
        voice_repeat: u8,
    ) -> Self {
        RoomActor {
            state,
            queues,
            journal,
            clock,
            board,
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
            // The same label as its screens: a doctor HIS has off duty
            // reads 停诊 here too.
            status_label: crate::model::room_label(
                self.state.status,
                self.state.info.seat,
                self.state
                    .info
                    .doctor_code
                    .as_deref()
                    .and_then(|d| self.board.doctor_on_duty(d))
                    == Some(false),
                self.state.current.is_some(),
            )
            .to_string(),
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
            .and_then(|c| self.board.rules_of(&c.queue_code))
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
        self.board.publish_room(
            &self.state.info.code,
            self.state.status,
            self.state.current.as_ref(),
        );
        self.tell_staff();
    }

    /// The room's staff pages get its view at the next version.
    fn tell_staff(&self) {
        self.staff_version.set(self.staff_version.get() + 1);
        let key = StaffKey::Room(self.state.info.code.clone());
        if self.board.watched_by_staff(&key) {
            self.board
                .tell_staff(&key, StaffUpdate::Room(self.staff_view()));
        }
    }

    fn announce(&self) {
        let Some(cur) = &self.state.current else {
            return;
        };
        self.board.announce(
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
                self.board.subscribe_refill(q, ctx.address().recipient());
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
        let draw = plan.clone();
        let two_stage = plan.short_list_first;
        let audit = msg.audit;
        let wanted = msg.visit_no;
        AtomicResponse::new(Box::pin(
            async move {
                let attempts = match &wanted {
                    Some(v) => draw.named(v, queues.len()),
                    // Two-stage: the room's own short list first, earliest sent first.
                    None if two_stage => {
                        let mut firsts = Vec::with_capacity(queues.len());
                        for q in &queues {
                            match q
                                .send(ShortList {
                                    room_code: room_code.clone(),
                                })
                                .await
                            {
                                Ok((_, first)) => firsts.push(first),
                                Err(e) => return (Err(EngineError::from(e)), false),
                            }
                        }
                        draw.by_rules(earliest_short_list(&firsts))
                    }
                    None => draw.by_rules(None),
                };
                // The close travels with every attempt and is committed in
                // the same batch as the call that succeeds, or not at all.
                for a in attempts {
                    let q = &queues[a.queue];
                    let by_mix = a.take.by_mix();
                    let room_cursor = a.take.room_cursor();
                    let taken = match a.take {
                        Take::Named { visit_no } => {
                            q.send(TakeSpecific {
                                visit_no,
                                room_code: room_code.clone(),
                                audit: audit.clone(),
                                close: draw.close.clone(),
                            })
                            .await
                        }
                        Take::ShortList | Take::Turn { .. } => {
                            q.send(TakeNext {
                                room_code: room_code.clone(),
                                audit: audit.clone(),
                                room_cursor,
                                close: draw.close.clone(),
                            })
                            .await
                        }
                    };
                    match taken {
                        Ok(Ok(Some(call))) => return (Ok(Some(call)), by_mix),
                        Ok(Ok(None)) => continue,
                        Ok(Err(e)) => return (Err(e), false),
                        Err(e) => return (Err(EngineError::from(e)), false),
                    }
                }
                match wanted {
                    Some(v) => (Err(EngineError::NotWaiting(v)), false),
                    None => (Ok(None), false),
                }
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
        let Some(mut plan) = self.state.plan_refill(self.queues.len()) else {
            return ready(());
        };
        let queues = self.queues.clone();
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
                        Err(_) => return plan.cursor,
                    }
                }
                'fill: while have < plan.cap {
                    let audit = Audit {
                        operator: "system".into(),
                        source: "two-stage".into(),
                        at: clock.now(),
                        reason: None,
                    };
                    let room_cursor = plan.room_cursor();
                    for i in plan.order() {
                        match queues[i]
                            .send(Assign {
                                room_code: room_code.clone(),
                                audit: audit.clone(),
                                room_cursor,
                            })
                            .await
                        {
                            Ok(Ok(true)) => {
                                plan.sent();
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
                plan.cursor
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
        if self.state.info.seat == crate::model::SeatState::Break {
            return ready(Err(EngineError::DoctorOnBreak));
        }
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
    type Result = AtomicResponse<Self, Result<crate::model::RoomInfo, EngineError>>;

    fn handle(&mut self, msg: Seat, ctx: &mut Self::Context) -> Self::Result {
        let addrs = msg.queues;
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
                    act.board.reseat_room(act.state.info.clone());
                    if act.state.info.waiting_cap > 0 {
                        for q in &act.state.info.draws_from {
                            act.board.subscribe_refill(q, me.clone());
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

impl Handler<TransferCurrent> for RoomActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: TransferCurrent, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.transfer.draft.visit_no.clone();
        let to = msg.to;
        let transfer = msg.transfer;
        AtomicResponse::new(Box::pin(
            async move { to.send(Transfer(transfer)).await }
                .into_actor(self)
                .map(move |res, act, _ctx| {
                    let out = res??;
                    // A move committed now (not a repeat the queue answered
                    // from memory) takes the patient out of this room.
                    if out.created && act.state.forget(&visit_no) {
                        act.publish();
                    }
                    Ok(out)
                }),
        ))
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

impl Handler<Republish> for RoomActor {
    type Result = ();

    fn handle(&mut self, _msg: Republish, _ctx: &mut Self::Context) {
        // Its screens were told by the board already.
        self.tell_staff();
    }
}

impl Handler<GetRoom> for RoomActor {
    type Result = MessageResult<GetRoom>;

    fn handle(&mut self, _msg: GetRoom, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.outcome(None))
    }
}
