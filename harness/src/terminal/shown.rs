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
    /// The English of a Chinese text, when the FAQ quotes it in English (so both stay searchable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub english: Option<String>,
}

impl Shown {
    pub fn same(text: impl Into<String>) -> Shown {
        let text = text.into();
        Shown {
            android: text.clone(),
            ios: text,
            english: None,
        }
    }

    /// The same text on both platforms, with its English.
    pub fn same_with_english(text: impl Into<String>, english: impl Into<String>) -> Shown {
        Shown {
            english: Some(english.into()),
            ..Shown::same(text)
        }
    }
}

/// SDK event of a push that the server closed (`PUSH_WARNING_SERVER_DISCONNECT`).
pub const PUSH_SERVER_DISCONNECT: i32 = 3004;
/// SDK event of a push that could not connect (`PUSH_WARNING_SERVER_CONN_FAIL`).
pub const PUSH_CONNECT_FAIL: i32 = 3002;
/// SDK event of a push whose RTMP handshake failed (`PUSH_WARNING_SHAKE_FAIL`).
pub const PUSH_HANDSHAKE_FAIL: i32 = 3003;
/// SDK event of a push whose host name did not resolve (`PUSH_WARNING_DNS_FAIL`).
pub const PUSH_DNS_FAIL: i32 = 3001;
/// SDK event: connected to the push server (`PUSH_EVT_CONNECT_SUCC`), raised before 1002 (§8.1).
pub const PUSH_CONNECT_SUCC: i32 = 1001;
/// SDK event of a push that started (`PUSH_EVT_PUSH_BEGIN`).
pub const PUSH_BEGIN: i32 = 1002;
/// SDK event: the SDK starts one of its reconnects (`PUSH_WARNING_RECONNECT`, §8.1).
pub const PUSH_RECONNECT: i32 = 1102;
/// SDK error after the last reconnect failed (`PUSH_ERR_NET_DISCONNECT`, §8.1).
pub const PUSH_NET_DISCONNECT: i32 = -1307;
/// How many reconnects the push SDK tries after a network warning before it gives up (§8.1).
pub const PUSH_RECONNECTS: u32 = 3;

/// One push SDK event as the SDK names and describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushEventInfo {
    /// The SDK's constant name (`PUSH_WARNING_SERVER_DISCONNECT`).
    pub name: &'static str,
    /// The SDK's own description, the text a customer's log shows.
    pub text: &'static str,
    /// Its English, the words of the FAQ and the international docs.
    pub english: &'static str,
}

/// Name, SDK text and English of a push SDK event (§8.1 for 1001, 1102, 3004, -1307).
pub fn push_event_info(code: i32) -> PushEventInfo {
    let (name, text, english) = match code {
        PUSH_CONNECT_SUCC => (
            "PUSH_EVT_CONNECT_SUCC",
            "已经连接推流服务器",
            "Connected to the push server",
        ),
        PUSH_BEGIN => (
            "PUSH_EVT_PUSH_BEGIN",
            "已经与服务器握手完毕,开始推流",
            "Push begins",
        ),
        PUSH_RECONNECT => (
            "PUSH_WARNING_RECONNECT",
            "启动网络重连",
            "Network reconnection started",
        ),
        PUSH_NET_DISCONNECT => (
            "PUSH_ERR_NET_DISCONNECT",
            "网络断连,且经多次重连抢救无效,可以放弃治疗,更多重试请自行重启推流",
            "Network disconnected and several reconnects failed; restart the push to retry",
        ),
        PUSH_DNS_FAIL => (
            "PUSH_WARNING_DNS_FAIL",
            "RTMP -DNS解析失败",
            "RTMP DNS resolution failed",
        ),
        PUSH_CONNECT_FAIL => (
            "PUSH_WARNING_SERVER_CONN_FAIL",
            "RTMP服务器连接失败",
            "RTMP server connection failed",
        ),
        PUSH_HANDSHAKE_FAIL => (
            "PUSH_WARNING_SHAKE_FAIL",
            "RTMP服务器握手失败",
            "RTMP server handshake failed",
        ),
        PUSH_SERVER_DISCONNECT => (
            "PUSH_WARNING_SERVER_DISCONNECT",
            "RTMP服务器主动断开，请检查推流地址的合法性或防盗链有效期",
            "RTMP server actively disconnects",
        ),
        _ => ("PUSH_ERR_UNKNOWN", "推流错误", "push error"),
    };
    PushEventInfo {
        name,
        text,
        english,
    }
}

/// The English text of a push SDK event (the FAQ's words).
pub fn push_event_text(code: i32) -> &'static str {
    push_event_info(code).english
}

/// The V1 app's dialog when the push SDK gives up (-1307): Android's
/// `TCConstants.ERROR_MSG_NET_DISCONNECTED` (§8.1); the app then stops the push and goes offline.
pub const NET_DISCONNECTED_DIALOG: &str = "网络异常，请检查网络";

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
        english: None,
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
        english: None,
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

/// FAQ 7 as the China FAQ shows it: the TLS reply's Title and Msg together (§8.2).
pub const SECURITY_REFUSAL_SHOWN: &str = "登录失败注册操作被安全打击";

/// FAQ 7 in English (the international FAQ's words): registration refused because the network
/// registered too often.
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
