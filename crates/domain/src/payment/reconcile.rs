//! Matching a bank credit to what is open: by the RF reference (structured, or
//! written into the remittance text) or by the Kassenzeichen in the text. Only a
//! single candidate with the right amount is booked without a person.

use super::kassenzeichen::compact;
use super::money::Cents;
use super::rf::{is_valid_rf, normalize_rf};

/// Something open that a credit may pay: a payment or a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
    pub kassenzeichen: String,
    /// Compact RF reference, empty when none.
    pub rf: String,
    pub open: Cents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// One candidate, the amount is what is open.
    Exact,
    /// One candidate, less than what is open.
    Partial,
    /// One candidate, more than what is open.
    Over,
    /// Several candidates are named.
    Ambiguous,
    /// None is named.
    Unmatched,
}

impl MatchKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Partial => "partial",
            Self::Over => "over",
            Self::Ambiguous => "ambiguous",
            Self::Unmatched => "unmatched",
        }
    }
}

/// Tokens of letters and digits, upper-cased, in order.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_ascii_uppercase).collect()
}

/// The valid RF references in a text; printed ones with spaces (`RF18 5390 0754
/// 7034`) are found too. Each once, in order.
#[must_use]
pub fn find_rf_references(text: &str) -> Vec<String> {
    let words: Vec<String> = text.split_whitespace().map(str::to_ascii_uppercase).collect();
    let mut out: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        // A reference starts a word (after punctuation such as "Ref:" too).
        let start = w.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        let Some(pos) = start.find("RF") else { continue };
        if pos != 0 && start[..pos].chars().last().is_some_and(|c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let first = &start[pos..];
        // Join following words while they could continue the reference; keep the
        // longest valid one (check digits make a false hit unlikely).
        let mut candidate = String::new();
        let mut best: Option<String> = None;
        for (n, part) in std::iter::once(first).chain(words[i + 1..].iter().map(String::as_str)).enumerate() {
            let body = part.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
                break;
            }
            candidate.push_str(body);
            if candidate.len() > 25 {
                break;
            }
            if is_valid_rf(&candidate) {
                best = Some(candidate.clone());
            }
            if n > 0 && body.len() != part.len() {
                break;
            }
        }
        if let Some(b) = best
            && !out.contains(&b)
        {
            out.push(b);
        }
    }
    out
}

/// Whether `text` names `kassenzeichen` as a whole (not inside a longer number),
/// also written without separators or with others (`MB 2026 000123`).
#[must_use]
pub fn mentions_kassenzeichen(text: &str, kassenzeichen: &str) -> bool {
    let want = compact(kassenzeichen);
    if want.len() < 4 {
        return false;
    }
    let toks = tokens(text);
    for i in 0..toks.len() {
        let mut joined = String::new();
        for t in &toks[i..] {
            joined.push_str(t);
            if joined == want {
                return true;
            }
            if joined.len() >= want.len() || !want.starts_with(&joined) {
                break;
            }
        }
    }
    false
}

/// Which candidate a credit of `amount` pays: by the structured references (and RF
/// references in the text) first, else by a Kassenzeichen in the text. Returns the
/// kind of match and, for one candidate, its index.
#[must_use]
pub fn match_credit(
    amount: Cents,
    structured: &[String],
    remittance: &str,
    c: &[Candidate],
) -> (MatchKind, Option<usize>) {
    let mut refs: Vec<String> = structured.iter().filter_map(|s| normalize_rf(s)).collect();
    refs.extend(find_rf_references(remittance));
    let mut hits: Vec<usize> =
        (0..c.len()).filter(|&i| !c[i].rf.is_empty() && refs.iter().any(|r| *r == c[i].rf)).collect();
    if hits.is_empty() {
        let texts: Vec<&str> = structured.iter().map(String::as_str).chain(std::iter::once(remittance)).collect();
        hits = (0..c.len())
            .filter(|&i| {
                !c[i].kassenzeichen.is_empty() && texts.iter().any(|t| mentions_kassenzeichen(t, &c[i].kassenzeichen))
            })
            .collect();
    }
    match hits.as_slice() {
        [] => (MatchKind::Unmatched, None),
        [i] => {
            let open = c[*i].open;
            let kind = match amount.cmp(&open) {
                std::cmp::Ordering::Equal if open.0 > 0 => MatchKind::Exact,
                std::cmp::Ordering::Less => MatchKind::Partial,
                _ => MatchKind::Over,
            };
            (kind, Some(*i))
        }
        _ => (MatchKind::Ambiguous, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(kz: &str, open: i64) -> Candidate {
        Candidate {
            payment_id: Some(1),
            claim_id: None,
            kassenzeichen: kz.into(),
            rf: super::super::rf::rf_from(kz).unwrap(),
            open: Cents(open),
        }
    }

    #[test]
    fn rf_references_are_found_in_text() {
        assert_eq!(find_rf_references("Zahlung RF18 5390 0754 7034 Hundesteuer"), vec!["RF18539007547034"]);
        assert_eq!(find_rf_references("Ref:RF18539007547034."), vec!["RF18539007547034"]);
        assert_eq!(find_rf_references("rf18539007547034 und RF18539007547034"), vec!["RF18539007547034"]);
        assert!(find_rf_references("RF19 5390 0754 7034").is_empty());
        assert!(find_rf_references("XRF18539007547034").is_empty());
        assert!(find_rf_references("").is_empty());
    }

    #[test]
    fn kassenzeichen_must_stand_alone() {
        assert!(mentions_kassenzeichen("Kassenzeichen MB-2026-000123 Hund", "MB-2026-000123"));
        assert!(mentions_kassenzeichen("kz mb 2026 000123", "MB-2026-000123"));
        assert!(mentions_kassenzeichen("MB2026000123", "MB-2026-000123"));
        assert!(!mentions_kassenzeichen("MB-2026-0001234", "MB-2026-000123"));
        assert!(!mentions_kassenzeichen("XMB-2026-000123", "MB-2026-000123"));
        assert!(!mentions_kassenzeichen("12", "1-2"));
    }

    #[test]
    fn credits_are_matched() {
        let c = vec![cand("MB-2026-000123", 5000), cand("MB-2026-000124", 3000)];
        let rf = c[0].rf.clone();
        assert_eq!(match_credit(Cents(5000), std::slice::from_ref(&rf), "", &c), (MatchKind::Exact, Some(0)));
        assert_eq!(match_credit(Cents(4000), std::slice::from_ref(&rf), "", &c), (MatchKind::Partial, Some(0)));
        assert_eq!(match_credit(Cents(6000), &[], &rf_printed_of(&rf), &c), (MatchKind::Over, Some(0)));
        assert_eq!(match_credit(Cents(3000), &[], "KZ MB-2026-000124", &c), (MatchKind::Exact, Some(1)));
        assert_eq!(match_credit(Cents(3000), &[], "MB-2026-000123 MB-2026-000124", &c), (MatchKind::Ambiguous, None));
        assert_eq!(match_credit(Cents(3000), &[], "Miete Mai", &c), (MatchKind::Unmatched, None));
        // Paid already: anything more is an over-payment.
        let paid = vec![cand("MB-2026-000123", 0)];
        assert_eq!(match_credit(Cents(0), &[], "MB-2026-000123", &paid), (MatchKind::Over, Some(0)));
    }

    fn rf_printed_of(rf: &str) -> String {
        super::super::rf::rf_printed(rf)
    }
}
