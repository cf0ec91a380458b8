//! The package browser: server-rendered HTML pages for people, next to the
//! JSON API for programs.
//!
//! Pages render from the database index only (never by reading Wasm on a
//! request), with `maud` templates, one stylesheet and no JavaScript, so
//! they work in any browser and stay fast with many packages.
//!
//! | path | page |
//! |---|---|
//! | `/` | [`home`]: search form, recently published, namespaces |
//! | `/search?q=&namespace=&cursor=` | [`search`]: the package API's search |
//! | `/packages/{ns}/{name}` | [`package`]: metadata, versions, install snippets |
//! | `/packages/{ns}/{name}/{version}` | [`version`]: WIT, worlds, interfaces, dependencies |
//! | `/login`, `/logout` | [`login`]: the session cookie (`[auth] mode = "token"`) |
//! | `/static/style.css` | [`style`] |
//!
//! Who may see what: the auth middleware treats these routes as public, so
//! each page finds its reader itself ([`session::Session`]) and shows only
//! packages the reader may pull; any other package is a 404, exactly like
//! one that does not exist.

pub mod format;
pub mod home;
pub mod layout;
pub mod login;
pub mod package;
pub mod search;
pub mod session;
pub mod style;
pub mod version;
pub mod wit;
pub mod wit_outline;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use crate::error::ApiError;
use crate::state::App;
use session::Session;

/// A rendered page body and what to answer with it.
pub struct Page {
    pub status: StatusCode,
    pub title: String,
    pub body: Markup,
}

impl Page {
    pub fn ok(title: impl Into<String>, body: Markup) -> Self {
        Self {
            status: StatusCode::OK,
            title: title.into(),
            body,
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// No such package or version, or one the reader may not pull (the
    /// same answer, so hidden packages do not leak).
    NotFound(String),
    /// A backend failed; the status and `Retry-After` come from
    /// [`ApiError`], which also logged it.
    Backend {
        status: StatusCode,
        retry_after: Option<HeaderValue>,
    },
}

pub type PageResult<T = Page> = Result<T, PageError>;

/// The route templates of the browser's pages (router.rs serves them).
/// openapi.yaml documents the HTTP API for programs, not these pages.
pub const PAGE_ROUTES: [&str; 7] = [
    "/",
    "/search",
    "/packages/{namespace}/{name}",
    "/packages/{namespace}/{name}/{version}",
    "/login",
    "/logout",
    "/static/style.css",
];

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        // error.rs decides the status (and logs and counts the failure);
        // only the body changes from JSON to HTML.
        let response = error.into_response();
        Self::Backend {
            status: response.status(),
            retry_after: response.headers().get(header::RETRY_AFTER).cloned(),
        }
    }
}

impl From<crate::db::Error> for PageError {
    fn from(error: crate::db::Error) -> Self {
        ApiError::from(error).into()
    }
}

/// The answer to a page request: the page in the site layout, or an error
/// page in the same layout.
pub fn respond(app: &App, session: &Session, result: PageResult) -> Response {
    match result {
        Ok(page) => html_response(app, session, page),
        Err(PageError::NotFound(message)) => html_response(app, session, not_found(&message)),
        Err(PageError::Backend {
            status,
            retry_after,
        }) => {
            let page = Page {
                status,
                title: "Registry unavailable".into(),
                body: html! {
                    h1 { "The registry could not answer" }
                    p { "Something went wrong on the server while preparing this page. "
                        "Try again in a moment; if it keeps happening, tell the registry's operator." }
                },
            };
            let mut response = html_response(app, session, page);
            if let Some(value) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The 404 page.
pub fn not_found(message: &str) -> Page {
    Page {
        status: StatusCode::NOT_FOUND,
        title: "Not found".into(),
        body: html! {
            h1 { "Not found" }
            p { (message) }
            p { a href="/search" { "Browse all packages" } " or " a href="/" { "go to the home page" } "." }
        },
    }
}

/// Headers every page carries: HTML, never cached by shared caches (pages
/// differ per reader), and a policy that allows nothing but our stylesheet
/// and same-origin forms.
pub fn html_response(app: &App, session: &Session, page: Page) -> Response {
    let document = layout::document(app, session, &page.title, page.body);
    let mut response = (page.status, document.into_string()).into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "private, no-cache"),
        (header::VARY, "Cookie"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    session.set_cookies(headers);
    response
}
