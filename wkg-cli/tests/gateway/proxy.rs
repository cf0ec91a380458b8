//! `wkg get` of packages the gateway proxies from another registry (Debian's
//! docker-registry standing in for ghcr.io), with `wasi` mapped to the gateway
//! as the README's "front wasi.dev" recipe does.

use crate::common::{Env, ok};
use integration_tests::upstream::DockerRegistry;
use integration_tests::{TestApp, fixtures};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_a_package_through_the_gateways_proxy() {
    let registry = DockerRegistry::start();
    let pusher = registry.pusher();
    let v1 = fixtures::component_with_metadata("clocks one", "Apache-2.0");
    let v2 = fixtures::component_with_metadata("clocks two", "Apache-2.0");
    pusher
        .publish_wasm("webassembly/wasi/clocks", "0.2.0", &v1)
        .await;
    pusher
        .publish_wasm("webassembly/wasi/clocks", "0.2.1", &v2)
        .await;
    let app = TestApp::spawn_with(&integration_tests::upstream::oci_upstream_entry(
        "wasi",
        &registry.authority,
        "webassembly/",
    ))
    .await;
    let env = Env::with_registry(&app.authority);
    let config = std::fs::read_to_string(env.config()).unwrap();
    std::fs::write(
        env.config(),
        format!(
            "{config}\n[namespace_registries]\nwasi = \"{}\"\n",
            app.authority
        ),
    )
    .unwrap();

    let exact = env.path("clocks-0.2.0.wasm");
    ok(env
        .wkg()
        .args(["get", "wasi:clocks@0.2.0", "-o"])
        .arg(&exact))
    .await;
    assert_eq!(std::fs::read(&exact).unwrap(), v1);
    // The version list comes from the upstream through the gateway.
    let latest = env.path("clocks-latest.wasm");
    ok(env.wkg().args(["get", "wasi:clocks", "-o"]).arg(&latest)).await;
    assert_eq!(std::fs::read(&latest).unwrap(), v2);
}

/// A package hosted on a Warg registry, fetched as an OCI artifact the gateway
/// synthesizes from the verified Warg log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_a_warg_hosted_package_through_the_gateway() {
    let warg = integration_tests::warg::WargServer::start(&["example"]).await;
    let v1 = fixtures::component_with_metadata("warg one", "MIT");
    let v2 = fixtures::component_with_metadata("warg two", "MIT");
    let publisher = warg.publisher().await;
    publisher.release("example:greeter", "0.1.0", &v1).await;
    publisher.release("example:greeter", "0.2.0", &v2).await;
    let app = TestApp::spawn_with(&warg.upstream_entry("example")).await;
    let env = Env::with_registry(&app.authority);
    let exact = env.path("greeter-0.1.0.wasm");
    ok(env
        .wkg()
        .args(["get", "example:greeter@0.1.0", "-o"])
        .arg(&exact))
    .await;
    assert_eq!(std::fs::read(&exact).unwrap(), v1);
    let latest = env.path("greeter-latest.wasm");
    ok(env
        .wkg()
        .args(["get", "example:greeter", "-o"])
        .arg(&latest))
    .await;
    assert_eq!(std::fs::read(&latest).unwrap(), v2);
}
