DROP TABLE patient_links;
