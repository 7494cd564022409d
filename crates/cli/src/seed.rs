//! Loading a Verbund from a seed file (the demo Verbund ships as one).
//!
//! The file is validated completely before anything is written, and everything is
//! written in one transaction: a broken file leaves the database untouched, and
//! seeding an already filled database does nothing.

use amtsweg_domain::{Ags, Ars, AuthorityKind, LeikaKey, OpeningHours, Slug, TrustLevel};
use amtsweg_store::{NewAuthority, NewContact, NewLeistung, NewLocation, NewOrgUnit, NewPlace, Store};
use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// The demo Verbund "Landkreis Heidekamp" (fictional).
pub const DEMO: &str = include_str!("../demo/verbund.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    verbund: VerbundSeed,
    authorities: Vec<AuthoritySeed>,
    #[serde(default)]
    places: Vec<PlaceSeed>,
    #[serde(default)]
    locations: Vec<LocationSeed>,
    #[serde(default)]
    org_units: Vec<OrgUnitSeed>,
    #[serde(default)]
    contacts: Vec<ContactSeed>,
    #[serde(default)]
    leistungen: Vec<LeistungSeed>,
    #[serde(default)]
    forms: Vec<FormSeed>,
}

/// A published form of a service; `file` names one of the forms shipped with the
/// demo (`demo/forms/`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormSeed {
    authority: String,
    leistung: String,
    file: String,
}

/// The demo's form definitions, embedded in the binary.
const DEMO_FORMS: [(&str, &str); 7] = [
    ("briefwahl.json", include_str!("../demo/forms/briefwahl.json")),
    ("gewerbeanmeldung.json", include_str!("../demo/forms/gewerbeanmeldung.json")),
    ("kita.json", include_str!("../demo/forms/kita.json")),
    ("meldebescheinigung.json", include_str!("../demo/forms/meldebescheinigung.json")),
    ("hundesteuer.json", include_str!("../demo/forms/hundesteuer.json")),
    ("osterfeuer.json", include_str!("../demo/forms/osterfeuer.json")),
    // Sets `appointment`: the identity card needs a visit, booked after submission.
    ("personalausweis.json", include_str!("../demo/forms/personalausweis.json")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerbundSeed {
    name: String,
    /// Services offered in the Verbund library, as "authority/slug".
    #[serde(default)]
    library: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthoritySeed {
    slug: String,
    name: String,
    kind: String,
    #[serde(default)]
    ags: String,
    ars: String,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    street: String,
    #[serde(default)]
    plz: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    intro: String,
    #[serde(default)]
    main_location: String,
    #[serde(default)]
    primary_color: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceSeed {
    name: String,
    ars: String,
    plz: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationSeed {
    authority: String,
    key: String,
    name: String,
    #[serde(default)]
    street: String,
    #[serde(default)]
    plz: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    accessibility: String,
    #[serde(default)]
    closed: Vec<String>,
    #[serde(default)]
    hours: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgUnitSeed {
    authority: String,
    key: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactSeed {
    authority: String,
    key: String,
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    org_unit: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    room: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeistungSeed {
    authority: String,
    slug: String,
    name: String,
    leika: String,
    #[serde(default)]
    leika_verified: bool,
    trust_level: String,
    #[serde(default)]
    org_unit: String,
    #[serde(default)]
    contacts: Vec<String>,
    #[serde(default)]
    online_url: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    summary: String,
    description: String,
    requirements: String,
    documents: String,
    fees: String,
    deadlines: String,
    procedure: String,
    legal_basis: String,
    processing_time: String,
}

/// What [`apply`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Seeded { authorities: usize, leistungen: usize },
    AlreadyFilled,
}

/// Parses and validates a seed file without touching any database.
///
/// # Errors
/// With a message naming the entry and field that is wrong.
pub fn parse(text: &str) -> anyhow::Result<SeedFile> {
    let seed: SeedFile = toml::from_str(text).context("the seed file is not valid")?;
    validate(&seed)?;
    Ok(seed)
}

fn validate(s: &SeedFile) -> anyhow::Result<()> {
    let slugs: Vec<&str> = s.authorities.iter().map(|a| a.slug.as_str()).collect();
    for a in &s.authorities {
        Slug::parse(&a.slug).map_err(|e| anyhow!("authority {}: {e}", a.slug))?;
        AuthorityKind::parse(&a.kind).map_err(|e| anyhow!("authority {}: {e}", a.slug))?;
        Ars::parse(&a.ars).map_err(|e| anyhow!("authority {}: {e}", a.slug))?;
        if !a.ags.is_empty() {
            Ags::parse(&a.ags).map_err(|e| anyhow!("authority {}: {e}", a.slug))?;
        }
        if !a.parent.is_empty() && !slugs.contains(&a.parent.as_str()) {
            bail!("authority {}: parent {} is not defined", a.slug, a.parent);
        }
    }
    let known = |kind: &str, key: &str, keys: &[&str], owner: &str| -> anyhow::Result<()> {
        if key.is_empty() || keys.contains(&key) { Ok(()) } else { bail!("{owner}: unknown {kind} {key}") }
    };
    let loc_keys: Vec<&str> = s.locations.iter().map(|l| l.key.as_str()).collect();
    let ou_keys: Vec<&str> = s.org_units.iter().map(|o| o.key.as_str()).collect();
    let contact_keys: Vec<&str> = s.contacts.iter().map(|c| c.key.as_str()).collect();
    for l in &s.locations {
        known("authority", &l.authority, &slugs, &l.key)?;
        let days: Vec<(&str, &str)> = l.hours.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        OpeningHours::from_day_map(days, Vec::new()).map_err(|e| anyhow!("location {}: {e}", l.key))?;
        for d in &l.closed {
            d.parse::<jiff::civil::Date>().map_err(|e| anyhow!("location {}: closed day {d}: {e}", l.key))?;
        }
    }
    for o in &s.org_units {
        known("authority", &o.authority, &slugs, &o.key)?;
        known("location", &o.location, &loc_keys, &o.key)?;
    }
    for c in &s.contacts {
        known("authority", &c.authority, &slugs, &c.key)?;
        known("org unit", &c.org_unit, &ou_keys, &c.key)?;
    }
    for l in &s.leistungen {
        let who = format!("service {}/{}", l.authority, l.slug);
        known("authority", &l.authority, &slugs, &who)?;
        known("org unit", &l.org_unit, &ou_keys, &who)?;
        for c in &l.contacts {
            known("contact", c, &contact_keys, &who)?;
        }
        Slug::parse(&l.slug).map_err(|e| anyhow!("{who}: {e}"))?;
        LeikaKey::parse(&l.leika).map_err(|e| anyhow!("{who}: {e}"))?;
        TrustLevel::parse(&l.trust_level).map_err(|e| anyhow!("{who}: {e}"))?;
    }
    for p in &s.places {
        Ars::parse(&p.ars).map_err(|e| anyhow!("place {}: {e}", p.name))?;
    }
    Ok(())
}

/// Writes the seed into an empty store in one transaction; does nothing when the
/// store already holds authorities (so running the demo twice is harmless).
///
/// # Errors
/// When the seed is invalid or the store fails (nothing is then written).
/// The FIM Blaue Karte EU schema in the conformance files (`../shared/conformance`
/// beside the checkout, or `AMTSWEG_CONFORMANCE_DIR`), when they are there.
#[must_use]
pub fn blaue_karte_file() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
        .map_or_else(|| std::path::PathBuf::from("../shared/conformance"), std::path::PathBuf::from);
    let file = dir.join("xdatenfelder/xdf2/S00000121_BlaueKarteEU.xml");
    file.is_file().then_some(file)
}

/// Imports an XDatenfelder schema as a published form of the county (the
/// Ausländerbehörde is the county's) unless a form of that short name exists.
/// Returns the form's public path.
///
/// # Errors
/// When the file cannot be read or imported, or on store errors.
/// The one-page Briefwahl form (submitted directly, no check page) that the
/// submission benchmark and its tests publish for an authority.
pub const ONE_PAGE_BRIEFWAHL: &str = include_str!("../demo/forms/briefwahl-schnell.json");

/// Publishes the one-page Briefwahl form for `authority` (linked to its Briefwahl
/// service when it has one); returns the form's address. Idempotent.
///
/// # Errors
/// Unknown authority, store errors.
pub async fn publish_one_page_briefwahl(store: &Store, authority: &str) -> anyhow::Result<String> {
    let a = store.authority_by_slug(authority).await?.ok_or_else(|| anyhow!("unknown authority {authority}"))?;
    let slug = Slug::parse("briefwahl-schnell")?;
    let path = format!("/o/{authority}/antrag/{slug}/");
    if store.form_by_slug(a.id, slug.as_str()).await?.is_some() {
        return Ok(path);
    }
    let form: amtsweg_forms::Form = serde_json::from_str(ONE_PAGE_BRIEFWAHL)?;
    let leistung = store.leistung(a.id, "briefwahl").await?.map(|l| l.id);
    let mut tx = store.begin().await?;
    let id = tx.create_form(a.id, &slug, leistung, &form, None).await?;
    tx.publish_form(a.id, id, 1, None).await?;
    tx.commit().await?;
    Ok(path)
}

pub async fn import_published_form(store: &Store, file: &std::path::Path) -> anyhow::Result<String> {
    let xml = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let imported = amtsweg_xdf::import(&xml).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let county = store
        .authorities()
        .await?
        .into_iter()
        .find(|a| a.parent_id.is_none())
        .ok_or_else(|| anyhow!("no county in the Verbund"))?;
    let slug = Slug::from_title(&imported.form.title);
    let path = format!("/o/{}/antrag/{slug}/", county.slug);
    if store.form_by_slug(county.id, slug.as_str()).await?.is_some() {
        return Ok(path);
    }
    let mut tx = store.begin().await?;
    let id = tx.create_form(county.id, &slug, None, &imported.form, None).await?;
    tx.publish_form(county.id, id, 1, None).await?;
    tx.commit().await?;
    Ok(path)
}

pub async fn apply(store: &Store, seed: &SeedFile) -> anyhow::Result<SeedOutcome> {
    if !store.authorities().await?.is_empty() {
        return Ok(SeedOutcome::AlreadyFilled);
    }
    let mut tx = store.begin().await?;
    tx.set_verbund_name(&seed.verbund.name).await?;
    let mut authority_ids: HashMap<&str, (i64, AuthorityKind, Ars)> = HashMap::new();
    for a in &seed.authorities {
        let kind = AuthorityKind::parse(&a.kind)?;
        let ars = Ars::parse(&a.ars)?;
        let parent_id = if a.parent.is_empty() {
            None
        } else {
            Some(
                authority_ids
                    .get(a.parent.as_str())
                    .ok_or_else(|| anyhow!("parent {} must come before {}", a.parent, a.slug))?
                    .0,
            )
        };
        let id = tx
            .insert_authority(&NewAuthority {
                slug: Slug::parse(&a.slug)?,
                name: a.name.clone(),
                kind,
                ags: if a.ags.is_empty() { None } else { Some(Ags::parse(&a.ags)?) },
                ars: ars.clone(),
                parent_id,
                hosts: a.hosts.clone(),
                street: a.street.clone(),
                plz: a.plz.clone(),
                city: a.city.clone(),
                phone: a.phone.clone(),
                email: a.email.clone(),
                website: a.website.clone(),
                intro: a.intro.clone(),
                primary_color: if a.primary_color.is_empty() { "#1d4f91".into() } else { a.primary_color.clone() },
            })
            .await
            .with_context(|| format!("authority {}", a.slug))?;
        authority_ids.insert(&a.slug, (id, kind, ars));
    }
    let aid = |slug: &str| authority_ids.get(slug).map(|x| x.0).ok_or_else(|| anyhow!("unknown authority {slug}"));
    let mut location_ids = HashMap::new();
    for l in &seed.locations {
        let days: Vec<(&str, &str)> = l.hours.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let closed = l.closed.iter().map(|d| d.parse()).collect::<Result<Vec<jiff::civil::Date>, _>>()?;
        let hours = OpeningHours::from_day_map(days, closed)?;
        let id = tx
            .insert_location(
                aid(&l.authority)?,
                &NewLocation {
                    slug: l.key.clone(),
                    name: l.name.clone(),
                    street: l.street.clone(),
                    plz: l.plz.clone(),
                    city: l.city.clone(),
                    accessibility: l.accessibility.clone(),
                    hours,
                },
            )
            .await?;
        location_ids.insert(l.key.as_str(), id);
    }
    for a in seed.authorities.iter().filter(|a| !a.main_location.is_empty()) {
        let loc =
            location_ids.get(a.main_location.as_str()).ok_or_else(|| anyhow!("{}: unknown main location", a.slug))?;
        tx.set_main_location(aid(&a.slug)?, *loc).await?;
    }
    let mut ou_ids = HashMap::new();
    for o in &seed.org_units {
        let id = tx
            .insert_org_unit(
                aid(&o.authority)?,
                &NewOrgUnit {
                    slug: o.key.clone(),
                    name: o.name.clone(),
                    description: o.description.clone(),
                    location_id: location_ids.get(o.location.as_str()).copied(),
                    phone: o.phone.clone(),
                    email: o.email.clone(),
                },
            )
            .await?;
        ou_ids.insert(o.key.as_str(), id);
    }
    let mut contact_ids = HashMap::new();
    for c in &seed.contacts {
        let id = tx
            .insert_contact(
                aid(&c.authority)?,
                &NewContact {
                    slug: c.key.clone(),
                    name: c.name.clone(),
                    role: c.role.clone(),
                    org_unit_id: ou_ids.get(c.org_unit.as_str()).copied(),
                    phone: c.phone.clone(),
                    email: c.email.clone(),
                    room: c.room.clone(),
                },
            )
            .await?;
        contact_ids.insert(c.key.as_str(), (id, c.authority.as_str()));
    }
    for l in &seed.leistungen {
        let (authority_id, kind, ars) =
            authority_ids.get(l.authority.as_str()).ok_or_else(|| anyhow!("unknown authority"))?;
        // Contacts of other authorities are never linked: tenant data stays separate.
        let contacts: Vec<i64> = l
            .contacts
            .iter()
            .filter_map(|k| contact_ids.get(k.as_str()))
            .filter(|(_, owner)| *owner == l.authority)
            .map(|(id, _)| *id)
            .collect();
        let leika = LeikaKey::parse(&l.leika)?;
        tx.insert_leistung(
            *authority_id,
            &NewLeistung {
                slug: Slug::parse(&l.slug)?,
                name: l.name.clone(),
                leika: leika.clone(),
                leika_verified: l.leika_verified,
                trust_level: TrustLevel::parse(&l.trust_level)?,
                org_unit_id: ou_ids.get(l.org_unit.as_str()).copied(),
                online_url: l.online_url.clone(),
                keywords: l.keywords.clone(),
                summary: l.summary.trim().to_owned(),
                description: l.description.trim().to_owned(),
                requirements: l.requirements.trim().to_owned(),
                documents: l.documents.trim().to_owned(),
                fees: l.fees.trim().to_owned(),
                deadlines: l.deadlines.trim().to_owned(),
                procedure: l.procedure.trim().to_owned(),
                legal_basis: l.legal_basis.trim().to_owned(),
                processing_time: l.processing_time.trim().to_owned(),
                published: true,
            },
            &contacts,
        )
        .await
        .with_context(|| format!("service {}/{}", l.authority, l.slug))?;
        // Offering a service means being responsible for it in one's own area.
        tx.add_responsibility(&leika, *authority_id, &ars.area_prefix(*kind)).await?;
    }
    for p in &seed.places {
        tx.insert_place(&NewPlace { name: p.name.clone(), ars: Ars::parse(&p.ars)?, plz: p.plz.clone() }).await?;
    }
    tx.commit().await?;
    for offered in &seed.verbund.library {
        let (authority, slug) =
            offered.split_once('/').ok_or_else(|| anyhow!("library entry „{offered}“: expected authority/slug"))?;
        let (authority_id, _, _) =
            authority_ids.get(authority).ok_or_else(|| anyhow!("library entry „{offered}“: unknown authority"))?;
        let l = store
            .leistung(*authority_id, slug)
            .await?
            .ok_or_else(|| anyhow!("library entry „{offered}“: unknown service"))?;
        let mut tx = store.begin().await?;
        tx.offer_to_library(*authority_id, l.id, None).await?;
        tx.commit().await?;
    }
    for f in &seed.forms {
        let json = DEMO_FORMS
            .iter()
            .find(|(name, _)| *name == f.file)
            .map(|(_, json)| *json)
            .ok_or_else(|| anyhow!("form „{}“: no such form file among the shipped ones", f.file))?;
        let form: amtsweg_forms::Form =
            serde_json::from_str(json).with_context(|| format!("form {} is not a valid form definition", f.file))?;
        let (authority_id, _, _) =
            authority_ids.get(f.authority.as_str()).ok_or_else(|| anyhow!("form {}: unknown authority", f.file))?;
        let l = store
            .leistung(*authority_id, &f.leistung)
            .await?
            .ok_or_else(|| anyhow!("form {}: unknown service {}", f.file, f.leistung))?;
        let mut tx = store.begin().await?;
        let id = tx.create_form(*authority_id, &Slug::parse(&form.id)?, Some(l.id), &form, None).await?;
        tx.publish_form(*authority_id, id, 1, None).await?;
        tx.commit().await?;
    }
    Ok(SeedOutcome::Seeded { authorities: seed.authorities.len(), leistungen: seed.leistungen.len() })
}

impl SeedFile {
    /// Name, text and keywords of every service, for synthetic benchmark data.
    #[must_use]
    pub fn service_texts(&self) -> Vec<(String, String, Vec<String>)> {
        self.leistungen
            .iter()
            .map(|l| (l.name.clone(), format!("{}\n{}", l.summary, l.description), l.keywords.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_forms_are_valid_forms() {
        let s = parse(DEMO).unwrap();
        assert!(s.forms.iter().all(|f| DEMO_FORMS.iter().any(|(name, _)| *name == f.file)), "only shipped forms");
        for (name, json) in DEMO_FORMS {
            let form: amtsweg_forms::Form = serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!form.steps.is_empty(), "{name}");
            assert!(s.forms.iter().any(|f| f.file == name), "{name} is seeded");
        }
    }

    #[test]
    fn the_demo_verbund_is_valid_and_complete() {
        let s = parse(DEMO).unwrap();
        assert_eq!(s.authorities.len(), 5);
        assert!(s.leistungen.len() >= 40);
        for l in &s.leistungen {
            for (name, text) in [
                ("description", &l.description),
                ("requirements", &l.requirements),
                ("documents", &l.documents),
                ("fees", &l.fees),
                ("deadlines", &l.deadlines),
                ("procedure", &l.procedure),
                ("legal_basis", &l.legal_basis),
                ("processing_time", &l.processing_time),
            ] {
                assert!(!text.trim().is_empty(), "{}/{} has no {name}", l.authority, l.slug);
            }
        }
        for must in [
            "meldebescheinigung",
            "briefwahl",
            "geburtsurkunde",
            "gewerbeanmeldung",
            "gewerbeummeldung",
            "gewerbeabmeldung",
            "gewerbeauskunft",
            "melderegisterauskunft",
            "osterfeuer",
            "veranstaltung-anzeigen",
            "kita-anmeldung",
            "kfz-neuzulassung",
            "waffenbesitzkarte",
            "bauantrag",
            "hundesteuer-anmelden",
            "sperrmuell",
        ] {
            assert!(s.leistungen.iter().any(|l| l.slug == must), "missing {must}");
        }
        // Vehicles and firearms at the county, registration certificates at town and Samtgemeinde.
        let at = |slug: &str| {
            s.leistungen.iter().filter(|l| l.slug == slug).map(|l| l.authority.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(at("kfz-neuzulassung"), ["landkreis-heidekamp"]);
        assert_eq!(at("waffenbesitzkarte"), ["landkreis-heidekamp"]);
        assert!(at("meldebescheinigung").contains(&"moorbrueck"));
        assert!(at("meldebescheinigung").contains(&"sg-heideland"));
        assert!(at("gewerbeanmeldung").contains(&"sg-heideland"));
    }

    #[test]
    fn errors_name_the_broken_entry() {
        let broken = DEMO.replacen("ars = \"039510007007\"", "ars = \"0395\"", 1);
        let e = parse(&broken).unwrap_err().to_string();
        assert!(e.contains("moorbrueck") && e.contains("12 Ziffern"), "{e}");
        let e = parse("[verbund]\nname='x'\n[[authorities]]\nslug='a'\n").unwrap_err();
        assert!(format!("{e:#}").contains("missing field"), "{e:#}");
    }
}
