-- Issue 20: fees and payment (Zahlung), claims of the finance software (Forderungen),
-- bank statements (camt.053) and the finance feed.
--
-- Money is BIGINT cents, timestamps BIGINT ms, dates TEXT YYYY-MM-DD. A submission
-- that must be paid first waits with status 'zahlung_ausstehend' (reserved, outside
-- every workflow); it is released in the transaction that books the payment.

-- One JSON document per authority (domain::payment::PaymentSettings).
CREATE TABLE payment_settings (
    authority_id BIGINT PRIMARY KEY NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Payment providers, invoice accounts and finance-software webhooks: a table of their
-- own (not `connectors`), so that no submission is ever delivered to a payment provider.
CREATE TABLE payment_connectors (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    -- NULL: every form of the authority.
    form_id BIGINT REFERENCES forms(id) ON DELETE CASCADE,
    -- 'xbezahldienste', 'rechnung', 'finanzen_webhook'
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Sealed JSON (secrets, account).
    config TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX payment_connectors_authority ON payment_connectors (authority_id);

-- Running numbers of Kassenzeichen per authority and year. Allocated in a small
-- transaction of their own before the submission's commit: gaps are possible.
CREATE TABLE kassenzeichen_counters (
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    year BIGINT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (authority_id, year)
);

-- The finance feed's sequence per authority: updated inside each booking's
-- transaction, so its row lock orders bookings and the feed never skips one.
CREATE TABLE finance_feed_counters (
    authority_id BIGINT PRIMARY KEY NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    last_seq BIGINT NOT NULL
);

-- The finance software's taxpayer account (Personenkonto), linked to a citizen only
-- through a one-time activation code.
CREATE TABLE finance_accounts (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    account_ref TEXT NOT NULL,
    citizen_id BIGINT REFERENCES citizens(id) ON DELETE SET NULL,
    linked_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (authority_id, account_ref)
);
CREATE INDEX finance_accounts_citizen ON finance_accounts (citizen_id);

CREATE TABLE activation_codes (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    finance_account_id BIGINT NOT NULL REFERENCES finance_accounts(id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the code; the code itself is stored nowhere.
    code_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE claims (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    finance_account_id BIGINT NOT NULL REFERENCES finance_accounts(id),
    kassenzeichen TEXT NOT NULL,
    due_on TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Sealed.
    title TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    open_cents BIGINT NOT NULL,
    -- 'open', 'partly_paid', 'settled', 'dunning', 'cancelled'
    state TEXT NOT NULL,
    dunning_level BIGINT NOT NULL DEFAULT 0,
    rf_reference TEXT NOT NULL,
    -- 'api', 'csv'
    source TEXT NOT NULL,
    -- Hash of the item as sent: the same item again changes nothing.
    payload_hash TEXT NOT NULL,
    synced_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (authority_id, kassenzeichen, due_on)
);
CREATE INDEX claims_account ON claims (finance_account_id);

CREATE TABLE claim_documents (
    id INTEGER PRIMARY KEY NOT NULL,
    claim_id BIGINT NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    -- Sealed.
    file_name TEXT NOT NULL,
    object_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (claim_id, sha256)
);

-- What is to be paid: the fee of one submission, or a claim paid from the account.
CREATE TABLE payments (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    submission_id BIGINT UNIQUE REFERENCES submissions(id),
    claim_id BIGINT REFERENCES claims(id),
    -- 'vorab', 'rechnung', 'vor_ort', 'forderung'
    mode TEXT NOT NULL,
    connector_id BIGINT REFERENCES payment_connectors(id),
    kassenzeichen TEXT NOT NULL,
    rf_reference TEXT NOT NULL,
    purpose TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL DEFAULT 0,
    refunded_cents BIGINT NOT NULL DEFAULT 0,
    -- 'open', 'partly_paid', 'paid', 'expired', 'cancelled'
    status TEXT NOT NULL,
    -- '' or 'amount_mismatch', 'overpaid', 'paid_after_expiry', 'no_final_status'
    review TEXT NOT NULL DEFAULT '',
    -- JSON booking data for the treasury; no personal data.
    booking TEXT NOT NULL,
    due_on TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    paid_at BIGINT,
    citizen_id BIGINT REFERENCES citizens(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- A claim keeps its Kassenzeichen for every payment made on it.
CREATE UNIQUE INDEX payments_kassenzeichen ON payments (authority_id, kassenzeichen) WHERE claim_id IS NULL;
CREATE INDEX payments_authority_status ON payments (authority_id, status);
CREATE INDEX payments_claim ON payments (claim_id);
CREATE INDEX payments_expiry ON payments (status, expires_at);

-- One try to pay online. Carries the outbox columns (status, next_attempt_at,
-- claimed_until) so the poll worker claims it like every other outbox row:
-- 'pending' until final and settled, then 'done'.
CREATE TABLE payment_attempts (
    id INTEGER PRIMARY KEY NOT NULL,
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    connector_id BIGINT NOT NULL REFERENCES payment_connectors(id),
    request_id TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the secret in the return URL.
    return_hash TEXT NOT NULL UNIQUE,
    amount_cents BIGINT NOT NULL,
    transaction_id TEXT,
    transaction_url TEXT NOT NULL DEFAULT '',
    -- NEW, INITIAL, PAYED, FAILED, CANCELED, ABANDONED
    provider_status TEXT NOT NULL,
    -- When the request that saw provider_status was sent (ms).
    status_seen_at BIGINT NOT NULL,
    transaction_reference TEXT NOT NULL DEFAULT '',
    payment_method TEXT NOT NULL DEFAULT '',
    reported_cents BIGINT,
    -- Polls since provider_status last changed.
    polls BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (connector_id, transaction_id)
);
CREATE INDEX payment_attempts_due ON payment_attempts (status, next_attempt_at);
CREATE INDEX payment_attempts_payment ON payment_attempts (payment_id);

CREATE TABLE bank_statements (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    account_iban TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    electronic_seq TEXT NOT NULL DEFAULT '',
    -- camt.053 version, e.g. '001.02'
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    from_date TEXT NOT NULL DEFAULT '',
    to_date TEXT NOT NULL DEFAULT '',
    entries BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    UNIQUE (authority_id, account_iban, statement_id),
    UNIQUE (authority_id, sha256)
);

CREATE TABLE bank_entries (
    id INTEGER PRIMARY KEY NOT NULL,
    statement_ref BIGINT NOT NULL REFERENCES bank_statements(id),
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    entry_key TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    credit BIGINT NOT NULL,
    currency TEXT NOT NULL,
    booking_date TEXT NOT NULL,
    value_date TEXT NOT NULL,
    -- The structured reference (RF), clear.
    reference TEXT NOT NULL DEFAULT '',
    -- Sealed JSON: debtor, IBAN, remittance, end-to-end id.
    details TEXT NOT NULL,
    -- 'exact', 'partial', 'over', 'ambiguous', 'unmatched', 'debit', 'foreign', 'assigned', 'dismissed'
    match TEXT NOT NULL,
    payment_id BIGINT REFERENCES payments(id),
    claim_id BIGINT REFERENCES claims(id),
    -- Sealed.
    note TEXT NOT NULL DEFAULT '',
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (authority_id, entry_key)
);
CREATE INDEX bank_entries_match ON bank_entries (authority_id, match);

-- Money booked: positive payments, negative refunds. feed_seq orders them per
-- authority for the finance software (GET /api/v1/zahlungen?seit=).
CREATE TABLE payment_bookings (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    payment_id BIGINT REFERENCES payments(id),
    claim_id BIGINT REFERENCES claims(id),
    -- 'online', 'bank', 'counter', 'refund', 'correction'
    source TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    method TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    bank_entry_id BIGINT UNIQUE REFERENCES bank_entries(id),
    attempt_id BIGINT UNIQUE REFERENCES payment_attempts(id),
    feed_seq BIGINT NOT NULL,
    actor TEXT NOT NULL,
    booked_on TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (authority_id, feed_seq)
);
CREATE INDEX payment_bookings_payment ON payment_bookings (payment_id);
CREATE INDEX payment_bookings_claim ON payment_bookings (claim_id);

CREATE TABLE payment_refunds (
    id INTEGER PRIMARY KEY NOT NULL,
    authority_id BIGINT NOT NULL REFERENCES authorities(id) ON DELETE CASCADE,
    payment_id BIGINT NOT NULL REFERENCES payments(id),
    amount_cents BIGINT NOT NULL,
    -- Sealed.
    reason TEXT NOT NULL,
    -- 'payout', 'provider'
    method TEXT NOT NULL,
    -- 'instructed', 'done', 'failed'
    status TEXT NOT NULL,
    -- Sealed.
    payout_iban TEXT NOT NULL DEFAULT '',
    booking_id BIGINT REFERENCES payment_bookings(id),
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX payment_refunds_payment ON payment_refunds (payment_id);

-- How far each finance-software webhook has been told about the feed.
CREATE TABLE finance_webhook_state (
    connector_id BIGINT PRIMARY KEY NOT NULL REFERENCES payment_connectors(id) ON DELETE CASCADE,
    delivered_seq BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
);
