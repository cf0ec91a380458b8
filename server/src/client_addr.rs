//! The client's address as the gateway reports it (logs today; rate limits
//! and audit later). Behind a TLS-terminating proxy every connection comes
//! from the proxy, so `X-Forwarded-For` is honoured, but only when the
//! connection comes from a configured `[server] trusted_proxies` network;
//! from anyone else the header is ignored, so clients cannot pose as others.

use std::net::{IpAddr, SocketAddr};

/// The TCP peer of a connection, plain or TLS (axum's `ConnectInfo`; the
/// TLS listener's impl is in `tls`, above this leaf).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// An address or network, like `10.0.0.0/8`, `127.0.0.1` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|e| format!("{text:?} is not an IP network: {e}"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?} has an invalid prefix length (0 to {max})"))?,
        };
        Ok(Self { address, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.address, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            _ => ip,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client address of a request served with `ConnectInfo<Peer>`.
pub fn client_of(request: &axum::extract::Request, trusted: &[Network]) -> Option<IpAddr> {
    let axum::extract::ConnectInfo(Peer(peer)) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<Peer>>()?;
    Some(client_from_headers(*peer, request.headers(), trusted))
}

/// The client address of a request from `peer` with these headers: like
/// [`client_ip`], reading every `X-Forwarded-For` line.
///
/// A proxy may append its hop as a header line of its own instead of
/// extending the client's line, and the client controls every line the
/// proxy received: all lines are one list (RFC 7230 §3.2.2), in order, read
/// right to left. Reading only the first line would let the client choose
/// the address that audit, login throttling and the rate limit see.
pub fn client_from_headers(
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[Network],
) -> IpAddr {
    // A line that is not text cannot be read: it ends the walk like a
    // malformed hop would.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|line| match line.to_str() {
            Ok(text) => text.split(',').collect::<Vec<_>>(),
            Err(_) => vec![""],
        });
    nearest_untrusted(peer, hops.collect::<Vec<_>>().into_iter(), trusted)
}

/// The scheme the client used: `X-Forwarded-Proto` (`http` or `https`)
/// when the peer is a trusted proxy, else the gateway's own (`tls`).
pub fn scheme_of(request: &axum::extract::Request, trusted: &[Network], tls: bool) -> &'static str {
    let own = if tls { "https" } else { "http" };
    let Some(axum::extract::ConnectInfo(Peer(peer))) = request
        .extensions()
        .get::<axum::extract::ConnectInfo<Peer>>()
    else {
        return own;
    };
    if !trusted.iter().any(|net| net.contains(peer.ip())) {
        return own;
    }
    // The proxy nearest to us appends last, to its line or as a new line.
    let forwarded = request
        .headers()
        .get_all("x-forwarded-proto")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim);
    match forwarded {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        Some(p) if p.eq_ignore_ascii_case("http") => "http",
        _ => own,
    }
}

/// The client address: the peer, or, when the peer is a trusted proxy, the
/// nearest untrusted address in `X-Forwarded-For` (read right to left).
/// `forwarded_for` is the whole list: with several header lines, prefer
/// [`client_from_headers`], which joins them.
pub fn client_ip(peer: SocketAddr, forwarded_for: Option<&str>, trusted: &[Network]) -> IpAddr {
    let hops = forwarded_for
        .into_iter()
        .flat_map(|header| header.split(','));
    nearest_untrusted(peer, hops.collect::<Vec<_>>().into_iter(), trusted)
}

/// Walks the hops from the nearest (last) one: each trusted hop passes the
/// question on to the one before it; the first untrusted one is the client.
/// A malformed hop stops the walk at the last address that was read.
fn nearest_untrusted<'a>(
    peer: SocketAddr,
    hops: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[Network],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.ip();
    if !is_trusted(client) {
        return client;
    }
    for hop in hops.rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Network> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn networks() {
        let net: Network = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.9".parse().unwrap()));
        let single: Network = "127.0.0.1".parse().unwrap();
        assert!(single.contains("127.0.0.1".parse().unwrap()));
        assert!(!single.contains("127.0.0.2".parse().unwrap()));
        assert!(
            "fd00::/8"
                .parse::<Network>()
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(
            "0.0.0.0/0"
                .parse::<Network>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x"] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:4000".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7"), &trusted).to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 198.51.100.7, 10.0.0.4"), &trusted).to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(stranger, Some("198.51.100.7"), &trusted).to_string(),
            "203.0.113.9"
        );
        assert_eq!(client_ip(proxy, None, &trusted).to_string(), "10.0.0.5");
        assert_eq!(
            client_ip(proxy, Some("garbage"), &trusted).to_string(),
            "10.0.0.5"
        );
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7"), &[]).to_string(),
            "10.0.0.5"
        );
    }

    #[test]
    fn every_forwarded_for_line_is_one_list() {
        use axum::http::{HeaderMap, HeaderValue};
        let proxy: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = |lines: &[&[u8]]| {
            let mut map = HeaderMap::new();
            for line in lines {
                map.append("x-forwarded-for", HeaderValue::from_bytes(line).unwrap());
            }
            map
        };
        // The client wrote the first line; the proxy appended the second.
        let client = |lines: &[&[u8]]| client_from_headers(proxy, &headers(lines), &trusted);
        assert_eq!(client(&[b"1.2.3.4", b"5.6.7.8"]).to_string(), "5.6.7.8");
        assert_eq!(
            client(&[b"1.2.3.4", b"5.6.7.8, 10.0.0.9"]).to_string(),
            "5.6.7.8"
        );
        assert_eq!(
            client(&[b"1.2.3.4, 10.0.0.7", b"10.0.0.8"]).to_string(),
            "1.2.3.4"
        );
        // An unreadable line stops the walk like a malformed hop.
        assert_eq!(
            client(&[b"1.2.3.4", b"\xff", b"10.0.0.8"]).to_string(),
            "10.0.0.8"
        );
        assert_eq!(client(&[]).to_string(), "10.0.0.5");
        let stranger: SocketAddr = "203.0.113.9:4000".parse().unwrap();
        assert_eq!(
            client_from_headers(stranger, &headers(&[b"1.2.3.4", b"5.6.7.8"]), &trusted)
                .to_string(),
            "203.0.113.9"
        );
    }
}
