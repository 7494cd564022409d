//! The Postfach: threads with authorities, messages with attachments and read state,
//! replies by the citizen (with attachments, checked by content and size while
//! streaming). Every query names the signed-in citizen; someone else's thread or
//! attachment is simply not found.

use super::daten::{open_postfach_text, seal_postfach};
use super::{CitizenContext, base};
use crate::AppState;
use crate::error::AppError;
use crate::pages::render_page;
use crate::verwaltung::{audit, berlin_time};
use amtsweg_domain::konto::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, check_attachment, check_message};
use amtsweg_store::konto::{Direction, NewAttachment};
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
        let subject = open_postfach_text(&state, t.authority_id, "subject", &t.subject).await;
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
    let subject = open_postfach_text(state, t.authority_id, "subject", &t.subject).await;
    let attachments = state.store.attachments(me.citizen.id, thread_id).await?;
    let mut messages: Vec<Value> = Vec::new();
    for m in state.store.messages(me.citizen.id, thread_id).await? {
        let mut files: Vec<Value> = Vec::new();
        for a in attachments.iter().filter(|a| a.message_id == m.id) {
            let name = open_postfach_text(state, t.authority_id, "file_name", &a.file_name).await;
            files.push(context! { id => a.id, name, kb => (a.size + 1023) / 1024 });
        }
        let body = open_postfach_text(state, t.authority_id, "message", &m.body).await;
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
    let t = state.store.thread(me.citizen.id, thread_id).await?.ok_or(AppError::NotFound)?;
    let mp = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Bitte senden Sie die Antwort über das Formular.".into()))?;
    let up = read_reply(mp).await?;
    me.check_form(&headers, &up.csrf)?;
    let mut problem = up.problem.clone();
    let mut checked = Vec::new();
    if problem.is_none() {
        for (name, bytes) in &up.files {
            match check_attachment(name, bytes) {
                Ok(content_type) => checked.push((name.clone(), content_type, bytes.clone())),
                Err(e) => {
                    problem = Some(e.0);
                    break;
                }
            }
        }
    }
    if problem.is_none()
        && let Err(e) = check_message("Antwort", &up.body)
    {
        problem = Some(e.0);
    }
    if problem.is_some() {
        return render_thread(&state, &me, thread_id, &up.body, problem, false, true).await;
    }
    // Files first, under the authority's prefix; the message row that points at them
    // is written in one transaction afterwards, so a crash leaves at most an orphan
    // file, never a message with a missing attachment.
    let mut stored = Vec::new();
    let keys = (&state.keyring, &state.store);
    for (name, content_type, bytes) in checked {
        let key =
            format!("authorities/{}/postfach/{}/{}", t.authority_id, me.citizen.id, crate::session::random_token());
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let sealed = seal_postfach(keys, t.authority_id, "file", &bytes).await?;
        state
            .objects
            .put(&object_store::path::Path::from(key.as_str()), sealed.into_bytes().into())
            .await
            .map_err(|e| AppError::Objects(e.to_string()))?;
        stored.push(NewAttachment {
            file_name: seal_postfach(keys, t.authority_id, "file_name", sanitize_name(&name).as_bytes()).await?,
            content_type: content_type.to_owned(),
            size,
            object_key: key,
        });
    }
    let body = seal_postfach(keys, t.authority_id, "message", up.body.trim().as_bytes()).await?;
    let mut tx = state.store.begin().await?;
    tx.post_message(
        me.citizen.id,
        t.authority_id,
        Some(thread_id),
        "",
        Direction::FromCitizen,
        "Bürgerin/Bürger",
        &body,
        &stored,
    )
    .await?;
    crate::casework::citizen_replied(&state, &mut tx, me.citizen.id, thread_id).await?;
    tx.commit().await?;
    audit(&state, &me.actor(), Some(t.authority_id), "postfach.reply", &format!("thread:{thread_id}"), "success")
        .await?;
    Ok(Redirect::to(&format!("/konto/postfach/{thread_id}?hinweis=gesendet")).into_response())
}

/// A file name safe to show and to put into `Content-Disposition`.
fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';')).take(120).collect();
    if clean.trim().is_empty() { "Anhang".to_owned() } else { clean }
}

/// Downloads one of the citizen's attachments — always as a download, never shown
/// inline, so a file can never run as a page of this site.
pub async fn attachment(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let a = state.store.attachment(me.citizen.id, id).await?.ok_or(AppError::NotFound)?;
    let authority = state.store.thread_of_message(me.citizen.id, a.message_id).await?.ok_or(AppError::NotFound)?;
    let sealed = match state.objects.get(&object_store::path::Path::from(a.object_key.as_str())).await {
        Ok(r) => r.bytes().await.map_err(|e| AppError::Objects(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Objects(e.to_string())),
    };
    let sealed =
        String::from_utf8(sealed.to_vec()).map_err(|_| AppError::Internal("stored file is not sealed".into()))?;
    let scope = super::daten::authority_scope(authority);
    let bytes = state.keyring.open(&state.store, &scope, "postfach:file", &sealed).await?;
    let file_name = open_postfach_text(&state, authority, "file_name", &a.file_name).await;
    Ok(crate::download::attachment(bytes, &file_name, &a.content_type))
}

/// A message from an authority to a citizen's Postfach.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub citizen_id: i64,
    pub authority_id: i64,
    /// Shown as the sender, e.g. "Stadt Moorbrück, Bürgerbüro".
    pub sender: String,
    pub subject: String,
    pub body: String,
    /// (file name, bytes); checked like the citizen's own attachments.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such citizen account")]
    UnknownCitizen,
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
    #[error("object store: {0}")]
    Objects(#[from] object_store::Error),
    #[error("{0}")]
    Crypto(#[from] crate::crypto::CryptoError),
}

/// A message checked and sealed, its files stored, ready to be written.
pub struct Prepared {
    citizen: amtsweg_store::konto::Citizen,
    authority_id: i64,
    sender: String,
    subject: String,
    body: String,
    attachments: Vec<NewAttachment>,
}

/// Puts a message into a citizen's Postfach and, in the same transaction, queues an
/// e-mail notice that says only that there is a new message, with a link — never
/// its content. Used by the back office, the CLI and tests.
///
/// # Errors
/// Invalid message or attachment, unknown citizen, store or object-store failures.
pub async fn deliver(
    store: &amtsweg_store::Store,
    objects: &dyn object_store::ObjectStore,
    keyring: &crate::crypto::Keyring,
    public_base_url: &str,
    d: &Delivery,
) -> Result<(i64, i64), DeliveryError> {
    let p = prepare(store, objects, keyring, d).await?;
    let mut tx = store.begin().await?;
    let ids = write(&mut tx, &p, None, public_base_url).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Checks and seals a message and stores its files (first, so that a crash leaves
/// at most an orphan file, never a message with a missing attachment).
///
/// # Errors
/// Invalid message or attachment, unknown citizen, store or object-store failures.
pub async fn prepare(
    store: &amtsweg_store::Store,
    objects: &dyn object_store::ObjectStore,
    keyring: &crate::crypto::Keyring,
    d: &Delivery,
) -> Result<Prepared, DeliveryError> {
    check_message(&d.subject, &d.body).map_err(|e| DeliveryError::Invalid(e.0))?;
    if d.attachments.len() > MAX_ATTACHMENTS {
        return Err(DeliveryError::Invalid(format!("höchstens {MAX_ATTACHMENTS} Anhänge")));
    }
    let citizen = store.citizen_by_id(d.citizen_id).await?.ok_or(DeliveryError::UnknownCitizen)?;
    let mut stored = Vec::new();
    for (name, bytes) in &d.attachments {
        let content_type = check_attachment(name, bytes).map_err(|e| DeliveryError::Invalid(e.0))?;
        let key =
            format!("authorities/{}/postfach/{}/{}", d.authority_id, d.citizen_id, crate::session::random_token());
        let sealed = seal_postfach((keyring, store), d.authority_id, "file", bytes).await?;
        objects.put(&object_store::path::Path::from(key.as_str()), sealed.into_bytes().into()).await?;
        stored.push(NewAttachment {
            file_name: seal_postfach((keyring, store), d.authority_id, "file_name", sanitize_name(name).as_bytes())
                .await?,
            content_type: content_type.to_owned(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            object_key: key,
        });
    }
    Ok(Prepared {
        citizen,
        authority_id: d.authority_id,
        sender: d.sender.clone(),
        subject: seal_postfach((keyring, store), d.authority_id, "subject", d.subject.trim().as_bytes()).await?,
        body: seal_postfach((keyring, store), d.authority_id, "message", d.body.trim().as_bytes()).await?,
        attachments: stored,
    })
}

/// Writes a prepared message into `thread` (or a new thread) with its e-mail notice
/// and audit entry, inside the caller's transaction. Returns (thread, message).
///
/// # Errors
/// On store errors, or a thread that is not the citizen's.
pub async fn write(
    tx: &mut amtsweg_store::Tx,
    p: &Prepared,
    thread: Option<i64>,
    public_base_url: &str,
) -> Result<(i64, i64), DeliveryError> {
    let (thread, message) = tx
        .post_message(
            p.citizen.id,
            p.authority_id,
            thread,
            &p.subject,
            Direction::ToCitizen,
            &p.sender,
            &p.body,
            &p.attachments,
        )
        .await?;
    if let Some(email) = p.citizen.email.clone().filter(|_| p.citizen.email_verified) {
        tx.enqueue_email(&amtsweg_store::outbox::EmailMessage {
            to: email,
            subject: "Sie haben eine neue Nachricht in Ihrem Postfach".into(),
            body: format!(
                "Guten Tag,\n\nin Ihrem Bürgerkonto liegt eine neue Nachricht von {}.\nAus Datenschutzgründen steht der Inhalt nicht in dieser E-Mail. Lesen Sie die Nachricht nach der Anmeldung hier:\n\n{}/konto/postfach/{thread}\n",
                p.sender,
                public_base_url.trim_end_matches('/'),
            ),
        })
        .await?;
    }
    tx.append_audit(&amtsweg_domain::audit::AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: format!("authority:{}", p.authority_id),
        authority_id: Some(p.authority_id),
        action: "postfach.deliver".into(),
        target: format!("thread:{thread}"),
        outcome: "success".into(),
    })
    .await?;
    Ok((thread, message))
}
