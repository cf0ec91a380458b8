//! Access and refresh tokens as JWTs, in the shape Docker-style registries
//! use: `iss`, `aud` (the service), `sub`, `exp`, `nbf`, `iat`, `jti`, and an
//! `access` list of `{type, name, actions}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::KeyRing;

/// One granted resource in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// `repository`, or `registry` (for `registry:catalog:*`).
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// What a token says. `kind` tells access tokens (absent) from refresh
/// tokens (`"refresh"`), so neither can stand in for the other.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    #[serde(default)]
    pub access: Vec<AccessEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The access token (by id) the caller logged in with, if any: every
    /// use and refresh checks that it is still valid and applies its scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// The user's credential epoch at the password login this token comes
    /// from (absent when it comes from an access token, or for anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

pub const REFRESH_KIND: &str = "refresh";

/// Why a presented JWT is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or uses an unsupported algorithm")]
    Malformed,
    #[error("the token was not signed by this registry")]
    UnknownKey,
    #[error("the token has expired; get a new one")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another service")]
    WrongAudience,
    #[error("the token's signature or claims are invalid")]
    Invalid,
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Signs claims for `sub` valid for `ttl` from now.
pub struct TokenRequest<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub subject: &'a str,
    pub ttl: Duration,
    pub access: Vec<AccessEntry>,
    pub kind: Option<&'a str>,
    pub token_id: Option<String>,
    pub epoch: Option<String>,
}

pub fn issue(keys: &KeyRing, request: TokenRequest<'_>) -> Result<(String, Claims), TokenError> {
    let now = now_secs();
    let claims = Claims {
        iss: request.issuer.to_string(),
        sub: request.subject.to_string(),
        aud: request.audience.to_string(),
        exp: now + request.ttl.as_secs(),
        nbf: now,
        iat: now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        access: request.access,
        kind: request.kind.map(str::to_string),
        tid: request.token_id,
        epoch: request.epoch,
    };
    let (kid, algorithm, key) = keys.signing();
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_string());
    header.typ = Some("JWT".into());
    let token = jsonwebtoken::encode(&header, &claims, key).map_err(|_| TokenError::Invalid)?;
    Ok((token, claims))
}

/// Verifies signature, key, audience, issuer and time window.
pub fn verify(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<Claims, TokenError> {
    use jsonwebtoken::errors::ErrorKind;
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    let (algorithm, key) = keys.verifying(kid).ok_or(TokenError::UnknownKey)?;
    if header.alg != *algorithm {
        return Err(TokenError::Invalid);
    }
    let mut validation = Validation::new(*algorithm);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.required_spec_claims = ["exp", "nbf", "iat", "aud", "iss", "sub"]
        .into_iter()
        .map(String::from)
        .collect();
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            _ => TokenError::Invalid,
        })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn ring(dir: &tempfile::TempDir, name: &str) -> KeyRing {
        KeyRing::load(&dir.path().join(name), &[]).unwrap()
    }

    fn request(ttl: Duration) -> TokenRequest<'static> {
        TokenRequest {
            issuer: "http://r",
            audience: "r",
            subject: "alice",
            ttl,
            access: vec![AccessEntry {
                kind: "repository".into(),
                name: "acme/x".into(),
                actions: vec!["pull".into()],
            }],
            kind: None,
            token_id: None,
            epoch: None,
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ring(&dir, "k.pem");
        let (token, _) = issue(&keys, request(Duration::from_secs(60))).unwrap();
        let claims = verify(&keys, &token, "http://r", "r").unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.access[0].name, "acme/x");
    }

    #[test]
    fn forgeries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ring(&dir, "k.pem");
        let other = ring(&dir, "other.pem");
        let (token, _) = issue(&keys, request(Duration::from_secs(60))).unwrap();
        assert!(matches!(
            verify(&keys, &token, "http://r", "elsewhere"),
            Err(TokenError::WrongAudience)
        ));
        assert!(verify(&keys, &token, "http://evil", "r").is_err());
        // Signed by a key this registry does not hold.
        let (foreign, _) = issue(&other, request(Duration::from_secs(60))).unwrap();
        assert!(matches!(
            verify(&keys, &foreign, "http://r", "r"),
            Err(TokenError::UnknownKey)
        ));
        // Edited claims keep the old signature.
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["access"][0]["actions"] = serde_json::json!(["pull", "push"]);
        let edited = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(claims.to_string()),
            parts[2]
        );
        assert!(matches!(
            verify(&keys, &edited, "http://r", "r"),
            Err(TokenError::Invalid)
        ));
        // alg: none, no signature.
        let none_header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(verify(&keys, &unsigned, "http://r", "r").is_err());
    }

    #[test]
    fn expiry_is_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let keys = ring(&dir, "k.pem");
        let (kid, algorithm, key) = keys.signing();
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.to_string());
        let now = now_secs();
        let claims = serde_json::json!({
            "iss": "http://r", "aud": "r", "sub": "a", "jti": "j",
            "iat": now - 3600, "nbf": now - 3600, "exp": now - 600, "access": []
        });
        let token = jsonwebtoken::encode(&header, &claims, key).unwrap();
        assert!(matches!(
            verify(&keys, &token, "http://r", "r"),
            Err(TokenError::Expired)
        ));
        let future = serde_json::json!({
            "iss": "http://r", "aud": "r", "sub": "a", "jti": "j",
            "iat": now, "nbf": now + 600, "exp": now + 1200, "access": []
        });
        let token = jsonwebtoken::encode(&header, &future, key).unwrap();
        assert!(matches!(
            verify(&keys, &token, "http://r", "r"),
            Err(TokenError::NotYetValid)
        ));
    }
}
