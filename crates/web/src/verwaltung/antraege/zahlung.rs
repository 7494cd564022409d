//! The payment of one application in case work: its state, what was booked and
//! refunded (the panel of the case page), a payment taken at the counter (which
//! releases an application held for payment, exactly once) and a refund with its
//! reason (a payout instruction for the treasury, shown to the citizen), and closing
//! a payment's review ("Prüfung abschließen": release the held application or mark
//! it checked, with a note). Errors show the case page again with what was typed.

use super::case::{Typed, render_case};
use super::{StaffContext, actor, case_for};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use amtsweg_domain::payment::Cents;
use amtsweg_portal::casework::Case;
use amtsweg_portal::payments::{counter, review, view};
use amtsweg_portal::reconcile::refund;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// The payment panel of the case page; `None` when the application has no fee.
pub(super) async fn panel(state: &AppState, staff: &StaffContext, case: &Case) -> Result<Option<Value>, AppError> {
    let s = &case.row;
    let Some(p) = view::of_submission(&state.portal, s.authority_id, s.id).await? else { return Ok(None) };
    // The staff's view of refunds names the reason and the payout account.
    let refunds = refund::of_payment(&state.portal, s.authority_id, p.id).await?;
    let refundable = p.paid_cents - p.refunded_cents;
    let counter_open = p.open_cents > 0 && matches!(p.status.as_str(), "open" | "partly_paid" | "expired");
    let methods: Vec<Value> = counter::METHODS.iter().map(|(v, l)| context! { value => v, label => l }).collect();
    Ok(Some(context! {
        p => Value::from_serialize(&p), refunds => Value::from_serialize(&refunds),
        can_record => counter_open && staff.perms.can_handle_payments(s.authority_id),
        can_refund => refundable > 0 && staff.perms.can_handle_payments(s.authority_id),
        refundable => Cents(refundable).german(), open_input => german_input(p.open_cents),
        refundable_input => german_input(refundable), methods,
        can_resolve => !p.review.is_empty() && staff.perms.can_handle_payments(s.authority_id),
        can_release => (p.held || p.expired_unpaid) && p.paid_cents - p.refunded_cents > 0, review_max => review::MAX_NOTE,
    }))
}

/// An amount as a person types it: "12,50".
fn german_input(cents: i64) -> String {
    let c = cents.max(0);
    format!("{},{:02}", c / 100, c % 100)
}

/// Money is handled by those who work the authority's cases as a whole (not by a
/// grant limited to one org unit).
fn require_payments(staff: &StaffContext, case: &Case) -> Result<(), AppError> {
    if staff.perms.can_handle_payments(case.row.authority_id) { Ok(()) } else { Err(AppError::Forbidden) }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CounterForm {
    csrf: String,
    betrag: String,
    zahlweg: String,
}

/// A payment taken at the counter.
pub async fn counter_payment(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<CounterForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    require_payments(&staff, &case)?;
    let typed = Typed { pay_amount: f.betrag.clone(), pay_method: f.zahlweg.clone(), ..Typed::default() };
    let amount = match Cents::parse_german(f.betrag.trim()) {
        Ok(c) => c,
        Err(_) => {
            let m = "Bitte geben Sie den Betrag in Euro an, zum Beispiel 12,50.".to_owned();
            return render_case(&state, &staff, &case, Some(("zahlung", m)), &typed, None).await;
        }
    };
    match counter::record_counter_payment(&state.portal, &actor(&staff), case.row.authority_id, id, amount, &f.zahlweg)
        .await?
    {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=zahlung#zahlung")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("zahlung", m)), &typed, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RefundForm {
    csrf: String,
    betrag: String,
    grund: String,
    iban: String,
}

/// A refund (full or partial) with its reason; without an IBAN the treasury pays
/// back to the account the money came from.
pub async fn refund_payment(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<RefundForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    require_payments(&staff, &case)?;
    let a = case.row.authority_id;
    let typed = Typed {
        refund_amount: f.betrag.clone(),
        refund_reason: f.grund.clone(),
        refund_iban: f.iban.clone(),
        ..Typed::default()
    };
    let Some(p) = state.store.payment_of_submission(a, id).await? else {
        let m = "Für diesen Antrag wurde nichts bezahlt.".to_owned();
        return render_case(&state, &staff, &case, Some(("erstattung", m)), &typed, None).await;
    };
    let amount = match Cents::parse_german(f.betrag.trim()) {
        Ok(c) => c,
        Err(_) => {
            let m = "Bitte geben Sie den Betrag der Erstattung in Euro an, zum Beispiel 12,50.".to_owned();
            return render_case(&state, &staff, &case, Some(("erstattung", m)), &typed, None).await;
        }
    };
    let iban = Some(f.iban.as_str()).filter(|s| !s.trim().is_empty());
    match refund::refund(&state.portal, &actor(&staff), a, p.id, amount, &f.grund, iban).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=erstattung#zahlung")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("erstattung", m)), &typed, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    csrf: String,
    /// `freigeben` or `geprueft`.
    entscheidung: String,
    notiz: String,
}

/// Closes the review of the application's payment ("Prüfung abschließen").
pub async fn resolve_review(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<ReviewForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    require_payments(&staff, &case)?;
    let decision = match f.entscheidung.as_str() {
        "freigeben" => review::Decision::Release,
        "geprueft" => review::Decision::Checked,
        _ => {
            let m = "Bitte wählen Sie, wie die Prüfung ausgeht.".to_owned();
            return render_case(&state, &staff, &case, Some(("pruefung", m)), &Typed::default(), None).await;
        }
    };
    match review::resolve(&state.portal, &actor(&staff), case.row.authority_id, id, decision, &f.notiz).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=pruefung#zahlung")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("pruefung", m)), &Typed::default(), None).await,
    }
}

#[cfg(test)]
mod tests {
    use super::german_input;

    #[test]
    fn amounts_are_offered_as_people_type_them() {
        assert_eq!(german_input(1250), "12,50");
        assert_eq!(german_input(5), "0,05");
        assert_eq!(german_input(-1), "0,00");
    }
}
