DROP TABLE events;
DROP TABLE queue_counters;
DROP TABLE rooms;
DROP TABLE visits;
DROP TABLE doctors;
