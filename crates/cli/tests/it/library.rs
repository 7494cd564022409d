//! The Verbund library through the back office: adopt linked, local fields, upstream
//! changes with diff and acceptance, "where used", copies, and org-unit scoped roles.

use crate::editing::{form_body, id_of};
use crate::on_each_backend;
use crate::verwaltung::{get, hidden, post, sign_in};
use amtsweg_domain::leistung::LeistungContent;

#[tokio::test]
async fn a_town_adopts_a_library_entry_linked_and_follows_its_updates() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, "/verwaltung/bibliothek/").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Dorfgemeinschaftshaus"), "the demo offers Birkhusen's services");
        let birkhusen = store.authority_by_slug("birkhusen").await.unwrap().unwrap();
        let source = id_of(app, "birkhusen", "dorfgemeinschaftshaus-mieten").await;
        let entry = store.library_entry_of(birkhusen.id, source).await.unwrap().unwrap();
        let page = get(app, &mut jar, &format!("/verwaltung/bibliothek/{}", entry.id)).await;
        assert!(page.body.contains("Für Stadt Moorbrück übernehmen"), "{}", page.body);
        assert!(!page.body.contains("/verwaltung/behoerden/sg-heideland/"), "only authorities this editor edits");
        let csrf = hidden(&page.body, "csrf");

        // Not for another authority, and not for nonsense modes.
        let foreign = format!("/verwaltung/behoerden/sg-heideland/bibliothek/{}/uebernehmen", entry.id);
        assert_eq!(post(app, &mut jar, &foreign, &format!("csrf={csrf}&art=linked")).await.status, 403);
        let own = format!("/verwaltung/behoerden/moorbrueck/bibliothek/{}/uebernehmen", entry.id);
        let r = post(app, &mut jar, &own, &format!("csrf={csrf}&art=fork")).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("verknüpft oder als Kopie"), "plain-language error");

        let r = post(app, &mut jar, &own, &format!("csrf={csrf}&art=linked")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().contains("hinweis=uebernommen"));
        let edit_path = r.location().split('?').next().unwrap().to_owned();
        let again = post(app, &mut jar, &own, &format!("csrf={csrf}&art=copy")).await;
        assert!(again.location().contains("schon-uebernommen"), "never adopted twice");

        // The shared text is read-only; the town sets its own fee and unit and publishes.
        let editor = get(app, &mut jar, &edit_path).await;
        assert!(editor.body.contains("den gemeinsamen Text pflegt Gemeinde Birkhusen"), "{}", editor.body);
        assert!(editor.body.contains("readonly"));
        let unit = store.org_units(app.authority_id("moorbrueck").await).await.unwrap()[0].id.to_string();
        let body = form_body(
            &editor.body,
            &[
                ("fees", "In Moorbrück: 40 Euro pro Tag"),
                ("description", "Eigenmächtig geändert"),
                ("org_unit_id", &unit),
            ],
            "veroeffentlichen",
        );
        let r = post(app, &mut jar, &edit_path, &body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let public = app.get("/o/moorbrueck/leistungen/dorfgemeinschaftshaus-mieten").await;
        assert_eq!(public.status, 200);
        assert!(public.body.contains("In Moorbrück: 40 Euro pro Tag"));
        assert!(!public.body.contains("Eigenmächtig geändert"), "linked text stays Birkhusen's");

        // Where used: Birkhusen sees Moorbrück.
        let detail = get(app, &mut jar, &format!("/verwaltung/bibliothek/{}", entry.id)).await;
        assert!(detail.body.contains("Stadt Moorbrück – verknüpft"), "{}", detail.body);

        // Birkhusen changes its text: Moorbrück sees the change with a diff and accepts it.
        let mut tx = store.begin().await.unwrap();
        let original = store.leistung_by_id(birkhusen.id, source).await.unwrap().unwrap();
        let changed = LeistungContent {
            description: format!("{}\n\nNeu: Schlüsselübergabe auch samstags.", original.description),
            ..LeistungContent::of(&original)
        };
        tx.save_draft(birkhusen.id, source, 0, &changed, None).await.unwrap();
        tx.publish_draft(birkhusen.id, source, 1, None).await.unwrap();
        tx.commit().await.unwrap();
        let editor = get(app, &mut jar, &edit_path).await;
        assert!(editor.body.contains("Neue Fassung 2 verfügbar"), "{}", editor.body);
        assert!(
            editor.body.contains("<ins><span class=\"visually-hidden\">hinzugefügt: </span>Neu: Schlüsselübergabe")
        );
        let csrf = hidden(&editor.body, "csrf");
        let r = post(
            app,
            &mut jar,
            &format!("{edit_path}/bibliothek"),
            &format!("csrf={csrf}&aktion=aenderungen-uebernehmen"),
        )
        .await;
        assert!(r.location().contains("aenderungen-uebernommen"), "{}", r.location());
        let public = app.get("/o/moorbrueck/leistungen/dorfgemeinschaftshaus-mieten").await;
        assert!(public.body.contains("Schlüsselübergabe auch samstags"));
        assert!(public.body.contains("In Moorbrück: 40 Euro pro Tag"), "the local fee survives");

        // Detached, the text is Moorbrück's own.
        let r = post(app, &mut jar, &format!("{edit_path}/bibliothek"), &format!("csrf={csrf}&aktion=loesen")).await;
        assert!(r.location().contains("geloest"));
        let editor = get(app, &mut jar, &edit_path).await;
        assert!(!editor.body.contains("den gemeinsamen Text pflegt"));
        let log = store.audit_entries(None, 500).await.unwrap();
        for action in ["library.adopt", "library.accept", "library.detach"] {
            assert!(log.iter().any(|e| e.action == action), "{action} audited");
        }
    });
}

#[tokio::test]
async fn an_editor_offers_a_service_and_withdraws_it() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let id = id_of(app, "moorbrueck", "osterfeuer").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let page = get(app, &mut jar, &path).await;
        assert!(page.body.contains("In der Verbund-Bibliothek anbieten"));
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, &format!("{path}/bibliothek"), &format!("csrf={csrf}&aktion=anbieten")).await;
        assert!(r.location().contains("hinweis=angeboten"), "{}", r.location());
        let list = get(app, &mut jar, "/verwaltung/bibliothek/").await;
        assert!(list.body.contains("Osterfeuer"));
        let r = post(app, &mut jar, &format!("{path}/bibliothek"), &format!("csrf={csrf}&aktion=zurueckziehen")).await;
        assert!(r.location().contains("bibliothek-zurueckgezogen"));
        assert!(!get(app, &mut jar, "/verwaltung/bibliothek/").await.body.contains("Osterfeuer"));
        // Without the CSRF token nothing happens.
        assert_eq!(post(app, &mut jar, &format!("{path}/bibliothek"), "csrf=falsch&aktion=anbieten").await.status, 403);
    });
}

#[tokio::test]
async fn an_editor_limited_to_one_org_unit_edits_only_that_units_content() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "standesamt@moorbrueck.example").await;
        let birth = id_of(app, "moorbrueck", "geburtsurkunde").await;
        let passport = id_of(app, "moorbrueck", "reisepass").await;
        let base = "/verwaltung/behoerden/moorbrueck";
        let list = get(app, &mut jar, &format!("{base}/leistungen/")).await;
        assert!(list.body.contains("(andere Stelle)"));
        let page = get(app, &mut jar, &format!("{base}/leistungen/{birth}")).await;
        assert_eq!(page.status, 200);
        assert_eq!(get(app, &mut jar, &format!("{base}/leistungen/{passport}")).await.status, 403);
        assert_eq!(get(app, &mut jar, &format!("{base}/standorte/")).await.status, 403, "locations are authority-wide");
        assert_eq!(get(app, &mut jar, &format!("{base}/seiten/impressum")).await.status, 403);
        assert_eq!(get(app, &mut jar, &format!("{base}/stellen/neu")).await.status, 403);
        // Moving a service to another unit is refused with a message, nothing stored.
        let buergerbuero = app.org_unit_id("moorbrueck", "Bürgerbüro").await.to_string();
        let body = form_body(&page.body, &[("org_unit_id", &buergerbuero)], "speichern");
        let r = post(app, &mut jar, &format!("{base}/leistungen/{birth}"), &body).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("nur Leistungen Ihrer eigenen Stelle"));
        let a = app.authority_id("moorbrueck").await;
        assert!(app.store.store.draft(a, birth).await.unwrap().is_none());
        // Within the unit, saving works.
        let standesamt = app.org_unit_id("moorbrueck", "Standesamt").await.to_string();
        let body =
            form_body(&page.body, &[("org_unit_id", &standesamt), ("summary", "Geprüft vom Standesamt")], "speichern");
        assert_eq!(post(app, &mut jar, &format!("{base}/leistungen/{birth}"), &body).await.status, 303);
        assert!(app.store.store.draft(a, birth).await.unwrap().is_some());
    });
}
