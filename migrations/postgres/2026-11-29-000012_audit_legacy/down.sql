DROP TABLE audit_legacy;
