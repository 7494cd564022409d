//! The server's accept loop: HTTP/1 connections with the limits `axum::serve` does
//! not have (`[web.connections]`), so a slow-loris client cannot hold connections
//! even without a reverse proxy in front.
//!
//! Each connection is watched: one that sends nothing, or starts a request head and
//! does not finish it, is closed after `header_seconds`; one that stays silent
//! between requests (or does not read its answer) after `idle_seconds`. While a
//! request is being handled the route layers take over: a body that pauses longer
//! than `body_seconds` fails, a request over `request_seconds` gets 408. At most
//! `max` connections are served at once; further clients wait in the listen queue.
//! Graceful shutdown: stop accepting, let requests in progress finish, close idle
//! connections.

use amtsweg_web::connections::Connections;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` completes, then waits for the
/// requests in progress.
pub async fn serve(listener: TcpListener, app: Router, limits: Connections, shutdown: impl Future<Output = ()>) {
    let permits = Arc::new(Semaphore::new(limits.max()));
    let (stop_tx, stop_rx) = watch::channel(());
    // Every connection holds a sender; `recv` returns `None` once all have ended.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let conn =
            Connection { app: app.clone(), limits, stop: stop_rx.clone(), _alive: alive_tx.clone(), _permit: permit };
        tokio::spawn(conn.run(stream, peer));
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(alive_tx);
    let _ = alive_rx.recv().await;
}

/// A failed `accept`: the client gave up (go on) or the process is out of file
/// descriptors or memory (wait a moment instead of spinning).
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(200)).await;
}

struct Connection {
    app: Router,
    limits: Connections,
    stop: watch::Receiver<()>,
    _alive: mpsc::Sender<()>,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched { inner: stream, activity: Arc::clone(&activity) });
        let (app, watched) = (self.app, Arc::clone(&activity));
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let busy = watched.begin();
            let app = app.clone();
            // What `into_make_service_with_connect_info` would give the handlers.
            req.extensions_mut().insert(ConnectInfo(peer));
            async move {
                let response = app.oneshot(req.map(Body::new)).await;
                drop(busy);
                response
            }
        });
        // No header timer of hyper's own: it would also end kept-alive connections
        // after `header_seconds`; `Activity` tells the two apart.
        let conn = hyper::server::conn::http1::Builder::new().header_read_timeout(None).serve_connection(io, service);
        tokio::pin!(conn);
        let mut tick = tokio::time::interval(tick_of(&self.limits));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut stop = self.stop;
        let mut stopping = false;
        loop {
            tokio::select! {
                ended = conn.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = tick.tick() => {
                    if let Some(why) = activity.overdue(&self.limits) {
                        tracing::debug!(why, "closing a connection");
                        return;
                    }
                }
            }
        }
    }
}

/// How often a connection checks its timeouts: a quarter of the shorter one, between
/// 0.1 and 1 second.
fn tick_of(limits: &Connections) -> Duration {
    (limits.header().min(limits.idle()) / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
}

/// What a connection did when, in milliseconds since it was accepted.
struct Activity {
    start: Instant,
    /// The last byte read or written.
    last_io: AtomicU64,
    /// 1 + when the first byte of a request head arrived; 0 while none is pending.
    head_from: AtomicU64,
    /// Requests being handled.
    busy: AtomicUsize,
    /// Whether a request has been answered (only then may the connection idle).
    served: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            head_from: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        millis(self.start.elapsed())
    }

    fn read(&self, n: usize) {
        self.read_at(n, self.now());
    }

    fn read_at(&self, n: usize, t: u64) {
        if n == 0 {
            return;
        }
        self.last_io.store(t, Relaxed);
        if self.busy.load(Relaxed) == 0 {
            // Bytes between requests: a head has begun; its clock starts now.
            let _ = self.head_from.compare_exchange(0, t + 1, Relaxed, Relaxed);
        }
    }

    fn wrote(&self, n: usize) {
        if n > 0 {
            self.last_io.store(self.now(), Relaxed);
        }
    }

    /// A request head is complete and handled until the guard drops.
    fn begin(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Relaxed);
        self.head_from.store(0, Relaxed);
        Busy(Arc::clone(self))
    }

    fn end(&self, t: u64) {
        self.served.store(true, Relaxed);
        self.last_io.store(t, Relaxed);
        self.head_from.store(0, Relaxed);
        self.busy.fetch_sub(1, Relaxed);
    }

    /// Why the connection should be closed now, if it should.
    fn overdue(&self, limits: &Connections) -> Option<&'static str> {
        self.overdue_at(limits, self.now())
    }

    fn overdue_at(&self, limits: &Connections, now: u64) -> Option<&'static str> {
        if self.busy.load(Relaxed) > 0 {
            return None;
        }
        let head = self.head_from.load(Relaxed);
        if head > 0 {
            return (now.saturating_sub(head - 1) > millis(limits.header()))
                .then_some("request head not complete in time");
        }
        if !self.served.load(Relaxed) {
            return (now > millis(limits.header())).then_some("no request in time");
        }
        (now.saturating_sub(self.last_io.load(Relaxed)) > millis(limits.idle())).then_some("idle")
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Marks the end of a request's handling (also when the connection drops it).
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end(self.0.now());
    }
}

/// A TCP stream that records its reads and writes in [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.activity.read(buf.filled().len() - before);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            this.activity.wrote(n);
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            this.activity.wrote(n);
        }
        polled
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Connections {
        Connections { header_seconds: 2, idle_seconds: 5, ..Connections::default() }
    }

    #[test]
    fn silence_a_slow_head_and_idleness_each_have_their_own_limit() {
        let l = limits();
        let over = |a: &Activity, t: u64| a.overdue_at(&l, t);
        // Nothing sent: closed after the header time.
        let a = Activity::new();
        assert_eq!(over(&a, 1900), None);
        assert_eq!(over(&a, 2100), Some("no request in time"));

        // A request answered, then a pause shorter than idle: kept.
        let a = Activity::new();
        a.read_at(100, 10);
        a.busy.fetch_add(1, Relaxed);
        a.end(50);
        assert_eq!(over(&a, 4000), None, "kept alive past the header time");
        assert_eq!(over(&a, 5100), Some("idle"));

        // The next head started but not finished: the header time counts from its first byte.
        a.read_at(10, 6000);
        a.read_at(1, 7500);
        assert_eq!(over(&a, 7900), None);
        assert_eq!(over(&a, 8100), Some("request head not complete in time"));

        // While a request is handled, the route layers decide.
        a.busy.fetch_add(1, Relaxed);
        assert_eq!(over(&a, 600_000), None);
        a.read_at(100, 600_000);
        a.end(600_001);
        assert_eq!(a.head_from.load(Relaxed), 0, "body bytes start no head");
    }

    #[test]
    fn ticks_are_a_quarter_of_the_shorter_limit() {
        assert_eq!(tick_of(&limits()), Duration::from_millis(500));
        assert_eq!(tick_of(&Connections::default()), Duration::from_secs(1));
        assert_eq!(tick_of(&Connections { header_seconds: 0, ..Connections::default() }), Duration::from_millis(250));
    }
}
