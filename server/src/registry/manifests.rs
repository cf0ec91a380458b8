//! Manifest checks: which media types are accepted, what a manifest refers
//! to, and what the referrers API needs to know about it.
//!
//! Blobs are global, but a manifest may only refer to blobs linked into its
//! own repository (`ManifestFacts::blobs`, checked against the repository's
//! links before anything is stored or read). Foreign layers (descriptors
//! with `urls`, for non-distributable content) are the one exception the
//! OCI spec asks for: a non-Wasm manifest may carry them without the blob
//! being pushed, but they are never linked, read or served here, since the
//! registry does not hold them for that repository. A Wasm package's layer
//! must be readable to validate and index it, so a foreign one is refused
//! (see `packages::check_manifest`).

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde_json::Value;

use super::Error;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Largest manifest accepted, as most registries and clients agree.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What the registry records about a manifest besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFacts {
    pub media_type: String,
    /// `artifactType`, else the config's media type (image manifests).
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    /// Annotations as a JSON object, if any.
    pub annotations: Option<String>,
    /// Blobs that must be linked in the repository: the config and every
    /// layer but foreign ones.
    pub blobs: Vec<String>,
    /// The config descriptor of an image manifest.
    pub config: Option<BlobFacts>,
    /// The layer descriptors of an image manifest.
    pub layers: Vec<BlobFacts>,
    /// Manifests that must exist in the repository (index entries).
    pub manifests: Vec<String>,
}

/// One descriptor of an image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFacts {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// A foreign layer: it has `urls`, and is not required to be (nor ever
    /// read as if it were) a blob of the repository.
    pub foreign: bool,
}

impl From<&Descriptor> for BlobFacts {
    fn from(descriptor: &Descriptor) -> Self {
        Self {
            media_type: descriptor.media_type().to_string(),
            digest: descriptor.digest().to_string(),
            size: descriptor.size(),
            foreign: is_foreign(descriptor),
        }
    }
}

fn is_foreign(descriptor: &Descriptor) -> bool {
    descriptor
        .urls()
        .as_ref()
        .is_some_and(|urls| !urls.is_empty())
}

/// The manifest `reference` (a tag or a digest) names in `repository`, if
/// it is stored there.
pub async fn stored(
    db: &crate::db::Db,
    repository: &str,
    reference: &crate::names::Reference,
) -> Result<Option<crate::db::ManifestRecord>, crate::db::Error> {
    match reference {
        crate::names::Reference::Digest(digest) => {
            db.get_manifest(repository, &digest.to_string()).await
        }
        crate::names::Reference::Tag(tag) => db.get_tagged_manifest(repository, tag.as_str()).await,
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::ManifestInvalid(message.into())
}

/// Parses and checks a manifest. `content_type` is the request's
/// `Content-Type` (parameters ignored); it must agree with the document's
/// own `mediaType` when both are present.
pub fn inspect(content_type: Option<&str>, body: &[u8]) -> Result<ManifestFacts, Error> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("manifest is not valid JSON: {e}")))?;
    let Some(object) = document.as_object() else {
        return Err(invalid("manifest must be a JSON object"));
    };
    if object.get("schemaVersion").and_then(Value::as_u64) == Some(1) {
        return Err(invalid(
            "Docker schema 1 manifests are not supported; push an OCI or Docker schema 2 manifest",
        ));
    }
    if object.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(invalid("manifest must have \"schemaVersion\": 2"));
    }
    let declared = match object.get("mediaType") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid("\"mediaType\" must be a string")),
    };
    let content_type = content_type
        .map(|ct| ct.split(';').next().unwrap_or_default().trim())
        .filter(|ct| !ct.is_empty());
    let media_type = match (content_type, declared) {
        (Some(header), Some(declared)) if header != declared => {
            return Err(invalid(format!(
                "Content-Type {header:?} does not match the manifest's mediaType {declared:?}"
            )));
        }
        (Some(media_type), _) | (None, Some(media_type)) => media_type,
        (None, None) if object.contains_key("manifests") => OCI_INDEX,
        (None, None) => OCI_MANIFEST,
    };
    match media_type {
        OCI_MANIFEST | DOCKER_MANIFEST => image_manifest(media_type, body),
        OCI_INDEX | DOCKER_LIST => image_index(media_type, body),
        other => Err(invalid(format!(
            "unsupported manifest media type {other:?}; use {OCI_MANIFEST}, {OCI_INDEX}, \
             {DOCKER_MANIFEST} or {DOCKER_LIST}"
        ))),
    }
}

fn image_manifest(media_type: &str, body: &[u8]) -> Result<ManifestFacts, Error> {
    let manifest: ImageManifest = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("not a valid image manifest: {e}")))?;
    let mut blobs = vec![manifest.config().digest().to_string()];
    blobs.extend(
        manifest
            .layers()
            .iter()
            // Foreign layers live elsewhere and are fetched from their URLs.
            .filter(|layer| !is_foreign(layer))
            .map(|layer| layer.digest().to_string()),
    );
    let artifact_type = manifest
        .artifact_type()
        .as_ref()
        .map(ToString::to_string)
        .or_else(|| Some(manifest.config().media_type().to_string()));
    Ok(ManifestFacts {
        media_type: media_type.to_string(),
        artifact_type,
        subject: subject_digest(manifest.subject().as_ref()),
        annotations: annotations_json(manifest.annotations().as_ref()),
        blobs,
        config: Some(manifest.config().into()),
        layers: manifest.layers().iter().map(BlobFacts::from).collect(),
        manifests: Vec::new(),
    })
}

fn image_index(media_type: &str, body: &[u8]) -> Result<ManifestFacts, Error> {
    let index: ImageIndex = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("not a valid image index: {e}")))?;
    Ok(ManifestFacts {
        media_type: media_type.to_string(),
        artifact_type: index.artifact_type().as_ref().map(ToString::to_string),
        subject: subject_digest(index.subject().as_ref()),
        annotations: annotations_json(index.annotations().as_ref()),
        blobs: Vec::new(),
        config: None,
        layers: Vec::new(),
        manifests: index
            .manifests()
            .iter()
            .map(|m| m.digest().to_string())
            .collect(),
    })
}

fn subject_digest(subject: Option<&Descriptor>) -> Option<String> {
    subject.map(|s| s.digest().to_string())
}

fn annotations_json(
    annotations: Option<&std::collections::HashMap<String, String>>,
) -> Option<String> {
    let annotations = annotations.filter(|a| !a.is_empty())?;
    let sorted: std::collections::BTreeMap<_, _> = annotations.iter().collect();
    serde_json::to_string(&sorted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const D2: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    fn manifest(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
            "config":{{"mediaType":"application/vnd.wasm.config.v0+json","digest":"{D2}","size":2}},
            "layers":[{{"mediaType":"application/wasm","digest":"{D1}","size":0}}]{extra}}}"#
        )
    }

    #[test]
    fn image_manifest_facts() {
        let body = manifest(&format!(
            r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":1}},"annotations":{{"b":"2","a":"1"}}"#
        ));
        let facts = inspect(Some(OCI_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(facts.blobs, vec![D2.to_string(), D1.to_string()]);
        assert_eq!(
            facts.artifact_type.as_deref(),
            Some("application/vnd.wasm.config.v0+json")
        );
        assert_eq!(facts.subject.as_deref(), Some(D1));
        assert_eq!(facts.annotations.as_deref(), Some(r#"{"a":"1","b":"2"}"#));
    }

    #[test]
    fn foreign_layers_are_not_required_blobs() {
        let body = manifest("").replace(
            r#""size":0}"#,
            r#""size":0,"urls":["https://example.com/layer"]}"#,
        );
        let facts = inspect(Some(OCI_MANIFEST), body.as_bytes()).unwrap();
        assert_eq!(facts.blobs, vec![D2.to_string()]);
        assert!(facts.layers[0].foreign);
        assert!(!facts.config.unwrap().foreign);
        let plain = inspect(Some(OCI_MANIFEST), manifest("").as_bytes()).unwrap();
        assert!(!plain.layers[0].foreign);
    }

    #[test]
    fn rejects_bad_manifests() {
        let ok = manifest("");
        assert!(
            inspect(Some(DOCKER_MANIFEST), ok.as_bytes()).is_err(),
            "type mismatch"
        );
        assert!(
            inspect(
                Some("text/plain"),
                br#"{"schemaVersion":2,"mediaType":"text/plain"}"#
            )
            .is_err()
        );
        assert!(inspect(None, b"[]").is_err());
        assert!(inspect(None, b"{not json").is_err());
        assert!(inspect(None, br#"{"schemaVersion":1}"#).is_err());
        assert!(inspect(Some(OCI_MANIFEST), br#"{"schemaVersion":2}"#).is_err());
        let bad_digest = ok.replace(D1, "sha256:123");
        assert!(inspect(None, bad_digest.as_bytes()).is_err());
    }

    #[test]
    fn index_without_media_type_is_detected() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":3}}]}}"#
        );
        let facts = inspect(None, body.as_bytes()).unwrap();
        assert_eq!(facts.media_type, OCI_INDEX);
        assert_eq!(facts.manifests, vec![D1.to_string()]);
    }
}
