//! # triage-ground — the ground floor
//!
//! What every other part of Triage stands on, importing nothing of ours
//! (docs/ARCHITECTURE.md, "Layers"):
//!
//! - [`time`]: the clock a program runs on (the system's, or a named
//!   instant for tests and drills), the hospital's offset and service day,
//!   strict dates and RFC 3339 times, daily windows.
//! - [`ids`]: the hospital's codes as types ([`ids::VisitNo`],
//!   [`ids::QueueCode`], [`ids::RoomCode`], …), parsed once at the edge.
//! - [`error`]: one [`error::Error`] with one [`error::ErrorCode`] enum of
//!   stable snake_case codes; the HTTP status of each is the API's.
//! - [`secret`]: random secrets, their digests, constant-time comparison,
//!   HMAC-SHA256 signatures.
//! - [`stored`]: `stored_as_text!`, an enum stored as its text column.
//! - [`metrics`]: the counters and histograms the engine, the database
//!   writer and the HTTP edge update where things happen; `/metrics`
//!   encodes them.

pub mod error;
pub mod ids;
pub mod metrics;
pub mod secret;
pub mod stored;
pub mod time;
