-- Foundation: authorities (tenants), places, catalogue, responsibility.
-- Timestamps are milliseconds since the epoch (BIGINT) so both backends store them alike.
CREATE TABLE verbund_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE authorities (
    id INTEGER PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    ags TEXT,
    ars TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES authorities(id),
    street TEXT NOT NULL DEFAULT '',
    plz TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    intro TEXT NOT NULL DEFAULT '',
    primary_color TEXT NOT NULL DEFAULT '#1d4f91',
    main_location_id BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE authority_hosts (
    host TEXT PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE
);

CREATE TABLE locations (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    street TEXT NOT NULL DEFAULT '',
    plz TEXT NOT NULL DEFAULT '',
    city TEXT NOT NULL DEFAULT '',
    accessibility TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, slug)
);

CREATE TABLE org_units (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    location_id BIGINT REFERENCES locations(id),
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, slug)
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    org_unit_id BIGINT REFERENCES org_units(id),
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    room TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, slug)
);

CREATE TABLE leistungen (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    leika_key TEXT NOT NULL,
    leika_verified BOOLEAN NOT NULL DEFAULT FALSE,
    trust_level TEXT NOT NULL DEFAULT 'normal',
    org_unit_id BIGINT REFERENCES org_units(id),
    online_url TEXT NOT NULL DEFAULT '',
    keywords TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    requirements TEXT NOT NULL DEFAULT '',
    documents TEXT NOT NULL DEFAULT '',
    fees TEXT NOT NULL DEFAULT '',
    deadlines TEXT NOT NULL DEFAULT '',
    procedure_text TEXT NOT NULL DEFAULT '',
    legal_basis TEXT NOT NULL DEFAULT '',
    processing_time TEXT NOT NULL DEFAULT '',
    published BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, slug)
);
CREATE INDEX leistungen_updated_at ON leistungen (updated_at);
CREATE INDEX leistungen_leika_key ON leistungen (leika_key);

CREATE TABLE leistung_contacts (
    leistung_id BIGINT NOT NULL REFERENCES leistungen(id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    position BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (leistung_id, contact_id)
);

CREATE TABLE places (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    ars TEXT NOT NULL UNIQUE
);

CREATE TABLE place_plz (
    plz TEXT NOT NULL,
    place_id BIGINT NOT NULL REFERENCES places(id) ON DELETE CASCADE,
    PRIMARY KEY (plz, place_id)
);

CREATE TABLE zustaendigkeiten (
    id INTEGER PRIMARY KEY NOT NULL,
    leika_key TEXT NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    area_prefix TEXT NOT NULL,
    UNIQUE (leika_key, authority_id, area_prefix)
);
