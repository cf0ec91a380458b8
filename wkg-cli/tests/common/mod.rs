//! Shared setup for end-to-end tests: a private environment for the real `wkg` binary.
//!
//! Every run gets its own HOME, XDG config and cache dirs and working directory, and none
//! of the variables that would point it at the user's real config, cache or credentials.
//!
//! `main.rs` declares it `pub mod common;`: each area uses a different subset of the
//! helpers, and public items are not reported as dead code.

use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

/// A temporary home for one test's `wkg` runs.
pub struct Env {
    pub dir: TempDir,
}

impl Env {
    /// An environment with no config file yet.
    pub fn empty() -> Self {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(env.work()).unwrap();
        env
    }

    /// An environment whose config makes `registry` the default, spoken over plain http.
    pub fn with_registry(registry: &str) -> Self {
        let env = Env::empty();
        std::fs::write(
            env.config(),
            format!(
                "default_registry = \"{registry}\"\n\n[registry.\"{registry}\".oci]\nprotocol = \"http\"\n"
            ),
        )
        .unwrap();
        env
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// The working directory of every run (relative outputs land here).
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.work().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `wkg` with `--config` and `--cache` pointing into this environment.
    pub fn wkg(&self) -> tokio::process::Command {
        let mut cmd = self.bare_wkg();
        cmd.arg("--config")
            .arg(self.config())
            .arg("--cache")
            .arg(self.cache());
        cmd
    }

    /// `wkg` in this environment without `--config`/`--cache` (for `wkg oci`, or XDG tests).
    pub fn bare_wkg(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wkg"));
        for var in [
            "WKG_CONFIG_FILE",
            "WKG_CACHE_DIR",
            "WKG_OCI_INSECURE",
            "WKG_REGISTRY",
            "WKG_PACKAGE",
            "WKG_OCI_USERNAME",
            "WKG_OCI_PASSWORD",
            "DOCKER_CONFIG",
            "EDITOR",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("xdg-cache"))
            .current_dir(self.work())
            .kill_on_drop(true);
        cmd
    }
}

/// Runs a command to completion: (output, stdout, stderr).
pub async fn run(cmd: &mut tokio::process::Command) -> (Output, String, String) {
    let output = cmd.output().await.expect("run wkg");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// Runs and asserts success, returning stdout.
pub async fn ok(cmd: &mut tokio::process::Command) -> String {
    let (output, stdout, stderr) = run(cmd).await;
    assert!(
        output.status.success(),
        "wkg failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    stdout
}

/// Files under `dir`, recursively, as paths relative to it.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(
                files_under(&path)
                    .into_iter()
                    .map(|p| PathBuf::from(entry.file_name()).join(p)),
            );
        } else {
            out.push(PathBuf::from(entry.file_name()));
        }
    }
    out
}
