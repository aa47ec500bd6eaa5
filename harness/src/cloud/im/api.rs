//! The wire shapes of the IM HTTP API: request parsing and the two reply envelopes.
//!
//! TLS (`tls.qcloud.com`) replies carry `TLSErrInfo` (`ErrCode`, `Title`, `Msg`, `ExtraMsg`); IM
//! (`*.tim.qq.com`) replies the REST envelope (`ActionStatus`, `ErrorCode`, `ErrorInfo`). Every reply is
//! HTTP 200 with a JSON body, errors included.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// TLS account-class codes (names verbatim from the TLS SDK).
pub mod tls_code {
    pub const ACCOUNT_OK: i64 = 0;
    pub const ACCOUNT_REGISTERED: i64 = 2;
    pub const ACCOUNT_FREQ_LIMIT: i64 = 3;
    pub const ACCOUNT_JUST_FAILED: i64 = 5;
    pub const ACCOUNT_REGISTER_TOOMANY: i64 = 10;
    pub const ACCOUNT_INVALID_APPID: i64 = 11;
    pub const ACCOUNT_INVALID_OPERATION: i64 = 13;
    /// Login class: wrong password.
    pub const LOGIN_WRONG_PASSWORD: i64 = 1;
    /// Login class: no such account (0xe5).
    pub const LOGIN_NO_ACCOUNT: i64 = 229;
}

/// The TLS SDK's built-in title of a failed operation.
pub const TITLE_LOGIN_FAILED: &str = "登录失败";
/// Title of a failed registration other than the security strike. GAP: our choice.
pub const TITLE_REGISTER_FAILED: &str = "注册失败";
/// The server's words for the anti-abuse refusal (FAQ item 7).
pub const MSG_SECURITY_STRIKE: &str = "注册操作被安全打击";
/// The FAQ's English text of the same refusal.
pub const EXTRA_SECURITY_STRIKE: &str =
    "Login failed. Registration operation is rejected for security reason.";

/// A TLS failure: code, the journal's name for it, and the texts the client shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsError {
    pub code: i64,
    pub name: &'static str,
    pub title: &'static str,
    pub msg: String,
    pub extra: String,
}

impl TlsError {
    pub fn new(
        code: i64,
        name: &'static str,
        title: &'static str,
        msg: impl Into<String>,
        extra: impl Into<String>,
    ) -> Self {
        Self {
            code,
            name,
            title,
            msg: msg.into(),
            extra: extra.into(),
        }
    }

    /// A request the service cannot read (bad JSON, missing or mistyped fields).
    /// GAP: no published code; 13 `ACCOUNT_INVALID_OPERATION` is the nearest account-class one.
    pub fn invalid(what: impl Into<String>) -> Self {
        let what = what.into();
        Self::new(
            tls_code::ACCOUNT_INVALID_OPERATION,
            "ACCOUNT_INVALID_OPERATION",
            TITLE_LOGIN_FAILED,
            "参数错误",
            what,
        )
    }

    /// The journal's outcome: `10 ACCOUNT_REGISTER_TOOMANY 注册操作被安全打击`.
    pub fn outcome(&self) -> String {
        format!("{} {} {}", self.code, self.name, self.msg)
    }
}

/// `TLSErrInfo` plus the success fields of the operation.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TlsReply {
    #[serde(rename = "ErrCode")]
    pub err_code: i64,
    #[serde(rename = "Title")]
    pub title: String,
    #[serde(rename = "Msg")]
    pub msg: String,
    #[serde(rename = "ExtraMsg")]
    pub extra_msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(rename = "userSig", skip_serializing_if = "Option::is_none")]
    pub user_sig: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire: Option<i64>,
}

impl From<&TlsError> for TlsReply {
    fn from(err: &TlsError) -> Self {
        Self {
            err_code: err.code,
            title: err.title.to_string(),
            msg: err.msg.clone(),
            extra_msg: err.extra.clone(),
            ..Self::default()
        }
    }
}

impl IntoResponse for TlsReply {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// The IM REST envelope.
#[derive(Clone, Debug, Serialize)]
pub struct ImReply {
    #[serde(rename = "ActionStatus")]
    pub action_status: &'static str,
    #[serde(rename = "ErrorCode")]
    pub error_code: i64,
    #[serde(rename = "ErrorInfo")]
    pub error_info: String,
}

impl ImReply {
    pub fn ok() -> Self {
        Self {
            action_status: "OK",
            error_code: 0,
            error_info: String::new(),
        }
    }

    pub fn fail(code: i64, info: impl Into<String>) -> Self {
        Self {
            action_status: "FAIL",
            error_code: code,
            error_info: info.into(),
        }
    }
}

impl IntoResponse for ImReply {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// A request body read as a JSON object; `None` when it is not one.
pub fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `sdkappid` as a number or a decimal string.
pub fn sdkappid_field(doc: &Map<String, Value>, key: &str) -> Option<u64> {
    match doc.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string field; numbers are accepted too (an accountType typed as a number).
pub fn text_field(doc: &Map<String, Value>, key: &str) -> Option<String> {
    match doc.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdkappid_is_read_from_numbers_and_strings() {
        let doc =
            json_object(br#"{"a":1400012345,"b":"1400012345","c":[1],"d":-1}"#).unwrap_or_default();
        assert_eq!(sdkappid_field(&doc, "a"), Some(1400012345));
        assert_eq!(sdkappid_field(&doc, "b"), Some(1400012345));
        assert_eq!(sdkappid_field(&doc, "c"), None);
        assert_eq!(sdkappid_field(&doc, "d"), None);
        assert_eq!(sdkappid_field(&doc, "missing"), None);
    }

    #[test]
    fn the_security_strike_reply_has_the_faq_words() {
        let err = TlsError::new(
            tls_code::ACCOUNT_REGISTER_TOOMANY,
            "ACCOUNT_REGISTER_TOOMANY",
            TITLE_LOGIN_FAILED,
            MSG_SECURITY_STRIKE,
            EXTRA_SECURITY_STRIKE,
        );
        let body = serde_json::to_value(TlsReply::from(&err)).unwrap_or_default();
        assert_eq!(body["ErrCode"], 10);
        assert_eq!(body["Title"], "登录失败");
        assert_eq!(body["Msg"], "注册操作被安全打击");
        assert!(body.get("identifier").is_none());
    }
}
