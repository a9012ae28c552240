DROP TABLE queue_rules;
