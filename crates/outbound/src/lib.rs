//! The one outbound-URL policy of every connector (webhook, FIT-Connect, xdomea,
//! OpenID Connect, later payment providers). Authority administrators type URLs into
//! the back office; without this policy each of them is a way into the server's own
//! network (server-side request forgery).
//!
//! The rules, in this order:
//! 1. the URL parses (WHATWG rules, so `http://2130706433/`, octal and hex hosts become
//!    the IPv4 address they mean) and carries no user name or password;
//! 2. `https` only — plain `http` only to hosts the operator lists ([`OutboundConfig::http_hosts`]);
//! 3. every address the host stands for is public: loopback, private (RFC 1918, ULA),
//!    link-local, CGNAT, unspecified, multicast, broadcast, documentation, benchmarking,
//!    reserved and cloud-metadata addresses are refused unless the operator allows the
//!    host ([`OutboundConfig::allow_hosts`]) or the network ([`OutboundConfig::allow_cidrs`]);
//! 4. the check runs again when connecting: clients built by [`Policy::client_builder`]
//!    resolve through [`Policy`] and connect only to addresses that passed, so a DNS
//!    answer that changes after the check (rebinding) is caught; they follow no
//!    redirects and use no proxy from the environment.
//!
//! Use [`Policy::check`] when a URL is saved or right before a request is built (it
//! also catches IP literals, which never reach a DNS resolver), [`Policy::check_resolved`]
//! when a URL is saved (to tell the administrator at once), and [`Failure::of`] to turn
//! a transport error into the classified message staff may see.

mod address;
mod classify;
mod resolver;

pub use address::is_forbidden;
pub use classify::{Failure, chain};

use ipnet::IpNet;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Exceptions the operator grants (`[outbound]` in the configuration, or
/// `AMTSWEG_OUTBOUND__ALLOW_HOSTS='["dms.intern.example"]'` etc.). Empty by default:
/// HTTPS to public addresses only. `amtsweg demo` alone, when `[outbound]` is not set,
/// allows `127.0.0.0/8` and `::1` over plain HTTP, because its receivers and test
/// providers run on the same machine; `serve` never does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Host names (or IP literals) whose addresses are not checked, e.g. an internal
    /// DMS `dms.intern.example`. Exact names, no wildcards. Default: none.
    pub allow_hosts: Vec<String>,
    /// Networks whose addresses may be reached although they are internal, e.g.
    /// `10.20.0.0/16` or `127.0.0.1/32`. Default: none.
    pub allow_cidrs: Vec<String>,
    /// Hosts that may be reached over plain `http://` (test receivers, a gateway on
    /// the same machine). Default: none — everything else needs `https://`.
    pub http_hosts: Vec<String>,
}

/// The compiled policy. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Policy(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    allow_hosts: Vec<String>,
    allow_cidrs: Vec<IpNet>,
    http_hosts: Vec<String>,
}

/// Why a URL or an address is refused. The `Display` text is English for the log;
/// [`Refusal::german`] is what an administrator sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a valid absolute URL")]
    Invalid,
    #[error("scheme {0} is not allowed (https only; http only to listed hosts)")]
    Scheme(String),
    #[error("user name or password in the URL")]
    Userinfo,
    #[error("{host} stands for {addr}, which is not a public address")]
    Address { host: String, addr: IpAddr },
    #[error("{0} has no address")]
    NoAddress(String),
}

impl Refusal {
    /// What to tell the person who typed the URL (German, without addresses).
    #[must_use]
    pub fn german(&self) -> String {
        match self {
            Self::Invalid => "Die Adresse ist keine gültige URL (z. B. https://fachverfahren.example/eingang).".into(),
            Self::Scheme(_) => "Die Adresse muss mit https:// beginnen (http:// nur für Ziele, die der Betrieb \
                                ausdrücklich freigegeben hat)."
                .into(),
            Self::Userinfo => "Die Adresse darf keinen Benutzernamen und kein Passwort enthalten.".into(),
            Self::Address { .. } | Self::NoAddress(_) => "Ziel nicht erlaubt: Die Adresse führt in ein internes oder \
                                                          besonderes Netz. Ziele dort muss der Betrieb freigeben."
                .into(),
        }
    }
}

impl Policy {
    /// Compiles the operator's configuration.
    ///
    /// # Errors
    /// When an entry of `allow_cidrs` is no network (`10.0.0.0/8`) or address.
    pub fn new(c: &OutboundConfig) -> Result<Self, String> {
        let mut nets = Vec::new();
        for raw in &c.allow_cidrs {
            let raw = raw.trim();
            let net = raw
                .parse::<IpNet>()
                .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("outbound.allow_cidrs: \"{raw}\" is no network (e.g. 10.0.0.0/8)"))?;
            nets.push(net);
        }
        let names = |v: &[String]| v.iter().map(|h| normal_host(h)).collect();
        Ok(Self(Arc::new(Inner {
            allow_hosts: names(&c.allow_hosts),
            allow_cidrs: nets,
            http_hosts: names(&c.http_hosts),
        })))
    }

    /// Checks a URL without the network: syntax, scheme, user info, and — when the
    /// host is an IP literal — the address. Returns the parsed URL.
    ///
    /// # Errors
    /// The [`Refusal`].
    pub fn check(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw.trim()).map_err(|_| Refusal::Invalid)?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or(Refusal::Invalid)?;
        let host = normal_host(host);
        match url.scheme() {
            "https" => {}
            "http" if self.0.http_hosts.contains(&host) => {}
            other => return Err(Refusal::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Userinfo);
        }
        if let Ok(addr) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            self.check_addr(&host, addr)?;
        }
        Ok(url)
    }

    /// [`Self::check`], then resolves the host and checks every address. A name that
    /// does not resolve (yet) passes: the check at connect time still guards it.
    ///
    /// # Errors
    /// The [`Refusal`].
    pub async fn check_resolved(&self, raw: &str) -> Result<Url, Refusal> {
        let url = self.check(raw)?;
        let Some(host) = url.host_str().map(str::to_owned) else { return Err(Refusal::Invalid) };
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::time::timeout(Duration::from_secs(3), tokio::net::lookup_host((host.as_str(), port))).await;
        if let Ok(Ok(addrs)) = lookup {
            self.filter(&host, addrs.collect())?;
        }
        Ok(url)
    }

    /// The addresses of `host` a connection may go to: all of them, or a refusal
    /// when any is not allowed (a name that mixes public and internal addresses is
    /// refused as a whole, so no retry reaches the internal one).
    ///
    /// # Errors
    /// [`Refusal::Address`] or, for an empty list, [`Refusal::NoAddress`].
    pub fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refusal> {
        if addrs.is_empty() {
            return Err(Refusal::NoAddress(host.to_owned()));
        }
        let host = normal_host(host);
        for a in &addrs {
            self.check_addr(&host, a.ip())?;
        }
        Ok(addrs)
    }

    fn check_addr(&self, host: &str, addr: IpAddr) -> Result<(), Refusal> {
        let allowed = self.0.allow_hosts.iter().any(|h| h == host)
            || self
                .0
                .allow_cidrs
                .iter()
                .any(|n| n.contains(&addr) || mapped_v4(addr).is_some_and(|v4| n.contains(&v4)));
        if allowed || !is_forbidden(addr) { Ok(()) } else { Err(Refusal::Address { host: host.to_owned(), addr }) }
    }

    /// A client builder that resolves through this policy, follows no redirects and
    /// ignores proxy settings of the environment (a proxy would resolve the name
    /// itself, out of the policy's reach). Add timeouts and the user agent.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(resolver::Guarded(self.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
    }
}

/// Lower case without a trailing dot, IPv6 literals with brackets, so names compare.
fn normal_host(h: &str) -> String {
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => h,
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`).
fn mapped_v4(addr: IpAddr) -> Option<IpAddr> {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
