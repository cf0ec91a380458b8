//! Which credentials to present to an OCI registry.
//!
//! The order is upstream wkg's, so a setup that works with one tool works with the other:
//! 1. `WKG_REGISTRY_<HOST>_AUTH_BEARER` (sent as `Authorization: Bearer` on every request);
//! 2. `auth` under `[registry."<name>".oci]`;
//! 3. Docker's `config.json`: a credential helper for the host, or a plain `auths` entry;
//! 4. anonymous.
//!
//! Basic credentials are not sent blindly: `oci-client` presents them only after `/v2/`
//! challenges, and exchanges them at the challenge's token realm when it asks for Bearer.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde_json::Value as Json;

use crate::config::{BasicCredentials, OciConfig};
use crate::error::Result;
use crate::secret::Secret;

/// Credentials for one registry.
#[derive(Clone, Debug, PartialEq)]
pub enum Credentials {
    Anonymous,
    Basic(BasicCredentials),
    Bearer(Secret),
}

impl Credentials {
    pub(crate) fn to_registry_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic(basic) => {
                RegistryAuth::Basic(basic.username.clone(), basic.password.expose().to_owned())
            }
            Credentials::Bearer(token) => RegistryAuth::Bearer(token.expose().to_owned()),
        }
    }
}

/// `WKG_REGISTRY_<HOST>_AUTH_BEARER`: the host upper-cased, every non-alphanumeric as `_`.
pub fn bearer_env_var(oci_host: &str) -> String {
    let host: String = oci_host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("WKG_REGISTRY_{host}_AUTH_BEARER")
}

/// Where the process environment and Docker's config are, injectable for tests.
pub struct CredentialSources<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The directory holding Docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`).
    pub docker_config_dir: Option<PathBuf>,
}

impl CredentialSources<'_> {
    /// The real environment.
    pub fn system() -> CredentialSources<'static> {
        let docker_config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")));
        CredentialSources {
            env: &system_env,
            docker_config_dir,
        }
    }
}

fn system_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// The credentials for `oci_host`, in upstream's order (see the module docs).
pub fn resolve(
    oci_host: &str,
    config: Option<&OciConfig>,
    sources: &CredentialSources<'_>,
) -> Result<Credentials> {
    if let Some(token) = (sources.env)(&bearer_env_var(oci_host)).filter(|t| !t.is_empty()) {
        return Ok(Credentials::Bearer(Secret::new(token)));
    }
    if let Some(auth) = config.and_then(|c| c.auth.as_ref()) {
        return Ok(Credentials::Basic(auth.credentials()?));
    }
    Ok(
        docker_credentials(oci_host, sources.docker_config_dir.as_deref())
            .map_or(Credentials::Anonymous, Credentials::Basic),
    )
}

/// Credentials from Docker's `config.json` for `host`: a helper first, then `auths`.
///
/// Any problem (no file, bad JSON, a helper that fails) means "no Docker credentials":
/// Docker's config belongs to another tool and must not break wkg.
pub fn docker_credentials(host: &str, dir: Option<&Path>) -> Option<BasicCredentials> {
    let text = std::fs::read(dir?.join("config.json")).ok()?;
    let config: Json = serde_json::from_slice(&text).ok()?;
    let helper = config["credHelpers"][host]
        .as_str()
        .or_else(|| config["credsStore"].as_str());
    if let Some(found) = helper.and_then(|helper| from_helper(helper, host)) {
        return Some(found);
    }
    let auths = config["auths"].as_object()?;
    let entry = auths
        .iter()
        .find(|(key, _)| registry_key_host(key) == host)
        .map(|(_, entry)| entry)?;
    if let (Some(username), Some(password)) =
        (entry["username"].as_str(), entry["password"].as_str())
    {
        return Some(BasicCredentials {
            username: username.to_owned(),
            password: Secret::new(password),
        });
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry["auth"].as_str()?)
        .ok()?;
    let (username, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(BasicCredentials {
        username: username.to_owned(),
        password: Secret::new(password),
    })
}

/// `https://ghcr.io/v1/` → `ghcr.io`: Docker keys are sometimes URLs.
fn registry_key_host(key: &str) -> &str {
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    key.split('/').next().unwrap_or(key)
}

/// Runs `docker-credential-<helper> get` with the host on stdin.
fn from_helper(helper: &str, host: &str) -> Option<BasicCredentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(host.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let answer: Json = serde_json::from_slice(&output.stdout).ok()?;
    let username = answer["Username"].as_str()?;
    // `<token>` marks an identity token, which the registry flow here cannot use.
    if username == "<token>" {
        return None;
    }
    Some(BasicCredentials {
        username: username.to_owned(),
        password: Secret::new(answer["Secret"].as_str()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn env_var_name() {
        assert_eq!(
            bearer_env_var("127.0.0.1:5058"),
            "WKG_REGISTRY_127_0_0_1_5058_AUTH_BEARER"
        );
        assert_eq!(
            bearer_env_var("ghcr.io"),
            "WKG_REGISTRY_GHCR_IO_AUTH_BEARER"
        );
    }

    #[test]
    fn order_env_then_config_then_docker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://r.example/v1/":{"auth":"ZG9jazpwdw=="},"other":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let config = Config::from_toml(
            "[registry.\"r.example\".oci]\nauth = { username = \"cfg\", password = \"pw\" }",
        )
        .unwrap();
        let oci = config.registries.values().next().unwrap().oci.as_ref();
        let with_env = |token: Option<&'static str>| CredentialSources {
            env: Box::leak(Box::new(move |key: &str| {
                (key == "WKG_REGISTRY_R_EXAMPLE_AUTH_BEARER")
                    .then(|| token.map(str::to_owned))
                    .flatten()
            })),
            docker_config_dir: Some(dir.path().to_path_buf()),
        };

        let bearer = resolve("r.example", oci, &with_env(Some("tok"))).unwrap();
        assert_eq!(bearer, Credentials::Bearer(Secret::new("tok")));

        let Credentials::Basic(basic) = resolve("r.example", oci, &with_env(None)).unwrap() else {
            panic!("basic expected")
        };
        assert_eq!(basic.username, "cfg");

        let Credentials::Basic(docker) = resolve("r.example", None, &with_env(None)).unwrap()
        else {
            panic!("docker credentials expected")
        };
        assert_eq!(
            (docker.username.as_str(), docker.password.expose()),
            ("dock", "pw")
        );

        assert_eq!(
            resolve("nowhere.example", None, &with_env(None)).unwrap(),
            Credentials::Anonymous
        );
    }
}
