-- Rows written before the audit chain existed (migration 000009) carry no
-- hashes. Record how many there were and up to which id, so that a row
-- inserted later without hashes (below the chain, or with an id of 0 or
-- less) is not taken for one of them.
CREATE TABLE audit_legacy (
    through_id BIGINT NOT NULL,
    records BIGINT NOT NULL
);
INSERT INTO audit_legacy (through_id, records)
SELECT COALESCE(MAX(id), 0), COUNT(*) FROM events WHERE hash IS NULL;
