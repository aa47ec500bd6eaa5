//! The HTTP server: `/interface.php` (any method, raw body), `/callback/Live_callback.php`, and `/` or
//! `/index.php` redirecting to `/interface.php` as the original's index does. Bodies over [`BODY_LIMIT`]
//! are answered like invalid JSON (4001 / `{"code":4001}`) instead of being read further.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tokio::net::TcpListener;

use crate::actions::{self, Outcome};
use crate::app::App;
use crate::callback::{self, CallbackOutcome};
use crate::envelope::{EC_SYSTEM_INVALID_JSON_FORMAT, Reply};
pub use crate::listener::HttpLimits;

/// Largest request body read (1 MiB); the original's clients send a few hundred bytes.
pub const BODY_LIMIT: usize = 1 << 20;

/// The router of a backend.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/interface.php", any(interface))
        .route("/callback/Live_callback.php", any(live_callback))
        .route("/", any(index))
        .route("/index.php", any(index))
        .with_state(app)
}

/// Serves on an already bound listener until `shutdown` completes, with the default [`HttpLimits`].
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, app, HttpLimits::default(), shutdown).await
}

/// [`serve`] with the listener's header timeout, idle deadline and connection cap given.
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Arc<App>,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::listener::serve_router(listener, router(app), limits, shutdown).await
}

fn text_html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    // PHP's default content type: the original never sets one.
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    r
}

fn server_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, Body::empty()).into_response()
}

async fn interface(State(app): State<Arc<App>>, req: Request) -> Response {
    let raw = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(raw) => raw,
        Err(e) => {
            // Too large, or cut off by the listener for its pace.
            let why = if is_too_slow(&e) {
                "request body too slow"
            } else {
                "request body too large"
            };
            let reply = Reply {
                code: EC_SYSTEM_INVALID_JSON_FORMAT,
                extra: Some(why.into()),
                data: None,
            };
            return text_html(StatusCode::OK, reply.to_body());
        }
    };
    let mut ctx = app.log.context();
    match actions::handle(&app, &raw, &mut ctx).await {
        Outcome::Reply(r) => text_html(StatusCode::OK, r.to_body()),
        Outcome::DbDown => server_error(),
    }
}

fn is_too_slow(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<crate::listener::BodyTooSlow>() {
            return true;
        }
        cause = c.source();
    }
    false
}

async fn live_callback(State(app): State<Arc<App>>, req: Request) -> Response {
    let Ok(raw) = axum::body::to_bytes(req.into_body(), BODY_LIMIT).await else {
        return text_html(
            StatusCode::OK,
            format!("{{\"code\":{}}}", callback::CODE_INVALID_JSON),
        );
    };
    match callback::handle(&app, &raw).await {
        CallbackOutcome::Code(c) => text_html(StatusCode::OK, format!("{{\"code\":{c}}}")),
        CallbackOutcome::DbDown => server_error(),
    }
}

async fn index() -> Response {
    let mut r = StatusCode::FOUND.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/interface.php"));
    r
}
