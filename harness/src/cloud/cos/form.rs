//! Request parameters of the JSON API: multipart forms (uploads), JSON bodies (create, update, delete)
//! and URL queries (list, stat, the browser SDK's `?sign=`).
//!
//! Bodies are streamed with a size limit: the file part is hashed chunk by chunk while it arrives, and a
//! body over the limit is an error, never an unbounded buffer.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use sha1::{Digest, Sha1};

/// Names of the file part: PHP/Python send `filecontent`, Java and JS `fileContent`.
const FILE_FIELDS: [&str; 2] = ["filecontent", "fileContent"];

/// Longest text field accepted (biz_attr, custom headers, sha, ...).
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// The parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct Form {
    pub fields: HashMap<String, String>,
    pub file: Option<FilePart>,
}

/// The uploaded bytes and their SHA-1, computed while streaming.
#[derive(Clone, Debug)]
pub struct FilePart {
    pub content: Bytes,
    pub sha: String,
}

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("request body exceeds {0} bytes")]
    TooLarge(u64),
    #[error("malformed request body: {0}")]
    Malformed(String),
}

/// Parses `a=1&b=2` percent-decoding each part, but keeping `+` as `+`: a base64 signature pasted
/// without encoding must survive.
pub fn parse_query(query: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode_str(key).decode_utf8_lossy().into_owned();
        let value = percent_decode_str(value).decode_utf8_lossy().into_owned();
        out.entry(key).or_insert(value);
    }
    out
}

/// Reads a request body into a [`Form`], whatever its encoding.
pub async fn read(headers: &HeaderMap, body: Body, limit: u64) -> Result<Form, FormError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(FormError::TooLarge(limit));
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        read_multipart(content_type, body, limit).await
    } else {
        let bytes = read_all(body, limit).await?;
        Ok(Form {
            fields: parse_plain(&bytes)?,
            file: None,
        })
    }
}

async fn read_multipart(content_type: &str, body: Body, limit: u64) -> Result<Form, FormError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| FormError::Malformed(format!("content type: {e}")))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit)
            .per_field(limit),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut form = Form::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multer_error(e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if FILE_FIELDS.contains(&name.as_str()) {
            let mut field = field;
            let mut hasher = Sha1::new();
            let mut chunks: Vec<Bytes> = Vec::new();
            let mut total = 0usize;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        hasher.update(&chunk);
                        total += chunk.len();
                        chunks.push(chunk);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(multer_error(e)),
                }
            }
            let content = if chunks.len() == 1 {
                chunks.pop().unwrap_or_default()
            } else {
                let mut joined = BytesMut::with_capacity(total);
                for chunk in &chunks {
                    joined.extend_from_slice(chunk);
                }
                joined.freeze()
            };
            form.file = Some(FilePart {
                content,
                sha: hex::encode(hasher.finalize()),
            });
        } else {
            let mut field = field;
            let mut text = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if text.len() + chunk.len() > MAX_TEXT_FIELD {
                            return Err(FormError::Malformed(format!(
                                "field {name:?} is longer than {MAX_TEXT_FIELD} bytes"
                            )));
                        }
                        text.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(multer_error(e)),
                }
            }
            let text = String::from_utf8(text)
                .map_err(|_| FormError::Malformed(format!("field {name:?} is not UTF-8")))?;
            form.fields.entry(name).or_insert(text);
        }
    }
    Ok(form)
}

fn multer_error(e: multer::Error) -> FormError {
    match e {
        multer::Error::StreamSizeExceeded { limit } => FormError::TooLarge(limit),
        multer::Error::FieldSizeExceeded { limit, .. } => FormError::TooLarge(limit),
        other => FormError::Malformed(other.to_string()),
    }
}

/// Longest plain (JSON or urlencoded) body [`scan_op`] looks into: those bodies carry a few fields.
const MAX_SCANNED_PLAIN: u64 = 64 * 1024;

/// The `op` of a request that is refused before its body is read for real (a bad signature): the
/// journal line still names the op, but nothing of the body is kept. A multipart body is streamed
/// through with its file part discarded chunk by chunk, up to `limit` bytes; a plain body is looked at
/// only when it is small. `None` when the op cannot be found that way.
pub async fn scan_op(headers: &HeaderMap, body: Body, limit: u64) -> Option<String> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        let bytes = read_all(body, MAX_SCANNED_PLAIN).await.ok()?;
        return parse_plain(&bytes).ok()?.remove("op");
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    while let Ok(Some(mut field)) = multipart.next_field().await {
        let is_op = field.name() == Some("op");
        let mut text = Vec::new();
        while let Ok(Some(chunk)) = field.chunk().await {
            if is_op && text.len() + chunk.len() <= MAX_TEXT_FIELD {
                text.extend_from_slice(&chunk);
            }
        }
        if is_op {
            return String::from_utf8(text).ok();
        }
    }
    None
}

/// Reads a whole body, failing as soon as it passes `limit`.
pub async fn read_all(body: Body, limit: u64) -> Result<Bytes, FormError> {
    let limited = http_body_util::Limited::new(body, limit as usize);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(FormError::TooLarge(limit)),
        Err(e) => Err(FormError::Malformed(e.to_string())),
    }
}

/// A JSON object (create/update/delete in PHP, Java, Python) or a urlencoded form (the JS SDK).
fn parse_plain(bytes: &[u8]) -> Result<HashMap<String, String>, FormError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| FormError::Malformed("body is not UTF-8".into()))?
        .trim();
    if text.is_empty() {
        return Ok(HashMap::new());
    }
    if text.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| FormError::Malformed(format!("JSON: {e}")))?;
        let serde_json::Value::Object(map) = value else {
            return Err(FormError::Malformed("JSON body is not an object".into()));
        };
        return Ok(map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect());
    }
    Ok(url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_plus_signs() {
        let q = parse_query("op=list&sign=ab+c%2Bd%3D&num=10");
        assert_eq!(q["sign"], "ab+c+d=");
        assert_eq!(q["num"], "10");
    }

    #[test]
    fn json_and_urlencoded_bodies_parse() {
        let json = parse_plain(br#"{"op":"update","custom_headers":{"Content-Type":"image/png"}}"#)
            .unwrap();
        assert_eq!(json["op"], "update");
        assert!(json["custom_headers"].contains("image/png"));
        let form = parse_plain(b"op=create&biz_attr=x").unwrap();
        assert_eq!(form["op"], "create");
        assert!(parse_plain(b"{nope").is_err());
    }
}
