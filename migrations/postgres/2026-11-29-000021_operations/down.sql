DROP TABLE server_runs;
DROP TABLE timings;
