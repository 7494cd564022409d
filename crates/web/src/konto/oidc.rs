//! Sign-in with OpenID Connect providers (state accounts): start → provider →
//! callback. The flow is bound to the browser that started it (a cookie whose hash
//! is stored with the request), one-time, valid for ten minutes. A citizen who is
//! signed in when starting links the identity to their account; an identity already
//! linked to another account is refused, so nobody ends up with two accounts by
//! accident. The session's trust level is what the provider vouched for (`acr`).

use super::safe_next;
use crate::AppState;
use crate::audit::audit;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::session;
use crate::urls::urlencode;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::ProfileField;
use amtsweg_store::konto::AuthRequest;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

pub(crate) use super::identity::FLOW_COOKIE;
const FLOW_MINUTES: i64 = 10;

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    weiter: Option<String>,
    niveau: Option<String>,
}

/// Sign in with the provider (a link; never links identities).
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    begin(&state, &headers, &name, q.niveau.as_deref(), q.weiter.as_deref(), None).await
}

/// Link the provider's identity to the signed-in account, or step up: only as an
/// explicit form of this session (CSRF), never by a link another site could use.
pub async fn start_linked(
    State(state): State<AppState>,
    me: super::CitizenContext,
    headers: HeaderMap,
    Path(name): Path<String>,
    Csrf(axum::Form(f)): Csrf<axum::Form<super::LinkForm>>,
) -> Result<Response, AppError> {
    begin(&state, &headers, &name, f.niveau.as_deref(), f.weiter.as_deref(), Some(me.citizen.id)).await
}

async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    name: &str,
    niveau: Option<&str>,
    weiter: Option<&str>,
    link: Option<i64>,
) -> Result<Response, AppError> {
    let state = state.clone();
    let name = name.to_owned();
    let next = safe_next(weiter);
    let needed = niveau.and_then(|l| TrustLevel::parse(l).ok()).unwrap_or(TrustLevel::Normal);
    // The provider sends the browser back to the central host: start there, and come
    // back to this host through the single sign-on hand-over afterwards.
    if let Some(r) = super::sso::via_central(&state, headers, &next, |via| {
        format!("/konto/oidc/{name}/start?niveau={}&weiter={}", needed.as_str(), urlencode(via))
    }) {
        return Ok(r);
    }
    let provider = match state.oidc_provider(&name).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(AppError::NotFound),
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "OpenID Connect discovery failed");
            return super::identity::problem(
                &state,
                StatusCode::BAD_GATEWAY,
                "Anmeldedienst nicht erreichbar",
                "Der Anmeldedienst antwortet gerade nicht. Bitte versuchen Sie es in einigen Minuten noch einmal oder melden Sie sich mit E-Mail-Adresse und Passwort an.",
            );
        }
    };
    let login = provider.begin(needed);
    let browser = session::random_token();
    let now = amtsweg_store::now_ms();
    let mut tx = state.store.begin().await?;
    tx.insert_auth_request(&AuthRequest {
        id_hash: session::hash_token(&login.state),
        provider: format!("oidc:{name}"),
        browser_hash: session::hash_token(&browser),
        nonce: login.nonce,
        verifier: login.pkce_verifier,
        return_to: next,
        link_citizen_id: link,
        needed_trust: needed.as_str().to_owned(),
        created_at: now,
        expires_at: now + FLOW_MINUTES * 60_000,
    })
    .await?;
    tx.commit().await?;
    let mut r = Redirect::to(&login.url).into_response();
    if let Some(c) = session::set_cookie(FLOW_COOKIE, &browser, FLOW_MINUTES * 60) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let provider_key = format!("oidc:{name}");
    let expired = || {
        super::identity::problem(
            &state,
            StatusCode::BAD_REQUEST,
            "Anmeldung abgelaufen",
            "Diese Anmeldung ist abgelaufen oder wurde schon abgeschlossen. Bitte starten Sie die Anmeldung noch einmal.",
        )
    };
    let Some(st) = q.state.as_deref() else { return expired() };
    let mut tx = state.store.begin().await?;
    let request = tx.take_auth_request(&session::hash_token(st)).await?;
    tx.commit().await?;
    let Some(request) = request else { return expired() };
    let browser = session::cookie_value(&headers, FLOW_COOKIE).unwrap_or_default();
    if request.provider != provider_key || !session::tokens_match(&session::hash_token(browser), &request.browser_hash)
    {
        audit(&state, "anonymous", None, "login.oidc", &provider_key, "foreign_browser").await?;
        return expired();
    }
    if let Some(error) = &q.error {
        tracing::info!(provider = %name, %error, "sign-in at the provider ended without success");
        return super::identity::problem(
            &state,
            StatusCode::BAD_REQUEST,
            "Anmeldung abgebrochen",
            "Die Anmeldung beim Anmeldedienst wurde abgebrochen. Sie können es noch einmal versuchen.",
        );
    }
    let Some(provider) = state.oidc_provider(&name).await.ok().flatten() else { return Err(AppError::NotFound) };
    // RFC 9207: the answer must come from the provider we asked (mix-up attacks).
    if q.iss.as_deref().is_some_and(|iss| iss != provider.issuer()) {
        audit(&state, "anonymous", None, "login.oidc", &provider_key, "wrong_issuer").await?;
        return expired();
    }
    let verified = match provider.finish(q.code.as_deref().unwrap_or_default(), &request.verifier, &request.nonce).await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(provider = %name, error = %e, "OpenID Connect sign-in refused");
            // New signing keys? Discover again next time.
            state.forget_oidc_provider(&name).await;
            audit(&state, "anonymous", None, "login.oidc", &provider_key, "invalid_token").await?;
            return super::identity::problem(
                &state,
                StatusCode::BAD_REQUEST,
                "Anmeldung nicht möglich",
                "Die Antwort des Anmeldedienstes konnte nicht bestätigt werden. Bitte versuchen Sie es noch einmal.",
            );
        }
    };
    let values = [
        (ProfileField::GivenName, verified.given_name.clone(), verified.trust),
        (ProfileField::FamilyName, verified.family_name.clone(), verified.trust),
    ];
    let values: Vec<_> = values.into_iter().filter_map(|(f, v, t)| v.map(|v| (f, v, t))).collect();
    super::identity::complete(&state, &headers, &request, &provider_key, &verified.subject, verified.trust, &values)
        .await
}

/// The providers to offer on a page, with the address that starts each (asking for
/// `level` and returning to `next`).
pub(crate) fn offers(state: &AppState, level: TrustLevel, next: &str) -> Vec<minijinja::Value> {
    state
        .config
        .oidc
        .iter()
        .filter(|p| p.max_trust() >= level)
        .map(|p| {
            context! {
                label => &p.label, action => format!("/konto/oidc/{}/start", p.name), niveau => level.as_str(), weiter => next,
                url => format!("/konto/oidc/{}/start?niveau={}&weiter={}", p.name, level.as_str(), urlencode(next)),
            }
        })
        .collect()
}
