-- Queue rules changed through the API (they override the configuration file).
CREATE TABLE queue_rules (
    queue_code TEXT PRIMARY KEY NOT NULL,
    rules TEXT NOT NULL,
    operator TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
