//! What a queue shows: the waiting list in calling order as staff and the
//! API read it ([`ListedEntry`], with the rule that placed each patient),
//! and the public board screens draw from (masked names, short lists).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use triage_ground::ids::VisitNo;

use crate::board::view::{EntryView, QueueBoard};
use crate::model::EntryKind;
use crate::rules::{Placement, Ranked};
use crate::staff::{StaffEntry, StaffQueueView};

use super::state::QueueState;

/// How many entries a queue publishes to the board (screens show fewer).
pub const BOARD_HEAD: usize = 10;

/// A waiting entry in calling order, as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedEntry {
    pub position: usize,
    pub visit_no: VisitNo,
    pub ticket_no: String,
    pub masked_name: String,
    pub checked_in_at: DateTime<Utc>,
    pub kind: EntryKind,
    pub special: Vec<String>,
    pub placement: Placement,
    pub placement_code: crate::model::PlacementCode,
    pub placement_reason: String,
}

impl QueueState {
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
                placement_code: r.placement.kind(),
                placement_reason: r.placement.explain_zh(),
                placement: r.placement,
            })
            .collect()
    }

    /// The whole list for staff pages, in calling order, at `version`.
    pub fn staff_view(&self, now: DateTime<Utc>, version: u64) -> StaffQueueView {
        let ranked = self.ranked(now);
        StaffQueueView {
            code: self.code.clone(),
            version,
            callable: ranked.iter().filter(|r| r.placement.is_callable()).count(),
            entries: ranked
                .iter()
                .enumerate()
                .map(|(i, r)| StaffEntry::of(i + 1, r))
                .collect(),
        }
    }

    /// The public head for screens: the general list and each room's short
    /// list (names masked).
    pub fn board(&self, now: DateTime<Utc>) -> QueueBoard {
        // Held patients and early appointment patients are not called yet,
        // so screens do not list them.
        let view = |r: &Ranked<'_>| EntryView {
            ticket_no: r.entry.ticket_no.clone(),
            masked_name: r.entry.masked_name.clone(),
            placement: r.placement.kind(),
            priority: r.entry.special.is_some(),
            room: r.entry.room.clone(),
        };
        let mut general = 0;
        let mut board = QueueBoard::default();
        for r in self
            .ranked(now)
            .iter()
            .filter(|r| r.placement.is_callable())
        {
            board.waiting += 1;
            match &r.entry.assigned {
                Some(a) => board.rooms.entry(a.room.clone()).or_default().push(view(r)),
                None if r.entry.room.is_some() => board.head.push(view(r)),
                None if general < BOARD_HEAD => {
                    general += 1;
                    board.head.push(view(r));
                }
                None => {}
            }
        }
        board
    }
}
