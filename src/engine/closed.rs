//! The last day closed (日终), in memory: what the engine and every
//! check-in consult before a visit enters a day that is over.

use std::sync::atomic::{AtomicI32, Ordering};

use chrono::{Datelike, NaiveDate};

/// The last day closed, kept in memory so a check-in after today's day end
/// is refused without a read: `refusing` from the moment a day end starts,
/// `recorded` once it is in the database (a day end that failed half-way
/// runs again: it is due until recorded). 0: none.
#[derive(Debug, Default)]
pub struct ClosedThrough {
    refusing: AtomicI32,
    recorded: AtomicI32,
}

fn day_of(n: i32) -> Option<NaiveDate> {
    match n {
        0 => None,
        n => NaiveDate::from_num_days_from_ce_opt(n),
    }
}

impl ClosedThrough {
    pub fn new(day: Option<NaiveDate>) -> ClosedThrough {
        let n = day.map_or(0, |d| d.num_days_from_ce());
        ClosedThrough {
            refusing: AtomicI32::new(n),
            recorded: AtomicI32::new(n),
        }
    }

    /// The last day that takes nobody any more.
    pub fn get(&self) -> Option<NaiveDate> {
        day_of(self.refusing.load(Ordering::SeqCst))
    }

    /// The last day whose end is in the database.
    pub fn recorded(&self) -> Option<NaiveDate> {
        day_of(self.recorded.load(Ordering::SeqCst))
    }

    /// A day end starts: the day takes nobody any more (never moves back).
    pub fn set(&self, day: NaiveDate) {
        self.refusing
            .fetch_max(day.num_days_from_ce(), Ordering::SeqCst);
    }

    /// A day end is in the database.
    pub fn set_recorded(&self, day: NaiveDate) {
        self.set(day);
        self.recorded
            .fetch_max(day.num_days_from_ce(), Ordering::SeqCst);
    }
}
