//! The address a request comes from: the peer, or — when the peer is a
//! reverse proxy the operator trusts (`--trusted-proxies`) — the nearest
//! address in `X-Forwarded-For` that is not itself a trusted proxy. Used for
//! rate limits and the audit log; never for URLs (SPEC §3: those come from
//! `--public-url` only).

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address. Walking `X-Forwarded-For` from the right (the
    /// hop our proxy appended last) stops at the first address not trusted:
    /// whatever a client wrote further left cannot move it.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop).map(|ip| ip.to_canonical()) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// The part of an address one party controls, for rate limits: the
/// address itself for IPv4, its /64 network for IPv6 (a single host usually
/// holds a whole /64, so per-address budgets would be endless there).
pub fn rate_limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// A `--trusted-proxies` entry: a network (`10.0.0.0/8`) or one address.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a network like 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| parse_network(n).unwrap()).collect())
    }

    fn from(peer: &str, forwarded: &[&str]) -> TestRequest {
        let mut req = TestRequest::default().peer_addr(SocketAddr::new(peer.parse().unwrap(), 40000));
        for value in forwarded {
            req = req.append_header(("X-Forwarded-For", *value));
        }
        req
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = from("203.0.113.9", &["198.51.100.1"]).to_http_request();
        assert_eq!(proxies(&["10.0.0.0/8"]).client_ip(&req), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(proxies(&[]).client_ip(&req), Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn a_trusted_proxy_names_the_nearest_untrusted_hop() {
        let trusted = proxies(&["10.0.0.0/8", "192.168.1.7"]);
        // A client's own (forged) entry on the left does not count.
        let req = from("10.1.2.3", &["1.1.1.1, 198.51.100.1", "192.168.1.7"]).to_http_request();
        assert_eq!(trusted.client_ip(&req), Some("198.51.100.1".parse().unwrap()));
        let req = from("10.1.2.3", &["[2001:db8::1]:443"]).to_http_request();
        assert_eq!(trusted.client_ip(&req), Some("2001:db8::1".parse().unwrap()));
        // Garbage stops the walk at the last address known good.
        let req = from("10.1.2.3", &["198.51.100.1, junk"]).to_http_request();
        assert_eq!(trusted.client_ip(&req), Some("10.1.2.3".parse().unwrap()));
        // No header: the proxy itself.
        assert_eq!(trusted.client_ip(&from("10.1.2.3", &[]).to_http_request()), Some("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn rate_limits_count_an_ipv6_host_by_its_64() {
        let a = rate_limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, rate_limit_key("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_ne!(a, rate_limit_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(rate_limit_key("198.51.100.7".parse().unwrap()), "198.51.100.7");
        // An IPv4 peer seen through an IPv6 socket is the IPv4 address.
        let req = from("::ffff:198.51.100.7", &[]).to_http_request();
        assert_eq!(proxies(&[]).client_ip(&req), Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn networks_and_single_addresses_parse() {
        assert!(parse_network("10.0.0.0/8").is_ok());
        assert!(parse_network("::1").is_ok());
        assert!(parse_network("nope").is_err());
    }
}
