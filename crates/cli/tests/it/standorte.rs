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
