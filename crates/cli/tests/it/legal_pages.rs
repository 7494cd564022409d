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
async fn editors_adapt_a_page_with_conflict_detection() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/seiten/").await;
        assert!(list.body.contains("Impressum bearbeiten"));
        let form = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/seiten/impressum").await;
        let csrf = hidden(&form.body, "csrf");
        let r = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/impressum",
            &format!(
                "csrf={csrf}&revision=0&title=Impressum&body={}",
                enc("Vertreten durch Bürgermeisterin Erika Muster.")
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(app.get("/o/moorbrueck/seiten/impressum").await.body.contains("Bürgermeisterin Erika Muster"));
        let stale = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/impressum",
            &format!("csrf={csrf}&revision=0&title=Impressum&body=Alter+Stand"),
        )
        .await;
        assert_eq!(stale.status, 409);
        assert!(stale.body.contains("Alter Stand"), "typed text kept");
        let bad = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache",
            &format!("csrf={csrf}&revision=0&title=DGS&body=x&video_url={}", enc("javascript:alert(1)")),
        )
        .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("https://"));
        let ok = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/seiten/gebaerdensprache",
            &format!(
                "csrf={csrf}&revision=0&title=DGS&body=Text+des+Videos&video_url={}",
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
    });
}
