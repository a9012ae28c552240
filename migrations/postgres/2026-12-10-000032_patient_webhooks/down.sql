DROP TABLE patient_webhooks;
