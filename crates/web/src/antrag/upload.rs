//! Reading a posted step (URL-encoded, or `multipart/form-data` when it has file
//! fields) and storing uploaded files.
//!
//! Every file is checked before it is kept: the size while it streams in (per field
//! and for the whole application), then name *and* content against the field's
//! allowlist, the image pixel limit, the virus scanner (clamd protocol) when one is
//! configured; images lose their metadata. The bytes are sealed with the authority's
//! data key and stored under the authority's prefix in the object store.

use crate::AppState;
use crate::error::AppError;
use amtsweg_forms::{Item, Kind, Step};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;

pub use amtsweg_portal::files::{CheckedFile, PostedFile, Verdict, check, scan};

/// A posted step: its inputs, its files, and problems met while reading.
#[derive(Debug, Default)]
pub struct Posted {
    pub pairs: Vec<(String, String)>,
    pub files: Vec<PostedFile>,
    /// (field id, message) for files refused while streaming (too big).
    pub problems: Vec<(String, String)>,
}

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn file_fields(step: &Step) -> Vec<(&str, u64)> {
    step.items
        .iter()
        .filter_map(|i| match i {
            Item::Field(f) => match &f.kind {
                Kind::File { max_bytes, .. } => Some((f.id.as_str(), *max_bytes)),
                _ => None,
            },
            Item::Group(_) => None,
        })
        .collect()
}

/// Reads the request body of a step. `room` is how many bytes of files this
/// application may still take (the cap per submission).
///
/// # Errors
/// When the body is not a form or arrives broken.
pub async fn read(state: &AppState, request: Request, step: &Step, room: u64) -> Result<Posted, AppError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // The number and size of the inputs are capped per step (`input_limits`).
    let input_limits = super::input_limits::InputLimits::of(step);
    if !is_multipart {
        let pairs = super::input_limits::read_urlencoded(request, input_limits).await?;
        return Ok(Posted { pairs, ..Posted::default() });
    }
    let client =
        crate::limits::Client::of(request.headers(), request.extensions(), &state.config.limits.trusted_proxies);
    let (room, quota) = quota_room(state, request.headers(), &client, step, room).await?;
    let unreadable = |_: axum::extract::multipart::MultipartError| {
        AppError::BadRequest("Die Angaben kamen unvollständig an. Bitte senden Sie sie noch einmal.".into())
    };
    let mut mp = Multipart::from_request(request, state).await.map_err(|_| {
        AppError::BadRequest("Die Angaben kamen unvollständig an. Bitte senden Sie sie noch einmal.".into())
    })?;
    let limits = file_fields(step);
    let mut posted = Posted::default();
    let mut room = room;
    let mut budget = super::input_limits::Budget::new(input_limits);
    while let Some(mut part) = mp.next_field().await.map_err(unreadable)? {
        budget.part()?;
        let name = part.name().unwrap_or_default().to_owned();
        let file_field = name.strip_prefix("f.").and_then(|id| limits.iter().find(|(f, _)| *f == id)).copied();
        let Some((field, max_bytes)) = file_field else {
            if part.file_name().is_some() {
                // A file where the step asks for none: read it away, report it.
                while part.chunk().await.map_err(unreadable)?.is_some() {}
                posted.pairs.push((name, String::new()));
                continue;
            }
            let text = budget.text(&mut part).await?;
            posted.pairs.push((name, text));
            continue;
        };
        let raw_name = part.file_name().unwrap_or_default().trim().to_owned();
        let file_name = sanitize_name(&raw_name);
        let limit = max_bytes.min(room);
        let mut bytes = Vec::new();
        let mut too_big = false;
        while let Some(chunk) = part.chunk().await.map_err(unreadable)? {
            if too_big {
                continue;
            }
            if (bytes.len() + chunk.len()) as u64 > limit {
                too_big = true;
                bytes = Vec::new();
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        // A file input left empty arrives as a part without name and bytes.
        if !too_big && bytes.is_empty() && raw_name.is_empty() {
            continue;
        }
        if too_big {
            let message = if limit < max_bytes
                && let Some(why) = quota
            {
                format!("„{file_name}“ kann nicht mehr angenommen werden: {why}")
            } else if limit < max_bytes {
                format!(
                    "„{file_name}“ passt nicht mehr in diesen Antrag: alle Dateien zusammen dürfen höchstens {} MB groß sein.",
                    state.config.form_files_limit / 1_048_576
                )
            } else {
                format!("„{file_name}“ ist größer als {} MB.", max_bytes.div_ceil(1_048_576))
            };
            posted.problems.push((field.to_owned(), message));
            continue;
        }
        room = room.saturating_sub(bytes.len() as u64);
        posted.files.push(PostedFile { field: field.to_owned(), name: file_name, bytes });
    }
    Ok(posted)
}

/// The room for files of a visitor without an account: the least of `room` (this
/// application's) and what the quotas per client and in total leave
/// (`limits::quotas::file_room`), with the reason to tell when a quota is the
/// smaller. Signed-in citizens and steps without files are not counted.
async fn quota_room(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    client: &crate::limits::Client,
    step: &Step,
    room: u64,
) -> Result<(u64, Option<&'static str>), AppError> {
    if file_fields(step).is_empty()
        || crate::session::current(state, headers, "citizen").await?.is_some_and(|s| s.record.second_factor_done)
    {
        return Ok((room, None));
    }
    let (quota, own) = crate::limits::quotas::file_room(state, client).await?;
    if quota >= room {
        return Ok((room, None));
    }
    let why = if own {
        "Von Ihrem Anschluss wurden schon sehr viele Dateien in Anträge ohne Bürgerkonto geladen. Bitte senden Sie begonnene Anträge ab, verwerfen Sie nicht mehr benötigte, oder melden Sie sich mit Ihrem Bürgerkonto an. Bereits gespeicherte Dateien bleiben erhalten."
    } else {
        "Das Portal kann gerade keine weiteren Dateien für Anträge ohne Bürgerkonto annehmen. Bitte versuchen Sie es später erneut oder melden Sie sich mit Ihrem Bürgerkonto an. Bereits gespeicherte Dateien bleiben erhalten."
    };
    Ok((quota, Some(why)))
}

/// A file name safe to show and to put into `Content-Disposition`.
#[must_use]
pub fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';')).take(120).collect();
    if clean.trim().is_empty() { "Datei".to_owned() } else { clean.trim().to_owned() }
}
