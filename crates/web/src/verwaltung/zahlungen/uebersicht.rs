//! `/verwaltung/behoerden/<slug>/zahlungen/`: what needs a person — forms whose
//! payment cannot work as set up (they then take the fee at the counter), payments a
//! provider or the bank reported differently than asked, bank entries to resolve,
//! payouts to make — and the ways in: statements, reconciliation, the period CSV,
//! activation codes, claims. Administrators also see the connectors and the settings.

use super::verbindungen::{self, ConnectorForm, kind_label};
use super::{PayRights, Problem, StaffContext, authority_value, base_url, euro, no_store};
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::payment::{PaymentStatus, Review};
use amtsweg_portal::payments::settings;
use amtsweg_portal::reconcile::refund;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    hinweis: String,
    /// The kind chosen for a new connector (the page then shows its inputs).
    art: String,
}

/// What the page shows besides the stored state: a notice, or the new-connector
/// form with what was typed and its problems.
pub(super) struct Shown<'a> {
    notice: Option<&'static str>,
    typed: std::borrow::Cow<'a, ConnectorForm>,
    problems: &'a [Problem],
}

impl<'a> Shown<'a> {
    pub(super) fn with_connector(typed: &'a ConnectorForm, problems: &'a [Problem]) -> Self {
        Self { notice: None, typed: std::borrow::Cow::Borrowed(typed), problems }
    }
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "verbindung" => Some("Die Verbindung ist eingerichtet. Sie gilt für Anträge, die ab jetzt eingehen."),
        "geaendert" => Some("Die Verbindung ist geändert. Die Änderung gilt für Anträge, die ab jetzt eingehen."),
        "umgeschaltet" => Some("Die Verbindung ist umgeschaltet."),
        "einstellungen" => Some("Die Einstellungen sind gespeichert. Sie gelten für Anträge, die ab jetzt eingehen."),
        "ausgezahlt" => Some("Die Erstattung ist als ausgezahlt vermerkt."),
        _ => None,
    }
}

/// The payments a person should look at (amount reported differently, paid after
/// expiry, no final state from the provider).
async fn reviews(state: &AppState, authority_id: i64) -> Result<Vec<Value>, AppError> {
    let mut out = Vec::new();
    for p in state.store.payments_in_review(authority_id).await? {
        let submission = match p.submission_id {
            Some(id) => state.store.submission(authority_id, id).await?,
            None => None,
        };
        let status = PaymentStatus::parse(&p.status).map_or_else(|| p.status.clone(), |s| s.label_de().to_owned());
        out.push(context! {
            kassenzeichen => &p.kassenzeichen, purpose => &p.purpose, amount => euro(p.amount_cents),
            paid => euro(p.paid_cents), status,
            review => Review::parse(&p.review).map_or_else(|| p.review.clone(), |r| r.label_de().to_owned()),
            submission => submission.map(|s| context! { id => s.id, receipt_number => s.receipt_number }),
        });
    }
    Ok(out)
}

/// The connectors, for administrators.
async fn connectors(state: &AppState, rights: &PayRights) -> Result<Vec<Value>, AppError> {
    let a = &rights.authority;
    let catalogue = state.catalogue();
    Ok(state
        .store
        .payment_connectors_of(a.id)
        .await?
        .into_iter()
        .map(|c| {
            let form = c.form_id.and_then(|f| catalogue.form_by_id(a.id, f)).map(|p| p.form.title.clone());
            context! { id => c.id, name => &c.name, kind => kind_label(&c.kind), form, active => c.active != 0 }
        })
        .collect())
}

pub(super) async fn render(
    state: &AppState,
    staff: &StaffContext,
    rights: &PayRights,
    uri: &Uri,
    shown: &Shown<'_>,
) -> Result<Response, AppError> {
    let a = &rights.authority;
    let (reviews, to_resolve, refunds) = if rights.handle {
        let refunds: Vec<Value> = refund::open(&state.portal, a.id).await?.iter().map(Value::from_serialize).collect();
        (reviews(state, a.id).await?, state.store.bank_entries_to_resolve(a.id).await?.len(), refunds)
    } else {
        (Vec::new(), 0, Vec::new())
    };
    let connectors = if rights.administer { connectors(state, rights).await? } else { Vec::new() };
    let today = crate::render::now_local().date();
    let status = if shown.problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a),
        rights => context! { handle => rights.handle, administer => rights.administer },
        warnings => settings::warnings(&state.portal, a.id).await?, reviews, to_resolve, refunds, connectors,
        notice => shown.notice, errors => shown.problems,
        new => verbindungen::new_form_value(&shown.typed, shown.problems), forms => verbindungen::forms_of(state, a),
        from => today.first_of_month().to_string(), to => today.to_string(),
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let rights = staff.payment_rights(&state, &slug)?;
    let typed = ConnectorForm::new_of(&q.art);
    let shown = Shown { notice: notice_text(&q.hinweis), typed: std::borrow::Cow::Owned(typed), problems: &[] };
    render(&state, &staff, &rights, &uri, &shown).await
}

/// Marks a payout instruction as paid out by the treasury.
pub async fn refund_done(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    if !refund::mark_done(&state.portal, &super::actor(&staff), a.id, id).await? {
        // Marked before (a second click) is fine; another authority's is not there.
        state.store.refund(a.id, id).await?.ok_or(AppError::NotFound)?;
    }
    Ok(Redirect::to(&format!("{}?hinweis=ausgezahlt#erstattungen", base_url(&a))).into_response())
}
