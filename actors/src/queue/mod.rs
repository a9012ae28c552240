//! A queue (候诊队列): [`QueueState`], the plain state with every rule, and
//! [`QueueActor`], the thin actor that serialises access to it.
//!
//! Messages in: [`CheckIn`], [`Requeue`] (召回), [`Transfer`], [`Left`],
//! [`TakeNext`] / [`TakeSpecific`] / [`Assign`] / [`ShortList`] /
//! [`ReleaseRoom`] (from a room), [`Intervene`] (hold, release, pin, move),
//! [`Remove`] (cancel), [`ChangeRules`] / [`GetRules`], [`ListQueue`],
//! [`Position`]. Out: board updates to the [`Board`] (which
//! tells screens). Each command is planned on the state (pure), committed by
//! the [`Journal`](crate::journal::Journal), then applied to memory — in one
//! `AtomicResponse`, so nothing else touches the queue meanwhile.
//!
//! ## Layout
//! - [`state`]: `QueueState` — plans, `apply`, the locked head.
//! - [`view`]: the list staff read and the public board.
//! - [`messages`]: what the queue answers.
//! - [`forecast`]: wait ranges by running the queue's rules forward.
//! - [`actor`]: `QueueActor` and its handlers.

pub mod actor;
pub mod forecast;
pub mod messages;
pub mod state;
pub mod view;

pub use crate::board::events::Left;
pub use actor::QueueActor;
pub use messages::*;
pub use state::{EntryDraft, QueueState, TransferIn};
pub use view::{ListedEntry, BOARD_HEAD};
