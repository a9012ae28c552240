DROP TABLE wait_calibrations;
