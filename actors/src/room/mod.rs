//! A clinic or exam room (诊室): [`RoomState`] and the [`RoomActor`] over it.
//!
//! Messages in: [`CallNext`] (next by the rules, or one patient by name),
//! [`Recall`], [`Skip`], [`SendForExam`], [`Finish`], [`SetStatus`],
//! [`CancelCurrent`], [`ForgetCurrent`], [`Refill`], [`GetRoom`]. Out:
//! [`TakeNext`] / [`TakeSpecific`] / [`Assign`] / [`ShortList`] down to the
//! queues the room draws from — in order (doctor's own first) or by a
//! configured mix ([`draw_order`]) — board updates and voice announcements
//! to the [`Board`]. Replies come back through responses; queues never
//! message rooms, so there are no cycles.
//!
//! Two-stage waiting (二级候诊): a room with a `waiting_cap` keeps its own
//! short list full from the general list ([`Refill`], after every call, on
//! start, when it opens, when a queue it draws from changed, and on the
//! server's clock ticks),
//! and calls from that list first.
//!
//! ## Layout
//! - [`state`]: `RoomState` — plans, `apply`, the draw order of a call.
//! - [`messages`]: what the room answers.
//! - [`actor`]: `RoomActor` and its handlers.

pub mod actor;
pub mod messages;
pub mod state;

pub use crate::board::events::Refill;
pub use actor::RoomActor;
pub use messages::*;
pub use state::{
    draw_order, earliest_short_list, Attempt, CallPlan, ClosedVisit, CurrentPolicy, RefillPlan,
    RoomState, Take,
};
