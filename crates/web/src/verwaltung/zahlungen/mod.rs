//! Fees and payments of an authority in the back office
//! (`/verwaltung/behoerden/<slug>/zahlungen/…`): the overview with what needs a
//! person (payments to review, bank entries to resolve, payouts to make, forms whose
//! payment cannot work as set up), the payment connectors (a provider for paying
//! online, the account an invoice names, the poke to the finance software), the
//! settings for the treasury (Kassenzeichen, expiry, booking data per service), the
//! import of bank statements (camt.053) and the reconciliation of what they could not
//! match, the per-period CSV, activation codes for the citizens' finance accounts and
//! the CSV import of claims.
//!
//! Who may do what: money is handled by the people who work the authority's cases
//! as a whole (case workers and administrators without an org-unit limit — money is
//! not split by org unit); connectors and settings belong to the authority's
//! administrators, like the hand-off connectors.

pub(crate) mod abgleich;
pub(crate) mod bericht;
pub(crate) mod codes;
pub(crate) mod einstellungen;
pub(crate) mod forderungen;
pub(crate) mod kontoauszuege;
pub(crate) mod uebersicht;
pub(crate) mod verbindungen;

use super::StaffContext;
use crate::AppState;
use crate::error::AppError;
use amtsweg_domain::Authority;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Serialize;

/// What the signed-in person may do with the payments of one authority.
pub(crate) struct PayRights {
    pub authority: Authority,
    /// May see and handle payments (overview, statements, reconciliation, refunds,
    /// activation codes, claims).
    pub handle: bool,
    /// May set up connectors and settings.
    pub administer: bool,
}

impl StaffContext {
    /// The authority of the path and what this person may do with its payments: 404
    /// for an unknown authority, 403 when they may do neither.
    pub(crate) fn payment_rights(&self, state: &AppState, slug: &str) -> Result<PayRights, AppError> {
        let authority = state.catalogue().authority_by_slug(slug).cloned().ok_or(AppError::NotFound)?;
        let handle = self.perms.can_handle_payments(authority.id);
        let administer = self.perms.can_administer(authority.id);
        if handle || administer { Ok(PayRights { authority, handle, administer }) } else { Err(AppError::Forbidden) }
    }

    /// The authority of the path if this person handles its payments.
    pub(crate) fn payment_handler(&self, state: &AppState, slug: &str) -> Result<Authority, AppError> {
        let r = self.payment_rights(state, slug)?;
        if r.handle { Ok(r.authority) } else { Err(AppError::Forbidden) }
    }

    /// The authority of the path if this person sets up its payment connectors.
    pub(crate) fn payment_admin(&self, state: &AppState, slug: &str) -> Result<Authority, AppError> {
        let r = self.payment_rights(state, slug)?;
        if r.administer { Ok(r.authority) } else { Err(AppError::Forbidden) }
    }
}

/// The person as payments record them (name for people, audit actor).
fn actor(staff: &StaffContext) -> amtsweg_portal::casework::Actor {
    amtsweg_portal::casework::Actor { name: staff.user.display_name.clone(), audit: staff.actor() }
}

/// The authority as the templates name it.
fn authority_value(a: &Authority) -> Value {
    context! { name => &a.name, slug => a.slug.as_str() }
}

/// Where the payment pages of an authority start.
fn base_url(a: &Authority) -> String {
    format!("/verwaltung/behoerden/{}/zahlungen/", a.slug)
}

/// Pages with personal data or secrets are never kept by a cache.
fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// One problem with the input it belongs to (the element id the summary links to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The ids of the inputs with a problem (for `aria-invalid`).
fn invalid(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.field.as_str()).collect()
}

/// "24.11.2026" for a stored day (YYYY-MM-DD); other values as they are.
pub(crate) fn german_day(iso: &str) -> String {
    match iso.parse::<jiff::civil::Date>() {
        Ok(d) => d.strftime("%d.%m.%Y").to_string(),
        Err(_) => iso.to_owned(),
    }
}

/// A day from a form or query: `2026-11-24` (what `<input type=date>` sends) or
/// `24.11.2026`.
pub(crate) fn parse_day(s: &str) -> Option<jiff::civil::Date> {
    crate::verwaltung::termine::parse_date(s)
}

/// "1.234,50 €".
pub(crate) fn euro(cents: i64) -> String {
    amtsweg_domain::payment::Cents(cents).german()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_shown_the_german_way() {
        assert_eq!(german_day("2026-11-24"), "24.11.2026");
        assert_eq!(german_day(""), "");
        assert_eq!(parse_day("24.11.2026").map(|d| d.to_string()), Some("2026-11-24".into()));
        assert_eq!(euro(123_450), "1.234,50 €");
    }
}
