-- The nonces of signed HIS requests, kept until the request's timestamp
-- leaves the accepted window (300 s), so that a captured request cannot be
-- sent again after a restart either (issue 25). expires_at: unix seconds.
CREATE TABLE his_nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX his_nonces_by_expiry ON his_nonces (expires_at);
