-- A nurse's manual intervention on waiting patients: hold (挂起) and pin (置顶).
ALTER TABLE visits ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE visits ADD COLUMN pinned_at TIMESTAMP;
