//! An in-memory snapshot of the published catalogue that pages are rendered from.
//!
//! Public pages are read far more often than content changes, so every node keeps
//! the published catalogue in memory and reloads it when the store's content
//! watermark moves (see `amtsweg_web::sync`). Lookups are always by authority id, so the
//! tenant scoping of the store carries over.

use amtsweg_domain::zustaendigkeit::{Resolution, resolve};
use amtsweg_domain::{Authority, LeikaKey, Leistung, Place, ResponsibilityRule, TextModule};
use amtsweg_store::{Contact, Location, OrgUnit, Store};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct Catalogue {
    pub verbund_name: String,
    /// Shared, so a request can hold its authority without copying it.
    pub authorities: Vec<Arc<Authority>>,
    by_slug: HashMap<String, usize>,
    by_host: HashMap<String, usize>,
    by_id: HashMap<i64, usize>,
    /// Published services of the whole Verbund, sorted by German title.
    pub leistungen: Vec<Leistung>,
    leistung_by_slug: HashMap<(i64, String), usize>,
    leistung_ids: std::collections::HashSet<i64>,
    pub org_units: HashMap<i64, Vec<OrgUnit>>,
    pub contacts: HashMap<i64, Vec<Contact>>,
    pub locations: HashMap<i64, Vec<Location>>,
    leistung_contacts: HashMap<i64, Vec<i64>>,
    pub places: Vec<Place>,
    pub rules: Vec<ResponsibilityRule>,
    /// Pages an editor has adapted, by (authority id, kind); others come from templates.
    pages: HashMap<(i64, String), amtsweg_store::pages::PageRow>,
    /// Text modules rendered to safe HTML once per snapshot, by service id.
    module_html: HashMap<i64, Vec<(TextModule, String)>>,
    /// The watermark this snapshot was loaded at.
    pub watermark: i64,
    /// Published forms by (authority id, short name), parsed once per snapshot.
    forms: HashMap<(i64, String), Arc<PublishedForm>>,
}

/// The version of a form citizens fill in now.
#[derive(Debug)]
pub struct PublishedForm {
    pub form_id: i64,
    /// The authority that receives the submissions: the form's own, or one that
    /// adopted the service from the Verbund library (linked).
    pub authority_id: i64,
    /// The authority that builds and publishes the form.
    pub owner_id: i64,
    pub leistung_id: Option<i64>,
    pub slug: String,
    pub version: i64,
    /// Shared with every journey on this form (no copy per request).
    pub form: Arc<amtsweg_forms::Form>,
}

impl Catalogue {
    /// Loads the published catalogue.
    ///
    /// # Errors
    /// On store errors.
    pub async fn load(store: &Store) -> amtsweg_store::Result<Self> {
        let watermark = store.content_watermark().await?;
        let authorities = store.authorities().await?;
        let mut c = Self {
            verbund_name: store.verbund_name().await?,
            leistungen: store.published_leistungen().await?,
            places: store.places().await?,
            rules: store.responsibility_rules().await?,
            watermark,
            ..Self::default()
        };
        for a in &authorities {
            c.org_units.insert(a.id, store.org_units(a.id).await?);
            c.contacts.insert(a.id, store.contacts(a.id).await?);
            c.locations.insert(a.id, store.locations(a.id).await?);
        }
        for p in store.all_pages().await? {
            c.pages.insert((p.authority_id, p.kind.clone()), p);
        }
        for link in store.leistung_contact_links().await? {
            c.leistung_contacts.entry(link.leistung_id).or_default().push(link.contact_id);
        }
        for (i, a) in authorities.iter().enumerate() {
            c.by_slug.insert(a.slug.as_str().to_owned(), i);
            c.by_id.insert(a.id, i);
            for h in &a.hosts {
                c.by_host.insert(h.clone(), i);
            }
        }
        c.authorities = authorities.into_iter().map(Arc::new).collect();
        for (i, l) in c.leistungen.iter().enumerate() {
            c.leistung_by_slug.insert((l.authority_id, l.slug.as_str().to_owned()), i);
            c.leistung_ids.insert(l.id);
            let modules = TextModule::ALL
                .iter()
                .filter(|m| !l.module(**m).trim().is_empty())
                .map(|m| (*m, crate::markdown::render(l.module(*m))))
                .collect();
            c.module_html.insert(l.id, modules);
        }
        for row in store.published_forms().await? {
            // A stored definition that no longer parses (an older format) keeps the
            // portal up; the form is just not offered.
            match row.form() {
                Ok(form) => {
                    let f = PublishedForm {
                        form_id: row.form_id,
                        authority_id: row.authority_id,
                        owner_id: row.authority_id,
                        leistung_id: row.leistung_id,
                        slug: row.slug,
                        version: row.version,
                        form: Arc::new(form),
                    };
                    c.forms.insert((f.authority_id, f.slug.clone()), Arc::new(f));
                }
                Err(e) => tracing::error!(form = row.form_id, error = %e, "published form does not parse"),
            }
        }
        c.add_adopted_forms(store, &c.authorities.clone()).await?;
        Ok(c)
    }

    /// Forms of services other authorities adopted linked from the Verbund library:
    /// one authority builds the form, every adopter offers it under its own portal
    /// and receives its own submissions.
    ///
    /// Each adopter serves the version it accepted (its pin), not the owner's newest:
    /// a form carries the adopter's fields, workflow and trust level, so a new owner
    /// version waits in the service editor as an upstream change to accept. A form
    /// the owner added after the adoption is not offered until accepted either.
    async fn add_adopted_forms(&mut self, store: &Store, authorities: &[Arc<Authority>]) -> amtsweg_store::Result<()> {
        let entries: HashMap<i64, amtsweg_store::library::LibraryEntry> =
            store.library_entries().await?.into_iter().map(|e| (e.id, e)).collect();
        // Older versions several adopters still serve are parsed once per snapshot.
        let mut older: HashMap<(i64, i64), Arc<amtsweg_forms::Form>> = HashMap::new();
        for a in authorities {
            let pins = store.form_pins_of(a.id).await?;
            for ad in store.adoptions_of(a.id).await? {
                if !ad.is_linked() || !self.leistung_ids.contains(&ad.leistung_id) {
                    continue;
                }
                let Some(entry) = entries.get(&ad.entry_id) else { continue };
                let originals: Vec<Arc<PublishedForm>> = self
                    .forms
                    .values()
                    .filter(|f| f.owner_id == entry.authority_id && f.leistung_id == Some(entry.leistung_id))
                    .cloned()
                    .collect();
                for f in originals {
                    let key = (a.id, f.slug.clone());
                    // The adopter's own form of the same short name wins.
                    if self.forms.contains_key(&key) {
                        continue;
                    }
                    let Some(pin) = pins.iter().find(|p| p.form_id == f.form_id && p.leistung_id == ad.leistung_id)
                    else {
                        continue;
                    };
                    let form = if pin.version == f.version {
                        f.form.clone()
                    } else if let Some(form) = older.get(&(f.form_id, pin.version)) {
                        form.clone()
                    } else {
                        let parsed = store.form_version(f.owner_id, f.form_id, pin.version).await?.map(|v| v.form());
                        match parsed {
                            Some(Ok(form)) => {
                                let form = Arc::new(form);
                                older.insert((f.form_id, pin.version), form.clone());
                                form
                            }
                            Some(Err(e)) => {
                                tracing::error!(form = f.form_id, version = pin.version, error = %e, "adopted form version does not parse");
                                continue;
                            }
                            None => continue,
                        }
                    };
                    let adopted = PublishedForm {
                        form_id: f.form_id,
                        authority_id: a.id,
                        owner_id: f.owner_id,
                        leistung_id: Some(ad.leistung_id),
                        slug: f.slug.clone(),
                        version: pin.version,
                        form,
                    };
                    self.forms.insert(key, Arc::new(adopted));
                }
            }
        }
        Ok(())
    }

    /// Every form offered, by any authority (own and adopted).
    pub fn all_forms(&self) -> impl Iterator<Item = &PublishedForm> {
        self.forms.values().map(AsRef::as_ref)
    }

    /// The form an authority offers with this id (its own or adopted).
    #[must_use]
    pub fn form_by_id(&self, authority_id: i64, form_id: i64) -> Option<Arc<PublishedForm>> {
        self.forms.values().find(|f| f.authority_id == authority_id && f.form_id == form_id).cloned()
    }

    #[must_use]
    pub fn authority(&self, id: i64) -> Option<&Authority> {
        self.by_id.get(&id).map(|i| self.authorities[*i].as_ref())
    }

    #[must_use]
    pub fn authority_by_slug(&self, slug: &str) -> Option<&Authority> {
        self.by_slug.get(slug).map(|i| self.authorities[*i].as_ref())
    }

    /// [`Self::authority_by_slug`], shared: for a request that keeps it.
    #[must_use]
    pub fn shared_authority_by_slug(&self, slug: &str) -> Option<Arc<Authority>> {
        self.by_slug.get(slug).map(|i| Arc::clone(&self.authorities[*i]))
    }

    /// The authority for a host name (lower-case, without port): a configured host
    /// name, or `<slug>.localhost` for local demos.
    #[must_use]
    pub fn authority_by_host(&self, host: &str) -> Option<&Authority> {
        if let Some(i) = self.by_host.get(host) {
            return Some(self.authorities[*i].as_ref());
        }
        host.strip_suffix(".localhost").and_then(|slug| self.authority_by_slug(slug))
    }

    /// Direct members of an authority in the Verbund tree.
    pub fn children(&self, id: i64) -> impl Iterator<Item = &Authority> {
        self.authorities.iter().map(AsRef::as_ref).filter(move |a| a.parent_id == Some(id))
    }

    pub fn leistungen_of(&self, authority_id: i64) -> impl Iterator<Item = &Leistung> {
        self.leistungen.iter().filter(move |l| l.authority_id == authority_id)
    }

    /// Whether a search document key (`leistung:7`, `org:3`, `contact:5`) names something
    /// this snapshot shows; results outside it are dropped.
    #[must_use]
    pub fn shows(&self, key: &str) -> bool {
        let Some((kind, id)) = key.split_once(':') else { return false };
        let Ok(id) = id.parse::<i64>() else { return false };
        match kind {
            "leistung" => self.leistung_ids.contains(&id),
            "org" => self.org_units.values().flatten().any(|o| o.id == id),
            "contact" => self.contacts.values().flatten().any(|c| c.id == id),
            _ => false,
        }
    }

    #[must_use]
    pub fn leistung(&self, authority_id: i64, slug: &str) -> Option<&Leistung> {
        self.leistung_by_slug.get(&(authority_id, slug.to_owned())).map(|i| &self.leistungen[*i])
    }

    /// A published form of an authority.
    #[must_use]
    pub fn form(&self, authority_id: i64, slug: &str) -> Option<Arc<PublishedForm>> {
        self.forms.get(&(authority_id, slug.to_owned())).cloned()
    }

    /// The published forms of a service (usually one).
    pub fn forms_of_leistung(&self, leistung_id: i64) -> impl Iterator<Item = &PublishedForm> {
        self.forms.values().filter(move |f| f.leistung_id == Some(leistung_id)).map(AsRef::as_ref)
    }

    /// Title, Markdown body, video link and revision (0 = template) of a plain page.
    #[must_use]
    pub fn page(&self, a: &Authority, kind: amtsweg_domain::pages::PageKind) -> (String, String, String, i64) {
        match self.pages.get(&(a.id, kind.slug().to_owned())) {
            Some(p) => (p.title.clone(), p.body.clone(), p.video_url.clone(), p.revision),
            None => {
                let (t, b) = kind.default_content(a);
                (t, b, String::new(), 0)
            }
        }
    }

    /// The Verbund's top authority (the county), whose pages the Verbund pages link to.
    #[must_use]
    pub fn root(&self) -> Option<&Authority> {
        self.authorities.iter().map(AsRef::as_ref).find(|a| a.parent_id.is_none())
    }

    /// The non-empty text modules of a service as safe HTML, in reading order.
    #[must_use]
    pub fn modules_html(&self, leistung_id: i64) -> &[(TextModule, String)] {
        self.module_html.get(&leistung_id).map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn org_units_of(&self, authority_id: i64) -> &[OrgUnit] {
        self.org_units.get(&authority_id).map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn org_unit(&self, authority_id: i64, id: i64) -> Option<&OrgUnit> {
        self.org_units_of(authority_id).iter().find(|o| o.id == id)
    }

    #[must_use]
    pub fn contacts_of(&self, authority_id: i64) -> &[Contact] {
        self.contacts.get(&authority_id).map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn locations_of(&self, authority_id: i64) -> &[Location] {
        self.locations.get(&authority_id).map_or(&[], Vec::as_slice)
    }

    #[must_use]
    pub fn location(&self, authority_id: i64, id: i64) -> Option<&Location> {
        self.locations_of(authority_id).iter().find(|l| l.id == id)
    }

    /// The contacts named on a service, in order; only those of the same authority.
    #[must_use]
    pub fn contacts_of_leistung(&self, l: &Leistung) -> Vec<&Contact> {
        let all = self.contacts_of(l.authority_id);
        self.leistung_contacts
            .get(&l.id)
            .map(|ids| ids.iter().filter_map(|id| all.iter().find(|c| c.id == *id)).collect())
            .unwrap_or_default()
    }

    #[must_use]
    pub fn place(&self, id: i64) -> Option<&Place> {
        self.places.iter().find(|p| p.id == id)
    }

    /// Which authority of the Verbund is responsible for `leika` at `place`.
    #[must_use]
    pub fn responsible(&self, leika: &LeikaKey, place: &Place) -> Option<&Authority> {
        match resolve(&self.rules, leika, &place.ars) {
            Resolution::Responsible(id) => self.authority(id),
            Resolution::NotInVerbund => None,
        }
    }

    /// The published service of `authority` with this LeiKa key.
    #[must_use]
    pub fn leistung_by_leika(&self, authority_id: i64, leika: &LeikaKey) -> Option<&Leistung> {
        self.leistungen_of(authority_id).find(|l| &l.leika == leika)
    }
}
