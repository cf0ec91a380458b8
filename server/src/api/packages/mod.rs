//! The Wasm package API under `/api/v1/packages`: list and search, versions,
//! metadata, WIT, content, semver resolution, yank. JSON in the error
//! envelope of the rest of the gateway, with codes of its own (openapi.yaml).

pub mod list;
pub mod versions;
pub mod yank;

use serde_json::{Map, Value, json};

use crate::db::IndexedVersion;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::packages::naming::{self, is_label};
use crate::packages::reindex::index_repository;
use crate::packages::versions::{description, highest, latest, parse_json, sort_newest_first};
use crate::state::App;

/// On a miss, indexes the package's repository (content pushed before the
/// index existed) and says whether that found anything. The list endpoint
/// does not do this; `wkg-gateway reindex` covers it.
pub async fn index_on_miss(app: &App, namespace: &str, name: &str) -> ApiResult<bool> {
    let repository = naming::repository(&app.config.registry.namespace_prefix, namespace, name);
    if !app.db.repository_exists(&repository).await? {
        return Ok(false);
    }
    Ok(index_repository(&app.packages, &repository, true)
        .await?
        .indexed
        > 0)
}

/// Validated `{ns}/{name}` path parameters.
pub fn package_name(namespace: &str, name: &str) -> ApiResult<()> {
    if is_label(namespace) && is_label(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            ErrorCode::NameInvalid,
            format!(
                "{namespace}:{name} is not a package name: use lowercase kebab-case like wasi:http"
            ),
        ))
    }
}

pub fn version_param(version: &str) -> ApiResult<semver::Version> {
    if !naming::is_version(version) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("{version:?} is not a semver version like 1.2.3"),
        ));
    }
    semver::Version::parse(version).map_err(|e| {
        ApiError::bad_request(
            ErrorCode::InvalidParameter,
            format!("{version:?} is not a semver version: {e}"),
        )
    })
}

pub fn package_unknown(namespace: &str, name: &str) -> ApiError {
    ApiError::not_found(
        ErrorCode::PackageUnknown,
        format!(
            "package {namespace}:{name} has no published versions here; check the name or publish it first"
        ),
    )
}

pub fn version_unknown(namespace: &str, name: &str, version: &str) -> ApiError {
    ApiError::not_found(
        ErrorCode::VersionUnknown,
        format!(
            "{namespace}:{name}@{version} is not published here; list the versions at /api/v1/packages/{namespace}/{name}"
        ),
    )
}

fn rfc3339(millis: i64) -> String {
    let time = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    humantime::format_rfc3339_millis(time).to_string()
}

/// What a version list shows of each version.
pub fn summary(version: &IndexedVersion) -> Value {
    json!({
        "version": version.version,
        "yanked": version.yanked,
        "publishedAt": rfc3339(version.created_at),
        "kind": version.kind,
        "size": version.size,
        "layerDigest": version.layer_digest,
        "manifestDigest": version.manifest_digest,
        "description": description(version),
        "upstream": version.upstream,
    })
}

/// Everything known about one version.
pub fn detail(version: &IndexedVersion) -> Value {
    let mut value = summary(version);
    let fields = value
        .as_object_mut()
        .map(std::mem::take)
        .unwrap_or_default();
    let mut object = Map::new();
    object.insert(
        "package".into(),
        format!("{}:{}", version.namespace, version.name).into(),
    );
    object.insert("repository".into(), version.repository.clone().into());
    object.extend(fields);
    object.insert(
        "annotations".into(),
        non_null(parse_json(version.annotations.as_deref())),
    );
    object.insert(
        "metadata".into(),
        non_null(parse_json(version.metadata.as_deref())),
    );
    let wit = version.wit_package.as_ref().map(|package| {
        json!({
            "package": package,
            "worlds": parse_json(version.worlds.as_deref()),
            "interfaces": parse_json(version.interfaces.as_deref()),
            "imports": parse_json(version.imports.as_deref()),
            "exports": parse_json(version.exports.as_deref()),
        })
    });
    object.insert("wit".into(), wit.unwrap_or(Value::Null));
    Value::Object(object)
}

fn non_null(value: Value) -> Value {
    if value.is_null() { json!({}) } else { value }
}
