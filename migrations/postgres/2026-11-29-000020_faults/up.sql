-- Fault records (故障工单): every alert opens one, a nurse may report one.
-- state: opened → acknowledged → resolved → archived. One record open per
-- key (an alert's condition, e.g. screen_offline:NK-01-DOOR) at a time.
-- escalation: how many on-call people were told so far (the first is 1);
-- next_reminder_at: when, unacknowledged, it is reminded and escalated.
CREATE TABLE faults (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    fault_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    place TEXT NOT NULL,
    state TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    reported_by TEXT,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT,
    resolved_at TIMESTAMP,
    resolved_by TEXT,
    resolution TEXT,
    archived_at TIMESTAMP,
    escalation INTEGER NOT NULL,
    next_reminder_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX faults_one_open ON faults (fault_key) WHERE state IN ('opened', 'acknowledged');
CREATE INDEX faults_state ON faults (state, opened_at);

-- A fault's timeline: opened, mailed, reminded, escalated, acknowledged,
-- resolved, archived, with who and a note.
CREATE TABLE fault_events (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    fault_id BIGINT NOT NULL,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX fault_events_fault ON fault_events (fault_id, id);

-- The durable outbox: a message is written in the same commit as the fault
-- change it tells of, then sent (and retried with backoff) by the sender;
-- sent_at once the SMTP server or webhook took it.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    fault_id BIGINT,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);

-- When each screen was last heard from (kept across restarts).
CREATE TABLE screen_presence (
    code TEXT PRIMARY KEY NOT NULL,
    last_seen TIMESTAMP NOT NULL
);

-- The server's own secrets (the key that signs acknowledgement links).
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
