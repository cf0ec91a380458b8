//! Why a registry.json could not be used, as facts a caller words for its own audience:
//! the CLI adds advice about wkg's config file, the gateway's proxy words a 502 for a
//! docker user. Each variant names the document's URL; echoes of its content are cut by
//! [`super::bounded`] where they are made.

use std::time::Duration;

use super::ReadError;

/// A registry.json that could not be fetched or read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// No complete answer within the bound on the exchange.
    #[error("could not read {url}: no complete answer within {}s", .timeout.as_secs_f64())]
    Timeout { url: String, timeout: Duration },

    /// The request failed below HTTP: DNS, connection, TLS, a refused redirect.
    #[error("could not read {url}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The registry answered with a status that is neither a document nor "none here".
    #[error("could not read {url}: it answered HTTP {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },

    /// The answer is too large, not JSON, or says something no registry.json may say.
    #[error("{url} is not a usable registry.json: {reason}")]
    Unusable { url: String, reason: String },
}

impl DiscoveryError {
    /// The failure from sending the request or reading its body.
    pub(super) fn transport(url: &str, error: reqwest::Error, timeout: Duration) -> Self {
        if error.is_timeout() {
            DiscoveryError::Timeout {
                url: url.to_owned(),
                timeout,
            }
        } else {
            DiscoveryError::Transport {
                url: url.to_owned(),
                source: error,
            }
        }
    }

    /// The failure from a bounded read of the body.
    pub(super) fn read(url: &str, error: ReadError, timeout: Duration) -> Self {
        match error {
            ReadError::Http(error) => Self::transport(url, error, timeout),
            too_large => DiscoveryError::Unusable {
                url: url.to_owned(),
                reason: too_large.to_string(),
            },
        }
    }

    /// The registry could not be connected to at all (no answer of any kind).
    pub fn is_connect(&self) -> bool {
        matches!(self, DiscoveryError::Transport { source, .. } if source.is_connect())
    }

    /// The document's URL.
    pub fn url(&self) -> &str {
        match self {
            DiscoveryError::Timeout { url, .. }
            | DiscoveryError::Transport { url, .. }
            | DiscoveryError::Status { url, .. }
            | DiscoveryError::Unusable { url, .. } => url,
        }
    }
}
