-- Issue 18: second-factor codes are accepted once, and the audit chain is keyed.

-- The last accepted TOTP time step (Unix time / 30 s) per account: a code of that
-- step or an earlier one is refused, so a code seen over someone's shoulder or in
-- a proxy log cannot be used again within its window.
ALTER TABLE staff_users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE citizens ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- How each audit entry is chained: 1 = plain SHA-256 (entries written before this
-- version), 2 = HMAC-SHA256 under a key the database does not hold. Version 1 is
-- accepted only before the first version-2 entry.
ALTER TABLE audit_log ADD COLUMN chain BIGINT NOT NULL DEFAULT 1;
