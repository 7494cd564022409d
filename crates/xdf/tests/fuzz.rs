//! Fuzz harness of the XDatenfelder import (an authority uploads the file): seeds
//! from `fuzz/corpus/xdf/`, mutated byte-wise and structurally (nesting, repeated
//! elements, entity declarations). The import never panics, never overflows the
//! stack, keeps its output in proportion to the file, and takes linear time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use amtsweg_xdf::{ImportError, import};
use harness::Dict;
use proptest::prelude::*;

const XDF2: &str = "urn:xoev-de:fim:standard:xdatenfelder_2";

const DICT: Dict = Dict {
    tokens: &[
        "<",
        ">",
        "</",
        "/>",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "&undefined;",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<?pi x?>",
        r#"<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>"#,
        "&b;",
        r#" xmlns:xdf="urn:xoev-de:fim:standard:xdatenfelder_1""#,
        r#" xmlns="urn:other""#,
        "<xdf:struktur><xdf:anzahl>0:*</xdf:anzahl><xdf:enthaelt>",
        "</xdf:enthaelt></xdf:struktur>",
        "<xdf:datenfeld><xdf:identifikation><xdf:id>F1</xdf:id></xdf:identifikation></xdf:datenfeld>",
        "<xdf:datenfeldgruppe><xdf:identifikation><xdf:id>G1</xdf:id></xdf:identifikation>",
        "</xdf:datenfeldgruppe>",
        "<xdf:identifikation>",
        "<xdf:id></xdf:id>",
        "<xdf:anzahl>4294967296:n</xdf:anzahl>",
        "<xdf:anzahl>:</xdf:anzahl>",
        "<xdf:praezisierung>{\"maxLength\":1e308,\"minValue\":-1e400}</xdf:praezisierung>",
        "<xdf:praezisierung>maxLength=;pattern=</xdf:praezisierung>",
        "<xdf:praezisierung maxLength=\"-5\" minValue=\"NaN\"/>",
        "<xdf:maxSize>18446744073709551615</xdf:maxSize>",
        "<code>select</code>",
        "<code>num_currency</code>",
        "<code>file</code>",
        "ä",
        "\u{feff}",
        "\0",
    ],
    pairs: &[
        (
            "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeldgruppe><xdf:identifikation><xdf:id>G</xdf:id></xdf:identifikation>",
            "</xdf:datenfeldgruppe></xdf:enthaelt></xdf:struktur>",
        ),
        ("<a>", "</a>"),
        ("<xdf:name>", "</xdf:name>"),
        ("<![CDATA[", "]]>"),
    ],
};

/// Whatever the import returns stays in proportion to the file: the form as JSON
/// and the report's notes.
fn assert_bounded(xml: &str, result: &Result<amtsweg_xdf::Import, ImportError>) {
    let limit = 64 * xml.len() + 64 * 1024;
    match result {
        Ok(i) => {
            let form = serde_json::to_string(&i.form).unwrap();
            let notes: usize = i.report.not_supported.iter().map(String::len).sum();
            assert!(
                form.len() + notes <= limit,
                "{} bytes of output for {} bytes of input",
                form.len() + notes,
                xml.len()
            );
        }
        Err(e) => assert!(e.to_string().len() <= limit, "error message of {} bytes", e.to_string().len()),
    }
}

proptest! {
    #![proptest_config(harness::config(192))]

    #[test]
    fn mutated_schemas_never_panic(xml in harness::mutated_text(harness::corpus("xdf"), DICT, 8, false)) {
        let result = import(&xml);
        assert_bounded(&xml, &result);
    }
}

proptest! {
    #![proptest_config(harness::config(48))]

    /// Large repetitions and deep nesting: the limits, not only the logic.
    #[test]
    fn heavily_mutated_schemas_never_panic(xml in harness::mutated_text(harness::corpus("xdf"), DICT, 3, true)) {
        let result = import(&xml);
        assert_bounded(&xml, &result);
    }
}

#[test]
fn the_seeds_import() {
    for xml in harness::corpus_text("xdf") {
        let imported = import(&xml).unwrap_or_else(|e| panic!("seed refused: {e}"));
        assert!(imported.report.fields > 0);
    }
}

/// A schema with `groups` nested groups, the innermost with one field.
fn nested(groups: usize) -> String {
    let open = "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeldgruppe><xdf:identifikation><xdf:id>G1</xdf:id></xdf:identifikation><xdf:name>G</xdf:name>";
    let close = "</xdf:datenfeldgruppe></xdf:enthaelt></xdf:struktur>";
    let field = "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld><xdf:identifikation><xdf:id>F1</xdf:id></xdf:identifikation><xdf:name>F</xdf:name><xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>text</code></xdf:datentyp></xdf:datenfeld></xdf:enthaelt></xdf:struktur>";
    format!(
        r#"<xdf:n xmlns:xdf="{XDF2}"><xdf:stammdatenschema><xdf:identifikation><xdf:id>S1</xdf:id></xdf:identifikation><xdf:name>S</xdf:name>{}{field}{}</xdf:stammdatenschema></xdf:n>"#,
        open.repeat(groups),
        close.repeat(groups)
    )
}

/// Deep nesting used to recurse once per level (a stack overflow aborts the whole
/// server, it cannot be caught) and to build field ids as long as the nesting.
#[test]
fn deeply_nested_groups_are_refused_without_crashing() {
    let e = import(&nested(50_000)).expect_err("refused");
    assert!(e.to_string().contains("verschachtelt"), "{e}");
    // Real schemas nest a few levels: still imported.
    let ok = import(&nested(8)).unwrap();
    assert_eq!(ok.report.fields, 1);
}

/// Many different namespace declarations are refused before parsing, with the line.
#[test]
fn many_namespace_declarations_are_refused_naming_the_line() {
    let decls: String = (0..100).map(|i| format!("\n<p{i}:x xmlns:p{i}=\"urn:p{i}\">")).collect();
    let close: String = (0..100).rev().map(|i| format!("</p{i}:x>")).collect();
    let xml = format!(
        r#"<xdf:n xmlns:xdf="{XDF2}"><xdf:stammdatenschema><xdf:identifikation><xdf:id>S1</xdf:id></xdf:identifikation><xdf:name>S</xdf:name>{decls}{close}</xdf:stammdatenschema></xdf:n>"#
    );
    let e = import(&xml).expect_err("refused").to_string();
    // The root declares one; the 64th nested one is the 65th, on line 65.
    assert!(e.contains("In Zeile 65 "), "{e}");
    assert!(e.starts_with("Ungültiges XDatenfelder-Dokument"), "{e}");
}

#[test]
fn import_time_grows_linearly() {
    harness::self_test();
    let field = |i: usize| {
        format!(
            "<xdf:struktur><xdf:anzahl>0:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld><xdf:identifikation><xdf:id>F{i}</xdf:id></xdf:identifikation><xdf:name>Feld {i}</xdf:name><xdf:feldart><code>select</code></xdf:feldart><xdf:datentyp><code>text</code></xdf:datentyp><xdf:praezisierung>{{\"pattern\":\"[0-9]+\"}}</xdf:praezisierung></xdf:datenfeld></xdf:enthaelt></xdf:struktur>"
        )
    };
    let schema = |body: String| {
        format!(
            r#"<xdf:n xmlns:xdf="{XDF2}"><xdf:stammdatenschema><xdf:identifikation><xdf:id>S1</xdf:id></xdf:identifikation><xdf:name>S</xdf:name>{body}</xdf:stammdatenschema></xdf:n>"#
        )
    };
    // Many fields (each with report notes).
    harness::assert_linear(
        "xdf: fields",
        64,
        |n| schema((0..n).map(field).collect()),
        |xml| {
            import(xml).unwrap();
        },
    );
    // Many groups, each with fields.
    harness::assert_linear(
        "xdf: groups",
        16,
        |n| {
            schema(
                (0..n)
                    .map(|g| {
                        format!(
                            "<xdf:struktur><xdf:anzahl>0:5</xdf:anzahl><xdf:enthaelt><xdf:datenfeldgruppe><xdf:identifikation><xdf:id>G{g}</xdf:id></xdf:identifikation><xdf:name>G</xdf:name>{}</xdf:datenfeldgruppe></xdf:enthaelt></xdf:struktur>",
                            (0..4).map(field).collect::<String>()
                        )
                    })
                    .collect(),
            )
        },
        |xml| {
            import(xml).unwrap();
        },
    );
    // Nesting up to the limit, then refused: never worse than linear.
    harness::assert_linear("xdf: nesting", 4, nested, |xml| {
        let _ = import(xml);
    });
    // Nested elements each declaring one more namespace: the parser copied all
    // those in scope into each of them (quadratic); now refused after a few, naming
    // the line. The same declaration repeated on each element stays allowed.
    harness::assert_linear(
        "xdf: nested namespace declarations",
        512,
        |n| {
            let open: String = (0..n).map(|i| format!("<p{i}:x xmlns:p{i}=\"urn:p{i}\">\n")).collect();
            let close: String = (0..n).rev().map(|i| format!("</p{i}:x>")).collect();
            schema(format!("{open}{close}"))
        },
        |xml| {
            let _ = import(xml);
        },
    );
    harness::assert_linear(
        "xdf: repeated namespace declarations",
        512,
        |n| {
            let same = format!("<xdf:a xmlns:xdf=\"{XDF2}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">");
            schema(format!("{}{}", same.repeat(n), "</xdf:a>".repeat(n)))
        },
        |xml| {
            import(xml).unwrap();
        },
    );
    // One huge text value, and a long free-text praezisierung (xdf1).
    harness::assert_linear(
        "xdf: long texts",
        1024,
        |n| {
            format!(
                r#"<xdf:n xmlns:xdf="urn:xoev-de:fim:standard:xdatenfelder_1"><xdf:stammdatenschema><xdf:id>S1</xdf:id><xdf:name>{}</xdf:name><xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld><xdf:id>F1</xdf:id><xdf:name>F</xdf:name><xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>text</code></xdf:datentyp><xdf:praezisierung>{}</xdf:praezisierung></xdf:datenfeld></xdf:enthaelt></xdf:struktur></xdf:stammdatenschema></xdf:n>"#,
                "Ä".repeat(n),
                "minLength=1, foo=bar; ".repeat(n / 16 + 1)
            )
        },
        |xml| {
            import(xml).unwrap();
        },
    );
}
