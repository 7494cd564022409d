//! Finishing a sign-in at an ID provider (OpenID Connect or SAML), the same for
//! both: find or create the account for the identity — linking it to the account
//! that was signed in when the sign-in started, and refusing an identity that
//! belongs to another account — store the provider's profile values (locked, with
//! their trust level), and start a session at the level the provider vouched for.

use crate::AppState;
use crate::audit::audit;
use crate::error::AppError;
use crate::render::render_page;
use crate::session::{self, CITIZEN_COOKIE, Identification, PRE_SESSION_COOKIE};
use crate::urls::urlencode;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_store::konto::AuthRequest;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

/// The cookie that binds a sign-in at an ID provider to this browser (OIDC and SAML).
pub(crate) const FLOW_COOKIE: &str = "__Host-amtsweg_anmeldung";

/// Starts a citizen session and sets its cookie on the response.
pub(crate) async fn sign_in(
    state: &AppState,
    citizen_id: i64,
    second_factor_done: bool,
    how: &Identification,
    target: &str,
) -> Result<Response, AppError> {
    let (token, _) = session::start(state, "citizen", citizen_id, second_factor_done, how).await?;
    let mut r = Redirect::to(target).into_response();
    let max_age = i64::try_from(state.config.citizen_absolute_hours).unwrap_or(12) * 3600;
    if let Some(c) = session::set_cookie(CITIZEN_COOKIE, &token, max_age) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    if let Some(c) = session::set_cookie(PRE_SESSION_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// A page that explains why a sign-in did not work.
pub(crate) fn problem(state: &AppState, status: StatusCode, title: &str, message: &str) -> Result<Response, AppError> {
    let ctx = context! { title, message, ..super::base(state, None, "/konto/") };
    Ok((status, render_page(state, "konto/hinweis.html", ctx)?).into_response())
}

/// Completes the sign-in of `subject` at `provider_key` for the browser that started
/// `request`, with profile values (field, value, trust) from the provider.
///
/// # Errors
/// On store errors.
pub(crate) async fn complete(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    provider_key: &str,
    subject: &str,
    trust: TrustLevel,
    values: &[(ProfileField, String, TrustLevel)],
) -> Result<Response, AppError> {
    let existing = state.store.identity(provider_key, subject).await?;
    // Sealed in the write transaction (bound to the citizen, who may be new), with
    // the data key made ready before it (sealing may store a new data key).
    let mut checked = Vec::new();
    for (field, value, value_trust) in values {
        // Values are checked like typed ones; one the profile cannot hold is skipped.
        if let Ok(v) = field.check(value)
            && !v.is_empty()
        {
            checked.push((*field, v, *value_trust));
        }
    }
    amtsweg_portal::profile::ready(&state.portal).await?;
    let mut tx = state.store.begin().await?;
    let citizen_id = match (request.link_citizen_id, existing) {
        (Some(me), Some(other)) if other.citizen_id != me => {
            drop(tx);
            audit(state, &format!("citizen:{me}"), None, "identity.link", provider_key, "taken").await?;
            return problem(
                state,
                StatusCode::CONFLICT,
                "Schon mit einem anderen Konto verknüpft",
                "Diese Identität ist bereits mit einem anderen Bürgerkonto verknüpft. Melden Sie sich ab und mit diesem Anmeldedienst wieder an, um jenes Konto zu nutzen.",
            );
        }
        (Some(me), _) => {
            tx.link_identity(me, provider_key, subject, trust).await?;
            me
        }
        (None, Some(known)) => {
            tx.link_identity(known.citizen_id, provider_key, subject, trust).await?;
            known.citizen_id
        }
        (None, None) => tx.insert_citizen_for_identity(provider_key, subject, trust).await?,
    };
    let source = ProfileSource::Provider(provider_key.to_owned());
    for (field, value, value_trust) in &checked {
        let value = amtsweg_portal::profile::seal_value(&state.portal, citizen_id, *field, value).await?;
        tx.set_profile_value(citizen_id, *field, &value, &source, *value_trust).await?;
    }
    // The session of an earlier sign-in in this browser is replaced by the new one.
    if let Some(old) = session::current(state, headers, "citizen").await? {
        tx.delete_session(&old.record.id_hash).await?;
    }
    tx.commit().await?;
    audit(state, &format!("citizen:{citizen_id}"), None, "login.identity", provider_key, "success").await?;
    let needed = TrustLevel::parse(&request.needed_trust).unwrap_or(TrustLevel::Normal);
    let target = if trust >= needed {
        request.return_to.clone()
    } else {
        format!("/konto/vertrauensniveau?benoetigt={}&weiter={}", needed.as_str(), urlencode(&request.return_to))
    };
    let how = Identification { trust_level: trust, method: provider_key.to_owned() };
    let mut r = sign_in(state, citizen_id, true, &how, &target).await?;
    if let Some(c) = session::set_cookie(FLOW_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}
