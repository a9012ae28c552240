//! Full names of the visits in queues and rooms, for the staff pages whose
//! scope covers them (the actors hold masked names only, and public screens
//! never get more). Filled at start from every waiting or called visit and
//! whenever a visit enters a queue or its registration is corrected, always
//! from the stored registration; never logged. A name is kept for
//! [`KEEP_DAYS`] after it was last set (a visit does not wait that long),
//! so memory stays bounded.

use crate::db::columns::VisitType;
use chrono::{DateTime, Utc};
use dashmap::DashMap;

/// How long a name is kept after it was last set.
pub const KEEP_DAYS: i64 = 3;

/// What a staff page shows of a visit beyond what the queue holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitFacts {
    /// The full name (staff only).
    pub name: String,
    /// 初诊 or 复诊 (tells 复诊 from 回诊 for a return entry).
    pub visit_type: VisitType,
    set_at: DateTime<Utc>,
}

/// Visit number → facts.
#[derive(Default)]
pub struct VisitNames(DashMap<String, VisitFacts>);

impl VisitNames {
    /// Records (or replaces) a visit's facts.
    pub fn set(&self, visit_no: &str, name: &str, visit_type: VisitType, now: DateTime<Utc>) {
        self.0.insert(
            visit_no.to_string(),
            VisitFacts {
                name: name.to_string(),
                visit_type,
                set_at: now,
            },
        );
    }

    /// A visit's facts, if known.
    pub fn get(&self, visit_no: &str) -> Option<VisitFacts> {
        self.0.get(visit_no).map(|f| f.clone())
    }

    /// Forgets names set more than [`KEEP_DAYS`] before `now`.
    pub fn forget_old(&self, now: DateTime<Utc>) -> usize {
        let before = self.0.len();
        let cutoff = now - chrono::Duration::days(KEEP_DAYS);
        self.0.retain(|_, f| f.set_at >= cutoff);
        before - self.0.len()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
