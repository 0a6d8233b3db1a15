//! Connection watch: every connection is wrapped so that the server knows when it last moved,
//! and a watchdog closes it when
//!
//! - it has sent no byte within the first-byte timeout of being accepted;
//! - no request has been in flight on it for the idle timeout (HTTP/2 pings do not count);
//! - a request has been in flight with no progress for the stall timeout: no request body
//!   bytes arriving and no response bytes taken by the connection (a client that stops reading
//!   its response, or stops sending its body).
//!
//! Times are milliseconds since the connection was accepted, kept in atomics: the hot path pays
//! one relaxed store per read, per body frame and per request.

use crate::body::ResponseBody;
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The timeouts a connection is watched with.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub first_byte: Duration,
    pub idle: Duration,
    pub stall: Duration,
}

/// What a connection has done, and when.
#[derive(Debug)]
pub struct Activity {
    start: Instant,
    first_byte: AtomicBool,
    in_flight: AtomicUsize,
    /// When the last request ended (or the connection began).
    idle_since_ms: AtomicU64,
    /// When a request in flight last made progress.
    progress_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            first_byte: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
            progress_ms: AtomicU64::new(0),
        })
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// A request starts; it counts as in flight until the returned guard is dropped (with
    /// the response body, once sent).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.progressed();
        InFlight(self.clone())
    }

    /// A request in flight moved: body bytes arrived, or response bytes were taken.
    pub fn progressed(&self) {
        self.progress_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, t: &Timeouts) -> Option<&'static str> {
        let now = self.now_ms();
        let older = |since: u64, limit: Duration| now.saturating_sub(since) > limit.as_millis() as u64;
        if !self.first_byte.load(Ordering::Relaxed) {
            return older(0, t.first_byte).then_some("no byte arrived within the first-byte timeout");
        }
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            return older(self.idle_since_ms.load(Ordering::Relaxed), t.idle).then_some("idle");
        }
        older(self.progress_ms.load(Ordering::Relaxed), t.stall).then_some("a request stalled")
    }
}

/// A request in flight on its connection.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since_ms.store(a.now_ms(), Ordering::Relaxed);
        a.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Resolves when the connection should be closed (with the reason).
pub async fn watchdog(activity: Arc<Activity>, t: Timeouts) -> &'static str {
    let tick = t.first_byte.min(t.idle).min(t.stall).checked_div(4).unwrap_or_default();
    let tick = tick.clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        tokio::time::sleep(tick).await;
        if let Some(reason) = activity.expired(&t) {
            return reason;
        }
    }
}

/// A socket (or TLS stream) that marks its connection's first byte.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Watched<S> {
        Watched { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before && !this.activity.first_byte.load(Ordering::Relaxed) {
            this.activity.first_byte.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request in flight until it is sent, and marks progress
/// each time the connection takes a piece of it.
pub struct Tracked {
    body: ResponseBody,
    _in_flight: InFlight,
    activity: Arc<Activity>,
}

impl Tracked {
    pub fn new(body: ResponseBody, in_flight: InFlight) -> Tracked {
        let activity = in_flight.0.clone();
        Tracked {
            body,
            _in_flight: in_flight,
            activity,
        }
    }
}

impl Body for Tracked {
    type Data = bytes::Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<bytes::Bytes>, io::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &r {
            this.activity.progressed();
        }
        r
    }
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timeouts {
        let d = Duration::from_millis(ms);
        Timeouts {
            first_byte: d,
            idle: d,
            stall: d,
        }
    }

    #[tokio::test]
    async fn a_silent_an_idle_and_a_stalled_connection_expire_a_busy_one_does_not() {
        let a = Activity::new();
        assert_eq!(a.expired(&t(1000)), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(a.expired(&t(10)), Some("no byte arrived within the first-byte timeout"));
        a.first_byte.store(true, Ordering::Relaxed);
        assert_eq!(a.expired(&t(10)), Some("idle"));
        let guard = a.begin();
        assert_eq!(a.expired(&t(10)), None);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(a.expired(&t(10)), Some("a request stalled"));
        a.progressed();
        assert_eq!(a.expired(&t(10)), None);
        drop(guard);
        assert_eq!(a.expired(&t(10)), None, "idle time starts when the request ends");
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(a.expired(&t(10)), Some("idle"));
    }
}
