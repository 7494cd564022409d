//! Search across all authorities: German analysis, odd input, place marking, freshness.

use crate::on_each_backend;
use std::time::{Duration, Instant};

/// How long a published change may take to reach search in a test (see below).
const FRESH: Duration = Duration::from_secs(5);

#[tokio::test]
async fn finds_services_of_every_authority_with_german_analysis() {
    on_each_backend!(|app| {
        for (q, expect) in [
            ("Perso", "Personalausweis"),
            ("steuer", "Hundesteuer"),
            ("Meldebescheinigng", "Meldebescheinigung"),
            ("Gewerbeanmeldung", "Gewerbe"),
            ("Führerschein", "Führerschein"),
            ("Zulassungsstelle", "Zulassung"),
            ("wunschkenn", "Wunschkennzeichen"),
        ] {
            let r = app.get(&format!("/suche?q={}", urlencode(q))).await;
            assert_eq!(r.status, 200, "{q}");
            assert!(r.body.contains(expect), "query {q:?} should find {expect}");
        }
        let r = app.get("/suche?q=Sperrm%C3%BCll").await;
        assert!(r.body.contains("<mark>"), "snippets are highlighted");
        assert!(r.body.contains("Landkreis Heidekamp"), "result names the authority");
    });
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn odd_queries_never_fail() {
    on_each_backend!(|app| {
        let long = "Hund".repeat(2_600);
        for q in [
            "%22%22%22",
            "AND%20OR%20NOT",
            "%2B%2B-*%3A%28%29%5B%5D",
            "%00%01%1F",
            "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            long.as_str(),
            "",
            "%E2%80%AE%F0%9F%90%95",
        ] {
            let r = app.get(&format!("/suche?q={q}")).await;
            assert_eq!(r.status, 200, "query {q:.40}");
            assert!(!r.body.contains("<script>alert"), "input is escaped");
        }
        let r = app.get(&format!("/suche?q={long}")).await;
        assert!(r.body.contains("sehr lang"), "overlong input gets a friendly message");
        let r = app.get("/suche?q=xyzzyquux").await;
        assert!(r.body.contains("haben wir leider nichts gefunden"));
        assert!(r.body.contains("Vorschläge"));
        let bad = app.get("/suche?q=%FF%FE").await;
        assert!(bad.status == 200 || bad.status == 400, "invalid UTF-8 is not a 500");
    });
}

#[tokio::test]
async fn results_name_the_authority_responsible_for_the_place() {
    on_each_backend!(|app| {
        let cookie = app.get("/ort?ort=Ellerloh&zurueck=/").await.cookie();
        let r = app.get_with("/suche?q=Meldebescheinigung", "127.0.0.1", Some(&cookie)).await;
        assert!(r.body.contains("zuständig für Ellerloh"), "{}", r.body);
        assert!(r.body.contains("/o/sg-heideland/leistungen/meldebescheinigung"));
        assert!(!r.body.contains("/o/moorbrueck/leistungen/meldebescheinigung"), "not the town's offer");
    });
}

#[tokio::test]
async fn json_endpoint_for_autocomplete() {
    on_each_backend!(|app| {
        let r = app.get("/api/v1/suche?q=Gewer").await;
        assert_eq!(r.status, 200);
        assert!(r.headers["content-type"].to_str().unwrap().contains("json"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(v["hits"].as_array().unwrap().iter().any(|h| h["title"].as_str().unwrap().contains("Gewerbe")));
        let r = app.get("/api/v1/suche?q=%00%22").await;
        assert_eq!(r.status, 200);
    });
}

/// The sync round runs every 200 ms and an idle machine shows a change in well under
/// a second; the deadline here is generous because the whole suite shares two cores
/// (a timed test must not measure the machine's load).
#[tokio::test]
async fn published_changes_reach_search_within_seconds() {
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    on_each_backend!(|app| {
        let _sync = amtsweg_web::sync::spawn(app.state.clone(), Duration::from_millis(200));
        let store = &app.store.store;
        let town = store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        let l = store.leistung(town.id, "reisepass").await.unwrap().unwrap();
        // Rendered once, so the page cache holds it before it is withdrawn.
        assert_eq!(app.get("/o/moorbrueck/leistungen/reisepass").await.status, 200);
        assert_eq!(app.get("/o/moorbrueck/leistungen/reisepass").await.status, 200);
        assert!(app.state.cached_pages() > 0, "public pages are cached");
        // The results page lists every authority's offer (suggestions without a place
        // lead to the Verbund's page of the service instead).
        let before = app.get("/suche?q=Reisepass").await;
        assert!(before.body.contains("/o/moorbrueck/leistungen/reisepass"), "found while published");
        let mut tx = store.begin().await.unwrap();
        tx.set_leistung_published(town.id, l.id, false).await.unwrap();
        tx.commit().await.unwrap();
        let start = Instant::now();
        loop {
            let r = app.get("/suche?q=Reisepass").await;
            let gone = !r.body.contains("/o/moorbrueck/leistungen/reisepass");
            if gone {
                break;
            }
            assert!(start.elapsed() < FRESH, "withdrawn service still found after {FRESH:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(app.get("/o/moorbrueck/leistungen/reisepass").await.status, 404, "page gone too");
        let mut tx = store.begin().await.unwrap();
        tx.set_leistung_published(town.id, l.id, true).await.unwrap();
        tx.commit().await.unwrap();
        let start = Instant::now();
        while !app.get("/suche?q=Reisepass").await.body.contains("/o/moorbrueck/leistungen/reisepass") {
            assert!(start.elapsed() < FRESH, "published service not found after {FRESH:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        _sync.abort();
    });
}

fn hits(body: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["hits"].as_array().unwrap().clone()
}

fn field<'a>(h: &'a serde_json::Value, name: &str) -> &'a str {
    h[name].as_str().unwrap()
}

#[tokio::test]
async fn suggestions_list_each_destination_once() {
    on_each_backend!(|app| {
        for q in ["Meld", "Hund", "Ausweis", "Gewer", "Standesamt", "Perso"] {
            let hs = hits(&app.get(&format!("/api/v1/suche?q={}", urlencode(q))).await.body);
            assert!(!hs.is_empty(), "{q}");
            let urls: Vec<&str> = hs.iter().map(|h| field(h, "url")).collect();
            let distinct: std::collections::HashSet<_> = urls.iter().collect();
            assert_eq!(distinct.len(), urls.len(), "{q}: a destination twice: {urls:?}");
            let services: Vec<&str> =
                hs.iter().filter(|h| field(h, "kind") == "leistung").map(|h| field(h, "title")).collect();
            let distinct: std::collections::HashSet<_> = services.iter().collect();
            assert_eq!(distinct.len(), services.len(), "{q}: a service twice: {services:?}");
        }
        // Without a place, a service offered by several authorities leads to the
        // Verbund's page, which asks for the place (never to one of them at random).
        let hs = hits(&app.get("/api/v1/suche?q=Meldebescheinigung").await.body);
        let melde: Vec<_> = hs.iter().filter(|h| field(h, "title") == "Meldebescheinigung beantragen").collect();
        assert_eq!(melde.len(), 1, "{hs:?}");
        assert_eq!(field(melde[0], "url"), "/leistungen/meldebescheinigung");
        let page = app.get("/leistungen/meldebescheinigung").await;
        assert!(page.body.contains("Zuständige Stelle finden"));
        // A service only the county offers keeps its own page.
        let hs = hits(&app.get("/api/v1/suche?q=Neuzulassung").await.body);
        assert!(hs.iter().any(|h| field(h, "url") == "/o/landkreis-heidekamp/leistungen/kfz-neuzulassung"), "{hs:?}");
        // With a place: the responsible authority's own page, once.
        let cookie = app.get("/ort?ort=Ellerloh&zurueck=/").await.cookie();
        let r = app.get_with("/api/v1/suche?q=Meld", "127.0.0.1", Some(&cookie)).await;
        let hs = hits(&r.body);
        let melde: Vec<_> = hs.iter().filter(|h| field(h, "title") == "Meldebescheinigung beantragen").collect();
        assert_eq!(melde.len(), 1);
        assert_eq!(field(melde[0], "url"), "/o/sg-heideland/leistungen/meldebescheinigung");
    });
}

/// The text of each result's snippet (marks removed).
fn snippets(body: &str) -> Vec<String> {
    body.split("<li class=\"result")
        .skip(1)
        .map(|li| {
            let after = li.split("</h2>").nth(1).unwrap_or_default();
            let p = after.split("</p>").nth(1).unwrap_or_default();
            p.split("<p>").nth(1).unwrap_or_default().replace("<mark>", "").replace("</mark>", "")
        })
        .collect()
}

#[tokio::test]
async fn snippets_repeat_no_sentence_and_show_no_markdown_markers() {
    on_each_backend!(|app| {
        let mut seen = 0;
        for q in ["Hund", "Steueramt", "Versicherungsbestätigung", "Meldebescheinigung", "Kfz", "Bürgerbüro"] {
            let r = app.get(&format!("/suche?q={}", urlencode(q))).await;
            for s in snippets(&r.body) {
                seen += 1;
                let parts: Vec<&str> = s.split(['\n', '·']).map(str::trim).filter(|p| !p.is_empty()).collect();
                for p in &parts {
                    let numbered =
                        p.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                    assert!(
                        !(p.starts_with("- ")
                            || p.starts_with("* ")
                            || p.starts_with("+ ")
                            || p.starts_with('#')
                            || numbered),
                        "{q}: raw list marker in {s:?}"
                    );
                }
                // No sentence (or its beginning, where the snippet is cut) twice.
                let sentences: Vec<String> = parts
                    .iter()
                    .flat_map(|p| p.split_inclusive(['.', '!', '?']))
                    .map(|x| x.trim().trim_end_matches(['.', '!', '?']).to_lowercase())
                    .filter(|x| x.chars().count() >= 25)
                    .collect();
                for (i, a) in sentences.iter().enumerate() {
                    for b in &sentences[i + 1..] {
                        assert!(!a.starts_with(b.as_str()) && !b.starts_with(a.as_str()), "{q}: repeated in {s:?}");
                    }
                }
            }
        }
        assert!(seen > 10, "snippets were checked");
    });
}
