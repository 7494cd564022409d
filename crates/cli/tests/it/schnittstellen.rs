//! The connectors page of the back office: a new connector's kind is chosen first and
//! only that kind's inputs are shown; secrets are masked, never written into a page,
//! kept when their input is left empty and replaced only when a new one is typed;
//! validation errors keep everything typed except secrets.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};

const ADMIN: &str = "admin@moorbrueck.example";
const PAGE: &str = "/verwaltung/behoerden/moorbrueck/schnittstellen/";
const CREATE: &str = "/verwaltung/behoerden/moorbrueck/schnittstellen/verbindungen";
const SECRET: &str = "webhook-geheimnis-0123456789-abcdefghij-wxyz";
const FIT_SECRET: &str = "fit-client-geheimnis-9876543210-zyxw";

/// The inputs of each kind (by name).
const INPUTS: [(&str, &[&str]); 4] = [
    ("email", &["email_to", "email_max_mb"]),
    ("webhook", &["webhook_url", "webhook_secret"]),
    ("fitconnect", &["fit_api", "fit_destination", "fit_token_url", "fit_client_id", "fit_client_secret"]),
    ("xdomea", &["xdomea_url"]),
];

fn form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

/// The stored settings of the authority's connector `name`, opened.
async fn stored(app: &TestApp, name: &str) -> (i64, serde_json::Value) {
    let town = app.authority_id("moorbrueck").await;
    let c = app.store.store.connectors_of(town).await.unwrap().into_iter().find(|c| c.name == name).unwrap();
    let text = amtsweg_portal::handoff::open_config(&app.state.portal, &c).await.unwrap();
    (c.id, serde_json::from_str(&text).unwrap())
}

async fn create(app: &TestApp, jar: &mut Jar, fields: &[(&str, &str)]) -> crate::support::Reply {
    let page = get(app, jar, PAGE).await;
    let csrf = hidden(&page.body, "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    post(app, jar, CREATE, &form(&all)).await
}

#[tokio::test]
async fn each_connector_kind_shows_only_its_inputs() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, ADMIN).await;
        // First the kind, as a radio group that works without JavaScript.
        let page = get(app, &mut jar, PAGE).await;
        assert_eq!(page.status, 200);
        for (kind, inputs) in INPUTS {
            assert!(page.body.contains(&format!("type=\"radio\" id=\"art-{kind}\" name=\"art\"")), "{}", page.body);
            for input in inputs {
                assert!(!page.body.contains(&format!("name=\"{input}\"")), "{input} before a kind is chosen");
            }
        }
        // Then exactly the chosen kind's inputs.
        for (kind, _) in INPUTS {
            let page = get(app, &mut jar, &format!("{PAGE}?art={kind}")).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains(&format!("name=\"art\" value=\"{kind}\"")), "{kind}: the kind is sent along");
            for (other, other_inputs) in INPUTS {
                for input in other_inputs {
                    let shown = page.body.contains(&format!("name=\"{input}\""));
                    assert_eq!(shown, other == kind, "{kind}: {input}");
                }
            }
            assert!(page.body.contains("Andere Art wählen"));
        }
        // Secrets are masked and never filled in by the browser.
        let page = get(app, &mut jar, &format!("{PAGE}?art=webhook")).await;
        assert!(
            page.body.contains("name=\"webhook_secret\" type=\"password\" autocomplete=\"off\" value=\"\"",),
            "{}",
            page.body
        );
        let page = get(app, &mut jar, &format!("{PAGE}?art=fitconnect")).await;
        assert!(page.body.contains("name=\"fit_client_secret\" type=\"password\" autocomplete=\"off\" value=\"\""));
    });
}

#[tokio::test]
async fn stored_secrets_never_appear_in_the_back_office() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, ADMIN).await;
        // Refused: everything typed comes back except the secret, with an error summary.
        let r = create(
            app,
            &mut jar,
            &[
                ("name", "Fachverfahren Wahlamt"),
                ("art", "webhook"),
                ("webhook_url", "http://wahlamt.example/eingang"),
                ("webhook_secret", SECRET),
            ],
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body.contains("href=\"#webhook_url\"") && r.body.contains("Es wurde nichts gespeichert"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("value=\"Fachverfahren Wahlamt\"") && r.body.contains("http://wahlamt.example/eingang")
        );
        assert!(!r.body.contains(SECRET), "a typed secret is not sent back");
        assert!(r.body.contains("noch einmal ein"), "the page asks to type the secret again");
        assert!(!r.body.contains("name=\"email_to\""), "still only the webhook's inputs");

        let url = "https://wahlamt.example/eingang";
        let fields = [("name", "Wahlamt"), ("art", "webhook"), ("webhook_url", url), ("webhook_secret", SECRET)];
        let r = create(app, &mut jar, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let fields = [
            ("name", "FIT-Connect"),
            ("art", "fitconnect"),
            ("fit_api", "https://submission-api.example"),
            ("fit_destination", "7a2668ad-3081-407c-9358-7ce4b6144b02"),
            ("fit_token_url", "https://auth.example/token"),
            ("fit_client_id", "moorbrueck-client"),
            ("fit_client_secret", FIT_SECRET),
        ];
        let r = create(app, &mut jar, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (webhook, _) = stored(app, "Wahlamt").await;
        let (fit, _) = stored(app, "FIT-Connect").await;

        let edit = |id: i64| format!("{PAGE}verbindungen/{id}/bearbeiten");
        let mut pages = Vec::new();
        for path in [
            PAGE.to_owned(),
            format!("{PAGE}?art=webhook"),
            edit(webhook),
            edit(fit),
            "/verwaltung/".to_owned(),
            "/verwaltung/protokoll/".to_owned(),
        ] {
            let r = get(app, &mut jar, &path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            pages.push((path, r.body));
        }
        // A refused change: the new secret is not echoed either.
        let page = get(app, &mut jar, &edit(webhook)).await;
        let body = form(&[
            ("csrf", &hidden(&page.body, "csrf")),
            ("name", "Wahlamt"),
            ("webhook_url", "ftp://wahlamt.example"),
            ("webhook_secret", "ein-ganz-neues-geheimnis-mit-mehr-als-32-zeichen"),
        ]);
        let r = post(app, &mut jar, &edit(webhook), &body).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("value=\"ftp://wahlamt.example\""), "what was typed stays");
        assert!(!r.body.contains("ein-ganz-neues-geheimnis"));
        pages.push(("refused change".to_owned(), r.body));
        for (path, body) in &pages {
            assert!(!body.contains(SECRET) && !body.contains(FIT_SECRET), "{path} shows a stored secret");
        }
        // What the pages say instead.
        let webhook_page = &pages[2].1;
        assert!(webhook_page.contains("gespeichert (endet auf …wxyz)"), "{webhook_page}");
        assert!(webhook_page.contains("value=\"https://wahlamt.example/eingang\""), "the other settings are shown");
        assert!(pages[3].1.contains("gespeichert (endet auf …zyxw)") && pages[3].1.contains("moorbrueck-client"));
    });
}

#[tokio::test]
async fn an_empty_secret_input_keeps_the_stored_secret() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, ADMIN).await;
        let url = "https://wahlamt.example/eingang";
        let fields = [("name", "Wahlamt"), ("art", "webhook"), ("webhook_url", url), ("webhook_secret", SECRET)];
        assert_eq!(create(app, &mut jar, &fields).await.status, 303);
        let (id, before) = stored(app, "Wahlamt").await;
        assert_eq!(before["secret"], SECRET);
        let edit = format!("{PAGE}verbindungen/{id}/bearbeiten");

        // Other settings change; the empty secret input keeps the secret.
        let page = get(app, &mut jar, &edit).await;
        let csrf = hidden(&page.body, "csrf");
        let body = form(&[
            ("csrf", &csrf),
            ("name", "Wahlamt (neu)"),
            ("webhook_url", "https://wahlamt.example/v2"),
            ("webhook_secret", ""),
            // The kind stays what it is, whatever is sent.
            ("art", "email"),
        ]);
        let r = post(app, &mut jar, &edit, &body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().ends_with("?hinweis=geaendert"));
        let (_, after) = stored(app, "Wahlamt (neu)").await;
        assert_eq!(
            (after["url"].as_str(), after["secret"].as_str()),
            (Some("https://wahlamt.example/v2"), Some(SECRET))
        );
        let town = app.authority_id("moorbrueck").await;
        let row = app.store.store.connectors_of(town).await.unwrap().into_iter().find(|c| c.id == id).unwrap();
        assert_eq!(row.kind, "webhook");

        // A new secret replaces it (and is checked like the first).
        let body = form(&[("csrf", &csrf), ("name", "Wahlamt"), ("webhook_url", url), ("webhook_secret", "kurz")]);
        let r = post(app, &mut jar, &edit, &body).await;
        assert!(r.status == 422 && r.body.contains("32 Zeichen") && r.body.contains("href=\"#webhook_secret\""));
        assert_eq!(stored(app, "Wahlamt (neu)").await.1["secret"], SECRET, "nothing stored");
        let replaced = "ein-ganz-neues-geheimnis-mit-mehr-als-32-zeichen";
        let body = form(&[("csrf", &csrf), ("name", "Wahlamt"), ("webhook_url", url), ("webhook_secret", replaced)]);
        assert_eq!(post(app, &mut jar, &edit, &body).await.status, 303);
        assert_eq!(stored(app, "Wahlamt").await.1["secret"], replaced);
        let audit = app.store.store.audit_entries(None, 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "connector.update" && e.target == format!("connector:{id}")));

        // Under another authority's path it is not reachable.
        let foreign = format!("/verwaltung/behoerden/sg-heideland/schnittstellen/verbindungen/{id}/bearbeiten");
        assert!(matches!(get(app, &mut jar, &foreign).await.status.as_u16(), 403 | 404));
    });
}
