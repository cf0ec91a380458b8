use super::*;

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// The README's example as upstream writes it (header included).
fn readme_example() -> String {
    format!(
        "{HEADER}version = 1

[[packages]]
name = \"wasi:cli\"
registry = \"wasi.dev\"

[[packages.versions]]
requirement = \"=0.2.0\"
version = \"0.2.0\"
digest = \"{}\"

[[packages]]
name = \"wasi:io\"
registry = \"wasi.dev\"

[[packages.versions]]
requirement = \"=0.2.0\"
version = \"0.2.0\"
digest = \"{}\"
",
        digest('a'),
        digest('b')
    )
}

#[test]
fn upstream_files_round_trip_byte_for_byte() {
    let text = readme_example();
    let lock = LockFile::from_toml(&text).unwrap();
    assert_eq!(lock.packages.len(), 2);
    assert_eq!(lock.packages[0].name.to_string(), "wasi:cli");
    assert_eq!(lock.to_toml(), text);

    // Without the header (as the README shows it) it parses to the same thing.
    let bare = text.strip_prefix(HEADER).unwrap();
    assert_eq!(LockFile::from_toml(bare).unwrap(), lock);
}

#[test]
fn empty_lock_and_aliases() {
    let empty = LockFile::default().to_toml();
    assert_eq!(empty, format!("{HEADER}version = 1\npackages = []\n"));
    assert_eq!(LockFile::from_toml(&empty).unwrap(), LockFile::default());

    let aliased = format!(
        "version = 1\n[[package]]\nname = \"a:b\"\n[[package.version]]\nrequirement = \"*\"\nversion = \"1.0.0\"\ndigest = \"{}\"\n",
        digest('c')
    );
    let lock = LockFile::from_toml(&aliased).unwrap();
    assert_eq!(lock.packages[0].registry, None);
    let rendered = lock.to_toml();
    assert!(
        rendered.contains(
            "[[packages]]\nname = \"a:b\"\n\n[[packages.versions]]\nrequirement = \"*\"\n"
        ),
        "{rendered}"
    );
}

#[test]
fn bad_files_are_rejected_with_the_path() {
    let err = LockFile::from_toml("version = 2\npackages = []\n").unwrap_err();
    assert!(
        err.to_string().contains("unsupported lock file version 2"),
        "{err}"
    );
    let err = LockFile::from_toml("packages = []\n").unwrap_err();
    assert!(err.to_string().contains("`version` is missing"), "{err}");
    let bad_digest = "version = 1\n[[packages]]\nname = \"a:b\"\n[[packages.versions]]\nrequirement = \"*\"\nversion = \"1.0.0\"\ndigest = \"md5:x\"\n";
    let err = LockFile::from_toml(bad_digest)
        .unwrap_err()
        .with_lock_path(Path::new("/p/wkg.lock"));
    let msg = err.to_string();
    assert!(msg.contains("/p/wkg.lock"), "{msg}");
    assert!(msg.contains("not a sha256 digest"), "{msg}");
}

#[test]
fn insert_keeps_order_and_replaces_requirements() {
    let mut lock = LockFile::default();
    let pkg = |s: &str| s.parse::<PackageRef>().unwrap();
    let locked = |req: &str, version: &str, c: char| LockedVersion {
        requirement: req.parse().unwrap(),
        version: version.parse().unwrap(),
        digest: Digest::parse(&digest(c)).unwrap(),
    };
    lock.insert(&pkg("z:last"), Some("r"), locked("*", "1.0.0", 'a'));
    lock.insert(&pkg("a:first"), Some("r"), locked("=0.1.0", "0.1.0", 'b'));
    lock.insert(&pkg("z:last"), Some("r"), locked("*", "1.1.0", 'c'));
    let names: Vec<String> = lock.packages.iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, ["a:first", "z:last"]);
    let found = lock
        .resolve(&pkg("z:last"), Some("r"), &"*".parse().unwrap())
        .unwrap();
    assert_eq!(found.version.to_string(), "1.1.0");
    assert_eq!(lock.packages[1].versions.len(), 1);
    assert!(
        lock.resolve(&pkg("z:last"), None, &"*".parse().unwrap())
            .is_none()
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(LOCK_FILE_NAME);
    assert_eq!(LockFile::load(&path).unwrap(), None);
    lock.save(&path).unwrap();
    assert_eq!(LockFile::load(&path).unwrap(), Some(lock));
}
