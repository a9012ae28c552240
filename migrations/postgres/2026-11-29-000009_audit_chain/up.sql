-- The audit log's hash chain: each event carries the hash of the one before
-- it and its own (SHA-256, hex); rows written before this migration have
-- none and stand before the chain.
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
