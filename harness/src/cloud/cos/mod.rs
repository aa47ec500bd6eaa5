//! The emulated COS v4 (the 2016–2018 JSON API), with regions, buckets and its exact signature errors.
//!
//! Hosts (see [`hosts`]): the JSON API `{region}.file.myqcloud.com/files/v2/{appid}/{bucket}{path}`
//! ([`api`]), and the download domains, source `{bucket}-{appid}.cos{region}.myqcloud.com` and CDN
//! `{bucket}-{appid}.file.myqcloud.com` ([`download`]). Signatures are checked by [`auth`] in the order
//! the proxy blamed faults; objects live in [`store`]. Every request is journaled as one short line with
//! its outcome in Tencent's words (`-133 ERROR_CMD_BUCKET_NOTEXIST`, `0 SUCCESS`, `HTTP 403 gateway`).

pub mod api;
pub mod auth;
pub mod codes;
pub mod console;
pub mod disk;
pub mod download;
pub mod form;
pub mod hosts;
pub mod sign;
pub mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;

use super::{CloudContext, Service};
use codes::CosCode;
use hosts::CosHost;
use store::Store;

/// How the emulated COS limits what clients send.
#[derive(Clone, Debug)]
pub struct CosOptions {
    /// Largest request body accepted; larger ones get `ERROR_CGI_REQUEST_TOO_LARGE`. SDKs send at most
    /// 20 MB in one upload and slice above that, so the default leaves room for multipart overhead.
    pub max_body_bytes: u64,
    /// Largest file a slice upload may announce.
    pub max_file_bytes: u64,
    /// Where objects persist across runs (`serve --data-dir`); `None` keeps them in memory only.
    pub data_dir: Option<std::path::PathBuf>,
    /// How long a signed body waits for room in the budget of buffered bodies (see [`MAX_BODY_READS`])
    /// before it is refused with `ERROR_CMD_COS_ERROR`; bounded so that bodies waiting on each other's
    /// bytes cannot wait forever.
    pub body_budget_wait: std::time::Duration,
}

impl Default for CosOptions {
    fn default() -> Self {
        Self {
            max_body_bytes: 32 * 1024 * 1024,
            max_file_bytes: 1024 * 1024 * 1024,
            data_dir: None,
            body_budget_wait: std::time::Duration::from_secs(10),
        }
    }
}

/// Signed request bodies of the largest size (`max_body_bytes`) that may be buffered at the same time:
/// the bytes of signed bodies being read share a budget of this many times `max_body_bytes`, taken as
/// the bytes arrive. A budget of bytes rather than of turns: a slow upload holds only what it sent, so
/// a few trickling uploads (any app user gets a multi-use signature from the backend) cannot keep every
/// other upload waiting.
pub const MAX_BODY_READS: usize = 4;

fn body_budget(options: &CosOptions) -> usize {
    usize::try_from(options.max_body_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(MAX_BODY_READS)
        .min(tokio::sync::Semaphore::MAX_PERMITS)
}

/// The COS service of the emulated cloud.
pub struct Cos {
    ctx: CloudContext,
    store: Store,
    options: CosOptions,
    requests: AtomicU64,
    body_budget: std::sync::Arc<tokio::sync::Semaphore>,
    budget_total: usize,
}

impl Cos {
    /// An in-memory COS with the default limits.
    pub fn new(ctx: CloudContext) -> Self {
        let options = CosOptions::default();
        let budget_total = body_budget(&options);
        Self {
            ctx,
            store: Store::new(),
            options,
            requests: AtomicU64::new(0),
            body_budget: std::sync::Arc::new(tokio::sync::Semaphore::new(budget_total)),
            budget_total,
        }
    }

    /// A COS with explicit limits; with `data_dir` set, objects are loaded from and written to it.
    pub fn with_options(ctx: CloudContext, options: CosOptions) -> std::io::Result<Self> {
        let store = match &options.data_dir {
            Some(dir) => Store::open(dir)?,
            None => Store::new(),
        };
        let budget_total = body_budget(&options);
        Ok(Self {
            ctx,
            store,
            options,
            requests: AtomicU64::new(0),
            body_budget: std::sync::Arc::new(tokio::sync::Semaphore::new(budget_total)),
            budget_total,
        })
    }

    /// Bytes of signed request bodies buffered now (taken from the budget and not yet given back).
    pub fn buffered_body_bytes(&self) -> usize {
        self.budget_total
            .saturating_sub(self.body_budget.available_permits())
    }

    /// The objects, for tests and scenario checks that look behind the API.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn options(&self) -> &CosOptions {
        &self.options
    }

    /// Serves one HTTP request for any COS host.
    pub async fn handle(&self, host: &str, peer: SocketAddr, req: Request) -> Response {
        match hosts::classify(host) {
            CosHost::Api { region } => api::handle(self, host, &region, peer, req).await,
            CosHost::Source {
                bucket,
                appid,
                region,
            } => download::handle(self, host, &bucket, appid, Some(&region), peer, req).await,
            CosHost::Cdn { bucket, appid } => {
                download::handle(self, host, &bucket, appid, None, peer, req).await
            }
            CosHost::Unknown => {
                let line = format!(
                    "{} {}{}",
                    req.method(),
                    super::host_without_port(host),
                    req.uri().path()
                );
                self.record(line, "HTTP 404 unknown host", peer, serde_json::Value::Null);
                plain(StatusCode::NOT_FOUND, "text/plain", "unknown host\n".into())
            }
        }
    }

    fn record(
        &self,
        request: String,
        outcome: impl Into<String>,
        peer: SocketAddr,
        extra: serde_json::Value,
    ) {
        let mut detail = serde_json::json!({ "peer": peer.to_string() });
        if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
            d.extend(extra);
        }
        self.ctx.record(Service::Cos, request, outcome, detail);
    }

    /// A `request_id` in the style of the real ones: base64 of hex fields, unpadded
    /// (`592fc671_8ea068_832e_855b7`, §8.4); unique per request.
    fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let raw = format!(
            "{:x}_{:x}_{:x}_{:x}",
            self.ctx.clock.now(),
            std::process::id(),
            n >> 24,
            n & 0xff_ffff
        );
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// The JSON envelope `{code, message, request_id[, data]}`.
    fn envelope(&self, code: CosCode, data: Option<serde_json::Value>) -> (Response, String) {
        let request_id = self.request_id();
        let mut body = serde_json::json!({
            "code": code.code,
            "message": code.message,
            "request_id": request_id,
        });
        if let (Some(map), Some(data)) = (body.as_object_mut(), data) {
            map.insert("data".into(), data);
        }
        let response = plain(code.status(), "application/json", body.to_string());
        (response, request_id)
    }
}

/// What the COS HTTP gateway answers for a host or path it does not serve: §8.4, the body is only the
/// sentence (text/html, `Server: NWS_SP`, no HTML wrapper).
fn gateway_forbidden(path: &str) -> Response {
    let body = format!(
        "You do not have permission to get URL '{}' from this server.",
        html_escape(path)
    );
    let mut response = plain(StatusCode::FORBIDDEN, "text/html", body);
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("NWS_SP"));
    response
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
