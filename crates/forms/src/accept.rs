//! One call from posted answers to what may be kept: the answers asked for, in
//! normal form, the computed values and every problem — the engine's functions
//! ([`keep_asked`], [`validate`], [`normalize`], [`compute`]) in the order the
//! server needs them.

use crate::date::Date;
use crate::engine::{Answers, Problem, compute, keep_asked, normalize, validate};
use crate::model::Form;
use serde::{Deserialize, Serialize};

/// Posted answers as the engine accepts them (see [`accept`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The answers that were asked for ([`keep_asked`]: none to hidden or unknown
    /// fields), as the citizen gave them: what a draft keeps, what the step and
    /// check pages show again, and what `problems` and `computed` are about.
    pub answers: Answers,
    /// `answers` in their normal form ([`normalize`]: amounts in cents, dates ISO,
    /// IBAN and Kfz spelled canonically): what a submission stores.
    pub normalized: Answers,
    /// The computed values (cents) of `answers` ([`compute`]), in the order of the
    /// form. Of `answers`, not `normalized`: a normalised amount ("1250" cents)
    /// would read as 1250 euros.
    pub computed: Vec<(String, i64)>,
    /// What is wrong with `answers` ([`validate`]): in the visible parts of the one
    /// step asked for, or of the whole form. Empty: they may be submitted (as far as
    /// the engine can tell; checks that need data, like places of the Verbund, are
    /// the server's).
    pub problems: Vec<Problem>,
}

impl Accepted {
    /// Whether the engine found no problem.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Accepts posted answers: keeps those that were asked for, validates them — the
/// visible parts of one step (`Some(step id)`: a step page sent, whose
/// `answers` the draft stores as given) or the whole form (`None`: the check page
/// and the submission, which stores `normalized` and `computed`) — normalises them
/// and computes the computed values.
#[must_use]
pub fn accept(form: &Form, step: Option<&str>, answers: &Answers, today: Date) -> Accepted {
    let answers = keep_asked(form, answers);
    let problems = validate(form, step, &answers, today);
    let normalized = normalize(form, &answers, today);
    let computed = compute(form, &answers);
    Accepted { answers, normalized, computed, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Answer;

    const TODAY: Date = Date { year: 2026, month: 11, day: 23 };

    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T",
            "steps": [
                {"id": "a", "title": "A", "items": [
                    {"item": "field", "id": "art", "label": "Art", "type": "radio", "required": true, "options": [
                        {"value": "privat", "label": "Privat"}, {"value": "verein", "label": "Verein"}]},
                    {"item": "field", "id": "verein", "label": "Vereinsname", "type": "text", "required": true,
                        "visible_if": {"equals": {"field": "art", "value": "verein"}}},
                    {"item": "field", "id": "betrag", "label": "Betrag", "type": "euro"}
                ]},
                {"id": "b", "title": "B", "items": [
                    {"item": "field", "id": "beginn", "label": "Beginn", "type": "date", "required": true}
                ]}
            ],
            "computed": [{"id": "summe", "label": "Summe", "expr": {"sum": [{"field": "betrag"}, {"cents": 100}]}}]
        }))
        .unwrap()
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Answer::One((*v).to_owned()))).collect()
    }

    #[test]
    fn a_step_is_kept_as_given_and_checked_alone() {
        let f = form();
        let posted = answers(&[("art", "privat"), ("verein", "Schützen"), ("betrag", "12,50"), ("fremd", "x")]);
        let a = accept(&f, Some("a"), &posted, TODAY);
        assert_eq!(a.answers, answers(&[("art", "privat"), ("betrag", "12,50")]), "hidden and unknown answers go");
        assert!(a.is_ok(), "{:?}", a.problems);
        assert_eq!(a.answers, keep_asked(&f, &posted));
        assert_eq!(a.problems, validate(&f, Some("a"), &a.answers, TODAY));
    }

    #[test]
    fn the_whole_form_is_checked_normalised_and_computed() {
        let f = form();
        let posted = answers(&[("art", "privat"), ("betrag", "12,50"), ("beginn", "24.12.2026")]);
        let a = accept(&f, None, &posted, TODAY);
        assert!(a.is_ok(), "{:?}", a.problems);
        assert_eq!(a.answers, posted);
        assert_eq!(a.normalized, answers(&[("art", "privat"), ("betrag", "1250"), ("beginn", "2026-12-24")]));
        assert_eq!(a.computed, vec![("summe".to_owned(), 1350)], "computed from the answers as given");
        assert_eq!(a.normalized, normalize(&f, &keep_asked(&f, &posted), TODAY));

        let missing = accept(&f, None, &answers(&[("art", "verein")]), TODAY);
        let paths: Vec<&str> = missing.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["verein", "beginn"]);
        assert!(!missing.is_ok());
    }
}
