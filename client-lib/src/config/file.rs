//! Where the config file lives, and reading and writing it safely.
//!
//! Saving goes through a temporary file in the same directory followed by a rename, so a
//! crash or a full disk never leaves a half-written config (which upstream wkg would then
//! refuse). A symlinked config (dotfile managers) is written through to its target, and an
//! existing file keeps its permissions; a new one is created owner-only (it may hold
//! passwords).

use std::ffi::OsString;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use super::Config;
use crate::error::{Error, Result};

/// `<config dir>/wasm-pkg/config.toml`, where upstream wkg looks for its config.
///
/// The config dir is the one upstream's `dirs::config_dir()` picks: `$XDG_CONFIG_HOME`
/// (when absolute), else `$HOME/.config`; on macOS `$HOME/Library/Application Support`;
/// on Windows `%APPDATA%`.
pub fn default_config_path() -> Result<PathBuf> {
    config_dir(|key| std::env::var_os(key))
        .map(|dir| dir.join("wasm-pkg").join("config.toml"))
        .ok_or(Error::NoConfigDir)
}

/// The platform config dir, computed from an environment lookup so it can be tested.
fn config_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    // Relative values are ignored, as the XDG spec and `dirs` do.
    let absolute = |key: &str| env(key).map(PathBuf::from).filter(|p| p.is_absolute());
    if cfg!(windows) {
        absolute("APPDATA")
    } else if cfg!(target_os = "macos") {
        absolute("HOME").map(|home| home.join("Library").join("Application Support"))
    } else {
        absolute("XDG_CONFIG_HOME").or_else(|| absolute("HOME").map(|home| home.join(".config")))
    }
}

impl Config {
    /// Reads and parses the file; a missing file is an error.
    pub fn load(path: &Path) -> Result<Config> {
        match Config::load_optional(path)? {
            Some(config) => Ok(config),
            None => Err(Error::ConfigRead {
                path: path.to_path_buf(),
                source: std::io::Error::from(ErrorKind::NotFound),
            }),
        }
    }

    /// Reads and parses the file, or `None` if it does not exist.
    pub fn load_optional(path: &Path) -> Result<Option<Config>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::ConfigRead {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Config::from_toml(&text)
            .map(Some)
            .map_err(|err| err.with_config_path(path))
    }

    /// Reads and parses the file, or an empty config if it does not exist.
    pub fn load_or_default(path: &Path) -> Result<Config> {
        Ok(Config::load_optional(path)?.unwrap_or_default())
    }

    /// Writes the config atomically (see [`write_atomic`]), creating parent directories.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_toml().map_err(|err| err.with_config_path(path))?;
        write_atomic(path, &text)
    }
}

/// Replaces `path` with `contents` via a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let fail = |source| Error::ConfigWrite {
        path: path.to_path_buf(),
        source,
    };
    let target = resolve_symlink(path);
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".wkg-config-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(fail)?;
    temp.write_all(contents.as_bytes()).map_err(fail)?;
    if let Ok(existing) = std::fs::metadata(&target) {
        temp.as_file()
            .set_permissions(existing.permissions())
            .map_err(fail)?;
    }
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(&target).map_err(|err| fail(err.error))?;
    // Make the rename itself durable; not every platform can open a directory, so this is
    // best effort.
    if let Ok(dir) = std::fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// The file a symlink points to (so saving keeps the link); the path itself otherwise.
fn resolve_symlink(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    #[cfg(all(unix, not(target_os = "macos")))]
    fn config_dir_follows_xdg_then_home() {
        let both = [("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/u")];
        assert_eq!(config_dir(env(&both)), Some(PathBuf::from("/xdg")));
        let relative_xdg = [("XDG_CONFIG_HOME", "rel"), ("HOME", "/home/u")];
        assert_eq!(
            config_dir(env(&relative_xdg)),
            Some(PathBuf::from("/home/u/.config"))
        );
        assert_eq!(
            config_dir(env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.config"))
        );
        assert_eq!(config_dir(env(&[("XDG_CONFIG_HOME", "")])), None);
        assert_eq!(config_dir(env(&[])), None);
    }

    #[test]
    fn missing_file_is_none_or_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        assert_eq!(Config::load_optional(&path).unwrap(), None);
        assert_eq!(Config::load_or_default(&path).unwrap(), Config::default());
        let err = Config::load(&path).unwrap_err();
        assert!(matches!(err, Error::ConfigRead { .. }), "{err}");
    }

    #[test]
    fn save_creates_dirs_and_load_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a").join("b").join("config.toml");
        let config = Config {
            default_registry: Some("example.com".parse().unwrap()),
            ..Config::default()
        };
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "default_registry = \"example.com\"\n"
        );
        // Only the config file is left behind: the temp file was renamed, not copied.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "default_registry = \n").unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(matches!(err, Error::ConfigSyntax { .. }), "{err}");
        assert_eq!(err.config_path(), Some(path.as_path()));
        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let msg = Config::load(&path).unwrap_err().to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("`colour`"),
            "{msg}"
        );
    }

    #[test]
    #[cfg(unix)]
    fn save_keeps_permissions_and_symlinks() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_atomic(&link, "default_registry = \"x.dev\"\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            "default_registry = \"x.dev\"\n"
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);

        let fresh = dir.path().join("fresh.toml");
        write_atomic(&fresh, "").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new config may hold secrets: owner-only");
    }
}
