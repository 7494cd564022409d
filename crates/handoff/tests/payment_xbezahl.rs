//! The XBezahldienste client against the provider simulator (a real HTTP server on
//! 127.0.0.1): the request's shape, the pay page and its outcomes, every refusal the
//! standard names, unusable and late answers, and OAuth2. Also the configuration of
//! payment connectors and the finance software's webhook poke.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::payment::{Cents, ProviderStatus};
use amtsweg_handoff::deliver::WebhookTarget;
use amtsweg_handoff::payment::simulator::{CreateBehaviour, Simulator, StatusBehaviour};
use amtsweg_handoff::payment::xbezahl::{
    self, Item, PaymentRequest, ProviderError, Requestor, RequestorAddress, XBezahlAuth, XBezahlConfig,
};
use amtsweg_handoff::payment::{Gateway, KINDS, PaymentTarget, webhook};
use amtsweg_outbound::{OutboundConfig, Policy};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn loopback() -> Policy {
    Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.1/32".into()],
        http_hosts: vec!["127.0.0.1".into()],
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

fn request(id: &str) -> PaymentRequest {
    PaymentRequest {
        request_id: id.into(),
        timestamp_ms: 1_795_000_000_123,
        amount: Cents(1250),
        purpose: "MOO-2026-000042 Meldebesch".into(),
        description: "Meldebescheinigung, Gebühr für Erika Müller".into(),
        redirect_url: "https://portal.example/zahlung/abcDEF_123-x".into(),
        items: vec![Item {
            id: "gebuehr".into(),
            reference: "99115003012000".into(),
            description: "Gebühr Meldebescheinigung".into(),
            quantity: 1,
            tax_rate_percent: 0,
            single_net: Cents(1250),
            single_tax: Cents(0),
            booking: vec![
                ("haushaltsstelle".into(), "1.1220.1000".into()),
                ("kassenzeichen".into(), "MOO-2026-000042".into()),
            ],
        }],
        requestor: None,
    }
}

/// The browser's part: open the pay page, press a button, follow nothing.
async fn press(sim: &Simulator, transaction: &str, action: &str, method: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(sim.pay_url(transaction)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("SIMULATION – es fließt kein Geld"), "{html}");
    assert!(html.contains("12,50 €"), "{html}");
    let resp =
        http.post(sim.pay_url(transaction)).form(&[("aktion", action), ("zahlart", method)]).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    resp.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_payment_is_created_paid_and_reported_with_the_standard_request_shape() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    assert!(!client.supports_refunds());
    let created = client.create(&request("amtsweg-1-1")).await.unwrap();
    assert_eq!(created.transaction_url, sim.pay_url(&created.transaction_id));

    // The exact wire text: amounts as decimal numbers, no float artefacts.
    let raw = &sim.raw_requests()[0];
    assert!(raw.contains(r#""grosAmount":12.50"#), "{raw}");
    assert!(raw.contains(r#""singleNetAmount":12.50"#) && raw.contains(r#""totalTaxAmount":0.00"#), "{raw}");
    let r = &sim.requests()[0];
    assert_eq!(r["requestId"], "amtsweg-1-1");
    assert_eq!(r["requestTimestamp"], "2026-11-18T11:06:40.123Z");
    assert_eq!(r["currency"], "EUR");
    assert_eq!(r["purpose"], "MOO-2026-000042 Meldebesch");
    assert_eq!(r["redirectUrl"], "https://portal.example/zahlung/abcDEF_123-x");
    assert_eq!(r["items"][0]["taxRate"], 0);
    assert_eq!(r["items"][0]["quantity"], 1);
    assert_eq!(
        r["items"][0]["bookingData"],
        json!({"haushaltsstelle": "1.1220.1000", "kassenzeichen": "MOO-2026-000042"})
    );
    assert!(r.get("requestor").is_none(), "no personal data unless the connector asks for it");

    let open = client.status(&created.transaction_id).await.unwrap();
    assert_eq!(open.status, ProviderStatus::Initial);
    assert_eq!(open.gros_amount, Some(Cents(1250)));
    assert_eq!(open.payment_method, "");

    let back = press(&sim, &created.transaction_id, "bezahlen", "PAYPAL").await;
    assert_eq!(back, "https://portal.example/zahlung/abcDEF_123-x");
    let paid = client.status(&created.transaction_id).await.unwrap();
    assert_eq!(paid.status, ProviderStatus::Payed);
    assert_eq!(paid.payment_method, "PAYPAL");
    assert!(paid.transaction_reference.starts_with("SIM-"), "{paid:?}");
    assert_eq!(sim.transactions()[0].1, ProviderStatus::Payed);
    assert_eq!(client.status_url("x"), format!("{}/paymenttransaction/amtsweg-moorbrueck/03358017/x", sim.base_url));

    // A second press changes nothing: PAYED stays.
    press(&sim, &created.transaction_id, "abbrechen", "").await;
    assert_eq!(client.status(&created.transaction_id).await.unwrap().status, ProviderStatus::Payed);
}

#[tokio::test]
async fn failure_cancel_and_a_late_success_are_reported() {
    let sim = Simulator::start("127.0.0.1:0", true).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    let a = client.create(&request("amtsweg-2-1")).await.unwrap();
    let b = client.create(&request("amtsweg-2-2")).await.unwrap();
    press(&sim, &a.transaction_id, "fehlschlag", "").await;
    press(&sim, &b.transaction_id, "abbrechen", "").await;
    assert_eq!(client.status(&a.transaction_id).await.unwrap().status, ProviderStatus::Failed);
    let canceled = client.status(&b.transaction_id).await.unwrap();
    assert_eq!(canceled.status, ProviderStatus::Canceled);
    assert_eq!(canceled.payment_method, "", "a method only for a success");
    // Providers may report success after a failure (the merge rule must see it).
    sim.settle(&a.transaction_id, ProviderStatus::Payed, "GIROPAY");
    let late = client.status(&a.transaction_id).await.unwrap();
    assert_eq!((late.status, late.payment_method.as_str()), (ProviderStatus::Payed, "GIROPAY"));
    // The demo's pay page explains itself.
    let html = reqwest::get(sim.pay_url(&b.transaction_id)).await.unwrap().text().await.unwrap();
    assert!(html.contains("Demo von Amtsweg") && html.contains("Abgebrochen"), "{html}");
    assert_eq!(reqwest::get(sim.pay_url("unbekannt")).await.unwrap().status(), 404);
}

#[tokio::test]
async fn refusals_carry_the_standards_functional_codes() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let gw = gateway();
    let client = gw.client(&config(&sim)).unwrap();
    client.create(&request("amtsweg-3-1")).await.unwrap();
    let again = client.create(&request("amtsweg-3-1")).await.unwrap_err();
    assert_eq!(again.code(), Some("PAYMENT_EXISTS"), "{again:?}");
    assert!(again.german().contains("bereits"), "{}", again.german());
    assert!(!again.is_retryable());
    assert_eq!(sim.transactions().len(), 1, "no second transaction");

    sim.set_create(CreateBehaviour::PaymentExists);
    assert_eq!(client.create(&request("amtsweg-3-2")).await.unwrap_err().code(), Some("PAYMENT_EXISTS"));
    sim.set_create(CreateBehaviour::ValidationError);
    let e = client.create(&request("amtsweg-3-3")).await.unwrap_err();
    assert!(matches!(&e, ProviderError::Refused { code, http: 400, .. } if code == "VALIDATION_ERROR"), "{e:?}");
    sim.set_create(CreateBehaviour::Normal);

    let stranger = XBezahlConfig { originator_id: "unbekannt".into(), ..config(&sim) };
    let e = gw.client(&stranger).unwrap().create(&request("amtsweg-3-4")).await.unwrap_err();
    assert_eq!(e.code(), Some("NO_VALID_ORIGINATOR_OR_ENDPOINT"));
    assert!(e.german().contains("Originator-ID"), "{}", e.german());

    // A status for a transaction the provider does not know.
    let e = client.status("00000000-0000-4000-8000-000000000000").await.unwrap_err();
    assert!(matches!(e, ProviderError::Refused { http: 404, .. }), "{e:?}");
}

#[tokio::test]
async fn the_simulator_refuses_what_a_strict_provider_refuses() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let good = xbezahl::request_body(&request("amtsweg-4-1")).unwrap();
    let url = format!("{}/paymenttransaction/amtsweg-moorbrueck/03358017", sim.base_url);
    let post = |body: String| {
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
            let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
            let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
            (status, ct, body)
        }
    };
    let (status, ct, body) = post(good.replace(r#""grosAmount":12.50"#, r#""grosAmount":12.60"#)).await;
    assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
    assert_eq!(body["functionalCode"], "CALCULATION_ERROR");
    assert_eq!(body["status"], 400);
    let (_, _, body) = post(good.replace(r#""grosAmount""#, r#""grossAmount""#)).await;
    assert_eq!(body["functionalCode"], "VALIDATION_ERROR", "a misspelt field");
    let (_, _, body) = post(good.replace(r#""currency":"EUR""#, r#""currency":"USD""#)).await;
    assert_eq!(body["functionalCode"], "VALIDATION_ERROR");
    let (_, _, body) = post(good.replace(r#""grosAmount":12.50"#, r#""grosAmount":"12.50""#)).await;
    assert_eq!(body["functionalCode"], "VALIDATION_ERROR", "amounts are numbers");
    let (_, _, body) = post(good.replace(r#""grosAmount":12.50"#, r#""grosAmount":12.505"#)).await;
    assert_eq!(body["functionalCode"], "VALIDATION_ERROR", "no sub-cent amounts");
    let long = "x".repeat(28);
    let (_, _, body) = post(good.replace("MOO-2026-000042 Meldebesch", &long)).await;
    assert_eq!(body["functionalCode"], "VALIDATION_ERROR", "purpose over 27");
    let (status, _, _) = post(good.clone()).await;
    assert_eq!(status, 201);
    let (status, _, body) = post(good).await;
    assert_eq!((status, body["functionalCode"].as_str()), (409, Some("PAYMENT_EXISTS")));
}

#[tokio::test]
async fn our_side_refuses_requests_the_standard_does_not_allow_before_sending() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    type Change = Box<dyn Fn(&mut PaymentRequest)>;
    let cases: Vec<(&str, Change)> = vec![
        ("purpose", Box::new(|r| r.purpose = "Gebühr für die Meldebescheinigung".into())),
        ("request id", Box::new(|r| r.request_id = "amtsweg/1".into())),
        ("sum", Box::new(|r| r.amount = Cents(1300))),
        ("no items", Box::new(|r| r.items.clear())),
        (
            "zero",
            Box::new(|r| {
                r.amount = Cents(0);
                r.items[0].single_net = Cents(0);
            }),
        ),
        (
            "too much",
            Box::new(|r| {
                r.amount = Cents(100_000_000);
                r.items[0].single_net = Cents(100_000_000);
            }),
        ),
        ("booking", Box::new(|r| r.items[0].booking.push(("objekt".into(), "a/b".into())))),
        ("description", Box::new(|r| r.description = "Gebühr <script>".into())),
        ("redirect", Box::new(|r| r.redirect_url = "javascript:alert(1)".into())),
    ];
    for (what, change) in cases {
        let mut r = request("amtsweg-5-1");
        change(&mut r);
        let e = client.create(&r).await.unwrap_err();
        assert!(matches!(e, ProviderError::Config(_)), "{what}: {e:?}");
    }
    assert!(sim.raw_requests().is_empty(), "nothing was sent");

    // Quantity and tax are multiplied out; the requestor goes along when configured.
    let mut r = request("amtsweg-5-2");
    r.amount = Cents(3 * 1190);
    r.items[0].quantity = 3;
    r.items[0].tax_rate_percent = 19;
    r.items[0].single_net = Cents(1000);
    r.items[0].single_tax = Cents(190);
    r.requestor = Some(Requestor {
        name: "Müller".into(),
        first_name: "Erika".into(),
        address: Some(RequestorAddress {
            street: "Hauptstraße".into(),
            house_number: "1a".into(),
            postal_code: "12345".into(),
            city: "Moorbrück".into(),
            country: "DE".into(),
        }),
        ..Requestor::default()
    });
    client.create(&r).await.unwrap();
    let raw = &sim.raw_requests()[0];
    assert!(raw.contains(r#""totalNetAmount":30.00"#) && raw.contains(r#""totalTaxAmount":5.70"#), "{raw}");
    assert!(raw.contains(r#""grosAmount":35.70"#), "{raw}");
    let sent = &sim.requests()[0];
    assert_eq!(sent["requestor"]["firstName"], "Erika");
    assert_eq!(sent["requestor"]["address"]["city"], "Moorbrück");
}

#[tokio::test]
async fn garbage_hanging_slow_failing_and_foreign_answers() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let gw = Gateway::new(loopback(), Duration::from_millis(700));
    let client = gw.client(&config(&sim)).unwrap();
    let t = client.create(&request("amtsweg-6-1")).await.unwrap().transaction_id;

    sim.set_status(StatusBehaviour::Garbage);
    let e = client.status(&t).await.unwrap_err();
    assert!(matches!(e, ProviderError::Garbage(_)), "{e:?}");
    assert_eq!(e.german(), "Der Bezahldienst hat eine unverständliche Antwort geschickt.");

    sim.set_status(StatusBehaviour::Hang);
    let started = std::time::Instant::now();
    let e = client.status(&t).await.unwrap_err();
    assert!(matches!(&e, ProviderError::Unavailable(m) if m.contains("Zeitüberschreitung")), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(e.is_retryable());

    sim.set_status(StatusBehaviour::Slow(Duration::from_secs(3)));
    assert!(matches!(client.status(&t).await, Err(ProviderError::Unavailable(_))));
    sim.set_status(StatusBehaviour::Slow(Duration::from_millis(100)));
    assert_eq!(client.status(&t).await.unwrap().status, ProviderStatus::Initial);

    sim.set_status(StatusBehaviour::Fail500);
    let e = client.status(&t).await.unwrap_err();
    assert!(matches!(&e, ProviderError::Unavailable(m) if m.contains("5xx")), "{e:?}");

    sim.set_status(StatusBehaviour::ForeignTransaction);
    let e = client.status(&t).await.unwrap_err();
    assert!(matches!(&e, ProviderError::Garbage(m) if m.contains("answer is about")), "{e:?}");
    sim.set_status(StatusBehaviour::Normal);
    assert!(matches!(client.status("../../etc").await, Err(ProviderError::Garbage(_))), "ids are checked");

    sim.set_create(CreateBehaviour::Garbage);
    assert!(matches!(client.create(&request("amtsweg-6-2")).await, Err(ProviderError::Garbage(_))));
    sim.set_create(CreateBehaviour::Hang);
    assert!(matches!(client.create(&request("amtsweg-6-3")).await, Err(ProviderError::Unavailable(_))));
    assert_eq!(sim.status_requests(), 6, "ids are checked before a request goes out");
}

#[tokio::test]
async fn an_amount_mismatch_is_reported_as_the_provider_says() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let client = gateway().client(&config(&sim)).unwrap();
    let t = client.create(&request("amtsweg-7-1")).await.unwrap().transaction_id;
    sim.settle(&t, ProviderStatus::Payed, "CREDITCARD");
    sim.report_amount(&t, 1);
    let s = client.status(&t).await.unwrap();
    assert_eq!((s.status, s.gros_amount), (ProviderStatus::Payed, Some(Cents(1))));
}

#[tokio::test]
async fn oauth2_tokens_are_fetched_cached_and_refused_credentials_are_clear() {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    sim.require_token("amtsweg", "geheim&sicher");
    let gw = gateway();
    let oauth = |secret: &str| XBezahlConfig {
        auth: XBezahlAuth::OAuth2 {
            token_url: format!("{}/token", sim.base_url),
            client_id: "amtsweg".into(),
            client_secret: secret.into(),
            scope: Some("payment".into()),
        },
        ..config(&sim)
    };

    let without = gw.client(&config(&sim)).unwrap().create(&request("amtsweg-8-1")).await.unwrap_err();
    assert_eq!(without.code(), Some("FORBIDDEN"), "{without:?}");

    let wrong = gw.client(&oauth("falsch")).unwrap().create(&request("amtsweg-8-2")).await.unwrap_err();
    assert_eq!(wrong.code(), Some("FORBIDDEN"), "{wrong:?}");
    assert!(wrong.german().contains("Zugangsdaten"));

    let client = gw.client(&oauth("geheim&sicher")).unwrap();
    let before = sim.token_requests();
    let t = client.create(&request("amtsweg-8-3")).await.unwrap().transaction_id;
    client.status(&t).await.unwrap();
    // Another client of the same gateway and connector shares the token.
    gw.client(&oauth("geheim&sicher")).unwrap().status(&t).await.unwrap();
    assert_eq!(sim.token_requests() - before, 1, "one token for three calls");

    // A token that lives less than the safety margin is fetched for every call.
    sim.set_token_lifetime(20);
    let short = Gateway::new(loopback(), Duration::from_secs(5));
    let client = short.client(&oauth("geheim&sicher")).unwrap();
    let before = sim.token_requests();
    client.status(&t).await.unwrap();
    client.status(&t).await.unwrap();
    assert_eq!(sim.token_requests() - before, 2);

    // Secrets stay out of debug output.
    let shown = format!("{:?}", oauth("geheim&sicher"));
    assert!(!shown.contains("geheim") && shown.contains("***"), "{shown}");
}

fn self_signed() -> (String, String) {
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "amtsweg-client").unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256()).unwrap();
    let cert = String::from_utf8(b.build().to_pem().unwrap()).unwrap();
    // The traditional RSA form: converted to PKCS#8 on the way.
    let key = String::from_utf8(key.rsa().unwrap().private_key_to_pem().unwrap()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn connector_configurations_are_checked_with_clear_messages() {
    let p = loopback();
    assert_eq!(KINDS.map(|(k, _)| k), ["xbezahldienste", "rechnung", "finanzen_webhook"]);
    let x = |json: Value| PaymentTarget::parse("xbezahldienste", &json.to_string(), &p);
    let base =
        json!({"base_url": "https://epay.example/api/v1", "originator_id": "amtsweg", "endpoint_id": "03358017"});
    assert!(matches!(x(base.clone()), Ok(PaymentTarget::XBezahl(_))));
    let with = |k: &str, v: Value| {
        let mut j = base.clone();
        j[k] = v;
        x(j)
    };
    assert!(with("base_url", json!("http://epay.example/")).unwrap_err().contains("https://"));
    assert!(with("base_url", json!("https://10.0.0.1/")).unwrap_err().contains("Ziel nicht erlaubt"));
    assert!(with("base_url", json!("https://epay.example/?a=1")).unwrap_err().contains("Parameter"));
    assert!(with("originator_id", json!("amts weg")).unwrap_err().contains("Originator-ID"));
    assert!(with("endpoint_id", json!("")).unwrap_err().contains("Endpoint-ID"));
    assert!(with("extra", json!(1)).unwrap_err().contains("unvollständig"));
    let oauth =
        json!({"type": "oauth2", "token_url": "https://idp.example/token", "client_id": "a", "client_secret": "b"});
    assert!(with("auth", oauth.clone()).is_ok());
    let mut no_secret = oauth.clone();
    no_secret["client_secret"] = json!("");
    assert!(with("auth", no_secret).unwrap_err().contains("Geheimnis"));
    let mut internal = oauth;
    internal["token_url"] = json!("https://169.254.169.254/token");
    assert!(with("auth", internal).unwrap_err().contains("Zugriffstoken"));

    let (cert, key) = self_signed();
    let pem = format!("{cert}{key}");
    let target = with("auth", json!({"type": "client_certificate", "pem": pem})).unwrap();
    let PaymentTarget::XBezahl(cfg) = &target else { panic!() };
    assert!(!format!("{cfg:?}").contains("PRIVATE KEY"), "the key stays out of debug output");
    // A gateway builds a mutual-TLS client from it.
    assert!(gateway().client(&XBezahlConfig { base_url: "https://127.0.0.1:9/".into(), ..cfg.clone() }).is_ok());
    assert!(with("auth", json!({"type": "client_certificate", "pem": cert})).unwrap_err().contains("privat"));
    let (_, other_key) = self_signed();
    let mismatch = format!("{cert}{other_key}");
    assert!(with("auth", json!({"type": "client_certificate", "pem": mismatch})).unwrap_err().contains("gehört nicht"));
    assert!(with("auth", json!({"type": "client_certificate", "pem": "kein pem"})).is_err());
    assert!(with("auth", json!({"type": "kerberos"})).is_err());

    let invoice = |j: Value| PaymentTarget::parse("rechnung", &j.to_string(), &p);
    let ok = json!({"recipient": "Stadtkasse Moorbrück", "iban": "DE02 1203 0000 0000 2020 51", "bic": "BYLADEM1001"});
    assert!(matches!(invoice(ok), Ok(PaymentTarget::Invoice(_))));
    let wrong_digit = json!({"recipient": "Stadtkasse", "iban": "DE03120300000000202051"});
    assert!(invoice(wrong_digit).is_err(), "IBAN check digits");

    let hook = |j: Value| PaymentTarget::parse("finanzen_webhook", &j.to_string(), &p);
    assert!(hook(json!({"url": "https://fv.example/zahlungen", "secret": "0123456789abcdef0123456789abcdef"})).is_ok());
    assert!(hook(json!({"url": "https://fv.example/zahlungen", "secret": "kurz"})).unwrap_err().contains("32"));
    assert!(hook(json!({"url": "http://fv.example/", "secret": "0123456789abcdef0123456789abcdef"})).is_err());
    assert!(PaymentTarget::parse("bar", "{}", &p).unwrap_err().contains("bar"));

    // Without the operator's allowance the simulator on 127.0.0.1 is out of reach.
    let strict = Gateway::new(Policy::default(), Duration::from_secs(1));
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    assert!(matches!(strict.client(&config(&sim)), Err(ProviderError::Config(_))));
    let resolved = PaymentTarget::parse(
        "xbezahldienste",
        &json!({"base_url": sim.base_url, "originator_id": "a", "endpoint_id": "b"}).to_string(),
        &p,
    )
    .unwrap();
    assert!(resolved.check_resolved(&p).await.is_ok());
}

/// A receiver for the webhook poke: answers with `status` and records what came.
async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push((headers, body));
                let mut r =
                    axum::response::IntoResponse::into_response(axum::http::StatusCode::from_u16(status).unwrap());
                r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("120"));
                r
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn the_finance_software_is_poked_with_a_signed_notice_without_payment_data() {
    let secret = "0123456789abcdef0123456789abcdef".to_owned();
    let (url, seen) = receiver(204).await;
    let target = WebhookTarget { url: url.clone(), secret: secret.clone() };
    webhook::poke(&loopback(), &target, "moorbrueck", 42).await.unwrap();
    let (headers, body) = seen.lock().unwrap()[0].clone();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v, json!({"event": "payments.available", "authority": "moorbrueck", "last_seq": 42}));
    let sig = headers["x-amtsweg-signature"].to_str().unwrap();
    let t: i64 = sig.split(',').next().unwrap().trim_start_matches("t=").parse().unwrap();
    assert_eq!(sig, amtsweg_handoff::deliver::signature(&secret, t, body.as_bytes()).unwrap());
    assert_eq!(headers["idempotency-key"], "payments-moorbrueck-42");

    let (url, _) = receiver(503).await;
    let e =
        webhook::poke(&loopback(), &WebhookTarget { url, secret: secret.clone() }, "moorbrueck", 43).await.unwrap_err();
    assert!(!e.permanent && e.retry_after == Some(Duration::from_secs(120)), "{e:?}");
    let (url, _) = receiver(400).await;
    let e = webhook::poke(&loopback(), &WebhookTarget { url: url.clone(), secret: secret.clone() }, "m", 1).await;
    assert!(e.unwrap_err().permanent);
    let e = webhook::poke(&Policy::default(), &WebhookTarget { url, secret }, "m", 1).await.unwrap_err();
    assert!(e.permanent && e.message.contains("https://"), "{e:?}");
}
