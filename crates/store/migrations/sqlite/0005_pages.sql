-- Plain pages of an authority (BITV 2.0 and legally required pages). A missing row
-- means the page is shown from its built-in template, filled with the authority's data.
CREATE TABLE pages (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    video_url TEXT NOT NULL DEFAULT '',
    revision BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT,
    UNIQUE (authority_id, kind)
);
