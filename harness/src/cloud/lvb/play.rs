//! The HTTP side of LVB: the HTTP-FLV relay of live streams, recording downloads, and `common_access`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::broadcast;

use super::recording::{Served, flv_header, hls_playlist};
use super::{Lvb, api};
use crate::cloud::{Service, host_without_port};

pub async fn handle(lvb: &Lvb, host: &str, peer: SocketAddr, req: Request) -> Response {
    let name = host_without_port(host).to_ascii_lowercase();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if path.starts_with("/common_access") {
        let reply = api::serve(lvb, &name, &query);
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            reply.to_string(),
        )
            .into_response();
    }
    let line = format!("{} {name}{path}", req.method());
    if name.ends_with(".liveplay.myqcloud.com") {
        return live(lvb, &name, &path, line, peer);
    }
    if name.ends_with(".vod2.myqcloud.com") || name.ends_with(".vod.myqcloud.com") {
        return recording(lvb, &name, &path, line).await;
    }
    not_found(lvb, line, "404 not found")
}

fn not_found(lvb: &Lvb, line: String, outcome: &str) -> Response {
    lvb.ctx
        .record(Service::LvbPlay, line, outcome, serde_json::Value::Null);
    (StatusCode::NOT_FOUND, "404 Not Found\n").into_response()
}

/// `http://{bizid}.liveplay.myqcloud.com/live/{stream}.flv` while the stream is pushed.
fn live(lvb: &Lvb, host: &str, path: &str, line: String, peer: SocketAddr) -> Response {
    let bizid = lvb.ctx.with_tenant(|t| t.lvb.bizid);
    if host != format!("{bizid}.liveplay.myqcloud.com") {
        return not_found(lvb, line, "404 unknown play domain");
    }
    let Some(stream_id) = path
        .strip_prefix("/live/")
        .and_then(|rest| rest.strip_suffix(".flv"))
    else {
        // GAP: live HLS (.m3u8) is not emulated; only HTTP-FLV is relayed.
        return not_found(lvb, line, "404 not found");
    };
    let Some(stream) = lvb.streams.get(stream_id) else {
        return not_found(lvb, line, "404 stream not live");
    };
    lvb.ctx.record(
        Service::LvbPlay,
        line,
        "200 relaying",
        json!({ "peer": peer.to_string() }),
    );
    let mut first: Vec<Bytes> = vec![Bytes::copy_from_slice(&flv_header())];
    first.extend(stream.start_tags());
    let rx = stream.relay.subscribe();
    // The player ends when the push ends (the sender is dropped with the stream).
    drop(stream);
    let live = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(tag) => return Some((tag, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let body = futures::stream::iter(first)
        .chain(live)
        .map(Ok::<Bytes, std::convert::Infallible>);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "video/x-flv")],
        Body::from_stream(body),
    )
        .into_response()
}

/// A recording at its `video_url`.
async fn recording(lvb: &Lvb, host: &str, path: &str, line: String) -> Response {
    let Some((rec, served)) = lvb.recordings.find(host, path) else {
        return not_found(lvb, line, "404 no such recording");
    };
    match served {
        Served::Playlist => {
            lvb.ctx.record(
                Service::LvbPlay,
                line,
                "200 OK",
                json!({ "video_id": rec.video_id }),
            );
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
                hls_playlist(rec.duration()),
            )
                .into_response()
        }
        Served::Flv => match tokio::fs::read(&rec.path).await {
            Ok(bytes) => {
                lvb.ctx.record(
                    Service::LvbPlay,
                    line,
                    "200 OK",
                    json!({ "video_id": rec.video_id, "bytes": bytes.len() }),
                );
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "video/x-flv")],
                    bytes,
                )
                    .into_response()
            }
            Err(e) => {
                lvb.ctx.record(
                    Service::LvbPlay,
                    line,
                    "500 recording unreadable",
                    json!({ "error": e.to_string() }),
                );
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error\n",
                )
                    .into_response()
            }
        },
    }
}
