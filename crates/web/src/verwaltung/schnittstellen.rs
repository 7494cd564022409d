//! Interfaces of an authority (`/verwaltung/behoerden/<slug>/schnittstellen/`):
//! where its submissions go (connectors, per form or for all forms), the API
//! clients of back-office software, the state of deliveries and the reconciliation
//! report ("was every submission delivered exactly once to each target?") as CSV.
//! Administrators of the authority only.

use super::{StaffContext, base};
use crate::AppState;
use crate::audit::audit;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_handoff::deliver::{KINDS, Target};
use amtsweg_portal::time::when;
use amtsweg_store::handoff::{ConnectorRow, NewConnector};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

/// Scopes an API client may hold.
pub const SCOPES: [(&str, &str); 4] = [
    ("submissions:read", "Anträge abrufen und den Empfang bestätigen"),
    ("submissions:write", "Bearbeitungsstand und Nachrichten zurückmelden"),
    ("termine", "Termine abrufen (mit Namen und Kontaktdaten) und als wahrgenommen, versäumt oder abgesagt melden"),
    ("finanzen", "Forderungen mit Bescheiden senden, Zahlungen abrufen, Aktivierungscodes erzeugen"),
];

/// The secret of a kind of connector: its input and its key in the stored settings.
fn secret_of(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "webhook" => Some(("webhook_secret", "secret")),
        "fitconnect" => Some(("fit_client_secret", "client_secret")),
        _ => None,
    }
}

/// What the page says about a stored secret: never the secret itself, at most its
/// last four characters when it is long enough for them to give nothing away.
fn secret_state(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 16 {
        let tail: String = secret.chars().skip(n - 4).collect();
        format!("gespeichert (endet auf …{tail})")
    } else {
        "ein Geheimnis ist gespeichert".to_owned()
    }
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct ConnectorForm {
    csrf: String,
    name: String,
    art: String,
    formular: String,
    email_to: String,
    email_max_mb: String,
    webhook_url: String,
    webhook_secret: String,
    fit_api: String,
    fit_destination: String,
    fit_token_url: String,
    fit_client_id: String,
    fit_client_secret: String,
    /// "ja": remove the stored client secret (FIT-Connect without OAuth).
    fit_secret_entfernen: String,
    xdomea_url: String,
}

impl ConnectorForm {
    /// The inputs of a stored connector, without its secrets.
    fn of(c: &ConnectorRow, settings: &serde_json::Value) -> Self {
        let s = |k: &str| settings.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
        let mut f = Self {
            name: c.name.clone(),
            art: c.kind.clone(),
            formular: c.form_id.map(|id| id.to_string()).unwrap_or_default(),
            ..Self::default()
        };
        match c.kind.as_str() {
            "email" => {
                f.email_to = s("to");
                f.email_max_mb = settings
                    .get("max_mb")
                    .and_then(serde_json::Value::as_u64)
                    .map(|n| n.to_string())
                    .unwrap_or_default();
            }
            "webhook" => f.webhook_url = s("url"),
            "fitconnect" => {
                (f.fit_api, f.fit_destination) = (s("submission_api"), s("destination_id"));
                (f.fit_token_url, f.fit_client_id) = (s("token_url"), s("client_id"));
            }
            "xdomea" => f.xdomea_url = s("url"),
            _ => {}
        }
        f
    }

    /// The settings as the connector stores them (JSON), from the inputs of its kind.
    /// `old` are the stored settings of a connector being changed: an empty secret
    /// input keeps the stored secret, and settings the page does not show (a fixed
    /// FIT-Connect token, its scope or key) stay as they are.
    fn settings(&self, old: Option<&serde_json::Value>) -> serde_json::Value {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let kept = |key: &str| old.and_then(|o| o.get(key)).and_then(serde_json::Value::as_str).map(str::to_owned);
        match self.art.as_str() {
            "email" => {
                let mut v = serde_json::json!({ "to": self.email_to.trim() });
                if let Ok(mb) = self.email_max_mb.trim().parse::<u32>() {
                    v["max_mb"] = mb.into();
                }
                v
            }
            "webhook" => {
                let secret = opt(&self.webhook_secret).or_else(|| kept("secret")).unwrap_or_default();
                serde_json::json!({ "url": self.webhook_url.trim(), "secret": secret })
            }
            "fitconnect" => {
                let token_url = opt(&self.fit_token_url);
                let secret = if self.fit_secret_entfernen == "ja" {
                    None
                } else {
                    opt(&self.fit_client_secret).or_else(|| token_url.as_ref().and_then(|_| kept("client_secret")))
                };
                let mut v = serde_json::json!({
                    "submission_api": self.fit_api.trim(), "destination_id": self.fit_destination.trim(),
                    "token_url": token_url, "client_id": opt(&self.fit_client_id), "client_secret": secret,
                });
                for key in ["token", "scope", "encryption_key"] {
                    if let Some(value) = old.and_then(|o| o.get(key)) {
                        v[key] = value.clone();
                    }
                }
                v
            }
            // Without an address: the folder the operator configured for the authority.
            // A folder stored earlier is dropped with the next save.
            "xdomea" => match opt(&self.xdomea_url) {
                Some(url) => serde_json::json!({ "url": url }),
                None => serde_json::json!({}),
            },
            _ => serde_json::json!({}),
        }
    }

    /// What was typed, for the page: everything but the secrets.
    fn shown(&self) -> Value {
        context! {
            name => &self.name, art => &self.art, formular => &self.formular, email_to => &self.email_to,
            email_max_mb => &self.email_max_mb, webhook_url => &self.webhook_url, fit_api => &self.fit_api,
            fit_destination => &self.fit_destination, fit_token_url => &self.fit_token_url,
            fit_client_id => &self.fit_client_id, fit_secret_entfernen => self.fit_secret_entfernen == "ja",
            xdomea_url => &self.xdomea_url,
        }
    }

    /// A secret was typed (it is not shown again and must be typed once more).
    fn secret_typed(&self) -> bool {
        !self.webhook_secret.trim().is_empty() || !self.fit_client_secret.trim().is_empty()
    }
}

fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        other => other,
    }
}

/// A problem for the error summary: the input it is about and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    field: &'static str,
    message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> Problem {
    Problem { field, message: message.into() }
}

/// The input a message of the connector's own check is about.
fn field_of(kind: &str, message: &str) -> &'static str {
    let has = |w: &str| message.contains(w);
    match kind {
        "email" if has("Höchstgröße") => "email_max_mb",
        "email" => "email_to",
        "webhook" if has("Geheimnis") => "webhook_secret",
        "webhook" => "webhook_url",
        "fitconnect" if has("destination_id") => "fit_destination",
        "fitconnect" if has("client_secret") && !has("client_id") => "fit_client_secret",
        "fitconnect" if has("client_id") || has("token_url") => "fit_token_url",
        "fitconnect" => "fit_api",
        "xdomea" => "xdomea_url",
        _ => "art",
    }
}

/// The checks of the inputs before the connector's own check: name, form, kind and
/// the inputs each kind needs. `stored_secret`: a secret is stored and may stay.
fn check_inputs(
    state: &AppState,
    a: &Authority,
    f: &ConnectorForm,
    stored_secret: bool,
) -> (Vec<Problem>, Option<i64>) {
    let mut out = Vec::new();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        out.push(problem("name", "Bitte geben Sie der Übergabe einen Namen (höchstens 100 Zeichen)."));
    }
    let form_id = match f.formular.trim() {
        "" => None,
        v => {
            let id = v.parse::<i64>().ok().filter(|id| state.catalogue().form_by_id(a.id, *id).is_some());
            if id.is_none() {
                out.push(problem("formular", "Dieses Formular bietet die Behörde nicht an."));
            }
            id
        }
    };
    let empty = |s: &str| s.trim().is_empty();
    let secret_missing = |typed: &str| empty(typed) && !stored_secret;
    match f.art.as_str() {
        "email" if empty(&f.email_to) => {
            out.push(problem("email_to", "Bitte geben Sie die E-Mail-Adresse der Dienststelle an."));
        }
        "webhook" => {
            if empty(&f.webhook_url) {
                out.push(problem("webhook_url", "Bitte geben Sie die Adresse des Webhooks an (https://…)."));
            }
            if secret_missing(&f.webhook_secret) {
                out.push(problem(
                    "webhook_secret",
                    "Bitte geben Sie das Geheimnis für die Signatur an (mindestens 32 Zeichen).",
                ));
            }
        }
        "fitconnect" => {
            if empty(&f.fit_api) {
                out.push(problem("fit_api", "Bitte geben Sie die Adresse der Submission-API an (https://…)."));
            }
            if empty(&f.fit_destination) {
                out.push(problem("fit_destination", "Bitte geben Sie die Zustellpunkt-ID (UUID) an."));
            }
        }
        "xdomea" if empty(&f.xdomea_url) && !state.config.connectors.xdomea.configured_for(a.slug.as_str()) => {
            out.push(problem(
                "xdomea_url",
                "Für Ihre Behörde ist kein Ablageverzeichnis eingerichtet. Bitte geben Sie die Adresse an, an die \
                 das Paket geht (https://…), oder bitten Sie den Betrieb, ein Verzeichnis einzurichten.",
            ));
        }
        "email" | "xdomea" => {}
        _ => out.push(problem("art-email", "Bitte wählen Sie, wohin die Anträge übergeben werden.")),
    }
    (out, form_id)
}

/// The inputs and the connector's own check; the settings (JSON, sealed by the
/// caller for the connector's id) when all is well.
async fn checked(
    state: &AppState,
    a: &Authority,
    f: &ConnectorForm,
    old: Option<&serde_json::Value>,
) -> Result<Result<(Option<i64>, String), Vec<Problem>>, AppError> {
    let stored_secret = secret_of(&f.art).is_some_and(|(_, key)| old.and_then(|o| o.get(key)).is_some());
    let (problems, form_id) = check_inputs(state, a, f, stored_secret);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let json = without_nulls(f.settings(old)).to_string();
    let policy = &state.config.connectors.outbound;
    let target = Target::parse(&f.art, &json, policy).map_err(|m| vec![problem(field_of(&f.art, &m), m)]);
    // Where the addresses lead now: refused at once, not only at the first delivery.
    let target = match target {
        Ok(t) => t.check_resolved(policy).await.map_err(|m| vec![problem(field_of(&f.art, &m), m)]),
        Err(e) => Err(e),
    };
    if let Err(problems) = target {
        return Ok(Err(problems));
    }
    Ok(Ok((form_id, json)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    hinweis: String,
    /// The kind chosen for a new connector (the page then shows its inputs).
    art: String,
}

/// The page, with what was typed into one of its forms.
struct PageView<'a> {
    errors: Vec<Problem>,
    typed: &'a ConnectorForm,
    new_client: Option<(String, String)>,
    notice: Option<&'static str>,
}

fn kinds() -> Vec<Value> {
    KINDS.iter().map(|(k, l)| context! { value => k, label => l }).collect()
}

fn forms_of(state: &AppState, a: &Authority) -> Vec<Value> {
    state
        .catalogue()
        .all_forms()
        .filter(|p| p.authority_id == a.id)
        .map(|p| context! { id => p.form_id, title => &p.form.title })
        .collect()
}

fn no_store(status: StatusCode, html: axum::response::Html<String>) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn render(state: &AppState, staff: &StaffContext, a: &Authority, v: PageView<'_>) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let connectors: Vec<Value> = state
        .store
        .connectors_of(a.id)
        .await?
        .into_iter()
        .map(|c| {
            let form = c.form_id.and_then(|f| catalogue.form_by_id(a.id, f)).map(|p| p.form.title.clone());
            let kind = KINDS.iter().find(|(k, _)| *k == c.kind).map_or(c.kind.clone(), |(_, l)| (*l).to_owned());
            context! { id => c.id, name => c.name, kind, form, active => c.active != 0 }
        })
        .collect();
    let clients: Vec<Value> = state
        .store
        .api_clients_of(a.id)
        .await?
        .into_iter()
        .map(|c| {
            context! {
                id => c.id, name => c.name, client_id => c.client_id, scopes => c.scopes,
                created => when(c.created_at), revoked => c.revoked_at.map(when),
            }
        })
        .collect();
    let counts: Vec<Value> =
        state.store.delivery_counts(a.id).await?.into_iter().map(|(status, n)| context! { status, n }).collect();
    let failed = !v.errors.is_empty();
    let today = crate::render::now_local().date();
    let month_start = today.first_of_month();
    let chosen = KINDS.iter().find(|(k, _)| *k == v.typed.art).map(|(k, l)| context! { value => k, label => l });
    let invalid: Vec<&str> = v.errors.iter().map(|e| e.field).collect();
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() },
        forms => forms_of(state, a), connectors, clients, counts, errors => &v.errors, invalid, notice => v.notice,
        xdomea_folder => state.config.connectors.xdomea.configured_for(a.slug.as_str()),
        kinds => kinds(), chosen, secret_typed => failed && v.typed.secret_typed(),
        scopes => SCOPES.iter().map(|(k, l)| context! { value => k, label => l }).collect::<Vec<_>>(),
        typed => v.typed.shown(),
        new_client => v.new_client.map(|(id, secret)| context! { id, secret }),
        from => month_start.to_string(), to => today.to_string(),
        api_base => format!("{}/api/v1/", state.config.public_base_url.trim_end_matches('/')),
        ..base(state, Some(staff), &format!("/verwaltung/behoerden/{}/schnittstellen/", a.slug))
    };
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(no_store(status, render_page(state, "verwaltung/schnittstellen.html", ctx)?))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let notice = match q.hinweis.as_str() {
        "verbindung" => Some("Die Übergabe ist eingerichtet. Sie gilt für Anträge, die ab jetzt eingehen."),
        "geaendert" => Some("Die Übergabe ist geändert. Die Änderung gilt für Anträge, die ab jetzt eingehen."),
        "umgeschaltet" => Some("Die Übergabe ist umgeschaltet."),
        "widerrufen" => Some("Der Zugang ist widerrufen."),
        _ => None,
    };
    let typed = ConnectorForm { art: q.art, ..ConnectorForm::default() };
    render(&state, &staff, &a, PageView { errors: Vec::new(), typed: &typed, new_client: None, notice }).await
}

pub async fn create_connector(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<ConnectorForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let (form_id, json) = match checked(&state, &a, &f, None).await? {
        Ok(ok) => ok,
        Err(errors) => {
            return render(&state, &staff, &a, PageView { errors, typed: &f, new_client: None, notice: None }).await;
        }
    };
    let new = NewConnector { authority_id: a.id, form_id, kind: &f.art, name: f.name.trim(), config: "" };
    let id = amtsweg_portal::handoff::add_connector(&state.portal, &new, &json).await?;
    audit(&state, &staff.actor(), Some(a.id), "connector.create", &format!("connector:{id}"), "success").await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{slug}/schnittstellen/?hinweis=verbindung")).into_response())
}

/// A connector of the authority with its opened settings.
async fn connector_of(state: &AppState, a: &Authority, id: i64) -> Result<(ConnectorRow, serde_json::Value), AppError> {
    let c = state.store.connectors_of(a.id).await?.into_iter().find(|c| c.id == id).ok_or(AppError::NotFound)?;
    let text = amtsweg_portal::handoff::open_config(&state.portal, &c).await?;
    let settings = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((c, settings))
}

fn render_edit(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    c: &ConnectorRow,
    settings: &serde_json::Value,
    typed: &ConnectorForm,
    errors: &[Problem],
) -> Result<Response, AppError> {
    let secret =
        secret_of(&c.kind).and_then(|(_, key)| settings.get(key).and_then(serde_json::Value::as_str)).map(secret_state);
    let kind_label = KINDS.iter().find(|(k, _)| *k == c.kind).map_or("unbekannt", |(_, l)| l);
    let invalid: Vec<&str> = errors.iter().map(|e| e.field).collect();
    let here = format!("/verwaltung/behoerden/{}/schnittstellen/verbindungen/{}/bearbeiten", a.slug, c.id);
    // Folders once typed in here are no longer used (the operator configures them).
    let notice = (c.kind == "xdomea" && settings.get("directory").is_some()).then_some(
        "Das früher hier eingetragene Verzeichnis wird nicht mehr verwendet. Pakete ohne Adresse gehen in das \
         Ablageverzeichnis, das der Betrieb für Ihre Behörde eingerichtet hat. Mit dem nächsten Speichern wird \
         der alte Eintrag entfernt.",
    );
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() },
        edit => context! { id => c.id, name => &c.name, active => c.active != 0, action => &here },
        chosen => context! { value => &c.kind, label => kind_label },
        forms => forms_of(state, a), errors, invalid, secret, notice,
        xdomea_folder => state.config.connectors.xdomea.configured_for(a.slug.as_str()),
        secret_typed => !errors.is_empty() && typed.secret_typed(), typed => typed.shown(),
        ..base(state, Some(staff), &here)
    };
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(no_store(status, render_page(state, "verwaltung/schnittstellen.html", ctx)?))
}

/// The page of one connector: its settings without its secrets.
pub async fn edit_connector(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let (c, settings) = connector_of(&state, &a, id).await?;
    render_edit(&state, &staff, &a, &c, &settings, &ConnectorForm::of(&c, &settings), &[])
}

/// Changes a connector: an empty secret input keeps the stored secret; its kind stays.
pub async fn update_connector(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<ConnectorForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let (c, old) = connector_of(&state, &a, id).await?;
    let f = ConnectorForm { art: c.kind.clone(), ..f };
    let (form_id, json) = match checked(&state, &a, &f, Some(&old)).await? {
        Ok(ok) => ok,
        Err(errors) => return render_edit(&state, &staff, &a, &c, &old, &f, &errors),
    };
    let sealed = amtsweg_portal::handoff::seal_config(&state.portal, a.id, id, &json).await?;
    let mut tx = state.store.begin().await?;
    let found = tx.update_connector(a.id, id, form_id, f.name.trim(), &sealed).await?;
    tx.commit().await?;
    if !found {
        return Err(AppError::NotFound);
    }
    let secret = secret_of(&c.kind).map_or("", |(input, _)| {
        let typed = if input == "webhook_secret" { &f.webhook_secret } else { &f.fit_client_secret };
        if typed.trim().is_empty() { "secret kept" } else { "secret replaced" }
    });
    let outcome = if secret.is_empty() { "success".to_owned() } else { format!("success, {secret}") };
    audit(&state, &staff.actor(), Some(a.id), "connector.update", &format!("connector:{id}"), &outcome).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{slug}/schnittstellen/?hinweis=geaendert")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToggleForm {
    csrf: String,
    aktiv: String,
}

pub async fn toggle_connector(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<ToggleForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let mut tx = state.store.begin().await?;
    let found = tx.set_connector_active(a.id, id, f.aktiv == "1").await?;
    tx.commit().await?;
    if !found {
        return Err(AppError::NotFound);
    }
    audit(&state, &staff.actor(), Some(a.id), "connector.toggle", &format!("connector:{id}"), &f.aktiv).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{slug}/schnittstellen/?hinweis=umgeschaltet")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClientForm {
    csrf: String,
    name: String,
    #[serde(default)]
    lesen: String,
    #[serde(default)]
    schreiben: String,
    #[serde(default)]
    termine: String,
    #[serde(default)]
    finanzen: String,
}

/// A new API client: the secret is shown once and stored only as its hash.
pub async fn create_client(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<ClientForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let name = f.name.trim();
    let mut scopes = Vec::new();
    if f.lesen == "1" {
        scopes.push(SCOPES[0].0);
    }
    if f.schreiben == "1" {
        scopes.push(SCOPES[1].0);
    }
    if f.termine == "1" {
        scopes.push(SCOPES[2].0);
    }
    if f.finanzen == "1" {
        scopes.push(SCOPES[3].0);
    }
    let refusal = if name.is_empty() || name.chars().count() > 100 {
        Some(problem(
            "client-name",
            "Bitte geben Sie dem Zugang einen Namen (höchstens 100 Zeichen), z. B. das Fachverfahren.",
        ))
    } else if scopes.is_empty() {
        Some(problem("lesen", "Bitte wählen Sie mindestens eine Berechtigung."))
    } else {
        None
    };
    if let Some(p) = refusal {
        let typed = ConnectorForm::default();
        let v = PageView { errors: vec![p], typed: &typed, new_client: None, notice: None };
        return render(&state, &staff, &a, v).await;
    }
    let client_id = format!("{}-{}", a.slug, &crate::session::random_token()[..12]).to_lowercase();
    let secret = crate::session::random_token();
    let mut tx = state.store.begin().await?;
    let id = tx.insert_api_client(a.id, name, &client_id, &crate::api::secret_hash(&secret), &scopes.join(" ")).await?;
    tx.commit().await?;
    audit(&state, &staff.actor(), Some(a.id), "api_client.create", &format!("api_client:{id}"), "success").await?;
    let typed = ConnectorForm::default();
    render(
        &state,
        &staff,
        &a,
        PageView { errors: Vec::new(), typed: &typed, new_client: Some((client_id, secret)), notice: None },
    )
    .await
}

pub async fn revoke_client(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let mut tx = state.store.begin().await?;
    let found = tx.revoke_api_client(a.id, id).await?;
    tx.commit().await?;
    if !found {
        return Err(AppError::NotFound);
    }
    audit(&state, &staff.actor(), Some(a.id), "api_client.revoke", &format!("api_client:{id}"), "success").await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{slug}/schnittstellen/?hinweis=widerrufen")).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Period {
    von: String,
    bis: String,
}

fn day_start_ms(d: jiff::civil::Date) -> Result<i64, AppError> {
    let tz = crate::render::berlin();
    d.to_zoned(tz).map(|z| z.timestamp().as_millisecond()).map_err(|e| AppError::Internal(e.to_string()))
}

fn csv_field(s: &str) -> String {
    // Cells starting like a formula are prefixed so spreadsheets do not run them.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([';', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The reconciliation report of a period as CSV: one line per submission and
/// target, with a verdict per line.
pub async fn reconciliation(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Query(p): Query<Period>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let parse = |s: &str| s.trim().parse::<jiff::civil::Date>();
    let (Ok(from), Ok(to)) = (parse(&p.von), parse(&p.bis)) else {
        return Err(AppError::BadRequest(
            "Bitte geben Sie den Zeitraum als Datum an (von und bis, z. B. 2026-11-01 und 2026-11-30).".into(),
        ));
    };
    if to < from {
        return Err(AppError::BadRequest("Das Ende des Zeitraums liegt vor seinem Anfang.".into()));
    }
    // Bounded so that the day after `bis` always exists (9999-12-31 has none) and one
    // report never scans more than a year of deliveries.
    let (first, last) = (jiff::civil::date(2000, 1, 1), jiff::civil::date(2100, 12, 31));
    if from < first || to > last {
        return Err(AppError::BadRequest("Bitte wählen Sie Tage zwischen 2000 und 2100.".into()));
    }
    if from.saturating_add(jiff::Span::new().years(1)) < to {
        return Err(AppError::BadRequest("Bitte wählen Sie einen Zeitraum von höchstens einem Jahr.".into()));
    }
    let end = to.tomorrow().map_err(|e| AppError::Internal(e.to_string()))?;
    let rows = state.store.reconciliation(a.id, day_start_ms(from)?, day_start_ms(end)?).await?;
    let connectors = state.store.connectors_of(a.id).await?;
    let mut out =
        String::from("Eingangsnummer;Eingegangen;Ziel;Stand;Versuche;Zugestellt;Referenz;Letzter Fehler;Ergebnis\r\n");
    for r in rows {
        let target = r.connector_id.and_then(|id| connectors.iter().find(|c| c.id == id)).map(|c| c.name.clone());
        let verdict = match (r.connector_id, r.status.as_deref()) {
            (None, _) => "keine Übergabe eingerichtet",
            (Some(_), Some("delivered")) => "genau einmal zugestellt",
            (Some(_), Some("dead")) => "NICHT zugestellt (aufgegeben)",
            _ => "noch nicht zugestellt",
        };
        let cells = [
            r.receipt_number.clone(),
            when(r.submitted_at),
            target.unwrap_or_default(),
            r.status.clone().unwrap_or_default(),
            r.attempts.map(|n| n.to_string()).unwrap_or_default(),
            r.delivered_at.map(when).unwrap_or_default(),
            r.reference.clone().unwrap_or_default(),
            r.last_error.clone().unwrap_or_default(),
            verdict.to_owned(),
        ];
        out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    audit(&state, &staff.actor(), Some(a.id), "delivery.reconciliation", &format!("period:{from}..{to}"), "success")
        .await?;
    let mut r = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response();
    let name = format!("abgleich-{}-{from}-{to}.csv", a.slug);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_field("MOO-2026-000001"), "MOO-2026-000001");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("HTTP 500: \"x\""), "\"HTTP 500: \"\"x\"\"\"");
    }
}
