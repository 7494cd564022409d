//! Payments in the back office, through the real router on both databases:
//! connectors with sealed secrets (never shown again, never stored in clear), an
//! IBAN with a wrong check digit refused, settings, a camt.053 statement uploaded
//! and its leftovers resolved, a payment at the counter that releases a held
//! application, a refund and its payout, the period CSV, activation letters, the
//! CSV import of claims, the payment mode of a form — and who may do which.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_domain::payment::rf_from;
use amtsweg_store::audit_log::AuditQuery;
use amtsweg_store::payments::{AWAITING_PAYMENT, NewPayment};
use amtsweg_store::submissions::OwnedSubmission;
use amtsweg_store::testing::count_containing;

const ADMIN: &str = "admin@moorbrueck.example";
const CASE_WORKER: &str = "sachbearbeitung@moorbrueck.example";
const EDITOR: &str = "redaktion@moorbrueck.example";
const BASE: &str = "/verwaltung/behoerden/moorbrueck/zahlungen/";
const IBAN: &str = "DE02120300000000202051";
const CANARY: &str = "KANARIENVOGEL0815GEHEIM";

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

/// GETs `page` and POSTs `fields` with the page's CSRF token to `action`.
async fn submit(app: &TestApp, jar: &mut Jar, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
    let csrf = hidden(&get(app, jar, page).await.body, "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    post(app, jar, action, &form(&all)).await
}

/// POSTs a file as `multipart/form-data` with the page's CSRF token.
async fn upload(app: &TestApp, jar: &mut Jar, page: &str, extra: &[(&str, &str)], name: &str, bytes: &[u8]) -> Reply {
    let csrf = hidden(&get(app, jar, page).await.body, "csrf");
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend_from_slice(extra);
    let r = app.post_multipart(page, &fields, ("datei", name, bytes), &jar.header()).await;
    jar.take_pub(&r);
    r
}

async fn actions(app: &TestApp, authority: i64) -> Vec<String> {
    let q = AuditQuery { authorities: Some(vec![authority]), limit: 1000, ..AuditQuery::default() };
    app.store.store.audit_page(&q).await.unwrap().0.into_iter().map(|r| r.action).collect()
}

/// An application to Moorbrück with a payment of `cents` (held for payment when
/// `mode` is `vorab`): (submission id, payment id).
async fn application(app: &TestApp, kz: &str, mode: &str, cents: i64) -> (i64, i64) {
    let a = app.authority_id("moorbrueck").await;
    let f = app.state.portal.catalogue().all_forms().find(|p| p.authority_id == a).map(|p| (p.form_id, p.version));
    let (form_id, version) = f.unwrap();
    // Sealed as the portal seals a submission's data, so the case page opens it.
    let token = format!("zahlung-{kz}");
    let data = serde_json::json!({
        "form": "test", "version": version, "answers": {}, "computed": [["gebuehr", cents]], "files": []
    });
    let scope = amtsweg_portal::keyring::authority_scope(a);
    let record = amtsweg_portal::keyring::record::submission(&token);
    let sealed =
        app.state.portal.seal_bound(&scope, "antrag:submission", &record, data.to_string().as_bytes()).await.unwrap();
    let s = OwnedSubmission {
        form_token: token,
        authority_id: a,
        form_id,
        form_version: version,
        title: "Meldebescheinigung".into(),
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b".into(),
        data: sealed,
        data_hash: "h".into(),
        receipt_prefix: "MBR".into(),
        year: 2026,
        confirmation: None,
    };
    let p = NewPayment {
        authority_id: a,
        mode: mode.into(),
        connector_id: None,
        kassenzeichen: kz.into(),
        rf_reference: rf_from(kz).unwrap(),
        purpose: "Gebühr".into(),
        amount_cents: cents,
        booking: "[]".into(),
        due_on: "2026-12-31".into(),
        expires_at: Some(amtsweg_store::now_ms() + 3_600_000),
        citizen_id: None,
        hold: mode == "vorab",
    };
    let sub = app.store.store.submit_all_with(&[(s, Some(p))]).await.pop().unwrap().unwrap();
    let pay = app.store.store.payment_of_submission(a, sub.id).await.unwrap().unwrap();
    (sub.id, pay.id)
}

/// The invoice account of Moorbrück, set up through the page.
async fn invoice_account(app: &TestApp, jar: &mut Jar) {
    let r = submit(
        app,
        jar,
        &format!("{BASE}?art=rechnung"),
        &format!("{BASE}verbindungen"),
        &[("art", "rechnung"), ("name", "Stadtkasse"), ("re_empfaenger", "Stadtkasse Moorbrück"), ("re_iban", IBAN)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// One credit of a generated camt.053.001.08 statement: amount, RF, remittance text.
fn camt(id: &str, credits: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\
         <BkToCstmrStmt><GrpHdr><MsgId>WEB-TEST</MsgId><CreDtTm>2026-05-06T06:00:00+02:00</CreDtTm></GrpHdr>",
    );
    x.push_str(&format!("<Stmt><Id>{id}</Id><Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>"));
    for (amount, rf, text) in credits {
        let rf = rf.map(|r| format!("<Strd><CdtrRefInf><Ref>{r}</Ref></CdtrRefInf></Strd>")).unwrap_or_default();
        x.push_str(&format!(
            "<Ntry><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-05-05</Dt></BookgDt><ValDt><Dt>2026-05-05</Dt></ValDt><NtryDtls><TxDtls>\
             <Amt Ccy=\"EUR\">{amount}</Amt><RltdPties><Dbtr><Pty><Nm>Zahlerin Zeisig</Nm></Pty></Dbtr>\
             <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>\
             <RmtInf><Ustrd>{text}</Ustrd>{rf}</RmtInf></TxDtls></NtryDtls></Ntry>"
        ));
    }
    x.push_str("</Stmt></BkToCstmrStmt></Document>");
    x.into_bytes()
}

#[tokio::test]
async fn connectors_keep_their_secrets_sealed_and_check_the_iban() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let mut jar = sign_in(app, ADMIN).await;
        let page = get(app, &mut jar, BASE).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Neue Verbindung einrichten") && page.body.contains("id=\"art-xbezahldienste\""));
        let page = get(app, &mut jar, &format!("{BASE}?art=xbezahldienste")).await;
        assert!(page.body.contains("name=\"xb_client_secret\" type=\"password\" autocomplete=\"off\" value=\"\""));

        // A provider with OAuth2: the secret is sealed for the connector.
        let fields = [
            ("art", "xbezahldienste"),
            ("name", "ePayBL"),
            ("xb_url", "https://epay.example/api/v1"),
            ("xb_originator", "amtsweg"),
            ("xb_endpoint", "039510007007"),
            ("xb_auth", "oauth2"),
            ("xb_token_url", "https://epay.example/token"),
            ("xb_client_id", "moorbrueck"),
            ("xb_client_secret", CANARY),
        ];
        let r =
            submit(app, &mut jar, &format!("{BASE}?art=xbezahldienste"), &format!("{BASE}verbindungen"), &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{BASE}?hinweis=verbindung#verbindungen"));
        let c = app.store.store.payment_connectors_of(a).await.unwrap().into_iter().find(|c| c.name == "ePayBL");
        let c = c.unwrap();
        let opened = amtsweg_portal::payments::connectors::open_config(&app.state.portal, &c).await.unwrap();
        let opened: serde_json::Value = serde_json::from_str(&opened).unwrap();
        assert_eq!(opened["auth"]["client_secret"], CANARY);
        assert_eq!(count_containing(&app.store.store, "payment_connectors", "config", CANARY).await, 0);
        assert_eq!(count_containing(&app.store.store, "audit_log", "outcome", CANARY).await, 0);

        // Never shown again; an empty input keeps it, a new one replaces it.
        let edit = format!("{BASE}verbindungen/{}/bearbeiten", c.id);
        let page = get(app, &mut jar, &edit).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(CANARY), "the secret is never written into a page");
        assert!(page.body.contains("gespeichert (endet auf …HEIM)") && page.body.contains("value=\"moorbrueck\""));
        let mut changed = fields.to_vec();
        changed.retain(|(k, _)| *k != "xb_client_secret");
        changed.push(("name", "ePayBL Moorbrück"));
        changed.retain(|(k, v)| *k != "name" || *v != "ePayBL");
        let r = submit(app, &mut jar, &edit, &edit, &changed).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let c = app.store.store.payment_connector(c.id).await.unwrap().unwrap();
        assert_eq!(c.name, "ePayBL Moorbrück");
        let opened = amtsweg_portal::payments::connectors::open_config(&app.state.portal, &c).await.unwrap();
        assert!(opened.contains(CANARY), "kept");
        // A wrong address keeps everything typed but the secret.
        let mut wrong = changed.clone();
        wrong.retain(|(k, _)| *k != "xb_url");
        wrong.push(("xb_url", "ftp://epay.example"));
        wrong.push(("xb_client_secret", "ein-neues-geheimnis"));
        let r = submit(app, &mut jar, &edit, &edit, &wrong).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#xb_url\"") && r.body.contains("Es wurde nichts gespeichert"));
        assert!(!r.body.contains("ein-neues-geheimnis") && r.body.contains("noch einmal ein"));

        // An IBAN with a wrong check digit is refused; nothing is stored.
        let before = app.store.store.payment_connectors_of(a).await.unwrap().len();
        let r = submit(
            app,
            &mut jar,
            &format!("{BASE}?art=rechnung"),
            &format!("{BASE}verbindungen"),
            &[
                ("art", "rechnung"),
                ("name", "Stadtkasse"),
                ("re_empfaenger", "Stadtkasse Moorbrück"),
                ("re_iban", "DE03 1203 0000 0000 2020 51"),
            ],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#re_iban\"") && r.body.contains("keine gültige IBAN"), "{}", r.body);
        assert!(r.body.contains("value=\"DE03 1203 0000 0000 2020 51\""), "what was typed is shown again");
        assert_eq!(app.store.store.payment_connectors_of(a).await.unwrap().len(), before);
        invoice_account(app, &mut jar).await;
        let kasse = app.store.store.payment_connectors_of(a).await.unwrap().into_iter().find(|c| c.kind == "rechnung");
        let kasse = kasse.unwrap();
        let opened = amtsweg_portal::payments::connectors::open_config(&app.state.portal, &kasse).await.unwrap();
        assert!(opened.contains(IBAN), "stored compact: {opened}");

        // Switched off and on again.
        let r = submit(app, &mut jar, BASE, &format!("{BASE}verbindungen/{}", kasse.id), &[("aktiv", "0")]).await;
        assert_eq!(r.status, 303);
        assert_eq!(app.store.store.payment_connector(kasse.id).await.unwrap().unwrap().active, 0);
        let acts = actions(app, a).await;
        for action in ["payment_connector.create", "payment_connector.update", "payment_connector.toggle"] {
            assert!(acts.iter().any(|x| x == action), "{action} audited");
        }

        // Case workers handle money but set up no connectors; editors see nothing.
        let mut worker = sign_in(app, CASE_WORKER).await;
        let page = get(app, &mut worker, BASE).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("Neue Verbindung einrichten") && page.body.contains("Was zu tun ist"));
        assert_eq!(get(app, &mut worker, &edit).await.status, 403);
        assert_eq!(get(app, &mut worker, &format!("{BASE}einstellungen")).await.status, 403);
        let r = post(app, &mut worker, &format!("{BASE}verbindungen/{}", kasse.id), "csrf=x&aktiv=1").await;
        assert_eq!(r.status, 403);
        let mut editor = sign_in(app, EDITOR).await;
        assert_eq!(get(app, &mut editor, BASE).await.status, 403);
        assert!(!get(app, &mut editor, "/verwaltung/").await.body.contains("/zahlungen/"), "no area for editors");
        assert!(get(app, &mut worker, "/verwaltung/").await.body.contains(BASE), "the area for case workers");
    });
}

#[tokio::test]
async fn settings_are_checked_and_saved_once() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let mut jar = sign_in(app, ADMIN).await;
        let page_url = format!("{BASE}einstellungen");
        let page = get(app, &mut jar, &page_url).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("name=\"stunden\" type=\"text\" value=\"72\""), "the defaults");
        let r = submit(
            app,
            &mut jar,
            &page_url,
            &page_url,
            &[("version", "0"), ("kassenzeichen", "MB-{jahr}"), ("stunden", "72"), ("tage", "14")],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-kassenzeichen\""), "{}", r.body);
        assert!(app.store.store.payment_settings(a).await.unwrap().is_none());
        let fields = [
            ("version", "0"),
            ("kassenzeichen", "MB-{jahr}-{nr:5}"),
            ("stunden", "48"),
            ("tage", "21"),
            ("b0_hhst", "1.1.2.01"),
        ];
        let r = submit(app, &mut jar, &page_url, &page_url, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let row = app.store.store.payment_settings(a).await.unwrap().unwrap();
        let s: amtsweg_domain::payment::PaymentSettings = serde_json::from_str(&row.settings).unwrap();
        assert_eq!((s.kassenzeichen.as_str(), s.expire_unpaid_hours, s.invoice_due_days), ("MB-{jahr}-{nr:5}", 48, 21));
        assert_eq!(s.booking[0].haushaltsstelle, "1.1.2.01");
        // The same form again (version 0) is a conflict, not an overwrite.
        let r = submit(app, &mut jar, &page_url, &page_url, &fields).await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("Gleichzeitige Änderung"));
    });
}

#[tokio::test]
async fn a_statement_is_uploaded_and_its_leftovers_resolved() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let mut admin = sign_in(app, ADMIN).await;
        invoice_account(app, &mut admin).await;
        let (_, invoice) = application(app, "MBR-2026-000101", "rechnung", 2500).await;
        let (held, _) = application(app, "MBR-2026-000102", "vorab", 1200).await;
        let rf = rf_from("MBR-2026-000101").unwrap();
        let file = camt(
            "AUSZUG-1",
            &[
                ("25.00", Some(&rf), "Rechnung"),
                ("12.00", None, "Gebuehr Meldebescheinigung"),
                ("5.00", None, "Spende"),
            ],
        );
        let mut jar = sign_in(app, CASE_WORKER).await;
        let page = format!("{BASE}kontoauszuege");

        // Not XML, and a check only: nothing stored.
        let r = upload(app, &mut jar, &page, &[], "auszug.txt", b"Kein XML").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Der Kontoauszug wurde nicht eingelesen") && r.body.contains("auszug.txt"));
        // Statements may be larger than ordinary forms (the upload limit applies).
        let big = vec![b'x'; 3 * 1024 * 1024];
        let r = upload(app, &mut jar, &page, &[], "gross.xml", &big).await;
        assert_eq!(r.status, 422, "read and refused as not XML, not cut off");
        let r = upload(app, &mut jar, &page, &[("pruefen", "ja")], "auszug.xml", &file).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Prüfung – nichts gespeichert"));
        assert!(app.store.store.statements_of(a, 10).await.unwrap().is_empty());

        // Imported: the exact credit is booked, two wait for a person.
        let r = upload(app, &mut jar, &page, &[], "auszug.xml", &file).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("gebucht auf Kassenzeichen MBR-2026-000101"), "{}", r.body);
        assert!(r.body.contains("2 zu klären"));
        assert_eq!(app.store.store.payment(a, invoice).await.unwrap().unwrap().status, "paid");
        let again = upload(app, &mut jar, &page, &[], "auszug.xml", &file).await;
        assert!(again.body.contains("bereits eingelesen"), "{}", again.body);
        assert_eq!(app.store.store.statements_of(a, 10).await.unwrap().len(), 1);

        let list = get(app, &mut jar, &format!("{BASE}abgleich")).await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Zahlerin Zeisig") && list.body.contains("Gebuehr Meldebescheinigung"));
        let entries = app.store.store.bank_entries_to_resolve(a).await.unwrap();
        assert_eq!(entries.len(), 2);
        let fee = entries.iter().find(|e| e.amount_cents == 1200).unwrap().id;
        let gift = entries.iter().find(|e| e.amount_cents == 500).unwrap().id;
        // A Kassenzeichen nobody has is refused and shown with the entry.
        let abgleich = format!("{BASE}abgleich");
        let r =
            submit(app, &mut jar, &abgleich, &format!("{abgleich}/{fee}/zuordnen"), &[("kassenzeichen", "XX-1")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains(&format!("href=\"#kz-{fee}\"")) && r.body.contains("value=\"XX-1\""));
        // Assigned: booked, and the held application is released.
        assert_eq!(app.store.store.submission(a, held).await.unwrap().unwrap().status, AWAITING_PAYMENT);
        let r = submit(
            app,
            &mut jar,
            &abgleich,
            &format!("{abgleich}/{fee}/zuordnen"),
            &[("kassenzeichen", "mbr 2026 000102")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(app.store.store.submission(a, held).await.unwrap().unwrap().status, "eingegangen");
        // Closed with a note; a note is required.
        let r = submit(app, &mut jar, &abgleich, &format!("{abgleich}/{gift}/erledigt"), &[("notiz", " ")]).await;
        assert_eq!(r.status, 422);
        let r = submit(
            app,
            &mut jar,
            &abgleich,
            &format!("{abgleich}/{gift}/erledigt"),
            &[("notiz", "Spende, an die Kasse weitergegeben")],
        )
        .await;
        assert_eq!(r.status, 303);
        let list = get(app, &mut jar, &abgleich).await;
        assert!(list.body.contains("Nichts zu klären"), "{}", list.body);
        // An entry already resolved, and one that is not there.
        let r = submit(app, &mut jar, &abgleich, &format!("{abgleich}/{gift}/erledigt"), &[("notiz", "x")]).await;
        assert_eq!(r.status, 422);
        let r = submit(app, &mut jar, &abgleich, &format!("{abgleich}/999999/erledigt"), &[("notiz", "x")]).await;
        assert_eq!(r.status, 404);
        let acts = actions(app, a).await;
        for action in ["payment.camt_import", "payment.bank_assign", "payment.bank_dismiss"] {
            assert!(acts.iter().any(|x| x == action), "{action} audited");
        }
    });
}

#[tokio::test]
async fn a_counter_payment_releases_and_a_refund_is_paid_out() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let (held, payment) = application(app, "MBR-2026-000201", "vorab", 1200).await;
        let mut jar = sign_in(app, CASE_WORKER).await;
        // Held: only in the inbox when asked for.
        let inbox = get(app, &mut jar, "/verwaltung/antraege/").await;
        let receipt = app.store.store.submission(a, held).await.unwrap().unwrap().receipt_number;
        assert!(!inbox.body.contains(&receipt));
        let waiting = get(app, &mut jar, "/verwaltung/antraege/?stand=zahlung_ausstehend").await;
        assert!(waiting.body.contains(&receipt), "{}", waiting.body);

        let case = format!("/verwaltung/antraege/{held}");
        let page = get(app, &mut jar, &case).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Der Antrag wartet auf die Zahlung") && page.body.contains("MBR-2026-000201"));
        assert!(page.body.contains("name=\"betrag\"") && page.body.contains("value=\"12,00\""));
        let r =
            submit(app, &mut jar, &case, &format!("{case}/zahlung"), &[("betrag", "zwölf"), ("zahlweg", "bar")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-zahlung\"") && r.body.contains("value=\"zwölf\""));
        let r =
            submit(app, &mut jar, &case, &format!("{case}/zahlung"), &[("betrag", "12,00"), ("zahlweg", "bar")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(app.store.store.submission(a, held).await.unwrap().unwrap().status, "eingegangen");
        let p = app.store.store.payment(a, payment).await.unwrap().unwrap();
        assert_eq!((p.status.as_str(), p.paid_cents), ("paid", 1200));
        let page = get(app, &mut jar, &format!("{case}?hinweis=zahlung")).await;
        assert!(page.body.contains("Die Zahlung ist gebucht") && !page.body.contains("Zahlung am Schalter erfassen"));

        // A refund of more than was paid is refused; a partial one recorded.
        let r = submit(
            app,
            &mut jar,
            &case,
            &format!("{case}/erstattung"),
            &[("betrag", "20,00"), ("grund", "Doppelt bezahlt"), ("iban", "")],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-erstattung\""));
        let r = submit(
            app,
            &mut jar,
            &case,
            &format!("{case}/erstattung"),
            &[("betrag", "5,00"), ("grund", "Gebühr ermäßigt"), ("iban", "DE89 3704 0044 0532 0130 00")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(app.store.store.payment(a, payment).await.unwrap().unwrap().refunded_cents, 500);
        let page = get(app, &mut jar, &case).await;
        assert!(page.body.contains("Gebühr ermäßigt") && page.body.contains("DE89 3704 0044 0532 0130 00"));

        // The payout instruction waits on the overview until the treasury paid it.
        let overview = get(app, &mut jar, BASE).await;
        assert!(overview.body.contains("Als ausgezahlt vermerken") && overview.body.contains("Gebühr ermäßigt"));
        let refund = app.store.store.refunds_open(a).await.unwrap().pop().unwrap();
        let r = submit(app, &mut jar, BASE, &format!("{BASE}erstattungen/{}/erledigt", refund.id), &[]).await;
        assert_eq!(r.status, 303);
        assert!(app.store.store.refunds_open(a).await.unwrap().is_empty());
        let r = submit(app, &mut jar, BASE, &format!("{BASE}erstattungen/{}/erledigt", refund.id), &[]).await;
        assert_eq!(r.status, 303, "a second click changes nothing");
        let acts = actions(app, a).await;
        for action in ["payment.counter", "payment.refund", "payment.refund_done"] {
            assert!(acts.iter().any(|x| x == action), "{action} audited");
        }

        // The period report lists it.
        let today = amtsweg_portal::time::now_local().date();
        let csv = get(app, &mut jar, &format!("{BASE}zahlungen.csv?von={today}&bis={today}")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(csv.body.contains("Kassenzeichen;Art;Bezug") && csv.body.contains("MBR-2026-000201"), "{}", csv.body);
        let bad = get(app, &mut jar, &format!("{BASE}zahlungen.csv?von=2026-12-31&bis=2026-01-01")).await;
        assert_eq!(bad.status, 400);
        assert!(actions(app, a).await.iter().any(|x| x == "payment.report"));
    });
}

#[tokio::test]
async fn activation_letters_and_claims_files() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let mut jar = sign_in(app, CASE_WORKER).await;
        let page = format!("{BASE}aktivierungscodes");
        let r = submit(app, &mut jar, &page, &page, &[("konto", ""), ("tage", "30")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-konto\""));
        let r = submit(app, &mut jar, &page, &page, &[("konto", "MB-10042"), ("tage", "30")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("Ihr Aktivierungscode") && r.body.contains("MB-10042"));
        assert_eq!(r.headers["cache-control"], "no-store");
        let code = r.body.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
        assert_eq!(code.len(), 14, "{code}");
        assert!(amtsweg_domain::payment::normalize_activation_code(&code).is_some());
        assert_eq!(
            count_containing(&app.store.store, "activation_codes", "code_hash", &code.replace('-', "")).await,
            0
        );
        let list = get(app, &mut jar, &page).await;
        assert!(list.body.contains("MB-10042") && !list.body.contains(&code), "shown once");
        // The code links a citizen's account.
        let citizen = {
            let mut tx = app.store.store.begin().await.unwrap();
            let id = tx.insert_citizen("zahler@example.org", "x").await.unwrap().unwrap();
            tx.commit().await.unwrap();
            id
        };
        let linked = amtsweg_portal::finanzen::activate(&app.state.portal, citizen, "test", &code).await.unwrap();
        assert!(matches!(linked, amtsweg_portal::finanzen::Activation::Linked(_)), "{linked:?}");

        // Claims from a CSV file: all or nothing, the same file twice changes nothing.
        let claims = format!("{BASE}forderungen");
        let csv = format!(
            "{}\nMB-GR-2026-1;15.05.2026;Grundsteuer;Grundsteuer 2. Quartal;123,45;123,45;offen;0;MB-10042\n",
            amtsweg_portal::finanzen::CSV_HEADER
        );
        let r = upload(app, &mut jar, &claims, &[], "forderungen.csv", csv.as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("1 neu, 0 geändert, 0 unverändert"), "{}", r.body);
        assert!(r.body.contains("MB-GR-2026-1") && r.body.contains("123,45 €"));
        let r = upload(app, &mut jar, &claims, &[], "forderungen.csv", csv.as_bytes()).await;
        assert!(r.body.contains("0 neu, 0 geändert, 1 unverändert"), "{}", r.body);
        let broken = format!(
            "{}\nMB-GR-2026-2;31.02.2026;Grundsteuer;Q3;10,00;10,00;offen;0;MB-10042\n",
            amtsweg_portal::finanzen::CSV_HEADER
        );
        let r = upload(app, &mut jar, &claims, &[], "forderungen.csv", broken.as_bytes()).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Zeile 2"), "{}", r.body);
        assert_eq!(app.store.store.claims_of(a, 10).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn a_form_gets_its_payment_mode_on_the_rules_page() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        // A form with a computed amount (the dog tax computes its annual tax).
        let (form_id, amount) = app
            .state
            .portal
            .catalogue()
            .all_forms()
            .find(|p| p.authority_id == a && !p.form.computed.is_empty())
            .map(|p| (p.form_id, p.form.computed[0].id.clone()))
            .unwrap();
        let mut jar = sign_in(app, EDITOR).await;
        let rules = format!("/verwaltung/behoerden/moorbrueck/formulare/{form_id}/regeln");
        let page = get(app, &mut jar, &rules).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Bezahlung der Gebühr") && page.body.contains("name=\"zahlung_art\""));
        let version = hidden(&page.body, "version");
        let r = submit(
            app,
            &mut jar,
            &rules,
            &rules,
            &[
                ("version", &version),
                ("aktion", "berechnet_zahlung"),
                ("zahlung_art", "rechnung"),
                ("zahlung_betrag", ""),
            ],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-zahlung_betrag\""));
        let r = submit(
            app,
            &mut jar,
            &rules,
            &rules,
            &[
                ("version", &version),
                ("aktion", "berechnet_zahlung"),
                ("zahlung_art", "rechnung"),
                ("zahlung_betrag", &amount),
                ("zahlung_zweck", "Hundesteuer"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let row = app.store.store.form_by_id(a, form_id).await.unwrap().unwrap();
        let draft: amtsweg_forms::Form = serde_json::from_str(&row.draft).unwrap();
        let p = draft.payment.unwrap();
        assert_eq!(
            (p.mode, p.amount.as_str(), p.purpose.as_str()),
            (amtsweg_forms::FormPayMode::Rechnung, amount.as_str(), "Hundesteuer")
        );
        let page = get(app, &mut jar, &rules).await;
        assert!(page.body.contains("<option value=\"rechnung\" selected>"), "shown as stored");
    });
}

#[tokio::test]
async fn a_payment_in_review_is_closed_on_the_case_page_and_releases_once() {
    on_each_backend!(|app| {
        let a = app.authority_id("moorbrueck").await;
        let (held, payment) = application(app, "MBR-2026-000301", "vorab", 1200).await;
        // Part paid, held, and marked for a person (e.g. another amount reported).
        let mut tx = app.store.store.begin().await.unwrap();
        let b = amtsweg_store::payments::NewBooking {
            authority_id: a,
            payment_id: Some(payment),
            claim_id: None,
            source: "online",
            amount_cents: 500,
            method: "CREDITCARD",
            reference: "T-1",
            bank_entry_id: None,
            attempt_id: None,
            actor: "bezahldienst",
            booked_on: "2026-05-05",
        };
        tx.book_payment(&b, None).await.unwrap();
        assert!(tx.set_payment_review(a, payment, "amount_mismatch").await.unwrap());
        tx.commit().await.unwrap();
        execute_status(app, held, AWAITING_PAYMENT).await;

        let mut jar = sign_in(app, CASE_WORKER).await;
        let case = format!("/verwaltung/antraege/{held}");
        let page = get(app, &mut jar, &case).await;
        assert!(
            page.body.contains("Prüfung abschließen") && page.body.contains("value=\"freigeben\""),
            "{}",
            page.body
        );
        let overview = get(app, &mut jar, BASE).await;
        assert!(overview.body.contains(&format!("/verwaltung/antraege/{held}#zahlung")), "linked from the review list");
        let action = format!("{case}/pruefung");
        let r = submit(app, &mut jar, &case, &action, &[("entscheidung", "freigeben"), ("notiz", "")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("was Sie geprüft haben"));
        let r = post(app, &mut jar, &action, &form(&[("entscheidung", "freigeben"), ("notiz", "ok")])).await;
        assert_eq!(r.status, 403, "no CSRF token");
        let r =
            submit(app, &mut jar, &case, &action, &[("entscheidung", "freigeben"), ("notiz", "Differenz erstattet")])
                .await;
        assert_eq!(r.status, 303, "{}", r.body);
        execute_status(app, held, "eingegangen").await;
        let p = app.store.store.payment(a, payment).await.unwrap().unwrap();
        assert_eq!(p.review, "");
        let page = get(app, &mut jar, &format!("{case}?hinweis=pruefung")).await;
        assert!(
            page.body.contains("Die Prüfung der Zahlung ist abgeschlossen")
                && !page.body.contains("value=\"freigeben\"")
        );
        assert_eq!(actions(app, a).await.iter().filter(|x| *x == "payment.review").count(), 1);
    });
}

async fn execute_status(app: &TestApp, submission: i64, status: &str) {
    let a = app.authority_id("moorbrueck").await;
    assert_eq!(app.store.store.submission(a, submission).await.unwrap().unwrap().status, status);
}
