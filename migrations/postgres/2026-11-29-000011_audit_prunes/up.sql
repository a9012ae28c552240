-- Where the audit chain begins after records past their retention were
-- removed: the last removed record's id and hash. The first kept record
-- links to that hash, so `triage audit verify` still walks an unbroken
-- chain; each prune is itself a chained event (audit.pruned) that repeats
-- these figures, so an edited anchor shows too.
CREATE TABLE audit_prunes (
    id BIGSERIAL PRIMARY KEY NOT NULL,
    pruned_at TIMESTAMP NOT NULL,
    through_id BIGINT NOT NULL,
    through_hash TEXT NOT NULL,
    records BIGINT NOT NULL
);
