//! The record that outlives pruned backups: every verification is a line
//! of `verifications.jsonl` in the backup directory, every maintenance and
//! inspection a line of `operations.jsonl` in the reports directory (JSON
//! lines, appended and synced). The monthly verification report
//! (备份恢复月度报告, `ops::monthly`) is built from the first.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The verifications' ledger in a backup directory.
pub const VERIFICATIONS: &str = "verifications.jsonl";
/// The maintenances' and inspections' ledger in the reports directory.
pub const OPERATIONS: &str = "operations.jsonl";

/// What a ledger line records (its `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A backup verified (备份校验).
    Verify,
    /// `triage db maintain`.
    Maintain,
    /// `triage inspect` (巡检).
    Inspect,
    /// The monthly verification report.
    Monthly,
    /// The weekly doctor data check.
    Doctors,
}

/// One line of a ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: Kind,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// The backup file, or the report written.
    pub subject: String,
    /// One line: what failed, or what was done.
    pub summary: String,
}

/// Appends `entry` to the ledger `file` (created if missing) and syncs it.
pub fn append(file: &Path, entry: &Entry) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{line}")?;
    f.sync_all()
}

/// The ledger's entries, oldest first, and how many lines could not be
/// read (a line cut by a crash): those are reported, not hidden.
pub fn read(file: &Path) -> std::io::Result<(Vec<Entry>, usize)> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let (mut good, mut bad) = (Vec::new(), 0);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Entry>(line) {
            Ok(e) => good.push(e),
            Err(_) => bad += 1,
        }
    }
    good.sort_by_key(|e| e.at);
    Ok((good, bad))
}

/// The newest entry of `kind` in the ledger `file`.
pub fn last(file: &Path, kind: Kind) -> Option<Entry> {
    read(file)
        .ok()?
        .0
        .into_iter()
        .rev()
        .find(|e| e.kind == kind)
}
