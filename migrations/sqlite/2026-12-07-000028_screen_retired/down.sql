ALTER TABLE screens DROP COLUMN retired_at;
