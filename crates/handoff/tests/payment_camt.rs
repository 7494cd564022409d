//! The camt.053 reader: our own small statements (always), the real-world-shaped
//! samples of another implementation with its decoded output as JSON (when
//! `../shared/conformance` or `AMTSWEG_CONFORMANCE_DIR` is there), and every way a
//! file can be refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::payment::Cents;
use amtsweg_handoff::payment::camt::{self, CamtError, Statement};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/camt053").join(name)).unwrap()
}

fn samples_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"))
        .join("camt053/samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping camt.053 conformance samples: {} not found (set AMTSWEG_CONFORMANCE_DIR)", dir.display());
        None
    }
}

#[test]
fn own_v2_statement_is_read_completely() {
    let s = camt::parse(&fixture("stadtkasse.v2.xml")).unwrap();
    assert_eq!(s.len(), 1);
    let st = &s[0];
    assert_eq!(st.version, "001.02");
    assert_eq!(st.message_id, "MB-2026-05-04-001");
    assert_eq!(st.statement_id, "MB20260504-0087");
    assert_eq!(st.electronic_seq, "87");
    assert_eq!(st.account_iban, "DE02120300000000202051", "spaces removed");
    assert_eq!(st.from, "2026-05-03T00:00:00+02:00");
    assert_eq!(st.to, "2026-05-03T23:59:59+02:00");
    assert_eq!(st.entries.len(), 5);

    let e = &st.entries[0];
    assert_eq!((e.index, e.amount, e.currency.as_str(), e.credit, e.booked), (0, Cents(1250), "EUR", true, true));
    assert!(!e.reversal);
    assert_eq!((e.booking_date.as_str(), e.value_date.as_str()), ("2026-05-03", "2026-05-03"));
    assert_eq!(e.servicer_ref, "2026050300001");
    assert_eq!(e.details.len(), 1);
    let d = &e.details[0];
    assert_eq!(d.amount, Some(Cents(1250)));
    assert_eq!(d.end_to_end, "NOTPROVIDED");
    assert_eq!(d.debtor_name, "Erika Mustermann");
    assert_eq!(d.debtor_iban, "DE89370400440532013000");
    assert_eq!(d.creditor_refs, ["RF10MOO2026000042"]);
    assert!(d.unstructured.is_empty());

    let e = &st.entries[1];
    assert_eq!(e.amount, Cents(4800), "48.000: zeros below the cent are fine");
    assert_eq!(e.value_date, "2026-05-04");
    assert_eq!(e.details[0].unstructured, ["Hundesteuer 2026 Kassenzeichen", "MOO-2026-000043 Bello"]);
    assert_eq!(e.details[0].debtor_iban, "DE75512108001245126199");
    assert_eq!(e.details[0].amount, None);

    let e = &st.entries[2];
    assert_eq!((e.amount, e.credit), (Cents(320), false), "a debit");
    assert!(e.details.is_empty());

    let e = &st.entries[3];
    assert_eq!(e.amount, Cents(7500));
    assert_eq!(e.details.len(), 2, "a batch: one detail per transaction");
    assert_eq!(e.details[0].amount, Some(Cents(2500)));
    assert_eq!(e.details[0].unstructured, ["MOO-2026-000044"]);
    assert_eq!(e.details[1].amount, Some(Cents(5000)));
    assert_eq!(e.details[1].creditor_refs, ["RF18539007547034"]);
    assert_eq!(e.details[1].unstructured, ["Grundsteuer Q2"]);

    let e = &st.entries[4];
    assert!(!e.booked, "pending (PDNG) is not booked");
    assert_eq!(e.value_date, "", "absent value date");
}

#[test]
fn own_v8_statements_are_read_completely() {
    let s = camt::parse(&fixture("stadtkasse.v8.xml")).unwrap();
    assert_eq!(s.len(), 2);
    let st = &s[0];
    assert_eq!(st.version, "001.08");
    assert_eq!((st.statement_id.as_str(), st.electronic_seq.as_str()), ("MB20260505-0088", "88"));
    assert_eq!(st.from, "", "no FrToDt");
    let e = &st.entries[0];
    assert_eq!(e.amount, Cents(1250), "12.5");
    assert!(e.booked && e.credit);
    assert_eq!(e.booking_date, "2026-05-04", "the bank's local date of a date-time");
    let d = &e.details[0];
    assert_eq!(d.amount, Some(Cents(1250)));
    assert_eq!(d.debtor_name, "Jürgen Groß", "001.08 wraps the party in Pty");
    assert_eq!(d.end_to_end, "E2E-0815");
    assert_eq!(d.unstructured, ["Meldebescheinigung MOO-2026-000050"]);
    let r = &st.entries[1];
    assert!(r.reversal && !r.credit);
    assert_eq!(r.index, 1);

    let other = &s[1];
    assert_eq!(other.account_iban, "4711-USD", "other identification when there is no IBAN");
    assert_eq!(other.electronic_seq, "");
    assert_eq!((other.entries[0].amount, other.entries[0].currency.as_str()), (Cents(10_000), "USD"));
    assert_eq!(other.message_id, "MB-2026-05-05-001");
}

fn wrap(ns: &str, body: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:{ns}\"><BkToCstmrStmt>\
         <GrpHdr><MsgId>X</MsgId></GrpHdr>{body}</BkToCstmrStmt></Document>"
    )
    .into_bytes()
}

fn entry(amount: &str) -> String {
    format!(
        "<Stmt><Id>S1</Id><Acct><Id><IBAN>DE02120300000000202051</IBAN></Id></Acct>\
         <Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
         <BookgDt><Dt>2026-05-03</Dt></BookgDt></Ntry></Stmt>"
    )
}

#[test]
fn files_that_are_not_readable_statements_are_refused_with_reasons() {
    let v2 = "camt.053.001.02";
    assert!(matches!(camt::parse(b"Kontoauszug als PDF"), Err(CamtError::NotXml(_))));
    assert!(matches!(camt::parse(b"%PDF-1.7\n\xff\xfe"), Err(CamtError::NotXml(_))));
    assert!(matches!(camt::parse(b"<Document><BkToCstmrStmt>"), Err(CamtError::NotXml(_))), "truncated");
    assert_eq!(camt::parse(b"<html><body>Hallo</body></html>"), Err(CamtError::NotCamt053));
    assert_eq!(camt::parse(&wrap("camt.052.001.02", "")), Err(CamtError::NotCamt053), "an intraday report");
    assert_eq!(camt::parse(&wrap("camt.054.001.08", "")), Err(CamtError::NotCamt053), "a notification");
    assert_eq!(
        camt::parse(&wrap("camt.053.001.04", &entry("1.00"))),
        Err(CamtError::UnsupportedVersion("001.04".into()))
    );
    assert_eq!(camt::parse(&wrap(v2, "")), Err(CamtError::Invalid("Die Datei enthält keinen Auszug (Stmt).".into())));
    assert!(matches!(camt::parse(&wrap(v2, &entry("10.001"))), Err(CamtError::Invalid(m)) if m.contains("10.001")));
    assert!(matches!(camt::parse(&wrap(v2, &entry("-5.00"))), Err(CamtError::Invalid(_))));
    assert!(matches!(camt::parse(&wrap(v2, &entry("1e3"))), Err(CamtError::Invalid(_))));
    assert!(matches!(camt::parse(&wrap(v2, &entry(""))), Err(CamtError::Invalid(_))));
    assert_eq!(camt::parse(&wrap(v2, &entry("8.850"))).unwrap()[0].entries[0].amount, Cents(885));
    let no_account = "<Stmt><Id>S1</Id></Stmt>";
    assert!(matches!(camt::parse(&wrap(v2, no_account)), Err(CamtError::Invalid(m)) if m.contains("Konto")));
    let bad_date = entry("1.00").replace("2026-05-03", "2026-13-40");
    assert!(matches!(camt::parse(&wrap(v2, &bad_date)), Err(CamtError::Invalid(m)) if m.contains("Datum")));
    let bad_ccy = entry("1.00").replace("Ccy=\"EUR\"", "Ccy=\"euro\"");
    assert!(matches!(camt::parse(&wrap(v2, &bad_ccy)), Err(CamtError::Invalid(_))));
    // Elements of another namespace are not ours.
    let foreign = entry("1.00").replace("<Stmt>", "<Stmt xmlns=\"urn:example:other\">");
    assert!(matches!(camt::parse(&wrap(v2, &foreign)), Err(CamtError::Invalid(_))));
    // Every error reads as German text for the person uploading.
    assert!(CamtError::UnsupportedVersion("001.04".into()).german().contains("001.02 und 001.08"));
    assert!(CamtError::NotXml(String::new()).german().contains("keine XML-Datei"));
}

#[test]
fn a_dtd_and_entity_expansion_are_refused() {
    let laughs = b"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">\
        <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
        <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n\
        <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt><GrpHdr><MsgId>&lol3;</MsgId>\
        </GrpHdr></BkToCstmrStmt></Document>";
    assert!(matches!(camt::parse(laughs), Err(CamtError::Invalid(m)) if m.contains("DTD")));
    let external = b"<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n\
        <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">&x;</Document>";
    assert!(camt::parse(external).is_err());
}

#[test]
fn size_and_entry_limits_hold() {
    let big = vec![b' '; camt::MAX_BYTES + 1];
    assert_eq!(camt::parse(&big), Err(CamtError::TooLarge));
    // A byte order mark is fine.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(fixture("stadtkasse.v2.xml"));
    assert_eq!(camt::parse(&bom).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------
// The conformance samples

/// All objects of the decoded JSON whose `__CLASS__` ends with `class`.
fn objects<'a>(v: &'a Value, class: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.get("__CLASS__").and_then(Value::as_str).is_some_and(|c| c.ends_with(class)) {
                out.push(v);
            }
            for x in m.values() {
                objects(x, class, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| objects(x, class, out)),
        _ => {}
    }
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn compare_with_decoded(name: &str, ours: &[Statement], decoded: &Value) {
    let mut statements = Vec::new();
    objects(decoded, "\\Camt053\\DTO\\Statement", &mut statements);
    assert!(!statements.is_empty(), "{name}: the decoded output names a statement");
    for s in statements {
        let id = s["getId"].as_str().unwrap();
        let mine = ours.iter().find(|m| m.statement_id == id).unwrap_or_else(|| panic!("{name}: statement {id}"));
        let account: String = s["getAccount"]["getIdentification"].as_str().unwrap().split_whitespace().collect();
        assert_eq!(mine.account_iban, account, "{name}: account of {id}");
        assert_eq!(
            Some(mine.electronic_seq.as_str()).filter(|s| !s.is_empty()),
            text(&s["getElectronicSequenceNumber"])
        );
        if let Some(entries) = s["getEntries"].as_array().filter(|e| e.iter().all(Value::is_object)) {
            assert_eq!(mine.entries.len(), entries.len(), "{name}: entries of {id}");
        }
    }
    if let Some(msg) = text(&decoded["getGroupHeader"]["getMessageId"]) {
        assert!(ours.iter().all(|s| s.message_id == msg), "{name}: MsgId");
    }
    let mut entries = Vec::new();
    objects(decoded, "\\DTO\\Entry", &mut entries);
    assert!(!entries.is_empty(), "{name}: the decoded output names an entry");
    for e in entries {
        let index = usize::try_from(e["getIndex"].as_u64().unwrap()).unwrap();
        let minor: i64 = e["getAmount"]["getAmount"].as_str().unwrap().parse().unwrap();
        let credit = e["getCreditDebitIndicator"] == "CRDT";
        let statement = e["getRecord"]["getId"].as_str();
        let mine = ours
            .iter()
            .filter(|s| statement.is_none_or(|id| s.statement_id == id))
            .flat_map(|s| &s.entries)
            .find(|m| m.index == index && m.amount.0 == minor.abs() && m.credit == credit)
            .unwrap_or_else(|| panic!("{name}: entry {index} of {minor} cents"));
        assert_eq!(credit, minor >= 0, "{name}: the decoded amount is signed by direction");
        assert_eq!(mine.currency, e["getAmount"]["getCurrency"]["getCode"].as_str().unwrap(), "{name}");
        assert_eq!(mine.booked, e["getStatus"] == "BOOK", "{name}");
        assert_eq!(mine.reversal, e["getReversalIndicator"] == true, "{name}");
        for (ours_date, theirs) in [(&mine.booking_date, &e["getBookingDate"]), (&mine.value_date, &e["getValueDate"])]
        {
            let want = theirs["0"].as_str().map(|d| &d[..10]).unwrap_or_default();
            assert_eq!(ours_date, want, "{name}: dates");
        }
        assert_eq!(Some(mine.servicer_ref.as_str()).filter(|s| !s.is_empty()), text(&e["getAccountServicerReference"]));
        let mut details = Vec::new();
        objects(e, "\\DTO\\EntryTransactionDetail", &mut details);
        for d in details {
            let found = mine.details.iter().any(|m| {
                let e2e = text(&d["getReference"]["getEndToEndId"]);
                let amount_ok = match d["getAmount"]["getAmount"].as_str() {
                    Some(a) => m.amount.map(|c| c.0.to_string()) == Some(a.trim_start_matches('-').to_owned()),
                    None => true,
                };
                let rmt = &d["getRemittanceInformation"];
                let cref = text(&rmt["getCreditorReferenceInformation"]["getRef"]);
                let ustrd = text(&rmt["getUnstructuredBlock"]["getMessage"]);
                let debtor = d["getRelatedParties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["getRelatedPartyType"]["__CLASS__"].as_str().is_some_and(|c| c.ends_with("\\Debtor")))
                    .find_map(|p| text(&p["getRelatedPartyType"]["getName"]));
                e2e == Some(m.end_to_end.as_str()).filter(|s| !s.is_empty())
                    && amount_ok
                    && cref.is_none_or(|r| m.creditor_refs.iter().any(|x| x == r))
                    && ustrd.is_none_or(|u| m.unstructured.iter().any(|x| x == u))
                    && debtor.is_none_or(|n| m.debtor_name == n)
            });
            assert!(found, "{name}: transaction detail of entry {index}: {d:#}");
        }
    }
}

#[test]
fn conformance_samples_match_the_decoded_output_of_another_implementation() {
    let Some(dir) = samples_dir() else { return };
    let mut supported = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = camt::parse(&std::fs::read(&path).unwrap());
        if name == "camt053.v2.wrong.xml" {
            // Invalid on purpose (its README): a group header without a statement.
            assert!(matches!(result, Err(CamtError::Invalid(_))), "{name}: {result:?}");
            continue;
        }
        if name.starts_with("camt053.v3") || name.starts_with("camt053.v4") {
            let version = if name.starts_with("camt053.v3") { "001.03" } else { "001.04" };
            assert_eq!(result, Err(CamtError::UnsupportedVersion(version.into())), "{name}");
            continue;
        }
        let ours = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoded: Value = serde_json::from_slice(&std::fs::read(path.with_extension("json")).unwrap()).unwrap();
        compare_with_decoded(&name, &ours, &decoded);
        supported += 1;
    }
    assert!(supported >= 8, "all v2 variants and v8 were compared ({supported})");
}

#[test]
fn conformance_multi_statement_and_v8_details() {
    let Some(dir) = samples_dir() else { return };
    let multi = camt::parse(&std::fs::read(dir.join("camt053.v2.multi.statement.xml")).unwrap()).unwrap();
    let ids: Vec<&str> = multi.iter().map(|s| s.statement_id.as_str()).collect();
    assert_eq!(ids, ["253EURNL26VAYB8060476890", "254EURNL26VAYB8060476890"]);
    assert_eq!(multi[0].entries[0].amount, Cents(885));
    assert_eq!(multi[1].entries[0].amount, Cents(700));
    assert!(!multi[1].entries[0].credit);
    assert_eq!(multi[1].electronic_seq, "", "the second statement has no ElctrncSeqNb");

    let five = camt::parse(&std::fs::read(dir.join("camt053.v2.five.decimals.xml")).unwrap()).unwrap();
    assert_eq!(five[0].entries[0].amount, Cents(885), "8.850");

    let v8 = camt::parse(&std::fs::read(dir.join("camt053.v8.xml")).unwrap()).unwrap();
    let e = &v8[0].entries[0];
    assert_eq!(v8[0].account_iban, "NL26VAYB8060476890", "Othr/Id");
    assert_eq!(e.booking_date, "2014-12-31");
    assert_eq!(e.details[0].amount, Some(Cents(0)));
    assert_eq!(e.details[0].debtor_name, "NAME NAME");
    assert_eq!(e.details[0].creditor_refs, ["4654654654654654"]);
}

#[test]
fn every_schema_valid_amount_and_reversal_form_is_read() {
    let v2 = "camt.053.001.02";
    let amount = |text: &str| camt::parse(&wrap(v2, &entry(text))).unwrap()[0].entries[0].amount;
    // xs:decimal: a leading plus, no integer digits, no fraction digits.
    assert_eq!(amount("+1.00"), Cents(100));
    assert_eq!(amount(".5"), Cents(50));
    assert_eq!(amount("1"), Cents(100));
    assert_eq!(amount("1."), Cents(100));
    assert_eq!(amount("12.50000"), Cents(1250));
    // Three decimals in another currency: read, listed for a person (never matched),
    // and the rest of the file stays readable.
    let bhd = entry("1.234").replace("Ccy=\"EUR\"", "Ccy=\"BHD\"");
    let both = bhd.replace(
        "</Ntry></Stmt>",
        "</Ntry><Ntry><Amt Ccy=\"EUR\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
        <Sts>BOOK</Sts></Ntry></Stmt>",
    );
    let s = camt::parse(&wrap(v2, &both)).unwrap();
    assert_eq!((s[0].entries[0].currency.as_str(), s[0].entries[0].amount), ("BHD", Cents(123)));
    assert_eq!(s[0].entries[1].amount, Cents(500));
    // RvslInd is xs:boolean: `1` is a reversal as much as `true`.
    for (text, reversal) in [("true", true), ("1", true), ("false", false), ("0", false)] {
        let e = entry("1.00").replace("<Sts>", &format!("<RvslInd>{text}</RvslInd><Sts>"));
        assert_eq!(camt::parse(&wrap(v2, &e)).unwrap()[0].entries[0].reversal, reversal, "{text}");
    }
}
