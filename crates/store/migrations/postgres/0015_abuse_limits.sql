-- Abuse limits count per client: failed sign-ins and account mails name the client
-- that caused them, and anonymous drafts the client that began them. A client is a
-- hash of its address (never the address itself); '' for rows from before.
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_key_client_at ON login_failures (account_key, client, at);
CREATE INDEX login_failures_client_at ON login_failures (client, at);
-- Housekeeping deletes old rows by time.
CREATE INDEX login_failures_at ON login_failures (at);

ALTER TABLE form_drafts ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX form_drafts_client ON form_drafts (client, created_at);
