DROP TABLE his_nonces;
