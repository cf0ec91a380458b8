//! A moto_server (an S3 API) of one test's own, on a loopback port, for
//! what the shared one of tests/scripts/with-s3 cannot show: S3 stalling,
//! going away and coming back while a gateway uses it.
//!
//! Two kinds of fault, as a gateway sees them:
//! - [`Moto::pause`] / [`Moto::resume`] (SIGSTOP / SIGCONT): a stalled
//!   service. Connections are still accepted (by the kernel) but nothing
//!   answers; everything stored is still there afterwards.
//! - [`Moto::stop`] / [`Moto::restart`] (SIGKILL, then a new server on the
//!   same port): a service that is down (connections refused) and comes
//!   back. moto keeps its state in memory only, so the restarted one has
//!   lost every object; the bucket is created again. A real S3 keeps its
//!   data through an outage, so what this shows is the worst case: a
//!   gateway whose objects vanished must refuse to serve them, not serve
//!   something else.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long moto may take to answer after it is started (Python start-up
/// on a busy machine is slow; this is a limit, not an expectation).
const READY_DEADLINE: Duration = Duration::from_secs(60);

pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    pub bucket: String,
    dir: TempDir,
    starts: usize,
}

impl Moto {
    /// Starts moto_server on a free loopback port, waits until it answers
    /// and creates a bucket.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let mut moto = Self {
            child: None,
            port,
            bucket: "wkg-faults".to_string(),
            dir: TempDir::new().expect("temp dir"),
            starts: 0,
        };
        moto.launch().await;
        moto
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `WKG_GATEWAY_STORAGE__*` settings for a gateway storing its blobs
    /// under `prefix` in this bucket.
    pub fn storage_env(&self, prefix: &str) -> Vec<(String, String)> {
        [
            ("URL", format!("s3://{}/{prefix}", self.bucket)),
            ("ENDPOINT", self.endpoint()),
            ("REGION", "us-east-1".to_string()),
            ("ACCESS_KEY_ID", "test".to_string()),
            ("SECRET_ACCESS_KEY", "test".to_string()),
            ("ALLOW_HTTP", "true".to_string()),
        ]
        .into_iter()
        .map(|(key, value)| (format!("WKG_GATEWAY_STORAGE__{key}"), value))
        .collect()
    }

    /// Freezes the server (SIGSTOP): a stalled S3.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server go on (SIGCONT), with everything it stored.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// Kills the server (SIGKILL): connections to its port are refused
    /// until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a new, empty server on the same port and creates the bucket
    /// again (moto kept nothing).
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// How many multipart uploads are in progress under `prefix`: a write
    /// the gateway has begun and not finished.
    pub async fn multipart_uploads(&self, prefix: &str) -> usize {
        let listing = crate::http_client()
            .get(format!("{}/{}", self.endpoint(), self.bucket))
            .query(&[("uploads", ""), ("prefix", prefix)])
            .send()
            .await
            .expect("list multipart uploads")
            .text()
            .await
            .expect("listing text");
        listing.matches("<Upload>").count()
    }

    /// What the server has logged (every start), for failure messages.
    pub fn log_text(&self) -> String {
        (1..=self.starts)
            .map(|n| std::fs::read_to_string(self.log(n)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- restarted ---\n")
    }

    fn log(&self, start: usize) -> PathBuf {
        self.dir.path().join(format!("moto-{start}.log"))
    }

    async fn launch(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log(self.starts)).expect("moto log");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}): install the Python package 'moto[server]' \
                     (scripts/test does)"
                )
            });
        self.child = Some(child);
        self.wait_ready().await;
        let created = crate::http_client()
            .put(format!("{}/{}", self.endpoint(), self.bucket))
            .send()
            .await
            .expect("create bucket");
        assert!(
            created.status().is_success(),
            "creating bucket {}: {}",
            self.bucket,
            created.text().await.unwrap_or_default()
        );
    }

    /// Polls until the server answers, failing early if it exits.
    async fn wait_ready(&mut self) {
        let client = crate::http_client();
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "moto_server exited with {status} on port {}; log:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            let answer = client.get(format!("{}/", self.endpoint())).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer within {READY_DEADLINE:?}; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("moto is running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
