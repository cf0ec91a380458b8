//! Runs the built `wkg` binary: `wkg config` against a temporary config file.
//!
//! Every run gets a private HOME and XDG_CONFIG_HOME and no WKG_CONFIG_FILE, so a test can
//! never read or write the real user config.

use std::path::Path;
use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("wkg").join("config.toml")
    }

    fn wkg(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wkg"));
        cmd.env_remove("WKG_CONFIG_FILE")
            .env_remove("EDITOR")
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        cmd
    }
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let output = cmd.output().expect("run wkg");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    (output, stdout, stderr)
}

#[test]
fn set_default_registry_then_show_it() {
    let env = Env::new();
    let config = env.config();

    let (out, stdout, stderr) = run(env
        .wkg()
        .args(["config", "--default-registry", "localhost:5000", "--config"])
        .arg(&config));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "Updated config file: {}\nDefault registry: localhost:5000\n",
            config.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "default_registry = \"localhost:5000\"\n"
    );

    // `--config` before the subcommand works too.
    let (out, stdout, stderr) = run(env.wkg().arg("--config").arg(&config).arg("config"));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "Config file: {}\nDefault registry: localhost:5000\n\ndefault_registry = \"localhost:5000\"\n",
            config.display()
        )
    );
}

#[test]
fn env_var_names_the_file_and_other_settings_survive() {
    let env = Env::new();
    let config = env.config();
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[namespace_registries]\nwasi = \"wasi.dev\"\n\n[registry.\"r.dev\".gateway]\nversion = \"1\"\n",
    )
    .unwrap();

    let (out, _, stderr) = run(env.wkg().env("WKG_CONFIG_FILE", &config).args([
        "config",
        "--default-registry",
        "r.dev",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "default_registry = \"r.dev\"\n\n[namespace_registries]\nwasi = \"wasi.dev\"\n\n\
         [registry.\"r.dev\".gateway]\nversion = \"1\"\n"
    );
}

#[test]
fn default_location_is_under_xdg_config_home() {
    let env = Env::new();
    let (out, stdout, stderr) =
        run(env
            .wkg()
            .args(["config", "--default-registry", "example.com"]));
    assert!(out.status.success(), "{stderr}");
    let expected = env
        .dir
        .path()
        .join("xdg")
        .join("wasm-pkg")
        .join("config.toml");
    assert!(stdout.contains(&expected.display().to_string()), "{stdout}");
    assert!(expected.is_file());
}

#[test]
fn missing_file_says_how_to_create_one() {
    let env = Env::new();
    let (out, stdout, _) = run(env.wkg().arg("config").arg("--config").arg(env.config()));
    assert!(out.status.success());
    assert!(stdout.contains("No config file at"), "{stdout}");
    assert!(
        stdout.contains("wkg config --default-registry <host>"),
        "{stdout}"
    );
    assert!(!env.config().exists());
}

#[test]
fn invalid_config_fails_with_cause_and_hint() {
    let env = Env::new();
    let config = env.config();
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[registry.\"r.dev\".oci]\nprotocol = \"ftp\"\n").unwrap();

    let (out, stdout, stderr) = run(env.wkg().arg("config").arg("--config").arg(&config));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.starts_with("error: invalid config file "),
        "{stderr}"
    );
    assert!(
        stderr.contains("`registry.\"r.dev\".oci.protocol`: unknown protocol \"ftp\""),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: `wkg config --edit`"), "{stderr}");

    std::fs::write(&config, "default_registry = [\n").unwrap();
    let (out, _, stderr) = run(env.wkg().arg("config").arg("--config").arg(&config));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("is not valid TOML") && stderr.contains("  caused by: TOML parse error"),
        "{stderr}"
    );
}

#[test]
fn bad_registry_argument_is_a_usage_error() {
    let env = Env::new();
    let (out, _, stderr) =
        run(env
            .wkg()
            .args(["config", "--default-registry", "https://example.com"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("drop the `http://`/`https://`"), "{stderr}");
}

#[test]
#[cfg(unix)]
fn edit_runs_the_editor_on_the_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    let config = env.config();
    let editor = env.dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\necho 'default_registry = \"edited.dev\"' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();

    let (out, stdout, stderr) = run(env
        .wkg()
        .env("EDITOR", &editor)
        .args(["config", "--edit", "--config"])
        .arg(&config));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Created config file"), "{stdout}");
    let (_, stdout, _) = run(env.wkg().arg("config").arg("--config").arg(&config));
    assert!(stdout.contains("Default registry: edited.dev"), "{stdout}");

    // A second append makes a duplicate key: the edit is kept but reported.
    let (out, _, stderr) = run(env
        .wkg()
        .env("EDITOR", &editor)
        .args(["config", "-e", "--config"])
        .arg(&config));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("run `wkg config --edit` again"), "{stderr}");
    assert!(Path::new(&config).is_file());
}
