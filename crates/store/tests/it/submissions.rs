//! Application drafts and submissions: receipt numbers per authority, files moved
//! from the draft, one commit per submission, idempotency by form token, draft
//! expiry and resume links. Also the draft and file builders other tests reuse.

use super::{on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::submissions::{NewDraft, NewFile, NewSubmission};

fn form() -> amtsweg_forms::Form {
    serde_json::from_value(serde_json::json!({
        "id": "hund", "title": "Hundesteuer",
        "steps": [{"id": "halter", "title": "Halter", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}
        ]}]
    }))
    .unwrap()
}

pub(super) fn draft<'a>(token: &'a str, authority_id: i64, form_id: i64) -> NewDraft<'a> {
    NewDraft {
        token,
        authority_id,
        form_id,
        form_version: 1,
        citizen_id: None,
        browser_hash: "b",
        csrf: "c",
        answers: "sealed-1",
        step: "halter",
        expires_at: amtsweg_store::now_ms() + 60_000,
    }
}

pub(super) fn file(name: &str) -> NewFile<'_> {
    NewFile {
        field: "nachweis",
        file_name: name,
        content_type: "application/pdf",
        size: 4,
        sha256: "ab",
        object_key: name,
    }
}

/// A submission gets the next receipt number of its authority, takes the draft's
/// files, removes the draft and queues the confirmation in one commit; the same
/// form token again stores nothing and returns the same receipt.
#[tokio::test]
async fn submit_once_with_receipt_numbers_per_authority() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let town_form = tx.create_form(s.town, &Slug::parse("hund").unwrap(), None, &form(), None).await.unwrap();
        let county_form = tx.create_form(s.county, &Slug::parse("hund").unwrap(), None, &form(), None).await.unwrap();
        assert!(tx.create_application_draft(&draft("t1", s.town, town_form)).await.unwrap());
        assert!(!tx.create_application_draft(&draft("t1", s.town, town_form)).await.unwrap(), "retried first step");
        assert!(tx.create_application_draft(&draft("t2", s.town, town_form)).await.unwrap());
        assert!(tx.create_application_draft(&draft("t3", s.county, county_form)).await.unwrap());
        tx.add_application_draft_file("t1", &file("a.pdf")).await.unwrap();
        let b = tx.add_application_draft_file("t1", &file("b.pdf")).await.unwrap();
        tx.add_application_draft_file("t2", &file("c.pdf")).await.unwrap();
        assert_eq!(tx.remove_application_draft_file("t2", b).await.unwrap(), None, "another draft's file");
        assert!(
            tx.save_application_draft("t1", "sealed-2", "pruefen", amtsweg_store::now_ms() + 60_000).await.unwrap()
        );
        tx.commit().await.unwrap();
        assert_eq!(store.application_draft("t1").await.unwrap().unwrap().answers, "sealed-2");

        let mail = EmailMessage {
            to: "a@example.org".into(),
            subject: "Eingang".into(),
            body: "x".into(),
            attachments: Vec::new(),
        };
        let sub = |token: &'static str, authority_id: i64, form_id: i64, prefix: &'static str| NewSubmission {
            form_token: token,
            authority_id,
            form_id,
            form_version: 1,
            title: "Hundesteuer",
            org_unit_id: None,
            citizen_id: None,
            browser_hash: "b",
            data: "sealed-data",
            data_hash: "hash",
            receipt_prefix: prefix,
            year: 2026,
            confirmation: None,
        };
        let outbox_before = store.outbox_entries(100).await.unwrap().len();
        let mut tx = store.begin().await.unwrap();
        let first = tx
            .submit(&NewSubmission { confirmation: Some(&mail), ..sub("t1", s.town, town_form, "MO") })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(first.new);
        assert_eq!(first.receipt_number, "MO-2026-000001");
        assert!(store.application_draft("t1").await.unwrap().is_none(), "the draft is gone");
        let files = store.submission_files(first.id).await.unwrap();
        assert_eq!(files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), ["a.pdf", "b.pdf"]);
        assert_eq!(store.outbox_entries(100).await.unwrap().len(), outbox_before + 1);

        let mut tx = store.begin().await.unwrap();
        let again = tx
            .submit(&NewSubmission { confirmation: Some(&mail), ..sub("t1", s.town, town_form, "MO") })
            .await
            .unwrap();
        let second = tx.submit(&sub("t2", s.town, town_form, "MO")).await.unwrap();
        let county = tx.submit(&sub("t3", s.county, county_form, "HK")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((again.id, again.receipt_number.as_str(), again.new), (first.id, "MO-2026-000001", false));
        assert_eq!(second.receipt_number, "MO-2026-000002");
        assert_eq!(county.receipt_number, "HK-2026-000001", "numbers count per authority");
        assert_eq!(store.outbox_entries(100).await.unwrap().len(), outbox_before + 1, "no second mail");
        assert_eq!(store.count_submissions(s.town).await.unwrap(), 2);
        assert!(store.submission(s.county, first.id).await.unwrap().is_none(), "tenant isolation");
        assert_eq!(store.submission_by_token("t1").await.unwrap().unwrap().status, "eingegangen");
        // The booking journey links an appointment only to a receipt of the same authority.
        assert!(store.submission_exists(s.town, "MO-2026-000002").await.unwrap());
        assert!(!store.submission_exists(s.county, "MO-2026-000002").await.unwrap(), "tenant isolation");
        assert!(store.submission_exists(s.county, "HK-2026-000001").await.unwrap());
        assert!(!store.submission_exists(s.town, "MO-2026-000003").await.unwrap(), "not issued");
    })
    .await;
}

/// Expired drafts are deleted with their files; resume links work once.
#[tokio::test]
async fn drafts_expire_and_resume_once() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let f = tx.create_form(s.town, &Slug::parse("hund").unwrap(), None, &form(), None).await.unwrap();
        tx.create_application_draft(&NewDraft { expires_at: 10, ..draft("old", s.town, f) }).await.unwrap();
        tx.create_application_draft(&draft("new", s.town, f)).await.unwrap();
        tx.add_application_draft_file("old", &file("old.pdf")).await.unwrap();
        assert!(tx.set_application_draft_resume("new", "r1").await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let (n, keys) = tx.delete_expired_application_drafts(amtsweg_store::now_ms(), 100).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((n, keys), (1, vec!["old.pdf".to_owned()]));
        assert!(store.application_draft("old").await.unwrap().is_none());
        assert_eq!(store.application_draft_by_resume("r1").await.unwrap().unwrap().token, "new");
        let mut tx = store.begin().await.unwrap();
        assert!(tx.rebind_application_draft("new", "r1", "other-browser").await.unwrap());
        assert!(!tx.rebind_application_draft("new", "r1", "third-browser").await.unwrap(), "used up");
        tx.commit().await.unwrap();
        assert_eq!(store.application_draft("new").await.unwrap().unwrap().browser_hash, "other-browser");
    })
    .await;
}
