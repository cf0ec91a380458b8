//! The gateway as a child process, for what only a real process shows:
//! restarts, SIGKILL, signals, exit codes, peak memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `wkg-gateway serve` child on a loopback port.
pub struct GatewayProcess {
    pub child: Child,
    pub base: String,
    pub port: u16,
    binary: PathBuf,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl GatewayProcess {
    /// Starts `binary serve` with data under `data_dir`; `env` adds
    /// `WKG_GATEWAY_*` settings. Waits until `/v2/` answers.
    pub fn start(binary: &str, data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_on(PathBuf::from(binary), data_dir.to_path_buf(), env)
    }

    /// Like [`Self::start`], on the suite's backends: the database and blob
    /// store `TestApp` would use (SQLite and disk in `data_dir` by default;
    /// a fresh PostgreSQL database and S3 prefix under tests/scripts/with-*),
    /// so replicas started from it share them.
    pub async fn start_on_test_backends(
        binary: &str,
        data_dir: &Path,
        env: &[(&str, &str)],
    ) -> Self {
        let mut all = backend_env(data_dir).await;
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let (binary, data_dir) = (PathBuf::from(binary), data_dir.to_path_buf());
        tokio::task::spawn_blocking(move || Self::start_on(binary, data_dir, all))
            .await
            .expect("gateway start")
    }

    /// The `WKG_GATEWAY_*` settings this gateway was started with, to point
    /// another process (`gc`, `reindex`) at the same database and store.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "WKG_GATEWAY_DATA_DIR".to_string(),
            self.data_dir.display().to_string(),
        )];
        env.extend(self.env.iter().cloned());
        env
    }

    /// Starts the gateway on `127.0.0.1:0` and learns its port from the
    /// "serving" log line, so parallel tests never race for a port.
    fn start_on(binary: PathBuf, data_dir: PathBuf, env: Vec<(String, String)>) -> Self {
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let log = data_dir.join(format!("{}.log", crate::database::unique_name("gateway")));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let child = Command::new(&binary)
            .arg("serve")
            .env("WKG_GATEWAY_LISTEN", "127.0.0.1:0")
            .env("WKG_GATEWAY_DATA_DIR", &data_dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut process = Self {
            child,
            base: String::new(),
            port: 0,
            binary,
            data_dir,
            env,
            log,
        };
        process.port = process.wait_ready();
        process.base = format!("http://127.0.0.1:{}", process.port);
        process
    }

    /// Waits for the "serving" line and returns the bound port.
    fn wait_ready(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "gateway exited early with {status}; log:\n{}",
                    self.log_text()
                );
            }
            if let Some(port) = serving_port(&self.log_text()) {
                return port;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "gateway did not start serving within 60 s; log:\n{}",
            self.log_text()
        );
    }

    /// The blob store this gateway writes to, for assertions.
    pub fn storage(&self) -> wkg_gateway::storage::Storage {
        let settings: Vec<(String, String)> = self
            .env
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_prefix("WKG_GATEWAY_STORAGE__")?
                        .to_ascii_lowercase(),
                    v.clone(),
                ))
            })
            .collect();
        crate::storage::open(&self.data_dir, &settings)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends a signal (e.g. "TERM", "KILL") with the system `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gateway did not exit within {timeout:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts another gateway on its own port sharing this one's database,
    /// blob store and data directory: a replica.
    pub fn start_replica(&self) -> Self {
        Self::start_on(self.binary.clone(), self.data_dir.clone(), self.env.clone())
    }

    /// SIGKILLs the process and starts it again on the same port and data.
    pub fn kill_and_restart(mut self) -> Self {
        self.signal("KILL");
        self.wait_exit(Duration::from_secs(10));
        Self::start_on(
            self.binary.clone(),
            self.data_dir.clone(),
            std::mem::take(&mut self.env),
        )
    }

    /// Stops it with SIGTERM and starts it again on the same port and data.
    pub fn restart(mut self) -> Self {
        self.signal("TERM");
        let status = self.wait_exit(Duration::from_secs(30));
        assert!(
            status.success(),
            "graceful stop exited with {status}; log:\n{}",
            self.log_text()
        );
        Self::start_on(
            self.binary.clone(),
            self.data_dir.clone(),
            std::mem::take(&mut self.env),
        )
    }

    /// Peak resident memory of the process so far, from /proc (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM line");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("VmHWM value");
        kb * 1024
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        // A failing test shows what each of its gateways said last.
        if std::thread::panicking() {
            let log = self.log_text();
            let tail = log.len().saturating_sub(16 * 1024);
            let tail = log.ceil_char_boundary(tail);
            eprintln!("gateway {} log (end):\n{}", self.base, &log[tail..]);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `WKG_GATEWAY_*` settings naming the suite's database and blob store for
/// a gateway whose data lives in `data_dir`.
pub async fn backend_env(data_dir: &Path) -> Vec<(String, String)> {
    let mut env = vec![(
        "WKG_GATEWAY_DATABASE__URL".to_string(),
        crate::database::database_for_test(data_dir).await,
    )];
    for (key, value) in crate::storage::storage_for_test() {
        env.push((
            format!("WKG_GATEWAY_STORAGE__{}", key.to_ascii_uppercase()),
            value,
        ));
    }
    env
}

/// The port in the gateway's "wkg-gateway is serving ... listen=127.0.0.1:PORT"
/// line (text or JSON logs).
fn serving_port(log: &str) -> Option<u16> {
    let line = log
        .lines()
        .find(|line| line.contains("wkg-gateway is serving"))?;
    let after = &line[line.find("listen")?..];
    let address = &after[after.find("127.0.0.1:")? + "127.0.0.1:".len()..];
    let digits: String = address.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_serving_port() {
        let text = "2026 INFO wkg_gateway::cli: wkg-gateway is serving listen=127.0.0.1:4312 public_url=http://127.0.0.1:4312/";
        assert_eq!(super::serving_port(text), Some(4312));
        let json = r#"{"message":"wkg-gateway is serving","listen":"127.0.0.1:999"}"#;
        assert_eq!(super::serving_port(json), Some(999));
        assert_eq!(super::serving_port("starting"), None);
    }
}
