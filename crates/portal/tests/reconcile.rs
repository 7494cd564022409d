//! Reconciliation on both databases: bank statements (camt.053) matched by RF
//! reference and Kassenzeichen, the entries left for a person (partial, over,
//! ambiguous, unmatched, other currency) and how they are resolved, statements
//! imported twice, files refused, refunds that never exceed what was paid, and the
//! period report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::payment::{Cents, rf_from};
use amtsweg_domain::receipt::{Receipt, ReceiptPrinter};
use amtsweg_domain::{Ars, AuthorityKind, Slug};
use amtsweg_portal::casework::Actor;
use amtsweg_portal::payments::counter;
use amtsweg_portal::reconcile::{self, ImportReport, refund, report};
use amtsweg_portal::{Keyring, Portal, Settings};
use amtsweg_store::audit_log::AuditQuery;
use amtsweg_store::payments::{AWAITING_PAYMENT, NewClaim, NewPayment};
use amtsweg_store::submissions::OwnedSubmission;
use amtsweg_store::testing::{TestStore, both, count_containing};
use amtsweg_store::{NewAuthority, Store};
use std::sync::Arc;

const IBAN: &str = "DE02120300000000202051";
const OTHER_IBAN: &str = "DE89370400440532013000";

struct NoPrinter;
impl ReceiptPrinter for NoPrinter {
    fn print(&self, _: &Receipt) -> Result<Vec<u8>, String> {
        Err("no printer in this test".into())
    }
}

struct World {
    portal: Portal,
    store: Store,
    a: i64,
    b: i64,
    form: i64,
    citizen: i64,
}

fn authority(slug: &str, ars: &str) -> NewAuthority {
    NewAuthority {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Stadt {slug}"),
        kind: AuthorityKind::Stadt,
        ags: None,
        ars: Ars::parse(ars).unwrap(),
        parent_id: None,
        hosts: vec![],
        street: "Markt 1".into(),
        plz: "37199".into(),
        city: "Moorbrück".into(),
        phone: String::new(),
        email: "kasse@example.org".into(),
        website: String::new(),
        intro: String::new(),
        primary_color: "#1d4f91".into(),
    }
}

async fn world(store: &Store) -> World {
    let mut tx = store.begin().await.unwrap();
    tx.set_verbund_name("Testverbund").await.unwrap();
    let a = tx.insert_authority(&authority("stadt-a", "039510007007")).await.unwrap();
    let b = tx.insert_authority(&authority("stadt-b", "039510008008")).await.unwrap();
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": "hund", "title": "Hundesteuer", "steps": [{"id": "a", "title": "A", "items": []}]
    }))
    .unwrap();
    let form = tx.create_form(a, &Slug::parse("hund").unwrap(), None, &form, None).await.unwrap();
    let citizen = tx.insert_citizen("erika@example.org", "x").await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let settings = Settings {
        public_base_url: "https://portal.example".into(),
        draft_days: 30,
        form_files_limit: 1 << 20,
        clamd: None,
        booking_group_commit: true,
        mail_from: String::new(),
    };
    let keyring = Keyring::from_base64(&Keyring::new_master_key()).unwrap();
    let objects = amtsweg_portal::open_objects(None).unwrap();
    let portal = Portal::new(store.clone(), keyring, objects, Arc::new(NoPrinter), settings).await.unwrap();
    let account = serde_json::json!({"recipient": "Stadtkasse A", "iban": IBAN, "bic": ""}).to_string();
    amtsweg_portal::payments::connectors::add(&portal, a, None, "rechnung", "Stadtkasse", &account).await.unwrap();
    World { portal, store: store.clone(), a, b, form, citizen }
}

async fn on_both<F, Fut>(f: F)
where
    F: Fn(World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in both().await {
        let TestStore { name, .. } = &t;
        eprintln!("backend: {name}");
        let w = world(&t.store).await;
        f(w).await;
        t.cleanup().await;
    }
}

fn staff() -> Actor {
    Actor { name: "Anna Kasse".into(), audit: "staff:7".into() }
}

/// A submission of authority A with a payment; (submission, payment).
async fn submit(w: &World, kz: &str, mode: &str, amount: i64, citizen: bool) -> (i64, i64) {
    let s = OwnedSubmission {
        form_token: format!("t-{kz}"),
        authority_id: w.a,
        form_id: w.form,
        form_version: 1,
        title: "Hundesteuer".into(),
        org_unit_id: None,
        citizen_id: citizen.then_some(w.citizen),
        browser_hash: "b".into(),
        data: "sealed".into(),
        data_hash: "h".into(),
        receipt_prefix: "MO".into(),
        year: 2026,
        confirmation: None,
    };
    let p = NewPayment {
        authority_id: w.a,
        mode: mode.into(),
        connector_id: None,
        kassenzeichen: kz.into(),
        rf_reference: rf_from(kz).unwrap(),
        purpose: "Hundesteuer".into(),
        amount_cents: amount,
        booking: "[]".into(),
        due_on: "2026-06-01".into(),
        expires_at: Some(amtsweg_store::now_ms() + 3_600_000),
        citizen_id: citizen.then_some(w.citizen),
        hold: mode == "vorab",
    };
    let sub = w.store.submit_all_with(&[(s, Some(p))]).await.pop().unwrap().unwrap();
    let pay = w.store.payment_of_submission(w.a, sub.id).await.unwrap().unwrap();
    (sub.id, pay.id)
}

/// A claim of authority A whose RF reference is the one of the conformance
/// example (RF18 5390 0754 7034).
async fn claim(w: &World, open: i64) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let account = tx.upsert_finance_account(w.a, "MB-10042").await.unwrap();
    let rf = rf_from("539007547034").unwrap();
    let c = NewClaim {
        authority_id: w.a,
        finance_account_id: account,
        kassenzeichen: "539007547034",
        due_on: "2026-05-15",
        kind: "Grundsteuer",
        title: "sealed",
        rf_reference: &rf,
        source: "api",
        payload_hash: "h",
        amount_cents: 5000,
        open_cents: open,
        state: "open",
        dunning_level: 0,
    };
    let id = tx.upsert_claim(&c).await.unwrap().id();
    tx.commit().await.unwrap();
    id
}

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../handoff/tests/fixtures/camt053");
    std::fs::read(dir.join(name)).unwrap()
}

/// One credit or debit of a generated statement.
struct Tx<'a> {
    amount: &'a str,
    credit: bool,
    ccy: &'a str,
    rf: Option<&'a str>,
    text: &'a str,
}

fn credit<'a>(amount: &'a str, text: &'a str) -> Tx<'a> {
    Tx { amount, credit: true, ccy: "EUR", rf: None, text }
}

/// A camt.053.001.08 document with one statement per (id, account, entries).
fn camt(statements: &[(&str, &str, Vec<Tx<'_>>)]) -> Vec<u8> {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\
         <BkToCstmrStmt><GrpHdr><MsgId>TEST-MSG</MsgId><CreDtTm>2026-05-06T06:00:00+02:00</CreDtTm></GrpHdr>",
    );
    for (id, iban, entries) in statements {
        x.push_str(&format!("<Stmt><Id>{id}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"));
        for e in entries {
            let rf = e.rf.map(|r| format!("<Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd>")).unwrap_or_default();
            x.push_str(&format!(
                "<Ntry><Amt Ccy=\"{ccy}\">{amt}</Amt><CdtDbtInd>{dir}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
                 <BookgDt><Dt>2026-05-05</Dt></BookgDt><ValDt><Dt>2026-05-05</Dt></ValDt><NtryDtls><TxDtls>\
                 <Amt Ccy=\"{ccy}\">{amt}</Amt><RltdPties><Dbtr><Pty><Nm>Zahlerin Zeisig</Nm></Pty></Dbtr>\
                 <DbtrAcct><Id><IBAN>{OTHER_IBAN}</IBAN></Id></DbtrAcct></RltdPties>\
                 <RmtInf><Ustrd>{text}</Ustrd>{rf}</RmtInf></TxDtls></NtryDtls></Ntry>",
                ccy = e.ccy,
                amt = e.amount,
                dir = if e.credit { "CRDT" } else { "DBIT" },
                text = e.text,
            ));
        }
        x.push_str("</Stmt>");
    }
    x.push_str("</BkToCstmrStmt></Document>");
    x.into_bytes()
}

async fn import(w: &World, bytes: &[u8]) -> ImportReport {
    reconcile::import_camt(&w.portal, &staff(), w.a, bytes).await.unwrap().unwrap()
}

async fn actions(w: &World, authority: i64) -> Vec<String> {
    let q = AuditQuery { authorities: Some(vec![authority]), limit: 1000, ..AuditQuery::default() };
    w.store.audit_page(&q).await.unwrap().0.into_iter().map(|r| r.action).collect()
}

async fn bookings(w: &World, payment: i64) -> Vec<(String, i64)> {
    w.store.bookings_of_payment(payment).await.unwrap().into_iter().map(|b| (b.source, b.amount_cents)).collect()
}

#[tokio::test]
async fn credits_are_booked_by_rf_and_kassenzeichen_and_release_a_held_application() {
    on_both(|w| async move {
        let (_, p42) = submit(&w, "MOO-2026-000042", "rechnung", 1250, false).await;
        let (held, p43) = submit(&w, "MOO-2026-000043", "vorab", 4800, true).await;
        let (_, p44) = submit(&w, "MOO-2026-000044", "rechnung", 2500, false).await;
        let claim = claim(&w, 5000).await;
        assert_eq!(w.store.submission(w.a, held).await.unwrap().unwrap().status, AWAITING_PAYMENT);
        let mails_before = w.store.outbox_entries(100).await.unwrap().len();

        // The dry run says the same and stores nothing.
        let dry = reconcile::check_camt(&w.portal, w.a, &fixture("stadtkasse.v2.xml")).await.unwrap().unwrap();
        assert!(dry.dry_run);
        assert_eq!((dry.booked(), dry.to_resolve()), (4, 0), "{dry:?}");
        assert!(w.store.statements_of(w.a, 10).await.unwrap().is_empty());
        assert!(bookings(&w, p42).await.is_empty());

        let r = import(&w, &fixture("stadtkasse.v2.xml")).await;
        assert!(!r.dry_run);
        assert_eq!(r.statements.len(), 1);
        let s = &r.statements[0];
        assert_eq!((s.known, s.pending, s.version.as_str()), (false, 1, "001.02"));
        let m: Vec<(&str, &str, i64)> =
            s.lines.iter().map(|l| (l.r#match.as_str(), l.kassenzeichen.as_str(), l.amount.0)).collect();
        assert_eq!(
            m,
            [
                ("exact", "MOO-2026-000042", 1250),
                ("exact", "MOO-2026-000043", 4800),
                ("debit", "", 320),
                ("exact", "MOO-2026-000044", 2500),
                ("exact", "539007547034", 5000),
            ],
            "the collective credit is split into its two transactions"
        );
        assert_eq!(s.lines[1].released, Some(held));
        assert_eq!(
            r.summary_de(),
            "1 neuer Kontoauszug, 4 Zahlungen wurden gebucht, 0 zu klären, 1 Abbuchung aufgeführt."
        );
        assert_eq!(s.lines[0].label(), "gebucht auf Kassenzeichen MOO-2026-000042");

        for (p, cents) in [(p42, 1250), (p43, 4800), (p44, 2500)] {
            let pay = w.store.payment(w.a, p).await.unwrap().unwrap();
            assert_eq!((pay.status.as_str(), pay.paid_cents, pay.review.as_str()), ("paid", cents, ""));
            assert_eq!(bookings(&w, p).await, [("bank".to_owned(), cents)]);
        }
        assert_eq!(w.store.submission(w.a, held).await.unwrap().unwrap().status, "eingegangen", "released");
        let mails = w.store.outbox_entries(100).await.unwrap();
        assert_eq!(mails.len(), mails_before + 1, "the release notice");
        let claim_bookings = w.store.bookings_of_claims(&[claim]).await.unwrap();
        assert_eq!(
            claim_bookings.iter().map(|b| (b.amount_cents, b.method.as_str())).collect::<Vec<_>>(),
            [(5000, "ueberweisung")]
        );
        assert!(w.store.bank_entries_to_resolve(w.a).await.unwrap().is_empty());

        // Personal data of the statement is sealed; the RF reference is clear.
        assert_eq!(count_containing(&w.store, "bank_entries", "details", "Mustermann").await, 0);
        assert_eq!(count_containing(&w.store, "bank_entries", "reference", "RF18539007547034").await, 1);
        let st = w.store.statements_of(w.a, 10).await.unwrap();
        let entries = reconcile::statement_entries(&w.portal, w.a, st[0].id).await.unwrap();
        assert_eq!(entries[0].details.debtor, "Erika Mustermann");
        assert_eq!(entries[0].debtor_iban, "DE89 3704 0044 0532 0130 00");
        assert_eq!(entries[1].details.remittance, ["Hundesteuer 2026 Kassenzeichen", "MOO-2026-000043 Bello"]);
        assert_eq!(entries[4].reference, "RF18 5390 0754 7034");
        assert_eq!(st[0].imported_by, "Anna Kasse");
        assert!(actions(&w, w.a).await.contains(&"payment.camt_import".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn what_does_not_match_exactly_waits_for_a_person() {
    on_both(|w| async move {
        let (_, p1) = submit(&w, "MO-2026-000101", "rechnung", 5000, false).await;
        let (_, p2) = submit(&w, "MO-2026-000102", "rechnung", 3000, false).await;
        let (_, p3) = submit(&w, "MO-2026-000103", "rechnung", 2000, false).await;
        let rf1 = rf_from("MO-2026-000101").unwrap();
        let file = camt(&[(
            "S-1",
            IBAN,
            vec![
                Tx { rf: Some(&rf1), ..credit("40.00", "Teilzahlung") },
                credit("35.00", "Kassenzeichen MO 2026 000102 und etwas mehr"),
                credit("20.00", "MO-2026-000102 MO-2026-000103"),
                credit("99.99", "Miete Mai"),
                Tx { ccy: "USD", ..credit("20.00", "MO-2026-000103") },
                Tx { credit: false, ..credit("7.00", "Gebuehren") },
            ],
        )]);
        let r = import(&w, &file).await;
        let m: Vec<&str> = r.statements[0].lines.iter().map(|l| l.r#match.as_str()).collect();
        assert_eq!(m, ["partial", "over", "ambiguous", "unmatched", "foreign", "debit"]);
        assert_eq!((r.booked(), r.to_resolve()), (0, 5));
        assert_eq!(r.statements[0].lines[0].label(), "Teilzahlung – bitte prüfen (Kassenzeichen MO-2026-000101)");
        for p in [p1, p2, p3] {
            assert!(bookings(&w, p).await.is_empty(), "nothing booked without a person");
        }
        let open = reconcile::to_resolve(&w.portal, w.a).await.unwrap();
        assert_eq!(
            open.iter().map(|e| e.r#match.as_str()).collect::<Vec<_>>(),
            ["partial", "over", "ambiguous", "unmatched", "foreign"]
        );
        assert_eq!(open[0].kassenzeichen, "MO-2026-000101", "a suggestion for the person");
        assert_eq!(open[1].details.debtor, "Zahlerin Zeisig");
        assert!(open.iter().all(|e| e.to_resolve));
        assert!(reconcile::to_resolve(&w.portal, w.b).await.unwrap().is_empty(), "another authority sees nothing");

        let actor = staff();
        // The partial payment as suggested: partly paid.
        reconcile::assign(&w.portal, &actor, w.a, open[0].id, "MO-2026-000101").await.unwrap().unwrap();
        let pay = w.store.payment(w.a, p1).await.unwrap().unwrap();
        assert_eq!((pay.status.as_str(), pay.paid_cents), ("partly_paid", 4000));
        let again = reconcile::assign(&w.portal, &actor, w.a, open[0].id, "MO-2026-000101").await.unwrap();
        assert_eq!(again.unwrap_err(), "Diese Buchung ist bereits erledigt.");
        assert_eq!(bookings(&w, p1).await, [("bank".to_owned(), 4000)], "booked once");
        // The over-payment: paid, marked for a look (refund).
        reconcile::assign(&w.portal, &actor, w.a, open[1].id, "mo2026000102").await.unwrap().unwrap();
        let pay = w.store.payment(w.a, p2).await.unwrap().unwrap();
        assert_eq!((pay.status.as_str(), pay.paid_cents, pay.review.as_str()), ("paid", 3500, "overpaid"));
        // Wrong inputs.
        let e = reconcile::assign(&w.portal, &actor, w.a, open[2].id, "XX-1").await.unwrap().unwrap_err();
        assert!(e.contains("keine Zahlung und keine Forderung"), "{e}");
        let e = reconcile::assign(&w.portal, &actor, w.a, open[4].id, "MO-2026-000103").await.unwrap().unwrap_err();
        assert!(e.contains("USD"), "{e}");
        let e = reconcile::assign(&w.portal, &actor, w.b, open[2].id, "MO-2026-000103").await.unwrap().unwrap_err();
        assert_eq!(e, "Diese Buchung gibt es nicht.", "another authority's entry");
        let debit = w.store.bank_entries_of_statement(w.a, open[0].statement_ref).await.unwrap().pop().unwrap();
        let e = reconcile::dismiss(&w.portal, &actor, w.a, debit.id, "x").await.unwrap().unwrap_err();
        assert_eq!(e, "Diese Buchung ist bereits erledigt.", "a debit is only listed");
        // The ambiguous one belongs to p3; the rent is dismissed with a note.
        reconcile::assign(&w.portal, &actor, w.a, open[2].id, "MO-2026-000103").await.unwrap().unwrap();
        assert_eq!(w.store.payment(w.a, p3).await.unwrap().unwrap().status, "paid");
        let e = reconcile::dismiss(&w.portal, &actor, w.a, open[3].id, "  ").await.unwrap().unwrap_err();
        assert!(e.contains("warum"), "{e}");
        reconcile::dismiss(&w.portal, &actor, w.a, open[3].id, "Fehlüberweisung Zeisig27 zurückgezahlt")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(count_containing(&w.store, "bank_entries", "note", "Zeisig27").await, 0, "the note is sealed");
        let e = reconcile::entry_view(&w.portal, &w.store.bank_entry(w.a, open[3].id).await.unwrap().unwrap())
            .await
            .unwrap();
        assert_eq!((e.r#match.as_str(), e.note.as_str()), ("dismissed", "Fehlüberweisung Zeisig27 zurückgezahlt"));
        assert_eq!((e.resolved_by.as_str(), e.to_resolve), ("Anna Kasse", false));
        let left = reconcile::to_resolve(&w.portal, w.a).await.unwrap();
        assert_eq!(left.iter().map(|e| e.r#match.as_str()).collect::<Vec<_>>(), ["foreign"]);
        let a = actions(&w, w.a).await;
        assert_eq!(a.iter().filter(|x| *x == "payment.bank_assign").count(), 3);
        assert_eq!(a.iter().filter(|x| *x == "payment.bank_dismiss").count(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_statement_imported_again_changes_nothing() {
    on_both(|w| async move {
        let (_, p1) = submit(&w, "MO-2026-000201", "rechnung", 1000, false).await;
        let (_, p2) = submit(&w, "MO-2026-000202", "rechnung", 2000, false).await;
        let first = camt(&[("S-1", IBAN, vec![credit("10.00", "MO-2026-000201")])]);
        assert_eq!(import(&w, &first).await.booked(), 1);
        let again = import(&w, &first).await;
        assert_eq!((again.known(), again.booked(), again.to_resolve()), (1, 0, 0));
        assert_eq!(
            again.summary_de(),
            "0 neue Kontoauszüge, 1 bereits eingelesen (unverändert), 0 Zahlungen wurden gebucht, 0 zu klären."
        );
        let dry = reconcile::check_camt(&w.portal, w.a, &first).await.unwrap().unwrap();
        assert_eq!(dry.known(), 1, "the dry run knows it too");
        assert_eq!(bookings(&w, p1).await, [("bank".to_owned(), 1000)]);

        // The same statement in another file (the bank's next export) with a new one.
        let both = camt(&[
            ("S-1", IBAN, vec![credit("10.00", "MO-2026-000201")]),
            ("S-2", IBAN, vec![credit("20.00", "MO-2026-000202"), credit("10.00", "MO-2026-000201")]),
        ]);
        let r = import(&w, &both).await;
        assert_eq!(r.statements.iter().map(|s| s.known).collect::<Vec<_>>(), [true, false]);
        assert_eq!(r.statements[1].lines.iter().map(|l| l.r#match.as_str()).collect::<Vec<_>>(), ["exact", "over"]);
        assert_eq!(bookings(&w, p1).await.len(), 1, "paid once; the second transfer waits as an over-payment");
        assert_eq!(bookings(&w, p2).await, [("bank".to_owned(), 2000)]);
        assert_eq!(w.store.statements_of(w.a, 10).await.unwrap().len(), 2);
        let r = import(&w, &both).await;
        assert_eq!((r.known(), r.booked()), (2, 0));
        assert_eq!(reconcile::to_resolve(&w.portal, w.a).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn files_that_are_no_statement_of_the_account_are_refused() {
    on_both(|w| async move {
        submit(&w, "MO-2026-000301", "rechnung", 1000, false).await;
        let refused = |bytes: Vec<u8>, authority: i64| {
            let portal = w.portal.clone();
            async move { reconcile::import_camt(&portal, &staff(), authority, &bytes).await.unwrap().unwrap_err() }
        };
        let e = refused(b"Hallo, das ist kein XML".to_vec(), w.a).await;
        assert!(e.contains("keine XML-Datei"), "{e}");
        let e = refused(
            b"<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>".to_vec(),
            w.a,
        )
        .await;
        assert!(e.contains("kein Kontoauszug"), "{e}");
        let v4 =
            b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.04\"><BkToCstmrStmt/></Document>".to_vec();
        let e = refused(v4, w.a).await;
        assert!(e.contains("001.04") && e.contains("001.02 und 001.08"), "{e}");
        let e = refused(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".to_vec(), w.a).await;
        assert!(e.contains("DTD"), "{e}");
        // A statement of another account: the whole file is refused.
        let foreign = camt(&[
            ("S-1", IBAN, vec![credit("10.00", "MO-2026-000301")]),
            ("S-2", OTHER_IBAN, vec![credit("10.00", "x")]),
        ]);
        let e = refused(foreign, w.a).await;
        assert!(e.contains("DE89 3704 0044 0532 0130 00") && e.contains("nichts eingelesen"), "{e}");
        let e = refused(fixture("stadtkasse.v8.xml"), w.a).await;
        assert!(e.contains("4711-USD"), "{e}");
        // An authority without an invoice account.
        let e = refused(camt(&[("S-1", IBAN, vec![credit("10.00", "x")])]), w.b).await;
        assert!(e.contains("kein Konto für Rechnungen"), "{e}");
        assert!(w.store.statements_of(w.a, 10).await.unwrap().is_empty(), "nothing stored");
        assert!(w.store.statements_of(w.b, 10).await.unwrap().is_empty());
        assert!(!actions(&w, w.a).await.contains(&"payment.camt_import".to_owned()));
        // Conformance samples of other versions, when present.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/camt053/samples");
        for (name, want) in
            [("camt053.v3.xml", "001.03"), ("camt053.v4.xml", "001.04"), ("camt053.v2.wrong.xml", "fehlerhaft")]
        {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                let e = refused(bytes, w.a).await;
                assert!(e.contains(want), "{name}: {e}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn refunds_are_limited_audited_and_shown_to_the_citizen() {
    on_both(|w| async move {
        let (sub, p) = submit(&w, "MO-2026-000401", "rechnung", 3000, true).await;
        let actor = staff();
        let e =
            refund::refund(&w.portal, &actor, w.a, p, Cents(100), "Gebühr erlassen", None).await.unwrap().unwrap_err();
        assert!(e.contains("nichts (mehr) zu erstatten"), "{e}");
        import(&w, &camt(&[("S-1", IBAN, vec![credit("30.00", "MO-2026-000401")])])).await;

        let e = refund::refund(&w.portal, &actor, w.a, p, Cents(3001), "zu viel", None).await.unwrap().unwrap_err();
        assert_eq!(e, "Erstattet werden können höchstens 30,00 € (bezahlt 30,00 €, bereits erstattet 0,00 €).");
        let e = refund::refund(&w.portal, &actor, w.a, p, Cents(0), "x", None).await.unwrap().unwrap_err();
        assert!(e.contains("über 0,00 €"), "{e}");
        let e = refund::refund(&w.portal, &actor, w.a, p, Cents(500), " ", None).await.unwrap().unwrap_err();
        assert!(e.contains("Grund"), "{e}");
        let e = refund::refund(&w.portal, &actor, w.a, p, Cents(500), "x", Some("DE02120300000000202052"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(e.contains("IBAN"), "{e}");
        let e = refund::refund(&w.portal, &actor, w.b, p, Cents(500), "x", None).await.unwrap().unwrap_err();
        assert_eq!(e, "Diese Zahlung gibt es nicht.");

        refund::refund(
            &w.portal,
            &actor,
            w.a,
            p,
            Cents(1000),
            "Ermäßigung Schwerbehinderung Kanari42",
            Some("DE89 3704 0044 0532 0130 00"),
        )
        .await
        .unwrap()
        .unwrap();
        let pay = w.store.payment(w.a, p).await.unwrap().unwrap();
        assert_eq!((pay.paid_cents, pay.refunded_cents), (3000, 1000));
        assert_eq!(bookings(&w, p).await, [("bank".to_owned(), 3000), ("refund".to_owned(), -1000)]);
        assert_eq!(count_containing(&w.store, "payment_refunds", "reason", "Kanari42").await, 0, "sealed");
        assert_eq!(count_containing(&w.store, "payment_refunds", "payout_iban", "0532013000").await, 0, "sealed");
        let views = refund::of_payment(&w.portal, w.a, p).await.unwrap();
        assert_eq!(views.len(), 1);
        let v = &views[0];
        assert_eq!((v.amount_de.as_str(), v.reason.as_str()), ("10,00 €", "Ermäßigung Schwerbehinderung Kanari42"));
        assert_eq!(
            (v.payout_iban.as_str(), v.done, v.kassenzeichen.as_str()),
            ("DE89 3704 0044 0532 0130 00", false, "MO-2026-000401")
        );
        assert!(refund::of_payment(&w.portal, w.b, p).await.unwrap().is_empty());
        // Shown to the citizen: in the history and in the Postfach.
        let events = w.store.submission_events(sub).await.unwrap();
        let e = events.iter().find(|e| e.kind == "message").expect("an event of the refund");
        assert!(e.is_public());
        let text = amtsweg_portal::casework::open_text(&w.portal, w.a, sub, &e.body).await;
        assert!(text.contains("10,00 €") && text.contains("Kanari42"), "{text}");
        let threads = w.store.threads(w.citizen).await.unwrap();
        assert_eq!(threads.len(), 1, "a Postfach message");
        assert_eq!(w.store.submission(w.a, sub).await.unwrap().unwrap().thread_id, Some(threads[0].id));
        assert!(actions(&w, w.a).await.contains(&"payment.refund".to_owned()));

        // The rest, then nothing more.
        refund::refund(&w.portal, &actor, w.a, p, Cents(2000), "Antrag zurückgenommen", None).await.unwrap().unwrap();
        let e = refund::refund(&w.portal, &actor, w.a, p, Cents(1), "x", None).await.unwrap().unwrap_err();
        assert!(e.contains("nichts (mehr)"), "{e}");
        let open = refund::open(&w.portal, w.a).await.unwrap();
        assert_eq!(open.len(), 2);
        assert!(refund::open(&w.portal, w.b).await.unwrap().is_empty());
        assert!(!refund::mark_done(&w.portal, &actor, w.b, open[0].id).await.unwrap(), "another authority's");
        assert!(refund::mark_done(&w.portal, &actor, w.a, open[0].id).await.unwrap());
        assert!(!refund::mark_done(&w.portal, &actor, w.a, open[0].id).await.unwrap(), "once");
        assert_eq!(refund::open(&w.portal, w.a).await.unwrap().len(), 1);
        let done = &refund::of_payment(&w.portal, w.a, p).await.unwrap()[0];
        assert_eq!((done.done, done.status_de.as_str()), (true, "Ausgezahlt"));
        assert!(actions(&w, w.a).await.contains(&"payment.refund_done".to_owned()));
    })
    .await;
}

#[tokio::test]
async fn the_period_csv_answers_what_was_asked_paid_and_is_open() {
    on_both(|w| async move {
        let (_, paid) = submit(&w, "MO-2026-000501", "rechnung", 4500, false).await;
        submit(&w, "=MO-2026-000502", "rechnung", 1000, false).await;
        let claim = claim(&w, 5000).await;
        import(
            &w,
            &camt(&[(
                "S-1",
                IBAN,
                vec![
                    credit("45.00", "MO-2026-000501"),
                    Tx { rf: Some("RF18539007547034"), ..credit("20.00", "Grundsteuer") },
                ],
            )]),
        )
        .await;
        let open = reconcile::to_resolve(&w.portal, w.a).await.unwrap();
        reconcile::assign(&w.portal, &staff(), w.a, open[0].id, "539007547034").await.unwrap().unwrap();
        refund::refund(&w.portal, &staff(), w.a, paid, Cents(500), "Ermäßigung", None).await.unwrap().unwrap();

        let may = |d: i8| jiff::civil::date(2026, 5, d);
        let today = amtsweg_portal::time::now_local().date();
        let csv = report::period_csv(&w.portal, w.a, may(1).min(today), today.max(may(31))).await.unwrap();
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], report::CSV_HEADER.join(";"));
        assert_eq!(lines.len(), 4, "{csv}");
        let row = lines.iter().find(|l| l.starts_with("MO-2026-000501;")).unwrap();
        let f: Vec<&str> = row.split(';').collect();
        assert_eq!(f[1], "Rechnung (Überweisung)", "{row}");
        assert!(f[2].starts_with("Hundesteuer – Antrag MO-"), "{row}");
        assert_eq!(&f[3..10], ["45,00", "45,00", "45,00", "5,00", "0,00", "Überweisung", "Bezahlt"], "{row}");
        let formula = lines.iter().find(|l| l.contains("MO-2026-000502")).unwrap();
        assert!(formula.starts_with("'=MO-2026-000502;"), "defused: {formula}");
        assert!(formula.contains(";10,00;0,00;0,00;0,00;10,00;;Offen;"), "{formula}");
        let c = lines.iter().find(|l| l.starts_with("539007547034;")).unwrap();
        assert!(c.contains("Grundsteuer – fällig am 15.05.2026;50,00;20,00;20,00;0,00;30,00;Überweisung"), "{c}");
        let _ = claim;
        // Another authority's report is empty; a period ending before it starts is refused.
        let other = report::period_csv(&w.portal, w.b, may(1), today.max(may(31))).await.unwrap();
        assert_eq!(other.trim_start_matches('\u{feff}').trim_end(), report::CSV_HEADER.join(";"));
        assert!(report::period_csv(&w.portal, w.a, may(31), may(1)).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn a_payment_booked_while_a_statement_is_read_is_not_booked_again() {
    on_both(|w| async move {
        let (sub, p) = submit(&w, "MO-2026-000301", "rechnung", 1250, false).await;
        let file = camt(&[("S-RACE", IBAN, vec![credit("12.50", "MO-2026-000301")])]);
        // Matched against the open 12,50 € …
        let prepared = reconcile::prepare_camt(&w.portal, w.a, &file).await.unwrap().unwrap();
        // … while the fee is paid at the counter …
        counter::record_counter_payment(&w.portal, &staff(), w.a, sub, Cents(1250), "bar").await.unwrap().unwrap();
        // … so the transfer is an over-payment for a person, not a second exact booking.
        let r = reconcile::apply_camt(&w.portal, &staff(), prepared).await.unwrap();
        assert_eq!(r.statements[0].lines[0].r#match, "over");
        assert_eq!(bookings(&w, p).await, [("counter".to_owned(), 1250)]);
        let pay = w.store.payment(w.a, p).await.unwrap().unwrap();
        assert_eq!((pay.paid_cents, pay.review.as_str()), (1250, ""));
        assert_eq!(reconcile::to_resolve(&w.portal, w.a).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_same_refund_sent_twice_at_once_is_recorded_once() {
    on_both(|w| async move {
        let (sub, p) = submit(&w, "MO-2026-000302", "rechnung", 3000, false).await;
        counter::record_counter_payment(&w.portal, &staff(), w.a, sub, Cents(3000), "bar").await.unwrap().unwrap();
        let actor = staff();
        let once = || refund::refund(&w.portal, &actor, w.a, p, Cents(1000), "Ermäßigung", None);
        let (a, b) = tokio::join!(once(), once());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.is_ok() != b.is_ok(), "one of two identical refunds: {a:?} {b:?}");
        let e = a.err().or(b.err()).unwrap();
        assert!(e.contains("gerade erst erfasst"), "{e}");
        assert_eq!(w.store.refunds_of(p).await.unwrap().len(), 1, "one payout instruction");
        assert_eq!(bookings(&w, p).await, [("counter".to_owned(), 3000), ("refund".to_owned(), -1000)]);
        // Another amount is another refund.
        refund::refund(&w.portal, &actor, w.a, p, Cents(500), "Rest", None).await.unwrap().unwrap();
        assert_eq!(w.store.refunds_of(p).await.unwrap().len(), 2);
    })
    .await;
}
