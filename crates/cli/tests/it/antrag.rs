//! The citizen's application journey through the real router on both databases:
//! steps with errors, check page, submission with receipt number, idempotent
//! resubmission, receipt page and PDF, uploads with a clamd stub, save and resume by
//! e-mail, prefill and locked values, the account's list, the trust-level guard, and
//! forged or tampered requests.

use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::{Reply, TestApp, apps_with};
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_web::WebConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BRIEFWAHL: &str = "/o/moorbrueck/antrag/briefwahl/";
const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";

/// The path of the last mail to `to` that contains `marker`.
async fn mails_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    app.store
        .store
        .outbox_entries(500)
        .await
        .unwrap()
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.payload).ok())
        .filter(|p| p["to"] == to)
        .map(|m| (m["subject"].as_str().unwrap().to_owned(), m["body"].as_str().unwrap().to_owned()))
        .collect()
}

fn year() -> i16 {
    jiff::Zoned::now().year()
}

/// Starts a form; returns the first page.
async fn start(app: &TestApp, jar: &mut Jar, form: &str) -> Reply {
    let r = get(app, jar, form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

fn first_fields(page: &Reply) -> String {
    format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"))
}

/// Fills the Briefwahl form up to the check page; returns the draft's URL.
pub(crate) async fn briefwahl_to_check(app: &TestApp, jar: &mut Jar, email: &str) -> String {
    let page = start(app, jar, BRIEFWAHL).await;
    let r = post(
        app,
        jar,
        BRIEFWAHL,
        &format!(
            "{}&aktion=weiter&f.vorname=Erika&f.familienname=Musterfrau&f.geburtsdatum=12.03.1980&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
            first_fields(&page)
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let next = r.location().to_owned();
    assert!(next.ends_with("/versand"), "{next}");
    let draft = next.trim_end_matches("versand").to_owned();
    let page = get(app, jar, &next).await;
    let csrf = hidden(&page.body, "csrf");
    let r = post(app, jar, &next, &format!("csrf={csrf}&aktion=weiter&f.versand=wohnung&f.email={}", enc(email))).await;
    assert_eq!(r.location(), format!("{draft}erklaerung"));
    let r =
        post(app, jar, &format!("{draft}erklaerung"), &format!("csrf={csrf}&aktion=weiter&f.versicherung=ja")).await;
    assert_eq!(r.location(), format!("{draft}pruefen"));
    draft
}

#[tokio::test]
async fn a_citizen_applies_without_account_and_gets_one_receipt() {
    on_each_backend!(|app| {
        let service = app.get("/o/moorbrueck/leistungen/briefwahl").await;
        assert!(service.body.contains("href=\"/o/moorbrueck/antrag/briefwahl/\""), "the service links its form");

        let mut jar = Jar::default();
        let page = start(app, &mut jar, BRIEFWAHL).await;
        assert!(page.body.contains("Schritt 1 von 3"));
        // Nothing filled in: an error summary that links to the fields, values kept.
        let r = post(app, &mut jar, BRIEFWAHL, &format!("{}&aktion=weiter&f.vorname=Erika", first_fields(&page))).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("class=\"error-summary\""));
        assert!(r.body.contains("href=\"#f-familienname\">Bitte füllen Sie „Familienname“ aus."), "{}", r.body);
        assert!(r.body.contains("value=\"Erika\""), "typed values stay");
        assert!(r.body.contains("aria-invalid=\"true\""));
        // The first page sent again (the browser's "back", then "Weiter") continues the
        // same draft instead of starting a second one.
        let nonce = hidden(&page.body, "token").split('.').next().unwrap().to_owned();
        let again = post(
            app,
            &mut jar,
            BRIEFWAHL,
            &format!(
                "{}&aktion=weiter&f.vorname=Erika&f.familienname=M&f.geburtsdatum=12.03.1980&f.strasse=A+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
                first_fields(&page)
            ),
        )
        .await;
        assert_eq!(again.status, 303, "{}", again.body);
        assert!(again.location().contains(&format!("/{nonce}/versand")), "{}", again.location());

        let draft = briefwahl_to_check(app, &mut jar, "erika@example.org").await;
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        assert_eq!(check.status, 200, "{}", check.body);
        assert!(check.body.contains("Musterfrau") && check.body.contains("12.03.1980"));
        assert!(check.body.contains(&format!("href=\"{draft}person?zurueck=pruefen#f-familienname\"")), "change links");
        assert!(check.body.contains("an meine Wohnanschrift"), "choices in words");

        let csrf = hidden(&check.body, "csrf");
        let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = r.location().to_owned();
        assert!(receipt.starts_with("/o/moorbrueck/antrag/briefwahl/eingang/"));
        // Right after submitting, another browser at the receipt address sees nothing.
        assert_eq!(app.get_with(&receipt, "localhost", None).await.status, 404);
        let page = get(app, &mut jar, &receipt).await;
        let number = format!("MOO-{}-000001", year());
        assert!(page.body.contains(&number), "{}", page.body);
        assert!(page.body.contains("Eingegangen"));
        assert!(page.body.contains("Musterfrau") && page.body.contains(&format!("{receipt}/quittung.pdf")));
        assert!(!page.body.to_lowercase().contains("amtswegmark"), "every value filled in");
        // Shown again later (read from the store), it is the same page.
        assert_eq!(get(app, &mut jar, &receipt).await.body, page.body);

        // A double submit or a retry shows the same receipt and stores nothing twice.
        let again = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(again.location(), receipt);
        let moorbrueck = app.authority_id("moorbrueck").await;
        assert_eq!(app.store.store.count_submissions(moorbrueck).await.unwrap(), 1);
        let mails = mails_to(app, "erika@example.org").await;
        assert_eq!(mails.len(), 1, "one confirmation");
        assert!(mails[0].0.contains(&number) && mails[0].1.contains(&number));
        assert!(!mails[0].1.contains("Musterfrau"), "no answers in the mail unless asked for");

        // The receipt is this browser's; another one sees nothing.
        assert_eq!(app.get_with(&receipt, "localhost", None).await.status, 404);
        let pdf = get(app, &mut jar, &format!("{receipt}/quittung.pdf")).await;
        assert_eq!(pdf.status, 200);
        assert!(pdf.body.starts_with("%PDF-"));
        assert!(pdf.body.contains("pdfaid:part") && pdf.body.contains("/StructTreeRoot"), "tagged PDF/A");
        assert!(pdf.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));

        // The next application gets the next number.
        let mut other = Jar::default();
        let draft = briefwahl_to_check(app, &mut other, "zweite@example.org").await;
        let check = get(app, &mut other, &format!("{draft}pruefen")).await;
        let r = post(
            app,
            &mut other,
            &format!("{draft}absenden"),
            &format!("csrf={}&kopie=ja", hidden(&check.body, "csrf")),
        )
        .await;
        let page = get(app, &mut other, r.location()).await;
        assert!(page.body.contains(&format!("MOO-{}-000002", year())));
        assert!(!page.body.contains(&number) && page.body.contains(&format!("{}/quittung.pdf", r.location())));
        let mails = mails_to(app, "zweite@example.org").await;
        assert!(mails[0].1.contains("Familienname: Musterfrau"), "the copy the citizen asked for");
    });
}

#[tokio::test]
async fn forged_tampered_and_hidden_answers_are_refused_or_dropped() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        let page = start(app, &mut jar, BRIEFWAHL).await;
        let token = hidden(&page.body, "token");
        let csrf = hidden(&page.body, "csrf");
        // A token changed by one character.
        let bad = format!("{}x", &token[..token.len() - 1]);
        let r = post(app, &mut jar, BRIEFWAHL, &format!("csrf={csrf}&token={}&f.vorname=A", enc(&bad))).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("nicht mehr gültig oder wurde verändert"), "{}", r.body);
        // No CSRF token, or from another site.
        let r = post(app, &mut jar, BRIEFWAHL, &format!("token={}&f.vorname=A", enc(&token))).await;
        assert_eq!(r.status, 403);

        let draft = briefwahl_to_check(app, &mut jar, "forge@example.org").await;
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        let csrf = hidden(&check.body, "csrf");
        // A field this page does not have (here: a made-up fee): nothing is stored.
        let r =
            post(app, &mut jar, &format!("{draft}versand"), &format!("csrf={csrf}&f.versand=andere&f.gebuehr=0")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("passen nicht zu dieser Seite"));
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        assert!(check.body.contains("an meine Wohnanschrift"), "the earlier answer is unchanged");
        // An answer to a field its rule hides ("other address" with delivery home) is dropped.
        let r = post(
            app,
            &mut jar,
            &format!("{draft}versand"),
            &format!("csrf={csrf}&aktion=weiter&f.versand=wohnung&f.versandanschrift=Geheimweg+7&zurueck=pruefen"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        assert!(!check.body.contains("Geheimweg"));
        // The condition is explained on the page (no JavaScript needed).
        let step = get(app, &mut jar, &format!("{draft}versand")).await;
        assert!(
            step.body.contains("Nur auszufüllen, wenn „Wohin sollen die Unterlagen?“ ist „an eine andere Anschrift“.")
        );
        // Another browser cannot open the draft.
        assert_eq!(app.get_with(&format!("{draft}pruefen"), "localhost", None).await.status, 404);
        // A wrong CSRF token on a later step.
        let r = post(app, &mut jar, &format!("{draft}versand"), "csrf=falsch&f.versand=wohnung").await;
        assert_eq!(r.status, 403);
    });
}

/// A stand-in for clamd: answers INSTREAM with FOUND when the data holds the EICAR
/// test string, else OK.
async fn clamd_stub() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut cmd = [0u8; 10];
                s.read_exact(&mut cmd).await.unwrap();
                assert_eq!(&cmd, b"zINSTREAM\0");
                let mut data = Vec::new();
                loop {
                    let mut len = [0u8; 4];
                    s.read_exact(&mut len).await.unwrap();
                    let n = u32::from_be_bytes(len) as usize;
                    if n == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; n];
                    s.read_exact(&mut chunk).await.unwrap();
                    data.extend(chunk);
                }
                let eicar = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE";
                let reply: &[u8] = if data.windows(eicar.len()).any(|w| w == eicar) {
                    b"stream: Win.Test.EICAR_HDB-1 FOUND\0"
                } else {
                    b"stream: OK\0"
                };
                s.write_all(reply).await.unwrap();
            });
        }
    });
    addr
}

fn png(width: u32, height: u32, text: &str) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0, 0, 0, 0]);
        c
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    b.extend(chunk(b"IHDR", &ihdr));
    b.extend(chunk(b"tEXt", text.as_bytes()));
    b.extend(chunk(b"IDAT", b"pixels"));
    b.extend(chunk(b"IEND", b""));
    b
}

#[tokio::test]
async fn uploads_are_checked_scanned_stripped_and_sealed() {
    let clamd = clamd_stub().await;
    let config = WebConfig { clamd: Some(clamd), form_files_limit: 3_000_000, ..WebConfig::default() };
    for owned in apps_with(config).await {
        let app = &owned;
        let mut jar = Jar::default();
        let page = start(app, &mut jar, OSTERFEUER).await;
        let r = post(
            app,
            &mut jar,
            OSTERFEUER,
            &format!(
                "{}&aktion=weiter&f.name=Schützenverein&f.telefon=05191+12345&f.email=feuer%40example.org",
                first_fields(&page)
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let step = r.location().to_owned();
        let page = get(app, &mut jar, &step).await;
        assert!(page.body.contains("enctype=\"multipart/form-data\""));
        let csrf = hidden(&page.body, "csrf");
        let fields = [
            ("csrf", csrf.as_str()),
            ("aktion", "weiter"),
            ("f.datum", "24.12.2099"),
            ("f.ort", "Festwiese"),
            ("f.art", "brauchtum"),
            ("g.brandwache.anzahl", "1"),
            ("g.brandwache.0.name", "Ida Wache"),
            ("g.brandwache.0.telefon", "0151 1234567"),
        ];
        let upload = |name: &'static str, bytes: Vec<u8>| {
            let step = step.clone();
            let cookie = jar.header();
            async move { app.post_multipart(&step, &fields, ("f.lageplan", name, &bytes), &cookie).await }
        };
        // A program named like a PDF.
        let r = upload("plan.pdf", b"MZ\x90\x00\x03 not a pdf".to_vec()).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.contains("Der Inhalt von „plan.pdf“ ist keine Datei im Format PDF, JPG, JPEG, PNG"),
            "{}",
            r.body
        );
        // A format the field does not take.
        let r = upload("plan.docx", b"PK\x03\x04".to_vec()).await;
        assert!(r.body.contains("hat ein Format, das hier nicht angenommen wird"));
        // Too big for the field (5 MB) — and for the application (3 MB here).
        let r = upload("plan.pdf", [b"%PDF-1.7\n".as_slice(), &vec![b'a'; 3_100_000]].concat()).await;
        assert!(r.body.contains("passt nicht mehr in diesen Antrag"), "{}", r.body);
        // The EICAR test string, caught by the scanner.
        let r = upload(
            "plan.pdf",
            b"%PDF-1.4\nX5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".to_vec(),
        )
        .await;
        assert!(r.body.contains("Schadsoftware gefunden"), "{}", r.body);
        // Too many pixels.
        let r = upload("plan.png", png(20_000, 20_000, "x")).await;
        assert!(r.body.contains("Megapixel"));
        // A good image: accepted, its text metadata gone, stored sealed.
        let r = upload("Lageplan Festwiese.png", png(2, 2, "Author\0Erika Geheim")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let draft = r.location().trim_end_matches("erklaerung").to_owned();
        let page = get(app, &mut jar, &format!("{draft}feuer")).await;
        assert!(page.body.contains("Hochgeladen: <strong>Lageplan Festwiese.png</strong>"), "{}", page.body);
        let token = draft.trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
        let files = app.store.store.application_draft_files(&token).await.unwrap();
        assert_eq!(files.len(), 1);
        let moorbrueck = app.authority_id("moorbrueck").await;
        assert!(files[0].object_key.starts_with(&format!("authorities/{moorbrueck}/antraege/")));
        let stored =
            app.state.portal.objects.get(&object_store::path::Path::from(files[0].object_key.as_str())).await.unwrap();
        let stored = stored.bytes().await.unwrap();
        assert!(stored.starts_with(b"v2:"), "sealed at rest, bound to its object");
        // The citizen downloads their own file only as an attachment, without metadata.
        let dl = get(app, &mut jar, &format!("{draft}datei/{}", files[0].id)).await;
        assert!(dl.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert!(!dl.body.contains("Erika Geheim") && dl.body.contains("IDAT"));

        let csrf = hidden(&page.body, "csrf");
        post(app, &mut jar, &format!("{draft}erklaerung"), &format!("csrf={csrf}&aktion=weiter&f.versicherung=ja"))
            .await;
        let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = get(app, &mut jar, r.location()).await;
        assert!(receipt.body.contains("Lageplan Festwiese.png"));
        let s = app.store.store.submission_by_token(&token).await.unwrap().unwrap();
        let files = app.store.store.submission_files(s.id).await.unwrap();
        assert_eq!(files.len(), 1, "the file moved to the submission");
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn drafts_resume_by_email_link_once_and_expire() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        let page = start(app, &mut jar, BRIEFWAHL).await;
        let r =
            post(app, &mut jar, BRIEFWAHL, &format!("{}&aktion=speichern&f.vorname=Erika", first_fields(&page))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let saved = r.location().to_owned();
        assert!(saved.ends_with("/gespeichert"));
        let page = get(app, &mut jar, &saved).await;
        assert!(page.body.contains("Link schicken"));
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, &saved, &format!("csrf={csrf}&email=kein-at")).await;
        assert_eq!(r.status, 422);
        let r = post(app, &mut jar, &saved, &format!("csrf={csrf}&email=resume%40example.org")).await;
        assert!(r.body.contains("Wir haben den Link an <strong>resume@example.org</strong> geschickt"));
        let (_, body) = mails_to(app, "resume@example.org").await.pop().unwrap();
        let link = body.split_whitespace().find(|w| w.contains("/antrag/fortsetzen/")).unwrap();
        let path = &link[link.find("/o/").unwrap()..];

        // On another device: the link page, then the button binds the draft there.
        let mut phone = Jar::default();
        let page = get(app, &mut phone, path).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Antrag fortsetzen"));
        let r = post(app, &mut phone, path, "").await;
        assert_eq!(r.status, 303);
        let step = r.location().to_owned();
        let page = get(app, &mut phone, &step).await;
        assert!(page.body.contains("value=\"Erika\""), "the saved answer is there");
        // The link is used up.
        assert_eq!(get(app, &mut Jar::default(), path).await.status, 404);

        // Drafts expire with their files.
        let mut tx = app.store.store.begin().await.unwrap();
        let (n, _) =
            tx.delete_expired_application_drafts(amtsweg_store::now_ms() + 31 * 86_400_000, 100).await.unwrap();
        tx.commit().await.unwrap();
        assert!(n >= 1);
        assert_eq!(get(app, &mut phone, &step).await.status, 404);
    });
}

#[tokio::test]
async fn signed_in_citizens_get_prefill_locked_id_values_and_their_applications_in_the_account() {
    on_each_backend!(|app| {
        let (mut jar, id) = citizen(app, "konto-antrag@example.org").await;
        amtsweg_portal::profile::set(
            &app.state.portal,
            id,
            ProfileField::FamilyName,
            "Musterfrau",
            &ProfileSource::Provider("bundid".into()),
            TrustLevel::Substanziell,
        )
        .await
        .unwrap();
        amtsweg_portal::profile::set(
            &app.state.portal,
            id,
            ProfileField::GivenName,
            "Erika",
            &ProfileSource::SelfEntered,
            TrustLevel::Normal,
        )
        .await
        .unwrap();
        let page = start(app, &mut jar, BRIEFWAHL).await;
        assert!(page.body.contains("value=\"Erika\""), "prefilled from the profile");
        assert!(page.body.contains("Von Ihrem Identitätsnachweis übernommen"), "the BundID name is locked");
        // Changing the locked value is ignored.
        let r = post(
            app,
            &mut jar,
            BRIEFWAHL,
            &format!(
                "{}&aktion=weiter&f.vorname=Erika&f.familienname=Falsch&f.geburtsdatum=12.03.1980&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
                first_fields(&page)
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let draft = r.location().trim_end_matches("versand").to_owned();
        let list = get(app, &mut jar, "/konto/antraege/").await;
        assert!(list.body.contains("Briefwahlunterlagen beantragen"), "the draft is in the account");
        let csrf = hidden(&get(app, &mut jar, r.location()).await.body, "csrf");
        post(app, &mut jar, &format!("{draft}versand"), &format!("csrf={csrf}&aktion=weiter&f.versand=wohnung")).await;
        post(app, &mut jar, &format!("{draft}erklaerung"), &format!("csrf={csrf}&aktion=weiter&f.versicherung=ja"))
            .await;
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        assert!(check.body.contains("Musterfrau") && !check.body.contains("Falsch"));
        let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let list = get(app, &mut jar, "/konto/antraege/").await;
        assert!(list.body.contains(&format!("MOO-{}-000001", year())), "{}", list.body);
        assert!(list.body.contains("Eingegangen"));
        assert!(list.body.contains("Keine angefangenen Anträge"));
        let s = app.store.store.submissions_of_citizen(id).await.unwrap();
        let detail = get(app, &mut jar, &format!("/konto/antraege/{}", s[0].id)).await;
        assert!(detail.body.contains("Musterfrau"));
        let pdf = get(app, &mut jar, &format!("/konto/antraege/{}/quittung.pdf", s[0].id)).await;
        assert!(pdf.body.starts_with("%PDF-"));
        // Another citizen sees neither.
        let (mut other, _) = citizen(app, "andere@example.org").await;
        assert_eq!(get(app, &mut other, &format!("/konto/antraege/{}", s[0].id)).await.status, 404);
        assert_eq!(get(app, &mut other, &format!("/konto/antraege/{}/quittung.pdf", s[0].id)).await.status, 404);
    });
}

#[tokio::test]
async fn forms_that_need_a_higher_trust_level_ask_for_it() {
    on_each_backend!(|app| {
        let r = app.get_with("/o/moorbrueck/antrag/meldebescheinigung/", "localhost", None).await;
        assert_eq!(r.status, 303);
        assert!(r.location().starts_with("/konto/anmelden"), "{}", r.location());
        let (mut jar, _) = citizen(app, "niveau@example.org").await;
        let r = get(app, &mut jar, "/o/moorbrueck/antrag/meldebescheinigung/").await;
        assert!(r.location().starts_with("/konto/vertrauensniveau?benoetigt=hoch"), "{}", r.location());
        assert_eq!(app.get("/o/moorbrueck/antrag/gibt-es-nicht/").await.status, 404);
        assert_eq!(app.get("/o/birkhusen/antrag/briefwahl/").await.status, 404, "another authority's form");
    });
}

/// One authority builds a form for a service it offers in the Verbund library; an
/// authority that adopts the service (linked) offers the same form in its own portal
/// and receives its own submissions with its own receipt numbers.
#[tokio::test]
async fn a_form_adopted_from_the_library_sends_submissions_to_the_adopter() {
    use amtsweg_domain::library::AdoptionMode;
    use amtsweg_store::library::Adopted;
    on_each_backend!(|app| {
        let store = &app.store.store;
        let birkhusen = app.authority_id("birkhusen").await;
        let ellerloh = app.authority_id("ellerloh").await;
        let source = store.leistung(birkhusen, "dorfgemeinschaftshaus-mieten").await.unwrap().unwrap();
        let entry = store.library_entry_of(birkhusen, source.id).await.unwrap().unwrap();
        let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
            "id": "dgh", "title": "Dorfgemeinschaftshaus mieten",
            "steps": [{"id": "anfrage", "title": "Ihre Anfrage", "items": [
                {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true},
                {"item": "field", "id": "ok", "label": "Hausordnung", "type": "declaration", "text": "Ich beachte die Hausordnung."}
            ]}]
        }))
        .unwrap();
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .create_form(birkhusen, &amtsweg_domain::Slug::parse("dgh").unwrap(), Some(source.id), &form, None)
            .await
            .unwrap();
        tx.publish_form(birkhusen, id, 1, None).await.unwrap();
        let Adopted::Created(adopted) = tx.adopt(ellerloh, entry.id, AdoptionMode::Linked, None).await.unwrap() else {
            panic!("not adopted")
        };
        tx.commit().await.unwrap();
        let version = store.draft(ellerloh, adopted).await.unwrap().unwrap().version;
        let mut tx = store.begin().await.unwrap();
        tx.publish_draft(ellerloh, adopted, version, None).await.unwrap();
        tx.commit().await.unwrap();
        amtsweg_web::sync::refresh(&app.state).await.unwrap();

        for (slug, prefix, authority) in [("ellerloh", "ELL", ellerloh), ("birkhusen", "BIR", birkhusen)] {
            let service = app
                .get(&format!(
                    "/o/{slug}/leistungen/{}",
                    if slug == "ellerloh" {
                        store
                            .leistungen_of(ellerloh, false)
                            .await
                            .unwrap()
                            .into_iter()
                            .find(|l| l.id == adopted)
                            .unwrap()
                            .slug
                            .as_str()
                            .to_owned()
                    } else {
                        "dorfgemeinschaftshaus-mieten".to_owned()
                    }
                ))
                .await;
            assert!(service.body.contains(&format!("/o/{slug}/antrag/dgh/")), "{slug}: the service links the form");
            let mut jar = Jar::default();
            let url = format!("/o/{slug}/antrag/dgh/");
            let page = start(app, &mut jar, &url).await;
            let r =
                post(app, &mut jar, &url, &format!("{}&aktion=weiter&f.name=Ida+Ruhe&f.ok=ja", first_fields(&page)))
                    .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let draft = r.location().trim_end_matches("pruefen").to_owned();
            let check = get(app, &mut jar, r.location()).await;
            let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={}", hidden(&check.body, "csrf")))
                .await;
            let receipt = get(app, &mut jar, r.location()).await;
            assert!(receipt.body.contains(&format!("{prefix}-{}-000001", year())), "{slug}: {}", receipt.body);
            assert_eq!(store.count_submissions(authority).await.unwrap(), 1, "{slug} receives its own");
        }
    });
}

/// The first page is rendered once and shared (postal-vote rush), but every citizen
/// gets tokens of their own and the place they chose.
#[tokio::test]
async fn every_citizen_gets_own_tokens_on_the_shared_first_page() {
    on_each_backend!(|app| {
        let a = start(app, &mut Jar::default(), BRIEFWAHL).await;
        let b = start(app, &mut Jar::default(), BRIEFWAHL).await;
        assert_ne!(hidden(&a.body, "token"), hidden(&b.body, "token"));
        assert_ne!(hidden(&a.body, "csrf"), hidden(&b.body, "csrf"));
        assert_eq!(
            a.body.replace(&hidden(&a.body, "token"), "T").replace(&hidden(&a.body, "csrf"), "C"),
            b.body.replace(&hidden(&b.body, "token"), "T").replace(&hidden(&b.body, "csrf"), "C"),
            "the same page otherwise"
        );
        let place = app.state.catalogue().places.iter().find(|p| p.name == "Moorbrück").unwrap().id;
        let cookie = format!("amtsweg_ort={place}");
        let with_place = app.get_with(BRIEFWAHL, "localhost", Some(&cookie)).await;
        assert!(with_place.body.contains("Ihr Ort: <strong>Moorbrück</strong>"), "{}", with_place.body);
        assert!(!a.body.contains("Ihr Ort: <strong>"));
        // Both tokens of the shared page work.
        let mut jar = Jar::default();
        let page = start(app, &mut jar, BRIEFWAHL).await;
        let r = post(
            app,
            &mut jar,
            BRIEFWAHL,
            &format!("{}&aktion=weiter&f.vorname=Erika&f.familienname=Musterfrau", first_fields(&page)),
        )
        .await;
        assert_eq!(r.status, 422, "errors shown, not refused: {}", r.body);
    });
}

/// A one-page form with direct submission: the complete page is one POST and one
/// commit straight to the receipt (no draft is kept); an incomplete page shows its
/// errors like any step and the answers wait in a draft; the same POST again shows
/// the same receipt.
#[tokio::test]
async fn a_one_page_form_submits_directly() {
    on_each_backend!(|app| {
        let path = amtsweg::seed::publish_one_page_briefwahl(&app.store.store, "moorbrueck").await.unwrap();
        amtsweg_web::sync::refresh(&app.state).await.unwrap();
        let mut jar = Jar::default();
        let page = start(app, &mut jar, &path).await;
        assert!(page.body.contains("value=\"absenden\">Antrag absenden"), "{}", page.body);
        let answers = "f.vorname=Erika&f.familienname=Schnell&f.geburtsdatum=12.03.1980&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck&f.wahlbezirk=12&f.versand=wohnung&f.versicherung=ja";
        // Incomplete: errors on the page, nothing submitted, a draft keeps the answers.
        let r = post(app, &mut jar, &path, &format!("{}&aktion=absenden&f.vorname=Erika", first_fields(&page))).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("error-summary") && r.body.contains("value=\"Erika\""));
        let town = app.authority_id("moorbrueck").await;
        assert_eq!(app.store.store.count_submissions(town).await.unwrap(), 0);
        let first_page = first_fields(&page);
        let kept = first_page.split("token=").nth(1).unwrap().split('.').next().unwrap().to_owned();
        assert!(app.store.store.application_draft(&kept).await.unwrap().is_some(), "the draft keeps the answers");

        let mut fresh = Jar::default();
        let page = start(app, &mut fresh, &path).await;
        let body = format!("{}&aktion=absenden&{answers}", first_fields(&page));
        let r = post(app, &mut fresh, &path, &body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = r.location().to_owned();
        assert!(receipt.starts_with(&format!("{path}eingang/")), "{receipt}");
        let token = receipt.rsplit('/').next().unwrap();
        assert!(app.store.store.application_draft(token).await.unwrap().is_none(), "no draft was kept");
        let shown = get(app, &mut fresh, &receipt).await;
        assert!(shown.body.contains(&format!("MOO-{}-000001", year())) && shown.body.contains("Schnell"));
        let again = post(app, &mut fresh, &path, &body).await;
        assert_eq!(again.location(), receipt, "the same token again: the same receipt");
        assert_eq!(app.store.store.count_submissions(town).await.unwrap(), 1);
        // Not to someone else's browser.
        assert_eq!(app.get_with(&receipt, "localhost", None).await.status, 404);

        // Back in the browser after the errors, the first page sent again complete: it
        // is submitted, and the draft of the first attempt goes with it.
        let r = post(app, &mut jar, &path, &format!("{first_page}&aktion=absenden&{answers}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().ends_with(&format!("/eingang/{kept}")), "{}", r.location());
        assert!(app.store.store.application_draft(&kept).await.unwrap().is_none(), "the draft is gone");
        assert!(get(app, &mut jar, r.location()).await.body.contains(&format!("MOO-{}-000002", year())));
        // A forged CSRF token is refused and stores nothing.
        let mut other = Jar::default();
        let page = start(app, &mut other, &path).await;
        let forged = format!("csrf=x&token={}&aktion=absenden&{answers}", hidden(&page.body, "token"));
        assert_eq!(post(app, &mut other, &path, &forged).await.status, 403);
        assert_eq!(app.store.store.count_submissions(town).await.unwrap(), 2);
    });
}

#[tokio::test]
async fn the_mailed_link_and_back_after_submitting_lead_somewhere_useful() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        let draft = briefwahl_to_check(app, &mut jar, "stand@example.org").await;
        let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
        let csrf = hidden(&check.body, "csrf");
        let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = r.location().to_owned();
        let token = receipt.rsplit('/').next().unwrap().to_owned();
        let s = app.store.store.submission_by_token(&token).await.unwrap().unwrap();
        let number = s.receipt_number.clone();

        // The receipt shows no checksum.
        let page = get(app, &mut jar, &receipt).await;
        assert_eq!(page.status, 200);
        for hidden_text in [s.data_hash.as_str(), "SHA-256", "Prüfsumme"] {
            assert!(!page.body.contains(hidden_text), "{hidden_text} on the receipt");
        }

        // The e-mailed link opens a status page in any browser: no personal data.
        let mails = mails_to(app, "stand@example.org").await;
        let link = mails[0].1.split_whitespace().find(|w| w.contains("/status/")).expect("a status link").to_owned();
        assert!(!link.contains("/eingang/"), "not the receipt, which only the applying browser may open");
        let path = link[link.find("/o/").unwrap()..].to_owned();
        let status = app.get_with(&path, "localhost", None).await;
        assert_eq!(status.status, 200, "{}", status.body);
        assert_eq!(status.headers["cache-control"], "no-store");
        assert_eq!(status.headers["referrer-policy"], "no-referrer", "the key stays in this address");
        for shown in [number.as_str(), "Briefwahl", "Stadt Moorbrück", "Eingegangen", "Stand Ihres Antrags"] {
            assert!(status.body.contains(shown), "{shown}: {}", status.body);
        }
        for personal in ["Musterfrau", "Erika", "12.03.1980", "Am Markt", "stand@example.org", s.data_hash.as_str()] {
            assert!(!status.body.contains(personal), "{personal} on the status page");
        }
        assert!(status.body.contains(&format!("href=\"{receipt}\"")), "the way to the full receipt");
        // The key belongs to this submission: changed, missing or another one's, the
        // page says what to do instead.
        let (without_key, key) = path.split_once("?schluessel=").unwrap();
        let other = if key.ends_with('A') { 'B' } else { 'A' };
        let flipped = format!("{without_key}?schluessel={}{other}", &key[..key.len() - 1]);
        for wrong in [flipped.as_str(), without_key] {
            let r = app.get_with(wrong, "localhost", None).await;
            assert_eq!(r.status, 404, "{wrong}");
            assert!(r.body.contains("Dieser Link ist nicht gültig") && !r.body.contains(&number), "{}", r.body);
        }

        // Back after submitting: the check page and the steps say what happened,
        // with the way to the receipt — not "not found".
        for back in [format!("{draft}pruefen"), format!("{draft}versand")] {
            let r = get(app, &mut jar, &back).await;
            assert_eq!(r.status, 200, "{back}: {}", r.body);
            assert!(r.body.contains("bereits abgeschickt") && r.body.contains(&number), "{}", r.body);
            assert!(r.body.contains(&format!("href=\"{receipt}\"")), "{}", r.body);
        }
        // Another browser learns nothing about it.
        assert_eq!(app.get_with(&format!("{draft}pruefen"), "localhost", None).await.status, 404);
    });
}
