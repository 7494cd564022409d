//! The Bürgerkonto through the real router on both databases: registration with
//! confirmation, sign-in, no enumeration, profile sources, second factor, Postfach,
//! one sign-in across host names, the trust-level guard, and every route's guard.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_portal::postfach::{Delivery, deliver};

const PASSWORD: &str = "Mein Rad steht im Keller";

/// The last e-mail queued to `to`: (subject, body).
async fn last_mail(app: &TestApp, to: &str) -> (String, String) {
    let rows = app.store.store.outbox_entries(200).await.unwrap();
    let m = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
        .find(|p| p["to"] == to)
        .unwrap_or_else(|| panic!("no mail to {to}"));
    (m["subject"].as_str().unwrap().to_owned(), m["body"].as_str().unwrap().to_owned())
}

/// The path of the first link in a mail body that contains `marker`.
fn link_path(body: &str, marker: &str) -> String {
    let url =
        body.split_whitespace().find(|w| w.contains(marker)).unwrap_or_else(|| panic!("no {marker} link in {body}"));
    let path_start = url.find(marker).unwrap();
    url[path_start..].to_owned()
}

async fn register(app: &TestApp, jar: &mut Jar, email: &str, password: &str) -> crate::support::Reply {
    let form = get(app, jar, "/konto/registrieren").await;
    assert_eq!(form.status, 200);
    let csrf = hidden(&form.body, "csrf");
    post(
        app,
        jar,
        "/konto/registrieren",
        &format!("csrf={csrf}&email={}&password={}&password2={}", enc(email), enc(password), enc(password)),
    )
    .await
}

async fn login(app: &TestApp, jar: &mut Jar, email: &str, password: &str) -> crate::support::Reply {
    let form = get(app, jar, "/konto/anmelden").await;
    let csrf = hidden(&form.body, "csrf");
    post(
        app,
        jar,
        "/konto/anmelden",
        &format!("csrf={csrf}&email={}&password={}&weiter=%2Fkonto%2F", enc(email), enc(password)),
    )
    .await
}

/// Registers, confirms and signs in; returns the signed-in browser and the account id.
pub(crate) async fn citizen(app: &TestApp, email: &str) -> (Jar, i64) {
    let mut jar = Jar::default();
    let r = register(app, &mut jar, email, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, body) = last_mail(app, email).await;
    let r = get(app, &mut jar, &link_path(&body, "/konto/bestaetigen/")).await;
    assert_eq!(r.status, 303);
    let r = login(app, &mut jar, email, PASSWORD).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = app.store.store.citizen_by_email(email).await.unwrap().unwrap().id;
    (jar, id)
}

#[tokio::test]
async fn register_confirm_sign_in_and_out() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        // ASVS rules with plain-language errors; nothing stored.
        let r = register(app, &mut jar, "erika@example.org", "password123").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("zu verbreitet"), "{}", r.body);
        let r = register(app, &mut jar, "erika@example.org", "kurz").await;
        assert!(r.body.contains("mindestens 8 Zeichen"));
        assert!(app.store.store.citizen_by_email("erika@example.org").await.unwrap().is_none());

        let r = register(app, &mut jar, "Erika@Example.org", PASSWORD).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("Bitte bestätigen Sie Ihre E-Mail-Adresse"));
        // Before confirming, the right password leads to the reminder (and a new link).
        let r = login(app, &mut jar, "erika@example.org", PASSWORD).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("bestätigen Sie zuerst"));
        let (subject, body) = last_mail(app, "erika@example.org").await;
        assert!(subject.contains("bestätigen"));
        let confirm = link_path(&body, "/konto/bestaetigen/");
        let r = get(app, &mut jar, &confirm).await;
        assert_eq!(r.location(), "/konto/anmelden?hinweis=bestaetigt");
        assert_eq!(get(app, &mut jar, &confirm).await.status, 410, "one-time link");

        // A second registration with the address does not reveal the account: same
        // page, and the owner gets a notice instead.
        let mut other = Jar::default();
        let r = register(app, &mut other, "erika@example.org", "Ein ganz anderes Passwort").await;
        assert!(r.body.contains("Bitte bestätigen Sie Ihre E-Mail-Adresse"));
        assert!(last_mail(app, "erika@example.org").await.0.contains("bereits ein Bürgerkonto"));

        let r = login(app, &mut jar, "erika@example.org", PASSWORD).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), "/konto/");
        let cookie = r.cookies().into_iter().find(|(k, _)| k == "__Host-amtsweg_konto").expect("session cookie").1;
        assert!(!cookie.is_empty());
        let me = get(app, &mut jar, "/konto/").await;
        assert_eq!(me.status, 200);
        assert!(me.body.contains("Angemeldet als erika@example.org"));
        assert!(me.body.contains("normal (Benutzername und Passwort)"));
        let csrf = hidden(&me.body, "csrf");
        let r = post(app, &mut jar, "/konto/abmelden", &format!("csrf={csrf}")).await;
        assert!(r.location().contains("abgemeldet"));
        assert!(get(app, &mut jar, "/konto/").await.location().starts_with("/konto/anmelden"));
    });
}

#[tokio::test]
async fn no_account_enumeration_on_sign_in_and_reset() {
    on_each_backend!(|app| {
        citizen(app, "vorhanden@example.org").await;
        let mut jar = Jar::default();
        let known = login(app, &mut jar, "vorhanden@example.org", "falsches Passwort!").await;
        let unknown = login(app, &mut jar, "niemand@example.org", "falsches Passwort!").await;
        assert_eq!(known.status, unknown.status);
        assert!(known.body.contains("E-Mail-Adresse oder Passwort ist falsch."));
        assert!(unknown.body.contains("E-Mail-Adresse oder Passwort ist falsch."));
        let form = get(app, &mut jar, "/konto/passwort-vergessen").await;
        let csrf = hidden(&form.body, "csrf");
        let a = post(app, &mut jar, "/konto/passwort-vergessen", &format!("csrf={csrf}&email=vorhanden%40example.org"))
            .await;
        let b =
            post(app, &mut jar, "/konto/passwort-vergessen", &format!("csrf={csrf}&email=niemand%40example.org")).await;
        assert_eq!(a.status, b.status);
        assert_eq!(a.body.replace("vorhanden", "x"), b.body.replace("niemand", "x"));
        // The reset link works once and signs out other sessions.
        let (_, body) = last_mail(app, "vorhanden@example.org").await;
        let reset = link_path(&body, "/konto/passwort-neu/");
        let page = get(app, &mut jar, &reset).await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, &reset, &format!("csrf={csrf}&password=123456789&password2=123456789")).await;
        assert_eq!(r.status, 422, "common passwords are refused on reset too");
        let new = "Ein neuer langer Satz als Passwort";
        let r = post(app, &mut jar, &reset, &format!("csrf={csrf}&password={}&password2={}", enc(new), enc(new))).await;
        assert_eq!(r.status, 303);
        assert_eq!(login(app, &mut jar, "vorhanden@example.org", new).await.status, 303);
        // CSRF: a form from elsewhere is refused.
        let r =
            app.post_form_with("/konto/anmelden", "csrf=x&email=a&password=b", "", Some("http://evil.example")).await;
        assert_eq!(r.status, 403);
    });
}

#[tokio::test]
async fn profile_values_keep_their_source_and_id_values_are_locked() {
    on_each_backend!(|app| {
        let (mut jar, id) = citizen(app, "profil@example.org").await;
        amtsweg_portal::profile::set(
            &app.state.portal,
            id,
            ProfileField::FamilyName,
            "Musterfrau",
            &ProfileSource::Provider("bundid".into()),
            TrustLevel::Substanziell,
        )
        .await
        .unwrap();
        let page = get(app, &mut jar, "/konto/profil").await;
        assert!(page.body.contains("Quelle: aus der BundID, Vertrauensniveau substanziell"), "{}", page.body);
        let csrf = hidden(&page.body, "csrf");
        let bad = post(
            app,
            &mut jar,
            "/konto/profil",
            &format!("csrf={csrf}&given_name=Erika&plz=123&birth_date=31.02.1980"),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("fünf Ziffern") && bad.body.contains("TT.MM.JJJJ"));
        assert!(bad.body.contains("value=\"Erika\""), "typed values kept");
        assert!(app.store.store.profile(id).await.unwrap().iter().all(|v| v.field != "given_name"), "nothing stored");
        let ok = post(
            app,
            &mut jar,
            "/konto/profil",
            &format!(
                "csrf={csrf}&given_name=Erika&family_name=Gefälscht&plz=29391&birth_date=24.12.1980&city=Moorbr%C3%BCck"
            ),
        )
        .await;
        assert_eq!(ok.status, 303);
        let p = amtsweg_portal::profile::profile(&app.state.portal, id).await.unwrap();
        let v =
            |f: &str| p.iter().find(|v| v.field == f).map(|v| (v.value.clone(), v.source.as_str().to_owned())).unwrap();
        assert_eq!(v("given_name"), ("Erika".into(), "self".into()));
        assert_eq!(v("birth_date").0, "1980-12-24");
        assert_eq!(v("family_name"), ("Musterfrau".into(), "bundid".into()), "the ID-provided name stays");
    });
}

#[tokio::test]
async fn a_second_factor_protects_the_account() {
    on_each_backend!(|app| {
        let (mut jar, _) = citizen(app, "zwei@example.org").await;
        let page = get(app, &mut jar, "/konto/sicherheit").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, "/konto/sicherheit", &format!("csrf={csrf}&aktion=einrichten")).await;
        let secret = r.body.split("Schlüssel: <code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
        let wrong =
            post(app, &mut jar, "/konto/sicherheit", &format!("csrf={csrf}&aktion=bestaetigen&code=000000")).await;
        assert_eq!(wrong.status, 422);
        let code = amtsweg_web::current_totp_code(&secret).unwrap();
        let r = post(app, &mut jar, "/konto/sicherheit", &format!("csrf={csrf}&aktion=bestaetigen&code={code}")).await;
        assert!(r.location().contains("eingerichtet"));
        let r = post(app, &mut jar, "/konto/abmelden", &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303);
        let mut fresh = Jar::default();
        let r = login(app, &mut fresh, "zwei@example.org", PASSWORD).await;
        assert!(r.location().starts_with("/konto/anmelden/code"), "{}", r.location());
        assert!(
            get(app, &mut fresh, "/konto/").await.location().starts_with("/konto/anmelden/code"),
            "not in before the code"
        );
        let page = get(app, &mut fresh, "/konto/anmelden/code").await;
        let csrf = hidden(&page.body, "csrf");
        // The code that confirmed the enrolment is used up; the next one is valid.
        let code = amtsweg_web::next_totp_code(&secret).unwrap();
        let r =
            post(app, &mut fresh, "/konto/anmelden/code", &format!("csrf={csrf}&code={code}&weiter=%2Fkonto%2F")).await;
        assert_eq!(r.location(), "/konto/");
        assert_eq!(get(app, &mut fresh, "/konto/").await.status, 200);
    });
}

#[tokio::test]
async fn postfach_messages_replies_and_attachments() {
    on_each_backend!(|app| {
        let (mut jar, id) = citizen(app, "post@example.org").await;
        let (mut other, _) = citizen(app, "andere@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        let (thread, _) = deliver(
            &app.state.portal,
            &Delivery {
                citizen_id: id,
                authority_id: town,
                sender: "Stadt Moorbrück, Bürgerbüro".into(),
                subject: "Ihre Meldebescheinigung".into(),
                body: "Guten Tag,\nanbei Ihre Bescheinigung.".into(),
                attachments: vec![("Bescheinigung.pdf".into(), b"%PDF-1.7 geheim".to_vec())],
            },
        )
        .await
        .unwrap();
        // The notice says there is a message, never what it says.
        let (subject, body) = last_mail(app, "post@example.org").await;
        assert!(subject.contains("neue Nachricht"));
        assert!(body.contains(&format!("/konto/postfach/{thread}")));
        assert!(!body.contains("anbei Ihre Bescheinigung") && !body.contains("Meldebescheinigung"));

        let list = get(app, &mut jar, "/konto/postfach/").await;
        assert!(list.body.contains("Ihre Meldebescheinigung") && list.body.contains("1 neu"));
        assert!(get(app, &mut jar, "/konto/").await.body.contains("1 ungelesen"));
        let page = get(app, &mut jar, &format!("/konto/postfach/{thread}")).await;
        assert!(page.body.contains("anbei Ihre Bescheinigung"));
        assert!(get(app, &mut jar, "/konto/postfach/").await.body.contains("<td>–</td>"), "read now");
        let file = page.body.split("/konto/postfach/anhang/").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let download = get(app, &mut jar, &format!("/konto/postfach/anhang/{file}")).await;
        assert_eq!(download.status, 200);
        assert!(download.headers["content-disposition"].to_str().unwrap().starts_with("attachment;"));
        assert_eq!(download.body, "%PDF-1.7 geheim");
        // Nobody else sees the thread or the file.
        assert_eq!(get(app, &mut other, &format!("/konto/postfach/{thread}")).await.status, 404);
        assert_eq!(get(app, &mut other, &format!("/konto/postfach/anhang/{file}")).await.status, 404);

        // Replies with attachments: checked by content.
        let csrf = hidden(&page.body, "csrf");
        let cookie = jar.header();
        let path = format!("/konto/postfach/{thread}");
        let r = app
            .post_multipart(
                &path,
                &[("csrf", &csrf), ("text", "Danke!")],
                ("anhang", "virus.pdf", b"MZ\x90\x00"),
                &cookie,
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("kein PDF-, PNG- oder JPEG-Dokument"));
        assert!(r.body.contains("Danke!"), "typed text kept");
        let r = app
            .post_multipart(&path, &[("csrf", "falsch"), ("text", "Danke!")], ("anhang", "a.pdf", b"%PDF-1.4"), &cookie)
            .await;
        assert_eq!(r.status, 403);
        let r = app
            .post_multipart(
                &path,
                &[("csrf", &csrf), ("text", "Danke, hier mein Nachweis.")],
                ("anhang", "Nachweis.pdf", b"%PDF-1.4 x"),
                &cookie,
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(app, &mut jar, &path).await;
        assert!(page.body.contains("Danke, hier mein Nachweis.") && page.body.contains("Nachweis.pdf"));
        assert_eq!(app.store.store.messages(id, thread).await.unwrap().len(), 2);
        // Someone else cannot reply into the thread.
        let r = app
            .post_multipart(
                &path,
                &[("csrf", &hidden(&get(app, &mut other, "/konto/").await.body, "csrf")), ("text", "x")],
                ("anhang", "", b""),
                &other.header(),
            )
            .await;
        assert_eq!(r.status, 404);
    });
}

#[tokio::test]
async fn one_sign_in_for_every_host_of_the_verbund() {
    on_each_backend!(|app| {
        let (mut central, _) = citizen(app, "sso@example.org").await;
        let m = "moorbrueck.localhost:8080";
        // On Moorbrück's own host name there is no session yet: to the central host,
        // with a cookie on Moorbrück's host that the hand-over will be bound to.
        let mut local = Jar::default();
        let r = app.get_with("/konto/postfach/", m, None).await;
        local.take_pub(&r);
        assert_eq!(r.status, 303);
        let start = r.location().to_owned();
        assert!(
            start.starts_with("http://127.0.0.1:8080/konto/sso/start?host=moorbrueck.localhost%3A8080&bind="),
            "{start}"
        );
        let path = start.trim_start_matches("http://127.0.0.1:8080").to_owned();
        // Signed in centrally: straight back with a one-time code.
        let r = app.get_with(&path, "127.0.0.1:8080", Some(&central.header())).await;
        assert_eq!(r.status, 303);
        let back = r.location().to_owned();
        assert!(back.starts_with("http://moorbrueck.localhost:8080/konto/sso/annehmen?code="), "{back}");
        let accept = back.trim_start_matches("http://moorbrueck.localhost:8080").to_owned();
        let no_session =
            |r: &crate::support::Reply| r.cookies().iter().all(|(k, v)| k != "__Host-amtsweg_konto" || v.is_empty());
        // The code is for Moorbrück only, and for the browser that asked for it.
        assert!(
            no_session(&app.get_with(&accept, "ellerloh.localhost:8080", Some(&local.header())).await),
            "other host"
        );
        let r = app.get_with(&path, "127.0.0.1:8080", Some(&central.header())).await;
        let accept = r.location().trim_start_matches("http://moorbrueck.localhost:8080").to_owned();
        assert!(no_session(&app.get_with(&accept, m, None).await), "login CSRF: a code in a browser that did not ask");
        // Fresh code, proper host and browser.
        let r = app.get_with(&path, "127.0.0.1:8080", Some(&central.header())).await;
        let accept = r.location().trim_start_matches("http://moorbrueck.localhost:8080").to_owned();
        let r = app.get_with(&accept, m, Some(&local.header())).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), "/konto/postfach/");
        local.take_pub(&r);
        let page = app.get_with("/konto/postfach/", m, Some(&local.header())).await;
        assert_eq!(page.status, 200, "signed in on Moorbrück's host");
        assert!(no_session(&app.get_with(&accept, m, Some(&local.header())).await), "codes work once");
        // No open redirect to hosts outside the Verbund.
        let r = app
            .get_with("/konto/sso/start?host=evil.example&weiter=%2F", "127.0.0.1:8080", Some(&central.header()))
            .await;
        assert_eq!(r.status, 400);
        // Signing out on one host signs out everywhere.
        let csrf = hidden(&get(app, &mut central, "/konto/").await.body, "csrf");
        post(app, &mut central, "/konto/abmelden", &format!("csrf={csrf}")).await;
        let r = app.get_with("/konto/postfach/", m, Some(&local.header())).await;
        assert_eq!(r.status, 303);
    });
}

#[tokio::test]
async fn the_trust_guard_sends_normal_sessions_to_the_explanation() {
    on_each_backend!(|app| {
        let (jar, _) = citizen(app, "niveau@example.org").await;
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, jar.header().parse().unwrap());
        let uri: axum::http::Uri = "/o/moorbrueck/antrag/x/".parse().unwrap();
        assert!(amtsweg_web::konto::require_trust(&app.state, &headers, &uri, TrustLevel::Normal).await.is_ok());
        let refused = amtsweg_web::konto::require_trust(&app.state, &headers, &uri, TrustLevel::Substanziell).await;
        let r = refused.err().expect("refused");
        let location = r.headers()["location"].to_str().unwrap();
        assert_eq!(location, "/konto/vertrauensniveau?benoetigt=substanziell&weiter=/o/moorbrueck/antrag/x/");
        let mut jar = jar;
        let page = get(app, &mut jar, location).await;
        assert!(page.body.contains("BundID") && page.body.contains("substanziell"));
        let anonymous =
            amtsweg_web::konto::require_trust(&app.state, &axum::http::HeaderMap::new(), &uri, TrustLevel::Normal)
                .await;
        assert!(
            anonymous.err().unwrap().headers()["location"].to_str().unwrap().starts_with("/konto/anmelden?weiter=")
        );
    });
}

/// Routes open without an account; every other account route needs a session.
const PUBLIC: &[&str] = &[
    "/konto",
    "/konto/antraege",
    "/konto/termine",
    "/konto/finanzen",
    "/konto/anmelden",
    "/konto/anmelden/code",
    "/konto/registrieren",
    "/konto/bestaetigen/{token}",
    "/konto/passwort-vergessen",
    "/konto/passwort-neu/{token}",
    "/konto/oidc/{name}/start",
    "/konto/oidc/{name}/callback",
    "/konto/saml/metadata",
    "/konto/saml/anmelden",
    "/konto/saml/acs",
    "/konto/sso/start",
    "/konto/sso/annehmen",
];

#[tokio::test]
async fn every_account_route_needs_a_session() {
    on_each_backend!(|app| {
        let mut anonymous = Jar::default();
        let mut checked = 0;
        let account = amtsweg_web::routes::all().into_iter().filter(|r| r.path.starts_with("/konto"));
        for route in account {
            let (path, methods) = (route.path, route.methods);
            // The route map says the same as this list.
            assert_eq!(route.access == amtsweg_web::routes::Access::Public, PUBLIC.contains(&path), "{path}");
            if PUBLIC.contains(&path) {
                continue;
            }
            let url = path.replace("{thread}", "1").replace("{id}", "1").replace("{doc}", "1");
            for m in methods {
                let r = if *m == "GET" {
                    get(app, &mut anonymous, &url).await
                } else {
                    post(app, &mut anonymous, &url, "csrf=x").await
                };
                assert_eq!(r.status, 303, "{m} {url}");
                assert!(r.location().starts_with("/konto/anmelden"), "{m} {url}: {}", r.location());
                checked += 1;
            }
        }
        assert!(checked >= 10, "{checked}");
    });
}

/// Personal data is encrypted at rest: a canary typed into the profile, a Postfach
/// message, its subject, a file name and a file never appears in the database (the
/// SQLite file and its WAL; PostgreSQL's rows) or in the object store's files.
#[tokio::test]
async fn a_canary_never_appears_in_the_database_or_the_object_store() {
    const CANARY: &str = "KANARIENVOGEL4711";
    for t in amtsweg_store::testing::both().await {
        eprintln!("backend: {}", t.name);
        let objects = tempfile::tempdir().unwrap();
        amtsweg::seed::apply(&t.store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
        amtsweg::staff::seed_demo(&t.store).await.unwrap();
        let config = amtsweg_web::WebConfig {
            objects_dir: Some(objects.path().to_owned()),
            ..amtsweg_web::WebConfig::default()
        };
        let state = amtsweg_web::AppState::new(t.store.clone(), config, amtsweg::printer()).await.unwrap();
        let app = TestApp { app: amtsweg_web::router(state.clone()), state, store: t };
        let (mut jar, id) = citizen(&app, "kanarie@example.org").await;
        let csrf = hidden(&get(&app, &mut jar, "/konto/profil").await.body, "csrf");
        let r = post(&app, &mut jar, "/konto/profil", &format!("csrf={csrf}&family_name={CANARY}&city={CANARY}")).await;
        assert_eq!(r.status, 303);
        let town = app.authority_id("moorbrueck").await;
        let (thread, _) = deliver(
            &app.state.portal,
            &Delivery {
                citizen_id: id,
                authority_id: town,
                sender: "Stadt Moorbrück".into(),
                subject: format!("Betreff {CANARY}"),
                body: format!("Text {CANARY}"),
                attachments: vec![(format!("{CANARY}.pdf"), format!("%PDF-1.7 {CANARY}").into_bytes())],
            },
        )
        .await
        .unwrap();
        // Everything still reads back for the citizen.
        let page = get(&app, &mut jar, &format!("/konto/postfach/{thread}")).await;
        assert!(page.body.contains(&format!("Text {CANARY}")) && page.body.contains(&format!("{CANARY}.pdf")));
        assert!(get(&app, &mut jar, "/konto/profil").await.body.contains(&format!("value=\"{CANARY}\"")));
        // An application with the canary in an answer, a file name and a file.
        let form = "/o/moorbrueck/antrag/osterfeuer/";
        let page = get(&app, &mut jar, form).await;
        let first = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
        let r = post(
            &app,
            &mut jar,
            form,
            &format!("{first}&aktion=weiter&f.name={CANARY}&f.telefon=05191+1&f.email=feuer%40example.org"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let step = r.location().to_owned();
        let draft = step.trim_end_matches("feuer").to_owned();
        let csrf = hidden(&get(&app, &mut jar, &step).await.body, "csrf");
        let pdf = format!("%PDF-1.7 {CANARY}").into_bytes();
        let r = app
            .post_multipart(
                &step,
                &[
                    ("csrf", csrf.as_str()),
                    ("aktion", "weiter"),
                    ("f.datum", "24.12.2099"),
                    ("f.ort", &format!("Wiese {CANARY}")),
                    ("f.art", "privat"),
                    ("g.brandwache.anzahl", "1"),
                    ("g.brandwache.0.name", "Ida Wache"),
                    ("g.brandwache.0.telefon", "0151 1"),
                ],
                ("f.lageplan", &format!("{CANARY}.pdf"), &pdf),
                &jar.header(),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        post(&app, &mut jar, &format!("{draft}erklaerung"), &format!("csrf={csrf}&aktion=weiter&f.versicherung=ja"))
            .await;
        let r = post(&app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = get(&app, &mut jar, r.location()).await;
        assert!(receipt.body.contains(CANARY), "the receipt reads back");
        // Case work: a question, a note and a connector's secret carry the canary too.
        let submission = app.store.store.submissions_of_citizen(id).await.unwrap().remove(0).id;
        let mut staff = crate::verwaltung::sign_in(&app, "sachbearbeitung@moorbrueck.example").await;
        let page = get(&app, &mut staff, &format!("/verwaltung/antraege/{submission}")).await;
        let staff_csrf = hidden(&page.body, "csrf");
        let r = app
            .post_multipart(
                &format!("/verwaltung/antraege/{submission}/stand"),
                &[("csrf", staff_csrf.as_str()), ("stand", "rueckfrage"), ("text", &format!("Frage {CANARY}"))],
                ("anhang", &format!("{CANARY}-bescheid.pdf"), format!("%PDF-1.7 {CANARY}").as_bytes()),
                &staff.header(),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post(
            &app,
            &mut staff,
            &format!("/verwaltung/antraege/{submission}/notiz"),
            &format!("csrf={staff_csrf}&notiz=Notiz+{CANARY}"),
        )
        .await;
        assert_eq!(r.status, 303);
        let connector = amtsweg_store::handoff::NewConnector {
            authority_id: town,
            form_id: None,
            kind: "webhook",
            name: "Fachverfahren",
            config: "",
        };
        amtsweg_portal::handoff::add_connector(
            &app.state.portal,
            &connector,
            &format!(r#"{{"url":"https://fv.example/{CANARY}","secret":"{CANARY}{CANARY}{CANARY}"}}"#),
        )
        .await
        .unwrap();
        let mine = get(&app, &mut jar, &format!("/konto/antraege/{submission}")).await;
        assert!(mine.body.contains(&format!("Frage {CANARY}")), "the question reads back");
        // Nothing of it at rest.
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        let mut dirs = vec![objects.path().to_owned()];
        if let Some(d) = &app.store.dir {
            dirs.push(d.path().to_owned());
        }
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() { dirs.push(e.path()) } else { files.push(e.path()) }
            }
        }
        assert!(files.iter().any(|f| f.starts_with(objects.path())), "the file went to the object store");
        if app.store.name == "sqlite" {
            assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "db")), "the database file is scanned");
        } else {
            for (table, column) in [
                ("citizen_profile", "value"),
                ("postfach_messages", "body"),
                ("postfach_threads", "subject"),
                ("postfach_attachments", "file_name"),
                ("submissions", "data"),
                ("submission_files", "file_name"),
                ("outbox", "payload"),
                ("submission_events", "body"),
                ("connectors", "config"),
            ] {
                let n = amtsweg_store::testing::count_containing(&app.store.store, table, column, CANARY).await;
                assert_eq!(n, 0, "{table}.{column}");
            }
        }
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()), "canary in {}", f.display());
        }
        app.cleanup().await;
    }
}

/// The `<a href>` targets of a page that stay on this site (no fragments, mail or
/// phone links), with `&amp;` read back.
fn local_links(body: &str) -> Vec<String> {
    body.split("<a ")
        .skip(1)
        .filter_map(|a| a.split_once("href=\"").map(|(_, rest)| rest.split('"').next().unwrap_or_default()))
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn the_step_up_page_without_a_provider_offers_other_ways_and_no_loop() {
    on_each_backend!(|app| {
        // No ID provider is configured: "hoch" cannot be reached online here.
        let (mut jar, _) = citizen(app, "vor-ort@example.org").await;
        let r = get(app, &mut jar, "/o/moorbrueck/antrag/meldebescheinigung/").await;
        assert_eq!(r.status, 303);
        let here = r.location().to_owned();
        assert!(here.starts_with("/konto/vertrauensniveau?benoetigt=hoch"), "{here}");
        let page = get(app, &mut jar, &here).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Online nicht möglich"), "said plainly: {}", page.body);
        assert!(page.body.contains("noch keinen Anmeldedienst"), "and why");
        assert!(!page.body.contains("action=\"/konto/saml/") && !page.body.contains("action=\"/konto/oidc/"));
        // In person: the responsible office, its address and opening hours.
        assert!(page.body.contains("Persönlich beantragen"));
        assert!(page.body.contains("Bürgerbüro Moorbrück") && page.body.contains("Lange Straße 8"), "{}", page.body);
        assert!(page.body.contains("Öffnungszeiten") && page.body.contains("08:00"), "opening hours");
        // The service's page, never the form (which would send the citizen back here).
        let links = local_links(&page.body);
        assert!(links.iter().any(|l| l == "/o/moorbrueck/leistungen/meldebescheinigung"), "{links:?}");
        assert!(!links.iter().any(|l| l.contains("/antrag/meldebescheinigung")), "{links:?}");
        // Following any link of the page (and its redirects) never comes back here.
        for link in links {
            let mut at = link.clone();
            for _ in 0..10 {
                assert!(!at.starts_with("/konto/vertrauensniveau"), "{link} leads back to the step-up page");
                let r = get(app, &mut jar, &at).await;
                if !r.status.is_redirection() {
                    break;
                }
                at = r.location().to_owned();
                if !at.starts_with('/') {
                    break;
                }
            }
        }
    });
}

#[tokio::test]
async fn forms_that_hand_over_to_a_member_host_may_send_there_and_nowhere_else() {
    on_each_backend!(|app| {
        let csp = |r: &crate::support::Reply| r.headers["content-security-policy"].to_str().unwrap().to_owned();
        let m = "moorbrueck.localhost:8080";
        // On the member host: "Mein Konto" sends the browser to the central host, with
        // a hand-over back.
        let r = app.get_with("/konto/", m, None).await;
        assert_eq!(r.status, 303);
        // The member host's pages may send forms on to the central host (sign-out,
        // a session that ran out), nowhere else.
        assert!(csp(&r).contains("form-action 'self' http://127.0.0.1:8080;"), "{}", csp(&r));
        let start = r.location().trim_start_matches("http://127.0.0.1:8080").to_owned();
        let r = app.get_with(&start, "127.0.0.1:8080", None).await;
        assert_eq!(r.status, 303);
        let sign_in = r.location().to_owned();
        assert!(sign_in.starts_with("/konto/anmelden?weiter=/konto/sso/start%3Fhost%3Dmoorbrueck"), "{sign_in}");
        // The central sign-in page says where the citizen is going back to, and its
        // form may end on that member host (Chromium applies form-action to redirects).
        let page = app.get_with(&sign_in, "127.0.0.1:8080", None).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Anmeldung für Stadt Moorbrück") && page.body.contains(m), "{}", page.body);
        assert!(csp(&page).contains(&format!("form-action 'self' http://{m};")), "{}", csp(&page));
        // A sign-in page without a hand-over, or with a forged one, keeps the strict policy.
        for weiter in ["%2Fkonto%2F", "%2Fkonto%2Fsso%2Fstart%3Fhost%3Devil.example%26weiter%3D%252F"] {
            let page = app.get_with(&format!("/konto/anmelden?weiter={weiter}"), "127.0.0.1:8080", None).await;
            assert!(csp(&page).contains("form-action 'self';"), "{weiter}: {}", csp(&page));
            assert!(!page.body.contains("Anmeldung für"), "{weiter}");
        }
        // Signing out on the member host is said there, not on another host.
        let page = app.get_with("/konto/anmelden?hinweis=abgemeldet", m, None).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Sie sind abgemeldet") && page.body.contains(m), "{}", page.body);
    });
}

/// Sets the state of case `id` as the case view's form does (multipart, no file).
async fn set_state(app: &TestApp, jar: &mut Jar, id: i64, fields: &[(&str, &str)]) -> crate::support::Reply {
    let boundary = "----amtsweg-konto";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let req = axum::http::Request::post(format!("/verwaltung/antraege/{id}/stand"))
        .header("host", "localhost")
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("cookie", jar.header())
        .header("origin", "http://localhost")
        .body(axum::body::Body::from(body))
        .unwrap();
    let r = app.request(req).await;
    jar.take_pub(&r);
    r
}

/// Issue 17: a reopened case is not just "In Bearbeitung" again in the citizen's own
/// view of the application: the history names the reopening with its date and reason,
/// and the status says since when it is open again.
#[tokio::test]
async fn the_citizen_sees_a_reopened_case_with_date_and_reason() {
    on_each_backend!(|app| {
        let (mut citizen_jar, id, _) = crate::casework::applied(app, "wieder.auf@example.org").await;
        let mut worker = crate::verwaltung::sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let case = get(app, &mut worker, &format!("/verwaltung/antraege/{id}")).await;
        let csrf = hidden(&case.body, "csrf");
        let r = set_state(app, &mut worker, id, &[("csrf", &csrf), ("stand", "in_bearbeitung")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = set_state(
            app,
            &mut worker,
            id,
            &[("csrf", &csrf), ("stand", "abgeschlossen|bewilligt"), ("bestaetigt", "ja")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let reason = "Versehentlich bewilligt: die Meldeadresse fehlt noch & wird geprüft.";
        let r = post(
            app,
            &mut worker,
            &format!("/verwaltung/antraege/{id}/wiederaufnahme"),
            &format!("csrf={csrf}&begruendung={}", enc(reason)),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);

        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        assert_eq!(mine.status, 200);
        let history = mine.body.split("id=\"verlauf-titel\"").nth(1).unwrap().split("</ol>").next().unwrap();
        // The decision stays in the history, followed by its reopening.
        let decided = history.find("Abgeschlossen: Bewilligt").unwrap_or_else(|| panic!("{history}"));
        let entry = history.split("Wieder aufgenommen am ").nth(1).unwrap_or_else(|| panic!("no reopening: {history}"));
        assert!(decided < history.find("Wieder aufgenommen am ").unwrap(), "in order: {history}");
        let (date, rest) = entry.split_at(10);
        assert!(date.chars().all(|c| c.is_ascii_digit() || c == '.') && date.matches('.').count() == 2, "{date}");
        assert!(rest.starts_with(", ") && rest.contains(" Uhr</strong>"), "{rest}");
        let escaped = reason.replace('&', "&amp;");
        assert!(entry.contains(&format!("– Grund: {escaped}")), "{entry}");
        assert!(entry.contains("Stand jetzt: In Bearbeitung"), "{entry}");
        // The status line says it is open again, and since when.
        let status = mine.body.split("<dt>Stand</dt>").nth(1).unwrap().split("</dd>").next().unwrap();
        assert!(status.contains(&format!("In Bearbeitung (wieder aufgenommen am {date}")), "{status}");

        // A later decision ends that note in the status line; the history keeps it.
        let r = set_state(
            app,
            &mut worker,
            id,
            &[("csrf", &csrf), ("stand", "abgeschlossen|abgelehnt"), ("bestaetigt", "ja")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        let status = mine.body.split("<dt>Stand</dt>").nth(1).unwrap().split("</dd>").next().unwrap();
        assert!(!status.contains("wieder aufgenommen") && status.contains("(seit "), "{status}");
        assert!(mine.body.contains(&format!("– Grund: {escaped}")), "the history keeps the reopening");
    });
}
