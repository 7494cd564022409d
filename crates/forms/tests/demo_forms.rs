//! Every form definition shipped with the demo (`crates/cli/demo/forms/*.json`) is a
//! usable form: it parses without ignored keys, passes the editor's structural
//! `check`, its references (conditions, computed values, rules) point at fields that
//! exist, its last step asks for the declaration, and one complete answer set per
//! form passes `validate` without a problem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_forms::{Answer, Answers, Cond, Date, Expr, Field, Form, Item, Kind, Rule, check, compute, validate};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const TODAY: Date = Date { year: 2026, month: 11, day: 23 };

fn demo_forms() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cli/demo/forms");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn one(s: &str) -> Answer {
    Answer::One(s.to_owned())
}

fn answers(pairs: &[(&str, Answer)]) -> Answers {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, Answer> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), one(v))).collect()
}

/// One complete, valid answer set per demo form (by file name).
fn complete_answers(file: &str) -> Answers {
    match file {
        "briefwahl.json" => answers(&[
            ("vorname", one("Erika")),
            ("familienname", one("Mustermann")),
            ("geburtsdatum", one("12.08.1964")),
            ("strasse", one("Lange Straße 12")),
            ("plz", one("29391")),
            ("ort", one("Moorbrück")),
            ("versand", one("andere")),
            ("versandanschrift", one("Hotel Seeblick, Strandweg 3, 18225 Kühlungsborn")),
            ("email", one("erika@example.org")),
            ("versicherung", one("ja")),
        ]),
        "briefwahl-schnell.json" => answers(&[
            ("vorname", one("Erika")),
            ("familienname", one("Mustermann")),
            ("geburtsdatum", one("12.08.1964")),
            ("strasse", one("Lange Straße 12")),
            ("plz", one("29391")),
            ("ort", one("Moorbrück")),
            ("wahlbezirk", one("012")),
            ("waehlerverzeichnis", one("1234")),
            ("versand", one("wohnung")),
            ("versicherung", one("ja")),
        ]),
        "hundesteuer.json" => answers(&[
            ("name", one("Erika Mustermann")),
            ("steuer_id", one("86095742719")),
            ("email", one("erika@example.org")),
            (
                "hunde",
                Answer::Rows(vec![
                    row(&[("rufname", "Bello"), ("rasse", "Labrador"), ("seit", "01.03.2024")]),
                    row(&[("rufname", "Luna"), ("rasse", "Mischling"), ("seit", "15.10.2026")]),
                ]),
            ),
            ("iban", one("DE89 3704 0044 0532 0130 00")),
            ("versicherung", one("ja")),
        ]),
        "osterfeuer.json" => answers(&[
            ("name", one("Schützenverein Moorbrück e. V.")),
            ("telefon", one("05141 12345")),
            ("email", one("vorstand@example.org")),
            ("datum", one("04.04.2027")),
            ("ort", one("Festwiese am Mühlenteich, Flurstück 112/4")),
            ("art", one("brauchtum")),
            ("brandwache", Answer::Rows(vec![row(&[("name", "Hans Meier"), ("telefon", "0171 2345678")])])),
            ("versicherung", one("ja")),
        ]),
        "meldebescheinigung.json" => answers(&[
            ("vorname", one("Erika")),
            ("familienname", one("Mustermann")),
            ("geburtsname", one("Gabler")),
            ("geburtsdatum", one("12.08.1964")),
            ("hauptwohnung", one("Lange Straße 12\n29391 Moorbrück")),
            ("art", one("erweitert")),
            ("zusatzangaben", Answer::Many(vec!["staatsangehoerigkeit".into(), "familienstand".into()])),
            ("zweck", one("Nachweis für die Familienkasse")),
            ("zustellung", one("abholung")),
            ("email", one("erika@example.org")),
            ("versicherung", one("ja")),
        ]),
        "gewerbeanmeldung.json" => answers(&[
            ("vorname", one("Jonas")),
            ("familienname", one("Öztürk")),
            ("geburtsdatum", one("03.05.1990")),
            ("staatsangehoerigkeit", one("deutsch")),
            ("email", one("jonas@example.org")),
            ("rechtsform", one("gmbh")),
            ("betriebsname", one("Radwerk Moorbrück GmbH")),
            ("registergericht", one("Amtsgericht Lüneburg")),
            ("registernummer", one("HRB 204711")),
            ("betriebsstaette", one("Markt 3\n29391 Moorbrück")),
            ("telefon", one("05141 98765")),
            ("taetigkeit", one("Einzelhandel mit Fahrrädern und Zubehör, Reparatur von Fahrrädern")),
            ("beginn", one("01.02.2027")),
            ("nebenerwerb", one("nein")),
            ("steuer_id", one("47036892816")),
            ("ausweis", one("personalausweis.pdf")),
            ("versicherung", one("ja")),
        ]),
        "kita.json" => answers(&[
            (
                "eltern",
                Answer::Rows(vec![
                    row(&[("name", "Anna Schröder"), ("telefon", "0151 1234567"), ("email", "anna@example.org")]),
                    row(&[("name", "Malte Schröder"), ("telefon", "05141 55555"), ("email", "malte@example.org")]),
                ]),
            ),
            ("kind_vorname", one("Jule")),
            ("kind_familienname", one("Schröder")),
            ("kind_geburtsdatum", one("15.03.2025")),
            ("beginn", one("01.08.2027")),
            ("betreuungsumfang", one("35")),
            ("geschwister", one("ja")),
            ("geschwister_anzahl", one("1")),
            ("versicherung", one("ja")),
        ]),
        "personalausweis.json" => answers(&[
            ("vorname", one("Erika")),
            ("familienname", one("Mustermann")),
            ("geburtsdatum", one("12.08.1964")),
            ("email", one("erika@example.org")),
            ("anlass", one("ablauf")),
            ("ausweisnummer", one("L01X00T47")),
            ("versicherung", one("ja")),
        ]),
        other => panic!("{other}: add a complete answer set for this demo form to tests/demo_forms.rs"),
    }
}

/// Every key of `original` is in `parsed` (with the same value, recursively): serde
/// silently ignores unknown keys, so a misspelt key would otherwise go unnoticed.
/// (`"item": "field"` on the fields of a group is the documented shape, though the
/// model does not need it there.)
fn assert_nothing_ignored(original: &Value, parsed: &Value, path: &str) {
    match (original, parsed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if k == "item" && v == "field" && path.contains(".fields[") && !b.contains_key(k) {
                    continue;
                }
                let Some(w) = b.get(k) else { panic!("{path}.{k}: key is not part of the form model") };
                assert_nothing_ignored(v, w, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}");
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                assert_nothing_ignored(v, w, &format!("{path}[{i}]"));
            }
        }
        (a, b) => assert_eq!(a, b, "{path}"),
    }
}

struct Index<'f> {
    /// Top-level answer keys: fields (also those of plain groups) and repeating groups.
    fields: BTreeMap<&'f str, &'f Field>,
    repeating: BTreeSet<&'f str>,
}

fn index(form: &Form) -> Index<'_> {
    let mut ix = Index { fields: BTreeMap::new(), repeating: BTreeSet::new() };
    let mut step_ids = BTreeSet::new();
    for s in &form.steps {
        assert!(step_ids.insert(s.id.as_str()), "{}: step {} twice", form.id, s.id);
        assert!(!s.title.trim().is_empty() && !s.items.is_empty(), "{}: step {}", form.id, s.id);
        for item in &s.items {
            match item {
                Item::Field(f) => {
                    assert!(ix.fields.insert(&f.id, f).is_none(), "{}: field {} twice", form.id, f.id);
                }
                Item::Group(g) => {
                    assert!(!g.fields.is_empty(), "{}: group {}", form.id, g.id);
                    if let Some(r) = g.repeat {
                        assert!(r.min <= r.max && r.max >= 1, "{}: group {}", form.id, g.id);
                        assert!(!ix.fields.contains_key(g.id.as_str()), "{}: {} twice", form.id, g.id);
                        assert!(ix.repeating.insert(&g.id), "{}: group {} twice", form.id, g.id);
                        let mut inner = BTreeSet::new();
                        for f in &g.fields {
                            assert!(inner.insert(&f.id), "{}: {}.{} twice", form.id, g.id, f.id);
                        }
                    } else {
                        for f in &g.fields {
                            assert!(ix.fields.insert(&f.id, f).is_none(), "{}: field {} twice", form.id, f.id);
                        }
                    }
                }
            }
        }
    }
    assert!(ix.fields.keys().all(|k| !ix.repeating.contains(k)), "{}: a field and a group share an id", form.id);
    ix
}

fn options(f: &Field) -> Option<&[amtsweg_forms::Choice]> {
    match &f.kind {
        Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. } => Some(options),
        _ => None,
    }
}

fn check_cond(form: &Form, ix: &Index<'_>, c: &Cond) {
    let known_value = |field: &str, value: &str| {
        let f = ix.fields.get(field).unwrap_or_else(|| panic!("{}: condition on unknown field {field}", form.id));
        if let Some(opts) = options(f) {
            assert!(opts.iter().any(|o| o.value == value), "{}: {field} has no option {value}", form.id);
        }
    };
    match c {
        Cond::Equals { field, value } | Cond::NotEquals { field, value } => known_value(field, value),
        Cond::AnyOf { field, values } => values.iter().for_each(|v| known_value(field, v)),
        Cond::Filled { field } => {
            assert!(ix.fields.contains_key(field.as_str()) || ix.repeating.contains(field.as_str()), "{}", form.id);
        }
        Cond::Yes { field } => {
            let f = ix.fields.get(field.as_str()).unwrap_or_else(|| panic!("{}: unknown field {field}", form.id));
            assert!(matches!(f.kind, Kind::YesNo | Kind::Declaration { .. }), "{}: {field} is not yes/no", form.id);
        }
        Cond::All(cs) | Cond::Any(cs) => cs.iter().for_each(|c| check_cond(form, ix, c)),
        Cond::Not(c) => check_cond(form, ix, c),
    }
}

fn check_expr(form: &Form, ix: &Index<'_>, e: &Expr) {
    match e {
        Expr::Cents(_) => {}
        Expr::Field(f) => {
            let field = ix.fields.get(f.as_str()).unwrap_or_else(|| panic!("{}: computed from unknown {f}", form.id));
            assert!(matches!(field.kind, Kind::Number { .. } | Kind::Euro { .. }), "{}: {f}", form.id);
        }
        Expr::Count(g) => assert!(ix.repeating.contains(g.as_str()), "{}: count of unknown group {g}", form.id),
        Expr::Sum(es) | Expr::Product(es) => es.iter().for_each(|e| check_expr(form, ix, e)),
        Expr::If { when, then, otherwise } => {
            check_cond(form, ix, when);
            check_expr(form, ix, then);
            check_expr(form, ix, otherwise);
        }
        Expr::Tiered { units, first, further } => {
            let number = ix.fields.get(units.as_str()).is_some_and(|f| matches!(f.kind, Kind::Number { .. }));
            assert!(number || ix.repeating.contains(units.as_str()), "{}: tiered by unknown {units}", form.id);
            assert!(*first >= 0 && *further >= 0, "{}: negative tier", form.id);
        }
    }
}

/// The checks a form definition must pass beyond parsing.
fn check_definition(file: &str, json: &str) -> Form {
    let form: Form = serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: {e}"));
    let original: Value = serde_json::from_str(json).unwrap();
    assert_nothing_ignored(&original, &serde_json::to_value(&form).unwrap(), file);

    assert!(!form.id.is_empty() && form.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    assert!(!form.title.trim().is_empty(), "{file}");
    assert!(["normal", "substanziell", "hoch"].contains(&form.trust_level.as_str()), "{file}");
    assert_eq!(check(&form), Vec::<String>::new(), "{file}: the editor's structural check");
    let ix = index(&form);

    let all_fields = form.steps.iter().flat_map(|s| &s.items).flat_map(|i| match i {
        Item::Field(f) => vec![f],
        Item::Group(g) => g.fields.iter().collect(),
    });
    for f in all_fields {
        assert!(!f.label.trim().is_empty(), "{file}: {} has no label", f.id);
        if let Some(opts) = options(f) {
            let values: BTreeSet<&str> = opts.iter().map(|o| o.value.as_str()).collect();
            assert!(!opts.is_empty() && values.len() == opts.len(), "{file}: options of {}", f.id);
        }
        if let Kind::File { accept, max_bytes } = &f.kind {
            assert!(!accept.is_empty() && *max_bytes > 0, "{file}: {}", f.id);
        }
        for c in [&f.visible_if, &f.required_if].into_iter().flatten() {
            check_cond(&form, &ix, c);
        }
    }
    for s in &form.steps {
        s.visible_if.iter().for_each(|c| check_cond(&form, &ix, c));
        for item in &s.items {
            if let Item::Group(g) = item {
                g.visible_if.iter().for_each(|c| check_cond(&form, &ix, c));
            }
        }
    }
    for c in &form.computed {
        check_expr(&form, &ix, &c.expr);
    }
    for r in &form.rules {
        let dates: Vec<&str> = match r {
            Rule::DateAfter { field, other, .. } => vec![field, other],
            Rule::WithinDays { field, .. } => vec![field],
        };
        for d in dates {
            let f = ix.fields.get(d).unwrap_or_else(|| panic!("{file}: rule on unknown field {d}"));
            assert!(matches!(f.kind, Kind::Date { .. }), "{file}: rule on {d}, not a date");
        }
    }
    let last = form.steps.last().unwrap_or_else(|| panic!("{file}: no steps"));
    assert!(
        last.items.iter().any(|i| matches!(i, Item::Field(f) if matches!(f.kind, Kind::Declaration { .. }))),
        "{file}: the last step asks for the declaration"
    );
    form
}

#[test]
fn every_demo_form_is_a_usable_form() {
    let files = demo_forms();
    assert!(files.len() >= 6, "{files:?}");
    for (file, json) in &files {
        let form = check_definition(file, json);
        let a = complete_answers(file);
        assert_eq!(validate(&form, None, &a, TODAY), [], "{file}: a complete answer set is valid");
        for s in &form.steps {
            assert_eq!(validate(&form, Some(&s.id), &a, TODAY), [], "{file}: step {}", s.id);
        }
        let declarations: Vec<&str> = form
            .steps
            .iter()
            .flat_map(|s| &s.items)
            .filter_map(|i| match i {
                Item::Field(f) if matches!(f.kind, Kind::Declaration { .. }) => Some(f.id.as_str()),
                _ => None,
            })
            .collect();
        let missing = validate(&form, None, &Answers::new(), TODAY);
        assert!(declarations.iter().all(|d| missing.iter().any(|p| p.path == *d)), "{file}: {missing:?}");
    }
}

fn form(file: &str) -> Form {
    let (_, json) = demo_forms().into_iter().find(|(f, _)| f == file).unwrap_or_else(|| panic!("{file} missing"));
    serde_json::from_str(&json).unwrap()
}

fn paths(form: &Form, a: &Answers) -> Vec<String> {
    validate(form, None, a, TODAY).into_iter().map(|p| p.path).collect()
}

#[test]
fn meldebescheinigung_fee_and_conditions() {
    let f = form("meldebescheinigung.json");
    let mut a = complete_answers("meldebescheinigung.json");
    assert_eq!(compute(&f, &a), [("gebuehr".to_owned(), 900)]);
    a.insert("art".into(), one("einfach"));
    assert_eq!(compute(&f, &a), [("gebuehr".to_owned(), 750)]);
    assert_eq!(paths(&f, &a), ["zusatzangaben"], "extra details are asked only for the extended certificate");
    a.remove("zusatzangaben");
    a.insert("zustellung".into(), one("post"));
    assert_eq!(paths(&f, &a), ["email"], "the e-mail address is asked only for pickup");
    a.remove("email");
    assert_eq!(paths(&f, &a), Vec::<String>::new());
    a.insert("art".into(), one("erweitert"));
    assert_eq!(paths(&f, &a), ["zusatzangaben"], "the extended certificate needs at least one extra detail");
}

#[test]
fn gewerbeanmeldung_register_upload_and_start() {
    let f = form("gewerbeanmeldung.json");
    let mut a = complete_answers("gewerbeanmeldung.json");
    assert_eq!(compute(&f, &a), [("gebuehr".to_owned(), 2600)]);
    a.remove("registernummer");
    assert_eq!(paths(&f, &a), ["registernummer"], "GmbH: the register number is required");
    for rechtsform in ["ug", "ek"] {
        a.insert("rechtsform".into(), one(rechtsform));
        assert_eq!(paths(&f, &a), ["registernummer"], "{rechtsform}");
    }
    a.insert("rechtsform".into(), one("einzelunternehmen"));
    assert_eq!(paths(&f, &a), ["registergericht"], "not asked for a sole trader, so not kept");
    a.remove("registergericht");
    a.remove("steuer_id");
    assert_eq!(paths(&f, &a), Vec::<String>::new(), "the Steuer-ID is optional");
    a.insert("beginn".into(), one("22.11.2026"));
    assert_eq!(paths(&f, &a), ["beginn"], "the start is not before today");
    a.insert("beginn".into(), one("23.11.2026"));
    a.remove("ausweis");
    assert_eq!(paths(&f, &a), ["ausweis"], "the ID copy is required");
    let Some(Item::Field(upload)) =
        f.steps.iter().flat_map(|s| &s.items).find(|i| matches!(i, Item::Field(x) if x.id == "ausweis"))
    else {
        panic!("no upload")
    };
    assert_eq!(
        upload.kind,
        Kind::File { accept: vec!["pdf".into(), "jpg".into(), "jpeg".into(), "png".into()], max_bytes: 5_000_000 }
    );
}

#[test]
fn kita_parents_child_age_fee_and_siblings() {
    let f = form("kita.json");
    let mut a = complete_answers("kita.json");
    for (hours, cents) in [("25", 21_000), ("35", 29_500), ("45", 39_000)] {
        a.insert("betreuungsumfang".into(), one(hours));
        assert_eq!(compute(&f, &a), [("monatsbeitrag".to_owned(), cents)], "{hours} hours");
    }
    a.insert("kind_geburtsdatum".into(), one("01.01.2019"));
    assert_eq!(paths(&f, &a), ["kind_geburtsdatum"], "older than six");
    a.insert("kind_geburtsdatum".into(), one("15.03.2025"));
    a.insert("eltern".into(), Answer::Rows(Vec::new()));
    assert_eq!(paths(&f, &a), ["eltern"], "at least one parent");
    let parent = row(&[("name", "Anna Schröder"), ("telefon", "0151 1234567"), ("email", "anna@example.org")]);
    a.insert("eltern".into(), Answer::Rows(vec![parent.clone(), parent.clone(), parent]));
    assert_eq!(paths(&f, &a), ["eltern"], "at most two parents");
    a.insert("eltern".into(), Answer::Rows(vec![row(&[("name", "Anna Schröder"), ("telefon", "0151 1234567")])]));
    assert_eq!(paths(&f, &a), ["eltern[0].email"]);
    a.insert("eltern".into(), complete_answers("kita.json")["eltern"].clone());
    a.remove("geschwister_anzahl");
    assert_eq!(paths(&f, &a), ["geschwister_anzahl"], "the number of siblings is asked when there are some");
    a.insert("geschwister".into(), one("nein"));
    assert_eq!(paths(&f, &a), Vec::<String>::new());
}

fn dogs(n: usize) -> Answer {
    Answer::Rows(
        (0..n)
            .map(|i| row(&[("rufname", &format!("Hund {i}")), ("rasse", "Mischling"), ("seit", "01.03.2024")]))
            .collect(),
    )
}

/// The dog tax as the service text says: 90 € for the first dog, 135 € for every
/// further one — and no amount at all before the dogs are entered (it said
/// "−30,00 €" with no dog and 150 € for two).
#[test]
fn hundesteuer_tariff_per_number_of_dogs() {
    let f = form("hundesteuer.json");
    let mut a = complete_answers("hundesteuer.json");
    a.remove("hunde");
    assert_eq!(compute(&f, &a), [], "0 dogs entered yet: no amount shown");
    a.insert("hunde".into(), dogs(0));
    assert_eq!(compute(&f, &a), [("jahressteuer".to_owned(), 0)], "an empty list costs nothing, never less");
    for (n, cents) in [(1, 9_000), (2, 22_500), (3, 36_000)] {
        a.insert("hunde".into(), dogs(n));
        assert_eq!(compute(&f, &a), [("jahressteuer".to_owned(), cents)], "{n} dogs");
    }
}

/// Osterfeuer: 15 € for private persons (and other communities), free for
/// associations, fire brigades and parishes, as the service text says.
#[test]
fn osterfeuer_tariff_per_organiser() {
    let f = form("osterfeuer.json");
    assert_eq!(f.title, "Osterfeuer anmelden", "named like its service");
    let mut a = complete_answers("osterfeuer.json");
    a.remove("art");
    assert_eq!(compute(&f, &a), [], "not shown before the organiser is chosen");
    for (art, cents) in
        [("privat", 1_500), ("brauchtum", 1_500), ("feuerwehr", 0), ("verein", 0), ("kirchengemeinde", 0)]
    {
        a.insert("art".into(), one(art));
        assert_eq!(compute(&f, &a), [("gebuehr".to_owned(), cents)], "{art}");
        assert_eq!(validate(&f, None, &a, TODAY), [], "{art} is a valid answer");
    }
}

/// Every demo fee is shown only once its answers are given and is never negative.
#[test]
fn demo_amounts_wait_for_their_answers_and_are_never_negative() {
    for (file, _) in demo_forms() {
        let f = form(&file);
        for (id, cents) in compute(&f, &complete_answers(&file)) {
            assert!(cents >= 0, "{file}: {id}");
        }
        let constant = f.computed.iter().all(|c| matches!(c.expr, Expr::Cents(_)));
        if !constant {
            assert_eq!(compute(&f, &Answers::new()), [], "{file}: nothing answered, nothing computed");
        }
    }
}
