-- The patient's phone link (/p/{token}, issue 28): each checked-in visit's
-- link, stored only as the SHA-256 of its token (the token is derived from
-- the server key, so a copy of this table opens nothing). A link works on
-- its service day while the visit is open.
CREATE TABLE patient_links (
    digest TEXT PRIMARY KEY NOT NULL,
    visit_no TEXT NOT NULL,
    service_date TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX patient_links_service_date ON patient_links (service_date);
