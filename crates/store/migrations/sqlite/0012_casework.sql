-- Case work on submissions and their hand-off to the back office.
--
-- The status history, internal notes and messages of a submission are events; texts
-- are sealed (AES-256-GCM) under the authority's data key like the answers.
ALTER TABLE submissions ADD COLUMN sub_status TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN org_unit_id BIGINT;
ALTER TABLE submissions ADD COLUMN assignee_id BIGINT REFERENCES staff_users(id) ON DELETE SET NULL;
-- Due date as YYYY-MM-DD, '' when none.
ALTER TABLE submissions ADD COLUMN due_on TEXT NOT NULL DEFAULT '';
-- The Postfach thread that carries this application's messages, once there is one.
ALTER TABLE submissions ADD COLUMN thread_id BIGINT REFERENCES postfach_threads(id) ON DELETE SET NULL;
CREATE INDEX submissions_status ON submissions (authority_id, status);

CREATE TABLE submission_events (
    id INTEGER PRIMARY KEY NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions(id),
    -- 'status', 'note' (internal), 'message' (to the citizen), 'reply' (from the
    -- citizen), 'assign', 'due', 'resend'.
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    sub_status TEXT NOT NULL DEFAULT '',
    -- Sealed text, '' when none.
    body TEXT NOT NULL DEFAULT '',
    -- 1 when the citizen sees this event in the account.
    public BIGINT NOT NULL,
    -- Who: the staff member's name, 'Schnittstelle: <client>' or 'Antragsteller/in'.
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX submission_events_submission ON submission_events (submission_id, id);

-- Where an authority's submissions go: e-mail to the office, webhook, FIT-Connect,
-- xdomea. The configuration (with secrets) is sealed under the authority's data key.
CREATE TABLE connectors (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    -- NULL: every form of the authority.
    form_id BIGINT REFERENCES forms(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX connectors_authority ON connectors (authority_id);

-- The outbox of the hand-off: one row per submission and connector, written in the
-- submission's transaction (UNIQUE: never twice), delivered by the worker.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions(id),
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    connector_id BIGINT NOT NULL REFERENCES connectors(id),
    -- 'pending' (also while retrying), 'delivered', 'dead'.
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A worker holds the row until then; after a crash another may take it.
    claimed_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    -- The receiver's reference (FIT-Connect submission id, file written, HTTP status).
    reference TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (submission_id, connector_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_authority ON deliveries (authority_id, created_at);

-- Back-office software that pulls submissions over /api/v1/. The secret is random
-- (256 bits), so its SHA-256 is stored, not an Argon2 hash.
CREATE TABLE api_clients (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    -- Space-separated: 'submissions:read submissions:write'.
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE api_acknowledgements (
    submission_id BIGINT NOT NULL REFERENCES submissions(id),
    client_id BIGINT NOT NULL REFERENCES api_clients(id) ON DELETE CASCADE,
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (submission_id, client_id)
);
