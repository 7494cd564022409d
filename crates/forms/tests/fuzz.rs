//! Fuzz harness of the rule engine's parsers of outside input: every answer value a
//! citizen can post (per field type: amounts, dates, IBAN, Steuer-ID, Kfz, …), whole
//! answer sets, and form definitions as JSON (uploaded by authority staff). Seeds
//! from `fuzz/corpus/form_values/` and `fuzz/corpus/form_json/`. Nothing panics,
//! normalised values stay in proportion to what was posted, and the work grows
//! linearly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use amtsweg_forms::display::{amounts, sections};
use amtsweg_forms::{Answer, Answers, Date, Field, Form, Item, accept, check, check_value, findings};
use harness::Dict;
use proptest::prelude::*;
use std::collections::BTreeMap;

const TODAY: Date = Date { year: 2026, month: 11, day: 23 };

const VALUE_DICT: Dict = Dict {
    tokens: &[
        ",",
        ".",
        "€",
        " ",
        "-",
        "+",
        "0",
        "9",
        "99999999999999999999",
        "e5",
        "DE",
        "XX",
        "\n",
        "\r",
        "\t",
        "\u{0}",
        "\u{a0}",
        "\u{2009}",
        "٣",
        "１",
        "ß",
        "ẞ",
        "😀",
        "@",
        "@@",
        "..",
        "29.02.",
        "31.12.9999",
        "00.00.0000",
        "-0",
    ],
    pairs: &[("(", ")"), ("\"", "\"")],
};

const JSON_DICT: Dict = Dict {
    tokens: &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "null",
        "true",
        "-1",
        "1e999",
        "18446744073709551616",
        "\"\"",
        "\"heute\"",
        r#"{"not": {"yes": {"field": "jn"}}}"#,
        r#"{"cents": 9223372036854775807}"#,
        r#"{"product": [{"cents": 9223372036854775807}, {"cents": 9223372036854775807}]}"#,
        r#"{"tiered": {"units": "zahl", "first": 9223372036854775807, "further": 9223372036854775807}}"#,
        r#""repeat": {"min": 4294967295, "max": 0}"#,
        r#""max_len": 0"#,
        r#""not_before": "9999-12-31""#,
        r#""not_after": "0000-01-01""#,
        r#""min_age": 4294967295"#,
        "\\u0000",
        "\\ud800",
    ],
    pairs: &[("{\"not\": ", "}"), ("{\"all\": [", "]}"), ("[", "]"), ("{\"sum\": [", "]}")],
};

fn forms() -> Vec<Form> {
    harness::corpus_text("form_json").iter().map(|j| serde_json::from_str(j).unwrap()).collect()
}

fn fields(form: &Form) -> Vec<&Field> {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .flat_map(|i| match i {
            Item::Field(f) => vec![f],
            Item::Group(g) => g.fields.iter().collect(),
        })
        .collect()
}

/// Ids the answers use: the form's own (so that answers are asked for) and others.
fn answer_id(form_ids: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![3 => proptest::sample::select(form_ids), 1 => "\\PC{0,12}"]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => harness::mutated_text(harness::corpus("form_values"), VALUE_DICT, 6, false),
        1 => "\\PC{0,80}",
    ]
}

fn answer(ids: Vec<String>) -> impl Strategy<Value = Answer> {
    let leaf = prop_oneof![
        4 => value().prop_map(Answer::One),
        1 => proptest::collection::vec(value(), 0..5).prop_map(Answer::Many),
    ];
    leaf.prop_recursive(2, 24, 4, move |inner| {
        proptest::collection::vec(proptest::collection::btree_map(answer_id(ids.clone()), inner, 0..4), 0..6)
            .prop_map(Answer::Rows)
    })
}

fn answers(form: &Form) -> impl Strategy<Value = Answers> + use<> {
    let mut ids: Vec<String> = fields(form).iter().map(|f| f.id.clone()).collect();
    ids.extend(form.steps.iter().flat_map(|s| &s.items).filter_map(|i| match i {
        Item::Group(g) => Some(g.id.clone()),
        Item::Field(_) => None,
    }));
    proptest::collection::btree_map(answer_id(ids.clone()), answer(ids), 0..24)
}

/// Everything the server does with a form and posted answers.
fn exercise(form: &Form, answers: &Answers) {
    let _ = check(form);
    let _ = findings(form);
    for step in std::iter::once(None).chain(form.steps.iter().map(|s| Some(s.id.as_str()))) {
        let accepted = accept(form, step, answers, TODAY);
        let posted: usize = serde_json::to_string(answers).unwrap().len();
        let kept = serde_json::to_string(&accepted.normalized).unwrap().len();
        assert!(kept <= 2 * posted + 1024, "normalised answers of {kept} bytes from {posted}");
        let _ = sections(form, &accepted.normalized, &[]);
        let _ = amounts(form, &accepted.computed);
    }
}

proptest! {
    #![proptest_config(harness::config(512))]

    /// Every field type with posted garbage: a value or a German message.
    #[test]
    fn every_field_type_checks_any_value(raw in value(), pick in any::<usize>()) {
        let forms = forms();
        let all = fields(&forms[0]);
        let f = all[pick % all.len()];
        match check_value(f, &raw, TODAY) {
            Ok(v) => prop_assert!(v.len() <= 2 * raw.len() + 64, "{v:?} from {raw:?}"),
            Err(m) => prop_assert!(!m.is_empty() && m.len() <= 2 * raw.len() + 1024),
        }
    }
}

proptest! {
    #![proptest_config(harness::config(128))]

    #[test]
    fn any_answers_are_accepted_or_explained(answers in answers(&forms()[0])) {
        exercise(&forms()[0], &answers);
    }

    /// Form definitions as an authority uploads them: mutated JSON.
    #[test]
    fn mutated_form_definitions_never_panic(
        json in harness::mutated_text(harness::corpus("form_json"), JSON_DICT, 8, false),
        answers in answers(&forms()[0]),
    ) {
        if let Ok(form) = serde_json::from_str::<Form>(&json) {
            exercise(&form, &answers);
        }
    }
}

#[test]
fn checking_time_grows_linearly() {
    let forms = forms();
    // One long value for every field type.
    for f in fields(&forms[0]) {
        for (shape, unit) in [("digits", "1"), ("letters", "a"), ("mixed", "1.a, €@-"), ("umlauts", "ä")] {
            harness::assert_linear_with(
                &format!("check_value({}, {shape})", f.id),
                256,
                2,
                |n| unit.repeat(n),
                |v| {
                    let _ = std::hint::black_box(check_value(f, v, TODAY));
                },
            );
        }
    }
    // Many answers, most of them not asked for.
    harness::assert_linear(
        "accept: many answers",
        64,
        |n| (0..n).map(|i| (format!("x{i}"), Answer::One("wert".into()))).collect::<Answers>(),
        |a| {
            std::hint::black_box(accept(&forms[0], None, a, TODAY));
        },
    );
    // Many checked boxes and many group rows.
    harness::assert_linear(
        "accept: many values and rows",
        64,
        |n| {
            let mut a = Answers::new();
            a.insert("boxen".into(), Answer::Many(vec!["1".into(); n]));
            a.insert(
                "kinder".into(),
                Answer::Rows(vec![BTreeMap::from([("vorname".to_owned(), Answer::One("Ida".into()))]); n]),
            );
            a
        },
        |a| {
            std::hint::black_box(accept(&forms[0], None, a, TODAY));
        },
    );
    // A definition with many fields (uploaded by staff, checked before it is stored).
    harness::assert_linear(
        "check: many fields",
        64,
        |n| {
            let items: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"item": "field", "id": "f{i}", "label": "Feld {i}", "type": "text", "visible_if": {{"filled": {{"field": "f{}"}}}}}}"#, i / 2))
                .collect();
            let json = format!(
                r#"{{"id": "gross", "title": "Groß", "steps": [{{"id": "s", "title": "S", "items": [{}]}}]}}"#,
                items.join(",")
            );
            serde_json::from_str::<Form>(&json).unwrap()
        },
        |form| {
            std::hint::black_box(findings(form));
            std::hint::black_box(accept(form, None, &Answers::new(), TODAY));
        },
    );
}
