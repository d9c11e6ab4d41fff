//! Which IP addresses a user-entered webhook URL may reach: the pure part of the SSRF guard.
//! Refused: loopback, unspecified, private (RFC 1918), carrier-grade NAT (RFC 6598), link-local
//! (which holds the cloud metadata address 169.254.169.254), unique-local IPv6 (and the AWS
//! IPv6 metadata address in it), multicast, broadcast and the reserved and benchmarking ranges;
//! IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4) are judged as the IPv4
//! address they carry.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be called, in words.
pub fn refused_because(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = address.octets();
    if address == Ipv4Addr::new(169, 254, 169, 254) || address == Ipv4Addr::new(100, 100, 100, 200)
    {
        return Some("a cloud metadata address");
    }
    if address.is_loopback() {
        return Some("a loopback address");
    }
    if address.is_unspecified() || a == 0 {
        return Some("an unspecified address");
    }
    if address.is_private() {
        return Some("a private address");
    }
    if a == 100 && (64..128).contains(&b) {
        return Some("a carrier-grade NAT address");
    }
    if address.is_link_local() {
        return Some("a link-local address");
    }
    if address.is_multicast() || address.is_broadcast() {
        return Some("a multicast or broadcast address");
    }
    if (a == 192 && b == 0 && c == 0) || (a == 198 && (18..20).contains(&b)) || a >= 240 {
        return Some("a reserved address");
    }
    None
}

fn refused_v6(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    if address.is_loopback() {
        return Some("a loopback address");
    }
    if address.is_unspecified() {
        return Some("an unspecified address");
    }
    if let Some(v4) = embedded_v4(address) {
        return refused_v4(v4);
    }
    if segments[0] & 0xfe00 == 0xfc00 {
        return Some(if segments[..4] == [0xfd00, 0x0ec2, 0, 0] {
            "a cloud metadata address"
        } else {
            "a unique-local address"
        });
    }
    if segments[0] & 0xffc0 == 0xfe80 || segments[0] & 0xffc0 == 0xfec0 {
        return Some("a link-local address");
    }
    if segments[0] & 0xff00 == 0xff00 {
        return Some("a multicast address");
    }
    None
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`) address.
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let from = |high: u16, low: u16| {
        Ipv4Addr::new(
            (high >> 8) as u8,
            (high & 0xff) as u8,
            (low >> 8) as u8,
            (low & 0xff) as u8,
        )
    };
    match segments {
        [0, 0, 0, 0, 0, 0xffff, high, low] | [0, 0, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(from(high, low)),
        [0x2002, high, low, ..] => Some(from(high, low)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<&'static str> {
        refused_because(text.parse().expect("an address"))
    }

    #[test]
    fn internal_addresses_are_refused_with_their_kind() {
        for (address, why) in [
            ("127.0.0.1", "a loopback address"),
            ("127.8.9.10", "a loopback address"),
            ("::1", "a loopback address"),
            ("0.0.0.0", "an unspecified address"),
            ("::", "an unspecified address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("100.64.0.1", "a carrier-grade NAT address"),
            ("100.127.255.254", "a carrier-grade NAT address"),
            ("169.254.169.254", "a cloud metadata address"),
            ("100.100.100.200", "a cloud metadata address"),
            ("169.254.1.1", "a link-local address"),
            ("fe80::1", "a link-local address"),
            ("fc00::1", "a unique-local address"),
            ("fd12:3456::1", "a unique-local address"),
            ("fd00:ec2::254", "a cloud metadata address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.0.0.1", "a private address"),
            ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),
            ("2002:c0a8:0101::1", "a private address"),
            ("224.0.0.1", "a multicast or broadcast address"),
            ("255.255.255.255", "a multicast or broadcast address"),
            ("ff02::1", "a multicast address"),
            ("198.18.0.1", "a reserved address"),
            ("240.0.0.1", "a reserved address"),
        ] {
            assert_eq!(refused(address), Some(why), "{address}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(address), None, "{address}");
        }
    }
}
