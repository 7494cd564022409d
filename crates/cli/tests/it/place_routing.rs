//! Responsibility routing by the citizen's place.

use crate::on_each_backend;

#[tokio::test]
async fn place_is_remembered_and_routes_to_the_responsible_authority() {
    on_each_backend!(|app| {
        // Birkhusen belongs to the Samtgemeinde Heideland.
        let set = app.get("/ort?ort=Birkhusen&zurueck=/leistungen/meldebescheinigung").await;
        assert_eq!(set.status, 303);
        assert_eq!(set.location(), "/leistungen/meldebescheinigung");
        let cookie = set.cookie();
        assert!(cookie.starts_with("amtsweg_ort="));
        let set_cookie = set.headers["set-cookie"].to_str().unwrap();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));

        let go = app.get_with("/leistungen/meldebescheinigung", "127.0.0.1", Some(&cookie)).await;
        assert_eq!(go.status, 303);
        assert_eq!(go.location(), "/o/sg-heideland/leistungen/meldebescheinigung");

        // The same service of the town tells a Birkhusen citizen who is responsible instead.
        let other = app.get_with("/o/moorbrueck/leistungen/meldebescheinigung", "127.0.0.1", Some(&cookie)).await;
        assert!(other.body.contains("sondern <strong>Samtgemeinde Heideland</strong>"), "{}", other.body);
        assert!(other.body.contains("/o/sg-heideland/leistungen/meldebescheinigung"));

        // A county service applies to everyone in the county.
        let kfz = app.get_with("/o/landkreis-heidekamp/leistungen/kfz-neuzulassung", "127.0.0.1", Some(&cookie)).await;
        assert!(kfz.body.contains("ist <strong>Landkreis Heidekamp</strong> zuständig"));
        let page = app.get_with("/", "127.0.0.1", Some(&cookie)).await;
        assert!(page.body.contains("Ihr Ort: <strong>Birkhusen</strong>"), "place shown and changeable");

        // Moorbrück is served by the town itself.
        let mb = app.get("/ort?ort=29391&zurueck=/").await;
        let go = app.get_with("/leistungen/meldebescheinigung", "127.0.0.1", Some(&mb.cookie())).await;
        assert_eq!(go.location(), "/o/moorbrueck/leistungen/meldebescheinigung");
    });
}

#[tokio::test]
async fn a_plz_spanning_several_municipalities_lets_the_citizen_choose() {
    on_each_backend!(|app| {
        let r = app.get("/ort?ort=29399&zurueck=/leistungen/").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("mehreren Gemeinden"));
        assert!(r.body.contains(">Birkhusen</a>") && r.body.contains(">Ellerloh</a>"));
        let id_link = r.body.split("/ort?ort_id=").nth(1).unwrap();
        let id: String = id_link.chars().take_while(char::is_ascii_digit).collect();
        let chosen = app.get(&format!("/ort?ort_id={id}&zurueck=/leistungen/")).await;
        assert_eq!(chosen.status, 303);
        assert_eq!(chosen.location(), "/leistungen/");
    });
}

#[tokio::test]
async fn places_outside_the_verbund_get_a_clear_message() {
    on_each_backend!(|app| {
        let r = app.get("/ort?ort=Hamburg&zurueck=/").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("liegt nicht im Gebiet des Portalverbund Landkreis Heidekamp"));
        assert!(r.body.contains("aria-invalid=\"true\""));
        let empty = app.get("/ort?ort=%20%07&zurueck=/").await;
        assert_eq!(empty.status, 422);

        // Sandhorst is in the county but not on the platform: county services resolve,
        // municipal ones say that no authority of the Verbund is responsible.
        let s = app.get("/ort?ort=Sandhorst&zurueck=/").await;
        let cookie = s.cookie();
        let kfz = app.get_with("/leistungen/kfz-neuzulassung", "127.0.0.1", Some(&cookie)).await;
        assert_eq!(kfz.location(), "/o/landkreis-heidekamp/leistungen/kfz-neuzulassung");
        let melde = app.get_with("/leistungen/meldebescheinigung", "127.0.0.1", Some(&cookie)).await;
        assert_eq!(melde.status, 200);
        assert!(melde.body.contains("keine Behörde"));
    });
}

#[tokio::test]
async fn redirect_targets_stay_on_the_site() {
    on_each_backend!(|app| {
        let r = app.get("/ort?ort=Birkhusen&zurueck=//evil.example/").await;
        assert_eq!(r.location(), "/");
        let r = app.get("/ort?ort=Birkhusen&zurueck=https://evil.example/").await;
        assert_eq!(r.location(), "/");
        let cleared = app.get("/ort?loeschen=1&zurueck=/").await;
        assert!(cleared.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    });
}

#[tokio::test]
async fn without_a_place_the_verbund_service_page_asks_for_it() {
    on_each_backend!(|app| {
        let r = app.get("/leistungen/meldebescheinigung").await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("Zuständige Stelle finden"));
        assert!(r.body.contains("Stadt Moorbrück") && r.body.contains("Samtgemeinde Heideland"));
        assert!(r.body.contains("Birkhusen, Ellerloh"), "areas named");
        // A county-only service needs no place.
        let k = app.get("/leistungen/waffenbesitzkarte").await;
        assert_eq!(k.status, 303);
    });
}

#[tokio::test]
async fn typed_places_are_found_despite_typos_and_umlaut_spellings() {
    on_each_backend!(|app| {
        for (typed, expect) in [
            ("moorbruck", "/o/moorbrueck/leistungen/meldebescheinigung"),
            ("Moorbrueck", "/o/moorbrueck/leistungen/meldebescheinigung"),
            ("Morbrück", "/o/moorbrueck/leistungen/meldebescheinigung"),
            ("Birkhusn", "/o/sg-heideland/leistungen/meldebescheinigung"),
            ("29399 birkhusn", "/o/sg-heideland/leistungen/meldebescheinigung"),
            ("ellerlo", "/o/sg-heideland/leistungen/meldebescheinigung"),
        ] {
            let set = app.get(&format!("/ort?ort={}&zurueck=/", typed.replace(' ', "+").replace('ü', "%C3%BC"))).await;
            assert_eq!(set.status, 303, "{typed:?} is accepted: {}", set.body);
            let go = app.get_with("/leistungen/meldebescheinigung", "127.0.0.1", Some(&set.cookie())).await;
            assert_eq!(go.location(), expect, "{typed:?}");
        }
        // Too far from every place (and short words get no typo allowance): refused.
        for typed in ["Moxbrxck", "Elle1", "Bi"] {
            let r = app.get(&format!("/ort?ort={typed}&zurueck=/")).await;
            assert_eq!(r.status, 422, "{typed:?}");
        }
    });
}

#[tokio::test]
async fn several_similar_places_are_offered_to_choose_and_none_is_picked() {
    on_each_backend!(|app| {
        let mut tx = app.store.store.begin().await.unwrap();
        tx.insert_place(&amtsweg_store::NewPlace {
            name: "Birkhausen".into(),
            ars: amtsweg_domain::Ars::parse("039515401013").unwrap(),
            plz: vec!["29398".into()],
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(amtsweg_web::sync::refresh(&app.state).await.unwrap());
        // One typo away from both Birkhusen and Birkhausen.
        let r = app.get("/ort?ort=Birkhuusen&zurueck=/leistungen/").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.headers.contains_key("set-cookie"), "no place is chosen for the citizen");
        assert!(r.body.contains("Zu „Birkhuusen“ passen mehrere Gemeinden"), "{}", r.body);
        let list = r.body.split("class=\"choices\"").nth(1).unwrap().split("</ul>").next().unwrap();
        let offered: Vec<&str> = list
            .split("</a>")
            .filter_map(|s| s.rsplit_once('>').map(|(_, name)| name))
            .filter(|n| !n.trim().is_empty())
            .collect();
        assert_eq!(offered, ["Birkhausen", "Birkhusen"], "both offered, alphabetically at equal distance: {}", r.body);
        // The exact name is taken at once.
        let exact = app.get("/ort?ort=birkhausen&zurueck=/").await;
        assert_eq!(exact.status, 303);
    });
}
