//! Tests that drive third-party tools (docker, skopeo, oras, upstream wkg, oci-client,
//! hadolint, Chromium, html5lib, schemathesis). They do not depend on the gateway's backends,
//! so scripts/test runs them once, selected as a group with `test(/^external::/)`.

mod browser;
mod crawl;
mod deploy_image;
mod deploy_lint;
mod interop_auth;
mod interop_oci_client;
mod interop_oras;
mod interop_skopeo;
mod interop_upstream_wkg;
mod schemathesis;
