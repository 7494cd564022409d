//! Contract tests: every test runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::{
    Ars, AuthorityKind, LeikaKey, OpeningHours, Slug, TrustLevel,
    zustaendigkeit::{Resolution, resolve},
};
use amtsweg_store::testing::{TestStore, both};
use amtsweg_store::{NewAuthority, NewContact, NewLeistung, NewLocation, NewOrgUnit, NewPlace, Store};

fn authority(slug: &str, kind: AuthorityKind, ars: &str, parent: Option<i64>) -> NewAuthority {
    NewAuthority {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Behörde {slug}"),
        kind,
        ags: None,
        ars: Ars::parse(ars).unwrap(),
        parent_id: parent,
        hosts: vec![format!("{slug}.localhost")],
        street: "Markt 1".into(),
        plz: "29391".into(),
        city: "Moorbrück".into(),
        phone: "05190 1".into(),
        email: "info@example.org".into(),
        website: String::new(),
        intro: String::new(),
        primary_color: "#1d4f91".into(),
    }
}

fn leistung(slug: &str, name: &str, leika: &str, published: bool) -> NewLeistung {
    NewLeistung {
        slug: Slug::parse(slug).unwrap(),
        name: name.into(),
        leika: LeikaKey::parse(leika).unwrap(),
        leika_verified: false,
        trust_level: TrustLevel::Normal,
        org_unit_id: None,
        online_url: String::new(),
        keywords: vec!["Wohnsitz".into(), "Bescheinigung".into()],
        summary: "Kurz".into(),
        description: "Beschreibung".into(),
        requirements: "Voraussetzungen".into(),
        documents: "Unterlagen".into(),
        fees: "10 Euro".into(),
        deadlines: "keine".into(),
        procedure: "Ablauf".into(),
        legal_basis: "BMG § 18".into(),
        processing_time: "sofort".into(),
        published,
    }
}

struct Seeded {
    county: i64,
    town: i64,
}

async fn seed(store: &Store) -> Seeded {
    let mut tx = store.begin().await.unwrap();
    tx.set_verbund_name("Portalverbund Test").await.unwrap();
    let county =
        tx.insert_authority(&authority("kreis", AuthorityKind::Landkreis, "039510000000", None)).await.unwrap();
    let town =
        tx.insert_authority(&authority("stadt", AuthorityKind::Stadt, "039510007007", Some(county))).await.unwrap();
    let loc = tx
        .insert_location(
            town,
            &NewLocation {
                slug: "rathaus".into(),
                name: "Rathaus".into(),
                street: "Markt 1".into(),
                plz: "29391".into(),
                city: "Moorbrück".into(),
                accessibility: "stufenlos".into(),
                hours: OpeningHours::from_day_map([("mo", "08:00-12:00")], vec![]).unwrap(),
            },
        )
        .await
        .unwrap();
    tx.set_main_location(town, loc).await.unwrap();
    let ou = tx
        .insert_org_unit(
            town,
            &NewOrgUnit {
                slug: "buergerbuero".into(),
                name: "Bürgerbüro".into(),
                description: String::new(),
                location_id: Some(loc),
                phone: String::new(),
                email: String::new(),
            },
        )
        .await
        .unwrap();
    let c = tx
        .insert_contact(
            town,
            &NewContact {
                slug: "mueller".into(),
                name: "Frau Müller".into(),
                role: "Meldewesen".into(),
                org_unit_id: Some(ou),
                phone: String::new(),
                email: String::new(),
                room: String::new(),
            },
        )
        .await
        .unwrap();
    tx.insert_leistung(town, &leistung("meldebescheinigung", "Meldebescheinigung", "99115003019000", true), &[c])
        .await
        .unwrap();
    tx.insert_leistung(town, &leistung("entwurf", "Ärztliche Bescheinigung", "99115003019001", false), &[])
        .await
        .unwrap();
    tx.insert_leistung(county, &leistung("kfz", "Kfz-Zulassung", "99036003001000", true), &[]).await.unwrap();
    tx.add_responsibility(&LeikaKey::parse("99115003019000").unwrap(), town, "039510007007").await.unwrap();
    tx.add_responsibility(&LeikaKey::parse("99036003001000").unwrap(), county, "03951").await.unwrap();
    tx.add_responsibility(&LeikaKey::parse("99036003001000").unwrap(), county, "03951").await.unwrap();
    tx.insert_place(&NewPlace {
        name: "Moorbrück".into(),
        ars: Ars::parse("039510007007").unwrap(),
        plz: vec!["29391".into(), "29392".into()],
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    Seeded { county, town }
}

async fn on_both<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in both().await {
        let TestStore { name, .. } = &t;
        eprintln!("backend: {name}");
        f(t.store.clone()).await;
        t.cleanup().await;
    }
}

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

#[tokio::test]
async fn a_failed_transaction_stores_nothing() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_leistung(s.town, &leistung("neu", "Neu", "99115003019002", true), &[]).await.unwrap();
        // Same slug in the same authority violates the unique constraint.
        assert!(tx.insert_leistung(s.town, &leistung("neu", "Neu 2", "99115003019002", true), &[]).await.is_err());
        drop(tx);
        assert!(store.leistung(s.town, "neu").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    on_both(|store| async move {
        assert!(store.migrate().await.unwrap().is_empty());
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn both_migration_sets_give_the_same_logical_schema() {
    let stores = both().await;
    if stores.len() < 2 {
        eprintln!("SKIPPED schema comparison: PostgreSQL not available");
    } else {
        let a = stores[0].store.logical_schema().await.unwrap();
        let b = stores[1].store.logical_schema().await.unwrap();
        assert!(!a.is_empty());
        let only_a: Vec<_> = a.iter().filter(|c| !b.contains(c)).collect();
        let only_b: Vec<_> = b.iter().filter(|c| !a.contains(c)).collect();
        assert!(only_a.is_empty() && only_b.is_empty(), "sqlite only: {only_a:?}\npostgres only: {only_b:?}");
    }
    for t in stores {
        t.cleanup().await;
    }
}

mod staff {
    use super::on_both;
    use amtsweg_domain::audit::AuditEntry;
    use amtsweg_domain::staff::{Grant, Role};
    use amtsweg_store::staff::{ChainCheck, NewStaff, SessionRecord};

    fn entry(i: i64) -> AuditEntry {
        AuditEntry {
            at: 1_000 + i,
            actor: "staff:1".into(),
            authority_id: Some(1),
            action: "leistung.publish".into(),
            target: format!("leistung:{i}"),
            outcome: "success".into(),
        }
    }

    #[tokio::test]
    async fn staff_grants_sessions_and_throttling() {
        on_both(|store| async move {
            let mut tx = store.begin().await.unwrap();
            let id = tx
                .insert_staff(&NewStaff {
                    email: "Anna@Example.org ".into(),
                    display_name: "Anna".into(),
                    password_hash: "x".into(),
                    totp_secret: None,
                })
                .await
                .unwrap();
            tx.grant_role(id, &Grant { role: Role::VerbundAdmin, authority_id: None, org_unit_id: None })
                .await
                .unwrap();
            assert!(
                tx.grant_role(id, &Grant { role: Role::Editor, authority_id: None, org_unit_id: None }).await.is_err(),
                "an editor needs an authority"
            );
            tx.commit().await.unwrap();
            let u = store.staff_by_email("anna@example.org").await.unwrap().unwrap();
            assert_eq!(u.id, id);
            assert_eq!(store.grants_of(id).await.unwrap()[0].role, Role::VerbundAdmin);

            let mut tx = store.begin().await.unwrap();
            for n in 0..2 {
                tx.insert_session(&SessionRecord {
                    id_hash: format!("h{n}"),
                    kind: "staff".into(),
                    subject_id: id,
                    csrf_token: "c".into(),
                    second_factor_done: false,
                    pending_totp_secret: None,
                    created_at: 1,
                    last_seen_at: 1,
                    expires_at: 10,
                    trust_level: "normal".into(),
                    auth_method: "password".into(),
                })
                .await
                .unwrap();
            }
            tx.touch_session("h0", 5).await.unwrap();
            tx.mark_second_factor_done("h0").await.unwrap();
            tx.commit().await.unwrap();
            let s = store.session("h0").await.unwrap().unwrap();
            assert_eq!(s.last_seen_at, 5);
            assert!(s.second_factor_done);
            let mut tx = store.begin().await.unwrap();
            tx.set_staff_password(id, "y").await.unwrap();
            tx.commit().await.unwrap();
            assert!(store.session("h0").await.unwrap().is_none(), "password change ends sessions");
            assert!(store.session("h1").await.unwrap().is_none());

            let mut tx = store.begin().await.unwrap();
            for at in [10, 20, 30] {
                tx.record_login_failure("anna@example.org", at).await.unwrap();
            }
            tx.commit().await.unwrap();
            assert_eq!(store.login_failures_since("anna@example.org", 15).await.unwrap(), 2);
            assert_eq!(store.login_failures_since("niemand@example.org", 0).await.unwrap(), 0);
        })
        .await;
    }

    #[tokio::test]
    async fn the_audit_chain_detects_tampering() {
        on_both(|store| async move {
            for i in 0..5 {
                let mut tx = store.begin().await.unwrap();
                tx.append_audit(&entry(i)).await.unwrap();
                tx.commit().await.unwrap();
            }
            assert_eq!(store.verify_audit_chain().await.unwrap(), ChainCheck::Intact { entries: 5 });
            assert_eq!(store.audit_entries(Some(&[1]), 3).await.unwrap().len(), 3);
            assert!(store.audit_entries(Some(&[2]), 3).await.unwrap().is_empty());
            amtsweg_store::testing::execute_sql(&store, "UPDATE audit_log SET outcome = 'failure' WHERE id = 3").await;
            assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainCheck::Broken { id: 3, .. }));
            amtsweg_store::testing::execute_sql(&store, "UPDATE audit_log SET outcome = 'success' WHERE id = 3").await;
            amtsweg_store::testing::execute_sql(&store, "DELETE FROM audit_log WHERE id = 2").await;
            assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainCheck::Broken { id: 3, .. }));
        })
        .await;
    }

    #[tokio::test]
    async fn concurrent_audit_writers_keep_one_chain() {
        on_both(|store| async move {
            let mut tasks = Vec::new();
            for i in 0..20 {
                let s = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut tx = s.begin().await.unwrap();
                    tx.append_audit(&entry(i)).await.unwrap();
                    tx.commit().await.unwrap();
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(store.verify_audit_chain().await.unwrap(), ChainCheck::Intact { entries: 20 });
        })
        .await;
    }
}

mod editing {
    use super::{on_both, seed};
    use amtsweg_domain::Slug;
    use amtsweg_domain::leistung::LeistungContent;
    use amtsweg_store::editing::Saved;

    fn content(name: &str) -> LeistungContent {
        LeistungContent {
            name: name.into(),
            leika: "99115003019000".into(),
            trust_level: "normal".into(),
            description: "Neu beschrieben".into(),
            ..LeistungContent::default()
        }
    }

    #[tokio::test]
    async fn drafts_publish_with_history_and_detect_conflicts() {
        on_both(|store| async move {
            let s = seed(&store).await;
            let l = store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap();
            let mut tx = store.begin().await.unwrap();
            assert_eq!(
                tx.save_draft(s.town, l.id, 0, &content("Meldebescheinigung neu"), Some(1)).await.unwrap(),
                Saved::Ok(1)
            );
            // A second editor who also started from "no draft" is refused.
            assert_eq!(
                tx.save_draft(s.town, l.id, 0, &content("Anderer Stand"), Some(2)).await.unwrap(),
                Saved::Conflict { current_version: 1 }
            );
            // Another authority cannot write a draft for this service.
            assert!(tx.save_draft(s.county, l.id, 0, &content("fremd"), Some(3)).await.is_err());
            tx.commit().await.unwrap();
            assert_eq!(
                store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap().name,
                "Meldebescheinigung",
                "citizens still see the published state"
            );
            assert!(store.draft(s.county, l.id).await.unwrap().is_none());

            let mut tx = store.begin().await.unwrap();
            assert_eq!(
                tx.publish_draft(s.town, l.id, 0, Some(1)).await.unwrap(),
                Saved::Conflict { current_version: 1 }
            );
            assert_eq!(tx.publish_draft(s.town, l.id, 1, Some(1)).await.unwrap(), Saved::Ok(2));
            tx.commit().await.unwrap();
            let now = store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap();
            assert_eq!(now.name, "Meldebescheinigung neu");
            assert_eq!(now.revision, 2);
            assert!(store.draft(s.town, l.id).await.unwrap().is_none());
            let revs = store.revisions(s.town, l.id).await.unwrap();
            assert_eq!(revs.len(), 1);
            assert_eq!(revs[0].content().unwrap().name, "Meldebescheinigung neu");
            assert!(store.revisions(s.county, l.id).await.unwrap().is_empty());
            assert!(store.verify_audit_chain().await.is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn new_services_start_unpublished_and_slugs_are_unique() {
        on_both(|store| async move {
            let s = seed(&store).await;
            let mut tx = store.begin().await.unwrap();
            let id = tx
                .create_leistung(s.town, &Slug::parse("neu").unwrap(), &content("Neue Leistung"), Some(1))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let l = store.leistung_by_id(s.town, id).await.unwrap().unwrap();
            assert!(!l.published);
            assert_eq!(store.draft(s.town, id).await.unwrap().unwrap().version, 1);
            assert!(store.leistung_by_id(s.county, id).await.unwrap().is_none());
            let mut tx = store.begin().await.unwrap();
            assert!(
                tx.create_leistung(s.town, &Slug::parse("neu").unwrap(), &content("Doppelt"), Some(1)).await.is_err()
            );
        })
        .await;
    }
}

mod library {
    use super::{on_both, seed};
    use amtsweg_domain::leistung::LeistungContent;
    use amtsweg_domain::library::AdoptionMode;
    use amtsweg_store::editing::Saved;
    use amtsweg_store::library::Adopted;

    /// The county offers its Kfz service; the town adopts it linked, sets its own
    /// fee, and later accepts the county's changed text without losing the fee.
    #[tokio::test]
    async fn offer_adopt_linked_follow_and_accept() {
        on_both(|store| async move {
            let s = seed(&store).await;
            let kfz = store.leistung(s.county, "kfz").await.unwrap().unwrap();
            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.offer_to_library(s.town, kfz.id, Some(1)).await.unwrap(), None, "not the town's service");
            let entry = tx.offer_to_library(s.county, kfz.id, Some(1)).await.unwrap().unwrap();
            tx.commit().await.unwrap();
            assert_eq!(store.library_entries().await.unwrap().len(), 1);

            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.adopt(s.county, entry, AdoptionMode::Linked, Some(1)).await.unwrap(), Adopted::OwnEntry);
            let Adopted::Created(own) = tx.adopt(s.town, entry, AdoptionMode::Linked, Some(2)).await.unwrap() else {
                panic!("not adopted")
            };
            assert_eq!(
                tx.adopt(s.town, entry, AdoptionMode::Copy, Some(2)).await.unwrap(),
                Adopted::AlreadyAdopted(own),
                "never two services for one entry"
            );
            tx.commit().await.unwrap();
            let adopted = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
            assert!(!adopted.published, "the adopter reviews before publishing");
            let draft = store.draft(s.town, own).await.unwrap().unwrap();
            assert_eq!(draft.content().unwrap().name, kfz.name);
            assert_eq!(store.library_usage(entry).await.unwrap().len(), 1);

            // The town sets its fee and tries to change the shared text: only the fee sticks.
            let mut mine = draft.content().unwrap();
            mine.fees = "In Moorbrück: 30 Euro".into();
            mine.description = "Eigener Text".into();
            let mut tx = store.begin().await.unwrap();
            let Saved::Ok(v) = tx.save_draft(s.town, own, draft.version, &mine, Some(2)).await.unwrap() else {
                panic!("conflict")
            };
            tx.publish_draft(s.town, own, v, Some(2)).await.unwrap();
            tx.commit().await.unwrap();
            let live = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
            assert_eq!(live.fees, "In Moorbrück: 30 Euro");
            assert_eq!(live.description, kfz.description, "linked text stays the county's");

            // The county publishes a new text: the library follows, the town sees it pending.
            let mut tx = store.begin().await.unwrap();
            let newer = LeistungContent { description: "Neue Regeln ab 2027".into(), ..LeistungContent::of(&kfz) };
            tx.save_draft(s.county, kfz.id, 0, &newer, Some(1)).await.unwrap();
            tx.publish_draft(s.county, kfz.id, 1, Some(1)).await.unwrap();
            tx.commit().await.unwrap();
            let e = store.library_entry(entry).await.unwrap().unwrap();
            assert_eq!(e.revision, 2);
            let a = store.adoption(s.town, own).await.unwrap().unwrap();
            assert!(a.adopted_revision < e.revision, "pending upstream change");
            assert_eq!(store.library_revision(entry, 1).await.unwrap().unwrap().description, kfz.description);

            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.accept_upstream(s.county, own, Some(1)).await.unwrap(), None, "foreign authority");
            assert_eq!(tx.accept_upstream(s.town, own, Some(2)).await.unwrap(), Some(2));
            assert_eq!(tx.accept_upstream(s.town, own, Some(2)).await.unwrap(), None, "nothing left to accept");
            tx.commit().await.unwrap();
            let live = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
            assert_eq!(live.description, "Neue Regeln ab 2027");
            assert_eq!(live.fees, "In Moorbrück: 30 Euro", "local fee kept");

            // Detached, the town may write its own text.
            let mut tx = store.begin().await.unwrap();
            assert!(tx.detach_from_library(s.town, own, Some(2)).await.unwrap());
            let own_text = LeistungContent { description: "Jetzt eigener Text".into(), ..LeistungContent::of(&live) };
            tx.save_draft(s.town, own, 0, &own_text, Some(2)).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                store.draft(s.town, own).await.unwrap().unwrap().content().unwrap().description,
                "Jetzt eigener Text"
            );

            // Withdrawn entries cannot be adopted any more; adopters keep theirs.
            let mut tx = store.begin().await.unwrap();
            assert!(tx.withdraw_from_library(s.county, kfz.id, Some(1)).await.unwrap());
            tx.commit().await.unwrap();
            assert!(store.library_entries().await.unwrap().is_empty());
            assert!(store.leistung_by_id(s.town, own).await.unwrap().is_some());
            assert!(store.verify_audit_chain().await.is_ok());
        })
        .await;
    }

    #[tokio::test]
    async fn copies_are_free_and_unpublished_services_cannot_be_offered() {
        on_both(|store| async move {
            let s = seed(&store).await;
            let draft_only = store.leistung(s.town, "entwurf").await.unwrap().unwrap();
            let kfz = store.leistung(s.county, "kfz").await.unwrap().unwrap();
            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.offer_to_library(s.town, draft_only.id, Some(1)).await.unwrap(), None);
            let entry = tx.offer_to_library(s.county, kfz.id, Some(1)).await.unwrap().unwrap();
            let Adopted::Created(copy) = tx.adopt(s.town, entry, AdoptionMode::Copy, Some(2)).await.unwrap() else {
                panic!("not adopted")
            };
            tx.commit().await.unwrap();
            let d = store.draft(s.town, copy).await.unwrap().unwrap().content().unwrap();
            let mine = LeistungContent { description: "Unser eigener Text".into(), ..d };
            let mut tx = store.begin().await.unwrap();
            tx.save_draft(s.town, copy, 1, &mine, Some(2)).await.unwrap();
            tx.commit().await.unwrap();
            let d = store.draft(s.town, copy).await.unwrap().unwrap().content().unwrap();
            assert_eq!(d.description, "Unser eigener Text");
            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.accept_upstream(s.town, copy, Some(2)).await.unwrap(), None);
            // The slug of the adopted service does not clash with the town's own.
            assert!(store.leistung_by_id(s.town, copy).await.unwrap().unwrap().slug.as_str().starts_with("kfz"));
        })
        .await;
    }
}

mod konto {
    use super::{on_both, seed};
    use amtsweg_domain::TrustLevel;
    use amtsweg_domain::konto::{ProfileField, ProfileSource};
    use amtsweg_store::konto::{Direction, NewAttachment, SsoGrant};
    use amtsweg_store::now_ms;
    use amtsweg_store::outbox::TokenProblem;

    #[tokio::test]
    async fn accounts_identities_and_profile_sources() {
        on_both(|store| async move {
            seed(&store).await;
            let mut tx = store.begin().await.unwrap();
            let erika = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
            assert_eq!(tx.insert_citizen("erika@example.org", "hash2").await.unwrap(), None, "one account per address");
            tx.insert_citizen_token("t1", "verify", erika, now_ms() + 60_000).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(store.citizen_token("t1", "reset").await.unwrap(), Err(TokenProblem::Unknown));
            assert_eq!(store.citizen_token("t1", "verify").await.unwrap(), Ok(erika));
            let mut tx = store.begin().await.unwrap();
            assert!(tx.use_citizen_token("t1", "verify").await.unwrap());
            assert!(!tx.use_citizen_token("t1", "verify").await.unwrap(), "one-time");
            tx.mark_email_verified(erika).await.unwrap();
            // Linking: one identity, one account.
            assert!(tx.link_identity(erika, "bundid", "bpk2-abc", TrustLevel::Substanziell).await.unwrap());
            let other = tx.insert_citizen_for_identity("oidc:nds", "sub-1", TrustLevel::Normal).await.unwrap();
            assert!(!tx.link_identity(other, "bundid", "bpk2-abc", TrustLevel::Hoch).await.unwrap());
            // Profile: provider values are locked against self-entered ones.
            let bundid = ProfileSource::Provider("bundid".into());
            tx.set_profile_value(erika, ProfileField::FamilyName, "Muster", &bundid, TrustLevel::Substanziell)
                .await
                .unwrap();
            assert!(
                !tx.set_profile_value(
                    erika,
                    ProfileField::FamilyName,
                    "Fake",
                    &ProfileSource::SelfEntered,
                    TrustLevel::Normal
                )
                .await
                .unwrap()
            );
            tx.set_profile_value(
                erika,
                ProfileField::Phone,
                "05141 1",
                &ProfileSource::SelfEntered,
                TrustLevel::Normal,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            assert!(store.citizen_by_id(erika).await.unwrap().unwrap().email_verified);
            assert_eq!(store.identity("bundid", "bpk2-abc").await.unwrap().unwrap().citizen_id, erika);
            assert_eq!(store.identities_of(other).await.unwrap().len(), 1);
            let p = store.profile(erika).await.unwrap();
            let name = p.iter().find(|v| v.field == "family_name").unwrap();
            assert_eq!(
                (name.value.as_str(), name.source.as_str(), name.trust_level.as_str()),
                ("Muster", "bundid", "substanziell")
            );
            assert!(store.profile(other).await.unwrap().is_empty());
        })
        .await;
    }

    #[tokio::test]
    async fn postfach_threads_are_per_citizen() {
        on_both(|store| async move {
            let s = seed(&store).await;
            let mut tx = store.begin().await.unwrap();
            let a = tx.insert_citizen("a@example.org", "h").await.unwrap().unwrap();
            let b = tx.insert_citizen("b@example.org", "h").await.unwrap().unwrap();
            let file = NewAttachment {
                file_name: "bescheid.pdf".into(),
                content_type: "application/pdf".into(),
                size: 4,
                object_key: "k".into(),
            };
            let (thread, _) = tx
                .post_message(
                    a,
                    s.town,
                    None,
                    "Ihr Antrag",
                    Direction::ToCitizen,
                    "Stadt Moorbrück",
                    "Guten Tag",
                    &[file],
                )
                .await
                .unwrap();
            tx.post_message(a, s.town, Some(thread), "", Direction::FromCitizen, "Bürger", "Danke", &[]).await.unwrap();
            assert!(
                tx.post_message(b, s.town, Some(thread), "", Direction::FromCitizen, "B", "fremd", &[]).await.is_err(),
                "nobody writes into another citizen's thread"
            );
            tx.commit().await.unwrap();
            assert_eq!(store.threads(a).await.unwrap().len(), 1);
            assert!(store.threads(b).await.unwrap().is_empty());
            assert!(store.thread(b, thread).await.unwrap().is_none());
            assert!(store.messages(b, thread).await.unwrap().is_empty());
            assert_eq!(store.messages(a, thread).await.unwrap().len(), 2);
            assert_eq!(store.unread_count(a).await.unwrap(), 1, "only the authority's message counts");
            let att = store.attachments(a, thread).await.unwrap();
            assert_eq!(att.len(), 1);
            assert!(store.attachment(b, att[0].id).await.unwrap().is_none());
            let mut tx = store.begin().await.unwrap();
            assert_eq!(tx.mark_thread_read(a, thread).await.unwrap(), 1);
            tx.commit().await.unwrap();
            assert_eq!(store.unread_count(a).await.unwrap(), 0);
        })
        .await;
    }

    #[tokio::test]
    async fn sso_codes_work_once_on_their_host() {
        on_both(|store| async move {
            seed(&store).await;
            let mut tx = store.begin().await.unwrap();
            let a = tx.insert_citizen("a@example.org", "h").await.unwrap().unwrap();
            let grant = |host: &str, expires_at| SsoGrant {
                citizen_id: a,
                trust_level: "normal".into(),
                auth_method: "password".into(),
                host: host.into(),
                expires_at,
                browser_hash: "b".into(),
            };
            tx.insert_sso_code("c1", &grant("moorbrueck.example", now_ms() + 60_000)).await.unwrap();
            tx.insert_sso_code("c2", &grant("moorbrueck.example", now_ms() - 1)).await.unwrap();
            tx.insert_sso_code("c3", &grant("moorbrueck.example", now_ms() + 60_000)).await.unwrap();
            assert!(tx.take_sso_code("c3", "evil.example").await.unwrap().is_none(), "wrong host");
            assert!(tx.take_sso_code("c3", "moorbrueck.example").await.unwrap().is_none(), "burnt by the wrong host");
            assert!(tx.take_sso_code("c2", "moorbrueck.example").await.unwrap().is_none(), "expired");
            assert_eq!(tx.take_sso_code("c1", "moorbrueck.example").await.unwrap().unwrap().citizen_id, a);
            assert!(tx.take_sso_code("c1", "moorbrueck.example").await.unwrap().is_none(), "once");
            tx.commit().await.unwrap();
        })
        .await;
    }
}

mod forms {
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
}

mod submissions {
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
            let county_form =
                tx.create_form(s.county, &Slug::parse("hund").unwrap(), None, &form(), None).await.unwrap();
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

            let mail = EmailMessage { to: "a@example.org".into(), subject: "Eingang".into(), body: "x".into() };
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
}

mod handoff {
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
            let katze =
                tx.create_form(s.town, &Slug::parse("katze").unwrap(), None, &form("katze"), None).await.unwrap();
            let all = NewConnector {
                authority_id: s.town,
                form_id: None,
                kind: "webhook",
                name: "Fachverfahren",
                config: "sealed",
            };
            let all_id = tx.insert_connector(&all).await.unwrap();
            let only_katze = tx
                .insert_connector(&NewConnector { form_id: Some(katze), name: "Katzen", ..all.clone() })
                .await
                .unwrap();
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
            let client =
                tx.insert_api_client(s.town, "Fachverfahren", "cid-1", "hash", "submissions:read").await.unwrap();
            assert!(tx.acknowledge(one.id, client).await.unwrap());
            assert!(!tx.acknowledge(one.id, client).await.unwrap(), "replayed acknowledgement");
            tx.commit().await.unwrap();
            assert_eq!(store.unacknowledged(s.town, client, 0, 10).await.unwrap(), [two.id]);
            assert!(store.unacknowledged(s.county, client, 0, 10).await.unwrap().is_empty());
            assert!(store.acknowledged_at(one.id, client).await.unwrap().is_some());
            assert_eq!(store.api_client("cid-1").await.unwrap().unwrap().authority_id, s.town);

            let e = NewEvent {
                kind: "status",
                status: "in_bearbeitung",
                sub_status: "",
                body: "",
                public: true,
                actor: "A",
            };
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
}

mod group_commit {
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
                    store
                        .deliveries_of(authority_id, id)
                        .await
                        .unwrap()
                        .iter()
                        .map(|d| d.connector_id)
                        .collect::<Vec<_>>()
                }
            };
            assert_eq!(targets(s.town, r[0].id).await, [town_all, town_b]);
            assert_eq!(targets(s.county, r[1].id).await, [county_all]);
            assert_eq!(targets(s.town, r[2].id).await, [town_all, town_b]);
            assert_eq!(targets(s.town, r[3].id).await, [town_all], "connector of another form left out");
        })
        .await;
    }
}
