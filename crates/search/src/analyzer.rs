//! The German analyzer and the unstemmed analyzer used for typos and prefixes.

use tantivy::Index;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, SplitCompoundWords, Stemmer, StopWordFilter, TextAnalyzer,
};

pub const GERMAN: &str = "de_stem";
pub const EXACT: &str = "de_exact";

/// Parts of German compound words as they occur in administrative language.
const COMPOUND_PARTS: &str = include_str!("../data/compound_parts.txt");

pub fn compound_parts() -> impl Iterator<Item = &'static str> {
    COMPOUND_PARTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#') && l.chars().count() >= 3)
}

pub fn german() -> tantivy::Result<TextAnalyzer> {
    let splitter = SplitCompoundWords::from_dictionary(compound_parts())?;
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(splitter)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::German) {
        builder = builder.filter_dynamic(stop);
    }
    Ok(builder.filter_dynamic(Stemmer::new(Language::German)).build())
}

pub fn exact() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(60)).filter(LowerCaser).build()
}

pub fn register(index: &Index) -> tantivy::Result<()> {
    index.tokenizers().register(GERMAN, german()?);
    index.tokenizers().register(EXACT, exact());
    Ok(())
}

/// Runs `text` through an analyzer and returns the terms it produces.
pub fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compounds_are_split_and_stemmed() {
        let mut a = german().unwrap();
        let t = terms(&mut a, "Hundesteuer");
        assert!(t.len() >= 2, "{t:?}");
        let steuer = terms(&mut a, "Steuer");
        assert!(t.contains(&steuer[0]), "{t:?} vs {steuer:?}");
    }

    #[test]
    fn stop_words_vanish() {
        let mut a = german().unwrap();
        assert!(terms(&mut a, "die und der").is_empty());
    }
}
