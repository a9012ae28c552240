-- Appointments (预约) to an exact room. An appointment is a visit (its
-- visit_no is the appointment id) booked for one room: only that room calls
-- the patient from the queue (`visits.appointed_room`). This table keeps
-- what the visit row cannot: the HIS version of the appointment (a message
-- older than the one applied changes nothing) and the cancellation, which
-- is final also when it arrives before the appointment itself.
CREATE TABLE appointments (
    appointment_id TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL,
    digest TEXT NOT NULL,
    room_code TEXT,
    status TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
ALTER TABLE visits ADD COLUMN appointed_room TEXT;
CREATE INDEX visits_appointed_room ON visits (appointed_room, appointment_start)
    WHERE appointed_room IS NOT NULL;
-- Door screens that list their room's appointments of today.
ALTER TABLE screens ADD COLUMN show_appointments BOOLEAN NOT NULL DEFAULT FALSE;
