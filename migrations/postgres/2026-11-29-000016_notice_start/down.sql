ALTER TABLE notices DROP COLUMN starts_at;
