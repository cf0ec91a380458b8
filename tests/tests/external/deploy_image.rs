//! The container image, built and run for real: `deploy/Dockerfile`
//! (`prebuilt` stage, with the gateway binary built on the host) on a
//! locally bootstrapped Debian base, run the way `deploy/compose.yaml`'s
//! `gateway` service runs it (its environment and named volume). Token
//! auth is on by default; the bootstrap admin pushes a component, it is
//! pulled back, the container restarts, and the component and the signing
//! key survive on the volume.
//!
//! One difference from compose: CI machines have no bridge network, so the
//! container shares the host network and listens on a free loopback port
//! instead of `0.0.0.0:8080` (and `public_url` follows it).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use integration_tests::docker::DockerEngine;
use integration_tests::fixtures::{self, WASM_CONFIG, WASM_LAYER};
use integration_tests::install_crypto;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "image-test-admin-password";

/// The compose file's `gateway` service, as JSON (PyYAML reads it).
fn compose_gateway() -> Value {
    let compose = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/compose.yaml");
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            compose,
        ])
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "cannot read compose.yaml (needs PyYAML): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let compose: Value = serde_json::from_slice(&output.stdout).unwrap();
    compose["services"]["gateway"].clone()
}

/// `${NAME:-default}` interpolation as compose does it, from `env`.
fn interpolate(value: &str, env: &BTreeMap<&str, &str>) -> String {
    match value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        Some(expr) => {
            let (name, default) = expr.split_once(":-").unwrap_or((expr, ""));
            env.get(name).copied().unwrap_or(default).to_string()
        }
        None => value.to_string(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(base: &str, engine: &DockerEngine, container: &str) {
    let client = integration_tests::http_client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the container never became ready; logs:\n{}",
            String::from_utf8_lossy(&engine.docker(&["logs", container]).stderr)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn oci() -> Client {
    install_crypto();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_image_serves_like_compose_runs_it_and_keeps_data_across_restarts() {
    let engine = tokio::task::spawn_blocking(|| {
        let engine = DockerEngine::start();
        engine.import_debian_base();
        engine
    })
    .await
    .unwrap();

    // Build context: the Dockerfile and a stripped copy of the host binary.
    let context = tempfile::tempdir().unwrap();
    let dockerfile = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/Dockerfile");
    std::fs::copy(dockerfile, context.path().join("Dockerfile")).unwrap();
    let binary = context.path().join("wkg-gateway");
    let stripped = std::process::Command::new("objcopy")
        .arg("--strip-debug")
        .arg(env!("CARGO_BIN_EXE_wkg-gateway-test-server"))
        .arg(&binary)
        .status();
    if !stripped.is_ok_and(|s| s.success()) {
        std::fs::copy(env!("CARGO_BIN_EXE_wkg-gateway-test-server"), &binary).unwrap();
    }
    let context_path = context.path().display().to_string();
    let engine = tokio::task::spawn_blocking(move || {
        engine.must(&[
            "build",
            "--network",
            "host",
            "--target",
            "prebuilt",
            "-t",
            "wkg-gateway:latest",
            &context_path,
        ]);
        engine
    })
    .await
    .unwrap();

    // Run it as compose's `gateway` service does.
    let service = compose_gateway();
    assert_eq!(service["image"], "wkg-gateway:latest");
    assert_eq!(service["ports"][0], "8080:8080");
    let volume = service["volumes"][0].as_str().unwrap().to_string();
    assert_eq!(volume, "wkg-data:/var/lib/wkg-gateway");
    let shell_env = BTreeMap::from([("WKG_GATEWAY_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)]);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut args: Vec<String> = ["run", "-d", "--name", "wkg", "--network", "host", "-v"]
        .map(String::from)
        .to_vec();
    args.push(volume);
    for (key, value) in service["environment"].as_object().unwrap() {
        let value = match key.as_str() {
            // Host networking: a free loopback port instead of 8080.
            "WKG_GATEWAY_PUBLIC_URL" => base.clone(),
            _ => interpolate(value.as_str().unwrap(), &shell_env),
        };
        args.extend(["-e".to_string(), format!("{key}={value}")]);
    }
    args.extend([
        "-e".to_string(),
        format!("WKG_GATEWAY_LISTEN=127.0.0.1:{port}"),
        "wkg-gateway:latest".to_string(),
    ]);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    engine.must(&arg_refs);
    wait_ready(&base, &engine, "wkg").await;

    // The image's own healthcheck command works from inside the container.
    engine.must(&["exec", "wkg", "wkg-gateway", "healthcheck", "--url", &base]);
    let user = engine.must(&["inspect", "--format", "{{.Config.User}}", "wkg"]);
    assert_eq!(user.trim(), "10001:10001", "the gateway runs unprivileged");

    // Token auth is on: anonymous pushes are refused, the admin may push.
    let wasm = fixtures::component_with_metadata("shipped in a container", "MIT");
    let reference: Reference = format!("127.0.0.1:{port}/team/app:1.0.0").parse().unwrap();
    let config = Config::new(
        br#"{"architecture":"wasm","os":"wasip2"}"#.to_vec(),
        WASM_CONFIG.to_string(),
        None,
    );
    let layers = vec![ImageLayer::new(wasm.clone(), WASM_LAYER.to_string(), None)];
    let manifest = OciImageManifest::build(&layers, &config, None);
    let anonymous = oci()
        .push(
            &reference,
            &layers,
            config.clone(),
            &RegistryAuth::Anonymous,
            Some(manifest.clone()),
        )
        .await;
    assert!(anonymous.is_err(), "token auth is on by default");
    let admin = RegistryAuth::Basic("admin".into(), ADMIN_PASSWORD.into());
    oci()
        .push(&reference, &layers, config, &admin, Some(manifest))
        .await
        .expect("the bootstrap admin pushes");
    let pulled = oci()
        .pull(&reference, &admin, vec![WASM_LAYER])
        .await
        .unwrap();
    assert!(pulled.layers[0].data.as_ref() == wasm.as_slice());
    let token = integration_tests::http_client()
        .get(format!("{base}/v2/token?scope=repository:team/app:pull"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    // The README's admin steps, run inside the container.
    engine.must(&["exec", "wkg", "wkg-gateway", "admin", "user", "add", "ci"]);
    engine.must(&[
        "exec",
        "wkg",
        "wkg-gateway",
        "admin",
        "grant",
        "ci",
        "team/*",
        "pull",
    ]);
    let secret = engine.must(&[
        "exec",
        "wkg",
        "wkg-gateway",
        "admin",
        "token",
        "create",
        "ci",
        "--ttl",
        "1h",
    ]);
    let robot = RegistryAuth::Basic("ci".into(), secret.trim().to_string());
    let by_robot = oci()
        .pull(&reference, &robot, vec![WASM_LAYER])
        .await
        .expect("the robot token pulls");
    assert!(by_robot.layers[0].data.as_ref() == wasm.as_slice());

    // Restart: data, users and the signing key live on the volume.
    engine.must(&["restart", "wkg"]);
    wait_ready(&base, &engine, "wkg").await;
    let again = oci()
        .pull(&reference, &admin, vec![WASM_LAYER])
        .await
        .expect("pull after restart");
    assert!(again.layers[0].data.as_ref() == wasm.as_slice());
    let with_old_token = integration_tests::http_client()
        .get(format!("{base}/v2/team/app/tags/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_old_token.status(),
        200,
        "tokens survive a restart: the signing key is on the volume"
    );
    let logs = engine.docker(&["logs", "wkg"]);
    let logs = String::from_utf8_lossy(&logs.stderr);
    assert!(
        !logs.contains(ADMIN_PASSWORD),
        "the given password is never logged"
    );
    engine.must(&["rm", "-f", "wkg"]);
    engine.must(&["volume", "rm", "wkg-data"]);
}
