//! [`rank`]: the one pure function that orders a queue, and the counters a
//! call moves.

use chrono::{DateTime, Utc};

use crate::day::Grid;
use crate::model::{Counters, EntryKind, WaitingEntry};

use super::config::*;
use super::placement::Placement;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked<'a> {
    pub entry: &'a WaitingEntry,
    pub placement: Placement,
}

/// How the rules treat an entry that no nurse action, lock or special mark
/// places first.
enum Class {
    /// A return visit in ratio mode.
    Ratio,
    /// Inserted after N normal patients.
    Inserted(u32, Placement),
    /// In the normal line, by the base order.
    Regular,
    /// In the normal line, after everyone who belongs before `target`.
    Positional(DateTime<Utc>, Placement),
}

fn classify(e: &WaitingEntry, rules: &QueueRules, grid: &mut Grid<'_>) -> Class {
    let day = &rules.day;
    let mut end_of = |slot: bool| {
        let t = if slot {
            grid.slot_of(e.checked_in_at).end
        } else {
            grid.session_of(e.checked_in_at).end
        };
        (t, day.local_time(t))
    };
    match e.kind {
        EntryKind::Normal => Class::Regular,
        EntryKind::Return => match (rules.return_ratio, rules.return_interval) {
            (Some(_), _) => Class::Ratio,
            (None, Some(n)) => Class::Inserted(n, Placement::ReturnInterval { interval: n }),
            (None, None) => Class::Regular,
        },
        EntryKind::Recall => match rules.recall_mode {
            RecallMode::Interval => Class::Inserted(
                rules.recall_interval,
                Placement::RecallInterval {
                    interval: rules.recall_interval,
                },
            ),
            RecallMode::EndOfSlot => {
                let (t, until) = end_of(true);
                Class::Positional(t, Placement::RecallEndOfSlot { until })
            }
            RecallMode::EndOfSession => {
                let (t, until) = end_of(false);
                Class::Positional(t, Placement::RecallEndOfSession { until })
            }
        },
        EntryKind::Late => match rules.late_arrival {
            LateArrival::Interval(n) => Class::Inserted(n, Placement::LateInterval { interval: n }),
            LateArrival::AsOnTime => Class::Regular,
            LateArrival::EndOfSlot => {
                let (t, until) = end_of(true);
                Class::Positional(t, Placement::LateEndOfSlot { until })
            }
            LateArrival::EndOfSession => {
                let (t, until) = end_of(false);
                Class::Positional(t, Placement::LateEndOfSession { until })
            }
        },
    }
}

/// The instant that says where a patient in the normal line belongs: the
/// slot start of an appointment, else the check-in time.
fn anchor(e: &WaitingEntry) -> DateTime<Utc> {
    e.slot.map_or(e.checked_in_at, |s| s.start)
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The sort key of the normal line: (time slot, appointment before
/// walk-in, base order, tie-break, arrival). Arrival numbers are unique
/// within a queue, so it orders every entry of a queue one way.
pub type LineKey = (i64, u8, i64, i64, i64);

/// The [`LineKey`] of `e` under `rules` (`grid` is the rules' day grid).
pub fn line_key(e: &WaitingEntry, rules: &QueueRules, grid: &mut Grid<'_>) -> LineKey {
    let at = anchor(e);
    let walk_in = u8::from(e.slot.is_none());
    let (primary, secondary) = match rules.base_order {
        BaseOrder::CheckIn => (micros(at), 0),
        BaseOrder::HisSequence => (e.his_seq.unwrap_or(i64::MAX), micros(at)),
    };
    match rules.appointment_mode {
        AppointmentMode::Merged => (0, 0, primary, secondary, e.seq),
        AppointmentMode::AlwaysFirst => (0, walk_in, primary, secondary, e.seq),
        AppointmentMode::Slot => (
            grid.slot_us(micros(at)).0,
            walk_in,
            primary,
            secondary,
            e.seq,
        ),
    }
}

/// The placement of an entry in the normal line by the base order.
fn normal_placement(e: &WaitingEntry, rules: &QueueRules) -> Placement {
    if e.kind == EntryKind::Late {
        Placement::LateAsOnTime
    } else if e.slot.is_some() {
        Placement::Appointment
    } else if rules.base_order == BaseOrder::HisSequence && e.his_seq.is_some() {
        Placement::HisSequence
    } else {
        Placement::CheckInOrder
    }
}

/// The rule that would place `e` without a lock or a nurse's action.
pub fn base_placement(e: &WaitingEntry, rules: &QueueRules) -> Placement {
    if let Some(s) = &e.special {
        return Placement::SpecialGroup {
            tag: s.tag,
            level: s.level,
        };
    }
    match classify(e, rules, &mut Grid::new(&rules.day)) {
        Class::Ratio => Placement::ReturnRatio {
            every: rules.return_ratio.unwrap_or(2),
        },
        Class::Inserted(_, p) | Class::Positional(_, p) => p,
        Class::Regular => normal_placement(e, rules),
    }
}

/// The waiting entries sorted into the groups the rules place differently.
#[derive(Default)]
struct Groups<'a> {
    assigned: Vec<&'a WaitingEntry>,
    held: Vec<&'a WaitingEntry>,
    pinned: Vec<&'a WaitingEntry>,
    moved: Vec<&'a WaitingEntry>,
    awaiting: Vec<&'a WaitingEntry>,
    locked: Vec<&'a WaitingEntry>,
    special: Vec<&'a WaitingEntry>,
    ratio: Vec<&'a WaitingEntry>,
    inserted: Vec<(&'a WaitingEntry, u32, Placement)>,
    regular: Vec<&'a WaitingEntry>,
    positional: Vec<(&'a WaitingEntry, DateTime<Utc>, Placement)>,
}

/// A normal line entry with its placement.
type Line<'a> = Vec<(&'a WaitingEntry, Placement)>;

/// The arrival order: check-in time, then arrival number.
fn arrival(e: &WaitingEntry) -> (i64, i64) {
    (micros(e.checked_in_at), e.seq)
}

/// Orders the waiting entries for calling. Pure: the same inputs give the
/// same order. The phases: sort into groups; build the normal line; take
/// out who reached the overtake cap; the heads (short lists, pins, the
/// locked head, the caps, the special groups); the inserted patients among
/// the normal line; the return ratio; a nurse's moves; the early
/// appointments and the held at the end.
pub fn rank<'a>(
    entries: &'a [WaitingEntry],
    rules: &QueueRules,
    counters: &Counters,
    now: DateTime<Utc>,
) -> Vec<Ranked<'a>> {
    let mut grid = Grid::new(&rules.day);
    let mut in_line_order: Vec<&WaitingEntry> = entries.iter().collect();
    in_line_order.sort_by_cached_key(|e| line_key(e, rules, &mut grid));
    rank_in_line_order(in_line_order, rules, counters, now)
}

/// [`rank`] of entries already in the order of their [`LineKey`] (a
/// [`QueueState`](crate::queue::QueueState) keeps its entries so): the
/// normal line is then read off in order instead of sorted again on every
/// ranking. Debug builds check the order.
pub fn rank_in_line_order<'a, I>(
    entries: I,
    rules: &QueueRules,
    counters: &Counters,
    now: DateTime<Utc>,
) -> Vec<Ranked<'a>>
where
    I: IntoIterator<Item = &'a WaitingEntry>,
    I::IntoIter: Clone,
{
    let mut grid = Grid::new(&rules.day);
    let entries = entries.into_iter();
    debug_assert!(
        entries
            .clone()
            .is_sorted_by_key(|e| line_key(e, rules, &mut grid)),
        "entries out of line order"
    );
    let (mut g, count) = groups(entries, rules, now, &mut grid);
    let mut line = normal_line(
        std::mem::take(&mut g.regular),
        std::mem::take(&mut g.positional),
        rules,
    );
    let protected = overtake_protected(&mut line, &g.locked, rules, counters);
    let mut out = Vec::with_capacity(count);
    let assigned_count = push_room_lists(&mut out, std::mem::take(&mut g.assigned));
    push_pins_and_locks(
        &mut out,
        std::mem::take(&mut g.pinned),
        std::mem::take(&mut g.locked),
        rules,
    );
    let mut line = line.into_iter();
    push_caps(&mut out, &protected, &mut line, rules, counters);
    push_special(&mut out, std::mem::take(&mut g.special));
    push_inserted(&mut out, std::mem::take(&mut g.inserted), line, counters);
    place_ratio(&mut out, std::mem::take(&mut g.ratio), rules, counters);
    place_moved(
        &mut out,
        std::mem::take(&mut g.moved),
        assigned_count,
        counters,
    );
    push_tail(&mut out, g.awaiting, g.held);
    out
}

/// Sorts every entry into the group that places it; answers how many
/// entries there were.
fn groups<'a>(
    entries: impl Iterator<Item = &'a WaitingEntry>,
    rules: &QueueRules,
    now: DateTime<Utc>,
    grid: &mut Grid<'_>,
) -> (Groups<'a>, usize) {
    let mut g = Groups::default();
    let mut count = 0;
    for e in entries {
        count += 1;
        if e.assigned.is_some() {
            g.assigned.push(e);
        } else if e.held {
            g.held.push(e);
        } else if e.pinned_at.is_some() {
            g.pinned.push(e);
        } else if e.moved.is_some() {
            g.moved.push(e);
        } else if e.slot.is_some_and(|s| s.start > now) {
            g.awaiting.push(e);
        } else if rules.locked_head > 0 && e.locked.is_some() {
            g.locked.push(e);
        } else if e.special.is_some() {
            g.special.push(e);
        } else {
            match classify(e, rules, grid) {
                Class::Ratio => g.ratio.push(e),
                Class::Inserted(n, p) => g.inserted.push((e, n, p)),
                Class::Regular => g.regular.push(e),
                Class::Positional(t, p) => g.positional.push((e, t, p)),
            }
        }
    }
    (g, count)
}

/// The normal line: the base order (`regular` comes in line order), with
/// patients placed "at the end of the slot / session" after the last one
/// who belongs before that end.
fn normal_line<'a>(
    regular: Vec<&'a WaitingEntry>,
    mut positional: Vec<(&'a WaitingEntry, DateTime<Utc>, Placement)>,
    rules: &QueueRules,
) -> Line<'a> {
    positional.sort_by_cached_key(|(e, t, _)| (micros(*t), e.seq));
    let mut suffix_min = vec![DateTime::<Utc>::MAX_UTC; regular.len()];
    let mut min = DateTime::<Utc>::MAX_UTC;
    for (i, e) in regular.iter().enumerate().rev() {
        min = min.min(anchor(e));
        suffix_min[i] = min;
    }
    let mut line: Line<'a> = Vec::with_capacity(regular.len() + positional.len());
    let mut next_regular = 0;
    for (e, target, placement) in positional {
        let upto = suffix_min.partition_point(|m| *m < target);
        while next_regular < upto {
            let r = regular[next_regular];
            line.push((r, normal_placement(r, rules)));
            next_regular += 1;
        }
        line.push((e, placement));
    }
    for r in &regular[next_regular..] {
        line.push((r, normal_placement(r, rules)));
    }
    line
}

/// The overtake cap: a normal patient overtaken M times (counting the
/// locked patients who will overtake them) leaves the line to go before
/// every rule; answers them.
fn overtake_protected<'a>(
    line: &mut Line<'a>,
    locked: &[&WaitingEntry],
    rules: &QueueRules,
    counters: &Counters,
) -> Vec<&'a WaitingEntry> {
    let mut protected = Vec::new();
    let Some(cap) = rules.max_overtaken else {
        return protected;
    };
    let mut ahead: Vec<i64> = locked
        .iter()
        .filter(|e| base_placement(e, rules).overtakes())
        .map(|e| e.seq)
        .collect();
    ahead.sort_unstable();
    line.retain(|(e, _)| {
        let locked_later = ahead.len() - ahead.partition_point(|s| *s <= e.seq);
        let hit = counters.overtaken(e.seq) + locked_later >= cap as usize;
        if hit {
            protected.push(*e);
        }
        !hit
    });
    protected
}

/// The rooms' short lists first, by room and order; answers how many.
fn push_room_lists<'a>(out: &mut Vec<Ranked<'a>>, mut assigned: Vec<&'a WaitingEntry>) -> usize {
    assigned.sort_by_key(|e| (e.assigned.as_ref().map(|x| (&x.room, x.order)), e.seq));
    // Only entries with an assignment are in `assigned`.
    for (e, a) in assigned
        .iter()
        .filter_map(|e| e.assigned.as_ref().map(|a| (*e, a)))
    {
        out.push(Ranked {
            entry: e,
            placement: Placement::RoomWaiting {
                room: a.room.clone(),
            },
        });
    }
    out.len()
}

/// A nurse's pin comes before every rule, oldest pin first; then the
/// locked head: told they are next, nobody goes ahead of them.
fn push_pins_and_locks<'a>(
    out: &mut Vec<Ranked<'a>>,
    mut pinned: Vec<&'a WaitingEntry>,
    mut locked: Vec<&'a WaitingEntry>,
    rules: &QueueRules,
) {
    pinned.sort_by_key(|e| (e.pinned_at, e.seq));
    for e in pinned {
        out.push(Ranked {
            entry: e,
            placement: Placement::Pinned,
        });
    }
    locked.sort_by_key(|e| (e.locked, e.seq));
    for e in locked {
        out.push(Ranked {
            entry: e,
            placement: Placement::Locked {
                base: Box::new(base_placement(e, rules)),
            },
        });
    }
}

/// Who reached the overtake cap; then the fairness cap: after K
/// priority/inserted calls in a row, the longest-waiting normal patient
/// goes before everyone (a patient first by the overtake cap already is
/// that normal call).
fn push_caps<'a>(
    out: &mut Vec<Ranked<'a>>,
    protected: &[&'a WaitingEntry],
    line: &mut std::vec::IntoIter<(&'a WaitingEntry, Placement)>,
    rules: &QueueRules,
    counters: &Counters,
) {
    if let Some(cap) = rules.max_overtaken {
        for e in protected {
            out.push(Ranked {
                entry: e,
                placement: Placement::OvertakeCap { cap },
            });
        }
    }
    let cap_reached = rules
        .fairness_cap
        .is_some_and(|cap| counters.consecutive_priority >= i64::from(cap));
    if cap_reached && protected.is_empty() {
        if let (Some(cap), Some((first, _))) = (rules.fairness_cap, line.next()) {
            out.push(Ranked {
                entry: first,
                placement: Placement::FairnessCap { cap },
            });
        }
    }
}

/// The special groups, by level, then arrival.
fn push_special<'a>(out: &mut Vec<Ranked<'a>>, mut special: Vec<&'a WaitingEntry>) {
    special.sort_by(|a, b| {
        let la = a.special.as_ref().map_or(u8::MAX, |s| s.level);
        let lb = b.special.as_ref().map_or(u8::MAX, |s| s.level);
        (la, a.checked_in_at, a.seq).cmp(&(lb, b.checked_in_at, b.seq))
    });
    for e in special {
        if let Some(s) = &e.special {
            out.push(Ranked {
                entry: e,
                placement: Placement::SpecialGroup {
                    tag: s.tag,
                    level: s.level,
                },
            });
        }
    }
}

/// The normal line with the inserted patients: exactly N normal patients
/// before each.
fn push_inserted<'a>(
    out: &mut Vec<Ranked<'a>>,
    mut inserted: Vec<(&'a WaitingEntry, u32, Placement)>,
    mut line: std::vec::IntoIter<(&'a WaitingEntry, Placement)>,
    counters: &Counters,
) {
    inserted.sort_by_cached_key(|(e, _, _)| arrival(e));
    let mut first = true;
    for (e, interval, placement) in inserted {
        let interval = interval as usize;
        // Normals still owed before this inserted patient.
        let owed = if first {
            first = false;
            let since = e.mark.max(counters.last_insert_mark);
            let already = (counters.normal_calls_total - since).max(0) as usize;
            interval.saturating_sub(already)
        } else {
            interval
        };
        for (n, p) in line.by_ref().take(owed) {
            out.push(Ranked {
                entry: n,
                placement: p,
            });
        }
        out.push(Ranked {
            entry: e,
            placement,
        });
    }
    for (n, p) in line {
        out.push(Ranked {
            entry: n,
            placement: p,
        });
    }
}

/// Ratio mode: return patients take every K-th call, counting the calls
/// made since the last return patient; the room short lists, pins, the
/// locked head and the fairness heads keep their places.
fn place_ratio<'a>(
    out: &mut Vec<Ranked<'a>>,
    mut ratio: Vec<&'a WaitingEntry>,
    rules: &QueueRules,
    counters: &Counters,
) {
    let Some(every) = rules.return_ratio else {
        return;
    };
    ratio.sort_by_cached_key(|e| arrival(e));
    let k = every.max(1) as usize;
    let fixed = out
        .iter()
        .take_while(|r| {
            matches!(
                r.placement,
                Placement::RoomWaiting { .. }
                    | Placement::Pinned
                    | Placement::Locked { .. }
                    | Placement::OvertakeCap { .. }
                    | Placement::FairnessCap { .. }
            )
        })
        .count();
    let since = counters.calls_since_return.max(0) as usize;
    let mut at = fixed + (k - 1).saturating_sub(since);
    for e in ratio {
        let at_clamped = at.min(out.len());
        out.insert(
            at_clamped,
            Ranked {
                entry: e,
                placement: Placement::ReturnRatio { every },
            },
        );
        at = at_clamped + k;
    }
}

/// A nurse's move: at the position asked for, moving up as patients are
/// taken; the latest move gets the position it asked for.
fn place_moved<'a>(
    out: &mut Vec<Ranked<'a>>,
    mut moved: Vec<&'a WaitingEntry>,
    assigned_count: usize,
    counters: &Counters,
) {
    moved.sort_by_key(|e| (e.moved.as_ref().map(|m| m.at), e.seq));
    for e in moved {
        let Some(m) = &e.moved else { continue };
        let taken_since = (counters.taken_total - m.mark).max(0);
        let position = (i64::from(m.position) - taken_since).max(1);
        let at = (assigned_count + position as usize - 1).min(out.len());
        out.insert(
            at,
            Ranked {
                entry: e,
                placement: Placement::Moved {
                    position: (at - assigned_count + 1) as u32,
                },
            },
        );
    }
}

/// Early appointment patients wait for their slot (listed, not callable);
/// the held come last.
fn push_tail<'a>(
    out: &mut Vec<Ranked<'a>>,
    mut awaiting: Vec<&'a WaitingEntry>,
    mut held: Vec<&'a WaitingEntry>,
) {
    awaiting.sort_by_key(|e| (e.slot.map(|s| s.start), e.seq));
    for e in awaiting {
        out.push(Ranked {
            entry: e,
            placement: Placement::AwaitingSlot,
        });
    }
    held.sort_by_cached_key(|e| arrival(e));
    for e in held {
        out.push(Ranked {
            entry: e,
            placement: Placement::Held,
        });
    }
}

/// Counters after taking the patient who arrived as `seq`, placed by
/// `placement`, from the general list (a call, or a send to a room's short
/// list). Calling a patient from a room's short list changes nothing: they
/// were counted when sent there.
pub fn counters_after_call(counters: &Counters, placement: &Placement, seq: i64) -> Counters {
    let mut next = counters.clone();
    if matches!(
        placement,
        Placement::RoomWaiting { .. } | Placement::Held | Placement::AwaitingSlot
    ) {
        return next;
    }
    next.taken_total += 1;
    next.calls_since_return += 1;
    if placement.overtakes() {
        let at = next.overtakes.partition_point(|s| *s < seq);
        next.overtakes.insert(at, seq);
    }
    let base = match placement {
        Placement::Locked { base } => base.as_ref(),
        other => other,
    };
    if base.is_normal() {
        next.normal_calls_total += 1;
        next.consecutive_priority = 0;
        return next;
    }
    next.consecutive_priority += 1;
    match base {
        Placement::ReturnInterval { .. }
        | Placement::RecallInterval { .. }
        | Placement::LateInterval { .. } => {
            next.last_insert_mark = next.normal_calls_total;
        }
        Placement::ReturnRatio { .. } => next.calls_since_return = 0,
        _ => {}
    }
    next
}
