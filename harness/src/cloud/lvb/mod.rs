//! Placeholder: replaced by the service's implementation.

pub mod console;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use super::{CloudContext, Shutdown};

pub struct Lvb {
    #[allow(dead_code)]
    ctx: CloudContext,
}

impl Lvb {
    pub fn new(ctx: CloudContext) -> Self {
        Self { ctx }
    }

    pub async fn handle_http(&self, _host: &str, _peer: SocketAddr, _req: Request) -> Response {
        (StatusCode::NOT_IMPLEMENTED, "not implemented yet\n").into_response()
    }

    pub async fn serve_rtmp(self: Arc<Self>, _listener: TcpListener, mut shutdown: Shutdown) {
        shutdown.wait().await;
    }
}
