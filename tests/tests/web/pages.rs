//! The package browser over real HTTP, with auth off: every page renders
//! the seeded registry's data, searches match the package API, unknown
//! packages and versions are HTML 404s, and the stylesheet is cacheable.

use crate::web::support::{page, seed};
use integration_tests::TestApp;
use serde_json::Value;

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// Asserts that `needles` occur in `haystack` in this order.
fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        let found = haystack[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing (or out of order) in:\n{haystack}"));
        from += found + needle.len();
    }
}

/// Asserts the install panel's snippets, as (label, text).
fn assert_snippets(html: &str, expected: &[(&str, &str)]) {
    let shown = snippets(html);
    let shown: Vec<(&str, &str)> = shown
        .iter()
        .map(|(l, t)| (l.as_str(), t.as_str()))
        .collect();
    assert_eq!(shown, expected);
}

/// The install panel's snippets as (label, text), HTML entities decoded.
fn snippets(html: &str) -> Vec<(String, String)> {
    let panel = between(html, r#"<h2 id="install-heading">"#, "</section>").expect("install panel");
    panel
        .split(r#"<div class="snippet"><p>"#)
        .skip(1)
        .map(|snippet| {
            let label = between(snippet, "", "</p>").expect("label");
            let text = between(snippet, "<pre><code>", "</code></pre>").expect("text");
            (unescape(label), unescape(text))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn home_lists_recent_packages_and_namespaces() {
    let app = TestApp::spawn().await;
    let empty = page(&app.client, &app.url("/"), 200).await;
    assert!(empty.contains("No packages to show yet"), "{empty}");
    seed(&app).await;
    let home = page(&app.client, &app.url("/"), 200).await;
    assert!(
        home.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{home}"
    );
    assert!(home.contains(
        r#"<form class="search search-large" role="search" action="/search" method="get">"#
    ));
    // Newest first: acme:hello was published last, acme:types first.
    let recent = between(&home, "Recently published", "Namespaces").expect("recent section");
    assert_in_order(
        recent,
        &[
            r#"href="/packages/acme/hello">acme:hello"#,
            "Says hello, politely",
            r#"href="/packages/tools/lint">tools:lint"#,
            r#"href="/packages/acme/greet">acme:greet"#,
            r#"href="/packages/acme/types">acme:types"#,
        ],
    );
    assert_in_order(
        &home,
        &[
            r#"<a href="/search?namespace=acme">acme</a><span class="count">3 packages</span>"#,
            r#"<a href="/search?namespace=tools">tools</a><span class="count">1 package</span>"#,
        ],
    );
    // No sign-in with auth off.
    assert!(!home.contains("Sign in"), "{home}");
}

#[tokio::test]
async fn search_is_the_package_api_search() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    for q in ["hello", "greet", "lints", "names", "acme"] {
        let api: Value = app
            .client
            .get(app.url("/api/v1/packages"))
            .query(&[("q", q)])
            .send()
            .await
            .expect("api search")
            .json()
            .await
            .expect("json");
        let expected: Vec<String> = api["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| p["package"].as_str().expect("name").to_string())
            .collect();
        assert!(!expected.is_empty(), "{q} finds something");
        let html = page(&app.client, &app.url(&format!("/search?q={q}")), 200).await;
        let shown: Vec<String> = html
            .split(r#"<a class="name" href="/packages/"#)
            .skip(1)
            .filter_map(|rest| between(rest, "\">", "</a>"))
            .map(str::to_string)
            .collect();
        assert_eq!(shown, expected, "search {q:?}");
        assert!(
            html.contains(&format!(r#"value="{q}""#)),
            "the query stays in the box"
        );
    }
    let none = page(&app.client, &app.url("/search?q=zzz-nothing"), 200).await;
    assert!(none.contains("No packages match"), "{none}");
    let tools = page(&app.client, &app.url("/search?namespace=tools"), 200).await;
    assert!(tools.contains("Packages in tools") && tools.contains("tools:lint"));
    assert!(!tools.contains("acme:hello"), "{tools}");
    let bad = page(
        &app.client,
        &app.url("/search?namespace=Not%20Valid&cursor=%%"),
        200,
    )
    .await;
    assert!(bad.contains("is not a namespace"), "{bad}");
    let all = page(&app.client, &app.url("/search"), 200).await;
    assert_in_order(
        &all,
        &[
            "All packages",
            "acme:greet",
            "acme:hello",
            "acme:types",
            "tools:lint",
        ],
    );
}

#[tokio::test]
async fn package_page_shows_metadata_versions_and_install_snippets() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let hello = page(&app.client, &app.url("/packages/acme/hello"), 200).await;
    assert!(hello.contains("<title>acme:hello · "), "{hello}");
    assert!(hello.contains("<h1>acme:hello</h1>"));
    assert!(hello.contains(r#"<p class="lead">Says hello, politely</p>"#));
    assert!(hello.contains("Apache-2.0 OR MIT"));
    assert!(hello.contains("Ada &lt;ada@example.com&gt;"));
    assert!(hello.contains(r#"<a href="https://example.com/acme/hello" rel="nofollow noopener">"#));
    assert!(hello.contains(r#"<a href="https://example.com/hello" rel="nofollow noopener">"#));
    // A component: wkg get and the OCI reference (WIT cannot name it).
    assert_snippets(
        &hello,
        &[
            ("With wkg", "wkg get acme:hello@1.2.0"),
            (
                "OCI reference",
                &format!("{}/acme/hello:1.2.0", app.authority),
            ),
        ],
    );
    assert!(hello.contains(r#"title="Published to this registry">local</span>"#));
    assert_in_order(
        &hello,
        &[
            r#"<a href="/packages/acme/hello/1.2.0">1.2.0</a>"#,
            r#"<span class="badge latest">latest</span>"#,
            "<time datetime=\"",
            " UTC</time>",
            r#"<a href="/packages/acme/hello/1.0.0">1.0.0</a>"#,
        ],
    );
    // Sizes and digests as the API reports them.
    let api: Value = app
        .client
        .get(app.url("/api/v1/packages/acme/hello"))
        .send()
        .await
        .expect("api")
        .json()
        .await
        .expect("json");
    for version in api["versions"].as_array().expect("versions") {
        let digest = version["manifestDigest"].as_str().expect("digest");
        assert!(
            hello.contains(&format!(r#"title="{digest}">{}"#, &digest[..19])),
            "{digest}"
        );
        let size = version["size"].as_i64().expect("size");
        assert!(
            size < 1024 && hello.contains(&format!("{size} B")),
            "size {size}"
        );
    }

    // Semver order; the yanked version and the pre-release are marked; the
    // recommended version is the highest stable one.
    let greet = page(&app.client, &app.url("/packages/acme/greet"), 200).await;
    assert_in_order(
        &greet,
        &[
            r#"<a href="/packages/acme/greet/1.1.0-rc.1">1.1.0-rc.1</a>"#,
            r#"<span class="badge pre">pre-release</span>"#,
            r#"<a href="/packages/acme/greet/1.0.0">1.0.0</a>"#,
            r#"<span class="badge latest">latest</span>"#,
            r#"<tr class="is-yanked">"#,
            r#"<a href="/packages/acme/greet/0.9.0">0.9.0</a>"#,
            r#"<span class="badge yanked""#,
        ],
    );
    // A WIT package: the `use` line, the world's `import`, the wkg.toml
    // pin (install_snippets_work_with_upstream_wkg feeds them to wkg).
    assert_snippets(
        &greet,
        &[
            ("With wkg", "wkg get acme:greet@1.0.0"),
            ("In a WIT file", "use acme:greet/greeter@1.0.0;"),
            ("In a WIT world", "import acme:greet/greeter@1.0.0;"),
            (
                "Pinned in wkg.toml",
                "[overrides.\"acme:greet\"]\nversion = \"=1.0.0\"",
            ),
            (
                "OCI reference",
                &format!("{}/acme/greet:1.0.0", app.authority),
            ),
        ],
    );
    assert!(greet.contains("WIT package"));
    assert!(greet.contains("<p class=\"lead\">Greets people, loudly or politely</p>"));
    assert!(greet.contains("License</dt><dd>Apache-2.0</dd>"), "{greet}");

    // A WIT package with only a world: `include` it; no `use` (a `use`
    // names interfaces only).
    let worlds = "package acme:runner@0.3.0;\n\nworld runner {\n  export run: func();\n}\n";
    let worlds = integration_tests::fixtures::wit_package(worlds);
    crate::web::support::publish(&app, "acme/runner", "0.3.0", &worlds).await;
    let runner = page(&app.client, &app.url("/packages/acme/runner"), 200).await;
    assert_snippets(
        &runner,
        &[
            ("With wkg", "wkg get acme:runner@0.3.0"),
            ("In a WIT world", "include acme:runner/runner@0.3.0;"),
            (
                "Pinned in wkg.toml",
                "[overrides.\"acme:runner\"]\nversion = \"=0.3.0\"",
            ),
            (
                "OCI reference",
                &format!("{}/acme/runner:0.3.0", app.authority),
            ),
        ],
    );
}

#[tokio::test]
async fn version_page_shows_highlighted_wit_and_dependencies() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let greet = page(&app.client, &app.url("/packages/acme/greet/1.0.0"), 200).await;
    assert!(greet.contains("<title>acme:greet@1.0.0 · "));
    // Highlighted WIT, with definitions anchored and the outline linking them.
    assert!(greet.contains(r#"<pre class="wit"><code>"#), "{greet}");
    assert!(
        greet.contains(
            r#"<span class="k">interface</span> <span class="d" id="wit-greeter">greeter</span>"#
        ),
        "{greet}"
    );
    assert!(greet.contains(r#"<span class="c">/// Greets people.</span>"#));
    assert!(greet.contains(r#"<span class="t">string</span>"#));
    assert!(greet.contains(r#"<span class="n">1.0.0</span>"#));
    assert!(greet.contains(r##"<a href="#wit-greeter-greet">greet</a>"##));
    assert!(greet.contains(r##"<a href="#wit-greeter-options">options</a>"##));
    assert!(greet.contains(r#"id="wit-greeter-greet""#) && greet.contains(r#"id="wit-hello""#));
    // The dependency the registry holds is linked, in the list and the text.
    let link = r#"<a href="/packages/acme/types">acme:types</a>"#;
    assert_eq!(
        greet.matches(link).count(),
        3,
        "dependency list, `use` line and the world's import: {greet}"
    );
    assert!(
        greet.contains(r#"<a href="/packages/acme/types"><code>acme:types/names@1.0.0</code></a>"#),
        "the outline links the world's import: {greet}"
    );
    assert!(greet.contains("<code>import acme:greet/greeter@1.0.0;</code>"));

    let yanked = page(&app.client, &app.url("/packages/acme/greet/0.9.0"), 200).await;
    assert!(yanked.contains("This version is yanked"), "{yanked}");
    assert!(
        yanked.contains(r#"The latest version is <a href="/packages/acme/greet/1.0.0">1.0.0</a>"#)
    );
    let pre = page(
        &app.client,
        &app.url("/packages/acme/greet/1.1.0-rc.1"),
        200,
    )
    .await;
    assert!(pre.contains(r#"<span class="badge pre">pre-release</span>"#));

    // A component: imports (linked to the package held here) and exports.
    let hello = page(&app.client, &app.url("/packages/acme/hello/1.2.0"), 200).await;
    let io = between(&hello, "Imports and exports", "</section>").expect("imports section");
    assert!(
        io.contains(r#"<a href="/packages/acme/greet"><code>acme:greet/greeter@1.0.0</code></a>"#),
        "{io}"
    );
    assert!(io.contains("<code>run</code>"), "{io}");
    assert!(hello.contains("Wasm layer</dt><dd class=\"digest\">sha256:"));
    let component = page(&app.client, &app.url("/packages/tools/lint/0.1.0"), 200).await;
    assert!(
        component.contains("<span class=\"k\">world</span>"),
        "{component}"
    );
}

#[tokio::test]
async fn unknown_pages_are_html_404s() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    for path in [
        "/packages/acme/nope",
        "/packages/acme/greet/9.9.9",
        "/packages/acme/greet/not-a-version",
        "/packages/Acme/Greet",
        "/packages/acme/%FF",
        "/login",
    ] {
        let body = page(&app.client, &app.url(path), 404).await;
        assert!(body.contains("<h1>Not found</h1>"), "{path}: {body}");
    }
    let post = app
        .client
        .post(app.url("/logout"))
        .send()
        .await
        .expect("logout");
    assert_eq!(post.status(), 404, "no sign-in with auth off");
    // The JSON API keeps its own 404s.
    let api = app
        .client
        .get(app.url("/api/v1/packages/acme/nope"))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 404);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn pages_send_safe_headers_and_a_cacheable_stylesheet() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/")).send().await.expect("home");
    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["cache-control"], "private, no-cache");
    assert!(
        headers.get("set-cookie").is_none(),
        "no cookies without sign-in"
    );
    let html = response.text().await.expect("body");
    let href = between(&html, r#"<link rel="stylesheet" href=""#, "\"").expect("stylesheet link");
    let css = app.client.get(app.url(href)).send().await.expect("css");
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = css.headers()["etag"].clone();
    assert!(
        css.text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
    let again = app
        .client
        .get(app.url(href))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("css again");
    assert_eq!(again.status(), 304);
    let unversioned = app
        .client
        .get(app.url("/static/style.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unversioned.headers()["cache-control"],
        "public, max-age=300"
    );
}

/// Upstream wkg 0.16.1, installed by tests/scripts/install-upstream-wkg
/// (`WKG_UPSTREAM_BIN` overrides); missing, the test fails, never skips.
fn upstream_wkg() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("WKG_UPSTREAM_BIN") {
        return path.into();
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let cached = std::path::Path::new(&home).join(".cache/wkg-gateway-tools/wkg-0.16.1/bin/wkg");
    assert!(
        cached.exists(),
        "upstream wkg 0.16.1 is not at {}: run tests/scripts/install-upstream-wkg",
        cached.display()
    );
    cached
}

/// Runs upstream wkg in `dir` against `app` (isolated config and cache).
async fn run_wkg(app: &TestApp, home: &std::path::Path, dir: &std::path::Path, args: &[&str]) {
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "default_registry = \"{0}\"\n\n[registry.\"{0}\".oci]\nprotocol = \"http\"\n",
            app.authority
        ),
    )
    .expect("wkg config");
    let mut command = std::process::Command::new(upstream_wkg());
    command
        .args(args)
        .current_dir(dir)
        .env("WKG_CONFIG_FILE", &config)
        .env("WKG_CACHE_DIR", home.join("cache"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env("XDG_CACHE_HOME", home.join("xdg-cache"));
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run wkg");
    assert!(
        output.status.success(),
        "wkg {} failed:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The snippets are what wkg takes: a project whose WIT has a version
/// page's `use` and `import` lines and whose wkg.toml is its override
/// builds with upstream wkg, which resolves exactly that version.
#[tokio::test(flavor = "multi_thread")]
async fn install_snippets_work_with_upstream_wkg() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let html = page(
        &app.client,
        &app.url("/packages/acme/greet/1.1.0-rc.1"),
        200,
    )
    .await;
    let snippets: std::collections::HashMap<String, String> = snippets(&html).into_iter().collect();
    let home = tempfile::tempdir().expect("temp dir");
    let project = tempfile::tempdir().expect("temp dir");
    let wit = project.path().join("wit");
    std::fs::create_dir_all(&wit).expect("wit dir");
    std::fs::write(
        wit.join("app.wit"),
        format!(
            "package my:app@0.1.0;\n\n{}\n\nworld uses {{\n  import greeter;\n}}\n\n\
             world imports {{\n  {}\n}}\n",
            snippets["In a WIT file"], snippets["In a WIT world"]
        ),
    )
    .expect("app.wit");
    std::fs::write(
        project.path().join("wkg.toml"),
        format!("{}\n", snippets["Pinned in wkg.toml"]),
    )
    .expect("wkg.toml");
    run_wkg(
        &app,
        home.path(),
        project.path(),
        &["build", "-o", "app.wasm"],
    )
    .await;
    let lock = std::fs::read_to_string(project.path().join("wkg.lock")).expect("wkg.lock");
    let greet = between(&lock, "name = \"acme:greet\"", "[[packages]]").unwrap_or(&lock);
    assert!(greet.contains("version = \"1.1.0-rc.1\""), "{lock}");
    assert!(project.path().join("app.wasm").exists());
}
