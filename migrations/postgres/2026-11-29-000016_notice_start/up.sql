-- A notice may start later than it is published (信息发布 with a start
-- and an end time): the server sends it to its screens at this time.
ALTER TABLE notices ADD COLUMN starts_at TIMESTAMP;
