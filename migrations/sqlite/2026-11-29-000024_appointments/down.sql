ALTER TABLE screens DROP COLUMN show_appointments;
DROP INDEX visits_appointed_room;
ALTER TABLE visits DROP COLUMN appointed_room;
DROP TABLE appointments;
