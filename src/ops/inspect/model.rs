//! What an inspection found: the figures, the screens' and faults'
//! history, the queue waits and the risks, with the small helpers the
//! gathering and the report share.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::ops::ledger::Entry;
use crate::ops::monthly::Month;
use crate::ops::timings::{Agg, Run};

/// How serious a risk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub(super) fn label(self) -> &'static str {
        match self {
            Level::High => "高 high",
            Level::Medium => "中 medium",
            Level::Low => "低 low",
        }
    }
}

/// A risk found, with what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Risk {
    pub level: Level,
    pub finding: String,
    pub recommendation: String,
}

/// One screen's history in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenHistory {
    pub code: String,
    pub name: String,
    pub last_seen: Option<NaiveDateTime>,
    pub offline_times: usize,
    pub offline_minutes: f64,
}

/// Faults in the period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultStats {
    pub total: usize,
    pub by_kind: BTreeMap<String, usize>,
    pub critical: usize,
    pub open_now: usize,
    /// Mean minutes from opened to acknowledged (of those acknowledged).
    pub mean_ack_minutes: Option<f64>,
    /// Mean minutes from opened to resolved (of those resolved).
    pub mean_resolve_minutes: Option<f64>,
}

/// A department's waits (check-in to first call) in the period.
#[derive(Clone, Debug, PartialEq)]
pub struct Waits {
    pub department: String,
    pub called: usize,
    pub mean_minutes: f64,
    pub p90_minutes: f64,
    pub max_minutes: f64,
}

/// Everything an inspection found.
#[derive(Clone, Debug)]
pub struct Inspection {
    pub at: DateTime<Utc>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Before a holiday (its first day).
    pub holiday: Option<NaiveDate>,
    pub version: String,
    pub runs: Vec<Run>,
    /// The run still going (heartbeat within two minutes) and since when.
    pub running_since: Option<NaiveDateTime>,
    pub restarts: usize,
    pub unclean_stops: usize,
    pub bytes: u64,
    pub rows: BTreeMap<String, i64>,
    pub visits_in_period: i64,
    /// From the kept backups' sizes: bytes per day.
    pub growth_per_day: Option<f64>,
    pub backups: Vec<crate::backups::Kept>,
    pub last_verification: Option<Entry>,
    pub month: Option<Month>,
    pub second_location: SecondCopy,
    pub last_maintenance: Option<Entry>,
    pub screens: Vec<ScreenHistory>,
    pub faults: FaultStats,
    pub endpoints: Vec<(String, Agg)>,
    pub statements: Vec<(String, Agg)>,
    pub waits: Vec<Waits>,
    pub audit: String,
    pub audit_intact: bool,
    /// Ledgers that could not be read whole (their figures above are
    /// incomplete).
    pub unreadable_ledgers: Vec<String>,
    pub risks: Vec<Risk>,
    pub report: PathBuf,
    /// Each kiosk's last contact (kept once a minute by the server).
    pub kiosks_seen: BTreeMap<String, NaiveDateTime>,
    /// The holiday inspection's own checks.
    pub deep: Option<Deep>,
}

/// Minutes from `a` to `b`.
pub(super) fn minutes(a: NaiveDateTime, b: NaiveDateTime) -> f64 {
    (b - a).num_seconds() as f64 / 60.0
}

/// The mean of `v`, if any.
pub(super) fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// A UTC time as Beijing time, to the minute.
pub(super) fn local(t: NaiveDateTime) -> String {
    t.and_utc()
        .with_timezone(&triage_ground::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The second backup location ([backup] second_dir) as found: not set, its
/// folder missing, or the newest backup's copy there checked against its
/// manifest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondCopy {
    NotConfigured,
    FolderMissing(String),
    /// No backup kept yet, or its copy is not there.
    NoCopy(String),
    /// The newest backup's copy differs from its manifest.
    Differs(String),
    /// The newest backup's copy matches its manifest.
    Verified(String),
}

impl SecondCopy {
    /// Whether a good copy of the newest backup is in the second location.
    pub fn ok(&self) -> bool {
        matches!(self, SecondCopy::Verified(_))
    }

    /// What the report says of it.
    pub fn said(&self) -> String {
        match self {
            SecondCopy::NotConfigured => "未配置 not configured".into(),
            SecondCopy::FolderMissing(d) => format!("已配置，但目录 {d} 不存在 folder missing"),
            SecondCopy::NoCopy(f) => format!("已配置，但没有最新备份的副本 {f} no copy"),
            SecondCopy::Differs(f) => format!("副本 {f} 与清单不符 copy differs"),
            SecondCopy::Verified(f) => format!("最新备份的副本 {f} 已核对 verified"),
        }
    }
}

/// The holiday inspection's own checks ([`super::deep`]).
/// Call-to-screen p99 above this is a risk (P1's goal is far below it).
pub const SELF_TEST_P99_LIMIT_MS: f64 = 500.0;

/// One part of the deep inspection: done or not, and what it found.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub ok: bool,
    pub detail: String,
    pub seconds: f64,
}

/// The load self-test's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfTest {
    /// What it ran on: the newest backup's copy, or a new scratch database.
    pub on: String,
    pub rooms: usize,
    pub calls: usize,
    /// Screens that should have shown a call, and those that did in time.
    pub expected: usize,
    pub delivered: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl SelfTest {
    pub fn ok(&self) -> bool {
        self.calls > 0 && self.delivered == self.expected && self.p99_ms <= SELF_TEST_P99_LIMIT_MS
    }
}

/// A screen or kiosk as last heard from.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub kind: &'static str,
    pub code: String,
    pub name: String,
    pub last_seen: Option<NaiveDateTime>,
    pub ok: bool,
}

/// Everything the deep part found.
#[derive(Clone, Debug, PartialEq)]
pub struct Deep {
    pub restore: Done,
    pub maintenance: Done,
    pub self_test: Result<SelfTest, String>,
    pub devices: Vec<Device>,
}
