-- Day end (日终): a visit still open when its day ended is closed (status
-- `closed`) with its final status: not_seen (未就诊), missed_unreturned
-- (过号未回) or exam_unreturned (检查未回).
ALTER TABLE visits ADD COLUMN closed_as TEXT;

-- The days closed, with what closed. Check-ins and HIS messages for a
-- closed day are refused.
CREATE TABLE day_closures (
    service_date TEXT PRIMARY KEY NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    operator TEXT NOT NULL,
    not_seen BIGINT NOT NULL,
    missed_unreturned BIGINT NOT NULL,
    exam_unreturned BIGINT NOT NULL
);
