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

/// Longest multipart boundary accepted: RFC 2046 allows 70 characters, and the cost of looking for a
/// delimiter grows with its length, so a huge one would make every body byte expensive.
const MAX_BOUNDARY: usize = 200;

fn boundary_of(content_type: &str) -> Result<String, FormError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| FormError::Malformed(format!("content type: {e}")))?;
    if boundary.len() > MAX_BOUNDARY {
        return Err(FormError::Malformed(format!(
            "multipart boundary longer than {MAX_BOUNDARY} characters"
        )));
    }
    Ok(boundary)
}

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
    /// No room in the budget of buffered bodies (see [`budgeted`]).
    #[error("no room to buffer the request body")]
    Busy,
}

/// The error a [`budgeted`] body ends with when the budget stays full.
#[derive(Debug)]
struct NoRoom;

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no room to buffer the request body")
    }
}

impl std::error::Error for NoRoom {}

fn is_no_room(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<NoRoom>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// `body` with each chunk's bytes taken from `budget` before it is passed on, waiting at most `wait`
/// for room; the permits gather in `held`, so the caller gives them back by dropping it when the
/// buffered bytes are gone. One body takes at most `limit` (past it the reader refuses the body as too
/// large), so a body alone always fits a budget of at least `limit`.
pub fn budgeted(
    body: Body,
    budget: std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
    limit: u64,
    held: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>,
) -> Body {
    use futures::StreamExt;
    let stream = body.into_data_stream();
    let chunks = futures::stream::unfold(Some((stream, 0u64)), move |state| {
        let budget = budget.clone();
        let held = held.clone();
        async move {
            let (mut stream, taken) = state?;
            let mut taken = taken;
            let item: Result<Bytes, Box<dyn std::error::Error + Send + Sync>> =
                match stream.next().await? {
                    Ok(bytes) => {
                        let want = (bytes.len() as u64).min(limit.saturating_sub(taken));
                        taken += want;
                        let n = u32::try_from(want).unwrap_or(u32::MAX);
                        match tokio::time::timeout(wait, budget.acquire_many_owned(n)).await {
                            Ok(Ok(permit)) => {
                                let mut slot = held.lock().unwrap_or_else(|p| p.into_inner());
                                match slot.as_mut() {
                                    Some(all) => all.merge(permit),
                                    None => *slot = Some(permit),
                                }
                                Ok(bytes)
                            }
                            _ => return Some((Err(Box::new(NoRoom) as _), None)),
                        }
                    }
                    Err(e) => return Some((Err(Box::new(e) as _), None)),
                };
            Some((item, Some((stream, taken))))
        }
    });
    Body::from_stream(chunks)
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
    let boundary = boundary_of(content_type)?;
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
    if is_no_room(&e) {
        return FormError::Busy;
    }
    match e {
        multer::Error::StreamSizeExceeded { limit } => FormError::TooLarge(limit),
        multer::Error::FieldSizeExceeded { limit, .. } => FormError::TooLarge(limit),
        other => FormError::Malformed(other.to_string()),
    }
}

/// Longest plain (JSON or urlencoded) body [`scan_op`] looks into: those bodies carry a few fields.
const MAX_SCANNED_PLAIN: u64 = 64 * 1024;

/// Bytes of one part's header block [`scan_op`] reads before giving up (real ones are under 200).
const MAX_SCANNED_PART_HEAD: usize = 8 * 1024;
/// Longest `op` value [`scan_op`] keeps (the longest real op has 19 characters).
const MAX_SCANNED_OP: usize = 1024;

/// The `op` of a request that is refused before its body is read for real (a bad signature): the
/// journal line still names the op, but nothing of the body is kept. A multipart body is streamed
/// through up to `limit` bytes, holding only a window of the boundary's length besides the part header
/// or `op` value being read, so neither a part header that never ends nor a preamble without a
/// boundary makes the cloud buffer an unauthenticated body; a plain body is looked at only when it is
/// small. `None` when the op cannot be found that way.
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
    let boundary = boundary_of(content_type).ok()?;
    scan_multipart_op(body, &boundary, limit).await
}

/// Where [`scan_multipart_op`] is in the body.
enum Scan {
    /// Before the first delimiter, which need not follow a CRLF.
    Preamble,
    /// Before a delimiter; the bytes are discarded (`op` says whether they are the `op` value).
    Data { op: bool },
    /// After a delimiter, before the end of the part's header block.
    Head,
}

async fn scan_multipart_op(body: Body, boundary: &str, limit: u64) -> Option<String> {
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut buf = Vec::new();
    let mut state = Scan::Preamble;
    let mut body = body;
    let mut read = 0u64;
    loop {
        match state {
            Scan::Preamble => match find(&buf, &delimiter[2..]) {
                Some(at) => {
                    buf.drain(..at + delimiter.len() - 2);
                    state = Scan::Head;
                    continue;
                }
                None => {
                    let keep = delimiter.len().saturating_sub(3).min(buf.len());
                    buf.drain(..buf.len() - keep);
                }
            },
            Scan::Data { op } => match find(&buf, &delimiter) {
                Some(at) => {
                    if op {
                        return String::from_utf8(buf[..at].to_vec()).ok();
                    }
                    buf.drain(..at + delimiter.len());
                    state = Scan::Head;
                    continue;
                }
                None if op => {
                    if buf.len() > MAX_SCANNED_OP + delimiter.len() {
                        return None;
                    }
                }
                None => {
                    // Keep only what could be the start of a delimiter.
                    let keep = delimiter.len().saturating_sub(1).min(buf.len());
                    buf.drain(..buf.len() - keep);
                }
            },
            Scan::Head => {
                if buf.starts_with(b"--") {
                    return None;
                }
                // The rest of the delimiter line (transport padding, CRLF), then the header block up
                // to the first blank line, as the full reader takes them.
                let padding = buf.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
                match buf.get(padding..padding + 2) {
                    Some(b"\r\n") => {}
                    Some(_) => return None,
                    None if padding > MAX_SCANNED_PART_HEAD => return None,
                    None => {}
                }
                let head = padding + 2;
                match buf.get(head..).and_then(|rest| find(rest, b"\r\n\r\n")) {
                    Some(at) => {
                        let op = part_name(&buf[head..head + at + 4]).as_deref() == Some("op");
                        buf.drain(..head + at + 4);
                        state = Scan::Data { op };
                        continue;
                    }
                    None if buf.len() > MAX_SCANNED_PART_HEAD => return None,
                    None => {}
                }
            }
        }
        let chunk = loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        break data;
                    }
                }
                _ => return None,
            }
        };
        read = read.saturating_add(chunk.len() as u64);
        if read > limit {
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `name` of a part's `Content-Disposition`, from its header block, read the way the full reader
/// (multer 3) reads it, so a refused request is journaled with the op an accepted one would have: the
/// last `Content-Disposition`, its first `name` preceded by whitespace or `;`, quoted (with `\"` escapes) or bare up to `;` or space.
fn part_name(head: &[u8]) -> Option<String> {
    // Bytes that are not UTF-8 cannot be part of a name `op`.
    let head = String::from_utf8_lossy(head);
    // Lines end at LF (a CR before it dropped) and the headers at the first empty line, as in
    // httparse; a repeated header: the last one counts, as in the reader's header map.
    let value = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case("content-disposition")
                .then(|| value.trim_matches([' ', '\t']))
        })
        .last()?;
    let mut rest = value;
    while let Some(i) = rest.find("name") {
        let suffix = &rest[i + 4..];
        if i > 0
            && !(rest.as_bytes()[i - 1].is_ascii_whitespace() || rest.as_bytes()[i - 1] == b';')
        {
            rest = suffix;
            continue;
        }
        let after_eq = suffix.trim_start().strip_prefix('=')?.trim_start();
        if let Some(quoted) = after_eq.strip_prefix('"') {
            let mut end = quoted.find('"')?;
            let mut escaped = false;
            while end > 0 && quoted.as_bytes()[end - 1] == b'\\' {
                escaped = true;
                end = end + 1 + quoted[end + 1..].find('"')?;
            }
            let name = &quoted[..end];
            return Some(if escaped {
                name.replace("\\\"", "\"")
            } else {
                name.to_string()
            });
        }
        let end = after_eq.find([';', ' ']).unwrap_or(after_eq.len());
        return Some(after_eq[..end].to_string());
    }
    None
}

/// Reads a whole body, failing as soon as it passes `limit`.
pub async fn read_all(body: Body, limit: u64) -> Result<Bytes, FormError> {
    let limited = http_body_util::Limited::new(body, limit as usize);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(FormError::TooLarge(limit)),
        Err(e) if is_no_room(e.as_ref()) => Err(FormError::Busy),
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

    fn multipart_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            "multipart/form-data; boundary=xYz".parse().unwrap(),
        );
        h
    }

    /// A body of `start`, then `filler` forever; counts the bytes pulled from it.
    fn endless(
        start: &'static [u8],
        filler: u8,
        pulled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> Body {
        let first =
            futures::stream::once(
                async move { Ok::<_, std::io::Error>(Bytes::from_static(start)) },
            );
        let rest = futures::stream::repeat_with(move || {
            pulled.fetch_add(64 * 1024, std::sync::atomic::Ordering::Relaxed);
            Ok(Bytes::from(vec![filler; 64 * 1024]))
        });
        Body::from_stream(futures::StreamExt::chain(first, rest))
    }

    #[tokio::test]
    async fn scan_finds_the_op_before_or_after_the_file_part() {
        let first =
            "--xYz\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nupload\r\n--xYz--\r\n";
        let got = scan_op(&multipart_headers(), Body::from(first), 1 << 20).await;
        assert_eq!(got.as_deref(), Some("upload"));
        let after = format!(
            "preamble\r\n--xYz\r\ncontent-disposition: form-data; name=filecontent; filename=\"a\"\r\n\
             Content-Type: image/jpeg\r\n\r\n{}\r\n--xYz  \r\nContent-Disposition: form-data; \
             name=\"op\"\r\n\r\nupload_slice_init\r\n--xYz--\r\n",
            "--xY\r\n--xY".repeat(20_000)
        );
        let got = scan_op(&multipart_headers(), Body::from(after), 1 << 20).await;
        assert_eq!(got.as_deref(), Some("upload_slice_init"));
        let none = "--xYz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--xYz--\r\n";
        assert_eq!(
            scan_op(&multipart_headers(), Body::from(none), 1 << 20).await,
            None
        );
    }

    #[tokio::test]
    async fn scan_gives_up_early_on_a_part_header_or_op_value_that_never_ends() {
        for start in [
            &b"--xYz\r\nContent-Disposition: form-data; name=\"op\"\r\nX-Long: "[..],
            &b"--xYz\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nupload"[..],
        ] {
            let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let body = endless(start, b'a', pulled.clone());
            assert_eq!(scan_op(&multipart_headers(), body, 32 << 20).await, None);
            let pulled = pulled.load(std::sync::atomic::Ordering::Relaxed);
            assert!(pulled <= 64 * 1024, "read {pulled} bytes before giving up");
        }
    }

    #[tokio::test]
    async fn a_boundary_longer_than_the_limit_is_refused() {
        let mut h = HeaderMap::new();
        let long = format!(
            "multipart/form-data; boundary={}",
            "b".repeat(MAX_BOUNDARY + 1)
        );
        h.insert(CONTENT_TYPE, long.parse().unwrap());
        let err = read(&h, Body::from("--"), 1 << 20).await.unwrap_err();
        assert!(err.to_string().contains("boundary longer"), "{err}");
        assert_eq!(scan_op(&h, Body::from("--"), 1 << 20).await, None);
    }

    #[tokio::test]
    async fn scan_streams_a_preamble_without_a_boundary_up_to_the_limit_only() {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let body = endless(b"no boundary here", b'-', pulled.clone());
        assert_eq!(scan_op(&multipart_headers(), body, 4 << 20).await, None);
        let pulled = pulled.load(std::sync::atomic::Ordering::Relaxed);
        assert!(pulled <= (4 << 20) + 64 * 1024, "{pulled}");
    }

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
