//! Sign-in with BundID (or another SAML IdP) over HTTP-POST: `/konto/saml/metadata`,
//! `/konto/saml/anmelden` (posts the signed AuthnRequest), `/konto/saml/acs` (the
//! response). The ACS is reached by a cross-site POST, on which SameSite=Lax cookies
//! are not sent: the sign-in is bound to the browser by its own short-lived
//! SameSite=None cookie and to our request by `InResponseTo` (one-time, ten
//! minutes); assertion and response IDs go into a replay cache.

use super::safe_next;
use crate::AppState;
use crate::audit::audit;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use crate::session;
use crate::urls::urlencode;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::ProfileField;
use amtsweg_saml::{Expected, IdpMetadata, SigAlg, SpKeys, attributes};
use amtsweg_store::konto::AuthRequest;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[web.saml]` in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamlSettings {
    /// Shown on the button, e.g. "BundID".
    pub label: String,
    /// The IdP's metadata file (entity ID, SSO endpoint, signing certificates).
    pub idp_metadata: PathBuf,
    /// Our signing key and certificate (PEM).
    pub sp_key: PathBuf,
    pub sp_cert: PathBuf,
    /// Key and certificate for encrypted assertions; default: the signing pair.
    pub sp_encryption_key: Option<PathBuf>,
    pub sp_encryption_cert: Option<PathBuf>,
    /// "rsa-pss-sha256" (BundID) or "rsa-sha256".
    pub signature_algorithm: String,
    /// Our entity ID; default: `<public_base_url>/konto/saml/metadata`.
    pub entity_id: String,
    /// Organisation and technical contact for the SP metadata.
    pub organization: String,
    pub contact_email: String,
}

/// The loaded SAML setup.
#[derive(Debug, Clone)]
pub struct Saml {
    pub label: String,
    pub sp: SpKeys,
    pub idp: IdpMetadata,
}

/// Loads keys, certificates and the IdP metadata named in the configuration.
///
/// # Errors
/// With a message naming the file that is missing or broken.
pub fn load(settings: &SamlSettings, public_base_url: &str) -> Result<Saml, String> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let base = public_base_url.trim_end_matches('/');
    let entity_id =
        if settings.entity_id.is_empty() { format!("{base}/konto/saml/metadata") } else { settings.entity_id.clone() };
    let alg = if settings.signature_algorithm.is_empty() { "rsa-pss-sha256" } else { &settings.signature_algorithm };
    let (key, cert) = (read(&settings.sp_key)?, read(&settings.sp_cert)?);
    let enc = match (&settings.sp_encryption_key, &settings.sp_encryption_cert) {
        (Some(k), Some(c)) => Some((read(k)?, read(c)?)),
        _ => None,
    };
    let mut sp = SpKeys::from_pem(
        &entity_id,
        &format!("{base}/konto/saml/acs"),
        (&key, &cert),
        enc.as_ref().map(|(k, c)| (k.as_slice(), c.as_slice())),
        SigAlg::parse(alg).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    sp.organization.clone_from(&settings.organization);
    sp.contact_email.clone_from(&settings.contact_email);
    let md = String::from_utf8(read(&settings.idp_metadata)?).map_err(|e| e.to_string())?;
    let idp = IdpMetadata::parse(&md).map_err(|e| format!("{}: {e}", settings.idp_metadata.display()))?;
    let label = if settings.label.is_empty() { "BundID".to_owned() } else { settings.label.clone() };
    Ok(Saml { label, sp, idp })
}

/// The cookie binding a SAML sign-in to this browser (SameSite=None: it must come
/// along on the IdP's cross-site POST).
const SAML_COOKIE: &str = "__Host-amtsweg_saml";
const FLOW_MINUTES: i64 = 10;

fn saml_cookie(value: &str, max_age: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{SAML_COOKIE}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=None"))
        .ok()
}

pub async fn metadata(State(state): State<AppState>) -> Result<Response, AppError> {
    let saml = state.saml.as_ref().ok_or(AppError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, "application/samlmetadata+xml")], amtsweg_saml::sp_metadata(&saml.sp)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    weiter: Option<String>,
    niveau: Option<String>,
}

/// Posts a signed AuthnRequest to the IdP (a page with a form that a script sends
/// at once; without JavaScript the citizen presses the button).
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    begin(&state, &headers, q.niveau.as_deref(), q.weiter.as_deref(), None).await
}

/// Link the BundID identity to the signed-in account, or step up: only as an
/// explicit form of this session (CSRF).
pub async fn start_linked(
    State(state): State<AppState>,
    me: super::CitizenContext,
    headers: HeaderMap,
    Csrf(axum::Form(f)): Csrf<axum::Form<super::LinkForm>>,
) -> Result<Response, AppError> {
    begin(&state, &headers, f.niveau.as_deref(), f.weiter.as_deref(), Some(me.citizen.id)).await
}

async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    niveau: Option<&str>,
    weiter: Option<&str>,
    link: Option<i64>,
) -> Result<Response, AppError> {
    let state = state.clone();
    let saml = state.saml.clone().ok_or(AppError::NotFound)?;
    let next = safe_next(weiter);
    let needed = niveau.and_then(|l| TrustLevel::parse(l).ok()).unwrap_or(TrustLevel::Normal);
    if let Some(r) = super::sso::via_central(&state, headers, &next, |via| {
        format!("/konto/saml/anmelden?niveau={}&weiter={}", needed.as_str(), urlencode(via))
    }) {
        return Ok(r);
    }
    let now = amtsweg_store::now_ms();
    let request =
        amtsweg_saml::authn_request(&saml.sp, &saml.idp, needed, now).map_err(|e| AppError::Internal(e.to_string()))?;
    let browser = session::random_token();
    let mut tx = state.store.begin().await?;
    tx.insert_auth_request(&AuthRequest {
        id_hash: session::hash_token(&request.id),
        provider: "bundid".into(),
        browser_hash: session::hash_token(&browser),
        nonce: String::new(),
        verifier: String::new(),
        return_to: next,
        link_citizen_id: link,
        needed_trust: needed.as_str().to_owned(),
        created_at: now,
        expires_at: now + FLOW_MINUTES * 60_000,
    })
    .await?;
    tx.commit().await?;
    let relay = session::random_token();
    let ctx = context! {
        action => &request.destination, saml_request => &request.encoded, relay_state => relay, label => &saml.label,
        ..super::base(&state, None, "/konto/saml/anmelden")
    };
    let mut r = render_page(&state, "konto/saml_weiter.html", ctx)?.into_response();
    let h = r.headers_mut();
    if let Some(c) = saml_cookie(&browser, FLOW_MINUTES * 60) {
        h.append(header::SET_COOKIE, c);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The one form on this page goes to the IdP: allow exactly that target.
    let origin = origin_of(&request.destination);
    if let Ok(v) = HeaderValue::from_str(
        &crate::security::CSP.replace("form-action 'self'", &format!("form-action 'self' {origin}")),
    ) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(r)
}

fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
}

/// The IdP's answer. No CSRF token is possible on this cross-site POST; what
/// protects it is the one-time pending request bound to this browser. RelayState is
/// an opaque random value here and carries nothing we need back.
pub async fn acs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AcsForm>,
) -> Result<Response, AppError> {
    let saml = state.saml.clone().ok_or(AppError::NotFound)?;
    let fail = |title: &str, message: &str| super::identity::problem(&state, StatusCode::BAD_REQUEST, title, message);
    let now = amtsweg_store::now_ms();
    let v = match amtsweg_saml::validate_response(
        &f.saml_response,
        &Expected { sp: &saml.sp, idp: &saml.idp, now_ms: now },
    ) {
        Ok(v) => v,
        Err(amtsweg_saml::Error::IdpStatus { code, sub, message }) => {
            tracing::info!(%code, ?sub, %message, "BundID reported no success");
            audit(&state, "anonymous", None, "login.bundid", "bundid", "cancelled").await?;
            return fail(
                "Anmeldung abgebrochen",
                "Die Anmeldung bei der BundID wurde nicht abgeschlossen. Sie können es noch einmal versuchen.",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "SAML response refused");
            audit(&state, "anonymous", None, "login.bundid", "bundid", "refused").await?;
            return fail(
                "Anmeldung nicht möglich",
                "Die Antwort der BundID konnte nicht bestätigt werden. Bitte starten Sie die Anmeldung noch einmal.",
            );
        }
    };
    let mut tx = state.store.begin().await?;
    let request = tx.take_auth_request(&session::hash_token(&v.in_response_to)).await?;
    // Replay cache: each assertion and each response is accepted once.
    let until = v.not_on_or_after_ms + 600_000;
    let fresh = tx.remember_assertion(&format!("a:{}", v.assertion_id), until).await?
        && tx.remember_assertion(&format!("r:{}", v.response_id), until).await?;
    tx.commit().await?;
    let browser = session::cookie_value(&headers, SAML_COOKIE).unwrap_or_default();
    let expired =
        "Diese Anmeldung ist abgelaufen oder wurde schon abgeschlossen. Bitte starten Sie die Anmeldung noch einmal.";
    let Some(request) = request.filter(|r| r.provider == "bundid") else {
        audit(&state, "anonymous", None, "login.bundid", "bundid", "unknown_request").await?;
        return fail("Anmeldung abgelaufen", expired);
    };
    if !fresh {
        audit(&state, "anonymous", None, "login.bundid", "bundid", "replay").await?;
        return fail("Anmeldung abgelaufen", expired);
    }
    if !session::tokens_match(&session::hash_token(browser), &request.browser_hash) {
        audit(&state, "anonymous", None, "login.bundid", "bundid", "foreign_browser").await?;
        return fail("Anmeldung abgelaufen", expired);
    }
    let Some(bpk2) = v.attribute(attributes::BPK2).map(|a| a.value.clone()) else {
        return fail(
            "Anmeldung nicht möglich",
            "Die BundID hat keine Personenkennung übermittelt. Bitte versuchen Sie es noch einmal.",
        );
    };
    let fields = [
        (attributes::GIVEN_NAME, ProfileField::GivenName),
        (attributes::FAMILY_NAME, ProfileField::FamilyName),
        (attributes::BIRTH_DATE, ProfileField::BirthDate),
        (attributes::STREET, ProfileField::Street),
        (attributes::POSTAL_CODE, ProfileField::Plz),
        (attributes::CITY, ProfileField::City),
    ];
    // Each value keeps its own trust level (akdb:TrustLevel), never above the session's.
    let values: Vec<_> = fields
        .iter()
        .filter_map(|(oid, field)| {
            v.attribute(oid).map(|a| (*field, a.value.clone(), a.trust.unwrap_or(v.trust).min(v.trust)))
        })
        .collect();
    let mut r = super::identity::complete(&state, &headers, &request, "bundid", &bpk2, v.trust, &values).await?;
    if let Some(c) = saml_cookie("", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// The BundID button for a page (asking for `level`, returning to `next`).
pub(crate) fn offer(state: &AppState, level: TrustLevel, next: &str) -> Option<minijinja::Value> {
    state.saml.as_ref().map(|s| {
        context! {
            label => &s.label, action => "/konto/saml/anmelden", niveau => level.as_str(), weiter => next,
            url => format!("/konto/saml/anmelden?niveau={}&weiter={}", level.as_str(), urlencode(next)),
        }
    })
}
