//! Every page of a seeded registry is valid HTML and no internal link is
//! broken: a crawler starts at `/`, follows every same-origin link and
//! stylesheet, expects a 200 for each, checks every HTML document with
//! `tests/scripts/check-html` (html5lib's parse errors plus the pages'
//! accessibility rules) and checks `#fragment` links against the ids of
//! their target page. Private registries are crawled anonymously and
//! signed in (with the cookies of the sign-in form), so the header with the
//! user's name and the sign-out form are checked too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::web::support::{page, private_registry, publish, seed};
use integration_tests::TestApp;
use reqwest::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, Url};
use serde_json::Value;

const CHECKER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check-html");
/// A crawl that finds more pages than this is following a loop.
const MAX_PAGES: usize = 500;

/// What check-html says about one document.
struct Checked {
    problems: Vec<String>,
    links: Vec<String>,
    ids: HashSet<String>,
}

/// Runs check-html on `files`; fails (never skips) when it cannot run.
fn check_files(files: &[PathBuf]) -> HashMap<PathBuf, Checked> {
    let output = Command::new("python3")
        .arg(CHECKER)
        .arg("--json")
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): run tests/scripts/install-browser-deps first")
        });
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "check-html did not run (install its needs with tests/scripts/install-browser-deps): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .expect("list")
            .iter()
            .map(|v| v.as_str().expect("text").to_string())
            .collect()
    };
    files
        .iter()
        .map(|file| {
            let entry = &report[file.to_str().expect("utf-8 path")];
            let checked = Checked {
                problems: strings(&entry["problems"]),
                links: strings(&entry["links"]),
                ids: strings(&entry["ids"]).into_iter().collect(),
            };
            (file.clone(), checked)
        })
        .collect()
}

fn write(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).expect("write page");
    path
}

#[test]
fn the_checker_reports_broken_pages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = write(
        dir.path(),
        "good.html",
        "<!DOCTYPE html><html lang=\"en\"><head><title>t</title></head><body><main>\
         <h1 id=\"top\">Fine</h1><a href=\"#top\">up</a><label for=\"q\">Q</label>\
         <input id=\"q\" name=\"q\"></main></body></html>",
    );
    let broken = write(
        dir.path(),
        "broken.html",
        "<html><head><title>t</title></head><body><main><h1>Broken</h1><h3>Skipped</h3>\
         <div><p>unclosed <b>bold</div></span><p id=\"x\"></p><p id=\"x\"></p>\
         <a href=\"#missing\">gone</a><input name=\"q\"></main></body></html>",
    );
    let report = check_files(&[good.clone(), broken.clone()]);
    assert_eq!(report[&good].problems, Vec::<String>::new());
    assert_eq!(report[&good].links, ["#top"]);
    let problems = report[&broken].problems.join("\n");
    for expected in [
        "Expected DOCTYPE",
        "Unexpected end tag (span)",
        "End tag (div) seen too early",
        "no lang attribute",
        "skips a heading level",
        "duplicate id 'x'",
        "points at no id on this page",
        "has no <label for> or aria-label",
    ] {
        assert!(problems.contains(expected), "{expected:?} in:\n{problems}");
    }
    let status = Command::new("python3")
        .arg(CHECKER)
        .arg(&broken)
        .output()
        .expect("check-html");
    assert_eq!(
        status.status.code(),
        Some(1),
        "a broken page fails the check"
    );
}

/// Crawls from `start`; returns the paths it fetched.
async fn crawl(app: &TestApp, client: &Client, start: &str) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let origin = Url::parse(&app.base).expect("base URL");
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    seen.insert(start.to_string(), "(start)".to_string());
    let mut queue = vec![start.to_string()];
    let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
    let mut fragments: Vec<(String, String, String)> = Vec::new();
    while !queue.is_empty() {
        let mut documents: Vec<(PathBuf, String)> = Vec::new();
        for path in std::mem::take(&mut queue) {
            let response = client.get(app.url(&path)).send().await.expect("GET");
            let status = response.status();
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string();
            let body = response.text().await.expect("body");
            assert_eq!(
                status, 200,
                "GET {path} (linked from {}): {body}",
                seen[&path]
            );
            if content_type.starts_with("text/html") {
                let file = write(
                    dir.path(),
                    &format!("{}.html", seen.len() + documents.len()),
                    &body,
                );
                documents.push((file, path));
            }
        }
        if documents.is_empty() {
            continue;
        }
        let files: Vec<PathBuf> = documents.iter().map(|(file, _)| file.clone()).collect();
        let mut report = check_files(&files);
        for (file, path) in documents {
            let checked = report.remove(&file).expect("checked");
            assert!(
                checked.problems.is_empty(),
                "{path} is not valid HTML:\n{}\n{}",
                checked.problems.join("\n"),
                std::fs::read_to_string(&file).unwrap_or_default()
            );
            let base = origin.join(&path).expect("page URL");
            for link in &checked.links {
                let target = base.join(link).expect("link URL");
                if target.origin() != origin.origin() {
                    continue;
                }
                let mut key = target.path().to_string();
                if let Some(query) = target.query() {
                    key = format!("{key}?{query}");
                }
                if let Some(fragment) = target.fragment() {
                    fragments.push((key.clone(), fragment.to_string(), path.clone()));
                }
                if !seen.contains_key(&key) {
                    seen.insert(key.clone(), path.clone());
                    queue.push(key);
                }
            }
            ids.insert(path, checked.ids);
        }
        assert!(seen.len() <= MAX_PAGES, "crawl does not end: {seen:?}");
    }
    for (target, fragment, from) in fragments {
        let target_ids = ids
            .get(&target)
            .unwrap_or_else(|| panic!("{target} is no page"));
        assert!(
            target_ids.contains(&fragment),
            "{from} links to {target}#{fragment}, an id that page does not have"
        );
    }
    seen
}

/// Validates documents that no link leads to (error pages).
async fn check_unlinked(app: &TestApp, client: &Client, pages: &[(&str, u16)]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (i, (path, status)) in pages.iter().enumerate() {
        let html = page(client, &app.url(path), *status).await;
        files.push((write(dir.path(), &format!("{i}.html"), &html), *path));
    }
    let paths: Vec<PathBuf> = files.iter().map(|(f, _)| f.clone()).collect();
    let report = check_files(&paths);
    for (file, path) in files {
        let problems = &report[&file].problems;
        assert!(problems.is_empty(), "{path}: {problems:?}");
    }
}

#[tokio::test]
async fn every_page_is_valid_and_every_internal_link_works() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    // Enough packages for the search results to have a next page.
    let extra = integration_tests::fixtures::component();
    for i in 0..22 {
        publish(&app, &format!("extra/pkg{i:02}"), "1.0.0", &extra).await;
    }
    let seen = crawl(&app, &app.client, "/").await;
    for expected in [
        "/search",
        "/search?namespace=acme",
        "/packages/acme/greet",
        "/packages/acme/greet/0.9.0",
        "/packages/acme/greet/1.1.0-rc.1",
        "/packages/acme/types",
        "/packages/acme/hello/1.2.0",
        "/packages/tools/lint/0.1.0",
        "/api/v1/packages",
        "/.well-known/wasm-pkg/registry.json",
    ] {
        assert!(
            seen.contains_key(expected),
            "{expected} was not reached: {seen:?}"
        );
    }
    assert!(
        seen.keys().any(|k| k.starts_with("/search?cursor=")),
        "the next-page link was followed: {seen:?}"
    );
    assert!(seen.keys().any(|k| k.starts_with("/static/style.css?v=")));
    check_unlinked(
        &app,
        &app.client,
        &[
            ("/packages/acme/nope", 404),
            ("/packages/acme/greet/9.9.9", 404),
            ("/search?q=nothing-matches", 200),
            ("/search?namespace=Bad", 200),
        ],
    )
    .await;
}

#[tokio::test]
async fn private_registry_pages_are_valid_too() {
    let app = private_registry(&["acme/*"]).await;
    let anonymous = integration_tests::http_client();
    let seen = crawl(&app, &anonymous, "/").await;
    assert!(seen.contains_key("/login"), "{seen:?}");
    assert!(seen.contains_key("/packages/acme/hello"));
    assert!(
        !seen.contains_key("/packages/tools/lint"),
        "private: {seen:?}"
    );
    check_unlinked(&app, &anonymous, &[("/packages/tools/lint", 404)]).await;
    // The sign-in form with an error (a post without a CSRF cookie).
    let refused = anonymous
        .post(app.url("/login"))
        .form(&[("username", "x"), ("password", "y")])
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status(), 403);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "refused.html", &refused.text().await.unwrap());
    let report = check_files(std::slice::from_ref(&file));
    assert!(
        report[&file].problems.is_empty(),
        "{:?}",
        report[&file].problems
    );
}

/// The `name=value` pairs a response sets.
fn cookies_set(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| {
            let line = v.to_str().expect("cookie text");
            line.split(';').next().unwrap_or_default().to_string()
        })
        .collect()
}

/// Signs in through the sign-in form as a browser would (CSRF cookie and
/// field, then the post); returns a client that sends the resulting
/// cookies with every request and follows no redirect.
async fn signed_in_client(app: &TestApp, user: &str, password: &str) -> Client {
    integration_tests::install_crypto();
    let plain = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let form = plain
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET /login");
    let mut cookies = cookies_set(&form);
    let html = form.text().await.expect("form");
    let start = html.find(r#"name="csrf" value=""#).expect("csrf field") + 19;
    let csrf = html[start..start + 64].to_string();
    let response = plain
        .post(app.url("/login"))
        .header(COOKIE, cookies.join("; "))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(response.status(), 303, "sign-in");
    let session = cookies_set(&response);
    assert!(
        session.iter().any(|c| c.starts_with("wkg-session=")),
        "{session:?}"
    );
    cookies.extend(session);
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        HeaderValue::from_str(&cookies.join("; ")).expect("cookie header"),
    );
    Client::builder()
        .redirect(Policy::none())
        .default_headers(headers)
        .build()
        .expect("client")
}

#[tokio::test]
async fn signed_in_pages_are_valid_too() {
    let app = private_registry(&["acme/*"]).await;

    let alice = signed_in_client(&app, "alice", "alice-password").await;
    // Every page has the user's name and the sign-out form in its header.
    let home = page(&alice, &app.url("/"), 200).await;
    assert!(
        home.contains("Signed in as <strong>alice</strong>")
            && home.contains(r#"<form action="/logout" method="post">"#)
            && !home.contains(r#"<a href="/login">"#),
        "{home}"
    );
    let seen = crawl(&app, &alice, "/").await;
    for expected in [
        "/packages/secret/vault",
        "/packages/secret/vault/1.0.0",
        "/search?namespace=secret",
        "/packages/acme/greet/1.0.0",
    ] {
        assert!(seen.contains_key(expected), "{expected}: {seen:?}");
    }
    assert!(
        !seen.keys().any(|k| k.starts_with("/packages/tools")),
        "alice may not pull tools/*: {seen:?}"
    );
    assert!(!seen.contains_key("/login"), "no sign-in link: {seen:?}");
    // The sign-in page, while signed in, and a page alice may not see.
    check_unlinked(
        &app,
        &alice,
        &[("/login", 200), ("/packages/tools/lint", 404)],
    )
    .await;
    let vault_page = page(&alice, &app.url("/packages/secret/vault"), 200).await;
    assert!(vault_page.contains("Signed in as <strong>alice</strong>"));
}
