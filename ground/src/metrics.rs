//! Measurements the engine takes on its own path, exported by the server's
//! `/metrics`: how long a call takes from the room's command to the
//! broadcast to every screen.

use std::sync::LazyLock;

use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// Seconds from a room's call command (叫号) to the frame published to
/// every screen of the room (the database commit included).
pub static CALL_TO_BROADCAST: LazyLock<Histogram> =
    LazyLock::new(|| Histogram::new(exponential_buckets(0.0005, 2.0, 14)));
