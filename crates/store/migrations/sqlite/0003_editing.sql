-- Back office I: drafts, published revisions and optimistic locking for services.
ALTER TABLE leistungen ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;

-- At most one draft per service; `version` counts saves for optimistic locking.
CREATE TABLE leistung_drafts (
    leistung_id BIGINT PRIMARY KEY NOT NULL REFERENCES leistungen(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    content TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT
);

-- Every published state, for history, diff and restore.
CREATE TABLE leistung_revisions (
    id INTEGER PRIMARY KEY NOT NULL,
    leistung_id BIGINT NOT NULL REFERENCES leistungen(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    content TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT,
    UNIQUE (leistung_id, revision)
);
