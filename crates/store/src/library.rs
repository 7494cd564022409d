//! The Verbund library (Nachnutzung): offering a published service to the other
//! authorities, adopting it linked or as a copy, and accepting upstream changes.
//!
//! A library revision holds the original's published content without its org unit
//! (an id of another authority). Linked adopters keep the shared text of the
//! revision they accepted; their local fields (org unit, online link, fees, contacts)
//! stay theirs. Every write checks the authority it acts for.
//!
//! The owner's forms of the service are pinned the same way: a linked adopter serves
//! the form version it accepted ([`FormPin`]); a newer owner version waits as an
//! upstream change, because a form carries the adopter's fields, workflow and trust
//! level, which the owner must not change under it.

use crate::db::{Store, Tx};
use crate::editing::Saved;
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::leistung::LeistungContent;
use amtsweg_domain::library::AdoptionMode;
use amtsweg_domain::{Leistung, Slug};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

/// A library entry with the content of its current revision.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LibraryEntry {
    pub id: i64,
    pub authority_id: i64,
    pub leistung_id: i64,
    pub revision: i64,
    pub withdrawn: bool,
    pub updated_at: i64,
    pub content: String,
}

impl LibraryEntry {
    /// # Errors
    /// When the stored JSON is unreadable.
    pub fn content(&self) -> Result<LeistungContent> {
        parse(&self.content)
    }
}

/// A service taken over from the library.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Adoption {
    pub leistung_id: i64,
    pub authority_id: i64,
    pub entry_id: i64,
    pub mode: String,
    pub adopted_revision: i64,
    pub adopted_at: i64,
}

impl Adoption {
    #[must_use]
    pub fn mode(&self) -> AdoptionMode {
        AdoptionMode::parse(&self.mode).unwrap_or(AdoptionMode::Copy)
    }

    #[must_use]
    pub fn is_linked(&self) -> bool {
        self.mode() == AdoptionMode::Linked
    }
}

/// The version of an owner's form a linked adopter serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FormPin {
    pub leistung_id: i64,
    pub form_id: i64,
    pub version: i64,
}

/// A published form of a library entry's original service, as one adopter has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryForm {
    pub form_id: i64,
    pub owner_id: i64,
    pub title: String,
    /// The owner's current published version.
    pub latest: i64,
    /// The version the adopter accepted; `None` for a form the owner added later.
    pub pinned: Option<i64>,
}

impl LibraryForm {
    /// Whether the owner has a version the adopter has not accepted yet.
    #[must_use]
    pub fn pending(&self) -> bool {
        self.pinned.is_none_or(|v| v < self.latest)
    }
}

#[derive(sqlx::FromRow)]
struct OwnerFormRow {
    id: i64,
    authority_id: i64,
    title: String,
    published_version: i64,
}

/// The owner's published forms of a service (the original of a library entry).
fn owner_forms_query(entry: &LibraryEntry) -> SelectStatement {
    Query::select()
        .columns(["id", "authority_id", "title", "published_version"])
        .from("forms")
        .and_where(Expr::col("authority_id").eq(entry.authority_id))
        .and_where(Expr::col("leistung_id").eq(entry.leistung_id))
        .and_where(Expr::col("published_version").gt(0))
        .order_by("id", Order::Asc)
        .to_owned()
}

fn pins_query(authority_id: i64) -> SelectStatement {
    Query::select()
        .columns(["leistung_id", "form_id", "version"])
        .from("library_form_pins")
        .and_where(Expr::col("authority_id").eq(authority_id))
        .to_owned()
}

fn with_pins(rows: Vec<OwnerFormRow>, pins: &[FormPin], leistung_id: i64) -> Vec<LibraryForm> {
    rows.into_iter()
        .map(|r| LibraryForm {
            form_id: r.id,
            owner_id: r.authority_id,
            title: r.title,
            latest: r.published_version,
            pinned: pins.iter().find(|p| p.form_id == r.id && p.leistung_id == leistung_id).map(|p| p.version),
        })
        .collect()
}

/// What came of an adoption request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adopted {
    /// The new service (unpublished, with a draft to review).
    Created(i64),
    /// This authority already uses the entry, as this service.
    AlreadyAdopted(i64),
    /// An authority cannot adopt its own entry.
    OwnEntry,
    /// The entry does not exist or was withdrawn.
    Unavailable,
}

#[derive(sqlx::FromRow)]
struct ContentRow {
    content: String,
}

fn parse(json: &str) -> Result<LeistungContent> {
    serde_json::from_str(json).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn audit(by: Option<i64>, authority_id: i64, action: &str, target: String) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: by.map_or_else(|| "system".to_owned(), |a| format!("staff:{a}")),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target,
        outcome: "success".to_owned(),
    }
}

fn entries_query() -> SelectStatement {
    Query::select()
        .columns([
            ("library_entries", "id"),
            ("library_entries", "authority_id"),
            ("library_entries", "leistung_id"),
            ("library_entries", "revision"),
            ("library_entries", "withdrawn"),
            ("library_entries", "updated_at"),
        ])
        .column(("library_revisions", "content"))
        .from("library_entries")
        .inner_join(
            "library_revisions",
            Expr::col(("library_revisions", "entry_id"))
                .equals(("library_entries", "id"))
                .and(Expr::col(("library_revisions", "revision")).equals(("library_entries", "revision"))),
        )
        .to_owned()
}

const ADOPTION_COLUMNS: [&str; 6] =
    ["leistung_id", "authority_id", "entry_id", "mode", "adopted_revision", "adopted_at"];

impl Store {
    /// Entries offered to the Verbund (not withdrawn), oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_entries(&self) -> Result<Vec<LibraryEntry>> {
        let q = entries_query()
            .and_where(Expr::col(("library_entries", "withdrawn")).eq(false))
            .order_by(("library_entries", "id"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One entry, also when withdrawn (adopters still need its text).
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_entry(&self, entry_id: i64) -> Result<Option<LibraryEntry>> {
        self.fetch_optional(&entries_query().and_where(Expr::col(("library_entries", "id")).eq(entry_id)).to_owned())
            .await
    }

    /// The entry a service of this authority is offered as, if any.
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_entry_of(&self, authority_id: i64, leistung_id: i64) -> Result<Option<LibraryEntry>> {
        let q = entries_query()
            .and_where(Expr::col(("library_entries", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("library_entries", "leistung_id")).eq(leistung_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The content of one revision of an entry.
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_revision(&self, entry_id: i64, revision: i64) -> Result<Option<LeistungContent>> {
        let q = Query::select()
            .column("content")
            .from("library_revisions")
            .and_where(Expr::col("entry_id").eq(entry_id))
            .and_where(Expr::col("revision").eq(revision))
            .to_owned();
        self.fetch_optional::<ContentRow>(&q).await?.map(|r| parse(&r.content)).transpose()
    }

    /// Where an entry is used: every adopting service, by authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_usage(&self, entry_id: i64) -> Result<Vec<Adoption>> {
        let q = Query::select()
            .columns(ADOPTION_COLUMNS)
            .from("library_adoptions")
            .and_where(Expr::col("entry_id").eq(entry_id))
            .order_by("adopted_at", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// How a service of this authority came from the library, if it did.
    ///
    /// # Errors
    /// On database errors.
    pub async fn adoption(&self, authority_id: i64, leistung_id: i64) -> Result<Option<Adoption>> {
        let q = Query::select()
            .columns(ADOPTION_COLUMNS)
            .from("library_adoptions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The form versions an authority serves for its linked adoptions.
    ///
    /// # Errors
    /// On database errors.
    pub async fn form_pins_of(&self, authority_id: i64) -> Result<Vec<FormPin>> {
        self.fetch_all(&pins_query(authority_id)).await
    }

    /// The owner's published forms of a linked service of this authority, with the
    /// version this authority serves (empty for a service not adopted linked).
    ///
    /// # Errors
    /// On database errors.
    pub async fn library_forms(&self, authority_id: i64, leistung_id: i64) -> Result<Vec<LibraryForm>> {
        let Some(a) = self.adoption(authority_id, leistung_id).await? else { return Ok(Vec::new()) };
        if !a.is_linked() {
            return Ok(Vec::new());
        }
        let Some(entry) = self.library_entry(a.entry_id).await? else { return Ok(Vec::new()) };
        let rows = self.fetch_all(&owner_forms_query(&entry)).await?;
        let pins: Vec<FormPin> = self.fetch_all(&pins_query(authority_id)).await?;
        Ok(with_pins(rows, &pins, leistung_id))
    }

    /// Every adoption of an authority (to mark entries it already uses).
    ///
    /// # Errors
    /// On database errors.
    pub async fn adoptions_of(&self, authority_id: i64) -> Result<Vec<Adoption>> {
        let q = Query::select()
            .columns(ADOPTION_COLUMNS)
            .from("library_adoptions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    async fn published_in_tx(&mut self, authority_id: i64, leistung_id: i64) -> Result<Option<Leistung>> {
        let q = Query::select()
            .columns(crate::rows::LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(leistung_id))
            .to_owned();
        self.fetch_optional_in_tx::<crate::rows::LeistungRow>(&q).await?.map(Leistung::try_from).transpose()
    }

    async fn entry_in_tx(&mut self, q: SelectStatement) -> Result<Option<LibraryEntry>> {
        self.fetch_optional_in_tx(&q).await
    }

    async fn adoption_in_tx(&mut self, authority_id: i64, leistung_id: i64) -> Result<Option<Adoption>> {
        let q = Query::select()
            .columns(ADOPTION_COLUMNS)
            .from("library_adoptions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        self.fetch_optional_in_tx(&q).await
    }

    async fn library_revision_in_tx(&mut self, entry_id: i64, revision: i64) -> Result<Option<LeistungContent>> {
        let q = Query::select()
            .column("content")
            .from("library_revisions")
            .and_where(Expr::col("entry_id").eq(entry_id))
            .and_where(Expr::col("revision").eq(revision))
            .to_owned();
        self.fetch_optional_in_tx::<ContentRow>(&q).await?.map(|r| parse(&r.content)).transpose()
    }

    /// Records `content` as the entry's next revision when it differs from the current one.
    async fn add_library_revision(
        &mut self,
        entry: &LibraryEntry,
        content: &LeistungContent,
        by: Option<i64>,
    ) -> Result<i64> {
        let offered = LeistungContent { org_unit_id: None, ..content.clone() };
        if entry.content()? == offered {
            return Ok(entry.revision);
        }
        let next = entry.revision + 1;
        let json = serde_json::to_string(&offered).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let q = Query::insert()
            .into_table("library_revisions")
            .columns(["entry_id", "revision", "content", "published_at", "published_by"])
            .values_panic([entry.id.into(), next.into(), json.into(), now_ms().into(), by.into()])
            .to_owned();
        self.execute(&q).await?;
        let q = Query::update()
            .table("library_entries")
            .value("revision", next)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(entry.id))
            .to_owned();
        self.execute(&q).await?;
        Ok(next)
    }

    /// Offers a published service of this authority to the Verbund (again, if it
    /// was withdrawn). Returns the entry id, or `None` when the service is not this
    /// authority's, not published, or itself follows someone else's entry.
    ///
    /// # Errors
    /// On database errors.
    pub async fn offer_to_library(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        by: Option<i64>,
    ) -> Result<Option<i64>> {
        let Some(l) = self.published_in_tx(authority_id, leistung_id).await? else { return Ok(None) };
        if !l.published {
            return Ok(None);
        }
        if self.adoption_in_tx(authority_id, leistung_id).await?.is_some_and(|a| a.is_linked()) {
            return Ok(None);
        }
        let content = LeistungContent::of(&l);
        let existing = self
            .entry_in_tx(
                entries_query().and_where(Expr::col(("library_entries", "leistung_id")).eq(leistung_id)).to_owned(),
            )
            .await?;
        let entry_id = if let Some(entry) = existing {
            self.add_library_revision(&entry, &content, by).await?;
            let q = Query::update()
                .table("library_entries")
                .value("withdrawn", false)
                .value("updated_at", now_ms())
                .and_where(Expr::col("id").eq(entry.id))
                .to_owned();
            self.execute(&q).await?;
            entry.id
        } else {
            let q = Query::insert()
                .into_table("library_entries")
                .columns(["authority_id", "leistung_id", "revision", "withdrawn", "updated_at"])
                .values_panic([authority_id.into(), leistung_id.into(), 1i64.into(), false.into(), now_ms().into()])
                .returning_col("id")
                .to_owned();
            let id = self.insert_id(&q).await?;
            let offered = LeistungContent { org_unit_id: None, ..content };
            let json = serde_json::to_string(&offered).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let q = Query::insert()
                .into_table("library_revisions")
                .columns(["entry_id", "revision", "content", "published_at", "published_by"])
                .values_panic([id.into(), 1i64.into(), json.into(), now_ms().into(), by.into()])
                .to_owned();
            self.execute(&q).await?;
            id
        };
        self.append_audit(&audit(by, authority_id, "library.offer", format!("leistung:{leistung_id}"))).await?;
        Ok(Some(entry_id))
    }

    /// Takes a service out of the library. Adopters keep what they have.
    ///
    /// # Errors
    /// On database errors.
    pub async fn withdraw_from_library(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        by: Option<i64>,
    ) -> Result<bool> {
        let q = Query::update()
            .table("library_entries")
            .value("withdrawn", true)
            .value("updated_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .and_where(Expr::col("withdrawn").eq(false))
            .to_owned();
        let changed = self.execute(&q).await? == 1;
        if changed {
            self.append_audit(&audit(by, authority_id, "library.withdraw", format!("leistung:{leistung_id}"))).await?;
        }
        Ok(changed)
    }

    /// Called on every publication: an offered service's entry follows it.
    pub(crate) async fn follow_in_library(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        content: &LeistungContent,
        by: Option<i64>,
    ) -> Result<()> {
        let q = entries_query()
            .and_where(Expr::col(("library_entries", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("library_entries", "leistung_id")).eq(leistung_id))
            .and_where(Expr::col(("library_entries", "withdrawn")).eq(false))
            .to_owned();
        if let Some(entry) = self.entry_in_tx(q).await? {
            self.add_library_revision(&entry, content, by).await?;
        }
        Ok(())
    }

    /// A linked service keeps the library's shared text whatever an editor sends;
    /// only the local fields are taken from `content`.
    pub(crate) async fn enforce_linked_text(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        content: &LeistungContent,
    ) -> Result<LeistungContent> {
        match self.adoption_in_tx(authority_id, leistung_id).await? {
            Some(a) if a.is_linked() => match self.library_revision_in_tx(a.entry_id, a.adopted_revision).await? {
                Some(shared) => Ok(shared.with_local_fields_of(content)),
                None => Ok(content.clone()),
            },
            _ => Ok(content.clone()),
        }
    }

    /// Adopts a library entry for this authority as a new, unpublished service with
    /// a draft (org unit empty; online link and fees pre-filled to be checked).
    ///
    /// # Errors
    /// On database errors.
    pub async fn adopt(
        &mut self,
        authority_id: i64,
        entry_id: i64,
        mode: AdoptionMode,
        by: Option<i64>,
    ) -> Result<Adopted> {
        let q = entries_query().and_where(Expr::col(("library_entries", "id")).eq(entry_id)).to_owned();
        let Some(entry) = self.entry_in_tx(q).await? else { return Ok(Adopted::Unavailable) };
        if entry.withdrawn {
            return Ok(Adopted::Unavailable);
        }
        if entry.authority_id == authority_id {
            return Ok(Adopted::OwnEntry);
        }
        let q = Query::select()
            .columns(ADOPTION_COLUMNS)
            .from("library_adoptions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("entry_id").eq(entry_id))
            .to_owned();
        if let Some(a) = self.fetch_optional_in_tx::<Adoption>(&q).await? {
            return Ok(Adopted::AlreadyAdopted(a.leistung_id));
        }
        let content = entry.content()?;
        let slug = self.free_slug(authority_id, &Slug::from_title(&content.name)).await?;
        // The adoption row goes in before the draft so the draft is already kept
        // to the library's text for a linked adoption.
        let leistung_id = self.create_leistung_row(authority_id, &slug, &content).await?;
        let q = Query::insert()
            .into_table("library_adoptions")
            .columns([
                "leistung_id",
                "authority_id",
                "entry_id",
                "mode",
                "adopted_revision",
                "adopted_at",
                "adopted_by",
            ])
            .values_panic([
                leistung_id.into(),
                authority_id.into(),
                entry_id.into(),
                mode.as_str().into(),
                entry.revision.into(),
                now_ms().into(),
                by.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        if mode == AdoptionMode::Linked {
            // The forms as they are now are what the adopter takes over.
            for f in self.fetch_all_in_tx::<OwnerFormRow>(&owner_forms_query(&entry)).await? {
                self.pin_form(authority_id, leistung_id, f.id, f.published_version, by).await?;
            }
        }
        self.save_draft(authority_id, leistung_id, 0, &content, by).await?;
        self.append_audit(&audit(by, authority_id, "library.adopt", format!("leistung:{leistung_id}"))).await?;
        Ok(Adopted::Created(leistung_id))
    }

    async fn free_slug(&mut self, authority_id: i64, wanted: &Slug) -> Result<Slug> {
        #[derive(sqlx::FromRow)]
        struct IdRow {
            #[allow(dead_code)]
            id: i64,
        }
        for n in 1..1000 {
            let candidate = if n == 1 { wanted.to_string() } else { format!("{wanted}-{n}") };
            let q = Query::select()
                .column("id")
                .from("leistungen")
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("slug").eq(candidate.as_str()))
                .to_owned();
            if self.fetch_optional_in_tx::<IdRow>(&q).await?.is_none() {
                return Ok(Slug::parse(&candidate)?);
            }
        }
        Err(StoreError::Invalid("no free short name".into()))
    }

    /// Accepts what the library offers for a linked service: the current shared
    /// text (the published state, if any, and the draft, if any, get it; local
    /// fields stay) and the owner's current form versions. Returns the library
    /// revision the service now follows, or `None` if nothing was pending.
    ///
    /// # Errors
    /// On database errors.
    pub async fn accept_upstream(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        by: Option<i64>,
    ) -> Result<Option<i64>> {
        let Some(a) = self.adoption_in_tx(authority_id, leistung_id).await? else { return Ok(None) };
        if !a.is_linked() {
            return Ok(None);
        }
        let q = entries_query().and_where(Expr::col(("library_entries", "id")).eq(a.entry_id)).to_owned();
        let Some(entry) = self.entry_in_tx(q).await? else { return Ok(None) };
        let forms = self.accept_upstream_forms(authority_id, leistung_id, &entry, by).await?;
        let text = self.accept_upstream_text(authority_id, leistung_id, &a, &entry, by).await?;
        Ok(text.or((forms > 0).then_some(a.adopted_revision)))
    }

    /// Moves the adopter's form pins of a linked service to the owner's current
    /// versions; returns how many moved.
    async fn accept_upstream_forms(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        entry: &LibraryEntry,
        by: Option<i64>,
    ) -> Result<usize> {
        let rows = self.fetch_all_in_tx::<OwnerFormRow>(&owner_forms_query(entry)).await?;
        let pins: Vec<FormPin> = self.fetch_all_in_tx(&pins_query(authority_id)).await?;
        let mut moved = 0;
        for f in with_pins(rows, &pins, leistung_id).into_iter().filter(LibraryForm::pending) {
            self.pin_form(authority_id, leistung_id, f.form_id, f.latest, by).await?;
            let mut entry = audit(by, authority_id, "library.accept_form", format!("form:{}", f.form_id));
            entry.outcome = format!("version:{}", f.latest);
            self.append_audit(&entry).await?;
            moved += 1;
        }
        if moved > 0 {
            // The adopter's service now offers another form version: moving its
            // change time moves the content watermark, so every node reloads.
            let q = Query::update()
                .table("leistungen")
                .value("updated_at", now_ms())
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("id").eq(leistung_id))
                .to_owned();
            self.execute(&q).await?;
        }
        Ok(moved)
    }

    /// Sets the form version a linked adopter serves.
    async fn pin_form(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        form_id: i64,
        version: i64,
        by: Option<i64>,
    ) -> Result<()> {
        let q = Query::delete()
            .from_table("library_form_pins")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("form_id").eq(form_id))
            .to_owned();
        self.execute(&q).await?;
        let q = Query::insert()
            .into_table("library_form_pins")
            .columns(["authority_id", "leistung_id", "form_id", "version", "accepted_at", "accepted_by"])
            .values_panic([
                authority_id.into(),
                leistung_id.into(),
                form_id.into(),
                version.into(),
                now_ms().into(),
                by.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// The shared-text part of [`Self::accept_upstream`].
    async fn accept_upstream_text(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        a: &Adoption,
        entry: &LibraryEntry,
        by: Option<i64>,
    ) -> Result<Option<i64>> {
        if entry.revision <= a.adopted_revision {
            return Ok(None);
        }
        let upstream = entry.content()?;
        let q = Query::update()
            .table("library_adoptions")
            .value("adopted_revision", entry.revision)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        self.execute(&q).await?;
        let Some(l) = self.published_in_tx(authority_id, leistung_id).await? else { return Ok(None) };
        let draft = {
            let q = Query::select()
                .columns(["leistung_id", "authority_id", "version", "content", "updated_at", "updated_by"])
                .from("leistung_drafts")
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("leistung_id").eq(leistung_id))
                .to_owned();
            self.fetch_optional_in_tx::<crate::editing::DraftRow>(&q).await?
        };
        if l.published {
            let merged = upstream.with_local_fields_of(&LeistungContent::of(&l));
            if let Saved::Conflict { .. } = self.publish_content(authority_id, leistung_id, &merged, by).await? {
                return Ok(None);
            }
        }
        match draft {
            Some(d) => {
                self.save_draft(authority_id, leistung_id, d.version, &d.content()?, by).await?;
            }
            None if !l.published => {
                self.save_draft(
                    authority_id,
                    leistung_id,
                    0,
                    &upstream.with_local_fields_of(&LeistungContent::of(&l)),
                    by,
                )
                .await?;
            }
            None => {}
        }
        self.append_audit(&audit(by, authority_id, "library.accept", format!("leistung:{leistung_id}"))).await?;
        Ok(Some(entry.revision))
    }

    /// Turns a linked adoption into a copy: the text becomes fully editable and
    /// upstream changes are no longer offered.
    ///
    /// # Errors
    /// On database errors.
    pub async fn detach_from_library(&mut self, authority_id: i64, leistung_id: i64, by: Option<i64>) -> Result<bool> {
        let q = Query::update()
            .table("library_adoptions")
            .value("mode", AdoptionMode::Copy.as_str())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .and_where(Expr::col("mode").eq(AdoptionMode::Linked.as_str()))
            .to_owned();
        let changed = self.execute(&q).await? == 1;
        if changed {
            self.append_audit(&audit(by, authority_id, "library.detach", format!("leistung:{leistung_id}"))).await?;
        }
        Ok(changed)
    }
}
