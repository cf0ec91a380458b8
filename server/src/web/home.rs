//! `GET /`: a search form, the packages published most recently, and the
//! namespaces with how many packages each holds, all limited to what the
//! reader may pull.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::format::{headline, package_href, time};
use super::session::Session;
use super::{Page, PageResult, respond};
use crate::db::PackageActivity;
use crate::packages::versions::description;
use crate::state::AppState;

/// How many recently published packages the home page lists.
const RECENT: usize = 10;

pub async fn show(State(app): State<AppState>, session: Session) -> Response {
    let result = render(&app, &session).await;
    respond(&app, &session, result)
}

/// One line of the "recently published" list.
struct Recent {
    namespace: String,
    name: String,
    version: Option<String>,
    description: Option<String>,
    published: i64,
}

async fn render(app: &AppState, session: &Session) -> PageResult {
    let (namespaces, newest) = if session.sign_in {
        visible_activity(app, session).await?
    } else {
        // Auth off: everyone sees everything, so SQL can count and limit.
        let counts = app.db.namespace_counts().await?;
        let namespaces = counts
            .into_iter()
            .map(|(ns, n)| (ns, usize::try_from(n).unwrap_or(0)))
            .collect();
        let limit = i64::try_from(RECENT).unwrap_or(10);
        (namespaces, app.db.recent_packages(limit).await?)
    };
    let mut recent = Vec::with_capacity(RECENT);
    for package in newest {
        let versions = app
            .db
            .package_versions(&package.namespace, &package.name)
            .await?;
        let shown = headline(&versions);
        recent.push(Recent {
            version: shown.map(|v| v.version.clone()),
            description: shown.and_then(description),
            published: package.last_published,
            namespace: package.namespace,
            name: package.name,
        });
    }
    let body = html! {
        h1 { "WebAssembly packages" }
        p.lead { "Find, inspect and install the components and WIT packages this registry holds." }
        form.search.search-large role="search" action="/search" method="get" {
            label.visually-hidden for="home-q" { "Search by name, description or interface" }
            input #home-q type="search" name="q" placeholder="Search by name, description or interface";
            button type="submit" { "Search" }
        }
        @if session.sign_in && session.user().is_none() {
            p.notice { "You see the packages anyone may pull. "
                a href="/login" { "Sign in" } " to see the ones shared with you." }
        }
        @if namespaces.is_empty() {
            p.empty { "No packages to show yet. Publish one with "
                code { "wkg publish" } " and it appears here." }
        } @else {
            div.columns {
                section aria-labelledby="recent-heading" {
                    h2 #recent-heading { "Recently published" }
                    (recent_list(&recent))
                }
                section aria-labelledby="namespaces-heading" {
                    h2 #namespaces-heading { "Namespaces" }
                    ul.namespaces {
                        @for (namespace, count) in &namespaces {
                            li {
                                a href={ "/search?namespace=" (namespace) } { (namespace) }
                                span.count { (count) @if *count == 1 { " package" } @else { " packages" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Page::ok("Packages", body))
}

/// Namespace counts and the newest packages among those the reader may pull.
async fn visible_activity(
    app: &AppState,
    session: &Session,
) -> PageResult<(BTreeMap<String, usize>, Vec<PackageActivity>)> {
    let mut visible: Vec<PackageActivity> = app
        .db
        .package_activity()
        .await?
        .into_iter()
        .filter(|p| session.may_see(app, &p.namespace, &p.name))
        .collect();
    let mut namespaces: BTreeMap<String, usize> = BTreeMap::new();
    for package in &visible {
        *namespaces.entry(package.namespace.clone()).or_default() += 1;
    }
    visible.sort_by(|a, b| {
        b.last_published
            .cmp(&a.last_published)
            .then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)))
    });
    visible.truncate(RECENT);
    Ok((namespaces, visible))
}

fn recent_list(recent: &[Recent]) -> Markup {
    html! {
        ul.package-list {
            @for package in recent {
                li {
                    div.title {
                        a.name href=(package_href(&package.namespace, &package.name)) {
                            (package.namespace) ":" (package.name)
                        }
                        @if let Some(version) = &package.version {
                            span.badge { (version) }
                        }
                        span.hint { "published " (time(package.published)) }
                    }
                    @if let Some(description) = &package.description {
                        p { (description) }
                    }
                }
            }
        }
    }
}
