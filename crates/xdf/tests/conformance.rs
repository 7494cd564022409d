//! The XDatenfelder files in `../shared/conformance/xdatenfelder/` (skipped with a
//! message when absent): the real Blaue Karte schema imports completely, every good
//! file imports, the broken ones are refused with a message naming the problem.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_forms::{Answers, Date, Item, Kind, validate};
use amtsweg_xdf::{ImportError, import};
use std::path::PathBuf;

fn dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/xdatenfelder");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("SKIPPED: {} is absent", d.display());
        None
    }
}

fn read(d: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(d.join(f)).unwrap()
}

#[test]
fn the_blaue_karte_schema_imports_completely() {
    let Some(d) = dir() else { return };
    let xml = read(&d, "xdf2/S00000121_BlaueKarteEU.xml");
    let imported = import(&xml).unwrap();
    let r = &imported.report;
    assert_eq!((r.standard.as_str(), r.id.as_str()), ("xdf2", "S00000121"));
    // Every field and group of the file is counted (each occurrence).
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let count = |name: &str| doc.descendants().filter(|n| n.tag_name().name() == name).count();
    assert_eq!(r.fields, count("datenfeld"));
    assert_eq!(r.groups, count("datenfeldgruppe"));
    assert!(r.fields > 50 && r.groups > 10, "{r:?}");
    // Nothing is dropped silently: every code list and rule is named in the report.
    assert_eq!(r.not_supported.iter().filter(|m| m.contains("Codeliste")).count(), count("codelisteReferenz"));
    assert_eq!(r.not_supported.iter().filter(|m| m.starts_with("Regel ")).count(), count("regel"));
    // The result is a usable form: the engine runs on it and asks for the required fields.
    let form = &imported.form;
    let fields: usize = form
        .steps
        .iter()
        .flat_map(|s| &s.items)
        .map(|i| match i {
            Item::Field(_) => 1,
            Item::Group(g) => g.fields.len(),
        })
        .sum();
    assert_eq!(fields, r.fields);
    let problems = validate(form, None, &Answers::new(), Date::new(2026, 11, 23).unwrap());
    assert!(!problems.is_empty(), "required fields are reported");
    let json = serde_json::to_string(form).unwrap();
    assert_eq!(serde_json::from_str::<amtsweg_forms::Form>(&json).unwrap(), *form);
}

#[test]
fn every_good_file_imports_and_the_broken_ones_are_refused() {
    let Some(d) = dir() else { return };
    for f in ["minimal", "simple", "select", "label", "rule", "data-field-rule", "data-group-rule"] {
        let r = import(&read(&d, &format!("xdf2/{f}.xml"))).unwrap_or_else(|e| panic!("xdf2/{f}: {e}"));
        assert_eq!(r.report.standard, "xdf2", "{f}");
    }
    for f in ["simple", "input"] {
        let r = import(&read(&d, &format!("xdf3/{f}.xml"))).unwrap_or_else(|e| panic!("xdf3/{f}: {e}"));
        assert_eq!(r.report.standard, "xdf3", "{f}");
    }
    let select = import(&read(&d, "xdf2/select.xml")).unwrap();
    assert!(select.report.not_supported.iter().any(|m| m.contains("urn:de:example")), "{:?}", select.report);
    let label = import(&read(&d, "xdf2/label.xml")).unwrap();
    assert!(
        label
            .form
            .steps
            .iter()
            .flat_map(|s| &s.items)
            .any(|i| matches!(i, Item::Field(f) if matches!(f.kind, Kind::Info { .. })))
    );
    let refused = |f: &str| import(&read(&d, f)).expect_err(f);
    assert!(
        matches!(refused("xdf2/unknown-namespace.xml"), ImportError::NotXdf(ns) if ns.contains("xdatenfelder_unknown"))
    );
    assert!(matches!(refused("xdf3/unknown-namespace.xml"), ImportError::NotXdf(_)));
    assert!(refused("xdf2/duplicate-required-value.xml").to_string().contains("<name> 2-mal"));
    assert!(
        refused("xdf3/duplicate-id-node.xml").to_string().contains("<identifikation>"),
        "{}",
        refused("xdf3/duplicate-id-node.xml")
    );
    assert!(
        refused("xdf3/missing-id-node.xml").to_string().contains("<id>"),
        "{}",
        refused("xdf3/missing-id-node.xml")
    );
}

#[test]
fn non_xdatenfelder_input_is_refused_plainly() {
    assert!(matches!(import("kein xml"), Err(ImportError::Xml(_))));
    assert!(matches!(import("<a xmlns='urn:x'/>"), Err(ImportError::NotXdf(_))));
    assert!(matches!(
        import("<a xmlns='urn:xoev-de:fim:standard:xdatenfelder_1'/>"),
        Err(ImportError::Invalid(m)) if m.contains("<stammdatenschema>")
    ));
    assert!(import("<!DOCTYPE a [<!ENTITY x 'y'>]><a/>").is_err(), "no DTDs");
}
