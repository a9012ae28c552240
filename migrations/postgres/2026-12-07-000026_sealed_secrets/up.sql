-- A HIS client's signing key (the SHA-256 of its API key, what its
-- requests are signed with) is kept sealed under the server key, a file
-- outside the database (ADR 0016); key_hash becomes a verifier of the API
-- key (SHA-256 of the signing key), which signs nothing. Rows written
-- before this migration are sealed by the server at its next start, with
-- the same API keys working on: until then signing_sealed is NULL.
-- Second-factor secrets (staff_accounts.totp_secret) are sealed the same
-- way, in place (a sealed value starts with "s1.").
ALTER TABLE his_clients ADD COLUMN signing_sealed TEXT;
