//! The Postfach: threads with authorities, messages with attachments and read state,
//! replies by the citizen (with attachments, checked by content and size while
//! streaming). Every query names the signed-in citizen; someone else's thread or
//! attachment is simply not found.

use super::{CitizenContext, base};
use crate::AppState;
use crate::audit::audit;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::konto::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS};
use amtsweg_portal::keyring::record;
use amtsweg_portal::postfach;
use amtsweg_portal::time::berlin_time;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

fn authority_name(state: &AppState, id: i64) -> String {
    state.catalogue().authority(id).map_or_else(|| "Behörde".to_owned(), |a| a.name.clone())
}

pub async fn list(State(state): State<AppState>, me: CitizenContext, uri: Uri) -> Result<Response, AppError> {
    let mut threads = Vec::new();
    for t in state.store.threads(me.citizen.id).await? {
        let messages = state.store.messages(me.citizen.id, t.id).await?;
        let unread = messages.iter().filter(|m| m.is_to_citizen() && m.read_at.is_none()).count();
        let subject =
            postfach::open_text(&state.portal, t.authority_id, "subject", &record::citizen(t.citizen_id), &t.subject)
                .await;
        threads.push(context! {
            id => t.id, subject, authority => authority_name(&state, t.authority_id),
            when => berlin_time(t.updated_at), unread, count => messages.len(),
        });
    }
    let ctx = context! { threads, ..base(&state, Some(&me), uri.path()) };
    let mut r = render_page(&state, "konto/postfach.html", ctx)?.into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

async fn render_thread(
    state: &AppState,
    me: &CitizenContext,
    thread_id: i64,
    typed: &str,
    error: Option<String>,
    sent: bool,
    mark_read: bool,
) -> Result<Response, AppError> {
    let t = state.store.thread(me.citizen.id, thread_id).await?.ok_or(AppError::NotFound)?;
    let subject =
        postfach::open_text(&state.portal, t.authority_id, "subject", &record::citizen(t.citizen_id), &t.subject).await;
    let attachments = state.store.attachments(me.citizen.id, thread_id).await?;
    let mut messages: Vec<Value> = Vec::new();
    for m in state.store.messages(me.citizen.id, thread_id).await? {
        let mut files: Vec<Value> = Vec::new();
        for a in attachments.iter().filter(|a| a.message_id == m.id) {
            let name = postfach::open_text(
                &state.portal,
                t.authority_id,
                "file_name",
                &record::object(&a.object_key),
                &a.file_name,
            )
            .await;
            files.push(context! { id => a.id, name, kb => (a.size + 1023) / 1024 });
        }
        let body =
            postfach::open_text(&state.portal, t.authority_id, "message", &record::citizen(t.citizen_id), &m.body)
                .await;
        messages.push(context! {
            from => if m.is_to_citizen() { m.sender.clone() } else { "Sie".to_owned() },
            to_citizen => m.is_to_citizen(), unread => m.is_to_citizen() && m.read_at.is_none(),
            when => berlin_time(m.created_at), lines => body.lines().map(str::to_owned).collect::<Vec<_>>(), files,
        });
    }
    // Opening the thread is reading it — when the citizen opened it, not when another
    // site sent the browser here (Sec-Fetch-Site: cross-site).
    if mark_read {
        let mut tx = state.store.begin().await?;
        tx.mark_thread_read(me.citizen.id, thread_id).await?;
        tx.commit().await?;
    }
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        id => t.id, subject, authority => authority_name(state, t.authority_id), messages,
        typed, error, sent, max_files => MAX_ATTACHMENTS, max_mb => MAX_ATTACHMENT_BYTES / 1024 / 1024,
        ..base(state, Some(me), "/konto/postfach/")
    };
    let mut r = (status, render_page(state, "konto/nachricht.html", ctx)?).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

pub async fn thread(
    State(state): State<AppState>,
    me: CitizenContext,
    headers: HeaderMap,
    Path(thread_id): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let mark_read = !matches!(site, Some("cross-site" | "same-site"));
    render_thread(&state, &me, thread_id, "", None, n.hinweis.as_deref() == Some("gesendet"), mark_read).await
}

struct Upload {
    csrf: String,
    body: String,
    files: Vec<(String, Vec<u8>)>,
    /// The first problem met while reading (too many or too big files).
    problem: Option<String>,
}

async fn read_reply(mut mp: Multipart) -> Result<Upload, AppError> {
    let unreadable =
        |_| AppError::BadRequest("Die Nachricht kam unvollständig an. Bitte senden Sie sie noch einmal.".into());
    let mut up = Upload { csrf: String::new(), body: String::new(), files: Vec::new(), problem: None };
    while let Some(mut field) = mp.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("csrf") => up.csrf = field.text().await.map_err(unreadable)?,
            Some("text") => up.body = field.text().await.map_err(unreadable)?,
            Some("anhang") => {
                let name = field.file_name().unwrap_or_default().trim().to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    if bytes.len() + chunk.len() > MAX_ATTACHMENT_BYTES {
                        up.problem =
                            Some(format!("„{name}“ ist größer als {} MB.", MAX_ATTACHMENT_BYTES / 1024 / 1024));
                        return Ok(up);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // A file input left empty arrives as a part without name and bytes.
                if name.is_empty() && bytes.is_empty() {
                    continue;
                }
                if up.files.len() == MAX_ATTACHMENTS {
                    up.problem = Some(format!("Bitte hängen Sie höchstens {MAX_ATTACHMENTS} Dateien an."));
                    return Ok(up);
                }
                up.files.push((name, bytes));
            }
            _ => {}
        }
    }
    Ok(up)
}

/// A reply of the citizen, with attachments (`multipart/form-data`).
pub async fn reply(
    State(state): State<AppState>,
    me: CitizenContext,
    headers: HeaderMap,
    Path(thread_id): Path<i64>,
    request: Request,
) -> Result<Response, AppError> {
    // Another's thread is not found before anything is read.
    state.store.thread(me.citizen.id, thread_id).await?.ok_or(AppError::NotFound)?;
    let mp = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte senden Sie die Antwort über das Formular.".into()))?;
    let up = read_reply(mp).await?;
    me.check_form(&headers, &up.csrf)?;
    if let Some(problem) = up.problem.clone() {
        return render_thread(&state, &me, thread_id, &up.body, Some(problem), false, true).await;
    }
    let authority =
        match amtsweg_portal::casework::reply(&state.portal, me.citizen.id, thread_id, &up.body, &up.files).await? {
            Ok(authority) => authority,
            Err(problem) => return render_thread(&state, &me, thread_id, &up.body, Some(problem), false, true).await,
        };
    audit(&state, &me.actor(), Some(authority), "postfach.reply", &format!("thread:{thread_id}"), "success").await?;
    Ok(Redirect::to(&format!("/konto/postfach/{thread_id}?hinweis=gesendet")).into_response())
}

/// Downloads one of the citizen's attachments — always as a download, never shown
/// inline, so a file can never run as a page of this site.
pub async fn attachment(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (file_name, content_type, bytes) = postfach::attachment(&state.portal, me.citizen.id, id).await?;
    Ok(crate::download::attachment(bytes, &file_name, &content_type))
}
