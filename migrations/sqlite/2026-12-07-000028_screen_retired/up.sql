-- A screen taken out of service (/devices: 停用). The row stays, so that a
-- screen of the configuration file stays retired across restarts and the
-- audit trail keeps its name; registering the code again (PUT) clears it.
ALTER TABLE screens ADD COLUMN retired_at TIMESTAMP NULL;
