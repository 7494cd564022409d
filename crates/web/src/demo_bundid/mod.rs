//! The demo's simulated BundID ("Test-BundID – nur Demo") under `/demo-bundid/`: a
//! SAML identity provider with test persons, so that a newcomer can sign in at
//! trust level normal, substanziell or hoch and finish every demo form.
//!
//! Only `amtsweg demo` mounts these routes ([`router`], merged through
//! [`crate::router_with`]); they are not in the route map, and no configuration
//! switches them on, so `serve` answers 404 here. The answers are signed with the
//! simulation's own key and go through the real SP path (`/konto/saml/acs`,
//! `amtsweg_saml::validate_response`): the demo tests the real sign-in, not a
//! shortcut around it.

mod persons;

use crate::AppState;
use crate::error::AppError;
use crate::konto::saml::SamlSettings;
use crate::render::render_page;
use amtsweg_domain::TrustLevel;
use amtsweg_saml::idp::{Answer, Certificate, Idp, Request};
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// The name citizens see on the sign-in button and every page of the simulation.
pub const LABEL: &str = "Test-BundID – nur Demo";
/// Where the simulation is mounted.
pub const PATH: &str = "/demo-bundid/";
/// Its entity ID: fixed, so that the metadata does not change with the demo's port.
const ENTITY_ID: &str = "urn:amtsweg:demo:test-bundid";

/// The simulation: its key, and the one SP it answers (the demo portal itself).
#[derive(Debug)]
pub struct DemoBundId {
    idp: Idp,
    sp_cert: Certificate,
    acs_url: String,
}

/// Writes a file only its owner can read (the keys).
fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content)
}

/// A key pair in `dir` (`<name>_key.pem`, `<name>_cert.pem`), created once and reused.
fn key_pair(dir: &Path, name: &str, common_name: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (key_path, cert_path) = (dir.join(format!("{name}_key.pem")), dir.join(format!("{name}_cert.pem")));
    if !key_path.exists() || !cert_path.exists() {
        // Both or neither: a half-written pair from an interrupted start is replaced.
        let _ = std::fs::remove_file(&key_path);
        let _ = std::fs::remove_file(&cert_path);
        let (key_pem, cert_pem) =
            amtsweg_saml::idp::self_signed_pem(common_name, 3072, 3650).map_err(|e| e.to_string())?;
        write_private(&key_path, &key_pem).map_err(|e| format!("{}: {e}", key_path.display()))?;
        std::fs::write(&cert_path, &cert_pem).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    }
    let key = std::fs::read(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let cert = std::fs::read(&cert_path).map_err(|e| format!("{}: {e}", cert_path.display()))?;
    Ok((key, cert))
}

/// Sets up the simulation in `dir` (`<data_dir>/demo-bundid/`): the IdP's and the
/// portal's (SP) keys and certificates, created on the first start and reused
/// after, and the IdP metadata for this start's address. Returns the `[web.saml]`
/// settings that make the portal's real BundID sign-in use it.
///
/// # Errors
/// When the folder or a key cannot be written or read.
pub fn prepare(dir: &Path, public_base_url: &str) -> Result<(SamlSettings, DemoBundId), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let base = public_base_url.trim_end_matches('/');
    let (idp_key, idp_cert) = key_pair(dir, "idp", "Test-BundID (nur Demo)")?;
    key_pair(dir, "sp", "Amtsweg Demo-Portal")?;
    let idp = Idp::from_pem(ENTITY_ID, &format!("{base}{PATH}sso"), &idp_key, &idp_cert).map_err(|e| e.to_string())?;
    // Written at every start: the address (port) may have changed since.
    let metadata = dir.join("idp_metadata.xml");
    std::fs::write(&metadata, idp.metadata()).map_err(|e| format!("{}: {e}", metadata.display()))?;
    let settings = SamlSettings {
        label: LABEL.to_owned(),
        idp_metadata: metadata,
        sp_key: dir.join("sp_key.pem"),
        sp_cert: dir.join("sp_cert.pem"),
        signature_algorithm: "rsa-pss-sha256".to_owned(),
        organization: "Demo von Amtsweg".to_owned(),
        ..SamlSettings::default()
    };
    let sp_cert = amtsweg_saml::idp::certificate(&std::fs::read(&settings.sp_cert).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    Ok((settings, DemoBundId { idp, sp_cert, acs_url: format!("{base}/konto/saml/acs") }))
}

/// The simulation's routes, for [`crate::router_with`] — only the demo calls this.
pub fn router(idp: DemoBundId) -> Router<AppState> {
    Router::new()
        .route(PATH, get(start))
        .route("/demo-bundid/sso", post(sso))
        .route("/demo-bundid/antwort", post(answer))
        .layer(Extension(Arc::new(idp)))
}

type Sim = Extension<Arc<DemoBundId>>;

fn page(state: &AppState, status: StatusCode, name: &str, ctx: minijinja::Value) -> Result<Response, AppError> {
    let mut r = (status, render_page(state, name, ctx)?).into_response();
    // Requests and answers are one-time: never from a cache.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

fn base(state: &AppState) -> minijinja::Value {
    crate::konto::base(state, None, PATH)
}

/// What the simulation is, for someone who opens it directly.
async fn start(State(state): State<AppState>) -> Result<Response, AppError> {
    let ctx = context! { label => LABEL, persons => persons::view(), ..base(&state) };
    page(&state, StatusCode::OK, "demo_bundid/start.html", ctx)
}

fn refused(state: &AppState, message: &str) -> Result<Response, AppError> {
    let ctx = context! {
        title => "Anfrage nicht angenommen",
        message,
        links => vec![context! { url => "/konto/anmelden", label => "Zur Anmeldung im Portal" }],
        ..base(state)
    };
    page(state, StatusCode::BAD_REQUEST, "konto/hinweis.html", ctx)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SsoForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: String,
}

/// The request must be signed by the demo portal and name its ACS: the simulation
/// answers nobody else, so it cannot be used to post answers elsewhere.
fn check(sim: &DemoBundId, saml_request: &str) -> Result<Request, String> {
    let r = amtsweg_saml::idp::read_request(saml_request, std::slice::from_ref(&sim.sp_cert)).map_err(|e| {
        tracing::info!(error = %e, "demo ID provider refused a request");
        "Die Anmeldeanfrage ist ungültig oder stammt nicht vom Demo-Portal.".to_owned()
    })?;
    if r.acs_url != sim.acs_url || r.destination != sim.idp.sso_url {
        return Err("Die Anmeldeanfrage ist an einen anderen Dienst gerichtet.".into());
    }
    Ok(r)
}

/// The SP's AuthnRequest arrives: the page to choose a test person and a level.
async fn sso(State(state): State<AppState>, Extension(sim): Sim, Form(f): Form<SsoForm>) -> Result<Response, AppError> {
    let request = match check(&sim, &f.saml_request) {
        Ok(r) => r,
        Err(m) => return refused(&state, &m),
    };
    let ctx = context! {
        label => LABEL,
        persons => persons::view(),
        levels => levels(request.level),
        requested => request.level.label(),
        saml_request => &f.saml_request,
        relay_state => &f.relay_state,
        ..base(&state)
    };
    page(&state, StatusCode::OK, "demo_bundid/auswahl.html", ctx)
}

fn levels(requested: TrustLevel) -> Vec<minijinja::Value> {
    [TrustLevel::Normal, TrustLevel::Substanziell, TrustLevel::Hoch]
        .into_iter()
        .map(|t| context! { key => t.as_str(), label => t.label(), checked => t == requested })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AnswerForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: String,
    #[serde(rename = "RelayState")]
    relay_state: String,
    person: String,
    niveau: String,
    aktion: String,
}

/// The choice: a signed answer (or a cancellation) posted back to the portal's ACS
/// by a form that a script sends at once; without JavaScript the citizen presses
/// the button. The request is checked again: the page's hidden fields are not trusted.
async fn answer(
    State(state): State<AppState>,
    Extension(sim): Sim,
    Form(f): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let request = match check(&sim, &f.saml_request) {
        Ok(r) => r,
        Err(m) => return refused(&state, &m),
    };
    let now = amtsweg_store::now_ms();
    let (response, cancelled) = if f.aktion == "abbrechen" {
        (amtsweg_saml::idp::cancelled_response(&sim.idp, &request, now), true)
    } else {
        let (Some(person), Ok(trust)) = (persons::find(&f.person), TrustLevel::parse(&f.niveau)) else {
            return refused(&state, "Bitte wählen Sie eine Testperson und ein Vertrauensniveau.");
        };
        let attributes = person.attributes(trust);
        let answer = Answer { request: &request, trust, name_id: person.bpk2, attributes: &attributes, now_ms: now };
        let signed =
            amtsweg_saml::idp::signed_response(&sim.idp, &answer).map_err(|e| AppError::Internal(e.to_string()))?;
        (signed, false)
    };
    let ctx = context! {
        label => LABEL,
        action => &request.acs_url,
        saml_response => response,
        relay_state => &f.relay_state,
        cancelled,
        ..base(&state)
    };
    let r = page(&state, StatusCode::OK, "demo_bundid/weiter.html", ctx)?;
    // The ACS may be on another host name than this page (127.0.0.1 vs. localhost).
    Ok(crate::security::allow_form_targets(r, &[origin_of(&request.acs_url)]))
}

fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
}
