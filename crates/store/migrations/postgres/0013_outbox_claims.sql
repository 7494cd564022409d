-- E-mails of the outbox are claimed with a lease like the deliveries: a worker holds
-- the row until then (on PostgreSQL taken with FOR UPDATE SKIP LOCKED), so several
-- nodes never send one e-mail twice; after a crash the lease runs out and another
-- worker takes it.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT NOT NULL DEFAULT 0;
