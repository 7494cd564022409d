//! Property tests of the rule engine on a realistic form: generated valid answers
//! pass; each violated constraint yields exactly that field's problem; answers to
//! hidden or unknown fields are reported; the definition survives JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_forms::{Answer, Answers, Date, Form, accept, compute, keep_asked, normalize, validate};
use proptest::prelude::*;
use std::collections::BTreeMap;

const TODAY: Date = Date { year: 2026, month: 11, day: 23 };

fn form() -> Form {
    serde_json::from_str(
        r#"{
      "id": "osterfeuer", "title": "Osterfeuer anzeigen",
      "steps": [
        {"id": "person", "title": "Wer zeigt an?", "items": [
          {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true},
          {"item": "field", "id": "email", "label": "E-Mail-Adresse", "type": "email", "required": true},
          {"item": "field", "id": "plz", "label": "Postleitzahl", "type": "plz", "required": true},
          {"item": "field", "id": "geburt", "label": "Geburtsdatum", "type": "birth_date", "min_age": 18, "required": true}
        ]},
        {"id": "feuer", "title": "Das Feuer", "items": [
          {"item": "field", "id": "datum", "label": "Datum des Feuers", "type": "date", "not_before": "heute", "required": true},
          {"item": "field", "id": "ende", "label": "Ende", "type": "date"},
          {"item": "field", "id": "art", "label": "Art", "type": "radio", "required": true,
           "options": [{"value": "brauchtum", "label": "Brauchtumsfeuer"}, {"value": "privat", "label": "Privat"}]},
          {"item": "field", "id": "verein", "label": "Verein", "type": "text", "visible_if": {"equals": {"field": "art", "value": "brauchtum"}}, "required": true},
          {"item": "group", "id": "helfer", "label": "Brandwache", "repeat": {"min": 1, "max": 3}, "fields": [
            {"item": "field", "id": "name", "label": "Name der Brandwache", "type": "name", "required": true},
            {"item": "field", "id": "telefon", "label": "Telefon", "type": "phone", "required": true}
          ]}
        ]},
        {"id": "zahlung", "title": "Gebühr", "items": [
          {"item": "field", "id": "iban", "label": "IBAN", "type": "iban", "required": true},
          {"item": "field", "id": "versicherung", "label": "Ich versichere die Richtigkeit meiner Angaben", "type": "declaration", "text": "…"}
        ]}
      ],
      "computed": [{"id": "gebuehr", "label": "Gebühr", "expr": {"if": {"when": {"equals": {"field": "art", "value": "brauchtum"}}, "then": {"cents": 0}, "otherwise": {"sum": [{"cents": 2500}, {"product": [{"count": "helfer"}, {"cents": 500}]}]}}}}],
      "rules": [{"rule": "date_after", "field": "ende", "other": "datum", "message": "Das Ende muss nach dem Beginn liegen."}]
    }"#,
    )
    .expect("form parses")
}

fn one(s: &str) -> Answer {
    Answer::One(s.to_owned())
}

fn valid_answers(name: &str, helpers: usize, privat: bool) -> Answers {
    let mut a: Answers = BTreeMap::new();
    a.insert("name".into(), one(name));
    a.insert("email".into(), one("erika@example.org"));
    a.insert("plz".into(), one("29391"));
    a.insert("geburt".into(), one("24.12.1980"));
    a.insert("datum".into(), one("04.04.2027"));
    a.insert("art".into(), one(if privat { "privat" } else { "brauchtum" }));
    if !privat {
        a.insert("verein".into(), one("Schützenverein Moorbrück"));
    }
    let rows = (0..helpers)
        .map(|i| {
            BTreeMap::from([
                ("name".to_owned(), one(&format!("Helfer {}", "X".repeat(i + 1)))),
                ("telefon".to_owned(), one("05141 12345")),
            ])
        })
        .collect();
    a.insert("helfer".into(), Answer::Rows(rows));
    a.insert("iban".into(), one("DE89 3704 0044 0532 0130 00"));
    a.insert("versicherung".into(), one("ja"));
    a
}

proptest! {
    #[test]
    fn generated_valid_answers_pass(name in "[A-ZÄÖÜ][a-zäöüß]{1,20}( [A-Z][a-z]{1,15})?", helpers in 1usize..=3, privat in any::<bool>()) {
        let a = valid_answers(&name, helpers, privat);
        let problems = validate(&form(), None, &a, TODAY);
        prop_assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn each_violation_is_reported_at_exactly_its_field(which in 0usize..9, privat in any::<bool>()) {
        let mut a = valid_answers("Erika Mustermann", 2, privat);
        let (path, bad): (&str, Answer) = match which {
            0 => ("email", one("erika(at)example")),
            1 => ("plz", one("2939")),
            2 => ("geburt", one("01.01.2015")),
            3 => ("datum", one("01.01.2020")),
            4 => ("iban", one("DE89370400440532013001")),
            5 => ("art", one("lagerfeuer")),
            6 => ("versicherung", one("nein")),
            7 => ("name", one("R2D2")),
            _ => ("ende", one("01.04.2027")),
        };
        a.insert(path.to_owned(), bad);
        let problems = validate(&form(), None, &a, TODAY);
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        // A wrong "art" also hides/shows "verein": only "art" itself may be reported
        // besides an answer to the now hidden "verein".
        if path == "art" {
            prop_assert!(paths.contains(&"art"), "{problems:?}");
        } else {
            prop_assert_eq!(paths, vec![path]);
        }
    }

    #[test]
    fn a_bad_helper_is_reported_in_its_row(row in 0usize..3, bad_phone in "[a-z]{1,8}") {
        let mut a = valid_answers("Erika", 3, true);
        if let Some(Answer::Rows(rows)) = a.get_mut("helfer") {
            rows[row].insert("telefon".into(), one(&bad_phone));
        }
        let problems = validate(&form(), None, &a, TODAY);
        prop_assert_eq!(problems.len(), 1);
        prop_assert_eq!(&problems[0].path, &format!("helfer[{row}].telefon"));
    }

    #[test]
    fn accept_is_the_engine_chained_by_hand(
        helpers in 0usize..=4,
        privat in any::<bool>(),
        smuggled in any::<bool>(),
        step in prop::sample::select(vec![None, Some("person"), Some("feuer"), Some("zahlung"), Some("fehlt")]),
    ) {
        let f = form();
        let mut posted = valid_answers("Erika", helpers, privat);
        if smuggled {
            posted.insert("verein".into(), one("Eingeschmuggelt"));
            posted.insert("admin".into(), one("ja"));
        }
        let a = accept(&f, step, &posted, TODAY);
        let kept = keep_asked(&f, &posted);
        prop_assert_eq!(&a.problems, &validate(&f, step, &kept, TODAY));
        prop_assert_eq!(&a.normalized, &normalize(&f, &kept, TODAY));
        prop_assert_eq!(&a.computed, &compute(&f, &kept));
        prop_assert_eq!(a.is_ok(), a.problems.is_empty());
        prop_assert_eq!(a.answers, kept);
    }
}

#[test]
fn hidden_unknown_and_missing_answers() {
    let f = form();
    // "verein" is hidden for a private fire: answering it anyway is reported and not kept.
    let mut a = valid_answers("Erika", 1, true);
    a.insert("verein".into(), one("Eingeschmuggelt"));
    a.insert("admin".into(), one("ja"));
    let paths: Vec<_> = validate(&f, None, &a, TODAY).into_iter().map(|p| p.path).collect();
    assert_eq!(paths, ["admin", "verein"]);
    let kept = keep_asked(&f, &a);
    assert!(!kept.contains_key("verein") && !kept.contains_key("admin"));
    // Missing required answers, and the conditional one when it applies.
    let mut a = valid_answers("Erika", 1, false);
    a.remove("verein");
    a.remove("email");
    let problems = validate(&f, None, &a, TODAY);
    let messages: Vec<_> = problems.iter().map(|p| (p.path.as_str(), p.message.as_str())).collect();
    assert!(messages.contains(&("email", "Bitte füllen Sie „E-Mail-Adresse“ aus.")));
    assert!(messages.contains(&("verein", "Bitte füllen Sie „Verein“ aus.")));
    // Too many helpers; one step at a time.
    let a = valid_answers("Erika", 3, true);
    assert!(validate(&f, Some("person"), &a, TODAY).is_empty());
    let mut b = valid_answers("Erika", 3, true);
    if let Some(Answer::Rows(rows)) = b.get_mut("helfer") {
        rows.push(rows[0].clone());
    }
    assert_eq!(validate(&f, Some("feuer"), &b, TODAY)[0].path, "helfer");
}

#[test]
fn computed_fee_and_json_round_trip() {
    let f = form();
    assert_eq!(compute(&f, &valid_answers("Erika", 2, true)), [("gebuehr".to_owned(), 3500)]);
    assert_eq!(compute(&f, &valid_answers("Erika", 2, false)), [("gebuehr".to_owned(), 0)]);
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<Form>(&json).unwrap(), f);
}
