//! What the search index holds: published services, org units and contacts.

use crate::catalogue::Catalogue;
use amtsweg_domain::TextModule;
use amtsweg_search::{DocKind, Hit, SearchDoc, SearchResults};

#[must_use]
pub fn build(c: &Catalogue) -> Vec<SearchDoc> {
    let mut docs = Vec::new();
    for l in &c.leistungen {
        let Some(a) = c.authority(l.authority_id) else {
            continue;
        };
        let body = TextModule::ALL.iter().map(|m| l.module(*m)).collect::<Vec<_>>().join("\n");
        docs.push(SearchDoc {
            key: format!("leistung:{}", l.id),
            kind: DocKind::Leistung,
            authority_id: a.id,
            authority_name: a.name.clone(),
            leika: l.leika.as_str().to_owned(),
            title: l.name.clone(),
            keywords: l.keywords.clone(),
            summary: l.summary.clone(),
            body,
            url: format!("/o/{}/leistungen/{}", a.slug, l.slug),
        });
    }
    for a in &c.authorities {
        for o in c.org_units_of(a.id) {
            docs.push(SearchDoc {
                key: format!("org:{}", o.id),
                kind: DocKind::OrgUnit,
                authority_id: a.id,
                authority_name: a.name.clone(),
                leika: String::new(),
                title: o.name.clone(),
                keywords: Vec::new(),
                summary: o.description.clone(),
                body: o.description.clone(),
                url: format!("/o/{}/organisation/{}", a.slug, o.slug),
            });
        }
        for ct in c.contacts_of(a.id) {
            let ou = ct.org_unit_id.and_then(|id| c.org_unit(a.id, id)).map(|o| o.name.clone()).unwrap_or_default();
            docs.push(SearchDoc {
                key: format!("contact:{}", ct.id),
                kind: DocKind::Contact,
                authority_id: a.id,
                authority_name: a.name.clone(),
                leika: String::new(),
                title: ct.name.clone(),
                keywords: Vec::new(),
                summary: format!("{} – {ou}", ct.role),
                body: format!("{} {ou}", ct.role),
                url: format!("/o/{}/kontakte/{}", a.slug, ct.slug),
            });
        }
    }
    docs
}

/// Where a hit leads a citizen whose place is not known: a service that several
/// authorities offer leads to the Verbund's page of it (which asks for the place
/// and names who is responsible where), rather than to one authority's offer that
/// may not be theirs; everything else leads to its own page.
#[must_use]
pub fn target_without_place(c: &Catalogue, hit: &Hit) -> String {
    if hit.kind == DocKind::Leistung
        && let Some(id) = hit.key.strip_prefix("leistung:").and_then(|id| id.parse::<i64>().ok())
        && let Some(own) = c.leistungen.iter().find(|l| l.id == id)
        && c.leistungen.iter().filter(|l| l.leika == own.leika).nth(1).is_some()
    {
        return format!("/leistungen/{}", own.slug);
    }
    hit.url.clone()
}

/// Search suggestions (autocomplete) for a citizen whose place is not known: each
/// destination once — the offers of one service by several authorities become one
/// suggestion leading to the Verbund's page of the service.
pub fn suggestions_without_place(c: &Catalogue, results: &mut SearchResults) {
    results.one_per_target(|h| target_without_place(c, h));
    for h in &mut results.hits {
        if h.url.starts_with("/leistungen/") {
            h.authority_name.clone_from(&c.verbund_name);
        }
    }
}
