//! `tcharness serve`: the emulated cloud alone, for a real backend or device.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use tcharness::cloud::cos::{Cos, CosOptions};
use tcharness::cloud::http::HttpLimits;
use tcharness::cloud::{
    self, CloudContext, CloudOptions, Journal, JournalLimits, Services, Shutdown, Tenant,
};
use tcharness::scenario::deployment::{self, Placeholders};
use tcharness::scenario::model;

/// Arguments of `tcharness serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The account to emulate (default: the healthy tenant).
    #[arg(long)]
    pub tenant: Option<PathBuf>,
    /// HTTP listen address (every Tencent HTTP host name should resolve here); `:80` means
    /// 127.0.0.1:80.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub http: String,
    /// RTMP listen address (`*.livepush.myqcloud.com` and `*.livepush2.myqcloud.com` should resolve
    /// here); `:1935` means 127.0.0.1:1935.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub rtmp: String,
    /// Also serve HTTPS here (e.g. `:443`), with a CA made at start; its PEM path is in the banner.
    #[arg(long)]
    pub https: Option<String>,
    /// Where to write the CA certificate (PEM) of `--https` (default: a new file in the temp dir).
    #[arg(long)]
    pub https_ca: Option<PathBuf>,
    /// Also answer DNS over UDP here (e.g. `:5353`): Tencent names resolve to the listeners.
    #[arg(long)]
    pub dns: Option<String>,
    /// The IP clients should use for the listeners (hosts lines, DNS answers); default: the bound IP,
    /// 127.0.0.1 for 0.0.0.0.
    #[arg(long)]
    pub advertise: Option<std::net::IpAddr>,
    /// Seconds between callback attempts.
    #[arg(long, default_value_t = 3.0)]
    pub callback_retry_secs: f64,
    /// The backend's `host:port`, filled into `{backend}` of the console's callback URL.
    #[arg(long, default_value = "127.0.0.1:80")]
    pub backend: String,
    /// Keep COS objects in this directory across restarts (default: in memory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Journal entries kept (oldest dropped first).
    #[arg(long, default_value_t = 10_000)]
    pub journal_entries: usize,
    /// MiB the journal may hold (oldest dropped first).
    #[arg(long, default_value_t = 16)]
    pub journal_mib: usize,
    /// Seconds a client has to send a whole HTTP request head.
    #[arg(long, default_value_t = 10.0)]
    pub http_header_timeout: f64,
    /// Seconds an HTTP connection may stay open with no request and no traffic.
    #[arg(long, default_value_t = 60.0)]
    pub http_idle_timeout: f64,
    /// Open HTTP connections at most (also at most half the file descriptor limit).
    #[arg(long, default_value_t = 1024)]
    pub http_max_connections: usize,
    /// Seconds in which a request body being read must bring 1 KiB a second on average (or end).
    #[arg(long, default_value_t = 10.0)]
    pub http_body_timeout: f64,
}

/// Runs `tcharness serve`.
pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let limits = JournalLimits {
        max_entries: a.journal_entries,
        max_bytes: a.journal_mib.saturating_mul(1024 * 1024),
    };
    let http_limits = HttpLimits {
        header_read_timeout: secs(a.http_header_timeout),
        idle_timeout: secs(a.http_idle_timeout),
        max_connections: a.http_max_connections,
        body_read_timeout: secs(a.http_body_timeout),
        ..HttpLimits::default()
    };
    let reach = Reach {
        http: cloud::reach::listen_addr(&a.http),
        rtmp: cloud::reach::listen_addr(&a.rtmp),
        dns: a.dns.as_deref().map(cloud::reach::listen_addr),
        https: a.https.as_deref().map(cloud::reach::listen_addr),
        https_ca: a.https_ca,
        advertise: a.advertise,
    };
    serve(
        a.tenant.as_deref(),
        &reach,
        a.callback_retry_secs,
        &a.backend,
        a.data_dir,
        limits,
        http_limits,
    )
}

/// Request, callback and warning lines on stderr; `RUST_LOG` (env-filter syntax) overrides the default
/// `info`. stdout stays the one banner line for scripts.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Ctrl-C or SIGTERM (what `docker stop` and service managers send): both end serve cleanly.
async fn stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

/// Writes the CA certificate where asked, or to a new file in the temp dir (kept after exit: a
/// device may still be importing it).
fn write_ca(path: Option<&Path>, pem: &str) -> anyhow::Result<PathBuf> {
    match path {
        Some(p) => {
            std::fs::write(p, pem).with_context(|| format!("cannot write {}", p.display()))?;
            Ok(p.to_path_buf())
        }
        None => {
            let mut f = tempfile::Builder::new()
                .prefix("tcharness-ca-")
                .suffix(".pem")
                .tempfile()
                .context("cannot write the CA certificate")?;
            std::io::Write::write_all(&mut f, pem.as_bytes())?;
            let (_, p) = f.keep().context("cannot keep the CA certificate")?;
            Ok(p)
        }
    }
}

/// Seconds from the command line; negative, NaN or huge values are clamped instead of panicking.
fn secs(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(std::time::Duration::MAX)
}

/// Where serve listens and what it tells clients.
struct Reach {
    http: String,
    rtmp: String,
    dns: Option<String>,
    https: Option<String>,
    https_ca: Option<PathBuf>,
    advertise: Option<std::net::IpAddr>,
}

#[allow(clippy::too_many_arguments)]
fn serve(
    tenant: Option<&Path>,
    reach: &Reach,
    retry_secs: f64,
    backend: &str,
    data_dir: Option<PathBuf>,
    limits: JournalLimits,
    http_limits: HttpLimits,
) -> anyhow::Result<ExitCode> {
    let tenant = match tenant {
        Some(p) => Tenant::load(p)?,
        None => Tenant::healthy(),
    };
    let filled = Placeholders {
        backend: backend.to_string(),
        ..Placeholders::default()
    };
    let tenant = deployment::console(&tenant, &model::Mutations::default(), &filled)?;
    let options = CloudOptions {
        callback_retry_interval: secs(retry_secs),
        ..CloudOptions::default()
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let http = tokio::net::TcpListener::bind(&reach.http)
            .await
            .with_context(|| format!("cannot listen on {}", reach.http))?;
        let rtmp = tokio::net::TcpListener::bind(&reach.rtmp)
            .await
            .with_context(|| format!("cannot listen on {}", reach.rtmp))?;
        let (http_addr, rtmp_addr) = (http.local_addr()?, rtmp.local_addr()?);
        let targets = cloud::dns::Targets {
            http: cloud::reach::client_ip(http_addr, reach.advertise),
            rtmp: cloud::reach::client_ip(rtmp_addr, reach.advertise),
        };
        let dns = match &reach.dns {
            Some(addr) => Some(
                tokio::net::UdpSocket::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (DNS)"))?,
            ),
            None => None,
        };
        let dns_addr = match &dns {
            Some(s) => Some(s.local_addr()?),
            None => None,
        };
        let mut banner = serve_banner(&tenant, http_addr, rtmp_addr);
        let hosts = cloud::reach::hosts_lines(&tenant, targets.http, targets.rtmp);
        banner["hosts"] = serde_json::json!(hosts);
        banner["dns"] = serde_json::json!(dns_addr.map(|a| a.to_string()));
        let https = match &reach.https {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (HTTPS)"))?;
                let (http_names, _) = cloud::reach::tencent_names(&tenant);
                let ips = [targets.http, listener.local_addr()?.ip()];
                let tls = cloud::tls::make(&http_names, &ips)
                    .map_err(|e| anyhow::anyhow!("cannot make the HTTPS certificate: {e}"))?;
                let ca_path = write_ca(reach.https_ca.as_deref(), &tls.ca_pem)?;
                banner["https"] = serde_json::json!(listener.local_addr()?.to_string());
                banner["https_ca_pem"] = serde_json::json!(ca_path.display().to_string());
                Some((listener, tls.acceptor))
            }
            None => None,
        };
        let ctx = CloudContext::with_journal(tenant, options, Journal::bounded(limits));
        let cos_options = CosOptions {
            data_dir,
            ..CosOptions::default()
        };
        let cos = Cos::with_options(ctx.clone(), cos_options)
            .context("cannot open the COS data directory")?;
        let services = Services::with_cos(ctx, cos);
        let (trigger, shutdown) = Shutdown::new();
        println!("{banner}");
        for line in &hosts {
            tracing::info!(target: "tcharness::serve", "hosts file line: {line}");
        }
        if http_addr.port() != 80 || rtmp_addr.port() != 1935 {
            // A hosts file and DNS carry addresses, not ports: clients that take Tencent URLs as they
            // are connect to 80 and 1935.
            tracing::warn!(
                target: "tcharness::serve",
                "hosts lines and DNS answers need --http :80 --rtmp :1935 for clients using Tencent URLs unchanged"
            );
        }
        if let Some((listener, acceptor)) = https {
            tokio::spawn(cloud::serve_https(
                listener,
                services.clone(),
                shutdown.clone(),
                http_limits,
                acceptor,
            ));
        }
        if let Some(socket) = dns {
            tokio::spawn(cloud::dns::serve(socket, targets, shutdown.clone()));
        }
        let server = tokio::spawn(cloud::serve_with_limits(
            http,
            rtmp,
            services,
            shutdown,
            http_limits,
        ));
        stop_signal().await?;
        tracing::info!(target: "tcharness::serve", "shutting down");
        trigger.trigger();
        server.await??;
        Ok(ExitCode::SUCCESS)
    })
}

/// The first line `serve` prints: every endpoint and the tenant's ids and keys, as one JSON object.
fn serve_banner(
    t: &Tenant,
    http: std::net::SocketAddr,
    rtmp: std::net::SocketAddr,
) -> serde_json::Value {
    let bucket_hosts: Vec<serde_json::Value> = t
        .cos
        .buckets
        .iter()
        .map(|b| {
            serde_json::json!({
                "bucket": b.name, "appid": b.appid, "region": b.region, "generation": b.generation,
                "cdn": b.cdn,
                "api": format!("http://{}.file.myqcloud.com/files/v2/{}/{}/", b.region, b.appid, b.name),
                "source": format!("http://{}-{}.cos{}.myqcloud.com/", b.name, b.appid, b.region),
                "cdn_domain": format!("http://{}-{}.file.myqcloud.com/", b.name, b.appid),
            })
        })
        .collect();
    serde_json::json!({
        "http": http.to_string(),
        "rtmp": rtmp.to_string(),
        "resolve": {
            "*.myqcloud.com, *.qcloud.com, *.tim.qq.com (except push)": http.to_string(),
            "*.livepush.myqcloud.com:1935, *.livepush2.myqcloud.com:1935": rtmp.to_string(),
        },
        "common_access": format!("http://{http}/common_access"),
        "lvb": {
            "appid": t.lvb.appid, "bizid": t.lvb.bizid, "push_key": t.lvb.push_key, "api_key": t.lvb.api_key,
            "callback_url": t.lvb.callback_url,
            "push_domain": format!("{}.livepush.myqcloud.com", t.lvb.bizid),
            "play_domain": format!("{}.liveplay.myqcloud.com", t.lvb.bizid),
        },
        "cos": { "appid": t.cos.appid, "keys": t.cos.keys, "buckets": bucket_hosts },
        "im": {
            "apps": t.im.apps.iter().map(|a| serde_json::json!({
                "sdkappid": a.sdkappid, "account_type": a.account_type, "secret_key": a.secret_key,
            })).collect::<Vec<_>>(),
            "registration": "http://tls.qcloud.com/v1/strreg",
            "login": "http://openim.tim.qq.com/v1/login",
        },
    })
}
