-- The last time step whose one-time code each account used: a code is
-- accepted once (RFC 6238 §5.2), so one seen over a shoulder or captured
-- cannot log in again within its window.
CREATE TABLE staff_totp_steps (
    staff_code TEXT PRIMARY KEY NOT NULL,
    last_step BIGINT NOT NULL
);
