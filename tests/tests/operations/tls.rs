//! Serving https from `[tls] cert_file`/`key_file`, with certificate reload,
//! and upstream wkg reaching it with `extra_root_certificates`.

use std::path::{Path, PathBuf};
use std::process::Command;

use integration_tests::{TestApp, fixtures, https_client_trusting, sha256_digest, wait_until};
use reqwest::StatusCode;
use tempfile::TempDir;

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A test CA and a server certificate it signed for 127.0.0.1 and
/// localhost, made with openssl: `(ca, cert, key)` paths.
fn ca_and_server_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca, ca_key) = (format!("{name}-ca.crt"), format!("{name}-ca.key"));
    let (cert, key, csr) = (
        format!("{name}.crt"),
        format!("{name}.key"),
        format!("{name}.csr"),
    );
    let ca_subject = format!("/CN={name} test CA");
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-days",
        "2",
        "-subj",
        &ca_subject,
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    args.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(&args, dir);
    let mut args = vec!["req", "-new"];
    args.extend(ec);
    args.extend(["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr]);
    openssl(&args, dir);
    let extensions = format!("{name}.ext");
    std::fs::write(
        dir.join(&extensions),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
        ]
        .into_iter()
        .chain(["-out", &cert, "-extfile", &extensions])
        .collect::<Vec<_>>(),
        dir,
    );
    // Serve the full chain, as certificate issuers deliver it.
    let chain = dir.join(format!("{name}-fullchain.crt"));
    let mut pem = std::fs::read(dir.join(&cert)).unwrap();
    pem.extend(std::fs::read(dir.join(&ca)).unwrap());
    std::fs::write(&chain, pem).unwrap();
    (dir.join(ca), chain, dir.join(key))
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_https_and_reloads_the_certificate() {
    let certs = TempDir::new().unwrap();
    let (first_ca, cert, key) = ca_and_server_cert(certs.path(), "first");
    let (live_cert, live_key) = (certs.path().join("live.crt"), certs.path().join("live.key"));
    std::fs::copy(&cert, &live_cert).unwrap();
    std::fs::copy(&key, &live_key).unwrap();
    let app = TestApp::spawn_with(&format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        live_cert.display().to_string(),
        live_key.display().to_string()
    ))
    .await;
    assert!(app.base.starts_with("https://"));
    assert_eq!(
        app.client
            .get(app.url("/v2/"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let registry: serde_json::Value = app
        .client
        .get(app.url("/.well-known/wasm-pkg/registry.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(registry["oci"]["registry"], app.authority);
    // Plain http to the https port does not get through.
    let plain = integration_tests::http_client()
        .get(format!("http://{}/v2/", app.authority))
        .send()
        .await;
    assert!(plain.map(|r| r.status() != StatusCode::OK).unwrap_or(true));

    // Renewal: new files in place, picked up without a restart.
    let (second_ca, second, second_key) = ca_and_server_cert(certs.path(), "second");
    std::fs::copy(&second, &live_cert).unwrap();
    std::fs::copy(&second_key, &live_key).unwrap();
    let trusts_second = https_client_trusting(&second_ca);
    wait_until("the renewed certificate to be served", || async {
        let response = trusts_second.get(app.url("/v2/")).send().await.ok()?;
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
    assert!(
        https_client_trusting(&first_ca)
            .get(app.url("/v2/"))
            .send()
            .await
            .is_err(),
        "the old one is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_wkg_gets_over_https_with_an_extra_root() {
    let certs = TempDir::new().unwrap();
    let (ca, cert, key) = ca_and_server_cert(certs.path(), "gateway");
    let app = TestApp::spawn_with(&format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    ))
    .await;
    let wasm = fixtures::component_with_metadata("over https", "MIT");
    // wkg parses the config's `created` as an RFC 3339 time.
    let (response, _) = app
        .publish_wasm("secure/hello", "1.0.0", &wasm, "2026-11-24T00:00:00Z")
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let home = std::env::var("HOME").unwrap();
    let wkg = Path::new(&home).join(".cache/wkg-gateway-tools/wkg-0.16.1/bin/wkg");
    assert!(
        wkg.exists(),
        "upstream wkg is not installed; run tests/scripts/install-upstream-wkg"
    );
    let work = TempDir::new().unwrap();
    // `data` is the CA's PEM text (a TOML multi-line literal string).
    let pem = std::fs::read_to_string(&ca).unwrap();
    let config = format!(
        "default_registry = \"{0}\"\n\n[registry.\"{0}\".oci]\nextra_root_certificates = [{{ encoding = \"pem\", data = \'\'\'\n{1}\'\'\' }}]\n",
        app.authority, pem
    );
    std::fs::write(work.path().join("config.toml"), config).unwrap();
    let out = work.path().join("got.wasm");
    let (wkg, dir, out_arg) = (wkg.clone(), work.path().to_path_buf(), out.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&wkg)
            .args(["get", "secure:hello@1.0.0", "-o"])
            .arg(&out_arg)
            .current_dir(&dir)
            .env("WKG_CONFIG_FILE", dir.join("config.toml"))
            .env("WKG_CACHE_DIR", dir.join("cache"))
            .env("HOME", &dir)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        output.status.success(),
        "wkg get over https failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        sha256_digest(&std::fs::read(&out).unwrap()),
        sha256_digest(&wasm)
    );
}
