ALTER TABLE queue_counters DROP COLUMN calls_since_return;
