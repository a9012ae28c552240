ALTER TABLE visits DROP COLUMN special_staff;
