//! Which address is the client: the one rule used by the request log and the
//! login limiter.
//!
//! The TCP peer is the client unless it is one of the configured trusted
//! proxies (`CAMKET_TRUSTED_PROXIES`). Only then are `X-Forwarded-For` (or, when
//! it is absent, `Forwarded`) read, from the right: every hop that is itself a
//! trusted proxy is skipped and the first one that is not is the client. What a
//! client writes at the left of those headers is never believed, and without a
//! trusted proxy the headers are ignored entirely.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;

/// The addresses of `CAMKET_TRUSTED_PROXIES`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpAddr>);

impl TrustedProxies {
    /// The addresses, for [`client_address`].
    pub fn as_slice(&self) -> &[IpAddr] {
        &self.0
    }
}

/// Parses `CAMKET_TRUSTED_PROXIES`: comma-separated IP addresses, spaces
/// allowed; empty means none.
pub fn parse_proxies(text: &str) -> Result<TrustedProxies, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_proxy)
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedProxies)
}

/// Parses one address of `CAMKET_TRUSTED_PROXIES`.
pub fn parse_proxy(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| format!("'{}' is not an IP address", text.trim()))
}

/// The client's address for a request that arrived from `peer`.
///
/// `None` only when the peer itself is unknown (a unix socket or a test request).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let hops = forwarded_hops(headers);
    // The nearest hop that delivered the request and is trusted; walking from it
    // towards the client, stop at the first hop that is not a trusted proxy.
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) if trusted.contains(ip) => nearest = *ip,
            Some(ip) => return Some(*ip),
            // A hop that is not an address (`unknown`, an obfuscated name, junk):
            // nothing beyond it can be told apart from a forgery.
            None => return Some(nearest),
        }
    }
    Some(nearest)
}

/// The hops a request passed, client first, as the proxies recorded them:
/// `X-Forwarded-For` when present, else the `for=` of `Forwarded` (RFC 7239).
/// An entry that is not an IP address is `None`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .map(|value| value.to_str().unwrap_or(""))
        .collect();
    if !xff.is_empty() {
        return xff
            .iter()
            .flat_map(|line| line.split(','))
            .map(|entry| parse_hop(entry.trim()))
            .collect();
    }
    headers
        .get_all("forwarded")
        .map(|value| value.to_str().unwrap_or(""))
        .flat_map(|line| line.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(value.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let inside = rest.split(']').next()?;
        return inside.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The client's address of an actix request, as text for logs and limiter keys
/// (`unknown` when the peer is unknown).
pub fn of_request(request: &actix_web::HttpRequest, trusted: &[IpAddr]) -> String {
    describe(client_address(
        request.peer_addr().map(|addr| addr.ip()),
        request.headers(),
        trusted,
    ))
}

/// `unknown` for a missing address.
pub fn describe(address: Option<IpAddr>) -> String {
    address.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn without_trusted_proxies_forwarding_headers_are_ignored() {
        let forged = headers(&[
            ("X-Forwarded-For", "203.0.113.9"),
            ("Forwarded", "for=198.51.100.7"),
        ]);
        assert_eq!(
            client_address(Some(ip("192.0.2.1")), &forged, &[]),
            Some(ip("192.0.2.1"))
        );
        // Another peer than the trusted one is not believed either.
        assert_eq!(
            client_address(Some(ip("192.0.2.1")), &forged, &[ip("10.0.0.1")]),
            Some(ip("192.0.2.1"))
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_a_forged_left_part_is_skipped() {
        let proxy = ip("10.0.0.1");
        let one = headers(&[("X-Forwarded-For", "203.0.113.9")]);
        assert_eq!(
            client_address(Some(proxy), &one, &[proxy]),
            Some(ip("203.0.113.9"))
        );
        // The client forged the first entry; the proxy appended the real one.
        let forged = headers(&[("X-Forwarded-For", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(
            client_address(Some(proxy), &forged, &[proxy]),
            Some(ip("203.0.113.9"))
        );
        // Two header lines count as one list, in order.
        let split = headers(&[
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-For", "203.0.113.9"),
        ]);
        assert_eq!(
            client_address(Some(proxy), &split, &[proxy]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_from_the_right() {
        let (edge, inner) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let chain = headers(&[("X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.0.0.1")]);
        assert_eq!(
            client_address(Some(inner), &chain, &[edge, inner]),
            Some(ip("203.0.113.9"))
        );
        // Every hop trusted: the farthest trusted one.
        let all = headers(&[("X-Forwarded-For", "10.0.0.1")]);
        assert_eq!(
            client_address(Some(inner), &all, &[edge, inner]),
            Some(edge)
        );
        // No header at all from a trusted proxy: the proxy itself.
        assert_eq!(
            client_address(Some(inner), &HeaderMap::new(), &[inner]),
            Some(inner)
        );
    }

    #[test]
    fn junk_hops_stop_the_walk_at_the_last_trusted_hop() {
        let proxy = ip("10.0.0.1");
        for junk in ["unknown", "_hidden", "not an address", "", "1.2.3.4:99999"] {
            let map = headers(&[("X-Forwarded-For", &format!("203.0.113.9, {junk}"))]);
            assert_eq!(
                client_address(Some(proxy), &map, &[proxy]),
                Some(proxy),
                "{junk}"
            );
        }
    }

    #[test]
    fn forwarded_is_read_when_x_forwarded_for_is_absent() {
        let proxy = ip("10.0.0.1");
        let v6 = headers(&[(
            "Forwarded",
            "for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.1",
        )]);
        assert_eq!(
            client_address(Some(proxy), &v6, &[proxy]),
            Some(ip("2001:db8:cafe::17"))
        );
        let v4 = headers(&[("Forwarded", "proto=http;For=192.0.2.60:8080")]);
        assert_eq!(
            client_address(Some(proxy), &v4, &[proxy]),
            Some(ip("192.0.2.60"))
        );
        // X-Forwarded-For wins when both are sent.
        let both = headers(&[
            ("Forwarded", "for=198.51.100.7"),
            ("X-Forwarded-For", "203.0.113.9"),
        ]);
        assert_eq!(
            client_address(Some(proxy), &both, &[proxy]),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn mapped_addresses_match_their_ipv4_form() {
        let proxy = ip("127.0.0.1");
        let map = headers(&[("X-Forwarded-For", "::ffff:203.0.113.9")]);
        assert_eq!(
            client_address(Some(ip("::ffff:127.0.0.1")), &map, &[proxy]),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(parse_proxy(" ::ffff:10.0.0.1 "), Ok(ip("10.0.0.1")));
        assert!(parse_proxy("10.0.0.0/8").is_err());
        assert_eq!(parse_proxies(""), Ok(TrustedProxies::default()));
        assert_eq!(
            parse_proxies("10.0.0.1, ::1,"),
            Ok(TrustedProxies(vec![ip("10.0.0.1"), ip("::1")]))
        );
        assert!(parse_proxies("10.0.0.1, proxy.local").is_err());
        assert_eq!(client_address(None, &map, &[proxy]), None);
        assert_eq!(describe(None), "unknown");
    }
}
