-- A random part of each mail's Message-ID, drawn when the message is
-- written to the outbox: the same message keeps its Message-ID when it is
-- sent again after a crash, and no two messages share one, also across a
-- restore that reuses outbox ids (issue 27). NULL for older rows.
ALTER TABLE outbox ADD COLUMN message_token TEXT NULL;
