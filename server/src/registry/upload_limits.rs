//! How much of the gateway one client's uploads may hold.
//!
//! - Open sessions per client (`uploads.max_sessions_per_client`, default
//!   64, well above the handful of layers docker and wkg push at once):
//!   counted in the database ([`crate::db::Db::create_upload`]), so the
//!   limit holds across replicas. A client is its user when authenticated,
//!   else its address (after `server.trusted_proxies`), IPv6 grouped by
//!   /64 since one host easily holds a whole /64. Finished and cancelled
//!   sessions are deleted at once; sessions untouched for `uploads.max_age`
//!   have expired and stop counting even before the purge removes them.
//! - Request bodies streamed at once (`uploads.max_concurrent`), shared by
//!   everyone: [`UploadInProgress`] holds one slot per body.
//! - So that a slow client cannot keep such a slot forever, a body must
//!   bring `uploads.body_min_rate` bytes per second, measured over each
//!   `uploads.body_rate_window` of time spent waiting for the client
//!   ([`MinRate`]); time the gateway spends writing to storage does not
//!   count against it. A body that trickles slower is abandoned with
//!   `BLOB_UPLOAD_INVALID`, which frees its slot; what earlier requests of
//!   the session committed stays, and the client may resume from there.
//!   (`uploads.body_idle_timeout` still ends a body that sends nothing.)

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::Stream;
use tokio::time::{Instant, Sleep};
use uuid::Uuid;

use super::{Error, Registry};
use crate::names::RepoName;

/// Longest owner key kept (user names are at most 64 characters; this
/// only guards the table against anything longer).
const MAX_OWNER_CHARS: usize = 128;

/// Whom an upload session counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOwner(String);

impl UploadOwner {
    /// `user:<name>` for an authenticated caller; otherwise
    /// `addr:<IPv4 address>`, `addr:<IPv6 /64>` (IPv4-mapped IPv6 counts as
    /// IPv4), or `addr:unknown` when no address is known.
    pub fn of(user: Option<&str>, address: Option<IpAddr>) -> Self {
        if let Some(user) = user {
            return Self(format!(
                "user:{}",
                user.chars().take(MAX_OWNER_CHARS).collect::<String>()
            ));
        }
        let address = match address {
            None => "unknown".to_string(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    format!("{}/64", std::net::Ipv6Addr::from(prefix))
                }
            },
        };
        Self(format!("addr:{address}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Opens an upload session of `repo` for `owner`, or refuses
/// ([`Error::TooManySessions`]: 429 with `Retry-After`) when the owner
/// already holds `uploads.max_sessions_per_client` open sessions.
pub async fn open_session(
    registry: &Registry,
    repo: &RepoName,
    owner: &UploadOwner,
) -> Result<Uuid, Error> {
    let limits = registry.limits();
    let max_age = i64::try_from(limits.max_age.as_millis()).unwrap_or(i64::MAX);
    let live_since = crate::db::now_millis().saturating_sub(max_age);
    let id = Uuid::new_v4();
    match registry
        .db
        .create_upload(
            id,
            repo.as_str(),
            owner.as_str(),
            limits.max_sessions_per_client,
            live_since,
        )
        .await?
    {
        Ok(()) => Ok(id),
        Err(open) => Err(Error::TooManySessions {
            open,
            max_age: limits.max_age,
        }),
    }
}

/// Counts a body being streamed into storage for as long as it lives.
/// Holds one of the `uploads.max_concurrent` permits; without one the
/// request is refused ([`Error::UploadsBusy`]: 429 with `Retry-After`)
/// rather than piling up.
pub(super) struct UploadInProgress {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl UploadInProgress {
    pub(super) fn start(registry: &Registry) -> Result<Self, Error> {
        let permit = registry
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::UploadsBusy)?;
        crate::metrics::global().uploads_in_progress.inc();
        Ok(Self { _permit: permit })
    }

    /// The request body, held to `uploads.body_min_rate` for as long as it
    /// holds this slot.
    pub(super) fn metered(
        &self,
        registry: &Registry,
        body: Body,
    ) -> MinRate<axum::body::BodyDataStream> {
        MinRate::new(
            body.into_data_stream(),
            registry.limits.body_min_rate,
            registry.limits.body_rate_window,
        )
    }
}

impl Drop for UploadInProgress {
    fn drop(&mut self) {
        crate::metrics::global().uploads_in_progress.dec();
    }
}

/// Why a metered body ended early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    Body(String),
    #[error(
        "the body arrived slower than {rate} bytes per second over {} \
         (uploads.body_min_rate); the upload was abandoned and its slot freed: resume from the \
         committed offset (GET the upload URL) over a faster connection",
        humantime::format_duration(*window)
    )]
    TooSlow { rate: u64, window: Duration },
}

/// A body stream that must bring `rate` bytes per second, measured over
/// each `window` of time spent waiting for it: time between a poll and the
/// bytes it brought, not time the consumer spends elsewhere. A window that
/// ends short ends the stream with [`BodyError::TooSlow`]; the last,
/// partial window of a body that ends is not judged. A rate of zero
/// measures nothing.
pub struct MinRate<S> {
    inner: S,
    rate: u64,
    window: Duration,
    /// Bytes each full window must bring.
    need: u64,
    /// Bytes and waiting time of the current window.
    got: u64,
    waited: Duration,
    /// When the current wait began (`None`: not waiting).
    waiting_since: Option<Instant>,
    /// Fires when the current wait fills the window.
    timer: Pin<Box<Sleep>>,
    ended: bool,
}

impl<S> MinRate<S> {
    pub fn new(inner: S, rate: u64, window: Duration) -> Self {
        let need = u64::try_from(u128::from(rate) * window.as_millis() / 1000).unwrap_or(u64::MAX);
        Self {
            inner,
            rate,
            window,
            need,
            got: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: Box::pin(tokio::time::sleep(window)),
            ended: false,
        }
    }

    /// Judges a full window and starts the next one.
    fn close_window(&mut self) -> Result<(), BodyError> {
        if self.got < self.need {
            self.ended = true;
            return Err(BodyError::TooSlow {
                rate: self.rate,
                window: self.window,
            });
        }
        self.got = 0;
        self.waited = Duration::ZERO;
        Ok(())
    }
}

impl<S, E> Stream for MinRate<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        if this.rate == 0 {
            return polled.map(|item| item.map(|r| r.map_err(|e| BodyError::Body(e.to_string()))));
        }
        let now = Instant::now();
        let since = match this.waiting_since {
            Some(since) => since,
            None => {
                let left = this.window.saturating_sub(this.waited);
                this.timer.as_mut().reset(now + left);
                this.waiting_since = Some(now);
                now
            }
        };
        match polled {
            Poll::Ready(Some(Ok(bytes))) => {
                this.waiting_since = None;
                this.waited += now.saturating_duration_since(since);
                this.got = this.got.saturating_add(bytes.len() as u64);
                if this.waited >= this.window
                    && let Err(error) = this.close_window()
                {
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.ended = true;
                Poll::Ready(Some(Err(BodyError::Body(error.to_string()))))
            }
            Poll::Ready(None) => {
                this.ended = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    // This wait filled the window.
                    if let Err(error) = this.close_window() {
                        return Poll::Ready(Some(Err(error)));
                    }
                    this.waiting_since = Some(now);
                    this.timer.as_mut().reset(now + this.window);
                    // Registers the waker for the next window's end.
                    let _ = this.timer.as_mut().poll(cx);
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::time::Duration;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::{BodyError, MinRate, UploadOwner};

    #[test]
    fn owners() {
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(
            UploadOwner::of(Some("alice"), ip("10.0.0.1")).as_str(),
            "user:alice"
        );
        assert_eq!(
            UploadOwner::of(None, ip("10.0.0.1")).as_str(),
            "addr:10.0.0.1"
        );
        assert_eq!(
            UploadOwner::of(None, ip("::ffff:10.0.0.1")).as_str(),
            "addr:10.0.0.1"
        );
        assert_eq!(
            UploadOwner::of(None, ip("2001:db8:1:2:3:4:5:6")),
            UploadOwner::of(None, ip("2001:db8:1:2:ffff::1"))
        );
        assert_eq!(
            UploadOwner::of(None, ip("2001:db8:1:2:3:4:5:6")).as_str(),
            "addr:2001:db8:1:2::/64"
        );
        assert_ne!(
            UploadOwner::of(None, ip("2001:db8:1:2::1")),
            UploadOwner::of(None, ip("2001:db8:1:3::1"))
        );
        assert_eq!(UploadOwner::of(None, None).as_str(), "addr:unknown");
        let long = "x".repeat(1000);
        assert!(UploadOwner::of(Some(&long), None).as_str().len() <= 5 + 128);
    }

    fn ready(parts: usize) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures::stream::iter((0..parts).map(|_| Ok(Bytes::from_static(b"0123456789"))))
    }

    /// One byte, then nothing: whatever the machine's speed, the first
    /// window ends short.
    #[tokio::test]
    async fn a_body_that_stops_short_is_cut_when_its_window_ends() {
        let window = Duration::from_millis(50);
        let stalls = futures::stream::iter([Ok(Bytes::from_static(b"x"))])
            .chain(futures::stream::pending::<Result<Bytes, std::io::Error>>());
        let mut metered = MinRate::new(stalls, 1000, window);
        assert_eq!(metered.next().await.unwrap().unwrap().len(), 1);
        assert_eq!(
            metered.next().await.unwrap(),
            Err(BodyError::TooSlow { rate: 1000, window })
        );
        assert!(metered.next().await.is_none(), "nothing after the error");
    }

    #[tokio::test]
    async fn bodies_that_never_fill_a_window_pass() {
        // Ready bytes take no waiting; an hour-long window never fills.
        let hour = Duration::from_secs(3600);
        let items: Vec<_> = MinRate::new(ready(30), u64::MAX, hour).collect().await;
        assert_eq!(items.len(), 30);
        assert!(items.iter().all(Result::is_ok));
        // Rate zero measures nothing, however long the body is silent.
        let stalls = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"x"))]);
        let items: Vec<_> = MinRate::new(stalls, 0, Duration::from_millis(1))
            .collect()
            .await;
        assert!(items.iter().all(Result::is_ok));
    }

    /// Time the consumer spends between polls (writing to storage) is not
    /// the client's: the pauses here add up to more than the window.
    #[tokio::test]
    async fn time_between_polls_does_not_count() {
        let window = Duration::from_millis(200);
        let mut metered = MinRate::new(ready(4), u64::MAX, window);
        while let Some(item) = metered.next().await {
            item.unwrap();
            tokio::time::sleep(window).await;
        }
    }
}
