//! Payments: what is to be paid for a submission or a claim, the tries to pay it
//! online, the money booked, refunds, bank statements, claims of the finance
//! software and the finance feed.
//!
//! Reads are on [`Store`](crate::Store), writes on [`Tx`](crate::Tx), by job:
//! [`core`] (settings, connectors, payments, Kassenzeichen numbers), [`attempts`]
//! (online attempts, the poll claim and the merge of observations), [`bookings`]
//! (booking money, releasing a held submission, expiry, the feed sequence),
//! [`refunds`], [`bank`], [`claims`], [`feed`].
//!
//! A submission whose fee must be paid first is stored with status
//! [`AWAITING_PAYMENT`]: it has no deliveries, is in no inbox, count or API list,
//! and is released (compare-and-set to `eingegangen` plus its deliveries) in the
//! transaction that books the payment — exactly once.

pub mod attempts;
pub mod bank;
pub mod bookings;
pub mod claims;
pub mod core;
pub mod feed;
pub mod refunds;

pub use amtsweg_forms::workflow::{AWAITING_PAYMENT, PAYMENT_EXPIRED, RESERVED_STATES};
pub use attempts::{BeginAttempt, NewAttempt, Observation, Recorded};
pub use bank::{NewBankEntry, NewStatement, PeriodRow};
pub use bookings::{Booked, NewBooking};
pub use claims::{ActivationUse, NewClaim, Upserted};
pub use feed::FeedRow;
pub use refunds::NewRefund;

use serde::Serialize;

/// Connector kinds (the table `payment_connectors`).
pub const KIND_XBEZAHLDIENSTE: &str = "xbezahldienste";
pub const KIND_RECHNUNG: &str = "rechnung";
pub const KIND_FINANZEN_WEBHOOK: &str = "finanzen_webhook";

/// Booking sources.
pub const SOURCE_ONLINE: &str = "online";
pub const SOURCE_BANK: &str = "bank";
pub const SOURCE_COUNTER: &str = "counter";
pub const SOURCE_REFUND: &str = "refund";
pub const SOURCE_CORRECTION: &str = "correction";

/// The outbox state of an attempt that is still polled, and of one that is not.
pub const ATTEMPT_PENDING: &str = crate::outbox::PENDING;
pub const ATTEMPT_DONE: &str = "done";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PaymentSettingsRow {
    pub authority_id: i64,
    /// JSON of `domain::payment::PaymentSettings`.
    pub settings: String,
    pub version: i64,
    pub updated_at: i64,
}

pub const SETTINGS_COLUMNS: [&str; 4] = ["authority_id", "settings", "version", "updated_at"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PaymentConnectorRow {
    pub id: i64,
    pub authority_id: i64,
    pub form_id: Option<i64>,
    pub kind: String,
    pub name: String,
    /// Sealed JSON.
    pub config: String,
    pub active: i64,
    pub created_at: i64,
}

pub const CONNECTOR_COLUMNS: [&str; 8] =
    ["id", "authority_id", "form_id", "kind", "name", "config", "active", "created_at"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub authority_id: i64,
    pub submission_id: Option<i64>,
    pub claim_id: Option<i64>,
    /// `vorab`, `rechnung`, `vor_ort`, `forderung`.
    pub mode: String,
    pub connector_id: Option<i64>,
    pub kassenzeichen: String,
    /// Compact RF reference.
    pub rf_reference: String,
    pub purpose: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    /// `domain::payment::PaymentStatus` as text.
    pub status: String,
    /// `domain::payment::Review` as text, '' when none.
    pub review: String,
    /// JSON booking data; no personal data.
    pub booking: String,
    /// YYYY-MM-DD, '' when none.
    pub due_on: String,
    pub expires_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub citizen_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const PAYMENT_COLUMNS: [&str; 21] = [
    "id",
    "authority_id",
    "submission_id",
    "claim_id",
    "mode",
    "connector_id",
    "kassenzeichen",
    "rf_reference",
    "purpose",
    "amount_cents",
    "paid_cents",
    "refunded_cents",
    "status",
    "review",
    "booking",
    "due_on",
    "expires_at",
    "paid_at",
    "citizen_id",
    "created_at",
    "updated_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub payment_id: i64,
    pub authority_id: i64,
    pub connector_id: i64,
    pub request_id: String,
    /// SHA-256 (hex) of the return URL's secret.
    pub return_hash: String,
    pub amount_cents: i64,
    pub transaction_id: Option<String>,
    pub transaction_url: String,
    /// `domain::payment::ProviderStatus` as text.
    pub provider_status: String,
    /// When the request that saw `provider_status` was sent (ms).
    pub status_seen_at: i64,
    pub transaction_reference: String,
    pub payment_method: String,
    pub reported_cents: Option<i64>,
    /// Polls since `provider_status` last changed.
    pub polls: i64,
    /// Outbox state: `pending` while polled, `done` after.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: i64,
    pub last_error: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const ATTEMPT_COLUMNS: [&str; 22] = [
    "id",
    "payment_id",
    "authority_id",
    "connector_id",
    "request_id",
    "return_hash",
    "amount_cents",
    "transaction_id",
    "transaction_url",
    "provider_status",
    "status_seen_at",
    "transaction_reference",
    "payment_method",
    "reported_cents",
    "polls",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_error",
    "created_at",
    "updated_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BookingRow {
    pub id: i64,
    pub authority_id: i64,
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
    /// `online`, `bank`, `counter`, `refund`, `correction`.
    pub source: String,
    /// Negative for refunds.
    pub amount_cents: i64,
    pub method: String,
    pub reference: String,
    pub bank_entry_id: Option<i64>,
    pub attempt_id: Option<i64>,
    pub feed_seq: i64,
    pub actor: String,
    /// YYYY-MM-DD.
    pub booked_on: String,
    pub created_at: i64,
}

pub const BOOKING_COLUMNS: [&str; 14] = [
    "id",
    "authority_id",
    "payment_id",
    "claim_id",
    "source",
    "amount_cents",
    "method",
    "reference",
    "bank_entry_id",
    "attempt_id",
    "feed_seq",
    "actor",
    "booked_on",
    "created_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RefundRow {
    pub id: i64,
    pub authority_id: i64,
    pub payment_id: i64,
    pub amount_cents: i64,
    /// Sealed.
    pub reason: String,
    /// `payout`, `provider`.
    pub method: String,
    /// `instructed`, `done`, `failed`.
    pub status: String,
    /// Sealed, '' when none.
    pub payout_iban: String,
    pub booking_id: Option<i64>,
    pub actor: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

pub const REFUND_COLUMNS: [&str; 12] = [
    "id",
    "authority_id",
    "payment_id",
    "amount_cents",
    "reason",
    "method",
    "status",
    "payout_iban",
    "booking_id",
    "actor",
    "created_at",
    "done_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StatementRow {
    pub id: i64,
    pub authority_id: i64,
    pub account_iban: String,
    pub statement_id: String,
    pub message_id: String,
    pub electronic_seq: String,
    pub version: String,
    pub sha256: String,
    pub from_date: String,
    pub to_date: String,
    pub entries: i64,
    pub imported_by: String,
    pub imported_at: i64,
}

pub const STATEMENT_COLUMNS: [&str; 13] = [
    "id",
    "authority_id",
    "account_iban",
    "statement_id",
    "message_id",
    "electronic_seq",
    "version",
    "sha256",
    "from_date",
    "to_date",
    "entries",
    "imported_by",
    "imported_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct BankEntryRow {
    pub id: i64,
    pub statement_ref: i64,
    pub authority_id: i64,
    pub entry_key: String,
    pub amount_cents: i64,
    pub credit: i64,
    pub currency: String,
    pub booking_date: String,
    pub value_date: String,
    /// The structured reference (RF), clear.
    pub reference: String,
    /// Sealed JSON: debtor, IBAN, remittance, end-to-end id.
    pub details: String,
    pub r#match: String,
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
    /// Sealed.
    pub note: String,
    pub resolved_by: String,
    pub resolved_at: Option<i64>,
    pub created_at: i64,
}

pub const BANK_ENTRY_COLUMNS: [&str; 18] = [
    "id",
    "statement_ref",
    "authority_id",
    "entry_key",
    "amount_cents",
    "credit",
    "currency",
    "booking_date",
    "value_date",
    "reference",
    "details",
    "match",
    "payment_id",
    "claim_id",
    "note",
    "resolved_by",
    "resolved_at",
    "created_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FinanceAccountRow {
    pub id: i64,
    pub authority_id: i64,
    pub account_ref: String,
    pub citizen_id: Option<i64>,
    pub linked_at: Option<i64>,
    pub created_at: i64,
}

pub const FINANCE_ACCOUNT_COLUMNS: [&str; 6] =
    ["id", "authority_id", "account_ref", "citizen_id", "linked_at", "created_at"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClaimRow {
    pub id: i64,
    pub authority_id: i64,
    pub finance_account_id: i64,
    pub kassenzeichen: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    pub kind: String,
    /// Sealed.
    pub title: String,
    pub amount_cents: i64,
    pub open_cents: i64,
    /// `domain::payment::ClaimState` as text.
    pub state: String,
    pub dunning_level: i64,
    pub rf_reference: String,
    /// `api`, `csv`.
    pub source: String,
    pub payload_hash: String,
    pub synced_at: i64,
    /// The highest id of the claim's bookings when it was last synced: the synced
    /// open amount already holds those.
    pub synced_booking_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ClaimRow {
    /// The money the portal booked on this claim since the finance software last
    /// synced it (refunds negative): bookings newer than the sync's watermark.
    #[must_use]
    pub fn booked_since_sync(&self, bookings: &[BookingRow]) -> i64 {
        bookings
            .iter()
            .filter(|b| b.claim_id == Some(self.id) && b.id > self.synced_booking_id)
            .map(|b| b.amount_cents)
            .sum()
    }

    /// The open amount as the portal sees it: the synced figure less what the
    /// portal booked since, never below zero.
    #[must_use]
    pub fn open_after(&self, bookings: &[BookingRow]) -> i64 {
        (self.open_cents - self.booked_since_sync(bookings)).max(0)
    }
}

pub const CLAIM_COLUMNS: [&str; 18] = [
    "id",
    "authority_id",
    "finance_account_id",
    "kassenzeichen",
    "due_on",
    "kind",
    "title",
    "amount_cents",
    "open_cents",
    "state",
    "dunning_level",
    "rf_reference",
    "source",
    "payload_hash",
    "synced_at",
    "synced_booking_id",
    "created_at",
    "updated_at",
];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClaimDocumentRow {
    pub id: i64,
    pub claim_id: i64,
    pub authority_id: i64,
    pub title: String,
    /// Sealed.
    pub file_name: String,
    pub object_key: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: i64,
}

pub const CLAIM_DOCUMENT_COLUMNS: [&str; 9] =
    ["id", "claim_id", "authority_id", "title", "file_name", "object_key", "size", "sha256", "created_at"];

/// A payment to store with its submission (in the submission's transaction) or for a
/// claim. Kassenzeichen and RF are allocated before (see `Tx::next_kassenzeichen_number`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub authority_id: i64,
    /// `vorab`, `rechnung`, `vor_ort`, `forderung`.
    pub mode: String,
    pub connector_id: Option<i64>,
    pub kassenzeichen: String,
    pub rf_reference: String,
    pub purpose: String,
    pub amount_cents: i64,
    /// JSON booking data; no personal data.
    pub booking: String,
    /// YYYY-MM-DD, '' when none.
    pub due_on: String,
    pub expires_at: Option<i64>,
    pub citizen_id: Option<i64>,
    /// true: store the submission as `zahlung_ausstehend` (released when paid).
    pub hold: bool,
}
