-- Who may do what: staff accounts, their sessions, HIS clients and screen
-- device tokens. Secrets are stored only as hashes (Argon2id for
-- passwords, SHA-256 for random keys, tokens and session ids).
CREATE TABLE staff_accounts (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    -- JSON list: departments (nurse) or rooms (doctor); empty for admin.
    scope TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL,
    must_change BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    totp_secret TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    staff_code TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_code);

CREATE TABLE his_clients (
    name TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    -- JSON list of scopes.
    scopes TEXT NOT NULL,
    require_signature BOOLEAN NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE screen_tokens (
    screen_code TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
