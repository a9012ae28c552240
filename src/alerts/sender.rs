//! The outbox sender: every second it sends the messages due — mail by
//! SMTP (lettre: STARTTLS, TLS or plain, with the configured credentials),
//! robot messages by HTTPS (WeCom 企业微信 or DingTalk 钉钉 markdown) — and
//! marks each sent once the server took it. A failure is retried with
//! backoff (5 s doubling to 5 minutes), so a message survives an SMTP
//! server that is down, and a restart (it lives in the database). One
//! sender runs; a message whose mark failed (the database refusing writes)
//! is not sent again, only marked. Delivery is at least once: a crash
//! between sending and marking sends it again after the restart, with the
//! same Message-ID (drawn at random when the row was written, and
//! qualified by this host's name), so a mail server can tell the repeat;
//! no two messages share one, also after a restore reuses outbox ids.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::store::{self, OutboxRow};
use crate::config::alerts::{AlertPolicy, SmtpSecurity, WebhookKind};
use crate::db::columns::Channel;
use crate::db::Db;
use triage_ground::error::Error;

/// Messages sent per round at most.
const BATCH: i64 = 20;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 300;

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let s = 5i64.saturating_mul(1i64 << attempts.clamp(0, 16));
    chrono::Duration::seconds(s.min(MAX_BACKOFF_SECONDS))
}

/// This machine's name, for Message-IDs (`localhost.localdomain` when it
/// cannot be read).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "localhost.localdomain".into())
}

/// A Message-ID `<triage-{unique}@{host}>`.
pub fn message_id(unique: &str) -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    format!("<triage-{unique}@{}>", HOST.get_or_init(host_name))
}

/// Sends the outbox.
pub struct Sender {
    db: Db,
    /// Taken by their server but not yet marked sent (the mark failed):
    /// only the mark is tried again, never the sending.
    unmarked: std::sync::Mutex<std::collections::BTreeSet<i64>>,
    policy: AlertPolicy,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    http: reqwest::Client,
}

impl Sender {
    pub fn new(db: Db, policy: AlertPolicy) -> Result<Sender, Error> {
        let smtp = match &policy.smtp {
            None => None,
            Some(s) => {
                let builder = match s.security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    }
                    SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(
                        &s.host,
                    )
                    .map_err(|e| {
                        tracing::error!(error = %e, "SMTP: bad server name");
                        Error::internal()
                    })?,
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                        .map_err(|e| {
                            tracing::error!(error = %e, "SMTP: bad server name");
                            Error::internal()
                        })?,
                };
                let builder = builder.port(s.port).timeout(Some(Duration::from_secs(15)));
                let builder = match (&s.username, &s.password) {
                    (Some(u), Some(p)) => {
                        builder.credentials(Credentials::new(u.clone(), p.clone()))
                    }
                    _ => builder,
                };
                Some(builder.build())
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "webhook client");
                Error::internal()
            })?;
        Ok(Sender {
            db,
            unmarked: Default::default(),
            policy,
            smtp,
            http,
        })
    }

    async fn mail(&self, m: &OutboxRow) -> Result<(), String> {
        // Rows written before the token existed: their creation instant
        // stands in for it.
        let token = m
            .message_token
            .clone()
            .unwrap_or_else(|| m.created_at.and_utc().timestamp_micros().to_string());
        self.send_mail(
            &message_id(&format!("outbox-{}.{token}", m.id)),
            &m.recipient,
            &m.subject,
            &m.body,
        )
        .await
    }

    async fn send_mail(&self, id: &str, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let (Some(smtp), Some(s)) = (&self.smtp, &self.policy.smtp) else {
            return Err("no SMTP server configured".into());
        };
        let message = Message::builder()
            .from(s.from.parse().map_err(|e| format!("sender: {e}"))?)
            .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(subject.to_string())
            .message_id(Some(id.to_string()))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("message: {e}"))?;
        smtp.send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }

    async fn webhook(&self, m: &OutboxRow) -> Result<(), String> {
        self.send_webhook(&m.subject, &m.body).await
    }

    async fn send_webhook(&self, subject: &str, body: &str) -> Result<(), String> {
        let Some(w) = &self.policy.webhook else {
            return Err("no webhook configured".into());
        };
        let payload = match w.kind {
            WebhookKind::Wecom => serde_json::json!({
                "msgtype": "markdown",
                "markdown": {"content": body},
            }),
            WebhookKind::Dingtalk => serde_json::json!({
                "msgtype": "markdown",
                "markdown": {"title": subject, "text": body},
            }),
        };
        let r = self
            .http
            .post(&w.url)
            .json(&payload)
            .send()
            .await
            // The URL carries the robot's key: never in the error.
            .map_err(|e| format!("webhook: {}", e.without_url()))?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("webhook: HTTP {status}"));
        }
        match body.get("errcode").and_then(serde_json::Value::as_i64) {
            Some(0) | None => Ok(()),
            Some(code) => Err(format!(
                "webhook: errcode {code} {}",
                body.get("errmsg")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
            )),
        }
    }

    /// Sends a message at once, not through the outbox: for the alert that
    /// the database itself is unavailable (no outbox row can be written).
    /// Every on-call address and the robot; answers the addresses reached.
    pub async fn send_now(&self, subject: &str, body: &str, at: DateTime<Utc>) -> Vec<String> {
        let mut told = Vec::new();
        for (i, to) in self.policy.mail_to.iter().enumerate() {
            let id = message_id(&format!(
                "direct-{}-{i}.{}",
                at.timestamp_micros(),
                triage_ground::secret::random(16)
            ));
            match self.send_mail(&id, to, subject, body).await {
                Ok(()) => told.push(to.clone()),
                Err(e) => tracing::error!(error = %e, "database alert mail not sent"),
            }
        }
        if self.policy.webhook.is_some() {
            let text = format!("### {subject}\n> {}", body.replace('\n', "\n> "));
            if let Err(e) = self.send_webhook(subject, &text).await {
                tracing::error!(error = %e, "database alert not sent to the robot");
            }
        }
        told
    }

    /// Sends what is due at `now`; answers how many went.
    pub async fn round(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        let due = self
            .db
            .read(move |c| store::due(c, now.naive_utc(), BATCH))
            .await?;
        let mut sent = 0;
        for m in due {
            let id = m.id;
            let taken = self.unmarked.lock().is_ok_and(|u| u.contains(&id));
            if taken {
                self.db
                    .write(move |c| store::mark_sent(c, id, now.naive_utc()))
                    .await?;
                if let Ok(mut u) = self.unmarked.lock() {
                    u.remove(&id);
                }
                continue;
            }
            let outcome = match m.channel {
                Channel::Mail => self.mail(&m).await,
                Channel::Webhook => self.webhook(&m).await,
            };
            match outcome {
                Ok(()) => {
                    if let Ok(mut u) = self.unmarked.lock() {
                        u.insert(id);
                    }
                    self.db
                        .write(move |c| store::mark_sent(c, id, now.naive_utc()))
                        .await?;
                    if let Ok(mut u) = self.unmarked.lock() {
                        u.remove(&id);
                    }
                    sent += 1;
                    tracing::info!(message = id, channel = %m.channel, fault = ?m.fault_id, "alert message sent");
                }
                Err(e) => {
                    let next = (now + backoff(m.attempts)).naive_utc();
                    tracing::warn!(message = id, channel = %m.channel, attempts = m.attempts + 1, error = %e, "alert message not sent; will retry");
                    self.db
                        .write(move |c| store::mark_failed(c, id, &e, next))
                        .await?;
                }
            }
        }
        Ok(sent)
    }
}
