//! [`QueueState`]: the plain state of one queue with every rule — plans
//! (pure: what a command would commit), `apply` (a committed change to
//! memory) and the locked head. No runtime: unit-tested with an injected
//! `now`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::{QueueCode, RoomCode, VisitNo};

use crate::day::Grid;
use crate::error::EngineError;
use crate::journal::Change;
use crate::model::{
    Assignment, Audit, Correction, Counters, CurrentCall, EntryKind, MoveMark, PlacementCode, Slot,
    SpecialTag, StaffMarks, TicketCounter, WaitingEntry,
};
use crate::rules::{
    counters_after_call, line_key, rank_in_line_order, EarlyCheckIn, Placement, QueueRules, Ranked,
};

/// The largest ticket number of a day.
const MAX_TICKET: u32 = 9999;

/// What the caller knows of a patient checking in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDraft {
    pub visit_no: VisitNo,
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
    /// When the registration this draft was made from last changed: the
    /// commit checks it still holds (a HIS correction or a nurse's marks
    /// meanwhile make it retry).
    #[serde(default)]
    pub seen_at: Option<DateTime<Utc>>,
    /// The room an appointment booked (预约到诊室): only that room calls
    /// the patient from this queue (a nurse may still call them by name
    /// elsewhere).
    #[serde(default)]
    pub room: Option<RoomCode>,
}

/// What the receiving queue needs to take a transferred visit.
#[derive(Clone, Debug)]
pub struct TransferIn {
    pub draft: EntryDraft,
    pub ticket_no: String,
    pub misses: i32,
    /// Keep this check-in time, or `None` to start from now.
    pub checked_in_at: Option<DateTime<Utc>>,
    pub from_queue: Option<QueueCode>,
    pub from_room: Option<RoomCode>,
    pub audit: Audit,
}

/// The plain state of one queue. Every method that decides takes `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueState {
    pub code: QueueCode,
    pub prefix: String,
    /// Changed only by a committed rule change (the entries' order follows
    /// them).
    pub(super) rules: QueueRules,
    /// Kept in the order of their [`LineKey`](crate::rules::LineKey), so a
    /// ranking reads the normal line off in order rather than sorting it.
    pub(super) entries: Vec<WaitingEntry>,
    pub(super) counters: Counters,
    pub(super) tickets: TicketCounter,
    pub(super) next_seq: i64,
    /// The last day whose end (日终) closed this queue: nobody of that day
    /// (or before) enters any more.
    pub(super) closed_through: Option<NaiveDate>,
}

impl QueueState {
    /// Builds a queue from what the database holds.
    pub fn new(
        code: QueueCode,
        prefix: impl Into<String>,
        rules: QueueRules,
        entries: Vec<WaitingEntry>,
        counters: Counters,
        tickets: TicketCounter,
        next_seq: i64,
    ) -> Self {
        let mut state = QueueState {
            code,
            prefix: prefix.into(),
            rules,
            entries,
            counters,
            tickets,
            next_seq,
            closed_through: None,
        };
        state.keep_line_order();
        state
    }

    /// Puts the entries in the order of their line key under the rules in
    /// force (after a start, a rule change or a correction).
    fn keep_line_order(&mut self) {
        let rules = &self.rules;
        let mut grid = Grid::new(&rules.day);
        self.entries
            .sort_by_cached_key(|e| line_key(e, rules, &mut grid));
    }

    /// The queue as the last day end left it (from the database).
    pub fn with_closed_through(mut self, day: Option<NaiveDate>) -> Self {
        self.closed_through = day;
        self
    }

    /// Records a day end: nobody of `day` or before enters any more.
    pub fn close_through(&mut self, day: NaiveDate) {
        self.closed_through = self.closed_through.max(Some(day));
    }

    /// Whether `day` has ended for this queue.
    pub fn day_is_closed(&self, day: NaiveDate) -> bool {
        self.closed_through.is_some_and(|c| day <= c)
    }

    /// The rules in force.
    pub fn rules(&self) -> &QueueRules {
        &self.rules
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
        rank_in_line_order(&self.entries, &self.rules, &self.counters, now)
    }

    /// Whether a patient waits for their appointment slot to begin at `now`
    /// (the one way time changes the ranking).
    pub fn awaits_a_slot(&self, now: DateTime<Utc>) -> bool {
        self.entries
            .iter()
            .any(|e| e.slot.is_some_and(|s| s.start > now))
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
            room: draft.room,
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
        let on_time = if late {
            EntryKind::Late
        } else {
            EntryKind::Normal
        };
        let kind = match e.kind {
            // Back after a missed call: placed by the recall rule whatever HIS says.
            EntryKind::Recall => EntryKind::Recall,
            // Back from an exam (回诊) or a return visit, HIS not changing it.
            EntryKind::Return if !correction.visit_type_changed => EntryKind::Return,
            _ if correction.return_visit => EntryKind::Return,
            // A first visit: late or not by the (possibly corrected) slot.
            _ => on_time,
        };
        Some(Change::Corrected {
            audit,
            queue_code: Some(self.code.clone()),
            room_code: None,
            correction,
            entry_kind: Some(kind),
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
        let seen_at = draft.seen_at;
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
            seen_at,
        })
    }

    /// Whether `room` may take this ranked entry: callable, and either on
    /// this room's own short list or in the general list and booked for
    /// no other room. A short list overrides a booking: a nurse who sends a
    /// booked patient to another room has that room call him (the booking
    /// binds again if the short list is given back).
    fn takeable_by(r: &Ranked<'_>, room: &str) -> bool {
        r.placement.is_callable()
            && match &r.entry.assigned {
                Some(a) => a.room == room,
                None => r.entry.room.as_ref().is_none_or(|b| b == room),
            }
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
    fn call_of(
        &self,
        e: &WaitingEntry,
        placement: PlacementCode,
        at: DateTime<Utc>,
    ) -> CurrentCall {
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

    /// Plans a call for `room`: the first patient in calling order it may
    /// take (its own short list first) with the change that commits the
    /// call; none if nobody is waiting for it. `room_cursor` is the room's
    /// next mix position, committed with the call.
    pub fn plan_take_next(
        &self,
        room_code: &RoomCode,
        audit: &Audit,
        room_cursor: Option<i64>,
    ) -> Option<(Change, CurrentCall)> {
        let ranked = self.ranked(audit.at);
        let r = ranked.iter().find(|r| Self::takeable_by(r, room_code))?;
        // A patient from the short list keeps the rule that sent them.
        let placement = match &r.entry.assigned {
            Some(a) => a.placement,
            None => r.placement.kind(),
        };
        let change = Change::Called {
            audit: audit.clone(),
            queue_code: self.code.clone(),
            room_code: room_code.clone(),
            visit_no: r.entry.visit_no.clone(),
            placement,
            counters: self.counters_taking(r),
            room_cursor,
        };
        Some((change, self.call_of(r.entry, placement, audit.at)))
    }

    /// Plans sending the first patient of the general list to `room`'s short
    /// list (二级候诊); none if nobody is waiting there.
    pub fn plan_assign(
        &self,
        room_code: &RoomCode,
        audit: &Audit,
        room_cursor: Option<i64>,
    ) -> Option<Change> {
        let ranked = self.ranked(audit.at);
        let r = ranked.iter().find(|r| {
            r.placement.is_callable()
                && r.entry.assigned.is_none()
                && r.entry.room.as_ref().is_none_or(|b| b == room_code)
        })?;
        Some(Change::Assigned {
            audit: audit.clone(),
            queue_code: self.code.clone(),
            room_code: room_code.clone(),
            visit_no: r.entry.visit_no.clone(),
            placement: r.placement.kind(),
            counters: self.counters_taking(r),
            room_cursor,
        })
    }

    /// Plans a nurse's sending of `visit_no` to `room_code` (its short list,
    /// or only that room calls them): the rule counters are not touched (no
    /// rule took the patient). `None` when the visit does not wait here
    /// callable (held, or before its appointment slot).
    pub fn plan_assign_to(
        &self,
        visit_no: &VisitNo,
        room_code: &RoomCode,
        audit: &Audit,
    ) -> Option<Change> {
        let ranked = self.ranked(audit.at);
        // Only a callable patient: a held one, or one whose appointment
        // slot has not begun, would jump his hold or his slot on a list.
        let r = ranked
            .iter()
            .find(|r| &r.entry.visit_no == visit_no && r.placement.is_callable())?;
        Some(Change::Assigned {
            audit: audit.clone(),
            queue_code: self.code.clone(),
            room_code: room_code.clone(),
            visit_no: visit_no.clone(),
            placement: r.placement.kind(),
            counters: self.counters.clone(),
            room_cursor: None,
        })
    }

    /// Patients on `room`'s short list in this queue.
    pub fn assigned_to(&self, room: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.assigned.as_ref().is_some_and(|a| a.room == *room))
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
    pub fn plan_unassign(&self, room: &RoomCode, audit: Audit) -> Option<Change> {
        let visits: Vec<VisitNo> = self
            .entries
            .iter()
            .filter(|e| e.assigned.as_ref().is_some_and(|a| &a.room == room))
            .map(|e| e.visit_no.clone())
            .collect();
        (!visits.is_empty()).then(|| Change::Unassigned {
            audit,
            queue_code: self.code.clone(),
            room_code: room.clone(),
            visits,
        })
    }

    /// Plans a nurse's move of a waiting patient to `position` (1 = next)
    /// in the general list; none if not waiting here.
    pub fn plan_move(&self, visit_no: &VisitNo, position: u32, audit: Audit) -> Option<Change> {
        self.find(visit_no)?;
        Some(Change::Moved {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.clone(),
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
        let seen_at = draft.seen_at;
        let mut entry = self.new_entry(draft, ticket_no, audit.at, today);
        entry.misses = misses;
        Change::Requeued {
            audit,
            queue_code: self.code.clone(),
            entry,
            next_seq: self.next_seq + 1,
            seen_at,
        }
    }

    /// Plans receiving a transferred visit (转诊): same ticket and kind;
    /// check-in time kept or reset to now.
    pub fn plan_transfer_in(&self, t: TransferIn) -> Change {
        let today = self.rules.day.local_date(t.audit.at);
        let at = t.checked_in_at.unwrap_or(t.audit.at);
        let seen_at = t.draft.seen_at;
        let mut entry = self.new_entry(t.draft, t.ticket_no, at, today);
        entry.misses = t.misses;
        Change::Transferred {
            audit: t.audit,
            from_queue: t.from_queue,
            from_room: t.from_room,
            queue_code: self.code.clone(),
            entry,
            next_seq: self.next_seq + 1,
            seen_at,
        }
    }

    /// Plans taking every transfer in turn, each after the one before (a
    /// visit already here is left out), and the locked head after them
    /// all; `None` when nothing is left to take.
    pub fn plan_transfers_in(&self, transfers: &[TransferIn]) -> Option<(Vec<Change>, Change)> {
        let mut after = self.clone();
        let mut changes = Vec::with_capacity(transfers.len());
        for t in transfers {
            if after.find(&t.draft.visit_no).is_some() {
                continue;
            }
            let change = after.plan_transfer_in(t.clone());
            after.apply(&change);
            // Relocked after each, as one transfer at a time would.
            if after.rules.locked_head > 0 {
                after.relock(change.audit().at);
            }
            changes.push(change);
        }
        let audit = changes.last()?.audit().clone();
        Some((changes, after.locks_now(audit)))
    }

    /// The locked head of this state as it stands.
    fn locks_now(self, audit: Audit) -> Change {
        let locks = if self.rules.locked_head == 0 {
            Vec::new()
        } else {
            self.locked_head()
        };
        Change::Locks {
            queue_code: self.code.clone(),
            audit,
            locks,
        }
    }

    /// Plans calling one waiting visit by name, out of order (指定叫号).
    pub fn plan_take_specific(
        &self,
        visit_no: &VisitNo,
        room_code: &RoomCode,
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
            room_code: room_code.clone(),
            visit_no: e.visit_no.clone(),
            placement: PlacementCode::Manual,
            counters: self.counters_taking(&ranked),
            room_cursor: None,
        };
        let call = self.call_of(e, PlacementCode::Manual, audit.at);
        Some((change, call))
    }

    /// Plans a nurse's hold or release (挂起 / 恢复); none if the visit is not
    /// waiting here or already in that state.
    pub fn plan_hold(&self, visit_no: &VisitNo, held: bool, audit: Audit) -> Option<Change> {
        let e = self.find(visit_no)?;
        (e.held != held).then(|| Change::HoldSet {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.clone(),
            held,
        })
    }

    /// Plans a nurse's special-group marks (特殊人群标记) over what HIS sent:
    /// the registration's groups, and every tag with the age tags of the
    /// rules on the day the patient checked in; none if not waiting here.
    pub fn plan_mark(
        &self,
        visit_no: &VisitNo,
        his_tags: Vec<SpecialTag>,
        marks: StaffMarks,
        audit: Audit,
    ) -> Option<Change> {
        let e = self.find(visit_no)?;
        let registered_tags = marks.apply(&his_tags);
        let day = self.rules.day.local_date(e.checked_in_at);
        let tags = self.rules.tags_for(&registered_tags, e.birth_date, day);
        Some(Change::Marked {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.clone(),
            his_tags,
            marks,
            registered_tags,
            tags,
        })
    }

    /// Plans the end of `day` (日终): every patient who checked in before
    /// `until` (the day's end) closes as not seen; none if nobody did.
    pub fn plan_close_day(
        &self,
        day: NaiveDate,
        until: DateTime<Utc>,
        audit: Audit,
    ) -> Option<Change> {
        let visits: Vec<VisitNo> = self
            .entries
            .iter()
            .filter(|e| e.checked_in_at < until)
            .map(|e| e.visit_no.clone())
            .collect();
        (!visits.is_empty()).then(|| Change::DayClosed {
            audit,
            day,
            queue_code: Some(self.code.clone()),
            room_code: None,
            visits,
        })
    }

    /// Plans a nurse's pin to the top (置顶); none if not waiting here.
    pub fn plan_pin(&self, visit_no: &VisitNo, audit: Audit) -> Option<Change> {
        self.find(visit_no).map(|_| Change::Pinned {
            audit,
            queue_code: self.code.clone(),
            visit_no: visit_no.clone(),
        })
    }

    /// Plans the removal of a waiting visit (cancel).
    pub fn plan_remove(&self, visit_no: &VisitNo, audit: Audit) -> Option<Change> {
        self.find(visit_no).map(|_| Change::Cancelled {
            audit,
            visit_no: visit_no.clone(),
            queue_code: Some(self.code.clone()),
            room_code: None,
        })
    }

    /// An entry enters the list (check-in, recall, transfer) at its place in
    /// the line order: it replaces any stale entry of the same visit.
    fn enter(&mut self, entry: &WaitingEntry) {
        self.entries.retain(|e| e.visit_no != entry.visit_no);
        let rules = &self.rules;
        let mut grid = Grid::new(&rules.day);
        let key = line_key(entry, rules, &mut grid);
        let at = self
            .entries
            .partition_point(|e| line_key(e, rules, &mut grid) < key);
        self.entries.insert(at, entry.clone());
    }

    /// Applies a committed change to memory.
    pub fn apply(&mut self, change: &Change) {
        let here = |q: &QueueCode| *q == self.code;
        match change {
            Change::CheckedIn {
                entry,
                tickets,
                next_seq,
                queue_code,
                ..
            } if here(queue_code) => {
                self.tickets = *tickets;
                self.admit(entry, *next_seq);
            }
            Change::Requeued {
                entry,
                next_seq,
                queue_code,
                ..
            }
            | Change::Transferred {
                entry,
                next_seq,
                queue_code,
                ..
            } if here(queue_code) => self.admit(entry, *next_seq),
            Change::Transferred {
                entry,
                from_queue: Some(q),
                ..
            } if here(q) => self.remove(&entry.visit_no),
            Change::Called {
                visit_no,
                counters,
                queue_code,
                ..
            } if here(queue_code) => {
                self.remove(visit_no);
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
            } if here(queue_code) => {
                self.on_assigned(visit_no, room_code, *placement, audit.at, counters)
            }
            Change::Unassigned {
                queue_code, visits, ..
            } if here(queue_code) => self.on_unassigned(visits),
            Change::Cancelled {
                visit_no,
                queue_code: Some(q),
                ..
            } if here(q) => self.remove(visit_no),
            Change::DayClosed {
                queue_code: Some(q),
                visits,
                ..
            } if here(q) => self.entries.retain(|e| !visits.contains(&e.visit_no)),
            _ => self.apply_standing(change),
        }
    }

    /// A change of how a waiting entry stands: a nurse's move, hold, pin or
    /// marks, a HIS correction, the rules, the locked head.
    fn apply_standing(&mut self, change: &Change) {
        let here = |q: &QueueCode| *q == self.code;
        match change {
            Change::Moved {
                queue_code,
                visit_no,
                position,
                mark,
                audit,
            } if here(queue_code) => self.on_moved(visit_no, *position, *mark, audit.at),
            Change::Corrected {
                queue_code: Some(q),
                correction,
                entry_kind: Some(kind),
                tags,
                ..
            } if here(q) => self.on_corrected(correction, *kind, tags),
            Change::RulesChanged {
                queue_code,
                to,
                retagged,
                ..
            } if here(queue_code) => self.on_rules_changed(to, retagged),
            Change::Locks {
                queue_code, locks, ..
            } if here(queue_code) => self.on_locks(locks),
            Change::HoldSet {
                visit_no,
                held,
                queue_code,
                ..
            } if here(queue_code) => self.on_hold_set(visit_no, *held),
            Change::Marked {
                queue_code,
                visit_no,
                registered_tags,
                tags,
                ..
            } if here(queue_code) => self.on_marked(visit_no, registered_tags, tags),
            Change::Pinned {
                visit_no,
                queue_code,
                audit,
            } if here(queue_code) => self.on_pinned(visit_no, audit.at),
            _ => {}
        }
    }

    fn entry_mut(&mut self, visit_no: &VisitNo) -> Option<&mut WaitingEntry> {
        self.entries.iter_mut().find(|e| &e.visit_no == visit_no)
    }

    fn admit(&mut self, entry: &WaitingEntry, next_seq: i64) {
        self.enter(entry);
        self.next_seq = next_seq;
    }

    /// Takes a visit off the list (a visit waits here once at most).
    fn remove(&mut self, visit_no: &VisitNo) {
        if let Some(at) = self.entries.iter().position(|e| &e.visit_no == visit_no) {
            self.entries.remove(at);
        }
    }

    /// Sent to a room's short list: off the pins, moves and locks.
    fn on_assigned(
        &mut self,
        visit_no: &VisitNo,
        room: &RoomCode,
        placement: PlacementCode,
        at: DateTime<Utc>,
        counters: &Counters,
    ) {
        if let Some(e) = self.entry_mut(visit_no) {
            e.assigned = Some(Assignment {
                room: room.clone(),
                at,
                order: counters.taken_total,
                placement,
            });
            e.locked = None;
            e.pinned_at = None;
            e.moved = None;
        }
        self.counters = counters.clone();
    }

    fn on_unassigned(&mut self, visits: &[VisitNo]) {
        for e in &mut self.entries {
            if visits.contains(&e.visit_no) {
                e.assigned = None;
            }
        }
    }

    /// A nurse's move replaces her pin, hold, the lock and a short list.
    fn on_moved(&mut self, visit_no: &VisitNo, position: u32, mark: i64, at: DateTime<Utc>) {
        if let Some(e) = self.entry_mut(visit_no) {
            e.moved = Some(MoveMark { position, mark, at });
            e.pinned_at = None;
            e.held = false;
            e.locked = None;
            e.assigned = None;
        }
    }

    /// A HIS correction of a waiting patient.
    fn on_corrected(&mut self, c: &Correction, kind: EntryKind, tags: &[SpecialTag]) {
        let special = self.rules.special_mark(tags);
        let Some(e) = self.entry_mut(&c.visit_no) else {
            return;
        };
        e.masked_name = c.masked_name.clone();
        e.spoken_name = c.spoken_name.clone();
        e.kind = kind;
        e.tags = tags.to_vec();
        e.registered_tags = c.registered_tags.clone();
        e.birth_date = c.birth_date;
        e.his_seq = c.his_seq;
        e.slot = if kind == EntryKind::Recall {
            None
        } else {
            c.slot
        };
        e.special = special;
        // A booking moved to another room takes the patient off a short
        // list of a room that may no longer call them.
        if c.room.is_some()
            && e.assigned
                .as_ref()
                .is_some_and(|a| Some(&a.room) != c.room.as_ref())
        {
            e.assigned = None;
        }
        e.room = c.room.clone();
        // The HIS number and the slot place a patient in the line.
        self.keep_line_order();
    }

    fn on_rules_changed(&mut self, to: &QueueRules, retagged: &[(VisitNo, Vec<SpecialTag>)]) {
        self.rules = to.clone();
        for e in &mut self.entries {
            if let Some((_, tags)) = retagged.iter().find(|(v, _)| *v == e.visit_no) {
                e.tags = tags.clone();
            }
            e.special = self.rules.special_mark(&e.tags);
        }
        self.keep_line_order();
    }

    /// The locked head as committed: exactly these visits are locked.
    fn on_locks(&mut self, locks: &[(VisitNo, i64)]) {
        for e in &mut self.entries {
            e.locked = None;
        }
        for (v, n) in locks {
            if let Some(e) = self.entries.iter_mut().find(|e| e.visit_no == *v) {
                e.locked = Some(*n);
            }
        }
    }

    /// Held: off the pins, moves and short lists.
    fn on_hold_set(&mut self, visit_no: &VisitNo, held: bool) {
        if let Some(e) = self.entry_mut(visit_no) {
            e.held = held;
            if held {
                e.pinned_at = None;
                e.moved = None;
                e.assigned = None;
            }
        }
    }

    fn on_marked(
        &mut self,
        visit_no: &VisitNo,
        registered_tags: &[SpecialTag],
        tags: &[SpecialTag],
    ) {
        let special = self.rules.special_mark(tags);
        if let Some(e) = self.entry_mut(visit_no) {
            e.registered_tags = registered_tags.to_vec();
            e.tags = tags.to_vec();
            e.special = special;
        }
    }

    /// Pinned: off the hold, moves and short lists.
    fn on_pinned(&mut self, visit_no: &VisitNo, at: DateTime<Utc>) {
        if let Some(e) = self.entry_mut(visit_no) {
            e.pinned_at = Some(at);
            e.held = false;
            e.moved = None;
            e.assigned = None;
        }
    }

    /// Locks the first `locked_head` callable patients that are not locked
    /// yet (in calling order), keeping earlier locks.
    pub fn relock(&mut self, now: DateTime<Utc>) {
        let locks = self.lock_set(&self.entries, &self.counters, now);
        self.on_locks(&locks);
    }

    /// The locked head the entries `kept` (in line order) lead to under
    /// `counters` at `now`, in the order of locking: earlier locks stay (a
    /// held patient loses his), and the first `locked_head` callable
    /// patients of the general list not locked yet are locked next, in
    /// calling order. Reads the entries where they are: nothing is cloned
    /// but the locked visits' numbers.
    fn lock_set<'a, I>(
        &self,
        kept: I,
        counters: &Counters,
        now: DateTime<Utc>,
    ) -> Vec<(VisitNo, i64)>
    where
        I: IntoIterator<Item = &'a WaitingEntry>,
        I::IntoIter: Clone,
    {
        let l = self.rules.locked_head as usize;
        if l == 0 {
            return Vec::new();
        }
        let kept = kept.into_iter();
        let mut locks: Vec<(VisitNo, i64)> = kept
            .clone()
            .filter(|e| !e.held)
            .filter_map(|e| e.locked.map(|n| (e.visit_no.clone(), n)))
            .collect();
        let mut next = locks.iter().map(|(_, n)| *n).max().unwrap_or(0) + 1;
        // A held patient is never callable, so the head holds none.
        let ranked = rank_in_line_order(kept, &self.rules, counters, now);
        for r in ranked
            .iter()
            .filter(|r| r.placement.is_callable() && r.entry.assigned.is_none())
            .take(l)
        {
            if r.entry.locked.is_none() {
                locks.push((r.entry.visit_no.clone(), next));
                next += 1;
            }
        }
        locks.sort_unstable_by_key(|(_, n)| *n);
        locks
    }

    /// The lock set after `change`, as a change to commit with it. A call
    /// (the calling path) is read off this state without the called
    /// patient; any other change is applied to a copy first.
    pub fn locks_after(&self, change: &Change) -> Change {
        let audit = change.audit().clone();
        let locked_head = match change {
            Change::RulesChanged { to, .. } => to.locked_head,
            _ => self.rules.locked_head,
        };
        let locks = match change {
            // Off: no locks (the commit clears any a rule change left).
            _ if locked_head == 0 => Vec::new(),
            Change::Called {
                queue_code,
                visit_no,
                counters,
                ..
            } if *queue_code == self.code => {
                // Arrival numbers are unique here: compared, not the texts.
                let called = self.find(visit_no).map(|e| e.seq);
                self.lock_set(
                    self.entries.iter().filter(|e| Some(e.seq) != called),
                    counters,
                    audit.at,
                )
            }
            _ => {
                let mut after = self.clone();
                after.apply(change);
                after.lock_set(&after.entries, &after.counters, audit.at)
            }
        };
        Change::Locks {
            audit,
            queue_code: self.code.clone(),
            locks,
        }
    }

    /// The lock set once `visit_no` has left (moved to another queue by a
    /// committed transfer), as a change to commit.
    pub fn plan_left(&self, visit_no: &str, audit: Audit) -> Change {
        let locks = self.lock_set(
            self.entries.iter().filter(|e| e.visit_no != visit_no),
            &self.counters,
            audit.at,
        );
        Change::Locks {
            audit,
            queue_code: self.code.clone(),
            locks,
        }
    }

    /// The locked visits with their lock numbers, in the order they were
    /// locked.
    fn locked_head(&self) -> Vec<(VisitNo, i64)> {
        let mut locks: Vec<(VisitNo, i64)> = self
            .entries
            .iter()
            .filter_map(|e| e.locked.map(|n| (e.visit_no.clone(), n)))
            .collect();
        locks.sort_unstable_by_key(|(_, n)| *n);
        locks
    }

    /// Forgets an entry whose stored state moved on without this queue
    /// (a stale head found while calling).
    pub fn drop_stale(&mut self, visit_no: &str) {
        self.entries.retain(|e| e.visit_no != visit_no);
    }
}
