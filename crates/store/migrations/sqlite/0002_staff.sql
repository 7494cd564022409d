-- Back office I: staff accounts, roles, sessions, login throttling, audit log.
CREATE TABLE staff_users (
    id INTEGER PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT,
    password_changed_at BIGINT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff_roles (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES staff_users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    authority_id BIGINT REFERENCES authorities(id) ON DELETE CASCADE,
    org_unit_id BIGINT REFERENCES org_units(id) ON DELETE CASCADE
);
CREATE INDEX staff_roles_user ON staff_roles (user_id);

-- The cookie carries a random token; only its SHA-256 is stored, so a database
-- dump does not hand out live sessions.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    csrf_token TEXT NOT NULL,
    second_factor_done BOOLEAN NOT NULL DEFAULT FALSE,
    -- A second-factor secret being enrolled, confirmed by a first valid code.
    pending_totp_secret TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY NOT NULL,
    account_key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (account_key, at);

-- Tamper-evident: each row's hash covers the previous row's hash.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    authority_id BIGINT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_authority ON audit_log (authority_id, id);
