//! A private Docker engine for image tests: Debian's `dockerd` with its own
//! data, exec root and socket, no bridge and no iptables (containers use
//! `--network host`), stopped when dropped. No registry is reachable from
//! CI machines, so the `debian:bookworm-slim` base is made locally with
//! `debootstrap --variant=minbase` (cached as a tarball outside the clone)
//! and imported under that name, so the Dockerfile builds unchanged.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Debian's CLI (20.10) matches Debian's engine and builds with BuildKit
/// without the buildx plugin.
const DOCKER: &str = "/usr/bin/docker";
const DOCKERD: &str = "/usr/sbin/dockerd";

pub struct DockerEngine {
    daemon: Child,
    root: TempDir,
    socket: PathBuf,
}

impl DockerEngine {
    /// Starts an engine and waits until it answers.
    pub fn start() -> Self {
        for tool in [DOCKER, DOCKERD] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's docker.io (scripts/test does)"
            );
        }
        // Unix socket paths are limited to ~100 bytes: keep the root short.
        let root = tempfile::Builder::new()
            .prefix("wkgd")
            .tempdir_in("/tmp")
            .expect("engine dir");
        let socket = root.path().join("d.sock");
        let log = std::fs::File::create(root.path().join("dockerd.log")).expect("log");
        let daemon = Command::new(DOCKERD)
            .arg("--data-root")
            .arg(root.path().join("data"))
            .arg("--exec-root")
            .arg(root.path().join("exec"))
            .arg("--pidfile")
            .arg(root.path().join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=overlay2",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let engine = Self {
            daemon,
            root,
            socket,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !engine.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up:\n{}",
                engine.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("dockerd.log")).unwrap_or_default()
    }

    /// Runs the docker CLI against this engine.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new(DOCKER)
            .args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_BUILDKIT", "1")
            .output()
            .expect("run docker")
    }

    /// Runs the docker CLI and insists that it succeeds; returns stdout.
    pub fn must(&self, args: &[&str]) -> String {
        let output = self.docker(args);
        assert!(
            output.status.success(),
            "docker {} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    }

    /// Makes `debian:bookworm-slim` available from a local debootstrap.
    pub fn import_debian_base(&self) {
        let tarball = base_tarball();
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{DOCKER} import - debian:bookworm-slim < {}",
                tarball.display()
            ))
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .output()
            .expect("docker import");
        assert!(
            output.status.success(),
            "docker import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        // Containers first, so their mounts go before the engine.
        let ids = self.docker(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = self.docker(&["rm", "-f", id]);
        }
        let _ = Command::new("kill")
            .arg(self.daemon.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.daemon.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        // Mounts the engine may leave behind under its roots.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o ' {0}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
                self.root.path().display()
            ))
            .status();
    }
}

/// A minbase bookworm root filesystem as a tarball, made once with
/// debootstrap (about 90 s) and cached outside the clone.
fn base_tarball() -> PathBuf {
    let home = std::env::var("HOME").expect("HOME");
    let cache = std::env::var("WKG_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cache/wkg-gateway-tools"));
    let tarball = cache.join("debian-bookworm-minbase.tar");
    if tarball.exists() {
        return tarball;
    }
    std::fs::create_dir_all(&cache).expect("tool cache");
    assert!(
        Path::new("/usr/sbin/debootstrap").exists(),
        "debootstrap is missing: apt-get install debootstrap (scripts/test does)"
    );
    let rootfs = tempfile::tempdir_in(&cache).expect("rootfs dir");
    let status = Command::new("/usr/sbin/debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(rootfs.path())
        .stdout(Stdio::null())
        .status()
        .expect("debootstrap");
    assert!(status.success(), "debootstrap failed");
    let partial = cache.join("debian-bookworm-minbase.tar.partial");
    let status = Command::new("tar")
        .arg("-C")
        .arg(rootfs.path())
        .args([
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "--exclude=./dev/*",
        ])
        .arg("-cf")
        .arg(&partial)
        .arg(".")
        .status()
        .expect("tar");
    assert!(status.success(), "tar of the base failed");
    std::fs::rename(&partial, &tarball).expect("cache the base");
    tarball
}
