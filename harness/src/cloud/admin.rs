//! Admin endpoints of the emulator under the reserved path prefix `/_tcharness/`, on the HTTP listener
//! and for any `Host` (as LocalStack's `/_localstack/` and moto's `/moto-api/`): no Tencent API uses
//! the prefix, so a client can never reach them by accident.
//!
//! - `GET /_tcharness/health`: `{"status":"ok", ...}` (the compose healthcheck).
//! - `POST /_tcharness/reset`: the console back to the tenant `serve` started with, the journal, COS
//!   objects (on disk too), IM accounts and LVB recordings forgotten.
//! - `GET /_tcharness/journal?service=cos&since=SEQ`: kept journal entries as a JSON array, optionally
//!   of one service and from sequence number `SEQ` on (poll with the last `seq` seen + 1).
//! - `GET /_tcharness/console`: the console as JSON; `PUT` the same shape to change it at run time
//!   (e.g. a bucket's `"cdn": false`); takes effect on the next request, no restart.
//!
//! Errors are `{"error": "..."}` with a 4xx status; admin requests are not journaled (the journal is
//! what they inspect).

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Service, Services, Tenant};

/// The reserved path prefix.
pub const PREFIX: &str = "/_tcharness/";

/// Largest console document accepted.
const CONSOLE_LIMIT: usize = 1 << 20;

fn reply(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, json!({ "error": message.into() }))
}

/// The journal's service names, as they appear in its JSON.
const SERVICES: [Service; 7] = [
    Service::Cos,
    Service::LvbIngest,
    Service::LvbPlay,
    Service::LvbCallback,
    Service::LvbApi,
    Service::Im,
    Service::Gateway,
];

fn service_named(name: &str) -> Option<Service> {
    SERVICES.into_iter().find(|s| {
        serde_json::to_value(s)
            .ok()
            .as_ref()
            .and_then(Value::as_str)
            == Some(name)
    })
}

/// Answers one request whose path starts with [`PREFIX`].
pub async fn handle(services: &Services, req: Request) -> Response {
    let path = req.uri().path().strip_prefix(PREFIX).unwrap_or("");
    let method = req.method().clone();
    match (path.trim_end_matches('/'), method) {
        ("health", Method::GET | Method::HEAD) => {
            let (kept, bytes) = services.ctx.journal.kept();
            reply(
                StatusCode::OK,
                json!({
                    "status": "ok",
                    "journal": { "appended": services.ctx.journal.len(), "kept": kept, "bytes": bytes },
                }),
            )
        }
        ("reset", Method::POST) => {
            services.reset();
            tracing::info!(target: "tcharness::admin", "reset to the starting console");
            reply(StatusCode::OK, json!({ "reset": true }))
        }
        ("journal", Method::GET) => journal(services, req.uri().query().unwrap_or("")),
        ("console", Method::GET) => match serde_json::to_value(services.ctx.tenant()) {
            Ok(v) => reply(StatusCode::OK, v),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        ("console", Method::PUT) => {
            let body = match axum::body::to_bytes(req.into_body(), CONSOLE_LIMIT).await {
                Ok(b) => b,
                Err(_) => {
                    return error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the console document is limited to {CONSOLE_LIMIT} bytes"),
                    );
                }
            };
            let tenant: Tenant = match serde_json::from_slice(&body) {
                Ok(t) => t,
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("not a console: {e}")),
            };
            services.ctx.update_tenant(|t| *t = tenant.clone());
            tracing::info!(target: "tcharness::admin", "console changed");
            match serde_json::to_value(tenant) {
                Ok(v) => reply(StatusCode::OK, v),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        ("health" | "reset" | "journal" | "console", _) => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "unknown admin endpoint (health, reset, journal, console)",
        ),
    }
}

fn journal(services: &Services, query: &str) -> Response {
    let mut service = None;
    let mut since = 0usize;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "service" => match service_named(&v) {
                Some(s) => service = Some(s),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "unknown service '{v}' (cos, lvb_ingest, lvb_play, lvb_callback, lvb_api, im, gateway)"
                        ),
                    );
                }
            },
            "since" => match v.trim().parse::<usize>() {
                Ok(n) => since = n,
                Err(_) => {
                    return error(StatusCode::BAD_REQUEST, "since is a sequence number");
                }
            },
            _ => {}
        }
    }
    let entries: Vec<_> = services
        .ctx
        .journal
        .since(since)
        .into_iter()
        .filter(|e| service.is_none_or(|s| e.service == s))
        .collect();
    match serde_json::to_value(entries) {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
