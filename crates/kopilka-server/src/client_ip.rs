//! The client's address (API.md "Running it"): the peer, or, on a connection from a trusted
//! reverse proxy, the rightmost `X-Forwarded-For` hop that is not itself a trusted proxy. The
//! left of that header is whatever the client wrote, so it is never believed.

use std::net::IpAddr;
use std::str::FromStr;

/// An address or a network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
            let host_bits = u32::from(width - prefix.min(width));
            if host_bits >= 128 {
                0
            } else {
                bits >> host_bits
            }
        }
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), 32, self.prefix)
                    == masked(u32::from(a).into(), 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), 128, self.prefix) == masked(u128::from(a), 128, self.prefix)
            }
            // An IPv4 client on an IPv6 socket arrives mapped.
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|a| self.contains(IpAddr::V4(a))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or a CIDR"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{s:?}: bad prefix length"))?,
        };
        Ok(Self { network, prefix })
    }
}

/// Whom to believe about the client's address.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    proxies: Vec<Cidr>,
    /// `KOPILKA_TRUST_FORWARDED_FOR` without a list: the peer is one trusted hop.
    one_hop: bool,
}

impl TrustedProxies {
    /// `list`: comma-separated addresses or CIDRs.
    pub fn new(list: &str, trust_forwarded_for: bool) -> Result<Self, String> {
        let proxies = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Cidr>, _>>()?;
        Ok(Self {
            one_hop: trust_forwarded_for && proxies.is_empty(),
            proxies,
        })
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|c| c.contains(ip))
    }

    /// The client's address, given the peer and the `X-Forwarded-For` values in order.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !(self.one_hop || self.trusted(peer)) {
            return peer;
        }
        let mut hops = forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rev();
        if self.one_hop {
            return hops.next().and_then(|h| h.parse().ok()).unwrap_or(peer);
        }
        let mut client = peer;
        for hop in hops {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                // A hop that is not an address was not written by a proxy we trust.
                break;
            };
            client = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:5::1")) && !v6.contains(ip("2001:db9::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy_and_only_from_the_right() {
        let proxies = TrustedProxies::new("10.0.0.0/8", false).unwrap();
        let proxy = ip("10.0.0.2");
        // A client that writes its own header, straight to us: ignored.
        assert_eq!(
            proxies.client(ip("198.51.100.9"), &["1.2.3.4"]),
            ip("198.51.100.9")
        );
        // Through the proxy: the rightmost hop not ours; what the client wrote on the left
        // changes nothing.
        assert_eq!(
            proxies.client(proxy, &["1.2.3.4, 198.51.100.9"]),
            ip("198.51.100.9")
        );
        assert_eq!(
            proxies.client(proxy, &["5.6.7.8, 198.51.100.9"]),
            ip("198.51.100.9")
        );
        // Two proxies of ours in a row, and the header split over two lines.
        assert_eq!(
            proxies.client(proxy, &["198.51.100.9, 10.0.0.7", "10.0.0.5"]),
            ip("198.51.100.9")
        );
        assert_eq!(proxies.client(proxy, &[]), proxy);
        assert_eq!(proxies.client(proxy, &["garbage"]), proxy);
    }

    #[test]
    fn trusting_the_header_alone_trusts_one_hop() {
        let one = TrustedProxies::new("", true).unwrap();
        assert_eq!(
            one.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.9"]),
            ip("198.51.100.9")
        );
        let none = TrustedProxies::new("", false).unwrap();
        assert_eq!(
            none.client(ip("127.0.0.1"), &["198.51.100.9"]),
            ip("127.0.0.1")
        );
    }
}
