//! Retries with exponential backoff for transient registry failures.
//!
//! Registries behind load balancers drop connections and answer 429 or 502 under load;
//! upstream wkg gives up at the first one. A few spaced retries turn most of those into a
//! slower success. Only failures that cannot have changed anything are retried (connection
//! errors, 429, 5xx), and each attempt re-runs the whole request, so uploads re-read the
//! file rather than keeping it in memory.

use std::future::Future;
use std::time::Duration;

use oci_client::errors::{OciDistributionError, OciErrorCode};

use crate::progress::Reporter;

/// Attempts in total, including the first.
pub(crate) const ATTEMPTS: u32 = 4;
/// The first pause; each later one doubles.
const FIRST_DELAY: Duration = Duration::from_millis(250);

/// Runs `op` until it succeeds, fails permanently, or the attempts run out.
pub(crate) async fn with_retries<T, F, Fut>(
    reporter: &dyn Reporter,
    what: &str,
    op: F,
) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    with_attempts(ATTEMPTS, reporter, what, op).await
}

/// [`with_retries`] with an explicit number of attempts (a proxy that has a cached answer
/// to fall back on wants fewer).
pub(crate) async fn with_attempts<T, F, Fut>(
    attempts: u32,
    reporter: &dyn Reporter,
    what: &str,
    mut op: F,
) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err) if attempt < attempts && is_transient(&err) => {
                reporter.warn(&format!(
                    "{what} failed ({err}); retrying in {} ms (attempt {} of {attempts})",
                    delay.as_millis(),
                    attempt + 1
                ));
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Connection problems, 429 and 5xx: worth another try.
pub(crate) fn is_transient(err: &OciDistributionError) -> bool {
    match err {
        OciDistributionError::RequestError(e) => {
            (e.is_connect() && !is_tls_failure(e))
                || e.is_timeout()
                || e.status()
                    .is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Toomanyrequests)),
        _ => false,
    }
}

/// A TLS handshake that failed (https to a plain-http server, an untrusted certificate)
/// fails the same way every time: retrying only delays the error.
pub(crate) fn is_tls_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(cause) = source {
        if is_rustls(cause) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Whether `err` is a rustls error, looking inside (possibly nested) `io::Error` wrappers,
/// whose `source()` skips the error they wrap.
fn is_rustls(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    match err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        Some(inner) => is_rustls(inner),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::progress::testing::Recording;

    fn server_error(code: u16) -> OciDistributionError {
        OciDistributionError::ServerError {
            code,
            url: "http://r/v2/".into(),
            message: String::new(),
        }
    }

    #[tokio::test]
    async fn retries_transient_then_succeeds() {
        let calls = AtomicU32::new(0);
        let reporter = Recording::default();
        let result = with_retries(&reporter, "listing tags", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(server_error(503)),
                1 => Err(server_error(429)),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(reporter.events.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn permanent_errors_and_exhaustion() {
        let calls = AtomicU32::new(0);
        let reporter = Recording::default();
        let result: Result<(), _> = with_retries(&reporter, "x", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(server_error(400))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "400 is not retried");

        calls.store(0, Ordering::SeqCst);
        let result: Result<(), _> = with_retries(&reporter, "x", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(server_error(500))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }

    #[tokio::test]
    async fn tls_failures_are_recognised() {
        crate::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, axum::Router::new()).await });
        let http = reqwest::Client::new();
        // https to a plain-http server: a handshake failure, not worth retrying.
        let tls = http
            .get(format!("https://{addr}/"))
            .send()
            .await
            .unwrap_err();
        assert!(is_tls_failure(&tls), "{tls:?}");
        assert!(!is_transient(&OciDistributionError::RequestError(tls)));

        // A refused connection is transient.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let refused = http
            .get(format!("http://{closed}/"))
            .send()
            .await
            .unwrap_err();
        assert!(!is_tls_failure(&refused), "{refused:?}");
        assert!(is_transient(&OciDistributionError::RequestError(refused)));
    }
}
