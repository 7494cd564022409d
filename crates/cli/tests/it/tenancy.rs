//! Tenants from host names and paths, and isolation between them.

use crate::on_each_backend;

#[tokio::test]
async fn the_host_name_selects_the_tenant() {
    on_each_backend!(|app| {
        let home = app.get_with("/", "moorbrueck.localhost:8080", None).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("<h1>Stadt Moorbrück</h1>"));
        let az = app.get_with("/leistungen/", "MOORBRUECK.localhost", None).await;
        assert!(az.body.contains("Leistungen von A bis Z – Stadt Moorbrück"));
        let detail = app.get_with("/leistungen/meldebescheinigung?x=1", "moorbrueck.localhost:8080", None).await;
        assert_eq!(detail.status, 200);
        // Configured host names work as well.
        let county = app.get_with("/", "landkreis-heidekamp.localhost", None).await;
        assert!(county.body.contains("<h1>Landkreis Heidekamp</h1>"));
        // Shared paths stay Verbund-wide on a tenant host.
        let search = app.get_with("/suche?q=hund", "moorbrueck.localhost:8080", None).await;
        assert_eq!(search.status, 200);
        assert!(search.body.contains("Treffer"));
    });
}

#[tokio::test]
async fn unknown_hosts_and_slugs_get_a_helpful_404() {
    on_each_backend!(|app| {
        for r in [
            app.get_with("/", "nirgendwo.localhost:8080", None).await,
            app.get_with("/", "evil.example", None).await,
            app.get("/o/nirgendwo/").await,
            app.get("/o/moorbrueck/leistungen/gibt-es-nicht").await,
            app.get("/o/moorbrueck/organisation/x").await,
            app.get("/o/moorbrueck/kontakte/x").await,
            app.get("/irgendwas").await,
        ] {
            assert_eq!(r.status, 404);
            assert!(r.body.contains("Seite nicht gefunden"));
            assert!(r.body.contains("Diese Portale gibt es"), "404 lists the portals");
            for slug in ["landkreis-heidekamp", "moorbrueck", "sg-heideland", "birkhusen", "ellerloh"] {
                assert!(r.body.contains(&format!("/o/{slug}/")));
            }
            assert!(r.body.contains("Fehlernummer"), "correlation id shown");
        }
    });
}

#[tokio::test]
async fn no_authority_shows_another_authoritys_content() {
    on_each_backend!(|app| {
        let c = app.state.catalogue();
        let mut checked = 0;
        for a in &c.authorities {
            for b in c.authorities.iter().filter(|b| b.id != a.id) {
                for l in c.leistungen_of(b.id) {
                    if c.leistung(a.id, l.slug.as_str()).is_some() {
                        continue; // a has its own service of that name
                    }
                    let r = app.get(&format!("/o/{}/leistungen/{}", a.slug, l.slug)).await;
                    assert_eq!(r.status, 404, "{} must not show {}'s {}", a.slug, b.slug, l.slug);
                    checked += 1;
                }
                for o in c.org_units_of(b.id) {
                    let r = app.get(&format!("/o/{}/organisation/{}", a.slug, o.slug)).await;
                    assert_eq!(r.status, 404);
                }
                for ct in c.contacts_of(b.id) {
                    let r = app.get(&format!("/o/{}/kontakte/{}", a.slug, ct.slug)).await;
                    assert_eq!(r.status, 404);
                }
            }
        }
        assert!(checked > 100);
        // Lists only show the tenant's own entries.
        let az = app.get("/o/birkhusen/leistungen/").await;
        assert!(!az.body.contains("Fahrzeug zulassen"));
    });
}
