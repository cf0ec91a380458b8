//! Reading, writing and round-tripping `config.toml`.

use super::*;
use crate::secret::Secret;

/// The annotated example from the upstream README, verbatim.
const README: &str = include_str!("../../testdata/readme-config.toml");

fn name(s: &str) -> RegistryName {
    s.parse().unwrap()
}

fn err(text: &str) -> String {
    let err = Config::from_toml(text).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    err.to_string()
}

#[test]
fn readme_example_parses() {
    let config = Config::from_toml(README).unwrap();
    assert_eq!(config.default_registry, Some(name("acme.registry.com")));

    let ns = |n: &str| &config.namespace_registries[&n.parse::<Label>().unwrap()];
    assert_eq!(ns("wasi"), &RegistryMapping::Registry(name("wasi.dev")));
    assert_eq!(
        ns("example"),
        &RegistryMapping::Registry(name("example.com"))
    );
    let another = ns("another");
    assert_eq!(another.registry(), &name("another"));
    let meta = another.metadata().unwrap();
    assert_eq!(meta["preferredProtocol"], "oci");
    assert_eq!(meta["oci"]["registry"], "ghcr.io");
    assert_eq!(meta["oci"]["namespacePrefix"], "webassembly/");

    let pkg = |p: &str| &config.package_registry_overrides[&p.parse::<PackageRef>().unwrap()];
    assert_eq!(
        pkg("example:foo"),
        &RegistryMapping::Registry(name("example.com"))
    );
    assert_eq!(pkg("example:bar").registry(), &name("another"));

    let acme = &config.registries[&name("acme.registry.com")];
    assert_eq!(acme.default, Some(Backend::Warg));
    assert_eq!(acme.backend(), Backend::Warg);
    let warg = acme.warg.as_ref().unwrap();
    assert_eq!(
        warg.config_file.as_deref(),
        Some(std::path::Path::new("/a/path"))
    );
    assert_eq!(warg.auth_token, Some(Secret::new("an-auth-token")));
    assert_eq!(
        warg.signing_key,
        Some(Secret::new(
            "ecdsa-p256:2CV1EpLaSYEn4In4OAEDAj5O4Hzu8AFAxgHXuG310Ew="
        ))
    );
    let oci = acme.oci.as_ref().unwrap();
    let creds = oci.auth.as_ref().unwrap().credentials().unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.expose()),
        ("open", "sesame")
    );
    assert_eq!(oci.protocol, Some(OciProtocol::Https));
    assert_eq!(
        acme.local.as_ref().unwrap().root,
        std::path::PathBuf::from("/a/path")
    );

    let example = &config.registries[&name("example.com")];
    assert_eq!(example.default, None);
    assert_eq!(
        example.backend(),
        Backend::Warg,
        "a lone [warg] table is the default"
    );
    assert_eq!(config.registries[&name("another")].backend(), Backend::Oci);
}

#[test]
fn readme_example_round_trips() {
    let config = Config::from_toml(README).unwrap();
    let written = config.to_toml().unwrap();
    assert_eq!(Config::from_toml(&written).unwrap(), config);
    assert_eq!(
        Config::from_toml(&written).unwrap().to_toml().unwrap(),
        written
    );
    assert!(
        written.starts_with("default_registry = \"acme.registry.com\"\n\n[namespace_registries]\n")
    );
    assert!(written.contains(
        "another = { registry = \"another\", metadata = { oci = { namespacePrefix = \"webassembly/\", \
         registry = \"ghcr.io\" }, preferredProtocol = \"oci\" } }\n"
    ), "{written}");
    assert!(
        written.contains("\"example:foo\" = \"example.com\"\n"),
        "{written}"
    );
    assert!(written.contains(
        "[registry.\"acme.registry.com\"]\ndefault = \"warg\"\n\n[registry.\"acme.registry.com\".oci]\n\
         auth = { username = \"open\", password = \"sesame\" }\nprotocol = \"https\"\n"
    ), "{written}");
}

#[test]
fn top_level_is_strict() {
    let msg = err("default_registry = \"a.dev\"\ngateway = { url = \"x\" }\n");
    assert!(msg.contains("`gateway`: unknown top-level key"), "{msg}");
    assert!(
        msg.contains(
            "default_registry, namespace_registries, package_registry_overrides, registry"
        ),
        "{msg}"
    );
    // Wrong types at the top level name the key too.
    assert!(err("registry = \"x\"").contains("`registry`: expected a table, found a string"));
    assert!(err("default_registry = 5").contains("`default_registry`: expected a string"));
    let msg = err("default_registry = \"https://a.dev\"");
    assert!(
        msg.contains("`default_registry`: invalid registry") && msg.contains("scheme"),
        "{msg}"
    );
}

#[test]
fn protocol_must_be_http_or_https() {
    for ok in ["http", "https"] {
        let text = format!("[registry.\"r.dev\".oci]\nprotocol = \"{ok}\"\n");
        let config = Config::from_toml(&text).unwrap();
        let protocol = config.registries[&name("r.dev")]
            .oci
            .as_ref()
            .unwrap()
            .protocol
            .unwrap();
        assert_eq!(protocol.as_str(), ok);
        assert_eq!(config.to_toml().unwrap(), text);
    }
    for bad in ["ftp", "HTTP", ""] {
        let msg = err(&format!("[registry.\"r.dev\".oci]\nprotocol = \"{bad}\"\n"));
        assert!(
            msg.contains("`registry.\"r.dev\".oci.protocol`: unknown protocol"),
            "{msg}"
        );
        assert!(msg.contains("use \"http\" or \"https\""), "{msg}");
    }
}

#[test]
fn base64_auth() {
    // "user:pa:ss" with and without padding; the first `:` splits.
    for encoded in ["dXNlcjpwYTpzcw==", "dXNlcjpwYTpzcw"] {
        let text = format!("[registry.\"r.dev\".oci]\nauth = \"{encoded}\"\n");
        let config = Config::from_toml(&text).unwrap();
        let auth = config.registries[&name("r.dev")]
            .oci
            .as_ref()
            .unwrap()
            .auth
            .clone()
            .unwrap();
        assert_eq!(auth, OciAuth::Base64(Secret::new(encoded)));
        let creds = auth.credentials().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password.expose()),
            ("user", "pa:ss")
        );
        assert_eq!(
            config.to_toml().unwrap(),
            text,
            "the base64 form is kept on save"
        );
    }
    let no_colon = "dXNlcnBhc3M="; // "userpass"
    let msg = err(&format!("[registry.r.oci]\nauth = \"{no_colon}\""));
    assert!(
        msg.contains("without a `:`") && !msg.contains(no_colon),
        "{msg}"
    );
    let msg = err("[registry.r.oci]\nauth = \"not base64!\"");
    assert!(
        msg.contains("`registry.r.oci.auth`: is not valid base64") && !msg.contains("not base64!"),
        "{msg}"
    );
    assert!(err("[registry.r.oci]\nauth = { username = \"u\" }").contains("`password` is missing"));
    assert!(
        err("[registry.r.oci]\nauth = { username = \"u\", password = \"p\", x = 1 }")
            .contains("auth.x`: unknown key")
    );
    assert!(
        err("[registry.r.oci]\nauth = 5")
            .contains("base64 \"username:password\" string, found an integer")
    );
}

#[test]
fn unknown_registry_keys_are_preserved() {
    let text = "\
[registry.\"r.dev\"]
note = 1979-05-27T07:32:00Z
default = \"oci\"

[registry.\"r.dev\".gateway]
version = \"1\"
sub = { deep = [1, 2] }

[registry.\"r.dev\".oci]
mirror = \"m.dev\"
protocol = \"http\"

[registry.\"r.dev\".warg.sub]
x = true
";
    let config = Config::from_toml(text).unwrap();
    let registry = &config.registries[&name("r.dev")];
    assert!(registry.extra.contains_key("gateway") && registry.extra.contains_key("note"));
    assert_eq!(
        registry.oci.as_ref().unwrap().extra["mirror"].as_str(),
        Some("m.dev")
    );
    assert!(registry.warg.as_ref().unwrap().extra.contains_key("sub"));
    let written = config.to_toml().unwrap();
    assert_eq!(Config::from_toml(&written).unwrap(), config);
    assert!(
        written
            .contains("[registry.\"r.dev\".gateway]\nsub = { deep = [1, 2] }\nversion = \"1\"\n"),
        "{written}"
    );
    assert!(
        written.contains("note = 1979-05-27T07:32:00Z\n"),
        "{written}"
    );
    // Setting the default registry and saving keeps all of it.
    let mut changed = config.clone();
    changed.default_registry = Some(name("new.dev"));
    let reread = Config::from_toml(&changed.to_toml().unwrap()).unwrap();
    assert_eq!(reread.registries, config.registries);
    assert_eq!(reread.default_registry, Some(name("new.dev")));
}

#[test]
fn secrets_are_redacted_in_debug_and_display_rendering() {
    let config = Config::from_toml(README).unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "sesame",
        "an-auth-token",
        "2CV1EpLaSYEn4In4OAEDAj5O4Hzu8AFAxgHXuG310Ew",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into Debug");
    }
    let shown = config.to_toml_redacted().unwrap();
    assert!(
        !shown.contains("sesame") && !shown.contains("an-auth-token"),
        "{shown}"
    );
    assert!(
        shown.contains("auth = { username = \"open\", password = \"<redacted>\" }"),
        "{shown}"
    );
    assert!(shown.contains("signing_key = \"<redacted>\""), "{shown}");
    let b64 = Config::from_toml("[registry.r.oci]\nauth = \"dXNlcjpwYXNz\"").unwrap();
    assert!(
        b64.to_toml_redacted()
            .unwrap()
            .contains("auth = \"<redacted>\"")
    );
    assert!(!format!("{b64:?}").contains("dXNlcjpwYXNz"));

    // Another tool's settings may be credentials too: Debug shows key names only, and the
    // redacted rendering masks secret-looking keys.
    let other = Config::from_toml(
        "[registry.r.gateway]\ntoken = \"gw-t0ken\"\nurl = \"https://g\"\n\
         [registry.r.oci]\nmirror_password = \"m1rr0r\"\n",
    )
    .unwrap();
    let masked = Config::from_toml("[registry.r.credentials]\nuser = \"u\"\n").unwrap();
    assert_eq!(
        masked.to_toml_redacted().unwrap(),
        "[registry.r.credentials]\n# <redacted>\n"
    );
    let debug = format!("{other:?}");
    assert!(
        !debug.contains("gw-t0ken") && !debug.contains("m1rr0r"),
        "{debug}"
    );
    let shown = other.to_toml_redacted().unwrap();
    assert_eq!(
        shown,
        "[registry.r.oci]\nmirror_password = \"<redacted>\"\n\n\
         [registry.r.gateway]\ntoken = \"<redacted>\"\nurl = \"https://g\"\n"
    );
}

#[test]
fn mappings_are_validated() {
    assert!(
        err("[namespace_registries]\nBad = \"x.dev\"")
            .contains("`namespace_registries.Bad`: invalid name")
    );
    assert!(
        err("[package_registry_overrides]\nfoo = \"x.dev\"")
            .contains("`package_registry_overrides.foo`: invalid package")
    );
    assert!(
        err("[namespace_registries]\na = \"x.dev/path\"")
            .contains("`namespace_registries.a`: invalid registry")
    );
    assert!(err("[namespace_registries]\na = 1").contains("expected a registry name or a"));
    assert!(err("[namespace_registries]\na = { metadata = {} }").contains("`registry` is missing"));
    assert!(
        err("[namespace_registries]\na = { registry = \"r\", meta = {} }")
            .contains("`namespace_registries.a.meta`: unknown key")
    );
    let msg = err(
        "[namespace_registries]\na = { registry = \"r\", metadata = { oci = {}, version = \"1\" } }",
    );
    assert!(
        msg.contains("`namespace_registries.a.metadata.version`: must be a table"),
        "{msg}"
    );
    let msg = err(
        "[namespace_registries]\na = { registry = \"r\", metadata = { preferredProtocol = {} } }",
    );
    assert!(
        msg.contains("metadata.preferredProtocol`: must be a string"),
        "{msg}"
    );
    // Legacy registry.json keys are strings and are accepted.
    let legacy = "[namespace_registries]\na = { registry = \"r\", metadata = { ociNamespacePrefix = \"w/\", ociRegistry = \"ghcr.io\" } }\n";
    assert_eq!(
        Config::from_toml(legacy).unwrap().to_toml().unwrap(),
        legacy
    );
    // `{ registry = "x" }` is the same as `"x"` and is written that way.
    let short = Config::from_toml("[namespace_registries]\na = { registry = \"x.dev\" }").unwrap();
    assert_eq!(
        short.to_toml().unwrap(),
        "[namespace_registries]\na = \"x.dev\"\n"
    );
}

#[test]
fn backends_and_their_tables() {
    let msg = err("[registry.r]\ndefault = \"gopher\"");
    assert!(
        msg.contains("`registry.r.default`: unknown backend \"gopher\""),
        "{msg}"
    );
    assert!(err("[registry.r.local]\nx = 1").contains("`registry.r.local`: `root` is required"));
    assert!(err("[registry.r.warg]\nurl = \"warg.dev\"").contains("http:// or https:// URL"));
    assert!(err("[registry.r.oci]\naccept_invalid_certificates = \"yes\"")
        .contains("`registry.r.oci.accept_invalid_certificates`: expected `true` or `false`, found a string"));
    assert!(
        err("[registry.r]\noci = 1")
            .contains("`registry.r.oci`: expected a table, found an integer")
    );

    let local = Config::from_toml("[registry.r.local]\nroot = \"/pkgs\"").unwrap();
    assert_eq!(local.registries[&name("r")].backend(), Backend::Local);
    let with_extra =
        Config::from_toml("[registry.r.local]\nroot = \"/p\"\n[registry.r.gateway]\nv = 1")
            .unwrap();
    assert_eq!(
        with_extra.registries[&name("r")].backend(),
        Backend::Local,
        "extra tables are not backends"
    );
    let two = Config::from_toml("[registry.r.local]\nroot = \"/p\"\n[registry.r.warg]\n").unwrap();
    assert_eq!(
        two.registries[&name("r")].backend(),
        Backend::Oci,
        "ambiguous without `default`"
    );
    let empty = Config::from_toml("[registry.r]\n").unwrap();
    assert_eq!(
        empty.to_toml().unwrap(),
        "[registry.r]\n",
        "an empty registry table is kept"
    );
}

#[test]
fn syntax_errors_keep_the_toml_cause() {
    let err = Config::from_toml("[registry\n").unwrap_err();
    assert!(matches!(err, Error::ConfigSyntax { .. }));
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("line 1"), "{cause}");
}

#[test]
fn registry_config_mut_inserts() {
    let mut config = Config::default();
    let registry = name("localhost:5000");
    config.registry_config_mut(&registry).oci = Some(OciConfig {
        protocol: Some(OciProtocol::Http),
        ..OciConfig::default()
    });
    assert_eq!(
        config.to_toml().unwrap(),
        "[registry.\"localhost:5000\".oci]\nprotocol = \"http\"\n"
    );
    assert!(config.registry_config(&registry).is_some());
}
