//! `[operations]` of the configuration: where the operations' reports go
//! and when the server runs maintenance, inspections and the monthly
//! verification report (the operations themselves: `crate::ops`).

/// Where the operations' reports go and when the server runs them
/// (`[operations]` of the configuration).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OperationsPolicy {
    /// Inspection, maintenance and monthly verification reports.
    pub reports_dir: std::path::PathBuf,
    /// Audit records past their retention are exported here (gzip JSON
    /// lines) before they are deleted.
    pub archive_dir: std::path::PathBuf,
    /// When the server runs a due maintenance, inspection or monthly
    /// report (local time); none: only by hand.
    pub at: Option<chrono::NaiveTime>,
    /// Days between maintenances (quarterly: 90).
    pub maintain_every_days: u32,
    /// Days between inspections (quarterly: 90).
    pub inspect_every_days: u32,
    /// Holidays (their first day): a deep inspection runs
    /// `inspect_days_before` days before each.
    pub holidays: Vec<chrono::NaiveDate>,
    pub inspect_days_before: u32,
}

impl Default for OperationsPolicy {
    fn default() -> Self {
        OperationsPolicy {
            reports_dir: "reports".into(),
            archive_dir: "archive".into(),
            at: chrono::NaiveTime::from_hms_opt(3, 30, 0),
            maintain_every_days: 90,
            inspect_every_days: 90,
            holidays: Vec::new(),
            inspect_days_before: 7,
        }
    }
}
