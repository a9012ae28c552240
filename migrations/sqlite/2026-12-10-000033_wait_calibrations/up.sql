-- The wait forecast's calibration (issue 28): what `triage wait backtest`
-- found for a period (coverage of P90 and P50, median errors, per
-- department), the latest shown on the statistics page. Codes and figures
-- only.
CREATE TABLE wait_calibrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    from_day TEXT NOT NULL,
    to_day TEXT NOT NULL,
    summary TEXT NOT NULL
);
-- The rooms' pauses the wait forecast learns from are read by kind and time.
CREATE INDEX events_kind_at ON events (kind, at);
