//! Fees and payment (Zahlung): money in integer cents, provider states and the rule
//! that merges them, ISO 11649 creditor references, Kassenzeichen patterns, the
//! GiroCode payload (EPC069-12), bank details, booking settings, claims of the
//! finance software (Forderungen) and the matching of bank credits. Pure code: the
//! store keeps the rows, the handoff crate speaks to providers and banks.

pub mod bank;
pub mod claims;
pub mod girocode;
pub mod kassenzeichen;
pub mod money;
pub mod reconcile;
pub mod rf;
pub mod settings;
pub mod status;

pub use bank::{Iban, InvoiceAccount, check_bic};
pub use claims::{ClaimInput, ClaimState, activation_code, check_claim, normalize_activation_code};
pub use girocode::{GiroCode, GiroVersion, Remittance, payload};
pub use kassenzeichen::{KassenzeichenPattern, compact, xbezahl_description, xbezahl_purpose};
pub use money::Cents;
pub use reconcile::{Candidate, MatchKind, find_rf_references, match_credit, mentions_kassenzeichen};
pub use rf::{is_valid_rf, normalize_rf, rf_from, rf_printed};
pub use settings::{BookingPair, PaymentSettings, ServiceBooking};
pub use status::{PayMode, PaymentStatus, ProviderStatus, Review, merge, poll_delay_ms};
