//! The delivery worker: takes due rows of the deliveries outbox, builds the package
//! for each (through a [`Source`] that can open sealed data), hands it to the
//! connector, and records the outcome. Failures retry with exponential backoff and
//! jitter (or the receiver's `Retry-After`), then the row is parked as dead for a
//! person to resend.
//!
//! Rows are processed concurrently, each under its own lease, so one slow or broken
//! receiver delays only its own deliveries, not other authorities'.
//!
//! The same worker also runs the e-mail outbox (when it has a mailer): one loop per
//! node for both outboxes, each claimed with a lease, the e-mails in a task of their
//! own so that a slow mail server and a slow receiver never wait for each other.

use crate::mail::{MailFile, Mailer};
use crate::package::Package;
use amtsweg_outbound::{Failure as Class, OutboundConfig, Policy};
use amtsweg_store::Store;
use amtsweg_store::handoff::{ConnectorRow, DeliveryRow};
use amtsweg_store::outbox::EmailMessage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Links the receiver may follow: the back-office page (needs a staff sign-in) and
/// signed, expiring download addresses of the receipt and the files.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub back_office: String,
    pub receipt_pdf: String,
    /// File id → download address.
    pub files: HashMap<i64, String>,
}

/// Opens what the worker needs from sealed storage; implemented by the web layer,
/// which holds the key ring and renders receipts.
pub trait Source: Send + Sync + 'static {
    /// The package of the delivery's submission.
    fn package(&self, d: &DeliveryRow) -> impl Future<Output = Result<(Package, Links), String>> + Send;
    /// The connector's configuration as JSON text (opened).
    fn connector_config(&self, c: &ConnectorRow) -> impl Future<Output = Result<String, String>> + Send;
}

/// E-mail to the office.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTarget {
    pub to: String,
    /// Above this many MB of attachments the mail carries a link instead of files.
    #[serde(default = "default_max_mb")]
    pub max_mb: u32,
}

fn default_max_mb() -> u32 {
    10
}

/// A webhook: the submission as JSON, files by URL, signed with HMAC-SHA256.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    pub url: String,
    /// Shared secret for the `X-Amtsweg-Signature` header (at least 32 characters).
    pub secret: String,
}

/// A connector's configuration, by kind.
#[derive(Debug, Clone)]
pub enum Target {
    Email(EmailTarget),
    Webhook(WebhookTarget),
    FitConnect(crate::fitconnect::FitConnectConfig),
    Xdomea(crate::xdomea::XdomeaConfig),
}

/// The connector kinds, with their labels for people.
pub const KINDS: [(&str, &str); 4] = [
    ("email", "E-Mail an die Dienststelle"),
    ("webhook", "Webhook (JSON mit Signatur)"),
    ("fitconnect", "FIT-Connect"),
    ("xdomea", "xdomea 3.0 (Ablageverzeichnis oder Adresse)"),
];

/// What the operator decides about the connectors (configuration file only, never the
/// back office): the outbound-URL policy, the xdomea folders, the FIT-Connect trust
/// anchors. `Default` is the strict setting: HTTPS to public addresses only, no
/// folders, no FIT-Connect key accepted.
#[derive(Debug, Clone, Default)]
pub struct Connectors {
    pub outbound: Policy,
    pub xdomea: crate::xdomea::XdomeaDirs,
    pub fitconnect: crate::fitconnect::Trust,
}

impl Connectors {
    /// Compiles the configuration (`[outbound]`, `[handoff.xdomea]`, `[handoff.fitconnect]`).
    ///
    /// # Errors
    /// When a network of `outbound.allow_cidrs` or a trust anchor file is unusable.
    pub fn load(
        outbound: &OutboundConfig,
        xdomea: &crate::xdomea::XdomeaDirs,
        fitconnect: &crate::fitconnect::TrustConfig,
    ) -> Result<Self, String> {
        Ok(Self {
            outbound: Policy::new(outbound)?,
            xdomea: xdomea.clone(),
            fitconnect: crate::fitconnect::Trust::load(fitconnect)
                .map_err(|e| format!("handoff.fitconnect.trust_anchors: {e}"))?,
        })
    }
}

fn check_url(policy: &Policy, url: &str, what: &str) -> Result<(), String> {
    policy.check(url).map(|_| ()).map_err(|r| format!("{what}: {}", r.german()))
}

impl Target {
    /// Parses and checks a configuration against the outbound-URL `policy` (without
    /// the network; see [`Self::check_resolved`]); the message says what to fix, in
    /// German.
    ///
    /// # Errors
    /// When the kind is unknown or the configuration is incomplete or wrong.
    pub fn parse(kind: &str, json: &str, policy: &Policy) -> Result<Self, String> {
        let bad = |e: serde_json::Error| format!("Die Einstellungen sind unvollständig oder falsch: {e}");
        let t = match kind {
            "email" => Self::Email(serde_json::from_str(json).map_err(bad)?),
            "webhook" => Self::Webhook(serde_json::from_str(json).map_err(bad)?),
            "fitconnect" => Self::FitConnect(serde_json::from_str(json).map_err(bad)?),
            "xdomea" => Self::Xdomea(serde_json::from_str(json).map_err(bad)?),
            other => return Err(format!("Die Verbindungsart „{other}“ gibt es nicht.")),
        };
        t.validate(policy)?;
        Ok(t)
    }

    /// The addresses of the configuration, resolved and checked against `policy`:
    /// for the moment a connector is saved, so a name that points inside is refused
    /// at once (the policy client checks again at every delivery).
    ///
    /// # Errors
    /// The German reason.
    pub async fn check_resolved(&self, policy: &Policy) -> Result<(), String> {
        let urls: Vec<&str> = match self {
            Self::Email(_) => Vec::new(),
            Self::Webhook(w) => vec![w.url.as_str()],
            Self::FitConnect(f) => f.urls().into_iter().map(|(_, u)| u).collect(),
            Self::Xdomea(x) => x.url.as_deref().into_iter().collect(),
        };
        for u in urls {
            policy.check_resolved(u).await.map_err(|r| r.german())?;
        }
        Ok(())
    }

    fn validate(&self, policy: &Policy) -> Result<(), String> {
        match self {
            Self::Email(e) => {
                let at = e.to.find('@');
                if !at.is_some_and(|i| i > 0 && i + 1 < e.to.len()) || e.to.contains(char::is_whitespace) {
                    return Err(format!("„{}“ ist keine E-Mail-Adresse.", e.to));
                }
                if e.max_mb == 0 || e.max_mb > 50 {
                    return Err("Die Höchstgröße für Anhänge muss zwischen 1 und 50 MB liegen.".into());
                }
                Ok(())
            }
            Self::Webhook(w) => {
                check_url(policy, &w.url, "Webhook")?;
                if w.secret.chars().count() < 32 {
                    return Err("Das Geheimnis für die Signatur muss mindestens 32 Zeichen lang sein.".into());
                }
                Ok(())
            }
            Self::FitConnect(f) => {
                f.validate().map_err(|e| e.to_string())?;
                f.check_urls(policy).map_err(|e| match e {
                    crate::fitconnect::FitConnectError::Refused { step, refusal } => {
                        format!("{step}: {}", refusal.german())
                    }
                    other => other.to_string(),
                })
            }
            Self::Xdomea(x) => x.validate(policy).map(|_| ()).map_err(|e| match e {
                crate::xdomea::XdomeaError::Refused(r) => format!("\"url\": {}", r.german()),
                other => other.to_string(),
            }),
        }
    }
}

/// Why an attempt failed and when to try again at the earliest.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    pub retry_after: Option<Duration>,
    /// Trying again cannot help (a refused configuration, a rejected request): the
    /// delivery is parked at once for a person to fix and resend.
    pub permanent: bool,
}

impl Failure {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_after: None, permanent: false }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self { permanent: true, ..Self::new(message) }
    }

    fn from_connector(message: String, retryable: bool) -> Self {
        if retryable { Self::new(message) } else { Self::permanent(message) }
    }
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: i64,
    /// How long a worker holds a claimed row; must exceed `request_timeout`.
    pub lease: Duration,
    pub request_timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(6 * 3600),
            max_attempts: 12,
            lease: Duration::from_secs(180),
            request_timeout: Duration::from_secs(60),
            concurrency: 16,
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempts + 1`: base doubling per attempt, capped, ±20 %
    /// jitter so that failed deliveries do not retry in lockstep.
    #[must_use]
    pub fn delay(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.clamp(0, 30)).unwrap_or(30);
        let base = self.base.saturating_mul(2u32.saturating_pow(exp)).min(self.cap);
        base.mul_f64(rand::random_range(0.8..1.2))
    }
}

/// What one round of [`Worker::run_all_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// E-mails of the outbox sent.
    pub emails: usize,
    /// Deliveries handed over.
    pub deliveries: usize,
}

/// The worker. Cheap to clone.
pub struct Worker<S: Source> {
    store: Store,
    source: Arc<S>,
    client: reqwest::Client,
    mailer: Option<Mailer>,
    policy: RetryPolicy,
    in_flight: Arc<tokio::sync::Semaphore>,
    connectors: Arc<Connectors>,
}

impl<S: Source> Clone for Worker<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            source: self.source.clone(),
            client: self.client.clone(),
            mailer: self.mailer.clone(),
            policy: self.policy,
            in_flight: self.in_flight.clone(),
            connectors: self.connectors.clone(),
        }
    }
}

impl<S: Source> Worker<S> {
    /// A worker with the strict [`Connectors::default`]; see [`Self::with_connectors`].
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend missing).
    pub fn new(store: Store, source: S, mailer: Option<Mailer>, policy: RetryPolicy) -> Result<Self, String> {
        let connectors = Connectors::default();
        Ok(Self {
            store,
            source: Arc::new(source),
            client: client(&connectors.outbound, policy.request_timeout)?,
            mailer,
            in_flight: Arc::new(tokio::sync::Semaphore::new(policy.concurrency.max(1))),
            policy,
            connectors: Arc::new(connectors),
        })
    }

    /// The operator's settings for the connectors (outbound-URL policy, xdomea
    /// folders, FIT-Connect trust anchors).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn with_connectors(mut self, connectors: Connectors) -> Result<Self, String> {
        self.client = client(&connectors.outbound, self.policy.request_timeout)?;
        self.connectors = Arc::new(connectors);
        Ok(self)
    }

    /// Claims what is due and delivers it; waits for these deliveries to finish.
    /// Returns how many were delivered. (For tests and one-off runs; the running
    /// worker dispatches without waiting, see [`Self::spawn`].)
    ///
    /// # Errors
    /// On store errors (delivery errors are recorded on the rows).
    pub async fn run_once(&self) -> amtsweg_store::Result<usize> {
        let free = self.in_flight.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let lease = i64::try_from(self.policy.lease.as_millis()).unwrap_or(i64::MAX);
        let rows = self.store.claim_deliveries(free as u64, lease).await?;
        let mut set = tokio::task::JoinSet::new();
        for row in rows {
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else { break };
            let w = self.clone();
            set.spawn(async move {
                let ok = w.attempt(&row).await;
                drop(permit);
                ok
            });
        }
        let mut delivered = 0;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(true)) => delivered += 1,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "delivery worker: store error"),
                Err(e) => tracing::warn!(error = %e, "delivery task ended abnormally"),
            }
        }
        Ok(delivered)
    }

    /// One round of everything the worker serves, waiting for it to finish: the due
    /// e-mails of the outbox (when the worker has a mailer; see [`crate::run_once`])
    /// and the due deliveries (see [`Self::run_once`]). For tests and one-off runs;
    /// the running worker is [`Self::spawn`].
    ///
    /// # Errors
    /// On store errors (delivery errors are recorded on the rows).
    pub async fn run_all_once(&self) -> amtsweg_store::Result<Round> {
        let emails = match &self.mailer {
            Some(mailer) => crate::run_once(&self.store, mailer).await?,
            None => 0,
        };
        Ok(Round { emails, deliveries: self.run_once().await? })
    }

    /// One attempt of one delivery; records the outcome. True when delivered.
    async fn attempt(&self, row: &DeliveryRow) -> amtsweg_store::Result<bool> {
        let result = self.deliver(row).await;
        let mut tx = self.store.begin().await?;
        let ok = match &result {
            Ok(reference) => {
                tx.mark_delivered(row.id, reference).await?;
                true
            }
            Err(f) => {
                let attempts = row.attempts + 1;
                let dead = f.permanent || attempts >= self.policy.max_attempts;
                let wait = self.policy.delay(row.attempts).max(f.retry_after.unwrap_or_default());
                let next = amtsweg_store::now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                tracing::warn!(delivery = row.id, attempts, dead, error = %f.message, "delivery failed");
                tx.mark_delivery_failed(row.id, &f.message, next, dead).await?;
                false
            }
        };
        tx.commit().await?;
        Ok(ok)
    }

    async fn deliver(&self, row: &DeliveryRow) -> Result<String, Failure> {
        let connector = self
            .store
            .connector(row.connector_id)
            .await
            .map_err(|e| Failure::new(format!("store: {e}")))?
            .ok_or_else(|| Failure::new("Die Verbindung gibt es nicht mehr."))?;
        let json = self.source.connector_config(&connector).await.map_err(Failure::new)?;
        let c = &*self.connectors;
        let target = Target::parse(&connector.kind, &json, &c.outbound).map_err(Failure::permanent)?;
        let (package, links) = self.source.package(row).await.map_err(Failure::new)?;
        let logged = |kind: &str, detail: String, staff: String, retryable: bool| {
            // The details (answers, addresses, paths) are for the operator's log only.
            tracing::warn!(delivery = row.id, connector = connector.id, kind, error = %detail, "delivery attempt failed");
            Failure::from_connector(staff, retryable)
        };
        match target {
            Target::Email(t) => email_office(self.mailer.as_ref(), &t, &package, &links).await,
            Target::Webhook(t) => webhook(&self.client, &c.outbound, &t, &package, &links).await.map_err(|(f, detail)| {
                tracing::warn!(delivery = row.id, connector = connector.id, kind = "webhook", error = %detail, "delivery attempt failed");
                f
            }),
            Target::FitConnect(cfg) => {
                crate::fitconnect::deliver(&self.client, &c.outbound, &c.fitconnect, &cfg, &package)
                    .await
                    .map(|id| format!("FIT-Connect {id}"))
                    .map_err(|e| logged("fitconnect", e.to_string(), e.staff_message(), e.is_retryable()))
            }
            Target::Xdomea(cfg) => {
                if cfg.has_legacy_directory() {
                    tracing::warn!(connector = connector.id, "xdomea: the folder stored with the connector is ignored; the configured one is used");
                }
                let target = cfg.validate(&c.outbound).map_err(|e| Failure::permanent(e.staff_message()))?;
                // The submission's time keeps a repeated export byte-identical.
                crate::xdomea::deliver(&self.client, &target, &c.xdomea, &package, package.submitted_at_ms)
                    .await
                    .map(|()| format!("xdomea {}", crate::xdomea::NACHRICHTENTYP))
                    .map_err(|e| logged("xdomea", e.to_string(), e.staff_message(), e.is_retryable()))
            }
        }
    }

    /// Runs the worker until the process ends — both outboxes, so a node needs this
    /// one loop: claims every `every`, and right away again while there is work. The
    /// e-mails of the outbox (when the worker has a mailer) are sent in a task of
    /// their own, one round at a time, started from this loop.
    pub fn spawn(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut emails = None;
            loop {
                self.start_emails(&mut emails);
                match self.dispatch().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "delivery worker: store error"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Starts a round of the e-mail outbox unless the last one is still running.
    fn start_emails(&self, running: &mut Option<tokio::task::JoinHandle<()>>) {
        let Some(mailer) = &self.mailer else { return };
        if running.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        let (store, mailer) = (self.store.clone(), mailer.clone());
        *running = Some(tokio::spawn(async move {
            if let Err(e) = crate::run_once(&store, &mailer).await {
                tracing::warn!(error = %e, "outbox worker: store error");
            }
        }));
    }

    /// Claims as many due rows as deliveries may be in flight and starts each on its
    /// own, without waiting: a receiver that hangs until the timeout holds one permit,
    /// while other receivers' deliveries keep being claimed and sent. Claimed rows are
    /// leased, so nothing in flight is taken twice. Returns how many were started.
    async fn dispatch(&self) -> amtsweg_store::Result<usize> {
        let free = self.in_flight.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let lease = i64::try_from(self.policy.lease.as_millis()).unwrap_or(i64::MAX);
        let rows = self.store.claim_deliveries(free as u64, lease).await?;
        let started = rows.len();
        for row in rows {
            // Only this loop takes permits, so the ones counted above are there.
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else { break };
            let w = self.clone();
            tokio::spawn(async move {
                if let Err(e) = w.attempt(&row).await {
                    tracing::warn!(delivery = row.id, error = %e, "delivery worker: store error");
                }
                drop(permit);
            });
        }
        Ok(started)
    }
}

/// E-mail to the office: the receipt, the data and the files attached — or, above
/// the target's size cap, a link to the application in the back office instead.
///
/// # Errors
/// When no mail transport is configured or the server refuses.
pub async fn email_office(
    mailer: Option<&Mailer>,
    t: &EmailTarget,
    p: &Package,
    links: &Links,
) -> Result<String, Failure> {
    let mailer =
        mailer.ok_or_else(|| Failure::permanent("Es ist kein E-Mail-Versand eingerichtet ([mail] transport)."))?;
    let data = serde_json::to_vec_pretty(&serde_json::json!({
        "eingangsnummer": p.receipt_number, "formular": p.form.title, "daten": p.data, "pruefsumme": p.data_hash,
    }))
    .map_err(|e| Failure::new(e.to_string()))?;
    let total: usize = p.files.iter().map(|f| f.bytes.len()).sum::<usize>() + p.receipt_pdf.len() + data.len();
    let fits = total <= t.max_mb as usize * 1024 * 1024;
    let mut body = format!(
        "Neuer Antrag: {}\nEingangsnummer: {}\nBehörde: {}\n\n",
        p.form.title, p.receipt_number, p.authority.name
    );
    let pdf_name = format!("{}.pdf", p.receipt_number);
    let data_name = format!("{}.json", p.receipt_number);
    let mut files = Vec::new();
    if fits {
        body.push_str("Im Anhang: die Eingangsbestätigung (PDF), die Antragsdaten (JSON) und die Anlagen.\n");
        files.push(MailFile { name: &pdf_name, content_type: "application/pdf", bytes: &p.receipt_pdf });
        files.push(MailFile { name: &data_name, content_type: "application/json", bytes: &data });
        for f in &p.files {
            files.push(MailFile { name: &f.name, content_type: &f.content_type, bytes: &f.bytes });
        }
    } else {
        body.push_str(&format!(
            "Die Unterlagen sind mit {} MB zu groß für eine E-Mail (Grenze {} MB).\n\
             Sie finden den Antrag mit allen Anlagen hier (Anmeldung erforderlich):\n{}\n",
            total.div_ceil(1024 * 1024),
            t.max_mb,
            links.back_office
        ));
    }
    body.push_str(&format!("\nIm Portal: {}\n", links.back_office));
    let mail = EmailMessage {
        to: t.to.clone(),
        subject: format!("Antrag {} – {}", p.receipt_number, p.form.title),
        body,
        attachments: Vec::new(),
    };
    let message_id = format!("<{}@amtsweg>", p.idempotency_key);
    mailer.send_with_files(&mail, &files, &message_id).await.map_err(|e| Failure::new(e.to_string()))?;
    Ok(format!("E-Mail an {}", t.to))
}

/// The JSON a webhook receives.
#[must_use]
pub fn webhook_body(p: &Package, links: &Links) -> serde_json::Value {
    let files: Vec<serde_json::Value> = p
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "id": f.id, "field": f.field, "name": f.name, "content_type": f.content_type,
                "size": f.bytes.len(), "sha256": f.sha256, "url": links.files.get(&f.id),
            })
        })
        .collect();
    serde_json::json!({
        "event": "submission.received",
        "id": p.submission_id,
        "receipt_number": p.receipt_number,
        "submitted_at": jiff::Timestamp::from_millisecond(p.submitted_at_ms).map(|t| t.to_string()).unwrap_or_default(),
        "authority": p.authority,
        "form": p.form,
        "data": p.data,
        "data_hash": p.data_hash,
        "receipt_pdf_url": links.receipt_pdf,
        "files": files,
        "back_office_url": links.back_office,
        // The fee and its payment (amounts in cents); null when the form charges none.
        "payment": p.payment,
    })
}

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is
/// signed too, so a receiver can refuse old replays.
///
/// # Errors
/// On crypto errors.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = openssl::pkey::PKey::hmac(secret.as_bytes()).map_err(|e| e.to_string())?;
    let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
    s.update(format!("{timestamp}.").as_bytes()).map_err(|e| e.to_string())?;
    s.update(body).map_err(|e| e.to_string())?;
    let mac = s.sign_to_vec().map_err(|e| e.to_string())?;
    Ok(format!("t={timestamp},v1={}", hex::encode(mac)))
}

/// The HTTP client of the connectors: resolves through the outbound-URL policy,
/// follows no redirects.
fn client(outbound: &Policy, timeout: Duration) -> Result<reqwest::Client, String> {
    outbound
        .client_builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Amtsweg/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// On failure: what staff see, and the details for the log.
async fn webhook(
    client: &reqwest::Client,
    outbound: &Policy,
    t: &WebhookTarget,
    p: &Package,
    links: &Links,
) -> Result<String, (Failure, String)> {
    let plain = |e: String| (Failure::new("Webhook: Die Übergabe ließ sich nicht vorbereiten."), e);
    let body = serde_json::to_vec(&webhook_body(p, links)).map_err(|e| plain(e.to_string()))?;
    let now = jiff::Timestamp::now().as_second();
    let sig = signature(&t.secret, now, &body).map_err(plain)?;
    // IP literals never reach the policy client's resolver: check the URL itself.
    let url =
        outbound.check(&t.url).map_err(|r| (Failure::permanent(format!("Webhook: {}", r.german())), r.to_string()))?;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("idempotency-key", &p.idempotency_key)
        .header("x-amtsweg-signature", sig)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let class = Class::of(&e);
            let f = Failure::from_connector(format!("Webhook: {}", class.german()), class != Class::NotAllowed);
            (f, error_chain(&e))
        })?;
    http_outcome(resp).await
}

/// Success for 2xx; otherwise a failure with the classified status (for staff), the
/// receiver's `Retry-After` (seconds), if any, and a short excerpt of the answer (for
/// the log only).
pub(crate) async fn http_outcome(resp: reqwest::Response) -> Result<String, (Failure, String)> {
    let status = resp.status();
    if status.is_success() {
        return Ok(format!("HTTP {}", status.as_u16()));
    }
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(24 * 3600)));
    let text = resp.text().await.unwrap_or_default();
    let excerpt: String = text.chars().take(200).collect();
    // Timeouts, conflicts of the moment, rate limits and server errors pass; any other
    // refusal (bad request, wrong credentials, gone) needs a person.
    let permanent =
        (status.is_client_error() && !matches!(status.as_u16(), 408 | 409 | 425 | 429)) || status.is_redirection();
    let message = format!("Webhook: {}", Class::of_status(status.as_u16()).german());
    Err((Failure { message, retry_after, permanent }, format!("HTTP {}: {}", status.as_u16(), excerpt.trim())))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    amtsweg_outbound::chain(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_checked_with_clear_messages() {
        let p = Policy::default();
        let hook = |url: &str| {
            Target::parse("webhook", &format!(r#"{{"url":"{url}","secret":"0123456789abcdef0123456789abcdef"}}"#), &p)
        };
        assert!(hook("https://fv.example/in").is_ok());
        let e = hook("http://fv.example/in").unwrap_err();
        assert!(e.contains("https://"), "{e}");
        // What the old prefix check let through.
        for url in ["http://127.0.0.1@10.0.0.5/", "http://localhost.attacker.example/", "https://2130706433/"] {
            assert!(hook(url).is_err(), "{url}");
        }
        assert!(hook("https://[::ffff:127.0.0.1]/").unwrap_err().starts_with("Webhook: Ziel nicht erlaubt"));
        assert!(
            Target::parse("webhook", r#"{"url":"https://fv.example/in","secret":"kurz"}"#, &p)
                .unwrap_err()
                .contains("32")
        );
        assert!(Target::parse("email", r#"{"to":"ordnungsamt"}"#, &p).unwrap_err().contains("keine E-Mail"));
        assert!(Target::parse("email", r#"{"to":"a@b.example","extra":1}"#, &p).unwrap_err().contains("unvollständig"));
        assert!(Target::parse("fax", "{}", &p).unwrap_err().contains("fax"));
        let fit =
            r#"{"submission_api":"https://169.254.169.254/","destination_id":"7d1e5e4a-1f5e-4c1b-9a59-2d6f0e6b8c11"}"#;
        assert!(Target::parse("fitconnect", fit, &p).unwrap_err().starts_with("submission_api: Ziel nicht erlaubt"));
        assert!(
            Target::parse("xdomea", r#"{"url":"https://10.1.1.1/x"}"#, &p).unwrap_err().contains("Ziel nicht erlaubt")
        );
        assert!(Target::parse("xdomea", "{}", &p).is_ok(), "the operator's folder");
    }

    #[test]
    fn signatures_cover_time_and_body() {
        let a = signature("geheim", 1_700_000_000, b"{}").unwrap();
        assert!(a.starts_with("t=1700000000,v1="), "{a}");
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, signature("geheim", 1_700_000_001, b"{}").unwrap());
        assert_ne!(a, signature("geheim", 1_700_000_000, b"{ }").unwrap());
    }

    #[test]
    fn retries_back_off_with_jitter_and_a_cap() {
        let p = RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(60), ..RetryPolicy::default() };
        let first = p.delay(0);
        assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200), "{first:?}");
        assert!(p.delay(3) > Duration::from_secs(6));
        assert!(p.delay(40) <= Duration::from_secs(72));
    }
}
