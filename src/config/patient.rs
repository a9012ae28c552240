//! `[patient]` of the configuration: the patient's own page (`/p/{token}`,
//! the ticket's QR code) — the address patients' phones reach it at — and
//! the webhooks telling the hospital's own channel (its WeChat service
//! account or SMS platform) that a patient is near, called or missed.

use serde::{Deserialize, Serialize};

/// `[patient]` as written (every field optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatientSection {
    #[serde(default)]
    public_url: Option<String>,
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    notify_ahead: Option<i64>,
    #[serde(default)]
    webhook_secret_version: Option<i64>,
}

/// The patient page's settings, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientPolicy {
    /// Where patients' phones reach the server's `/p/` (the hospital's
    /// gateway, e.g. `https://wx.hospital.cn`), without a trailing `/`;
    /// none: the address the kiosk itself uses.
    pub public_url: Option<String>,
    /// Where the patient webhooks go (the hospital's gateway); none: none
    /// are written.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// A patient this many places from a room gets the N-ahead webhook
    /// (0: none); a queue's `notify_ahead` overrides it.
    #[serde(default = "default_ahead")]
    pub notify_ahead: u32,
    /// The signing secret's generation: raising it changes the secret
    /// (`triage server-key webhook-secret` prints it).
    #[serde(default = "default_version")]
    pub webhook_secret_version: u32,
}

impl Default for PatientPolicy {
    fn default() -> Self {
        PatientPolicy {
            public_url: None,
            webhook_url: None,
            notify_ahead: default_ahead(),
            webhook_secret_version: default_version(),
        }
    }
}

/// Three ahead, unless configured.
pub const DEFAULT_AHEAD: u32 = 3;
/// The largest N-ahead.
pub const MAX_AHEAD: i64 = 50;

fn default_ahead() -> u32 {
    DEFAULT_AHEAD
}

fn default_version() -> u32 {
    1
}

/// Validates `[patient]`; `bad(field, message)` for each error.
pub fn policy(raw: &PatientSection, bad: &mut dyn FnMut(String, String)) -> PatientPolicy {
    let public_url = raw.public_url.as_ref().and_then(|u| {
        let u = u.trim().trim_end_matches('/');
        let host = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        match host {
            // An origin only: the page asks for /p/… from the root.
            Some(h) if !h.is_empty() && !h.contains(['?', '#', ' ', '/']) => Some(u.to_string()),
            _ => {
                bad(
                    "patient.public_url".into(),
                    "患者手机访问本服务的地址（只写协议和主机，如 https://wx.hospital.cn，不带路径）".into(),
                );
                None
            }
        }
    });
    let webhook_url = raw.webhook_url.as_ref().and_then(|u| {
        let u = u.trim();
        let host = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        match host {
            Some(h) if !h.is_empty() && !h.starts_with('/') && !h.contains([' ', '#']) => {
                Some(u.to_string())
            }
            _ => {
                bad(
                    "patient.webhook_url".into(),
                    "接收患者通知的医院网关地址（http:// 或 https:// 开头，如 https://wx-gw.hospital.cn/triage/events）".into(),
                );
                None
            }
        }
    });
    let notify_ahead = match raw.notify_ahead {
        None => DEFAULT_AHEAD,
        Some(n) if (0..=MAX_AHEAD).contains(&n) => n as u32,
        Some(_) => {
            bad(
                "patient.notify_ahead".into(),
                format!("前面还剩几人时通知患者：0（不通知）到 {MAX_AHEAD}"),
            );
            DEFAULT_AHEAD
        }
    };
    let webhook_secret_version = match raw.webhook_secret_version {
        None => 1,
        Some(n) if (1..=1_000_000).contains(&n) => n as u32,
        Some(_) => {
            bad(
                "patient.webhook_secret_version".into(),
                "签名密钥的版本号：1 起的整数，换密钥时加一".into(),
            );
            1
        }
    };
    PatientPolicy {
        public_url,
        webhook_url,
        notify_ahead,
        webhook_secret_version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_address_is_an_http_address_without_a_trailing_slash() {
        let mut errors = Vec::new();
        let mut bad = |f: String, _m: String| errors.push(f);
        let ok = policy(
            &PatientSection {
                public_url: Some("https://wx.example.cn/".into()),
                ..Default::default()
            },
            &mut bad,
        );
        assert_eq!(ok.public_url.as_deref(), Some("https://wx.example.cn"));
        let no = policy(
            &PatientSection {
                public_url: Some("wx.example.cn".into()),
                ..Default::default()
            },
            &mut bad,
        );
        assert_eq!(no.public_url, None);
        let path = policy(
            &PatientSection {
                public_url: Some("https://gw.example.cn/triage".into()),
                ..Default::default()
            },
            &mut bad,
        );
        assert_eq!(
            path.public_url, None,
            "the page asks for /p/… from the root"
        );
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn the_webhook_takes_an_http_address_and_a_bounded_n() {
        let mut errors = Vec::new();
        let mut bad = |f: String, _m: String| errors.push(f);
        let ok = policy(
            &PatientSection {
                webhook_url: Some("https://wx-gw.example.cn/triage/events".into()),
                notify_ahead: Some(5),
                ..Default::default()
            },
            &mut bad,
        );
        assert_eq!(
            ok.webhook_url.as_deref(),
            Some("https://wx-gw.example.cn/triage/events")
        );
        assert_eq!((ok.notify_ahead, ok.webhook_secret_version), (5, 1));
        let no = policy(
            &PatientSection {
                webhook_url: Some("ftp://x".into()),
                notify_ahead: Some(51),
                webhook_secret_version: Some(0),
                ..Default::default()
            },
            &mut bad,
        );
        assert_eq!(no.webhook_url, None);
        assert_eq!(
            errors,
            [
                "patient.webhook_url",
                "patient.notify_ahead",
                "patient.webhook_secret_version"
            ]
        );
        assert_eq!(PatientPolicy::default().notify_ahead, DEFAULT_AHEAD);
    }
}
