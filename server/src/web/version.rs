//! `GET /packages/{ns}/{name}/{version}`: one version: its WIT as
//! highlighted text with an outline of worlds and interfaces, imports and
//! exports, and links to the packages it depends on that this registry
//! holds (and the reader may see).

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use super::format::{
    About, origin, package_href, recommended, size, time, version_badges, version_href,
};
use super::package::{install_panel, kind_label, link, visible_versions};
use super::session::Session;
use super::wit::{render as render_wit, tokenize};
use super::wit_outline::{Item, Section, SectionKind, outline};
use super::{Page, PageError, PageResult, respond};
use crate::db::IndexedVersion;
use crate::packages::naming::is_label;
use crate::state::AppState;

pub async fn show(
    State(app): State<AppState>,
    session: Session,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Response {
    let result = match path {
        Ok(Path((namespace, name, version))) => {
            render(&app, &session, &namespace, &name, &version).await
        }
        Err(_) => Err(PageError::NotFound("There is no such page.".into())),
    };
    respond(&app, &session, result)
}

/// Packages named in a version's WIT, imports and exports: `(ns, name)` ->
/// the package page when the registry holds it and the reader may see it.
type Dependencies = BTreeMap<(String, String), Option<String>>;

async fn render(
    app: &AppState,
    session: &Session,
    namespace: &str,
    name: &str,
    wanted: &str,
) -> PageResult {
    let versions = visible_versions(app, session, namespace, name).await?;
    let Some(version) = versions.iter().find(|v| v.version == wanted) else {
        return Err(PageError::NotFound(format!(
            "{namespace}:{name} has no version {wanted} here."
        )));
    };
    let newest = recommended(&versions).map(|v| v.version.as_str());
    let wit_text = app.db.package_wit(namespace, name, wanted).await?;
    let tokens = wit_text.as_deref().map(tokenize).unwrap_or_default();
    let mut shape = outline(&tokens);
    let imports = names(version.imports.as_deref());
    let exports = names(version.exports.as_deref());

    let own_wit = version
        .wit_package
        .as_deref()
        .and_then(|p| package_of(p.split('@').next().unwrap_or(p)));
    let mut dependencies = Dependencies::new();
    let referenced = shape
        .references
        .iter()
        .map(|r| (r.namespace.clone(), r.name.clone()))
        .chain(imports.iter().chain(&exports).filter_map(|i| package_of(i)));
    for key in referenced {
        let own = (key.0.as_str(), key.1.as_str()) == (namespace, name);
        if own || own_wit.as_ref() == Some(&key) || dependencies.contains_key(&key) {
            continue;
        }
        let held =
            session.may_see(app, &key.0, &key.1) && app.db.package_exists(&key.0, &key.1).await?;
        let href = held.then(|| package_href(&key.0, &key.1));
        dependencies.insert(key, href);
    }
    for reference in &shape.references {
        let key = (reference.namespace.clone(), reference.name.clone());
        if let Some(Some(href)) = dependencies.get(&key) {
            shape
                .decorations
                .links
                .insert(reference.start, (reference.end, href.clone()));
        }
    }
    let about = About::of(version);
    let title = format!("{namespace}:{name}@{wanted}");
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            ol {
                li { a href="/search" { "Packages" } }
                li { a href={ "/search?namespace=" (namespace) } { (namespace) } }
                li { a href=(package_href(namespace, name)) { (name) } }
                li { span aria-current="page" { (wanted) } }
            }
        }
        div.package-head {
            h1 { (namespace) ":" (name) " " span.count { "@" (wanted) } }
            @if let Some(description) = &about.description {
                p.lead { (description) }
            }
            div.badges {
                span.badge { (kind_label(&version.kind)) }
                (version_badges(version, newest))
                (origin(version).badge())
            }
        }
        @if version.yanked {
            p.notice { "This version is yanked: it stays downloadable by its exact version, but tools skip it when resolving." }
        }
        @if let Some(newest) = newest.filter(|n| *n != wanted) {
            p.notice { "The latest version is " a href=(version_href(namespace, name, newest)) { (newest) } "." }
        }
        div.layout {
            div {
                @if !shape.sections.is_empty() {
                    section aria-labelledby="outline-heading" {
                        h2 #outline-heading { "Worlds and interfaces" }
                        div.outline { @for section in &shape.sections { (outline_section(section, &dependencies)) } }
                    }
                }
                @if !imports.is_empty() || !exports.is_empty() {
                    section aria-labelledby="io-heading" {
                        h2 #io-heading { "Imports and exports" }
                        div.columns {
                            div { h3 { "Imports" } (interface_list(&imports, &dependencies)) }
                            div { h3 { "Exports" } (interface_list(&exports, &dependencies)) }
                        }
                    }
                }
                @if !dependencies.is_empty() {
                    section aria-labelledby="deps-heading" {
                        h2 #deps-heading { "Dependencies" }
                        ul.plain {
                            @for ((ns, pkg), href) in &dependencies {
                                li {
                                    @if let Some(href) = href {
                                        a href=(href) { (ns) ":" (pkg) }
                                    } @else {
                                        code { (ns) ":" (pkg) } " " span.hint { "(not in this registry)" }
                                    }
                                }
                            }
                        }
                    }
                }
                section aria-labelledby="wit-heading" {
                    h2 #wit-heading { "WIT" }
                    @if let Some(package) = &version.wit_package {
                        p.hint { "WIT package " code { (package) } }
                    }
                    @if tokens.is_empty() {
                        p.empty { "No WIT for this version: it is a core module, or was too large to inspect when it was published." }
                    } @else {
                        (render_wit(&tokens, &shape.decorations))
                    }
                }
            }
            aside.sidebar aria-label="Version details" {
                (install_panel(app, namespace, name, version))
                (details_panel(version, &about))
            }
        }
    };
    Ok(Page::ok(title, body))
}

/// A JSON list of names (the index's `imports`, `exports` columns).
fn names(column: Option<&str>) -> Vec<String> {
    column
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// `(ns, name)` of `ns:name/interface@version`, `ns:name@version` or `ns:name`.
fn package_of(reference: &str) -> Option<(String, String)> {
    let (namespace, rest) = reference.split_once(':')?;
    let name = rest.split(['/', '@']).next()?;
    (is_label(namespace) && is_label(name)).then(|| (namespace.to_string(), name.to_string()))
}

fn outline_section(section: &Section, dependencies: &Dependencies) -> Markup {
    let kind = match section.kind {
        SectionKind::Interface => "interface",
        SectionKind::World => "world",
    };
    let groups: [(&str, &[Item]); 4] = [
        ("Types", &section.types),
        ("Functions", &section.functions),
        ("Imports", &section.imports),
        ("Exports", &section.exports),
    ];
    html! {
        section {
            h3 { span.kind { (kind) } a href={ "#" (section.anchor) } { (section.name) } }
            @for (label, items) in groups {
                @if !items.is_empty() {
                    h4 { (label) }
                    ul {
                        @for item in items {
                            li {
                                span.kind { (item.kind) }
                                @if let Some(anchor) = &item.anchor {
                                    a href={ "#" (anchor) } { (item.name) }
                                } @else {
                                    (reference(&item.name, dependencies))
                                }
                            }
                        }
                    }
                }
            }
            @if !section.includes.is_empty() {
                h4 { "Includes" }
                ul { @for include in &section.includes { li { code { (include) } } } }
            }
        }
    }
}

fn interface_list(names: &[String], dependencies: &Dependencies) -> Markup {
    html! {
        @if names.is_empty() {
            p.empty { "None" }
        } @else {
            ul.plain {
                @for name in names {
                    li { (reference(name, dependencies)) }
                }
            }
        }
    }
}

/// An interface or package name, linked to its package when the registry
/// holds it.
fn reference(name: &str, dependencies: &Dependencies) -> Markup {
    let href = package_of(name).and_then(|key| dependencies.get(&key).cloned().flatten());
    html! {
        @match href {
            Some(href) => a href=(href) { code { (name) } },
            None => code { (name) },
        }
    }
}

fn details_panel(version: &IndexedVersion, about: &About) -> Markup {
    html! {
        section.panel aria-labelledby="details-heading" {
            h2 #details-heading { "Details" }
            dl.facts {
                dt { "Published" } dd { (time(version.created_at)) }
                dt { "Size" } dd { (size(version.size)) }
                dt { "Kind" } dd { (kind_label(&version.kind)) }
                dt { "License" } dd { (about.licenses.as_deref().unwrap_or("not stated")) }
                @if let Some(authors) = &about.authors { dt { "Authors" } dd { (authors) } }
                @if let Some(source) = &about.source { dt { "Source" } dd { (link(source)) } }
                @if let Some(homepage) = &about.homepage { dt { "Homepage" } dd { (link(homepage)) } }
                @if let Some(revision) = &about.revision { dt { "Revision" } dd { code { (revision) } } }
                dt { "Manifest" } dd.digest { (version.manifest_digest) }
                dt { "Wasm layer" } dd.digest { (version.layer_digest) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::package_of;

    #[test]
    fn package_names_come_from_references() {
        let key = |ns: &str, n: &str| Some((ns.to_string(), n.to_string()));
        assert_eq!(package_of("wasi:cli/environment@0.2.0"), key("wasi", "cli"));
        assert_eq!(package_of("acme:greet@1.0.0"), key("acme", "greet"));
        assert_eq!(package_of("acme:greet"), key("acme", "greet"));
        assert_eq!(package_of("run"), None);
        assert_eq!(package_of("Bad:x/y"), None);
    }
}
