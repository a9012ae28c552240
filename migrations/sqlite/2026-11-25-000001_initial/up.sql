-- Triage initial schema (SQLite). Keep in step with migrations/postgres.
CREATE TABLE doctors (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    department_code TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    introduction TEXT NOT NULL DEFAULT '',
    photo TEXT,
    photo_mime TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE visits (
    visit_no TEXT PRIMARY KEY NOT NULL,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT,
    department_code TEXT NOT NULL,
    doctor_code TEXT,
    visit_type TEXT NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    appointment_start TIMESTAMP,
    appointment_end TIMESTAMP,
    special TEXT NOT NULL DEFAULT '[]',
    exam_items TEXT NOT NULL DEFAULT '[]',
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    queue_code TEXT,
    ticket_no TEXT,
    service_date TEXT,
    seq BIGINT,
    queue_mark BIGINT,
    entry_kind TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    checked_in_at TIMESTAMP,
    called_at TIMESTAMP,
    room_code TEXT,
    call_count INTEGER NOT NULL DEFAULT 0,
    placement TEXT,
    finished_at TIMESTAMP,
    performer TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX visits_ticket_per_day ON visits (queue_code, service_date, ticket_no);
CREATE INDEX visits_by_status ON visits (status, queue_code);

CREATE TABLE rooms (
    code TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    current_visit_no TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE queue_counters (
    queue_code TEXT PRIMARY KEY NOT NULL,
    normal_calls_total BIGINT NOT NULL DEFAULT 0,
    last_insert_mark BIGINT NOT NULL DEFAULT 0,
    ticket_date TEXT NOT NULL,
    ticket_last INTEGER NOT NULL DEFAULT 0,
    next_seq BIGINT NOT NULL DEFAULT 1,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    source TEXT NOT NULL,
    visit_no TEXT,
    room_code TEXT,
    queue_code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX events_by_visit ON events (visit_no);
CREATE INDEX events_by_at ON events (at);
