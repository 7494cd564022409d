//! Tenant administration: adding a member authority and setting its look.

use crate::on_each_backend;
use crate::verwaltung::{enc, get, hidden, post, sign_in};

fn form(csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut out = format!("csrf={csrf}");
    for (k, v) in fields {
        out.push_str(&format!("&{k}={}", enc(v)));
    }
    out
}

const GOOD: &[(&str, &str)] = &[
    ("name", "Gemeinde Heidhof"),
    ("kind", "gemeinde"),
    ("parent", "sg-heideland"),
    ("ars", "039515401013"),
    ("ags", "03951013"),
    ("hosts", "portal.heidhof.example"),
    ("street", "Dorfstraße 1"),
    ("plz", "29399"),
    ("city", "Heidhof"),
    ("primary_color", "#2a5d2a"),
];

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    GOOD.iter().map(|(k, v)| (*k, changes.iter().find(|(c, _)| c == k).map_or(*v, |(_, nv)| *nv))).collect()
}

#[tokio::test]
async fn the_verbund_administrator_adds_an_authority_in_one_form() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let page = get(app, &mut jar, "/verwaltung/verbund/behoerden/neu").await;
        assert_eq!(page.status, 200);
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, "/verwaltung/verbund/behoerden/neu", &form(&csrf, GOOD)).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let list = get(app, &mut jar, r.location()).await;
        assert!(list.body.contains("Gemeinde Heidhof") && list.body.contains("portal.heidhof.example"));
        let portal = app.get("/o/gemeinde-heidhof/").await;
        assert_eq!(portal.status, 200);
        assert!(portal.body.contains("<h1>Gemeinde Heidhof</h1>"));
        let by_host = app.get_with("/", "portal.heidhof.example", None).await;
        assert!(by_host.body.contains("<h1>Gemeinde Heidhof</h1>"), "own host name works at once");
        assert!(app.get("/o/gemeinde-heidhof/theme.css").await.body.contains("#2a5d2a"));
        let audit = app.store.store.audit_entries(None, 20).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "authority.create"));
    });
}

#[tokio::test]
async fn bad_authority_input_is_explained_and_nothing_is_saved() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let csrf = hidden(&get(app, &mut jar, "/verwaltung/verbund/behoerden/neu").await.body, "csrf");
        let before = app.store.store.authorities().await.unwrap().len();
        for (changes, expect) in [
            (vec![("ars", "03951540101")], "12 Ziffern"),
            (vec![("ags", "03951099")], "nicht dieselbe Gemeinde"),
            (vec![("ars", "039510099099"), ("ags", "03951099")], "nicht im Gebiet"),
            (vec![("ars", "039515401011"), ("ags", "03951011")], "bereits eine Behörde"),
            (vec![("name", "Moorbrück"), ("ars", "039515401014"), ("ags", "03951014")], "schon vergeben"),
            (vec![("hosts", "landkreis-heidekamp.localhost")], "schon verwendet"),
            (vec![("hosts", "evil.example/pfad")], "kein gültiger Hostname"),
            (vec![("primary_color", "#ffff00")], "mindestens 4,5:1"),
            (vec![("primary_color", "rot")], "#rrggbb"),
            (vec![("parent", "")], "übergeordnete Behörde"),
        ] {
            let r = post(app, &mut jar, "/verwaltung/verbund/behoerden/neu", &form(&csrf, &with(&changes))).await;
            assert_eq!(r.status, 422, "{changes:?}");
            assert!(r.body.contains(expect), "{changes:?} should say {expect}");
            assert!(r.body.contains("Es wurde nichts gespeichert."));
        }
        assert_eq!(app.store.store.authorities().await.unwrap().len(), before);

        // Only the Verbund administrator may add authorities.
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        assert_eq!(get(app, &mut admin, "/verwaltung/verbund/behoerden/").await.status, 403);
        let r = post(app, &mut admin, "/verwaltung/verbund/behoerden/neu", &form(&csrf, GOOD)).await;
        assert_eq!(r.status, 403);
    });
}

#[tokio::test]
async fn an_authority_sets_its_colour_with_contrast_enforced() {
    on_each_backend!(|app| {
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/darstellung").await;
        assert_eq!(page.status, 200);
        let csrf = hidden(&page.body, "csrf");
        let bad = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/darstellung",
            &format!("csrf={csrf}&primary_color=%23ffff00&intro=x"),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("nur einen Kontrast von 1.1:1"));
        let ok = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/darstellung",
            &format!("csrf={csrf}&primary_color=%23225522&intro=Hallo+Moorbr%C3%BCck"),
        )
        .await;
        assert_eq!(ok.status, 303);
        assert!(app.get("/o/moorbrueck/theme.css").await.body.contains("#225522"));
        assert!(app.get("/o/moorbrueck/").await.body.contains("Hallo Moorbrück"));
        assert_eq!(get(app, &mut admin, "/verwaltung/behoerden/ellerloh/darstellung").await.status, 403);
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut editor, "/verwaltung/behoerden/moorbrueck/darstellung").await.status, 403);
    });
}

#[tokio::test]
async fn the_responsibility_editor_shows_gaps_and_overlaps() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let page = get(app, &mut jar, "/verwaltung/verbund/zustaendigkeiten/").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Lücke: niemand zuständig für Sandhorst"), "Sandhorst is not on the platform");
        let csrf = hidden(&page.body, "csrf");
        let store = &app.store.store;
        let county = store.authority_by_slug("landkreis-heidekamp").await.unwrap().unwrap();
        let town = store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        let melde = "99115003012000";

        // The county takes over registration certificates for Sandhorst.
        let r = post(
            app,
            &mut jar,
            "/verwaltung/verbund/zustaendigkeiten/",
            &format!("csrf={csrf}&aktion=hinzufuegen&leika={melde}&authority_id={}&area=039510020020", county.id),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let cookie = app.get("/ort?ort=Sandhorst&zurueck=/").await.cookie();
        let go = app.get_with("/leistungen/meldebescheinigung", "127.0.0.1", Some(&cookie)).await;
        assert_eq!(go.status, 303);
        assert_eq!(go.location(), "/o/landkreis-heidekamp/", "routing follows the new rule at once");

        // A second authority for the Samtgemeinde's area is an overlap.
        let r = post(
            app,
            &mut jar,
            "/verwaltung/verbund/zustaendigkeiten/",
            &format!("csrf={csrf}&aktion=hinzufuegen&leika={melde}&authority_id={}&area=039515401", town.id),
        )
        .await;
        assert_eq!(r.status, 303);
        let page = get(app, &mut jar, "/verwaltung/verbund/zustaendigkeiten/").await;
        assert!(
            page.body.contains("Überschneidung: Stadt Moorbrück und Samtgemeinde Heideland für dasselbe Gebiet")
                || page.body.contains("Überschneidung: Samtgemeinde Heideland und Stadt Moorbrück für dasselbe Gebiet")
        );
        let r = post(
            app,
            &mut jar,
            "/verwaltung/verbund/zustaendigkeiten/",
            &format!("csrf={csrf}&aktion=entfernen&leika={melde}&authority_id={}&area=039515401", town.id),
        )
        .await;
        assert_eq!(r.status, 303);
        let page = get(app, &mut jar, "/verwaltung/verbund/zustaendigkeiten/").await;
        assert!(!page.body.contains("Überschneidung: Stadt Moorbrück"));

        let bad = post(
            app,
            &mut jar,
            "/verwaltung/verbund/zustaendigkeiten/",
            &format!("csrf={csrf}&aktion=hinzufuegen&leika=123&authority_id={}&area=03951", county.id),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("14 Ziffern"));
        let bad = post(
            app,
            &mut jar,
            "/verwaltung/verbund/zustaendigkeiten/",
            &format!("csrf={csrf}&aktion=hinzufuegen&leika={melde}&authority_id={}&area=0", county.id),
        )
        .await;
        assert_eq!(bad.status, 422);
    });
}

/// A valid 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0xF8, 0x0F, 0x00, 0x01, 0x04, 0x01, 0x00, 0x5F, 0xE5, 0xC3,
    0x4B, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn an_authority_uploads_a_logo_and_sets_footer_links() {
    on_each_backend!(|app| {
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/darstellung").await;
        let csrf = hidden(&page.body, "csrf");
        let upload = |name: &'static str, bytes: &'static [u8], csrf: String, cookie: String| async move {
            app.post_multipart(
                "/verwaltung/behoerden/moorbrueck/logo",
                &[("csrf", &csrf), ("aktion", "hochladen")],
                ("logo", name, bytes),
                &cookie,
            )
            .await
        };
        let cookie = admin.header();
        // Script disguised as an image, a wrong extension, an oversized file: refused with a reason.
        let r = upload(
            "logo.png",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            csrf.clone(),
            cookie.clone(),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("kein PNG-, JPEG- oder WebP-Bild"), "{}", r.body);
        let r = upload("logo.gif", PNG, csrf.clone(), cookie.clone()).await;
        assert!(r.body.contains("„.gif“"));
        let huge: &'static [u8] = Box::leak([PNG, &vec![0u8; 600 * 1024]].concat().into_boxed_slice());
        let r = upload("logo.png", huge, csrf.clone(), cookie.clone()).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("größer als 512 KB"));
        assert!(app.store.store.authority_by_slug("moorbrueck").await.unwrap().unwrap().logo_key.is_empty());
        // Without the session's CSRF token nothing is stored.
        assert_eq!(upload("logo.png", PNG, "falsch".into(), cookie.clone()).await.status, 403);
        // Another authority's administrator cannot upload for Moorbrück.
        let ellerloh = app
            .post_multipart(
                "/verwaltung/behoerden/ellerloh/logo",
                &[("csrf", &csrf)],
                ("logo", "logo.png", PNG),
                &cookie,
            )
            .await;
        assert_eq!(ellerloh.status, 403);

        let r = upload("Wappen.PNG", PNG, csrf.clone(), cookie.clone()).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let start = app.get("/o/moorbrueck/").await.body;
        let src = start
            .split("class=\"brand-logo\" src=\"")
            .nth(1)
            .expect("logo in the header")
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        assert!(src.starts_with("/o/moorbrueck/logo/logo-") && src.ends_with(".png"), "{src}");
        let logo = app.get(&src).await;
        assert_eq!(logo.status, 200);
        assert_eq!(logo.headers["content-type"], "image/png");
        assert!(logo.headers["cache-control"].to_str().unwrap().contains("immutable"));
        assert_eq!(app.get("/o/ellerloh/logo/x.png").await.status, 404);
        assert_eq!(app.get(&src.replace("moorbrueck", "ellerloh")).await.status, 404, "logos are per authority");

        // Footer links: a bad one is explained, good ones show in the authority's footer.
        let bad = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/darstellung",
            &format!(
                "csrf={csrf}&primary_color=%231d4f91&intro=&link_label=Presse&link_url={}",
                enc("javascript:alert(1)")
            ),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Link 1: Die Adresse muss mit https://"));
        let ok = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/darstellung",
            &format!(
                "csrf={csrf}&primary_color=%231d4f91&intro=&link_label=Presse&link_url={}&link_label=&link_url=&link_label=Stellenangebote&link_url={}",
                enc("https://moorbrueck.example/presse"),
                enc("https://moorbrueck.example/stellen")
            ),
        )
        .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let start = app.get("/o/moorbrueck/").await.body;
        assert!(start.contains("<a href=\"https://moorbrueck.example/presse\">Presse</a>"));
        assert!(start.contains("Stellenangebote"));
        assert!(!app.get("/o/ellerloh/").await.body.contains("moorbrueck.example/presse"));
        // Removing the logo.
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/darstellung").await;
        assert!(page.body.contains("Logo entfernen"));
        let r = app
            .post_multipart(
                "/verwaltung/behoerden/moorbrueck/logo",
                &[("csrf", &csrf), ("aktion", "entfernen")],
                ("logo", "", b""),
                &admin.header(),
            )
            .await;
        assert_eq!(r.status, 303);
        assert!(!app.get("/o/moorbrueck/").await.body.contains("brand-logo"));
        assert_eq!(app.get(&src).await.status, 404);
    });
}
