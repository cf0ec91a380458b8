//! `GET /packages/{ns}/{name}`: what a package is, every version, and how
//! to install it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use super::format::{
    About, headline, origin, package_href, recommended, short_digest, size, time, version_badges,
    version_href, web_link,
};
use super::session::Session;
use super::{Page, PageError, PageResult, respond};
use crate::api::packages::sort_newest_first;
use crate::api::well_known::registry_authority;
use crate::app::AppState;
use crate::db::IndexedVersion;
use crate::packages::naming::{self, is_label};

pub async fn show(
    State(app): State<AppState>,
    session: Session,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = match path {
        Ok(Path((namespace, name))) => render(&app, &session, &namespace, &name).await,
        Err(_) => Err(PageError::NotFound("There is no such page.".into())),
    };
    respond(&app, &session, result)
}

/// The package's live versions, newest first; the same 404 for a package
/// that does not exist and one the reader may not pull.
pub async fn visible_versions(
    app: &AppState,
    session: &Session,
    namespace: &str,
    name: &str,
) -> PageResult<Vec<IndexedVersion>> {
    let unknown = || {
        PageError::NotFound(format!(
            "This registry has no package {namespace}:{name}, or you may not see it."
        ))
    };
    if !is_label(namespace) || !is_label(name) || !session.may_see(app, namespace, name) {
        return Err(unknown());
    }
    let mut versions = app.db.package_versions(namespace, name).await?;
    if versions.is_empty() {
        return Err(unknown());
    }
    sort_newest_first(&mut versions);
    Ok(versions)
}

async fn render(app: &AppState, session: &Session, namespace: &str, name: &str) -> PageResult {
    let versions = visible_versions(app, session, namespace, name).await?;
    let Some(shown) = headline(&versions) else {
        return Err(PageError::NotFound("This package has no versions.".into()));
    };
    let latest = recommended(&versions).map(|v| v.version.as_str());
    let about = About::of(shown);
    let package = format!("{namespace}:{name}");
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            ol {
                li { a href="/search" { "Packages" } }
                li { a href={ "/search?namespace=" (namespace) } { (namespace) } }
                li { span aria-current="page" { (name) } }
            }
        }
        div.package-head {
            h1 { (package) }
            @if let Some(description) = &about.description {
                p.lead { (description) }
            }
            div.badges {
                span.badge { (kind_label(&shown.kind)) }
                @if let Some(latest) = latest {
                    span.badge.latest { "latest " (latest) }
                }
                (origin(shown).badge())
            }
        }
        @if latest.is_none() {
            p.notice { "Every version of this package is yanked: tools skip it unless asked for an exact version." }
        }
        div.layout {
            section aria-labelledby="versions-heading" {
                h2 #versions-heading { "Versions " span.count { "(" (versions.len()) ")" } }
                (version_table(namespace, name, &versions, latest))
            }
            aside.sidebar aria-label="Package details" {
                (install_panel(app, namespace, name, shown))
                (about_panel(app, namespace, name, &about, latest))
            }
        }
    };
    Ok(Page::ok(package, body))
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "wit" => "WIT package",
        "module" => "core module",
        _ => "component",
    }
}

fn version_table(
    namespace: &str,
    name: &str,
    versions: &[IndexedVersion],
    latest: Option<&str>,
) -> Markup {
    html! {
        div.table-wrap {
            table.versions {
                caption.visually-hidden { "All versions, newest first" }
                thead {
                    tr {
                        th scope="col" { "Version" }
                        th scope="col" { "Published" }
                        th scope="col" { "Size" }
                        th scope="col" { "Manifest digest" }
                    }
                }
                tbody {
                    @for version in versions {
                        tr.is-yanked[version.yanked] {
                            td {
                                a href=(version_href(namespace, name, &version.version)) { (version.version) }
                                " " (version_badges(version, latest))
                            }
                            td.num { (time(version.created_at)) }
                            td.num { (size(version.size)) }
                            td.digest title=(version.manifest_digest) { (short_digest(&version.manifest_digest)) }
                        }
                    }
                }
            }
        }
    }
}

/// Copy-ready snippets: `wkg get`, the WIT line (WIT packages), the OCI reference.
pub fn install_panel(
    app: &AppState,
    namespace: &str,
    name: &str,
    version: &IndexedVersion,
) -> Markup {
    let authority = registry_authority(&app.public_url);
    let repository = naming::repository(&app.config.registry.namespace_prefix, namespace, name);
    let wit_line = wit_line(version);
    html! {
        section.panel aria-labelledby="install-heading" {
            h2 #install-heading { "Install " (version.version) }
            div.snippet {
                p { "With wkg" }
                pre { code { "wkg get " (namespace) ":" (name) "@" (version.version) } }
            }
            @if let Some(line) = wit_line {
                div.snippet {
                    p { "In a WIT world" }
                    pre { code { (line) } }
                }
            }
            div.snippet {
                p { "OCI reference" }
                pre { code { (authority) "/" (repository) ":" (version.version) } }
            }
            p.hint { "wkg finds this registry through its "
                a href="/.well-known/wasm-pkg/registry.json" { "registry.json" }
                "; make it the default with " code { "wkg config --default-registry " (authority) } "." }
        }
    }
}

/// `import ns:name/iface@1.0.0;` for a WIT package (its first interface),
/// or `include ns:name/world@1.0.0;` when it only has worlds.
fn wit_line(version: &IndexedVersion) -> Option<String> {
    if version.kind != "wit" {
        return None;
    }
    let package = version.wit_package.as_deref()?;
    let bare = package.split('@').next().unwrap_or(package);
    let first = |column: Option<&str>| {
        column
            .and_then(|text| serde_json::from_str::<Vec<String>>(text).ok())
            .and_then(|names| names.into_iter().next())
    };
    if let Some(interface) = first(version.interfaces.as_deref()) {
        return Some(format!("import {bare}/{interface}@{};", version.version));
    }
    first(version.worlds.as_deref())
        .map(|world| format!("include {bare}/{world}@{};", version.version))
}

fn about_panel(
    app: &AppState,
    namespace: &str,
    name: &str,
    about: &About,
    latest: Option<&str>,
) -> Markup {
    let repository = naming::repository(&app.config.registry.namespace_prefix, namespace, name);
    html! {
        section.panel aria-labelledby="about-heading" {
            h2 #about-heading { "About" }
            dl.facts {
                dt { "Latest" }
                dd {
                    @if let Some(latest) = latest {
                        a href=(version_href(namespace, name, latest)) { (latest) }
                    } @else { "none (all yanked)" }
                }
                dt { "License" }
                dd { (about.licenses.as_deref().unwrap_or("not stated")) }
                @if let Some(authors) = &about.authors {
                    dt { "Authors" }
                    dd { (authors) }
                }
                @if let Some(source) = &about.source {
                    dt { "Source" }
                    dd { (link(source)) }
                }
                @if let Some(homepage) = &about.homepage {
                    dt { "Homepage" }
                    dd { (link(homepage)) }
                }
                dt { "Repository" }
                dd { code { (repository) } }
                dt { "Package" }
                dd { a href=(package_href(namespace, name)) { (namespace) ":" (name) } }
            }
        }
    }
}

/// A metadata URL: a link when it is a web address, text otherwise.
pub fn link(url: &str) -> Markup {
    html! {
        @if let Some(href) = web_link(url) {
            a href=(href) rel="nofollow noopener" { (url) }
        } @else {
            (url)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(kind: &str, interfaces: Option<&str>, worlds: Option<&str>) -> IndexedVersion {
        IndexedVersion {
            repository: "acme/greet".into(),
            namespace: "acme".into(),
            name: "greet".into(),
            version: "1.2.0".into(),
            layer_digest: String::new(),
            manifest_digest: String::new(),
            yanked: false,
            kind: kind.into(),
            size: 1,
            annotations: None,
            metadata: None,
            wit_package: Some("acme:greet@1.2.0".into()),
            worlds: worlds.map(str::to_string),
            interfaces: interfaces.map(str::to_string),
            imports: None,
            exports: None,
            created_at: 0,
            upstream: None,
        }
    }

    #[test]
    fn wit_lines_name_an_interface_or_world() {
        let v = version("wit", Some(r#"["greeter"]"#), Some(r#"["hello"]"#));
        assert_eq!(
            wit_line(&v).as_deref(),
            Some("import acme:greet/greeter@1.2.0;")
        );
        let v = version("wit", Some("[]"), Some(r#"["hello"]"#));
        assert_eq!(
            wit_line(&v).as_deref(),
            Some("include acme:greet/hello@1.2.0;")
        );
        assert_eq!(wit_line(&version("component", None, None)), None);
    }
}
