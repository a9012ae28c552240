-- Locked head: the order in which a waiting patient was told they are next.
ALTER TABLE visits ADD COLUMN locked_seq BIGINT;
