//! One search across all authorities of the Verbund.
//!
//! The index lives in memory and is rebuilt from the store at start-up ("one index
//! per node"); changes are applied as they are published. German text goes through
//! an analyzer that lower-cases, splits compound words against a shipped dictionary
//! (Hundesteuer → hunde + steuer), drops stop words and stems. A second, unstemmed
//! field of titles and keywords serves typo tolerance and prefix completion.

mod analyzer;
mod query;
mod synonyms;
pub mod text;

use std::sync::Mutex;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use query::normalize_query;
pub use synonyms::Synonyms;
pub use tantivy::TantivyError;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index writer is unavailable")]
    WriterPoisoned,
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// What a search result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    Leistung,
    OrgUnit,
    Contact,
}

impl DocKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Leistung => "leistung",
            Self::OrgUnit => "org_unit",
            Self::Contact => "contact",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "org_unit" => Self::OrgUnit,
            "contact" => Self::Contact,
            _ => Self::Leistung,
        }
    }
    /// German label shown next to a result.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Leistung => "Leistung",
            Self::OrgUnit => "Organisationseinheit",
            Self::Contact => "Ansprechpartner",
        }
    }
}

/// A document to index. `key` identifies it for replacement, e.g. `leistung:42`.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub key: String,
    pub kind: DocKind,
    pub authority_id: i64,
    pub authority_name: String,
    pub leika: String,
    pub title: String,
    pub keywords: Vec<String>,
    pub summary: String,
    pub body: String,
    pub url: String,
}

/// One result with a highlighted snippet (HTML, text already escaped).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    pub key: String,
    pub kind: DocKind,
    pub authority_id: i64,
    pub authority_name: String,
    pub leika: String,
    pub title: String,
    pub url: String,
    pub snippet_html: String,
    pub summary: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    pub total: usize,
    /// The query as understood after cleaning (quotes, operators and control characters removed).
    pub understood: String,
}

impl SearchResults {
    /// Keeps one hit per target: `target` says where a hit leads (e.g. one page for
    /// all offers of a service); the hit's URL becomes that target, and a later
    /// (lower ranked) hit leading to a target already listed is dropped. Suggestions
    /// thus never list the same destination twice.
    pub fn one_per_target(&mut self, mut target: impl FnMut(&Hit) -> String) {
        let mut seen = std::collections::HashSet::new();
        self.hits.retain_mut(|h| {
            h.url = target(h);
            seen.insert(h.url.clone())
        });
    }
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    authority_id: Field,
    authority_name: Field,
    leika: Field,
    title: Field,
    body: Field,
    all: Field,
    exact: Field,
    summary: Field,
    url: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    synonyms: Synonyms,
}

impl SearchIndex {
    /// An empty in-memory index with the German analyzer and the shipped synonym list.
    ///
    /// # Errors
    /// When tantivy cannot set up the index.
    pub fn new() -> Result<Self> {
        let mut sb = Schema::builder();
        let german = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer::GERMAN)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let exact = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(analyzer::EXACT).set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            key: sb.add_text_field("key", STRING | STORED),
            kind: sb.add_text_field("kind", STRING | STORED),
            authority_id: sb.add_i64_field("authority_id", NumericOptions::default().set_stored().set_indexed()),
            authority_name: sb.add_text_field("authority_name", STORED),
            leika: sb.add_text_field("leika", STRING | STORED),
            title: sb.add_text_field("title", german.clone().set_stored()),
            body: sb.add_text_field("body", german.clone().set_stored()),
            all: sb.add_text_field("all", german),
            exact: sb.add_text_field("exact", exact),
            summary: sb.add_text_field("summary", STORED),
            url: sb.add_text_field("url", STORED),
        };
        let index = Index::create_in_ram(sb.build());
        analyzer::register(&index)?;
        let writer = index.writer_with_num_threads(1, 30_000_000)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { index, reader, writer: Mutex::new(writer), fields, synonyms: Synonyms::shipped() })
    }

    fn to_document(&self, d: &SearchDoc) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, &d.key);
        doc.add_text(f.kind, d.kind.as_str());
        doc.add_i64(f.authority_id, d.authority_id);
        doc.add_text(f.authority_name, &d.authority_name);
        doc.add_text(f.leika, &d.leika);
        doc.add_text(f.title, &d.title);
        // Snippets are cut from plain text in which every sentence occurs once.
        let text = text::snippet_source(&[&d.summary, &d.body]);
        doc.add_text(f.all, format!("{}\n{}\n{text}", d.title, d.keywords.join(", ")));
        doc.add_text(f.body, text);
        doc.add_text(f.exact, format!("{} {}", d.title, d.keywords.join(" ")));
        doc.add_text(f.summary, &d.summary);
        doc.add_text(f.url, &d.url);
        doc
    }

    /// Adds or replaces documents (by key) and removes the keys in `remove`;
    /// visible to searches when this returns.
    ///
    /// # Errors
    /// When the index cannot be written.
    pub fn apply(&self, upsert: &[SearchDoc], remove: &[String]) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::WriterPoisoned)?;
        for key in remove.iter().chain(upsert.iter().map(|d| &d.key)) {
            w.delete_term(Term::from_field_text(self.fields.key, key));
        }
        for d in upsert {
            w.add_document(self.to_document(d))?;
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces the whole index content.
    ///
    /// # Errors
    /// When the index cannot be written.
    pub fn replace_all(&self, docs: &[SearchDoc]) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::WriterPoisoned)?;
        w.delete_all_documents()?;
        for d in docs {
            w.add_document(self.to_document(d))?;
        }
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Number of indexed documents.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches for whatever a citizen typed. Never fails on odd input: quotes,
    /// operators, control characters and overlong text are cleaned first.
    ///
    /// # Errors
    /// Only on internal index errors.
    pub fn search(&self, raw: &str, limit: usize) -> Result<SearchResults> {
        let words = normalize_query(raw);
        let understood = words.join(" ");
        if words.is_empty() {
            return Ok(SearchResults { understood, ..SearchResults::default() });
        }
        let searcher = self.reader.searcher();
        let builder = query::Builder {
            index: &self.index,
            searcher: &searcher,
            fields: self.fields.query_fields(),
            synonyms: &self.synonyms,
        };
        let collector = (TopDocs::with_limit(limit.max(1)).order_by_score(), Count);
        let mut q = builder.build(&words, true)?;
        let (mut top, mut total) = searcher.search(&q, &collector)?;
        if total == 0 && words.len() > 1 {
            // Nothing has every word: fall back to any word rather than an empty page.
            q = builder.build(&words, false)?;
            (top, total) = searcher.search(&q, &collector)?;
        }
        let mut snippets = SnippetGenerator::create(&searcher, &*builder.snippet_query(&words)?, self.fields.body)?;
        snippets.set_max_num_chars(180);
        let mut hits = Vec::with_capacity(top.len());
        for (_score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |f: Field| doc.get_first(f).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let mut snippet = snippets.snippet_from_doc(&doc);
            snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
            hits.push(Hit {
                key: text(self.fields.key),
                kind: DocKind::parse(&text(self.fields.kind)),
                authority_id: doc.get_first(self.fields.authority_id).and_then(|v| v.as_i64()).unwrap_or_default(),
                authority_name: text(self.fields.authority_name),
                leika: text(self.fields.leika),
                title: text(self.fields.title),
                url: text(self.fields.url),
                snippet_html: text::join_lines(&snippet.to_html()),
                summary: text(self.fields.summary),
            });
        }
        Ok(SearchResults { hits, total, understood })
    }
}

impl Fields {
    fn query_fields(self) -> query::QueryFields {
        query::QueryFields { title: self.title, body: self.body, all: self.all, exact: self.exact }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(key: &str, title: &str, keywords: &[&str], body: &str) -> SearchDoc {
        SearchDoc {
            key: key.into(),
            kind: DocKind::Leistung,
            authority_id: 1,
            authority_name: "Stadt Moorbrück".into(),
            leika: "99000000000000".into(),
            title: title.into(),
            keywords: keywords.iter().map(|s| (*s).to_owned()).collect(),
            summary: format!("Kurzbeschreibung {title}"),
            body: body.into(),
            url: format!("/o/moorbrueck/leistungen/{key}"),
        }
    }

    fn index() -> SearchIndex {
        let i = SearchIndex::new().unwrap();
        i.replace_all(&[
            doc("perso", "Personalausweis beantragen", &[], "Den Personalausweis beantragen Sie im Bürgerbüro."),
            doc("hund", "Hundesteuer", &["Hund anmelden"], "Wer einen Hund hält, zahlt Hundesteuer."),
            doc(
                "melde",
                "Meldebescheinigung beantragen",
                &["Wohnsitzbescheinigung"],
                "Bescheinigung über die Wohnung.",
            ),
            doc("gewerbe", "Gewerbeanmeldung", &[], "Wer ein Gewerbe beginnt, meldet es an."),
        ])
        .unwrap();
        i
    }

    fn first(i: &SearchIndex, q: &str) -> String {
        i.search(q, 5).unwrap().hits.first().map(|h| h.key.clone()).unwrap_or_default()
    }

    #[test]
    fn finds_by_synonym_compound_part_typo_and_prefix() {
        let i = index();
        assert_eq!(first(&i, "Perso"), "perso");
        assert_eq!(first(&i, "Steuer"), "hund", "compound part");
        assert_eq!(first(&i, "Meldebescheinigng"), "melde", "typo");
        assert_eq!(first(&i, "Gewer"), "gewerbe", "prefix");
        assert_eq!(first(&i, "hunde steuer"), "hund");
    }

    #[test]
    fn odd_input_never_fails() {
        let i = index();
        for q in ["\"", "AND OR NOT", "+-*:", "\u{0}\u{7}", &"x".repeat(10_240), "die der das", ""] {
            let r = i.search(q, 10).unwrap();
            assert!(r.hits.len() <= 10);
        }
    }

    #[test]
    fn snippets_highlight_and_escape() {
        let i = SearchIndex::new().unwrap();
        i.replace_all(&[doc("x", "Sperrmüll", &[], "Sperrmüll <script>alert(1)</script> abholen lassen")]).unwrap();
        let r = i.search("abholen", 5).unwrap();
        let s = &r.hits[0].snippet_html;
        assert!(s.contains("<mark>abholen</mark>"), "{s}");
        assert!(!s.contains("<script>"), "{s}");
    }

    #[test]
    fn snippets_show_each_sentence_once_and_no_markdown_markers() {
        let i = SearchIndex::new().unwrap();
        let mut d = doc(
            "hund",
            "Hundesteuer",
            &[],
            "Wer einen Hund hält, meldet ihn an.\n\n## Unterlagen\n\n- Nachweis über den Hund\n* Steuer-ID\n1. Hund anmelden\n\nWer einen Hund hält, meldet ihn an.",
        );
        d.summary = "Wer einen Hund hält, meldet ihn an.".into();
        i.replace_all(&[d]).unwrap();
        let s = &i.search("Hund", 5).unwrap().hits[0].snippet_html;
        let plain = s.replace("<mark>", "").replace("</mark>", "");
        assert_eq!(plain.matches("Wer einen Hund hält, meldet ihn an.").count(), 1, "{s}");
        for marker in ["- ", "* ", "1. ", "##"] {
            assert!(!plain.contains(marker), "{marker:?} in {s}");
        }
        assert!(plain.contains("Nachweis über den Hund · Steuer-ID · Hund anmelden"), "list items stay apart: {s}");
    }

    #[test]
    fn one_per_target_keeps_the_best_hit_of_each_destination() {
        let i = SearchIndex::new().unwrap();
        let mut other = doc("hund2", "Hundesteuer", &[], "Wer einen Hund hält, zahlt Hundesteuer.");
        other.authority_id = 2;
        i.replace_all(&[doc("hund", "Hundesteuer", &[], "Wer einen Hund hält, zahlt Hundesteuer."), other]).unwrap();
        let mut r = i.search("Hundesteuer", 10).unwrap();
        assert_eq!(r.hits.len(), 2, "two offers of one service");
        r.one_per_target(|h| if h.title == "Hundesteuer" { "/leistungen/hundesteuer".into() } else { h.url.clone() });
        assert_eq!(r.hits.len(), 1);
        assert_eq!(r.hits[0].url, "/leistungen/hundesteuer");
    }

    #[test]
    fn apply_replaces_and_removes() {
        let i = index();
        let mut d = doc("hund", "Hundesteuer abmelden", &[], "Abmeldung");
        d.key = "hund".into();
        i.apply(&[d], &["perso".into()]).unwrap();
        assert_eq!(i.len(), 3);
        assert!(i.search("Personalausweis", 5).unwrap().hits.is_empty());
        assert_eq!(i.search("abmelden", 5).unwrap().hits[0].title, "Hundesteuer abmelden");
    }
}
