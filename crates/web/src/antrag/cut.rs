//! Pages rendered once with marks where per-request values go, then filled in for
//! each request. Used where a page differs between citizens only in a few values
//! (the first page of a form: its tokens; the receipt: number, time, answers) and
//! rendering it was the largest single cost of an application at a postal-vote rush.
//! Not used with template overrides: an override might transform a value (a
//! filter) in a way a filled-in mark would not reproduce.

use super::journey::Journey;
use crate::AppState;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Every mark starts with this; letters only, so that HTML escaping and URL encoding
/// leave the marks as they are.
const MARK_PREFIX: &str = "AmtswegMark";
/// Enough for every form × place of a county; when full, start over.
const MAX_ENTRIES: usize = 2048;

/// A mark for the value named `name` (letters only).
pub(super) fn mark(name: &str) -> String {
    format!("{MARK_PREFIX}{name}")
}

/// A rendered page cut at its marks: text, then the index of the value that follows
/// it (None at the end).
#[derive(Debug)]
pub(super) struct Cut {
    parts: Vec<(String, Option<usize>)>,
    len: usize,
}

impl Cut {
    /// Cuts `html` at `marks`. None when a mark is missing or something else that
    /// looks like a mark is left (a mark changed by a filter): such a page is not kept.
    pub(super) fn new(html: &str, marks: &[&str]) -> Option<Self> {
        let mut parts = Vec::new();
        let mut rest = html;
        loop {
            let next = marks
                .iter()
                .enumerate()
                .filter_map(|(i, m)| rest.find(m).map(|at| (at, m.len(), i)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, i)) => {
                    parts.push((rest[..at].to_owned(), Some(i)));
                    rest = &rest[at + len..];
                }
                None => {
                    parts.push((rest.to_owned(), None));
                    break;
                }
            }
        }
        let all_there = (0..marks.len()).all(|i| parts.iter().any(|(_, k)| *k == Some(i)));
        let prefix = MARK_PREFIX.to_ascii_lowercase();
        let leftover = parts.iter().any(|(text, _)| text.to_ascii_lowercase().contains(&prefix));
        (all_there && !leftover).then_some(Self { len: html.len(), parts })
    }

    /// The page with `values` in place of the marks (in the order given to `new`);
    /// they go in as they are: escape them first.
    pub(super) fn fill(&self, values: &[&str]) -> String {
        let extra: usize = values.iter().map(|v| v.len()).sum();
        let mut out = String::with_capacity(self.len + 2 * extra);
        for (text, value) in &self.parts {
            out.push_str(text);
            if let Some(v) = value.and_then(|i| values.get(i)) {
                out.push_str(v);
            }
        }
        out
    }
}

/// Cut pages by key; cleared with the catalogue snapshot they were rendered from.
pub(crate) struct Cuts<K> {
    pages: Mutex<HashMap<K, Arc<Cut>>>,
}

impl<K> Default for Cuts<K> {
    fn default() -> Self {
        Self { pages: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq> Cuts<K> {
    pub(crate) fn clear(&self) {
        if let Ok(mut p) = self.pages.lock() {
            p.clear();
        }
    }

    pub(super) fn get(&self, key: &K) -> Option<Arc<Cut>> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    pub(super) fn put(&self, key: K, cut: Arc<Cut>) {
        if let Ok(mut p) = self.pages.lock() {
            if p.len() >= MAX_ENTRIES {
                p.clear();
            }
            p.insert(key, cut);
        }
    }
}

/// What a cut page of a form depends on besides per-request values: the form
/// version, the chosen place and the catalogue snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FormPageKey {
    authority_id: i64,
    form_id: i64,
    version: i64,
    place: Option<i64>,
    watermark: i64,
}

impl FormPageKey {
    pub(super) fn new(state: &AppState, j: &Journey, headers: &HeaderMap) -> Self {
        let catalogue = state.catalogue();
        Self {
            authority_id: j.authority.id,
            form_id: j.published.form_id,
            version: j.version,
            place: crate::place::current(headers, &catalogue).map(|p| p.id),
            watermark: catalogue.watermark,
        }
    }
}

/// Tokens are base64url with dots; anything HTML or a URL would escape is filled in
/// by the template instead (never the case for tokens this portal issues).
pub(super) fn plain(v: &str) -> bool {
    v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_page_is_filled_with_each_requests_values() {
        let (t, c) = (mark("Token"), mark("Csrf"));
        let html = format!(
            "<form><input name=\"csrf\" value=\"{c}\"><input name=\"token\" value=\"{t}\"></form><a href=\"?t={t}\">"
        );
        let cut = Cut::new(&html, &[&t, &c]).unwrap();
        assert_eq!(
            cut.fill(&["abc.1.xyz", "c-_1"]),
            "<form><input name=\"csrf\" value=\"c-_1\"><input name=\"token\" value=\"abc.1.xyz\"></form><a href=\"?t=abc.1.xyz\">"
        );
        assert!(Cut::new("<form>no marks</form>", &[&t, &c]).is_none(), "a page without its values is not kept");
        assert!(Cut::new(&format!("only {t}"), &[&t, &c]).is_none());
        let lowered = format!("{t} {c} {}", c.to_lowercase());
        assert!(Cut::new(&lowered, &[&t, &c]).is_none(), "a mark changed by a filter");
        assert!(plain("Ab9-_.") && !plain("a\"b") && !plain("a<b") && !plain("a%b"));
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cuts = Cuts::<usize>::default();
        let cut = Arc::new(Cut::new("x", &[]).unwrap());
        for i in 0..MAX_ENTRIES {
            cuts.put(i, Arc::clone(&cut));
        }
        assert!(cuts.get(&0).is_some());
        cuts.put(MAX_ENTRIES, cut);
        assert!(cuts.get(&0).is_none() && cuts.get(&MAX_ENTRIES).is_some());
        cuts.clear();
        assert!(cuts.get(&MAX_ENTRIES).is_none());
    }
}
