//! `[patient]` of the configuration: the patient's own page (`/p/{token}`,
//! the ticket's QR code) — the address patients' phones reach it at.

use serde::{Deserialize, Serialize};

/// `[patient]` as written (every field optional).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PatientSection {
    #[serde(default)]
    public_url: Option<String>,
}

/// The patient page's settings, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientPolicy {
    /// Where patients' phones reach the server's `/p/` (the hospital's
    /// gateway, e.g. `https://wx.hospital.cn`), without a trailing `/`;
    /// none: the address the kiosk itself uses.
    pub public_url: Option<String>,
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
    PatientPolicy { public_url }
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
            },
            &mut bad,
        );
        assert_eq!(ok.public_url.as_deref(), Some("https://wx.example.cn"));
        let no = policy(
            &PatientSection {
                public_url: Some("wx.example.cn".into()),
            },
            &mut bad,
        );
        assert_eq!(no.public_url, None);
        let path = policy(
            &PatientSection {
                public_url: Some("https://gw.example.cn/triage".into()),
            },
            &mut bad,
        );
        assert_eq!(
            path.public_url, None,
            "the page asks for /p/… from the root"
        );
        assert_eq!(errors.len(), 2);
    }
}
