//! The case-worker inbox (`/verwaltung/antraege/`): the submissions of every
//! authority (and org unit) the staff member processes, with filters, sorting and a
//! full-text search; one submission with its answers, files, receipt, history and
//! deliveries; status changes, messages and questions to the citizen, notes,
//! assignment and due dates. Every look at a submission is in the audit log.

use super::{StaffContext, base};
use crate::AppState;
use crate::antrag::{pdf_response, receipt_view};
use crate::audit::audit;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::konto::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS};
use amtsweg_portal::casework::{self, Actor, Case, Outgoing};
use amtsweg_portal::submission::open_data;
use amtsweg_portal::time::when;
use amtsweg_store::casework::{InboxFilter, InboxSort};
use amtsweg_store::submissions::SubmissionRow;
use axum::Form;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// How many submissions the inbox reads for one page (and searches through).
const INBOX_WINDOW: u64 = 2_000;
const PAGE_SIZE: usize = 50;

/// The authorities whose applications this person processes.
fn case_authorities(state: &AppState, staff: &StaffContext) -> Vec<i64> {
    staff.perms.case_authority_ids().unwrap_or_else(|| state.catalogue().authorities.iter().map(|a| a.id).collect())
}

/// Records a look at (or a change of) a submission in the audit log.
async fn audit_case(
    state: &AppState,
    staff: &StaffContext,
    case: &Case,
    action: &str,
    target: &str,
) -> Result<(), AppError> {
    audit(
        state,
        &staff.actor(),
        Some(case.row.authority_id),
        action,
        &format!("submission:{}{target}", case.row.id),
        "success",
    )
    .await
}

fn actor(staff: &StaffContext) -> Actor {
    Actor { name: staff.user.display_name.clone(), audit: staff.actor() }
}

/// Submission `id` if this person may process it (404 otherwise — whether it
/// exists elsewhere is not revealed).
async fn case_for(state: &AppState, staff: &StaffContext, id: i64) -> Result<Case, AppError> {
    let ids = case_authorities(state, staff);
    let row = state.store.submission_in(&ids, id).await?.ok_or(AppError::NotFound)?;
    if !staff.perms.can_work_cases(row.authority_id, row.org_unit_id) {
        return Err(AppError::NotFound);
    }
    Ok(casework::open_case(&state.portal, row.authority_id, id).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    behoerde: String,
    stand: String,
    formular: String,
    stelle: String,
    zugewiesen: String,
    q: String,
    sortierung: String,
    seite: usize,
}

fn status_label(state: &AppState, row: &SubmissionRow) -> String {
    let form = state.catalogue().form_by_id(row.authority_id, row.form_id);
    form.map_or_else(
        || amtsweg_forms::Workflow::default().label(&row.status, &row.sub_status),
        |f| f.form.workflow().label(&row.status, &row.sub_status),
    )
}

/// Whether `needle` (lower case) is in the submission's number, title or answers.
async fn matches(state: &AppState, row: &SubmissionRow, needle: &str) -> bool {
    if row.receipt_number.to_lowercase().contains(needle) || row.title.to_lowercase().contains(needle) {
        return true;
    }
    // Answers are sealed: the search opens them in memory, never writes an index of
    // personal data to disk.
    match open_data(&state.portal, row).await {
        Ok(d) => serde_json::to_string(&d.answers).is_ok_and(|j| j.to_lowercase().contains(needle)),
        Err(_) => false,
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Query(f): Query<Filter>,
) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let mut ids = case_authorities(&state, &staff);
    if ids.is_empty() {
        return Err(AppError::Forbidden);
    }
    if let Some(a) = catalogue.authority_by_slug(&f.behoerde).filter(|a| ids.contains(&a.id)) {
        ids = vec![a.id];
    }
    let filter = InboxFilter {
        authority_ids: ids.clone(),
        status: match f.stand.as_str() {
            "" | "offen" | "alle" => None,
            s => Some(s.to_owned()),
        },
        exclude_status: if f.stand.is_empty() || f.stand == "offen" {
            vec!["abgeschlossen".into(), "zurueckgezogen".into()]
        } else {
            Vec::new()
        },
        form_id: f.formular.parse().ok(),
        org_unit_id: f.stelle.parse().ok(),
        assignee: match f.zugewiesen.as_str() {
            "ich" => Some(Some(staff.user.id)),
            "niemand" => Some(None),
            _ => None,
        },
        sort: match f.sortierung.as_str() {
            "alt" => InboxSort::OldestFirst,
            "frist" => InboxSort::DueFirst,
            _ => InboxSort::NewestFirst,
        },
        limit: INBOX_WINDOW,
    };
    let needle = f.q.trim().to_lowercase();
    let mut rows = Vec::new();
    for row in state.store.inbox(&filter).await? {
        // Org-unit scoped case workers see their unit's applications only.
        if !staff.perms.can_work_cases(row.authority_id, row.org_unit_id) {
            continue;
        }
        if !needle.is_empty() && !matches(&state, &row, &needle).await {
            continue;
        }
        rows.push(row);
    }
    let total = rows.len();
    let page = f.seite.max(1);
    let today = crate::render::now_local().date().to_string();
    let mut names = std::collections::HashMap::new();
    let mut shown = Vec::new();
    for r in rows.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let assignee = match r.assignee_id {
            Some(id) => {
                if let std::collections::hash_map::Entry::Vacant(e) = names.entry(id) {
                    e.insert(state.store.staff_by_id(id).await?.map(|u| u.display_name).unwrap_or_default());
                }
                names.get(&id).cloned()
            }
            None => None,
        };
        shown.push(context! {
            id => r.id, receipt_number => &r.receipt_number, title => &r.title,
            authority => catalogue.authority(r.authority_id).map(|a| a.name.clone()),
            status => status_label(&state, r), submitted => when(r.submitted_at),
            due => &r.due_on, overdue => !r.due_on.is_empty() && r.due_on < today, assignee,
        });
    }
    let authorities: Vec<Value> = catalogue
        .authorities
        .iter()
        .filter(|a| case_authorities(&state, &staff).contains(&a.id))
        .map(|a| context! { slug => a.slug.as_str(), name => &a.name })
        .collect();
    let forms: Vec<Value> = catalogue
        .all_forms()
        .filter(|p| ids.contains(&p.authority_id))
        .map(|p| context! { id => p.form_id, title => &p.form.title })
        .collect();
    let units: Vec<Value> = ids
        .iter()
        .flat_map(|id| catalogue.org_units_of(*id).iter())
        .map(|u| context! { id => u.id, name => &u.name })
        .collect();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let query = |p: usize| {
        format!(
            "?behoerde={}&stand={}&formular={}&stelle={}&zugewiesen={}&q={}&sortierung={}&seite={p}",
            super::urlencode(&f.behoerde),
            super::urlencode(&f.stand),
            super::urlencode(&f.formular),
            super::urlencode(&f.stelle),
            super::urlencode(&f.zugewiesen),
            super::urlencode(f.q.trim()),
            super::urlencode(&f.sortierung),
        )
    };
    let ctx = context! {
        rows => shown, total, page, pages,
        prev => (page > 1).then(|| query(page - 1)), next => (page < pages).then(|| query(page + 1)),
        f => context! {
            behoerde => &f.behoerde, stand => &f.stand, formular => &f.formular, stelle => &f.stelle,
            zugewiesen => &f.zugewiesen, q => f.q.trim(), sortierung => &f.sortierung,
        },
        authorities, forms, units, truncated => total >= INBOX_WINDOW as usize,
        ..base(&state, Some(&staff), uri.path())
    };
    let mut r = render_page(&state, "verwaltung/antraege.html", ctx)?.into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn render_case(
    state: &AppState,
    staff: &StaffContext,
    case: &Case,
    error: Option<(&str, String)>,
    typed: &Typed,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let s = &case.row;
    let data = open_data(&state.portal, s).await?;
    let (sections, computed, files) = receipt_view(&case.form, &data);
    let workflow = case.form.workflow();
    let mut transitions = Vec::new();
    for next in workflow.next_of(&s.status) {
        if next.outcomes.is_empty() {
            transitions.push(context! { value => &next.id, label => &next.label, asks => next.asks_citizen });
        } else {
            for o in &next.outcomes {
                transitions.push(context! {
                    value => format!("{}|{}", next.id, o.id), label => format!("{}: {}", next.label, o.label), asks => false,
                });
            }
        }
    }
    let mut history = Vec::new();
    for e in state.store.submission_events(s.id).await? {
        history.push(context! {
            kind => &e.kind, status => workflow.label(&e.status, &e.sub_status), actor => &e.actor,
            when => when(e.created_at), public => e.is_public(),
            lines => casework::open_text(&state.portal, s.authority_id, &e.body).await.lines().map(str::to_owned).collect::<Vec<_>>(),
        });
    }
    let catalogue = state.catalogue();
    let mut deliveries = Vec::new();
    let connectors = state.store.connectors_of(s.authority_id).await?;
    for d in state.store.deliveries_of(s.authority_id, s.id).await? {
        let c = connectors.iter().find(|c| c.id == d.connector_id);
        deliveries.push(context! {
            id => d.id, target => c.map(|c| c.name.clone()), kind => c.map(|c| c.kind.clone()),
            status => delivery_label(&d), attempts => d.attempts, error => &d.last_error,
            reference => &d.reference, delivered => d.delivered_at.map(when),
            next => (d.status == "pending").then(|| when(d.next_attempt_at)),
        });
    }
    let workers: Vec<Value> = state
        .store
        .case_workers_of(s.authority_id)
        .await?
        .into_iter()
        .map(|(id, name)| context! { id, name, selected => s.assignee_id == Some(id) })
        .collect();
    let (error_field, error) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let ctx = context! {
        title => format!("{} – {}", s.title, s.receipt_number),
        s => context! {
            id => s.id, title => &s.title, receipt_number => &s.receipt_number, hash => &s.data_hash,
            submitted => when(s.submitted_at), status => workflow.label(&s.status, &s.sub_status),
            status_at => when(s.status_at), due => &s.due_on, has_account => s.citizen_id.is_some(),
            is_final => workflow.state(&s.status).is_some_and(|st| st.is_final),
        },
        authority => &case.authority.name, org_unit => s.org_unit_id.and_then(|u| catalogue.org_unit(s.authority_id, u)).map(|u| u.name.clone()),
        sections, computed, files, transitions, history, deliveries, workers,
        error, error_field, typed => context! { status => &typed.status, text => &typed.text, note => &typed.note },
        notice, max_files => MAX_ATTACHMENTS, max_mb => MAX_ATTACHMENT_BYTES / 1024 / 1024,
        ..base(state, Some(staff), "/verwaltung/antraege/")
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut r = (status, render_page(state, "verwaltung/antrag.html", ctx)?).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

/// "zugestellt", "ausstehend", "fehlgeschlagen (wird wiederholt)", "aufgegeben".
pub(crate) fn delivery_label(d: &amtsweg_store::handoff::DeliveryRow) -> &'static str {
    match (d.status.as_str(), d.attempts) {
        ("delivered", _) => "zugestellt",
        ("dead", _) => "aufgegeben – bitte prüfen und erneut senden",
        (_, 0) => "ausstehend",
        _ => "fehlgeschlagen, wird wiederholt",
    }
}

#[derive(Debug, Default)]
struct Typed {
    status: String,
    text: String,
    note: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    hinweis: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "stand" => Some("Der Bearbeitungsstand ist geändert."),
        "nachricht" => Some("Die Nachricht ist im Postfach der antragstellenden Person."),
        "notiz" => Some("Die Notiz ist gespeichert."),
        "zuweisung" => Some("Zuständigkeit und Frist sind gespeichert."),
        "erneut" => Some("Die Übergabe wird erneut versucht."),
        _ => None,
    }
}

pub async fn detail(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    audit_case(&state, &staff, &case, "submission.view", "").await?;
    render_case(&state, &staff, &case, None, &Typed::default(), notice_text(&n.hinweis)).await
}

pub async fn pdf(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    audit_case(&state, &staff, &case, "submission.receipt", "").await?;
    pdf_response(&state, &case.authority, &case.form, &case.row).await
}

/// One attached file, by its position in the submission (as the page lists them).
pub async fn file(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((id, index)): Path<(i64, usize)>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let f = state.store.submission_files(id).await?.into_iter().nth(index).ok_or(AppError::NotFound)?;
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, case.row.authority_id, &f.object_key).await?;
    let name = amtsweg_portal::drafts::open_file_name(&state.portal, case.row.authority_id, &f.file_name).await;
    audit_case(&state, &staff, &case, "submission.file", &format!("/file:{}", f.id)).await?;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}

struct Posted {
    csrf: String,
    status: String,
    text: String,
    files: Vec<(String, Vec<u8>)>,
    problem: Option<String>,
}

async fn read_posted(state: &AppState, request: Request) -> Result<Posted, AppError> {
    let mut mp = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte senden Sie das Formular der Seite.".into()))?;
    let unreadable =
        |_| AppError::BadRequest("Die Eingabe kam unvollständig an. Bitte senden Sie sie noch einmal.".into());
    let mut p =
        Posted { csrf: String::new(), status: String::new(), text: String::new(), files: Vec::new(), problem: None };
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => p.csrf = field.text().await.map_err(unreadable)?,
            Some("stand") => p.status = field.text().await.map_err(unreadable)?,
            Some("text") => p.text = field.text().await.map_err(unreadable)?,
            Some("anhang") => {
                let name = field.file_name().unwrap_or_default().trim().to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                        p.problem = Some(format!("„{name}“ ist größer als {} MB.", MAX_ATTACHMENT_BYTES / 1024 / 1024));
                        // Keep reading the text fields that may follow.
                        bytes.clear();
                        while field.chunk().await.map_err(unreadable)?.is_some() {}
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if p.files.len() == MAX_ATTACHMENTS {
                    p.problem = Some(format!("Bitte hängen Sie höchstens {MAX_ATTACHMENTS} Dateien an."));
                    continue;
                }
                if p.problem.is_none() {
                    p.files.push((name, bytes));
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

/// A status change, with an optional message (required for a question) and files
/// such as the decision (Bescheid) for the citizen's Postfach.
pub async fn change_status(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let p = read_posted(&state, request).await?;
    staff.check_form(&headers, &p.csrf)?;
    let typed = Typed { status: p.status.clone(), text: p.text.clone(), note: String::new() };
    if let Some(problem) = p.problem {
        return render_case(&state, &staff, &case, Some(("stand", problem)), &typed, None).await;
    }
    if p.status.is_empty() {
        let m = "Bitte wählen Sie den neuen Bearbeitungsstand.".to_owned();
        return render_case(&state, &staff, &case, Some(("stand", m)), &typed, None).await;
    }
    let (to, outcome) = p.status.split_once('|').unwrap_or((p.status.as_str(), ""));
    let out = Outgoing { text: p.text.clone(), files: p.files };
    match casework::change_status(&state.portal, &case, to, outcome, &out, &actor(&staff)).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=stand")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("stand", m)), &typed, None).await,
    }
}

/// A message to the citizen without a change of status.
pub async fn message(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let p = read_posted(&state, request).await?;
    staff.check_form(&headers, &p.csrf)?;
    let typed = Typed { status: String::new(), text: p.text.clone(), note: String::new() };
    if let Some(problem) = p.problem {
        return render_case(&state, &staff, &case, Some(("nachricht", problem)), &typed, None).await;
    }
    let out = Outgoing { text: p.text.clone(), files: p.files };
    match casework::message(&state.portal, &case, &out, &actor(&staff)).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=nachricht")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("nachricht", m)), &typed, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NoteForm {
    csrf: String,
    notiz: String,
}

pub async fn note(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<NoteForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    match casework::note(&state.portal, &case, &f.notiz, &actor(&staff)).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=notiz")).into_response()),
        Err(m) => {
            let typed = Typed { note: f.notiz.clone(), ..Typed::default() };
            render_case(&state, &staff, &case, Some(("notiz", m)), &typed, None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    csrf: String,
    bearbeitung: String,
    frist: String,
}

pub async fn assign(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<AssignForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let authority_id = case.row.authority_id;
    let assignee = match f.bearbeitung.as_str() {
        "" => None,
        "ich" => Some(staff.user.id),
        other => match other.parse::<i64>() {
            Ok(uid) if state.store.case_workers_of(authority_id).await?.iter().any(|(w, _)| *w == uid) => Some(uid),
            _ => {
                let m = "Diese Person bearbeitet keine Anträge dieser Behörde.".to_owned();
                return render_case(&state, &staff, &case, Some(("bearbeitung", m)), &Typed::default(), None).await;
            }
        },
    };
    // Stored as YYYY-MM-DD (sorts as text); typed as the browser sends it or as
    // Germans write it.
    let due = match f.frist.trim() {
        "" => String::new(),
        typed => match amtsweg_forms::Date::parse(typed) {
            Some(d) => d.to_string(),
            None => {
                let m = "Bitte geben Sie die Frist als Datum an, zum Beispiel 31.12.2026.".to_owned();
                return render_case(&state, &staff, &case, Some(("frist", m)), &Typed::default(), None).await;
            }
        },
    };
    let due = due.as_str();
    let mut tx = state.store.begin().await?;
    tx.assign_submission(authority_id, id, assignee).await?;
    tx.set_submission_due(authority_id, id, due).await?;
    let who = match assignee {
        Some(uid) => state.store.staff_by_id(uid).await?.map(|u| u.display_name).unwrap_or_default(),
        None => "niemand".into(),
    };
    let text = casework::seal_text(
        &state.portal,
        authority_id,
        &format!("Bearbeitung: {who}; Frist: {}", if due.is_empty() { "keine" } else { due }),
    )
    .await?;
    let e = amtsweg_store::casework::NewEvent {
        kind: "assign",
        status: &case.row.status,
        sub_status: &case.row.sub_status,
        body: &text,
        public: false,
        actor: &staff.user.display_name,
    };
    tx.add_event(id, &e).await?;
    tx.commit().await?;
    audit_case(&state, &staff, &case, "submission.assign", "").await?;
    Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=zuweisung")).into_response())
}

/// Sends one delivery again (after a dead letter, or on request of the office).
pub async fn resend(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((id, delivery)): Path<(i64, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let authority_id = case.row.authority_id;
    if !state.store.deliveries_of(authority_id, id).await?.iter().any(|d| d.id == delivery) {
        return Err(AppError::NotFound);
    }
    let mut tx = state.store.begin().await?;
    tx.resend_delivery(authority_id, delivery).await?;
    tx.commit().await?;
    audit(&state, &staff.actor(), Some(authority_id), "delivery.resend", &format!("delivery:{delivery}"), "success")
        .await?;
    Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=erneut#zustellung")).into_response())
}
