//! Claims (`…/zahlungen/forderungen`): for finance software without the API, the
//! CSV import of claims (Forderungen) — one file stored as a whole or not at all,
//! the same file again changes nothing — and the authority's latest claims with
//! their state. The finance software stays the master of every claim.

use super::{Problem, StaffContext, authority_value, base_url, euro, german_day, no_store};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::payment::ClaimState;
use amtsweg_portal::finanzen;
use amtsweg_store::payments::Upserted;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use std::collections::HashMap;

/// Largest file read (the import's own limit).
const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// How many claims the page lists.
const LISTED: u64 = 200;

/// What an import did, counted.
#[derive(Default)]
struct Outcome {
    created: usize,
    updated: usize,
    unchanged: usize,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    outcome: Option<&Outcome>,
    problems: &[Problem],
) -> Result<Response, AppError> {
    let claims = state.store.claims_of(a.id, LISTED).await?;
    let ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    let bookings = state.store.bookings_of_claims(&ids).await?;
    let accounts: HashMap<i64, String> =
        state.store.finance_accounts_of(a.id, 10_000).await?.into_iter().map(|f| (f.id, f.account_ref)).collect();
    let rows: Vec<Value> = claims
        .iter()
        .map(|c| {
            context! {
                kassenzeichen => &c.kassenzeichen, due => german_day(&c.due_on), kind => &c.kind,
                amount => euro(c.amount_cents), open => finanzen::open_amount(c, &bookings).german(),
                state => ClaimState::parse(&c.state).map_or_else(|| c.state.clone(), |s| s.label_de().to_owned()),
                dunning => c.dunning_level, account => accounts.get(&c.finance_account_id),
                source => if c.source == "csv" { "CSV-Datei" } else { "Schnittstelle" },
            }
        })
        .collect();
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), rows, listed => LISTED, errors => problems,
        header => finanzen::CSV_HEADER,
        outcome => outcome.map(|o| context! { created => o.created, updated => o.updated, unchanged => o.unchanged }),
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_forderungen.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    render(&state, &staff, &a, &uri, None, &[]).await
}

/// Imports a CSV file of claims (`multipart/form-data`: `csrf`, `datei`).
pub async fn upload(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    // The authority is checked before the body is read at all.
    let a = staff.payment_handler(&state, &slug)?;
    let mut mp = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte laden Sie die Datei über das Formular hoch.".into()))?;
    let unreadable =
        |_| AppError::BadRequest("Die Datei kam unvollständig an. Bitte laden Sie sie noch einmal hoch.".into());
    let (mut csrf, mut bytes, mut too_big) = (String::new(), Vec::new(), false);
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(unreadable)?,
            Some("datei") => {
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        too_big = true;
                        bytes.clear();
                        while field.chunk().await.map_err(unreadable)?.is_some() {}
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    staff.check_form(&headers, &csrf)?;
    let refused = |m: String| vec![Problem::new("feld-datei", m)];
    if too_big {
        let p = refused(format!("Die Datei ist größer als {} MB.", MAX_FILE_BYTES / 1024 / 1024));
        return render(&state, &staff, &a, &uri, None, &p).await;
    }
    if bytes.is_empty() {
        let p = refused("Bitte wählen Sie die CSV-Datei mit den Forderungen aus.".into());
        return render(&state, &staff, &a, &uri, None, &p).await;
    }
    match finanzen::import_csv(&state.portal, a.id, &staff.actor(), &bytes).await? {
        Ok(done) => {
            let mut o = Outcome::default();
            for (_, u) in &done {
                match u {
                    Upserted::Created(_) => o.created += 1,
                    Upserted::Updated(_) => o.updated += 1,
                    Upserted::Unchanged(_) => o.unchanged += 1,
                }
            }
            render(&state, &staff, &a, &uri, Some(&o), &[]).await
        }
        Err(lines) => {
            // Every problem leads to the file input: the lines are in the file.
            let problems: Vec<Problem> = lines
                .into_iter()
                .map(|(line, m)| Problem::new("feld-datei", if line == 0 { m } else { format!("Zeile {line}: {m}") }))
                .collect();
            render(&state, &staff, &a, &uri, None, &problems).await
        }
    }
}
