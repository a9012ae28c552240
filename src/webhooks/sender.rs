//! Sends the patient webhooks due, every second: each is POSTed to the
//! hospital's gateway, signed (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), and marked sent once the gateway answered 2xx. A
//! failure is tried again after 5 s, doubling to 5 minutes, so a gateway
//! that is down, and a restart, lose nothing (the outbox is in the
//! database). News older than two hours no longer helps the patient: it is
//! given up, logged and counted. Delivery is at least once: a crash between
//! the gateway's answer and the mark sends it again with the same
//! `webhook-id`, which the receiver keeps to drop the repeat.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value;
use triage_ground::time::SharedClock;

use crate::config::Hospital;
use crate::db::links::PatientLinks;
use crate::db::webhooks::{self, WebhookRow};
use crate::db::Db;

/// Webhooks sent per round at most.
const BATCH: i64 = 20;
/// How old news may be and still be sent.
const MAX_AGE_MINUTES: i64 = 120;
/// How long the gateway may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the patient webhooks.
pub struct Sender {
    db: Db,
    hospital: Arc<Hospital>,
    links: PatientLinks,
    clock: SharedClock,
    url: String,
    secret: Vec<u8>,
    http: reqwest::Client,
}

impl Sender {
    /// A sender to `[patient] webhook_url`; none when it is not set.
    pub fn new(
        db: Db,
        hospital: Arc<Hospital>,
        links: PatientLinks,
        clock: SharedClock,
        secret: Vec<u8>,
    ) -> Option<Sender> {
        let url = hospital.patient.webhook_url.clone()?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("Triage/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok()?;
        Some(Sender {
            db,
            hospital,
            links,
            clock,
            url,
            secret,
            http,
        })
    }

    /// The body as sent: the stored one with the queue's and room's names
    /// and the patient's link added (the link is never stored).
    pub fn body_of(&self, row: &WebhookRow) -> String {
        let mut body: Value = serde_json::from_str(&row.body).unwrap_or(Value::Null);
        if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) {
            let name_of_queue = data
                .get("queue_code")
                .and_then(Value::as_str)
                .and_then(|q| self.hospital.queue(q))
                .map(|q| q.name.clone());
            if let Some(n) = name_of_queue {
                data.insert("queue_name".into(), Value::String(n));
            }
            let name_of_room = data
                .get("room_code")
                .and_then(Value::as_str)
                .and_then(|r| self.hospital.room(r))
                .map(|r| r.name.clone());
            if let Some(n) = name_of_room {
                data.insert("room_name".into(), Value::String(n));
            }
            if let Ok(day) = row.service_date.parse::<NaiveDate>() {
                let link = self.links.path(day, &row.visit_no);
                if let Some(public) = &self.hospital.patient.public_url {
                    data.insert(
                        "patient_url".into(),
                        Value::String(format!("{public}{link}")),
                    );
                }
                data.insert("patient_link".into(), Value::String(link));
            }
        }
        body.to_string()
    }

    /// Sends what is due; answers how many the gateway took.
    pub async fn send_due(&self) -> usize {
        let now = self.clock.now().naive_utc();
        let due = match self.db.read(move |c| webhooks::due(c, now, BATCH)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the patient webhooks due");
                return 0;
            }
        };
        let mut taken = 0;
        for row in due {
            if self.send_one(&row).await {
                taken += 1;
            }
        }
        taken
    }

    /// Sends one and records the outcome; whether the gateway took it.
    async fn send_one(&self, row: &WebhookRow) -> bool {
        let now = self.clock.now();
        let id = row.id;
        if (now.naive_utc() - row.created_at).num_minutes() >= MAX_AGE_MINUTES {
            tracing::warn!(
                webhook = id,
                kind = %row.kind,
                attempts = row.attempts,
                "patient webhook given up: the gateway did not take it within two hours"
            );
            let at = now.naive_utc();
            let marked = self
                .db
                .write(move |c| webhooks::mark_failed(c, id, at, None, "expired"))
                .await;
            if let Err(e) = marked {
                tracing::warn!(error = %e, webhook = id, "cannot give up a patient webhook");
            }
            return false;
        }
        let body = self.body_of(row);
        let timestamp = now.timestamp();
        let sent = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                super::signature(&self.secret, &row.event_id, timestamp, &body),
            )
            .body(body)
            .send()
            .await;
        let failure = match sent {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Some("timeout".to_string()),
            Err(e) if e.is_connect() => Some("connection refused".to_string()),
            Err(_) => Some("request failed".to_string()),
        };
        let at = self.clock.now().naive_utc();
        let marked = match &failure {
            None => self.db.write(move |c| webhooks::mark_sent(c, id, at)).await,
            Some(why) => {
                tracing::warn!(webhook = id, kind = %row.kind, attempts = row.attempts + 1, error = %why, "patient webhook not taken; will retry");
                let next = at + crate::alerts::sender::backoff(row.attempts);
                let why = why.clone();
                self.db
                    .write(move |c| webhooks::mark_failed(c, id, at, Some(next), &why))
                    .await
            }
        };
        if let Err(e) = marked {
            tracing::warn!(error = %e, webhook = id, "cannot mark a patient webhook");
        }
        failure.is_none()
    }
}
