-- The whole rule set: HIS sequence numbers (挂号序号), a nurse's moves
-- (调整顺序), rooms' short lists (二级候诊), the overtake cap and the
-- position of a room's queue mix.
ALTER TABLE visits ADD COLUMN his_seq BIGINT;
ALTER TABLE visits ADD COLUMN moved_position INTEGER;
ALTER TABLE visits ADD COLUMN moved_mark BIGINT;
ALTER TABLE visits ADD COLUMN moved_at TIMESTAMP;
ALTER TABLE visits ADD COLUMN assigned_room TEXT;
ALTER TABLE visits ADD COLUMN assigned_at TIMESTAMP;
ALTER TABLE visits ADD COLUMN assigned_order BIGINT;
ALTER TABLE queue_counters ADD COLUMN taken_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue_counters ADD COLUMN overtakes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE rooms ADD COLUMN mix_cursor BIGINT NOT NULL DEFAULT 0;
