//! A blob upload session driven step by step, as an OCI client drives one:
//! `POST` to open it, `PATCH` chunks with `Content-Range`, `GET` to learn
//! the committed offset, `PUT ?digest=` to complete it. Shared by every
//! test that pushes in chunks, resumes after a fault, or moves a session
//! between replicas.

use reqwest::{Client, Response, StatusCode};

use crate::sha256_digest;

/// One upload session. `location` is what the gateway answered, relative
/// to its base; [`UploadSession::via`] sends the next requests to another
/// replica (or a load balancer) sharing the same database.
#[derive(Clone, Debug)]
pub struct UploadSession {
    client: Client,
    base: String,
    /// The session's path, `/v2/<repo>/blobs/uploads/<id>`.
    pub location: String,
}

impl UploadSession {
    /// Opens a session in `repo` on the gateway at `base`; asserts 202.
    pub async fn start(client: &Client, base: &str, repo: &str) -> Self {
        let response = client
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .expect("POST upload");
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "starting an upload in {repo} on {base}"
        );
        let location = response.headers()["location"]
            .to_str()
            .expect("Location")
            .to_string();
        // A full URL (behind a proxy) names the same path.
        let location = match location.find("/v2/") {
            Some(start) => location[start..].to_string(),
            None => location,
        };
        Self {
            client: client.clone(),
            base: base.to_string(),
            location,
        }
    }

    /// The session at `location` (as the gateway answered it) on `base`.
    pub fn at(client: &Client, base: &str, location: &str) -> Self {
        Self {
            client: client.clone(),
            base: base.to_string(),
            location: location.to_string(),
        }
    }

    /// The same session, asked through `base` from now on.
    pub fn via(&self, base: &str) -> Self {
        Self {
            base: base.to_string(),
            ..self.clone()
        }
    }

    /// `<base><location>`.
    pub fn url(&self) -> String {
        format!("{}{}", self.base, self.location)
    }

    /// PATCHes `bytes` at `offset` (`Content-Range: <first>-<last>`).
    pub async fn patch(&self, offset: usize, bytes: &[u8]) -> Response {
        let last = offset + bytes.len() - 1;
        self.client
            .patch(self.url())
            .header("content-range", format!("{offset}-{last}"))
            .body(bytes.to_vec())
            .send()
            .await
            .expect("PATCH upload")
    }

    /// The session's `Range` header (`0-<last byte>`); asserts 204.
    pub async fn range(&self) -> String {
        let response = self
            .client
            .get(self.url())
            .send()
            .await
            .expect("GET upload");
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "upload status of {}",
            self.url()
        );
        response.headers()["range"]
            .to_str()
            .expect("Range")
            .to_string()
    }

    /// How many bytes the session holds ("0-0" is also what an empty one
    /// reports, so callers commit a first chunk before relying on this).
    pub async fn committed(&self) -> usize {
        committed_of(&self.range().await)
    }

    /// Sends the rest of `content` from the committed offset, `chunk`
    /// bytes per PATCH (each must answer 202).
    pub async fn send_rest(&self, content: &[u8], chunk: usize) {
        loop {
            let offset = self.committed().await;
            if offset == content.len() {
                return;
            }
            let end = (offset + chunk).min(content.len());
            let response = self.patch(offset, &content[offset..end]).await;
            assert_eq!(
                response.status(),
                StatusCode::ACCEPTED,
                "PATCH from {offset} of {}",
                self.url()
            );
        }
    }

    /// Completes the session as `digest` (`PUT ?digest=`), no body.
    pub async fn finish(&self, digest: &str) -> Response {
        self.client
            .put(format!("{}?digest={digest}", self.url()))
            .send()
            .await
            .expect("PUT upload")
    }

    /// Sends the rest of `content` and completes the session; asserts 201
    /// and returns the digest.
    pub async fn complete(&self, content: &[u8], chunk: usize) -> String {
        self.send_rest(content, chunk).await;
        let digest = sha256_digest(content);
        let response = self.finish(&digest).await;
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "completing {}: {}",
            self.url(),
            response.text().await.unwrap_or_default()
        );
        digest
    }
}

/// The committed size a `Range: 0-<last>` header says.
pub fn committed_of(range: &str) -> usize {
    let (_, last) = range.split_once('-').expect("Range: 0-<last>");
    last.parse::<usize>().expect("last byte") + 1
}
