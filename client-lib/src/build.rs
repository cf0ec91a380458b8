//! `wkg build`: a WIT directory and its dependencies encoded as one binary WIT package.
//!
//! Dependencies resolve as for `wkg fetch` (through `wkg.lock`), but nothing is written to
//! `deps/`: the fetched packages are combined in memory with the directory's own WIT. The
//! package then gets wasm-metadata from the `[metadata]` of `wkg.toml`, which `publish`
//! turns into OCI annotations (upstream's mapping: `description`, `license` → licenses,
//! `homepage` → url, `repository` → source, `authors`).

use std::path::Path;

use wasm_metadata::{
    AddMetadata, AddMetadataField, Authors, Description, Homepage, Licenses, Revision, Source,
    Version,
};
use wit_parser::UnresolvedPackageGroup;

use crate::client::Client;
use crate::deps::{ResolvedDep, merged_resolve, resolve_dependencies, wit_error};
use crate::error::{Error, Result};
use crate::lock::LockFile;
use crate::manifest::{Manifest, PackageMetadata};
use crate::package::PackageRef;

/// A built WIT package.
#[derive(Clone, Debug)]
pub struct Built {
    pub package: PackageRef,
    pub version: Option<semver::Version>,
    pub bytes: Vec<u8>,
    pub deps: Vec<ResolvedDep>,
}

/// A built package in a temporary file (for publishing a directory); deleted on drop.
pub struct TempPackage(tempfile::NamedTempFile);

impl TempPackage {
    pub fn new(bytes: &[u8]) -> Result<TempPackage> {
        use std::io::Write as _;
        let io = |source| Error::Io {
            action: "could not write a temporary file in",
            path: std::env::temp_dir(),
            source,
        };
        let mut file = tempfile::Builder::new()
            .prefix(".wkg-package-")
            .suffix(".wasm")
            .tempfile()
            .map_err(io)?;
        file.write_all(bytes).map_err(io)?;
        Ok(TempPackage(file))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Builds `wit_dir` into a binary WIT package; `lock` is updated in memory.
pub async fn build_package(
    client: &Client,
    wit_dir: &Path,
    lock: &mut LockFile,
    manifest: &Manifest,
) -> Result<Built> {
    let resolution =
        resolve_dependencies(client, wit_dir, lock, false, &manifest.overrides).await?;
    let mut resolve = merged_resolve(&resolution.files, &resolution.locals)?;
    let group = UnresolvedPackageGroup::parse_dir(wit_dir).map_err(|err| Error::Wit {
        path: wit_dir.to_path_buf(),
        message: "could not parse the WIT package in this directory".into(),
        source: Some(err.into()),
    })?;
    let id = resolve.push_group(group).map_err(|err| Error::Wit {
        path: wit_dir.to_path_buf(),
        message: "does not resolve with its dependencies".into(),
        source: Some(err.into()),
    })?;
    let name = resolve.packages[id].name.clone();
    let package: PackageRef = format!("{}:{}", name.namespace, name.name)
        .parse()
        .map_err(|err: Error| wit_error(wit_dir, err.to_string()))?;
    let encoded = wit_component::encode(&resolve, id, false).map_err(|err| Error::Wit {
        path: wit_dir.to_path_buf(),
        message: "could not be encoded as a WIT package".into(),
        source: Some(err.into()),
    })?;
    let bytes = add_metadata(
        &encoded,
        &package,
        name.version.as_ref(),
        &manifest.metadata,
    )
    .map_err(|err| wit_error(Path::new(crate::manifest::MANIFEST_FILE_NAME), err))?;
    *lock = resolution.lock;
    Ok(Built {
        package,
        version: name.version,
        bytes,
        deps: resolution.deps,
    })
}

/// Embeds the package name, version and `[metadata]` as wasm-metadata custom sections.
fn add_metadata(
    wasm: &[u8],
    package: &PackageRef,
    version: Option<&semver::Version>,
    metadata: &PackageMetadata,
) -> std::result::Result<Vec<u8>, String> {
    fn set<T: std::fmt::Debug + Clone>(value: Option<T>) -> AddMetadataField<T> {
        value.map_or(AddMetadataField::Keep, AddMetadataField::Set)
    }
    fn checked<T, E: std::fmt::Display>(
        what: &str,
        result: std::result::Result<T, E>,
    ) -> std::result::Result<T, String> {
        result.map_err(|err| format!("[metadata] {what}: {err}"))
    }
    let mut add = AddMetadata::default();
    add.name = AddMetadataField::Set(package.to_string());
    add.version = set(version.map(|v| Version::new(v.to_string())));
    add.processed_by = vec![("wkg".to_owned(), env!("CARGO_PKG_VERSION").to_owned())];
    add.authors = set(metadata.authors.clone().map(Authors::new));
    add.description = set(metadata.description.clone().map(Description::new));
    add.revision = set(metadata.revision.clone().map(Revision::new));
    if let Some(licenses) = &metadata.licenses {
        add.licenses = AddMetadataField::Set(checked("license", Licenses::new(licenses))?);
    }
    if let Some(homepage) = &metadata.homepage {
        add.homepage = AddMetadataField::Set(checked("homepage", Homepage::new(homepage))?);
    }
    if let Some(repository) = &metadata.repository {
        add.source = AddMetadataField::Set(checked("repository", Source::new(repository))?);
    }
    add.to_wasm(wasm)
        .map_err(|err| format!("could not add metadata: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_embedded() {
        let metadata = PackageMetadata {
            description: Some("d".into()),
            licenses: Some("MIT".into()),
            repository: Some("https://example.com/r".into()),
            ..PackageMetadata::default()
        };
        let mut resolve = wit_parser::Resolve::default();
        let id = resolve
            .push_str("p.wit", "package acme:p@1.0.0;\ninterface i {}\n")
            .unwrap();
        let wasm = wit_component::encode(&resolve, id, false).unwrap();
        let package: PackageRef = "acme:p".parse().unwrap();
        let version = semver::Version::new(1, 0, 0);
        let with = add_metadata(&wasm, &package, Some(&version), &metadata).unwrap();
        let info = crate::wasm::WasmInfo::decode(Path::new("p.wasm"), &with).unwrap();
        assert_eq!(
            info.annotations["org.opencontainers.image.description"],
            "d"
        );
        assert_eq!(info.annotations["org.opencontainers.image.licenses"], "MIT");
        assert_eq!(
            info.annotations["org.opencontainers.image.source"],
            "https://example.com/r"
        );

        let bad = PackageMetadata {
            licenses: Some("not a licence!".into()),
            ..PackageMetadata::default()
        };
        let err = add_metadata(&wasm, &package, None, &bad).unwrap_err();
        assert!(err.contains("[metadata] license"), "{err}");
    }
}
