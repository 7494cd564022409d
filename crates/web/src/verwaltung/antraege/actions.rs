//! What a case worker does with one application: change its status (a final one
//! only when confirmed), reopen a closed one with a reason, write to the citizen,
//! note, assign and set a due date, send a delivery again. An error shows the case
//! page again with what was typed.

use super::case::{Typed, render_case};
use super::{StaffContext, actor, case_for};
use crate::AppState;
use crate::audit::audit;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use amtsweg_domain::konto::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS};
use amtsweg_portal::casework::decisions::{self, Assignee};
use amtsweg_portal::casework::{self, Outgoing};
use axum::Form;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

struct Posted {
    csrf: String,
    status: String,
    text: String,
    /// "ja" when the person confirmed a final decision.
    confirmed: bool,
    files: Vec<(String, Vec<u8>)>,
    problem: Option<String>,
}

async fn read_posted(state: &AppState, request: Request) -> Result<Posted, AppError> {
    let mut mp = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte senden Sie das Formular der Seite.".into()))?;
    let unreadable =
        |_| AppError::BadRequest("Die Eingabe kam unvollständig an. Bitte senden Sie sie noch einmal.".into());
    let mut p = Posted {
        csrf: String::new(),
        status: String::new(),
        text: String::new(),
        confirmed: false,
        files: Vec::new(),
        problem: None,
    };
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => p.csrf = field.text().await.map_err(unreadable)?,
            Some("stand") => p.status = field.text().await.map_err(unreadable)?,
            Some("text") => p.text = field.text().await.map_err(unreadable)?,
            Some("bestaetigt") => p.confirmed = field.text().await.map_err(unreadable)? == "ja",
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
/// such as the decision (Bescheid) for the citizen's Postfach. A final state needs
/// the confirmation checkbox ("bestaetigt=ja"): without it the page comes back
/// naming the consequence, with everything typed.
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
    let typed = Typed { status: p.status.clone(), text: p.text.clone(), ..Typed::default() };
    if let Some(problem) = p.problem {
        return render_case(&state, &staff, &case, Some(("stand", problem)), &typed, None).await;
    }
    if p.status.is_empty() {
        let m = "Bitte wählen Sie den neuen Bearbeitungsstand.".to_owned();
        return render_case(&state, &staff, &case, Some(("stand", m)), &typed, None).await;
    }
    let (to, outcome) = p.status.split_once('|').unwrap_or((p.status.as_str(), ""));
    if let Some(consequence) = decisions::final_consequence(&case, to, outcome)
        && !p.confirmed
    {
        let again = if p.files.is_empty() { "" } else { " Bitte wählen Sie die Dokumente dann noch einmal aus." };
        let m = format!("Bitte bestätigen Sie die Entscheidung. {consequence}{again}");
        return render_case(&state, &staff, &case, Some(("bestaetigen", m)), &typed, None).await;
    }
    let out = Outgoing { text: p.text.clone(), files: p.files };
    match casework::change_status(&state.portal, &case, to, outcome, &out, &actor(&staff)).await? {
        Ok(()) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=stand")).into_response()),
        Err(m) => render_case(&state, &staff, &case, Some(("stand", m)), &typed, None).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReopenForm {
    csrf: String,
    begruendung: String,
}

/// Reopens a closed application with a reason (audited, the citizen informed).
pub async fn reopen(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<ReopenForm>>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    match decisions::reopen(&state.portal, &case, &f.begruendung, &actor(&staff)).await? {
        Ok(_) => Ok(Redirect::to(&format!("/verwaltung/antraege/{id}?hinweis=wieder")).into_response()),
        Err(m) => {
            let typed = Typed { reason: f.begruendung.clone(), ..Typed::default() };
            render_case(&state, &staff, &case, Some(("begruendung", m)), &typed, None).await
        }
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
    let typed = Typed { text: p.text.clone(), ..Typed::default() };
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
    let workers = state.store.case_workers_of(authority_id).await?;
    let to = match f.bearbeitung.as_str() {
        "" => Assignee { id: None, name: "niemand".into() },
        "ich" => Assignee { id: Some(staff.user.id), name: staff.user.display_name.clone() },
        other => match other.parse::<i64>().ok().and_then(|uid| workers.iter().find(|(w, _)| *w == uid)) {
            Some((uid, name)) => Assignee { id: Some(*uid), name: name.clone() },
            None => {
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
    decisions::assign(&state.portal, &[&case], &to, Some(due.as_str()), &actor(&staff)).await?;
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
