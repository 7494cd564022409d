//! Who "one client" is for the limits: the peer address of the connection, or —
//! only when that peer is a configured trusted proxy — the address the proxy names
//! in `X-Forwarded-For` (the right-most one it did not add itself). An IPv6 client
//! is its /64 network: one household or device gets a whole /64 and can pick any
//! address in it.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// The client of a request, as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client(Option<IpAddr>);

impl Client {
    /// A client by its address (tests, tools).
    #[must_use]
    pub fn from_ip(ip: IpAddr) -> Self {
        Self(Some(normalise(ip)))
    }

    /// The client of a request with these headers and extensions. Without a peer
    /// address (a request handed to the router in-process) every request is the same
    /// unknown client, so limits still hold.
    #[must_use]
    pub fn of(headers: &HeaderMap, extensions: &Extensions, trusted: &[ipnet::IpNet]) -> Self {
        if let Some(c) = extensions.get::<Self>() {
            return c.clone();
        }
        let Some(peer) = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else { return Self(None) };
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(&normalise_v4(*ip)));
        if !is_trusted(&peer) {
            return Self::from_ip(peer);
        }
        // Each proxy appends the address it received the request from: read from the
        // right, skip our own proxies, take the first address they did not add.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.into_iter().rev() {
            match parse_forwarded(entry.trim()) {
                Some(ip) if is_trusted(&ip) => client = ip,
                Some(ip) => {
                    client = ip;
                    break;
                }
                None => break,
            }
        }
        Self::from_ip(client)
    }

    /// A short, stable name of the client for the database: a hash, so the tables
    /// that count failures and drafts hold no IP addresses.
    #[must_use]
    pub fn stored(&self) -> String {
        let name = self.0.map_or_else(|| "unbekannt".to_owned(), |ip| ip.to_string());
        crate::session::hash_token(&format!("client:{name}"))[..32].to_owned()
    }

    /// The address (IPv6: its /64 network), `None` for an unknown peer.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        self.0
    }
}

/// `1.2.3.4`, `[2001:db8::1]`, `1.2.3.4:5678` or `[2001:db8::1]:443`.
fn parse_forwarded(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).and_then(|r| r.parse::<Ipv6Addr>().ok()).map(IpAddr::V6)
}

fn normalise_v4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn normalise(ip: IpAddr) -> IpAddr {
    match normalise_v4(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self::of(&parts.headers, &parts.extensions, &state.config.limits.trusted_proxies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn client(peer: &str, xff: Option<&str>, trusted: &[&str]) -> Option<IpAddr> {
        let mut headers = HeaderMap::new();
        if let Some(x) = xff {
            headers.insert("x-forwarded-for", HeaderValue::from_str(x).unwrap());
        }
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        let trusted: Vec<ipnet::IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        Client::of(&headers, &ext, &trusted).ip()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        assert_eq!(client("203.0.113.9:5000", Some("198.51.100.1"), &[]), ip("203.0.113.9"));
        assert_eq!(client("203.0.113.9:5000", Some("198.51.100.1"), &["10.0.0.0/8"]), ip("203.0.113.9"));
        assert_eq!(client("10.1.2.3:5000", Some("198.51.100.1"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        // A client cannot hide behind an address it writes itself: the proxy appends
        // the real one, which is taken.
        assert_eq!(client("10.1.2.3:5000", Some("1.1.1.1, 198.51.100.1"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        assert_eq!(client("10.1.2.3:5000", Some("198.51.100.1, 10.9.9.9"), &["10.0.0.0/8"]), ip("198.51.100.1"));
        assert_eq!(client("10.1.2.3:5000", None, &["10.0.0.0/8"]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3:5000", Some("Unsinn"), &["10.0.0.0/8"]), ip("10.1.2.3"));
        assert_eq!(client("[::ffff:10.1.2.3]:5000", Some("198.51.100.1:1234"), &["10.0.0.0/8"]), ip("198.51.100.1"));
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        assert_eq!(client("[2001:db8:1:2:aaaa::1]:5000", None, &[]), ip("2001:db8:1:2::"));
        assert_eq!(client("[2001:db8:1:2:bbbb::7]:5000", None, &[]), ip("2001:db8:1:2::"));
        let a = Client::from_ip("2001:db8:1:2::1".parse().unwrap());
        let b = Client::from_ip("2001:db8:1:3::1".parse().unwrap());
        assert_ne!(a.stored(), b.stored());
        assert_eq!(a.stored().len(), 32);
    }
}
