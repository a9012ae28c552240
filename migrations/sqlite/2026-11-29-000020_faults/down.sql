DROP TABLE server_secrets;
DROP TABLE screen_presence;
DROP TABLE outbox;
DROP TABLE fault_events;
DROP TABLE faults;
