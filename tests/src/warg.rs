//! A real Warg registry for the proxy tests: `warg-server` in-process on a
//! loopback port with in-memory logs, and `warg-client` publishing to it.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use tempfile::TempDir;
use warg_client::FileSystemClient;
use warg_client::storage::{ContentStorage as _, PublishEntry, PublishInfo};
use warg_crypto::signing::PrivateKey;
use warg_protocol::operator::NamespaceState;
use warg_protocol::registry::PackageName;

/// How often the test server publishes a checkpoint (publishes wait for one).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// A running warg-server; stops when dropped.
pub struct WargServer {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    task: tokio::task::JoinHandle<()>,
    _content: TempDir,
}

impl WargServer {
    /// Starts a server whose namespaces are `namespaces`.
    pub async fn start(namespaces: &[&str]) -> Self {
        crate::install_crypto();
        let content = TempDir::new().expect("temp dir");
        let config = warg_server::Config::new(
            key(1),
            Some(
                namespaces
                    .iter()
                    .map(|ns| (ns.to_string(), NamespaceState::Defined))
                    .collect(),
            ),
            content.path().to_path_buf(),
        )
        .with_addr(([127, 0, 0, 1], 0))
        .with_checkpoint_interval(CHECKPOINT_INTERVAL);
        let server = warg_server::Server::new(config)
            .initialize()
            .await
            .expect("warg-server starts");
        let url = format!("http://{}", server.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            if let Err(error) = server.serve().await {
                eprintln!("warg-server stopped: {error:#}");
            }
        });
        Self {
            url,
            task,
            _content: content,
        }
    }

    /// A gateway `[[upstream]]` entry serving `namespace` from this server.
    pub fn upstream_entry(&self, namespace: &str) -> String {
        format!(
            "[[upstream]]\nnamespaces = [\"{namespace}\"]\nwarg = {{ url = \"{}\" }}\n",
            self.url
        )
    }

    /// A publisher with its own key and client storage.
    pub async fn publisher(&self) -> WargPublisher {
        let storage = TempDir::new().expect("temp dir");
        let config = warg_client::Config {
            home_url: Some(self.url.clone()),
            registries_dir: Some(storage.path().join("registries")),
            content_dir: Some(storage.path().join("content")),
            namespace_map_path: Some(storage.path().join("namespaces.json")),
            disable_interactive: true,
            ..warg_client::Config::default()
        };
        let client = FileSystemClient::new_with_config(Some(&self.url), &config, None)
            .await
            .expect("warg client");
        WargPublisher {
            client,
            key: key(2),
            _storage: storage,
        }
    }
}

impl Drop for WargServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A P-256 signing key made from a fixed seed (test keys need no secrecy).
fn key(seed: u8) -> PrivateKey {
    let mut bytes = [0u8; 32];
    bytes[31] = seed;
    bytes[0] = 0x11;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    PrivateKey::decode(format!("ecdsa-p256:{encoded}")).expect("valid key")
}

/// Publishes releases the way `warg publish` does.
pub struct WargPublisher {
    client: FileSystemClient,
    key: PrivateKey,
    _storage: TempDir,
}

impl WargPublisher {
    /// Publishes `content` as `package@version` (creating the package on its
    /// first release) and waits until the registry has published it.
    pub async fn release(&self, package: &str, version: &str, content: &[u8]) {
        let name = PackageName::new(package).expect("package name");
        let bytes = Bytes::copy_from_slice(content);
        let digest = self
            .client
            .content()
            .store_content(
                Box::pin(futures::stream::once(async move { Ok(bytes) })),
                None,
            )
            .await
            .expect("store content");
        let exists = self.client.fetch_package(&name).await.is_ok();
        let mut entries = Vec::new();
        if !exists {
            entries.push(PublishEntry::Init);
        }
        entries.push(PublishEntry::Release {
            version: version.parse().expect("version"),
            content: digest,
        });
        let record = self
            .client
            .publish_with_info(
                &self.key,
                PublishInfo {
                    name: name.clone(),
                    head: None,
                    entries,
                },
            )
            .await
            .expect("publish");
        self.client
            .wait_for_publish(&name, &record, CHECKPOINT_INTERVAL)
            .await
            .expect("published");
    }
}
