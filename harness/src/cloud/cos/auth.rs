//! The proxy's signature checks, in the order it blamed faults (FAQ 1.4–1.7, 2.2):
//! empty sign → unknown SecretId → SecretId of another APPID → `b` not the URL's bucket → HMAC mismatch
//! → expired → longer than three months → signature kind of the operation (§8.4).

use super::codes::{self, CosCode};
use super::sign::{self, ParsedSign, SignParseError};
use super::store::Store;
use crate::cloud::CloudContext;

/// What a request addresses.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub appid: u64,
    pub bucket: &'a str,
    /// Decoded path inside the bucket, from `/`.
    pub path: &'a str,
}

/// A refusal: the code the client sees and a reason for the journal's detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    pub code: CosCode,
    pub reason: String,
}

fn deny(code: CosCode, reason: impl Into<String>) -> Denied {
    Denied {
        code,
        reason: reason.into(),
    }
}

/// Checks everything about a signature that does not depend on the operation.
pub fn check(
    ctx: &CloudContext,
    raw: Option<&str>,
    target: Target<'_>,
) -> Result<ParsedSign, Denied> {
    let raw = raw.unwrap_or("");
    let parsed = match sign::parse(raw) {
        Ok(parsed) => parsed,
        Err(SignParseError::Empty) => {
            return Err(deny(codes::ERROR_PROXY_AUTH_SIGN_EMPTY, "no signature"));
        }
        // A signature that cannot be read fails like one whose HMAC is wrong.
        Err(e) => return Err(deny(codes::ERROR_PROXY_AUTH_FAILED, e.to_string())),
    };
    // §8.4: an APPID the service does not know at all is -62 ERROR_PROXY_AUTH_APPID. GAP: where the
    // proxy checks it is not published; before the key, so an APPID of another customer (which the
    // service knows) still gives the FAQ's ERROR_PROXY_APPID_USERID_NOTMATCH.
    let known_appid = ctx.with_tenant(|t| {
        t.cos.appid == target.appid
            || t.cos.keys.iter().any(|k| k.appid == target.appid)
            || t.cos.buckets.iter().any(|b| b.appid == target.appid)
    });
    if !known_appid {
        return Err(deny(
            codes::ERROR_PROXY_AUTH_APPID,
            format!("APPID {} is not configured", target.appid),
        ));
    }
    let key = ctx.with_tenant(|t| {
        t.cos
            .keys
            .iter()
            .find(|k| k.secret_id == parsed.secret_id)
            .cloned()
    });
    let Some(key) = key else {
        return Err(deny(
            codes::PROXY_AUTH_SECRETID_NOEXIST,
            format!("SecretId {} unknown", parsed.secret_id),
        ));
    };
    // The key's owner must be both the URL's APPID and the one the signer wrote in `a`: a backend with
    // the wrong COSKEY_APPID (FAQ 1.4) and an app with the wrong kTCCOSAppId (FAQ 2.2) both land here.
    if key.appid != target.appid || parsed.appid != key.appid.to_string() {
        return Err(deny(
            codes::ERROR_PROXY_APPID_USERID_NOTMATCH,
            format!(
                "SecretId owned by {}, URL appid {}, signed a={}",
                key.appid, target.appid, parsed.appid
            ),
        ));
    }
    if parsed.bucket.as_deref() != Some(target.bucket) {
        return Err(deny(
            codes::ERROR_PROXY_SIGN_BUCKET_NOTMATCH,
            format!(
                "signed b={}, URL bucket {}",
                parsed.bucket.as_deref().unwrap_or("(none)"),
                target.bucket
            ),
        ));
    }
    if !parsed.verify(&key.secret_key) {
        return Err(deny(codes::ERROR_PROXY_AUTH_FAILED, "HMAC mismatch"));
    }
    let now = ctx.clock.now();
    if !parsed.is_single_use() && parsed.expire < now {
        return Err(deny(
            codes::ERROR_PROXY_AUTH_EXPIRED,
            format!("e={} is {}s before now", parsed.expire, now - parsed.expire),
        ));
    }
    // §8.4: a multi-use signature may live at most three months. GAP: §8 gives no code for one that
    // asks for more; it fails as -97 ERROR_PROXY_AUTH_FAILED, the signature does not authorise.
    if !parsed.is_single_use() {
        let from = parsed.time.unwrap_or(now);
        if parsed.expire.saturating_sub(from) > MAX_MULTI_USE_LIFETIME {
            return Err(deny(
                codes::ERROR_PROXY_AUTH_FAILED,
                format!(
                    "multi-use signature valid {}s, over three months",
                    parsed.expire.saturating_sub(from)
                ),
            ));
        }
    }
    Ok(parsed)
}

/// §8.4: the longest life of a multi-use signature, three months (of 30 days).
pub const MAX_MULTI_USE_LIFETIME: i64 = 90 * 86400;

/// Which kind of signature an operation takes (§8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignKind {
    /// Delete and update: single-use (`e=0`, `f` = the file id) only.
    SingleUse,
    /// Upload (slices included), stat, create folder and token download: multi-use only
    /// ("上传必须使用多次有效签名").
    MultiUse,
    /// GAP: list, move and copy, for which §8 has no rule: either kind.
    Either,
}

impl SignKind {
    /// The kind a v4 `op` takes.
    pub fn of_op(op: &str) -> SignKind {
        match op {
            "delete" | "update" => SignKind::SingleUse,
            "upload"
            | "upload_slice_init"
            | "upload_slice_data"
            | "upload_slice_finish"
            | "upload_slice_list"
            | "stat"
            | "create" => SignKind::MultiUse,
            _ => SignKind::Either,
        }
    }
}

/// The signature-kind rules, once the operation is known.
///
/// GAP: the reference gives no code for a signature of the wrong kind, a single-use one bound to
/// another file, or one used twice; all fail as `ERROR_PROXY_AUTH_FAILED` (the signature does not
/// authorise this request).
pub fn check_single_use(
    store: &Store,
    parsed: &ParsedSign,
    target: Target<'_>,
    kind: SignKind,
) -> Result<(), Denied> {
    // §8.4: upload, stat, create folder and token download refuse a single-use signature.
    if parsed.is_single_use() && kind == SignKind::MultiUse {
        return Err(deny(
            codes::ERROR_PROXY_AUTH_FAILED,
            "operation needs a multi-use signature (e>0)",
        ));
    }
    if !parsed.is_single_use() {
        if kind == SignKind::SingleUse {
            return Err(deny(
                codes::ERROR_PROXY_AUTH_FAILED,
                "operation needs a single-use signature (e=0)",
            ));
        }
        return Ok(());
    }
    if !sign::fileid_matches(&parsed.fileid, target.appid, target.bucket, target.path) {
        return Err(deny(
            codes::ERROR_PROXY_AUTH_FAILED,
            format!("single-use signature is bound to f={}", parsed.fileid),
        ));
    }
    if !store.use_once(parsed.mac) {
        return Err(deny(
            codes::ERROR_PROXY_AUTH_FAILED,
            "single-use signature already used",
        ));
    }
    Ok(())
}
