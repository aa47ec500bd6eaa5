//! The JSON API on `{region}.file.myqcloud.com/files/v2/{appid}/{bucket}{path}`.
//!
//! Order of checks, outermost first: region host (HTTP 403 page), URL shape (HTTP 403 page), signature
//! (proxy codes), bucket in this region and v4 (-133), path (-180), body, `op`, single-use rules, then the
//! operation itself. The body is read only once the signature passed, its bytes taken from the budget
//! of [`super::MAX_BODY_READS`] bodies of the largest size.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::Response;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::auth::{self, Target};
use super::codes::{self, CosCode};
use super::console::{Authority, Bucket, Generation};
use super::form::{self, Form, FormError};
use super::sign::encode_path;
use super::store::{Entry, EntryKind, ListPattern, ListQuery, NewFile, SliceSession};
use super::{Cos, gateway_forbidden, hosts};
use crate::cloud::host_without_port;

/// Longest list page (`ERROR_CMD_COS_MAX_NUM`: "单次拉取目录最大支持199").
pub const MAX_LIST_NUM: usize = 199;

/// Slice size when the client names none (the PHP SDK's fixed 1 MB).
const DEFAULT_SLICE: u64 = 1024 * 1024;

enum Outcome {
    Gateway,
    Cos {
        code: CosCode,
        data: Option<Value>,
        reason: Option<String>,
    },
}

fn ok(data: Value) -> Outcome {
    Outcome::Cos {
        code: codes::SUCCESS,
        data: Some(data),
        reason: None,
    }
}

fn fail(code: CosCode, reason: impl Into<String>) -> Outcome {
    Outcome::Cos {
        code,
        data: None,
        reason: Some(reason.into()),
    }
}

/// What the URL names.
struct Resource {
    region: String,
    appid: u64,
    bucket: String,
    /// Decoded, from `/`; `None` if it does not decode or is not a clean path.
    path: Option<String>,
}

pub async fn handle(
    cos: &Cos,
    host: &str,
    region: &str,
    peer: SocketAddr,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_string();
    let mut line = format!("{} {}{}", parts.method, host_without_port(host), raw_path);
    let mut op = None;
    let outcome = run(cos, region, &parts, body, &raw_path, &mut op).await;
    if let Some(op) = &op {
        line.push_str(" op=");
        line.push_str(op);
    }
    match outcome {
        Outcome::Gateway => {
            cos.record(line, "HTTP 403 gateway", peer, Value::Null);
            gateway_forbidden(&raw_path)
        }
        Outcome::Cos { code, data, reason } => {
            let (response, request_id) = cos.envelope(code, data);
            let mut detail = json!({ "request_id": request_id });
            if let (Some(d), Some(reason)) = (detail.as_object_mut(), reason) {
                d.insert("reason".into(), Value::String(reason));
            }
            cos.record(line, code.outcome(), peer, detail);
            response
        }
    }
}

async fn run(
    cos: &Cos,
    region: &str,
    parts: &axum::http::request::Parts,
    body: Body,
    raw_path: &str,
    op_out: &mut Option<String>,
) -> Outcome {
    if !hosts::is_region(region) {
        return Outcome::Gateway;
    }
    let Some(res) = parse_resource(region, raw_path) else {
        return Outcome::Gateway;
    };
    let query = form::parse_query(parts.uri.query().unwrap_or(""));
    let query_op = query.get("op").cloned();
    *op_out = query_op.as_deref().map(sanitize_op);
    let header_sign = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let raw_sign = header_sign.or(query.get("sign").map(String::as_str));
    let path_for_auth = res.path.clone().unwrap_or_default();
    let target = Target {
        appid: res.appid,
        bucket: &res.bucket,
        path: &path_for_auth,
    };
    // The signature is checked before anything of the body is kept: an unauthenticated client cannot
    // make the cloud buffer its uploads. The refused body is only streamed through for its op.
    let parsed = match auth::check(&cos.ctx, raw_sign, target) {
        Ok(parsed) => parsed,
        Err(denied) => {
            if !has_no_body(parts) {
                let scanned = form::scan_op(&parts.headers, body, cos.options.max_body_bytes).await;
                if let Some(op) = scanned.or(query_op) {
                    *op_out = Some(sanitize_op(&op));
                }
            }
            return fail(denied.code, denied.reason);
        }
    };
    // The bytes of signed bodies come out of a shared budget as they arrive, and go back when this
    // request is answered (the store keeps its own copy).
    let held = std::sync::Arc::new(std::sync::Mutex::new(None));
    let body_form = if has_no_body(parts) {
        Ok(Form::default())
    } else {
        let body = form::budgeted(
            body,
            cos.body_budget.clone(),
            cos.options.body_budget_wait,
            cos.options.max_body_bytes,
            held.clone(),
        );
        form::read(&parts.headers, body, cos.options.max_body_bytes).await
    };
    let op_hint = match &body_form {
        Ok(f) => f.get("op").map(str::to_string),
        Err(_) => None,
    }
    .or(query_op);
    *op_out = op_hint.as_deref().map(sanitize_op);
    if find_bucket(cos, &res).is_none() {
        return fail(
            codes::ERROR_CMD_BUCKET_NOTEXIST,
            format!(
                "no v4 bucket {} of {} in region {}",
                res.bucket, res.appid, res.region
            ),
        );
    }
    let Some(path) = res.path.clone() else {
        return fail(
            codes::ERROR_CMD_COS_INVALID_PATH,
            "path does not decode to a clean path",
        );
    };
    let mut form = match body_form {
        Ok(form) => form,
        Err(FormError::TooLarge(limit)) => {
            return fail(
                codes::ERROR_CGI_REQUEST_TOO_LARGE,
                format!("body over {limit} bytes"),
            );
        }
        Err(FormError::Malformed(why)) => return fail(codes::ERROR_CGI_PARAM_INVALID, why),
        Err(FormError::Busy) => {
            return fail(
                codes::ERROR_CMD_COS_ERROR,
                "upload buffers full: no room for the body",
            );
        }
    };
    for (key, value) in query {
        if key != "sign" {
            form.fields.entry(key).or_insert(value);
        }
    }
    let Some(op) = form.get("op").map(str::to_string) else {
        return fail(codes::ERROR_CGI_PARAM_MISSING_OP, "no op");
    };
    let target = Target {
        appid: res.appid,
        bucket: &res.bucket,
        path: &path,
    };
    let sign_kind = auth::SignKind::of_op(&op);
    let known = matches!(
        op.as_str(),
        "upload"
            | "upload_slice_init"
            | "upload_slice_data"
            | "upload_slice_finish"
            | "upload_slice_list"
            | "stat"
            | "list"
            | "create"
            | "update"
            | "delete"
            | "move"
            | "copy"
    );
    if !known {
        return fail(
            codes::ERROR_CGI_PARAM_MISSING_OP,
            format!("unknown op {op:?}"),
        );
    }
    if let Err(denied) = auth::check_single_use(&cos.store, &parsed, target, sign_kind) {
        return fail(denied.code, denied.reason);
    }
    let ctx = OpContext {
        cos,
        res: &res,
        path: &path,
        now: cos.ctx.clock.now(),
    };
    match op.as_str() {
        "upload" => ctx.upload(form),
        "upload_slice_init" => ctx.slice_init(&form),
        "upload_slice_data" => ctx.slice_data(form),
        "upload_slice_finish" => ctx.slice_finish(&form),
        "upload_slice_list" => ctx.slice_list(&form),
        "stat" => ctx.stat(),
        "list" => ctx.list(&form),
        "create" => ctx.create(&form),
        "update" => ctx.update(&form),
        "delete" => ctx.delete(),
        "move" => ctx.copy(&form, true),
        _ => ctx.copy(&form, false),
    }
}

fn has_no_body(parts: &axum::http::request::Parts) -> bool {
    parts.method == Method::GET || parts.method == Method::HEAD
}

/// Ops are echoed in the journal; keep them short and printable.
fn sanitize_op(op: &str) -> String {
    op.chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn parse_resource(region: &str, raw_path: &str) -> Option<Resource> {
    let rest = raw_path.strip_prefix("/files/v2/")?;
    let (appid, rest) = rest.split_once('/')?;
    let appid: u64 = appid.parse().ok()?;
    let (bucket, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let bucket = percent_decode_str(bucket).decode_utf8().ok()?.into_owned();
    if bucket.is_empty() {
        return None;
    }
    let path = percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|p| p.into_owned())
        .filter(|p| is_clean_path(p));
    Some(Resource {
        region: region.to_string(),
        appid,
        bucket,
        path,
    })
}

/// From `/`, no empty, `.` or `..` segments, no control characters or backslashes, at most 1024 bytes.
pub fn is_clean_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 1024
        && !path.contains("//")
        && !path.chars().any(|c| c.is_control() || c == '\\')
        && path.split('/').all(|seg| seg != "." && seg != "..")
}

fn find_bucket(cos: &Cos, res: &Resource) -> Option<Bucket> {
    cos.ctx.with_tenant(|t| {
        t.cos
            .buckets
            .iter()
            .find(|b| {
                b.name == res.bucket
                    && b.appid == res.appid
                    && b.region == res.region
                    && b.generation == Generation::V4
            })
            .cloned()
    })
}

fn authority_name(a: Option<Authority>) -> &'static str {
    match a {
        None => "eInvalid",
        Some(Authority::PrivateReadWrite) => "eWRPrivate",
        Some(Authority::PublicRead) => "eWPrivateRPublic",
    }
}

struct OpContext<'a> {
    cos: &'a Cos,
    res: &'a Resource,
    path: &'a str,
    now: i64,
}

impl OpContext<'_> {
    fn key(&self) -> (u64, String) {
        (self.res.appid, self.res.bucket.clone())
    }

    /// The URLs of an object, as upload and stat return them.
    fn urls(&self, path: &str) -> Value {
        let appid = self.res.appid;
        let bucket = &self.res.bucket;
        let region = &self.res.region;
        let enc = encode_path(path);
        json!({
            "access_url": format!("http://{bucket}-{appid}.file.myqcloud.com{enc}"),
            "resource_path": format!("/{appid}/{bucket}{enc}"),
            "source_url": format!("http://{bucket}-{appid}.cos{region}.myqcloud.com{enc}"),
            "url": format!("http://{region}.file.myqcloud.com/files/v2/{appid}/{bucket}{enc}"),
        })
    }

    fn stored(&self, path: &str, entry: &Entry) -> Value {
        let mut data = self.urls(path);
        if let (Some(map), EntryKind::File { vid, .. }) = (data.as_object_mut(), &entry.kind) {
            map.insert("vid".into(), Value::String(vid.clone()));
        }
        data
    }

    fn file_path(&self) -> Result<(), Outcome> {
        if self.path.ends_with('/') {
            Err(fail(
                codes::ERROR_CMD_COS_INVALID_PATH,
                "a file path must not end with '/'",
            ))
        } else {
            Ok(())
        }
    }

    fn upload(&self, form: Form) -> Outcome {
        if let Err(o) = self.file_path() {
            return o;
        }
        let Some(file) = form.file.clone() else {
            return fail(codes::ERROR_CGI_PARAM_INVALID, "no filecontent part");
        };
        if let Some(sha) = form.get("sha").filter(|s| !s.is_empty()) {
            if !is_sha(sha) {
                return fail(codes::ERROR_CMD_COS_INVALID_SHA, "sha is not 40 hex digits");
            }
            if !sha.eq_ignore_ascii_case(&file.sha) {
                return fail(
                    codes::ERROR_CMD_COS_SHA_NOT_EQU,
                    format!("content sha is {}", file.sha),
                );
            }
        }
        let new = NewFile {
            content: file.content,
            sha: file.sha,
            biz_attr: form.get("biz_attr").unwrap_or("").to_string(),
            insert_only: insert_only(&form),
        };
        match self
            .cos
            .store
            .put_file(&self.key(), self.path, new, self.now)
        {
            Ok(entry) => ok(self.stored(self.path, &entry)),
            Err(code) => fail(code, "store refused"),
        }
    }

    fn slice_init(&self, form: &Form) -> Outcome {
        if let Err(o) = self.file_path() {
            return o;
        }
        let Some(filesize) = form
            .get("filesize")
            .and_then(|s| s.trim().parse::<u64>().ok())
        else {
            return fail(
                codes::ERROR_CGI_PARAM_INVALID,
                "filesize missing or not a number",
            );
        };
        if filesize > self.cos.options.max_file_bytes {
            return fail(
                codes::ERROR_CGI_REQUEST_TOO_LARGE,
                format!("filesize {filesize}"),
            );
        }
        let max_slice = self
            .cos
            .options
            .max_body_bytes
            .saturating_sub(64 * 1024)
            .max(1);
        let slice_size = form
            .get("slice_size")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|s| (1..=max_slice).contains(s))
            .unwrap_or(DEFAULT_SLICE.min(max_slice));
        let sha = match form.get("sha").filter(|s| !s.is_empty()) {
            Some(sha) if !is_sha(sha) => {
                return fail(codes::ERROR_CMD_COS_INVALID_SHA, "sha is not 40 hex digits");
            }
            Some(sha) => Some(sha.to_ascii_lowercase()),
            None => None,
        };
        let insert_only = insert_only(form);
        let key = self.key();
        if let Some(existing) = self.cos.store.get(&key, self.path) {
            match &existing.kind {
                EntryKind::Dir => {
                    return fail(codes::ERROR_CMD_COS_PATH_CONFLICT, "a folder has this name");
                }
                EntryKind::File { sha: stored, .. } => {
                    if sha.as_deref() == Some(stored.as_str()) {
                        // Instant upload ("秒传"): the same content is already there.
                        return ok(self.stored(self.path, &existing));
                    }
                    if insert_only {
                        return fail(
                            codes::ERROR_CMD_COS_FILE_EXIST,
                            "different file at this path",
                        );
                    }
                }
            }
        }
        let session = SliceSession {
            bucket: key,
            path: self.path.to_string(),
            filesize,
            slice_size,
            sha,
            biz_attr: form.get("biz_attr").unwrap_or("").to_string(),
            insert_only,
            parts: Default::default(),
            opened_at: self.now,
        };
        let id = self.cos.store.open_session(session, self.now);
        ok(json!({ "session": id, "slice_size": slice_size, "serial_upload": 1, "offset": 0 }))
    }

    fn session(&self, form: &Form) -> Result<(String, SliceSession), Outcome> {
        let Some(id) = form.get("session") else {
            return Err(fail(codes::ERROR_CGI_PARAM_INVALID, "no session"));
        };
        match self.cos.store.session(id, self.now) {
            Some(s) if s.bucket == self.key() && s.path == self.path => Ok((id.to_string(), s)),
            _ => Err(fail(
                codes::ERROR_CGI_PARAM_INVALID,
                "unknown session for this file",
            )),
        }
    }

    fn slice_data(&self, form: Form) -> Outcome {
        let (id, _) = match self.session(&form) {
            Ok(s) => s,
            Err(o) => return o,
        };
        let Some(offset) = form
            .get("offset")
            .and_then(|s| s.trim().parse::<u64>().ok())
        else {
            return fail(
                codes::ERROR_CGI_PARAM_INVALID,
                "offset missing or not a number",
            );
        };
        let Some(file) = form.file else {
            return fail(codes::ERROR_CGI_PARAM_INVALID, "no filecontent part");
        };
        let md5 = {
            use md5::{Digest, Md5};
            hex::encode(Md5::digest(&file.content))
        };
        match self.cos.store.add_slice(&id, offset, file.content) {
            Ok(()) => ok(json!({ "session": id, "offset": offset, "datamd5": md5 })),
            Err(code) => fail(code, "slice overlaps another or lies past the filesize"),
        }
    }

    fn slice_finish(&self, form: &Form) -> Outcome {
        let (id, session) = match self.session(form) {
            Ok(s) => s,
            Err(o) => return o,
        };
        let filesize = match form.get("filesize") {
            Some(s) => match s.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => return fail(codes::ERROR_CGI_PARAM_INVALID, "filesize not a number"),
            },
            None => None,
        };
        let expected_sha = form
            .get("sha")
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .or(session.sha.clone());
        let (session, content) = match self.cos.store.close_session(&id, filesize) {
            Ok(done) => done,
            Err(code) => return fail(code, "slices do not cover the file"),
        };
        let sha = super::store::sha1_hex(&content);
        if expected_sha.is_some_and(|e| e != sha) {
            return fail(
                codes::ERROR_CMD_COS_SHA_NOT_EQU,
                format!("content sha is {sha}"),
            );
        }
        let new = NewFile {
            content,
            sha,
            biz_attr: session.biz_attr,
            insert_only: session.insert_only,
        };
        match self
            .cos
            .store
            .put_file(&self.key(), self.path, new, self.now)
        {
            Ok(entry) => ok(self.stored(self.path, &entry)),
            Err(code) => fail(code, "store refused"),
        }
    }

    fn slice_list(&self, form: &Form) -> Outcome {
        let (id, session) = match self.session(form) {
            Ok(s) => s,
            Err(o) => return o,
        };
        let parts: Vec<Value> = session
            .parts
            .iter()
            // §8.4: each listed part carries {offset, datalen, datasha}.
            .map(|(offset, data)| {
                json!({ "offset": offset, "datalen": data.len(), "datasha": super::store::sha1_hex(data) })
            })
            .collect();
        ok(json!({
            "session": id,
            "slice_size": session.slice_size,
            "filesize": session.filesize,
            "sha": session.sha.unwrap_or_default(),
            "listparts": parts,
        }))
    }

    fn file_info(&self, name: &str, path: &str, entry: &Entry) -> Value {
        match &entry.kind {
            EntryKind::Dir => json!({
                "name": name,
                "biz_attr": entry.biz_attr,
                "ctime": entry.ctime,
                "mtime": entry.mtime,
            }),
            EntryKind::File { content, sha, .. } => {
                let urls = self.urls(path);
                json!({
                    "name": name,
                    "biz_attr": entry.biz_attr,
                    "filesize": content.len(),
                    "filelen": content.len(),
                    "sha": sha,
                    "ctime": entry.ctime,
                    "mtime": entry.mtime,
                    "access_url": urls["access_url"],
                    "source_url": urls["source_url"],
                    "authority": authority_name(entry.authority),
                    "custom_headers": entry.custom_headers,
                })
            }
        }
    }

    fn stat(&self) -> Outcome {
        let key = self.key();
        let name = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        if let Some(entry) = self.cos.store.get(&key, self.path) {
            return ok(self.file_info(&name, self.path, &entry));
        }
        if self.path.ends_with('/') && self.cos.store.dir_exists(&key, self.path) {
            // A folder that exists only because something lies below it.
            return ok(json!({ "name": name, "biz_attr": "", "ctime": 0, "mtime": 0 }));
        }
        fail(codes::ERROR_CMD_COS_INDEX_ERROR, "no such file or folder")
    }

    fn list(&self, form: &Form) -> Outcome {
        let num = match form.get("num") {
            None => 20,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(0) | Err(_) => {
                    return fail(codes::ERROR_CMD_COS_INVALID_LIST_NUM, "num must be 1..199");
                }
                Ok(n) if n > MAX_LIST_NUM => {
                    return fail(codes::ERROR_CMD_COS_MAX_NUM, format!("num {n} over 199"));
                }
                Ok(n) => n,
            },
        };
        let (dir, prefix) = match self.path.rfind('/') {
            Some(i) => (&self.path[..=i], &self.path[i + 1..]),
            None => ("/", ""),
        };
        let pattern = match form.get("pattern") {
            Some("eListFileOnly") => ListPattern::FilesOnly,
            Some("eListDirOnly") => ListPattern::DirsOnly,
            _ => ListPattern::Both,
        };
        let reverse = form.get("order") == Some("1");
        let context = form.get("context").unwrap_or("");
        let page = match self.cos.store.list(
            &self.key(),
            ListQuery {
                dir,
                prefix,
                num,
                context,
                pattern,
                reverse,
            },
        ) {
            Ok(page) => page,
            Err(code) => return fail(code, "no such folder"),
        };
        let mut dircount = 0;
        let mut filecount = 0;
        let infos: Vec<Value> = page
            .items
            .iter()
            .map(|(name, entry)| {
                let path = format!("{dir}{name}");
                match entry {
                    Some(entry) => {
                        if entry.is_dir() {
                            dircount += 1;
                        } else {
                            filecount += 1;
                        }
                        self.file_info(name, &path, entry)
                    }
                    None => {
                        dircount += 1;
                        json!({ "name": name, "biz_attr": "", "ctime": 0, "mtime": 0 })
                    }
                }
            })
            .collect();
        ok(json!({
            "context": page.context,
            "listover": page.listover,
            "dircount": dircount,
            "filecount": filecount,
            "infos": infos,
        }))
    }

    fn create(&self, form: &Form) -> Outcome {
        if !self.path.ends_with('/') {
            return fail(
                codes::ERROR_CMD_COS_INVALID_PATH,
                "a folder path must end with '/'",
            );
        }
        let biz_attr = form.get("biz_attr").unwrap_or("");
        match self
            .cos
            .store
            .create_dir(&self.key(), self.path, biz_attr, self.now)
        {
            // §8.4: create-folder data is `{ctime}`.
            Ok(entry) => ok(json!({ "ctime": entry.ctime })),
            Err(code) => fail(code, "folder or file exists"),
        }
    }

    fn update(&self, form: &Form) -> Outcome {
        let authority = match form.get("authority") {
            None | Some("") => None,
            Some("eInvalid") => Some(None),
            Some("eWRPrivate") => Some(Some(Authority::PrivateReadWrite)),
            Some("eWPrivateRPublic") => Some(Some(Authority::PublicRead)),
            Some(other) => {
                return fail(
                    codes::ERROR_CGI_PARAM_INVALID,
                    format!("authority {other:?}"),
                );
            }
        };
        let headers = match form.get("custom_headers").filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Some(map),
                _ => {
                    return fail(
                        codes::ERROR_CGI_PARAM_INVALID,
                        "custom_headers is not an object",
                    );
                }
            },
        };
        let biz_attr = form.get("biz_attr").map(str::to_string);
        let result = self
            .cos
            .store
            .update(&self.key(), self.path, self.now, |entry| {
                if let Some(a) = authority {
                    entry.authority = a;
                }
                if let Some(h) = headers {
                    entry.custom_headers = h;
                }
                if let Some(b) = biz_attr {
                    entry.biz_attr = b;
                }
            });
        match result {
            Ok(_) => ok(json!({})),
            Err(code) => fail(code, "no such file or folder"),
        }
    }

    fn delete(&self) -> Outcome {
        match self.cos.store.delete(&self.key(), self.path) {
            Ok(()) => ok(json!({})),
            Err(code) => fail(code, "cannot delete"),
        }
    }

    fn copy(&self, form: &Form, remove_source: bool) -> Outcome {
        let Some(dest) = form.get("dest_fileid").filter(|d| !d.is_empty()) else {
            return fail(codes::ERROR_CGI_PARAM_INVALID, "no dest_fileid");
        };
        let decoded = percent_decode_str(dest).decode_utf8_lossy().into_owned();
        let prefix = format!("/{}/{}/", self.res.appid, self.res.bucket);
        let dest = match decoded.strip_prefix(&prefix) {
            Some(rest) => format!("/{rest}"),
            None if decoded.starts_with('/') => decoded,
            None => format!("/{decoded}"),
        };
        if !is_clean_path(&dest) {
            return fail(
                codes::ERROR_CMD_COS_INVALID_PATH,
                "dest_fileid is not a clean path",
            );
        }
        let overwrite = form.get("to_over_write") == Some("1");
        match self.cos.store.copy(
            &self.key(),
            self.path,
            &dest,
            overwrite,
            remove_source,
            self.now,
        ) {
            Ok(entry) => ok(self.stored(&dest, &entry)),
            Err(code) => fail(code, "cannot copy"),
        }
    }
}

fn insert_only(form: &Form) -> bool {
    form.get("insertOnly").map(str::trim) != Some("0")
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_dot_segments_are_not_clean() {
        assert!(is_clean_path("/a/b.jpg"));
        assert!(is_clean_path("/"));
        assert!(!is_clean_path("/a/../b"));
        assert!(!is_clean_path("/a//b"));
        assert!(!is_clean_path("/a\\b"));
        assert!(!is_clean_path("/a\u{0}b"));
    }

    #[test]
    fn resource_splits_appid_bucket_path() {
        let r = parse_resource("sh", "/files/v2/1252000001/minilvb/dir/a%20b.jpg").unwrap();
        assert_eq!((r.appid, r.bucket.as_str()), (1252000001, "minilvb"));
        assert_eq!(r.path.as_deref(), Some("/dir/a b.jpg"));
        assert_eq!(
            parse_resource("sh", "/files/v2/1/b").and_then(|r| r.path),
            Some("/".into())
        );
        assert!(parse_resource("sh", "/files/v1/1/b/x").is_none());
        assert!(parse_resource("sh", "/files/v2/x/b/x").is_none());
        assert!(
            parse_resource("sh", "/files/v2/1/b/%2e%2e/x")
                .unwrap()
                .path
                .is_none()
        );
    }
}
