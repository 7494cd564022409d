//! Forms: drafts with optimistic locking, immutable published versions, the diff
//! between versions, and scoping to the owning authority.

use super::{on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_forms::Form;
use amtsweg_forms::diff::{Change, diff};
use amtsweg_store::editing::Saved;

fn form(title: &str, extra_field: bool) -> Form {
    let mut json = serde_json::json!({
        "id": "hund", "title": title,
        "steps": [{"id": "halter", "title": "Halterin oder Halter", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}
        ]}]
    });
    if extra_field {
        json["steps"][0]["items"].as_array_mut().unwrap().push(serde_json::json!(
            {"item": "field", "id": "iban", "label": "IBAN", "type": "iban", "required": true}
        ));
    }
    serde_json::from_value(json).unwrap()
}

/// Drafts with optimistic locking; each publication an immutable version; the
/// diff names the added field; another authority sees nothing.
#[tokio::test]
async fn drafts_and_immutable_versions() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .create_form(s.town, &Slug::parse("hundesteuer").unwrap(), None, &form("Hundesteuer", false), Some(1))
            .await
            .unwrap();
        assert_eq!(tx.publish_form(s.town, id, 1, Some(1)).await.unwrap(), Saved::Ok(1));
        assert_eq!(
            tx.save_form_draft(s.town, id, 1, &form("Hundesteuer anmelden", true), Some(1)).await.unwrap(),
            Saved::Ok(2)
        );
        assert_eq!(
            tx.save_form_draft(s.town, id, 1, &form("Veraltet", false), Some(2)).await.unwrap(),
            Saved::Conflict { current_version: 2 }
        );
        assert!(tx.save_form_draft(s.county, id, 2, &form("fremd", false), Some(3)).await.is_err());
        assert!(tx.publish_form(s.county, id, 2, Some(3)).await.is_err());
        assert_eq!(tx.publish_form(s.town, id, 2, Some(1)).await.unwrap(), Saved::Ok(2));
        tx.commit().await.unwrap();
        // Short names are unique per authority (own transaction: a failed statement
        // ends a PostgreSQL transaction).
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.create_form(s.town, &Slug::parse("hundesteuer").unwrap(), None, &form("x", false), Some(1))
                .await
                .is_err()
        );
        drop(tx);
        let v1 = store.form_version(s.town, id, 1).await.unwrap().unwrap().form().unwrap();
        let v2 = store.form_version(s.town, id, 2).await.unwrap().unwrap().form().unwrap();
        assert_eq!(v1.title, "Hundesteuer", "version 1 stays as it was published");
        assert_eq!(
            diff(&v1, &v2),
            [
                Change::Title { before: "Hundesteuer".into(), after: "Hundesteuer anmelden".into() },
                Change::FieldAdded { field: "iban".into(), label: "IBAN".into() }
            ]
        );
        assert!(store.form_version(s.county, id, 1).await.unwrap().is_none(), "tenant isolation");
        let row = store.form_by_slug(s.town, "hundesteuer").await.unwrap().unwrap();
        assert_eq!((row.draft_version, row.published_version), (2, 2));
        assert!(store.forms_of(s.county).await.unwrap().is_empty());
        assert!(store.verify_audit_chain().await.is_ok());
    })
    .await;
}
