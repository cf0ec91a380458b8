//! Tag lists of proxied repositories: the upstream's tags and the cached ones, merged.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{Error, Proxy, Upstream};
use crate::names::RepoName;
use crate::registry::content::Served;

/// Every tag of a proxied repository, sorted; `None` when neither the cache
/// nor the upstream knows the repository. Stale (with a `Warning` header)
/// when the upstream could not be asked and only cached tags are listed.
pub async fn merged(
    proxy: &Proxy,
    upstream: &Arc<Upstream>,
    repo: &RepoName,
) -> Result<Option<Served<Vec<String>>>, Error> {
    let cached = proxy
        .registry
        .db
        .list_tags(repo.as_str(), None, i64::MAX)
        .await?;
    let known_here =
        !cached.is_empty() || proxy.registry.db.repository_exists(repo.as_str()).await?;
    let mut tags: BTreeSet<String> = cached.into_iter().collect();
    match upstream.tags(repo.as_str()).await {
        Ok(Some(remote)) => tags.extend(remote),
        Ok(None) if !known_here => return Ok(None),
        Ok(None) => {}
        Err(error) if !known_here => return Err(error.into()),
        Err(error) => {
            tracing::warn!(upstream = %upstream.name(), %repo, %error, "listing only the cached tags");
            crate::metrics::global().upstream_cache(upstream.name(), "tags", "stale");
            let warning = format!(
                "110 - \"Response is Stale: upstream {} could not be asked; cached tags only\"",
                upstream.name()
            );
            return Ok(Some(Served {
                value: tags.into_iter().collect(),
                stale: Some(warning),
            }));
        }
    }
    Ok(Some(Served::fresh(tags.into_iter().collect())))
}
