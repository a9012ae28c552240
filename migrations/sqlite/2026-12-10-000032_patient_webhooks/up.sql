-- Patient notifications through the hospital's own channel (issue 28): a
-- durable outbox of signed webhooks (Standard Webhooks). A row is written in
-- the commit of the change it tells of (called, missed) or once when a
-- patient first comes within N of the room (ahead); its event_id is the
-- idempotency key the receiver sees, unique, so nothing is written twice.
-- The body holds no name and no link: the link is added when sending.
CREATE TABLE patient_webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    visit_no TEXT NOT NULL,
    service_date TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    gave_up_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX patient_webhooks_due ON patient_webhooks (sent_at, gave_up_at, next_attempt_at);
