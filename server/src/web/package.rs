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
use crate::db::IndexedVersion;
use crate::names::registry_authority;
use crate::packages::naming::{self, is_label};
use crate::packages::versions::sort_newest_first;
use crate::state::AppState;

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

/// One copy-ready snippet of the install panel.
#[derive(Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Where the text goes, shown above it.
    pub label: &'static str,
    /// The text to copy (may span lines).
    pub text: String,
}

/// The install panel: [`snippets`] for `version`, and how wkg finds the registry.
pub fn install_panel(
    app: &AppState,
    namespace: &str,
    name: &str,
    version: &IndexedVersion,
) -> Markup {
    let authority = registry_authority(&app.public_url);
    let repository = naming::repository(&app.config.registry.namespace_prefix, namespace, name);
    let oci_reference = format!("{authority}/{repository}:{}", version.version);
    html! {
        section.panel aria-labelledby="install-heading" {
            h2 #install-heading { "Install " (version.version) }
            @for snippet in snippets(namespace, name, version, &oci_reference) {
                div.snippet {
                    p { (snippet.label) }
                    pre { code { (snippet.text) } }
                }
            }
            p.hint { "wkg finds this registry through its "
                a href="/.well-known/wasm-pkg/registry.json" { "registry.json" }
                "; make it the default with " code { "wkg config --default-registry " (authority) } "." }
        }
    }
}

/// The ways to use `ns:name@ver`, in the order the panel shows them:
///
/// - **With wkg**: `wkg get ns:name@ver`, for every package.
/// - **In a WIT file** (WIT packages with interfaces): `use ns:name/iface@ver;`,
///   a top-level `use` that brings the package's first interface into scope for
///   every world and interface of the file. A `use` cannot name a world, so
///   packages with only worlds get no such line.
/// - **In a WIT world** (WIT packages): `import ns:name/iface@ver;`, or
///   `include ns:name/world@ver;` when the package has only worlds.
/// - **In wkg.toml** (WIT packages): `[overrides."ns:name"]` with
///   `version = "=ver"`. wkg.toml is the optional project file of
///   wasm-pkg-tools; its `[overrides]` table maps a package to
///   `{ path = "..." }` (a local copy: only useful to the package's own
///   authors) or `{ version = "<semver requirement>" }`. wkg adds an
///   override's requirement before the ones it reads from the WIT, so it
///   wins for this package wherever it is reached, directly or through
///   another package's WIT: `=ver` pins exactly this version in the
///   project file, next to the `use` line that names it. The dotted table
///   header pastes into a file that already has other overrides, and is
///   how upstream's own tests write them. Upstream's parser rejects
///   unknown keys, and `install_snippets_work_with_upstream_wkg` builds a
///   project from these lines with upstream wkg.
/// - **OCI reference**: `registry/prefix+ns/name:ver`, for OCI tools.
///
/// Components and core modules get only `wkg get` and the OCI reference:
/// WIT can name interfaces and worlds of WIT packages but no component, so
/// neither a WIT line nor an override (which applies to dependencies named
/// in the project's WIT) could refer to one.
pub fn snippets(
    namespace: &str,
    name: &str,
    version: &IndexedVersion,
    oci_reference: &str,
) -> Vec<Snippet> {
    let ver = &version.version;
    let mut snippets = vec![Snippet {
        label: "With wkg",
        text: format!("wkg get {namespace}:{name}@{ver}"),
    }];
    if let Some(wit) = WitItems::of(version) {
        let package = &wit.package;
        if let Some(interface) = &wit.interface {
            snippets.push(Snippet {
                label: "In a WIT file",
                text: format!("use {package}/{interface}@{ver};"),
            });
        }
        let world_line = match (&wit.interface, &wit.world) {
            (Some(interface), _) => Some(format!("import {package}/{interface}@{ver};")),
            (None, Some(world)) => Some(format!("include {package}/{world}@{ver};")),
            (None, None) => None,
        };
        if let Some(line) = world_line {
            snippets.push(Snippet {
                label: "In a WIT world",
                text: line,
            });
            snippets.push(Snippet {
                label: "Pinned in wkg.toml",
                text: format!("[overrides.\"{namespace}:{name}\"]\nversion = \"={ver}\""),
            });
        }
    }
    snippets.push(Snippet {
        label: "OCI reference",
        text: oci_reference.to_string(),
    });
    snippets
}

/// What WIT can name in a WIT package: its first interface and first world.
struct WitItems {
    /// `ns:name`, as the package's WIT declares it (without the version).
    package: String,
    interface: Option<String>,
    world: Option<String>,
}

impl WitItems {
    fn of(version: &IndexedVersion) -> Option<Self> {
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
        Some(Self {
            package: bare.to_string(),
            interface: first(version.interfaces.as_deref()),
            world: first(version.worlds.as_deref()),
        })
    }
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

    fn texts(version: &IndexedVersion) -> Vec<(&'static str, String)> {
        snippets("acme", "greet", version, "reg.example/acme/greet:1.2.0")
            .into_iter()
            .map(|s| (s.label, s.text))
            .collect()
    }

    #[test]
    fn wit_packages_get_use_import_and_override_lines() {
        let v = version("wit", Some(r#"["greeter"]"#), Some(r#"["hello"]"#));
        assert_eq!(
            texts(&v),
            [
                ("With wkg", "wkg get acme:greet@1.2.0".to_string()),
                ("In a WIT file", "use acme:greet/greeter@1.2.0;".into()),
                ("In a WIT world", "import acme:greet/greeter@1.2.0;".into()),
                (
                    "Pinned in wkg.toml",
                    "[overrides.\"acme:greet\"]\nversion = \"=1.2.0\"".into()
                ),
                ("OCI reference", "reg.example/acme/greet:1.2.0".into()),
            ]
        );
        // Only worlds: no `use` (it cannot name a world), an `include`.
        let v = version("wit", Some("[]"), Some(r#"["hello"]"#));
        let lines = texts(&v);
        assert_eq!(
            lines[1],
            ("In a WIT world", "include acme:greet/hello@1.2.0;".into())
        );
        assert_eq!(lines[2].0, "Pinned in wkg.toml");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn components_get_wkg_get_and_the_oci_reference() {
        for kind in ["component", "module"] {
            let labels: Vec<_> = texts(&version(kind, None, None))
                .into_iter()
                .map(|(label, _)| label)
                .collect();
            assert_eq!(labels, ["With wkg", "OCI reference"], "{kind}");
        }
    }
}
