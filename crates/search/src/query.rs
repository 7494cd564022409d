//! Turning what a citizen typed into a tantivy query.
//!
//! Input is never parsed as query syntax: quotes, `AND`, `+`, `-`, `*` and control
//! characters are only separators, so no input can make the query fail.

use crate::analyzer;
use crate::synonyms::Synonyms;
use amtsweg_domain::place::typo_allowance;
use tantivy::Index;
use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};

/// At most this many characters of a query are looked at.
const MAX_QUERY_CHARS: usize = 200;
/// At most this many words are searched for.
const MAX_WORDS: usize = 10;

/// Cleans raw input into lower-case words: letters and digits only, at most
/// [`MAX_WORDS`] words from the first [`MAX_QUERY_CHARS`] characters.
#[must_use]
pub fn normalize_query(raw: &str) -> Vec<String> {
    let cleaned: String =
        raw.chars().take(MAX_QUERY_CHARS).map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    cleaned.split_whitespace().filter(|w| w.chars().count() <= 60).map(str::to_lowercase).take(MAX_WORDS).collect()
}

#[derive(Clone, Copy)]
pub struct QueryFields {
    pub title: Field,
    /// Stored text the snippets are cut from.
    pub body: Field,
    /// Title, keywords and text together: what a word is matched against.
    pub all: Field,
    pub exact: Field,
}

pub struct Builder<'a> {
    pub index: &'a Index,
    pub searcher: &'a tantivy::Searcher,
    pub fields: QueryFields,
    pub synonyms: &'a Synonyms,
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

impl Builder<'_> {
    fn german_terms(&self, text: &str) -> tantivy::Result<Vec<String>> {
        let mut german = self
            .index
            .tokenizers()
            .get(analyzer::GERMAN)
            .ok_or_else(|| tantivy::TantivyError::InvalidArgument("German analyzer missing".into()))?;
        Ok(analyzer::terms(&mut german, text))
    }

    /// Every analyzed term (e.g. each part of a compound) must occur in `field`.
    /// Plain term intersections let tantivy skip through long posting lists.
    fn all_terms(field: Field, terms: &[String], boost: f32) -> Option<Box<dyn Query>> {
        let parts: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q = TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqs);
                (Occur::Must, boxed(q))
            })
            .collect();
        match parts.len() {
            0 => None,
            _ => Some(boxed(BoostQuery::new(boxed(BooleanQuery::new(parts)), boost))),
        }
    }

    /// One word: its analyzed form anywhere in the document, its synonyms in titles and
    /// keywords, a typo-tolerant and (for the last word) a prefix match on the
    /// unstemmed titles. `None` for stop words.
    fn word(&self, word: &str, is_last: bool) -> tantivy::Result<Option<Box<dyn Query>>> {
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let terms = self.german_terms(word)?;
        // A word the index knows needs no typo tolerance; building Levenshtein automata
        // is the most expensive part of a query, so only misspellings pay for it.
        let mut known = !terms.is_empty();
        for t in &terms {
            known &= self.searcher.doc_freq(&Term::from_field_text(self.fields.all, t))? > 0;
        }
        if let Some(q) = Self::all_terms(self.fields.all, &terms, 1.0) {
            alternatives.push((Occur::Should, q));
        }
        // Synonyms only match titles and keywords: in body text they would add many
        // weak matches (and most of the query cost) for little gain.
        for syn in self.synonyms.of(word) {
            let exact = TermQuery::new(Term::from_field_text(self.fields.exact, syn), IndexRecordOption::Basic);
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(exact), 0.8))));
            if let Some(q) = Self::all_terms(self.fields.title, &self.german_terms(syn)?, 0.8) {
                alternatives.push((Occur::Should, q));
            }
        }
        let len = word.chars().count();
        let term = Term::from_field_text(self.fields.exact, word);
        // The same allowance as the place box (distance 1 from 5 letters, 2 from 9).
        let distance = u8::try_from(typo_allowance(len)).unwrap_or(2);
        if distance > 0 && !known {
            let fuzzy = FuzzyTermQuery::new(term.clone(), distance, true);
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(fuzzy), 0.5))));
        }
        if is_last && len >= 2 {
            let prefix = FuzzyTermQuery::new_prefix(term, 0, true);
            alternatives.push((Occur::Should, boxed(BoostQuery::new(boxed(prefix), 0.7))));
        }
        Ok(match alternatives.len() {
            0 => None,
            1 => alternatives.pop().map(|(_, q)| q),
            _ => Some(boxed(BooleanQuery::new(alternatives))),
        })
    }

    /// The words' terms on the body field, for highlighting snippets.
    pub fn snippet_query(&self, words: &[String]) -> tantivy::Result<Box<dyn Query>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            for t in self.german_terms(w)? {
                let q = TermQuery::new(Term::from_field_text(self.fields.body, &t), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, boxed(q)));
            }
        }
        Ok(boxed(BooleanQuery::new(clauses)))
    }

    /// All words (`require_all`) or any word must match; words found in the title
    /// rank higher.
    pub fn build(&self, words: &[String], require_all: bool) -> tantivy::Result<Box<dyn Query>> {
        let occur = if require_all { Occur::Must } else { Occur::Should };
        let mut clauses = Vec::new();
        let mut title_boosts = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(q) = self.word(w, i + 1 == words.len())? {
                clauses.push((occur, q));
                if let Some(t) = Self::all_terms(self.fields.title, &self.german_terms(w)?, 2.0) {
                    title_boosts.push((Occur::Should, t));
                }
            }
        }
        if clauses.is_empty() {
            return Ok(boxed(EmptyQuery));
        }
        if require_all {
            // Optional clauses only add to the score of documents the Must clauses found.
            clauses.extend(title_boosts);
        }
        Ok(boxed(BooleanQuery::new(clauses)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_quotes_and_control_characters_are_separators() {
        assert_eq!(normalize_query("\"Hunde\" AND +steuer*\u{0}"), vec!["hunde", "and", "steuer"]);
        assert_eq!(normalize_query("Kfz-Zulassung"), vec!["kfz", "zulassung"]);
        assert!(normalize_query("!!! ??? ").is_empty());
        let long = "a".repeat(10_000);
        assert!(normalize_query(&long).is_empty(), "one 10 KB word is not searched");
        assert!(normalize_query(&"wort ".repeat(2_000)).len() <= MAX_WORDS);
    }
}
