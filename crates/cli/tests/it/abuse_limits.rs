//! Abuse limits for anonymous visitors, through the real router on both databases:
//! request rates per client (429 with `Retry-After` and a German page), bounded
//! password hashing (503), failed sign-ins per address and client (no lock-out by
//! strangers, a growing wait instead), mail limits that stay silent, quotas for
//! anonymous drafts and their files, pending invitations as slow as accounts, and
//! the housekeeping that prunes what the limits counted.
//!
//! Clients are told apart by their peer address (`ConnectInfo`, as `amtsweg serve`
//! provides it) or, behind a trusted proxy, by `X-Forwarded-For`.

use crate::support::{EXCLUSIVE, Reply, TestApp, apps_with};
use crate::verwaltung::{Jar, enc, hidden};
use amtsweg::staff::DEMO_PASSWORD;
use amtsweg_web::WebConfig;
use amtsweg_web::limits::{LimitsConfig, RateLimit};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const CLERK: &str = "redaktion@moorbrueck.example";
const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";

/// One browser at one address (optionally behind a proxy that names it).
#[derive(Clone)]
struct Visitor {
    jar: Jar,
    peer: SocketAddr,
    forwarded_for: Option<String>,
}

impl Visitor {
    fn at(ip: &str) -> Self {
        Self { jar: Jar::default(), peer: format!("{ip}:40000").parse().unwrap(), forwarded_for: None }
    }

    /// Behind the trusted proxy 10.0.0.1, which names `ip`.
    fn behind_proxy(ip: &str) -> Self {
        Self { forwarded_for: Some(ip.to_owned()), ..Self::at("10.0.0.1") }
    }

    async fn send(&mut self, app: &TestApp, b: axum::http::request::Builder, body: Body) -> Reply {
        let mut b = b.header(header::HOST, "localhost").header(header::COOKIE, self.jar.header());
        if let Some(x) = &self.forwarded_for {
            b = b.header("x-forwarded-for", x);
        }
        let mut req = b.body(body).unwrap();
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let r = app.request(req).await;
        self.jar.take_pub(&r);
        r
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Request::get(path), Body::empty()).await
    }

    async fn post(&mut self, app: &TestApp, path: &str, body: &str) -> Reply {
        let b = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://localhost");
        self.send(app, b, Body::from(body.to_owned())).await
    }

    async fn multipart(&mut self, app: &TestApp, path: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Reply {
        let boundary = "----amtsweg-limits";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"plan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
                file.0
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let b = Request::post(path)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(header::ORIGIN, "http://localhost");
        self.send(app, b, Body::from(body)).await
    }

    /// The back office's password step.
    async fn staff_sign_in(&mut self, app: &TestApp, email: &str, password: &str) -> Reply {
        let form = self.get(app, "/verwaltung/anmelden").await;
        let csrf = hidden(&form.body, "csrf");
        let body = format!("email={}&password={}&csrf={csrf}&weiter=%2Fverwaltung%2F", enc(email), enc(password));
        self.post(app, "/verwaltung/anmelden", &body).await
    }

    /// Asks for a citizen's password-reset link.
    async fn forgot(&mut self, app: &TestApp, email: &str) -> Reply {
        let form = self.get(app, "/konto/passwort-vergessen").await;
        let csrf = hidden(&form.body, "csrf");
        self.post(app, "/konto/passwort-vergessen", &format!("csrf={csrf}&email={}", enc(email))).await
    }

    /// Begins an Osterfeuer application (its first page sent): a draft.
    async fn begin_draft(&mut self, app: &TestApp) -> Reply {
        let page = self.get(app, OSTERFEUER).await;
        assert_eq!(page.status, 200);
        let fields = format!(
            "csrf={}&token={}&aktion=weiter&f.name=Sch%C3%BCtzenverein&f.telefon=05191+12345&f.email=feuer%40example.org",
            hidden(&page.body, "csrf"),
            hidden(&page.body, "token")
        );
        self.post(app, OSTERFEUER, &fields).await
    }
}

fn config(limits: LimitsConfig) -> WebConfig {
    WebConfig { limits, ..WebConfig::default() }
}

fn trusting_the_proxy() -> LimitsConfig {
    LimitsConfig { trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()], ..LimitsConfig::default() }
}

async fn mails_to(app: &TestApp, to: &str) -> usize {
    let rows = app.store.store.outbox_entries(1000).await.unwrap();
    rows.iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
        .filter(|p| p["to"] == to)
        .count()
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_others_go_on() {
    let limits = LimitsConfig {
        sign_in: RateLimit { per_client_per_minute: 3, client_burst: 3, global_per_second: 0, global_burst: 0 },
        expensive: RateLimit { per_client_per_minute: 2, client_burst: 2, global_per_second: 0, global_burst: 0 },
        ..trusting_the_proxy()
    };
    for owned in apps_with(config(limits)).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let mut a = Visitor::at("192.0.2.10");
        for _ in 0..3 {
            let r = a.staff_sign_in(app, "niemand@example.org", "falsch").await;
            assert_eq!(r.status, 422, "{}", r.body);
        }
        let r = a.staff_sign_in(app, "niemand@example.org", "falsch").await;
        assert_eq!(r.status, 429);
        let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(r.body.contains("Zu viele Anfragen") && r.body.contains("Sekunden"), "{}", r.body);
        assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        // Pages are not limited, and another client (here behind the trusted proxy)
        // is not affected.
        assert_eq!(a.get(app, "/").await.status, 200);
        let mut b = Visitor::behind_proxy("198.51.100.20");
        assert_eq!(b.staff_sign_in(app, "niemand@example.org", "falsch").await.status, 422);
        // The header counts only from a trusted proxy: from elsewhere it is ignored.
        let mut liar = Visitor { forwarded_for: Some("198.51.100.99".into()), ..Visitor::at("192.0.2.10") };
        assert_eq!(liar.staff_sign_in(app, "niemand@example.org", "falsch").await.status, 429);
        // Expensive GETs (search) have their own limit.
        for _ in 0..2 {
            assert_eq!(a.get(app, "/suche?q=Osterfeuer").await.status, 200);
        }
        let r = a.get(app, "/suche?q=Osterfeuer").await;
        assert_eq!(r.status, 429);
        assert!(r.headers.contains_key(header::RETRY_AFTER));
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn password_hashing_is_bounded_and_answers_503_when_busy() {
    let _exclusive = EXCLUSIVE.lock().await;
    let limits = LimitsConfig { hashing_concurrency: 1, hashing_wait_ms: 1, ..LimitsConfig::default() };
    for owned in apps_with(config(limits)).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let mut v = Visitor::at(&format!("192.0.2.{}", 100 + i));
            let form = v.get(app, "/verwaltung/anmelden").await;
            let csrf = hidden(&form.body, "csrf");
            let body = format!("email=niemand{i}%40example.org&password=falsch&csrf={csrf}");
            tasks.push(async move { v.post(app, "/verwaltung/anmelden", &body).await });
        }
        let replies = futures_join_all(tasks).await;
        let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
        assert!(!busy.is_empty(), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        assert!(replies.iter().all(|r| r.status == 503 || r.status == 422));
        assert!(busy[0].body.contains("Bitte versuchen Sie es in einigen Sekunden erneut"), "{}", busy[0].body);
        assert!(busy[0].headers.contains_key(header::RETRY_AFTER));
        owned.cleanup().await;
    }
}

/// Runs the futures concurrently on this task.
async fn futures_join_all<F: std::future::Future<Output = Reply>>(futures: Vec<F>) -> Vec<Reply> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<Reply>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => out[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_stranger_with_100_wrong_passwords_does_not_lock_out_the_clerk() {
    for owned in apps_with(config(trusting_the_proxy())).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let mut attacker = Visitor::at("192.0.2.66");
        let mut statuses = Vec::new();
        for _ in 0..105 {
            statuses.push(attacker.staff_sign_in(app, CLERK, "falsches-passwort").await.status.as_u16());
        }
        // Ten tries, then this client waits (the rate limit adds its own 429 later).
        assert!(statuses[..10].iter().all(|s| *s == 422), "{statuses:?}");
        assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
        let r = attacker.staff_sign_in(app, CLERK, DEMO_PASSWORD).await;
        assert_eq!(r.status, 429, "even the right password waits on this client");
        // The clerk, at another address (behind the proxy, and directly), signs in at once.
        let mut clerk = Visitor::behind_proxy("198.51.100.7");
        let r = clerk.staff_sign_in(app, CLERK, DEMO_PASSWORD).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(!r.location().contains("/anmelden?"), "{}", r.location());
        let mut again = Visitor::at("192.0.2.7");
        assert_eq!(again.staff_sign_in(app, CLERK, DEMO_PASSWORD).await.status, 303);
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn many_clients_slow_an_address_down_but_never_lock_it() {
    let mut limits = trusting_the_proxy();
    limits.sign_in_failures.per_address_before_delay = 5;
    limits.sign_in_failures.max_delay_seconds = 2;
    for owned in apps_with(config(limits)).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        // Eight addresses, one wrong password each (a botnet, as far as we can tell).
        for i in 0..8u8 {
            let mut bot = Visitor::behind_proxy(&format!("203.0.113.{i}"));
            let r = bot.staff_sign_in(app, CLERK, "falsches-passwort").await;
            assert!(r.status == 422 || r.status == 429, "{}", r.status);
        }
        // The owner, from yet another address, is asked to wait a little …
        let mut clerk = Visitor::behind_proxy("198.51.100.7");
        let r = clerk.staff_sign_in(app, CLERK, DEMO_PASSWORD).await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.body.contains("Zu viele fehlgeschlagene Anmeldungen") && r.body.contains("Sekunden"), "{}", r.body);
        let wait: u64 = r.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        // … and then gets in.
        tokio::time::sleep(Duration::from_millis(wait * 1000 + 200)).await;
        let r = clerk.staff_sign_in(app, CLERK, DEMO_PASSWORD).await;
        assert_eq!(r.status, 303, "{}", r.body);
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn mails_per_address_and_client_stop_silently() {
    for owned in apps_with(config(trusting_the_proxy())).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        // The confirmation mail is the first of five to this address within the hour.
        let (_, _) = crate::konto::citizen(app, "flut@example.org").await;
        // Eight reset requests for one address from eight addresses: four more mails.
        let mut pages = Vec::new();
        for i in 0..8u8 {
            let mut v = Visitor::behind_proxy(&format!("203.0.113.{i}"));
            let r = v.forgot(app, "flut@example.org").await;
            assert_eq!(r.status, 200);
            pages.push(r.body);
        }
        assert_eq!(mails_to(app, "flut@example.org").await, 5);
        // The page does not tell: the one after the limit reads like the first.
        let strip =
            |b: &str| if b.contains("name=\"csrf\"") { b.replace(&hidden(b, "csrf"), "") } else { b.to_owned() };
        assert_eq!(strip(&pages[7]), strip(&pages[0]));
        // One client, 25 addresses: 20 mails, the rest silently dropped.
        let mut flooder = Visitor::at("192.0.2.99");
        for i in 0..25 {
            assert_eq!(flooder.forgot(app, &format!("opfer{i}@example.org")).await.status, 200);
        }
        let counted = app
            .store
            .store
            .failures_of_client(
                "mail:",
                &amtsweg_web::limits::Client::from_ip("192.0.2.99".parse().unwrap()).stored(),
                0,
            )
            .await
            .unwrap();
        assert_eq!(counted, 20);
        // Registrations are mails too: the same address registered again and again.
        let mut v = Visitor::at("192.0.2.98");
        for _ in 0..7 {
            let form = v.get(app, "/konto/registrieren").await;
            let csrf = hidden(&form.body, "csrf");
            let body = format!(
                "csrf={csrf}&email=neu%40example.org&password={p}&password2={p}",
                p = enc("Mein Rad steht im Keller")
            );
            let r = v.post(app, "/konto/registrieren", &body).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        assert_eq!(mails_to(app, "neu@example.org").await, 5);
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn anonymous_drafts_and_files_have_quotas_and_nothing_saved_is_lost() {
    let mut limits = LimitsConfig::default();
    limits.drafts.per_client_per_day = 2;
    limits.drafts.files_mb_per_client = 1;
    for owned in apps_with(config(limits)).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let mut a = Visitor::at("192.0.2.30");
        let first = a.begin_draft(app).await;
        assert_eq!(first.status, 303, "{}", first.body);
        let step = first.location().to_owned();
        assert_eq!(a.begin_draft(app).await.status, 303);
        let refused = a.begin_draft(app).await;
        assert_eq!(refused.status, 429, "{}", refused.body);
        assert!(refused.body.contains("sehr viele Anträge begonnen"), "{}", refused.body);
        assert!(refused.body.contains("Bereits gespeicherte Anträge bleiben erhalten"));
        // Nothing typed is lost: the same page again, with the values and why.
        assert_eq!(refused.headers.get("retry-after").unwrap(), "3600");
        assert!(refused.body.contains("kern-alert--danger"), "{}", refused.body);
        assert!(refused.body.contains("Ihre Angaben stehen unten noch im Formular"), "{}", refused.body);
        for typed in ["Schützenverein", "05191 12345", "feuer@example.org"] {
            assert!(refused.body.contains(&format!("value=\"{typed}\"")), "{typed} kept: {}", refused.body);
        }
        assert!(!hidden(&refused.body, "token").is_empty() && !hidden(&refused.body, "csrf").is_empty());
        // The drafts begun before are still there; another client may begin one.
        assert_eq!(a.get(app, &step).await.status, 200);
        assert_eq!(Visitor::at("192.0.2.31").begin_draft(app).await.status, 303);

        // Files: 1 MB for this client's drafts; a 700 KB plan fits once.
        let page = a.get(app, &step).await;
        let csrf = hidden(&page.body, "csrf");
        let fields = [
            ("csrf", csrf.as_str()),
            ("aktion", "weiter"),
            ("f.datum", "24.12.2099"),
            ("f.ort", "Festwiese"),
            ("f.art", "brauchtum"),
            ("g.brandwache.anzahl", "1"),
            ("g.brandwache.0.name", "Ida Wache"),
            ("g.brandwache.0.telefon", "0151 1234567"),
        ];
        let pdf = [b"%PDF-1.7\n".as_slice(), &vec![b'a'; 700_000]].concat();
        let r = a.multipart(app, &step, &fields, ("f.lageplan", &pdf)).await;
        assert!(r.status.is_redirection(), "{} {}", r.status, r.body);
        let r = a.multipart(app, &step, &fields, ("f.lageplan", &pdf)).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("kann nicht mehr angenommen werden"), "{}", r.body);
        assert!(r.body.contains("Bereits gespeicherte Dateien bleiben erhalten"), "{}", r.body);
        let token = step.trim_end_matches('/').rsplit('/').nth(1).unwrap();
        assert_eq!(app.store.store.application_draft_files(token).await.unwrap().len(), 1, "the first file stays");
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn a_pending_invitation_answers_as_slowly_as_an_account() {
    let _exclusive = EXCLUSIVE.lock().await;
    for owned in apps_with(config(LimitsConfig::default())).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let mut tx = app.store.store.begin().await.unwrap();
        tx.insert_staff(&amtsweg_store::staff::NewStaff {
            email: "eingeladen@moorbrueck.example".into(),
            display_name: "Eingeladen".into(),
            password_hash: "!".into(),
            totp_secret: None,
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut v = Visitor::at("192.0.2.50");
        let mut timed = async |email: &str| {
            let mut best = Duration::MAX;
            for _ in 0..4 {
                let form = v.get(app, "/verwaltung/anmelden").await;
                let csrf = hidden(&form.body, "csrf");
                let body = format!("email={}&password=falsch&csrf={csrf}", enc(email));
                let t = Instant::now();
                let r = v.post(app, "/verwaltung/anmelden", &body).await;
                best = best.min(t.elapsed());
                assert_eq!(r.status, 422);
                assert!(r.body.contains("E-Mail-Adresse oder Passwort ist falsch."));
            }
            best
        };
        // Interleaved, best of several: a busy machine slows both alike.
        let (mut account, mut pending) = (Duration::MAX, Duration::MAX);
        for _ in 0..2 {
            account = account.min(timed(CLERK).await);
            pending = pending.min(timed("eingeladen@moorbrueck.example").await);
        }
        eprintln!("pending invitation {pending:?}, account {account:?}");
        assert!(pending * 2 >= account, "pending invitation {pending:?}, account {account:?}");
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn housekeeping_prunes_what_the_limits_counted() {
    for owned in apps_with(WebConfig::default()).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        let day = 24 * 3_600_000;
        let mut tx = app.store.store.begin().await.unwrap();
        tx.record_login_failure("alt@example.org", amtsweg_store::now_ms() - 2 * day).await.unwrap();
        tx.record_failure_from("neu@example.org", "client").await.unwrap();
        tx.commit().await.unwrap();
        let (_, pruned) = amtsweg_portal::housekeeping::run_once(&app.state.portal).await.unwrap();
        assert_eq!(pruned, 1);
        assert_eq!(app.store.store.failures_of("alt@example.org", 0).await.unwrap().count, 0);
        assert_eq!(app.store.store.failures_of("neu@example.org", 0).await.unwrap().count, 1);
        owned.cleanup().await;
    }
}
