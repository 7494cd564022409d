//! Editing locations and opening hours with closure days.

use crate::on_each_backend;
use crate::verwaltung::{enc, get, hidden, post, sign_in};

fn body(csrf: &str, version: &str, monday: &str, closed: &str) -> String {
    format!(
        "csrf={csrf}&version={version}&name=Rathaus+Moorbr%C3%BCck&street=Markt+1&plz=29391&city=Moorbr%C3%BCck&accessibility=&mo={}&di=&mi=&do=08%3A00-12%3A00&fr=&sa=&so=&closed={}",
        enc(monday),
        enc(closed)
    )
}

#[tokio::test]
async fn opening_hours_and_closures_are_edited_and_shown_at_once() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let town = store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        let loc = town.main_location_id.unwrap();
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/standorte/").await;
        assert_eq!(list.status, 200);
        let path = format!("/verwaltung/behoerden/moorbrueck/standorte/{loc}");
        let form = get(app, &mut jar, &path).await;
        assert_eq!(form.status, 200);
        let csrf = hidden(&form.body, "csrf");
        let version = hidden(&form.body, "version");

        let bad = post(app, &mut jar, &path, &body(&csrf, &version, "19:00-07:00", "32.13.2026")).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Montag: In „19:00-07:00“ liegt das Ende vor dem Beginn."));
        assert!(bad.body.contains("„32.13.2026“ ist kein Datum"));
        assert!(bad.body.contains("Es wurde nichts gespeichert."));

        let ok = post(app, &mut jar, &path, &body(&csrf, &version, "07:00-19:00", "01.12.2026\n2026-12-24")).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let public = app.get("/o/moorbrueck/").await;
        assert!(public.body.contains("07:00–19:00 Uhr"), "new hours on the portal at once");
        let saved = store.location(town.id, loc).await.unwrap().unwrap().hours();
        assert_eq!(saved.closed.len(), 2);

        let stale = post(app, &mut jar, &path, &body(&csrf, &version, "09:00-10:00", "")).await;
        assert_eq!(stale.status, 409);
        assert!(stale.body.contains("Gleichzeitige Änderung") && stale.body.contains("09:00-10:00"));

        let new =
            post(app, &mut jar, "/verwaltung/behoerden/moorbrueck/standorte/neu", &body(&csrf, "0", "10:00-12:00", ""))
                .await;
        assert_eq!(new.status, 303);
        assert_eq!(store.locations(town.id).await.unwrap().len(), 3);
    });
}

#[tokio::test]
async fn org_units_and_contacts_are_edited_with_checks() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let town = store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        let county = store.authority_by_slug("landkreis-heidekamp").await.unwrap().unwrap();
        let unit = store.org_units(town.id).await.unwrap().remove(0);
        let contact = store.contacts(town.id).await.unwrap().remove(0);
        let foreign_unit = store.org_units(county.id).await.unwrap().remove(0);
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/stellen/").await.status, 200);

        let path = format!("/verwaltung/behoerden/moorbrueck/stellen/{}", unit.id);
        let form = get(app, &mut jar, &path).await;
        let csrf = hidden(&form.body, "csrf");
        let version = hidden(&form.body, "version");
        let r = post(
            app,
            &mut jar,
            &path,
            &format!("csrf={csrf}&version={version}&name=B%C3%BCrgerservice+Mitte&description=&phone=&email=&link="),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(
            app.get(&format!("/o/moorbrueck/organisation/{}", unit.slug)).await.body.contains("Bürgerservice Mitte")
        );
        let stale = post(app, &mut jar, &path, &format!("csrf={csrf}&version={version}&name=Alt&link=")).await;
        assert_eq!(stale.status, 409);

        let cpath = format!("/verwaltung/behoerden/moorbrueck/kontakte/{}", contact.id);
        let form = get(app, &mut jar, &cpath).await;
        let version = hidden(&form.body, "version");
        let bad = post(app, &mut jar, &cpath, &format!("csrf={csrf}&version={version}&name=X&email=kein+mail")).await;
        assert_eq!(bad.status, 422);
        let foreign =
            post(app, &mut jar, &cpath, &format!("csrf={csrf}&version={version}&name=X&link={}", foreign_unit.id))
                .await;
        assert_eq!(foreign.status, 422, "an org unit of another authority cannot be linked");
        let ok = post(
            app,
            &mut jar,
            &cpath,
            &format!(
                "csrf={csrf}&version={version}&name={}&role=Meldewesen&phone=05190+999&link={}",
                enc(&contact.name),
                unit.id
            ),
        )
        .await;
        assert_eq!(ok.status, 303);
        assert!(app.get(&format!("/o/moorbrueck/kontakte/{}", contact.slug)).await.body.contains("05190 999"));
        let new = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/kontakte/neu",
            &format!("csrf={csrf}&version=0&name=Neue+Person&role=Empfang"),
        )
        .await;
        assert_eq!(new.status, 303);
        assert!(app.get("/o/moorbrueck/kontakte/").await.body.contains("Neue Person"));
    });
}
