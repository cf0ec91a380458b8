//! The client's address as the gateway reports it (logs today; rate limits
//! and audit later). Behind a TLS-terminating proxy every connection comes
//! from the proxy, so `X-Forwarded-For` is honoured, but only when the
//! connection comes from a configured `[server] trusted_proxies` network;
//! from anyone else the header is ignored, so clients cannot pose as others.

use std::net::{IpAddr, SocketAddr};

/// The TCP peer of a connection, plain or TLS (axum's `ConnectInfo`).
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

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>>
    for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
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
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    Some(client_ip(*peer, forwarded, trusted))
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
    // The proxy nearest to us appends last.
    let forwarded = request
        .headers()
        .get("x-forwarded-proto")
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
pub fn client_ip(peer: SocketAddr, forwarded_for: Option<&str>, trusted: &[Network]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.ip();
    if !is_trusted(client) {
        return client;
    }
    if let Some(header) = forwarded_for {
        for hop in header.rsplit(',') {
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
}
