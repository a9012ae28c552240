DROP TABLE schedule_switches;
DROP TABLE schedules;
