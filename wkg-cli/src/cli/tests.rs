use super::*;
use clap::CommandFactory as _;

#[test]
fn clap_definition_is_valid() {
    Cli::command().debug_assert();
}

#[test]
fn config_flag_is_global() {
    for argv in [
        &["wkg", "--config", "/c.toml", "config"][..],
        &["wkg", "config", "--config", "/c.toml"][..],
    ] {
        let cli = Cli::try_parse_from(argv).unwrap();
        assert_eq!(cli.global.config, Some(PathBuf::from("/c.toml")));
    }
}

#[test]
fn config_args() {
    let cli = Cli::try_parse_from([
        "wkg",
        "config",
        "--default-registry",
        "localhost:5000",
        "-e",
    ])
    .unwrap();
    let Command::Config(args) = cli.command else {
        panic!("config expected")
    };
    assert_eq!(args.default_registry.unwrap().as_str(), "localhost:5000");
    assert!(args.edit);

    let err =
        Cli::try_parse_from(["wkg", "config", "--default-registry", "https://x.dev"]).unwrap_err();
    assert!(err.to_string().contains("URL scheme"), "{err}");
}

#[test]
fn get_publish_and_oci_args() {
    let cli = Cli::try_parse_from([
        "wkg",
        "-q",
        "get",
        "wasi:http@0.2.0",
        "-o",
        "out",
        "--format",
        "wit",
        "--overwrite",
        "--registry",
        "localhost:5000",
        "--cache",
        "/c",
    ])
    .unwrap();
    assert!(cli.global.quiet);
    assert_eq!(cli.global.cache, Some(PathBuf::from("/c")));
    let Command::Get(get) = cli.command else {
        panic!("get expected")
    };
    assert_eq!(get.package.to_string(), "wasi:http@0.2.0");
    assert_eq!(get.format, Format::Wit);
    assert!(get.overwrite);

    let cli = Cli::try_parse_from([
        "wkg",
        "publish",
        "x.wasm",
        "--package",
        "a:b@1.0.0",
        "--dry-run",
    ])
    .unwrap();
    let Command::Publish(publish) = cli.command else {
        panic!("publish expected")
    };
    assert!(publish.dry_run);
    assert_eq!(publish.paths, vec![PathBuf::from("x.wasm")]);
    assert_eq!(publish.package.unwrap().to_string(), "a:b@1.0.0");

    let cli = Cli::try_parse_from([
        "wkg",
        "oci",
        "push",
        "r:1/a/b:1.0.0",
        "f.wasm",
        "--annotation",
        "k=v=w",
        "-u",
        "me",
        "-p",
        "pw",
        "--insecure",
        "r:1",
    ])
    .unwrap();
    let Command::Oci(OciCommand::Push(push)) = cli.command else {
        panic!("oci push expected")
    };
    assert_eq!(push.annotations, vec![("k".to_owned(), "v=w".to_owned())]);
    assert_eq!(push.auth.insecure, vec!["r:1".to_owned()]);

    let cli = Cli::try_parse_from([
        "wkg",
        "--color",
        "never",
        "oci",
        "pull",
        "r:1/a/b:1",
        "--insecure",
        "r:1,r:2",
        "-u",
        "me",
        "-p",
        "pw",
    ])
    .unwrap();
    let Command::Oci(OciCommand::Pull(pull)) = cli.command else {
        panic!("oci pull expected")
    };
    assert_eq!(pull.auth.insecure, ["r:1", "r:2"]);
    assert_eq!(cli.global.color, ColorChoice::Never);

    assert!(Cli::try_parse_from(["wkg", "oci", "pull", "r/a:1", "-u", "me"]).is_err());
    assert!(Cli::try_parse_from(["wkg", "get", "nocolon"]).is_err());
    assert!(Cli::try_parse_from(["wkg", "publish"]).is_err());

    let cli = Cli::try_parse_from(["wkg", "fetch", "-t", "wasm"]).unwrap();
    let Command::Fetch(fetch) = cli.command else {
        panic!("fetch expected")
    };
    assert_eq!(fetch.dir(), std::path::Path::new("wit"));
    assert_eq!(fetch.output_type, DepsType::Wasm);
    let cli = Cli::try_parse_from(["wkg", "wit", "update", "my-wit"]).unwrap();
    let Command::Wit(WitCommand::Update(update)) = cli.command else {
        panic!("wit update expected")
    };
    assert_eq!(update.dir(), std::path::Path::new("my-wit"));
    let cli = Cli::try_parse_from(["wkg", "build", "-d", "w", "-o", "out.wasm"]).unwrap();
    let Command::Build(build) = cli.command else {
        panic!("build expected")
    };
    assert_eq!(
        (build.dir, build.output),
        (PathBuf::from("w"), Some(PathBuf::from("out.wasm")))
    );
    assert!(Cli::try_parse_from(["wkg", "get", "a:b", "--check", "--overwrite"]).is_err());
    assert!(Cli::try_parse_from(["wkg", "-q", "-v", "get", "a:b"]).is_err());
}
