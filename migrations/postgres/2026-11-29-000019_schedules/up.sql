-- The schedule (出诊排班): per service day, session (上午/下午/晚上) and
-- room, the doctor who sits there, the queues the room calls (JSON array;
-- '[]': the doctor's own queue first, then the room's shared queues) and
-- an optional patient limit. `status`: active, cancelled (HIS or a nurse
-- took it back) or stopped (停诊). HIS pushes it; nurses edit it.
CREATE TABLE schedules (
    service_date TEXT NOT NULL,
    session TEXT NOT NULL,
    room_code TEXT NOT NULL,
    doctor_code TEXT NOT NULL,
    queues TEXT NOT NULL,
    patient_limit INTEGER,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (service_date, session, room_code)
);
CREATE INDEX schedules_doctor ON schedules (service_date, doctor_code);

-- The session switches done (rooms took the session's schedule): a
-- restart does not switch again, a server down at a boundary catches up.
CREATE TABLE schedule_switches (
    service_date TEXT NOT NULL,
    session TEXT NOT NULL,
    switched_at TIMESTAMP NOT NULL,
    PRIMARY KEY (service_date, session)
);
