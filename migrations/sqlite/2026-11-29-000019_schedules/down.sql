-- Rooms seated by the schedule go back to their configured doctor (an
-- older server knows no 'scheduled' seat).
UPDATE rooms SET seat = 'configured', seated_doctor = NULL, draws_from = NULL, mix = NULL
    WHERE seat = 'scheduled';
DROP TABLE schedule_switches;
DROP TABLE schedules;
