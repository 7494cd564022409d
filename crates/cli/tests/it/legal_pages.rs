//! The pages BITV 2.0 and the law require, per authority, from templates or edited.

use crate::on_each_backend;
use crate::verwaltung::{enc, get, hidden, post, sign_in};

#[tokio::test]
async fn every_authority_has_its_required_pages() {
    on_each_backend!(|app| {
        for (slug, street) in [("moorbrueck", "Markt"), ("ellerloh", "")] {
            let home = app.get(&format!("/o/{slug}/")).await;
            for kind in ["leichte-sprache", "gebaerdensprache", "barrierefreiheit", "impressum", "datenschutz"] {
                let url = format!("/o/{slug}/seiten/{kind}");
                assert!(home.body.contains(&format!("href=\"{url}\"")), "footer of {slug} links {kind}");
                let page = app.get(&url).await;
                assert_eq!(page.status, 200, "{url}");
                assert!(!page.body.contains("{name}") && !page.body.contains("{email}"), "no unfilled placeholders");
                if kind == "impressum" && !street.is_empty() {
                    assert!(page.body.contains(street), "{url} names the authority's address");
                }
            }
        }
        assert!(
            app.get("/").await.body.contains("/o/landkreis-heidekamp/seiten/impressum"),
            "Verbund pages link the county's"
        );
        assert_eq!(app.get("/o/moorbrueck/seiten/agb").await.status, 404);
        let b = app.get("/o/moorbrueck/seiten/barrierefreiheit").await;
        assert!(b.body.contains("Schlichtungsverfahren") && b.body.contains("BITV 2.0"));
    });
}

#[tokio::test]
async fn editors_adapt_a_page_with_drafts_history_and_conflict_detection() {
    on_each_backend!(|app| {
        let page = "/verwaltung/behoerden/moorbrueck/seiten/impressum";
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/seiten/").await;
        assert!(list.body.contains("Impressum bearbeiten"));
        let form = get(app, &mut jar, page).await;
        let csrf = hidden(&form.body, "csrf");
        assert_eq!(hidden(&form.body, "version"), "0");
        assert_eq!(hidden(&form.body, "revision"), "0");
        // A draft is not public yet, but shows in the preview.
        let body = |version: &str, revision: &str, text: &str, aktion: &str| {
            format!(
                "csrf={csrf}&version={version}&revision={revision}&title=Impressum&body={}&aktion={aktion}",
                enc(text)
            )
        };
        let r = post(app, &mut jar, page, &body("0", "0", "Vertreten durch Bürgermeisterin Erika Muster.", "vorschau"))
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().ends_with("/impressum/vorschau"));
        assert!(get(app, &mut jar, r.location()).await.body.contains("Bürgermeisterin Erika Muster"));
        assert!(!app.get("/o/moorbrueck/seiten/impressum").await.body.contains("Bürgermeisterin Erika Muster"));
        // A second editor still at "no draft" is refused; the typed text is kept.
        let stale = post(app, &mut jar, page, &body("0", "0", "Alter Stand", "speichern")).await;
        assert_eq!(stale.status, 409);
        assert!(stale.body.contains("Alter Stand"), "typed text kept");
        // Publishing the draft.
        let r = post(
            app,
            &mut jar,
            page,
            &body("1", "0", "Vertreten durch Bürgermeisterin Erika Muster.", "veroeffentlichen"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(app.get("/o/moorbrueck/seiten/impressum").await.body.contains("Bürgermeisterin Erika Muster"));
        // Someone who loaded the page before that publication is refused too.
        let stale = post(app, &mut jar, page, &body("0", "0", "Noch älterer Stand", "speichern")).await;
        assert_eq!(stale.status, 409, "a publication in between is a conflict");
        // History: revision 1 with its diff against the template; restore makes a draft.
        let history = get(app, &mut jar, &format!("{page}/versionen")).await;
        assert!(history.body.contains("Fassung 1"));
        assert!(history.body.contains("von Rita Redaktion"), "the editor is named, not numbered");
        assert!(history.body.contains("hinzugefügt: </span>Vertreten durch Bürgermeisterin Erika Muster."));
        let r = post(app, &mut jar, page, &body("0", "1", "Zweite Fassung.", "veroeffentlichen")).await;
        assert_eq!(r.status, 303);
        let r = post(app, &mut jar, &format!("{page}/versionen/1/wiederherstellen"), &format!("csrf={csrf}")).await;
        assert!(r.location().contains("wiederhergestellt"));
        let form = get(app, &mut jar, page).await;
        assert!(form.body.contains("Bürgermeisterin Erika Muster"), "restored into the draft");
        assert!(app.get("/o/moorbrueck/seiten/impressum").await.body.contains("Zweite Fassung."), "public unchanged");

        let bad = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache",
            &format!(
                "csrf={csrf}&version=0&revision=0&title=DGS&body=x&video_url={}&aktion=veroeffentlichen",
                enc("javascript:alert(1)")
            ),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("https://"));
        let ok = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache",
            &format!(
                "csrf={csrf}&version=0&revision=0&title=DGS&body=Text+des+Videos&video_url={}&aktion=veroeffentlichen",
                enc("https://video.example/dgs.mp4")
            ),
        )
        .await;
        assert_eq!(ok.status, 303);
        assert!(
            app.get("/o/moorbrueck/seiten/gebaerdensprache")
                .await
                .body
                .contains("href=\"https://video.example/dgs.mp4\"")
        );
        assert!(
            app.get("/o/ellerloh/seiten/impressum").await.body.contains("Gemeinde Ellerloh"),
            "other authorities keep their template"
        );
        let log = app.store.store.audit_entries(None, 500).await.unwrap();
        assert!(log.iter().any(|e| e.action == "page.publish" && e.target == "page:impressum"));
    });
}
