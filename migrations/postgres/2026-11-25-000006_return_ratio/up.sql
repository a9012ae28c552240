-- Return visits in ratio mode: calls since the last return patient.
ALTER TABLE queue_counters ADD COLUMN calls_since_return BIGINT NOT NULL DEFAULT 0;
