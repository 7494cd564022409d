//! The world of the payment tests: two authorities with forms per payment mode,
//! the XBezahldienste simulator's connector, submissions and what they left.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::{Ars, AuthorityKind, LeikaKey, Slug, TrustLevel};
use amtsweg_forms::{Answer, Answers, Form};
use amtsweg_handoff::payment::Gateway;
use amtsweg_handoff::payment::simulator::Simulator;
use amtsweg_outbound::{OutboundConfig, Policy};
use amtsweg_portal::catalogue::Catalogue;
use amtsweg_portal::payments::connectors;
use amtsweg_portal::payments::online::Started;
use amtsweg_portal::submission::{self, Application, Owner};
use amtsweg_portal::{Keyring, Portal, Settings};
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::payments::PaymentRow;
use amtsweg_store::submissions::SubmissionRow;
use amtsweg_store::testing::{TestStore, both, execute_sql};
use amtsweg_store::{NewAuthority, NewLeistung, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub const LEIKA: &str = "99102013104000";
pub const IBAN: &str = "DE02120300000000202051";

pub struct World {
    pub portal: Portal,
    pub store: Store,
    pub a: i64,
    pub b: i64,
}

pub fn authority(slug: &str, name: &str, ars: &str) -> NewAuthority {
    NewAuthority {
        slug: Slug::parse(slug).unwrap(),
        name: name.into(),
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

pub fn leistung() -> NewLeistung {
    NewLeistung {
        slug: Slug::parse("meldebescheinigung").unwrap(),
        name: "Meldebescheinigung".into(),
        leika: LeikaKey::parse(LEIKA).unwrap(),
        leika_verified: false,
        trust_level: TrustLevel::Normal,
        org_unit_id: None,
        online_url: String::new(),
        keywords: vec![],
        summary: String::new(),
        description: String::new(),
        requirements: String::new(),
        documents: String::new(),
        fees: String::new(),
        deadlines: String::new(),
        procedure: String::new(),
        legal_basis: String::new(),
        processing_time: String::new(),
        published: true,
    }
}

/// A form charging `cents` (a computed value) paid by `mode`.
pub fn form(title: &str, mode: &str, cents: i64) -> Form {
    serde_json::from_value(json!({
        "id": "gebuehr", "title": title,
        "steps": [{"id": "s", "title": "Ihre Angaben", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true},
            {"item": "field", "id": "email", "label": "E-Mail-Adresse", "type": "email", "required": true}
        ]}],
        "computed": [{"id": "gebuehr", "label": "Gebühr", "expr": {"cents": cents}}],
        "payment": {"mode": mode, "amount": "gebuehr"}
    }))
    .unwrap()
}

pub fn loopback() -> Policy {
    Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.1/32".into()],
        http_hosts: vec!["127.0.0.1".into()],
        ..OutboundConfig::default()
    })
    .unwrap()
}

pub fn gateway(timeout: Duration) -> Gateway {
    Gateway::new(loopback(), timeout)
}

pub async fn world(store: &Store, printer: Arc<dyn amtsweg_domain::receipt::ReceiptPrinter>) -> World {
    let mut tx = store.begin().await.unwrap();
    tx.set_verbund_name("Testverbund").await.unwrap();
    let a = tx.insert_authority(&authority("moorbrueck", "Stadt Moorbrück", "039510007007")).await.unwrap();
    let b = tx.insert_authority(&authority("seedorf", "Gemeinde Seedorf", "039510008008")).await.unwrap();
    let leistung_id = tx.insert_leistung(a, &leistung(), &[]).await.unwrap();
    for (slug, title, mode, cents, leistung) in [
        ("vorab", "Meldebescheinigung beantragen", "vorab", 1250, Some(leistung_id)),
        ("rechnung", "Hundesteuer anmelden", "rechnung", 4800, None),
        ("vorort", "Fundsache abholen", "vor_ort", 500, None),
        ("frei", "Gebührenfreie Bescheinigung", "vorab", 0, None),
    ] {
        let id =
            tx.create_form(a, &Slug::parse(slug).unwrap(), leistung, &form(title, mode, cents), None).await.unwrap();
        tx.publish_form(a, id, 1, None).await.unwrap();
    }
    let id = tx
        .create_form(b, &Slug::parse("vorab").unwrap(), None, &form("Bescheinigung", "vorab", 700), None)
        .await
        .unwrap();
    tx.publish_form(b, id, 1, None).await.unwrap();
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
    let portal = Portal::new(store.clone(), keyring, objects, printer, settings).await.unwrap();
    portal.replace_catalogue(Catalogue::load(store).await.unwrap());
    World { portal, store: store.clone(), a, b }
}

/// Prints a placeholder (the PDF itself is tested with the real printer where it
/// matters), so hand-off packages can be built as they are delivered.
pub struct NoPrinter;
impl amtsweg_domain::receipt::ReceiptPrinter for NoPrinter {
    fn print(&self, _: &amtsweg_domain::receipt::Receipt) -> Result<Vec<u8>, String> {
        Ok(b"%PDF-1.7\n% placeholder receipt of a test\n".to_vec())
    }
}

pub async fn on_both<F, Fut>(f: F)
where
    F: Fn(World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in both().await {
        let TestStore { name, .. } = &t;
        eprintln!("backend: {name}");
        let w = world(&t.store, Arc::new(NoPrinter)).await;
        f(w).await;
        t.cleanup().await;
    }
}

impl World {
    /// Submits form `slug` of authority `a` (anonymously, with an e-mail answer);
    /// returns the stored submission.
    pub async fn submit(&self, authority_id: i64, slug: &str, token: &str) -> SubmissionRow {
        self.submit_by(authority_id, slug, token, None).await
    }

    /// [`World::submit`] from the account `citizen` (or anonymously).
    pub async fn submit_by(&self, authority_id: i64, slug: &str, token: &str, citizen: Option<i64>) -> SubmissionRow {
        let catalogue = self.portal.catalogue();
        let published = catalogue.form(authority_id, slug).unwrap();
        let authority = catalogue.authority(authority_id).unwrap().clone();
        let mut answers = Answers::new();
        answers.insert("name".into(), Answer::One("Erika Mustermann".into()));
        answers.insert("email".into(), Answer::One("erika@example.org".into()));
        let (accepted, problems) = submission::accept(&catalogue, &published.form, &answers, &[]);
        assert!(problems.is_empty(), "{problems:?}");
        let app = Application {
            authority: &authority,
            published: &published,
            form: &published.form,
            version: published.version,
            token,
            owner: Owner { citizen_id: citizen, browser_hash: "browser".into() },
            email: Some("erika@example.org".into()),
            receipt_path: format!("/o/{}/antrag/{slug}/eingang/{token}", authority.slug.as_str()),
        };
        submission::store(&self.portal, &app, accepted, &[], &[], false).await.unwrap();
        self.store.submission_by_token(token).await.unwrap().unwrap()
    }

    pub async fn payment(&self, s: &SubmissionRow) -> PaymentRow {
        self.store.payment_of_submission(s.authority_id, s.id).await.unwrap().unwrap()
    }

    pub async fn status(&self, s: &SubmissionRow) -> String {
        self.store.submission(s.authority_id, s.id).await.unwrap().unwrap().status
    }

    pub async fn online_connector(&self, authority_id: i64, sim: &Simulator) -> i64 {
        let cfg = json!({"base_url": sim.base_url, "originator_id": "amtsweg", "endpoint_id": "03358017"});
        connectors::add(&self.portal, authority_id, None, "xbezahldienste", "Simulator", &cfg.to_string())
            .await
            .unwrap()
    }

    pub async fn invoice_connector(&self, authority_id: i64) -> i64 {
        let cfg = json!({"recipient": "Stadtkasse Moorbrück", "iban": IBAN, "bic": "BYLADEM1001"});
        connectors::add(&self.portal, authority_id, None, "rechnung", "Stadtkasse", &cfg.to_string()).await.unwrap()
    }

    /// A hand-off connector, so releases show as deliveries.
    pub async fn handoff_connector(&self, authority_id: i64) {
        let new = NewConnector { authority_id, form_id: None, kind: "email", name: "Postfach", config: "" };
        amtsweg_portal::handoff::add_connector(&self.portal, &new, r#"{"to":"fach@example.org"}"#).await.unwrap();
    }

    pub async fn emails(&self) -> Vec<EmailMessage> {
        self.store.outbox_entries(1000).await.unwrap().iter().filter_map(|r| r.email().ok()).collect()
    }

    pub async fn deliveries(&self, s: &SubmissionRow) -> usize {
        self.store.deliveries_of(s.authority_id, s.id).await.unwrap().len()
    }

    /// Makes every open attempt due for the worker now.
    pub async fn make_due(&self) {
        execute_sql(&self.store, "UPDATE payment_attempts SET next_attempt_at = 0 WHERE status = 'pending'").await;
    }
}

/// The secret of the return address the simulator was given for its only (or last)
/// transaction, and that transaction's id.
pub fn last_transaction(sim: &Simulator) -> (String, String) {
    let (id, _, redirect) = sim.transactions().pop().expect("a transaction");
    let secret = redirect.rsplit('/').next().unwrap().to_owned();
    assert!(redirect.starts_with("https://portal.example/zahlung/"), "{redirect}");
    (id, secret)
}

pub fn redirect(s: Started) -> String {
    match s {
        Started::Redirect(url) => url,
        other => panic!("no redirect: {other:?}"),
    }
}
