//! The application layer of Amtsweg: what the portal *does*, without HTTP and without
//! templates. Web handlers extract a request, make one call in here and render the
//! answer; the binary runs the background workers (delivery, draft sweeper) with a
//! [`Portal`] alone.
//!
//! What lives here: the keyring for personal data at rest ([`keyring`]), the
//! catalogue snapshot ([`catalogue`]), accepting a submission ([`submission`]) through
//! the group-commit writer ([`group_commit`]), drafts and files with the virus scan
//! ([`drafts`], [`files`]), case work ([`casework`]), writing to the citizen's
//! Postfach ([`postfach`]), the citizen's profile ([`profile`]) and the hand-off
//! packages the delivery worker sends ([`handoff`]).

pub mod appointments;
pub mod audit_anchor;
pub mod casework;
pub mod catalogue;
pub mod drafts;
mod error;
pub mod files;
pub mod finanzen;
pub mod fresh_receipts;
pub mod group_commit;
pub mod handoff;
pub mod housekeeping;
pub mod keyring;
pub mod markdown;
pub mod payments;
pub mod postfach;
pub mod profile;
pub mod rebind;
pub mod receipt;
pub mod reconcile;
pub mod search_docs;
pub mod second_factor;
pub mod submission;
pub mod time;
pub mod tokens;

use amtsweg_domain::receipt::ReceiptPrinter;
use amtsweg_store::Store;
use catalogue::Catalogue;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use error::PortalError;
pub use keyring::Keyring;

/// `Result` of the application layer.
pub type Result<T, E = PortalError> = std::result::Result<T, E>;

/// What the use cases need to know of the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address citizens and staff reach the portal at; links in e-mails use it.
    pub public_base_url: String,
    /// Drafts of applications are deleted this many days after their last change.
    pub draft_days: u32,
    /// All files of one application together may be at most this many bytes.
    pub form_files_limit: u64,
    /// Virus scanner for uploads (clamd protocol): `host:port` or `unix:/path`.
    pub clamd: Option<String>,
    /// Holds and confirmations of appointments share commits through one writer
    /// task (SQLite only; see [`appointments::writer`]).
    pub booking_group_commit: bool,
    /// The sender of the portal's e-mails (`[mail] from`, e.g. `Amtsweg <noreply@…>`):
    /// the ORGANIZER of an appointment's calendar file when the authority has no
    /// e-mail address. Empty: none known.
    pub mail_from: String,
}

impl Settings {
    /// `public_base_url` without a trailing slash, for building links.
    #[must_use]
    pub fn base_url(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// How long a draft is kept after its last change, in milliseconds.
    #[must_use]
    pub fn draft_ttl_ms(&self) -> i64 {
        i64::from(self.draft_days.max(1)) * 86_400_000
    }
}

/// The application: store, keyring, objects, the catalogue snapshot and the
/// submission writer. Cloning is one reference count.
#[derive(Clone)]
pub struct Portal(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// Keys for personal data at rest.
    pub keyring: Keyring,
    /// Stored files (uploads, attachments, logos), keyed under the owning authority's prefix.
    pub objects: Arc<dyn object_store::ObjectStore>,
    pub settings: Settings,
    /// The one writer that stores submissions in shared commits.
    pub submissions: group_commit::GroupCommit,
    /// The one writer that stores appointment holds and confirmations in shared
    /// commits; `None` on PostgreSQL or when switched off (one transaction each).
    pub bookings: Option<appointments::writer::BookingWriter>,
    /// The booking rules and calendars of each authority, parsed (see
    /// [`appointments::settings_cache`]).
    pub appointment_settings: appointments::settings_cache::SettingsCache,
    /// Receipts of submissions just committed, until the browser fetches them.
    pub fresh_receipts: fresh_receipts::FreshReceipts,
    /// Prints receipts as PDF (the binary wires the typst printer of `crates/pdf`).
    pub printer: Arc<dyn ReceiptPrinter>,
    catalogue: RwLock<Arc<Catalogue>>,
}

impl std::ops::Deref for Portal {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The object store for files: a directory, or memory when none is given (tests and
/// benchmarks only; the server always sets one).
///
/// # Errors
/// When the directory cannot be created or opened.
pub fn open_objects(dir: Option<&PathBuf>) -> Result<Arc<dyn object_store::ObjectStore>> {
    Ok(match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| PortalError::Objects(format!("{}: {e}", dir.display())))?;
            Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| PortalError::Objects(e.to_string()))?,
            )
        }
        None => Arc::new(object_store::memory::InMemory::new()),
    })
}

impl Portal {
    /// Loads the catalogue and starts the submission writer.
    ///
    /// # Errors
    /// On store errors.
    pub async fn new(
        store: Store,
        keyring: Keyring,
        objects: Arc<dyn object_store::ObjectStore>,
        printer: Arc<dyn ReceiptPrinter>,
        settings: Settings,
    ) -> Result<Self> {
        let catalogue = Catalogue::load(&store).await?;
        // Before anything is written: keyed audit entries from now on, and second-
        // factor secrets of older versions sealed.
        audit_anchor::attach(&store, &keyring).await?;
        second_factor::seal_clear_secrets(&store, &keyring).await?;
        rebind::rebind_all(&store, &keyring, objects.as_ref()).await?;
        Ok(Self(Arc::new(Inner {
            submissions: group_commit::GroupCommit::start(store.clone()),
            bookings: appointments::writer::BookingWriter::for_store(&store, settings.booking_group_commit),
            appointment_settings: appointments::settings_cache::SettingsCache::default(),
            store,
            keyring,
            objects,
            settings,
            fresh_receipts: fresh_receipts::FreshReceipts::default(),
            printer,
            catalogue: RwLock::new(Arc::new(catalogue)),
        })))
    }

    /// The current snapshot of the published catalogue.
    #[must_use]
    pub fn catalogue(&self) -> Arc<Catalogue> {
        match self.catalogue.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Swaps in a fresh snapshot (see `web::sync`).
    pub fn replace_catalogue(&self, c: Catalogue) {
        let c = Arc::new(c);
        match self.catalogue.write() {
            Ok(mut g) => *g = c,
            Err(poisoned) => *poisoned.into_inner() = c,
        }
    }

    /// Seals `plain` bound to one record (see [`Keyring::seal_bound`]).
    ///
    /// # Errors
    /// On store or crypto errors.
    pub async fn seal_bound(&self, scope: &str, purpose: &str, record: &str, plain: &[u8]) -> Result<String> {
        Ok(self.keyring.seal_bound(&self.store, scope, purpose, record, plain).await?)
    }

    /// Opens what [`Portal::seal_bound`] sealed for the same record, as text.
    ///
    /// # Errors
    /// When the value does not open (changed, moved, other key) or is not UTF-8.
    pub async fn open_bound_text(&self, scope: &str, purpose: &str, record: &str, sealed: &str) -> Result<String> {
        let bytes = self.keyring.open_bound(&self.store, scope, purpose, record, sealed).await?;
        String::from_utf8(bytes).map_err(|_| keyring::CryptoError::Corrupt.into())
    }

    /// Opens what [`Portal::seal_bound`] sealed for the same record, as bytes.
    ///
    /// # Errors
    /// When the value does not open (changed, moved, other key, old format).
    pub async fn open_bound(&self, scope: &str, purpose: &str, record: &str, sealed: &str) -> Result<Vec<u8>> {
        Ok(self.keyring.open_bound(&self.store, scope, purpose, record, sealed).await?)
    }
}
