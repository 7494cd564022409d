//! Turning what a citizen typed into a tantivy query.
//!
//! Input is never parsed as query syntax: quotes, `AND`, `+`, `-`, `*` and control
//! characters are only separators, so no input can make the query fail.

use crate::analyzer;
use crate::synonyms::Synonyms;
use tantivy::Index;
use tantivy::Term;
use tantivy::query::{
    BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

/// At most this many characters of a query are looked at.
const MAX_QUERY_CHARS: usize = 200;
/// At most this many words are searched for.
const MAX_WORDS: usize = 10;

/// Cleans raw input into lower-case words: letters and digits only, at most
/// [`MAX_WORDS`] words from the first [`MAX_QUERY_CHARS`] characters.
#[must_use]
pub fn normalize_query(raw: &str) -> Vec<String> {
    let cleaned: String = raw
        .chars()
        .take(MAX_QUERY_CHARS)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    cleaned
        .split_whitespace()
        .filter(|w| w.chars().count() <= 60)
        .map(str::to_lowercase)
        .take(MAX_WORDS)
        .collect()
}

#[derive(Clone, Copy)]
pub struct QueryFields {
    pub title: Field,
    pub body: Field,
    pub exact: Field,
}

pub struct Builder<'a> {
    pub index: &'a Index,
    pub fields: QueryFields,
    pub synonyms: &'a Synonyms,
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

impl Builder<'_> {
    fn analyzed(&self, text: &str, boost: f32) -> tantivy::Result<Option<Box<dyn Query>>> {
        let mut german = self
            .index
            .tokenizers()
            .get(analyzer::GERMAN)
            .ok_or_else(|| {
                tantivy::TantivyError::InvalidArgument("German analyzer missing".into())
            })?;
        let terms = analyzer::terms(&mut german, text);
        if terms.is_empty() {
            return Ok(None);
        }
        // Every part of a compound must match, in the title or the body.
        let parts: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let title = TermQuery::new(
                    Term::from_field_text(self.fields.title, t),
                    IndexRecordOption::WithFreqs,
                );
                let body = TermQuery::new(
                    Term::from_field_text(self.fields.body, t),
                    IndexRecordOption::WithFreqs,
                );
                let either = BooleanQuery::new(vec![
                    (Occur::Should, boxed(BoostQuery::new(boxed(title), 3.0))),
                    (Occur::Should, boxed(body)),
                ]);
                (Occur::Must, boxed(either))
            })
            .collect();
        Ok(Some(boxed(BoostQuery::new(
            boxed(BooleanQuery::new(parts)),
            boost,
        ))))
    }

    /// One word: its analyzed form, its synonyms, a typo-tolerant and (for the last
    /// word) a prefix match on the unstemmed titles. `None` for stop words.
    fn word(&self, word: &str, is_last: bool) -> tantivy::Result<Option<Box<dyn Query>>> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(q) = self.analyzed(word, 1.0)? {
            alternatives.push((Occur::Should, q));
        }
        for syn in self.synonyms.of(word) {
            if let Some(q) = self.analyzed(syn, 0.8)? {
                alternatives.push((Occur::Should, q));
            }
        }
        let len = word.chars().count();
        let term = Term::from_field_text(self.fields.exact, word);
        if len >= 5 {
            let distance = if len >= 9 { 2 } else { 1 };
            let fuzzy = FuzzyTermQuery::new(term.clone(), distance, true);
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(fuzzy), 0.5))));
        }
        if is_last && len >= 2 {
            let prefix = FuzzyTermQuery::new_prefix(term, 0, true);
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(prefix), 0.7))));
        }
        if alternatives.is_empty() {
            return Ok(None);
        }
        Ok(Some(boxed(BooleanQuery::new(alternatives))))
    }

    /// All words (`require_all`) or any word must match.
    pub fn build(&self, words: &[String], require_all: bool) -> tantivy::Result<Box<dyn Query>> {
        let occur = if require_all {
            Occur::Must
        } else {
            Occur::Should
        };
        let mut clauses = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(q) = self.word(w, i + 1 == words.len())? {
                clauses.push((occur, q));
            }
        }
        if clauses.is_empty() {
            return Ok(boxed(EmptyQuery));
        }
        Ok(boxed(BooleanQuery::new(clauses)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_quotes_and_control_characters_are_separators() {
        assert_eq!(
            normalize_query("\"Hunde\" AND +steuer*\u{0}"),
            vec!["hunde", "and", "steuer"]
        );
        assert_eq!(normalize_query("Kfz-Zulassung"), vec!["kfz", "zulassung"]);
        assert!(normalize_query("!!! ??? ").is_empty());
        let long = "a".repeat(10_000);
        assert!(
            normalize_query(&long).is_empty(),
            "one 10 KB word is not searched"
        );
        assert!(normalize_query(&"wort ".repeat(2_000)).len() <= MAX_WORDS);
    }
}
