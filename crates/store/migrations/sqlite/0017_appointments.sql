-- Issue 19: online appointments (Terminvergabe).
--
-- A calendar is divided into units of its slot length; a booking occupies
-- consecutive units on one counter. No double booking is enforced by the primary
-- key of appointment_units (calendar, unit start, counter), not by application
-- logic: two bookings can never hold the same unit row.

-- The booking rules of an authority (JSON, domain::appointments::BookingRules).
CREATE TABLE appointment_rules (
    authority_id BIGINT PRIMARY KEY NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One calendar per location (JSON, domain::appointments::Calendar).
CREATE TABLE appointment_calendars (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    location_id BIGINT NOT NULL UNIQUE REFERENCES locations(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointment_calendars_authority ON appointment_calendars (authority_id);

CREATE TABLE appointments (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    calendar_id BIGINT NOT NULL REFERENCES appointment_calendars(id) ON DELETE CASCADE,
    location_id BIGINT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    counter BIGINT NOT NULL,
    -- How many unit rows the booking holds: confirming checks that none was lost.
    units BIGINT NOT NULL DEFAULT 0,
    -- JSON [{"leika":..,"persons":..}]; no personal data.
    services TEXT NOT NULL,
    persons BIGINT NOT NULL,
    -- SHA-256 (hex) of the secret manage token; the token itself is stored nowhere.
    manage_hash TEXT NOT NULL UNIQUE,
    confirm_hash TEXT UNIQUE,
    hold_until BIGINT,
    citizen_id BIGINT REFERENCES citizens(id) ON DELETE SET NULL,
    receipt_number TEXT,
    replaces_id BIGINT,
    -- Keyring MAC of the lower-cased e-mail address, for the limit per person.
    contact_hash TEXT NOT NULL DEFAULT '',
    -- Sealed JSON {name, email, phone, notes}; '' once purged.
    personal TEXT NOT NULL DEFAULT '',
    booked_by TEXT NOT NULL DEFAULT 'citizen',
    -- Who asked for the hold (hash of the client), against floods of holds.
    client_key TEXT NOT NULL DEFAULT '',
    remind_at BIGINT,
    reminded_at BIGINT,
    purge_at BIGINT,
    purged_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- The counter's day list and the figures per month.
CREATE INDEX appointments_calendar_starts ON appointments (calendar_id, starts_at);
CREATE INDEX appointments_authority_starts ON appointments (authority_id, starts_at);
CREATE INDEX appointments_citizen ON appointments (citizen_id);
-- The sweeper: holds that run out, reminders due, personal data to delete.
CREATE INDEX appointments_status_hold ON appointments (status, hold_until);
CREATE INDEX appointments_status_remind ON appointments (status, remind_at);
CREATE INDEX appointments_purge ON appointments (purge_at);
-- The limit per person and the limit of holds per client.
CREATE INDEX appointments_contact ON appointments (authority_id, contact_hash, starts_at);
CREATE INDEX appointments_client_hold ON appointments (client_key, hold_until);

-- One row per occupied unit of time and counter. hold_until repeats the
-- booking's hold: a row whose hold ran out occupies nothing and is taken over by
-- the next booking in the same statement that inserts it (see store/src/appointments).
CREATE TABLE appointment_units (
    calendar_id BIGINT NOT NULL REFERENCES appointment_calendars(id) ON DELETE CASCADE,
    starts_at BIGINT NOT NULL,
    counter BIGINT NOT NULL,
    appointment_id BIGINT NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
    hold_until BIGINT,
    PRIMARY KEY (calendar_id, starts_at, counter)
);
CREATE INDEX appointment_units_appointment ON appointment_units (appointment_id);
