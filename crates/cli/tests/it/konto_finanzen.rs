//! The citizen's side of fees and finances through the real router on both
//! databases: linking a finance account with an activation code (wrong, used,
//! expired, throttled), claims and notices only for the linked citizen, the payment
//! part of a receipt (an invoice with IBAN, RF reference and GiroCode; an
//! application held until paid), paying from the receipt, and the provider's way
//! back (`/zahlung/<secret>`, forged addresses not found).

use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg_domain::payment::{Cents, ClaimInput, ClaimState, ProviderStatus, activation_code};
use amtsweg_portal::finanzen::{ClaimUpload, NoticeUpload, code_hash, create_activation_code, upsert_claims};
use amtsweg_store::payments::{BeginAttempt, NewAttempt, Observation};

const IBAN: &str = "DE02120300000000202051";
const IBAN_PRINTED: &str = "DE02 1203 0000 0000 2020 51";
const NOTICE: &[u8] = b"%PDF-1.7\n% Hundesteuerbescheid (Test)\n";

async fn town(app: &TestApp) -> i64 {
    app.authority_id("moorbrueck").await
}

fn claim(kassenzeichen: &str, title: &str, due: &str, cents: i64, open: i64, account: &str) -> ClaimInput {
    ClaimInput {
        kassenzeichen: kassenzeichen.into(),
        due_on: due.parse().unwrap(),
        kind: "Hundesteuer".into(),
        title: title.into(),
        amount: Cents(cents),
        open: Cents(open),
        state: if open == 0 { ClaimState::Settled } else { ClaimState::Open },
        dunning_level: 0,
        account: account.into(),
    }
}

/// Two claims of account `account` (one open with a notice, one settled); returns
/// the open claim's Kassenzeichen.
async fn claims_for(app: &TestApp, account: &str) -> String {
    let kz = format!("HU-{account}");
    let items = vec![
        ClaimUpload {
            claim: claim(&kz, "Hundesteuer 2026 für Bello", "2026-07-01", 9000, 9000, account),
            notices: vec![NoticeUpload {
                title: "Hundesteuerbescheid 2026".into(),
                file_name: "Hundesteuerbescheid 2026.pdf".into(),
                bytes: NOTICE.to_vec(),
            }],
        },
        ClaimUpload {
            claim: claim(&format!("GR-{account}"), "Grundsteuer 1. Quartal", "2026-02-15", 12_345, 0, account),
            notices: Vec::new(),
        },
    ];
    upsert_claims(&app.state.portal, town(app).await, "test", items).await.unwrap().unwrap();
    kz
}

async fn code_for(app: &TestApp, account: &str) -> String {
    create_activation_code(&app.state.portal, "test", town(app).await, account, 30).await.unwrap().unwrap().0
}

async fn link(app: &TestApp, jar: &mut Jar, code: &str) -> Reply {
    let page = get(app, jar, "/konto/finanzen/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    post(app, jar, "/konto/finanzen/verknuepfen", &format!("csrf={}&code={}", hidden(&page.body, "csrf"), enc(code)))
        .await
}

/// The id of the citizen's claim with this Kassenzeichen.
async fn claim_id(app: &TestApp, citizen_id: i64, kassenzeichen: &str) -> i64 {
    let claims = app.store.store.claims_of_citizen(citizen_id).await.unwrap();
    claims.iter().find(|c| c.kassenzeichen == kassenzeichen).unwrap().id
}

#[tokio::test]
async fn an_activation_code_links_once_and_wrong_used_or_expired_codes_are_refused_then_throttled() {
    on_each_backend!(|app| {
        claims_for(app, "MB-1").await;
        let code = code_for(app, "MB-1").await;
        let (mut erika, _) = citizen(app, "erika@example.org").await;
        let page = get(app, &mut erika, "/konto/finanzen/").await;
        assert!(page.body.contains("noch mit keinem Konto"), "{}", page.body);
        assert!(page.body.contains("aria-current=\"page\">Meine Finanzen</a>"), "the account's navigation");
        assert!(!page.body.contains("Hundesteuer 2026"));

        // Nothing typed is no attempt; a wrong code is refused with the field marked.
        let r = link(app, &mut erika, "  ").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Bitte geben Sie den Aktivierungscode"), "{}", r.body);
        let r = link(app, &mut erika, "ABCD-EFGH-JKLM").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("class=\"error-summary\"") && r.body.contains("href=\"#code\""), "{}", r.body);
        assert!(r.body.contains("stimmt nicht") && r.body.contains("aria-invalid=\"true\""), "{}", r.body);
        assert!(r.body.contains("value=\"ABCD-EFGH-JKLM\""), "what was typed stays");

        // The right code (typed in lower case with spaces) links the account once.
        let r = link(app, &mut erika, &format!(" {} ", code.to_lowercase())).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), "/konto/finanzen/?verknuepft=1");
        let page = get(app, &mut erika, r.location()).await;
        assert!(page.body.contains("Verknüpft") && page.body.contains("Stadt Moorbrück"), "{}", page.body);
        assert!(page.body.contains("Hundesteuer 2026 für Bello") && page.body.contains("90,00 €"), "{}", page.body);
        assert!(page.body.contains("Grundsteuer 1. Quartal"), "settled claims are listed too");
        assert!(page.body.contains("Ihr Konto: MB-1"));
        assert_eq!(page.headers["cache-control"], "no-store");

        // The same code for someone else: used.
        let (mut max, max_id) = citizen(app, "max@example.org").await;
        let r = link(app, &mut max, &code).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("schon verwendet"), "{}", r.body);
        assert!(app.store.store.claims_of_citizen(max_id).await.unwrap().is_empty());

        // An expired code.
        let expired = activation_code(&[7; 24]);
        let mut tx = app.store.store.begin().await.unwrap();
        let account = tx.upsert_finance_account(town(app).await, "MB-2").await.unwrap();
        tx.insert_activation_code(town(app).await, account, &code_hash(&expired), amtsweg_store::now_ms() - 1, "test")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = link(app, &mut max, &expired).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("abgelaufen"), "{}", r.body);

        // Guessing is throttled: after five failures in an hour even the right code
        // is refused, and nothing is linked.
        claims_for(app, "MB-3").await;
        let good = code_for(app, "MB-3").await;
        let (mut mallory, mallory_id) = citizen(app, "mallory@example.org").await;
        for i in 0..5 {
            let r = link(app, &mut mallory, &format!("AAAA-BBBB-CCC{}", ["D", "E", "F", "G", "H"][i])).await;
            assert_eq!(r.status, 422, "try {i}");
        }
        let r = link(app, &mut mallory, &good).await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.body.contains("Zu viele Versuche"), "{}", r.body);
        assert_eq!(r.headers["retry-after"], "3600");
        assert!(app.store.store.claims_of_citizen(mallory_id).await.unwrap().is_empty());
        // Others are not affected by one citizen's failures.
        let (mut other, _) = citizen(app, "other@example.org").await;
        assert_eq!(link(app, &mut other, &good).await.status, 303);
    });
}

#[tokio::test]
async fn staff_part_an_account_from_its_citizen_and_a_new_code_revokes_the_older_one() {
    on_each_backend!(|app| {
        let kz = claims_for(app, "MB-9").await;
        let (mut erika, erika_id) = citizen(app, "erika@example.org").await;
        assert_eq!(link(app, &mut erika, &code_for(app, "MB-9").await).await.status, 303);
        assert!(get(app, &mut erika, "/konto/finanzen/").await.body.contains("Hundesteuer 2026 für Bello"));
        let id = claim_id(app, erika_id, &kz).await;
        // A letter that went astray, then a new one: the old code works no more.
        let lost = code_for(app, "MB-9").await;
        let fresh = code_for(app, "MB-9").await;
        let (mut max, _) = citizen(app, "max@example.org").await;
        let r = link(app, &mut max, &lost).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("stimmt nicht"), "answers like an unknown code: {}", r.body);

        // The case worker parts the account from Erika on the activation codes page.
        let mut staff = crate::verwaltung::sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let page_url = "/verwaltung/behoerden/moorbrueck/zahlungen/aktivierungscodes";
        let page = get(app, &mut staff, page_url).await;
        let account = app.store.store.finance_account(town(app).await, "MB-9").await.unwrap().unwrap();
        let action = format!("{page_url}/{}/trennen", account.id);
        assert!(page.body.contains(&format!("action=\"{action}\"")), "{}", page.body);
        assert!(page.body.contains("Verknüpfung von MB-9 aufheben"));
        // Without the form's token nothing happens.
        let r = post(app, &mut staff, &action, "csrf=falsch").await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(get(app, &mut erika, "/konto/finanzen/").await.body.contains("Hundesteuer 2026 für Bello"));
        let r = post(app, &mut staff, &action, &format!("csrf={}", hidden(&page.body, "csrf"))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let after = get(app, &mut staff, r.location()).await;
        assert!(after.body.contains("Die Verknüpfung ist aufgehoben"), "{}", after.body);

        // At once Erika sees nothing of the account, and its open code is revoked too.
        let overview = get(app, &mut erika, "/konto/finanzen/").await;
        assert!(!overview.body.contains("Bello") && !overview.body.contains(&kz), "{}", overview.body);
        assert_eq!(get(app, &mut erika, &format!("/konto/finanzen/{id}")).await.status, 404);
        let r = link(app, &mut max, &fresh).await;
        assert!(r.body.contains("stimmt nicht"), "{}", r.body);
        // Another authority's staff cannot reach it; the audit log names the action.
        let r = post(
            app,
            &mut staff,
            &format!("/verwaltung/behoerden/moorbrueck/zahlungen/aktivierungscodes/{}/widerrufen", account.id + 999),
            &format!("csrf={}", hidden(&after.body, "csrf")),
        )
        .await;
        assert_eq!(r.status, 404);
        let q = amtsweg_store::audit_log::AuditQuery {
            authorities: Some(vec![town(app).await]),
            limit: 1000,
            ..Default::default()
        };
        let log = app.store.store.audit_page(&q).await.unwrap().0;
        assert!(log.iter().any(|e| e.action == "finance.unlink"), "audited");
        // A new letter links again.
        assert_eq!(link(app, &mut max, &code_for(app, "MB-9").await).await.status, 303);
        assert!(get(app, &mut max, "/konto/finanzen/").await.body.contains("Hundesteuer 2026 für Bello"));
    });
}

#[tokio::test]
async fn claims_and_notices_are_shown_only_to_the_linked_citizen() {
    on_each_backend!(|app| {
        let kz = claims_for(app, "MB-7").await;
        amtsweg_portal::payments::connectors::add(
            &app.state.portal,
            town(app).await,
            None,
            "rechnung",
            "Stadtkasse",
            &format!(r#"{{"recipient":"Stadtkasse Moorbrück","iban":"{IBAN}","bic":"BYLADEM1001"}}"#),
        )
        .await
        .unwrap();
        let (mut erika, erika_id) = citizen(app, "erika@example.org").await;
        assert_eq!(link(app, &mut erika, &code_for(app, "MB-7").await).await.status, 303);
        let id = claim_id(app, erika_id, &kz).await;

        let page = get(app, &mut erika, &format!("/konto/finanzen/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Hundesteuer 2026 für Bello") && page.body.contains(&kz), "{}", page.body);
        assert!(page.body.contains("01.07.2026") && page.body.contains("90,00 €"));
        // Bank details and a GiroCode to pay by transfer; no online payment without a provider.
        assert!(page.body.contains(IBAN_PRINTED) && page.body.contains("Stadtkasse Moorbrück"), "{}", page.body);
        assert!(page.body.contains("<svg") && page.body.contains("role=\"img\""), "GiroCode inline");
        assert!(!page.body.contains("online bezahlen"));
        let doc = page.body.split(&format!("/konto/finanzen/{id}/bescheide/")).nth(1).unwrap();
        let doc: i64 = doc.split('"').next().unwrap().parse().unwrap();
        let notice_url = format!("/konto/finanzen/{id}/bescheide/{doc}");
        assert!(page.body.contains("Hundesteuerbescheid 2026"));

        // The notice downloads as an attachment, never shown inline, never cached.
        let r = get(app, &mut erika, &notice_url).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.as_bytes(), NOTICE);
        assert_eq!(r.headers["content-type"], "application/pdf");
        let disposition = r.headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment; filename=\"Hundesteuerbescheid 2026.pdf\""), "{disposition}");
        assert_eq!(r.headers["cache-control"], "private, no-store");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");

        // Anyone else: not found (claim, notice, paying); their overview shows nothing of it.
        let (mut max, _) = citizen(app, "max@example.org").await;
        assert_eq!(get(app, &mut max, &format!("/konto/finanzen/{id}")).await.status, 404);
        assert_eq!(get(app, &mut max, &notice_url).await.status, 404);
        assert_eq!(get(app, &mut max, &format!("/konto/finanzen/{id}/bescheide/{}", doc + 1)).await.status, 404);
        let overview = get(app, &mut max, "/konto/finanzen/").await;
        assert!(!overview.body.contains("Bello") && !overview.body.contains(&kz));
        let csrf = hidden(&overview.body, "csrf");
        let r = post(app, &mut max, &format!("/konto/finanzen/{id}/bezahlen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 404);
        // Erika's own notice under another claim's address: not found either.
        let other = claim_id(app, erika_id, "GR-MB-7").await;
        assert_eq!(get(app, &mut erika, &format!("/konto/finanzen/{other}/bescheide/{doc}")).await.status, 404);
        // Without a session: to the sign-in.
        let r = get(app, &mut Jar::default(), &format!("/konto/finanzen/{id}")).await;
        assert_eq!(r.status, 303);
        assert!(r.location().starts_with("/konto/anmelden"));
        // Paying online is refused politely where the authority offers none.
        let page = get(app, &mut erika, &format!("/konto/finanzen/{id}")).await;
        let r = post(
            app,
            &mut erika,
            &format!("/konto/finanzen/{id}/bezahlen"),
            &format!("csrf={}", hidden(&page.body, "csrf")),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("Die Zahlung konnte nicht beginnen"), "{}", r.body);
    });
}

/// A one-step form of the town charging 12,50 € in `mode`; returns its address.
async fn fee_form(app: &TestApp, slug: &str, mode: &str) -> String {
    let a = town(app).await;
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": slug, "title": "Gebührenpflichtige Bescheinigung",
        "steps": [{"id": "angaben", "title": "Angaben", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "text"}]}],
        "computed": [{"id": "gebuehr", "label": "Gebühr", "expr": {"cents": 1250}}],
        "payment": {"mode": mode, "amount": "gebuehr"}
    }))
    .unwrap();
    let mut tx = app.store.store.begin().await.unwrap();
    let id = tx.create_form(a, &amtsweg_domain::Slug::parse(slug).unwrap(), None, &form, None).await.unwrap();
    tx.publish_form(a, id, 1, None).await.unwrap();
    tx.commit().await.unwrap();
    amtsweg_web::sync::refresh(&app.state).await.unwrap();
    format!("/o/moorbrueck/antrag/{slug}/")
}

/// Fills in and sends the fee form; returns the receipt's address.
async fn apply(app: &TestApp, jar: &mut Jar, form: &str) -> String {
    let page = get(app, jar, form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let r = post(app, jar, form, &format!("{fields}&aktion=weiter&f.name=Erika+Musterfrau")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let check = r.location().to_owned();
    assert!(check.ends_with("/pruefen"), "{check}");
    let draft = check.trim_end_matches("pruefen").to_owned();
    let page = get(app, jar, &check).await;
    let r = post(app, jar, &format!("{draft}absenden"), &format!("csrf={}", hidden(&page.body, "csrf"))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_owned()
}

#[tokio::test]
async fn an_invoice_receipt_shows_iban_rf_reference_and_a_girocode() {
    on_each_backend!(|app| {
        amtsweg_portal::payments::connectors::add(
            &app.state.portal,
            town(app).await,
            None,
            "rechnung",
            "Stadtkasse",
            &format!(r#"{{"recipient":"Stadtkasse Moorbrück","iban":"{IBAN}","bic":"BYLADEM1001"}}"#),
        )
        .await
        .unwrap();
        let form = fee_form(app, "rechnung-test", "rechnung").await;
        let (mut erika, erika_id) = citizen(app, "erika@example.org").await;
        let receipt = apply(app, &mut erika, &form).await;
        let page = get(app, &mut erika, &receipt).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let payment = app.store.store.payments_of_submissions(&[submission_id(app, erika_id).await]).await.unwrap();
        let p = &payment[0];
        assert_eq!(p.mode, "rechnung");
        assert!(page.body.contains("id=\"zahlung\"") && page.body.contains(&p.kassenzeichen), "{}", page.body);
        assert!(page.body.contains(IBAN_PRINTED) && page.body.contains("BYLADEM1001"), "{}", page.body);
        let rf = amtsweg_domain::payment::rf_printed(&p.rf_reference);
        assert!(p.rf_reference.starts_with("RF") && page.body.contains(&rf), "RF {rf}: {}", page.body);
        assert!(page.body.contains("12,50 €") && page.body.contains("Zahlbar bis"));
        let svg = &page.body[page.body.find("<svg").expect("an inline GiroCode")..];
        assert!(svg.contains("role=\"img\"") && svg.contains("<title>GiroCode"), "{svg}");
        // No provider: no button; an invoice does not hold the application.
        assert!(!page.body.contains("online bezahlen"));
        assert!(!page.body.contains("Zahlung ausstehend"));
        assert_eq!(page.headers["cache-control"], "no-store");
        // "Meine Anträge" shows the fee and its state, the detail the bank details.
        let list = get(app, &mut erika, "/konto/antraege/").await;
        assert!(list.body.contains("12,50 € – Offen"), "{}", list.body);
        let kz = format!("Kassenzeichen <span class=\"kassenzeichen\">{}</span>", p.kassenzeichen);
        assert!(list.body.contains(&kz), "the list names the Kassenzeichen: {}", list.body);
        let id = submission_id(app, erika_id).await;
        let detail = get(app, &mut erika, &format!("/konto/antraege/{id}")).await;
        assert!(detail.body.contains(IBAN_PRINTED) && detail.body.contains(&rf), "{}", detail.body);

        // Paid at the counter, then partly refunded: the citizen reads why.
        let town = town(app).await;
        let staff = amtsweg_portal::casework::Actor { name: "Stadtkasse".into(), audit: "staff:1".into() };
        amtsweg_portal::payments::counter::record_counter_payment(
            &app.state.portal,
            &staff,
            town,
            id,
            Cents(1250),
            "bar",
        )
        .await
        .unwrap()
        .unwrap();
        let reason = "Ermäßigte Gebühr für Schülerinnen und Schüler";
        amtsweg_portal::reconcile::refund::refund(
            &app.state.portal,
            &staff,
            town,
            p.id,
            Cents(250),
            reason,
            Some(IBAN),
        )
        .await
        .unwrap()
        .unwrap();
        let detail = get(app, &mut erika, &format!("/konto/antraege/{id}")).await;
        assert!(detail.body.contains("Erstattungen") && detail.body.contains("2,50 €"), "{}", detail.body);
        assert!(detail.body.contains(&format!("Grund: {reason}")), "{}", detail.body);
        let page = get(app, &mut erika, &receipt).await;
        assert!(page.body.contains(&format!("Grund: {reason}")), "the receipt too: {}", page.body);
    });
}

async fn submission_id(app: &TestApp, citizen_id: i64) -> i64 {
    app.store.store.submissions_of_citizen(citizen_id).await.unwrap()[0].id
}

#[tokio::test]
async fn a_held_application_says_payment_outstanding_and_the_way_back_from_the_provider_is_checked() {
    on_each_backend!(|app| {
        let a = town(app).await;
        // A provider the outbound policy refuses (an internal address): paying cannot
        // start, but the form still holds its applications until paid.
        let connector = amtsweg_portal::payments::connectors::add(
            &app.state.portal,
            a,
            None,
            "xbezahldienste",
            "Bezahldienst",
            r#"{"base_url":"https://127.0.0.1:9","originator_id":"moorbrueck","endpoint_id":"antraege"}"#,
        )
        .await
        .unwrap();
        let form = fee_form(app, "vorab-test", "vorab").await;
        let (mut erika, erika_id) = citizen(app, "erika@example.org").await;
        let receipt = apply(app, &mut erika, &form).await;
        let page = get(app, &mut erika, &receipt).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Zahlung ausstehend"), "{}", page.body);
        assert!(page.body.contains("erst an Stadt Moorbrück weitergeleitet, wenn die Gebühr bezahlt ist"));
        assert!(page.body.contains(&format!("action=\"{receipt}/bezahlen\"")), "{}", page.body);
        assert!(page.body.contains("Jetzt 12,50 € online bezahlen"));
        // The pay form continues at the provider: the page allows that one form target.
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self' https://127.0.0.1:9"), "{csp}");
        assert_eq!(page.headers["cache-control"], "no-store");
        let list = get(app, &mut erika, "/konto/antraege/").await;
        assert!(list.body.contains("Zahlung ausstehend"), "{}", list.body);
        // The account's page of the application offers the same button.
        let detail = get(app, &mut erika, &format!("/konto/antraege/{}", submission_id(app, erika_id).await)).await;
        assert!(detail.body.contains(&format!("action=\"{receipt}/bezahlen\"")), "{}", detail.body);
        let csp = detail.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("form-action 'self' https://127.0.0.1:9"), "{csp}");

        // Only the owner may start paying, and only from a page of this session.
        let pay = format!("{receipt}/bezahlen");
        let csrf = hidden(&page.body, "csrf");
        assert_eq!(post(app, &mut Jar::default(), &pay, &format!("csrf={csrf}")).await.status, 404);
        let (mut max, _) = citizen(app, "max@example.org").await;
        assert_eq!(post(app, &mut max, &pay, &format!("csrf={csrf}")).await.status, 404);
        assert_eq!(post(app, &mut erika, &pay, "csrf=falsch").await.status, 403);
        // The provider cannot be reached: the receipt again, saying why.
        let r = post(app, &mut erika, &pay, &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("Die Zahlung konnte nicht beginnen") && r.body.contains("nicht möglich"), "{}", r.body);

        // The way back: a forged or malformed address is not found.
        let forged = amtsweg_portal::tokens::random_token();
        assert_eq!(app.get(&format!("/zahlung/{forged}")).await.status, 404);
        assert_eq!(app.get("/zahlung/kurz").await.status, 404);

        // An attempt the provider has not decided yet: "we are still checking".
        let sid = submission_id(app, erika_id).await;
        let p = app.store.store.payment_of_submission(a, sid).await.unwrap().unwrap();
        let secret = amtsweg_portal::tokens::random_token();
        let mut tx = app.store.store.begin().await.unwrap();
        let begun = tx
            .begin_attempt(&NewAttempt {
                payment_id: p.id,
                authority_id: a,
                connector_id: connector,
                request_id: "aw-test-1",
                return_hash: &amtsweg_portal::tokens::hash_token(&secret),
                amount_cents: 1250,
                reuse_younger_than_ms: 0,
            })
            .await
            .unwrap();
        let BeginAttempt::Created(attempt) = begun else { panic!("no attempt: {begun:?}") };
        tx.commit().await.unwrap();
        let back = app.get(&format!("/zahlung/{secret}")).await;
        assert_eq!(back.status, 200, "{}", back.body);
        assert!(back.body.contains("Wir prüfen Ihre Zahlung noch"), "{}", back.body);
        assert!(back.body.contains(&format!("href=\"{receipt}?zahlung=offen#zahlung\"")), "{}", back.body);
        assert_eq!(back.headers["referrer-policy"], "no-referrer");
        assert!(!back.body.contains(&secret), "the secret is not repeated");

        // Paid (as the worker would learn it): back to the receipt, which thanks and
        // shows the application released.
        let mut tx = app.store.store.begin().await.unwrap();
        assert!(tx.attempt_created(attempt.id, "tx-test-1", "https://127.0.0.1:9/pay/1", 1).await.unwrap());
        tx.record_observation(
            &Observation {
                attempt_id: attempt.id,
                status: ProviderStatus::Payed,
                seen_at: amtsweg_store::now_ms(),
                transaction_reference: "ref-1",
                payment_method: "CREDITCARD",
                reported_cents: Some(1250),
            },
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let back = app.get(&format!("/zahlung/{secret}")).await;
        assert_eq!(back.status, 303);
        assert_eq!(back.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        assert_eq!(back.headers["referrer-policy"], "no-referrer");
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=bezahlt")).await;
        assert!(page.body.contains("Vielen Dank – Ihre Zahlung ist eingegangen"), "{}", page.body);
        assert!(!page.body.contains("Zahlung ausstehend") && !page.body.contains("online bezahlen"), "{}", page.body);
        assert!(page.body.contains("Kreditkarte"), "the booking with its method");
        // A stale "cancelled" from the address bar does not contradict the stored state.
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=abgebrochen")).await;
        assert!(page.body.contains("Vielen Dank") && !page.body.contains("abgebrochen"), "{}", page.body);
    });
}

/// A paid attempt of the payment of submission `sid` (as the worker would record
/// it); returns the secret of its return address.
async fn paid_attempt(app: &TestApp, sid: i64, connector: i64) -> String {
    let a = town(app).await;
    let p = app.store.store.payment_of_submission(a, sid).await.unwrap().unwrap();
    let secret = amtsweg_portal::tokens::random_token();
    let mut tx = app.store.store.begin().await.unwrap();
    let new = NewAttempt {
        payment_id: p.id,
        authority_id: a,
        connector_id: connector,
        request_id: "aw-test-2",
        return_hash: &amtsweg_portal::tokens::hash_token(&secret),
        amount_cents: 1250,
        reuse_younger_than_ms: 0,
    };
    let BeginAttempt::Created(attempt) = tx.begin_attempt(&new).await.unwrap() else { panic!("no attempt") };
    assert!(tx.attempt_created(attempt.id, "tx-test-2", "https://127.0.0.1:9/pay/2", 1).await.unwrap());
    let seen = Observation {
        attempt_id: attempt.id,
        status: ProviderStatus::Payed,
        seen_at: amtsweg_store::now_ms(),
        transaction_reference: "ref-2",
        payment_method: "GIROPAY",
        reported_cents: Some(1250),
    };
    tx.record_observation(&seen, None).await.unwrap();
    tx.commit().await.unwrap();
    secret
}

#[tokio::test]
async fn an_anonymous_applicant_comes_back_to_the_host_whose_browser_cookie_opens_the_receipt() {
    on_each_backend!(|app| {
        let connector = amtsweg_portal::payments::connectors::add(
            &app.state.portal,
            town(app).await,
            None,
            "xbezahldienste",
            "Bezahldienst",
            r#"{"base_url":"https://127.0.0.1:9","originator_id":"moorbrueck","endpoint_id":"antraege"}"#,
        )
        .await
        .unwrap();
        let form = fee_form(app, "vorab-anonym", "vorab").await;
        let mut browser = Jar::default();
        let receipt = apply(app, &mut browser, &form).await;
        let page = get(app, &mut browser, &receipt).await;
        assert!(page.body.contains("Zahlung ausstehend"), "{}", page.body);
        let token = receipt.rsplit('/').next().unwrap();
        let sid = app.store.store.submission_by_token(token).await.unwrap().unwrap().id;
        let secret = paid_attempt(app, sid, connector).await;
        let back = format!("/zahlung/{secret}");
        // The browser that applied, here: back to the receipt here.
        let r = get(app, &mut browser, &back).await;
        assert_eq!(r.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        // The provider's return reaches the central address without that browser's
        // cookie (it applied on the town's own host): continue there.
        let r = app.get(&back).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), format!("http://moorbrueck.localhost:8080{receipt}?zahlung=bezahlt#zahlung"));
        let page = get(app, &mut browser, &format!("{receipt}?zahlung=bezahlt")).await;
        assert!(page.body.contains("Vielen Dank") && page.body.contains("giropay"), "{}", page.body);
    });
}

/// The citizen at the (simulated) provider presses `aktion`; returns the portal path
/// the provider sends the browser back to (`/zahlung/<secret>`).
async fn at_provider(pay: &str, aktion: &str) -> String {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = browser
        .post(pay)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("aktion={aktion}&zahlart=CREDITCARD"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    back.strip_prefix("http://127.0.0.1:8080").unwrap_or_else(|| panic!("not the portal: {back}")).to_owned()
}

#[tokio::test]
async fn a_claim_is_paid_online_after_a_cancelled_try_and_shows_paid_until_the_finance_software_books_it() {
    use amtsweg_handoff::payment::simulator::Simulator;
    let config = crate::outbound::local_receivers(amtsweg_handoff::deliver::Connectors::default());
    on_each_backend!(config = config.clone(), |app| {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let cfg =
            serde_json::json!({"base_url": sim.base_url, "originator_id": "moorbrueck", "endpoint_id": "finanzen"});
        amtsweg_portal::payments::connectors::add(
            &app.state.portal,
            town(app).await,
            None,
            "xbezahldienste",
            "Bezahldienst",
            &cfg.to_string(),
        )
        .await
        .unwrap();
        let kz = claims_for(app, "MB-9").await;
        let (mut erika, erika_id) = citizen(app, "erika@example.org").await;
        assert_eq!(link(app, &mut erika, &code_for(app, "MB-9").await).await.status, 303);
        let id = claim_id(app, erika_id, &kz).await;
        let url = format!("/konto/finanzen/{id}");

        let page = get(app, &mut erika, &url).await;
        assert!(page.body.contains("Jetzt 90,00 € online bezahlen"), "{}", page.body);
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains(&format!("form-action 'self' {}", sim.base_url)), "{csp}");
        let csrf = hidden(&page.body, "csrf");

        // Cancelled at the provider: back to the claim, still open.
        let r = post(app, &mut erika, &format!("{url}/bezahlen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().starts_with(&format!("{}/pay/", sim.base_url)), "{}", r.location());
        let back = app.get(&at_provider(r.location(), "abbrechen").await).await;
        assert_eq!(back.status, 303, "{}", back.body);
        assert_eq!(back.location(), format!("{url}?zahlung=abgebrochen#zahlung"));
        let page = get(app, &mut erika, &format!("{url}?zahlung=abgebrochen")).await;
        assert!(page.body.contains("Sie haben die Zahlung abgebrochen"), "{}", page.body);
        assert!(page.body.contains("online bezahlen"));

        // Paid on the second try.
        let r = post(app, &mut erika, &format!("{url}/bezahlen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let back = app.get(&at_provider(r.location(), "bezahlen").await).await;
        assert_eq!(back.location(), format!("{url}?zahlung=bezahlt#zahlung"));
        let page = get(app, &mut erika, &format!("{url}?zahlung=bezahlt")).await;
        assert!(page.body.contains("Vielen Dank – Ihre Zahlung ist eingegangen"), "{}", page.body);
        assert!(page.body.contains("Bezahlt – Buchung folgt") && page.body.contains("online bezahlt"), "{}", page.body);
        assert!(!page.body.contains("online bezahlen"), "nothing left to pay");
        // Pressing the (old) button again pays nothing twice.
        let r = post(app, &mut erika, &format!("{url}/bezahlen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.location(), format!("{url}?zahlung=bezahlt#zahlung"));
        assert_eq!(sim.transactions().len(), 2);
        let overview = get(app, &mut erika, "/konto/finanzen/").await;
        assert!(overview.body.contains("Zurzeit ist nichts offen."), "{}", overview.body);
    });
}

#[tokio::test]
async fn wrong_codes_sent_at_once_get_no_more_tries_than_the_limit() {
    on_each_backend!(|app| {
        let (_, erika) = crate::konto::citizen(app, "erika.parallel@example.org").await;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..12u8 {
            let portal = app.state.portal.clone();
            let guess = format!("ABCD-EFGH-JK{}{}", char::from(b'A' + i), char::from(b'M' + i));
            set.spawn(async move { amtsweg_portal::finanzen::activate(&portal, erika, "c", &guess).await.unwrap() });
        }
        let answers = set.join_all().await;
        let wrong = answers.iter().filter(|a| **a == amtsweg_portal::finanzen::Activation::Wrong).count();
        let throttled = answers.iter().filter(|a| **a == amtsweg_portal::finanzen::Activation::Throttled).count();
        // Tries running at once see each other's count, so some (on a busy machine
        // all) may be refused early; never do more than the limit get through.
        let limit = usize::try_from(amtsweg_portal::finanzen::MAX_FAILURES_PER_HOUR).unwrap();
        assert!(wrong <= limit && wrong + throttled == 12, "{answers:?}");
        let counted =
            app.store.store.failures_of(&amtsweg_portal::finanzen::failure_key(erika), 0).await.unwrap().count;
        assert_eq!(usize::try_from(counted).unwrap(), wrong, "refused tries are not counted");
    });
}

#[tokio::test]
async fn the_finance_software_parts_an_account_and_a_new_code_revokes_the_older_one() {
    on_each_backend!(|app| {
        let key = crate::finanzen_api::client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let portal = &app.state.portal;
        let store = &app.store.store;
        let (_, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/forderungen",
            &key,
            Some(&crate::finanzen_api::batch(&[crate::finanzen_api::grundsteuer("5.100.1", "2026-05-15", 12_345)])),
        )
        .await;
        let id = v["items"][0]["claim_id"].as_i64().unwrap();
        let (_, erika) = crate::konto::citizen(app, "erika.trennen@example.org").await;
        let (_, max) = crate::konto::citizen(app, "max.trennen@example.org").await;
        let first = crate::finanzen_api::new_code(app, &key, "MB-10042").await;
        let second = crate::finanzen_api::new_code(app, &key, "MB-10042").await;
        assert_eq!(
            amtsweg_portal::finanzen::activate(portal, erika, "c", &first).await.unwrap(),
            amtsweg_portal::finanzen::Activation::Wrong,
            "revoked"
        );
        assert!(matches!(
            amtsweg_portal::finanzen::activate(portal, erika, "c", &second).await.unwrap(),
            amtsweg_portal::finanzen::Activation::Linked(_)
        ));
        let unused = crate::finanzen_api::new_code(app, &key, "MB-10042").await;
        assert!(amtsweg_portal::finanzen::claim_for_citizen(portal, erika, id).await.unwrap().is_some());

        let (r, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/personenkonten/trennen",
            &key,
            Some(r#"{"account":"MB-10042"}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((v["unlinked"].as_bool(), v["revoked_codes"].as_u64()), (Some(true), Some(1)));
        assert!(
            amtsweg_portal::finanzen::claim_for_citizen(portal, erika, id).await.unwrap().is_none(),
            "hidden at once"
        );
        assert!(amtsweg_portal::finanzen::citizen_overview(portal, erika).await.unwrap().is_empty());
        assert_eq!(
            amtsweg_portal::finanzen::activate(portal, max, "c2", &unused).await.unwrap(),
            amtsweg_portal::finanzen::Activation::Wrong
        );
        let a = app.authority_id("moorbrueck").await;
        assert!(store.finance_account(a, "MB-10042").await.unwrap().unwrap().citizen_id.is_none());

        let (r, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/personenkonten/trennen",
            &key,
            Some(r#"{"account":"MB-10042"}"#),
        )
        .await;
        assert_eq!((v["unlinked"].as_bool(), v["revoked_codes"].as_u64()), (Some(false), Some(0)), "{}", r.body);
        let (r, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/personenkonten/trennen",
            &key,
            Some(r#"{"account":"MB-999"}"#),
        )
        .await;
        crate::finanzen_api::problem(&r, &v, 404, "not-found");
        // Another authority's client does not reach this account.
        let bh = crate::finanzen_api::client(app, "birkhusen", "fin-bh", "finanzen").await;
        let (r, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/personenkonten/trennen",
            &bh,
            Some(r#"{"account":"MB-10042"}"#),
        )
        .await;
        crate::finanzen_api::problem(&r, &v, 404, "not-found");
        let reader = crate::finanzen_api::client(app, "moorbrueck", "fin-lesen", "submissions:read").await;
        let (r, v) = crate::finanzen_api::api(
            app,
            "POST",
            "/api/v1/personenkonten/trennen",
            &reader,
            Some(r#"{"account":"MB-10042"}"#),
        )
        .await;
        crate::finanzen_api::problem(&r, &v, 403, "insufficient-scope");
    });
}
