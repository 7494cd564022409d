//! Abuse limits for anonymous visitors — what one client (or all of them together)
//! may cost the portal:
//!
//! * [`rate`]: request rates per client and in total, per class of route (sign-in,
//!   other POSTs, expensive GETs), answered with 429 and `Retry-After`;
//! * [`hashing`]: how many password hashes (Argon2, ~19 MiB and tens of ms each) run
//!   at once; beyond that a sign-in waits briefly, then gets 503;
//! * [`quotas`]: e-mails per address and client, anonymous drafts and their files
//!   per client and in total;
//! * [`client`]: who "one client" is (the peer address, or the address a trusted
//!   reverse proxy names).
//!
//! Failed sign-ins per address and client live in [`crate::session`]. All numbers
//! come from [`LimitsConfig`] (`[web.limits]`).

pub mod client;
pub mod hashing;
pub mod quotas;
pub mod rate;

pub use client::Client;

use serde::{Deserialize, Serialize};

/// `[web.limits]`: abuse limits. Every number may be raised for load tests; 0 in a
/// rate means "no limit".
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Reverse proxies (addresses or networks, e.g. `10.0.0.0/8`) whose
    /// `X-Forwarded-For` names the client. Default: none — the peer address is the
    /// client, and the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sign-in, second factor, registration, password reset, invitations, resume
    /// links and the API token endpoint. Default: 60 a minute per client (burst 60),
    /// 100 a second in total (burst 200).
    pub sign_in: RateLimit,
    /// Every other POST. Default: 600 a minute per client (burst 600), 10,000 a
    /// second in total (burst 20,000).
    pub post: RateLimit,
    /// Expensive GETs: search, PDF receipts, CSV exports, files. Default: 300 a
    /// minute per client (burst 120), 200 a second in total (burst 400).
    pub expensive: RateLimit,
    /// Password hashes computed at once; 0 (default) = twice the CPU cores.
    pub hashing_concurrency: usize,
    /// How long a request waits for a free hashing slot before it gets 503 "Bitte
    /// versuchen Sie es später erneut", in milliseconds. Default 3000.
    pub hashing_wait_ms: u64,
    /// Failed sign-ins (`[web.limits.sign_in_failures]`).
    pub sign_in_failures: FailureLimits,
    /// Account e-mails (`[web.limits.mails]`).
    pub mails: MailLimits,
    /// Anonymous drafts and their files (`[web.limits.drafts]`).
    pub drafts: DraftQuotas,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            sign_in: RateLimit {
                per_client_per_minute: 60,
                client_burst: 60,
                global_per_second: 100,
                global_burst: 200,
            },
            post: RateLimit {
                per_client_per_minute: 600,
                client_burst: 600,
                global_per_second: 10_000,
                global_burst: 20_000,
            },
            expensive: RateLimit {
                per_client_per_minute: 300,
                client_burst: 120,
                global_per_second: 200,
                global_burst: 400,
            },
            hashing_concurrency: 0,
            hashing_wait_ms: 3000,
            sign_in_failures: FailureLimits::default(),
            mails: MailLimits::default(),
            drafts: DraftQuotas::default(),
        }
    }
}

impl LimitsConfig {
    /// Request rates without limit, for load generators that drive the portal from
    /// one address (`amtsweg bench`); everything else stays as configured.
    #[must_use]
    pub fn without_request_rates(self) -> Self {
        let none = RateLimit { per_client_per_minute: 0, client_burst: 0, global_per_second: 0, global_burst: 0 };
        Self { sign_in: none, post: none, expensive: none, ..self }
    }
}

/// A request rate per client and in total (GCRA: `burst` requests at once, then one
/// every `1/rate`). 0 = no limit.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct RateLimit {
    /// Requests a minute one client may send, on average.
    pub per_client_per_minute: u32,
    /// Requests one client may send at once.
    pub client_burst: u32,
    /// Requests a second all clients together may send, on average.
    pub global_per_second: u32,
    /// Requests all clients together may send at once.
    pub global_burst: u32,
}

/// `[web.limits.sign_in_failures]`: failed sign-ins are counted per typed address and
/// client, and per address. A client that fails too often for one address waits
/// until its failures age out; an address that fails from many clients slows down
/// progressively for everyone, its owner included, but is never locked for good by
/// someone else.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct FailureLimits {
    /// Failures one client may have for one address within an hour. Default 10.
    pub per_client_per_hour: i64,
    /// Failures of one address (from all clients) within an hour before attempts for
    /// it are slowed down. Default 20.
    pub per_address_before_delay: i64,
    /// Beyond that, each further failure doubles the wait between attempts for the
    /// address, starting at 1 s, up to this many seconds. Default 60.
    pub max_delay_seconds: i64,
}

impl Default for FailureLimits {
    fn default() -> Self {
        Self { per_client_per_hour: 10, per_address_before_delay: 20, max_delay_seconds: 60 }
    }
}

/// `[web.limits.mails]`: account e-mails (registration, password reset, resume
/// links). Beyond the limits no mail is sent, but the page says the same as
/// otherwise, so nobody learns whether an address has an account.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MailLimits {
    /// Mails to one address within an hour. Default 5.
    pub per_address_per_hour: i64,
    /// Mails one client may cause within an hour. Default 20.
    pub per_client_per_hour: i64,
}

impl Default for MailLimits {
    fn default() -> Self {
        Self { per_address_per_hour: 5, per_client_per_hour: 20 }
    }
}

/// `[web.limits.drafts]`: drafts of visitors without an account, and their files.
/// Signed-in citizens are not counted. Drafts already saved are never touched.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DraftQuotas {
    /// New anonymous drafts one client may begin within 24 hours (drafts sent off
    /// in the meantime no longer count). Default 50.
    pub per_client_per_day: i64,
    /// Megabytes of files in the open anonymous drafts of one client. Default 200.
    pub files_mb_per_client: i64,
    /// Open anonymous drafts in total. Default 100,000.
    pub total: i64,
    /// Megabytes of files in all open anonymous drafts together. Default 10,240.
    pub files_mb_total: i64,
}

impl Default for DraftQuotas {
    fn default() -> Self {
        Self { per_client_per_day: 50, files_mb_per_client: 200, total: 100_000, files_mb_total: 10_240 }
    }
}

/// The live state of the limits of one node: rate limiters and the hashing slots.
pub struct Limits {
    pub(crate) rates: rate::Rates,
    pub(crate) hashing: hashing::Hashing,
}

impl Limits {
    #[must_use]
    pub fn new(config: &LimitsConfig) -> Self {
        Self { rates: rate::Rates::new(config), hashing: hashing::Hashing::new(config) }
    }
}
