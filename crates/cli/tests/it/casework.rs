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
            mine.body.contains(&receipt) && !mine.body.contains(&other_receipt) && mine.body.contains("31.01.2030")
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
            &[
                ("csrf", &csrf),
                ("stand", "abgeschlossen|bewilligt"),
                ("text", "Ihr Antrag ist bewilligt."),
                ("bestaetigt", "ja"),
            ],
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

/// The path of the first download link of the conversation on a case page.
fn conversation_link(page: &str, id: i64) -> Option<String> {
    let prefix = format!("/verwaltung/antraege/{id}/nachrichten/");
    let start = page.find(&prefix)?;
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_owned())
}

/// A staff member who works the cases of another authority of the Verbund.
async fn foreign_case_worker(app: &TestApp) -> Jar {
    let email = "sachbearbeitung@ellerloh.example";
    if app.store.store.staff_by_email(email).await.unwrap().is_none() {
        let slug = app
            .store
            .store
            .authorities()
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.slug.as_str() != "moorbrueck")
            .unwrap()
            .slug;
        amtsweg::staff::create(
            &app.store.store,
            &amtsweg::staff::NewAccount {
                email,
                name: "Fremde Sachbearbeitung",
                password: amtsweg::staff::DEMO_PASSWORD,
                role: amtsweg_domain::staff::Role::CaseWorker,
                authority: Some(slug.as_str()),
                org_unit: None,
                totp_secret: None,
            },
        )
        .await
        .unwrap();
    }
    sign_in(app, email).await
}

/// Issue 17, item 1: the citizen answers a question with a file; the case worker sees
/// the whole conversation with text and attachment, the inbox flags the case until
/// someone opens it, and the attachment opens only through this case.
#[tokio::test]
async fn the_case_worker_sees_the_citizens_answer() {
    on_each_backend!(|app| {
        let (mut citizen_jar, id, receipt) = applied(app, "antwort.case@example.org").await;
        let (_, other_id, _) = applied(app, "andere.case@example.org").await;
        let mut jar = sign_in(app, WORKER).await;
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(page.body.contains("Noch keine Nachrichten"), "{}", page.body);
        let csrf = hidden(&page.body, "csrf");
        let question = "Bitte senden Sie uns den Mietvertrag.";
        let r = post_multipart(
            app,
            &mut jar,
            &format!("/verwaltung/antraege/{id}/stand"),
            &[("csrf", &csrf), ("stand", "rueckfrage"), ("text", question)],
            Some(("merkblatt.pdf", b"%PDF-1.4 Merkblatt")),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let thread = app.store.store.submission_in(&[app.authority_id("moorbrueck").await], id).await.unwrap().unwrap();
        let thread = thread.thread_id.unwrap();

        // The citizen answers with text and a file.
        let reply_page = get(app, &mut citizen_jar, &format!("/konto/postfach/{thread}")).await;
        let csrf_c = hidden(&reply_page.body, "csrf");
        let answer = "Anbei der Mietvertrag vom 1. März.";
        let r = post_multipart(
            app,
            &mut citizen_jar,
            &format!("/konto/postfach/{thread}"),
            &[("csrf", &csrf_c), ("text", answer)],
            Some(("mietvertrag.pdf", b"%PDF-1.4 Mietvertrag Inhalt")),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);

        // The inbox row flags the unread answer; the other case is not flagged.
        let inbox = get(app, &mut jar, "/verwaltung/antraege/").await;
        let row_of = |body: &str, number: &str| {
            let at = body.find(&format!(">{number}</a>")).unwrap();
            body[at..at + body[at..].find("</tr>").unwrap()].to_owned()
        };
        assert!(row_of(&inbox.body, &receipt).contains("1 neue Nachricht"), "{}", inbox.body);
        let unread_only = get(app, &mut jar, "/verwaltung/antraege/?ungelesen=ja").await;
        assert!(unread_only.body.contains(&receipt), "{}", unread_only.body);
        assert!(!unread_only.body.contains(&format!("/verwaltung/antraege/{other_id}\"")), "only cases with news");

        // The case view shows both directions in order, with the files, the new one marked.
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let (q_at, a_at) = (page.body.find(question).unwrap(), page.body.find(answer).unwrap());
        assert!(q_at < a_at, "the question comes before the answer");
        assert!(page.body.contains("merkblatt.pdf") && page.body.contains("mietvertrag.pdf"), "{}", page.body);
        assert!(page.body.contains("kern-badge--warning\">neu</span>"), "the answer is marked as new");
        let conversation = &page.body[page.body.find("id=\"nachrichten\"").unwrap()..];
        let citizen_file = conversation_link(&conversation[conversation.find(answer).unwrap()..], id).unwrap();
        let file = get(app, &mut jar, &citizen_file).await;
        assert_eq!(file.status, 200, "{}", file.body);
        assert_eq!(file.body, "%PDF-1.4 Mietvertrag Inhalt");
        assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert!(audit_actions(app, &format!("submission:{id}")).await.contains(&"submission.message_file".to_owned()));

        // Opened once, the answer is read: no marker in the inbox or on the page.
        let again = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(!again.body.contains("kern-badge--warning\">neu</span>"), "read after the first look");
        let inbox = get(app, &mut jar, "/verwaltung/antraege/").await;
        assert!(!row_of(&inbox.body, &receipt).contains("neue Nachricht"));

        // The file opens only through its own case, and only for this authority.
        let attachment = citizen_file.rsplit('/').next().unwrap();
        let wrong_case = get(app, &mut jar, &format!("/verwaltung/antraege/{other_id}/nachrichten/{attachment}")).await;
        assert_eq!(wrong_case.status, 404);
        assert!(!wrong_case.body.contains("Mietvertrag Inhalt"));
        let mut foreign = foreign_case_worker(app).await;
        let r = get(app, &mut foreign, &citizen_file).await;
        assert_eq!(r.status, 404, "another authority's case worker");
        assert!(!r.body.contains("Mietvertrag Inhalt"));
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        assert_eq!(get(app, &mut editor, &citizen_file).await.status, 404, "an editor works no cases");
    });
}

/// Issue 17, item 5: a final decision needs an explicit confirmation naming what it
/// means; a closed case can be reopened with a reason, audited, the citizen told.
#[tokio::test]
async fn a_final_decision_is_confirmed_and_can_be_reopened() {
    on_each_backend!(|app| {
        let (mut citizen_jar, id, receipt) = applied(app, "entscheidung.case@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        let mut jar = sign_in(app, WORKER).await;
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        let csrf = hidden(&page.body, "csrf");
        let url = format!("/verwaltung/antraege/{id}/stand");
        let text = "Ihr Antrag ist bewilligt, die Unterlagen kommen mit der Post.";

        // Without the confirmation: nothing changes, the page names the consequence
        // and keeps what was typed.
        let r = post_multipart(
            app,
            &mut jar,
            &url,
            &[("csrf", &csrf), ("stand", "abgeschlossen|bewilligt"), ("text", text)],
            None,
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("error-summary") && r.body.contains("Bitte bestätigen Sie die Entscheidung"));
        assert!(r.body.contains("„Abgeschlossen: Bewilligt“ ist eine abschließende Entscheidung"), "{}", r.body);
        assert!(r.body.contains(text), "the typed message is kept");
        assert!(r.body.contains("value=\"abgeschlossen|bewilligt\" selected"), "the chosen state is kept");
        let s = app.store.store.submission_in(&[town], id).await.unwrap().unwrap();
        assert_eq!(s.status, "eingegangen", "nothing was decided");
        // A withdrawal is final too.
        let r = post_multipart(app, &mut jar, &url, &[("csrf", &csrf), ("stand", "zurueckgezogen")], None).await;
        assert_eq!(r.status, 422);
        // An ordinary state needs no confirmation.
        let r = post_multipart(app, &mut jar, &url, &[("csrf", &csrf), ("stand", "in_bearbeitung")], None).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_multipart(
            app,
            &mut jar,
            &url,
            &[("csrf", &csrf), ("stand", "abgeschlossen|bewilligt"), ("text", text), ("bestaetigt", "ja")],
            None,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let s = app.store.store.submission_in(&[town], id).await.unwrap().unwrap();
        assert_eq!((s.status.as_str(), s.sub_status.as_str()), ("abgeschlossen", "bewilligt"));

        // Reopening needs a reason; the error keeps nothing changed.
        let done = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(done.body.contains("Antrag wieder aufnehmen"), "{}", done.body);
        let reopen = format!("/verwaltung/antraege/{id}/wiederaufnahme");
        let r = post(app, &mut jar, &reopen, &format!("csrf={csrf}&begruendung=++")).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("warum der Antrag wieder aufgenommen wird"));
        assert_eq!(app.store.store.submission_in(&[town], id).await.unwrap().unwrap().status, "abgeschlossen");
        let r = post(app, &mut jar, &reopen, "csrf=falsch&begruendung=Versehen").await;
        assert_eq!(r.status, 403, "CSRF");
        let reason = "Versehentlich bewilligt, die Meldeadresse fehlt noch.";
        let r =
            post(app, &mut jar, &reopen, &format!("csrf={csrf}&begruendung={}", crate::verwaltung::enc(reason))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let s = app.store.store.submission_in(&[town], id).await.unwrap().unwrap();
        assert_eq!((s.status.as_str(), s.sub_status.as_str()), ("in_bearbeitung", ""), "back to where it was");
        let page = get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(page.body.contains("Wieder aufgenommen – Stand: In Bearbeitung") && page.body.contains(reason));
        assert!(page.body.contains("Bearbeitungsstand ändern"), "the case can be worked again");
        let r = post(app, &mut jar, &reopen, &format!("csrf={csrf}&begruendung=nochmal")).await;
        assert_eq!(r.status, 422, "an open case is not reopened");
        assert!(audit_actions(app, &format!("submission:{id}")).await.contains(&"submission.reopen".to_owned()));

        // The citizen is told, with the reason.
        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        assert!(mine.body.contains("In Bearbeitung"), "{}", mine.body);
        let thread = s.thread_id.expect("the decision and the reopening went to the Postfach");
        let postfach = get(app, &mut citizen_jar, &format!("/konto/postfach/{thread}")).await;
        assert!(postfach.body.contains("wieder bearbeitet") && postfach.body.contains(reason), "{}", postfach.body);

        // The audit log says it in words.
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let log = get(app, &mut admin, "/verwaltung/protokoll/?aktion=submission.status").await;
        assert!(
            log.body.contains(&format!("Sam Sachbearbeitung (Stadt Moorbrück) hat {receipt} auf ‚bewilligt‘ gesetzt")),
            "{}",
            log.body
        );
        assert!(
            !log.body.contains("abgeschlossen:bewilligt") && !log.body.contains(">submission.status<"),
            "no raw values"
        );
        let log = get(app, &mut admin, "/verwaltung/protokoll/?aktion=submission.reopen").await;
        assert!(
            log.body.contains(&format!("hat {receipt} wieder aufgenommen (Stand ‚In Bearbeitung‘)")),
            "{}",
            log.body
        );
        assert!(!log.body.contains("auf ‚bewilligt‘ gesetzt"), "only the chosen kind");
    });
}

/// Puts `n` bare submissions (sealed data that does not open) into the town's inbox.
async fn many_submissions(app: &TestApp, n: usize) -> Vec<(i64, String)> {
    let town = app.authority_id("moorbrueck").await;
    let catalogue = app.state.catalogue();
    let (form_id, form_version) =
        catalogue.all_forms().find(|f| f.authority_id == town).map(|f| (f.form_id, f.version)).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let token = format!("viele-{i}");
        let store = &app.store.store;
        let mut tx = store.begin().await.unwrap();
        tx.create_application_draft(&amtsweg_store::submissions::NewDraft {
            token: &token,
            authority_id: town,
            form_id,
            form_version,
            citizen_id: None,
            browser_hash: "b",
            csrf: "c",
            answers: "sealed",
            step: "a",
            expires_at: amtsweg_store::now_ms() + 60_000,
        })
        .await
        .unwrap();
        let s = tx
            .submit(&amtsweg_store::submissions::NewSubmission {
                form_token: &token,
                authority_id: town,
                form_id,
                form_version,
                title: "Viele Anträge",
                org_unit_id: None,
                citizen_id: None,
                browser_hash: "b",
                data: "sealed",
                data_hash: "h",
                receipt_prefix: "VIE",
                year: 2026,
                confirmation: None,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        out.push((s.id, s.receipt_number));
    }
    out
}

/// Issue 17, item 11: the inbox has applicant and due-date columns, pages with
/// counts, and bulk assignment (CSRF, tenant-checked, audited).
#[tokio::test]
async fn the_inbox_pages_and_assigns_in_bulk() {
    on_each_backend!(|app| {
        let (_, id, receipt) = applied(app, "liste.case@example.org").await;
        let many = many_submissions(app, 26).await;
        let mut jar = sign_in(app, WORKER).await;
        let inbox = get(app, &mut jar, "/verwaltung/antraege/?sortierung=alt").await;
        assert_eq!(inbox.status, 200, "{}", inbox.body);
        for column in ["Antragsteller/in", "Eingegangen", "Frist", "Stand", "Bearbeitung", "Leistung"] {
            assert!(inbox.body.contains(&format!("<th scope=\"col\">{column}</th>")), "{column}");
        }
        assert!(inbox.body.contains("Anträge 1–25 von 27"), "{}", inbox.body);
        assert!(inbox.body.contains("Erika Musterfrau"), "the applicant's name from the answers");
        assert!(inbox.body.contains(&receipt) && !inbox.body.contains(&many[25].1), "oldest first, 25 a page");
        assert!(inbox.body.contains("seite=2") && inbox.body.contains("rel=\"next\""));
        let second = get(app, &mut jar, "/verwaltung/antraege/?sortierung=alt&seite=2").await;
        assert!(second.body.contains("Anträge 26–27 von 27") && second.body.contains(&many[25].1), "{}", second.body);
        assert!(!second.body.contains(&receipt));
        let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
        assert!(inbox.body.contains(&today.strftime("%d.%m.%Y").to_string()), "received in German format");

        // Bulk assignment of two cases.
        let csrf = hidden(&inbox.body, "csrf");
        let me = app.store.store.staff_by_email(WORKER).await.unwrap().unwrap().id;
        let (a, b) = (many[0].0, many[1].0);
        let target = "/verwaltung/antraege/zuweisen?sortierung=alt&seite=1";
        let r = post(app, &mut jar, target, &format!("csrf={csrf}&an={me}")).await;
        assert_eq!(r.status, 422, "nothing selected");
        assert!(r.body.contains("mindestens einen Antrag"));
        let r = post(app, &mut jar, target, &format!("csrf={csrf}&antrag={a}&antrag={b}")).await;
        assert_eq!(r.status, 422, "nobody chosen");
        assert!(r.body.contains(&format!("value=\"{a}\" id=\"auswahl-{a}\" checked")), "the selection is kept");
        let r = post(app, &mut jar, target, &format!("csrf=falsch&antrag={a}&an={me}")).await;
        assert_eq!(r.status, 403, "CSRF");
        let r = post(app, &mut jar, target, &format!("csrf={csrf}&antrag={a}&antrag={b}&an={me}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let town = app.authority_id("moorbrueck").await;
        for x in [a, b] {
            let s = app.store.store.submission_in(&[town], x).await.unwrap().unwrap();
            assert_eq!(s.assignee_id, Some(me));
            let outcomes: Vec<String> = app
                .store
                .store
                .audit_entries(None, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.target == format!("submission:{x}") && e.action == "submission.assign")
                .map(|e| e.outcome)
                .collect();
            assert_eq!(outcomes, vec![format!("staff:{me}")]);
        }
        assert_eq!(app.store.store.submission_in(&[town], id).await.unwrap().unwrap().assignee_id, None);
        let done = get(app, &mut jar, r.location()).await;
        assert!(done.body.contains("2 Anträge sind neu zugewiesen"), "{}", done.body);
        let mine = get(app, &mut jar, "/verwaltung/antraege/?zugewiesen=ich").await;
        assert!(mine.body.contains(&many[0].1) && mine.body.contains(&many[1].1) && !mine.body.contains(&receipt));

        // Another authority's case worker can neither assign these nor see them.
        let mut foreign = foreign_case_worker(app).await;
        let page = get(app, &mut foreign, "/verwaltung/antraege/?stand=alle").await;
        assert!(!page.body.contains(&many[2].1));
        let csrf_f = hidden(&page.body, "csrf");
        let r = post(
            app,
            &mut foreign,
            "/verwaltung/antraege/zuweisen",
            &format!("csrf={csrf_f}&antrag={}&an=niemand", many[2].0),
        )
        .await;
        assert_eq!(r.status, 404);
        let r = post(app, &mut jar, target, &format!("csrf={csrf}&antrag={}&an=niemand", many[0].0)).await;
        assert_eq!(r.status, 303);
        assert_eq!(app.store.store.submission_in(&[town], many[0].0).await.unwrap().unwrap().assignee_id, None);
    });
}

/// Issue 17, item 11: the audit log in words, filterable by kind, person and period.
#[tokio::test]
async fn the_audit_log_reads_in_words_and_filters() {
    on_each_backend!(|app| {
        let (_, id, receipt) = applied(app, "protokoll.case@example.org").await;
        let mut jar = sign_in(app, WORKER).await;
        assert_eq!(get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await.status, 200);
        let me = app.store.store.staff_by_email(WORKER).await.unwrap().unwrap().id;
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let log = get(app, &mut admin, "/verwaltung/protokoll/").await;
        assert_eq!(log.status, 200, "{}", log.body);
        assert!(
            log.body.contains(&format!("Sam Sachbearbeitung (Stadt Moorbrück) hat {receipt} angesehen")),
            "{}",
            log.body
        );
        assert!(!log.body.contains("submission.view</td>"), "no raw kinds");
        assert!(log.body.contains("<option value=\"submission.view\">Antrag angesehen</option>"), "{}", log.body);
        // By person: only their entries.
        let theirs = get(app, &mut admin, &format!("/verwaltung/protokoll/?wer=staff%3A{me}")).await;
        assert!(theirs.body.contains(&format!("hat {receipt} angesehen")));
        let others = get(app, &mut admin, "/verwaltung/protokoll/?wer=citizen").await;
        assert!(!others.body.contains(&format!("hat {receipt} angesehen")), "{}", others.body);
        // By period: today finds it, tomorrow does not; a wrong date is an error.
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let today = jiff::Zoned::now().with_time_zone(berlin).date();
        let tomorrow = today.tomorrow().unwrap();
        let t = get(app, &mut admin, &format!("/verwaltung/protokoll/?aktion=submission.view&von={today}&bis={today}"))
            .await;
        assert!(t.body.contains(&format!("hat {receipt} angesehen")), "{}", t.body);
        let t = get(app, &mut admin, &format!("/verwaltung/protokoll/?aktion=submission.view&von={tomorrow}")).await;
        assert!(!t.body.contains(&format!("hat {receipt} angesehen")) && t.body.contains("Keine Einträge"));
        let bad = get(app, &mut admin, "/verwaltung/protokoll/?von=31.02.2026").await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("error-summary") && bad.body.contains("als Datum"));
        // Pages of 50 with counts.
        for _ in 0..50 {
            assert_eq!(get(app, &mut jar, &format!("/verwaltung/antraege/{id}")).await.status, 200);
        }
        let all = get(app, &mut admin, "/verwaltung/protokoll/?aktion=submission.view").await;
        assert!(all.body.contains("Einträge 1–50 von 51"), "{}", all.body);
        let second = get(app, &mut admin, "/verwaltung/protokoll/?aktion=submission.view&wer=&von=&bis=&seite=2").await;
        assert!(second.body.contains("Einträge 51–51 von 51"), "{}", second.body);
    });
}
