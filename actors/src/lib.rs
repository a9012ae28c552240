//! # triage-actors — Triage's real-time queue engine
//!
//! Every queue, room and screen is an actix actor; each is a thin shell over
//! plain state whose methods take an injected `now`. The engine knows no HTTP,
//! SQL or SMTP: it reaches the world through [`journal::Journal`] (durable
//! writes) and the ground floor's clock (`triage_ground::time::Clock`).
//!
//! ## Layout
//! - [`model`]: waiting entries, current calls, room status, audit stamps.
//! - [`day`]: sessions and the slot grid of the clinic day (local time).
//! - [`mask`]: masked names for screens, spoken names for the voice.
//! - [`rules`]: the pure ranking function `rank(entries, rules, counters, now)`.
//! - [`queue`]: `QueueState` + `QueueActor` (check-in, take next, cancel).
//! - [`room`]: `RoomState` + `RoomActor` (call next, recall, skip, finish, status).
//! - [`screen`]: `ScreenActor` (sequence numbers, snapshots, frames).
//! - [`staff`]: what staff pages see live (whole lists, reasons, groups).
//! - [`directory`]: live addresses, who watches what, the public board.
//! - [`journal`]: the `Journal` trait and the `Change` enum.
//! - [`error`]: `EngineError` and its conversion to the ground floor's
//!   error with its stable code.
//!
//! ## The order of every command
//! Plan on the state (pure) → commit through the journal → apply to memory →
//! reply → tell the screens (best effort; they resync from snapshots).

pub mod board;
pub mod day;
pub mod directory;
pub mod error;
pub mod journal;
pub mod mask;
pub mod model;
pub mod queue;
pub mod room;
pub mod rules;
pub mod screen;
pub mod staff;

pub use board::Board;
pub use directory::Directory;
pub use error::EngineError;
pub use journal::{Change, Journal, JournalError};
