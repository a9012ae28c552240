-- Screens as managed devices: a screen registered at run time, or a
-- configured one moved to other rooms or another role (搬迁, 备用屏). A row
-- here replaces the configuration file's definition of that code.
CREATE TABLE screens (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- overview or door
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- JSON list of room codes
    rooms TEXT NOT NULL,
    voice BOOLEAN NOT NULL,
    next_count INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
