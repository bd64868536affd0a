//! Which address a request comes from. `X-Forwarded-For` is believed only as far as the hops
//! that appended to it are trusted proxies: reading it from the right, the first address not
//! of a trusted proxy is the client. Anything else would let a client pick its own address
//! (and so its own brute-force and rate-limit bucket).

use std::net::{IpAddr, SocketAddr};

/// `peer` is the TCP peer; `forwarded_for` the `X-Forwarded-For` header lines in order.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&canonical(peer)) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            // A hop we cannot read: nothing left of it can be trusted; the proxy that
            // appended it (the last trusted one) is the best we know.
            None => return client,
            Some(address) => {
                client = address;
                if !trusted.contains(&canonical(address)) {
                    return address;
                }
            }
        }
    }
    client
}

/// One hop: an IP, optionally with a port (`1.2.3.4:80`, `[::1]:80`).
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            client_address(ip("198.51.100.7"), &["203.0.113.1"], &[ip("10.0.0.1")]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            client_address(
                ip("10.0.0.1"),
                &["6.6.6.6, 203.0.113.9", "10.0.0.2"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &["garbage, 10.0.0.2"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &[], &trusted),
            ip("10.0.0.1")
        );
    }
}
