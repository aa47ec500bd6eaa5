//! The V1 reply envelope `{"returnValue", "returnMsg", "returnData"}`, its error-code table, and PHP
//! `json_encode` output (`/` escaped as `\/`, non-ASCII as `\uXXXX`), so replies are byte-compatible with
//! the original. Objects keep their key order (PHP arrays are ordered), so replies use [`Json`] rather than
//! `serde_json::Map`, which sorts keys.

use std::fmt::Write as _;

use serde_json::Value;

/// An ordered JSON value: objects keep the order their keys were written in.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Scalar(Value),
    Object(Vec<(&'static str, Json)>),
    Array(Vec<Json>),
}

impl<T: Into<Value>> From<T> for Json {
    fn from(v: T) -> Json {
        Json::Scalar(v.into())
    }
}

/// An ordered object.
pub fn obj(pairs: Vec<(&'static str, Json)>) -> Json {
    Json::Object(pairs)
}

impl Json {
    fn encode(&self, out: &mut String) {
        match self {
            Json::Scalar(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.encode(out);
                }
                out.push(']');
            }
            Json::Object(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // Keys are fixed identifiers of this crate; serde escapes them anyway.
                    let _ = write!(out, "{}", Value::from(*k));
                    out.push(':');
                    v.encode(out);
                }
                out.push('}');
            }
        }
    }

    /// Compact JSON text (not yet PHP-escaped).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.encode(&mut s);
        s
    }

    /// The value of a key of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

pub const EC_OK: i64 = 0;
pub const EC_INVALID_INPUT: i64 = 1000;
pub const EC_DB_OP_ERROR: i64 = 2003;
pub const EC_NETWORK_OR_TIMEOUT_ERROR: i64 = 3000;
pub const EC_SYSTEM_INVALID_JSON_FORMAT: i64 = 4001;
pub const EC_SYSTEM_INVALID_PARA: i64 = 4002;

/// `returnMsg` text of a code (`common/ErrorCode.php`); `None` for codes without a text.
pub fn code_text(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "return successfully!",
        1000 => "invalid param in json from client!",
        2002 => "connect db failed",
        2003 => "db operator error",
        4001 => "http post body is empty or invalid json format in post body from client!",
        4002 => "request para error",
        _ => return None,
    })
}

/// A handler outcome: code, optional extra message, data (`None` = PHP empty array `[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub code: i64,
    pub extra: Option<String>,
    pub data: Option<Vec<(&'static str, Json)>>,
}

impl Reply {
    pub fn ok(data: Vec<(&'static str, Json)>) -> Reply {
        Reply {
            code: EC_OK,
            extra: None,
            data: Some(data),
        }
    }
    pub fn ok_empty() -> Reply {
        Reply {
            code: EC_OK,
            extra: None,
            data: None,
        }
    }
    pub fn error(code: i64, extra: impl Into<String>) -> Reply {
        Reply {
            code,
            extra: Some(extra.into()),
            data: None,
        }
    }
    /// The original's process-failure shape: `"<text> | <Name>::process() fail <text>"`.
    pub fn process_fail(code: i64, name: &str) -> Reply {
        Reply::error(
            code,
            format!("{name}::process() fail {}", code_text(code).unwrap_or("")),
        )
    }

    /// The `returnMsg` value: table text, `"<text> | <extra>"`, or null.
    pub fn message(&self) -> Value {
        match (code_text(self.code), &self.extra) {
            (Some(t), None) => Value::String(t.to_string()),
            (t, Some(extra)) => Value::String(format!("{} | {extra}", t.unwrap_or(""))),
            (None, None) => Value::Null,
        }
    }

    /// The envelope as PHP `json_encode` would print it.
    pub fn to_body(&self) -> String {
        // Written by hand rather than through a `Json` value so the data is not cloned.
        let mut out = String::with_capacity(256);
        let _ = write!(
            out,
            "{{\"returnValue\":{},\"returnMsg\":{},\"returnData\":",
            self.code,
            self.message()
        );
        match &self.data {
            Some(d) if !d.is_empty() => {
                out.push('{');
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{}:", Value::from(*k));
                    v.encode(&mut out);
                }
                out.push('}');
            }
            _ => out.push_str("[]"),
        }
        out.push('}');
        php_escape(&out)
    }
}

/// PHP `json_encode` with default flags: `\/` and `\uXXXX` (UTF-16, surrogate pairs) escaping.
/// Both characters can only occur inside JSON strings, so a pass over serde's output is exact.
pub fn php_escape(plain: &str) -> String {
    if plain.is_ascii() && !plain.contains('/') {
        return plain.to_string();
    }
    let mut out = String::with_capacity(plain.len() + 16);
    for c in plain.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if (c as u32) < 0x80 => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_escaping() {
        assert_eq!(
            php_escape(&json!({"u": "a/b 直😀"}).to_string()),
            r#"{"u":"a\/b \u76f4\ud83d\ude00"}"#
        );
        let o = obj(vec![
            ("z", Json::from(1)),
            ("a", Json::Array(vec![Json::from("x")])),
        ]);
        assert_eq!(o.to_text(), r#"{"z":1,"a":["x"]}"#);
    }

    #[test]
    fn envelope_shapes() {
        assert_eq!(
            Reply::ok_empty().to_body(),
            r#"{"returnValue":0,"returnMsg":"return successfully!","returnData":[]}"#
        );
        assert_eq!(
            Reply::process_fail(2003, "RequstLVBAddr").to_body(),
            r#"{"returnValue":2003,"returnMsg":"db operator error | RequstLVBAddr::process() fail db operator error","returnData":[]}"#
        );
        assert_eq!(Reply::error(3000, "x").message(), json!(" | x"));
        assert_eq!(
            Reply {
                code: 3000,
                extra: None,
                data: None
            }
            .message(),
            Value::Null
        );
    }
}
