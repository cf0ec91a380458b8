//! What to do next, in wkg's own terms, for errors of the client library.
//!
//! The library's messages say only what happened, since the gateway's proxy shows them
//! to docker users too. The CLI knows its commands, flags and config file, so it walks an
//! error's cause chain and adds a hint for each library error it finds: one place for
//! all advice that names `wkg`, printed as `hint:` lines under errors and warnings.

use std::error::Error as StdError;

use wkg_client::Error;
use wkg_client::discovery::DiscoveryError;

/// How to pin a registry whose registry.json cannot be used.
const PIN_HINT: &str = "ask the registry's operator to fix it, or name the OCI host yourself \
     with `metadata = { oci = { registry = \"<host>\" } }` for the namespace under \
     [namespace_registries] (`wkg config --edit`)";

/// Hints for `error` and each of its causes, outermost first, without repeats.
pub fn hints_for_error(error: &(dyn StdError + 'static)) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let hint = match cause.downcast_ref::<Error>() {
            Some(client) => client_hint(client),
            None => cause.downcast_ref::<DiscoveryError>().map(discovery_hint),
        };
        if let Some(hint) = hint
            && !hints.contains(&hint)
        {
            hints.push(hint);
        }
        next = cause.source();
    }
    hints
}

fn discovery_hint(error: &DiscoveryError) -> String {
    match error {
        DiscoveryError::Timeout { .. } | DiscoveryError::Transport { .. } => {
            format!("check your network and that the registry is up, or {PIN_HINT}")
        }
        DiscoveryError::Status { .. } | DiscoveryError::Unusable { .. } => PIN_HINT.to_owned(),
    }
}

fn client_hint(error: &Error) -> Option<String> {
    let hint = match error {
        Error::ConfigRead { path, .. } => format!(
            "{} comes from --config, $WKG_CONFIG_FILE or the default location; \
             `wkg config` (without --config) shows the default",
            path.display()
        ),
        Error::ConfigSyntax { .. } => {
            "`wkg config --edit` opens the file; fix the syntax error the cause points at".into()
        }
        Error::InvalidConfig { .. } => "`wkg config --edit` opens the file in $EDITOR; see the \
             configuration section of the wasm-pkg-tools README for every key"
            .into(),
        Error::NoConfigDir => "set $XDG_CONFIG_HOME or $HOME, or name the file with \
             `--config <PATH>` / $WKG_CONFIG_FILE"
            .into(),
        Error::InvalidRegistryName { input, .. } if input.contains("://") => {
            "wkg chooses the scheme: `protocol = \"http\"` under [registry.\"<name>\".oci] \
             forces plain http"
                .into()
        }
        Error::InvalidRegistryName { input, .. } if input.contains('@') => {
            "put credentials in `auth` under [registry.\"<name>\".oci], or run `wkg login`".into()
        }
        Error::NoRegistry { package } => format!(
            "set a default registry with `wkg config --default-registry <host>`, or map the \
             `{}` namespace under [namespace_registries] in the config file (`wkg config --edit`)",
            package.namespace()
        ),
        Error::Unreachable { registry, .. } => format!(
            "is the registry running? Check the name and your network. For a registry without \
             TLS, set `protocol = \"http\"` under [registry.\"{registry}\".oci] \
             (`wkg config --edit`), or pass `--insecure <host:port>` to `wkg oci`"
        ),
        Error::Unauthorized { registry, .. } => format!(
            "sign in with `wkg login {registry}`, or set credentials with `auth` under \
             [registry.\"{registry}\".oci], $WKG_REGISTRY_<HOST>_AUTH_BEARER, or `docker login`"
        ),
        Error::PackageNotFound { .. } | Error::VersionNotFound { .. } => {
            "check the name; `wkg config` shows which registry each namespace resolves to, and \
             `--registry <host>` asks another one"
                .into()
        }
        Error::VersionExists { .. } => {
            "bump the version in the package (or pass `--package <ns:name@version>`)".into()
        }
        Error::DigestMismatch { .. } => {
            "try again; if it persists, the registry's stored copy is damaged: tell its operator"
                .into()
        }
        Error::UnknownPackageIdentity { .. } => {
            "pass `--package <namespace>:<name>@<version>`".into()
        }
        Error::NoCacheDir => "set $XDG_CACHE_HOME or $HOME, or pass `--cache <DIR>`".into(),
        Error::SemverIncompatible { .. } => "to publish it anyway, pass --skip-semver-check".into(),
        Error::NoDefaultRegistry { .. } => {
            "pass `--registry <host>`, or set one with `wkg config --default-registry <host>`"
                .into()
        }
        Error::Offline { what } => {
            format!("--offline: {what}; run without --offline to let wkg ask the registry")
        }
        Error::InvalidLock { .. } => "delete it and run `wkg fetch` to recreate it".into(),
        Error::LockMismatch { .. } => "if the change is expected, run `wkg update`".into(),
        Error::Io { action, .. } if *action == wkg_client::cache::REFUSED_OVERWRITE => {
            "pass --overwrite to replace it".into()
        }
        _ => return None,
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(error: &(dyn StdError + 'static)) -> String {
        hints_for_error(error).join("\n")
    }

    #[test]
    fn hints_follow_the_cause_chain() {
        let client = Error::NoRegistry {
            package: "acme:thing".parse().unwrap(),
        };
        let wrapped = anyhow::Error::new(client).context("could not resolve acme:thing");
        let text = hints(wrapped.as_ref());
        assert!(
            text.contains("wkg config --default-registry <host>"),
            "{text}"
        );
        assert!(text.contains("`acme` namespace"), "{text}");
        assert_eq!(hints_for_error(wrapped.as_ref()).len(), 1);
    }

    #[test]
    fn discovery_failures_say_how_to_pin_the_registry() {
        let error = DiscoveryError::Unusable {
            url: "https://r.dev/.well-known/wasm-pkg/registry.json".into(),
            reason: "it is larger than 64 KiB".into(),
        };
        let text = hints(&error);
        assert!(text.contains("[namespace_registries]"), "{text}");
        assert!(text.contains("metadata = { oci"), "{text}");
    }

    #[test]
    fn registry_names_get_config_advice() {
        for (input, needle) in [
            ("https://r.dev", "protocol = \"http\""),
            ("me@r.dev", "wkg login"),
        ] {
            let error = input.parse::<wkg_client::RegistryName>().unwrap_err();
            let text = hints(&error);
            assert!(text.contains(needle), "{input}: {text}");
        }
        let plain = "r dev".parse::<wkg_client::RegistryName>().unwrap_err();
        assert!(hints_for_error(&plain).is_empty());
    }

    #[test]
    fn unrelated_errors_have_no_hint() {
        let io = std::io::Error::other("disk on fire");
        assert!(hints_for_error(&io).is_empty());
    }
}
