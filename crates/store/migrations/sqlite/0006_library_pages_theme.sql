-- Back office I, part 2: the Verbund library (Nachnutzung), drafts and history for
-- plain pages, logo and footer links per authority.

-- A service description an authority offers to the whole Verbund. It follows the
-- author's published service: every publication of the original is a new revision.
CREATE TABLE library_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    leistung_id BIGINT NOT NULL UNIQUE REFERENCES leistungen(id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    withdrawn BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

-- The shared text of every library revision, so adopters can see what changed.
CREATE TABLE library_revisions (
    entry_id BIGINT NOT NULL REFERENCES library_entries(id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    content TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT,
    PRIMARY KEY (entry_id, revision)
);

-- A service that was taken over from the library: `linked` follows the entry (shared
-- text read-only, updates offered), `copy` is the adopter's own from then on.
CREATE TABLE library_adoptions (
    leistung_id BIGINT PRIMARY KEY NOT NULL REFERENCES leistungen(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    entry_id BIGINT NOT NULL REFERENCES library_entries(id) ON DELETE CASCADE,
    mode TEXT NOT NULL,
    adopted_revision BIGINT NOT NULL,
    adopted_at BIGINT NOT NULL,
    adopted_by BIGINT,
    UNIQUE (authority_id, entry_id)
);

-- Plain pages get drafts and a history like services.
CREATE TABLE page_drafts (
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    version BIGINT NOT NULL,
    content TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT,
    PRIMARY KEY (authority_id, kind)
);

CREATE TABLE page_revisions (
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    content TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT,
    PRIMARY KEY (authority_id, kind, revision)
);

-- Logo (object key in the object store, empty = none) and footer links (JSON list).
ALTER TABLE authorities ADD COLUMN logo_key TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN logo_type TEXT NOT NULL DEFAULT '';
ALTER TABLE authorities ADD COLUMN footer_links TEXT NOT NULL DEFAULT '[]';
