//! The data most contract tests start from: a county and a town in it (with a
//! location, an org unit, a contact, published and draft services, responsibility
//! rules and a place), seeded by [`seed`] into a fresh database.

use amtsweg_domain::{Ars, AuthorityKind, LeikaKey, OpeningHours, Slug, TrustLevel};
use amtsweg_store::{NewAuthority, NewContact, NewLeistung, NewLocation, NewOrgUnit, NewPlace, Store};

pub(crate) fn authority(slug: &str, kind: AuthorityKind, ars: &str, parent: Option<i64>) -> NewAuthority {
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

pub(crate) fn leistung(slug: &str, name: &str, leika: &str, published: bool) -> NewLeistung {
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

pub(crate) struct Seeded {
    pub(crate) county: i64,
    pub(crate) town: i64,
}

pub(crate) async fn seed(store: &Store) -> Seeded {
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
