//! The phone's network: name resolution that sends Tencent host names to the emulated cloud.
//!
//! The app never calls cloud code; it only resolves names differently, the way a phone on a network
//! whose DNS points Tencent's domains at the harness would. HTTP names resolve to the cloud's HTTP
//! listener, RTMP push names to its RTMP listener; everything else (including `kHttpServerAddr`)
//! resolves normally. The `Host` header and the RTMP `tcUrl` keep the real domain.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Where the emulated cloud listens, and the address the phone sends from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The cloud's HTTP listener (COS, LVB play/VOD, IM, TLS).
    pub cloud_http: SocketAddr,
    /// The cloud's RTMP ingest listener (`*.livepush*.myqcloud.com`).
    pub cloud_rtmp: SocketAddr,
    /// The phone's own address (e.g. 127.0.0.7 to look like another network); `None` = the OS picks.
    pub source_ip: Option<IpAddr>,
}

/// How the app's waiting for an answer passes.
#[derive(Clone, Debug, Default)]
pub enum WaitTime {
    /// Real time: a refused connection is retried and an unanswered request waits, until the app's
    /// HTTP timeout.
    #[default]
    Real,
    /// The scenario's time: within one step nothing else happens, so a refused connection, or a request
    /// taken by the scenario's host that never answers, ends as a timeout at once, as it would once the
    /// app's timeout had passed. A loaded machine then changes nothing but wall time.
    Scenario(Unanswered),
}

/// The scenario's host that never answers, and how it tells that it took a request.
#[derive(Clone, Debug, Default)]
pub struct Unanswered {
    /// Its address; `None` when the scenario has no such host.
    pub addr: Option<SocketAddr>,
    taken: Arc<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    count: std::sync::atomic::AtomicU64,
    notify: tokio::sync::Notify,
}

impl Unanswered {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr: Some(addr),
            taken: Arc::default(),
        }
    }

    /// Called by the host when a whole request head arrived that it will never answer.
    pub fn took_request(&self) {
        self.taken
            .count
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.taken.notify.notify_waiters();
    }

    /// Requests taken so far.
    pub fn taken(&self) -> u64 {
        self.taken.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resolves once more than `before` requests were taken.
    pub async fn taken_after(&self, before: u64) {
        loop {
            let notified = self.taken.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.taken() > before {
                return;
            }
            notified.await;
        }
    }

    /// Whether `url` points at this host.
    pub fn is_target(&self, url: &reqwest::Url) -> bool {
        let Some(addr) = self.addr else {
            return false;
        };
        let host_is = url.host_str().and_then(|h| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
        }) == Some(addr.ip());
        host_is && url.port_or_known_default() == Some(addr.port())
    }
}

/// Whether a host name is one of Tencent's, served by the emulated cloud over HTTP.
pub fn is_tencent_http_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.ends_with(".myqcloud.com")
        || host == "myqcloud.com"
        || host.ends_with(".qcloud.com")
        || host.ends_with(".tim.qq.com")
}

/// Whether a host name is an LVB push domain (`{bizid}.livepush.myqcloud.com`, `livepush2`).
pub fn is_tencent_push_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.split('.')
        .nth(1)
        .is_some_and(|label| label.starts_with("livepush"))
        && host.ends_with(".myqcloud.com")
}

/// reqwest resolver: Tencent names → the cloud's HTTP listener, others → the system resolver.
///
/// The answer carries the cloud's port; reqwest keeps it because Tencent URLs name no port.
#[derive(Clone, Debug)]
pub struct PhoneResolver {
    cloud_http: SocketAddr,
}

impl Resolve for PhoneResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let cloud = self.cloud_http;
        Box::pin(async move {
            if is_tencent_http_host(&host) {
                let addrs: Addrs = Box::new(std::iter::once(cloud));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The app's HTTP client. No proxy from the environment: the phone talks to the hosts directly.
pub fn http_client(network: &Network, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .dns_resolver(Arc::new(PhoneResolver {
            cloud_http: network.cloud_http,
        }))
        .no_proxy()
        .timeout(timeout)
        // A phone's HTTP stack retries a request whose pooled connection turns out closed, so the user
        // sees the state of the server now, not a stale socket: a fresh connection per request is the
        // same and cannot race the server's FIN.
        .pool_max_idle_per_host(0)
        .user_agent("MiniLVB/1.0 (simulated app)");
    if let Some(ip) = network.source_ip {
        builder = builder.local_address(ip);
    }
    builder.build()
}

/// Resolves the host of a push URL the way the phone would: push domains → the cloud's RTMP listener.
pub async fn resolve_rtmp(network: &Network, host: &str, port: u16) -> std::io::Result<SocketAddr> {
    if is_tencent_push_host(host) {
        return Ok(network.cloud_rtmp);
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
}

/// Opens a TCP connection from the phone's source address.
pub async fn connect_tcp(
    network: &Network,
    addr: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(ip) = network.source_ip {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}
