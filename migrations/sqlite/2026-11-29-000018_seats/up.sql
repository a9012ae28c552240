-- Who sits in a room (医生坐诊): `configured` (the configuration's doctor,
-- the configured queues) until a doctor signs in (`in`), steps away
-- (`break`) or signs out (`out`); then the doctor and the queues the room
-- calls (JSON lists) are these.
ALTER TABLE rooms ADD COLUMN seat TEXT NOT NULL DEFAULT 'configured';
ALTER TABLE rooms ADD COLUMN seated_doctor TEXT;
ALTER TABLE rooms ADD COLUMN draws_from TEXT;
ALTER TABLE rooms ADD COLUMN mix TEXT;
