//! The HTTP accept loop of the backend (the same bounds as the emulator's listener): hyper-util's auto (HTTP/1 and HTTP/2) connection builder with
//! bounds a hostile or careless client cannot outlast.
//!
//! - **Header read timeout**: a request head must arrive whole within [`HttpLimits::header_read_timeout`]
//!   of its first byte being awaited (hyper's own timer; not reset per byte).
//! - **Body pace**: a request body being read must bring [`HttpLimits::min_body_rate`] bytes a second
//!   on average over each [`HttpLimits::body_read_timeout`], or end; otherwise the handler sees a body
//!   error (answered 4001) and the connection closes. A request in flight is never idle, so a body
//!   withheld after `Expect: 100-continue` or trickled would otherwise hold its connection forever.
//! - **Idle deadline**: a connection with no byte read or written for [`HttpLimits::idle_timeout`] is
//!   closed, with or without a request in flight (a response the peer never takes, such as one behind
//!   an HTTP/2 window left at zero, would otherwise hold it forever). This also covers connections that
//!   never send a byte (the auto builder waits for the HTTP/2 preface before hyper's header timer
//!   starts).
//! - **Connection cap**: at most [`HttpLimits::max_connections`] open connections, and never more than
//!   half the process's file descriptor limit, so open connections cannot starve the process of fds.
//!   At the cap, the connection idle the longest is closed to make room (an idle keep-alive connection
//!   costs its client nothing but a reconnect); when every connection has a request in flight, the one
//!   whose last byte moved longest ago, at least a header timeout ago, is closed instead (an active
//!   exchange moves bytes far more often); failing that, the new one is closed at once.
//! - **A log line per request** (target `minilvb::http`, on stderr): peer, method, path, status, time.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Bounds of one HTTP listener.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// Time a client has to send a whole request head.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with nothing in flight and no traffic.
    pub idle_timeout: Duration,
    /// Open connections at most (further capped at half the fd limit).
    pub max_connections: usize,
    /// Period in which a request body being read must make progress (see [`Self::min_body_rate`]).
    pub body_read_timeout: Duration,
    /// Bytes a second a request body must average over each [`Self::body_read_timeout`] until it ends.
    pub min_body_rate: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            body_read_timeout: Duration::from_secs(10),
            // The app's requests are a few hundred bytes; only a trickle meant to hold a slot is slower.
            min_body_rate: 1024,
        }
    }
}

impl HttpLimits {
    /// The cap in effect: the configured one, at most half the soft `RLIMIT_NOFILE` (the rest is for
    /// files, outgoing callbacks and the RTMP listener), at least 16.
    pub fn effective_max_connections(&self) -> usize {
        let fds = fd_limit().unwrap_or(u64::MAX);
        let half = usize::try_from(fds / 2).unwrap_or(usize::MAX);
        self.max_connections.min(half.max(16)).max(1)
    }
}

fn fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// What the accept loop knows of one open connection.
struct ConnState {
    /// Milliseconds since the registry's epoch of the last byte read or written.
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
    evicting: AtomicBool,
    /// Set when it is evicted with a request in flight: closed at once, not after that request.
    stalled: AtomicBool,
    close: Notify,
}

struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn insert(&self) -> (u64, Arc<ConnState>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState {
            last_io_ms: AtomicU64::new(self.now_ms()),
            in_flight: AtomicUsize::new(0),
            evicting: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            close: Notify::new(),
        });
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, state.clone());
        (id, state)
    }

    fn remove(&self, id: u64) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Open connections not already being closed.
    fn live(&self) -> usize {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|c| !c.evicting.load(Ordering::Relaxed))
            .count()
    }

    /// Asks the connection idle the longest (nothing in flight) to close; failing that, the one with a
    /// request in flight whose last byte moved longest ago, if at least `stalled_ms` ago (an active
    /// exchange moves bytes far more often, so only a stalled or trickling one qualifies). False if
    /// there is neither.
    fn evict_for_newcomer(&self, stalled_ms: u64) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let open = || {
            conns
                .values()
                .filter(|c| !c.evicting.load(Ordering::Relaxed))
        };
        let oldest_idle = open()
            .filter(|c| c.in_flight.load(Ordering::Relaxed) == 0)
            .min_by_key(|c| c.last_io_ms.load(Ordering::Relaxed));
        let now = self.now_ms();
        let oldest = oldest_idle.or_else(|| {
            open()
                .filter(|c| now.saturating_sub(c.last_io_ms.load(Ordering::Relaxed)) >= stalled_ms)
                .min_by_key(|c| c.last_io_ms.load(Ordering::Relaxed))
        });
        match oldest {
            Some(c) => {
                c.evicting.store(true, Ordering::Relaxed);
                c.stalled
                    .store(c.in_flight.load(Ordering::Relaxed) > 0, Ordering::Relaxed);
                c.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn close_all(&self) {
        for c in self
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            c.close.notify_one();
        }
    }
}

/// A socket that notes the time of its last byte moved.
struct Tracked {
    inner: TcpStream,
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Tracked {
    fn touch(&self) {
        self.state
            .last_io_ms
            .store(self.registry.now_ms(), Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Counts a request as in flight until its response body is dropped (a streamed FLV play response
/// keeps its connection busy, not idle).
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn new(state: Arc<ConnState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

struct GuardedBody {
    inner: Body,
    _guard: InFlight,
}

impl hyper::body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body fallen below the pace of [`HttpLimits::min_body_rate`].
#[derive(Debug)]
pub struct BodyTooSlow(pub Duration);

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body too slow (period {:?})", self.0)
    }
}

impl std::error::Error for BodyTooSlow {}

/// A request body with a pace to keep: the period starts at the first poll (when hyper sends `100
/// Continue`), and each period that brings `due` bytes starts the next.
struct PacedBody {
    inner: Incoming,
    period: Duration,
    due: u64,
    got: u64,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    cut: bool,
}

impl PacedBody {
    fn new(inner: Incoming, limits: &HttpLimits) -> Self {
        let period = limits.body_read_timeout.max(Duration::from_millis(100));
        let due = u64::try_from(
            u128::from(limits.min_body_rate).saturating_mul(period.as_millis()) / 1000,
        )
        .unwrap_or(u64::MAX)
        .max(1);
        Self {
            inner,
            period,
            due,
            got: 0,
            timer: None,
            cut: false,
        }
    }
}

impl hyper::body::Body for PacedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let me = &mut *self;
        if me.cut {
            return Poll::Ready(None);
        }
        let period = me.period;
        let timer = me
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(period)));
        match Pin::new(&mut me.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                me.got = me
                    .got
                    .saturating_add(frame.data_ref().map_or(0, |d| d.len() as u64));
                if me.got >= me.due {
                    me.got = 0;
                    timer.as_mut().reset(tokio::time::Instant::now() + period);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                me.cut = true;
                Poll::Ready(Some(Err(Box::new(BodyTooSlow(period)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.cut || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; requests carry
/// `ConnectInfo<SocketAddr>` as with axum's own server. Open connections get a graceful shutdown
/// (bounded by the idle timeout) when the loop ends.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let registry = Arc::new(Registry {
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        conns: Mutex::new(HashMap::new()),
    });
    let cap = limits.effective_max_connections();
    // A zero idle period would turn the per-connection check into a busy loop.
    let limits = HttpLimits {
        idle_timeout: limits.idle_timeout.max(Duration::from_millis(100)),
        ..limits
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = &mut shutdown => break,
        };
        // Reap finished connection tasks so the set does not grow with the connections served.
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_fd_exhaustion(&e) => {
                // Out of descriptors despite the cap (other parts of the process use fds too): free
                // one held by an idle connection, then try again.
                tracing::warn!("accept: {e}; closing an idle connection");
                if !registry.evict_for_newcomer(
                    u64::try_from(limits.header_read_timeout.as_millis()).unwrap_or(u64::MAX),
                ) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                } else {
                    tokio::task::yield_now().await;
                }
                continue;
            }
            Err(e) => {
                // ECONNABORTED and friends concern one peer only.
                tracing::debug!("accept: {e}");
                continue;
            }
        };
        if registry.live() >= cap
            && !registry.evict_for_newcomer(
                u64::try_from(limits.header_read_timeout.as_millis()).unwrap_or(u64::MAX),
            )
        {
            tracing::warn!(%peer, cap, "closed: too many connections in flight");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (id, state) = registry.insert();
        let io = TokioIo::new(Tracked {
            inner: stream,
            state: state.clone(),
            registry: registry.clone(),
        });
        let svc_state = state.clone();
        let router = router.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = InFlight::new(svc_state.clone());
            let mut req = req.map(|b| Body::new(PacedBody::new(b, &limits)));
            req.extensions_mut().insert(ConnectInfo(peer));
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let started = Instant::now();
            let call =
                hyper::service::Service::call(&TowerToHyperService::new(router.clone()), req);
            async move {
                let res = call.await?;
                tracing::info!(
                    target: "minilvb::http",
                    "{peer} {method} {path} {} {}ms",
                    res.status().as_u16(),
                    started.elapsed().as_millis()
                );
                Ok::<_, std::convert::Infallible>(res.map(|inner| GuardedBody {
                    inner,
                    _guard: guard,
                }))
            }
        });
        let builder = builder.clone();
        let registry = registry.clone();
        tasks.spawn(async move {
            let conn = builder.serve_connection_with_upgrades(io, service);
            tokio::pin!(conn);
            let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
            let mut closing = false;
            loop {
                let now = registry.now_ms();
                let due = state.last_io_ms.load(Ordering::Relaxed).saturating_add(idle_ms);
                let wait = Duration::from_millis(due.saturating_sub(now).max(1));
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!("connection: {e}");
                        }
                        break;
                    }
                    () = state.close.notified(), if !closing => {
                        if state.in_flight.load(Ordering::Relaxed) == 0
                            || state.stalled.load(Ordering::Relaxed)
                        {
                            break;
                        }
                        // A request is being answered: let it finish, then close.
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = tokio::time::sleep(wait) => {
                        // Quiet for a whole idle period: idle, or a request in flight that moved no
                        // byte (a response the peer does not take, as with an HTTP/2 window left at
                        // zero; a body that stopped is cut earlier by its pace).
                        let quiet = registry.now_ms().saturating_sub(state.last_io_ms.load(Ordering::Relaxed));
                        if quiet >= idle_ms {
                            break;
                        }
                    }
                }
            }
            registry.remove(id);
        });
    }
    drop(listener);
    registry.close_all();
    let bound = limits.idle_timeout.max(Duration::from_secs(1));
    let _ = tokio::time::timeout(bound, async { while tasks.join_next().await.is_some() {} }).await;
    Ok(())
}

fn is_fd_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE))
}
