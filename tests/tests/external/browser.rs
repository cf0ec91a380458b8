//! The package browser in real headless Chromium: seeds a token-mode
//! gateway and runs tests/browser/browser-test.mjs against it (search,
//! versions, highlighted WIT, the sign-in flow for a private package, text
//! contrast in both themes, keyboard navigation). The package page's
//! screenshots are left in `target/web-browser/` as test artifacts
//! (README's docs/images/package-page.png is one of them).
//!
//! Needs node 20 or newer (see [`node`]), Debian's chromium and
//! tests/browser/node_modules: a missing one fails the test (never skips
//! it) with the command that installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::web::support::{page, private_registry};

const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/browser");
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the screenshots go: `<workspace>/target/web-browser/`.
fn artifact_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    target.join("web-browser")
}

/// The major version of the node at `program`, if it runs.
fn node_major(program: &Path) -> Option<u32> {
    let output = std::process::Command::new(program)
        .arg("--version")
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&output.stdout);
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The node that runs the browser test: `node` on PATH when it is 20 or
/// newer, otherwise the one tests/scripts/install-browser-deps installs from
/// PyPI into its cache (`$WKG_TEST_TOOLS`, by default
/// `~/.cache/wkg-gateway-tools`, then `node/bin/node`). With
/// `WKG_FORCE_NODE_FALLBACK=1`, as for that script, only the cached one.
fn node(install: &str) -> PathBuf {
    let tools = std::env::var_os("WKG_TEST_TOOLS").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME");
            Path::new(&home).join(".cache/wkg-gateway-tools")
        },
        PathBuf::from,
    );
    let forced = std::env::var_os("WKG_FORCE_NODE_FALLBACK").is_some_and(|v| v == "1");
    let mut candidates = vec![tools.join("node/bin/node")];
    if !forced {
        candidates.insert(0, PathBuf::from("node"));
    }
    let mut found = Vec::new();
    for candidate in candidates {
        match node_major(&candidate) {
            Some(major) if major >= 20 => return candidate,
            Some(major) => found.push(format!("{} is node {major}", candidate.display())),
            None => found.push(format!("{} does not run", candidate.display())),
        }
    }
    panic!("no node 20 or newer ({}): {install}", found.join("; "));
}

/// Fails with the install command when a piece of the browser setup is
/// missing; returns the node to run.
fn require_browser_setup() -> PathBuf {
    let install = "run tests/scripts/install-browser-deps (as root) to install it";
    let node = node(install);
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: {install}"
    );
    assert!(
        Path::new(BROWSER_DIR)
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "tests/browser/node_modules/playwright-core is missing: {install}"
    );
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_browser_works_in_chromium() {
    let node = require_browser_setup();
    let app = private_registry(&["acme/*", "tools/*"]).await;
    page(&integration_tests::http_client(), &app.url("/"), 200).await;

    let screenshot = artifact_dir().join("package-page.png");
    let _ = std::fs::remove_file(&screenshot);
    println!("node: {}", node.display());
    let run = tokio::process::Command::new(&node)
        .current_dir(BROWSER_DIR)
        .arg("browser-test.mjs")
        .args(["--url", &app.base])
        .arg("--screenshot")
        .arg(&screenshot)
        .args(["--user", "alice", "--password", "alice-password"])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser test finishes within 3 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("8 passed, 0 failed"), "{stdout}");
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "a real PNG"
    );
}
