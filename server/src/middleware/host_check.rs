//! DNS-rebinding guard for an open gateway on loopback.
//!
//! With `[auth] mode = "none"` on a loopback `listen`, the gateway trusts
//! whoever can connect: the local machine. A web page can still connect to
//! it: it points its own name (`evil.example`) at 127.0.0.1 after loading,
//! and the browser then sends the page's requests, and shows it the
//! answers, as same-origin. The browser still says which name it meant in
//! `Host`, so such a gateway answers only Hosts that name it: the host of
//! `public_url`, `localhost`, 127.0.0.0/8 or `[::1]`, with any port. Others
//! get 421 Misdirected Request, `DENIED`, saying what is accepted.
//!
//! Not applied in token mode: there every change needs credentials, which
//! a rebinding page does not have (the browser keeps cookies per name, so
//! the gateway's session cookie is never sent to `evil.example`), and
//! behind a proxy the Host may legitimately be any of the proxy's names.
//! Nor with a non-loopback `listen` and `allow_anonymous_write`: that
//! gateway is open to the network by choice. A request without any Host
//! (HTTP/1.0) is accepted: browsers always send one.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::AuthMode;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

pub async fn enforce(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if app.config.auth.mode != AuthMode::None || !app.config.listen.ip().is_loopback() {
        return next.run(request).await;
    }
    let public_host = app.public_url.host_str().unwrap_or_default();
    // HTTP/2 and absolute-form requests name the host in the URI.
    let named = request.uri().authority().map(|a| a.as_str().to_string());
    let header = request
        .headers()
        .get(header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    for host in named.iter().chain(header.iter()) {
        if !accepted(host, public_host) {
            return refusal(host, public_host);
        }
    }
    next.run(request).await
}

/// Whether `host` (`name[:port]`) is `public_host`, or a loopback name.
fn accepted(host: &str, public_host: &str) -> bool {
    let host = host.trim();
    // `[v6]` or `[v6]:port`; else `name` or `name:port`.
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || is_port(port) => format!("[{v6}]"),
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(port) => name.to_string(),
            Some(_) => return false,
            None => host.to_string(),
        }
    };
    if name.eq_ignore_ascii_case(public_host) || name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback(),
        Err(_) => false,
    }
}

/// `80` or `:80`.
fn is_port(text: &str) -> bool {
    let digits = text.strip_prefix(':').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u16>().is_ok()
}

fn refusal(host: &str, public_host: &str) -> Response {
    let shown: String = host.chars().take(100).collect();
    let accepted = [public_host, "localhost", "127.0.0.0/8", "[::1]"];
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        ErrorCode::Denied,
        format!(
            "this gateway runs without authentication on a loopback address, so it only \
             answers requests for {public_host}, localhost, 127.0.0.0/8 or [::1] (any port), \
             not Host {shown:?}: that keeps web pages from reaching it by DNS rebinding; to \
             use another name, set public_url to the URL with that name \
             (e.g. public_url = \"http://{shown}\", or WKG_GATEWAY_PUBLIC_URL)"
        ),
    )
    .with_detail(json!({ "host": shown, "accepted": accepted }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::accepted;

    #[test]
    fn loopback_names_and_the_public_host_are_accepted() {
        for host in [
            "localhost",
            "localhost:1234",
            "LOCALHOST:80",
            "127.0.0.1",
            "127.0.0.2:8080",
            "127.255.0.9",
            "[::1]",
            "[::1]:80",
            "registry.test",
            "registry.test:5000",
        ] {
            assert!(accepted(host, "registry.test"), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "128.0.0.1",
            "10.0.0.1:80",
            "[::2]:80",
            "[::1]x",
            "localhost:",
            "localhost:99999",
            "localhost:80:80",
            "",
        ] {
            assert!(!accepted(host, "registry.test"), "{host}");
        }
        assert!(accepted("[::1]:8080", "[::1]"));
    }
}
