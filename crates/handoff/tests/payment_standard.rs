//! What a real XBezahldienste provider refuses, our side never sends, and what it may
//! answer that must not reach a citizen: descriptions from real titles and authority
//! names, requestor fields cut to the published models (checked the same way by the
//! simulator), a pay page that is only the REST address, and pay pages on a host the
//! connector does not name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::payment::{Cents, xbezahl_description, xbezahl_purpose};
use amtsweg_handoff::payment::simulator::{CreateBehaviour, Simulator};
use amtsweg_handoff::payment::xbezahl::{
    self, Item, PaymentRequest, ProviderError, Requestor, RequestorAddress, XBezahlAuth, XBezahlConfig,
};
use amtsweg_handoff::payment::{Gateway, PaymentTarget};
use amtsweg_outbound::{OutboundConfig, Policy};
use serde_json::Value;
use std::time::Duration;

/// Loopback over plain HTTP, for 127.0.0.1 (the simulator) and 127.0.0.2 (a second
/// host name for "another" pay-page host).
fn loopback() -> Policy {
    Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.0/8".into()],
        http_hosts: vec!["127.0.0.1".into(), "127.0.0.2".into()],
        ..OutboundConfig::default()
    })
    .unwrap()
}

fn gateway() -> Gateway {
    Gateway::new(loopback(), Duration::from_secs(5))
}

fn config(sim: &Simulator) -> XBezahlConfig {
    XBezahlConfig {
        base_url: sim.base_url.clone(),
        originator_id: "amtsweg-moorbrueck".into(),
        endpoint_id: "03358017".into(),
        auth: XBezahlAuth::None,
        send_requestor: false,
        pay_origin: None,
    }
}

/// A request as the portal builds it from a title and an authority's name.
fn request(id: &str, title: &str, authority: &str) -> PaymentRequest {
    PaymentRequest {
        request_id: id.into(),
        timestamp_ms: 1_795_000_000_123,
        amount: Cents(1250),
        purpose: xbezahl_purpose("MOO-2026-000042", title),
        description: xbezahl_description(&format!("{title}, {authority}")),
        redirect_url: "https://portal.example/zahlung/abcDEF_123-x".into(),
        items: vec![Item {
            id: "1".into(),
            reference: "MOO-2026-000042".into(),
            description: xbezahl_description(title),
            quantity: 1,
            tax_rate_percent: 0,
            single_net: Cents(1250),
            single_tax: Cents(0),
            booking: vec![],
        }],
        requestor: None,
    }
}

#[tokio::test]
async fn real_titles_and_authority_names_make_descriptions_the_provider_accepts() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    let cases = [
        ("An-/Ummeldung", "Stadt Frankfurt (Oder)"),
        ("Briefwahlunterlagen beantragen (eine Seite)", "Gemeinde Moorbrück"),
        ("Gewerbe: An-, Um- & Abmeldung", "Landkreis O'Higgins"),
        ("Hund + Katze / Steuer", "Amt „Müritz“ ’Süd’"),
    ];
    for (n, (title, authority)) in cases.iter().enumerate() {
        let r = request(&format!("amtsweg-std-{n}"), title, authority);
        xbezahl::request_body(&r).unwrap_or_else(|e| panic!("{title} / {authority}: {e:?}"));
        client.create(&r).await.unwrap_or_else(|e| panic!("{title} / {authority}: {e:?}"));
    }
    let sent = sim.requests();
    assert_eq!(sent.len(), cases.len());
    assert_eq!(sent[0]["description"], "An- Ummeldung, Stadt Frankfurt Oder");
    assert_eq!(sent[0]["items"][0]["description"], "An- Ummeldung");
}

#[tokio::test]
async fn requestor_fields_are_cut_to_the_published_models() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&XBezahlConfig { send_requestor: true, ..config(&sim) }).unwrap();
    let mut r = request("amtsweg-req-1", "Meldebescheinigung", "Stadt Moorbrück");
    r.requestor = Some(Requestor {
        name: "O'Brien-Müller (geb. Schmidt)".into(),
        first_name: "Siobhán".into(),
        address: Some(RequestorAddress {
            street: "Straße des 17. Juni / Hinterhaus".into(),
            house_number: "12/14".into(),
            postal_code: "A-1010".into(),
            city: "Halle (Saale)".into(),
            country: "de".into(),
        }),
        ..Requestor::default()
    });
    client.create(&r).await.unwrap();
    let p = &sim.requests()[0]["requestor"];
    assert_eq!(p["name"], "O Brien-Müller geb. Schmidt");
    assert_eq!(p["firstName"], "Siobhán");
    assert_eq!(p["address"]["street"], "Straße des 17. Juni Hinterhaus");
    assert_eq!(p["address"]["houseNumber"], "12-14");
    assert_eq!(p["address"]["postalCode"], "1010");
    assert_eq!(p["address"]["city"], "Halle Saale");
    assert_eq!(p["address"]["country"], "DE");

    // A postcode that cannot be one is left out, not sent to be refused.
    let mut r = request("amtsweg-req-2", "Meldebescheinigung", "Stadt Moorbrück");
    r.requestor = Some(Requestor {
        name: "Ä".repeat(240),
        address: Some(RequestorAddress { postal_code: "1234567".into(), city: "Köln".into(), ..Default::default() }),
        ..Requestor::default()
    });
    client.create(&r).await.unwrap();
    let p = &sim.requests()[1]["requestor"];
    assert_eq!(p["name"].as_str().unwrap().chars().count(), 240, "names up to 250 are fine");
    assert!(p["address"].get("postalCode").is_none() && p["address"].get("street").is_none(), "{p}");

    // The simulator refuses what the models refuse.
    let good = xbezahl::request_body(&request("amtsweg-req-3", "Meldebescheinigung", "Moorbrück")).unwrap();
    let url = format!("{}/paymenttransaction/amtsweg-moorbrueck/03358017", sim.base_url);
    let post = |requestor: &str| {
        let body = good.replacen("\"items\":", &format!("\"requestor\":{requestor},\"items\":"), 1);
        let url = url.clone();
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap_or_default();
            (status, body["functionalCode"].as_str().unwrap_or_default().to_owned())
        }
    };
    for bad in [
        r#"{"name":"O'Brien","isOrganization":false}"#,
        r#"{"name":"Müller","isOrganization":false,"address":{"city":"Halle (Saale)"}}"#,
        r#"{"name":"Müller","isOrganization":false,"address":{"city":"Frankfurt a.M."}}"#,
        r#"{"name":"Müller","isOrganization":false,"address":{"houseNumber":"12/14"}}"#,
        r#"{"name":"Müller","isOrganization":false,"address":{"postalCode":"A-1010"}}"#,
        r#"{"name":"Müller","isOrganization":false,"address":{"postalCode":"123456"}}"#,
    ] {
        assert_eq!(post(bad).await, (400, "VALIDATION_ERROR".to_owned()), "{bad}");
    }
    let long = format!(r#"{{"name":"{}","isOrganization":false}}"#, "a".repeat(250));
    assert_eq!(post(&long).await.0, 201, "a real provider takes names up to 250");
}

#[tokio::test]
async fn a_pay_page_that_is_only_the_rest_address_is_refused() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    sim.set_create(CreateBehaviour::RestUrlOnly);
    let e = client.create(&request("amtsweg-rest-1", "Meldebescheinigung", "Moorbrück")).await.unwrap_err();
    assert!(matches!(&e, ProviderError::Garbage(m) if m.contains("REST")), "{e:?}");
    sim.set_create(CreateBehaviour::Normal);
    client.create(&request("amtsweg-rest-2", "Meldebescheinigung", "Moorbrück")).await.unwrap();
}

#[tokio::test]
async fn pay_pages_are_taken_only_on_the_connectors_own_pay_origin() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let port = sim.base_url.rsplit(':').next().unwrap().to_owned();
    let other = format!("http://127.0.0.2:{port}");

    // The answer names a pay page on a host the connector does not name: refused,
    // although the outbound policy would allow that host.
    sim.set_pay_base(&other);
    let client = gateway().client(&config(&sim)).unwrap();
    let e = client.create(&request("amtsweg-host-1", "Meldebescheinigung", "Moorbrück")).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotAllowed(m) if m.contains("127.0.0.2") && m.contains("Bezahlseite")),
        "{e:?}"
    );
    assert!(!e.is_retryable());

    // With the pay-page origin set up, the same answer is taken.
    let cfg = XBezahlConfig { pay_origin: Some(other.clone()), ..config(&sim) };
    assert_eq!(cfg.pay_page_origin().as_deref(), Some(other.as_str()));
    let created = gateway().client(&cfg).unwrap().create(&request("amtsweg-host-2", "X", "Y")).await.unwrap();
    assert!(created.transaction_url.starts_with(&format!("{other}/pay/")), "{created:?}");
    assert_eq!(config(&sim).pay_page_origin().as_deref(), Some(sim.base_url.as_str()));

    // The setting is checked like the API's address.
    let policy = loopback();
    let parse = |pay: &str| {
        let cfg = XBezahlConfig { pay_origin: Some(pay.into()), ..config(&sim) };
        PaymentTarget::parse("xbezahldienste", &serde_json::to_string(&cfg).unwrap(), &policy).map(|_| ())
    };
    assert!(parse(&other).is_ok());
    assert!(parse("http://pay.example").unwrap_err().contains("Bezahlseite"), "https outside loopback");
    assert!(parse("https://pay.example/pay?x=1").unwrap_err().contains("ohne Pfad"));
    assert!(parse("https://pay.example").is_ok());
}
