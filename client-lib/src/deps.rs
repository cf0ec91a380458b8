//! `wkg fetch` / `wkg update`: the WIT packages a WIT directory uses, pinned in `wkg.lock`.
//!
//! The directory's own WIT names its dependencies (`use wasi:io/streams@0.2.0` or
//! `import acme:types/clock`). Each becomes a requirement as upstream writes it: `=<version>`
//! when the WIT names a version, `*` otherwise. A requirement the lock file already
//! resolved is fetched at exactly that version and its digest checked against the lock,
//! so a changed upstream is noticed instead of silently used; `update` ignores the lock
//! and takes the highest matching version. Packages fetched from a registry carry their
//! own dependencies, so only direct dependencies are resolved and locked, as upstream.
//!
//! The packages are written into `<wit dir>/deps/` (the directory is replaced): as WIT
//! text, one `deps/<ns>-<name>[-<version>]/package.wit` per package (transitive ones
//! included), or as binaries `deps/<ns>-<name>[-<version>].wasm`. Finally the directory is
//! resolved with its new deps, so a dependency that does not provide what the WIT uses
//! is reported now rather than at build time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use semver::VersionReq;
use wit_parser::decoding::{DecodedWasm, decode};
use wit_parser::{PackageName, Resolve, UnresolvedPackageGroup};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::lock::{LockFile, LockedVersion};
use crate::manifest::Override;
use crate::package::{PackageRef, PackageSpec};

/// How dependencies are written into `deps/`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DepsFormat {
    /// WIT text, one directory per package.
    #[default]
    Wit,
    /// The binary WIT packages as fetched.
    Wasm,
}

/// One direct dependency and what it resolved to.
#[derive(Clone, Debug)]
pub struct ResolvedDep {
    pub package: PackageRef,
    pub requirement: VersionReq,
    pub version: semver::Version,
    pub registry: String,
    /// The lock file already had it (not a new or updated resolution).
    pub from_lock: bool,
}

/// The direct dependencies named by the WIT in `wit_dir`, with upstream's requirements.
pub fn wit_dependencies(wit_dir: &Path) -> Result<Vec<(PackageRef, VersionReq)>> {
    let group = UnresolvedPackageGroup::parse_dir(wit_dir).map_err(|err| Error::Wit {
        path: wit_dir.to_path_buf(),
        message: "could not parse the WIT package in this directory".into(),
        source: Some(err.into()),
    })?;
    let local: Vec<&PackageName> = std::iter::once(&group.main.name)
        .chain(group.nested.iter().map(|p| &p.name))
        .collect();
    let mut deps = Vec::new();
    let packages = std::iter::once(&group.main).chain(&group.nested);
    for name in packages.flat_map(|p| p.foreign_deps.keys()) {
        if local.contains(&name) {
            continue;
        }
        let package: PackageRef = format!("{}:{}", name.namespace, name.name)
            .parse()
            .map_err(|err: Error| wit_error(wit_dir, err.to_string()))?;
        let requirement = match &name.version {
            Some(version) => format!("={version}"),
            None => "*".to_owned(),
        };
        let requirement = VersionReq::parse(&requirement)
            .map_err(|err| wit_error(wit_dir, format!("`{requirement}`: {err}")))?;
        if !deps.contains(&(package.clone(), requirement.clone())) {
            deps.push((package, requirement));
        }
    }
    deps.sort_by(|a, b| {
        (a.0.to_string(), a.1.to_string()).cmp(&(b.0.to_string(), b.1.to_string()))
    });
    Ok(deps)
}

/// The outcome of resolving a directory's dependencies, before anything is written.
#[derive(Clone, Debug)]
pub struct Resolution {
    pub deps: Vec<ResolvedDep>,
    /// The fetched packages (in the cache, or a local registry), one per dependency.
    pub files: Vec<PathBuf>,
    /// WIT packages that `[overrides]` point at by path (not locked).
    pub locals: Vec<PathBuf>,
    /// The lock file that records exactly these resolutions.
    pub lock: LockFile,
}

/// Resolves and fetches the direct dependencies of `wit_dir`. `update` ignores what `lock`
/// pinned; otherwise pinned requirements are fetched at their version and digest-checked.
/// `overrides` (from `wkg.toml`) replace a dependency by a local path, or its requirement.
pub async fn resolve_dependencies(
    client: &Client,
    wit_dir: &Path,
    lock: &LockFile,
    update: bool,
    overrides: &BTreeMap<PackageRef, Override>,
) -> Result<Resolution> {
    let wanted = wit_dependencies(wit_dir)?;
    let mut resolution = Resolution {
        deps: Vec::new(),
        files: Vec::new(),
        locals: Vec::new(),
        lock: LockFile::default(),
    };
    for (package, requirement) in wanted {
        let requirement = match overrides.get(&package) {
            Some(Override {
                path: Some(path), ..
            }) => {
                resolution.locals.push(path.clone());
                continue;
            }
            Some(Override {
                version: Some(version),
                ..
            }) => version.clone(),
            _ => requirement,
        };
        let registry = client.registry_for(&package)?.to_string();
        let pinned = (!update)
            .then(|| lock.resolve(&package, Some(&registry), &requirement))
            .flatten()
            .cloned();
        let version = match &pinned {
            Some(locked) => locked.version.clone(),
            None => highest_matching(client, &package, &requirement, &registry).await?,
        };
        let spec = PackageSpec {
            package: package.clone(),
            version: Some(version.clone()),
        };
        let fetched = client.get(&spec, None).await?;
        if let Some(locked) = &pinned
            && locked.digest != fetched.digest
        {
            return Err(Error::LockMismatch {
                package: format!("{package}@{version}"),
                registry,
                locked: locked.digest.to_string(),
                actual: fetched.digest.to_string(),
            });
        }
        resolution.lock.insert(
            &package,
            Some(&registry),
            LockedVersion {
                requirement: requirement.clone(),
                version: version.clone(),
                digest: fetched.digest.clone(),
            },
        );
        resolution.files.push(fetched.path.clone());
        resolution.deps.push(ResolvedDep {
            package,
            requirement,
            version,
            registry,
            from_lock: pinned.is_some(),
        });
    }
    Ok(resolution)
}

/// Resolves, fetches and writes the dependencies of `wit_dir`, updating `lock` in memory
/// (the caller saves it once everything succeeded). `update` ignores what `lock` pinned.
pub async fn fetch_dependencies(
    client: &Client,
    wit_dir: &Path,
    lock: &mut LockFile,
    format: DepsFormat,
    update: bool,
    overrides: &BTreeMap<PackageRef, Override>,
) -> Result<Vec<ResolvedDep>> {
    let resolution = resolve_dependencies(client, wit_dir, lock, update, overrides).await?;
    write_deps(wit_dir, &resolution, format)?;
    *lock = resolution.lock;
    Ok(resolution.deps)
}

async fn highest_matching(
    client: &Client,
    package: &PackageRef,
    requirement: &VersionReq,
    registry: &str,
) -> Result<semver::Version> {
    let (_, versions) = client.list_versions(package, None).await?;
    versions
        .iter()
        .rev()
        .find(|v| requirement.matches(v))
        .cloned()
        .ok_or_else(|| Error::NoMatchingVersion {
            package: package.clone(),
            requirement: requirement.to_string(),
            registry: registry.to_owned(),
            available: Box::new(versions),
        })
}

/// Replaces `<wit_dir>/deps` with the packages in `files`, then checks the directory resolves.
fn write_deps(wit_dir: &Path, resolution: &Resolution, format: DepsFormat) -> Result<()> {
    let files = &resolution.files;
    let deps = wit_dir.join("deps");
    let io = |action, path: &Path, source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_dir_all(&deps) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io("could not clear", &deps, err)),
    }
    std::fs::create_dir_all(&deps).map_err(|e| io("could not create", &deps, e))?;
    let merged = merged_resolve(files, &resolution.locals)?;
    if format == DepsFormat::Wasm {
        for file in files {
            let (resolve, id) = decode_wit_package(file)?;
            let target = deps.join(format!("{}.wasm", dir_name(&resolve.packages[id].name)));
            std::fs::copy(file, &target).map_err(|e| io("could not write", &target, e))?;
        }
        for local in &resolution.locals {
            copy_local(local, &deps)?;
        }
    }
    if format == DepsFormat::Wit {
        for (id, package) in merged.packages.iter() {
            let dir = deps.join(dir_name(&package.name));
            std::fs::create_dir_all(&dir).map_err(|e| io("could not create", &dir, e))?;
            let mut printer = wit_component::WitPrinter::default();
            printer
                .print(&merged, id, &[])
                .map_err(|err| wit_error(&dir, format!("could not print WIT: {err:#}")))?;
            let file = dir.join("package.wit");
            std::fs::write(&file, printer.output.to_string())
                .map_err(|e| io("could not write", &file, e))?;
        }
    }
    Resolve::default()
        .push_dir(wit_dir)
        .map_err(|err| Error::Wit {
            path: wit_dir.to_path_buf(),
            message: "does not resolve with the fetched dependencies".into(),
            source: Some(err.into()),
        })?;
    Ok(())
}

/// A local override as-is: a file into `deps/`, a directory's files into `deps/<name>/`.
fn copy_local(local: &Path, deps: &Path) -> Result<()> {
    let io = |path: &Path, source| Error::Io {
        action: "could not copy the local dependency",
        path: path.to_path_buf(),
        source,
    };
    let name = local.file_name().unwrap_or_default();
    if local.is_file() {
        std::fs::copy(local, deps.join(name)).map_err(|e| io(local, e))?;
        return Ok(());
    }
    let target = deps.join(name);
    std::fs::create_dir_all(&target).map_err(|e| io(&target, e))?;
    for entry in std::fs::read_dir(local)
        .map_err(|e| io(local, e))?
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), target.join(entry.file_name()))
                .map_err(|e| io(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// One `Resolve` holding every package in `files` (and the packages they carry), plus
/// the local WIT packages of `[overrides]`.
pub fn merged_resolve(files: &[PathBuf], locals: &[PathBuf]) -> Result<Resolve> {
    let mut merged = Resolve::default();
    for file in files {
        let (resolve, _) = decode_wit_package(file)?;
        merged.merge(resolve).map_err(|err| {
            wit_error(
                file,
                format!("could not be combined with the other dependencies: {err:#}"),
            )
        })?;
    }
    for local in locals {
        merged.push_path(local).map_err(|err| Error::Wit {
            path: local.clone(),
            message: "(a path in wkg.toml [overrides]) is not a usable WIT package".into(),
            source: Some(err.into()),
        })?;
    }
    Ok(merged)
}

/// Decodes a binary WIT package; a component is an error (it cannot be a dependency).
fn decode_wit_package(file: &Path) -> Result<(Resolve, wit_parser::PackageId)> {
    let bytes = std::fs::read(file).map_err(|source| Error::Io {
        action: "could not read",
        path: file.to_path_buf(),
        source,
    })?;
    match decode(&bytes) {
        Ok(DecodedWasm::WitPackage(resolve, id)) => Ok((resolve, id)),
        Ok(DecodedWasm::Component(..)) => Err(wit_error(
            file,
            "is a component, not a WIT package, so it cannot be a WIT dependency".into(),
        )),
        Err(err) => Err(Error::InvalidWasm {
            path: file.to_path_buf(),
            source: err.into(),
        }),
    }
}

/// `wasi:io@0.2.0` → `wasi-io-0.2.0`: a file name on every platform, as upstream.
fn dir_name(name: &PackageName) -> String {
    name.to_string().replace([':', '@'], "-")
}

pub(crate) fn wit_error(path: &Path, message: String) -> Error {
    Error::Wit {
        path: path.to_path_buf(),
        message,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_follow_upstream() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("world.wit"),
            "package acme:app;\n\
             world app {\n  import wasi:io/streams@0.2.0;\n  import acme:types/clock;\n  import wasi:io/poll@0.2.0;\n}\n",
        )
        .unwrap();
        let deps: Vec<(String, String)> = wit_dependencies(dir.path())
            .unwrap()
            .into_iter()
            .map(|(p, r)| (p.to_string(), r.to_string()))
            .collect();
        assert_eq!(
            deps,
            [
                ("acme:types".to_owned(), "*".to_owned()),
                ("wasi:io".to_owned(), "=0.2.0".to_owned())
            ]
        );
        assert_eq!(
            dir_name(&PackageName {
                namespace: "wasi".into(),
                name: "io".into(),
                version: Some("0.2.0".parse().unwrap())
            }),
            "wasi-io-0.2.0"
        );
    }

    #[test]
    fn unparsable_wit_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.wit"), "package acme:app;\nworld {").unwrap();
        let err = wit_dependencies(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Wit { .. }), "{err}");
        assert!(err.to_string().contains(&dir.path().display().to_string()));
    }
}
