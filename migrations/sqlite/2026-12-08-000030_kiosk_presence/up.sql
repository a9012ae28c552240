-- When each self-service kiosk was last heard from, kept once a minute by
-- the server (as screen_presence for screens): the devices page and the
-- holiday inspection know it across restarts (issue 27).
CREATE TABLE kiosk_presence (
    code TEXT PRIMARY KEY NOT NULL,
    last_seen TIMESTAMP NOT NULL
);
