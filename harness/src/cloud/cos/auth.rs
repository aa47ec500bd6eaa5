//! The proxy's signature checks, in the order it blamed faults (FAQ 1.4–1.7, 2.2):
//! empty sign → unknown SecretId → SecretId of another APPID → `b` not the URL's bucket → HMAC mismatch
//! → expired → single-use rules.

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
    Ok(parsed)
}

/// The single-use rules, once the operation is known.
///
/// GAP: the reference gives no code for a multi-use signature on delete/update, a single-use one bound
/// to another file, or one used twice; all three fail as `ERROR_PROXY_AUTH_FAILED` (the signature does
/// not authorise this request). A single-use signature bound to the right file is accepted for any
/// operation, since it is the stronger proof.
pub fn check_single_use(
    store: &Store,
    parsed: &ParsedSign,
    target: Target<'_>,
    required: bool,
) -> Result<(), Denied> {
    if !parsed.is_single_use() {
        if required {
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
