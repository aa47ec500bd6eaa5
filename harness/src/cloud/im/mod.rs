//! Placeholder: replaced by the service's implementation.

pub mod console;

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::CloudContext;

pub struct Im {
    #[allow(dead_code)]
    ctx: CloudContext,
}

impl Im {
    pub fn new(ctx: CloudContext) -> Self {
        Self { ctx }
    }

    pub async fn handle(&self, _host: &str, _peer: SocketAddr, _req: Request) -> Response {
        (StatusCode::NOT_IMPLEMENTED, "not implemented yet\n").into_response()
    }
}
