//! Real clients logging in to a gateway with `[auth] mode = "token"`:
//! `oci-client` with Basic credentials (the token flow upstream wkg uses),
//! also with a robot token as the password; `skopeo --creds`; `oras` with a
//! user name and password. Each pushes and pulls back byte-identical, and
//! is refused without credentials.

use std::process::Command;

use integration_tests::fixtures::{self, WASM_CONFIG, WASM_LAYER};
use integration_tests::{TestApp, install_crypto};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::OciImageManifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::json;
use tempfile::TempDir;

async fn gateway() -> TestApp {
    let app = TestApp::spawn_token_mode("").await;
    app.add_user("dev", Some("dev-password")).await;
    app.grant("dev", "team/*", "pull,push").await;
    app.add_user("ci", None).await;
    app.grant("ci", "team/*", "pull,push").await;
    app
}

fn oci_client() -> Client {
    install_crypto();
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..Default::default()
    })
}

async fn push_with(
    client: &Client,
    reference: &Reference,
    auth: &RegistryAuth,
    wasm: &[u8],
) -> Result<(), String> {
    let config = Config::new(
        serde_json::to_vec(&json!({"architecture": "wasm", "os": "wasip2"})).unwrap(),
        WASM_CONFIG.to_string(),
        None,
    );
    let layers = vec![ImageLayer::new(wasm.to_vec(), WASM_LAYER.to_string(), None)];
    let manifest = OciImageManifest::build(&layers, &config, None);
    client
        .push(reference, &layers, config, auth, Some(manifest))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn oci_client_with_basic_credentials_and_with_a_robot_token() {
    let app = gateway().await;
    let secret = app.create_token("ci", None, &[]).await;
    let wasm = fixtures::component();
    for (tag, auth) in [
        (
            "1.0.0",
            RegistryAuth::Basic("dev".into(), "dev-password".into()),
        ),
        ("2.0.0", RegistryAuth::Basic("ci".into(), secret.clone())),
    ] {
        // A fresh client each time: no token cached from the last round.
        let client = oci_client();
        let reference: Reference = format!("{}/team/app:{tag}", app.authority).parse().unwrap();
        push_with(&client, &reference, &auth, &wasm)
            .await
            .expect("push");
        let image = client
            .pull(&reference, &auth, vec![WASM_LAYER])
            .await
            .expect("pull");
        assert!(image.layers[0].data.as_ref() == wasm.as_slice());
    }
    let refused = push_with(
        &oci_client(),
        &format!("{}/team/app:3.0.0", app.authority).parse().unwrap(),
        &RegistryAuth::Anonymous,
        &wasm,
    )
    .await;
    assert!(refused.is_err(), "anonymous push must fail");
    let wrong = push_with(
        &oci_client(),
        &format!("{}/team/app:3.0.0", app.authority).parse().unwrap(),
        &RegistryAuth::Basic("dev".into(), "wrong".into()),
        &wasm,
    )
    .await;
    assert!(wrong.is_err(), "a wrong password must fail");
    let outside = push_with(
        &oci_client(),
        &format!("{}/other/app:1.0.0", app.authority)
            .parse()
            .unwrap(),
        &RegistryAuth::Basic("dev".into(), "dev-password".into()),
        &wasm,
    )
    .await;
    assert!(outside.is_err(), "no grant on other/*");
}

fn run(program: &str, args: &[String], envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); scripts/test installs it"))
}

async fn skopeo_copy(
    policy: &std::path::Path,
    creds: Option<&str>,
    from: String,
    to: String,
) -> std::process::Output {
    let mut args = vec![
        format!("--policy={}", policy.display()),
        "copy".to_string(),
        "--src-tls-verify=false".to_string(),
        "--dest-tls-verify=false".to_string(),
    ];
    if let Some(creds) = creds {
        args.push(format!("--src-creds={creds}"));
        args.push(format!("--dest-creds={creds}"));
    }
    args.extend([from, to]);
    tokio::task::spawn_blocking(move || run("skopeo", &args, &[]))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_with_creds() {
    let app = gateway().await;
    let work = TempDir::new().unwrap();
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .unwrap();
    // Push with oci-client first, then copy in and out with skopeo.
    let wasm = fixtures::component_with_metadata("skopeo with creds", "MIT");
    let auth = RegistryAuth::Basic("dev".into(), "dev-password".into());
    let source: Reference = format!("{}/team/source:1.0.0", app.authority)
        .parse()
        .unwrap();
    push_with(&oci_client(), &source, &auth, &wasm)
        .await
        .unwrap();
    let layout = work.path().join("layout");
    let remote = |repo: &str| format!("docker://{}/{repo}", app.authority);
    let layout_ref = format!("oci:{}:1.0.0", layout.display());
    let refused = skopeo_copy(
        &policy,
        None,
        remote("team/source:1.0.0"),
        layout_ref.clone(),
    )
    .await;
    assert!(!refused.status.success(), "anonymous pull must fail");
    let creds = Some("dev:dev-password");
    let out = skopeo_copy(
        &policy,
        creds,
        remote("team/source:1.0.0"),
        layout_ref.clone(),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = skopeo_copy(&policy, creds, layout_ref, remote("team/copy:1.0.0")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copied = oci_client()
        .pull(
            &format!("{}/team/copy:1.0.0", app.authority)
                .parse()
                .unwrap(),
            &auth,
            vec![WASM_LAYER],
        )
        .await
        .unwrap();
    assert!(copied.layers[0].data.as_ref() == wasm.as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn oras_with_username_and_password() {
    let app = gateway().await;
    let work = TempDir::new().unwrap();
    let wasm = fixtures::component_with_metadata("oras with a login", "MIT");
    std::fs::write(work.path().join("hello.wasm"), &wasm).unwrap();
    std::fs::write(
        work.path().join("config.json"),
        br#"{"architecture":"wasm","os":"wasip2"}"#,
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/oras_roundtrip.py").to_string();
    let args = vec![
        script,
        app.authority.clone(),
        "team/oras:0.3.0".to_string(),
        work.path().display().to_string(),
    ];
    let (a, b) = (args.clone(), args);
    let anonymous = tokio::task::spawn_blocking(move || run("python3", &a, &[]))
        .await
        .unwrap();
    assert!(!anonymous.status.success(), "anonymous push must fail");
    let output = tokio::task::spawn_blocking(move || {
        run(
            "python3",
            &b,
            &[("ORAS_USERNAME", "dev"), ("ORAS_PASSWORD", "dev-password")],
        )
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let pulled = std::fs::read(work.path().join("pulled/hello.wasm")).unwrap();
    assert!(pulled == wasm, "the component round-trips byte for byte");
}
