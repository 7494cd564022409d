//! The payment connectors of an authority: a provider for paying online
//! (XBezahldienste 1.0, with OAuth2 client credentials or a client certificate), the
//! account an invoice names (IBAN checked, BIC optional) and the poke to the finance
//! software. New ones are set up on the overview in two steps (kind, then its
//! settings); one connector is changed on a page of its own. Secrets are sealed for
//! the connector and never shown again: an empty secret input keeps the stored one.
//! Administrators of the authority only.

use super::uebersicht::{self, Shown};
use super::{Problem, StaffContext, authority_value, base_url, invalid, no_store};
use crate::AppState;
use crate::audit::audit;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::payment::{Iban, check_bic};
use amtsweg_handoff::payment::{KINDS, PaymentTarget};
use amtsweg_portal::payments::connectors;
use amtsweg_store::payments::PaymentConnectorRow;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// The label of a connector kind.
pub(super) fn kind_label(kind: &str) -> &str {
    KINDS.iter().find(|(k, _)| *k == kind).map_or(kind, |(_, l)| l)
}

/// What the page says about a stored secret: never the secret, at most its last
/// four characters when it is long enough for them to give nothing away.
fn secret_state(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 16 && !secret.contains("-----BEGIN") {
        let tail: String = secret.chars().skip(n - 4).collect();
        format!("gespeichert (endet auf …{tail})")
    } else {
        "ein Geheimnis ist gespeichert".to_owned()
    }
}

/// The inputs of the connector forms (new and change). Secrets are never sent back.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct ConnectorForm {
    csrf: String,
    pub(super) name: String,
    pub(super) art: String,
    formular: String,
    // XBezahldienste
    xb_url: String,
    xb_originator: String,
    xb_endpoint: String,
    /// "keine", "oauth2" or "zertifikat".
    xb_auth: String,
    xb_token_url: String,
    xb_client_id: String,
    xb_client_secret: String,
    xb_scope: String,
    xb_pem: String,
    /// "ja": send the citizen's name and address along.
    xb_requestor: String,
    /// "Adresse der Bezahlseite": the pay pages' origin when not the API's.
    xb_bezahlseite: String,
    // Rechnung
    re_empfaenger: String,
    re_iban: String,
    re_bic: String,
    // Finance software
    wh_url: String,
    wh_secret: String,
}

impl ConnectorForm {
    /// An empty form for a new connector of `kind`.
    pub(super) fn new_of(kind: &str) -> Self {
        Self { art: kind.to_owned(), xb_auth: "keine".into(), ..Self::default() }
    }

    /// The inputs of a stored connector, without its secrets.
    fn of(c: &PaymentConnectorRow, settings: &Json) -> Self {
        let s = |v: &Json, k: &str| v.get(k).and_then(Json::as_str).unwrap_or_default().to_owned();
        let mut f = Self {
            name: c.name.clone(),
            art: c.kind.clone(),
            formular: c.form_id.map(|id| id.to_string()).unwrap_or_default(),
            ..Self::default()
        };
        match c.kind.as_str() {
            "xbezahldienste" => {
                f.xb_url = s(settings, "base_url");
                f.xb_originator = s(settings, "originator_id");
                f.xb_endpoint = s(settings, "endpoint_id");
                f.xb_bezahlseite = s(settings, "pay_origin");
                f.xb_requestor = if settings.get("send_requestor").and_then(Json::as_bool) == Some(true) {
                    "ja".into()
                } else {
                    String::new()
                };
                let auth = settings.get("auth").cloned().unwrap_or(Json::Null);
                f.xb_auth = match auth.get("type").and_then(Json::as_str) {
                    Some("oauth2") => {
                        f.xb_token_url = s(&auth, "token_url");
                        f.xb_client_id = s(&auth, "client_id");
                        f.xb_scope = s(&auth, "scope");
                        "oauth2".into()
                    }
                    Some("client_certificate") => "zertifikat".into(),
                    _ => "keine".into(),
                };
            }
            "rechnung" => {
                f.re_empfaenger = s(settings, "recipient");
                f.re_iban = Iban::parse(&s(settings, "iban")).map_or_else(|_| s(settings, "iban"), |i| i.printed());
                f.re_bic = s(settings, "bic");
            }
            "finanzen_webhook" => f.wh_url = s(settings, "url"),
            _ => {}
        }
        f
    }

    /// The secrets of the connector as stored: (label, stored value) for the page.
    fn stored_secrets(kind: &str, settings: &Json) -> Vec<(&'static str, String)> {
        let s = |v: Option<&Json>| v.and_then(Json::as_str).filter(|s| !s.is_empty()).map(secret_state);
        let mut out = Vec::new();
        match kind {
            "xbezahldienste" => {
                let auth = settings.get("auth");
                if let Some(x) = s(auth.and_then(|a| a.get("client_secret"))) {
                    out.push(("xb_client_secret", x));
                }
                if let Some(x) = s(auth.and_then(|a| a.get("pem"))) {
                    out.push(("xb_pem", x));
                }
            }
            "finanzen_webhook" => {
                if let Some(x) = s(settings.get("secret")) {
                    out.push(("wh_secret", x));
                }
            }
            _ => {}
        }
        out
    }

    /// The settings as the connector stores them (JSON), from the inputs of its
    /// kind. `old`: the stored settings of a connector being changed — an empty
    /// secret input keeps its stored secret.
    fn settings(&self, old: Option<&Json>) -> Json {
        let t = |s: &str| s.trim().to_owned();
        let kept = |path: &[&str]| {
            let mut v = old?;
            for p in path {
                v = v.get(*p)?;
            }
            v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
        };
        let typed_or_kept = |typed: &str, path: &[&str]| {
            let typed = typed.trim();
            if typed.is_empty() { kept(path).unwrap_or_default() } else { typed.to_owned() }
        };
        match self.art.as_str() {
            "xbezahldienste" => {
                let auth = match self.xb_auth.as_str() {
                    "oauth2" => {
                        let mut a = json!({
                            "type": "oauth2", "token_url": t(&self.xb_token_url), "client_id": t(&self.xb_client_id),
                            "client_secret": if self.moves_sealed_secret(old) {
                                t(&self.xb_client_secret)
                            } else {
                                typed_or_kept(&self.xb_client_secret, &["auth", "client_secret"])
                            },
                        });
                        if !self.xb_scope.trim().is_empty() {
                            a["scope"] = json!(t(&self.xb_scope));
                        }
                        a
                    }
                    "zertifikat" => {
                        // PEM keeps its line breaks; only the ends are trimmed.
                        json!({ "type": "client_certificate", "pem": typed_or_kept(&self.xb_pem, &["auth", "pem"]) })
                    }
                    _ => json!({ "type": "none" }),
                };
                let mut cfg = json!({
                    "base_url": t(&self.xb_url), "originator_id": t(&self.xb_originator),
                    "endpoint_id": t(&self.xb_endpoint), "auth": auth, "send_requestor": self.xb_requestor == "ja",
                });
                if !self.xb_bezahlseite.trim().is_empty() {
                    cfg["pay_origin"] = json!(t(&self.xb_bezahlseite).trim_end_matches('/'));
                }
                cfg
            }
            "rechnung" => {
                // Stored compact and upper-case, so every later reader compares alike.
                let iban = Iban::parse(&self.re_iban).map_or_else(|_| t(&self.re_iban), |i| i.as_str().to_owned());
                let bic = check_bic(&self.re_bic).unwrap_or_else(|_| t(&self.re_bic));
                json!({ "recipient": t(&self.re_empfaenger), "iban": iban, "bic": bic })
            }
            "finanzen_webhook" => {
                json!({ "url": t(&self.wh_url), "secret": typed_or_kept(&self.wh_secret, &["secret"]) })
            }
            _ => json!({}),
        }
    }

    /// What was typed, for the page: everything but the secrets.
    fn shown(&self) -> Value {
        context! {
            name => &self.name, art => &self.art, formular => &self.formular,
            xb_url => &self.xb_url, xb_originator => &self.xb_originator, xb_endpoint => &self.xb_endpoint,
            xb_bezahlseite => &self.xb_bezahlseite,
            xb_auth => if self.xb_auth.is_empty() { "keine" } else { self.xb_auth.as_str() },
            xb_token_url => &self.xb_token_url, xb_client_id => &self.xb_client_id, xb_scope => &self.xb_scope,
            xb_requestor => self.xb_requestor == "ja",
            re_empfaenger => &self.re_empfaenger, re_iban => &self.re_iban, re_bic => &self.re_bic,
            wh_url => &self.wh_url,
        }
    }

    /// Whether keeping the stored OAuth2 secret would send it to another address:
    /// the API's or the token address differs from the stored one.
    fn moves_sealed_secret(&self, old: Option<&Json>) -> bool {
        let Some(old) = old else { return false };
        let same = |typed: &str, stored: Option<&Json>| {
            let stored = stored.and_then(Json::as_str).unwrap_or_default();
            typed.trim().trim_end_matches('/') == stored.trim().trim_end_matches('/')
        };
        !same(&self.xb_url, old.get("base_url"))
            || !same(&self.xb_token_url, old.get("auth").and_then(|a| a.get("token_url")))
    }

    /// A secret was typed (it is not shown again and must be typed once more).
    fn secret_typed(&self) -> bool {
        [&self.xb_client_secret, &self.xb_pem, &self.wh_secret].iter().any(|s| !s.trim().is_empty())
    }
}

/// The input a message of the connector's own check is about.
fn field_of(kind: &str, message: &str) -> &'static str {
    let has = |w: &str| message.contains(w);
    match kind {
        "xbezahldienste" if has("Bezahlseite") => "xb_bezahlseite",
        "xbezahldienste" if has("Originator") => "xb_originator",
        "xbezahldienste" if has("Endpoint") => "xb_endpoint",
        "xbezahldienste" if has("Zugriffstoken") || has("Token") => "xb_token_url",
        "xbezahldienste" if has("Client-ID") => "xb_client_id",
        "xbezahldienste" if has("Client-Geheimnis") => "xb_client_secret",
        "xbezahldienste" if has("Scope") => "xb_scope",
        "xbezahldienste" if has("Zertifikat") || has("PEM") || has("Schlüssel") => "xb_pem",
        "xbezahldienste" => "xb_url",
        "rechnung" if has("IBAN") => "re_iban",
        "rechnung" if has("BIC") => "re_bic",
        "rechnung" => "re_empfaenger",
        "finanzen_webhook" if has("Geheimnis") => "wh_secret",
        "finanzen_webhook" => "wh_url",
        _ => "art",
    }
}

/// The checks of the inputs before the connector's own check: name, form, kind and
/// what each kind needs. `old`: the stored settings (their secrets may stay).
fn check_inputs(state: &AppState, a: &Authority, f: &ConnectorForm, old: Option<&Json>) -> (Vec<Problem>, Option<i64>) {
    let mut out = Vec::new();
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        out.push(Problem::new("name", "Bitte geben Sie der Verbindung einen Namen (höchstens 100 Zeichen)."));
    }
    let form_id = match f.formular.trim() {
        "" => None,
        // The finance software is told about every payment, not those of one form.
        _ if f.art == "finanzen_webhook" => None,
        v => {
            let id = v.parse::<i64>().ok().filter(|id| state.catalogue().form_by_id(a.id, *id).is_some());
            if id.is_none() {
                out.push(Problem::new("formular", "Dieses Formular bietet die Behörde nicht an."));
            }
            id
        }
    };
    let empty = |s: &str| s.trim().is_empty();
    let stored = |path: &[&str]| {
        let mut v = old;
        for p in path {
            v = v.and_then(|x| x.get(*p));
        }
        v.and_then(Json::as_str).is_some_and(|s| !s.is_empty())
    };
    match f.art.as_str() {
        "xbezahldienste" => {
            if empty(&f.xb_url) {
                out.push(Problem::new("xb_url", "Bitte geben Sie die Adresse des Bezahldienstes an (https://…)."));
            }
            if empty(&f.xb_originator) {
                out.push(Problem::new("xb_originator", "Bitte geben Sie die Originator-ID an."));
            }
            if empty(&f.xb_endpoint) {
                out.push(Problem::new("xb_endpoint", "Bitte geben Sie die Endpoint-ID an."));
            }
            match f.xb_auth.as_str() {
                "oauth2" => {
                    if empty(&f.xb_token_url) {
                        out.push(Problem::new("xb_token_url", "Bitte geben Sie die Adresse für das Zugriffstoken an."));
                    }
                    if empty(&f.xb_client_id) {
                        out.push(Problem::new("xb_client_id", "Bitte geben Sie die Client-ID an."));
                    }
                    if empty(&f.xb_client_secret) && !stored(&["auth", "client_secret"]) {
                        out.push(Problem::new("xb_client_secret", "Bitte geben Sie das Client-Geheimnis an."));
                    } else if empty(&f.xb_client_secret) && f.moves_sealed_secret(old) {
                        // The stored secret must not follow a changed address: whoever
                        // changes where it is sent must know it.
                        out.push(Problem::new(
                            "xb_client_secret",
                            "Sie haben die Adresse des Bezahldienstes oder für das Zugriffstoken geändert. Bitte \
                             geben Sie das Client-Geheimnis noch einmal ein – das gespeicherte wird nur an die \
                             bisherigen Adressen gesendet.",
                        ));
                    }
                }
                "zertifikat" => {
                    if empty(&f.xb_pem) && !stored(&["auth", "pem"]) {
                        out.push(Problem::new(
                            "xb_pem",
                            "Bitte fügen Sie Client-Zertifikat und privaten Schlüssel im PEM-Format ein.",
                        ));
                    }
                }
                "" | "keine" => {}
                _ => out.push(Problem::new("xb_auth-keine", "Bitte wählen Sie, wie sich das Portal anmeldet.")),
            }
        }
        "rechnung" => {
            if empty(&f.re_empfaenger) {
                out.push(Problem::new(
                    "re_empfaenger",
                    "Bitte geben Sie den Zahlungsempfänger an, wie ihn die Bank kennt (z. B. Stadtkasse Moorbrück).",
                ));
            }
            if empty(&f.re_iban) {
                out.push(Problem::new("re_iban", "Bitte geben Sie die IBAN des Kontos an."));
            } else if let Err(e) = Iban::parse(&f.re_iban) {
                out.push(Problem::new("re_iban", e.0));
            }
            if !empty(&f.re_bic)
                && let Err(e) = check_bic(&f.re_bic)
            {
                out.push(Problem::new("re_bic", e.0));
            }
        }
        "finanzen_webhook" => {
            if empty(&f.wh_url) {
                out.push(Problem::new(
                    "wh_url",
                    "Bitte geben Sie die Adresse an, die benachrichtigt wird (https://…).",
                ));
            }
            if empty(&f.wh_secret) && !stored(&["secret"]) {
                out.push(Problem::new(
                    "wh_secret",
                    "Bitte geben Sie das Geheimnis für die Signatur an (mindestens 32 Zeichen).",
                ));
            }
        }
        _ => out.push(Problem::new("art-xbezahldienste", "Bitte wählen Sie die Art der Verbindung.")),
    }
    (out, form_id)
}

/// The inputs and the connector's own check (addresses resolved through the
/// outbound policy): the form and the settings (JSON) when all is well.
async fn checked(
    state: &AppState,
    a: &Authority,
    f: &ConnectorForm,
    old: Option<&Json>,
) -> Result<Result<(Option<i64>, String), Vec<Problem>>, AppError> {
    let (problems, form_id) = check_inputs(state, a, f, old);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let json = f.settings(old).to_string();
    let policy = &state.config.connectors.outbound;
    let target = match PaymentTarget::parse(&f.art, &json, policy) {
        Ok(t) => t.check_resolved(policy).await,
        Err(e) => Err(e),
    };
    if let Err(m) = target {
        return Ok(Err(vec![Problem::new(field_of(&f.art, &m), m)]));
    }
    Ok(Ok((form_id, json)))
}

/// The kinds, for the first step of a new connector.
pub(super) fn kinds() -> Vec<Value> {
    KINDS.iter().map(|(k, l)| context! { value => k, label => l }).collect()
}

/// The authority's published forms (for "Für").
pub(super) fn forms_of(state: &AppState, a: &Authority) -> Vec<Value> {
    state
        .catalogue()
        .all_forms()
        .filter(|p| p.authority_id == a.id)
        .map(|p| context! { id => p.form_id, title => &p.form.title })
        .collect()
}

/// The context of the new-connector form on the overview.
pub(super) fn new_form_value(f: &ConnectorForm, problems: &[Problem]) -> Value {
    let chosen = KINDS.iter().find(|(k, _)| *k == f.art).map(|(k, l)| context! { value => k, label => l });
    context! {
        kinds => kinds(), chosen, typed => f.shown(), invalid => invalid(problems),
        secret_typed => !problems.is_empty() && f.secret_typed(),
    }
}

/// A new connector (first step chosen on the overview with `?art=`).
pub async fn create(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<ConnectorForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let (form_id, json) = match checked(&state, &a, &f, None).await? {
        Ok(ok) => ok,
        Err(problems) => {
            let rights = staff.payment_rights(&state, &slug)?;
            return uebersicht::render(&state, &staff, &rights, &uri, &Shown::with_connector(&f, &problems)).await;
        }
    };
    let id = connectors::add(&state.portal, a.id, form_id, &f.art, f.name.trim(), &json).await?;
    audit(
        &state,
        &staff.actor(),
        Some(a.id),
        "payment_connector.create",
        &format!("payment_connector:{id}"),
        "success",
    )
    .await?;
    Ok(Redirect::to(&format!("{}?hinweis=verbindung#verbindungen", base_url(&a))).into_response())
}

/// A connector of the authority with its opened settings (404 for another's).
async fn connector_of(state: &AppState, a: &Authority, id: &str) -> Result<(PaymentConnectorRow, Json), AppError> {
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let c =
        state.store.payment_connectors_of(a.id).await?.into_iter().find(|c| c.id == id).ok_or(AppError::NotFound)?;
    let text = connectors::open_config(&state.portal, &c).await?;
    let settings = serde_json::from_str(&text).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((c, settings))
}

fn render_edit(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    c: &PaymentConnectorRow,
    settings: &Json,
    typed: &ConnectorForm,
    problems: &[Problem],
) -> Result<Response, AppError> {
    let here = format!("{}verbindungen/{}/bearbeiten", base_url(a), c.id);
    let secrets: std::collections::BTreeMap<&str, String> =
        ConnectorForm::stored_secrets(&c.kind, settings).into_iter().collect();
    let ctx = context! {
        authority => authority_value(a), base => base_url(a),
        edit => context! { id => c.id, name => &c.name, active => c.active != 0, action => &here },
        chosen => context! { value => &c.kind, label => kind_label(&c.kind) },
        forms => forms_of(state, a), errors => problems, invalid => invalid(problems), secrets,
        secret_typed => !problems.is_empty() && typed.secret_typed(), typed => typed.shown(),
        ..crate::verwaltung::base(state, Some(staff), &here)
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_verbindung.html", ctx)?).into_response()))
}

/// The page of one connector: its settings without its secrets.
pub async fn edit_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let (c, settings) = connector_of(&state, &a, &id).await?;
    render_edit(&state, &staff, &a, &c, &settings, &ConnectorForm::of(&c, &settings), &[])
}

/// Changes a connector: an empty secret input keeps the stored secret; its kind stays.
pub async fn edit_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(f)): Csrf<Form<ConnectorForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let (c, old) = connector_of(&state, &a, &id).await?;
    let f = ConnectorForm { art: c.kind.clone(), ..f };
    let (form_id, json) = match checked(&state, &a, &f, Some(&old)).await? {
        Ok(ok) => ok,
        Err(problems) => return render_edit(&state, &staff, &a, &c, &old, &f, &problems),
    };
    if !connectors::update(&state.portal, a.id, c.id, form_id, f.name.trim(), &json).await? {
        return Err(AppError::NotFound);
    }
    let outcome = if f.secret_typed() { "success, secret replaced" } else { "success" };
    audit(
        &state,
        &staff.actor(),
        Some(a.id),
        "payment_connector.update",
        &format!("payment_connector:{}", c.id),
        outcome,
    )
    .await?;
    Ok(Redirect::to(&format!("{}?hinweis=geaendert#verbindungen", base_url(&a))).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToggleForm {
    csrf: String,
    aktiv: String,
}

/// Switches a connector on or off.
pub async fn toggle(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(f)): Csrf<Form<ToggleForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_admin(&state, &slug)?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let mut tx = state.store.begin().await?;
    let found = tx.set_payment_connector_active(a.id, id, f.aktiv == "1").await?;
    tx.commit().await?;
    if !found {
        return Err(AppError::NotFound);
    }
    let outcome = if f.aktiv == "1" { "on" } else { "off" };
    audit(&state, &staff.actor(), Some(a.id), "payment_connector.toggle", &format!("payment_connector:{id}"), outcome)
        .await?;
    Ok(Redirect::to(&format!("{}?hinweis=umgeschaltet#verbindungen", base_url(&a))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_when_left_empty_and_replaced_when_typed() {
        let old = json!({"url": "https://fin.example/hook", "secret": "a".repeat(40)});
        let f = ConnectorForm {
            art: "finanzen_webhook".into(),
            wh_url: "https://fin.example/neu".into(),
            ..Default::default()
        };
        assert_eq!(f.settings(Some(&old))["secret"], json!("a".repeat(40)));
        let f = ConnectorForm { wh_secret: "b".repeat(40), ..f };
        assert_eq!(f.settings(Some(&old))["secret"], json!("b".repeat(40)));
    }

    #[test]
    fn an_iban_is_stored_compact_and_shown_in_groups() {
        let f = ConnectorForm {
            art: "rechnung".into(),
            re_empfaenger: "Stadtkasse".into(),
            re_iban: "de02 1203 0000 0000 2020 51".into(),
            re_bic: "byladem1001".into(),
            ..Default::default()
        };
        let s = f.settings(None);
        assert_eq!(s["iban"], json!("DE02120300000000202051"));
        assert_eq!(s["bic"], json!("BYLADEM1001"));
        let row = PaymentConnectorRow {
            id: 1,
            authority_id: 1,
            form_id: None,
            kind: "rechnung".into(),
            name: "Kasse".into(),
            config: String::new(),
            active: 1,
            created_at: 0,
        };
        assert_eq!(ConnectorForm::of(&row, &s).re_iban, "DE02 1203 0000 0000 2020 51");
    }

    #[test]
    fn oauth_secrets_stay_when_the_kind_of_sign_in_stays() {
        let old = json!({"base_url": "https://pay.example", "originator_id": "o", "endpoint_id": "e",
            "auth": {"type": "oauth2", "token_url": "https://pay.example/token", "client_id": "c", "client_secret": "geheim"}});
        let row = PaymentConnectorRow {
            id: 1,
            authority_id: 1,
            form_id: None,
            kind: "xbezahldienste".into(),
            name: "Pay".into(),
            config: String::new(),
            active: 1,
            created_at: 0,
        };
        let f = ConnectorForm::of(&row, &old);
        assert_eq!((f.xb_auth.as_str(), f.xb_client_id.as_str(), f.xb_client_secret.as_str()), ("oauth2", "c", ""));
        assert_eq!(f.settings(Some(&old))["auth"]["client_secret"], json!("geheim"));
        // A changed token or API address does not take the stored secret along.
        let moved = ConnectorForm { xb_token_url: "https://evil.example/token".into(), ..f.clone() };
        assert_eq!(moved.settings(Some(&old))["auth"]["client_secret"], json!(""));
        let moved = ConnectorForm { xb_url: "https://evil.example".into(), ..f.clone() };
        assert!(moved.moves_sealed_secret(Some(&old)));
        assert!(!ConnectorForm { xb_url: "https://pay.example/".into(), ..f.clone() }.moves_sealed_secret(Some(&old)));
        let none = ConnectorForm { xb_auth: "keine".into(), ..f };
        assert_eq!(none.settings(Some(&old))["auth"], json!({"type": "none"}));
        assert_eq!(ConnectorForm::stored_secrets("xbezahldienste", &old).len(), 1);
    }
}
