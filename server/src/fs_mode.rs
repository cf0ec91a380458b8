//! Private files: everything the gateway creates under `data_dir` (the
//! database and its WAL files, blobs, staged uploads, the signing key) is
//! readable by the gateway's user only, files 0600 and directories 0700.
//!
//! The mode is set explicitly after creating, not left to the umask: the
//! default umask (022) would make all of it world-readable, and the
//! gateway cannot know what umask it is started with. Files other code
//! creates (object_store's blob files and the directories above them) are
//! set right after they are written; until then the store's root, already
//! 0700, keeps everyone else out. The blob store's root, the database
//! file and its WAL files, and a signing key under `data_dir` are made
//! private at every start, which also fixes older installs; a `data_dir`
//! that exists already keeps its mode (it may be a mount point the operator
//! set up). Non-Unix systems keep their defaults.

use std::fs::File;
use std::io;
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Sets a file's mode to [`FILE_MODE`].
pub fn restrict_file(path: &Path) -> io::Result<()> {
    set_mode(path, FILE_MODE)
}

/// Sets a directory's mode to [`DIR_MODE`].
pub fn restrict_dir(path: &Path) -> io::Result<()> {
    set_mode(path, DIR_MODE)
}

/// Makes the file `root/relative` private, and every directory between
/// `root` and it.
pub fn restrict_under(root: &Path, relative: &Path) -> io::Result<()> {
    restrict_file(&root.join(relative))?;
    let mut dir = relative.parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        restrict_dir(&root.join(d))?;
        dir = d.parent();
    }
    Ok(())
}

/// Creates `path` and any missing parents as private directories; ones
/// that exist are left as they are.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    match builder.create(path) {
        Ok(()) => restrict_dir(path),
        // Created at the same moment by another task or replica.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates (or truncates) a private file for writing.
pub fn create_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Creates a private, empty file unless it exists, and makes it private
/// either way (SQLite then gives its -wal and -shm files the same mode).
pub fn ensure_private_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    drop(options.open(path)?);
    restrict_file(path)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_and_restricted_paths_are_private() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        for dir in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&root.path().join(dir)), DIR_MODE, "{dir}");
        }
        let file = deep.join("f");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);

        std::fs::create_dir_all(root.path().join("x/y")).unwrap();
        std::fs::write(root.path().join("x/y/z"), b"z").unwrap();
        std::fs::set_permissions(root.path().join("x"), PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::set_permissions(root.path().join("x/y/z"), PermissionsExt::from_mode(0o644))
            .unwrap();
        restrict_under(root.path(), Path::new("x/y/z")).unwrap();
        assert_eq!(mode(&root.path().join("x")), DIR_MODE);
        assert_eq!(mode(&root.path().join("x/y")), DIR_MODE);
        assert_eq!(mode(&root.path().join("x/y/z")), FILE_MODE);

        let db = root.path().join("db");
        std::fs::write(&db, b"data").unwrap();
        std::fs::set_permissions(&db, PermissionsExt::from_mode(0o644)).unwrap();
        ensure_private_file(&db).unwrap();
        assert_eq!(mode(&db), FILE_MODE);
        assert_eq!(
            std::fs::read(&db).unwrap(),
            b"data",
            "an existing file is kept"
        );
    }
}
