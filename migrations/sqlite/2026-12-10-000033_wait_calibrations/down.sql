DROP INDEX events_kind_at;
DROP TABLE wait_calibrations;
