//! Activation codes (`…/zahlungen/aktivierungscodes`): a citizen's account is linked
//! to a finance account (Personenkonto) of the finance software only by a one-time
//! code the authority sends by letter. The page makes a code for a Personenkonto and
//! shows it once, as a letter ready to print; only its hash is stored, and older
//! unused codes of the account stop working. It also lists the finance accounts and
//! whether a citizen has linked them, with a button to part a linked account from
//! its citizen and one to revoke an account's unused codes (a letter lost or sent
//! to the wrong person).

use super::{Problem, StaffContext, authority_value, base_url, invalid, no_store};
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_portal::finanzen;
use amtsweg_portal::time::when;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// How long a new code is valid unless changed (days): time for the post and for
/// the citizen to get round to it.
const DEFAULT_VALID_DAYS: i64 = 60;

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct CodeForm {
    csrf: String,
    konto: String,
    tage: String,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    typed: &CodeForm,
    problems: &[Problem],
) -> Result<Response, AppError> {
    let open: std::collections::HashMap<i64, i64> =
        state.store.open_activation_codes(a.id, amtsweg_store::now_ms()).await?.into_iter().collect();
    let accounts: Vec<Value> = state
        .store
        .finance_accounts_of(a.id, 500)
        .await?
        .into_iter()
        .map(|f| {
            context! {
                id => f.id, account => &f.account_ref, linked => f.linked_at.map(when), created => when(f.created_at),
                open_codes => open.get(&f.id).copied().unwrap_or(0),
            }
        })
        .collect();
    let notice = match form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "hinweis")
        .map(|(_, v)| v.into_owned())
        .as_deref()
    {
        Some("getrennt") => Some(
            "Die Verknüpfung ist aufgehoben. Die Person sieht die Forderungen dieses Kontos nicht mehr; offene Aktivierungscodes gelten nicht mehr.",
        ),
        Some("widerrufen") => Some("Die offenen Aktivierungscodes dieses Kontos gelten nicht mehr."),
        _ => None,
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let tage = if typed.tage.trim().is_empty() { DEFAULT_VALID_DAYS.to_string() } else { typed.tage.clone() };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), accounts, errors => problems, invalid => invalid(problems),
        typed => context! { konto => &typed.konto, tage }, notice,
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_codes.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    render(&state, &staff, &a, &uri, &CodeForm::default(), &[]).await
}

/// Makes a code and shows it once as a letter; nothing of the code is kept but its
/// hash.
pub async fn create(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<CodeForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let days = match f.tage.trim() {
        "" => DEFAULT_VALID_DAYS,
        t => match t.parse::<i64>() {
            Ok(d) => d,
            Err(_) => {
                let p = Problem::new(
                    "feld-tage",
                    "Bitte geben Sie die Gültigkeit als ganze Zahl von Tagen an (1 bis 365).",
                );
                return render(&state, &staff, &a, &uri, &f, &[p]).await;
            }
        },
    };
    let (code, expires_at) =
        match finanzen::create_activation_code(&state.portal, &staff.actor(), a.id, &f.konto, days).await? {
            Ok(ok) => ok,
            Err(m) => {
                let field = if m.contains("Personenkonto") { "feld-konto" } else { "feld-tage" };
                return render(&state, &staff, &a, &uri, &f, &[Problem::new(field, m)]).await;
            }
        };
    let expires = jiff::Timestamp::from_millisecond(expires_at)
        .map(|t| t.to_zoned(crate::render::berlin()).strftime("%d.%m.%Y").to_string())
        .unwrap_or_default();
    let today = crate::render::now_local().date().strftime("%d.%m.%Y").to_string();
    let ctx = context! {
        authority => authority_value(&a), base => base_url(&a), account => f.konto.trim(), code, expires, today,
        portal_url => format!("{}/konto/finanzen/", state.config.public_base_url.trim_end_matches('/')),
        ..crate::verwaltung::base(&state, Some(&staff), uri.path())
    };
    Ok(no_store(render_page(&state, "verwaltung/zahlungen_brief.html", ctx)?.into_response()))
}

/// `POST …/aktivierungscodes/<account id>/trennen`: parts the account from its
/// citizen (who no longer sees its claims, at once) and revokes its unused codes.
pub async fn unlink(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(NoFields {})): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    change(&state, &staff, &slug, &id, true).await
}

/// `POST …/aktivierungscodes/<account id>/widerrufen`: revokes the account's unused
/// codes.
pub async fn revoke(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(NoFields {})): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    change(&state, &staff, &slug, &id, false).await
}

async fn change(
    state: &AppState,
    staff: &StaffContext,
    slug: &str,
    id: &str,
    unlink: bool,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(state, slug)?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    // Another authority's account is simply not there.
    finanzen::unlink(&state.portal, &staff.actor(), a.id, id, unlink, true).await?.ok_or(AppError::NotFound)?;
    let hinweis = if unlink { "getrennt" } else { "widerrufen" };
    Ok(Redirect::to(&format!("{}aktivierungscodes?hinweis={hinweis}#konten", base_url(&a))).into_response())
}
