//! The emulated Tencent Cloud: LVB (RTMP ingest, event callbacks, `common_access`), COS v4 and IM.
//!
//! Two listeners serve everything, as a phone or a backend would reach them after name resolution:
//! - one HTTP listener that routes by `Host` header (see [`route_host`]): COS API/source/CDN domains,
//!   LVB play and VOD domains, `common_access`, IM;
//! - one RTMP listener for pushes to `{bizid}.livepush.myqcloud.com`.
//!
//! All services share a [`CloudContext`]: the tenant (the console), the clock and the journal.

pub mod admin;
pub mod clock;
pub mod cos;
pub mod dns;
pub mod http;
pub mod im;
pub mod journal;
pub mod lvb;
pub mod reach;
pub mod settle;
pub mod tenant;
#[cfg(feature = "https")]
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use clock::Clock;
pub use journal::{Journal, JournalEntry, JournalLimits, Service};
pub use lvb::callback::CallbackTime;
pub use settle::Unsettled;
pub use tenant::Tenant;

/// Knobs that are not part of the customer's console but of how the platform behaves.
#[derive(Clone, Debug)]
pub struct CloudOptions {
    /// Pause between callback delivery attempts (2017 CN doc: 3 s; later docs: 60 s).
    pub callback_retry_interval: Duration,
    /// How long one callback attempt may take before it counts as failed (docs: 20 s).
    pub callback_timeout: Duration,
    /// Retries after the first failed attempt (docs: 3).
    pub callback_retries: u32,
    /// Whether retry intervals pass in real time or on the cloud clock (replays).
    pub callback_time: CallbackTime,
    /// Where the recordings' directory is made (default: the temp directory). A replay puts it in its
    /// run directory, so a killed run's recordings go with the rest of it.
    pub recordings_in: Option<std::path::PathBuf>,
}

impl Default for CloudOptions {
    fn default() -> Self {
        Self {
            callback_retry_interval: Duration::from_secs(3),
            callback_timeout: Duration::from_secs(20),
            callback_retries: 3,
            callback_time: CallbackTime::Real,
            recordings_in: None,
        }
    }
}

/// What every service of the cloud shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CloudContext {
    tenant: Arc<RwLock<Tenant>>,
    pub clock: Clock,
    pub journal: Journal,
    pub options: Arc<CloudOptions>,
}

impl CloudContext {
    pub fn new(tenant: Tenant, options: CloudOptions) -> Self {
        Self::with_journal(tenant, options, Journal::new())
    }

    /// A context writing to `journal` (`serve` passes a bounded one).
    pub fn with_journal(tenant: Tenant, options: CloudOptions, journal: Journal) -> Self {
        Self {
            tenant: Arc::new(RwLock::new(tenant)),
            clock: Clock::new(),
            journal,
            options: Arc::new(options),
        }
    }

    /// Reads the console under the lock; keep `f` short and free of awaits.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        let guard = self.tenant.read().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }

    /// Changes the console (a scenario's `mutate.cloud`, or `Live_Channel_SetStatus`).
    pub fn update_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        let mut guard = self.tenant.write().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// A copy of the console as it is now.
    pub fn tenant(&self) -> Tenant {
        self.with_tenant(Tenant::clone)
    }

    /// Journals one event at the cloud's current time.
    pub fn record(
        &self,
        service: Service,
        request: impl Into<String>,
        outcome: impl Into<String>,
        detail: serde_json::Value,
    ) -> u64 {
        self.journal
            .record(self.clock.now(), service, request, outcome, detail)
    }
}

/// A shutdown signal that many tasks can wait on.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// Triggers a [`Shutdown`]; dropping it triggers it too.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// Resolves once shutdown was triggered (or the trigger dropped).
    pub async fn wait(&mut self) {
        // An error means the trigger is gone, which also means shut down.
        let _ = self.0.wait_for(|down| *down).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

/// The services of the cloud, built once per cloud and shared by both listeners.
#[derive(Clone)]
pub struct Services {
    pub ctx: CloudContext,
    pub cos: Arc<cos::Cos>,
    pub lvb: Arc<lvb::Lvb>,
    pub im: Arc<im::Im>,
    /// The console the services started with, for `/_tcharness/reset`.
    initial: Arc<Tenant>,
}

impl Services {
    pub fn new(ctx: CloudContext) -> Self {
        Self::with_cos(ctx.clone(), cos::Cos::new(ctx))
    }

    /// The services with a COS built elsewhere (`serve --data-dir` persists objects).
    pub fn with_cos(ctx: CloudContext, cos: cos::Cos) -> Self {
        Self {
            cos: Arc::new(cos),
            lvb: Arc::new(lvb::Lvb::new(ctx.clone())),
            im: Arc::new(im::Im::new(ctx.clone())),
            initial: Arc::new(ctx.tenant()),
            ctx,
        }
    }

    /// Back to the state the services started in: the starting console, an empty journal, no COS
    /// objects, IM accounts or LVB recordings (`/_tcharness/reset`).
    pub fn reset(&self) {
        let initial = (*self.initial).clone();
        self.ctx.update_tenant(|t| *t = initial);
        self.cos.store().clear();
        self.im.reset();
        self.lvb.reset();
        self.ctx.journal.clear();
    }
}

/// Where an HTTP request goes, by the host name the client resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Cos,
    Lvb,
    Im,
    Unknown,
}

/// Routes a request by its `Host` (port stripped) and path.
///
/// Direct access by IP (a backend configured with `URL=http://127.0.0.1:PORT/common_access`) is routed by path.
pub fn route_host(host: &str, path: &str) -> Route {
    let host = host_without_port(host).to_ascii_lowercase();
    let host = host.trim_end_matches('.');
    if host.ends_with(".liveplay.myqcloud.com")
        || host.ends_with(".vod.myqcloud.com")
        || host.ends_with(".vod2.myqcloud.com")
        || host == "fcgi.video.qcloud.com"
        || host == "statcgi.video.qcloud.com"
    {
        Route::Lvb
    } else if host == "tls.qcloud.com" || host.ends_with(".tim.qq.com") {
        Route::Im
    } else if host.ends_with(".myqcloud.com") {
        Route::Cos
    } else if is_direct(host) && path.starts_with("/common_access") {
        Route::Lvb
    } else {
        Route::Unknown
    }
}

fn is_direct(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[')
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
pub fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map(|end| &host[..=end]).unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

async fn dispatch(
    State(services): State<Services>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("")
        .to_string();
    if req.uri().path().starts_with(admin::PREFIX) {
        return admin::handle(&services, req).await;
    }
    match route_host(&host, req.uri().path()) {
        Route::Cos => services.cos.handle(&host, peer, req).await,
        Route::Lvb => services.lvb.handle_http(&host, peer, req).await,
        Route::Im => services.im.handle(&host, peer, req).await,
        Route::Unknown => {
            let line = format!("{} {}{}", req.method(), host, req.uri().path());
            services.ctx.record(
                Service::Gateway,
                line,
                "404 unknown host",
                serde_json::Value::Null,
            );
            (StatusCode::NOT_FOUND, format!("unknown host '{host}'\n")).into_response()
        }
    }
}

/// A running cloud on loopback. Dropping it shuts every listener down.
pub struct Cloud {
    pub ctx: CloudContext,
    /// The running services, for what a test or scenario asks of them directly (e.g. waiting for callbacks).
    pub services: Services,
    http_addr: SocketAddr,
    rtmp_addr: SocketAddr,
    _trigger: ShutdownTrigger,
}

impl Cloud {
    /// Binds both listeners on 127.0.0.1 with free ports and serves in the background.
    pub async fn start(tenant: Tenant, options: CloudOptions) -> std::io::Result<Cloud> {
        let http = TcpListener::bind("127.0.0.1:0").await?;
        let rtmp = TcpListener::bind("127.0.0.1:0").await?;
        let ctx = CloudContext::new(tenant, options);
        let services = Services::new(ctx.clone());
        let (trigger, shutdown) = Shutdown::new();
        let http_addr = http.local_addr()?;
        let rtmp_addr = rtmp.local_addr()?;
        tokio::spawn(serve(http, rtmp, services.clone(), shutdown));
        Ok(Cloud {
            ctx,
            services,
            http_addr,
            rtmp_addr,
            _trigger: trigger,
        })
    }

    /// Where every Tencent HTTP host name resolves to.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where `*.livepush.myqcloud.com:1935` resolves to.
    pub fn rtmp_addr(&self) -> SocketAddr {
        self.rtmp_addr
    }
}

/// Serves the cloud on already bound listeners until `shutdown` fires (tests bind port 0 themselves).
pub async fn serve(
    http: TcpListener,
    rtmp: TcpListener,
    services: Services,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    serve_with_limits(http, rtmp, services, shutdown, http::HttpLimits::default()).await
}

/// [`serve`] with the HTTP listener's timeouts and connection cap given.
pub async fn serve_with_limits(
    http: TcpListener,
    rtmp: TcpListener,
    services: Services,
    shutdown: Shutdown,
    limits: http::HttpLimits,
) -> std::io::Result<()> {
    let rtmp_task = tokio::spawn(services.lvb.clone().serve_rtmp(rtmp, shutdown.clone()));
    let mut http_shutdown = shutdown;
    http::serve_router(http, router(services), limits, async move {
        http_shutdown.wait().await
    })
    .await?;
    let _ = rtmp_task.await;
    Ok(())
}

/// The HTTPS listener (`serve --https`): the same services as the HTTP one, over TLS.
pub async fn serve_https(
    https: TcpListener,
    services: Services,
    mut shutdown: Shutdown,
    limits: http::HttpLimits,
    tls: http::Acceptor,
) -> std::io::Result<()> {
    http::serve_router_tls(https, router(services), limits, Some(tls), async move {
        shutdown.wait().await
    })
    .await
}

fn router(services: Services) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(services)
}

/// Runs `f` until `shutdown` fires; a helper for accept loops.
pub async fn until_shutdown<F: Future>(mut shutdown: Shutdown, f: F) -> Option<F::Output> {
    tokio::select! {
        out = f => Some(out),
        _ = shutdown.wait() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_route_to_their_service() {
        assert_eq!(
            route_host("sh.file.myqcloud.com", "/files/v2/1/b/x"),
            Route::Cos
        );
        assert_eq!(
            route_host("minilvb-1252000001.cossh.myqcloud.com:80", "/a.jpg"),
            Route::Cos
        );
        assert_eq!(
            route_host("8888.liveplay.myqcloud.com", "/live/8888_a.flv"),
            Route::Lvb
        );
        assert_eq!(
            route_host("fcgi.video.qcloud.com", "/common_access"),
            Route::Lvb
        );
        assert_eq!(route_host("127.0.0.1:4321", "/common_access"), Route::Lvb);
        assert_eq!(route_host("tls.qcloud.com", "/"), Route::Im);
        assert_eq!(route_host("example.com", "/"), Route::Unknown);
        assert_eq!(
            route_host("127.0.0.1:4321", "/files/v2/1/b/x"),
            Route::Unknown
        );
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(host_without_port("a.b:80"), "a.b");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(host_without_port("a.b"), "a.b");
    }
}
