-- Applications in progress (drafts) and submitted applications.
--
-- A draft is keyed by the form token the citizen got with the first page: a retried
-- first POST finds the same draft, and the submission keeps the token (UNIQUE), so a
-- double submit shows the same receipt instead of storing the application twice.
-- Answers and file names are sealed (AES-256-GCM, see web/src/crypto.rs) under the
-- authority's data key.
CREATE TABLE form_drafts (
    token TEXT PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    form_id BIGINT NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    form_version BIGINT NOT NULL,
    citizen_id BIGINT REFERENCES citizens(id) ON DELETE CASCADE,
    -- SHA-256 of the anonymous browser's draft cookie; empty for account drafts.
    browser_hash TEXT NOT NULL,
    csrf TEXT NOT NULL,
    answers TEXT NOT NULL,
    step TEXT NOT NULL,
    -- SHA-256 of the one-time resume link last e-mailed, if any.
    resume_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX form_drafts_citizen ON form_drafts (citizen_id);
CREATE INDEX form_drafts_expiry ON form_drafts (expires_at);
CREATE UNIQUE INDEX form_drafts_resume ON form_drafts (resume_hash);

-- Files uploaded into a draft; the object holds the sealed bytes.
CREATE TABLE draft_files (
    id INTEGER PRIMARY KEY NOT NULL,
    draft_token TEXT NOT NULL REFERENCES form_drafts(token) ON DELETE CASCADE,
    field TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX draft_files_draft ON draft_files (draft_token);

-- The last receipt number given per authority and year (HK-2026-000123).
CREATE TABLE receipt_counters (
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    year BIGINT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (authority_id, year)
);

CREATE TABLE submissions (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id),
    form_id BIGINT NOT NULL REFERENCES forms(id),
    form_version BIGINT NOT NULL,
    form_token TEXT NOT NULL UNIQUE,
    receipt_number TEXT NOT NULL,
    title TEXT NOT NULL,
    citizen_id BIGINT REFERENCES citizens(id) ON DELETE SET NULL,
    browser_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    -- SHA-256 over the canonical answers and the files' hashes, printed on the receipt.
    data_hash TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    status_at BIGINT NOT NULL,
    UNIQUE (authority_id, receipt_number)
);
CREATE INDEX submissions_citizen ON submissions (citizen_id);
CREATE INDEX submissions_authority ON submissions (authority_id, submitted_at);

CREATE TABLE submission_files (
    id INTEGER PRIMARY KEY NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions(id),
    field TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    object_key TEXT NOT NULL
);
CREATE INDEX submission_files_submission ON submission_files (submission_id);
