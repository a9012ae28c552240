ALTER TABLE his_clients DROP COLUMN signing_sealed;
