DROP TABLE screen_tokens;
DROP TABLE his_clients;
DROP TABLE staff_sessions;
DROP TABLE staff_accounts;
