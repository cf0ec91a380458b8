//! The `wkg-gateway` binary: everything lives in the library so tests can run
//! the very same entry point.

/// mimalloc rather than glibc's malloc: a server allocates and frees small
/// buffers on every request from several threads, where glibc's arenas
/// spent about 18% of a manifest GET (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wkg_gateway::cli::main()
}
