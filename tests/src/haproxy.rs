//! Debian's haproxy as the load balancer in front of gateway replicas, for
//! tests of what clients see when a replica dies: round robin per request,
//! health checks on `/readyz`, and a dead replica taken out of rotation.
//!
//! A request a replica was answering when it died is lost (the client gets
//! a 502 or a cut connection: haproxy does not replay requests with
//! bodies); one that could not even connect is sent to another replica
//! (`retries` with `option redispatch`), as a production balancer would.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Where Debian installs it (scripts/test does).
pub const BINARY: &str = "/usr/sbin/haproxy";

pub struct Haproxy {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    pub port: u16,
    dir: TempDir,
}

/// The configuration: one frontend on `port`, the replicas at `backends`
/// (loopback ports). Health checks every 200 ms; two failures take a
/// replica out, one success brings it back.
pub fn config(port: u16, backends: &[u16]) -> String {
    let mut text = format!(
        "global\n\
         \x20   maxconn 2000\n\
         \x20   log stderr format raw local0\n\
         defaults\n\
         \x20   mode http\n\
         \x20   log global\n\
         \x20   option httplog\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 10m\n\
         \x20   timeout server 10m\n\
         \x20   retries 3\n\
         \x20   option redispatch 1\n\
         listen gateway\n\
         \x20   bind 127.0.0.1:{port}\n\
         \x20   balance roundrobin\n\
         \x20   option httpchk GET /readyz\n\
         \x20   http-check expect status 200\n\
         \x20   default-server inter 200ms fastinter 200ms downinter 200ms fall 2 rise 1\n"
    );
    for (n, backend) in backends.iter().enumerate() {
        text.push_str(&format!(
            "    server replica{n} 127.0.0.1:{backend} check\n"
        ));
    }
    text
}

impl Haproxy {
    /// Writes the configuration to a temporary directory, starts haproxy
    /// in the foreground on a free port, and polls until a request through
    /// it reaches a replica.
    pub async fn start(backends: &[u16]) -> Self {
        assert!(
            std::path::Path::new(BINARY).exists(),
            "{BINARY} is missing: install Debian's haproxy (scripts/test does)"
        );
        let dir = TempDir::new().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config(port, backends)).expect("haproxy config");
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("haproxy log");
        let child = Command::new(BINARY)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("haproxy log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
        let mut haproxy = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        };
        haproxy.wait_serving().await;
        haproxy
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("haproxy.log")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    async fn wait_serving(&mut self) {
        let client = crate::http_client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("haproxy exited with {status}; log:\n{}", self.log_text());
            }
            let answer = client.get(format!("{}/readyz", self.base)).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "haproxy did not serve within 60 s; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("haproxy log:\n{}", self.log_text());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn config_names_every_replica_and_checks_readiness() {
        let text = super::config(8000, &[9001, 9002]);
        assert!(text.contains("bind 127.0.0.1:8000\n"));
        assert!(text.contains("balance roundrobin\n"));
        assert!(text.contains("option httpchk GET /readyz\n"));
        assert!(text.contains("server replica0 127.0.0.1:9001 check\n"));
        assert!(text.contains("server replica1 127.0.0.1:9002 check\n"));
    }
}
