//! Case work through the real router on both databases: the inbox with filters and
//! search, the submission view and its audit entries, the status workflow with a
//! question the citizen answers in the Postfach, the decision with a document,
//! notes, assignment, and what the citizen sees in the account.

use crate::antrag::briefwahl_to_check;
use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, get, hidden, post, sign_in};

const WORKER: &str = "sachbearbeitung@moorbrueck.example";

/// A signed-in citizen applies for Briefwahl; returns (citizen browser, submission id, receipt).
pub(crate) async fn applied(app: &TestApp, email: &str) -> (Jar, i64, String) {
    let (mut jar, citizen_id) = citizen(app, email).await;
    let draft = briefwahl_to_check(app, &mut jar, email).await;
    let check = get(app, &mut jar, &format!("{draft}pruefen")).await;
    let csrf = hidden(&check.body, "csrf");
    let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let s = app.store.store.submissions_of_citizen(citizen_id).await.unwrap().into_iter().next().unwrap();
    (jar, s.id, s.receipt_number)
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----amtsweg-casework";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"anhang\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    app: &TestApp,
    jar: &mut Jar,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> crate::support::Reply {
    let (ct, body) = multipart(fields, file);
    let req = axum::http::Request::post(path)
        .header("host", "localhost")
        .header("content-type", ct)
        .header("cookie", jar.header())
        .header("origin", "http://localhost")
        .body(axum::body::Body::from(body))
        .unwrap();
    let r = app.request(req).await;
    jar.take_pub(&r);
    r
}

async fn audit_actions(app: &TestApp, target: &str) -> Vec<String> {
    app.store
        .store
        .audit_entries(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.target.starts_with(target))
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn a_case_worker_asks_the_citizen_and_decides() {
    on_each_backend!(|app| {
        let (mut citizen_jar, id, receipt) = applied(app, "erika.case@example.org").await;
        let (_, other_id, other_receipt) = applied(app, "max.case@example.org").await;

        // The inbox lists both, finds one by a word of its answers, filters by status.
        let mut jar = sign_in(app, WORKER).await;
        let inbox = get(app, &mut jar, "/verwaltung/antraege/").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        assert!(inbox.body.contains(&receipt) && inbox.body.contains(&other_receipt), "{}", inbox.body);
        assert!(inbox.body.contains("Eingegangen"));
        let found = get(app, &mut jar, "/verwaltung/antraege/?q=erika.case").await;
        assert!(found.body.contains(&receipt) && !found.body.contains(&other_receipt), "search in the answers");
        let by_number = get(app, &mut jar, &format!("/verwaltung/antraege/?q={other_receipt}")).await;
        assert!(by_number.body.contains(&other_receipt) && !by_number.body.contains(&format!(">{receipt}<")));
        let none = get(app, &mut jar, "/verwaltung/antraege/?stand=abgeschlossen").await;
        assert!(none.body.contains("Keine Anträge"), "status filter");

        // The submission view shows the answers; every look is audited.
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Musterfrau") && page.body.contains(&receipt));
        let pdf = get(app, &mut jar, &format!("/verwaltung/antraege/{id}/quittung.pdf")).await;
        assert!(pdf.body.starts_with("%PDF-"));
        let actions = audit_actions(app, &format!("submission:{id}")).await;
        assert!(
            actions.contains(&"submission.view".to_owned()) && actions.contains(&"submission.receipt".to_owned()),
            "{actions:?}"
        );

        // A question needs a text; with one, it reaches the Postfach and the status changes.
        let csrf = hidden(&page.body, "csrf");
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "rueckfrage"), ("text", "")],
            None,
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("error-summary") && r.body.contains("Frage"), "{}", r.body);
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "abgeschlossen")],
            None,
        )
        .await;
        assert_eq!(r.status, 422, "a final state needs its outcome");
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", "falsch"), ("stand", "in_bearbeitung")],
            None,
        )
        .await;
        assert_eq!(r.status, 403, "CSRF");
        let question = "Bitte senden Sie uns eine Kopie Ihres Ausweises.";
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "rueckfrage"), ("text", question)],
            None,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let s = app.store.store.submission_in(&[app.authority_id("moorbrueck").await], id).await.unwrap().unwrap();
        assert_eq!(s.status, "rueckfrage");
        let thread = s.thread_id.expect("the question opened a Postfach thread");
        // The citizen opens the receipt only now (seconds after submitting): it shows
        // the new status, not the one of the moment of submitting.
        let receipt_page =
            get(app, &mut citizen_jar, &format!("/o/moorbrueck/antrag/briefwahl/eingang/{}", s.form_token)).await;
        assert_eq!(receipt_page.status, 200, "{}", receipt_page.body);
        assert!(receipt_page.body.contains("<dd>Rückfrage</dd>"), "{}", receipt_page.body);

        // An internal note and an assignment stay internal.
        let r = post(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/notiz"),
            &format!("csrf={csrf}&notiz=Intern%3A+Nachbar+fragen"),
        )
        .await;
        assert_eq!(r.status, 303);
        let r = post(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/zuweisung"),
            &format!("csrf={csrf}&bearbeitung=ich&frist=31.12."),
        )
        .await;
        assert_eq!(r.status, 422, "a due date must be a date");
        let me = app.store.store.staff_by_email(WORKER).await.unwrap().unwrap().id;
        let r = post(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/zuweisung"),
            &format!("csrf={csrf}&bearbeitung={me}&frist=2030-01-31"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let mine = get(app, &mut jar, "/verwaltung/antraege/?zugewiesen=ich").await;
        assert!(
            mine.body.contains(&receipt) && !mine.body.contains(&other_receipt) && mine.body.contains("2030-01-31")
        );

        // The citizen sees the question in the account and the Postfach; the e-mail has no content.
        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        assert!(mine.body.contains("Rückfrage") && mine.body.contains(question), "{}", mine.body);
        assert!(!mine.body.contains("Nachbar"), "notes are internal");
        let mails: Vec<String> = app
            .store
            .store
            .outbox_entries(200)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.payload)
            .filter(|p| p.contains("erika.case@example.org"))
            .collect();
        assert!(mails.iter().any(|m| m.contains("neue Nachricht")), "{mails:?}");
        assert!(!mails.iter().any(|m| m.contains("Ausweis")), "no content in e-mails");

        // The citizen answers with a file: the application goes back to processing.
        let reply_page = get(app, &mut citizen_jar, &format!("/konto/postfach/{thread}")).await;
        assert!(reply_page.body.contains(question));
        let csrf_c = hidden(&reply_page.body, "csrf");
        let r = post_multipart(
            app,
            &mut citizen_jar,
            &format!("/konto/postfach/{thread}"),
            &[("csrf", &csrf_c), ("text", "Anbei der Ausweis.")],
            Some(("ausweis.pdf", b"%PDF-1.4 Ausweis")),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let s = app.store.store.submission_in(&[app.authority_id("moorbrueck").await], id).await.unwrap().unwrap();
        assert_eq!(s.status, "in_bearbeitung", "the answer moves the application on");

        // The decision with the Bescheid as a document in the Postfach.
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(page.body.contains("Antwort der antragstellenden Person"));
        assert!(page.body.contains("Intern: Nachbar fragen"), "the note is in the history");
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "abgeschlossen|bewilligt"), ("text", "Ihr Antrag ist bewilligt.")],
            Some(("bescheid.pdf", b"%PDF-1.7 Bescheid")),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let done = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(done.body.contains("Abgeschlossen: Bewilligt") && !done.body.contains("Bearbeitungsstand ändern"));
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "in_bearbeitung")],
            None,
        )
        .await;
        assert_eq!(r.status, 422, "nothing follows a final state");
        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        assert!(mine.body.contains("Abgeschlossen: Bewilligt") && mine.body.contains("Ihr Antrag ist bewilligt."));
        let thread_page = get(app, &mut citizen_jar, &format!("/konto/postfach/{thread}")).await;
        assert!(thread_page.body.contains("bescheid.pdf"), "the decision document is in the Postfach");
        let list = get(app, &mut citizen_jar, "/konto/antraege/").await;
        assert!(list.body.contains("Abgeschlossen: Bewilligt"));

        // Someone without case work sees no inbox; another citizen's account sees nothing.
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut editor, "/verwaltung/antraege/").await.status, 403);
        assert_eq!(get(app, &mut editor, &format!("/verwaltung/antraege/{id}")).await.status, 404);
        let actions = audit_actions(app, &format!("submission:{id}")).await;
        for a in ["submission.status", "submission.note", "submission.assign"] {
            assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
        }
        assert!(app.store.store.verify_audit_chain().await.is_ok());
        let _ = other_id;
    });
}

/// An application made without an account can be processed, but the portal cannot
/// message its author: the case worker is told so, and nothing is stored.
#[tokio::test]
async fn without_an_account_there_is_no_postfach_message() {
    on_each_backend!(|app| {
        let mut browser = Jar::default();
        let draft = briefwahl_to_check(app, &mut browser, "anonym@example.org").await;
        let csrf = hidden(&get(app, &mut browser, &format!("{draft}pruefen")).await.body, "csrf");
        assert_eq!(post(app, &mut browser, &format!("{draft}absenden"), &format!("csrf={csrf}")).await.status, 303);
        let town = app.authority_id("moorbrueck").await;
        let s = app
            .store
            .store
            .inbox(&amtsweg_store::casework::InboxFilter { authority_ids: vec![town], limit: 10, ..Default::default() })
            .await
            .unwrap()
            .remove(0);
        let mut jar = sign_in(app, WORKER).await;
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{}", s.id)).await;
        assert!(page.body.contains("ohne Konto gestellt"));
        let csrf = hidden(&page.body, "csrf");
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{}/stand", s.id),
            &[("csrf", &csrf), ("stand", "rueckfrage"), ("text", "Frage")],
            None,
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("ohne Bürgerkonto"), "{}", r.body);
        assert!(app.store.store.submission_events(s.id).await.unwrap().is_empty(), "nothing stored");
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{}/stand", s.id),
            &[("csrf", &csrf), ("stand", "in_bearbeitung")],
            None,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
    });
}
