//! Checking all answers, submitting, the receipt (page and PDF); keeping a draft for
//! later, resuming it from an e-mailed one-time link, and discarding it.

use super::fields::{self, FileInfo};
use super::fresh_receipt::FreshReceipt;
use super::{Journey, base, draft_answers, draft_files, load_draft, today};
use crate::AppState;
use crate::error::AppError;
use crate::pages::render_page;
use crate::session;
use amtsweg_forms::{Answer, Answers, Form, Item, Kind, Step, visible_steps};
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::submissions::SubmissionRow;
use axum::Form as PostForm;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const SUBMISSION: &str = "antrag:submission";

/// Checks the engine cannot make because they need the portal's data: addresses
/// inside the Verbund, and that every file answer names a file of this draft.
pub(crate) fn server_checks(
    state: &AppState,
    form: &Form,
    step: Option<&Step>,
    answers: &Answers,
    files: &[FileInfo],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let c = state.catalogue();
    for s in visible_steps(form, answers) {
        if step.is_some_and(|x| x.id != s.id) {
            continue;
        }
        for item in &s.items {
            let Item::Field(f) = item else { continue };
            if f.visible_if.as_ref().is_some_and(|c| !amtsweg_forms::holds(c, answers)) {
                continue;
            }
            let Some(Answer::One(v)) = answers.get(&f.id) else { continue };
            match &f.kind {
                Kind::Address { in_verbund: true } if !v.is_empty() => {
                    let (_, place) = amtsweg_forms::split_address(v);
                    let (plz, city) = place.split_once(' ').unwrap_or((place, ""));
                    let known = c.places.iter().any(|p| {
                        p.plz.iter().any(|x| x == plz.trim()) && p.name.to_lowercase() == city.trim().to_lowercase()
                    });
                    if !known && amtsweg_forms::check_value(f, v, today()).is_ok() {
                        let names: Vec<&str> = c.places.iter().map(|p| p.name.as_str()).collect();
                        out.push((
                            f.id.clone(),
                            format!(
                                "Die Anschrift bei „{}“ muss im {} liegen ({}). Bitte prüfen Sie Postleitzahl und Ort.",
                                f.label,
                                c.verbund_name,
                                names.join(", ")
                            ),
                        ));
                    }
                }
                Kind::File { .. } if !v.is_empty() => {
                    let ok = v
                        .strip_prefix("datei:")
                        .and_then(|id| id.parse::<i64>().ok())
                        .is_some_and(|id| files.iter().any(|x| x.id == id && x.field == f.id));
                    if !ok {
                        out.push((
                            f.id.clone(),
                            format!("Die Datei zu „{}“ fehlt. Bitte laden Sie sie erneut hoch.", f.label),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// The step that asks for the answer at `path`.
fn step_of<'f>(form: &'f Form, path: &str) -> Option<&'f Step> {
    let id = path.split(['[', '.']).next().unwrap_or(path);
    form.steps.iter().find(|s| {
        s.items.iter().any(|i| match i {
            Item::Field(f) => f.id == id,
            Item::Group(g) => g.id == id || g.fields.iter().any(|f| f.id == id),
        })
    })
}

pub(crate) fn all_problems(
    state: &AppState,
    form: &Form,
    answers: &Answers,
    files: &[FileInfo],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        amtsweg_forms::validate(form, None, answers, today()).into_iter().map(|p| (p.path, p.message)).collect();
    out.extend(server_checks(state, form, None, answers, files));
    out
}

/// The e-mail address a confirmation goes to: the account's, else the first e-mail
/// answer of the form.
fn contact_email(j: &Journey, answers: &Answers) -> Option<String> {
    if let Some(e) = j.citizen.as_ref().and_then(|c| c.citizen.email.clone()) {
        return Some(e);
    }
    j.form.steps.iter().flat_map(|s| &s.items).find_map(|i| match i {
        Item::Field(f) if matches!(f.kind, Kind::Email) => match answers.get(&f.id) {
            Some(Answer::One(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        },
        _ => None,
    })
}

fn sections(j: &Journey, answers: &Answers, files: &[FileInfo], url: Option<&str>) -> Vec<minijinja::Value> {
    visible_steps(&j.form, answers)
        .into_iter()
        .map(|s| {
            context! {
                title => &s.title,
                url => url.map(|u| format!("{u}{}?zurueck=pruefen", s.id)),
                lines => fields::summary(s, answers, files),
            }
        })
        .collect()
}

fn computed(form: &Form, answers: &Answers) -> Vec<minijinja::Value> {
    amtsweg_forms::compute(form, answers)
        .into_iter()
        .filter_map(|(id, cents)| {
            form.computed
                .iter()
                .find(|c| c.id == id)
                .map(|c| context! { label => &c.label, value => fields::euro_text(cents) })
        })
        .collect()
}

async fn render_check(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    d: &amtsweg_store::submissions::ApplicationDraft,
    answers: &Answers,
    files: &[FileInfo],
) -> Result<Response, AppError> {
    let url = j.draft_url(&d.token);
    let problems = all_problems(state, &j.form, answers, files);
    let errors: Vec<_> = problems
        .iter()
        .map(|(path, message)| {
            let to = step_of(&j.form, path).map_or_else(|| url.clone(), |s| format!("{url}{}?zurueck=pruefen", s.id));
            context! { href => format!("{to}#{}", fields::anchor(path)), message }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let email = contact_email(j, answers);
    let ctx = context! {
        title => if errors.is_empty() { "Angaben prüfen".to_owned() } else { "Fehler: Angaben prüfen".to_owned() },
        sections => sections(j, answers, files, Some(&url)), computed => computed(&j.form, answers), errors,
        action => format!("{url}absenden"), csrf => &d.csrf, email,
        discard => format!("{url}verwerfen"), save => format!("{url}gespeichert"),
        ..base(state, j, headers, &format!("{url}pruefen"), "Angaben prüfen")
    };
    Ok(super::no_store((status, render_page(state, "antrag/pruefen.html", ctx)?).into_response()))
}

/// The page to check every answer before submitting.
pub(crate) async fn check(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let answers = draft_answers(&state, &d).await?;
    let files = draft_files(&state, &d).await?;
    render_check(&state, &j, &headers, &d, &answers, &files).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubmitForm {
    csrf: String,
    /// "ja": send a copy of the answers by e-mail.
    kopie: Option<String>,
}

/// What is stored (sealed) for a submission: the normalised answers, the computed
/// values and the files' hashes; its SHA-256 is printed on the receipt.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmissionData {
    pub form: String,
    pub version: i64,
    pub answers: Answers,
    pub computed: Vec<(String, i64)>,
    pub files: Vec<SubmittedFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SubmittedFile {
    pub field: String,
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

pub(super) fn receipt_url(j: &Journey, token: &str) -> String {
    format!("{}eingang/{token}", j.base_url())
}

/// Submits: every answer checked again, then the submission with its files and the
/// confirmation e-mail in one commit. The same form token again shows the same
/// receipt instead of a second submission.
pub(crate) async fn submit(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<SubmitForm>,
) -> Result<Response, AppError> {
    if state.store.application_draft(&token).await?.is_none() {
        return already_submitted(&state, &j, &token).await;
    }
    let d = load_draft(&state, &mut j, &token).await?;
    if !session::same_origin(&headers) || !session::tokens_match(&d.csrf, &f.csrf) {
        return Err(AppError::Forbidden);
    }
    let answers = amtsweg_forms::keep_asked(&j.form, &draft_answers(&state, &d).await?);
    let files = draft_files(&state, &d).await?;
    if !all_problems(&state, &j.form, &answers, &files).is_empty() {
        return render_check(&state, &j, &headers, &d, &answers, &files).await;
    }
    let stored_files = state.store.application_draft_files(&d.token).await?;
    let owner = Owner { citizen_id: d.citizen_id, browser_hash: d.browser_hash.clone() };
    store_submission(&state, &j, &token, &owner, &answers, &files, &stored_files, f.kopie.as_deref() == Some("ja"))
        .await
}

/// Who a submission belongs to: the account, or the anonymous browser (hash of its
/// draft cookie).
pub(crate) struct Owner {
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
}

/// Stores a checked application as a submission in one commit (answers sealed with
/// their hash, the draft's files, the confirmation e-mail, the outbox rows) and
/// sends the browser to the receipt. The same token again shows the same receipt.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_submission(
    state: &AppState,
    j: &Journey,
    token: &str,
    owner: &Owner,
    answers: &Answers,
    files: &[FileInfo],
    stored_files: &[amtsweg_store::submissions::FileRow],
    copy: bool,
) -> Result<Response, AppError> {
    let data = SubmissionData {
        form: j.published.slug.clone(),
        version: j.version,
        answers: amtsweg_forms::normalize(&j.form, answers, today()),
        computed: amtsweg_forms::compute(&j.form, answers),
        files: stored_files
            .iter()
            .map(|x| SubmittedFile {
                field: x.field.clone(),
                name: files.iter().find(|i| i.id == x.id).map(|i| i.name.clone()).unwrap_or_default(),
                size: x.size,
                sha256: x.sha256.clone(),
            })
            .collect(),
    };
    let json = serde_json::to_string(&data).map_err(|e| AppError::Internal(e.to_string()))?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    let scope = crate::konto::daten::authority_scope(j.authority.id);
    let sealed = state.keyring.seal(&state.store, &scope, SUBMISSION, json.as_bytes()).await?;
    let link = format!("{}{}", state.config.public_base_url.trim_end_matches('/'), receipt_url(j, token));
    let mail = contact_email(j, answers).map(|to| {
        let copy = if copy {
            let lines: Vec<String> = visible_steps(&j.form, answers)
                .into_iter()
                .flat_map(|s| fields::summary(s, answers, files))
                .map(|l| format!("{}: {}", l.label, l.value))
                .collect();
            format!("\nIhre Angaben:\n{}\n", lines.join("\n"))
        } else {
            String::new()
        };
        EmailMessage {
            to,
            subject: format!("Eingangsbestätigung {{eingangsnummer}} – {}", j.form.title),
            body: format!(
                "Guten Tag,\n\n{} hat Ihren Antrag „{}“ erhalten.\nEingangsnummer: {{eingangsnummer}}\n\nEingangsbestätigung und Stand: {link}\n{copy}\nBitte geben Sie die Eingangsnummer bei Rückfragen an.\n",
                j.authority.name, j.form.title
            ),
        }
    });
    let year = i64::from(crate::pages::now_local().year());
    let browser_hash = if owner.citizen_id.is_some() { String::new() } else { owner.browser_hash.clone() };
    let prefix = j.authority.receipt_prefix();
    let new = amtsweg_store::submissions::OwnedSubmission {
        form_token: token.to_owned(),
        authority_id: j.authority.id,
        form_id: j.published.form_id,
        form_version: j.version,
        title: j.form.title.clone(),
        org_unit_id: j
            .published
            .leistung_id
            .and_then(|id| state.catalogue().leistungen.iter().find(|l| l.id == id).and_then(|l| l.org_unit_id)),
        citizen_id: owner.citizen_id,
        browser_hash: browser_hash.clone(),
        data: sealed,
        data_hash: hash.clone(),
        receipt_prefix: prefix,
        year,
        confirmation: mail,
    };
    let stored = state.submissions.submit(new).await;
    match stored {
        Ok(s) => {
            if s.new {
                let receipt = FreshReceipt {
                    authority_id: j.authority.id,
                    form_id: j.published.form_id,
                    form_version: j.version,
                    citizen_id: owner.citizen_id,
                    browser_hash,
                    receipt_number: s.receipt_number,
                    submitted_at: s.submitted_at,
                    data_hash: hash,
                    data,
                };
                state.fresh_receipts.put(token, receipt);
            }
            Ok(Redirect::to(&receipt_url(j, token)).into_response())
        }
        // Sent twice at the same moment: the other request stored it.
        Err(e) => match state.store.submission_by_token(token).await? {
            Some(_) => Ok(Redirect::to(&receipt_url(j, token)).into_response()),
            None => Err(e.into()),
        },
    }
}

async fn already_submitted(state: &AppState, j: &Journey, token: &str) -> Result<Response, AppError> {
    match state.store.submission_by_token(token).await? {
        Some(s) if s.authority_id == j.authority.id && j.may_access(s.citizen_id, &s.browser_hash) => {
            Ok(Redirect::to(&receipt_url(j, token)).into_response())
        }
        _ => Err(AppError::NotFound),
    }
}

/// The submission of a token, if this citizen or browser may see it.
pub(crate) async fn own_submission(state: &AppState, j: &mut Journey, token: &str) -> Result<SubmissionRow, AppError> {
    let s = state.store.submission_by_token(token).await?.ok_or(AppError::NotFound)?;
    if s.authority_id != j.authority.id
        || s.form_id != j.published.form_id
        || !j.may_access(s.citizen_id, &s.browser_hash)
    {
        return Err(AppError::NotFound);
    }
    j.use_version(state, s.form_version).await?;
    Ok(s)
}

pub(crate) async fn open_data(state: &AppState, s: &SubmissionRow) -> Result<SubmissionData, AppError> {
    let scope = crate::konto::daten::authority_scope(s.authority_id);
    let json = state.keyring.open_text(&state.store, &scope, SUBMISSION, &s.data).await?;
    serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("submission data: {e}")))
}

/// A submission's answers as the receipt shows them: the visible steps with their
/// lines, the computed values (label, amount) and the files.
pub(crate) struct ReceiptAnswers<'f> {
    sections: Vec<(&'f str, Vec<fields::SummaryLine>)>,
    computed: Vec<(&'f str, String)>,
    files: Vec<FileInfo>,
}

impl<'f> ReceiptAnswers<'f> {
    pub(crate) fn new(form: &'f Form, data: &SubmissionData) -> Self {
        let files: Vec<FileInfo> = data
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| FileInfo { id: i as i64, field: f.field.clone(), name: f.name.clone(), size: f.size })
            .collect();
        let answers = &data.answers;
        let sections = visible_steps(form, answers)
            .into_iter()
            .map(|s| (s.title.as_str(), fields::summary(s, answers, &files)))
            .collect();
        let computed = data
            .computed
            .iter()
            .filter_map(|(id, cents)| {
                form.computed.iter().find(|c| &c.id == id).map(|c| (c.label.as_str(), fields::euro_text(*cents)))
            })
            .collect();
        Self { sections, computed, files }
    }

    /// The values the templates (`answers` macro, `eingang_angaben.html`) take:
    /// sections, computed values and files.
    pub(crate) fn into_context(self) -> (Vec<minijinja::Value>, Vec<minijinja::Value>, Vec<FileInfo>) {
        let sections = self.sections.into_iter().map(|(title, lines)| context! { title, lines }).collect();
        let computed = self.computed.into_iter().map(|(label, value)| context! { label, value }).collect();
        (sections, computed, self.files)
    }

    /// The answers as the built-in `antrag/eingang_angaben.html` renders them,
    /// written directly: the template engine's work per value was a twentieth of the
    /// CPU of a whole application under load. Only for the built-in templates (an
    /// operator's override goes through the engine); a test keeps the two identical.
    fn html(&self) -> String {
        use crate::templates::push_escaped;
        use std::fmt::Write as _;
        let mut out = String::with_capacity(2048);
        for (i, (title, lines)) in self.sections.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                out,
                "<section class=\"check-section\" aria-labelledby=\"abschnitt-{n}\">\n  <h3 id=\"abschnitt-{n}\">"
            );
            push_escaped(&mut out, title);
            out.push_str("</h3>\n  <dl class=\"check-list\">");
            for l in lines {
                out.push_str("<div><dt>");
                push_escaped(&mut out, &l.label);
                out.push_str("</dt><dd>");
                push_escaped(&mut out, &l.value);
                out.push_str("</dd></div>");
            }
            out.push_str("</dl>\n</section>\n");
        }
        if !self.computed.is_empty() {
            out.push_str("<h3>Kosten</h3><dl class=\"computed\">");
            for (label, value) in &self.computed {
                out.push_str("<dt>");
                push_escaped(&mut out, label);
                out.push_str("</dt><dd>");
                push_escaped(&mut out, value);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
        out.push('\n');
        if !self.files.is_empty() {
            out.push_str("<h3>Anlagen</h3><ul>");
            for f in &self.files {
                out.push_str("<li>");
                push_escaped(&mut out, &f.name);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        out
    }

    /// The answers as HTML for the receipt page.
    ///
    /// # Errors
    /// When an operator's template fails to render.
    pub(crate) fn render(self, templates: &crate::templates::Templates) -> Result<String, minijinja::Error> {
        if !templates.has_overrides() {
            return Ok(self.html());
        }
        let (sections, computed, files) = self.into_context();
        templates.render("antrag/eingang_angaben.html", context! { sections, computed, files })
    }
}

/// Answers and file list of a submission as the receipt shows them.
pub(crate) fn receipt_view(
    form: &Form,
    data: &SubmissionData,
) -> (Vec<minijinja::Value>, Vec<minijinja::Value>, Vec<FileInfo>) {
    ReceiptAnswers::new(form, data).into_context()
}

/// "24.11.2026, 14:05 Uhr" in German time.
pub(crate) fn when(ms: i64) -> String {
    let tz = crate::pages::berlin();
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz).strftime("%d.%m.%Y, %H:%M Uhr").to_string())
        .unwrap_or_default()
}

/// The receipt page: right after submitting from what the submitting request kept
/// (see `fresh_receipt`), later from the store.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let fresh = state.fresh_receipts.take(&token, |f| {
        f.authority_id == j.authority.id
            && f.form_id == j.published.form_id
            && j.may_access(f.citizen_id, &f.browser_hash)
    });
    let r = match fresh {
        Some(f) => {
            j.use_version(&state, f.form_version).await?;
            let status = j.form.workflow().label(amtsweg_store::submissions::STATUS_RECEIVED, "");
            Receipt {
                number: f.receipt_number,
                submitted_at: f.submitted_at,
                status,
                hash: f.data_hash,
                data: f.data,
                in_account: f.citizen_id.is_some(),
            }
        }
        None => {
            let s = own_submission(&state, &mut j, &token).await?;
            let data = open_data(&state, &s).await?;
            let status = j.form.workflow().label(&s.status, &s.sub_status);
            Receipt {
                number: s.receipt_number,
                submitted_at: s.submitted_at,
                status,
                hash: s.data_hash,
                data,
                in_account: s.citizen_id.is_some(),
            }
        }
    };
    let angaben = ReceiptAnswers::new(&j.form, &r.data).render(&state.templates)?;
    let page = super::receipt_page::render(&state, &j, &headers, &token, &r, angaben)?;
    Ok(super::no_store(axum::response::Html(page).into_response()))
}

/// What the receipt page shows.
pub(super) struct Receipt {
    pub number: String,
    pub submitted_at: i64,
    pub status: String,
    pub hash: String,
    pub data: SubmissionData,
    pub in_account: bool,
}

/// The receipt as PDF/A.
pub(crate) async fn receipt_pdf(
    State(state): State<AppState>,
    mut j: Journey,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let s = own_submission(&state, &mut j, &token).await?;
    pdf_response(&state, &j.authority, &j.form, &s).await
}

pub(crate) async fn pdf_response(
    state: &AppState,
    authority: &amtsweg_domain::Authority,
    form: &Form,
    s: &SubmissionRow,
) -> Result<Response, AppError> {
    let bytes = render_receipt(state, authority, form, s).await?;
    Ok(crate::download::attachment(bytes, &format!("Eingangsbestaetigung-{}.pdf", s.receipt_number), "application/pdf"))
}

/// The receipt of a submission as PDF/A bytes (rendered off the async threads).
pub(crate) async fn render_receipt(
    state: &AppState,
    authority: &amtsweg_domain::Authority,
    form: &Form,
    s: &SubmissionRow,
) -> Result<Vec<u8>, AppError> {
    let data = open_data(state, s).await?;
    let (_, _, files) = receipt_view(form, &data);
    let answers = &data.answers;
    let doc = crate::receipt_pdf::Receipt {
        authority: authority.name.clone(),
        title: s.title.clone(),
        receipt_number: s.receipt_number.clone(),
        submitted: when(s.submitted_at),
        hash: s.data_hash.clone(),
        sections: visible_steps(form, answers)
            .into_iter()
            .map(|st| {
                (
                    st.title.clone(),
                    fields::summary(st, answers, &files).into_iter().map(|l| (l.label, l.value)).collect(),
                )
            })
            .collect(),
        computed: data
            .computed
            .iter()
            .filter_map(|(id, c)| {
                form.computed.iter().find(|x| &x.id == id).map(|x| (x.label.clone(), fields::euro_text(*c)))
            })
            .collect(),
        files: data.files.iter().map(|f| (f.name.clone(), f.size, f.sha256.clone())).collect(),
    };
    tokio::task::spawn_blocking(move || crate::receipt_pdf::render(&doc))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    csrf: String,
    email: String,
}

async fn render_saved(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    d: &amtsweg_store::submissions::ApplicationDraft,
    sent_to: Option<&str>,
    error: Option<String>,
    email: &str,
) -> Result<Response, AppError> {
    let url = j.draft_url(&d.token);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        title => if error.is_some() { "Fehler: Antrag gespeichert" } else { "Antrag gespeichert" },
        in_account => d.citizen_id.is_some(), expires => when(d.expires_at), sent_to, error, email,
        action => format!("{url}gespeichert"), csrf => &d.csrf, continue_url => format!("{url}{}", d.step),
        days => state.config.draft_days,
        ..base(state, j, headers, &format!("{url}gespeichert"), "Antrag gespeichert")
    };
    Ok(super::no_store((status, render_page(state, "antrag/gespeichert.html", ctx)?).into_response()))
}

/// "Saved": in the account, or — without one — with the offer of a resume link.
pub(crate) async fn saved(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    render_saved(&state, &j, &headers, &d, None, None, "").await
}

/// Sends a one-time link to continue the draft on any device.
pub(crate) async fn send_link(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<LinkForm>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    if !session::same_origin(&headers) || !session::tokens_match(&d.csrf, &f.csrf) {
        return Err(AppError::Forbidden);
    }
    let email = match amtsweg_domain::konto::normalize_email(&f.email) {
        Ok(e) => e,
        Err(e) => return render_saved(&state, &j, &headers, &d, None, Some(e.0), &f.email).await,
    };
    let key = format!("resume:{email}");
    if !session::may_try(&state, &key).await? {
        let msg = "An diese Adresse wurden zu viele Links geschickt. Bitte versuchen Sie es in einer Stunde erneut.";
        return render_saved(&state, &j, &headers, &d, None, Some(msg.into()), &f.email).await;
    }
    let secret = session::random_token();
    let link = format!(
        "{}/o/{}/antrag/fortsetzen/{secret}",
        state.config.public_base_url.trim_end_matches('/'),
        j.authority.slug
    );
    let mut tx = state.store.begin().await?;
    tx.record_login_failure(&key, amtsweg_store::now_ms()).await?;
    tx.set_application_draft_resume(&d.token, &session::hash_token(&secret)).await?;
    tx.enqueue_email(&EmailMessage {
        to: email.clone(),
        subject: format!("Ihr Antrag „{}“ wartet auf Sie", j.form.title),
        body: format!(
            "Guten Tag,\n\nSie haben Ihren Antrag „{}“ bei {} gespeichert. Mit diesem Link setzen Sie ihn fort (er gilt einmal; der Antrag wird am {} gelöscht, wenn Sie ihn bis dahin nicht weiter bearbeiten):\n\n{link}\n\nWenn Sie das nicht waren, ignorieren Sie diese E-Mail.\n",
            j.form.title,
            j.authority.name,
            when(d.expires_at)
        ),
    })
    .await?;
    tx.commit().await?;
    render_saved(&state, &j, &headers, &d, Some(&email), None, "").await
}

fn resume_invalid(state: &AppState, headers: &HeaderMap, slug: &str) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = c.authority_by_slug(slug).ok_or(AppError::NotFound)?;
    let base = crate::pages::base_context(state, &c, Some(a), headers, "/", Vec::new());
    let ctx = context! { title => "Link nicht mehr gültig", invalid => true, ..base };
    Ok((StatusCode::NOT_FOUND, render_page(state, "antrag/fortsetzen.html", ctx)?).into_response())
}

/// The page behind an e-mailed resume link: one button (mail scanners that open
/// links must not use it up).
pub async fn resume_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, secret)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some(d) = state.store.application_draft_by_resume(&session::hash_token(&secret)).await? else {
        return resume_invalid(&state, &headers, &slug);
    };
    let c = state.catalogue();
    let a = c.authority_by_slug(&slug).filter(|a| a.id == d.authority_id).ok_or(AppError::NotFound)?;
    if d.expires_at < amtsweg_store::now_ms() {
        return resume_invalid(&state, &headers, &slug);
    }
    let base = crate::pages::base_context(&state, &c, Some(a), &headers, "/", Vec::new());
    let ctx = context! { title => "Antrag fortsetzen", invalid => false, action => format!("/o/{slug}/antrag/fortsetzen/{secret}"), ..base };
    let mut r = super::no_store(render_page(&state, "antrag/fortsetzen.html", ctx)?.into_response());
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(r)
}

/// Uses the resume link: the draft now belongs to this browser.
pub async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, secret)): Path<(String, String)>,
) -> Result<Response, AppError> {
    if !session::same_origin(&headers) {
        return Err(AppError::Forbidden);
    }
    let hash = session::hash_token(&secret);
    let Some(d) = state.store.application_draft_by_resume(&hash).await? else {
        return resume_invalid(&state, &headers, &slug);
    };
    let c = state.catalogue();
    let a = c.authority_by_slug(&slug).filter(|a| a.id == d.authority_id).ok_or(AppError::NotFound)?;
    let form = c.form_by_id(a.id, d.form_id).ok_or(AppError::NotFound)?;
    let browser = session::cookie_value(&headers, super::DRAFT_COOKIE)
        .filter(|v| v.len() == 43)
        .map_or_else(session::random_token, str::to_owned);
    let mut tx = state.store.begin().await?;
    let ok = tx.rebind_application_draft(&d.token, &hash, &session::hash_token(&browser)).await?;
    tx.commit().await?;
    if !ok {
        return resume_invalid(&state, &headers, &slug);
    }
    let to = format!("/o/{slug}/antrag/{}/{}/{}", form.slug, d.token, d.step);
    Ok(super::with_browser_cookie(&state, Redirect::to(&to).into_response(), &browser))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

/// Discards a draft with its files.
pub(crate) async fn discard(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<CsrfOnly>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    if !session::same_origin(&headers) || !session::tokens_match(&d.csrf, &f.csrf) {
        return Err(AppError::Forbidden);
    }
    let mut tx = state.store.begin().await?;
    let keys = tx.delete_application_draft(&d.token).await?;
    tx.commit().await?;
    for k in keys {
        let _ = state.objects.delete(&object_store::path::Path::from(k)).await;
    }
    let url = j.base_url();
    let ctx =
        context! { title => "Antrag verworfen", start => url, ..base(&state, &j, &headers, &url, "Antrag verworfen") };
    Ok(render_page(&state, "antrag/verworfen.html", ctx)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T",
            "steps": [
                {"id": "a", "title": "Person & <Anschrift>", "items": [
                    {"item": "field", "id": "name", "label": "Name", "type": "text"},
                    {"item": "field", "id": "leer", "label": "Zusatz", "type": "text"},
                    {"item": "group", "id": "kinder", "label": "Kind", "repeat": {"min": 0, "max": 3}, "fields": [
                        {"item": "field", "id": "name", "label": "Name", "type": "text"}]}
                ]},
                {"id": "b", "title": "Nachweis", "items": [
                    {"item": "field", "id": "datei", "label": "Nachweis", "type": "file", "accept": ["pdf"], "max_bytes": 1000}
                ]}
            ],
            "computed": [{"id": "gebuehr", "label": "Gebühr \"neu\"", "expr": {"cents": 2600}}]
        }))
        .unwrap()
    }

    fn data(with_extras: bool) -> SubmissionData {
        let mut answers = Answers::new();
        answers.insert("name".into(), Answer::One("Erika <b>Müller</b> & Söhne".into()));
        answers.insert(
            "kinder".into(),
            Answer::Rows(vec![[("name".to_owned(), Answer::One("Ida \"Ida\"".into()))].into_iter().collect()]),
        );
        if with_extras {
            answers.insert("datei".into(), Answer::One("datei:0".into()));
        }
        SubmissionData {
            form: "t".into(),
            version: 1,
            answers,
            computed: if with_extras { vec![("gebuehr".into(), 2600)] } else { Vec::new() },
            files: if with_extras {
                vec![SubmittedFile {
                    field: "datei".into(),
                    name: "Nachweis <1>.pdf".into(),
                    size: 10,
                    sha256: String::new(),
                }]
            } else {
                Vec::new()
            },
        }
    }

    #[test]
    fn answers_written_directly_equal_the_built_in_template() {
        let templates = crate::templates::Templates::new(None).unwrap();
        let form = form();
        for with_extras in [true, false] {
            let d = data(with_extras);
            let direct = ReceiptAnswers::new(&form, &d).html();
            let (sections, computed, files) = ReceiptAnswers::new(&form, &d).into_context();
            let engine =
                templates.render("antrag/eingang_angaben.html", context! { sections, computed, files }).unwrap();
            assert_eq!(direct, engine);
            assert!(direct.contains("Erika &lt;b&gt;Müller&lt;/b&gt; &amp; Söhne"), "{direct}");
            assert!(direct.contains("Keine Angabe"), "{direct}");
            assert_eq!(direct.contains("Nachweis &lt;1&gt;.pdf"), with_extras, "{direct}");
            assert_eq!(direct.contains("26,00 €"), with_extras, "{direct}");
        }
    }

    #[test]
    fn an_operators_answers_template_is_used_instead_of_the_direct_writing() {
        let dir = std::env::temp_dir().join(format!("amtsweg-angaben-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("antrag")).unwrap();
        std::fs::write(
            dir.join("antrag/eingang_angaben.html"),
            "{% for s in sections %}<p class=\"eigen\">{{ s.title }}</p>{% endfor %}",
        )
        .unwrap();
        let templates = crate::templates::Templates::new(Some(dir.clone())).unwrap();
        let form = form();
        let html = ReceiptAnswers::new(&form, &data(false)).render(&templates).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(html, "<p class=\"eigen\">Person &amp; &lt;Anschrift&gt;</p><p class=\"eigen\">Nachweis</p>");
        let built_in = crate::templates::Templates::new(None).unwrap();
        assert!(ReceiptAnswers::new(&form, &data(false)).render(&built_in).unwrap().contains("check-section"));
    }
}
