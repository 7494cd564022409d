//! The catalogue: reads scoped to their authority, German sort order, drafts hidden
//! from citizens, responsibility resolution, and the change watermark that makes
//! readers reload after publishing.

use super::{on_both, seed};
use amtsweg_domain::LeikaKey;
use amtsweg_domain::zustaendigkeit::{Resolution, resolve};

#[tokio::test]
async fn catalogue_round_trip_and_tenant_scoping() {
    on_both(|store| async move {
        let s = seed(&store).await;
        assert_eq!(store.verbund_name().await.unwrap(), "Portalverbund Test");
        let all = store.authorities().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].hosts, vec!["stadt.localhost".to_owned()]);
        let by_host = store.authority_by_host("STADT.localhost").await.unwrap().unwrap();
        assert_eq!(by_host.id, s.town);
        assert!(store.authority_by_slug("nirgendwo").await.unwrap().is_none());

        // Drafts are hidden from citizens and sorted lists use German order.
        let published = store.leistungen_of(s.town, false).await.unwrap();
        assert_eq!(published.len(), 1);
        let with_drafts = store.leistungen_of(s.town, true).await.unwrap();
        assert_eq!(with_drafts[0].name, "Ärztliche Bescheinigung");
        assert_eq!(store.published_leistungen().await.unwrap().len(), 2);

        // Another authority's slug never leaks through a tenant-scoped read.
        assert!(store.leistung(s.county, "meldebescheinigung").await.unwrap().is_none());
        let l = store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap();
        assert_eq!(l.keywords, vec!["Wohnsitz".to_owned(), "Bescheinigung".to_owned()]);
        assert_eq!(store.contacts_of_leistung(s.town, l.id).await.unwrap()[0].name, "Frau Müller");
        assert!(store.contacts_of_leistung(s.county, l.id).await.unwrap().is_empty());
        let ou = store.org_unit(s.town, "buergerbuero").await.unwrap().unwrap();
        assert!(store.org_unit(s.county, "buergerbuero").await.unwrap().is_none());
        assert_eq!(store.contacts_of_org_unit(s.town, ou.id).await.unwrap().len(), 1);
        let loc = store.location(s.town, ou.location_id.unwrap()).await.unwrap().unwrap();
        assert_eq!(loc.hours().weekly[0].len(), 1);
        assert!(store.location(s.county, loc.id).await.unwrap().is_none());

        let places = store.places().await.unwrap();
        assert_eq!(places[0].plz, vec!["29391".to_owned(), "29392".to_owned()]);
        let rules = store.responsibility_rules().await.unwrap();
        assert_eq!(rules.len(), 2, "a repeated rule is stored once");
        let melde = LeikaKey::parse("99115003019000").unwrap();
        assert_eq!(resolve(&rules, &melde, &places[0].ars), Resolution::Responsible(s.town));
    })
    .await;
}

#[tokio::test]
async fn publishing_bumps_the_change_watermark() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let before = amtsweg_store::now_ms();
        let draft = store.leistung(s.town, "entwurf").await.unwrap().unwrap();
        assert!(store.leistungen_changed_since(before + 1).await.unwrap().is_empty());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.set_leistung_published(s.town, draft.id, true).await.unwrap());
        assert!(!tx.set_leistung_published(s.county, draft.id, true).await.unwrap(), "other tenant's row is untouched");
        tx.commit().await.unwrap();
        let changed = store.leistungen_changed_since(before + 1).await.unwrap();
        assert_eq!(changed.len(), 1);
        assert!(changed[0].published);
    })
    .await;
}
