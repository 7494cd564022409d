//! How much one posted step may carry, and reading a step's body within that.
//!
//! A step page has a known set of inputs, so its answer has a natural size: the
//! limits here are a few times what its own fields need (never below a floor), so an
//! honest page never comes near them while a forged body — 100,000 unknown fields in
//! one anonymous POST — is refused after a linear scan instead of being parsed and
//! searched for seconds on an async worker. Refusing happens before anything is
//! stored, so the citizen's saved answers stay as they were.

use crate::error::AppError;
use amtsweg_forms::{Field, Item, Kind, Step};
use axum::body::Body;
use axum::extract::Request;
use axum::extract::multipart::Field as Part;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

/// Bytes allowed for an input whose value is short by nature (a date, a choice, an
/// e-mail address, a file's name) — generous, with its name.
const SHORT_INPUT: usize = 1024;
/// A percent-encoded character of four UTF-8 bytes takes twelve bytes on the wire.
const WIRE_BYTES_PER_CHAR: usize = 12;
/// Pairs every step page adds to its fields (CSRF token, form token, button, "back").
const RESERVED_PAIRS: usize = 4;
/// Bodies above this are parsed on a blocking thread, away from the async workers.
const PARSE_INLINE_BYTES: usize = 256 * 1024;

/// The most a posted step may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Name–value pairs: inputs, tokens and buttons.
    pub pairs: usize,
    /// Bytes of a URL-encoded body, or of the text parts of a multipart body.
    pub bytes: usize,
}

impl InputLimits {
    /// Four times the pairs the step's own inputs need plus 16 (at least 64), and
    /// twice their longest possible values plus 16 KiB (at least 64 KiB).
    #[must_use]
    pub fn of(step: &Step) -> Self {
        let (mut pairs, mut bytes) = (RESERVED_PAIRS, RESERVED_PAIRS * SHORT_INPUT);
        for item in &step.items {
            let (p, b) = match item {
                Item::Field(f) => needs(f),
                Item::Group(g) => {
                    let (p, b) = g.fields.iter().map(needs).fold((0, 0), |(p, b), (fp, fb)| (p + fp, b + fb));
                    match g.repeat {
                        // Every row, and the row count.
                        Some(rep) => (p * rep.max as usize + 1, b * rep.max as usize + SHORT_INPUT),
                        None => (p, b),
                    }
                }
            };
            pairs += p;
            bytes += b;
        }
        Self { pairs: (4 * pairs + 16).max(64), bytes: (2 * bytes + 16 * 1024).max(64 * 1024) }
    }
}

/// Pairs and bytes one field's inputs need at most.
fn needs(f: &Field) -> (usize, usize) {
    match &f.kind {
        Kind::Info { .. } => (0, 0),
        Kind::Text { max_len } | Kind::LongText { max_len } => {
            (1, (*max_len as usize).saturating_mul(WIRE_BYTES_PER_CHAR) + SHORT_INPUT)
        }
        Kind::Address { .. } => (3, 3 * SHORT_INPUT),
        Kind::Checkboxes { options, .. } => (options.len(), options.len() * SHORT_INPUT),
        _ => (1, SHORT_INPUT),
    }
}

/// Why a posted step is refused unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooManyInputs,
    TooLarge,
}

impl Refusal {
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::TooManyInputs => {
                "Diese Seite hat viel mehr Angaben erhalten, als sie Eingabefelder hat. Deshalb wurde nichts übernommen; was Sie vorher gespeichert haben, bleibt erhalten. Bitte öffnen Sie die Seite neu und senden Sie sie noch einmal."
            }
            Self::TooLarge => {
                "Die gesendeten Angaben sind für diese Seite viel zu lang. Deshalb wurde nichts übernommen; was Sie vorher gespeichert haben, bleibt erhalten. Bitte kürzen Sie Ihre Angaben und senden Sie die Seite noch einmal."
            }
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        tracing::info!(refusal = ?r, "posted step refused unread");
        Self::BadRequest(r.message().to_owned())
    }
}

fn unreadable() -> AppError {
    AppError::BadRequest("Die Angaben kamen unvollständig an. Bitte senden Sie sie noch einmal.".into())
}

/// Parses a URL-encoded body into its pairs, or refuses it when it holds more than
/// `limits` allow; stops at the first pair over the count.
///
/// # Errors
/// The [`Refusal`] when the body is too large or has too many pairs.
pub fn parse_pairs(body: &[u8], limits: InputLimits) -> Result<Vec<(String, String)>, Refusal> {
    if body.len() > limits.bytes {
        return Err(Refusal::TooLarge);
    }
    let mut pairs = Vec::new();
    // The parser axum's `Form` uses, so values decode exactly as before.
    for (k, v) in form_urlencoded::parse(body) {
        if pairs.len() == limits.pairs {
            return Err(Refusal::TooManyInputs);
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(pairs)
}

fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// Reads a URL-encoded step body within `limits`. A body over the byte limit is read
/// to its end (the route's body limit still applies) but not kept, so the browser
/// receives the explanation instead of a connection reset.
///
/// # Errors
/// Not a form, a broken body, or a [`Refusal`].
pub async fn read_urlencoded(request: Request, limits: InputLimits) -> Result<Vec<(String, String)>, AppError> {
    if !is_urlencoded(request.headers()) {
        return Err(unreadable());
    }
    let mut body: Body = request.into_body();
    let mut kept: Vec<u8> = Vec::new();
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(if too_large { Refusal::TooLarge.into() } else { unreadable() });
        };
        let Ok(data) = frame.into_data() else { continue };
        if too_large {
            continue;
        }
        if kept.len() + data.len() > limits.bytes {
            too_large = true;
            kept = Vec::new();
            continue;
        }
        kept.extend_from_slice(&data);
    }
    if too_large {
        return Err(Refusal::TooLarge.into());
    }
    let parsed = if kept.len() > PARSE_INLINE_BYTES {
        tokio::task::spawn_blocking(move || parse_pairs(&kept, limits))
            .await
            .map_err(|e| AppError::Internal(format!("parsing a posted step: {e}")))?
    } else {
        parse_pairs(&kept, limits)
    };
    Ok(parsed?)
}

/// Counts the parts of a multipart step body against its [`InputLimits`].
#[derive(Debug)]
pub struct Budget {
    limits: InputLimits,
    pairs: usize,
    bytes: usize,
}

impl Budget {
    #[must_use]
    pub fn new(limits: InputLimits) -> Self {
        Self { limits, pairs: 0, bytes: 0 }
    }

    /// One more part.
    ///
    /// # Errors
    /// [`Refusal::TooManyInputs`] past the limit.
    pub fn part(&mut self) -> Result<(), Refusal> {
        self.pairs += 1;
        if self.pairs > self.limits.pairs { Err(Refusal::TooManyInputs) } else { Ok(()) }
    }

    fn take(&mut self, n: usize) -> Result<(), Refusal> {
        self.bytes = self.bytes.saturating_add(n);
        if self.bytes > self.limits.bytes { Err(Refusal::TooLarge) } else { Ok(()) }
    }

    /// The text of a part (not a file), counted against the byte limit while it
    /// streams in, so an endless "text" is refused at the limit.
    ///
    /// # Errors
    /// A broken body or [`Refusal::TooLarge`].
    pub async fn text(&mut self, part: &mut Part<'_>) -> Result<String, AppError> {
        let mut text = Vec::new();
        while let Some(chunk) = part.chunk().await.map_err(|_| unreadable())? {
            self.take(chunk.len())?;
            text.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(json: serde_json::Value) -> Step {
        serde_json::from_value(json).unwrap()
    }

    fn small() -> Step {
        step(serde_json::json!({"id": "a", "title": "A", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "text"},
            {"item": "field", "id": "wo", "label": "Anschrift", "type": "address"}
        ]}))
    }

    #[test]
    fn limits_grow_with_the_step_and_have_a_floor() {
        let l = InputLimits::of(&small());
        assert_eq!(l.pairs, 64, "floor");
        assert_eq!(l.bytes, 64 * 1024, "floor");
        let rows = step(serde_json::json!({"id": "a", "title": "A", "items": [
            {"item": "group", "id": "kinder", "label": "Kind", "repeat": {"min": 0, "max": 20}, "fields": [
                {"item": "field", "id": "name", "label": "Name", "type": "text"},
                {"item": "field", "id": "geburt", "label": "Geburt", "type": "date"}]},
            {"item": "field", "id": "text", "label": "Text", "type": "long_text"}
        ]}));
        let l = InputLimits::of(&rows);
        assert_eq!(l.pairs, 4 * (4 + 20 * 2 + 1 + 1) + 16);
        assert!(l.bytes > 2 * 5000 * 12, "a long text of 5,000 umlauts fits: {}", l.bytes);
    }

    #[test]
    fn honest_bodies_parse_and_floods_are_refused() {
        let limits = InputLimits::of(&small());
        let pairs = parse_pairs(b"csrf=x&f.name=Sch%C3%BCtzen+e.V.&&f.wo.plz=29393", limits).unwrap();
        assert_eq!(pairs[1], ("f.name".to_owned(), "Schützen e.V.".to_owned()));
        assert_eq!(pairs.len(), 3);
        let flood: String = (0..100_000).map(|i| format!("x{i}=1&")).collect();
        assert_eq!(parse_pairs(flood.as_bytes(), limits), Err(Refusal::TooLarge));
        let many: String = (0..65).map(|i| format!("x{i}=1&")).collect();
        assert_eq!(parse_pairs(many.as_bytes(), limits), Err(Refusal::TooManyInputs));
        let enough: String = (0..64).map(|i| format!("x{i}=1&")).collect();
        assert_eq!(parse_pairs(enough.as_bytes(), limits).map(|p| p.len()), Ok(64));
    }

    #[test]
    fn only_url_encoded_forms_are_read() {
        let mut h = HeaderMap::new();
        assert!(!is_urlencoded(&h));
        h.insert(header::CONTENT_TYPE, "Application/X-WWW-Form-Urlencoded; charset=UTF-8".parse().unwrap());
        assert!(is_urlencoded(&h));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!is_urlencoded(&h));
    }
}
