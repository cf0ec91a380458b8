//! `wkg search` and `wkg info`: what a registry has, beyond fetching it.
//!
//! A wkg-gateway answers both from its package API (`/api/v1/packages`), which knows
//! descriptions, yanked versions and WIT summaries without downloading anything. Any other
//! registry only speaks OCI: `info` then lists semver tags and decodes the package itself
//! (through the cache), and `search`, which OCI cannot do, says so. The API is an
//! optimisation, never a requirement: any answer but 200 falls back to OCI for `info`.

use serde_json::Value as Json;

use super::Client;
use crate::discovery::registry_base_url;
use crate::error::{Error, Result};
use crate::oci::{self, Credentials};
use crate::package::{PackageRef, PackageSpec};
use crate::registry::RegistryName;
use crate::wasm::{WasmInfo, WasmKind};

/// A package and its versions.
#[derive(Clone, Debug)]
pub struct PackageInfo {
    pub package: PackageRef,
    pub registry: RegistryName,
    /// Newest first, with whether each is yanked.
    pub versions: Vec<(semver::Version, bool)>,
    /// The requested version, or the latest.
    pub detail: Option<VersionDetail>,
    /// Whether the registry's package API answered (else plain OCI).
    pub from_api: bool,
}

/// What one version is.
#[derive(Clone, Debug, Default)]
pub struct VersionDetail {
    pub version: Option<semver::Version>,
    /// `component`, `wit` or `module`.
    pub kind: String,
    pub description: Option<String>,
    pub licenses: Option<String>,
    pub source: Option<String>,
    pub digest: Option<String>,
    pub worlds: Vec<String>,
    pub interfaces: Vec<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// One search result.
#[derive(Clone, Debug)]
pub struct SearchHit {
    pub package: String,
    pub latest: Option<String>,
    pub description: Option<String>,
}

impl Client {
    /// Versions of `package` and details of `version` (the latest when `None`).
    pub async fn info(
        &self,
        package: &PackageRef,
        version: Option<&semver::Version>,
        registry: Option<&RegistryName>,
    ) -> Result<PackageInfo> {
        let (name, local) = self.registry_name(package, registry)?;
        if !local
            && !self.offline
            && let Some(info) = self.info_from_api(&name, package, version).await
        {
            return Ok(info);
        }
        let (name, versions) = self.list_versions(package, registry).await?;
        let chosen = match version {
            Some(version) => version.clone(),
            None => versions
                .last()
                .cloned()
                .ok_or_else(|| Error::PackageNotFound {
                    package: package.clone(),
                    registry: name.to_string(),
                })?,
        };
        let spec = PackageSpec {
            package: package.clone(),
            version: Some(chosen.clone()),
        };
        let fetched = self.get(&spec, registry).await?;
        let bytes = std::fs::read(&fetched.path).map_err(|source| Error::Io {
            action: "could not read",
            path: fetched.path.clone(),
            source,
        })?;
        let wasm = WasmInfo::decode(&fetched.path, &bytes)?;
        let annotation = |key: &str| {
            wasm.annotations
                .get(&format!("org.opencontainers.image.{key}"))
                .cloned()
        };
        let detail = VersionDetail {
            version: Some(chosen),
            kind: match wasm.kind {
                WasmKind::Component => "component",
                WasmKind::WitPackage => "wit",
                WasmKind::CoreModule => "module",
            }
            .to_owned(),
            description: annotation("description"),
            licenses: annotation("licenses"),
            source: annotation("source"),
            digest: Some(fetched.digest.to_string()),
            worlds: wasm.worlds.clone(),
            interfaces: wasm.interfaces.clone(),
            imports: wasm.imports.clone(),
            exports: wasm.exports.clone(),
        };
        Ok(PackageInfo {
            package: package.clone(),
            registry: name,
            versions: versions.into_iter().rev().map(|v| (v, false)).collect(),
            detail: Some(detail),
            from_api: false,
        })
    }

    /// Packages whose name, description or WIT matches `query` (the package API only).
    pub async fn search(
        &self,
        query: &str,
        registry: Option<&RegistryName>,
    ) -> Result<Vec<SearchHit>> {
        let Some(registry) = registry.or(self.config.default_registry.as_ref()) else {
            return Err(Error::NoDefaultRegistry { what: "search" });
        };
        if self.offline {
            return Err(Error::Offline {
                what: "searching needs the registry".into(),
            });
        }
        let not_offered = |detail: String| Error::Registry {
            registry: registry.to_string(),
            message: format!(
                "does not offer package search ({detail}); only registries with the \
                 wkg-gateway package API do"
            ),
            source: None,
        };
        let body = self
            .api_get(
                registry,
                "/api/v1/packages",
                &[("q", query), ("limit", "100")],
            )
            .await
            .map_err(not_offered)?;
        let hits = body["packages"].as_array().cloned().unwrap_or_default();
        Ok(hits
            .iter()
            .map(|hit| SearchHit {
                package: hit["package"].as_str().unwrap_or_default().to_owned(),
                latest: hit["latest"].as_str().map(str::to_owned),
                description: hit["description"].as_str().map(str::to_owned),
            })
            .collect())
    }

    /// `info` from the package API; `None` when the registry has no API (or it failed).
    async fn info_from_api(
        &self,
        registry: &RegistryName,
        package: &PackageRef,
        version: Option<&semver::Version>,
    ) -> Option<PackageInfo> {
        let path = format!(
            "/api/v1/packages/{}/{}",
            package.namespace(),
            package.name()
        );
        let summary = self.api_get(registry, &path, &[]).await.ok()?;
        let versions: Vec<(semver::Version, bool)> = summary["versions"]
            .as_array()?
            .iter()
            .filter_map(|v| {
                let version = semver::Version::parse(v["version"].as_str()?).ok()?;
                Some((version, v["yanked"].as_bool().unwrap_or(false)))
            })
            .collect();
        let chosen = match version {
            Some(version) => Some(version.to_string()),
            None => summary["latest"].as_str().map(str::to_owned),
        };
        let detail = match chosen {
            Some(chosen) => {
                let body = self
                    .api_get(registry, &format!("{path}/{chosen}"), &[])
                    .await
                    .ok()?;
                Some(detail_from_api(&body))
            }
            None => None,
        };
        Some(PackageInfo {
            package: package.clone(),
            registry: registry.clone(),
            versions,
            detail,
            from_api: true,
        })
    }

    /// GET a JSON document from the registry's API, with the registry's credentials.
    async fn api_get(
        &self,
        registry: &RegistryName,
        path: &str,
        query: &[(&str, &str)],
    ) -> std::result::Result<Json, String> {
        let oci_config = self
            .config
            .registry_config(registry)
            .and_then(|c| c.oci.as_ref());
        let url = format!(
            "{}{path}",
            registry_base_url(
                registry,
                oci_config.and_then(|c| c.protocol),
                &*self.reporter
            )
        );
        let mut request = self.http.get(&url).query(query);
        match oci::auth::resolve(registry.as_str(), oci_config, &self.credentials) {
            Ok(Credentials::Bearer(token)) => request = request.bearer_auth(token.expose()),
            Ok(Credentials::Basic(basic)) => {
                request = request.basic_auth(&basic.username, Some(basic.password.expose()))
            }
            Ok(Credentials::Anonymous) | Err(_) => {}
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response
            .json()
            .await
            .map_err(|e| format!("{url} is not JSON: {e}"))
    }
}

fn detail_from_api(body: &Json) -> VersionDetail {
    let strings = |value: &Json| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let text = |value: &Json| value.as_str().map(str::to_owned);
    let wit = &body["wit"];
    VersionDetail {
        version: body["version"]
            .as_str()
            .and_then(|v| semver::Version::parse(v).ok()),
        kind: body["kind"].as_str().unwrap_or("unknown").to_owned(),
        description: text(&body["description"]).or_else(|| text(&body["metadata"]["description"])),
        licenses: text(&body["metadata"]["licenses"])
            .or_else(|| text(&body["annotations"]["org.opencontainers.image.licenses"])),
        source: text(&body["metadata"]["source"])
            .or_else(|| text(&body["annotations"]["org.opencontainers.image.source"])),
        digest: text(&body["layerDigest"]),
        worlds: strings(&wit["worlds"]),
        interfaces: strings(&wit["interfaces"]),
        imports: strings(&wit["imports"]),
        exports: strings(&wit["exports"]),
    }
}
