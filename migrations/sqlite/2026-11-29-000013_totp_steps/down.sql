DROP TABLE staff_totp_steps;
