//! The hospital's configuration file (TOML): departments, queues and their
//! rules, rooms and the queues each draws from, doctors to seed, screens and
//! what each shows, privacy and voice settings.
//!
//! [`Hospital::parse`] validates everything at start-up; every error names
//! the file, the line and the field (`hospital.toml:23: rooms[2].department:
//! unknown department "XK"`). The documented format is `docs/configuration.md`;
//! the demo hospital is `config/demo-hospital.toml`.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use triage_actors::mask::VoiceNameMode;
use triage_actors::room::CurrentPolicy;
use triage_actors::rules::QueueRules;

use crate::rule_change::RuleChange;
use triage_actors::screen::{ScreenConfig, ScreenKind};
use triage_ground::ids::{DepartmentCode, DoctorCode, QueueCode, RoomCode, ScreenCode};

/// The bundled demo hospital.
pub const DEMO_HOSPITAL: &str = include_str!("../../config/demo-hospital.toml");

/// A configuration error with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}: {}", self.file, l, self.field, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.field, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    hospital: HospitalSection,
    #[serde(default)]
    privacy: PrivacySection,
    #[serde(default)]
    security: SecurityPolicy,
    #[serde(default)]
    voice: VoiceSection,
    #[serde(default)]
    calling: CallingSection,
    /// Hospital-wide rule defaults (every field optional).
    #[serde(default)]
    rules: Option<Spanned<RuleChange>>,
    departments: Vec<DepartmentSection>,
    queues: Vec<QueueSection>,
    rooms: Vec<RoomSection>,
    #[serde(default)]
    doctors: Vec<DoctorSection>,
    #[serde(default)]
    screens: Vec<ScreenSection>,
    #[serde(default)]
    kiosks: Vec<KioskSection>,
    #[serde(default)]
    backup: BackupSection,
    #[serde(default)]
    schedule: ScheduleSection,
    #[serde(default)]
    alerts: crate::config::alerts::AlertsSection,
    #[serde(default)]
    operations: OperationsSection,
    #[serde(default)]
    patient: crate::config::patient::PatientSection,
}

/// `[schedule]`: the sessions of the clinic day (出诊时段) and how doctors
/// follow the schedule (出诊排班).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleSection {
    #[serde(default = "default_sessions")]
    sessions: Vec<SessionSection>,
    /// Rooms a doctor may sign in to: `scheduled` (the rooms the schedule
    /// gives them now) or `department` (also any room of their department).
    #[serde(default = "default_sign_in")]
    sign_in: String,
    /// Whether a doctor may sit in more than one room at a time.
    #[serde(default)]
    several_rooms: bool,
    /// A doctor's own queue when their session ends and they sit nowhere
    /// in the next: `freeze` or `redistribute`.
    #[serde(default = "default_freeze")]
    after_session: String,
    /// A doctor's own queue when the clinic stops (停诊): `freeze` or
    /// `redistribute`.
    #[serde(default = "default_freeze")]
    stop_clinic: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionSection {
    code: String,
    name: String,
    start: String,
    end: String,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            sessions: default_sessions(),
            sign_in: default_sign_in(),
            several_rooms: false,
            after_session: default_freeze(),
            stop_clinic: default_freeze(),
        }
    }
}

fn default_sessions() -> Vec<SessionSection> {
    [
        ("am", "上午", "08:00", "12:00"),
        ("pm", "下午", "13:30", "17:30"),
        ("eve", "晚上", "18:00", "21:00"),
    ]
    .into_iter()
    .map(|(code, name, start, end)| SessionSection {
        code: code.into(),
        name: name.into(),
        start: start.into(),
        end: end.into(),
    })
    .collect()
}

fn default_sign_in() -> String {
    "scheduled".into()
}

fn default_freeze() -> String {
    "freeze".into()
}

/// A session of the clinic day (出诊时段): 上午, 下午, 晚上.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SessionDef {
    /// `am`, `pm`, `eve` (the hospital's codes).
    pub code: String,
    pub name: String,
    /// When rooms switch to this session's schedule, local time.
    #[schema(value_type = String, example = "08:00")]
    pub start: chrono::NaiveTime,
    /// When the session's notices end, local time.
    #[schema(value_type = String, example = "12:00")]
    pub end: chrono::NaiveTime,
}

/// How the hospital follows its schedule (`[schedule]`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SchedulePolicy {
    /// In order of their start.
    pub sessions: Vec<SessionDef>,
    /// A doctor may also sign in to any room of their department.
    pub sign_in_department: bool,
    pub several_rooms: bool,
    /// Redistribute (else freeze) the own queue of a doctor whose session
    /// ended.
    pub redistribute_after_session: bool,
    /// Redistribute (else freeze) the own queue of a doctor who stopped.
    pub redistribute_on_stop: bool,
}

impl SchedulePolicy {
    pub fn session(&self, code: &str) -> Option<&SessionDef> {
        self.sessions.iter().find(|s| s.code == code)
    }

    /// The session in force at local time `t`: the last one started
    /// (none before the first).
    pub fn in_force(&self, t: chrono::NaiveTime) -> Option<&SessionDef> {
        self.sessions.iter().rev().find(|s| s.start <= t)
    }
}

/// `[backup]`: where backups go, how long they are kept, when the server
/// takes the daily one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSection {
    #[serde(default = "default_backup_dir")]
    dir: String,
    second_dir: Option<String>,
    #[serde(default = "default_keep_days")]
    keep_days: u32,
    /// Local `HH:MM`, or "off".
    #[serde(default = "default_backup_at")]
    at: String,
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            dir: default_backup_dir(),
            second_dir: None,
            keep_days: default_keep_days(),
            at: default_backup_at(),
        }
    }
}

fn default_backup_dir() -> String {
    "backups".into()
}
fn default_keep_days() -> u32 {
    7
}
fn default_backup_at() -> String {
    "02:30".into()
}

/// `[operations]`: reports, archive, and when the server runs a due
/// maintenance, inspection or monthly verification report.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationsSection {
    #[serde(default = "default_reports_dir")]
    reports_dir: String,
    #[serde(default = "default_archive_dir")]
    archive_dir: String,
    /// Local `HH:MM`, or "off".
    #[serde(default = "default_operations_at")]
    at: String,
    #[serde(default = "default_quarter")]
    maintain_every_days: u32,
    #[serde(default = "default_quarter")]
    inspect_every_days: u32,
    /// Each holiday's first day, `YYYY-MM-DD`.
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default = "default_days_before")]
    inspect_days_before: u32,
}

impl Default for OperationsSection {
    fn default() -> Self {
        OperationsSection {
            reports_dir: default_reports_dir(),
            archive_dir: default_archive_dir(),
            at: default_operations_at(),
            maintain_every_days: default_quarter(),
            inspect_every_days: default_quarter(),
            holidays: Vec::new(),
            inspect_days_before: default_days_before(),
        }
    }
}

fn default_reports_dir() -> String {
    "reports".into()
}
fn default_archive_dir() -> String {
    "archive".into()
}
fn default_operations_at() -> String {
    "03:30".into()
}
fn default_quarter() -> u32 {
    90
}
fn default_days_before() -> u32 {
    7
}

/// A self-service check-in kiosk (自助报到机).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KioskSection {
    code: Spanned<String>,
    name: String,
    /// The departments whose patients it checks in; absent: every one (通签).
    departments: Option<Vec<Spanned<String>>>,
}

/// A self-service check-in kiosk (自助报到机): a device with a token, like
/// a screen.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KioskDef {
    pub code: String,
    pub name: String,
    /// The departments it serves; `None`: every one (通签).
    pub departments: Option<Vec<String>>,
}

impl KioskDef {
    /// Whether it checks in patients of `department`.
    pub fn serves(&self, department: &str) -> bool {
        self.departments
            .as_ref()
            .is_none_or(|d| d.iter().any(|c| c == department))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HospitalSection {
    name: String,
}

/// How accounts and sessions are guarded (`[security]`; every field has a
/// default that meets 等保三级).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Web origins (`http://host:port`) besides the server's own whose
    /// pages may open screen sockets.
    pub allowed_origins: Vec<String>,
    /// Shortest password accepted.
    pub password_min_length: usize,
    /// Of the four classes (lower case, upper case, digits, others), how
    /// many a password must contain.
    pub password_min_classes: usize,
    /// A session unused this long ends (seconds).
    pub session_idle_seconds: u64,
    /// Wrong passwords in a row from one address after which each further
    /// attempt on that account from that address waits (1 s, doubling); an
    /// account's failures in a row reaching it raise an alert. Nobody is
    /// locked out (ADR 0017).
    pub lockout_failures: u32,
    /// The longest such wait (seconds).
    pub lockout_seconds: u64,
    /// Login attempts per minute from one address.
    pub login_per_minute: u32,
    /// Whether administrators must give a second factor (TOTP) at login.
    pub admin_totp: bool,
    /// How long audit records are kept (days; at least 180).
    pub audit_retention_days: u32,
    /// The reverse proxies (addresses, or networks holding only proxies,
    /// e.g. `127.0.0.1`) whose `X-Forwarded-For` header names the client;
    /// anyone else's is ignored (ADR 0017).
    pub trusted_proxies: Vec<String>,
    /// `/metrics` asks for `Authorization: Bearer <token>` when set: the
    /// hex SHA-256 of the token Prometheus sends (the token itself is kept
    /// only in Prometheus' credentials file).
    pub metrics_token_sha256: Option<String>,
    /// The server key's file (ADR 0016): it seals the HIS clients' signing
    /// keys and the second-factor secrets the database keeps. Outside the
    /// database and its backups, mode 0600; made at the first start when
    /// missing (the Debian package makes `/etc/triage/server.key` at
    /// install). Relative to the working directory.
    pub server_key_file: String,
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        SecurityPolicy {
            allowed_origins: Vec::new(),
            password_min_length: 8,
            password_min_classes: 3,
            session_idle_seconds: 30 * 60,
            lockout_failures: 5,
            lockout_seconds: 15 * 60,
            login_per_minute: 10,
            admin_totp: true,
            audit_retention_days: 180,
            trusted_proxies: Vec::new(),
            metrics_token_sha256: None,
            server_key_file: "data/server.key".into(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrivacySection {
    #[serde(default)]
    voice_name: VoiceNameMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoiceSection {
    #[serde(default = "default_repeat")]
    repeat: Spanned<u8>,
}

impl Default for VoiceSection {
    fn default() -> Self {
        VoiceSection {
            repeat: Spanned::new(0..0, default_repeat_value()),
        }
    }
}

fn default_repeat_value() -> u8 {
    2
}
fn default_repeat() -> Spanned<u8> {
    Spanned::new(0..0, default_repeat_value())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallingSection {
    #[serde(default)]
    current_on_call_next: CurrentPolicy,
    #[serde(default = "default_next_count")]
    next_count: usize,
    #[serde(default = "default_service_minutes")]
    avg_service_minutes: u32,
    /// When the day ends (日终), local time `HH:MM` (or "off"): every visit
    /// of the day still open closes.
    #[serde(default = "default_day_end")]
    day_end: String,
    /// A visit number typed or scanned in lower case finds the visit
    /// registered in upper case (kiosk and console check-in).
    #[serde(default = "default_any_case")]
    visit_no_any_case: bool,
}

fn default_any_case() -> bool {
    true
}

impl Default for CallingSection {
    fn default() -> Self {
        CallingSection {
            current_on_call_next: CurrentPolicy::Finish,
            next_count: default_next_count(),
            avg_service_minutes: default_service_minutes(),
            day_end: default_day_end(),
            visit_no_any_case: default_any_case(),
        }
    }
}

fn default_day_end() -> String {
    "22:00".into()
}

fn default_next_count() -> usize {
    3
}
fn default_service_minutes() -> u32 {
    6
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepartmentSection {
    code: Spanned<String>,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueSection {
    code: Spanned<String>,
    name: String,
    department: Spanned<String>,
    doctor: Option<String>,
    prefix: Spanned<String>,
    /// This queue's own rules; only what it names overrides the defaults.
    #[serde(default)]
    rules: Option<Spanned<RuleChange>>,
    /// Places from a room at which the patient's N-ahead webhook goes
    /// (overrides `[patient] notify_ahead`; 0: none).
    #[serde(default)]
    notify_ahead: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomSection {
    code: Spanned<String>,
    name: String,
    spoken_name: Option<String>,
    department: Spanned<String>,
    doctor: Option<String>,
    #[serde(default)]
    queues: Vec<Spanned<String>>,
    /// Mix weights, one per queue the room calls from.
    mix: Option<Spanned<Vec<i64>>>,
    /// Two-stage waiting: the room's short list holds this many (0 = off).
    waiting_cap: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DoctorSection {
    code: Spanned<String>,
    name: String,
    department: Spanned<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    introduction: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenSection {
    code: Spanned<String>,
    name: String,
    kind: ScreenKind,
    title: Option<String>,
    department: Option<Spanned<String>>,
    rooms: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    voice: bool,
    next_count: Option<usize>,
    /// A door screen that also lists its room's appointments of today.
    #[serde(default)]
    appointments: bool,
}

/// A department (科室).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Department {
    pub code: DepartmentCode,
    pub name: String,
}

/// A queue (候诊队列) with its merged rules.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueDef {
    pub code: QueueCode,
    pub name: String,
    pub department: DepartmentCode,
    /// Set for a doctor's own queue (专家号); absent for the shared one.
    pub doctor: Option<DoctorCode>,
    pub prefix: String,
    pub rules: QueueRules,
    /// This queue's N-ahead for the patient webhook; none: `[patient]`'s.
    #[serde(default)]
    pub notify_ahead: Option<u32>,
}

/// A room (诊室).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomDef {
    pub code: RoomCode,
    pub name: String,
    pub spoken_name: String,
    pub department: DepartmentCode,
    pub doctor: Option<DoctorCode>,
    pub queues: Vec<QueueCode>,
    /// Mix weights, one per queue in `queues`; empty: in order.
    #[serde(default)]
    pub mix: Vec<u32>,
    /// Two-stage waiting: the room's short list cap (诊室候诊上限); 0 = off.
    #[serde(default)]
    pub waiting_cap: u32,
}

/// A doctor seeded from the configuration (HIS sync overrides).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DoctorDef {
    pub code: DoctorCode,
    pub name: String,
    pub department: DepartmentCode,
    pub title: String,
    pub introduction: String,
}

/// The validated hospital.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hospital {
    pub name: String,
    pub voice_name: VoiceNameMode,
    pub voice_repeat: u8,
    pub current_on_call_next: CurrentPolicy,
    pub next_count: usize,
    pub avg_service_minutes: u32,
    /// Check-in finds `a123` registered as `A123` (`[calling]
    /// visit_no_any_case`, on by default).
    pub visit_no_any_case: bool,
    /// When the day ends by itself (日终), local time; `None` ("off"): only
    /// when an administrator runs it (and, at start, the days before today).
    pub day_end: Option<chrono::NaiveTime>,
    /// Web origins besides the server's own that may open screen sockets.
    pub allowed_origins: Vec<String>,
    /// Accounts, sessions and lockout (`[security]`).
    pub security: SecurityPolicy,
    pub default_rules: QueueRules,
    pub departments: Vec<Department>,
    pub queues: Vec<QueueDef>,
    pub rooms: Vec<RoomDef>,
    pub doctors: Vec<DoctorDef>,
    pub screens: Vec<ScreenConfig>,
    pub kiosks: Vec<KioskDef>,
    /// Backups: directory, second location, days kept, daily time.
    pub backup: super::backup::BackupPolicy,
    /// Sessions of the day and how rooms follow the schedule.
    pub schedule: SchedulePolicy,
    /// Alerts: thresholds, hours, on-call list, mail and webhook.
    pub alerts: crate::config::alerts::AlertPolicy,
    /// Reports, archive and the maintenance and inspection schedule.
    pub operations: super::operations::OperationsPolicy,
    /// The patient's own page (`[patient]`).
    pub patient: super::patient::PatientPolicy,
}

/// The `[security]` limits below which the hospital would fall short of
/// 等保三级 (or lock itself out).
fn check_security(cx: &mut Ctx<'_>, s: &SecurityPolicy) {
    let mut bad = |field: &str, message: &str| {
        cx.errors.push(ConfigError {
            file: cx.file.to_string(),
            line: None,
            field: format!("security.{field}"),
            message: message.to_string(),
        })
    };
    if s.password_min_length < 8 {
        bad("password_min_length", "must be at least 8");
    }
    if !(1..=4).contains(&s.password_min_classes) {
        bad("password_min_classes", "must be 1 to 4");
    }
    if s.session_idle_seconds == 0 {
        bad("session_idle_seconds", "must be more than 0");
    }
    if s.lockout_failures == 0 {
        bad("lockout_failures", "must be at least 1");
    }
    if s.login_per_minute == 0 {
        bad("login_per_minute", "must be at least 1");
    }
    if s.audit_retention_days < 180 {
        bad(
            "audit_retention_days",
            "must be at least 180 (the Cybersecurity Law asks for six months)",
        );
    }
    if let Some(t) = &s.metrics_token_sha256 {
        if t.len() != 64 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
            bad(
                "metrics_token_sha256",
                "must be the 64 hex digits of the token's SHA-256 (printf %s \"$TOKEN\" | sha256sum)",
            );
        }
    }
    for p in &s.trusted_proxies {
        if proxy_network(p).is_none() {
            bad(
                "trusted_proxies",
                &format!(
                    "{p:?} is not an address or a network (e.g. \"127.0.0.1\", \"10.1.0.0/16\")"
                ),
            );
        }
    }
}

/// One entry of `[security] trusted_proxies`: an address or a network.
pub fn proxy_network(text: &str) -> Option<ipnet::IpNet> {
    let t = text.trim();
    t.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| t.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn line_of(&self, span: std::ops::Range<usize>) -> Option<usize> {
        if span.start == 0 && span.end == 0 {
            return None;
        }
        let upto = self.text.get(..span.start)?;
        Some(upto.matches('\n').count() + 1)
    }

    fn err<T>(&mut self, s: &Spanned<T>, field: impl Into<String>, message: impl Into<String>) {
        let line = self.line_of(s.span());
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }

    /// The line of `field` (`sessions[1].end`, `special_levels.vip`) inside
    /// the table spanning `span`: the key's own line where it can be found,
    /// else the table's first line.
    fn line_of_key(&self, span: std::ops::Range<usize>, field: &str) -> Option<usize> {
        let mut span = span;
        if self.text.get(span.clone())?.trim_start().starts_with('[') {
            // A `[table]`: its keys follow the header, up to the next header.
            let rest = self.text.get(span.start..)?;
            let body = rest.find('\n').map_or(rest.len(), |n| n + 1);
            let end = rest[body..].find("\n[").map_or(rest.len(), |n| body + n);
            span = span.start..span.start + end;
        }
        let table = self.text.get(span.clone())?;
        let mut from = 0;
        for part in field.split(['.', '[']) {
            let key = part.trim_end_matches(']');
            if key.is_empty() || key.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if let Some(at) = find_key(&table[from..], key) {
                from += at;
            }
        }
        self.line_of(span.start + from..span.start + from)
            .or_else(|| self.line_of(span))
    }

    fn err_noline(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line: None,
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Where `key` stands as a key (`key =` or `key=`) in `text`.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut start = 0;
    while let Some(at) = text[start..].find(key) {
        let pos = start + at;
        let before = text[..pos].chars().next_back();
        let after = text[pos + key.len()..].trim_start();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after.starts_with('=') {
            return Some(pos);
        }
        start = pos + key.len();
    }
    None
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Hospital {
    /// Parses and validates a configuration; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Hospital, Vec<ConfigError>> {
        let raw: File = toml::from_str(text).map_err(|e| syntax_error(text, file, &e))?;
        let mut cx = Ctx {
            file,
            text,
            errors: Vec::new(),
        };
        let default_rules =
            merge_rules(&mut cx, &QueueRules::default(), raw.rules.as_ref(), "rules");
        if !(1..=5).contains(raw.voice.repeat.get_ref()) {
            cx.err(&raw.voice.repeat, "voice.repeat", "must be 1 to 5");
        }
        check_security(&mut cx, &raw.security);
        let day_end = day_end(&mut cx, &raw.calling);
        let (departments, dept_codes) = departments(&mut cx, &raw.departments);
        let (queues, queue_codes) = queues(
            &mut cx,
            &raw.queues,
            &departments,
            &dept_codes,
            &default_rules,
        );
        let mut known = Known {
            departments: dept_codes,
            queues: queue_codes,
            rooms: HashSet::new(),
        };
        let rooms = rooms(&mut cx, &raw.rooms, &queues, &known);
        known.rooms = rooms.iter().map(|r| r.code.to_string()).collect();
        let doctors = doctors(&mut cx, &raw.doctors, &known);
        let screens = screens(
            &mut cx,
            &raw.screens,
            &raw.calling,
            &departments,
            &rooms,
            &known,
        );
        let kiosks = kiosks(&mut cx, &raw.kiosks, &screens, &known);
        let backup = backup_policy(&mut cx, &raw.backup);
        let operations = operations_policy(&mut cx, &raw.operations);
        let schedule = schedule_policy(&mut cx, &raw.schedule);
        let alerts = crate::config::alerts::policy(&raw.alerts, &mut |field, message| {
            cx.errors.push(ConfigError {
                file: cx.file.to_string(),
                line: None,
                field,
                message,
            })
        });
        let patient = crate::config::patient::policy(&raw.patient, &mut |field, message| {
            cx.errors.push(ConfigError {
                file: cx.file.to_string(),
                line: None,
                field,
                message,
            })
        });
        if !cx.errors.is_empty() {
            return Err(cx.errors);
        }
        Ok(Hospital {
            name: raw.hospital.name,
            voice_name: raw.privacy.voice_name,
            voice_repeat: *raw.voice.repeat.get_ref(),
            current_on_call_next: raw.calling.current_on_call_next,
            next_count: raw.calling.next_count,
            avg_service_minutes: raw.calling.avg_service_minutes.max(1),
            visit_no_any_case: raw.calling.visit_no_any_case,
            day_end,
            allowed_origins: raw
                .security
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            security: raw.security.clone(),
            default_rules,
            departments,
            queues,
            rooms,
            doctors,
            screens,
            kiosks,
            backup,
            schedule,
            alerts,
            operations,
            patient,
        })
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &std::path::Path) -> Result<Hospital, Vec<ConfigError>> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![ConfigError {
                file: name.clone(),
                line: None,
                field: "(file)".into(),
                message: e.to_string(),
            }]
        })?;
        Hospital::parse(&text, &name)
    }

    /// The bundled demo hospital.
    pub fn demo() -> Hospital {
        match Hospital::parse(DEMO_HOSPITAL, "demo-hospital.toml") {
            Ok(h) => h,
            Err(errs) => {
                // The demo file is tested; this only fires if it was broken.
                let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                panic!("bundled demo hospital is invalid: {}", text.join("; "))
            }
        }
    }

    pub fn department(&self, code: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.code == code)
    }

    /// The kiosk `code`, if configured.
    pub fn kiosk(&self, code: &str) -> Option<&KioskDef> {
        self.kiosks.iter().find(|k| k.code == code)
    }

    /// The room `code`, if configured.
    pub fn room(&self, code: &str) -> Option<&RoomDef> {
        self.rooms.iter().find(|r| r.code == code)
    }

    pub fn queue(&self, code: &str) -> Option<&QueueDef> {
        self.queues.iter().find(|q| q.code == code)
    }

    /// Places from a room at which a patient of `queue` gets the N-ahead
    /// webhook (0: none).
    pub fn notify_ahead(&self, queue: &str) -> u32 {
        self.queue(queue)
            .and_then(|q| q.notify_ahead)
            .unwrap_or(self.patient.notify_ahead)
    }

    /// The queue a registration enters: the doctor's own queue if there is
    /// one (expert registration), else the department's shared queue.
    pub fn queue_for(&self, department: &str, doctor: Option<&str>) -> Option<&QueueDef> {
        if let Some(doc) = doctor {
            if let Some(q) = self
                .queues
                .iter()
                .find(|q| q.department == department && q.doctor.as_deref() == Some(doc))
            {
                return Some(q);
            }
        }
        self.queues
            .iter()
            .find(|q| q.department == department && q.doctor.is_none())
    }

    /// The queue a patient sent to `room` waits in: the first the room
    /// calls from (its doctor's own queue, else its department's), as a
    /// transfer to the room does.
    pub fn queue_for_room(&self, room: &str) -> Option<&QueueDef> {
        self.room(room)?.queues.first().and_then(|q| self.queue(q))
    }

    /// The room a visit booked for `appointed_room` is kept for while it
    /// waits in `queue`: that room, if it calls from the queue (after a
    /// transfer to a queue it does not call from, none: any room there).
    pub fn reserved_room(&self, appointed_room: Option<&str>, queue: &str) -> Option<RoomCode> {
        let room = self.room(appointed_room?)?;
        room.queues
            .iter()
            .any(|q| q == queue)
            .then(|| room.code.clone())
    }
}

/// The code sets earlier sections give the later ones to check against.
struct Known {
    departments: HashSet<String>,
    queues: HashSet<String>,
    rooms: HashSet<String>,
}

/// `[[departments]]`: codes unique and well formed, at least one.
fn departments(cx: &mut Ctx<'_>, raw: &[DepartmentSection]) -> (Vec<Department>, HashSet<String>) {
    let mut departments = Vec::new();
    let mut dept_codes = HashSet::new();
    for (i, d) in raw.iter().enumerate() {
        let code = d.code.get_ref();
        if !valid_code(code) {
            cx.err(
                &d.code,
                format!("departments[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if !dept_codes.insert(code.clone()) {
            cx.err(
                &d.code,
                format!("departments[{i}].code"),
                format!("duplicate department {code:?}"),
            );
        }
        departments.push(Department {
            code: DepartmentCode::trusted(code.clone()),
            name: d.name.clone(),
        });
    }
    if departments.is_empty() {
        cx.err_noline("departments", "at least one department is needed");
    }

    (departments, dept_codes)
}

/// A queue's `notify_ahead` (0–[`MAX_AHEAD`](crate::config::patient::MAX_AHEAD)).
fn notify_ahead_of(cx: &mut Ctx<'_>, n: Option<&Spanned<i64>>, i: usize) -> Option<u32> {
    let n = n?;
    let max = crate::config::patient::MAX_AHEAD;
    if (0..=max).contains(n.get_ref()) {
        Some(*n.get_ref() as u32)
    } else {
        cx.err(
            n,
            format!("queues[{i}].notify_ahead"),
            format!("前面还剩几人时通知患者：0（不通知）到 {max}"),
        );
        None
    }
}

/// `[[queues]]`: codes and ticket prefixes unique, a known department, one
/// shared queue (without a doctor) per department, rules merged with the
/// hospital's defaults.
fn queues(
    cx: &mut Ctx<'_>,
    raw: &[QueueSection],
    departments: &[Department],
    dept_codes: &HashSet<String>,
    default_rules: &QueueRules,
) -> (Vec<QueueDef>, HashSet<String>) {
    let mut queues = Vec::new();
    let mut queue_codes = HashSet::new();
    let mut prefixes = HashSet::new();
    let mut shared: HashMap<String, usize> = HashMap::new();
    for (i, q) in raw.iter().enumerate() {
        let code = q.code.get_ref();
        if !valid_code(code) {
            cx.err(
                &q.code,
                format!("queues[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if !queue_codes.insert(code.clone()) {
            cx.err(
                &q.code,
                format!("queues[{i}].code"),
                format!("duplicate queue {code:?}"),
            );
        }
        if !dept_codes.contains(q.department.get_ref()) {
            cx.err(
                &q.department,
                format!("queues[{i}].department"),
                format!("unknown department {:?}", q.department.get_ref()),
            );
        }
        let prefix = q.prefix.get_ref();
        if prefix.is_empty() || prefix.len() > 2 || !prefix.chars().all(|c| c.is_ascii_uppercase())
        {
            cx.err(
                &q.prefix,
                format!("queues[{i}].prefix"),
                "1 or 2 capital letters (A, B, ZK)",
            );
        } else if !prefixes.insert(prefix.clone()) {
            cx.err(
                &q.prefix,
                format!("queues[{i}].prefix"),
                format!("prefix {prefix:?} is used by another queue"),
            );
        }
        if q.doctor.is_none() {
            *shared.entry(q.department.get_ref().clone()).or_default() += 1;
            if shared[q.department.get_ref()] > 1 {
                cx.err(
                    &q.code,
                    format!("queues[{i}].doctor"),
                    format!(
                        "department {:?} already has a shared queue (set doctor for a doctor's own queue)",
                        q.department.get_ref()
                    ),
                );
            }
        }
        let rules = merge_rules(
            cx,
            default_rules,
            q.rules.as_ref(),
            &format!("queues[{i}].rules"),
        );
        let notify_ahead = notify_ahead_of(cx, q.notify_ahead.as_ref(), i);
        queues.push(QueueDef {
            code: QueueCode::trusted(code.clone()),
            name: q.name.clone(),
            department: DepartmentCode::trusted(q.department.get_ref().clone()),
            doctor: q.doctor.clone().map(DoctorCode::trusted),
            prefix: prefix.clone(),
            rules,
            notify_ahead,
        });
    }
    for d in departments {
        if !shared.contains_key(d.code.as_str()) {
            cx.err_noline(
                "queues",
                format!(
                    "department {:?} has no shared queue (a queue without doctor)",
                    d.code
                ),
            );
        }
    }

    (queues, queue_codes)
}

/// `[[rooms]]`: codes unique, a known department, known queues (by default
/// the doctor's own, then the department's shared one), the mix and the
/// short list's cap in range.
/// A syntax error of the file, with its line.
fn syntax_error(text: &str, file: &str, e: &toml::de::Error) -> Vec<ConfigError> {
    let line = e
        .span()
        .and_then(|s| text.get(..s.start).map(|t| t.matches('\n').count() + 1));
    vec![ConfigError {
        file: file.to_string(),
        line,
        field: "(syntax)".into(),
        message: e.message().to_string(),
    }]
}

/// `calling.day_end`: a local time, or "off".
fn day_end(cx: &mut Ctx<'_>, calling: &CallingSection) -> Option<chrono::NaiveTime> {
    match calling.day_end.trim() {
        "off" => None,
        t => match chrono::NaiveTime::parse_from_str(t, "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                cx.errors.push(ConfigError {
                    file: cx.file.to_string(),
                    line: None,
                    field: "calling.day_end".into(),
                    message: "a local time HH:MM, e.g. 22:00, or \"off\"".into(),
                });
                None
            }
        },
    }
}

fn rooms(
    cx: &mut Ctx<'_>,
    raw: &[RoomSection],
    queues: &[QueueDef],
    known: &Known,
) -> Vec<RoomDef> {
    let mut rooms = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let code = r.code.get_ref();
        if !valid_code(code) {
            cx.err(
                &r.code,
                format!("rooms[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if rooms.iter().any(|x: &RoomDef| x.code == *code) {
            cx.err(
                &r.code,
                format!("rooms[{i}].code"),
                format!("duplicate room {code:?}"),
            );
        }
        if !known.departments.contains(r.department.get_ref()) {
            cx.err(
                &r.department,
                format!("rooms[{i}].department"),
                format!("unknown department {:?}", r.department.get_ref()),
            );
        }
        let mut draws = Vec::new();
        for (j, q) in r.queues.iter().enumerate() {
            if !known.queues.contains(q.get_ref()) {
                cx.err(
                    q,
                    format!("rooms[{i}].queues[{j}]"),
                    format!("unknown queue {:?}", q.get_ref()),
                );
            }
            draws.push(q.get_ref().clone());
        }
        if draws.is_empty() {
            // Default: the doctor's own queue first, then the department's.
            if let Some(doc) = &r.doctor {
                draws.extend(
                    queues
                        .iter()
                        .filter(|q| q.doctor.as_ref().is_some_and(|x| x == doc))
                        .map(|q| q.code.to_string()),
                );
            }
            draws.extend(
                queues
                    .iter()
                    .filter(|q| q.department == *r.department.get_ref() && q.doctor.is_none())
                    .map(|q| q.code.to_string()),
            );
        }
        let mix = room_mix(cx, i, r, &draws);
        let mut waiting_cap = 0;
        if let Some(n) = &r.waiting_cap {
            if (0..=20).contains(n.get_ref()) {
                waiting_cap = *n.get_ref() as u32;
            } else {
                cx.err(n, format!("rooms[{i}].waiting_cap"), "0 (off) to 20");
            }
        }
        rooms.push(RoomDef {
            code: RoomCode::trusted(code.clone()),
            name: r.name.clone(),
            spoken_name: r.spoken_name.clone().unwrap_or_else(|| r.name.clone()),
            department: DepartmentCode::trusted(r.department.get_ref().clone()),
            doctor: r.doctor.clone().map(DoctorCode::trusted),
            queues: draws.into_iter().map(QueueCode::trusted).collect(),
            mix,
            waiting_cap,
        });
    }

    rooms
}

/// `rooms[i].mix`: one weight per queue the room calls from, 0 to 20, at
/// least one above 0 (empty when absent or wrong).
fn room_mix(cx: &mut Ctx<'_>, i: usize, r: &RoomSection, draws: &[String]) -> Vec<u32> {
    let mut mix = Vec::new();
    if let Some(m) = &r.mix {
        let weights = m.get_ref();
        if weights.len() != draws.len() {
            cx.err(
                m,
                format!("rooms[{i}].mix"),
                format!(
                    "one weight per queue the room calls from ({}: {})",
                    draws.len(),
                    draws.join(", ")
                ),
            );
        } else if weights.iter().any(|w| !(0..=20).contains(w)) || weights.iter().sum::<i64>() == 0
        {
            cx.err(
                m,
                format!("rooms[{i}].mix"),
                "weights are 0 to 20, at least one above 0",
            );
        } else {
            mix = weights.iter().map(|w| *w as u32).collect();
        }
    }
    mix
}

/// `[[doctors]]`: well-formed codes, known departments.
fn doctors(cx: &mut Ctx<'_>, raw: &[DoctorSection], known: &Known) -> Vec<DoctorDef> {
    let mut doctors = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        if !valid_code(d.code.get_ref()) {
            cx.err(
                &d.code,
                format!("doctors[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if !known.departments.contains(d.department.get_ref()) {
            cx.err(
                &d.department,
                format!("doctors[{i}].department"),
                format!("unknown department {:?}", d.department.get_ref()),
            );
        }
        doctors.push(DoctorDef {
            code: DoctorCode::trusted(d.code.get_ref().clone()),
            name: d.name.clone(),
            department: DepartmentCode::trusted(d.department.get_ref().clone()),
            title: d.title.clone(),
            introduction: d.introduction.clone(),
        });
    }

    doctors
}

/// `[backup]`, checked: at least 7 days kept, a time or "off".
fn backup_policy(cx: &mut Ctx<'_>, raw: &BackupSection) -> super::backup::BackupPolicy {
    let mut bad = |field: &str, message: &str| {
        cx.errors.push(ConfigError {
            file: cx.file.to_string(),
            line: None,
            field: format!("backup.{field}"),
            message: message.to_string(),
        })
    };
    if raw.keep_days < 7 {
        bad("keep_days", "backups are kept at least 7 days");
    }
    if raw.dir.trim().is_empty() {
        bad("dir", "a directory for the backups");
    }
    let at = match raw.at.trim() {
        "off" => None,
        t => match chrono::NaiveTime::parse_from_str(t, "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                bad("at", "a local time HH:MM, e.g. 02:30, or \"off\"");
                None
            }
        },
    };
    super::backup::BackupPolicy {
        dir: raw.dir.trim().into(),
        second_dir: raw.second_dir.as_deref().map(|d| d.trim().into()),
        keep_days: raw.keep_days,
        at,
    }
}

/// `[operations]`, checked: directories named, a time or "off", at most
/// 92 days between maintenances (quarterly) and inspections, real dates.
fn operations_policy(
    cx: &mut Ctx<'_>,
    raw: &OperationsSection,
) -> super::operations::OperationsPolicy {
    let mut bad = |field: &str, message: &str| {
        cx.errors.push(ConfigError {
            file: cx.file.to_string(),
            line: None,
            field: format!("operations.{field}"),
            message: message.to_string(),
        })
    };
    for (field, dir) in [
        ("reports_dir", &raw.reports_dir),
        ("archive_dir", &raw.archive_dir),
    ] {
        if dir.trim().is_empty() {
            bad(field, "a directory");
        }
    }
    for (field, days) in [
        ("maintain_every_days", raw.maintain_every_days),
        ("inspect_every_days", raw.inspect_every_days),
    ] {
        if !(1..=92).contains(&days) {
            bad(
                field,
                "1 to 92 days (the service terms ask for at least quarterly)",
            );
        }
    }
    if raw.inspect_days_before > 60 {
        bad("inspect_days_before", "at most 60 days");
    }
    let at = match raw.at.trim() {
        "off" => None,
        t => match chrono::NaiveTime::parse_from_str(t, "%H:%M") {
            Ok(t) => Some(t),
            Err(_) => {
                bad("at", "a local time HH:MM, e.g. 03:30, or \"off\"");
                None
            }
        },
    };
    let mut holidays = Vec::new();
    for h in &raw.holidays {
        match chrono::NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d") {
            Ok(d) => holidays.push(d),
            Err(_) => bad("holidays", "dates YYYY-MM-DD (each holiday's first day)"),
        }
    }
    holidays.sort();
    super::operations::OperationsPolicy {
        reports_dir: raw.reports_dir.trim().into(),
        archive_dir: raw.archive_dir.trim().into(),
        at,
        maintain_every_days: raw.maintain_every_days,
        inspect_every_days: raw.inspect_every_days,
        holidays,
        inspect_days_before: raw.inspect_days_before,
    }
}

/// `[schedule]`: sessions with unique codes, each starting before it ends
/// and after the one before; the choices spelled as documented.
fn schedule_policy(cx: &mut Ctx<'_>, raw: &ScheduleSection) -> SchedulePolicy {
    let mut bad = |field: String, message: &str| {
        cx.errors.push(ConfigError {
            file: cx.file.to_string(),
            line: None,
            field: format!("schedule.{field}"),
            message: message.to_string(),
        })
    };
    let time = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
    let mut sessions: Vec<SessionDef> = Vec::new();
    for (i, s) in raw.sessions.iter().enumerate() {
        if !valid_code(&s.code) || sessions.iter().any(|x| x.code == s.code) {
            bad(
                format!("sessions[{i}].code"),
                "a unique code (letters, digits, - or _)",
            );
        }
        if s.name.trim().is_empty() {
            bad(format!("sessions[{i}].name"), "a name, e.g. 上午");
        }
        let (Some(start), Some(end)) = (time(&s.start), time(&s.end)) else {
            bad(
                format!("sessions[{i}].start"),
                "start and end are local times HH:MM",
            );
            continue;
        };
        if end <= start {
            bad(
                format!("sessions[{i}].end"),
                "a session ends after it starts",
            );
        }
        if sessions
            .last()
            .is_some_and(|p| p.start >= start || p.end > start)
        {
            bad(
                format!("sessions[{i}].start"),
                "sessions are listed in the order of the day and do not overlap",
            );
        }
        sessions.push(SessionDef {
            code: s.code.clone(),
            name: s.name.trim().into(),
            start,
            end,
        });
    }
    if sessions.is_empty() {
        bad("sessions".into(), "at least one session");
    }
    let mut choice = |field: &str, value: &str, yes: &str, no: &str| -> bool {
        if value != yes && value != no {
            bad(field.into(), &format!("\"{no}\" or \"{yes}\""));
        }
        value == yes
    };
    SchedulePolicy {
        sessions,
        sign_in_department: choice("sign_in", &raw.sign_in, "department", "scheduled"),
        several_rooms: raw.several_rooms,
        redistribute_after_session: choice(
            "after_session",
            &raw.after_session,
            "redistribute",
            "freeze",
        ),
        redistribute_on_stop: choice("stop_clinic", &raw.stop_clinic, "redistribute", "freeze"),
    }
}

/// The kiosks: codes unique among kiosks and screens (they share device
/// tokens), known departments.
fn kiosks(
    cx: &mut Ctx<'_>,
    raw: &[KioskSection],
    screens: &[ScreenConfig],
    known: &Known,
) -> Vec<KioskDef> {
    let mut out: Vec<KioskDef> = Vec::new();
    for (i, k) in raw.iter().enumerate() {
        let code = k.code.get_ref();
        if !valid_code(code) {
            cx.err(
                &k.code,
                format!("kiosks[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if out.iter().any(|o| &o.code == code) || screens.iter().any(|s| &s.code == code) {
            cx.err(
                &k.code,
                format!("kiosks[{i}].code"),
                format!("{code:?} is already a kiosk or a screen"),
            );
        }
        let departments = k.departments.as_ref().map(|list| {
            for (j, d) in list.iter().enumerate() {
                if !known.departments.contains(d.get_ref()) {
                    cx.err(
                        d,
                        format!("kiosks[{i}].departments[{j}]"),
                        format!("no department {:?}", d.get_ref()),
                    );
                }
            }
            list.iter().map(|d| d.get_ref().clone()).collect()
        });
        out.push(KioskDef {
            code: code.clone(),
            name: k.name.clone(),
            departments,
        });
    }
    out
}

/// `[[screens]]`: codes unique, the rooms they show known (a door screen
/// exactly one, an overview at least one), titles and counts completed.
fn screens(
    cx: &mut Ctx<'_>,
    raw: &[ScreenSection],
    calling: &CallingSection,
    departments: &[Department],
    rooms: &[RoomDef],
    known: &Known,
) -> Vec<ScreenConfig> {
    let mut screens = Vec::new();
    let mut screen_codes = HashSet::new();
    for (i, s) in raw.iter().enumerate() {
        let code = s.code.get_ref();
        if !valid_code(code) {
            cx.err(
                &s.code,
                format!("screens[{i}].code"),
                "codes are 1-32 letters, digits, - or _",
            );
        }
        if !screen_codes.insert(code.clone()) {
            cx.err(
                &s.code,
                format!("screens[{i}].code"),
                format!("duplicate screen {code:?}"),
            );
        }
        let mut shown: Vec<String> = Vec::new();
        if let Some(list) = &s.rooms {
            for (j, r) in list.iter().enumerate() {
                if !known.rooms.contains(r.get_ref()) {
                    cx.err(
                        r,
                        format!("screens[{i}].rooms[{j}]"),
                        format!("unknown room {:?}", r.get_ref()),
                    );
                }
                shown.push(r.get_ref().clone());
            }
        }
        let mut title = s.title.clone();
        if let Some(d) = &s.department {
            if !known.departments.contains(d.get_ref()) {
                cx.err(
                    d,
                    format!("screens[{i}].department"),
                    format!("unknown department {:?}", d.get_ref()),
                );
            }
            if s.rooms.is_none() {
                shown.extend(
                    rooms
                        .iter()
                        .filter(|r| r.department == *d.get_ref())
                        .map(|r| r.code.to_string()),
                );
            }
            if title.is_none() {
                title = departments
                    .iter()
                    .find(|x| x.code == *d.get_ref())
                    .map(|x| x.name.clone());
            }
        }
        check_screen_kind(cx, i, s, &shown);
        if title.is_none() && s.kind == ScreenKind::Door {
            title = shown
                .first()
                .and_then(|r| rooms.iter().find(|x| x.code == *r))
                .map(|r| r.name.clone());
        }
        let next_count = s.next_count.unwrap_or(calling.next_count);
        screens.push(ScreenConfig {
            code: ScreenCode::trusted(code.clone()),
            name: s.name.clone(),
            kind: s.kind,
            title: title.unwrap_or_else(|| s.name.clone()),
            rooms: shown.into_iter().map(RoomCode::trusted).collect(),
            voice: s.voice,
            next_count: next_count.clamp(1, 10),
            appointments: s.appointments,
        });
    }

    screens
}

/// A door screen shows one room (and alone lists appointments); an
/// overview screen shows some.
fn check_screen_kind(cx: &mut Ctx<'_>, i: usize, s: &ScreenSection, shown: &[String]) {
    match s.kind {
        ScreenKind::Door if shown.len() != 1 => cx.err(
            &s.code,
            format!("screens[{i}].rooms"),
            "a door screen shows exactly one room",
        ),
        ScreenKind::Overview if shown.is_empty() => cx.err(
            &s.code,
            format!("screens[{i}].rooms"),
            "an overview screen needs a department or rooms",
        ),
        _ => {}
    }
    if s.appointments && s.kind != ScreenKind::Door {
        cx.err(
            &s.code,
            format!("screens[{i}].appointments"),
            "only a door screen lists its room's appointments",
        );
    }
}

fn merge_rules(
    cx: &mut Ctx<'_>,
    base: &QueueRules,
    change: Option<&Spanned<RuleChange>>,
    path: &str,
) -> QueueRules {
    let Some(change) = change else {
        return base.clone();
    };
    match change.get_ref().apply(base) {
        Ok(r) => r,
        Err(errors) => {
            for e in errors {
                let line = cx.line_of_key(change.span(), &e.field);
                cx.errors.push(ConfigError {
                    file: cx.file.to_string(),
                    line,
                    field: format!("{path}.{}", e.field),
                    message: e.message,
                });
            }
            base.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_hospital_is_valid() {
        let h = Hospital::parse(DEMO_HOSPITAL, "demo").map_err(|e| format!("{e:?}"));
        let h = h.unwrap_or_else(|e| panic!("{e}"));
        assert!(h.departments.len() >= 2);
        assert!(h.rooms.len() >= 6);
    }

    #[test]
    fn rule_errors_name_the_line_of_the_key_in_tables_and_inline_tables() {
        let text = DEMO_HOSPITAL
            .replacen("fairness_cap = 5 ", "fairness_cap = 99 ", 1)
            .replacen("slot_minutes = 20,", "slot_minutes = 1,", 1);
        assert_ne!(text, DEMO_HOSPITAL, "fixture must change the file");
        let errs = Hospital::parse(&text, "h.toml").err().unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let found: Vec<(String, String)> = errs
            .iter()
            .map(|e| {
                let line = e.line.map_or("", |l| lines[l - 1].trim());
                (e.field.clone(), line.to_string())
            })
            .collect();
        assert_eq!(found.len(), 2, "{errs:?}");
        assert_eq!(found[0].0, "rules.fairness_cap");
        assert!(found[0].1.starts_with("fairness_cap = 99"), "{found:?}");
        assert_eq!(found[1].0, "queues[3].rules.slot_minutes");
        assert!(found[1].1.contains("slot_minutes = 1,"), "{found:?}");
    }

    #[test]
    fn schedule_sessions_are_checked_and_found_by_time() {
        let h = Hospital::parse(DEMO_HOSPITAL, "demo").unwrap_or_else(|e| panic!("{e:?}"));
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_default();
        let at = |s: &str| h.schedule.in_force(t(s)).map(|x| x.code.as_str());
        assert_eq!(at("07:59"), None);
        assert_eq!(at("08:00"), Some("am"));
        assert_eq!(at("12:30"), Some("am"), "until the next session starts");
        assert_eq!(at("13:30"), Some("pm"));
        assert_eq!(at("23:00"), Some("eve"));
        for (from, to, field) in [
            (
                "start = \"13:30\"",
                "start = \"07:00\"",
                "schedule.sessions[1].start",
            ),
            (
                "end = \"12:00\"",
                "end = \"07:00\"",
                "schedule.sessions[0].end",
            ),
            (
                "code = \"pm\"",
                "code = \"am\"",
                "schedule.sessions[1].code",
            ),
            (
                "sign_in = \"scheduled\"",
                "sign_in = \"anywhere\"",
                "schedule.sign_in",
            ),
            (
                "after_session = \"freeze\"",
                "after_session = \"move\"",
                "schedule.after_session",
            ),
        ] {
            let text = DEMO_HOSPITAL.replacen(from, to, 1);
            let errs = Hospital::parse(&text, "h.toml").err().unwrap_or_default();
            assert!(errs.iter().any(|e| e.field == field), "{field}: {errs:?}");
        }
    }

    #[test]
    fn room_mix_needs_one_weight_per_queue() {
        let text = DEMO_HOSPITAL.replacen("mix = [2, 1]", "mix = [2, 1, 1]", 1);
        let errs = Hospital::parse(&text, "h.toml").err().unwrap_or_default();
        let first = errs.first().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            first.contains("rooms[7].mix: one weight per queue"),
            "{first}"
        );
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let text = DEMO_HOSPITAL.replacen(
            "department = \"NK\"\ndoctor = \"D1001\"",
            "department = \"XX\"\ndoctor = \"D1001\"",
            1,
        );
        assert_ne!(text, DEMO_HOSPITAL, "fixture must change the file");
        let errs = Hospital::parse(&text, "h.toml").err().unwrap_or_default();
        let first = errs.first().map(|e| e.to_string()).unwrap_or_default();
        assert!(first.starts_with("h.toml:"), "{first}");
        assert!(first.contains("unknown department \"XX\""), "{first}");
        let line = errs[0].line.unwrap_or(0);
        assert_eq!(
            text.lines().nth(line - 1).map(str::trim),
            Some("department = \"XX\"")
        );
    }
}
