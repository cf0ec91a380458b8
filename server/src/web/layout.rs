//! The frame around every page: document head, a header with the site
//! search and the sign-in state, the `main` landmark, and a footer.
//!
//! Accessibility basics live here once: `lang`, a skip link to the main
//! content, landmarks (`header`, `nav`, `main`, `footer`), a labelled
//! search form, and titles that name the page before the site.

use maud::{DOCTYPE, Markup, html};

use super::session::Session;
use super::style;
use crate::names::registry_authority;
use crate::state::App;

/// A whole HTML document around `body`.
pub fn document(app: &App, session: &Session, title: &str, body: Markup) -> Markup {
    let authority = registry_authority(&app.public_url);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · " (authority) }
                link rel="stylesheet" href=(style::href());
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.site-header {
                    div.bar {
                        a.brand href="/" {
                            "wkg-gateway" small { (authority) }
                        }
                        form.search role="search" action="/search" method="get" {
                            label.visually-hidden for="site-search" { "Search packages" }
                            input #site-search type="search" name="q" placeholder="Search packages";
                            button type="submit" { "Search" }
                        }
                        nav.site-nav aria-label="Site" {
                            a href="/search" { "All packages" }
                            (account(session))
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                footer.site-footer {
                    div {
                        "Served by wkg-gateway " (env!("CARGO_PKG_VERSION")) ". "
                        "Programs can use the " a href="/api/v1/packages" { "JSON package API" }
                        " and " a href="/.well-known/wasm-pkg/registry.json" { "registry.json" } "."
                    }
                }
            }
        }
    }
}

/// Sign-in state: nothing when the registry has no sign-in.
fn account(session: &Session) -> Markup {
    html! {
        @if session.sign_in {
            @if let Some(user) = session.user() {
                span { "Signed in as " strong { (user) } }
                (logout_form(session))
            } @else {
                a href="/login" { "Sign in" }
            }
        }
    }
}

/// The sign-out buttons: a form post, so a link cannot sign anyone out.
/// "Everywhere" ends every session of the user's password logins (see
/// `api::sessions`), offered only to a session that came from a password.
pub fn logout_form(session: &Session) -> Markup {
    html! {
        form action="/logout" method="post" {
            input type="hidden" name="csrf" value=(session.csrf);
            button.link type="submit" { "Sign out" }
            @if session.caller.from_password_login() {
                " "
                button.link type="submit" name="everywhere" value="1" { "Sign out everywhere" }
            }
        }
    }
}
