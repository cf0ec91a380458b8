//! `wkg oci pull` / `wkg oci push`: Wasm artifacts addressed by OCI reference directly.
//!
//! These bypass config.toml and discovery on purpose (upstream does the same): the user
//! names the registry, repository and tag, and credentials come only from the command line
//! or Docker's config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use oci_client::Reference;

use crate::cache::{BlobWriter, Digest};
use crate::client::{inspect, sha256};
use crate::error::{Error, Result};
use crate::oci::{self, OciClient, WASM_LAYER};
use crate::wasm::now_rfc3339;

/// The result of a pull: where the content went and what it was.
#[derive(Clone, Debug)]
pub struct Pulled {
    pub path: PathBuf,
    pub digest: Digest,
    pub manifest_digest: String,
}

/// Downloads the Wasm layer of `reference` to `output`, verified, atomically.
pub async fn pull(client: &OciClient, reference: &Reference, output: &Path) -> Result<Pulled> {
    let Some((manifest, manifest_digest)) = client.image_manifest(reference).await? else {
        return Err(Error::Registry {
            registry: client.registry().to_owned(),
            message: format!("{reference} was not found; check the repository and tag"),
            source: None,
        });
    };
    let layer = match manifest.layers.as_slice() {
        [only] => only,
        layers => layers
            .iter()
            .find(|l| l.media_type == WASM_LAYER)
            .ok_or_else(|| Error::NotAWasmPackage {
                reference: reference.to_string(),
                reason: format!("none of its {} layers is {WASM_LAYER}", layers.len()),
            })?,
    };
    let digest = Digest::parse(&layer.digest).ok_or_else(|| Error::NotAWasmPackage {
        reference: reference.to_string(),
        reason: format!("layer digest {} is not sha256", layer.digest),
    })?;
    let path = client
        .download(reference, layer, &reference.to_string(), || {
            BlobWriter::create(output.to_path_buf(), &digest)
        })
        .await?;
    Ok(Pulled {
        path,
        digest,
        manifest_digest,
    })
}

/// Pushes `file` to `reference` as a Wasm package, with extra manifest annotations and,
/// when given, an author that overrides the file's metadata.
pub async fn push(
    client: &OciClient,
    reference: &Reference,
    file: &Path,
    annotations: &BTreeMap<String, String>,
    author: Option<&str>,
) -> Result<String> {
    let (mut info, layer_digest, size) = inspect(file).await?;
    if let Some(author) = author {
        info.author = Some(author.to_owned());
        info.annotations.insert(
            "org.opencontainers.image.authors".to_owned(),
            author.to_owned(),
        );
    }
    let mut all = info.annotations.clone();
    all.extend(annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    let config = serde_json::to_vec(&info.oci_config(layer_digest.as_str(), &now_rfc3339()))
        .unwrap_or_default();
    let config_digest = sha256(&config);
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("component");
    let version = reference.tag().unwrap_or("latest");
    let mut manifest = oci::wasm_manifest(
        (config_digest.as_str(), config.len()),
        (layer_digest.as_str(), size),
        name,
        version,
        &all,
    );
    if semver::Version::parse(version).is_err() {
        // The version annotation only makes sense for semver tags.
        let mut json: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
        if let Some(map) = json["annotations"].as_object_mut() {
            map.remove("org.opencontainers.image.version");
        }
        manifest = serde_json::to_vec(&json).unwrap_or(manifest);
    }
    client
        .push_file(
            reference,
            file,
            layer_digest.as_str(),
            size,
            &reference.to_string(),
        )
        .await?;
    client
        .push_bytes(reference, config, config_digest.as_str())
        .await?;
    client.push_manifest(reference, &manifest).await?;
    Ok(sha256(&manifest).to_string())
}
