-- The server's own timings (for `triage db maintain` and `triage inspect`):
-- per Beijing day, per kind ('http': every request by method and route
-- pattern; 'sql': statements that took 10 ms or more, by their SQL text
-- with placeholders), how many, their total and their longest time.
CREATE TABLE timings (
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    calls BIGINT NOT NULL,
    total_ms DOUBLE PRECISION NOT NULL,
    max_ms DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, kind, name)
);

-- Each start of a server: seen_at moves on every minute while it runs;
-- stopped_at is set by a graceful stop (none: it was killed or lost power).
CREATE TABLE server_runs (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    started_at TIMESTAMP NOT NULL,
    seen_at TIMESTAMP NOT NULL,
    stopped_at TIMESTAMP,
    version TEXT NOT NULL
);
