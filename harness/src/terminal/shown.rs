//! What the app shows the user (toasts, alerts, logcat lines), in the real apps' words.
//!
//! Every text here is pinned by a test, because the FAQ and customers' tickets quote them.

use serde::Serialize;

/// One message shown to the user. Most texts are the same on both platforms; where the FAQ quotes
/// different texts (HTTP errors), both are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shown {
    pub android: String,
    pub ios: String,
}

impl Shown {
    pub fn same(text: impl Into<String>) -> Shown {
        let text = text.into();
        Shown {
            android: text.clone(),
            ios: text,
        }
    }
}

/// SDK event of a push that the server closed (`PUSH_WARNING_SERVER_DISCONNECT`).
pub const PUSH_SERVER_DISCONNECT: i32 = 3004;
/// SDK event of a push that could not connect (`PUSH_WARNING_SERVER_CONN_FAIL`).
pub const PUSH_CONNECT_FAIL: i32 = 3002;
/// SDK event of a push whose RTMP handshake failed (`PUSH_WARNING_HANDSHAKE_FAIL`).
pub const PUSH_HANDSHAKE_FAIL: i32 = 3003;
/// SDK event of a push whose host name did not resolve (`PUSH_WARNING_DNS_FAIL`).
pub const PUSH_DNS_FAIL: i32 = 3001;
/// SDK event of a push that started (`PUSH_EVT_PUSH_BEGIN`).
pub const PUSH_BEGIN: i32 = 1002;

/// The text the push SDK logs for one of its events.
pub fn push_event_text(code: i32) -> &'static str {
    match code {
        PUSH_BEGIN => "Push begins",
        PUSH_DNS_FAIL => "RTMP DNS resolution failed",
        PUSH_CONNECT_FAIL => "RTMP server connection failed",
        PUSH_HANDSHAKE_FAIL => "RTMP server handshake failed",
        PUSH_SERVER_DISCONNECT => "RTMP server actively disconnects",
        _ => "push error",
    }
}

/// A backend reply with an HTTP error status: Android's logcat line and iOS's alert.
///
/// iOS shows `NSHTTPURLResponse localizedStringForStatusCode:`, hence the lower-case phrases.
pub fn http_status(status: u16) -> Shown {
    let ios = match status {
        400 => "bad request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not found",
        405 => "method not allowed",
        408 => "request timed out",
        500 => "internal server error",
        501 => "unimplemented",
        502 => "bad gateway",
        503 => "service unavailable",
        504 => "gateway timed out",
        _ => "server error",
    };
    Shown {
        android: format!("HTTP Req error, error code:{status}"),
        ios: ios.to_string(),
    }
}

/// The backend did not answer within the app's timeout (FAQ 2.4: "the request times out").
///
/// GAP: the FAQ's screenshot is not available; Android's text is the FAQ's own words and iOS's is
/// `NSURLErrorTimedOut`'s description.
pub fn request_timeout() -> Shown {
    Shown {
        android: "request times out".to_string(),
        ios: "The request timed out.".to_string(),
    }
}

/// The backend answered something that is not its JSON envelope.
pub fn invalid_reply() -> Shown {
    Shown::same("invalid response from server")
}

/// The backend answered its envelope with a non-zero `returnValue`.
pub fn backend_error(return_value: i64, return_msg: &str) -> Shown {
    Shown::same(format!(
        "request failed, error code:{return_value}, {return_msg}"
    ))
}

/// A COS v4 error: the name and code of the COS reply, as the COS SDK logs them.
pub fn cos_error(code: i64, message: &str) -> Shown {
    Shown::same(format!("upload failed, code:{code}, message:{message}"))
}

/// A COS reply that was not COS JSON (the gateway's HTML page of an unknown region, for example).
pub fn cos_http_error(status: u16) -> Shown {
    Shown::same(format!("upload failed, HTTP {status}"))
}

/// A picture (avatar, cover) that could not be downloaded from its URL.
pub fn download_failed(what: &str, detail: &str) -> Shown {
    Shown::same(format!("{what} download failed: {detail}"))
}

/// IM / TLS login or registration failed.
pub fn login_failed(code: i64, message: &str) -> Shown {
    if message.is_empty() {
        Shown::same(format!("Login failed, error code:{code}"))
    } else {
        Shown::same(format!("Login failed, error code:{code}, {message}"))
    }
}

/// FAQ 7: registration refused because the network registered too often.
pub const SECURITY_REFUSAL: &str =
    "Login failed. Registration operation is rejected for security reason.";

/// Whether a TLS refusal is the anti-abuse one of FAQ 7: the server's text ("注册操作被安全打击",
/// which is not in the SDK, so the server sends it), or 10 `ACCOUNT_REGISTER_TOOMANY`.
/// GAP: the real ErrCode is unknown; 3 `ACCOUNT_FREQ_LIMIT` ("too frequent") keeps its own text.
pub fn is_security_refusal(code: i64, message: &str) -> bool {
    code == 10
        || message.contains("安全打击")
        || message.to_ascii_lowercase().contains("security reason")
}

/// The replay list (FetchList flag 2) came back empty.
pub const NO_REPLAYS: &str = "No replay yet";
/// The live list (FetchList flag 1) came back empty.
pub const NO_LIVES: &str = "No one is live now";
/// Any other list came back empty.
pub const EMPTY_LIST: &str = "The list is empty";
