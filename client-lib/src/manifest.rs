//! `wkg.toml`: the optional project file, in upstream's format.
//!
//! ```toml
//! [overrides]
//! "my:local-dep" = { path = "../local-dep/wit" }   # use a local WIT package instead
//! "wasi:http" = { version = "=0.2.0" }             # require this version instead
//!
//! [metadata]
//! authors = ["WasmPkg <wasm-pkg@bytecodealliance.org>"]
//! description = "WASI HTTP interface"
//! license = "Apache-2.0"
//! homepage = "https://foobar.baz"
//! repository = "https://github.com/bytecodealliance/wasm-pkg-tools"
//! ```
//!
//! Override paths are relative to the file's directory. Unknown keys are ignored, as
//! other tools may keep settings here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::deps::wit_error;
use crate::error::{Error, Result};
use crate::package::PackageRef;

/// The project file's name.
pub const MANIFEST_FILE_NAME: &str = "wkg.toml";

/// A parsed `wkg.toml` (default when there is none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub metadata: PackageMetadata,
    pub overrides: BTreeMap<PackageRef, Override>,
}

/// `[overrides]` entry: a local WIT package, or another version requirement.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Override {
    /// A WIT directory or file (text or binary), already made absolute.
    pub path: Option<PathBuf>,
    pub version: Option<semver::VersionReq>,
}

/// `[metadata]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackageMetadata {
    pub authors: Option<String>,
    pub description: Option<String>,
    pub licenses: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub revision: Option<String>,
}

impl Manifest {
    /// Reads `path`; a missing file is an empty manifest.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Manifest::default());
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "could not read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let table: Table = toml::from_str(&text)
            .map_err(|err| wit_error(path, format!("is not valid TOML: {err}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut manifest = Manifest::default();
        if let Some(Value::Table(metadata)) = table.get("metadata") {
            manifest.metadata = PackageMetadata::from_table(metadata);
        }
        if let Some(Value::Table(overrides)) = table.get("overrides") {
            for (name, value) in overrides {
                let bad = |why: &str| wit_error(path, format!("[overrides] \"{name}\": {why}"));
                let package: PackageRef = name.parse().map_err(|_| bad("not a package name"))?;
                let Value::Table(entry) = value else {
                    return Err(bad("expected { path = \"...\" } or { version = \"...\" }"));
                };
                let path = entry
                    .get("path")
                    .map(|p| {
                        p.as_str()
                            .map(|p| base.join(p))
                            .ok_or_else(|| bad("`path` must be a string"))
                    })
                    .transpose()?;
                let version = entry
                    .get("version")
                    .map(|v| {
                        v.as_str()
                            .and_then(|v| semver::VersionReq::parse(v).ok())
                            .ok_or_else(|| bad("`version` must be a semver requirement"))
                    })
                    .transpose()?;
                manifest
                    .overrides
                    .insert(package, Override { path, version });
            }
        }
        Ok(manifest)
    }
}

impl PackageMetadata {
    fn from_table(metadata: &Table) -> PackageMetadata {
        let text = |keys: &[&str]| {
            keys.iter().find_map(|key| match metadata.get(*key)? {
                Value::String(s) => Some(s.clone()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                _ => None,
            })
        };
        PackageMetadata {
            authors: text(&["authors"]),
            description: text(&["description"]),
            licenses: text(&["license", "licenses"]),
            homepage: text(&["homepage"]),
            repository: text(&["repository", "source"]),
            revision: text(&["revision"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE_NAME);
        assert_eq!(Manifest::load(&path).unwrap(), Manifest::default());
        std::fs::write(
            &path,
            "[overrides]\n\"my:local\" = { path = \"../local/wit\" }\n\"wasi:http\" = { version = \"=0.2.0\" }\n\
             [metadata]\nauthors = [\"A <a@x>\", \"B\"]\ndescription = \"d\"\nlicense = \"MIT\"\n\
             repository = \"https://example.com/r\"\n[other-tool]\nx = 1\n",
        )
        .unwrap();
        let manifest = Manifest::load(&path).unwrap();
        let metadata = &manifest.metadata;
        assert_eq!(metadata.authors.as_deref(), Some("A <a@x>, B"));
        assert_eq!(metadata.licenses.as_deref(), Some("MIT"));
        assert_eq!(
            metadata.repository.as_deref(),
            Some("https://example.com/r")
        );
        let local = &manifest.overrides[&"my:local".parse().unwrap()];
        assert_eq!(local.path, Some(dir.path().join("../local/wit")));
        let http = &manifest.overrides[&"wasi:http".parse().unwrap()];
        assert_eq!(http.version, Some("=0.2.0".parse().unwrap()));

        std::fs::write(&path, "[overrides]\n\"Bad\" = { path = \"x\" }\n").unwrap();
        let err = Manifest::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("[overrides] \"Bad\": not a package name"),
            "{err}"
        );
    }
}
