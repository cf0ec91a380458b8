//! Property-based checks of the HTTP contract: schemathesis (PyPI) drives a
//! real gateway from openapi.yaml with every check on (schema conformance,
//! no 5xx, rejection of invalid input, 405 for undeclared methods), from a
//! fixed seed. Fails when schemathesis is not installed (scripts/test
//! installs it).

use integration_tests::{GatewayProcess, fixtures, http_client};
use reqwest::StatusCode;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_wkg-gateway-test-server");
const ADMIN_PASSWORD: &str = "schemathesis-admin-password";
const RUNNER: &str = "st-runner-7q2x9k4m";

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failures() {
    let data = TempDir::new().unwrap();
    // Token mode, so the auth checks (401 without or with bad credentials)
    // have something to check; every request carries the first admin's.
    let gateway = GatewayProcess::start(
        BIN,
        data.path(),
        &[
            ("WKG_GATEWAY_AUTH__MODE", "token"),
            ("WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    let client = http_client();

    // Some packages to find, so the package endpoints get past 404.
    for (repo, version) in [
        ("acme/hello", "1.0.0"),
        ("acme/hello", "1.1.0-rc.1"),
        ("example/greeter", "0.2.0"),
    ] {
        let wasm = if repo == "example/greeter" {
            fixtures::wit_package(
                "package example:greeter@0.2.0;\ninterface greet { hello: func(); }\n",
            )
        } else {
            fixtures::component_with_metadata("Says hello", "MIT")
        };
        let config = br#"{"architecture":"wasm","os":"wasip2"}"#;
        for blob in [&config[..], &wasm[..]] {
            let digest = integration_tests::sha256_digest(blob);
            let url = format!("{}/v2/{repo}/blobs/uploads/?digest={digest}", gateway.base);
            assert_eq!(
                client
                    .post(url)
                    .basic_auth("admin", Some(ADMIN_PASSWORD))
                    .body(blob.to_vec())
                    .send()
                    .await
                    .unwrap()
                    .status(),
                StatusCode::CREATED
            );
        }
        let manifest = fixtures::wasm_manifest(
            &integration_tests::sha256_digest(config),
            config.len(),
            &integration_tests::sha256_digest(&wasm),
            wasm.len(),
            None,
        );
        let put = client
            .put(format!("{}/v2/{repo}/manifests/{version}", gateway.base))
            .header("content-type", fixtures::OCI_MANIFEST)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .body(manifest)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
    }

    // schemathesis may rename, re-grant or delete any user it can name, so it
    // runs as an administrator whose name it will not guess.
    let admin = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(BIN)
            .arg("admin")
            .args(args)
            .env("WKG_GATEWAY_DATA_DIR", data.path())
            .env("WKG_GATEWAY_AUTH__MODE", "token")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "admin {args:?}");
    };
    admin(
        &["user", "add", RUNNER, "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    admin(&["grant", RUNNER, "*", "admin"], "");
    let auth = format!("{RUNNER}:{ADMIN_PASSWORD}");
    run_schemathesis(&gateway, &["--max-examples", "100", "--auth", &auth]).await;
}

/// Runs schemathesis with every check against `gateway`, from the fixed
/// seed, and fails with its report and the gateway's log if it finds
/// anything.
async fn run_schemathesis(gateway: &GatewayProcess, args: &[&str]) {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let base = gateway.base.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("schemathesis")
            .args([
                "run", spec, "--url", &base, "-c", "all", "--seed", "20261124",
            ])
            .args(&args)
            .env("NO_COLOR", "1")
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| {
        panic!("cannot run schemathesis ({e}); install it with `pip install schemathesis`")
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}\ngateway log:\n{}",
        gateway.log_text()
    );
}

/// The contract holds for an open registry too (`auth.mode = "none"`, the
/// default): the `{}` security alternative, and 403 from the per-user
/// operations, which such a registry has no users for.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failures_without_authentication() {
    let data = TempDir::new().unwrap();
    let gateway = GatewayProcess::start(BIN, data.path(), &[("WKG_GATEWAY_AUTH__MODE", "none")]);
    run_schemathesis(&gateway, &["--max-examples", "30"]).await;
}
