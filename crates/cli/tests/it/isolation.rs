//! Tenant isolation matrix, generated from the back office's route table: every route
//! × role × foreign authority answers 403/404 and never shows the foreign data.

use crate::on_each_backend;
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};

/// Routes that act on the signed-in person only (no authority in the path). A new
/// route must either take `{slug}` (and is then tested below) or be listed here
/// after thinking about which data it shows.
const OWN_SCOPE: &[&str] = &[
    "/verwaltung",
    "/verwaltung/",
    "/verwaltung/anmelden",
    "/verwaltung/anmelden/code",
    "/verwaltung/abmelden",
    "/verwaltung/ueberall-abmelden",
    "/verwaltung/zweiter-faktor",
    "/verwaltung/protokoll/",
    "/verwaltung/protokoll.csv",
    "/verwaltung/passwort-vergessen",
    // The library is read by every editor of the Verbund by design; adopting and
    // offering go through authority-scoped routes below.
    "/verwaltung/bibliothek/",
    "/verwaltung/bibliothek/{entry}",
];

/// The case-worker inbox spans every authority the person processes; a submission
/// is addressed by its id alone, so these routes are tested with another
/// authority's submission below.
const CASE_ROUTES: &str = "/verwaltung/antraege";

/// A submission of a foreign authority: (id, receipt number).
async fn foreign_submission(app: &crate::support::TestApp, authority_id: i64) -> (i64, String) {
    let form = foreign_form(app, authority_id).await;
    let store = &app.store.store;
    let token = format!("fremd-{authority_id}");
    let mut tx = store.begin().await.unwrap();
    tx.create_application_draft(&amtsweg_store::submissions::NewDraft {
        token: &token,
        authority_id,
        form_id: form.id,
        form_version: 1,
        citizen_id: None,
        browser_hash: "b",
        csrf: "c",
        answers: "sealed",
        step: "a",
        expires_at: amtsweg_store::now_ms() + 60_000,
    })
    .await
    .unwrap();
    let s = tx
        .submit(&amtsweg_store::submissions::NewSubmission {
            form_token: &token,
            authority_id,
            form_id: form.id,
            form_version: 1,
            title: "Fremdes Formular",
            org_unit_id: None,
            citizen_id: None,
            browser_hash: "b",
            data: "sealed",
            data_hash: "h",
            receipt_prefix: "FRE",
            year: 2026,
            confirmation: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (s.id, s.receipt_number)
}

/// Anonymous routes whose only key is a one-time token (tested in `verwaltung.rs`).
const TOKEN_ROUTES: &[&str] = &["/verwaltung/einladung/{token}", "/verwaltung/passwort-neu/{token}"];

/// Routes for the Verbund administrator alone: everyone else gets 403.
const VERBUND_ONLY: &[&str] = &[
    "/verwaltung/verbund/behoerden/",
    "/verwaltung/verbund/behoerden/neu",
    "/verwaltung/verbund/zustaendigkeiten/",
    "/verwaltung/verbund/mitarbeitende/",
];

/// The appointment calendar of a foreign location (created when the demo has none).
async fn foreign_calendar(app: &crate::support::TestApp, authority_id: i64, location_id: i64) -> i64 {
    let store = &app.store.store;
    if let Some(c) = store.appointment_calendars(authority_id).await.unwrap().into_iter().next() {
        return c.id;
    }
    let mut tx = store.begin().await.unwrap();
    let (id, _) = tx.save_appointment_calendar(authority_id, location_id, "{}", 0).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    id
}

/// A form of a foreign authority (the demo has forms of Moorbrück only).
async fn foreign_form(app: &crate::support::TestApp, authority_id: i64) -> amtsweg_store::forms::FormRow {
    let store = &app.store.store;
    let slug = amtsweg_domain::Slug::parse("fremdes-formular").unwrap();
    if let Some(f) = store.form_by_slug(authority_id, slug.as_str()).await.unwrap() {
        return f;
    }
    let form: amtsweg_forms::Form = serde_json::from_str(
        r#"{"id": "fremd", "title": "Fremdes Formular", "steps": [{"id": "a", "title": "A", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}]}]}"#,
    )
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.create_form(authority_id, &slug, None, &form, None).await.unwrap();
    tx.commit().await.unwrap();
    store.form_by_slug(authority_id, slug.as_str()).await.unwrap().unwrap()
}

/// Payment records of a foreign authority: a payment connector, a bank entry to
/// resolve and a refund to pay out (created once per authority).
struct ForeignPayments {
    connector: i64,
    entry: i64,
    refund: i64,
}

async fn foreign_payments(app: &crate::support::TestApp, authority_id: i64) -> ForeignPayments {
    use amtsweg_store::payments::{NewBankEntry, NewBooking, NewPayment, NewStatement};
    let store = &app.store.store;
    if let Some(c) = store.payment_connectors_of(authority_id).await.unwrap().first() {
        let entry = store.bank_entries_to_resolve(authority_id).await.unwrap()[0].id;
        let refund = store.refunds_open(authority_id).await.unwrap()[0].id;
        return ForeignPayments { connector: c.id, entry, refund };
    }
    let account = r#"{"recipient": "Fremde Kasse", "iban": "DE02120300000000202051", "bic": ""}"#;
    let connector = amtsweg_portal::payments::connectors::add(
        &app.state.portal,
        authority_id,
        None,
        "rechnung",
        "Fremde Kasse",
        account,
    )
    .await
    .unwrap();
    let form = foreign_form(app, authority_id).await;
    let s = amtsweg_store::submissions::OwnedSubmission {
        form_token: format!("fremd-zahlung-{authority_id}"),
        authority_id,
        form_id: form.id,
        form_version: 1,
        title: "Fremdes Formular".into(),
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b".into(),
        data: "sealed".into(),
        data_hash: "h".into(),
        receipt_prefix: "FRZ".into(),
        year: 2026,
        confirmation: None,
    };
    let kz = format!("FREMD-{authority_id}");
    let p = NewPayment {
        authority_id,
        mode: "rechnung".into(),
        connector_id: None,
        kassenzeichen: kz.clone(),
        rf_reference: amtsweg_domain::payment::rf_from(&kz).unwrap(),
        purpose: "Fremde Gebühr".into(),
        amount_cents: 1000,
        booking: "[]".into(),
        due_on: "2026-12-31".into(),
        expires_at: None,
        citizen_id: None,
        hold: false,
    };
    let sub = store.submit_all_with(&[(s, Some(p))]).await.pop().unwrap().unwrap();
    let payment = store.payment_of_submission(authority_id, sub.id).await.unwrap().unwrap().id;
    let mut tx = store.begin().await.unwrap();
    let b = NewBooking {
        authority_id,
        payment_id: Some(payment),
        claim_id: None,
        source: "counter",
        amount_cents: 1000,
        method: "bar",
        reference: "",
        bank_entry_id: None,
        attempt_id: None,
        actor: "staff:0",
        booked_on: "2026-05-05",
    };
    tx.book_payment(&b, None).await.unwrap();
    let refund = tx
        .insert_refund(&amtsweg_store::payments::refunds::NewRefund {
            authority_id,
            payment_id: payment,
            amount_cents: 100,
            reason: "sealed",
            method: "payout",
            payout_iban: "",
            actor: "staff:0",
            booked_on: "2026-05-05",
        })
        .await
        .unwrap()
        .unwrap();
    let statement = tx
        .insert_statement(&NewStatement {
            authority_id,
            account_iban: "DE02120300000000202051",
            statement_id: "FREMD-1",
            message_id: "M",
            electronic_seq: "",
            version: "001.08",
            sha256: "fremd",
            from_date: "",
            to_date: "",
            entries: 1,
            imported_by: "test",
        })
        .await
        .unwrap()
        .unwrap();
    let entry = tx
        .insert_bank_entry(&NewBankEntry {
            statement_ref: statement,
            authority_id,
            entry_key: "fremd-1",
            amount_cents: 700,
            credit: true,
            currency: "EUR",
            booking_date: "2026-05-05",
            value_date: "2026-05-05",
            reference: "",
            details: "",
            r#match: "unmatched",
            payment_id: None,
            claim_id: None,
        })
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    ForeignPayments { connector, entry, refund }
}

#[tokio::test]
async fn every_back_office_route_refuses_foreign_authorities() {
    // Hundreds of POSTs from one test client: request rates are tested in abuse_limits,
    // here they would only turn refusals into 429s depending on the machine's speed.
    let config = amtsweg_web::WebConfig {
        limits: amtsweg_web::limits::LimitsConfig::default().without_request_rates(),
        ..Default::default()
    };
    on_each_backend!(config = config, |app| {
        let map = amtsweg_web::routes::all();
        let table: Vec<(&str, &[&str])> =
            map.iter().filter(|r| r.path.starts_with("/verwaltung")).map(|r| (r.path, r.methods)).collect();
        // The route map's access classes are the matrix's categories.
        use amtsweg_web::routes::Access;
        for r in map.iter().filter(|r| r.path.starts_with("/verwaltung") && r.access != Access::Public) {
            assert_eq!(r.access == Access::VerbundAdmin, VERBUND_ONLY.contains(&r.path), "{}", r.path);
            assert_eq!(r.access == Access::StaffOfAuthority, r.path.contains("{slug}"), "{}", r.path);
            assert_eq!(r.access == Access::StaffCase, r.path.starts_with(CASE_ROUTES), "{}", r.path);
        }
        for (path, _) in &table {
            assert!(
                path.contains("{slug}")
                    || path.starts_with(CASE_ROUTES)
                    || OWN_SCOPE.contains(path)
                    || VERBUND_ONLY.contains(path)
                    || TOKEN_ROUTES.contains(path),
                "route {path} is not covered by the isolation matrix"
            );
        }
        let scoped: Vec<_> = table.iter().filter(|(p, _)| p.contains("{slug}")).collect();
        assert!(scoped.len() >= 7);
        let store = &app.store.store;
        let mut checked = 0;
        for email in ["redaktion@moorbrueck.example", "sachbearbeitung@moorbrueck.example", "admin@moorbrueck.example"]
        {
            let mut jar = sign_in(app, email).await;
            let csrf = hidden(&get(app, &mut jar, "/verwaltung/").await.body, "csrf");
            for (path, methods) in table.iter().filter(|(p, _)| VERBUND_ONLY.contains(p)) {
                for m in *methods {
                    let r = if *m == "GET" {
                        get(app, &mut jar, path).await
                    } else {
                        post(app, &mut jar, path, &format!("csrf={csrf}")).await
                    };
                    assert_eq!(r.status, 403, "{email}: {m} {path}");
                }
            }
            for foreign in ["sg-heideland", "landkreis-heidekamp", "birkhusen"] {
                let a = store.authority_by_slug(foreign).await.unwrap().unwrap();
                let l = store.leistungen_of(a.id, false).await.unwrap().into_iter().next().unwrap();
                let secret: String = l.description.chars().take(40).collect();
                let foreign_location = store.locations(a.id).await.unwrap().into_iter().next().unwrap().id;
                let foreign_unit = store.org_units(a.id).await.unwrap().into_iter().next().unwrap().id;
                let foreign_contact = store.contacts(a.id).await.unwrap().into_iter().next().unwrap().id;
                let foreign_form = foreign_form(app, a.id).await;
                let foreign_calendar = foreign_calendar(app, a.id, foreign_location).await;
                let foreign_pay = foreign_payments(app, a.id).await;
                // A person of that authority (else one with no role at the own authority).
                let foreign_staff = match store.staff_list(Some(a.id)).await.unwrap().first() {
                    Some(p) => p.id,
                    None => {
                        store.staff_by_email("verbund-admin@landkreis-heidekamp.example").await.unwrap().unwrap().id
                    }
                };
                for (own_or_foreign, slug) in [("foreign", foreign), ("own path, foreign id", "moorbrueck")] {
                    for (path, methods) in &scoped {
                        if own_or_foreign != "foreign" && !path.contains("{id}") {
                            continue;
                        }
                        let url = path
                            .replace("{slug}", slug)
                            .replace(
                                "{id}",
                                &if path.contains("/zahlungen/verbindungen/") {
                                    foreign_pay.connector
                                } else if path.contains("/zahlungen/abgleich/") {
                                    foreign_pay.entry
                                } else if path.contains("/zahlungen/erstattungen/") {
                                    foreign_pay.refund
                                } else if path.contains("/standorte/") || path.ends_with("/termine/{id}/kalender") {
                                    foreign_location
                                } else if path.contains("/termine/") {
                                    foreign_calendar
                                } else if path.contains("/stellen/") {
                                    foreign_unit
                                } else if path.contains("/kontakte/") {
                                    foreign_contact
                                } else if path.contains("/formulare/") {
                                    foreign_form.id
                                } else if path.contains("/mitarbeitende/") {
                                    foreign_staff
                                } else {
                                    l.id
                                }
                                .to_string(),
                            )
                            .replace("{revision}", "1")
                            .replace("{entry}", "1")
                            .replace("{field}", "name")
                            .replace("{group}", "name")
                            .replace("{kind}", "impressum");
                        for m in *methods {
                            let r = if *m == "GET" {
                                get(app, &mut jar, &url).await
                            } else {
                                let body = format!(
                                    "csrf={csrf}&version=0&aktion=veroeffentlichen&name=Fremd&leika=99000000000009&trust_level=normal&description={}",
                                    enc("übernommen")
                                );
                                post(app, &mut jar, &url, &body).await
                            };
                            assert!(
                                r.status == 403 || r.status == 404,
                                "{email}: {m} {url} ({own_or_foreign}) answered {}",
                                r.status
                            );
                            assert!(!r.body.contains(&secret), "{email}: {m} {url} shows foreign content");
                            checked += 1;
                        }
                    }
                }
                let (submission, receipt) = foreign_submission(app, a.id).await;
                let inbox = get(app, &mut jar, "/verwaltung/antraege/?stand=alle").await;
                assert!(!inbox.body.contains(&receipt), "{email}: the inbox lists a foreign submission");
                for (path, methods) in table.iter().filter(|(p, _)| p.contains("/verwaltung/antraege/{id}")) {
                    let url = path
                        .replace("{id}", &submission.to_string())
                        .replace("{index}", "0")
                        .replace("{delivery}", "1");
                    for m in *methods {
                        let r = if *m == "GET" {
                            get(app, &mut jar, &url).await
                        } else {
                            post(app, &mut jar, &url, &format!("csrf={csrf}&notiz=x&bearbeitung=ich")).await
                        };
                        assert!(r.status == 403 || r.status == 404, "{email}: {m} {url} answered {}", r.status);
                        assert!(!r.body.contains(&receipt), "{email}: {m} {url} shows the foreign submission");
                        checked += 1;
                    }
                }
                assert!(store.submission_events(submission).await.unwrap().is_empty(), "nothing written");
                assert!(!store.staff_by_id(foreign_staff).await.unwrap().unwrap().disabled, "foreign staff untouched");
                let c = store.payment_connector(foreign_pay.connector).await.unwrap().unwrap();
                assert_eq!((c.active, c.name.as_str()), (1, "Fremde Kasse"), "foreign payment connector unchanged");
                assert!(store.bank_entry(a.id, foreign_pay.entry).await.unwrap().unwrap().resolved_at.is_none());
                assert_eq!(store.refunds_open(a.id).await.unwrap().len(), 1, "foreign refund still to pay out");
                let still = store.leistung_by_id(a.id, l.id).await.unwrap().unwrap();
                assert_eq!(still.name, l.name, "foreign service unchanged");
                assert!(store.draft(a.id, l.id).await.unwrap().is_none(), "no foreign draft written");
                let form = store.form_by_id(a.id, foreign_form.id).await.unwrap().unwrap();
                assert_eq!(
                    (form.draft_version, form.published_version, &form.draft),
                    (1, 0, &foreign_form.draft),
                    "foreign form unchanged"
                );
            }
        }
        assert!(checked > 100, "{checked}");
        // Without a session every route sends the browser to sign in, or refuses a POST.
        let mut anonymous = Jar::default();
        for (path, methods) in &scoped {
            let url = path
                .replace("{slug}", "moorbrueck")
                .replace("{id}", "1")
                .replace("{revision}", "1")
                .replace("{entry}", "1")
                .replace("{field}", "name")
                .replace("{group}", "name")
                .replace("{kind}", "impressum");
            for m in *methods {
                let r = if *m == "GET" {
                    get(app, &mut anonymous, &url).await
                } else {
                    post(app, &mut anonymous, &url, "csrf=x").await
                };
                assert!(r.status == 303 || r.status == 403, "anonymous {m} {url}: {}", r.status);
                if r.status == 303 {
                    assert!(r.location().starts_with("/verwaltung/anmelden"));
                }
            }
        }
    });
}
