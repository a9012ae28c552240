-- Missed calls (过号) and the fairness cap.
ALTER TABLE visits ADD COLUMN miss_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN marked_at TIMESTAMP;
ALTER TABLE queue_counters ADD COLUMN consecutive_priority BIGINT NOT NULL DEFAULT 0;
