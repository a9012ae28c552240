-- Notices published to screens (信息发布). Keep in step with migrations/postgres.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    text TEXT NOT NULL,
    level TEXT NOT NULL,
    screens TEXT NOT NULL,
    operator TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    withdrawn_at TIMESTAMP
);
