-- Forms as data: a draft being edited (with a version for optimistic locking) and
-- immutable published versions that submissions will reference.
CREATE TABLE forms (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    leistung_id BIGINT REFERENCES leistungen(id) ON DELETE SET NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    draft TEXT NOT NULL,
    draft_version BIGINT NOT NULL,
    published_version BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, slug)
);

-- Written once per publication and never changed.
CREATE TABLE form_versions (
    form_id BIGINT NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT,
    PRIMARY KEY (form_id, version)
);
