//! Where citizens are sent to pay, through the real router on both databases: a
//! provider whose pay pages are on another host than its API works once the
//! connector names that host ("Adresse der Bezahlseite"), and the receipt's CSP
//! `form-action` names exactly it; an answer naming any other host starts nothing.
//! And a changed API or token address does not take the sealed OAuth2 secret along.

use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_handoff::deliver::Connectors;
use amtsweg_handoff::outbound::{OutboundConfig, Policy};
use amtsweg_handoff::payment::simulator::Simulator;
use amtsweg_portal::payments::connectors;

const TOWN: &str = "moorbrueck";
const BASE: &str = "/verwaltung/behoerden/moorbrueck/zahlungen/";

/// The simulator on 127.0.0.1; 127.0.0.2 is "another host" of the provider.
fn config() -> amtsweg_web::WebConfig {
    let outbound = Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.0/8".into()],
        http_hosts: vec!["127.0.0.1".into(), "127.0.0.2".into()],
        ..OutboundConfig::default()
    })
    .unwrap();
    amtsweg_web::WebConfig { connectors: Connectors { outbound, ..Connectors::default() }, ..Default::default() }
}

/// A one-step form of the town charging 12,50 € before release; returns its address.
async fn fee_form(app: &TestApp) -> String {
    let a = app.authority_id(TOWN).await;
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": "bescheinigung", "title": "Bescheinigung mit Gebühr",
        "steps": [{"id": "angaben", "title": "Ihre Angaben", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}]}],
        "computed": [{"id": "gebuehr", "label": "Gebühr", "expr": {"cents": 1250}}],
        "payment": {"mode": "vorab", "amount": "gebuehr"}
    }))
    .unwrap();
    let mut tx = app.store.store.begin().await.unwrap();
    let slug = amtsweg_domain::Slug::parse("bescheinigung").unwrap();
    let id = tx.create_form(a, &slug, None, &form, None).await.unwrap();
    tx.publish_form(a, id, 1, None).await.unwrap();
    tx.commit().await.unwrap();
    amtsweg_web::sync::refresh(&app.state).await.unwrap();
    format!("/o/{TOWN}/antrag/bescheinigung/")
}

/// Fills in and sends the form; returns the receipt's address.
async fn apply(app: &TestApp, jar: &mut Jar, form: &str) -> String {
    let page = get(app, jar, form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let r = post(app, jar, form, &format!("{fields}&aktion=weiter&f.name=Erika+Musterfrau")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let check = r.location().to_owned();
    let draft = check.trim_end_matches("pruefen").to_owned();
    let page = get(app, jar, &check).await;
    let r = post(app, jar, &format!("{draft}absenden"), &format!("csrf={}", hidden(&page.body, "csrf"))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_owned()
}

/// "Jetzt … online bezahlen" on the receipt.
async fn press_pay(app: &TestApp, jar: &mut Jar, receipt: &str) -> Reply {
    let page = get(app, jar, receipt).await;
    assert_eq!(page.status, 200, "{}", page.body);
    post(app, jar, &format!("{receipt}/bezahlen"), &format!("csrf={}", hidden(&page.body, "csrf"))).await
}

/// GETs `page` and POSTs `fields` with its CSRF token to `action`.
async fn submit(app: &TestApp, jar: &mut Jar, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
    let csrf = hidden(&get(app, jar, page).await.body, "csrf");
    let body = std::iter::once(("csrf", csrf.as_str()))
        .chain(fields.iter().copied())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    post(app, jar, action, &body).await
}

#[tokio::test]
async fn a_pay_page_on_its_own_host_works_only_where_the_connector_names_it() {
    on_each_backend!(config = config(), |app| {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let port = sim.base_url.rsplit(':').next().unwrap().to_owned();
        let pay_host = format!("http://127.0.0.2:{port}");
        sim.set_pay_base(&pay_host);
        let a = app.authority_id(TOWN).await;
        let cfg =
            serde_json::json!({"base_url": sim.base_url, "originator_id": "moorbrueck", "endpoint_id": "antraege"});
        let id = connectors::add(&app.state.portal, a, None, "xbezahldienste", "Bezahldienst", &cfg.to_string())
            .await
            .unwrap();
        let form = fee_form(app).await;
        let (mut erika, _) = citizen(app, "erika.host@example.org").await;
        let receipt = apply(app, &mut erika, &form).await;

        // Not named: the answer's pay page is refused, the citizen stays here.
        let r = press_pay(app, &mut erika, &receipt).await;
        assert_ne!(r.status, 303, "{}", r.body);
        assert!(r.body.contains("Online-Zahlung ist hier gerade nicht möglich"), "{}", r.body);

        // Named on the connector: the receipt lets the form continue there, only there.
        let with = serde_json::json!({"base_url": sim.base_url, "originator_id": "moorbrueck",
            "endpoint_id": "antraege", "pay_origin": pay_host});
        assert!(connectors::update(&app.state.portal, a, id, None, "Bezahldienst", &with.to_string()).await.unwrap());
        let page = get(app, &mut erika, &receipt).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains(&format!("form-action 'self' {pay_host};")), "{csp}");
        assert!(!csp.contains(&sim.base_url), "{csp}");
        let r = press_pay(app, &mut erika, &receipt).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().starts_with(&format!("{pay_host}/pay/")), "{}", r.location());
    });
}

#[tokio::test]
async fn a_changed_token_or_api_address_needs_the_client_secret_again() {
    on_each_backend!(|app| {
        let a = app.authority_id(TOWN).await;
        let mut jar = sign_in(app, "admin@moorbrueck.example").await;
        let fields = [
            ("art", "xbezahldienste"),
            ("name", "ePayBL"),
            ("xb_url", "https://epay.example/api/v1"),
            ("xb_originator", "amtsweg"),
            ("xb_endpoint", "039510007007"),
            ("xb_auth", "oauth2"),
            ("xb_token_url", "https://epay.example/token"),
            ("xb_client_id", "moorbrueck"),
            ("xb_client_secret", "DAS-ALTE-GEHEIMNIS-0815"),
            ("xb_bezahlseite", "https://bezahlen.epay.example"),
        ];
        let r =
            submit(app, &mut jar, &format!("{BASE}?art=xbezahldienste"), &format!("{BASE}verbindungen"), &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let c = app.store.store.payment_connectors_of(a).await.unwrap().into_iter().find(|c| c.name == "ePayBL");
        let c = c.unwrap();
        let opened = connectors::open_config(&app.state.portal, &c).await.unwrap();
        assert!(opened.contains("\"pay_origin\":\"https://bezahlen.epay.example\""), "{opened}");
        let edit = format!("{BASE}verbindungen/{}/bearbeiten", c.id);
        assert!(get(app, &mut jar, &edit).await.body.contains("value=\"https://bezahlen.epay.example\""));

        for (field, moved) in [("xb_token_url", "https://evil.example/token"), ("xb_url", "https://evil.example/api")] {
            let mut changed: Vec<_> = fields.iter().copied().filter(|(k, _)| *k != "xb_client_secret").collect();
            changed.retain(|(k, _)| *k != field);
            changed.push((field, moved));
            let r = submit(app, &mut jar, &edit, &edit, &changed).await;
            assert_eq!(r.status, 422, "{field}: {}", r.body);
            assert!(r.body.contains("Client-Geheimnis noch einmal ein"), "{}", r.body);
            let now = app.store.store.payment_connector(c.id).await.unwrap().unwrap();
            let opened = connectors::open_config(&app.state.portal, &now).await.unwrap();
            assert!(opened.contains("https://epay.example/token") && !opened.contains("evil"), "{opened}");
            // Typed again, the change is taken.
            changed.push(("xb_client_secret", "DAS-NEUE-GEHEIMNIS-4711"));
            let r = submit(app, &mut jar, &edit, &edit, &changed).await;
            assert_eq!(r.status, 303, "{field}: {}", r.body);
            let now = app.store.store.payment_connector(c.id).await.unwrap().unwrap();
            let opened = connectors::open_config(&app.state.portal, &now).await.unwrap();
            assert!(opened.contains(moved) && opened.contains("DAS-NEUE-GEHEIMNIS-4711"), "{opened}");
            // Back to the original addresses for the next round.
            let r = submit(app, &mut jar, &edit, &edit, &fields).await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
    });
}
