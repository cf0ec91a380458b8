//! (Re)building the package index from what is stored: `wkg-gateway
//! reindex` for everything, and lazily for one repository when the package
//! API finds nothing indexed for it. Content that predates indexing, or an
//! index built by an older gateway, is brought up to date this way. Like a
//! push, it reads blobs only through their links into the repository.

use super::{Error, Packages, check_manifest};
use crate::db::{VersionClaim, VersionConflict};
use crate::registry::manifests::inspect;

/// What a reindex did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReindexReport {
    pub indexed: usize,
    /// `repository:tag` and why it was left out.
    pub skipped: Vec<String>,
}

impl ReindexReport {
    fn absorb(&mut self, other: ReindexReport) {
        self.indexed += other.indexed;
        self.skipped.extend(other.skipped);
    }
}

/// Indexes the semver tags of `repository` that point at Wasm packages;
/// with `only_missing`, just those without an index row.
pub async fn index_repository(
    packages: &Packages,
    repository: &str,
    only_missing: bool,
) -> Result<ReindexReport, Error> {
    let mut report = ReindexReport::default();
    for tag in packages.db.list_tags(repository, None, i64::MAX).await? {
        if semver::Version::parse(&tag).is_err() {
            continue;
        }
        if only_missing && packages.db.version_pinned(repository, &tag).await? {
            continue;
        }
        let Some(record) = packages.db.get_tagged_manifest(repository, &tag).await? else {
            continue;
        };
        let facts = match inspect(Some(&record.media_type), &record.content) {
            Ok(facts) => facts,
            Err(error) => {
                report
                    .skipped
                    .push(format!("{repository}:{tag}: manifest unreadable: {error}"));
                continue;
            }
        };
        let package = match check_manifest(packages, repository, &facts).await {
            Ok(Some(package)) => package,
            Ok(None) => continue,
            // Not a verdict on the content: the caller may retry (the
            // package API answers 503 with Retry-After and indexes on its
            // next miss; proxied pulls are served anyway and log it).
            Err(error) if error.is_busy() => return Err(Error::IndexingBusy),
            Err(error) => {
                report.skipped.push(format!(
                    "{repository}:{tag}: not a valid Wasm package: {error}"
                ));
                continue;
            }
        };
        let content = package.version_content(packages, repository, &facts);
        let claim = VersionClaim {
            version: &tag,
            content: Some(&content),
        };
        match packages.db.reindex_version(repository, &record.digest, claim).await? {
            None => report.indexed += 1,
            Some(VersionConflict { layer_digest, .. }) => report.skipped.push(format!(
                "{repository}:{tag}: the version is pinned to {layer_digest}, the tag points at other content"
            )),
        }
    }
    Ok(report)
}

/// Reindexes every repository.
pub async fn reindex_all(packages: &Packages) -> Result<ReindexReport, Error> {
    let mut report = ReindexReport::default();
    for repository in packages.db.list_repositories(None, i64::MAX).await? {
        report.absorb(index_repository(packages, &repository, false).await?);
    }
    Ok(report)
}
