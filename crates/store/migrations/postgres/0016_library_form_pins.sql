-- Issue 18, finding 10: a linked adopter serves the version of the owner's form it
-- accepted, not the owner's newest one. A newer owner version is offered as an
-- upstream change (with what changes: fields, workflow, trust level) to accept.
CREATE TABLE library_form_pins (
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    leistung_id BIGINT NOT NULL REFERENCES leistungen(id) ON DELETE CASCADE,
    form_id BIGINT NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    accepted_by BIGINT,
    PRIMARY KEY (authority_id, form_id)
);

-- Adopters keep serving what they serve today: the owner's current version.
INSERT INTO library_form_pins (authority_id, leistung_id, form_id, version, accepted_at, accepted_by)
SELECT a.authority_id, a.leistung_id, f.id, f.published_version, a.adopted_at, NULL
FROM library_adoptions a
JOIN library_entries e ON e.id = a.entry_id
JOIN forms f ON f.authority_id = e.authority_id AND f.leistung_id = e.leistung_id
WHERE a.mode = 'linked' AND f.published_version > 0;
