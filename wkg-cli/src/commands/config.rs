//! `wkg config`: show, set the default registry, or edit the config file.
//!
//! Output lines `Updated config file: <path>` and `Default registry: <name>` are upstream
//! wkg's, so scripts that read them keep working. Showing the file prints it with secrets
//! redacted: the command is often run while sharing a screen or in CI logs.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use wkg_client::Config;

use super::ExitStatus;
use crate::cli::ConfigArgs;
use crate::printer::Printer;

/// Written by `--edit` when there is no file yet; it parses as an empty config.
pub const NEW_CONFIG_TEMPLATE: &str = r#"# wkg configuration, shared with upstream wkg and other wasm-pkg tools.
# Every option: https://github.com/bytecodealliance/wasm-pkg-tools#configuration
#
# default_registry = "example.com"
#
# [namespace_registries]
# wasi = "wasi.dev"
#
# [registry."example.com".oci]
# auth = { username = "user", password = "secret" }
# protocol = "https"
"#;

/// Runs `wkg config`. `config_path` is `--config`/`$WKG_CONFIG_FILE`; `editor` is `$EDITOR`.
pub fn run(
    args: &ConfigArgs,
    config_path: Option<&Path>,
    editor: Option<&OsStr>,
    printer: &mut Printer<'_>,
) -> Result<ExitStatus> {
    let path = match config_path {
        Some(path) => path.to_path_buf(),
        None => wkg_client::default_config_path()?,
    };

    if let Some(registry) = &args.default_registry {
        let mut config = Config::load_or_default(&path)?;
        config.default_registry = Some(registry.clone());
        config.save(&path)?;
        writeln!(printer.out, "Updated config file: {}", path.display())?;
        writeln!(printer.out, "Default registry: {registry}")?;
    }
    if args.edit {
        return edit(&path, editor, printer);
    }
    if args.default_registry.is_none() {
        show(&path, printer)?;
    }
    Ok(ExitStatus::Success)
}

/// Prints the file path, the default registry, and the file's settings.
fn show(path: &Path, printer: &mut Printer<'_>) -> Result<()> {
    let Some(config) = Config::load_optional(path)? else {
        writeln!(printer.out, "No config file at {}", path.display())?;
        writeln!(printer.out, "Default registry is not set")?;
        writeln!(
            printer.out,
            "Create one with `wkg config --default-registry <host>`, or write it with `wkg config --edit`."
        )?;
        return Ok(());
    };
    writeln!(printer.out, "Config file: {}", path.display())?;
    match &config.default_registry {
        Some(registry) => writeln!(printer.out, "Default registry: {registry}")?,
        None => writeln!(printer.out, "Default registry is not set")?,
    }
    let text = config.to_toml_redacted()?;
    if !text.is_empty() {
        writeln!(printer.out)?;
        write!(printer.out, "{text}")?;
    }
    Ok(())
}

/// Opens the file in `$EDITOR` (creating it first), then checks what the user wrote.
fn edit(path: &Path, editor: Option<&OsStr>, printer: &mut Printer<'_>) -> Result<ExitStatus> {
    let Some(editor) = editor.filter(|e| !e.is_empty()) else {
        bail!(
            "$EDITOR is not set; set it to your editor (for example `EDITOR=vi wkg config --edit`) \
             or edit {} directly",
            path.display()
        );
    };
    if !path.exists() {
        wkg_client::config::write_atomic(path, NEW_CONFIG_TEMPLATE)?;
        writeln!(printer.out, "Created config file: {}", path.display())?;
    }
    printer.out.flush()?;

    let (program, editor_args) = split_editor(editor);
    let status = std::process::Command::new(&program)
        .args(&editor_args)
        .arg(path)
        .status()
        .with_context(|| format!("could not start the editor {editor:?} named by $EDITOR"))?;
    if !status.success() {
        writeln!(
            printer.err,
            "error: the editor {editor:?} exited with {status}; the config file was not checked"
        )?;
        return Ok(ExitStatus::Failure);
    }
    // Catch a mistake now rather than at the next fetch, while the user remembers the edit.
    Config::load(path).with_context(|| {
        format!(
            "the edited config file {} is not valid; run `wkg config --edit` again to fix it",
            path.display()
        )
    })?;
    Ok(ExitStatus::Success)
}

/// `$EDITOR` may carry arguments (`code --wait`); a path to an existing file is used whole
/// so editors installed under a directory with spaces still work.
fn split_editor(editor: &OsStr) -> (OsString, Vec<OsString>) {
    if PathBuf::from(editor).is_file() {
        return (editor.to_owned(), Vec::new());
    }
    match editor.to_str() {
        Some(text) => {
            let mut words = text.split_whitespace().map(OsString::from);
            let program = words.next().unwrap_or_default();
            (program, words.collect())
        }
        None => (editor.to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Run {
        status: Result<ExitStatus>,
        out: String,
        err: String,
    }

    fn run_config(
        path: &Path,
        default_registry: Option<&str>,
        edit: bool,
        editor: Option<&str>,
    ) -> Run {
        let args = ConfigArgs {
            default_registry: default_registry.map(|r| r.parse().unwrap()),
            edit,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut printer = Printer {
            out: &mut out,
            err: &mut err,
            verbosity: crate::printer::Verbosity::Normal,
            terminal: false,
        };
        let status = run(&args, Some(path), editor.map(OsStr::new), &mut printer);
        Run {
            status,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
        }
    }

    #[test]
    fn template_is_an_empty_config() {
        assert_eq!(
            Config::from_toml(NEW_CONFIG_TEMPLATE).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn set_then_show() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");

        let shown = run_config(&path, None, false, None);
        assert!(
            shown
                .out
                .starts_with(&format!("No config file at {}\n", path.display())),
            "{}",
            shown.out
        );
        assert!(!path.exists(), "showing must not create the file");

        let set = run_config(&path, Some("localhost:5000"), false, None);
        assert_eq!(set.status.unwrap(), ExitStatus::Success);
        assert_eq!(
            set.out,
            format!(
                "Updated config file: {}\nDefault registry: localhost:5000\n",
                path.display()
            )
        );

        std::fs::write(
            &path,
            "default_registry = \"localhost:5000\"\n[registry.\"localhost:5000\".oci]\nauth = { username = \"u\", password = \"hunter2\" }\n",
        )
        .unwrap();
        let shown = run_config(&path, None, false, None);
        assert!(shown.out.starts_with(&format!(
            "Config file: {}\nDefault registry: localhost:5000\n\n",
            path.display()
        )));
        assert!(
            shown.out.contains("password = \"<redacted>\""),
            "{}",
            shown.out
        );
        assert!(!shown.out.contains("hunter2"));
    }

    #[test]
    fn edit_without_editor_explains() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let run = run_config(&path, None, true, None);
        let msg = run.status.unwrap_err().to_string();
        assert!(msg.contains("$EDITOR is not set"), "{msg}");
        assert!(!path.exists());
    }

    #[test]
    #[cfg(unix)]
    fn edit_creates_then_checks_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("config.toml");
        let ok = run_config(&path, None, true, Some("true"));
        assert_eq!(ok.status.unwrap(), ExitStatus::Success);
        assert!(ok.out.contains("Created config file"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), NEW_CONFIG_TEMPLATE);

        let failed = run_config(&path, None, true, Some("false"));
        assert_eq!(failed.status.unwrap(), ExitStatus::Failure);
        assert!(failed.err.contains("exited with"), "{}", failed.err);

        std::fs::write(&path, "bogus = 1\n").unwrap();
        let invalid = run_config(&path, None, true, Some("true"));
        let err = invalid.status.unwrap_err();
        assert!(
            err.to_string()
                .contains("is not valid; run `wkg config --edit` again"),
            "{err:#}"
        );
    }

    #[test]
    fn editor_words() {
        let (program, args) = split_editor(OsStr::new("code --wait -n"));
        assert_eq!(program, "code");
        assert_eq!(args, ["--wait", "-n"]);
        let dir = tempfile::tempdir().unwrap();
        let spaced = dir.path().join("my editor");
        std::fs::write(&spaced, "").unwrap();
        let (program, args) = split_editor(spaced.as_os_str());
        assert_eq!((program.as_os_str(), args.len()), (spaced.as_os_str(), 0));
    }
}
