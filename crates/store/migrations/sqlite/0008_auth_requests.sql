-- Sign-ins at ID providers in flight (OpenID Connect state, SAML request id), bound to
-- the browser that started them, one-time and short-lived; and the SAML replay cache.
CREATE TABLE auth_requests (
    id_hash TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL DEFAULT '',
    verifier TEXT NOT NULL DEFAULT '',
    return_to TEXT NOT NULL,
    -- The account to link the identity to (the citizen was signed in when starting).
    link_citizen_id BIGINT,
    needed_trust TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE saml_replay (
    assertion_id TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Single-sign-on codes are bound to the browser that asked for them on the member host.
ALTER TABLE sso_codes ADD COLUMN browser_hash TEXT NOT NULL DEFAULT '';
