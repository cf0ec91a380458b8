//! `wkg login` / `wkg logout` against a wkg-gateway.
//!
//! Logging in exchanges a user name and password for a personal access
//! token (`POST /api/v1/tokens` on the registry's host): the password itself
//! is never stored. The token is written as the registry's `auth` in
//! config.toml, the format upstream wkg reads too, so both tools use it
//! through the ordinary token flow; it expires (30 days by default) and
//! can be revoked. Logging out revokes it on the gateway and removes it.

use std::time::Duration;

use serde_json::Value;

use crate::config::{Config, OciAuth, OciProtocol};
use crate::discovery::{base_url, is_loopback};
use crate::error::{Error, Result};
use crate::progress::Reporter;
use crate::registry::RegistryName;
use crate::secret::Secret;

/// What `login` obtained.
#[derive(Debug)]
pub struct LoginToken {
    pub id: String,
    pub secret: Secret,
    /// Unix milliseconds.
    pub expires_at: Option<i64>,
}

/// `<scheme>://<registry>`, the scheme chosen by [`protocol_for`] from the registry's
/// configured `protocol`, as for every other command.
pub fn api_base(config: &Config, registry: &RegistryName, reporter: &dyn Reporter) -> String {
    let protocol = config
        .registry_config(registry)
        .and_then(|r| r.oci.as_ref())
        .and_then(|oci| oci.protocol);
    base_url(registry.as_str(), protocol, reporter)
}

fn http() -> Result<reqwest::Client> {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| Error::Registry {
            registry: String::new(),
            message: "cannot set up an HTTP client".into(),
            source: Some(Box::new(e)),
        })
}

fn unreachable(registry: &RegistryName, e: reqwest::Error) -> Error {
    Error::Unreachable {
        registry: registry.to_string(),
        source: Box::new(e),
    }
}

/// The gateway's error message, if the body is its error envelope.
async fn refusal(registry: &RegistryName, response: reqwest::Response, action: &str) -> Error {
    let status = response.status();
    let message = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string());
    let hint = match status.as_u16() {
        401 => "; check the user name and password",
        404 | 405 => "; is this a wkg-gateway? other registries take `docker login` credentials",
        _ => "",
    };
    Error::Registry {
        registry: registry.to_string(),
        message: format!("{action} failed ({status}): {message}{hint}"),
        source: None,
    }
}

/// Exchanges a user name and password for a personal access token.
pub async fn create_token(
    config: &Config,
    registry: &RegistryName,
    username: &str,
    password: &str,
    description: &str,
    reporter: &dyn Reporter,
) -> Result<LoginToken> {
    let response = http()?
        .post(format!(
            "{}/api/v1/tokens",
            api_base(config, registry, reporter)
        ))
        .basic_auth(username, Some(password))
        .json(&serde_json::json!({ "description": description }))
        .send()
        .await
        .map_err(|e| unreachable(registry, e))?;
    if !response.status().is_success() {
        return Err(refusal(registry, response, "logging in").await);
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| unreachable(registry, e))?;
    match (body["id"].as_str(), body["secret"].as_str()) {
        (Some(id), Some(secret)) => Ok(LoginToken {
            id: id.to_owned(),
            secret: Secret::new(secret),
            expires_at: body["expires_at"].as_i64(),
        }),
        _ => Err(Error::Registry {
            registry: registry.to_string(),
            message: "the token answer lacks `id` or `secret`".into(),
            source: None,
        }),
    }
}

/// Revokes the token a stored login holds (the token authenticates its own
/// revocation). A token the gateway no longer accepts counts as revoked.
pub async fn revoke_token(
    config: &Config,
    registry: &RegistryName,
    secret: &str,
    reporter: &dyn Reporter,
) -> Result<()> {
    let client = http()?;
    let base = api_base(config, registry, reporter);
    let response = client
        .get(format!("{base}/api/v1/tokens"))
        .bearer_auth(secret)
        .send()
        .await
        .map_err(|e| unreachable(registry, e))?;
    if response.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Ok(());
    }
    if !response.status().is_success() {
        return Err(refusal(registry, response, "logging out").await);
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| unreachable(registry, e))?;
    let Some(id) = body["current"].as_str() else {
        return Ok(());
    };
    let response = client
        .delete(format!("{base}/api/v1/tokens/{id}"))
        .bearer_auth(secret)
        .send()
        .await
        .map_err(|e| unreachable(registry, e))?;
    if response.status().is_success() || response.status() == reqwest::StatusCode::UNAUTHORIZED {
        Ok(())
    } else {
        Err(refusal(registry, response, "logging out").await)
    }
}

/// Stores a login as the registry's `auth`, and for a loopback registry also
/// `protocol = "http"`: this wkg needs no such line (see `protocol_for`), but
/// upstream wkg reads the same file and speaks plain http only with it.
pub fn store(config: &mut Config, registry: &RegistryName, username: &str, token: &LoginToken) {
    let loopback = is_loopback(registry.host());
    let oci = config
        .registry_config_mut(registry)
        .oci
        .get_or_insert_with(Default::default);
    oci.auth = Some(OciAuth::UsernamePassword {
        username: username.to_owned(),
        password: token.secret.clone(),
    });
    if loopback && oci.protocol.is_none() {
        oci.protocol = Some(OciProtocol::Http);
    }
}

/// The stored login's token, removed from the config; `None` if there was
/// none.
pub fn forget(config: &mut Config, registry: &RegistryName) -> Option<Secret> {
    let oci = config.registry_config_mut(registry).oci.as_mut()?;
    match oci.auth.take()? {
        OciAuth::UsernamePassword { password, .. } => Some(password),
        other => {
            // Credentials not made by `wkg login` (base64): removed, not revoked.
            drop(other);
            None
        }
    }
}
