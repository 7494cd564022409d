//! The finance software's API on both databases: batches of claims stored
//! idempotently (the same batch again is unchanged), duplicates and malformed items
//! refused with 422 naming each, the scope `finanzen` required, one authority's
//! client seeing and changing nothing of another's, the payments feed paged with
//! `seit`, activation codes made by the API and used by a citizen, the webhook poke
//! signed and retried — and applications held for their payment absent from
//! `/api/v1/antraege` until paid.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use amtsweg_handoff::deliver::Connectors;
use amtsweg_portal::finanzen::{self, Activation};
use amtsweg_store::payments::NewBooking;
use amtsweg_store::testing::{count_containing, execute_sql};
use axum::body::Body;
use axum::http::Request;
use std::sync::{Arc, Mutex};

const PDF: &[u8] = b"%PDF-1.4\n% Grundsteuerbescheid Demo\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// An API client of `authority` with `scopes`; returns its `X-API-Key` value.
pub(crate) async fn client(app: &TestApp, authority: &str, id: &str, scopes: &str) -> String {
    let a = app.authority_id(authority).await;
    let mut tx = app.store.store.begin().await.unwrap();
    tx.insert_api_client(a, "Finanzsoftware", id, &amtsweg_web::api::secret_hash("geheim-0123456789"), scopes)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    format!("{id}:geheim-0123456789")
}

pub(crate) async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    key: &str,
    body: Option<&str>,
) -> (Reply, serde_json::Value) {
    let b = Request::builder().method(method).uri(path).header("host", "127.0.0.1:8080").header("x-api-key", key);
    let req = match body {
        Some(json) => b.header("content-type", "application/json").body(Body::from(json.to_owned())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let r = app.request(req).await;
    let v = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r, v)
}

pub(crate) fn problem(r: &Reply, v: &serde_json::Value, status: u16, kind: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json", "{}", r.body);
    assert_eq!(v["type"], format!("https://amtsweg.de/probleme/{kind}"), "{}", r.body);
    v["detail"].as_str().unwrap().to_owned()
}

/// Standard base64 (the API's `content_base64`).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn grundsteuer(kz: &str, due: &str, open: i64) -> serde_json::Value {
    serde_json::json!({
        "kassenzeichen": kz, "due_date": due, "kind": "Grundsteuer", "title": "Quartalsrate Grundsteuer",
        "amount_cents": 12_345, "open_cents": open, "state": if open == 0 { "settled" } else { "open" },
        "dunning_level": 0, "account": "MB-10042"
    })
}

fn with_notice(mut claim: serde_json::Value) -> serde_json::Value {
    claim["notices"] = serde_json::json!([{
        "title": "Grundsteuerbescheid 2026", "file_name": "Grundsteuerbescheid-2026.pdf",
        "content_base64": b64(PDF)
    }]);
    claim
}

pub(crate) fn batch(items: &[serde_json::Value]) -> String {
    serde_json::json!({ "claims": items }).to_string()
}

fn results(v: &serde_json::Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|i| i["result"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_batch_of_claims_is_stored_once_and_the_same_batch_again_changes_nothing() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let a = app.authority_id("moorbrueck").await;
        let items = [
            with_notice(grundsteuer("5.100.000123", "2026-05-15", 12_345)),
            grundsteuer("5.100.000123", "2026-02-15", 0),
        ];
        let (r, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&items))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(results(&v), ["created", "created"]);
        assert_eq!(v["items"][0]["kassenzeichen"], "5.100.000123");
        assert_eq!(v["items"][0]["due_date"], "2026-05-15");
        let id = v["items"][0]["claim_id"].as_i64().unwrap();

        let (r, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&items))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(results(&v), ["unchanged", "unchanged"], "sending the same batch again is safe");
        assert_eq!(v["items"][0]["claim_id"], id);

        // Paid in part meanwhile: the finance software sends the claim again.
        let changed = [
            with_notice(grundsteuer("5.100.000123", "2026-05-15", 2_345)),
            grundsteuer("5.100.000123", "2026-02-15", 0),
        ];
        let (_, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&changed))).await;
        assert_eq!(results(&v), ["updated", "unchanged"]);

        let store = &app.store.store;
        let claims = store.claims_of(a, 10).await.unwrap();
        assert_eq!(claims.len(), 2);
        let c = store.claim(a, id).await.unwrap().unwrap();
        assert_eq!((c.open_cents, c.state.as_str(), c.source.as_str()), (2_345, "open", "api"));
        assert!(amtsweg_domain::payment::is_valid_rf(&c.rf_reference), "{}", c.rf_reference);
        let docs = store.claim_documents(id).await.unwrap();
        assert_eq!(docs.len(), 1, "the notice is kept once");
        assert_eq!(docs[0].title, "Grundsteuerbescheid 2026");
        assert!(docs[0].object_key.starts_with(&format!("authorities/{a}/bescheide/")));
        // Titles and notice names are sealed; the notice itself too.
        assert_eq!(count_containing(store, "claims", "title", "Quartalsrate").await, 0);
        assert_eq!(count_containing(store, "claim_documents", "file_name", "Grundsteuerbescheid").await, 0);
        let stored =
            app.state.portal.objects.get(&docs[0].object_key.as_str().into()).await.unwrap().bytes().await.unwrap();
        assert!(!stored.windows(5).any(|w| w == b"%PDF-"), "the notice is sealed at rest");
        let audit = store.audit_entries(Some(&[a]), 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "finance.claims.api" && e.actor == "api:fin-mb"), "{audit:?}");
    });
}

#[tokio::test]
async fn duplicate_and_malformed_claims_refuse_the_whole_batch_naming_each() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let a = app.authority_id("moorbrueck").await;
        let path = "/api/v1/forderungen";

        // The same Kassenzeichen and due date twice (also written differently).
        let mut twice = grundsteuer("5-100-000123", "2026-05-15", 100);
        twice["title"] = "Andere Schreibweise".into();
        let items =
            [grundsteuer("5.100.000123", "2026-05-15", 100), grundsteuer("5.100.000123", "2026-08-15", 100), twice];
        let (r, v) = api(app, "POST", path, &key, Some(&batch(&items))).await;
        let detail = problem(&r, &v, 422, "invalid-request");
        assert!(detail.contains("claims/2: ") && detail.contains("doppelt"), "{detail}");
        assert!(!detail.contains("claims/1"), "{detail}");

        // Malformed items: each problem with its place.
        let mut bad_date = grundsteuer("K-1", "15.05.2026", 100);
        bad_date["farbe"] = "rot".into();
        let mut bad_amount = grundsteuer("K-2", "2026-05-15", 100);
        bad_amount["amount_cents"] = "123,45".into();
        let mut not_pdf = with_notice(grundsteuer("K-3", "2026-05-15", 100));
        not_pdf["notices"][0]["content_base64"] = b64(b"<html>").into();
        let mut too_open = grundsteuer("K-4", "2026-05-15", 100);
        too_open["open_cents"] = 99_999.into();
        let mut dunning = grundsteuer("K-5", "2026-05-15", 100);
        dunning["state"] = "dunning".into();
        let items = [bad_date, bad_amount, grundsteuer("K-ok", "2026-05-15", 100), not_pdf, too_open, dunning];
        let (r, v) = api(app, "POST", path, &key, Some(&batch(&items))).await;
        let detail = problem(&r, &v, 422, "invalid-request");
        for pointer in [
            "claims/0/due_date",
            "claims/0/farbe",
            "claims/1/amount_cents",
            "claims/3/notices/0",
            "claims/4/open_cents",
            "claims/5/dunning_level",
        ] {
            assert!(detail.contains(pointer), "{pointer} in {detail}");
        }
        assert!(!detail.contains("claims/2"), "{detail}");
        let english = Request::post(path)
            .header("host", "127.0.0.1:8080")
            .header("x-api-key", key.as_str())
            .header("accept-language", "en")
            .header("content-type", "application/json")
            .body(Body::from(batch(&items)))
            .unwrap();
        let r = app.request(english).await;
        assert!(r.body.contains("The batch was not stored") && r.body.contains("claims/0/due_date"), "{}", r.body);

        // Shapes that are no batch at all.
        for body in [
            r#"{"claims":[]}"#.to_owned(),
            r#"{"claims":{}}"#.to_owned(),
            r#"{"forderungen":[]}"#.to_owned(),
            "[]".to_owned(),
            batch(&vec![grundsteuer("K", "2026-05-15", 1); 501]),
        ] {
            let (r, v) = api(app, "POST", path, &key, Some(&body)).await;
            problem(&r, &v, 422, "invalid-request");
        }
        let r = app
            .request(
                Request::post(path)
                    .header("host", "127.0.0.1:8080")
                    .header("x-api-key", key.as_str())
                    .header("content-type", "text/csv")
                    .body(Body::from("a;b"))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, 415, "{}", r.body);
        assert!(app.store.store.claims_of(a, 10).await.unwrap().is_empty(), "nothing of a refused batch is stored");
    });
}

#[tokio::test]
async fn the_finance_endpoints_need_the_scope_and_see_only_their_authority() {
    on_each_backend!(|app| {
        let reader = client(app, "moorbrueck", "fin-lesen", "submissions:read submissions:write termine").await;
        for (method, path, body) in [
            ("POST", "/api/v1/forderungen", Some(batch(&[grundsteuer("K", "2026-05-15", 1)]))),
            ("GET", "/api/v1/zahlungen", None),
            ("POST", "/api/v1/aktivierungscodes", Some(r#"{"account":"MB-1"}"#.to_owned())),
        ] {
            let (r, v) = api(app, method, path, &reader, body.as_deref()).await;
            let detail = problem(&r, &v, 403, "insufficient-scope");
            assert!(detail.contains("finanzen"), "{detail}");
        }
        assert!(app.store.store.claims_of(app.authority_id("moorbrueck").await, 10).await.unwrap().is_empty());

        // Two authorities with the same Kassenzeichen and account reference: two claims.
        let mb = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let bh = client(app, "birkhusen", "fin-bh", "finanzen").await;
        let (a, b) = (app.authority_id("moorbrueck").await, app.authority_id("birkhusen").await);
        let items = [grundsteuer("5.100.000123", "2026-05-15", 12_345)];
        let (_, v) = api(app, "POST", "/api/v1/forderungen", &mb, Some(&batch(&items))).await;
        let mb_claim = v["items"][0]["claim_id"].as_i64().unwrap();
        let mut theirs = grundsteuer("5.100.000123", "2026-05-15", 1);
        theirs["title"] = "Birkhusen".into();
        let (r, v) = api(app, "POST", "/api/v1/forderungen", &bh, Some(&batch(&[theirs]))).await;
        assert_eq!(results(&v), ["created"], "{}", r.body);
        let bh_claim = v["items"][0]["claim_id"].as_i64().unwrap();
        assert_ne!(mb_claim, bh_claim);
        let store = &app.store.store;
        assert_eq!(store.claim(a, mb_claim).await.unwrap().unwrap().open_cents, 12_345, "A's claim untouched");
        assert!(store.claim(a, bh_claim).await.unwrap().is_none());
        assert_ne!(
            store.finance_account(a, "MB-10042").await.unwrap().unwrap().id,
            store.finance_account(b, "MB-10042").await.unwrap().unwrap().id
        );

        // Each feed lists its own authority's bookings only.
        book(app, a, Some(mb_claim), 1_000).await;
        let (_, v) = api(app, "GET", "/api/v1/zahlungen", &bh, None).await;
        assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
        let (_, v) = api(app, "GET", "/api/v1/zahlungen", &mb, None).await;
        assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");

        // A code of B for "MB-10042" links B's account, never A's.
        let (r, v) = api(app, "POST", "/api/v1/aktivierungscodes", &bh, Some(r#"{"account":"MB-10042"}"#)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let (_, citizen) = crate::konto::citizen(app, "finanzen.b@example.org").await;
        let code = v["code"].as_str().unwrap();
        let linked = finanzen::activate(&app.state.portal, citizen, "client-b", code).await.unwrap();
        assert_eq!(linked, Activation::Linked("Gemeinde Birkhusen".into()));
        let seen: Vec<i64> = store.claims_of_citizen(citizen).await.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(seen, [bh_claim]);
    });
}

/// Books `cents` for the authority (as the bank reconciliation would).
async fn book(app: &TestApp, authority_id: i64, claim_id: Option<i64>, cents: i64) {
    let mut tx = app.store.store.begin().await.unwrap();
    tx.book_payment(
        &NewBooking {
            authority_id,
            payment_id: None,
            claim_id,
            source: "bank",
            amount_cents: cents,
            method: "transfer",
            reference: "RF18",
            bank_entry_id: None,
            attempt_id: None,
            actor: "test",
            booked_on: "2026-05-16",
        },
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_payments_feed_pages_with_seit() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let a = app.authority_id("moorbrueck").await;
        let (_, v) = api(
            app,
            "POST",
            "/api/v1/forderungen",
            &key,
            Some(&batch(&[grundsteuer("5.100.1", "2026-05-15", 12_345)])),
        )
        .await;
        let claim = v["items"][0]["claim_id"].as_i64().unwrap();
        let (r, v) = api(app, "GET", "/api/v1/zahlungen", &key, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            (v["items"].as_array().unwrap().len(), v["next"].as_i64(), v["more"].as_bool()),
            (0, Some(0), Some(false))
        );
        for cents in [100, 200, 300, 400, -50] {
            book(app, a, Some(claim), cents).await;
        }
        let (_, v) = api(app, "GET", "/api/v1/zahlungen?limit=2", &key, None).await;
        let seqs = |v: &serde_json::Value| {
            v["items"].as_array().unwrap().iter().map(|i| i["seq"].as_i64().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(seqs(&v), [1, 2]);
        assert_eq!((v["next"].as_i64(), v["more"].as_bool()), (Some(2), Some(true)));
        let first = &v["items"][0];
        assert_eq!(first["amount_cents"], 100);
        assert_eq!(first["kassenzeichen"], "5.100.1");
        assert_eq!(first["due_date"], "2026-05-15");
        assert_eq!(first["claim_id"], claim);
        assert_eq!(first["source"], "bank");
        assert_eq!(first["booked_on"], "2026-05-16");
        let (_, v) = api(app, "GET", "/api/v1/zahlungen?seit=2&limit=2", &key, None).await;
        assert_eq!(seqs(&v), [3, 4]);
        let (_, v) = api(app, "GET", "/api/v1/zahlungen?seit=4", &key, None).await;
        assert_eq!(seqs(&v), [5]);
        assert_eq!((v["items"][0]["amount_cents"].as_i64(), v["more"].as_bool()), (Some(-50), Some(false)));
        let (_, v) = api(app, "GET", "/api/v1/zahlungen?seit=5", &key, None).await;
        assert_eq!((seqs(&v).len(), v["next"].as_i64()), (0, Some(5)), "nothing new: ask again with the same seit");
        for q in ["limit=0", "limit=1001", "seit=-1", "seit=zwei", "limit=1.5"] {
            let (r, v) = api(app, "GET", &format!("/api/v1/zahlungen?{q}"), &key, None).await;
            problem(&r, &v, 422, "invalid-request");
        }
    });
}

#[tokio::test]
async fn an_activation_code_from_the_api_links_a_citizen_once() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let (_, v) = api(
            app,
            "POST",
            "/api/v1/forderungen",
            &key,
            Some(&batch(&[with_notice(grundsteuer("5.100.1", "2026-05-15", 12_345))])),
        )
        .await;
        let claim = v["items"][0]["claim_id"].as_i64().unwrap();
        let (r, v) =
            api(app, "POST", "/api/v1/aktivierungscodes", &key, Some(r#"{"account":"MB-10042","valid_days":30}"#))
                .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.headers["cache-control"], "no-store");
        let code = v["code"].as_str().unwrap().to_owned();
        assert!(amtsweg_domain::payment::normalize_activation_code(&code).as_deref() == Some(code.as_str()), "{code}");
        let expires: jiff::Timestamp = v["expires_at"].as_str().unwrap().parse().unwrap();
        let days = (expires - jiff::Timestamp::now()).get_seconds() / 86_400;
        assert!((29..=30).contains(&days), "{days}");
        let store = &app.store.store;
        assert_eq!(count_containing(store, "activation_codes", "code_hash", &code.replace('-', "")).await, 0);

        for (body, needle) in [
            (r#"{"account":"MB-1","valid_days":0}"#, "365"),
            (r#"{"account":"","valid_days":10}"#, "Personenkonto"),
            (r#"{"account":"MB-1","farbe":"rot"}"#, "farbe"),
        ] {
            let (r, v) = api(app, "POST", "/api/v1/aktivierungscodes", &key, Some(body)).await;
            let detail = problem(&r, &v, 422, "invalid-request");
            assert!(detail.contains(needle), "{detail}");
        }

        let portal = &app.state.portal;
        let (_, erika) = crate::konto::citizen(app, "erika.finanzen@example.org").await;
        let (_, max) = crate::konto::citizen(app, "max.finanzen@example.org").await;
        assert!(finanzen::citizen_overview(portal, erika).await.unwrap().is_empty());
        // Typed as people type it: lower case, spaces.
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(
            finanzen::activate(portal, erika, "c1", &typed).await.unwrap(),
            Activation::Linked("Stadt Moorbrück".into())
        );
        assert_eq!(finanzen::activate(portal, max, "c2", &code).await.unwrap(), Activation::Used);
        let overview = finanzen::citizen_overview(portal, erika).await.unwrap();
        assert_eq!(overview.len(), 1);
        assert_eq!(overview[0].open.len(), 1);
        assert_eq!(overview[0].open[0].title, "Quartalsrate Grundsteuer");
        assert_eq!(overview[0].open_total_label, "123,45 €");
        assert!(finanzen::claim_for_citizen(portal, max, claim).await.unwrap().is_none(), "not Max's");
        let view = finanzen::claim_for_citizen(portal, erika, claim).await.unwrap().unwrap();
        assert_eq!(view.notices.len(), 1);
        let (name, pdf) =
            finanzen::notice_for_citizen(portal, erika, claim, view.notices[0].id).await.unwrap().unwrap();
        assert_eq!((name.as_str(), pdf.as_slice()), ("Grundsteuerbescheid-2026.pdf", PDF));
        assert!(finanzen::notice_for_citizen(portal, max, claim, view.notices[0].id).await.unwrap().is_none());
        let audit = store.audit_entries(Some(&[app.authority_id("moorbrueck").await]), 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "finance.activation_code" && e.actor == "api:fin-mb"));
        assert!(audit.iter().any(|e| e.action == "finance.link" && e.actor == format!("citizen:{erika}")));
    });
}

/// A receiver that fails the first poke and takes the next; what it saw:
/// (signature, body) per request.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/finanzen",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let sig =
                    headers.get("x-amtsweg-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let n = {
                    let mut seen = s.lock().unwrap();
                    seen.push((sig, body));
                    seen.len()
                };
                if n == 1 { axum::http::StatusCode::INTERNAL_SERVER_ERROR } else { axum::http::StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{}/finanzen", addr.port()), seen)
}

const SECRET: &str = "ein-geheimnis-von-mindestens-32-zeichen";

#[tokio::test]
async fn the_webhook_pokes_the_finance_software_signed_and_tries_again() {
    on_each_backend!(config = crate::outbound::local_receivers(Connectors::default()), |app| {
        let (url, seen) = receiver().await;
        let a = app.authority_id("moorbrueck").await;
        let portal = &app.state.portal;
        let policy = app.state.config.connectors.outbound.clone();
        let config = serde_json::json!({ "url": url, "secret": SECRET }).to_string();
        let hook =
            amtsweg_portal::payments::connectors::add(portal, a, None, "finanzen_webhook", "Finanzsoftware", &config)
                .await
                .unwrap();
        let round = finanzen::webhook::run_once(portal, &policy).await.unwrap();
        assert_eq!((round.poked, round.failed), (0, 0), "nothing to tell yet");

        book(app, a, None, 500).await;
        book(app, a, None, 700).await;
        let round = finanzen::webhook::run_once(portal, &policy).await.unwrap();
        assert_eq!((round.poked, round.failed), (0, 1));
        let state = app.store.store.finance_webhook_state(hook).await.unwrap();
        assert_eq!((state.delivered_seq, state.attempts), (0, 1));
        assert!(state.next_attempt_at > amtsweg_store::now_ms(), "waits before the next try");
        assert!(!state.last_error.is_empty());
        let round = finanzen::webhook::run_once(portal, &policy).await.unwrap();
        assert_eq!((round.poked, round.failed), (0, 0), "not before its time");

        execute_sql(&app.store.store, "UPDATE finance_webhook_state SET next_attempt_at = 0").await;
        let round = finanzen::webhook::run_once(portal, &policy).await.unwrap();
        assert_eq!((round.poked, round.failed), (1, 0));
        let state = app.store.store.finance_webhook_state(hook).await.unwrap();
        assert_eq!((state.delivered_seq, state.attempts, state.last_error.as_str()), (2, 0, ""));
        assert_eq!(finanzen::webhook::run_once(portal, &policy).await.unwrap().poked, 0, "told once");

        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        let (sig, body) = &seen[1];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v, serde_json::json!({"event": "payments.available", "authority": "moorbrueck", "last_seq": 2}));
        let t: i64 = sig.split(',').next().unwrap().strip_prefix("t=").unwrap().parse().unwrap();
        assert_eq!(sig, &amtsweg_handoff::deliver::signature(SECRET, t, body.as_bytes()).unwrap());
    });
}

#[tokio::test]
async fn applications_held_for_their_payment_are_absent_from_the_api_until_paid() {
    on_each_backend!(|app| {
        let (_, id, receipt) = crate::casework::applied(app, "gebuehr.api@example.org").await;
        let a = app.authority_id("moorbrueck").await;
        let key = client(app, "moorbrueck", "fach", "submissions:read").await;
        // Held as the store holds an application to pay first, with its payment.
        let store = &app.store.store;
        execute_sql(store, &format!("UPDATE submissions SET status = 'zahlung_ausstehend' WHERE id = {id}")).await;
        execute_sql(store, &format!("DELETE FROM deliveries WHERE submission_id = {id}")).await;
        execute_sql(
            store,
            &format!(
                "INSERT INTO payments (authority_id, submission_id, mode, kassenzeichen, rf_reference, purpose, amount_cents, \
                 status, booking, created_at, updated_at) VALUES ({a}, {id}, 'vorab', 'MB-2026-000001', '', 'Briefwahl', 1200, \
                 'open', '[]', 1, 1)"
            ),
        )
        .await;
        for q in ["status=new", "status=all"] {
            let (_, v) = api(app, "GET", &format!("/api/v1/antraege?{q}"), &key, None).await;
            assert!(v["items"].as_array().unwrap().iter().all(|s| s["id"] != id), "{q}: {v}");
        }
        for path in [format!("/api/v1/antraege/{id}"), format!("/api/v1/antraege/{id}/quittung.pdf")] {
            let (r, v) = api(app, "GET", &path, &key, None).await;
            problem(&r, &v, 404, "unknown-submission");
        }
        let (r, v) = api(app, "POST", &format!("/api/v1/antraege/{id}/empfangsbestaetigung"), &key, None).await;
        problem(&r, &v, 404, "unknown-submission");

        // Paid: released in the booking's transaction, and there with its payment.
        let payment = store.payment_of_submission(a, id).await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        let booked = tx
            .book_payment(
                &NewBooking {
                    authority_id: a,
                    payment_id: Some(payment.id),
                    claim_id: None,
                    source: "counter",
                    amount_cents: 1200,
                    method: "bar",
                    reference: "",
                    bank_entry_id: None,
                    attempt_id: None,
                    actor: "test",
                    booked_on: "2026-05-16",
                },
                None,
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(booked.released, Some(id));
        let (_, v) = api(app, "GET", "/api/v1/antraege?status=new", &key, None).await;
        assert!(v["items"].as_array().unwrap().iter().any(|s| s["id"] == id), "{v}");
        let (r, v) = api(app, "GET", &format!("/api/v1/antraege/{id}"), &key, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(v["receipt_number"], receipt);
        assert_eq!(v["payment"]["kassenzeichen"], "MB-2026-000001");
        assert_eq!((v["payment"]["status"].as_str(), v["payment"]["paid_cents"].as_i64()), (Some("paid"), Some(1200)));
        assert!(v["payment"]["paid_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");
    });
}

pub(crate) async fn new_code(app: &TestApp, key: &str, account: &str) -> String {
    let body = serde_json::json!({ "account": account }).to_string();
    let (r, v) = api(app, "POST", "/api/v1/aktivierungscodes", key, Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    v["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn wrong_used_and_expired_codes_are_counted_and_throttled() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let portal = &app.state.portal;
        let store = &app.store.store;
        let (_, erika) = crate::konto::citizen(app, "erika.drossel@example.org").await;
        let (_, max) = crate::konto::citizen(app, "max.drossel@example.org").await;
        let right = new_code(app, &key, "MB-1").await;
        let expired = new_code(app, &key, "MB-2").await;
        execute_sql(
            store,
            &format!(
                "UPDATE activation_codes SET expires_at = 1 WHERE code_hash = '{}'",
                finanzen::code_hash(&expired)
            ),
        )
        .await;
        assert_eq!(finanzen::activate(portal, erika, "c1", &expired).await.unwrap(), Activation::Expired);
        assert_eq!(finanzen::activate(portal, erika, "c1", "ABCD-EFGH-JKMN").await.unwrap(), Activation::Wrong);
        assert_eq!(finanzen::activate(portal, erika, "c1", "kein Code").await.unwrap(), Activation::Wrong);
        assert_eq!(
            finanzen::activate(portal, max, "c2", &right).await.unwrap(),
            Activation::Linked("Stadt Moorbrück".into())
        );
        assert_eq!(finanzen::activate(portal, erika, "c1", &right).await.unwrap(), Activation::Used);
        assert_eq!(finanzen::activate(portal, erika, "c1", "ABCD-EFGH-JKMP").await.unwrap(), Activation::Wrong);
        // Five failures within the hour: every try is refused, even a right code.
        let fresh = new_code(app, &key, "MB-3").await;
        assert_eq!(finanzen::activate(portal, erika, "c1", &fresh).await.unwrap(), Activation::Throttled);
        assert_eq!(store.failures_of(&finanzen::failure_key(erika), 0).await.unwrap().count, 5);
        assert!(
            store
                .finance_account(app.authority_id("moorbrueck").await, "MB-3")
                .await
                .unwrap()
                .unwrap()
                .citizen_id
                .is_none()
        );
        // Another citizen is not held back by Erika's failures.
        assert_eq!(
            finanzen::activate(portal, max, "c2", &fresh).await.unwrap(),
            Activation::Linked("Stadt Moorbrück".into())
        );
    });
}

#[tokio::test]
async fn claims_from_a_csv_file_are_stored_like_a_batch() {
    on_each_backend!(|app| {
        let portal = &app.state.portal;
        let a = app.authority_id("moorbrueck").await;
        let csv = "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Offen;Stand;Mahnstufe;Personenkonto\n\
                   7.200.55;01.07.2026;Hundesteuer;Hundesteuer 2026;96,00;96,00;offen;0;MB-10042\n\
                   7.300.12;15.02.2026;Zweitwohnungsteuer;Zweitwohnungsteuer 1. Rate;1.250,00;1.250,00;in Mahnung;1;MB-10042\n";
        let done = finanzen::import_csv(portal, a, "staff:1", csv.as_bytes()).await.unwrap().unwrap();
        let kinds: Vec<&str> = done.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(kinds, ["created", "created"]);
        let again = finanzen::import_csv(portal, a, "staff:1", csv.as_bytes()).await.unwrap().unwrap();
        assert!(again.iter().all(|(_, r)| r.as_str() == "unchanged"), "{again:?}");
        let dunning = app.store.store.claim_by_key(a, "7.300.12", "2026-02-15").await.unwrap().unwrap();
        assert_eq!(
            (dunning.amount_cents, dunning.state.as_str(), dunning.dunning_level, dunning.source.as_str()),
            (125_000, "dunning", 1, "csv")
        );

        let bad = "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Personenkonto\n\
                   8.1;01.07.2026;Hundesteuer;Hund;96,00;MB-1\n\
                   8.2;01.07.2026;Hundesteuer;Hund;12.50;MB-1\n";
        let problems = finanzen::import_csv(portal, a, "staff:1", bad.as_bytes()).await.unwrap().unwrap_err();
        assert_eq!(problems.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3], "{problems:?}");
        assert!(app.store.store.claim_by_key(a, "8.1", "2026-07-01").await.unwrap().is_none(), "all or nothing");
    });
}

#[tokio::test]
async fn the_citizen_sees_what_is_open_after_the_portals_payments_and_how_to_pay_it() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let portal = &app.state.portal;
        let a = app.authority_id("moorbrueck").await;
        let items = [grundsteuer("5.100.1", "2026-05-15", 12_345), grundsteuer("5.100.1", "2026-02-15", 0)];
        let (_, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&items))).await;
        let (open_id, settled_id) =
            (v["items"][0]["claim_id"].as_i64().unwrap(), v["items"][1]["claim_id"].as_i64().unwrap());
        let (_, v) = api(app, "POST", "/api/v1/aktivierungscodes", &key, Some(r#"{"account":"MB-10042"}"#)).await;
        let (_, erika) = crate::konto::citizen(app, "erika.offen@example.org").await;
        finanzen::activate(portal, erika, "c", v["code"].as_str().unwrap()).await.unwrap();

        let account = serde_json::json!({"recipient": "Stadtkasse Moorbrück", "iban": "DE02120300000000202051", "bic": "BYLADEM1001"});
        amtsweg_portal::payments::connectors::add(portal, a, None, "rechnung", "Stadtkasse", &account.to_string())
            .await
            .unwrap();
        let view = finanzen::claim_for_citizen(portal, erika, open_id).await.unwrap().unwrap();
        assert_eq!(view.claim.open_label, "123,45 €");
        assert!(view.claim.payable);
        assert_eq!(view.bank.as_ref().unwrap().recipient, "Stadtkasse Moorbrück");
        assert_eq!(view.iban_printed, "DE02 1203 0000 0000 2020 51");
        assert!(view.rf_printed.starts_with("RF"), "{}", view.rf_printed);
        let svg = view.girocode_svg.as_deref().unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<title>") && svg.contains("123,45"), "{svg}");
        assert!(!view.can_pay_online, "no online connector");
        let settled = finanzen::claim_for_citizen(portal, erika, settled_id).await.unwrap().unwrap();
        assert!(!settled.claim.payable && settled.girocode_svg.is_none());

        // Paid in part through the portal: shown at once, until the next sync.
        book(app, a, Some(open_id), 10_000).await;
        let overview = finanzen::citizen_overview(portal, erika).await.unwrap();
        assert_eq!(overview[0].open_total_label, "23,45 €");
        assert_eq!(overview[0].settled.iter().map(|c| c.id).collect::<Vec<_>>(), [settled_id]);
        book(app, a, Some(open_id), 2_345).await;
        let overview = finanzen::citizen_overview(portal, erika).await.unwrap();
        assert!(overview[0].open.is_empty());
        let paid = overview[0].settled.iter().find(|c| c.id == open_id).unwrap();
        assert_eq!(paid.state_label, "Bezahlt – Buchung folgt");
        // The finance software's next sync is the truth again.
        let (_, v) =
            api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&[grundsteuer("5.100.1", "2026-05-15", 0)])))
                .await;
        assert_eq!(results(&v), ["updated"]);
        let view = finanzen::claim_for_citizen(portal, erika, open_id).await.unwrap().unwrap();
        assert_eq!(
            (view.claim.state, view.claim.state_label.as_str(), view.bookings.len()),
            ("settled", "Ausgeglichen", 2)
        );
    });
}

#[tokio::test]
async fn a_dunning_resend_made_before_a_payment_was_read_keeps_that_payment_subtracted() {
    on_each_backend!(|app| {
        let key = client(app, "moorbrueck", "fin-mb", "finanzen").await;
        let portal = &app.state.portal;
        let a = app.authority_id("moorbrueck").await;
        let (_, v) = api(
            app,
            "POST",
            "/api/v1/forderungen",
            &key,
            Some(&batch(&[grundsteuer("5.100.1", "2026-05-15", 12_345)])),
        )
        .await;
        let id = v["items"][0]["claim_id"].as_i64().unwrap();
        let (_, v) = api(app, "POST", "/api/v1/aktivierungscodes", &key, Some(r#"{"account":"MB-10042"}"#)).await;
        let (_, erika) = crate::konto::citizen(app, "erika.mahnung@example.org").await;
        finanzen::activate(portal, erika, "c", v["code"].as_str().unwrap()).await.unwrap();
        // The finance software has read the feed so far (nothing yet) ...
        let (_, feed) = api(app, "GET", "/api/v1/zahlungen", &key, None).await;
        let read = feed["next"].as_i64().unwrap();
        // ... the citizen pays in full ...
        book(app, a, Some(id), 12_345).await;
        // ... and the dunning run, computed before it read that payment, arrives.
        let mut dunning = grundsteuer("5.100.1", "2026-05-15", 12_345);
        dunning["state"] = "dunning".into();
        dunning["dunning_level"] = 1.into();
        dunning["zahlungen_bis"] = read.into();
        let (r, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&[dunning.clone()]))).await;
        assert_eq!(results(&v), ["updated"], "{}", r.body);
        let view = finanzen::claim_for_citizen(portal, erika, id).await.unwrap().unwrap();
        assert_eq!(view.claim.open_label, "0,00 €", "the payment is not shown as open again");
        assert!(!view.claim.payable, "and cannot be paid twice");

        // A position beyond the feed is refused, naming the field.
        dunning["zahlungen_bis"] = 99.into();
        dunning["dunning_level"] = 2.into();
        let (r, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&[dunning.clone()]))).await;
        let detail = problem(&r, &v, 422, "invalid-request");
        assert!(detail.contains("claims/0/zahlungen_bis"), "{detail}");
        dunning["zahlungen_bis"] = "eins".into();
        let (r, v) = api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&[dunning]))).await;
        assert!(problem(&r, &v, 422, "invalid-request").contains("claims/0/zahlungen_bis"));

        // Without the field the figures count as holding every payment so far.
        let (_, v) =
            api(app, "POST", "/api/v1/forderungen", &key, Some(&batch(&[grundsteuer("5.100.1", "2026-05-15", 100)])))
                .await;
        assert_eq!(results(&v), ["updated"]);
        let view = finanzen::claim_for_citizen(portal, erika, id).await.unwrap().unwrap();
        assert_eq!(view.claim.open_label, "1,00 €");

        // The CSV import takes the position as an optional column.
        let csv = format!(
            "Kassenzeichen;Fällig am;Art;Bezeichnung;Betrag;Offen;Stand;Mahnstufe;Personenkonto;Zahlungen bis\n\
             5.100.1;15.05.2026;Grundsteuer;Quartalsrate Grundsteuer;123,45;123,45;in Mahnung;1;MB-10042;{read}\n"
        );
        finanzen::import_csv(portal, a, "staff:1", csv.as_bytes()).await.unwrap().unwrap();
        let view = finanzen::claim_for_citizen(portal, erika, id).await.unwrap().unwrap();
        assert_eq!(view.claim.open_label, "0,00 €");
    });
}

#[tokio::test]
async fn a_client_without_the_scope_is_refused_before_its_batch_is_read() {
    on_each_backend!(|app| {
        let reader = client(app, "moorbrueck", "fin-lesen", "submissions:read").await;
        // Not even the body's type is looked at: 403, not 415.
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/forderungen")
            .header("host", "127.0.0.1:8080")
            .header("x-api-key", &reader)
            .header("content-type", "text/plain")
            .body(Body::from("x".repeat(1024)))
            .unwrap();
        let r = app.request(req).await;
        let v = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
        problem(&r, &v, 403, "insufficient-scope");
    });
}
