ALTER TABLE visits DROP COLUMN locked_seq;
