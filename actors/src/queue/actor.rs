//! [`QueueActor`]: the thin actor over a [`QueueState`]. Each handler plans
//! on the state, commits through the journal, applies, answers, then tells
//! the screens and the actors that follow (through the directory).

use std::sync::Arc;

use actix::prelude::*;

use crate::board::events::Left;
use crate::board::Board;
use crate::error::EngineError;
use crate::journal::{Change, JournalError, SharedJournal};
use crate::model::CurrentCall;
use crate::rules::QueueRules;
use crate::staff::{StaffKey, StaffQueue, StaffQueueView, StaffUpdate};
use triage_ground::ids::{RoomCode, VisitNo};
use triage_ground::time::SharedClock;

use super::messages::*;
use super::state::QueueState;

/// The actor that owns one [`QueueState`].
pub struct QueueActor {
    state: QueueState,
    journal: SharedJournal,
    clock: SharedClock,
    board: Arc<Board>,
    /// Whether the board may have to follow the clock: set by every
    /// publication, cleared by a refresh that found no patient waiting for
    /// an appointment slot (only a slot beginning changes a ranking with
    /// time).
    awaited: std::cell::Cell<bool>,
    /// The version of the staff view (grows with every publication).
    staff_version: std::cell::Cell<u64>,
}

impl QueueActor {
    pub fn new(
        state: QueueState,
        journal: SharedJournal,
        clock: SharedClock,
        board: Arc<Board>,
    ) -> Self {
        QueueActor {
            state,
            journal,
            clock,
            board,
            awaited: std::cell::Cell::new(true),
            staff_version: std::cell::Cell::new(0),
        }
    }

    /// The check-in style answer for a visit waiting here now.
    fn outcome_for(&self, visit_no: &str, created: bool) -> Option<CheckInOutcome> {
        let entry = self.state.find(visit_no)?;
        let pos = self.state.position(visit_no, self.clock.now()).unwrap_or(0);
        Some(CheckInOutcome {
            ticket_no: entry.ticket_no.clone(),
            queue_code: self.state.code.clone(),
            position: pos + 1,
            ahead: pos,
            created,
        })
    }

    /// Commits `change` together with the lock set it leads to, applies
    /// both, publishes, then answers with `answer` — the one path of every
    /// queue command that changes who waits where.
    fn commit_and_apply<T: 'static>(
        &mut self,
        change: Change,
        answer: impl FnOnce(&mut Self) -> Result<T, EngineError> + 'static,
    ) -> AtomicResponse<Self, Result<T, EngineError>> {
        self.commit_with(None, change, answer)
    }

    /// [`Self::commit_and_apply`] with `before` committed first in the same
    /// batch (it changes nothing the queue holds).
    fn commit_with<T: 'static>(
        &mut self,
        before: Option<Change>,
        change: Change,
        answer: impl FnOnce(&mut Self) -> Result<T, EngineError> + 'static,
    ) -> AtomicResponse<Self, Result<T, EngineError>> {
        let journal = self.journal.clone();
        let locks = self.state.locks_after(&change);
        let committed: Vec<Change> = before
            .into_iter()
            .chain([change.clone(), locks.clone()])
            .collect();
        AtomicResponse::new(Box::pin(
            async move { journal.commit_all(committed).await }
                .into_actor(self)
                .map(move |res, act, _ctx| {
                    res?;
                    act.state.apply(&change);
                    act.state.apply(&locks);
                    act.told(&change);
                    answer(act)
                }),
        ))
    }

    /// After a committed change: the screens, the two-stage rooms drawing
    /// from this queue (a place may have come free or a patient become
    /// callable) and, for a transfer from another queue, that queue. (A
    /// transfer from a room came through the room, which forgets the
    /// patient itself.)
    fn told(&self, change: &Change) {
        match change {
            // Taken by a room, which refills itself.
            Change::Called { .. } | Change::Assigned { .. } => self.publish(),
            Change::Transferred { .. } => {
                self.changed();
                self.tell_source(change);
            }
            _ => self.changed(),
        }
    }

    /// For a transfer from another queue: that queue, to forget the visit.
    fn tell_source(&self, change: &Change) {
        if let Change::Transferred {
            audit,
            from_queue: Some(q),
            entry,
            ..
        } = change
        {
            if *q != self.state.code {
                self.board.tell_left(
                    q,
                    Left {
                        visit_no: entry.visit_no.clone(),
                        audit: audit.clone(),
                    },
                );
            }
        }
    }

    /// Publishes the board and tells the rooms that keep a short list from
    /// this queue to fill it.
    fn changed(&self) {
        self.publish();
        self.board.queue_changed(&self.state.code);
    }

    /// Commits a change that puts `visit_no` in the queue (check-in,
    /// recall, transfer) and answers the new position.
    fn commit_entry(
        &mut self,
        change: Change,
        visit_no: VisitNo,
    ) -> AtomicResponse<Self, Result<CheckInOutcome, EngineError>> {
        self.commit_and_apply(change, move |act| {
            act.outcome_for(&visit_no, true)
                .ok_or(EngineError::NotWaiting(visit_no))
        })
    }

    fn publish(&self) {
        self.board
            .publish_rules(&self.state.code, &self.state.rules);
        let board = self.state.board(self.clock.now());
        self.board.publish_queue(&self.state.code, board, None);
        self.awaited.set(true);
        self.publish_staff();
    }

    /// The whole list for staff pages, at the current version.
    fn staff_view(&self) -> Arc<StaffQueueView> {
        Arc::new(
            self.state
                .staff_view(self.clock.now(), self.staff_version.get()),
        )
    }

    /// A new version of the staff view, sent to the staff pages watching
    /// this queue (composed only when one does).
    fn publish_staff(&self) {
        self.staff_version.set(self.staff_version.get() + 1);
        let key = StaffKey::Queue(self.state.code.clone());
        if self.board.watched_by_staff(&key) {
            self.board
                .tell_staff(&key, StaffUpdate::Queue(self.staff_view()));
        }
    }

    /// Records the new head at once (the calling room composes from it),
    /// but tells the other rooms' screens a moment later, so the calling
    /// room's own frame and its announcement go out first.
    fn publish_after_call(&self, room: RoomCode, ctx: &mut Context<Self>) {
        let board = self.state.board(self.clock.now());
        self.board.set_queue_board(&self.state.code, board);
        self.awaited.set(true);
        ctx.run_later(std::time::Duration::ZERO, move |act, _ctx| {
            act.board.notify_queue(&act.state.code, Some(&room));
            act.publish_staff();
        });
    }
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        // The locks are the database's (committed with every change).
        self.publish();
    }
}

impl Handler<Refresh> for QueueActor {
    type Result = ();

    fn handle(&mut self, _msg: Refresh, _ctx: &mut Self::Context) {
        // Only an appointment slot beginning changes a ranking with time;
        // a queue without one has nothing to refresh (and costs nothing on
        // the arbiter the screens share).
        let now = self.clock.now();
        let awaits = self.state.awaits_a_slot(now);
        if !awaits && !self.awaited.get() {
            return;
        }
        self.awaited.set(awaits);
        let board = self.state.board(now);
        if self.board.queue_board(&self.state.code) != board {
            self.board.publish_queue(&self.state.code, board, None);
            self.publish_staff();
        }
    }
}

impl Handler<StaffQueue> for QueueActor {
    type Result = MessageResult<StaffQueue>;

    fn handle(&mut self, _msg: StaffQueue, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.staff_view())
    }
}

impl Handler<CheckIn> for QueueActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: CheckIn, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.draft.visit_no.clone();
        if let Some(existing) = self.outcome_for(&visit_no, false) {
            // A registration to store with it was stored by another
            // message meanwhile: not answered as this one's (its body may
            // differ); the engine stores and compares it as two steps.
            let answer = match msg.before {
                Some(_) => Err(EngineError::Journal(JournalError::Conflict {
                    index: 0,
                    reason: "the visit was registered and checked in meanwhile".into(),
                })),
                None => Ok(existing),
            };
            return AtomicResponse::new(Box::pin(fut::ready(answer)));
        }
        if self.state.day_is_closed(msg.service_date) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::DayClosed))));
        }
        match self
            .state
            .plan_check_in_at(msg.draft, msg.slot, msg.audit, msg.service_date)
        {
            Ok(change) => match msg.before {
                None => self.commit_entry(change, visit_no),
                Some(before) => self.commit_with(Some(before), change, move |act| {
                    act.outcome_for(&visit_no, true)
                        .ok_or(EngineError::NotWaiting(visit_no))
                }),
            },
            Err(e) => AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        }
    }
}

impl Handler<TakeNext> for QueueActor {
    type Result = AtomicResponse<Self, Result<Option<CurrentCall>, EngineError>>;

    fn handle(&mut self, msg: TakeNext, _ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(self.take_next(msg, CALL_CANDIDATES, false))
    }
}

/// How many patients one call tries if the head turns out stale.
const CALL_CANDIDATES: usize = 5;

/// What [`QueueActor::take_next`] answers.
type Taken = ResponseActFuture<QueueActor, Result<Option<CurrentCall>, EngineError>>;

impl QueueActor {
    /// One try of a call: plans the head for the room, commits it with the
    /// lock set it leads to (and the room's close first), applies both.
    /// A head whose stored state moved on (a stale entry) is dropped and
    /// the next is planned afresh, up to `tries` patients; only the
    /// committed call's lock set is computed. `dropped`: an earlier try
    /// dropped a stale entry (the board is published even if nobody is
    /// left).
    fn take_next(&mut self, msg: TakeNext, tries: usize, dropped: bool) -> Taken {
        let planned = self
            .state
            .plan_take_next(&msg.room_code, &msg.audit, msg.room_cursor);
        let Some((change, call)) = planned.filter(|_| tries > 0) else {
            return Box::pin(fut::ready(Ok(None)).map(move |res, act: &mut Self, ctx| {
                if dropped {
                    act.publish_after_call(msg.room_code.clone(), ctx);
                }
                res
            }));
        };
        let locks = self.state.locks_after(&change);
        // The room's close goes first in every batch: a refusal at index 0
        // is the room's (its current patient moved on), not a stale head.
        let first = usize::from(msg.close.is_some());
        let batch: Vec<Change> = msg
            .close
            .iter()
            .cloned()
            .chain([change.clone(), locks.clone()])
            .collect();
        let journal = self.journal.clone();
        Box::pin(
            async move { journal.commit_all(batch).await }
                .into_actor(self)
                .then(move |res, act, ctx| -> Taken {
                    match res {
                        Ok(()) => {
                            act.state.apply(&change);
                            act.state.apply(&locks);
                            act.publish_after_call(msg.room_code.clone(), ctx);
                            Box::pin(fut::ready(Ok(Some(call))))
                        }
                        Err(JournalError::Conflict { index, .. }) if index >= first => {
                            tracing::warn!(queue = %act.state.code, visit_no = %call.visit_no, "dropped a stale waiting entry");
                            act.state.drop_stale(&call.visit_no);
                            act.take_next(msg, tries - 1, true)
                        }
                        Err(e) => {
                            act.publish_after_call(msg.room_code.clone(), ctx);
                            Box::pin(fut::ready(Err(EngineError::from(e))))
                        }
                    }
                }),
        )
    }
}

impl Handler<Assign> for QueueActor {
    type Result = AtomicResponse<Self, Result<bool, EngineError>>;

    fn handle(&mut self, msg: Assign, _ctx: &mut Self::Context) -> Self::Result {
        let Some(change) = self
            .state
            .plan_assign(&msg.room_code, &msg.audit, msg.room_cursor)
        else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(false))));
        };
        self.commit_and_apply(change, |_| Ok(true))
    }
}

impl Handler<AssignTo> for QueueActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: AssignTo, _ctx: &mut Self::Context) -> Self::Result {
        let Some(change) = self
            .state
            .plan_assign_to(&msg.visit_no, &msg.room_code, &msg.audit)
        else {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::NotWaiting(
                msg.visit_no,
            )))));
        };
        let visit_no = msg.visit_no;
        self.commit_and_apply(change, move |act| {
            // Taken from another room's short list, maybe: the two-stage
            // rooms look again (a room's own refill tells nobody).
            act.board.queue_changed(act.state.code.as_str());
            act.outcome_for(visit_no.as_str(), true)
                .ok_or(EngineError::NotWaiting(visit_no))
        })
    }
}

impl Handler<ShortList> for QueueActor {
    type Result = MessageResult<ShortList>;

    fn handle(&mut self, msg: ShortList, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult((
            self.state.assigned_to(&msg.room_code),
            self.state.first_assigned(&msg.room_code),
        ))
    }
}

impl Handler<ReleaseRoom> for QueueActor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, msg: ReleaseRoom, _ctx: &mut Self::Context) -> Self::Result {
        let Some(change) = self.state.plan_unassign(&msg.room_code, msg.audit) else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(0))));
        };
        let n = match &change {
            Change::Unassigned { visits, .. } => visits.len(),
            _ => 0,
        };
        self.commit_and_apply(change, move |_| Ok(n))
    }
}

impl Handler<Requeue> for QueueActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: Requeue, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.draft.visit_no.clone();
        if let Some(existing) = self.outcome_for(&visit_no, false) {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(existing))));
        }
        if self.entering_a_closed_day(&msg.audit) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::DayClosed))));
        }
        let change = self
            .state
            .plan_requeue(msg.draft, msg.ticket_no, msg.misses, msg.audit);
        self.commit_entry(change, visit_no)
    }
}

impl Handler<Transfer> for QueueActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: Transfer, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.0.draft.visit_no.clone();
        if let Some(existing) = self.outcome_for(&visit_no, false) {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(existing))));
        }
        if self.entering_a_closed_day(&msg.0.audit) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::DayClosed))));
        }
        let change = self.state.plan_transfer_in(msg.0);
        self.commit_entry(change, visit_no)
    }
}

impl Handler<TransferAll> for QueueActor {
    type Result = AtomicResponse<Self, Result<Moved, EngineError>>;

    fn handle(&mut self, msg: TransferAll, _ctx: &mut Self::Context) -> Self::Result {
        let Some(first) = msg.0.first() else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(Moved::default()))));
        };
        if self.entering_a_closed_day(&first.audit) {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::DayClosed))));
        }
        let base = self.state.clone();
        let journal = self.journal.clone();
        let mut transfers = msg.0;
        AtomicResponse::new(Box::pin(
            async move {
                let mut left = Vec::new();
                loop {
                    let Some((changes, locks)) = base.plan_transfers_in(&transfers) else {
                        return (left, Ok(None));
                    };
                    let batch: Vec<Change> =
                        changes.iter().cloned().chain([locks.clone()]).collect();
                    match journal.commit_all(batch).await {
                        Ok(()) => return (left, Ok(Some((changes, locks)))),
                        // That visit's row changed since it was read: it
                        // left meanwhile; the others move without it.
                        Err(JournalError::Conflict { index, .. }) if index < changes.len() => {
                            let Change::Transferred { entry, .. } = &changes[index] else {
                                return (left, Err(EngineError::Mailbox));
                            };
                            transfers.retain(|t| t.draft.visit_no != entry.visit_no);
                            left.push(entry.visit_no.clone());
                        }
                        Err(e) => return (left, Err(EngineError::from(e))),
                    }
                }
            }
            .into_actor(self)
            .map(move |(left, res), act, _ctx| {
                let mut moved = Vec::new();
                if let Some((changes, locks)) = res? {
                    for change in &changes {
                        act.state.apply(change);
                    }
                    act.state.apply(&locks);
                    for change in &changes {
                        if let Change::Transferred { entry, .. } = change {
                            moved.push(entry.visit_no.clone());
                        }
                        act.tell_source(change);
                    }
                    act.changed();
                }
                Ok(Moved { moved, stale: left })
            }),
        ))
    }
}

impl Handler<ChangeRules> for QueueActor {
    type Result = AtomicResponse<Self, Result<QueueRules, EngineError>>;

    fn handle(&mut self, msg: ChangeRules, _ctx: &mut Self::Context) -> Self::Result {
        let rules = match (msg.merge)(&self.state.rules) {
            Ok(rules) => rules,
            Err(e) => return AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        };
        let change = self.state.plan_rules(rules, msg.audit);
        self.commit_and_apply(change, |act| Ok(act.state.rules.clone()))
    }
}

impl Handler<Correct> for QueueActor {
    type Result = AtomicResponse<Self, Result<bool, EngineError>>;

    fn handle(&mut self, msg: Correct, _ctx: &mut Self::Context) -> Self::Result {
        match self.state.plan_correct(msg.correction, msg.audit) {
            Some(change) => self.commit_and_apply(change, |_| Ok(true)),
            None => AtomicResponse::new(Box::pin(fut::ready(Ok(false)))),
        }
    }
}

impl Handler<GetRules> for QueueActor {
    type Result = MessageResult<GetRules>;

    fn handle(&mut self, _msg: GetRules, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.rules.clone())
    }
}

impl Handler<Left> for QueueActor {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: Left, _ctx: &mut Self::Context) -> Self::Result {
        if self.state.find(&msg.visit_no).is_none() {
            return AtomicResponse::new(Box::pin(fut::ready(())));
        }
        let locks = self.state.plan_left(&msg.visit_no, msg.audit);
        let journal = self.journal.clone();
        let committed = locks.clone();
        let visit_no = msg.visit_no;
        AtomicResponse::new(Box::pin(
            async move { journal.commit(committed).await }
                .into_actor(self)
                .map(move |res, act, _ctx| {
                    act.state.drop_stale(&visit_no);
                    match res {
                        Ok(()) => act.state.apply(&locks),
                        // The locks stay as stored; the next change commits them.
                        Err(e) => {
                            tracing::warn!(queue = %act.state.code, error = %e, "lock set after a transfer not stored")
                        }
                    }
                    act.changed();
                }),
        ))
    }
}

impl Handler<TakeSpecific> for QueueActor {
    type Result = AtomicResponse<Self, Result<Option<CurrentCall>, EngineError>>;

    fn handle(&mut self, msg: TakeSpecific, _ctx: &mut Self::Context) -> Self::Result {
        let Some((change, call)) =
            self.state
                .plan_take_specific(&msg.visit_no, &msg.room_code, &msg.audit)
        else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(None))));
        };
        let journal = self.journal.clone();
        let locks = self.state.locks_after(&change);
        let committed: Vec<Change> = msg
            .close
            .into_iter()
            .chain([change.clone(), locks.clone()])
            .collect();
        let room_code = msg.room_code;
        AtomicResponse::new(Box::pin(
            async move { journal.commit_all(committed).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    res?;
                    act.state.apply(&change);
                    act.state.apply(&locks);
                    act.publish_after_call(room_code, ctx);
                    Ok(Some(call))
                }),
        ))
    }
}

impl Handler<Intervene> for QueueActor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, msg: Intervene, _ctx: &mut Self::Context) -> Self::Result {
        if self.state.find(&msg.visit_no).is_none() {
            return AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::NotWaiting(
                msg.visit_no,
            )))));
        }
        let change = match msg.action {
            Intervention::Hold => self.state.plan_hold(&msg.visit_no, true, msg.audit),
            Intervention::Release => self.state.plan_hold(&msg.visit_no, false, msg.audit),
            Intervention::Pin => self.state.plan_pin(&msg.visit_no, msg.audit),
            Intervention::Move(p) => self.state.plan_move(&msg.visit_no, p, msg.audit),
        };
        let visit_no = msg.visit_no;
        let Some(change) = change else {
            let pos = self
                .state
                .position(&visit_no, self.clock.now())
                .unwrap_or(0)
                + 1;
            return AtomicResponse::new(Box::pin(fut::ready(Ok(pos))));
        };
        self.commit_and_apply(change, move |act| {
            Ok(act.state.position(&visit_no, act.clock.now()).unwrap_or(0) + 1)
        })
    }
}

impl QueueActor {
    /// Whether a patient entering now would enter a day that has ended.
    fn entering_a_closed_day(&self, audit: &crate::model::Audit) -> bool {
        self.state
            .day_is_closed(self.state.rules.day.local_date(audit.at))
    }
}

impl Handler<CloseDay> for QueueActor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, msg: CloseDay, _ctx: &mut Self::Context) -> Self::Result {
        // From now on nobody of the day enters (a check-in already on its
        // way to this queue is refused, not left behind).
        self.state.close_through(msg.day);
        match self.state.plan_close_day(msg.day, msg.until, msg.audit) {
            Some(change) => {
                let n = match &change {
                    Change::DayClosed { visits, .. } => visits.len(),
                    _ => 0,
                };
                self.commit_and_apply(change, move |_| Ok(n))
            }
            None => AtomicResponse::new(Box::pin(fut::ready(Ok(0)))),
        }
    }
}

impl Handler<Mark> for QueueActor {
    type Result = AtomicResponse<Self, Result<usize, EngineError>>;

    fn handle(&mut self, msg: Mark, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.visit_no;
        match self
            .state
            .plan_mark(&visit_no, msg.his_tags, msg.marks, msg.audit)
        {
            Some(change) => self.commit_and_apply(change, move |act| {
                Ok(act.state.position(&visit_no, act.clock.now()).unwrap_or(0) + 1)
            }),
            None => {
                AtomicResponse::new(Box::pin(fut::ready(Err(EngineError::NotWaiting(visit_no)))))
            }
        }
    }
}

impl Handler<Remove> for QueueActor {
    type Result = AtomicResponse<Self, Result<bool, EngineError>>;

    fn handle(&mut self, msg: Remove, _ctx: &mut Self::Context) -> Self::Result {
        let Some(change) = self.state.plan_remove(&msg.visit_no, msg.audit) else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(false))));
        };
        self.commit_and_apply(change, |_| Ok(true))
    }
}

impl Handler<ListQueue> for QueueActor {
    type Result = MessageResult<ListQueue>;

    fn handle(&mut self, _msg: ListQueue, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.state.list(self.clock.now()))
    }
}

impl Handler<InspectQueue> for QueueActor {
    type Result = MessageResult<InspectQueue>;

    fn handle(&mut self, _msg: InspectQueue, _ctx: &mut Self::Context) -> Self::Result {
        // In line order: a queue rebuilt from the database keeps the same
        // order (the line key orders every entry one way).
        MessageResult(self.state.clone())
    }
}

impl Handler<Position> for QueueActor {
    type Result = Option<(usize, usize)>;

    fn handle(&mut self, msg: Position, _ctx: &mut Self::Context) -> Self::Result {
        self.state
            .position(&msg.visit_no, self.clock.now())
            .map(|p| (p + 1, p))
    }
}
