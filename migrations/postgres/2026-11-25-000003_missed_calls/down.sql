ALTER TABLE queue_counters DROP COLUMN consecutive_priority;
ALTER TABLE visits DROP COLUMN marked_at;
ALTER TABLE visits DROP COLUMN miss_count;
