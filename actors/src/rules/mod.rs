//! Queue ordering: one pure function, [`rank`], of the waiting entries, the
//! queue's [`QueueRules`], its [`Counters`] and the time.
//!
//! Each ranked entry carries the [`Placement`] that put it there, so a nurse
//! can see *why* a patient stands where they stand.
//!
//! The rules implemented here (numbers as in `shared/QUEUE-RULES.md`):
//! 1. base order by check-in time or by the HIS sequence number (挂号序号);
//! 2. appointments (预约) `merged`, `always_first` or by time `slot` (within a
//!    slot, appointments before walk-ins); an early patient waits for the
//!    slot (listed, not callable);
//! 3. late arrivals by `interval N`, at the `end_of_session`, at the
//!    `end_of_slot` (of the slot current when they come), or `as_on_time`;
//! 4. special groups (优先) before everyone else, lower level first, same
//!    level by check-in time;
//! 5. the fairness cap (after K priority or inserted calls in a row, the
//!    longest-waiting normal patient) and the overtake cap (a normal patient
//!    overtaken M times by priority or inserted patients goes first);
//! 6. the locked head (the first L are fixed; nobody is inserted ahead);
//! 7. return visits (复诊) by `interval N` (exactly N normal patients between
//!    inserted ones, and between the head and the first) or by `ratio` (one
//!    every K calls);
//! 8. back after a missed call (过号召回) by `interval N`, at the end of the
//!    slot or at the end of the session;
//! 10. a nurse's manual intervention: pin (置顶) before every rule, move to
//!     a position (调整顺序, moving up with the line), hold (挂起: listed
//!     last, never called until released);
//! 13. two-stage waiting: patients sent to a room's short list (诊室候诊)
//!     are listed first and only that room calls them.
//!
//! ## Layout
//! - [`config`]: `QueueRules` and the choices it holds.
//! - [`placement`]: `Placement`, code and reason.
//! - [`rank`]: `rank` (and `rank_in_line_order`, for entries kept in
//!   the order of their `LineKey`), `base_placement`, `counters_after_call`.

pub mod config;
pub mod placement;
pub mod rank;

pub use config::*;
pub use placement::Placement;
pub use rank::{
    base_placement, counters_after_call, line_key, rank, rank_in_line_order, LineKey, Ranked,
};
