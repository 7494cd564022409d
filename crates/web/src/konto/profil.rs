//! The account overview, the profile (each value with its source and trust level;
//! values from an ID provider are read-only), the security page (second factor,
//! linked identities, sign out everywhere) and the trust-level explanation.

use super::{CitizenContext, base};
use crate::AppState;
use crate::account::{self, Code, Who};
use crate::audit::audit;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::limits::hashing;
use crate::render::render_page;
use crate::second_factor;
use crate::session;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

pub async fn overview(State(state): State<AppState>, me: CitizenContext, uri: Uri) -> Result<Response, AppError> {
    let profile = amtsweg_portal::profile::profile(&state.portal, me.citizen.id).await?;
    let name = ["given_name", "family_name"]
        .iter()
        .filter_map(|f| profile.iter().find(|v| v.field == *f).map(|v| v.value.clone()))
        .collect::<Vec<_>>()
        .join(" ");
    let unread = state.store.unread_count(me.citizen.id).await?;
    let ctx = context! { name, unread, ..base(&state, Some(&me), uri.path()) };
    Ok(no_store(render_page(&state, "konto/start.html", ctx)?.into_response()))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

async fn render_profile(
    state: &AppState,
    me: &CitizenContext,
    typed: Option<&[(String, String)]>,
    errors: &[(String, String)],
    saved: bool,
) -> Result<Response, AppError> {
    let stored = amtsweg_portal::profile::profile(&state.portal, me.citizen.id).await?;
    let fields: Vec<Value> = ProfileField::ALL
        .iter()
        .map(|f| {
            let value = stored.iter().find(|v| v.field == f.key());
            let source = value.map(|v| v.source.clone());
            let locked = source.as_ref().is_some_and(ProfileSource::is_locked);
            let shown = typed
                .filter(|_| !locked)
                .and_then(|t| t.iter().find(|(k, _)| k == f.key()).map(|(_, v)| v.clone()))
                .or_else(|| value.map(|v| v.value.clone()))
                .unwrap_or_default();
            // Stored as 1980-12-07, shown as people write it: 07.12.1980.
            let shown =
                if *f == ProfileField::BirthDate { amtsweg_portal::profile::german_date(&shown) } else { shown };
            let trust = value.and_then(|v| TrustLevel::parse(&v.trust_level).ok()).map(TrustLevel::label);
            let error = errors.iter().find(|(k, _)| k == f.key()).map(|(_, m)| m.clone());
            context! {
                key => f.key(), label => f.label(), value => shown, locked, error,
                source => source.map(|s| s.label()), trust,
                date => *f == ProfileField::BirthDate,
            }
        })
        .collect();
    let error_list: Vec<_> = errors.iter().map(|(k, m)| context! { field => k, message => m }).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! { fields, errors => error_list, saved, ..base(state, Some(me), "/konto/profil") };
    Ok(no_store((status, render_page(state, "konto/profil.html", ctx)?).into_response()))
}

pub async fn profile_form(
    State(state): State<AppState>,
    me: CitizenContext,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    render_profile(&state, &me, None, &[], n.hinweis.as_deref() == Some("gespeichert")).await
}

pub async fn profile_submit(
    State(state): State<AppState>,
    me: CitizenContext,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or_default();
    me.check_form(&headers, csrf)?;
    let mut errors = Vec::new();
    let mut values = Vec::new();
    for f in ProfileField::ALL {
        let Some((_, raw)) = pairs.iter().find(|(k, _)| k == f.key()) else { continue };
        // Birth dates: 7.12.1980, 07.12.1980 or 1980-12-07, stored as 1980-12-07.
        let checked = if f == ProfileField::BirthDate {
            amtsweg_portal::profile::normalize_birth_date(raw, amtsweg_portal::time::today())
        } else {
            f.check(raw).map_err(|e| e.0)
        };
        match checked {
            Ok(v) => values.push((f, v)),
            Err(e) => errors.push((f.key().to_owned(), e)),
        }
    }
    if !errors.is_empty() {
        return render_profile(&state, &me, Some(&pairs), &errors, false).await;
    }
    let mut sealed = Vec::new();
    for (f, v) in &values {
        sealed.push((*f, amtsweg_portal::profile::seal_value(&state.portal, me.citizen.id, *f, v).await?));
    }
    let mut tx = state.store.begin().await?;
    for (f, v) in &sealed {
        // Values an ID provider delivered stay as they are (the store refuses).
        tx.set_profile_value(me.citizen.id, *f, v, &ProfileSource::SelfEntered, TrustLevel::Normal).await?;
    }
    tx.commit().await?;
    audit(&state, &me.actor(), None, "citizen.profile", &me.actor(), "success").await?;
    Ok(Redirect::to("/konto/profil?hinweis=gespeichert").into_response())
}

async fn render_security(
    state: &AppState,
    me: &CitizenContext,
    pending_secret: Option<&str>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let identities: Vec<Value> = state
        .store
        .identities_of(me.citizen.id)
        .await?
        .iter()
        .map(|i| {
            let provider = ProfileSource::Provider(i.provider.clone()).label();
            context! { provider, trust => TrustLevel::parse(&i.trust_level).map(TrustLevel::label).unwrap_or("–") }
        })
        .collect();
    let account = me.citizen.email.clone().unwrap_or_else(|| format!("Konto {}", me.citizen.id));
    let otpauth = pending_secret.map(|s| second_factor::otpauth_uri(s, &account, "Bürgerkonto"));
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let providers = super::offers(state, TrustLevel::Normal, "/konto/sicherheit");
    let ctx = context! {
        providers, has_totp => me.citizen.totp_secret.is_some(), has_password => me.citizen.password_hash.is_some(),
        secret => pending_secret, otpauth, error, notice, identities, ..base(state, Some(me), "/konto/sicherheit")
    };
    let r = no_store((status, render_page(state, "konto/sicherheit.html", ctx)?).into_response());
    // Its forms that link an ID provider are answered with a redirect to the provider.
    Ok(crate::security::allow_form_targets(r, &super::niveau::provider_origins(state)))
}

pub async fn security_form(
    State(state): State<AppState>,
    me: CitizenContext,
    headers: HeaderMap,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    // Linking ID providers happens on the central host, where their answers arrive.
    if (!state.config.oidc.is_empty() || state.saml.is_some())
        && let Some(r) =
            super::sso::via_central(&state, &headers, "/konto/sicherheit", |_| "/konto/sicherheit".to_owned())
    {
        return Ok(r);
    }
    let notice = match n.hinweis.as_deref() {
        Some("eingerichtet") => {
            Some("Der zweite Faktor ist eingerichtet. Ab jetzt fragen wir bei der Anmeldung nach dem Code.")
        }
        Some("entfernt") => Some("Der zweite Faktor ist entfernt."),
        _ => None,
    };
    render_security(&state, &me, None, None, notice).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecurityForm {
    csrf: String,
    aktion: String,
    code: String,
    /// The current password, to remove the second factor.
    passwort: String,
}

/// Without a password, removing the second factor needs a sign-in this recent.
const FRESH_SIGN_IN_MS: i64 = 10 * 60 * 1000;

const WRONG_PASSWORD: &str = "Das Passwort stimmt nicht. Bitte geben Sie Ihr aktuelles Passwort ein.";
const SIGN_IN_AGAIN: &str =
    "Bitte melden Sie sich zuerst erneut an. Danach können Sie den zweiten Faktor zehn Minuten lang entfernen.";

/// Enrol (start → confirm with a first code) or remove (with a current code and
/// the password, or a fresh sign-in for accounts without one) the second factor.
/// The secret being enrolled waits sealed in the session until confirmed.
pub async fn security_submit(
    State(state): State<AppState>,
    me: CitizenContext,
    Csrf(Form(f)): Csrf<Form<SecurityForm>>,
) -> Result<Response, AppError> {
    let session = me.session.record.id_hash.clone();
    match (f.aktion.as_str(), me.citizen.totp_secret.as_deref()) {
        ("einrichten", None) => {
            let (secret, sealed) = account::new_enrolment(&state, &session).await?;
            let mut tx = state.store.begin().await?;
            tx.set_pending_totp(&session, Some(&sealed)).await?;
            tx.commit().await?;
            render_security(&state, &me, Some(&secret), None, None).await
        }
        ("bestaetigen", None) => {
            let Some(stored) = me.session.record.pending_totp_secret.clone() else {
                return Ok(Redirect::to("/konto/sicherheit").into_response());
            };
            let code = account::check_enrolment_code(&state, Who::Citizen, me.citizen.id, &session, &stored, &f.code);
            if let Some(refused) = refusal(code.await?) {
                let secret = account::pending_secret(&state, &session, &stored).await?;
                return render_security(&state, &me, Some(&secret), Some(refused), None).await;
            }
            let sealed = account::enrolled_secret(&state, Who::Citizen, me.citizen.id, &session, &stored).await?;
            let mut tx = state.store.begin().await?;
            tx.set_citizen_totp(me.citizen.id, Some(&sealed)).await?;
            tx.set_pending_totp(&session, None).await?;
            tx.mark_second_factor_done(&session).await?;
            tx.commit().await?;
            audit(&state, &me.actor(), None, "second_factor.enrol", &me.actor(), "success").await?;
            Ok(Redirect::to("/konto/sicherheit?hinweis=eingerichtet").into_response())
        }
        ("entfernen", Some(stored)) => remove(&state, &me, stored, &f).await,
        _ => Ok(Redirect::to("/konto/sicherheit").into_response()),
    }
}

/// The message for a code that was not accepted.
fn refusal(code: Code) -> Option<&'static str> {
    match code {
        Code::Right => None,
        Code::Throttled => Some(account::TOO_MANY_CODES),
        Code::Wrong => Some(account::WRONG_CODE),
        Code::Reused => Some(account::REUSED_CODE),
    }
}

/// Removing the second factor weakens the account, so whoever holds the session must
/// show they are its owner: the password (or, without one, a sign-in at most ten
/// minutes old) and a current code. Attempts are throttled per account like codes.
async fn remove(state: &AppState, me: &CitizenContext, stored: &str, f: &SecurityForm) -> Result<Response, AppError> {
    let key = format!("totp:remove:citizen:{}", me.citizen.id);
    if !session::may_try(state, &key).await? {
        return render_security(state, me, None, Some(account::TOO_MANY_CODES), None).await;
    }
    let reauthenticated = match &me.citizen.password_hash {
        Some(hash) => hashing::verify_password(state, f.passwort.clone(), Some(hash.clone())).await?,
        None => amtsweg_store::now_ms() - me.session.record.created_at <= FRESH_SIGN_IN_MS,
    };
    if !reauthenticated {
        let mut tx = state.store.begin().await?;
        tx.record_login_failure(&key, amtsweg_store::now_ms()).await?;
        tx.commit().await?;
        audit(state, &me.actor(), None, "second_factor.remove", &me.actor(), "failure").await?;
        let message = if me.citizen.password_hash.is_some() { WRONG_PASSWORD } else { SIGN_IN_AGAIN };
        return render_security(state, me, None, Some(message), None).await;
    }
    if let Some(refused) = refusal(account::check_code(state, Who::Citizen, me.citizen.id, stored, &f.code).await?) {
        return render_security(state, me, None, Some(refused), None).await;
    }
    let mut tx = state.store.begin().await?;
    tx.set_citizen_totp(me.citizen.id, None).await?;
    tx.commit().await?;
    audit(state, &me.actor(), None, "second_factor.remove", &me.actor(), "success").await?;
    Ok(Redirect::to("/konto/sicherheit?hinweis=entfernt").into_response())
}
