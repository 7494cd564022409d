//! Hand-off to back-office systems: deliveries enqueued with the submission, leases,
//! retries and dead letters, resends, reconciliation, acknowledgements and status
//! changes.

use super::{on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_store::casework::NewEvent;
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::submissions::{NewDraft, NewSubmission};

fn form(id: &str) -> amtsweg_forms::Form {
    serde_json::from_value(serde_json::json!({
        "id": id, "title": "Hundesteuer",
        "steps": [{"id": "halter", "title": "Halter", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}
        ]}]
    }))
    .unwrap()
}

fn submission<'a>(token: &'a str, authority_id: i64, form_id: i64) -> NewSubmission<'a> {
    NewSubmission {
        form_token: token,
        authority_id,
        form_id,
        form_version: 1,
        title: "Hundesteuer",
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b",
        data: "sealed",
        data_hash: "hash",
        receipt_prefix: "MO",
        year: 2026,
        confirmation: None,
    }
}

/// Submissions enqueue one delivery per matching active connector in their own
/// commit; a claimed delivery is leased; failures retry, then park as dead; a
/// resend starts over; the reconciliation lists every submission with each
/// target; acknowledgements count once; a status change loses against a
/// concurrent one.
#[tokio::test]
async fn deliveries_are_enqueued_once_and_leased() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let hund = tx.create_form(s.town, &Slug::parse("hund").unwrap(), None, &form("hund"), None).await.unwrap();
        let katze = tx.create_form(s.town, &Slug::parse("katze").unwrap(), None, &form("katze"), None).await.unwrap();
        let all = NewConnector {
            authority_id: s.town,
            form_id: None,
            kind: "webhook",
            name: "Fachverfahren",
            config: "sealed",
        };
        let all_id = tx.insert_connector(&all).await.unwrap();
        let only_katze =
            tx.insert_connector(&NewConnector { form_id: Some(katze), name: "Katzen", ..all.clone() }).await.unwrap();
        let off = tx.insert_connector(&NewConnector { name: "alt", ..all.clone() }).await.unwrap();
        assert!(tx.set_connector_active(s.town, off, false).await.unwrap());
        assert!(!tx.set_connector_active(s.county, all_id, false).await.unwrap(), "another authority's connector");
        tx.insert_connector(&NewConnector { authority_id: s.county, ..all.clone() }).await.unwrap();
        for t in ["d1", "d2"] {
            let f = if t == "d1" { hund } else { katze };
            tx.create_application_draft(&NewDraft {
                token: t,
                authority_id: s.town,
                form_id: f,
                form_version: 1,
                citizen_id: None,
                browser_hash: "b",
                csrf: "c",
                answers: "a",
                step: "halter",
                expires_at: amtsweg_store::now_ms() + 60_000,
            })
            .await
            .unwrap();
        }
        let one = tx.submit(&submission("d1", s.town, hund)).await.unwrap();
        let two = tx.submit(&submission("d2", s.town, katze)).await.unwrap();
        tx.submit(&submission("d2", s.town, katze)).await.unwrap();
        tx.commit().await.unwrap();

        let d1 = store.deliveries_of(s.town, one.id).await.unwrap();
        let d2 = store.deliveries_of(s.town, two.id).await.unwrap();
        assert_eq!(d1.iter().map(|d| d.connector_id).collect::<Vec<_>>(), [all_id]);
        assert_eq!(d2.iter().map(|d| d.connector_id).collect::<Vec<_>>(), [all_id, only_katze], "no second set");
        assert!(store.deliveries_of(s.county, one.id).await.unwrap().is_empty(), "tenant isolation");

        let claimed = store.claim_deliveries(10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 3);
        assert!(store.claim_deliveries(10, 60_000).await.unwrap().is_empty(), "leased rows are not taken twice");

        let mut tx = store.begin().await.unwrap();
        tx.mark_delivered(d1[0].id, "HTTP 200").await.unwrap();
        tx.mark_delivery_failed(d2[0].id, "HTTP 503", 0, false).await.unwrap();
        tx.mark_delivery_failed(d2[1].id, "HTTP 500", 0, true).await.unwrap();
        tx.commit().await.unwrap();
        let again = store.claim_deliveries(10, 60_000).await.unwrap();
        assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), [d2[0].id], "the failed one is due again");
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].last_error, "HTTP 503");
        let mut tx = store.begin().await.unwrap();
        tx.mark_delivered(d2[0].id, "HTTP 201").await.unwrap();
        tx.mark_delivered(d2[0].id, "late duplicate").await.unwrap();
        assert!(tx.resend_delivery(s.town, d2[1].id).await.unwrap());
        assert!(!tx.resend_delivery(s.county, d2[1].id).await.unwrap(), "another authority's delivery");
        tx.commit().await.unwrap();
        let done = store.deliveries_of(s.town, two.id).await.unwrap();
        assert_eq!((done[0].status.as_str(), done[0].reference.as_str()), ("delivered", "HTTP 201"));
        assert_eq!((done[1].status.as_str(), done[1].attempts), ("pending", 0));

        let report = store.reconciliation(s.town, 0, i64::MAX).await.unwrap();
        assert_eq!(report.len(), 3, "one row per submission and target");
        assert!(store.reconciliation(s.town, 0, 1).await.unwrap().is_empty(), "period respected");
        let counts = store.delivery_counts(s.town).await.unwrap();
        assert!(counts.contains(&("delivered".to_owned(), 2)), "{counts:?}");

        let mut tx = store.begin().await.unwrap();
        let client = tx.insert_api_client(s.town, "Fachverfahren", "cid-1", "hash", "submissions:read").await.unwrap();
        assert!(tx.acknowledge(one.id, client).await.unwrap());
        assert!(!tx.acknowledge(one.id, client).await.unwrap(), "replayed acknowledgement");
        tx.commit().await.unwrap();
        assert_eq!(store.unacknowledged(s.town, client, 0, 10).await.unwrap(), [two.id]);
        assert!(store.unacknowledged(s.county, client, 0, 10).await.unwrap().is_empty());
        assert!(store.acknowledged_at(one.id, client).await.unwrap().is_some());
        assert_eq!(store.api_client("cid-1").await.unwrap().unwrap().authority_id, s.town);

        let e =
            NewEvent { kind: "status", status: "in_bearbeitung", sub_status: "", body: "", public: true, actor: "A" };
        let mut tx = store.begin().await.unwrap();
        assert!(tx.change_status(s.town, one.id, "eingegangen", &e).await.unwrap());
        assert!(!tx.change_status(s.town, one.id, "eingegangen", &e).await.unwrap(), "changed meanwhile");
        assert!(!tx.change_status(s.county, two.id, "eingegangen", &e).await.unwrap(), "another authority");
        tx.commit().await.unwrap();
        let events = store.submission_events(one.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(store.submission(s.town, one.id).await.unwrap().unwrap().status, "in_bearbeitung");
        assert!(store.submission_in(&[s.county], one.id).await.unwrap().is_none());
    })
    .await;
}
