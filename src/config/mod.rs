//! The hospital's configuration file (`hospital.toml`), validated with line
//! numbers, and the policies of every feature it configures: the face of
//! the settings floor.
//!
//! - [`hospital`]: departments, queues and their rules, rooms, doctors,
//!   screens, kiosks, sessions, security, calling; the whole [`Hospital`].
//! - [`alerts`]: the `[alerts]` section (thresholds, working and quiet hours, who is
//!   told and how).
//! - [`backup`]: the `[backup]` section.
//! - [`operations`]: the `[operations]` section.
//! - [`patient`]: the `[patient]` section (the patient's own page).

pub mod alerts;
pub mod backup;
pub mod hospital;
pub mod operations;
pub mod patient;

pub use backup::BackupPolicy;
pub use hospital::*;
pub use operations::OperationsPolicy;
