//! The gateway's own entry point, built inside the test crate so integration
//! tests can run it as a separate process (`CARGO_BIN_EXE_wkg-gateway-test-server`).

fn main() -> std::process::ExitCode {
    wkg_gateway::cli::main()
}
