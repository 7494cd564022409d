//! Answers in words, as the check page, the receipt (page and PDF) and the e-mailed
//! copy show them: one line per answer ("Keine Angabe" when empty), choices by
//! their labels, dates and amounts the German way, files by their names, rows of
//! repeating groups numbered — by visible step, and the computed values in euros.

use crate::date::Date;
use crate::engine::{Answer, Answers, check_value, holds, split_address, visible_steps};
use crate::model::{Field, Form, Item, Kind, Step};
use serde::{Deserialize, Serialize};

/// What an empty answer shows.
pub const NO_ANSWER: &str = "Keine Angabe";

/// A file uploaded as an answer: its id, the field it answers, its name and size in
/// bytes. The display finds a field's file by `field` (the answer path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub id: i64,
    pub field: String,
    pub name: String,
    pub size: i64,
}

/// One answer in words: label and value (rows of groups as "Kind 1: Name").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub label: String,
    pub value: String,
    /// The HTML id of the input ([`anchor`]), for "Ändern" links.
    pub anchor: String,
}

/// The answers of one visible step, in the order of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The step's id.
    pub step: String,
    /// The step's title.
    pub title: String,
    pub lines: Vec<Line>,
}

/// A computed value with its label, as text ([`euro_text`]) and in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    /// The computed value's id.
    pub id: String,
    pub label: String,
    /// The amount as the citizen reads it: `1.234,50 €`.
    pub value: String,
    pub cents: i64,
}

/// The HTML id of an answer path (`name` → `f-name`, `kinder[1].name` →
/// `g-kinder-1-name`, `kinder[1]` → `g-kinder-1`).
#[must_use]
pub fn anchor(path: &str) -> String {
    match path.split_once('[') {
        Some((g, rest)) => {
            let (i, f) = rest.split_once("].").unwrap_or((rest.trim_end_matches(']'), ""));
            if f.is_empty() { format!("g-{g}-{i}") } else { format!("g-{g}-{i}-{f}") }
        }
        None => format!("f-{path}"),
    }
}

/// An amount in cents as the citizen reads it: `1.234,50 €`.
#[must_use]
pub fn euro_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let euros = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped},{:02} €", c % 100)
}

/// A date answer the German way (`24.12.2026`); anything else as given.
fn date_text(v: &str) -> String {
    Date::parse(v).map_or_else(|| v.to_owned(), Date::german)
}

/// Any day: the display checks amounts, which do not depend on it.
const SOME_DAY: Date = Date { year: 2000, month: 1, day: 1 };

/// One answer in words (empty when there is nothing to show): choices by their
/// labels, "Ja"/"Nein", "Bestätigt", amounts in euros, dates `TT.MM.JJJJ`, an
/// address on one line, the name of the file uploaded for `path`.
#[must_use]
pub fn answer_text(f: &Field, a: &Answer, files: &[FileInfo], path: &str) -> String {
    match (&f.kind, a) {
        (Kind::File { .. }, _) => files.iter().find(|x| x.field == path).map_or_else(String::new, |x| x.name.clone()),
        (Kind::Checkboxes { options, .. }, Answer::Many(v)) => v
            .iter()
            .map(|c| options.iter().find(|o| &o.value == c).map_or(c.as_str(), |o| o.label.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
        (Kind::Select { options } | Kind::Radio { options }, Answer::One(v)) => {
            options.iter().find(|o| &o.value == v).map_or_else(|| v.clone(), |o| o.label.clone())
        }
        (Kind::YesNo, Answer::One(v)) => if v == "ja" { "Ja" } else { "Nein" }.to_owned(),
        (Kind::Declaration { .. }, Answer::One(v)) if v == "ja" => "Bestätigt".to_owned(),
        (Kind::Euro { .. }, Answer::One(v)) => {
            check_value(f, v, SOME_DAY).ok().and_then(|c| c.parse::<i64>().ok()).map_or_else(|| v.clone(), euro_text)
        }
        (Kind::Date { .. } | Kind::BirthDate { .. }, Answer::One(v)) => date_text(v),
        (Kind::Address { .. }, Answer::One(v)) => {
            let (street, place) = split_address(v);
            format!("{street}, {place}")
        }
        (_, Answer::One(v)) => v.clone(),
        (_, Answer::Many(v)) => v.join(", "),
        (_, Answer::Rows(_)) => String::new(),
    }
}

/// The line of one field (none for a hint, which takes no answer).
fn line(f: &Field, a: Option<&Answer>, files: &[FileInfo], path: &str) -> Option<Line> {
    if matches!(f.kind, Kind::Info { .. }) {
        return None;
    }
    let value = match a {
        Some(a) => answer_text(f, a, files, path),
        None if matches!(f.kind, Kind::File { .. }) => answer_text(f, &Answer::One(String::new()), files, path),
        None => String::new(),
    };
    Some(Line {
        label: f.label.clone(),
        value: if value.is_empty() { NO_ANSWER.to_owned() } else { value },
        anchor: anchor(path),
    })
}

/// The answers of one step in words, in the order of the form: every visible field
/// (also unanswered ones, as [`NO_ANSWER`]), hints left out; a repeating group
/// answered with rows gives each row's fields as "Group label 1: Field label".
#[must_use]
pub fn step_lines(step: &Step, answers: &Answers, files: &[FileInfo]) -> Vec<Line> {
    let mut out = Vec::new();
    for item in &step.items {
        match item {
            Item::Field(f) => {
                if f.visible_if.as_ref().is_some_and(|c| !holds(c, answers)) {
                    continue;
                }
                out.extend(line(f, answers.get(&f.id), files, &f.id));
            }
            Item::Group(g) => {
                if g.visible_if.as_ref().is_some_and(|c| !holds(c, answers)) {
                    continue;
                }
                match answers.get(&g.id) {
                    Some(Answer::Rows(rows)) => {
                        for (i, row) in rows.iter().enumerate() {
                            for f in &g.fields {
                                let path = format!("{}[{i}].{}", g.id, f.id);
                                if let Some(mut l) = line(f, row.get(&f.id), files, &path) {
                                    l.label = format!("{} {}: {}", g.label, i + 1, l.label);
                                    out.push(l);
                                }
                            }
                        }
                    }
                    _ if g.repeat.is_some() => {}
                    _ => {
                        for f in &g.fields {
                            if f.visible_if.as_ref().is_some_and(|c| !holds(c, answers)) {
                                continue;
                            }
                            out.extend(line(f, answers.get(&f.id), files, &f.id));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The answers in words by visible step ([`step_lines`]).
#[must_use]
pub fn sections(form: &Form, answers: &Answers, files: &[FileInfo]) -> Vec<Section> {
    visible_steps(form, answers)
        .into_iter()
        .map(|s| Section { step: s.id.clone(), title: s.title.clone(), lines: step_lines(s, answers, files) })
        .collect()
}

/// Computed values (id, cents — from [`crate::compute`] or as stored) with their
/// labels, as euro text; values the form no longer defines are left out.
#[must_use]
pub fn amounts(form: &Form, computed: &[(String, i64)]) -> Vec<Amount> {
    computed
        .iter()
        .filter_map(|(id, cents)| {
            form.computed.iter().find(|c| &c.id == id).map(|c| Amount {
                id: id.clone(),
                label: c.label.clone(),
                value: euro_text(*cents),
                cents: *cents,
            })
        })
        .collect()
}

/// The lines of all sections as plain text, one `Label: value` a line (for e-mail).
#[must_use]
pub fn plain_text(sections: &[Section]) -> String {
    sections.iter().flat_map(|s| &s.lines).map(|l| format!("{}: {}", l.label, l.value)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// One step with a field of every kind, a plain group, a repeating group and a
    /// second step shown only for associations.
    fn form() -> Form {
        serde_json::from_value(serde_json::json!({
            "id": "t", "title": "T",
            "steps": [
                {"id": "a", "title": "Alles", "items": [
                    {"item": "field", "id": "text", "label": "Text", "type": "text"},
                    {"item": "field", "id": "lang", "label": "Langtext", "type": "long_text"},
                    {"item": "field", "id": "zahl", "label": "Zahl", "type": "number"},
                    {"item": "field", "id": "betrag", "label": "Betrag", "type": "euro", "max_cents": 100_000_000},
                    {"item": "field", "id": "datum", "label": "Datum", "type": "date"},
                    {"item": "field", "id": "geburt", "label": "Geburtsdatum", "type": "birth_date"},
                    {"item": "field", "id": "auswahl", "label": "Auswahl", "type": "select", "options": [
                        {"value": "a", "label": "Erste"}, {"value": "b", "label": "Zweite"}]},
                    {"item": "field", "id": "art", "label": "Art", "type": "radio", "options": [
                        {"value": "privat", "label": "Privat"}, {"value": "verein", "label": "Verein"}]},
                    {"item": "field", "id": "haken", "label": "Haken", "type": "checkboxes", "options": [
                        {"value": "x", "label": "Iks"}, {"value": "y", "label": "Ypsilon"}]},
                    {"item": "field", "id": "jn", "label": "Ja oder nein", "type": "yes_no"},
                    {"item": "field", "id": "email", "label": "E-Mail", "type": "email"},
                    {"item": "field", "id": "telefon", "label": "Telefon", "type": "phone"},
                    {"item": "field", "id": "iban", "label": "IBAN", "type": "iban"},
                    {"item": "field", "id": "plz", "label": "PLZ", "type": "plz"},
                    {"item": "field", "id": "steuer", "label": "Steuer-ID", "type": "steuer_id"},
                    {"item": "field", "id": "kfz", "label": "Kennzeichen", "type": "kfz"},
                    {"item": "field", "id": "wo", "label": "Anschrift", "type": "address"},
                    {"item": "field", "id": "name", "label": "Name", "type": "name"},
                    {"item": "field", "id": "datei", "label": "Nachweis", "type": "file", "accept": ["pdf"], "max_bytes": 1000},
                    {"item": "field", "id": "hinweis", "label": "Hinweis", "type": "info", "text": "Bitte lesen."},
                    {"item": "field", "id": "ok", "label": "Richtig", "type": "declaration", "text": "Ich versichere."},
                    {"item": "field", "id": "verein", "label": "Vereinsname", "type": "text",
                        "visible_if": {"equals": {"field": "art", "value": "verein"}}},
                    {"item": "group", "id": "kontakt", "label": "Kontakt", "fields": [
                        {"item": "field", "id": "mobil", "label": "Mobil", "type": "phone"},
                        {"item": "field", "id": "fax", "label": "Fax", "type": "phone",
                            "visible_if": {"filled": {"field": "mobil"}}}]},
                    {"item": "group", "id": "kinder", "label": "Kind", "repeat": {"min": 0, "max": 3}, "fields": [
                        {"item": "field", "id": "name", "label": "Name", "type": "name"},
                        {"item": "field", "id": "geboren", "label": "Geboren", "type": "birth_date"}]}
                ]},
                {"id": "b", "title": "Verein", "visible_if": {"equals": {"field": "art", "value": "verein"}}, "items": [
                    {"item": "field", "id": "mitglieder", "label": "Mitglieder", "type": "number"}
                ]}
            ],
            "computed": [
                {"id": "gebuehr", "label": "Gebühr", "expr": {"cents": 2600}},
                {"id": "pfand", "label": "Pfand", "expr": {"field": "betrag"}}
            ]
        }))
        .unwrap()
    }

    fn one(v: &str) -> Answer {
        Answer::One(v.to_owned())
    }

    fn many(v: &[&str]) -> Answer {
        Answer::Many(v.iter().map(|s| (*s).to_owned()).collect())
    }

    fn answers(pairs: &[(&str, Answer)]) -> Answers {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn file(field: &str, name: &str) -> FileInfo {
        FileInfo { id: 7, field: field.into(), name: name.into(), size: 10 }
    }

    /// The value of the line labelled `label` on the first step.
    fn shown(a: &Answers, files: &[FileInfo], label: &str) -> Option<String> {
        let f = form();
        step_lines(&f.steps[0], a, files).into_iter().find(|l| l.label == label).map(|l| l.value)
    }

    fn value(id: &str, label: &str, a: Answer) -> String {
        shown(&answers(&[(id, a)]), &[], label).unwrap_or_else(|| panic!("no line {label}"))
    }

    #[test]
    fn anchors_and_amounts() {
        assert_eq!(anchor("name"), "f-name");
        assert_eq!(anchor("kinder[1].name"), "g-kinder-1-name");
        assert_eq!(anchor("kinder[1]"), "g-kinder-1");
        assert_eq!(euro_text(123_450), "1.234,50 €");
        assert_eq!(euro_text(500), "5,00 €");
        assert_eq!(euro_text(0), "0,00 €");
        assert_eq!(euro_text(5), "0,05 €");
        assert_eq!(euro_text(99_999), "999,99 €");
        assert_eq!(euro_text(100_000), "1.000,00 €");
        assert_eq!(euro_text(12_345_678_900), "123.456.789,00 €");
        assert_eq!(euro_text(-2_600), "-26,00 €");
        assert_eq!(euro_text(-123_450), "-1.234,50 €");
        assert_eq!(euro_text(i64::MIN), "-92.233.720.368.547.758,08 €");
    }

    #[test]
    fn empty_answers_show_no_answer() {
        let lines = step_lines(&form().steps[0], &Answers::new(), &[]);
        let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Text",
                "Langtext",
                "Zahl",
                "Betrag",
                "Datum",
                "Geburtsdatum",
                "Auswahl",
                "Art",
                "Haken",
                "Ja oder nein",
                "E-Mail",
                "Telefon",
                "IBAN",
                "PLZ",
                "Steuer-ID",
                "Kennzeichen",
                "Anschrift",
                "Name",
                "Nachweis",
                "Richtig",
                "Mobil"
            ],
            "hints, hidden fields and unanswered repeating groups have no line"
        );
        assert!(lines.iter().all(|l| l.value == NO_ANSWER), "{lines:?}");
        assert_eq!(value("text", "Text", one("")), "Keine Angabe");
        assert_eq!(value("haken", "Haken", many(&[])), "Keine Angabe");
    }

    #[test]
    fn text_fields_show_as_given() {
        assert_eq!(value("text", "Text", one("Erika <b>Müller</b> & Söhne")), "Erika <b>Müller</b> & Söhne");
        assert_eq!(value("lang", "Langtext", one("Zeile 1\nZeile 2")), "Zeile 1\nZeile 2");
        assert_eq!(value("zahl", "Zahl", one("42")), "42");
        assert_eq!(value("email", "E-Mail", one("erika@example.de")), "erika@example.de");
        assert_eq!(value("telefon", "Telefon", one("05161 1234")), "05161 1234");
        assert_eq!(value("iban", "IBAN", one("DE02120300000000202051")), "DE02120300000000202051");
        assert_eq!(value("plz", "PLZ", one("29393")), "29393");
        assert_eq!(value("steuer", "Steuer-ID", one("12345678995")), "12345678995");
        assert_eq!(value("kfz", "Kennzeichen", one("HK-AB 123")), "HK-AB 123");
        assert_eq!(value("name", "Name", one("Erika Mustermann")), "Erika Mustermann");
    }

    #[test]
    fn amounts_show_in_euros() {
        assert_eq!(value("betrag", "Betrag", one("12,5")), "12,50 €");
        assert_eq!(value("betrag", "Betrag", one("1.234,05 €")), "1.234,05 €");
        assert_eq!(value("betrag", "Betrag", one("1234.5")), "1.234,50 €");
        assert_eq!(value("betrag", "Betrag", one("zwölf")), "zwölf", "not an amount: as given");
        assert_eq!(value("betrag", "Betrag", one("2000000")), "2000000", "out of range: as given");
    }

    #[test]
    fn dates_show_the_german_way() {
        assert_eq!(value("datum", "Datum", one("2026-12-24")), "24.12.2026");
        assert_eq!(value("datum", "Datum", one("24.12.2026")), "24.12.2026");
        assert_eq!(value("datum", "Datum", one("bald")), "bald");
        assert_eq!(value("geburt", "Geburtsdatum", one("1980-02-29")), "29.02.1980");
    }

    #[test]
    fn choices_show_their_labels() {
        assert_eq!(value("auswahl", "Auswahl", one("b")), "Zweite");
        assert_eq!(value("auswahl", "Auswahl", one("c")), "c", "an unknown choice as given");
        assert_eq!(value("art", "Art", one("privat")), "Privat");
        assert_eq!(value("haken", "Haken", many(&["y", "x"])), "Ypsilon, Iks");
        assert_eq!(value("haken", "Haken", many(&["x", "z"])), "Iks, z");
        assert_eq!(value("haken", "Haken", one("x")), "x", "a single value is not looked up");
        assert_eq!(value("jn", "Ja oder nein", one("ja")), "Ja");
        assert_eq!(value("jn", "Ja oder nein", one("nein")), "Nein");
        assert_eq!(value("ok", "Richtig", one("ja")), "Bestätigt");
        assert_eq!(value("ok", "Richtig", one("")), "Keine Angabe");
        assert_eq!(value("text", "Text", many(&["a", "b"])), "a, b");
        assert_eq!(value("text", "Text", Answer::Rows(vec![BTreeMap::new()])), "Keine Angabe");
    }

    #[test]
    fn addresses_show_on_one_line() {
        assert_eq!(value("wo", "Anschrift", one("Am Markt 1\n29393 Moorbrück")), "Am Markt 1, 29393 Moorbrück");
        assert_eq!(value("wo", "Anschrift", one(" Am Markt 1 \n 29393 Moorbrück ")), "Am Markt 1, 29393 Moorbrück");
    }

    #[test]
    fn files_show_their_names() {
        let a = answers(&[("datei", one("datei:7"))]);
        let files = [file("andere", "falsch.pdf"), file("datei", "Nachweis <1>.pdf"), file("datei", "zweite.pdf")];
        assert_eq!(shown(&a, &files, "Nachweis").as_deref(), Some("Nachweis <1>.pdf"), "the first for the field");
        assert_eq!(
            shown(&Answers::new(), &files, "Nachweis").as_deref(),
            Some("Nachweis <1>.pdf"),
            "found by field, even without an answer"
        );
        assert_eq!(shown(&a, &[], "Nachweis").as_deref(), Some("Keine Angabe"), "no file: no name");
    }

    #[test]
    fn hidden_fields_and_hints_have_no_line() {
        let a = answers(&[("art", one("privat")), ("verein", one("Schützen")), ("hinweis", one("x"))]);
        assert_eq!(shown(&a, &[], "Vereinsname"), None);
        assert_eq!(shown(&a, &[], "Hinweis"), None);
        let a = answers(&[("art", one("verein")), ("verein", one("Schützen"))]);
        assert_eq!(shown(&a, &[], "Vereinsname").as_deref(), Some("Schützen"));
    }

    #[test]
    fn plain_groups_show_their_fields() {
        assert_eq!(shown(&Answers::new(), &[], "Fax"), None, "hidden by its condition");
        let a = answers(&[("mobil", one("0171 1234")), ("fax", one("05161 99"))]);
        let lines = step_lines(&form().steps[0], &a, &[]);
        let mobil = lines.iter().find(|l| l.label == "Mobil").unwrap();
        assert_eq!((mobil.value.as_str(), mobil.anchor.as_str()), ("0171 1234", "f-mobil"));
        assert_eq!(shown(&a, &[], "Fax").as_deref(), Some("05161 99"));
    }

    #[test]
    fn rows_of_repeating_groups_are_numbered() {
        let rows = vec![
            [("name".to_owned(), one("Ida \"Ida\"")), ("geboren".to_owned(), one("2015-03-01"))].into_iter().collect(),
            BTreeMap::new(),
        ];
        let a = answers(&[("kinder", Answer::Rows(rows)), ("name", one("Erika"))]);
        let lines: Vec<Line> =
            step_lines(&form().steps[0], &a, &[]).into_iter().filter(|l| l.label.starts_with("Kind ")).collect();
        let got: Vec<(&str, &str, &str)> =
            lines.iter().map(|l| (l.label.as_str(), l.value.as_str(), l.anchor.as_str())).collect();
        assert_eq!(
            got,
            [
                ("Kind 1: Name", "Ida \"Ida\"", "g-kinder-0-name"),
                ("Kind 1: Geboren", "01.03.2015", "g-kinder-0-geboren"),
                ("Kind 2: Name", "Keine Angabe", "g-kinder-1-name"),
                ("Kind 2: Geboren", "Keine Angabe", "g-kinder-1-geboren"),
            ]
        );
        assert_eq!(shown(&a, &[], "Name").as_deref(), Some("Erika"), "the top-level field of the same id");
        let not_rows = answers(&[("kinder", one("x"))]);
        assert!(step_lines(&form().steps[0], &not_rows, &[]).iter().all(|l| !l.label.starts_with("Kind ")));
    }

    #[test]
    fn sections_are_the_visible_steps() {
        let f = form();
        let privat = sections(&f, &answers(&[("art", one("privat"))]), &[]);
        assert_eq!(privat.iter().map(|s| (s.step.as_str(), s.title.as_str())).collect::<Vec<_>>(), [("a", "Alles")]);
        let verein = sections(&f, &answers(&[("art", one("verein")), ("mitglieder", one("12"))]), &[]);
        assert_eq!(verein.len(), 2);
        assert_eq!(
            verein[1],
            Section {
                step: "b".into(),
                title: "Verein".into(),
                lines: vec![Line { label: "Mitglieder".into(), value: "12".into(), anchor: "f-mitglieder".into() }],
            }
        );
        assert_eq!(verein[0].lines, step_lines(&f.steps[0], &answers(&[("art", one("verein"))]), &[]));
    }

    #[test]
    fn computed_values_with_their_labels() {
        let f = form();
        let computed = vec![("gebuehr".to_owned(), 2600), ("weg".to_owned(), 1), ("pfand".to_owned(), 123_450)];
        let got = amounts(&f, &computed);
        assert_eq!(
            got,
            [
                Amount { id: "gebuehr".into(), label: "Gebühr".into(), value: "26,00 €".into(), cents: 2600 },
                Amount { id: "pfand".into(), label: "Pfand".into(), value: "1.234,50 €".into(), cents: 123_450 },
            ],
            "in the given order; ids the form does not define are left out"
        );
        let a = answers(&[("betrag", one("12,50"))]);
        let values: Vec<String> = amounts(&f, &crate::compute(&f, &a)).into_iter().map(|x| x.value).collect();
        assert_eq!(values, ["26,00 €", "12,50 €"]);
    }

    #[test]
    fn plain_text_for_e_mail() {
        let f = form();
        let a = answers(&[("art", one("verein")), ("text", one("Hallo")), ("mitglieder", one("12"))]);
        let text = plain_text(&sections(&f, &a, &[]));
        assert!(text.starts_with("Text: Hallo\nLangtext: Keine Angabe\n"), "{text}");
        assert!(text.ends_with("\nMitglieder: 12"), "{text}");
        assert_eq!(text.lines().count(), 23);
        assert_eq!(plain_text(&[]), "");
    }

    #[test]
    fn lines_serialise_as_the_templates_read_them() {
        let l = Line { label: "Name".into(), value: "Erika".into(), anchor: "f-name".into() };
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"label": "Name", "value": "Erika", "anchor": "f-name"})
        );
    }
}
