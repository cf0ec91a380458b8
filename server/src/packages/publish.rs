//! Storing a manifest: the one path a client's push (`PUT
//! /v2/<name>/manifests/<reference>`) and the proxy's ingest of upstream
//! content share.
//!
//! Both parse and check the manifest ([`inspect`]), record what it refers
//! to, store it with its tag in one transaction, and claim a semver tag as
//! a package version, which pins it to its Wasm content forever. They
//! differ only where their sources do ([`Origin`]):
//! - a push must bring everything the manifest refers to first, and a Wasm
//!   package is validated and its version pinned now;
//! - the proxy stores a manifest whose blobs it fetches on demand, so
//!   nothing it refers to is required yet and its version is pinned once
//!   indexed (after the blobs arrive); until then the claim only refuses a
//!   version pinned to other content, and a version cached before with the
//!   same Wasm layer (deleted since) is stored again.

use super::{Error, Packages, check_manifest};
use crate::db::{ManifestRecord, NewManifest, PutOutcome, VersionClaim};
use crate::digest::Digest;
use crate::names::RepoName;
use crate::registry::manifests::{ManifestFacts, inspect};

/// Where a manifest comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A client's push.
    Push,
    /// Fetched from (or synthesized for) an `[[upstream]]` registry.
    Upstream,
}

/// A manifest as stored, and what was learnt about it.
#[derive(Debug)]
pub struct Stored {
    pub record: ManifestRecord,
    pub facts: ManifestFacts,
}

/// A manifest to store: its bytes, their digest, and the request's
/// `Content-Type` when a client sent one.
#[derive(Debug, Clone, Copy)]
pub struct Manifest<'a> {
    pub digest: &'a Digest,
    pub content: &'a [u8],
    pub content_type: Option<&'a str>,
}

/// Checks and stores `manifest` in `repo`, with `tag` pointing at it.
pub async fn store_manifest(
    packages: &Packages,
    repo: &RepoName,
    manifest: Manifest<'_>,
    tag: Option<&str>,
    origin: Origin,
) -> Result<Stored, Error> {
    let facts = inspect(manifest.content_type, manifest.content)?;
    let pushed = origin == Origin::Push;
    if pushed {
        let db = &packages.db;
        let mut missing = db.missing_blobs(repo.as_str(), &facts.blobs).await?;
        missing.extend(
            db.missing_manifests(repo.as_str(), &facts.manifests)
                .await?,
        );
        if !missing.is_empty() {
            return Err(content_unknown(repo, missing));
        }
    }
    let package = match pushed {
        true => check_manifest(packages, repo.as_str(), &facts).await?,
        false => None,
    };
    let digest = manifest.digest.to_string();
    let mut references: Vec<(String, &'static str)> =
        facts.blobs.iter().map(|d| (d.clone(), "blob")).collect();
    references.extend(facts.manifests.iter().map(|d| (d.clone(), "manifest")));
    let row = NewManifest {
        repository: repo.as_str(),
        digest: &digest,
        media_type: &facts.media_type,
        artifact_type: facts.artifact_type.as_deref(),
        subject: facts.subject.as_deref(),
        annotations: facts.annotations.clone(),
        content: manifest.content,
        references,
        require_references: pushed,
    };
    let content = package
        .as_ref()
        .map(|p| p.version_content(packages, repo.as_str(), &facts));
    let claim = tag
        .filter(|t| semver::Version::parse(t).is_ok())
        .map(|version| VersionClaim {
            version,
            content: content.as_ref(),
        });
    match packages.db.put_manifest(&row, tag, claim).await? {
        PutOutcome::Stored => {}
        PutOutcome::VersionTaken(conflict)
            if !pushed && wasm_layer(&facts) == Some(conflict.layer_digest.as_str()) =>
        {
            packages.db.put_manifest(&row, tag, None).await?;
        }
        PutOutcome::VersionTaken(conflict) => {
            return Err(Error::VersionTaken {
                repository: repo.to_string(),
                conflict,
            });
        }
        // Garbage collection removed it between the check above and the commit.
        PutOutcome::Missing(missing) => return Err(content_unknown(repo, missing)),
    }
    let record = ManifestRecord {
        digest,
        media_type: facts.media_type.clone(),
        content: manifest.content.to_vec(),
    };
    Ok(Stored { record, facts })
}

fn content_unknown(repo: &RepoName, missing: Vec<String>) -> Error {
    Error::ContentUnknown {
        repository: repo.to_string(),
        missing,
    }
}

/// The one layer of a Wasm package manifest.
fn wasm_layer(facts: &ManifestFacts) -> Option<&str> {
    match facts.layers.as_slice() {
        [layer] => Some(layer.digest.as_str()),
        _ => None,
    }
}
