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
use amtsweg_store::handoff::NewConnector;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// Scopes an API client may hold.
pub const SCOPES: [(&str, &str); 2] = [
    ("submissions:read", "Anträge abrufen und den Empfang bestätigen"),
    ("submissions:write", "Bearbeitungsstand und Nachrichten zurückmelden"),
];

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
    xdomea_directory: String,
    xdomea_url: String,
}

impl ConnectorForm {
    /// The settings as the connector stores them (JSON), from the fields of its kind.
    fn settings(&self) -> serde_json::Value {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        match self.art.as_str() {
            "email" => {
                let mut v = serde_json::json!({ "to": self.email_to.trim() });
                if let Ok(mb) = self.email_max_mb.trim().parse::<u32>() {
                    v["max_mb"] = mb.into();
                }
                v
            }
            "webhook" => serde_json::json!({ "url": self.webhook_url.trim(), "secret": self.webhook_secret.trim() }),
            "fitconnect" => serde_json::json!({
                "submission_api": self.fit_api.trim(), "destination_id": self.fit_destination.trim(),
                "token_url": opt(&self.fit_token_url), "client_id": opt(&self.fit_client_id),
                "client_secret": opt(&self.fit_client_secret),
            }),
            "xdomea" => match opt(&self.xdomea_url) {
                Some(url) => serde_json::json!({ "url": url }),
                None => serde_json::json!({ "directory": self.xdomea_directory.trim() }),
            },
            _ => serde_json::json!({}),
        }
    }
}

fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        other => other,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    hinweis: String,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    error: Option<String>,
    typed: &ConnectorForm,
    new_client: Option<(String, String)>,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let forms: Vec<Value> = catalogue
        .all_forms()
        .filter(|p| p.authority_id == a.id)
        .map(|p| context! { id => p.form_id, title => &p.form.title })
        .collect();
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
    let failed = error.is_some();
    let today = crate::render::now_local().date();
    let month_start = today.first_of_month();
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() },
        forms, connectors, clients, counts, error, notice,
        kinds => KINDS.iter().map(|(k, l)| context! { value => k, label => l }).collect::<Vec<_>>(),
        scopes => SCOPES.iter().map(|(k, l)| context! { value => k, label => l }).collect::<Vec<_>>(),
        typed => context! {
            name => &typed.name, art => &typed.art, formular => &typed.formular, email_to => &typed.email_to,
            email_max_mb => &typed.email_max_mb, webhook_url => &typed.webhook_url, fit_api => &typed.fit_api,
            fit_destination => &typed.fit_destination, fit_token_url => &typed.fit_token_url,
            fit_client_id => &typed.fit_client_id, xdomea_directory => &typed.xdomea_directory,
            xdomea_url => &typed.xdomea_url,
        },
        new_client => new_client.map(|(id, secret)| context! { id, secret }),
        from => month_start.to_string(), to => today.to_string(),
        api_base => format!("{}/api/v1/", state.config.public_base_url.trim_end_matches('/')),
        ..base(state, Some(staff), &format!("/verwaltung/behoerden/{}/schnittstellen/", a.slug))
    };
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut r = (status, render_page(state, "verwaltung/schnittstellen.html", ctx)?).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
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
        "umgeschaltet" => Some("Die Übergabe ist umgeschaltet."),
        "widerrufen" => Some("Der Zugang ist widerrufen."),
        _ => None,
    };
    render(&state, &staff, &a, None, &ConnectorForm::default(), None, notice).await
}

pub async fn create_connector(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<ConnectorForm>>,
) -> Result<Response, AppError> {
    let a = staff.administered_authority(&state, &slug)?;
    let fail = |m: String| render(&state, &staff, &a, Some(m), &f, None, None);
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return fail("Bitte geben Sie der Übergabe einen Namen (höchstens 100 Zeichen).".into()).await;
    }
    let form_id = match f.formular.trim() {
        "" => None,
        v => match v.parse::<i64>().ok().filter(|id| state.catalogue().form_by_id(a.id, *id).is_some()) {
            Some(id) => Some(id),
            None => return fail("Dieses Formular bietet die Behörde nicht an.".into()).await,
        },
    };
    let json = without_nulls(f.settings()).to_string();
    if let Err(m) = Target::parse(&f.art, &json) {
        return fail(m).await;
    }
    let sealed = amtsweg_portal::handoff::seal_config(&state.portal, a.id, &json).await?;
    let mut tx = state.store.begin().await?;
    let id =
        tx.insert_connector(&NewConnector { authority_id: a.id, form_id, kind: &f.art, name, config: &sealed }).await?;
    tx.commit().await?;
    audit(&state, &staff.actor(), Some(a.id), "connector.create", &format!("connector:{id}"), "success").await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{slug}/schnittstellen/?hinweis=verbindung")).into_response())
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
    let problem = if name.is_empty() || name.chars().count() > 100 {
        Some("Bitte geben Sie dem Zugang einen Namen (höchstens 100 Zeichen), z. B. das Fachverfahren.")
    } else if scopes.is_empty() {
        Some("Bitte wählen Sie mindestens eine Berechtigung.")
    } else {
        None
    };
    if let Some(p) = problem {
        return render(&state, &staff, &a, Some(p.into()), &ConnectorForm::default(), None, None).await;
    }
    let client_id = format!("{}-{}", a.slug, &crate::session::random_token()[..12]).to_lowercase();
    let secret = crate::session::random_token();
    let mut tx = state.store.begin().await?;
    let id = tx.insert_api_client(a.id, name, &client_id, &crate::api::secret_hash(&secret), &scopes.join(" ")).await?;
    tx.commit().await?;
    audit(&state, &staff.actor(), Some(a.id), "api_client.create", &format!("api_client:{id}"), "success").await?;
    render(&state, &staff, &a, None, &ConnectorForm::default(), Some((client_id, secret)), None).await
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
