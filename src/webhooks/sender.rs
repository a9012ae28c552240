//! Sends the patient webhooks due, twice a second, in the order they were
//! written: each is POSTed to the hospital's gateway, signed
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and marked
//! sent once the gateway answered 2xx. A failure stops the round and is
//! tried again after 5 s, doubling to 5 minutes (what came after it waits,
//! so the order holds), so a gateway that is down, and a restart, lose
//! nothing (the outbox is in the database). Given up, logged and counted:
//! news older than two hours, an N-ahead no longer true (the patient was
//! called or moved meanwhile), a body the gateway refuses (400, 413, 422).
//! A redirect is a failure, never followed. Delivery is at least once: a crash between
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
    /// The signing secrets: the current generation's, and the one before
    /// (both signatures go with each webhook, so a gateway still on the
    /// old secret keeps taking them while it is changed).
    secrets: Vec<Vec<u8>>,
    http: reqwest::Client,
}

impl Sender {
    /// A sender to `[patient] webhook_url`; none when it is not set.
    pub fn new(
        db: Db,
        hospital: Arc<Hospital>,
        links: PatientLinks,
        clock: SharedClock,
        secrets: Vec<Vec<u8>>,
    ) -> Option<Sender> {
        let url = hospital.patient.webhook_url.clone()?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A redirect would turn the POST into a GET (and count as
            // taken) or send the signed body elsewhere: it is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Triage/", env!("CARGO_PKG_VERSION")))
            .build()
            .ok()?;
        Some(Sender {
            db,
            hospital,
            links,
            clock,
            url,
            secrets,
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

    /// Sends what is due, oldest first, and stops at the first the
    /// gateway does not take (so they arrive in the order they were
    /// written); answers how many it took.
    pub async fn send_due(&self) -> usize {
        let now = self.clock.now().naive_utc();
        let pending = match self.db.read(move |c| webhooks::pending(c, BATCH)).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the patient webhooks due");
                return 0;
            }
        };
        let mut taken = 0;
        for row in pending {
            if row.next_attempt_at > now {
                break;
            }
            match self.send_one(&row).await {
                Sent::Taken => taken += 1,
                Sent::Dropped => {}
                Sent::Later => break,
            }
        }
        taken
    }

    /// Gives `row` up (`why`: expired, superseded, refused).
    async fn give_up(&self, row: &WebhookRow, why: &'static str) {
        let (id, at) = (row.id, self.clock.now().naive_utc());
        let marked = self
            .db
            .write(move |c| webhooks::mark_failed(c, id, at, None, why))
            .await;
        if let Err(e) = marked {
            tracing::warn!(error = %e, webhook = id, "cannot give up a patient webhook");
        }
    }

    /// Whether the news of `row` is still true: an N-ahead only while the
    /// patient still waits in that queue (a call or a transfer since makes
    /// it wrong; the call's own webhook follows).
    async fn still_news(&self, row: &WebhookRow) -> bool {
        if row.kind != webhooks::AHEAD {
            return true;
        }
        let queue = serde_json::from_str::<Value>(&row.body)
            .ok()
            .and_then(|b| b["data"]["queue_code"].as_str().map(str::to_string))
            .unwrap_or_default();
        let visit = row.visit_no.clone();
        self.db
            .read(move |c| webhooks::still_waiting(c, &visit, &queue))
            .await
            .unwrap_or(true)
    }

    /// Sends one and records the outcome.
    async fn send_one(&self, row: &WebhookRow) -> Sent {
        let now = self.clock.now();
        let id = row.id;
        if (now.naive_utc() - row.created_at).num_minutes() >= MAX_AGE_MINUTES {
            tracing::warn!(
                webhook = id,
                kind = %row.kind,
                attempts = row.attempts,
                "patient webhook given up: the gateway did not take it within two hours"
            );
            self.give_up(row, "expired").await;
            return Sent::Dropped;
        }
        if !self.still_news(row).await {
            self.give_up(row, "superseded").await;
            return Sent::Dropped;
        }
        let body = self.body_of(row);
        let timestamp = now.timestamp();
        let signatures: Vec<String> = self
            .secrets
            .iter()
            .map(|k| super::signature(k, &row.event_id, timestamp, &body))
            .collect();
        let sent = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await;
        let failure = match sent {
            Ok(r) if r.status().is_success() => None,
            // The body itself refused: sending it again will not help.
            Ok(r) if matches!(r.status().as_u16(), 400 | 413 | 422) => {
                tracing::warn!(webhook = id, kind = %row.kind, status = r.status().as_u16(), "patient webhook refused by the gateway: given up");
                self.give_up(row, "refused").await;
                return Sent::Dropped;
            }
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
        if failure.is_none() {
            Sent::Taken
        } else {
            Sent::Later
        }
    }
}

/// What became of one webhook this round.
enum Sent {
    Taken,
    /// Given up (expired, no longer true, its body refused): the next goes.
    Dropped,
    /// Not taken: it and everything after it wait for its retry.
    Later,
}
