//! XDatenfelder 1.0 import on the own fixtures in `tests/fixtures/xdf1/`: the good
//! schema becomes the expected steps, fields and report entries; a file cut off
//! halfway and one with a field without `<id>` are refused with a message naming the
//! problem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_forms::{Answer, Answers, Date, Field, Form, Item, Kind, Repeat, validate};
use amtsweg_xdf::{ImportError, import};
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xdf1").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn field<'f>(form: &'f Form, id: &str) -> &'f Field {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .flat_map(|i| match i {
            Item::Field(f) => vec![f],
            Item::Group(g) => g.fields.iter().collect(),
        })
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no field {id}"))
}

#[test]
fn the_good_schema_imports_with_steps_fields_and_report() {
    let imported = import(&fixture("sondernutzung.xml")).unwrap();
    let (form, r) = (&imported.form, &imported.report);

    assert_eq!((r.standard.as_str(), r.id.as_str()), ("xdf1", "S99000001"));
    assert_eq!(r.version, "1.2", "the schema version comes from the message header");
    assert_eq!(r.title, "Sondernutzungserlaubnis beantragen");
    assert_eq!((r.fields, r.groups), (15, 4));
    assert_eq!(form.id, "s99000001");
    assert_eq!(form.title, r.title);

    // One step per top-level group; loose fields come first on their own step.
    let steps: Vec<(&str, &str)> = form.steps.iter().map(|s| (s.id.as_str(), s.title.as_str())).collect();
    assert_eq!(
        steps,
        [
            ("angaben", "Angaben"),
            ("G99000001", "Antragstellerin oder Antragsteller"),
            ("G99000003", "Ansprechperson vor Ort"),
            ("G99000004", "Die Sondernutzung"),
        ]
    );
    let groups: Vec<(&str, Option<Repeat>, usize)> = form
        .steps
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|i| match i {
            Item::Group(g) => Some((g.id.as_str(), g.repeat, g.fields.len())),
            Item::Field(_) => None,
        })
        .collect();
    assert_eq!(
        groups,
        [("G99000001", None, 6), ("G99000003", Some(Repeat { min: 0, max: 99 }), 2), ("G99000004", None, 6)],
        "0:n is a repeating group; the nested address group is flattened into its parent"
    );

    // Field types, limits, required-ness and hints.
    let info = field(form, "F99000001");
    assert_eq!(
        info.kind,
        Kind::Info { text: "Ihre Angaben werden nur für die Bearbeitung dieses Antrags verwendet.".into() }
    );
    assert!(!info.required);
    let anrede = field(form, "G99000001_F99000010");
    assert_eq!(anrede.kind, Kind::Select { options: Vec::new() });
    assert_eq!(anrede.hint, "Wählen Sie die Anrede.");
    assert!(anrede.required);
    assert_eq!(field(form, "G99000001_F99000011").kind, Kind::Text { max_len: 120 }, "JSON praezisierung");
    assert_eq!(field(form, "G99000001_F99000011").hint, "Geben Sie Ihren Familiennamen an.");
    let vorname = field(form, "G99000001_F99000012");
    assert_eq!(vorname.kind, Kind::Text { max_len: 80 }, "free-text praezisierung minLength=1, maxLength=80");
    assert!(!vorname.required, "cardinality 0:1");
    assert_eq!(field(form, "G99000001_F99000013").kind, Kind::Date { not_before: None, not_after: None });
    assert_eq!(field(form, "G99000001_G99000002_F99000020").kind, Kind::Text { max_len: 200 });
    assert_eq!(field(form, "G99000001_G99000002_F99000021").kind, Kind::Text { max_len: 5 });
    assert!(field(form, "G99000003_F99000030").required);
    assert!(!field(form, "G99000003_F99000031").required);
    let flaeche = field(form, "G99000004_F99000040");
    assert_eq!(flaeche.kind, Kind::Number { min: Some(1), max: Some(500) });
    assert_eq!(flaeche.hint, "Nur ganze Quadratmeter.");
    assert_eq!(field(form, "G99000004_F99000041").kind, Kind::Euro { min_cents: Some(0), max_cents: Some(100_000) });
    assert_eq!(field(form, "G99000004_F99000042").kind, Kind::LongText { max_len: 2000 });
    assert_eq!(field(form, "G99000004_F99000044").kind, Kind::YesNo, "check + bool");
    assert!(matches!(field(form, "G99000004_F99000045").kind, Kind::File { .. }));

    // Everything not carried over is in the report, once.
    let expected = [
        "Regel R99000001 („EndeNachBeginn“)",
        "Feld F99000010 („Anrede“): die Werte der Codeliste „urn:de:example:anrede“",
        "Gruppe G99000002 („Anschrift Inland“) ist tiefer verschachtelt",
        "Feld F99000021: Muster „[0-9]{5,5}“ wird nicht geprüft.",
        "Regel R99000002 („FlaecheNurBeiAufstellung“)",
        "Feld F99000040 („Fläche in Quadratmetern“): Vorbelegung „1“ wird nicht übernommen.",
        "Feld F99000042 („Was möchten Sie aufstellen?“): Präzisierung „nur sachliche Angaben“ ist Freitext",
        "Feld F99000045 („Lageplan“): erlaubte Dateitypen sind nicht angegeben",
    ];
    for e in expected {
        assert_eq!(r.not_supported.iter().filter(|m| m.starts_with(e)).count(), 1, "{e}: {:#?}", r.not_supported);
    }
    assert_eq!(r.not_supported.len(), expected.len(), "{:#?}", r.not_supported);
    assert!(
        !r.not_supported.iter().any(|m| m.contains("„Anrede“ ist Freitext")),
        "a praezisierung that only names the code list is not reported twice"
    );

    // The result is a usable form.
    let today = Date::new(2026, 11, 23).unwrap();
    let missing = validate(form, None, &Answers::new(), today);
    let paths: Vec<&str> = missing.iter().map(|p| p.path.as_str()).collect();
    for required in ["G99000001_F99000011", "G99000001_F99000013", "G99000004_F99000040", "G99000004_F99000044"] {
        assert!(paths.contains(&required), "{required}: {paths:?}");
    }
    assert!(!paths.contains(&"G99000001_F99000012") && !paths.contains(&"F99000001"), "{paths:?}");
    let mut step = Answers::new();
    for (k, v) in [
        ("G99000004_F99000040", "12"),
        ("G99000004_F99000041", "150,00"),
        ("G99000004_F99000042", "Ein Baugerüst vor dem Haus"),
        ("G99000004_F99000043", "01.12.2026"),
        ("G99000004_F99000044", "ja"),
    ] {
        step.insert(k.into(), Answer::One(v.into()));
    }
    assert_eq!(validate(form, Some("G99000004"), &step, today), []);
    step.insert("G99000004_F99000040".into(), Answer::One("501".into()));
    assert_eq!(validate(form, Some("G99000004"), &step, today).len(), 1, "maxValue=500 is enforced");

    let json = serde_json::to_string(form).unwrap();
    assert_eq!(serde_json::from_str::<Form>(&json).unwrap(), *form);
}

#[test]
fn a_file_cut_off_halfway_is_refused() {
    let e = import(&fixture("broken-halfway.xml")).unwrap_err();
    assert!(matches!(e, ImportError::Xml(_)), "{e:?}");
    let message = e.to_string();
    assert!(message.starts_with("Die Datei ist kein lesbares XML"), "{message}");
    assert!(message.contains("endet mitten im Dokument"), "the message names the problem: {message}");
}

#[test]
fn a_field_without_id_is_refused_naming_the_field() {
    let e = import(&fixture("missing-id.xml")).unwrap_err();
    assert_eq!(e, ImportError::Invalid("Ein Datenfeld („Vorname“) hat keine <id>.".into()));
    assert_eq!(e.to_string(), "Ungültiges XDatenfelder-Dokument: Ein Datenfeld („Vorname“) hat keine <id>.");
}

const XDF1_HEAD: &str =
    r#"<xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf="urn:xoev-de:fim:standard:xdatenfelder_1">"#;

fn schema(body: &str) -> String {
    format!("{XDF1_HEAD}<xdf:stammdatenschema>{body}</xdf:stammdatenschema></xdf:xdatenfelder.stammdatenschema.0102>")
}

fn text_field(id: &str, anzahl: &str) -> String {
    format!(
        "<xdf:struktur><xdf:anzahl>{anzahl}</xdf:anzahl><xdf:enthaelt><xdf:datenfeld><xdf:id>{id}</xdf:id>\
         <xdf:name>Feld {id}</xdf:name><xdf:feldart><code>input</code></xdf:feldart>\
         <xdf:datentyp><code>text</code></xdf:datentyp></xdf:datenfeld></xdf:enthaelt></xdf:struktur>"
    )
}

#[test]
fn xdf1_details() {
    // An xdf1 document may also carry ids in <identifikation> (as xdf2 does).
    let doc = schema(&format!(
        "<xdf:identifikation><xdf:id>S1</xdf:id><xdf:version>2.0</xdf:version></xdf:identifikation>\
         <xdf:name>Test</xdf:name>{}",
        text_field("F1", "1:1")
    ));
    let imported = import(&doc).unwrap();
    assert_eq!((imported.report.id.as_str(), imported.report.version.as_str()), ("S1", "2.0"));
    assert_eq!(imported.report.standard, "xdf1");
    assert_eq!(field(&imported.form, "F1").label, "Feld F1", "the name stands in for a missing bezeichnungEingabe");

    // Cardinalities: "n" and "*" are unbounded; anything else is refused by name.
    let ok = schema(&format!(
        "<xdf:id>S1</xdf:id><xdf:name>Test</xdf:name>{}{}",
        text_field("F1", "0:*"),
        text_field("F2", "0:n")
    ));
    assert_eq!(import(&ok).unwrap().report.fields, 2);
    let bad = schema(&format!("<xdf:id>S1</xdf:id><xdf:name>Test</xdf:name>{}", text_field("F1", "1..n")));
    assert_eq!(import(&bad).unwrap_err(), ImportError::Invalid("Anzahl „1..n“ ist nicht min:max.".into()));

    // Duplicate and empty ids, a missing schema id, and an empty message.
    let twice = schema("<xdf:id>S1</xdf:id><xdf:id>S2</xdf:id><xdf:name>Test</xdf:name>");
    assert_eq!(import(&twice).unwrap_err(), ImportError::Invalid("Das Schema („Test“) hat mehrere <id>.".into()));
    let empty = schema(&format!("<xdf:id>S1</xdf:id><xdf:name>Test</xdf:name>{}", text_field("", "1:1")));
    assert_eq!(import(&empty).unwrap_err(), ImportError::Invalid("Ein Datenfeld („Feld“) hat eine leere <id>.".into()));
    let no_id = schema("<xdf:name>Test</xdf:name>");
    assert_eq!(import(&no_id).unwrap_err(), ImportError::Invalid("Das Schema („Test“) hat keine <id>.".into()));
    let bare = format!("{XDF1_HEAD}</xdf:xdatenfelder.stammdatenschema.0102>");
    assert!(matches!(import(&bare).unwrap_err(), ImportError::Invalid(m) if m.contains("<stammdatenschema>")));
}

#[test]
fn xdf2_keeps_refusing_n_as_cardinality() {
    let doc = r#"<xdf:xdatenfelder.stammdatenschema.0102 xmlns:xdf="urn:xoev-de:fim:standard:xdatenfelder_2">
      <xdf:stammdatenschema><xdf:identifikation><xdf:id>S1</xdf:id></xdf:identifikation><xdf:name>T</xdf:name>
      <xdf:struktur><xdf:anzahl>0:n</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>
        <xdf:identifikation><xdf:id>F1</xdf:id></xdf:identifikation><xdf:name>F</xdf:name>
      </xdf:datenfeld></xdf:enthaelt></xdf:struktur></xdf:stammdatenschema></xdf:xdatenfelder.stammdatenschema.0102>"#;
    assert!(matches!(import(doc).unwrap_err(), ImportError::Invalid(m) if m.contains("0:n")));
}
