//! A queue (候诊队列): [`QueueState`], the plain state with every rule, and
//! [`QueueActor`], the thin actor that serialises access to it.
//!
//! Messages in: [`CheckIn`], [`Requeue`] (召回), [`Transfer`], [`Left`],
//! [`TakeNext`] / [`TakeSpecific`] / [`Assign`] / [`ShortList`] /
//! [`ReleaseRoom`] (from a room), [`Intervene`] (hold, release, pin, move),
//! [`Remove`] (cancel), [`ChangeRules`] / [`GetRules`], [`ListQueue`],
//! [`Position`]. Out: board updates to the [`Directory`] (which
//! tells screens). Each command is planned on the state (pure), committed by
//! the [`Journal`](crate::journal::Journal), then applied to memory — in one
//! `AtomicResponse`, so nothing else touches the queue meanwhile.

use std::sync::Arc;

use actix::prelude::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, EntryView, QueueBoard};
use crate::error::EngineError;
use crate::journal::{Change, JournalError, SharedClock, SharedJournal};
use crate::model::{
    Assignment, Audit, Correction, Counters, CurrentCall, EntryKind, MoveMark, Slot, SpecialTag,
    TicketCounter, WaitingEntry,
};
use crate::room::ForgetCurrent;
use crate::rules::{counters_after_call, rank, EarlyCheckIn, Placement, QueueRules, Ranked};

/// How many entries a queue publishes to the board (screens show fewer).
pub const BOARD_HEAD: usize = 10;
/// How many candidates one call tries if the head turns out stale.
const CALL_CANDIDATES: usize = 5;
/// The largest ticket number of a day.
const MAX_TICKET: u32 = 9999;

/// What the caller knows of a patient checking in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDraft {
    pub visit_no: String,
    pub masked_name: String,
    pub spoken_name: String,
    pub kind: EntryKind,
    /// The registration's special tags (HIS-sent or staff-marked); the queue
    /// adds the age tags of its rules from `birth_date`.
    pub tags: Vec<SpecialTag>,
    /// The HIS registration sequence number (挂号序号), if HIS sent one.
    #[serde(default)]
    pub his_seq: Option<i64>,
    /// Birth date, for the age tags.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    /// The appointment slot of the registration (a patient back after a
    /// missed call is placed by the recall rule, without it).
    #[serde(default)]
    pub slot: Option<Slot>,
}

/// A waiting entry in calling order, as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedEntry {
    pub position: usize,
    pub visit_no: String,
    pub ticket_no: String,
    pub masked_name: String,
    pub checked_in_at: DateTime<Utc>,
    pub kind: EntryKind,
    pub special: Vec<String>,
    pub placement: Placement,
    pub placement_code: String,
    pub placement_reason: String,
}

/// The plain state of one queue. Every method that decides takes `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueState {
    pub code: String,
    pub prefix: String,
    pub rules: QueueRules,
    entries: Vec<WaitingEntry>,
    counters: Counters,
    tickets: TicketCounter,
    next_seq: i64,
}

impl QueueState {
    /// Builds a queue from what the database holds.
    pub fn new(
        code: impl Into<String>,
        prefix: impl Into<String>,
        rules: QueueRules,
        entries: Vec<WaitingEntry>,
        counters: Counters,
        tickets: TicketCounter,
        next_seq: i64,
    ) -> Self {
        QueueState {
            code: code.into(),
            prefix: prefix.into(),
            rules,
            entries,
            counters,
            tickets,
            next_seq,
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[WaitingEntry] {
        &self.entries
    }

    pub fn find(&self, visit_no: &str) -> Option<&WaitingEntry> {
        self.entries.iter().find(|e| e.visit_no == visit_no)
    }

    /// The waiting list in calling order.
    pub fn ranked(&self, now: DateTime<Utc>) -> Vec<Ranked<'_>> {
        rank(&self.entries, &self.rules, &self.counters, now)
    }

    /// 0-based position of a visit in calling order.
    pub fn position(&self, visit_no: &str, now: DateTime<Utc>) -> Option<usize> {
        self.ranked(now)
            .iter()
            .position(|r| r.entry.visit_no == visit_no)
    }

    /// A new entry of this queue from a draft, entering at `at`: the next
    /// arrival number, the age tags of the rules in force on `today`.
    fn new_entry(
        &self,
        draft: EntryDraft,
        ticket_no: String,
        at: DateTime<Utc>,
        today: NaiveDate,
    ) -> WaitingEntry {
        let tags = self.rules.tags_for(&draft.tags, draft.birth_date, today);
        WaitingEntry {
            visit_no: draft.visit_no,
            ticket_no,
            masked_name: draft.masked_name,
            spoken_name: draft.spoken_name,
            checked_in_at: at,
            seq: self.next_seq,
            kind: draft.kind,
            special: self.rules.special_mark(&tags),
            mark: self.counters.normal_calls_total,
            tags,
            misses: 0,
            held: false,
            pinned_at: None,
            locked: None,
            slot: draft.slot.filter(|_| draft.kind != EntryKind::Recall),
            his_seq: draft.his_seq,
            moved: None,
            assigned: None,
            registered_tags: draft.tags,
            birth_date: draft.birth_date,
        }
    }

    /// Plans new rules: everything derived from them (age tags, special
    /// marks, the locked head) follows in the same change.
    pub fn plan_rules(&self, rules: QueueRules, audit: Audit) -> Change {
        let today = rules.day.local_date(audit.at);
        let retagged = self
            .entries
            .iter()
            .filter_map(|e| {
                let tags = rules.tags_for(&e.registered_tags, e.birth_date, today);
                (tags != e.tags).then(|| (e.visit_no.clone(), tags))
            })
            .collect();
        Change::RulesChanged {
            audit,
            queue_code: self.code.clone(),
            from: Box::new(self.rules.clone()),
            to: Box::new(rules),
            retagged,
        }
    }

    /// Plans a HIS correction of a waiting patient: names, tags (with the
    /// age tags on the day they checked in), kind, HIS number and slot;
    /// none if the visit does not wait here.
    pub fn plan_correct(&self, correction: Correction, audit: Audit) -> Option<Change> {
        let e = self.find(&correction.visit_no)?;
        let today = self.rules.day.local_date(e.checked_in_at);
        let tags = self
            .rules
            .tags_for(&correction.registered_tags, correction.birth_date, today);
        let late = correction.slot.is_some_and(|s| e.checked_in_at > s.end);
        let kind = match e.kind {
            // Back after a missed call: placed by the recall rule whatever HIS says.
            EntryKind::Recall => EntryKind::Recall,
            _ if correction.return_visit => EntryKind::Return,
            _ if late => EntryKind::Late,
            _ => EntryKind::Normal,
        };
        Some(Change::Corrected {
            audit,
            queue_code: Some(self.code.clone()),
            room_code: None,
            correction,
            entry_kind: kind,
            tags,
        })
    }

    /// Plans a check-in: allocates the next ticket of `service_date`.
    pub fn plan_check_in(
        &self,
        draft: EntryDraft,
        audit: Audit,
        service_date: NaiveDate,
    ) -> Result<Change, EngineError> {
        self.plan_check_in_at(draft, None, audit, service_date)
    }

    /// Plans a check-in with an appointment slot: refused before the
    /// early-check-in window opens; after the slot end, a late arrival per
    /// the rules; an early patient waits for the slot (ranked, not callable).
    pub fn plan_check_in_at(
        &self,
        mut draft: EntryDraft,
        slot: Option<Slot>,
        audit: Audit,
        service_date: NaiveDate,
    ) -> Result<Change, EngineError> {
        if let Some(s) = slot {
            let opens = match self.rules.early_check_in {
                EarlyCheckIn::Forbidden => Some(s.start),
                EarlyCheckIn::Minutes(m) => Some(s.start - chrono::Duration::minutes(i64::from(m))),
                EarlyCheckIn::Unlimited => None,
            };
            if let Some(opens) = opens {
                if audit.at < opens {
                    return Err(EngineError::TooEarly(opens));
                }
            }
            // Late (after the slot end): placed by the late-arrival rule in
            // force at ranking time, so a rule change reaches them at once.
            if audit.at > s.end && draft.kind == EntryKind::Normal {
                draft.kind = EntryKind::Late;
            }
        }
        let last = if self.tickets.date == service_date {
            self.tickets.last
        } else {
            0
        };
        if last >= MAX_TICKET {
            return Err(EngineError::TicketsExhausted);
        }
        let number = last + 1;
        let ticket_no = format!("{}{:03}", self.prefix, number);
        draft.slot = slot;
        let entry = self.new_entry(draft, ticket_no, audit.at, service_date);
        Ok(Change::CheckedIn {
            audit,
            queue_code: self.code.clone(),
            service_date,
            entry,
            tickets: TicketCounter {
                date: service_date,
                last: number,
            },
            next_seq: self.next_seq + 1,
        })
    }

    /// Whether `room` may take this ranked entry: callable, and either in
    /// the general list or on this room's own short list.
    fn takeable_by(r: &Ranked<'_>, room: &str) -> bool {
        r.placement.is_callable() && r.entry.assigned.as_ref().is_none_or(|a| a.room == room)
    }

    /// The oldest arrival still waiting after the one who arrived as `seq`
    /// leaves (arrival numbers are unique within a queue).
    fn oldest_seq_without(&self, seq: i64) -> Option<i64> {
        self.entries
            .iter()
            .map(|e| e.seq)
            .filter(|s| *s != seq)
            .min()
    }

    /// Counters after taking `r` from the list.
    fn counters_taking(&self, r: &Ranked<'_>) -> Counters {
        let mut counters = counters_after_call(&self.counters, &r.placement, r.entry.seq);
        counters.prune(self.oldest_seq_without(r.entry.seq));
        counters
    }

    /// The current call of a ranked entry, as `placement` says why.
    fn call_of(&self, e: &WaitingEntry, placement: String, at: DateTime<Utc>) -> CurrentCall {
        CurrentCall {
            visit_no: e.visit_no.clone(),
            ticket_no: e.ticket_no.clone(),
            masked_name: e.masked_name.clone(),
            spoken_name: e.spoken_name.clone(),
            queue_code: self.code.clone(),
            called_at: at,
            call_count: 1,
            placement,
            tags: e.tags.clone(),
            misses: e.misses,
        }
    }

    /// Plans calls for `room`: the first few candidates in calling order
    /// (the room's own short list first), each with its change (only one
    /// will be committed). `room_cursor` is the room's next mix position,
    /// committed with the call.
    pub fn plan_take_next(
        &self,
        room_code: &str,
        audit: &Audit,
        room_cursor: Option<i64>,
    ) -> Vec<(Change, CurrentCall)> {
        self.ranked(audit.at)
            .into_iter()
            .filter(|r| Self::takeable_by(r, room_code))
            .take(CALL_CANDIDATES)
            .map(|r| {
                // A patient from the short list keeps the rule that sent them.
                let placement = match &r.entry.assigned {
                    Some(a) => a.placement.clone(),
                    None => r.placement.code().to_string(),
                };
                let change = Change::Called {
                    audit: audit.clone(),
                    queue_code: self.code.clone(),
                    room_code: room_code.to_string(),
                    visit_no: r.entry.visit_no.clone(),
                    placement: placement.clone(),
                    counters: self.counters_taking(&r),
                    room_cursor,
                };
                let call = self.call_of(r.entry, placement, audit.at);
                (change, call)
            })
            .collect()
    }

    /// Plans sending the first patient of the general list to `room`'s short
    /// list (二级候诊); none if nobody is waiting there.
    pub fn plan_assign(
        &self,
        room_code: &str,
        audit: &Audit,
        room_cursor: Option<i64>,
    ) -> Option<Change> {
        let ranked = self.ranked(audit.at);
        let r = ranked
            .iter()
            .find(|r| r.placement.is_callable() && r.entry.assigned.is_none())?;
        Some(Change::Assigned {
            audit: audit.clone(),
            queue_code: self.code.clone(),
            room_code: room_code.to_string(),
            visit_no: r.entry.visit_no.clone(),
            placement: r.placement.code().to_string(),
            counters: self.counters_taking(r),
            room_cursor,
        })
    }

    /// Patients on `room`'s short list in this queue.
    pub fn assigned_to(&self, room: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.assigned.as_ref().is_some_and(|a| a.room == room))
            .count()
    }

    /// When the first patient on `room`'s short list here was sent there.
    pub fn first_assigned(&self, room: &str) -> Option<(DateTime<Utc>, i64)> {
        self.entries
            .iter()
            .filter_map(|e| {
                e.assigned
                    .as_ref()
                    .filter(|a| a.room == room)
                    .map(|a| (a.at, a.order))
            })
            .min()
    }

    /// Plans returning `room`'s short list to the general list (the room
    /// closed); none if it has nobody here.
    pub fn plan_unassign(&self, room: &str, audit: Audit) -> Option<Change> {
        let visits: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.assigned.as_ref().is_some_and(|a| a.room == room))
            .map(|e| e.visit_no.clone())
            .collect();
        (!visits.is_empty()).then(|| Change::Unassigned {
            audit,
            queue_code: self.code.clone(),
            room_code: room.to_string(),
            visits,
        })
    }

    /// Plans a nurse's move of a waiting patient to `position` (1 = next)
    /// in the general list; none if not waiting here.
    pub fn plan_move(&self, visit_no: &str, position: u32, audit: Audit) -> Option<Change> {
        self.find(visit_no)?;
        Some(Change::Moved {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.to_string(),
            position: position.max(1),
            mark: self.counters.taken_total,
        })
    }

    /// Plans bringing back a patient set aside: after a missed call (召回,
    /// `draft.kind` Recall) or with exam results (回诊, `draft.kind` Return);
    /// same ticket, inserted by that kind's interval from now.
    pub fn plan_requeue(
        &self,
        draft: EntryDraft,
        ticket_no: String,
        misses: i32,
        audit: Audit,
    ) -> Change {
        let today = self.rules.day.local_date(audit.at);
        let mut entry = self.new_entry(draft, ticket_no, audit.at, today);
        entry.misses = misses;
        Change::Requeued {
            audit,
            queue_code: self.code.clone(),
            entry,
            next_seq: self.next_seq + 1,
        }
    }

    /// Plans receiving a transferred visit (转诊): same ticket and kind;
    /// check-in time kept or reset to now.
    pub fn plan_transfer_in(&self, t: TransferIn) -> Change {
        let today = self.rules.day.local_date(t.audit.at);
        let at = t.checked_in_at.unwrap_or(t.audit.at);
        let mut entry = self.new_entry(t.draft, t.ticket_no, at, today);
        entry.misses = t.misses;
        Change::Transferred {
            audit: t.audit,
            from_queue: t.from_queue,
            from_room: t.from_room,
            queue_code: self.code.clone(),
            entry,
            next_seq: self.next_seq + 1,
        }
    }

    /// Plans calling one waiting visit by name, out of order (指定叫号).
    pub fn plan_take_specific(
        &self,
        visit_no: &str,
        room_code: &str,
        audit: &Audit,
    ) -> Option<(Change, CurrentCall)> {
        let e = self.find(visit_no)?;
        let ranked = Ranked {
            entry: e,
            placement: Placement::Manual,
        };
        let change = Change::Called {
            audit: audit.clone(),
            queue_code: self.code.clone(),
            room_code: room_code.to_string(),
            visit_no: e.visit_no.clone(),
            placement: Placement::Manual.code().to_string(),
            counters: self.counters_taking(&ranked),
            room_cursor: None,
        };
        let call = self.call_of(e, Placement::Manual.code().to_string(), audit.at);
        Some((change, call))
    }

    /// Plans a nurse's hold or release (挂起 / 恢复); none if the visit is not
    /// waiting here or already in that state.
    pub fn plan_hold(&self, visit_no: &str, held: bool, audit: Audit) -> Option<Change> {
        let e = self.find(visit_no)?;
        (e.held != held).then(|| Change::HoldSet {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.to_string(),
            held,
        })
    }

    /// Plans a nurse's pin to the top (置顶); none if not waiting here.
    pub fn plan_pin(&self, visit_no: &str, audit: Audit) -> Option<Change> {
        self.find(visit_no).map(|_| Change::Pinned {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.to_string(),
        })
    }

    /// Plans the removal of a waiting visit (cancel).
    pub fn plan_remove(&self, visit_no: &str, audit: Audit) -> Option<Change> {
        self.find(visit_no).map(|_| Change::Cancelled {
            audit,
            visit_no: visit_no.to_string(),
            queue_code: Some(self.code.clone()),
            room_code: None,
        })
    }

    /// Applies a committed change to memory.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::CheckedIn {
                entry,
                tickets,
                next_seq,
                queue_code,
                ..
            } if *queue_code == self.code => {
                self.entries.retain(|e| e.visit_no != entry.visit_no);
                self.entries.push(entry.clone());
                self.tickets = *tickets;
                self.next_seq = *next_seq;
            }
            Change::Requeued {
                entry,
                next_seq,
                queue_code,
                ..
            } if *queue_code == self.code => {
                self.entries.retain(|e| e.visit_no != entry.visit_no);
                self.entries.push(entry.clone());
                self.next_seq = *next_seq;
            }
            Change::Called {
                visit_no,
                counters,
                queue_code,
                ..
            } if *queue_code == self.code => {
                self.entries.retain(|e| &e.visit_no != visit_no);
                self.counters = counters.clone();
            }
            Change::Assigned {
                visit_no,
                counters,
                queue_code,
                room_code,
                placement,
                audit,
                ..
            } if *queue_code == self.code => {
                if let Some(e) = self.entries.iter_mut().find(|e| &e.visit_no == visit_no) {
                    e.assigned = Some(Assignment {
                        room: room_code.clone(),
                        at: audit.at,
                        order: counters.taken_total,
                        placement: placement.clone(),
                    });
                    e.locked = None;
                    e.pinned_at = None;
                    e.moved = None;
                }
                self.counters = counters.clone();
            }
            Change::Unassigned {
                queue_code, visits, ..
            } if *queue_code == self.code => {
                for e in &mut self.entries {
                    if visits.contains(&e.visit_no) {
                        e.assigned = None;
                    }
                }
            }
            Change::Moved {
                queue_code,
                visit_no,
                position,
                mark,
                audit,
            } if *queue_code == self.code => {
                if let Some(e) = self.entries.iter_mut().find(|e| &e.visit_no == visit_no) {
                    e.moved = Some(MoveMark {
                        position: *position,
                        mark: *mark,
                        at: audit.at,
                    });
                    e.pinned_at = None;
                    e.held = false;
                    e.locked = None;
                    e.assigned = None;
                }
            }
            Change::Cancelled {
                visit_no,
                queue_code: Some(q),
                ..
            } if *q == self.code => {
                self.entries.retain(|e| &e.visit_no != visit_no);
            }
            Change::Transferred {
                entry,
                queue_code,
                next_seq,
                ..
            } if *queue_code == self.code => {
                self.entries.retain(|e| e.visit_no != entry.visit_no);
                self.entries.push(entry.clone());
                self.next_seq = *next_seq;
            }
            Change::Transferred {
                entry,
                from_queue: Some(q),
                ..
            } if *q == self.code => {
                self.entries.retain(|e| e.visit_no != entry.visit_no);
            }
            Change::Corrected {
                queue_code: Some(q),
                correction: c,
                entry_kind: kind,
                tags,
                ..
            } if *q == self.code => {
                if let Some(e) = self.entries.iter_mut().find(|e| e.visit_no == c.visit_no) {
                    e.masked_name = c.masked_name.clone();
                    e.spoken_name = c.spoken_name.clone();
                    e.kind = *kind;
                    e.tags = tags.clone();
                    e.registered_tags = c.registered_tags.clone();
                    e.birth_date = c.birth_date;
                    e.his_seq = c.his_seq;
                    e.slot = if *kind == EntryKind::Recall {
                        None
                    } else {
                        c.slot
                    };
                    e.special = self.rules.special_mark(&e.tags);
                }
            }
            Change::RulesChanged {
                queue_code,
                to,
                retagged,
                ..
            } if *queue_code == self.code => {
                self.rules = (**to).clone();
                for e in &mut self.entries {
                    if let Some((_, tags)) = retagged.iter().find(|(v, _)| *v == e.visit_no) {
                        e.tags = tags.clone();
                    }
                    e.special = self.rules.special_mark(&e.tags);
                }
            }
            Change::Locks {
                queue_code, locks, ..
            } if *queue_code == self.code => {
                for e in &mut self.entries {
                    e.locked = locks
                        .iter()
                        .find(|(v, _)| *v == e.visit_no)
                        .map(|(_, n)| *n);
                }
            }
            Change::HoldSet {
                visit_no,
                held,
                queue_code,
                ..
            } if *queue_code == self.code => {
                if let Some(e) = self.entries.iter_mut().find(|e| &e.visit_no == visit_no) {
                    e.held = *held;
                    if *held {
                        e.pinned_at = None;
                        e.moved = None;
                        e.assigned = None;
                    }
                }
            }
            Change::Pinned {
                visit_no,
                queue_code,
                audit,
            } if *queue_code == self.code => {
                if let Some(e) = self.entries.iter_mut().find(|e| &e.visit_no == visit_no) {
                    e.pinned_at = Some(audit.at);
                    e.held = false;
                    e.moved = None;
                    e.assigned = None;
                }
            }
            _ => {}
        }
    }

    /// Locks the first `locked_head` callable patients that are not locked
    /// yet (in calling order), keeping earlier locks.
    pub fn relock(&mut self, now: DateTime<Utc>) {
        let l = self.rules.locked_head as usize;
        if l == 0 {
            for e in &mut self.entries {
                e.locked = None;
            }
            return;
        }
        for e in &mut self.entries {
            if e.held {
                e.locked = None;
            }
        }
        let mut next = self
            .entries
            .iter()
            .filter_map(|e| e.locked)
            .max()
            .unwrap_or(0)
            + 1;
        let head: Vec<String> = self
            .ranked(now)
            .into_iter()
            .filter(|r| r.placement.is_callable() && r.entry.assigned.is_none())
            .take(l)
            .map(|r| r.entry.visit_no.clone())
            .collect();
        for v in head {
            if let Some(e) = self.entries.iter_mut().find(|e| e.visit_no == v) {
                if e.locked.is_none() {
                    e.locked = Some(next);
                    next += 1;
                }
            }
        }
    }

    /// The lock set after `change`, as a change to commit with it.
    pub fn locks_after(&self, change: &Change) -> Change {
        let locked_head = match change {
            Change::RulesChanged { to, .. } => to.locked_head,
            _ => self.rules.locked_head,
        };
        if locked_head == 0 {
            // Off: no locks (the commit clears any a rule change left).
            return Change::Locks {
                audit: change.audit().clone(),
                queue_code: self.code.clone(),
                locks: Vec::new(),
            };
        }
        let mut after = self.clone();
        after.apply(change);
        after.relock(change.audit().at);
        Change::Locks {
            audit: change.audit().clone(),
            queue_code: self.code.clone(),
            locks: after
                .entries
                .iter()
                .filter_map(|e| e.locked.map(|n| (e.visit_no.clone(), n)))
                .collect(),
        }
    }

    /// The lock set once `visit_no` has left (moved to another queue by a
    /// committed transfer), as a change to commit.
    pub fn plan_left(&self, visit_no: &str, audit: Audit) -> Change {
        let mut after = self.clone();
        after.drop_stale(visit_no);
        after.relock(audit.at);
        Change::Locks {
            audit,
            queue_code: self.code.clone(),
            locks: after
                .entries
                .iter()
                .filter_map(|e| e.locked.map(|n| (e.visit_no.clone(), n)))
                .collect(),
        }
    }

    /// Forgets an entry whose stored state moved on without this queue
    /// (a stale head found while calling).
    pub fn drop_stale(&mut self, visit_no: &str) {
        self.entries.retain(|e| e.visit_no != visit_no);
    }

    /// The waiting list as the API shows it.
    pub fn list(&self, now: DateTime<Utc>) -> Vec<ListedEntry> {
        self.ranked(now)
            .into_iter()
            .enumerate()
            .map(|(i, r)| ListedEntry {
                position: i + 1,
                visit_no: r.entry.visit_no.clone(),
                ticket_no: r.entry.ticket_no.clone(),
                masked_name: r.entry.masked_name.clone(),
                checked_in_at: r.entry.checked_in_at,
                kind: r.entry.kind,
                special: r
                    .entry
                    .tags
                    .iter()
                    .map(|t| t.label_zh().to_string())
                    .collect(),
                placement_code: r.placement.code().to_string(),
                placement_reason: r.placement.explain_zh(),
                placement: r.placement,
            })
            .collect()
    }

    /// The public head for screens: the general list and each room's short
    /// list (names masked).
    pub fn board(&self, now: DateTime<Utc>) -> QueueBoard {
        // Held patients and early appointment patients are not called yet,
        // so screens do not list them.
        let view = |r: &Ranked<'_>| EntryView {
            ticket_no: r.entry.ticket_no.clone(),
            masked_name: r.entry.masked_name.clone(),
            placement: r.placement.code().to_string(),
            priority: r.entry.special.is_some(),
        };
        let mut board = QueueBoard::default();
        for r in self
            .ranked(now)
            .iter()
            .filter(|r| r.placement.is_callable())
        {
            board.waiting += 1;
            match &r.entry.assigned {
                Some(a) => board.rooms.entry(a.room.clone()).or_default().push(view(r)),
                None if board.head.len() < BOARD_HEAD => board.head.push(view(r)),
                None => {}
            }
        }
        board
    }
}

/// Check a patient in; answers the ticket and position. Idempotent: a visit
/// already waiting gets its existing ticket.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct CheckIn {
    pub draft: EntryDraft,
    pub audit: Audit,
    pub service_date: NaiveDate,
    /// The appointment slot, if any.
    pub slot: Option<Slot>,
}

/// The answer to [`CheckIn`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInOutcome {
    pub ticket_no: String,
    pub queue_code: String,
    /// 1-based position in calling order.
    pub position: usize,
    pub ahead: usize,
    /// False when the visit was already waiting (idempotent repeat).
    pub created: bool,
}

/// A room takes the next patient of this queue (its own short list first)
/// durably, or learns it is empty.
#[derive(Message)]
#[rtype(result = "Result<Option<CurrentCall>, EngineError>")]
pub struct TakeNext {
    pub room_code: String,
    pub audit: Audit,
    /// The room's next mix position, committed with the call.
    pub room_cursor: Option<i64>,
    /// The room's current patient closed by this call (finished or set
    /// aside), committed in the same batch as the call: when nobody can be
    /// taken, nothing is committed.
    pub close: Option<Change>,
}

/// A room with a short list (二级候诊) takes the next patient of the general
/// list onto it, durably; answers whether anyone was sent.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Assign {
    pub room_code: String,
    pub audit: Audit,
    pub room_cursor: Option<i64>,
}

/// How many patients of this queue are on a room's short list, and when
/// the first of them was sent there.
#[derive(Message)]
#[rtype(result = "(usize, Option<(DateTime<Utc>, i64)>)")]
pub struct ShortList {
    pub room_code: String,
}

/// A room closed: its short list goes back to the general list; answers
/// how many patients went back.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct ReleaseRoom {
    pub room_code: String,
    pub audit: Audit,
}

/// Bring back a patient set aside after a missed call (召回); answers the
/// position. Idempotent: a visit already waiting answers its position.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct Requeue {
    pub draft: EntryDraft,
    pub ticket_no: String,
    pub misses: i32,
    pub audit: Audit,
}

/// What the receiving queue needs to take a transferred visit.
#[derive(Clone, Debug)]
pub struct TransferIn {
    pub draft: EntryDraft,
    pub ticket_no: String,
    pub misses: i32,
    /// Keep this check-in time, or `None` to start from now.
    pub checked_in_at: Option<DateTime<Utc>>,
    pub from_queue: Option<String>,
    pub from_room: Option<String>,
    pub audit: Audit,
}

/// Receive a transferred visit (转诊); commits the whole move (both sides)
/// and answers the position here. The source queue or room is told to
/// forget the visit afterwards ([`Left`]); until then its conditional
/// writes cannot touch it.
#[derive(Message)]
#[rtype(result = "Result<CheckInOutcome, EngineError>")]
pub struct Transfer(pub TransferIn);

/// A visit moved away (转诊; the move is committed by the receiving
/// queue): forget it and commit the lock set that follows.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Left {
    pub visit_no: String,
    pub audit: Audit,
}

/// Call one waiting visit by name, out of order, for `room_code`.
#[derive(Message)]
#[rtype(result = "Result<Option<CurrentCall>, EngineError>")]
pub struct TakeSpecific {
    pub visit_no: String,
    pub room_code: String,
    pub audit: Audit,
    /// As for [`TakeNext`]: committed with the call, or not at all.
    pub close: Option<Change>,
}

/// A HIS correction of a patient waiting here (see [`Correction`]);
/// answers whether the visit waits here (false: nothing changed).
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Correct {
    pub correction: Correction,
    pub audit: Audit,
}

/// Turns the rules in force into new ones, or refuses (nothing changes).
pub type RulesMerge = Box<dyn FnOnce(&QueueRules) -> Result<QueueRules, EngineError> + Send>;

/// Change this queue's rules: `merge` reads the rules in force inside the
/// actor (so two changes never race), the change is journaled and audited
/// old → new, then in force at once for everyone waiting. Answers the new
/// rules.
#[derive(Message)]
#[rtype(result = "Result<QueueRules, EngineError>")]
pub struct ChangeRules {
    pub merge: RulesMerge,
    pub audit: Audit,
}

/// The rules in force.
#[derive(Message)]
#[rtype(result = "QueueRules")]
pub struct GetRules;

/// A nurse's manual intervention on a waiting patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intervention {
    Hold,
    Release,
    Pin,
    /// Move to this position (1 = next) in the general list.
    Move(u32),
}

/// Apply a nurse's intervention; answers the new position (1-based), or an
/// error if the visit is not waiting in this queue. Idempotent.
#[derive(Message)]
#[rtype(result = "Result<usize, EngineError>")]
pub struct Intervene {
    pub visit_no: String,
    pub action: Intervention,
    pub audit: Audit,
}

/// Cancel a waiting visit; answers whether it was here.
#[derive(Message)]
#[rtype(result = "Result<bool, EngineError>")]
pub struct Remove {
    pub visit_no: String,
    pub audit: Audit,
}

/// The waiting list in calling order.
#[derive(Message)]
#[rtype(result = "Vec<ListedEntry>")]
pub struct ListQueue;

/// Time moved on: publish the board again if the ranking now shows it
/// differently (an appointment slot began, a session ended). Sent on the
/// server's clock ticks.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh;

/// The whole state held in memory, entries by visit number (to compare
/// with what a rebuild from the database holds).
#[derive(Message)]
#[rtype(result = "QueueState")]
pub struct InspectQueue;

/// Position (1-based) and people ahead of a waiting visit.
#[derive(Message)]
#[rtype(result = "Option<(usize, usize)>")]
pub struct Position {
    pub visit_no: String,
}

/// The actor that owns one [`QueueState`].
pub struct QueueActor {
    state: QueueState,
    journal: SharedJournal,
    clock: SharedClock,
    directory: Arc<Directory>,
}

impl QueueActor {
    pub fn new(
        state: QueueState,
        journal: SharedJournal,
        clock: SharedClock,
        directory: Arc<Directory>,
    ) -> Self {
        QueueActor {
            state,
            journal,
            clock,
            directory,
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
        let journal = self.journal.clone();
        let locks = self.state.locks_after(&change);
        let committed = vec![change.clone(), locks.clone()];
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
    /// callable) and, for a transfer, the side the visit left.
    fn told(&self, change: &Change) {
        match change {
            // Taken by a room, which refills itself.
            Change::Called { .. } | Change::Assigned { .. } => self.publish(),
            Change::Transferred {
                audit,
                from_queue,
                from_room,
                entry,
                ..
            } => {
                self.changed();
                if let Some(q) = from_queue.as_ref().filter(|q| **q != self.state.code) {
                    if let Some(addr) = self.directory.queues.get(q) {
                        addr.do_send(Left {
                            visit_no: entry.visit_no.clone(),
                            audit: audit.clone(),
                        });
                    }
                }
                if let Some(r) = from_room {
                    if let Some(addr) = self.directory.rooms.get(r) {
                        addr.do_send(ForgetCurrent {
                            visit_no: entry.visit_no.clone(),
                        });
                    }
                }
            }
            _ => self.changed(),
        }
    }

    /// Publishes the board and tells the rooms that keep a short list from
    /// this queue to fill it.
    fn changed(&self) {
        self.publish();
        self.directory.queue_changed(&self.state.code);
    }

    /// Commits a change that puts `visit_no` in the queue (check-in,
    /// recall, transfer) and answers the new position.
    fn commit_entry(
        &mut self,
        change: Change,
        visit_no: String,
    ) -> AtomicResponse<Self, Result<CheckInOutcome, EngineError>> {
        self.commit_and_apply(change, move |act| {
            act.outcome_for(&visit_no, true)
                .ok_or(EngineError::NotWaiting(visit_no))
        })
    }

    fn publish(&self) {
        self.directory
            .publish_rules(&self.state.code, &self.state.rules);
        let board = self.state.board(self.clock.now());
        self.directory.publish_queue(&self.state.code, board, None);
    }

    /// Records the new head at once (the calling room composes from it),
    /// but tells the other rooms' screens a moment later, so the calling
    /// room's own frame and its announcement go out first.
    fn publish_after_call(&self, room: String, ctx: &mut Context<Self>) {
        let board = self.state.board(self.clock.now());
        self.directory.set_queue_board(&self.state.code, board);
        ctx.run_later(std::time::Duration::ZERO, move |act, _ctx| {
            act.directory.notify_queue(&act.state.code, Some(&room));
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
        let board = self.state.board(self.clock.now());
        if self.directory.queue_board(&self.state.code) != board {
            self.directory.publish_queue(&self.state.code, board, None);
        }
    }
}

impl Handler<CheckIn> for QueueActor {
    type Result = AtomicResponse<Self, Result<CheckInOutcome, EngineError>>;

    fn handle(&mut self, msg: CheckIn, _ctx: &mut Self::Context) -> Self::Result {
        let visit_no = msg.draft.visit_no.clone();
        if let Some(existing) = self.outcome_for(&visit_no, false) {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(existing))));
        }
        match self
            .state
            .plan_check_in_at(msg.draft, msg.slot, msg.audit, msg.service_date)
        {
            Ok(change) => self.commit_entry(change, visit_no),
            Err(e) => AtomicResponse::new(Box::pin(fut::ready(Err(e)))),
        }
    }
}

impl Handler<TakeNext> for QueueActor {
    type Result = AtomicResponse<Self, Result<Option<CurrentCall>, EngineError>>;

    fn handle(&mut self, msg: TakeNext, _ctx: &mut Self::Context) -> Self::Result {
        let room_code = msg.room_code.clone();
        let candidates: Vec<_> = self
            .state
            .plan_take_next(&msg.room_code, &msg.audit, msg.room_cursor)
            .into_iter()
            .map(|(change, call)| {
                let locks = self.state.locks_after(&change);
                (change, locks, call)
            })
            .collect();
        if candidates.is_empty() {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(None))));
        }
        let journal = self.journal.clone();
        let close = msg.close;
        AtomicResponse::new(Box::pin(
            async move {
                let mut stale = Vec::new();
                // The room's close goes first in every batch: a refusal at
                // index 0 is the room's (its current patient moved on), not
                // a stale candidate.
                let first = usize::from(close.is_some());
                for (change, locks, call) in candidates {
                    let batch: Vec<Change> = close
                        .iter()
                        .cloned()
                        .chain([change.clone(), locks.clone()])
                        .collect();
                    match journal.commit_all(batch).await {
                        Ok(()) => return (stale, Ok(Some((change, locks, call)))),
                        Err(JournalError::Conflict { index, .. }) if index >= first => {
                            stale.push(call.visit_no.clone())
                        }
                        Err(e) => return (stale, Err(EngineError::from(e))),
                    }
                }
                (stale, Ok(None))
            }
            .into_actor(self)
            .map(move |(stale, res), act, ctx| {
                for v in &stale {
                    tracing::warn!(queue = %act.state.code, visit_no = %v, "dropped a stale waiting entry");
                    act.state.drop_stale(v);
                }
                let out = match res {
                    Ok(Some((change, locks, call))) => {
                        act.state.apply(&change);
                        act.state.apply(&locks);
                        Ok(Some(call))
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                act.publish_after_call(room_code, ctx);
                out
            }),
        ))
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
        let change = self.state.plan_transfer_in(msg.0);
        self.commit_entry(change, visit_no)
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
        let mut state = self.state.clone();
        state.entries.sort_by(|a, b| a.visit_no.cmp(&b.visit_no));
        MessageResult(state)
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
