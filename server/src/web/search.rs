//! `GET /search?q=&namespace=&cursor=`: the package API's search
//! (`GET /api/v1/packages`) as a page: the same query over names, metadata
//! and interfaces, the same visibility filter, the same cursors.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::html;

use super::format::{headline, package_href};
use super::session::Session;
use super::{Page, PageResult, respond};
use crate::auth::listing::visible_page;
use crate::packages::naming::is_label;
use crate::packages::versions::description;
use crate::state::AppState;

/// Packages per page.
const PAGE: usize = 20;
/// Longer queries are cut: nothing real is this long.
const MAX_QUERY: usize = 200;

/// The query string, read leniently: a page never answers 400 to a
/// malformed field, it just ignores it.
#[derive(Debug, Default)]
struct Params {
    q: String,
    namespace: Option<String>,
    cursor: Option<(String, String)>,
}

fn params(query: Option<&str>) -> Params {
    let mut params = Params::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "q" => params.q = value.trim().chars().take(MAX_QUERY).collect(),
            "namespace" if !value.is_empty() => params.namespace = Some(value.into_owned()),
            "cursor" => {
                params.cursor = value
                    .split_once(':')
                    .filter(|(ns, name)| is_label(ns) && is_label(name))
                    .map(|(ns, name)| (ns.to_string(), name.to_string()));
            }
            _ => {}
        }
    }
    params
}

pub async fn show(
    State(app): State<AppState>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Response {
    let result = render(&app, &session, params(query.as_deref())).await;
    respond(&app, &session, result)
}

struct Hit {
    namespace: String,
    name: String,
    latest: Option<String>,
    description: Option<String>,
    versions: usize,
}

async fn render(app: &AppState, session: &Session, params: Params) -> PageResult {
    let bad_namespace = params.namespace.as_deref().filter(|ns| !is_label(ns));
    let (hits, next) = if bad_namespace.is_some() {
        (Vec::new(), None)
    } else {
        let q = (!params.q.is_empty()).then_some(params.q.as_str());
        let (names, next) = visible_page(
            PAGE,
            params.cursor.clone(),
            |after, batch| {
                let db = app.db.clone();
                let namespace = params.namespace.clone();
                let q = q.map(str::to_string);
                async move {
                    let after = after.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str()));
                    db.list_packages(namespace.as_deref(), q.as_deref(), after, batch)
                        .await
                }
            },
            |(namespace, name)| session.may_see(app, namespace, name),
        )
        .await?;
        let mut hits = Vec::with_capacity(names.len());
        for (namespace, name) in names {
            let versions = app.db.package_versions(&namespace, &name).await?;
            let shown = headline(&versions);
            hits.push(Hit {
                latest: shown.map(|v| v.version.clone()),
                description: shown.and_then(description),
                versions: versions.len(),
                namespace,
                name,
            });
        }
        (hits, next)
    };
    let heading = match (&params.namespace, params.q.is_empty()) {
        (Some(ns), true) => format!("Packages in {ns}"),
        (Some(ns), false) => format!("Results for “{}” in {ns}", params.q),
        (None, false) => format!("Results for “{}”", params.q),
        (None, true) => "All packages".to_string(),
    };
    let next_href = next.map(|(ns, name)| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !params.q.is_empty() {
            query.append_pair("q", &params.q);
        }
        if let Some(namespace) = &params.namespace {
            query.append_pair("namespace", namespace);
        }
        query.append_pair("cursor", &format!("{ns}:{name}"));
        format!("/search?{}", query.finish())
    });
    let body = html! {
        h1 { (heading) }
        form.search.search-large role="search" action="/search" method="get" {
            label.visually-hidden for="search-q" { "Search by name, description or interface" }
            input #search-q type="search" name="q" value=(params.q)
                placeholder="Search by name, description or interface";
            @if let Some(namespace) = params.namespace.as_deref().filter(|ns| is_label(ns)) {
                input type="hidden" name="namespace" value=(namespace);
            }
            button type="submit" { "Search" }
        }
        @if let Some(namespace) = bad_namespace {
            p.alert role="alert" { "“" (namespace) "” is not a namespace: namespaces are lowercase kebab-case, like "
                code { "wasi" } "." }
        } @else if hits.is_empty() {
            p.empty { "No packages match. Try fewer words, or "
                a href="/search" { "browse all packages" } "." }
        } @else {
            ul.package-list {
                @for hit in &hits {
                    li {
                        div.title {
                            a.name href=(package_href(&hit.namespace, &hit.name)) {
                                (hit.namespace) ":" (hit.name)
                            }
                            @if let Some(latest) = &hit.latest {
                                span.badge { (latest) }
                            }
                            span.hint { (hit.versions) @if hit.versions == 1 { " version" } @else { " versions" } }
                        }
                        @if let Some(description) = &hit.description {
                            p { (description) }
                        }
                    }
                }
            }
        }
        @if let Some(href) = next_href {
            p.pager { a href=(href) rel="next" { "Next page" } }
        }
    };
    Ok(Page::ok(heading, body))
}

#[cfg(test)]
mod tests {
    use super::params;

    #[test]
    fn malformed_fields_are_ignored() {
        let p = params(Some("q=+http+&cursor=nonsense&namespace=wasi&x=1"));
        assert_eq!(p.q, "http");
        assert_eq!(p.namespace.as_deref(), Some("wasi"));
        assert!(p.cursor.is_none());
        let p = params(Some("cursor=wasi:http"));
        assert_eq!(p.cursor, Some(("wasi".into(), "http".into())));
        assert_eq!(params(None).q, "");
    }
}
