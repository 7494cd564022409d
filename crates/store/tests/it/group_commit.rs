//! Group commit: batches of submissions stored in one commit exactly as single
//! submissions would be, a broken one failing alone, and SQLite's write-ahead log
//! checkpointed in the background.

use super::submissions::{draft, file};
use super::{Store, on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::submissions::OwnedSubmission;

fn one_step_form() -> amtsweg_forms::Form {
    serde_json::from_value(serde_json::json!({
        "id": "b", "title": "B", "steps": [{"id": "a", "title": "A", "items": []}]
    }))
    .unwrap()
}

fn owned(token: &str, authority_id: i64, form_id: i64) -> OwnedSubmission {
    OwnedSubmission {
        form_token: token.into(),
        authority_id,
        form_id,
        form_version: 1,
        title: "Briefwahl".into(),
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b".into(),
        data: "sealed".into(),
        data_hash: "h".into(),
        receipt_prefix: "MO".into(),
        year: 2026,
        confirmation: None,
    }
}

/// A batch is stored in one commit with consecutive receipt numbers; a token twice
/// in a batch is stored once; one broken submission does not take the others down.
#[tokio::test]
async fn batches_commit_together_and_fail_alone() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let form = one_step_form();
        let mut tx = store.begin().await.unwrap();
        let f = tx.create_form(s.town, &Slug::parse("b").unwrap(), None, &form, None).await.unwrap();
        tx.commit().await.unwrap();
        let batch = vec![owned("g1", s.town, f), owned("g2", s.town, f), owned("g1", s.town, f)];
        let r: Vec<_> = store.submit_all(&batch).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(r[0].receipt_number, "MO-2026-000001");
        assert_eq!(r[1].receipt_number, "MO-2026-000002");
        assert_eq!((r[2].id, r[2].new), (r[0].id, false), "the same token once");
        let broken = vec![owned("g3", s.town, f), owned("g4", s.town, 999_999), owned("g5", s.town, f)];
        let r = store.submit_all(&broken).await;
        assert!(r[0].is_ok() && r[2].is_ok(), "{r:?}");
        assert!(r[1].is_err(), "a form that does not exist");
        assert_eq!(store.count_submissions(s.town).await.unwrap(), 4);
    })
    .await;
}

/// SQLite only — PostgreSQL keeps its own log: the writer does not copy the log
/// into the database inside its commits; the background checkpointer does within
/// a second, so the log does not grow without end, and closing folds it in.
#[tokio::test]
async fn the_sqlite_log_is_checkpointed_in_the_background() {
    let t = amtsweg_store::testing::sqlite().await;
    let s = seed(&t.store).await;
    let form = one_step_form();
    let db = t.dir.as_ref().unwrap().path().join("amtsweg.db");
    let wal = t.dir.as_ref().unwrap().path().join("amtsweg.db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut tx = t.store.begin().await.unwrap();
    let f = tx.create_form(s.town, &Slug::parse("b").unwrap(), None, &form, None).await.unwrap();
    tx.fill_benchmark_submissions(s.town, f, 1, 20_000).await.unwrap();
    tx.commit().await.unwrap();
    assert!(size(&wal) > 8_000_000, "the commit went to the log: {} bytes", size(&wal));
    let start = std::time::Instant::now();
    while size(&db) < 8_000_000 && start.elapsed() < std::time::Duration::from_secs(5) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(size(&db) >= 8_000_000, "copied into the database: {} bytes", size(&db));
    assert_eq!(t.store.count_submissions(s.town).await.unwrap(), 20_000);
    t.store.close().await;
    assert_eq!(size(&wal), 0, "closing folds the log in");
    let again = Store::open_sqlite(&db).await.unwrap();
    assert_eq!(again.count_submissions(s.town).await.unwrap(), 20_000);
    again.close().await;
}

/// A batch over two authorities stores each submission as a single one would be:
/// numbers per authority in the order sent, the draft's files moved and the
/// draft gone, each confirmation with its own number, deliveries to exactly the
/// connectors of each submission's authority and form.
#[tokio::test]
async fn a_batch_is_stored_like_single_submissions() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let form = one_step_form();
        let mut tx = store.begin().await.unwrap();
        let town_form = tx.create_form(s.town, &Slug::parse("b").unwrap(), None, &form, None).await.unwrap();
        let other_form = tx.create_form(s.town, &Slug::parse("c").unwrap(), None, &form, None).await.unwrap();
        let county_form = tx.create_form(s.county, &Slug::parse("b").unwrap(), None, &form, None).await.unwrap();
        let connector = |authority_id, form_id, name| NewConnector {
            authority_id,
            form_id,
            kind: "webhook",
            name,
            config: "sealed",
        };
        let town_all = tx.insert_connector(&connector(s.town, None, "alle")).await.unwrap();
        let town_b = tx.insert_connector(&connector(s.town, Some(town_form), "nur b")).await.unwrap();
        let county_all = tx.insert_connector(&connector(s.county, None, "Kreis")).await.unwrap();
        tx.create_application_draft(&draft("k2", s.town, town_form)).await.unwrap();
        tx.add_application_draft_file("k2", &file("a.pdf")).await.unwrap();
        tx.add_application_draft_file("k2", &file("b.pdf")).await.unwrap();
        tx.commit().await.unwrap();

        let mail = |to: &str| EmailMessage {
            to: to.into(),
            subject: "Eingang {eingangsnummer}".into(),
            body: "Nummer {eingangsnummer}".into(),
            attachments: Vec::new(),
        };
        let batch = vec![
            OwnedSubmission { confirmation: Some(mail("k1@example.org")), ..owned("k1", s.town, town_form) },
            OwnedSubmission { receipt_prefix: "HK".into(), ..owned("k3", s.county, county_form) },
            owned("k2", s.town, town_form),
            OwnedSubmission { confirmation: Some(mail("k4@example.org")), ..owned("k4", s.town, other_form) },
        ];
        let r: Vec<_> = store.submit_all(&batch).await.into_iter().map(Result::unwrap).collect();
        let numbers: Vec<&str> = r.iter().map(|x| x.receipt_number.as_str()).collect();
        assert_eq!(numbers, ["MO-2026-000001", "HK-2026-000001", "MO-2026-000002", "MO-2026-000003"]);
        assert!(r.iter().all(|x| x.new));

        assert!(store.application_draft("k2").await.unwrap().is_none(), "the draft is gone");
        let files = store.submission_files(r[2].id).await.unwrap();
        assert_eq!(files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(), ["a.pdf", "b.pdf"]);
        assert!(store.submission_files(r[0].id).await.unwrap().is_empty());

        let mails: Vec<EmailMessage> =
            store.outbox_entries(100).await.unwrap().iter().filter_map(|o| o.email().ok()).collect();
        let sent: Vec<(&str, &str)> = mails.iter().map(|m| (m.to.as_str(), m.subject.as_str())).collect();
        assert!(sent.contains(&("k1@example.org", "Eingang MO-2026-000001")), "{sent:?}");
        assert!(sent.contains(&("k4@example.org", "Eingang MO-2026-000003")), "{sent:?}");
        assert_eq!(sent.len(), 2);

        let targets = |authority_id, id| {
            let store = store.clone();
            async move {
                store.deliveries_of(authority_id, id).await.unwrap().iter().map(|d| d.connector_id).collect::<Vec<_>>()
            }
        };
        assert_eq!(targets(s.town, r[0].id).await, [town_all, town_b]);
        assert_eq!(targets(s.county, r[1].id).await, [county_all]);
        assert_eq!(targets(s.town, r[2].id).await, [town_all, town_b]);
        assert_eq!(targets(s.town, r[3].id).await, [town_all], "connector of another form left out");
    })
    .await;
}
