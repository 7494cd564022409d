//! Which addresses are not public: everything a connector must not reach unless the
//! operator allows it. Kept as a list of networks (IANA special-purpose registries
//! plus the cloud metadata services) so a reviewer can compare it line by line.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

const FORBIDDEN: &[&str] = &[
    // IPv4
    "0.0.0.0/8",        // "this network", unspecified
    "10.0.0.0/8",       // private (RFC 1918)
    "100.64.0.0/10",    // carrier-grade NAT (RFC 6598); also Alibaba's metadata 100.100.100.200
    "127.0.0.0/8",      // loopback
    "169.254.0.0/16",   // link-local, incl. the metadata service 169.254.169.254
    "172.16.0.0/12",    // private
    "192.0.0.0/24",     // IETF protocol assignments (incl. 192.0.0.192 metadata)
    "192.0.2.0/24",     // documentation (TEST-NET-1)
    "192.88.99.0/24",   // 6to4 relay anycast
    "192.168.0.0/16",   // private
    "198.18.0.0/15",    // benchmarking
    "198.51.100.0/24",  // documentation (TEST-NET-2)
    "203.0.113.0/24",   // documentation (TEST-NET-3)
    "224.0.0.0/4",      // multicast
    "240.0.0.0/4",      // reserved, incl. broadcast 255.255.255.255
    "168.63.129.16/32", // Azure's platform endpoint (metadata, health)
    // IPv6
    "::/128",         // unspecified
    "::1/128",        // loopback
    "::/96",          // IPv4-compatible (deprecated)
    "64:ff9b:1::/48", // local-use NAT64
    "100::/64",       // discard-only
    "2001::/32",      // Teredo
    "2001:2::/48",    // benchmarking
    "2001:db8::/32",  // documentation
    "2001:10::/28",   // ORCHID
    "2001:20::/28",   // ORCHIDv2
    "3fff::/20",      // documentation
    "5f00::/16",      // SRv6 SIDs
    "fc00::/7",       // unique local (ULA), incl. AWS's metadata fd00:ec2::254
    "fe80::/10",      // link-local
    "fec0::/10",      // site-local (deprecated)
    "ff00::/8",       // multicast
];

static NETS: LazyLock<Vec<IpNet>> = LazyLock::new(|| FORBIDDEN.iter().filter_map(|s| s.parse().ok()).collect());

/// Whether `addr` is not a public address. IPv4 addresses embedded in IPv6 (mapped
/// `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by
/// the IPv4 address they carry.
#[must_use]
pub fn is_forbidden(addr: IpAddr) -> bool {
    if let IpAddr::V6(v6) = addr
        && let Some(v4) = embedded_v4(v6)
    {
        return is_forbidden(IpAddr::V4(v4));
    }
    NETS.iter().any(|n| n.contains(&addr))
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_network_parses() {
        assert_eq!(NETS.len(), FORBIDDEN.len());
    }
}
