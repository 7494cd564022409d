//! Issue 17, items 10 and 11: the KERN UX design system comes from its declared npm
//! package and is served with the portal's own files; the back office is navigated by
//! area, showing only the areas the person may use, with counts of what waits.

use crate::casework::applied;
use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{get, sign_in};
use amtsweg_domain::staff::Role;

fn header<'a>(r: &'a crate::support::Reply, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The value of `?v=` the page links its styles with.
fn asset_version(body: &str) -> String {
    let at = body.find("/static/kern.min.css?v=").expect("the page links KERN's stylesheet")
        + "/static/kern.min.css?v=".len();
    body[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn kern_styles_fonts_and_favicon_are_served_and_linked() {
    on_each_backend!(|app| {
        for page in ["/", "/o/moorbrueck/leistungen/briefwahl", "/verwaltung/anmelden"] {
            let body = app.get(page).await.body;
            assert!(body.contains("<link rel=\"stylesheet\" href=\"/static/kern.min.css?v="), "{page}: {body}");
            assert!(body.contains("<link rel=\"icon\" href=\"/static/favicon.svg?v="), "{page}: no favicon");
            assert!(body.contains("data-kern-theme=\"light\""), "{page}: no KERN theme");
        }
        let v = asset_version(&app.get("/").await.body);

        let kern = app.get(&format!("/static/kern.min.css?v={v}")).await;
        assert_eq!(kern.status, 200);
        assert_eq!(header(&kern, "content-type"), "text/css; charset=utf-8");
        assert!(header(&kern, "cache-control").contains("max-age=31536000"), "versioned files are cached long");
        assert!(kern.body.contains(".kern-btn--primary") && kern.body.contains(".kern-alert"), "the real KERN CSS");

        let ours = app.get("/static/amtsweg.css").await;
        assert_eq!(ours.status, 200);
        assert_eq!(header(&ours, "cache-control"), "public, max-age=3600", "unversioned links are cached briefly");
        // Every font the stylesheet names is served as a WOFF2 file.
        let fonts: Vec<&str> = ours
            .body
            .split("url(\"/static/")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|f| f.ends_with(".woff2"))
            .collect();
        assert!(fonts.len() >= 3, "regular, italic and bold faces: {fonts:?}");
        for f in fonts {
            let font = app.get(&format!("/static/{f}")).await;
            assert_eq!(font.status, 200, "{f}");
            assert_eq!(header(&font, "content-type"), "font/woff2", "{f}");
            assert!(font.body.starts_with("wOF2"), "{f} is a WOFF2 file");
            assert!(header(&font, "cache-control").contains("immutable"), "{f}");
        }
        let icon = app.get(&format!("/static/favicon.svg?v={v}")).await;
        assert_eq!(header(&icon, "content-type"), "image/svg+xml");
        assert!(icon.body.starts_with("<svg"));
        assert_eq!(app.get("/static/../Cargo.toml").await.status, 404);
        assert_eq!(app.get("/static/kern.css").await.status, 404);

        // The tenant's colour drives KERN's action colour (buttons, links, hover shades).
        let theme = app.get("/o/moorbrueck/theme.css").await.body;
        assert!(theme.contains("--kern-color-action-default: #"), "{theme}");
    });
}

/// The labels of the main areas in the back-office navigation of `body`, with the
/// count shown after each (0 when none) and whether it is the current one.
fn areas(body: &str) -> Vec<(String, u32, bool)> {
    let start = body.find("<nav class=\"area-nav\"").expect("area navigation");
    let nav = &body[start..start + body[start..].find("</nav>").unwrap()];
    nav.split("<li>")
        .skip(1)
        .map(|li| {
            let current = li.contains("aria-current=\"page\"");
            let text = li.split('>').nth(1).unwrap_or_default();
            let label = text.split('<').next().unwrap_or_default().trim().to_owned();
            let count = li
                .split("<span class=\"count\">")
                .nth(1)
                .and_then(|c| c.split('<').next())
                .map_or(0, |c| c.parse().unwrap());
            (label, count, current)
        })
        .collect()
}

fn labels(body: &str) -> Vec<String> {
    areas(body).into_iter().map(|a| a.0).collect()
}

fn count_of(body: &str, label: &str) -> u32 {
    areas(body).into_iter().find(|a| a.0 == label).unwrap_or_else(|| panic!("no area {label}: {body}")).1
}

fn current(body: &str) -> Vec<String> {
    areas(body).into_iter().filter(|a| a.2).map(|a| a.0).collect()
}

async fn staff(app: &TestApp, email: &str, name: &str, role: Role, authority: &str, unit: Option<&str>) {
    amtsweg::staff::create(
        &app.store.store,
        &amtsweg::staff::NewAccount {
            email,
            name,
            password: amtsweg::staff::DEMO_PASSWORD,
            role,
            authority: Some(authority),
            org_unit: unit,
            totp_secret: None,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_back_office_is_navigated_by_area_with_counts_of_what_waits() {
    on_each_backend!(|app| {
        // An editor works on content and forms only.
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        let start = get(app, &mut editor, "/verwaltung/").await;
        assert_eq!(labels(&start.body), ["Übersicht", "Termine", "Inhalte", "Formulare"], "{}", start.body);
        assert_eq!(current(&start.body), ["Übersicht"]);
        let services = get(app, &mut editor, "/verwaltung/behoerden/moorbrueck/leistungen/").await;
        assert_eq!(current(&services.body), ["Inhalte"]);
        assert!(services.body.contains("aria-label=\"Unterbereiche\""), "Inhalte shows its sub-areas");
        assert!(services.body.contains("href=\"/verwaltung/behoerden/moorbrueck/standorte/\">Standorte</a>"));

        // A case worker: applications and messages, nothing waits yet.
        let mut worker = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let start = get(app, &mut worker, "/verwaltung/").await;
        assert_eq!(
            labels(&start.body),
            ["Übersicht", "Anträge", "Nachrichten", "Termine", "Zahlungen"],
            "{}",
            start.body
        );
        assert_eq!(count_of(&start.body, "Anträge"), 0);
        assert!(start.body.contains("Keine neuen Anträge."));

        // A citizen applies, then writes to the authority in the case's thread.
        let (_, id, _) = applied(app, "navigation@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        let row = app.store.store.submission_in(&[town], id).await.unwrap().unwrap();
        let mut tx = app.store.store.begin().await.unwrap();
        let (thread, _) = tx
            .post_message(
                row.citizen_id.unwrap(),
                town,
                row.thread_id,
                "Ihr Antrag",
                amtsweg_store::konto::Direction::FromCitizen,
                "Antragsteller/in",
                "",
                &[],
            )
            .await
            .unwrap();
        tx.set_submission_thread(id, thread).await.unwrap();
        tx.commit().await.unwrap();

        let start = get(app, &mut worker, "/verwaltung/").await;
        assert_eq!(count_of(&start.body, "Anträge"), 1, "one new application");
        assert_eq!(count_of(&start.body, "Nachrichten"), 1, "one unread answer");
        assert!(start.body.contains("<span class=\"count\">1<span class=\"visually-hidden\"> neu</span></span>"));
        assert!(
            start.body.contains("1 neu eingegangen") && start.body.contains("1 offen ohne Zuständige"),
            "{}",
            start.body
        );
        let inbox = get(app, &mut worker, "/verwaltung/antraege/").await;
        assert_eq!(current(&inbox.body), ["Anträge"]);
        // Reading the case marks the answer read; the application is still new.
        get(app, &mut worker, &format!("/verwaltung/antraege/{id}")).await;
        let start = get(app, &mut worker, "/verwaltung/").await;
        assert_eq!(count_of(&start.body, "Nachrichten"), 0, "{}", start.body);
        assert_eq!(count_of(&start.body, "Anträge"), 1);

        // Only what the person may work on is counted: another authority's case
        // worker and a case worker of another org unit of the same town see nothing.
        staff(app, "kreis.sb@example.org", "Kreis SB", Role::CaseWorker, "landkreis-heidekamp", None).await;
        staff(app, "standesamt.sb@example.org", "Standesamt SB", Role::CaseWorker, "moorbrueck", Some("Standesamt"))
            .await;
        for email in ["kreis.sb@example.org", "standesamt.sb@example.org"] {
            let mut other = sign_in(app, email).await;
            let start = get(app, &mut other, "/verwaltung/").await;
            assert_eq!(count_of(&start.body, "Anträge"), 0, "{email}");
            assert_eq!(count_of(&start.body, "Nachrichten"), 0, "{email}");
        }

        // The authority's administrator also has interfaces and settings.
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let start = get(app, &mut admin, "/verwaltung/").await;
        assert_eq!(
            labels(&start.body),
            [
                "Übersicht",
                "Anträge",
                "Nachrichten",
                "Termine",
                "Zahlungen",
                "Inhalte",
                "Formulare",
                "Schnittstellen",
                "Einstellungen"
            ]
        );
        assert_eq!(count_of(&start.body, "Anträge"), 1);
        let connectors = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        assert_eq!(current(&connectors.body), ["Schnittstellen"]);
        let payments = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/zahlungen/").await;
        assert_eq!(current(&payments.body), ["Zahlungen"]);
        let look = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/darstellung").await;
        assert_eq!(current(&look.body), ["Einstellungen"]);
        for sub in ["Darstellung", "Konten", "Protokoll"] {
            assert!(look.body.contains(&format!(">{sub}</a>")), "settings offer {sub}");
        }
        // The start page shows the same areas as cards.
        for card in [
            "bereich-antraege",
            "bereich-nachrichten",
            "bereich-inhalte",
            "bereich-formulare",
            "bereich-zahlungen",
            "bereich-schnittstellen",
            "bereich-einstellungen",
        ] {
            assert!(start.body.contains(&format!("id=\"{card}\"")), "card {card}");
        }
    });
}
