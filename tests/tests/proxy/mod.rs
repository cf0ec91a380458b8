//! Namespaces proxied from an upstream: another gateway, an OCI registry, a Warg server.

mod gateway;
mod oci;
mod warg;

/// A docker user reading a proxied error is not told about wkg's commands or config
/// file: the client library's messages carry no CLI advice, and the gateway words its
/// own.
fn assert_no_cli_advice(message: &str) {
    for cli in [
        "wkg ",
        "`wkg",
        "[registry.",
        "[namespace_registries]",
        "--insecure",
    ] {
        assert!(!message.contains(cli), "{cli:?} in {message}");
    }
}
