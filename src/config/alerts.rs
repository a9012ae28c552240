//! `[alerts]` of the configuration: when a condition becomes a fault
//! (thresholds, working and quiet hours), who is told (the on-call list, in
//! escalation order) and how (SMTP, a group-robot webhook).

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// `[alerts]` as written (every field optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    #[serde(default = "default_working")]
    working_hours: String,
    #[serde(default = "default_off")]
    quiet_hours: String,
    #[serde(default = "default_screen_offline")]
    screen_offline_seconds: u64,
    #[serde(default = "default_his_silent")]
    his_silent_minutes: u64,
    #[serde(default = "default_error_rate")]
    error_rate_percent: u32,
    #[serde(default = "default_error_min")]
    error_rate_min_requests: u64,
    #[serde(default = "default_queue_wait")]
    queue_wait_minutes: u64,
    #[serde(default = "default_disk_free")]
    disk_free_percent: u32,
    #[serde(default = "default_disk_free_mb")]
    disk_free_mb: u64,
    #[serde(default = "default_ack")]
    ack_seconds: u64,
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    mail_to: Vec<String>,
    #[serde(default)]
    smtp: Option<SmtpSection>,
    #[serde(default)]
    webhook: Option<WebhookSection>,
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            working_hours: default_working(),
            quiet_hours: default_off(),
            screen_offline_seconds: default_screen_offline(),
            his_silent_minutes: default_his_silent(),
            error_rate_percent: default_error_rate(),
            error_rate_min_requests: default_error_min(),
            queue_wait_minutes: default_queue_wait(),
            disk_free_percent: default_disk_free(),
            disk_free_mb: default_disk_free_mb(),
            ack_seconds: default_ack(),
            public_url: None,
            mail_to: Vec::new(),
            smtp: None,
            webhook: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpSection {
    host: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default = "default_starttls")]
    security: String,
    #[serde(default)]
    username: Option<String>,
    /// The password itself (prefer `password_env`).
    #[serde(default)]
    password: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    password_env: Option<String>,
    from: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSection {
    kind: String,
    url: String,
}

fn default_working() -> String {
    "07:30-18:00".into()
}
fn default_off() -> String {
    "off".into()
}
fn default_screen_offline() -> u64 {
    120
}
fn default_his_silent() -> u64 {
    30
}
fn default_error_rate() -> u32 {
    5
}
fn default_error_min() -> u64 {
    50
}
fn default_queue_wait() -> u64 {
    90
}
fn default_disk_free() -> u32 {
    10
}
fn default_disk_free_mb() -> u64 {
    5 * 1024
}
fn default_ack() -> u64 {
    600
}
fn default_starttls() -> String {
    "starttls".into()
}

/// How mail reaches the SMTP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP (a relay inside the hospital's network).
    None,
    /// STARTTLS on the submission port.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// The SMTP server and the sender.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpPolicy {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Read from the configuration or its environment variable at start;
    /// never logged.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    pub from: String,
}

/// A group robot (群机器人) of WeCom or DingTalk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    Wecom,
    Dingtalk,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPolicy {
    pub kind: WebhookKind,
    /// Carries the robot's key: never logged.
    #[serde(skip_serializing)]
    pub url: String,
}

// Debug without the password or the robot's key.
impl std::fmt::Debug for SmtpPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPolicy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

impl std::fmt::Debug for WebhookPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookPolicy")
            .field("kind", &self.kind)
            .field("url", &"***")
            .finish()
    }
}

/// A daily window of local time (may run past midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl Window {
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.from <= self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

/// The validated `[alerts]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertPolicy {
    /// Screens offline and HIS silent count only then; `None`: always.
    pub working_hours: Option<Window>,
    /// Warnings wait until it ends (critical alerts never wait).
    pub quiet_hours: Option<Window>,
    pub screen_offline_seconds: u64,
    pub his_silent_minutes: u64,
    pub error_rate_percent: u32,
    pub error_rate_min_requests: u64,
    pub queue_wait_minutes: u64,
    pub disk_free_percent: u32,
    /// …and less than this many MB (a large disk with 8 % free is not
    /// full).
    pub disk_free_mb: u64,
    /// Unacknowledged this long: a reminder, and the next person is told.
    pub ack_seconds: u64,
    /// The server's address as on-call staff reach it (links in mails).
    pub public_url: Option<String>,
    /// On-call addresses in escalation order.
    pub mail_to: Vec<String>,
    pub smtp: Option<SmtpPolicy>,
    pub webhook: Option<WebhookPolicy>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        let mut errors = Vec::new();
        policy(&AlertsSection::default(), &mut |f, m| errors.push((f, m)))
    }
}

fn window(text: &str) -> Result<Option<Window>, ()> {
    let text = text.trim();
    if text == "off" || text == "always" {
        return Ok(None);
    }
    let (a, b) = text.split_once('-').ok_or(())?;
    let time = |s: &str| {
        let s = s.trim();
        if s == "24:00" {
            return NaiveTime::from_hms_opt(23, 59, 59).ok_or(());
        }
        NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| ())
    };
    Ok(Some(Window {
        from: time(a)?,
        to: time(b)?,
    }))
}

fn valid_address(a: &str) -> bool {
    a.parse::<lettre::Address>().is_ok()
}

/// Validates `[alerts]`; each problem goes to `bad(field, message)`.
pub fn policy(raw: &AlertsSection, bad: &mut dyn FnMut(String, String)) -> AlertPolicy {
    let mut win = |field: &str, text: &str, what: &str| match window(text) {
        Ok(w) => w,
        Err(()) => {
            bad(
                field.into(),
                format!("{what}: a local window \"HH:MM-HH:MM\" (e.g. \"07:30-18:00\") or \"off\""),
            );
            None
        }
    };
    let working_hours = win("alerts.working_hours", &raw.working_hours, "working hours");
    let quiet_hours = win("alerts.quiet_hours", &raw.quiet_hours, "quiet hours");
    if raw.screen_offline_seconds == 0 {
        bad(
            "alerts.screen_offline_seconds".into(),
            "more than 0 seconds (a screen reconnects within 5 s by itself)".into(),
        );
    }
    if raw.ack_seconds == 0 {
        bad("alerts.ack_seconds".into(), "more than 0 seconds".into());
    }
    if raw.error_rate_percent > 100 {
        bad("alerts.error_rate_percent".into(), "0 to 100".into());
    }
    if raw.disk_free_percent > 100 {
        bad("alerts.disk_free_percent".into(), "0 to 100".into());
    }
    for (i, a) in raw.mail_to.iter().enumerate() {
        if !valid_address(a) {
            bad(format!("alerts.mail_to[{i}]"), "an e-mail address".into());
        }
    }
    if let Some(u) = &raw.public_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            bad(
                "alerts.public_url".into(),
                "the server's address, http(s)://…".into(),
            );
        }
    }
    let smtp = raw.smtp.as_ref().and_then(|s| {
        let security = match s.security.as_str() {
            "none" => SmtpSecurity::None,
            "starttls" => SmtpSecurity::Starttls,
            "tls" => SmtpSecurity::Tls,
            _ => {
                bad(
                    "alerts.smtp.security".into(),
                    "\"starttls\", \"tls\" or \"none\"".into(),
                );
                return None;
            }
        };
        let from_ok = s.from.parse::<lettre::message::Mailbox>().is_ok();
        if !from_ok {
            bad(
                "alerts.smtp.from".into(),
                "a sender, e.g. \"分诊叫号 <triage@hospital.local>\"".into(),
            );
        }
        let password = match (&s.password, &s.password_env) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(var)) => match std::env::var(var) {
                Ok(p) => Some(p),
                Err(_) => {
                    bad(
                        "alerts.smtp.password_env".into(),
                        format!("the environment variable {var} is not set"),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        if s.username.is_some() != password.is_some() {
            bad(
                "alerts.smtp.username".into(),
                "a username needs a password (password or password_env), and the reverse".into(),
            );
        }
        let port = s.port.unwrap_or(match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        });
        Some(SmtpPolicy {
            host: s.host.trim().into(),
            port,
            security,
            username: s.username.clone(),
            password,
            from: s.from.clone(),
        })
    });
    if smtp.is_some() && raw.mail_to.is_empty() {
        bad(
            "alerts.mail_to".into(),
            "the on-call addresses the mail goes to".into(),
        );
    }
    let webhook = raw.webhook.as_ref().and_then(|w| {
        let kind = match w.kind.as_str() {
            "wecom" => WebhookKind::Wecom,
            "dingtalk" => WebhookKind::Dingtalk,
            _ => {
                bad(
                    "alerts.webhook.kind".into(),
                    "\"wecom\" (企业微信) or \"dingtalk\" (钉钉)".into(),
                );
                return None;
            }
        };
        if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
            bad(
                "alerts.webhook.url".into(),
                "the robot's http(s) address".into(),
            );
        }
        Some(WebhookPolicy {
            kind,
            url: w.url.clone(),
        })
    });
    AlertPolicy {
        working_hours,
        quiet_hours,
        screen_offline_seconds: raw.screen_offline_seconds,
        his_silent_minutes: raw.his_silent_minutes,
        error_rate_percent: raw.error_rate_percent,
        error_rate_min_requests: raw.error_rate_min_requests,
        queue_wait_minutes: raw.queue_wait_minutes,
        disk_free_percent: raw.disk_free_percent,
        disk_free_mb: raw.disk_free_mb,
        ack_seconds: raw.ack_seconds,
        public_url: raw
            .public_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string()),
        mail_to: raw.mail_to.clone(),
        smtp,
        webhook,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap_or_default()
    }

    #[test]
    fn windows_may_run_past_midnight() {
        let day = window("07:30-18:00")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("day"));
        assert!(day.contains(t("07:30")) && day.contains(t("17:59")));
        assert!(!day.contains(t("18:00")) && !day.contains(t("03:00")));
        let night = window("22:00-07:00")
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("night"));
        assert!(night.contains(t("23:00")) && night.contains(t("06:59")));
        assert!(!night.contains(t("12:00")));
        assert_eq!(window("off"), Ok(None));
        assert!(window("7-18").is_err());
    }

    #[test]
    fn bad_alert_settings_name_their_field() {
        let text = crate::config::DEMO_HOSPITAL.replacen(
            "his_silent_minutes = 0\n",
            "his_silent_minutes = 0\nmail_to = [\"not an address\"]\nquiet_hours = \"late\"\n[alerts.smtp]\nhost = \"smtp.test\"\nsecurity = \"ssl\"\nfrom = \"nobody\"\n[alerts.webhook]\nkind = \"slack\"\nurl = \"ftp://x\"\n",
            1,
        );
        let errs = crate::config::Hospital::parse(&text, "h.toml")
            .err()
            .unwrap_or_default();
        for field in [
            "alerts.mail_to[0]",
            "alerts.quiet_hours",
            "alerts.smtp.security",
            "alerts.webhook.kind",
        ] {
            assert!(errs.iter().any(|e| e.field == field), "{field}: {errs:?}");
        }
    }
}
