-- Bürgerkonto: one citizen account for the whole Verbund, linked identities of ID
-- providers, profile values with their source, one-time links, and the Postfach.
CREATE TABLE citizens (
    id INTEGER PRIMARY KEY NOT NULL,
    -- NULL for accounts created through an ID provider that gave no address.
    email TEXT UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    -- NULL when the account has no local password (ID provider only).
    password_hash TEXT,
    totp_secret TEXT,
    password_changed_at BIGINT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- An identity at an ID provider (BundID: the bPK2; OpenID Connect: issuer + sub),
-- linked to exactly one account.
CREATE TABLE citizen_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    trust_level TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX citizen_identities_citizen ON citizen_identities (citizen_id);

-- One row per profile field: value, where it came from and how well it is proven.
CREATE TABLE citizen_profile (
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    trust_level TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (citizen_id, field)
);

-- E-mail confirmation and password-reset links; only the token's SHA-256 is stored.
CREATE TABLE citizen_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Postfach: threads between a citizen and an authority, messages both ways.
CREATE TABLE postfach_threads (
    id INTEGER PRIMARY KEY NOT NULL,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX postfach_threads_citizen ON postfach_threads (citizen_id, updated_at);

CREATE TABLE postfach_messages (
    id INTEGER PRIMARY KEY NOT NULL,
    thread_id BIGINT NOT NULL REFERENCES postfach_threads(id) ON DELETE CASCADE,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    -- 'to_citizen' (from the authority) or 'from_citizen' (a reply).
    direction TEXT NOT NULL,
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX postfach_messages_thread ON postfach_messages (thread_id, id);

CREATE TABLE postfach_attachments (
    id INTEGER PRIMARY KEY NOT NULL,
    message_id BIGINT NOT NULL REFERENCES postfach_messages(id) ON DELETE CASCADE,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    object_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Citizen sessions record how well the person was identified, and how.
ALTER TABLE sessions ADD COLUMN trust_level TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';

-- One-time codes that carry a sign-in from the central login host to a member
-- authority's own host name (only the hash is stored; valid for a minute).
CREATE TABLE sso_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    citizen_id BIGINT NOT NULL REFERENCES citizens(id) ON DELETE CASCADE,
    trust_level TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    host TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
