//! `amtsweg payments import-camt` of the real binary on both databases: a dry run
//! stores nothing, the import books and prints what it did, the same file again
//! changes nothing, and refused files end with exit code 1.

use amtsweg::seed;
use amtsweg_store::payments::NewPayment;
use amtsweg_store::submissions::OwnedSubmission;
use amtsweg_store::testing::both;
use std::path::Path;
use std::process::{Command, Output};

const IBAN: &str = "DE02120300000000202051";

fn statement(id: &str, iban: &str, credits: &[(&str, &str)]) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\
         <BkToCstmrStmt><GrpHdr><MsgId>MSG-{id}</MsgId></GrpHdr><Stmt><Id>{id}</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>"
    );
    for (amount, text) in credits {
        x.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
             <BookgDt><Dt>2026-05-05</Dt></BookgDt><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Erika Mustermann</Nm></Dbtr>\
             </RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        ));
    }
    x.push_str("</Stmt></BkToCstmrStmt></Document>");
    x
}

fn run(data: &Path, url: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_amtsweg"));
    c.arg("--data-dir").arg(data).env("AMTSWEG_LOG", "warn");
    if let Some(u) = url {
        c.args(["--database-url", u]);
    }
    c.args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn the_binary_imports_a_statement_once() {
    for t in both().await {
        eprintln!("backend: {}", t.name);
        let store = t.store.clone();
        seed::apply(&store, &seed::parse(seed::DEMO).unwrap()).await.unwrap();
        let scratch = tempfile::tempdir().unwrap();
        let data = t.dir.as_ref().map_or_else(|| scratch.path().to_owned(), |d| d.path().to_owned());
        let url = t.postgres_url();
        // The binary opens sealed settings with the master key in the data directory.
        let master = amtsweg_portal::Keyring::new_master_key();
        std::fs::write(data.join("master.key"), &master).unwrap();
        let web = amtsweg_web::WebConfig {
            master_key: Some(master.clone()),
            objects_dir: Some(data.join("objects")),
            ..amtsweg_web::WebConfig::default()
        };
        let portal = web.open_portal(store.clone(), amtsweg::printer()).await.unwrap();
        let a = store.authority_by_slug("moorbrueck").await.unwrap().unwrap().id;
        let account = serde_json::json!({"recipient": "Stadtkasse Moorbrück", "iban": IBAN}).to_string();
        amtsweg_portal::payments::connectors::add(&portal, a, None, "rechnung", "Stadtkasse", &account).await.unwrap();
        let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
            "id": "camt-test", "title": "Hundesteuer", "steps": [{"id": "a", "title": "A", "items": []}]
        }))
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        let form_id =
            tx.create_form(a, &amtsweg_domain::Slug::parse("camt-test").unwrap(), None, &form, None).await.unwrap();
        tx.commit().await.unwrap();
        let s = OwnedSubmission {
            form_token: "camt-test-token".into(),
            authority_id: a,
            form_id,
            form_version: 1,
            title: "Hundesteuer".into(),
            org_unit_id: None,
            citizen_id: None,
            browser_hash: "b".into(),
            data: "sealed".into(),
            data_hash: "h".into(),
            receipt_prefix: "MOO".into(),
            year: 2026,
            confirmation: None,
        };
        let p = NewPayment {
            authority_id: a,
            mode: "rechnung".into(),
            connector_id: None,
            kassenzeichen: "MOO-2026-000042".into(),
            rf_reference: amtsweg_domain::payment::rf_from("MOO-2026-000042").unwrap(),
            purpose: "Hundesteuer".into(),
            amount_cents: 1250,
            booking: "[]".into(),
            due_on: String::new(),
            expires_at: None,
            citizen_id: None,
            hold: false,
        };
        let sub = store.submit_all_with(&[(s, Some(p))]).await.pop().unwrap().unwrap();
        let payment = store.payment_of_submission(a, sub.id).await.unwrap().unwrap().id;

        let files = tempfile::tempdir().unwrap();
        let file = files.path().join("auszug.xml");
        std::fs::write(&file, statement("S-1", IBAN, &[("12.50", "Hundesteuer MOO-2026-000042"), ("5.00", "Spende")]))
            .unwrap();
        let f = file.to_str().unwrap();
        let url = url.as_deref();

        let dry = run(&data, url, &["payments", "import-camt", f, "--authority", "moorbrueck", "--dry-run"]);
        assert!(dry.status.success(), "{}", stderr(&dry));
        let out = stdout(&dry);
        assert!(out.starts_with("Probelauf: nichts wird gespeichert."), "{out}");
        assert!(out.contains("+12,50 €: gebucht auf Kassenzeichen MOO-2026-000042"), "{out}");
        assert!(out.contains("1 Zahlung würde gebucht, 1 zu klären"), "{out}");
        assert!(store.statements_of(a, 10).await.unwrap().is_empty(), "the dry run stores nothing");

        let done = run(&data, url, &["payments", "import-camt", f, "--authority", "moorbrueck"]);
        assert!(done.status.success(), "{}", stderr(&done));
        let out = stdout(&done);
        assert!(out.contains("Auszug S-1 (Konto DE02120300000000202051, camt.053.001.02)"), "{out}");
        assert!(out.contains("2026-05-05 +12,50 €: gebucht auf Kassenzeichen MOO-2026-000042"), "{out}");
        assert!(out.contains("+5,00 €: nicht zugeordnet – bitte prüfen"), "{out}");
        assert!(out.contains("1 neuer Kontoauszug, 1 Zahlung wurde gebucht, 1 zu klären."), "{out}");
        assert!(out.contains("„Zahlungen“ → „Abgleich“"), "{out}");
        let paid = store.payment(a, payment).await.unwrap().unwrap();
        assert_eq!((paid.status.as_str(), paid.paid_cents), ("paid", 1250));
        assert_eq!(store.bank_entries_to_resolve(a).await.unwrap().len(), 1);

        let again = run(&data, url, &["payments", "import-camt", f, "--authority", "moorbrueck"]);
        assert!(again.status.success(), "{}", stderr(&again));
        let out = stdout(&again);
        assert!(out.contains("bereits eingelesen, unverändert"), "{out}");
        assert!(out.contains("0 Zahlungen wurden gebucht"), "{out}");
        assert_eq!(store.bookings_of_payment(payment).await.unwrap().len(), 1, "booked once");

        // Refused: another account, not XML, another authority without an account.
        let other = files.path().join("fremd.xml");
        std::fs::write(&other, statement("S-9", "DE89370400440532013000", &[("1.00", "x")])).unwrap();
        let o = run(&data, url, &["payments", "import-camt", other.to_str().unwrap(), "--authority", "moorbrueck"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("Kontoauszug abgelehnt: Der Kontoauszug S-9 gehört zum Konto DE89 3704"),
            "{}",
            stderr(&o)
        );
        let junk = files.path().join("kein.xml");
        std::fs::write(&junk, "Betrag;Verwendungszweck\n12,50;MOO-2026-000042\n").unwrap();
        let o = run(&data, url, &["payments", "import-camt", junk.to_str().unwrap(), "--authority", "moorbrueck"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("keine XML-Datei"), "{}", stderr(&o));
        let o = run(&data, url, &["payments", "import-camt", f, "--authority", "birkhusen"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("kein Konto für Rechnungen"), "{}", stderr(&o));
        let o = run(&data, url, &["payments", "import-camt", f, "--authority", "gibt-es-nicht"]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("unbekannte Behörde"), "{}", stderr(&o));
        assert_eq!(store.statements_of(a, 10).await.unwrap().len(), 1);

        let help = run(&data, url, &["payments", "import-camt", "--help"]);
        assert!(help.status.success() && stdout(&help).contains("--dry-run"));
        t.cleanup().await;
    }
}
