//! [`RoomState`]: the plain state of one room — what a call plans (the
//! close of the current patient, the order of the queues), what a committed
//! change does to memory. No runtime: unit-tested with an injected `now`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::VisitNo;

use crate::error::EngineError;
use crate::journal::Change;
use crate::model::{Audit, CallOutcome, CurrentCall, RoomInfo, RoomStatus, SeatState};

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
        // One rule for a break (暂离): it refuses calls, so the door never
        // shows a patient called next to 医生暂时离开.
        if self.info.seat == SeatState::Break {
            return Err(EngineError::DoctorOnBreak);
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

    /// What a refill of the short list (two-stage waiting) does now; none
    /// for a room without one, not open, or with nobody sitting in it (no
    /// patient is sent to wait at the door). `queues`: how many queue
    /// addresses the room holds.
    pub fn plan_refill(&self, queues: usize) -> Option<RefillPlan> {
        let cap = self.info.waiting_cap as usize;
        if cap == 0 || self.status != RoomStatus::Open || self.info.seat == SeatState::Out {
            return None;
        }
        Some(RefillPlan {
            cap,
            weights: self.info.mix.clone(),
            queues,
            cursor: self.mix_cursor,
        })
    }

    /// Forgets the current patient if it is `visit_no` (moved to a queue by
    /// a committed transfer); answers whether it was.
    pub fn forget(&mut self, visit_no: &str) -> bool {
        let current = self
            .current
            .as_ref()
            .is_some_and(|c| c.visit_no == visit_no);
        if current {
            self.current = None;
        }
        current
    }

    /// Applies a committed change to memory.
    pub fn apply(&mut self, change: &Change) {
        let is_current = |v: &VisitNo| self.current.as_ref().is_some_and(|c| &c.visit_no == v);
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

/// A visit a command closed, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedVisit {
    pub visit_no: VisitNo,
    pub ticket_no: String,
    /// `finished`, `sent_for_exam`, `skipped` or `no_show`.
    pub outcome: CallOutcome,
}

impl CallPlan {
    /// A call by name (指定叫号): `TakeSpecific` at each of the room's
    /// `queues`, in order (the visit waits in at most one).
    pub fn named(&self, visit_no: &VisitNo, queues: usize) -> Vec<Attempt> {
        (0..queues)
            .map(|queue| Attempt {
                queue,
                take: Take::Named {
                    visit_no: visit_no.clone(),
                },
            })
            .collect()
    }

    /// A call by the rules: the queue holding the patient sent earliest to
    /// this room's short list first (two-stage rooms; see
    /// [`earliest_short_list`]), then the queues by the mix turns.
    pub fn by_rules(&self, short_list: Option<usize>) -> Vec<Attempt> {
        short_list
            .map(|queue| Attempt {
                queue,
                take: Take::ShortList,
            })
            .into_iter()
            .chain(self.order.iter().map(|&queue| Attempt {
                queue,
                take: Take::Turn {
                    room_cursor: self.cursor,
                },
            }))
            .collect()
    }
}

/// One request of a call, in the order the room makes them: the first
/// queue that answers a patient makes the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// Index into the room's queues (`draws_from` order).
    pub queue: usize,
    pub take: Take,
}

/// What an attempt asks its queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    /// `TakeSpecific`: this patient, by name.
    Named { visit_no: VisitNo },
    /// `TakeNext` from the room's own short list: the mix turn stays.
    ShortList,
    /// `TakeNext` by the rules at the mix turn, committing `room_cursor`
    /// with the call; a call taken so moves the turn.
    Turn { room_cursor: Option<i64> },
}

impl Take {
    /// Whether a call taken so moves the room's mix turn (`apply_call`).
    pub fn by_mix(&self) -> bool {
        matches!(self, Take::Turn { .. })
    }

    /// The mix position committed with a `TakeNext`.
    pub fn room_cursor(&self) -> Option<i64> {
        match self {
            Take::Turn { room_cursor } => *room_cursor,
            _ => None,
        }
    }
}

/// Which queue holds the patient sent earliest to the room's short list,
/// from each queue's first (when, and in which order, it was sent), in
/// `draws_from` order; a tie goes to the earlier queue.
pub fn earliest_short_list(firsts: &[Option<(DateTime<Utc>, i64)>]) -> Option<usize> {
    let mut first: Option<((DateTime<Utc>, i64), usize)> = None;
    for (i, at) in firsts.iter().enumerate() {
        if let Some(at) = *at {
            if first.is_none_or(|(f, _)| at < f) {
                first = Some((at, i));
            }
        }
    }
    first.map(|(_, i)| i)
}

/// A refill of the short list, planned on the plain state: up to `cap`
/// patients, drawn from the queues by the mix turns from `cursor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefillPlan {
    pub cap: usize,
    pub weights: Vec<u32>,
    pub queues: usize,
    pub cursor: i64,
}

impl RefillPlan {
    /// The queues to try for the next patient, in order.
    pub fn order(&self) -> Vec<usize> {
        draw_order(&self.weights, self.queues, self.cursor)
    }

    /// The mix position committed with the next send (mixed rooms only).
    pub fn room_cursor(&self) -> Option<i64> {
        (!self.weights.is_empty()).then_some(self.cursor + 1)
    }

    /// A patient was sent: the turn moves (mixed rooms only).
    pub fn sent(&mut self) {
        if !self.weights.is_empty() {
            self.cursor += 1;
        }
    }
}
