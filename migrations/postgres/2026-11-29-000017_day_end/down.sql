DROP TABLE day_closures;
ALTER TABLE visits DROP COLUMN closed_as;
