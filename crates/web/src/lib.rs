//! The HTTP edge of Amtsweg: the public portal of every authority, the Verbund-wide
//! pages and search, and the JSON API. Handlers read from an in-memory
//! [`catalogue::Catalogue`] snapshot and render server-side HTML that is complete
//! without JavaScript.

mod account;
pub mod antrag;
pub mod api;
pub mod assets;
mod audit;
pub mod connections;
mod csrf;
pub mod demo_bundid;
mod download;
mod error;
pub mod konto;
pub mod limits;
mod page_cache;
pub(crate) mod pages;
pub(crate) mod place;
mod render;
pub mod routes;
mod second_factor;
mod security;
pub mod session;
mod storage_health;
pub mod sync;
mod templates;
mod tenant;
pub(crate) mod termine;
mod theme;
mod urls;
pub mod verwaltung;

use amtsweg_domain::receipt::ReceiptPrinter;
use amtsweg_portal::catalogue::Catalogue;
use amtsweg_portal::{Keyring, Portal};
use amtsweg_search::SearchIndex;
use amtsweg_store::Store;
use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;

pub use error::AppError;
pub use second_factor::current_code as current_totp_code;
pub use second_factor::next_code as next_totp_code;
pub use templates::Templates;

/// Settings of the HTTP edge.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct WebConfig {
    /// Host names (without port) of the Verbund portal itself. Other host names must
    /// belong to an authority (or be `<slug>.localhost`), else a 404 lists the portals.
    pub verbund_hosts: Vec<String>,
    /// `Strict-Transport-Security` max-age in seconds; 0 sends no HSTS header
    /// (plain-HTTP demos). Set it when the portal is served over TLS.
    pub hsts_max_age: u64,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Largest body of a request with file uploads (Postfach replies, later forms).
    pub upload_limit: usize,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Directory whose templates override the built-in ones (same file names).
    pub templates_dir: Option<PathBuf>,
    /// The address citizens and staff reach the portal at; links in e-mails use it.
    pub public_base_url: String,
    /// Staff sessions end after this many minutes without activity.
    pub staff_idle_minutes: u64,
    /// Staff sessions end this many hours after sign-in, active or not.
    pub staff_absolute_hours: u64,
    /// Citizen sessions end after this many minutes without activity.
    pub citizen_idle_minutes: u64,
    /// Citizen sessions end this many hours after sign-in.
    pub citizen_absolute_hours: u64,
    /// The host name of the central sign-in for citizens (e.g. the Verbund portal's
    /// `portal.landkreis.example`). Member authorities on their own host names send
    /// citizens there and receive the sign-in back; empty = the first `verbund_hosts`
    /// entry with the port of `public_base_url`.
    pub account_host: String,
    /// OpenID Connect providers citizens may sign in with (`[[web.oidc]]`).
    pub oidc: Vec<amtsweg_oidc::ProviderConfig>,
    /// BundID (SAML) sign-in (`[web.saml]`); none when absent.
    pub saml: Option<konto::saml::SamlSettings>,
    /// Master key (base64 of 32 bytes) that wraps the data keys for encryption at
    /// rest. `amtsweg` keeps one in `data_dir/master.key` unless configured; without
    /// one (tests, benchmarks) a random key lives as long as the process.
    pub master_key: Option<String>,
    /// Drafts of applications are deleted this many days after their last change.
    pub draft_days: u32,
    /// All files of one application together may be at most this many bytes.
    pub form_files_limit: u64,
    /// Virus scanner for uploads, speaking the clamd protocol: `host:port` or
    /// `unix:/run/clamav/clamd.ctl`. Without one, uploads are checked by type only.
    pub clamd: Option<String>,
    /// Directory for uploaded files (logos; later attachments). `None` keeps them in
    /// memory, which only tests and benchmarks want; the server always sets one.
    pub objects_dir: Option<PathBuf>,
    /// What the operator decides about connectors and sign-in providers: the
    /// outbound-URL policy, xdomea folders, FIT-Connect trust anchors. Not read from
    /// `[web]`: the binary fills it from `[outbound]` and `[handoff.*]`; the default is
    /// the strict setting.
    #[serde(skip)]
    pub connectors: amtsweg_handoff::deliver::Connectors,
    /// Timeouts for slow clients and the most connections at once (`[web.connections]`).
    pub connections: connections::Connections,
    /// Abuse limits: request rates, password hashing, failed sign-ins, mails, drafts.
    pub limits: limits::LimitsConfig,
    /// The sign-in hand-over to member hosts (`[web.sso]`): the port they are served on.
    pub sso: konto::sso::SsoConfig,
    /// Online appointments (`[web.appointments]`): group commit of bookings on SQLite.
    pub appointments: amtsweg_portal::appointments::writer::AppointmentsConfig,
    /// The sender address of the portal's e-mails; not read from `[web]`: the binary
    /// fills it from `[mail] from` (the organizer of appointment calendar files).
    #[serde(skip)]
    pub mail_from: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            verbund_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            hsts_max_age: 0,
            body_limit: 2 * 1024 * 1024,
            upload_limit: 25 * 1024 * 1024,
            secure_cookies: false,
            templates_dir: None,
            public_base_url: "http://127.0.0.1:8080".into(),
            staff_idle_minutes: 30,
            staff_absolute_hours: 12,
            citizen_idle_minutes: 30,
            citizen_absolute_hours: 12,
            account_host: String::new(),
            oidc: Vec::new(),
            saml: None,
            master_key: None,
            objects_dir: None,
            connectors: amtsweg_handoff::deliver::Connectors::default(),
            draft_days: 30,
            form_files_limit: 20 * 1024 * 1024,
            clamd: None,
            connections: connections::Connections::default(),
            limits: limits::LimitsConfig::default(),
            sso: konto::sso::SsoConfig::default(),
            appointments: amtsweg_portal::appointments::writer::AppointmentsConfig::default(),
            mail_from: String::new(),
        }
    }
}

/// Everything a handler needs: the application ([`Portal`]) plus what only the web
/// edge has — templates, rendered-page caches, the search index and the sign-in
/// providers. Cloning is one reference count: middleware clones the state on every
/// request, so it must not touch many shared counters.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    /// The application layer: store, keyring, files, catalogue, submission writer.
    pub portal: Portal,
    /// The portal's store (the same as `portal.store`), for the handlers' reads.
    pub store: Store,
    pub search: Arc<SearchIndex>,
    pub templates: Templates,
    pub config: WebConfig,
    page_cache: page_cache::PageCache,
    first_pages: antrag::first_page::FirstPages,
    receipt_pages: antrag::receipt_page::ReceiptPages,
    /// OpenID Connect providers, discovered on first use (a provider that is down at
    /// start-up must not keep the portal from starting).
    oidc_providers: tokio::sync::Mutex<std::collections::HashMap<String, amtsweg_oidc::Provider>>,
    /// The BundID (SAML) setup, loaded at start-up.
    pub saml: Option<Arc<konto::saml::Saml>>,
    /// Request rates and password-hashing slots of this node.
    pub(crate) limits: limits::Limits,
    /// Which services can be booked where ("Termin vereinbaren" links), read every few seconds.
    pub(crate) bookable: termine::links::Bookable,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl WebConfig {
    /// Opens the application on `store`: the object store (`objects_dir`), the
    /// keyring (`master_key`; without one a random key that lives as long as the
    /// process), the catalogue and the submission writer; receipts are printed by
    /// `printer`. Workers need only this.
    ///
    /// # Errors
    /// When the object store or the master key is unusable, or the store fails.
    pub async fn open_portal(&self, store: Store, printer: Arc<dyn ReceiptPrinter>) -> Result<Portal, AppError> {
        let objects = amtsweg_portal::open_objects(self.objects_dir.as_ref())?;
        let master = self.master_key.clone().unwrap_or_else(Keyring::new_master_key);
        let keyring = Keyring::from_base64(&master).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(Portal::new(store, keyring, objects, printer, self.portal_settings()).await?)
    }

    /// What the application layer needs to know of these settings.
    #[must_use]
    pub fn portal_settings(&self) -> amtsweg_portal::Settings {
        amtsweg_portal::Settings {
            public_base_url: self.public_base_url.clone(),
            draft_days: self.draft_days,
            form_files_limit: self.form_files_limit,
            clamd: self.clamd.clone(),
            booking_group_commit: self.appointments.group_commit,
            mail_from: self.mail_from.clone(),
        }
    }
}

impl AppState {
    /// Opens the application ([`WebConfig::open_portal`]) and builds the web edge
    /// around it.
    ///
    /// # Errors
    /// When the store or the index fails, or a template override does not parse.
    pub async fn new(store: Store, config: WebConfig, printer: Arc<dyn ReceiptPrinter>) -> Result<Self, AppError> {
        let portal = config.open_portal(store, printer).await?;
        Self::with_portal(portal, config)
    }

    /// The web edge around an application that is already open: the search index
    /// built from its catalogue, the templates, the sign-in providers.
    ///
    /// # Errors
    /// When the index fails, a template override does not parse or the SAML
    /// configuration is invalid.
    pub fn with_portal(portal: Portal, config: WebConfig) -> Result<Self, AppError> {
        let store = portal.store.clone();
        let search = SearchIndex::new()?;
        search.replace_all(&amtsweg_portal::search_docs::build(&portal.catalogue()))?;
        let templates = Templates::new(config.templates_dir.clone())?;
        let saml = match &config.saml {
            Some(s) => Some(Arc::new(
                konto::saml::load(s, &config.public_base_url)
                    .map_err(|e| AppError::Internal(format!("SAML configuration: {e}")))?,
            )),
            None => None,
        };
        let limits = limits::Limits::new(&config.limits);
        Ok(Self(Arc::new(Shared {
            portal,
            store,
            search: Arc::new(search),
            templates,
            config,
            page_cache: page_cache::PageCache::default(),
            first_pages: antrag::first_page::FirstPages::default(),
            receipt_pages: antrag::receipt_page::ReceiptPages::default(),
            oidc_providers: tokio::sync::Mutex::default(),
            saml,
            limits,
            bookable: termine::links::Bookable::default(),
        })))
    }

    /// The current snapshot of the published catalogue.
    #[must_use]
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.portal.catalogue()
    }

    /// The discovered OpenID Connect provider `name` (discovering it on first use).
    ///
    /// # Errors
    /// `Ok(None)` for an unknown name; an error when discovery fails.
    pub(crate) async fn oidc_provider(
        &self,
        name: &str,
    ) -> Result<Option<amtsweg_oidc::Provider>, amtsweg_oidc::OidcError> {
        let Some(config) = self.config.oidc.iter().find(|p| p.name == name) else { return Ok(None) };
        let mut cache = self.oidc_providers.lock().await;
        if let Some(p) = cache.get(name) {
            return Ok(Some(p.clone()));
        }
        let redirect = format!("{}/konto/oidc/{name}/callback", self.config.public_base_url.trim_end_matches('/'));
        let p = amtsweg_oidc::Provider::discover(config.clone(), &redirect, &self.config.connectors.outbound).await?;
        cache.insert(name.to_owned(), p.clone());
        Ok(Some(p))
    }

    /// Forgets a discovered provider, so the next sign-in discovers it again (new keys).
    pub(crate) async fn forget_oidc_provider(&self, name: &str) {
        self.oidc_providers.lock().await.remove(name);
    }

    pub(crate) fn replace_catalogue(&self, c: Catalogue) {
        self.portal.replace_catalogue(c);
        // Pages rendered from the old snapshot must not outlive it.
        self.page_cache.clear();
        self.first_pages.clear();
        self.receipt_pages.clear();
    }

    /// Number of rendered pages currently cached (for tests and metrics).
    #[must_use]
    pub fn cached_pages(&self) -> usize {
        self.page_cache.len()
    }
}

/// The whole application with every layer (security headers, request ids, limits,
/// tenant resolution, error pages).
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// [`router`] plus `extra` routes behind the very same layers (benchmarks measure a
/// bare handler on the same stack this way).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    // Request rates per route class and client (`limits::rate`), on every route.
    let routes = routes::router()
        .merge(extra)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), limits::rate::guard))
        .with_state(state.clone());
    security::layers(routes, state)
}
