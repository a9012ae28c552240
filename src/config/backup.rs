//! `[backup]` of the configuration: where backups are kept, for how long,
//! and when the server takes the daily one (the backups themselves:
//! `crate::backups`).

use std::path::PathBuf;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// Where and how long backups are kept (`[backup]` of the configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPolicy {
    /// The backup directory.
    pub dir: PathBuf,
    /// A second location (a mounted network share): a backup on the same
    /// disk as the database is not safe.
    pub second_dir: Option<PathBuf>,
    /// Days kept (at least 7).
    pub keep_days: u32,
    /// When the server takes the daily backup (local time); none: only by
    /// hand (`triage backup`).
    pub at: Option<NaiveTime>,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            dir: PathBuf::from("backups"),
            second_dir: None,
            keep_days: 7,
            at: NaiveTime::from_hms_opt(2, 30, 0),
        }
    }
}
