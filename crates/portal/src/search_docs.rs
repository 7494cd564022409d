//! What the search index holds: published services, org units and contacts.

use crate::catalogue::Catalogue;
use amtsweg_domain::TextModule;
use amtsweg_search::{DocKind, SearchDoc};

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
