//! Which address a request comes from. What proxies say (`X-Forwarded-For`, or RFC 7239
//! `Forwarded`) is believed only as far as the hops that appended to it are trusted proxies:
//! reading it from the right, the first address not of a trusted proxy is the client. Anything
//! else would let a client pick its own address (and so its own brute-force and rate-limit
//! bucket).

use std::net::{IpAddr, SocketAddr};

/// The header trusted proxies name the client in. Only one is read: a proxy that appends to
/// one passes the other on as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    XForwardedFor,
    Forwarded,
}

impl ProxyHeader {
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }

    /// The hops the header's `lines` list, left to right; `None` for a hop that names no
    /// address we can read (garbage, or `Forwarded`'s `unknown` and obfuscated `_names`).
    fn hops(self, lines: &[&str]) -> Vec<Option<IpAddr>> {
        match self {
            Self::XForwardedFor => lines
                .iter()
                .flat_map(|line| line.split(','))
                .map(parse_hop)
                .collect(),
            Self::Forwarded => lines
                .iter()
                .flat_map(|line| rfc7239::parse(line))
                .map(|element| {
                    let element = element.ok()?;
                    element.forwarded_for?.ip().copied().map(canonical)
                })
                .collect(),
        }
    }
}

/// `peer` is the TCP peer; `lines` the lines of the `header` in order.
pub fn client_address(
    peer: IpAddr,
    header: ProxyHeader,
    lines: &[&str],
    trusted: &[IpAddr],
) -> IpAddr {
    if !trusted.contains(&canonical(peer)) {
        return peer;
    }
    let mut client = peer;
    for hop in header.hops(lines).into_iter().rev() {
        match hop {
            // A hop we cannot read: nothing left of it can be trusted; the proxy that
            // appended it (the last trusted one) is the best we know.
            None => return client,
            Some(address) => {
                client = address;
                if !trusted.contains(&address) {
                    return address;
                }
            }
        }
    }
    client
}

/// One `X-Forwarded-For` hop: an IP, optionally with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ProxyHeader = ProxyHeader::XForwardedFor;
    const FWD: ProxyHeader = ProxyHeader::Forwarded;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            client_address(ip("198.51.100.7"), XFF, &["203.0.113.1"], &[ip("10.0.0.1")]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                XFF,
                &["6.6.6.6, 203.0.113.9", "10.0.0.2"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), XFF, &["garbage, 10.0.0.2"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), XFF, &[], &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_is_read_like_x_forwarded_for_from_the_right() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // Two proxies: one appended to the first line, the other added its own line.
        let lines = [
            "for=6.6.6.6, for=203.0.113.9;proto=https;by=10.0.0.2",
            "For=\"10.0.0.2:4711\"",
        ];
        assert_eq!(
            client_address(ip("10.0.0.1"), FWD, &lines, &trusted),
            ip("203.0.113.9")
        );
        // IPv6 is quoted and bracketed; an IPv4-mapped address counts as the IPv4 one.
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                FWD,
                &[r#"for="[2001:db8::7]:80""#],
                &trusted
            ),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                FWD,
                &[r#"for="[::ffff:10.0.0.2]", for=10.0.0.2"#],
                &trusted
            ),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn forwarded_stops_at_a_hop_that_names_no_address() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        for unreadable in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=2001:db8::1",
            "x",
        ] {
            let lines = [format!("for=6.6.6.6, {unreadable}, for=10.0.0.2")];
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            assert_eq!(
                client_address(ip("10.0.0.1"), FWD, &lines, &trusted),
                ip("10.0.0.2"),
                "{unreadable}"
            );
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let trusted = [ip("10.0.0.1")];
        // A proxy appending to X-Forwarded-For passes a client's own Forwarded on unread.
        assert_eq!(
            client_address(ip("10.0.0.1"), FWD, &["203.0.113.9"], &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), XFF, &["for=203.0.113.9"], &trusted),
            ip("10.0.0.1")
        );
    }
}
