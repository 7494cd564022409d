//! Editing services in the back office: drafts, preview, publish, conflicts, history,
//! validation, XSS safety and tenant isolation.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};

/// The id of a service of an authority.
pub(crate) async fn id_of(app: &TestApp, authority: &str, slug: &str) -> i64 {
    let a = app.store.store.authority_by_slug(authority).await.unwrap().unwrap();
    app.store.store.leistung(a.id, slug).await.unwrap().unwrap().id
}

/// All fields of the edit form as they are on the page, with some replaced.
pub(crate) fn form_body(page: &str, changes: &[(&str, &str)], aktion: &str) -> String {
    let mut fields: Vec<(String, String)> = Vec::new();
    for name in ["csrf", "version", "revision"] {
        fields.push((name.into(), hidden(page, name)));
    }
    for name in ["name", "leika", "online_url", "keywords"] {
        let marker = format!("name=\"{name}\" type=");
        let v = page
            .split(&marker)
            .nth(1)
            .and_then(|r| r.split("value=\"").nth(1))
            .map(|r| r.split('"').next().unwrap_or_default())
            .unwrap_or_default();
        fields.push((name.into(), html_unescape(v)));
    }
    for name in [
        "summary",
        "description",
        "requirements",
        "documents",
        "fees",
        "deadlines",
        "procedure",
        "legal_basis",
        "processing_time",
    ] {
        let marker = format!("name=\"{name}\"");
        let v = page
            .split(&marker)
            .nth(1)
            .and_then(|r| r.split_once('>'))
            .map(|(_, r)| r.split("</textarea>").next().unwrap_or_default())
            .unwrap_or_default();
        fields.push((name.into(), html_unescape(v)));
    }
    fields.push(("trust_level".into(), "normal".into()));
    for (k, v) in changes {
        if let Some(f) = fields.iter_mut().find(|(n, _)| n == k) {
            f.1 = (*v).to_owned();
        } else {
            fields.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    fields.push(("aktion".into(), aktion.into()));
    fields.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

#[tokio::test]
async fn edit_preview_publish_and_find_it() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/leistungen/").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Meldebescheinigung beantragen"));
        let id = id_of(app, "moorbrueck", "meldebescheinigung").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let page = get(app, &mut jar, &path).await;
        assert_eq!(page.status, 200);
        let body = form_body(
            &page.body,
            &[("summary", "Neu: Bescheinigung sofort am Schalter."), ("keywords", "Zauberwortxy")],
            "vorschau",
        );
        let r = post(app, &mut jar, &path, &body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().ends_with("/vorschau"));
        let preview = get(app, &mut jar, r.location()).await;
        assert!(preview.body.contains("Neu: Bescheinigung sofort am Schalter."));
        // Citizens still see the published state.
        let public = app.get("/o/moorbrueck/leistungen/meldebescheinigung").await;
        assert!(!public.body.contains("Neu: Bescheinigung sofort"));

        let page = get(app, &mut jar, &path).await;
        assert!(page.body.contains("Neu: Bescheinigung sofort"), "the draft is edited further");
        let r = post(app, &mut jar, &path, &form_body(&page.body, &[], "veroeffentlichen")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().contains("hinweis=veroeffentlicht"));
        let public = app.get("/o/moorbrueck/leistungen/meldebescheinigung").await;
        assert!(public.body.contains("Neu: Bescheinigung sofort am Schalter."), "published at once");
        // The results page lists each authority's offer (the suggestion API folds a
        // service several authorities offer into one entry that asks for the place).
        let found = app.get("/suche?q=Zauberwortxy").await;
        assert!(found.body.contains("/o/moorbrueck/leistungen/meldebescheinigung"), "found in search at once");

        let history = get(app, &mut jar, &format!("{path}/versionen")).await;
        assert!(history.body.contains("Fassung 2"));
        let audit = app.store.store.audit_entries(None, 50).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "leistung.publish" && e.target == format!("leistung:{id}")));
    });
}

#[tokio::test]
async fn concurrent_edits_are_detected_without_losing_work() {
    on_each_backend!(|app| {
        let mut anna = sign_in(app, "redaktion@moorbrueck.example").await;
        let mut adrian = sign_in(app, "admin@moorbrueck.example").await;
        let id = id_of(app, "moorbrueck", "reisepass").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let a_page = get(app, &mut anna, &path).await;
        let b_page = get(app, &mut adrian, &path).await;
        let r = post(app, &mut anna, &path, &form_body(&a_page.body, &[("fees", "Annas Gebühren")], "speichern")).await;
        assert_eq!(r.status, 303);
        let r =
            post(app, &mut adrian, &path, &form_body(&b_page.body, &[("fees", "Adrians Gebühren")], "speichern")).await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("Gleichzeitige Änderung"));
        assert!(r.body.contains("Adrians Gebühren"), "the second editor's input is still in the form");
        let d = app
            .store
            .store
            .draft(app.store.store.authority_by_slug("moorbrueck").await.unwrap().unwrap().id, id)
            .await
            .unwrap()
            .unwrap();
        assert!(d.content().unwrap().fees.contains("Annas"), "the first save was not overwritten");
        // Anna publishes (the draft is gone afterwards); Adrian's page from before that
        // publication is still refused instead of starting a draft from the old text.
        let a_page = get(app, &mut anna, &path).await;
        let r = post(app, &mut anna, &path, &form_body(&a_page.body, &[], "veroeffentlichen")).await;
        assert_eq!(r.status, 303);
        let r =
            post(app, &mut adrian, &path, &form_body(&b_page.body, &[("fees", "Adrians Gebühren")], "speichern")).await;
        assert_eq!(r.status, 409, "a publication in between is a conflict too");
        assert!(app.get("/o/moorbrueck/leistungen/reisepass").await.body.contains("Annas Gebühren"));
    });
}

#[tokio::test]
async fn invalid_input_is_explained_and_nothing_is_saved() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let id = id_of(app, "moorbrueck", "personalausweis").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let page = get(app, &mut jar, &path).await;
        let r = post(
            app,
            &mut jar,
            &path,
            &form_body(
                &page.body,
                &[("name", ""), ("leika", "12"), ("online_url", "javascript:alert(1)")],
                "speichern",
            ),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("class=\"error-summary\""));
        assert!(
            r.body.contains("href=\"#feld-name\"")
                && r.body.contains("href=\"#feld-leika\"")
                && r.body.contains("href=\"#feld-online_url\"")
        );
        assert!(r.body.contains("Es wurde nichts gespeichert."));
        let a = app.store.store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        assert!(app.store.store.draft(a.id, id).await.unwrap().is_none());

        // New services: duplicate slugs are refused with a message.
        let new = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/leistungen/neu").await;
        let csrf = hidden(&new.body, "csrf");
        let dup = post(app, &mut jar, "/verwaltung/behoerden/moorbrueck/leistungen/neu",
            &format!("csrf={csrf}&version=0&slug=reisepass&name=Doppelt&leika=99085001012000&trust_level=normal&description=x")).await;
        assert_eq!(dup.status, 422);
        assert!(dup.body.contains("schon verwendet"));
        let ok = post(
            app,
            &mut jar,
            "/verwaltung/behoerden/moorbrueck/leistungen/neu",
            &format!(
                "csrf={csrf}&version=0&name=Baumschnitt+melden&leika=99000000000001&trust_level=normal&description=Text"
            ),
        )
        .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        assert_eq!(
            app.get("/o/moorbrueck/leistungen/baumschnitt-melden").await.status,
            404,
            "new services start unpublished"
        );
    });
}

#[tokio::test]
async fn xss_payloads_never_execute_in_portal_preview_or_editor() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let id = id_of(app, "moorbrueck", "fuehrungszeugnis").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[klick](javascript:alert(1))",
            "</textarea><script>alert(2)</script>",
            "<svg/onload=alert(3)>",
            "\"><iframe src=javascript:alert(4)>",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==)",
        ];
        let evil = payloads.join("\n\n");
        let page = get(app, &mut jar, &path).await;
        let r = post(
            app,
            &mut jar,
            &path,
            &form_body(
                &page.body,
                &[("description", &evil), ("summary", "<b onmouseover=alert(6)>x</b>")],
                "veroeffentlichen",
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let pages = [
            app.get("/o/moorbrueck/leistungen/fuehrungszeugnis").await.body,
            get(app, &mut jar, &path).await.body,
            get(app, &mut jar, &format!("{path}/vorschau")).await.body,
            get(app, &mut jar, &format!("{path}/versionen")).await.body,
            app.get("/suche?q=alert").await.body,
        ];
        for (i, body) in pages.iter().enumerate() {
            let lower = body.to_lowercase();
            for bad in [
                "<script>alert",
                "<img src=x",
                "<svg",
                "<iframe",
                "href=\"javascript:",
                "href=\"data:",
                "onerror=alert(1)>",
                "<b onmouseover",
            ] {
                assert!(!lower.contains(bad), "page {i} contains {bad}");
            }
        }
    });
}

#[tokio::test]
async fn editors_reach_only_their_own_authority() {
    on_each_backend!(|app| {
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        let foreign = id_of(app, "sg-heideland", "meldebescheinigung").await;
        assert_eq!(get(app, &mut editor, "/verwaltung/behoerden/sg-heideland/leistungen/").await.status, 403);
        assert_eq!(
            get(app, &mut editor, &format!("/verwaltung/behoerden/sg-heideland/leistungen/{foreign}")).await.status,
            403
        );
        // A foreign service id under the own authority's path is not found.
        let r = get(app, &mut editor, &format!("/verwaltung/behoerden/moorbrueck/leistungen/{foreign}")).await;
        assert_eq!(r.status, 404);
        assert!(!r.body.contains("Samtgemeinde Heideland bearbeiten"));
        let page = get(app, &mut editor, "/verwaltung/").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(
            app,
            &mut editor,
            &format!("/verwaltung/behoerden/moorbrueck/leistungen/{foreign}"),
            &format!(
                "csrf={csrf}&version=0&name=x&leika=99115003012000&trust_level=normal&description=x&aktion=speichern"
            ),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = post(
            app,
            &mut editor,
            &format!("/verwaltung/behoerden/moorbrueck/leistungen/{foreign}/zurueckziehen"),
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(app.get("/o/sg-heideland/leistungen/meldebescheinigung").await.status, 200, "untouched");

        let mut worker = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        assert_eq!(
            get(app, &mut worker, "/verwaltung/behoerden/moorbrueck/leistungen/").await.status,
            403,
            "case workers do not edit content"
        );
        let mut anonymous = Jar::default();
        let r = get(app, &mut anonymous, "/verwaltung/behoerden/moorbrueck/leistungen/").await;
        assert_eq!(r.status, 303);
        assert!(r.location().starts_with("/verwaltung/anmelden?weiter="));
    });
}

#[tokio::test]
async fn withdraw_and_restore() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let id = id_of(app, "moorbrueck", "sterbeurkunde").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        for fees in ["Erste Fassung", "Zweite Fassung"] {
            let page = get(app, &mut jar, &path).await;
            let r = post(app, &mut jar, &path, &form_body(&page.body, &[("fees", fees)], "veroeffentlichen")).await;
            assert_eq!(r.status, 303);
        }
        let history = get(app, &mut jar, &format!("{path}/versionen")).await;
        assert!(
            history.body.contains("<ins><span class=\"visually-hidden\">hinzugefügt: </span>Zweite Fassung</ins>"),
            "diff shown"
        );
        let csrf = hidden(&history.body, "csrf");
        let r = post(app, &mut jar, &format!("{path}/versionen/2/wiederherstellen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303);
        let page = get(app, &mut jar, r.location()).await;
        assert!(page.body.contains("Erste Fassung"), "older revision restored as draft");

        let r = post(app, &mut jar, &format!("{path}/zurueckziehen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303);
        assert_eq!(app.get("/o/moorbrueck/leistungen/sterbeurkunde").await.status, 404);
    });
}

/// The history names who published each revision and shows what changed, field by
/// field: short fields with the old and the new value, long texts as a line diff.
#[tokio::test]
async fn history_shows_each_change_with_old_and_new_value_and_the_editor() {
    on_each_backend!(|app| {
        let email = "redaktion@moorbrueck.example";
        let name = app.store.store.staff_by_email(email).await.unwrap().unwrap().display_name;
        let mut jar = sign_in(app, email).await;
        let id = id_of(app, "moorbrueck", "sterbeurkunde").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{id}");
        let revisions: [&[(&str, &str)]; 2] = [
            &[("fees", "Je Urkunde 12 Euro.\nJede weitere 6 Euro."), ("keywords", "Urkunde, Tod")],
            &[
                ("fees", "Je Urkunde 12 Euro.\nJede weitere 8 Euro."),
                ("keywords", "Urkunde, Sterbefall"),
                ("trust_level", "substanziell"),
            ],
        ];
        for changes in revisions {
            let page = get(app, &mut jar, &path).await;
            let r = post(app, &mut jar, &path, &form_body(&page.body, changes, "veroeffentlichen")).await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        let history = get(app, &mut jar, &format!("{path}/versionen")).await;
        assert_eq!(history.status, 200);
        let body = &history.body;
        let newest = body.split("id=\"fassung-3\"").nth(1).unwrap().split("id=\"fassung-2\"").next().unwrap();
        // Who and when, in German.
        assert!(newest.contains(&format!(" von {name}</h2>")), "{newest}");
        assert!(!body.contains("Konto "), "no account numbers: {body}");
        let when = newest.split("veröffentlicht am ").nth(1).unwrap();
        let (date, rest) = when.split_at(10);
        assert!(date.chars().all(|c| c.is_ascii_digit() || c == '.') && date.matches('.').count() == 2, "{date}");
        assert!(rest.starts_with(", ") && rest[2..].starts_with(|c: char| c.is_ascii_digit()) && rest.contains(" Uhr"));
        // Short fields: from what to what.
        for (field, before, after) in [
            ("Suchbegriffe", "„Urkunde, Tod“", "„Urkunde, Sterbefall“"),
            ("Vertrauensniveau", "„normal (", "„substanziell ("),
        ] {
            let row = newest
                .split(&format!("<th scope=\"row\">{field}</th>"))
                .nth(1)
                .unwrap_or_else(|| panic!("{field}: {newest}"));
            let row = row.split("</tr>").next().unwrap();
            assert!(row.contains(&format!("<span class=\"visually-hidden\">vorher: </span>{before}")), "{row}");
            assert!(row.contains(&format!("<span class=\"visually-hidden\">jetzt: </span>{after}")), "{row}");
        }
        // Long texts: only the changed line is marked.
        assert!(newest.contains("<li>Je Urkunde 12 Euro.</li>"), "{newest}");
        assert!(newest.contains("<del><span class=\"visually-hidden\">entfernt: </span>Jede weitere 6 Euro.</del>"));
        assert!(newest.contains("<ins><span class=\"visually-hidden\">hinzugefügt: </span>Jede weitere 8 Euro.</ins>"));
        assert!(!newest.contains("<th scope=\"row\">Name</th>"), "unchanged fields are not listed");
        // The seeded state the first edit replaced is kept: revision 2 is a real diff
        // against it, and revision 1 is the start of the history.
        let second = body.split("id=\"fassung-2\"").nth(1).unwrap().split("id=\"fassung-1\"").next().unwrap();
        assert!(second.contains("<ins><span class=\"visually-hidden\">hinzugefügt: </span>Jede weitere 6 Euro.</ins>"));
        let oldest = body.split("id=\"fassung-1\"").nth(1).unwrap();
        assert!(oldest.contains("Erste veröffentlichte Fassung") && !oldest.contains("hinzugefügt"), "{oldest}");
        assert!(!body.contains("nicht erfasst"), "{body}");
    });
}

/// A demo service (seeded, so published before any history was recorded) edited once:
/// its history shows the old and the new value of the changed fields and who made the
/// change, not "nicht erfasst".
#[tokio::test]
async fn first_edit_of_a_demo_service_shows_old_and_new_value() {
    on_each_backend!(|app| {
        let email = "redaktion@moorbrueck.example";
        let editor = app.store.store.staff_by_email(email).await.unwrap().unwrap().display_name;
        let a = app.store.store.authority_by_slug("moorbrueck").await.unwrap().unwrap();
        let seeded = app.store.store.leistung(a.id, "reisepass").await.unwrap().unwrap();
        assert!(app.store.store.revisions(a.id, seeded.id).await.unwrap().is_empty(), "the seed records no history");
        assert!(!seeded.name.is_empty() && !seeded.fees.trim().is_empty());
        let old_fees_line = seeded.fees.lines().find(|l| !l.trim().is_empty()).unwrap().trim().to_owned();
        let mut jar = sign_in(app, email).await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{}", seeded.id);
        let page = get(app, &mut jar, &path).await;
        let r = post(
            app,
            &mut jar,
            &path,
            &form_body(
                &page.body,
                &[("name", "Reisepass neu beantragen"), ("fees", "Neue Gebührenzeile.")],
                "veroeffentlichen",
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let history = get(app, &mut jar, &format!("{path}/versionen")).await;
        assert_eq!(history.status, 200);
        let body = &history.body;
        assert!(!body.contains("nicht erfasst"), "{body}");
        let edit = body.split("id=\"fassung-2\"").nth(1).unwrap().split("id=\"fassung-1\"").next().unwrap();
        assert!(edit.contains(&format!(" von {editor}</h2>")), "{edit}");
        let row = edit.split("<th scope=\"row\">Name</th>").nth(1).unwrap_or_else(|| panic!("{edit}"));
        let row = row.split("</tr>").next().unwrap();
        let old_name = format!("<span class=\"visually-hidden\">vorher: </span>„{}“", seeded.name);
        assert!(row.contains(&old_name), "{row}");
        assert!(row.contains("<span class=\"visually-hidden\">jetzt: </span>„Reisepass neu beantragen“"), "{row}");
        assert!(edit.contains("<ins><span class=\"visually-hidden\">hinzugefügt: </span>Neue Gebührenzeile.</ins>"));
        let removed =
            format!("<del><span class=\"visually-hidden\">entfernt: </span>{}</del>", minijinja_escape(&old_fees_line));
        assert!(edit.contains(&removed), "{removed} in {edit}");
        // The seeded state is the first entry; restoring it gives the old text back.
        let first = body.split("id=\"fassung-1\"").nth(1).unwrap();
        assert!(first.contains("Erste veröffentlichte Fassung"), "{first}");
        let csrf = hidden(body, "csrf");
        let r = post(app, &mut jar, &format!("{path}/versionen/1/wiederherstellen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303);
        let draft = app.store.store.draft(a.id, seeded.id).await.unwrap().unwrap().content().unwrap();
        assert_eq!(draft.name, seeded.name);
        assert_eq!(draft.fees, seeded.fees);
    });
}

/// HTML escaping as the templates do it (`& < > " '`).
fn minijinja_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
