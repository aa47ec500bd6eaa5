//! Downloads from a bucket's source domain (`{bucket}-{appid}.cos{region}.myqcloud.com`) and CDN
//! acceleration domain (`{bucket}-{appid}.file.myqcloud.com`).
//!
//! Public-read objects need no signature; private ones need a valid `?sign=` (or `Authorization`).
//!
//! FAQ 5 (acceleration left off, the v4 default): the upload returns the CDN `access_url`, and the CDN
//! domain does not serve the bucket. GAP: how real COS failed is not documented. Chosen: the CDN edge
//! answers **HTTP 404 Not Found** with its own HTML page (`Server: NWS_SP`), as an edge with no
//! configuration for a domain does; the journal says `HTTP 404 cdn acceleration off`. The same object
//! stays downloadable from `source_url`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::api::is_clean_path;
use super::auth::{self, Target};
use super::console::{Authority, Bucket, Generation};
use super::form::parse_query;
use super::store::EntryKind;
use super::{Cos, gateway_forbidden, hosts, plain};
use crate::cloud::host_without_port;

/// Serves `GET`/`HEAD` on a download domain; `region` is `None` for the CDN domain.
pub async fn handle(
    cos: &Cos,
    host: &str,
    bucket_name: &str,
    appid: u64,
    region: Option<&str>,
    peer: SocketAddr,
    req: Request,
) -> Response {
    let line = format!(
        "{} {}{}",
        req.method(),
        host_without_port(host),
        req.uri().path()
    );
    let (response, outcome, detail) = serve(cos, bucket_name, appid, region, &req);
    cos.record(line, outcome, peer, detail);
    response
}

fn serve(
    cos: &Cos,
    bucket_name: &str,
    appid: u64,
    region: Option<&str>,
    req: &Request,
) -> (Response, String, Value) {
    let raw_path = req.uri().path();
    if region.is_some_and(|r| !hosts::is_region(r)) {
        return (
            gateway_forbidden(raw_path),
            "HTTP 403 gateway".into(),
            Value::Null,
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
            Value::Null,
        );
    }
    let bucket = cos.ctx.with_tenant(|t| {
        t.cos
            .buckets
            .iter()
            .find(|b| {
                b.name == bucket_name
                    && b.appid == appid
                    && b.generation == Generation::V4
                    && region.is_none_or(|r| b.region == r)
            })
            .cloned()
    });
    let Some(bucket) = bucket else {
        return page(StatusCode::NOT_FOUND, "no such bucket", Value::Null);
    };
    if region.is_none() && !bucket.cdn {
        return cdn_off(raw_path);
    }
    let Some(path) = percent_decode_str(raw_path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
        .filter(|p| is_clean_path(p) && !p.ends_with('/'))
    else {
        return page(StatusCode::BAD_REQUEST, "bad path", Value::Null);
    };
    let key = (appid, bucket.name.clone());
    let Some(entry) = cos.store.get(&key, &path) else {
        return page(StatusCode::NOT_FOUND, "no such object", Value::Null);
    };
    let EntryKind::File { content, sha, .. } = &entry.kind else {
        return page(StatusCode::NOT_FOUND, "no such object", Value::Null);
    };
    if entry.authority.unwrap_or(bucket.authority) == Authority::PrivateReadWrite
        && let Err(reason) = check_token(cos, &bucket, &path, req)
    {
        return page(StatusCode::FORBIDDEN, &reason, Value::Null);
    }
    let mut response = Response::new(if req.method() == Method::HEAD {
        Body::empty()
    } else {
        Body::from(content.clone())
    });
    let headers = response.headers_mut();
    let content_type = entry
        .custom_headers
        .get("Content-Type")
        .and_then(Value::as_str)
        .and_then(|v| HeaderValue::from_str(v).ok())
        .unwrap_or_else(|| HeaderValue::from_static(guess_type(&path)));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content.len()));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha}\"")) {
        headers.insert(header::ETAG, etag);
    }
    for (name, value) in &entry.custom_headers {
        if name == "Content-Type" {
            continue;
        }
        if let (Ok(name), Some(Ok(value))) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.insert(name, value);
        }
    }
    (
        response,
        "HTTP 200".into(),
        json!({ "bytes": content.len() }),
    )
}

/// Token anti-leech: the same checks as the API, for this object.
fn check_token(cos: &Cos, bucket: &Bucket, path: &str, req: &Request) -> Result<(), String> {
    let query = parse_query(req.uri().query().unwrap_or(""));
    let header_sign = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let raw = header_sign.or(query.get("sign").map(String::as_str));
    let target = Target {
        appid: bucket.appid,
        bucket: &bucket.name,
        path,
    };
    let parsed = auth::check(&cos.ctx, raw, target).map_err(|d| d.code.outcome())?;
    auth::check_single_use(&cos.store, &parsed, target, auth::SignKind::MultiUse)
        .map_err(|d| d.code.outcome())
}

fn page(status: StatusCode, what: &str, detail: Value) -> (Response, String, Value) {
    let response = plain(status, "text/plain", format!("{what}\n"));
    (response, format!("HTTP {} {what}", status.as_u16()), detail)
}

/// FAQ 5: the CDN domain of a bucket without acceleration (see the module comment).
fn cdn_off(path: &str) -> (Response, String, Value) {
    let body = format!(
        "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>\
         <p>The requested URL '{}' was not found on this server.</p></body></html>\n",
        super::html_escape(path)
    );
    let mut response = plain(StatusCode::NOT_FOUND, "text/html", body);
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("NWS_SP"));
    (
        response,
        "HTTP 404 cdn acceleration off".into(),
        Value::Null,
    )
}

fn guess_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "flv" => "video/x-flv",
        "json" => "application/json",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}
