//! The first page of a form as a citizen without an account gets it. Between two such
//! citizens it differs only in the form token and the CSRF token, so it is rendered
//! once per form version, chosen place and catalogue snapshot with marks in their
//! place, and each request fills in its own tokens. At a postal-vote rush this page
//! is a third of all requests, and rendering it was the largest single cost.

use super::{Journey, StepPage};
use crate::AppState;
use crate::error::AppError;
use axum::http::{HeaderMap, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Letters only, so that HTML escaping leaves them as they are.
const TOKEN_MARK: &str = "AmtswegMarkFormToken";
const CSRF_MARK: &str = "AmtswegMarkCsrfToken";
/// Enough for every form × place of a county; when full, start over.
const MAX_ENTRIES: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    authority_id: i64,
    form_id: i64,
    version: i64,
    place: Option<i64>,
    watermark: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Token,
    Csrf,
}

/// A rendered page cut at the marks: text, then what follows it (None at the end).
#[derive(Debug)]
struct Cut {
    parts: Vec<(String, Option<Mark>)>,
    len: usize,
}

impl Cut {
    /// None when a mark is missing: such a page is not kept.
    fn new(html: &str) -> Option<Self> {
        let mut parts = Vec::new();
        let mut rest = html;
        loop {
            let next = [(TOKEN_MARK, Mark::Token), (CSRF_MARK, Mark::Csrf)]
                .into_iter()
                .filter_map(|(m, kind)| rest.find(m).map(|at| (at, m.len(), kind)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, kind)) => {
                    parts.push((rest[..at].to_owned(), Some(kind)));
                    rest = &rest[at + len..];
                }
                None => {
                    parts.push((rest.to_owned(), None));
                    break;
                }
            }
        }
        let has = |m| parts.iter().any(|(_, k)| *k == Some(m));
        let complete = has(Mark::Token) && has(Mark::Csrf);
        complete.then_some(Self { len: html.len(), parts })
    }

    fn fill(&self, token: &str, csrf: &str) -> String {
        let mut out = String::with_capacity(self.len + 2 * (token.len() + csrf.len()));
        for (text, mark) in &self.parts {
            out.push_str(text);
            match mark {
                Some(Mark::Token) => out.push_str(token),
                Some(Mark::Csrf) => out.push_str(csrf),
                None => {}
            }
        }
        out
    }
}

#[derive(Default)]
pub struct FirstPages {
    pages: Mutex<HashMap<Key, Arc<Cut>>>,
}

impl FirstPages {
    pub fn clear(&self) {
        if let Ok(mut p) = self.pages.lock() {
            p.clear();
        }
    }

    fn get(&self, key: &Key) -> Option<Arc<Cut>> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: Key, cut: Arc<Cut>) {
        if let Ok(mut p) = self.pages.lock() {
            if p.len() >= MAX_ENTRIES {
                p.clear();
            }
            p.insert(key, cut);
        }
    }
}

/// Tokens are base64url with dots; anything HTML would escape is filled in by the
/// template instead (never the case for tokens this portal issues).
fn plain(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The first page of an empty application for a citizen without an account, with
/// these tokens.
pub(super) fn render(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    page: &StepPage<'_>,
) -> Result<(StatusCode, String), AppError> {
    let cacheable = j.citizen.is_none()
        && page.answers.is_empty()
        && page.errors.is_empty()
        && page.files.is_empty()
        && page.locked.is_empty()
        && !page.back_to_check
        && plain(&page.token)
        && plain(&page.csrf);
    if !cacheable {
        return super::step_html(state, j, headers, page);
    }
    let catalogue = state.catalogue();
    let key = Key {
        authority_id: j.authority.id,
        form_id: j.published.form_id,
        version: j.version,
        place: crate::place::current(headers, &catalogue).map(|p| p.id),
        watermark: catalogue.watermark,
    };
    drop(catalogue);
    if let Some(cut) = state.first_pages.get(&key) {
        return Ok((StatusCode::OK, cut.fill(&page.token, &page.csrf)));
    }
    let marked = StepPage { token: TOKEN_MARK.to_owned(), csrf: CSRF_MARK.to_owned(), ..page.clone() };
    let (status, html) = super::step_html(state, j, headers, &marked)?;
    match Cut::new(&html) {
        Some(cut) if status == StatusCode::OK => {
            let cut = Arc::new(cut);
            state.first_pages.put(key, Arc::clone(&cut));
            Ok((status, cut.fill(&page.token, &page.csrf)))
        }
        _ => super::step_html(state, j, headers, page),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_page_is_filled_with_each_requests_tokens() {
        let html = format!(
            "<form><input name=\"csrf\" value=\"{CSRF_MARK}\"><input name=\"token\" value=\"{TOKEN_MARK}\"></form><a href=\"?t={TOKEN_MARK}\">"
        );
        let cut = Cut::new(&html).unwrap();
        assert_eq!(
            cut.fill("abc.1.xyz", "c-_1"),
            "<form><input name=\"csrf\" value=\"c-_1\"><input name=\"token\" value=\"abc.1.xyz\"></form><a href=\"?t=abc.1.xyz\">"
        );
        assert!(Cut::new("<form>no marks</form>").is_none(), "a page without its tokens is not kept");
        assert!(Cut::new(&format!("only {TOKEN_MARK}")).is_none());
        assert!(plain("Ab9-_.") && !plain("a\"b") && !plain("a<b"));
    }
}
