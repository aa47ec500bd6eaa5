//! The IM login check: a request (`sdkappid`, `accountType`, `identifier`, `appidAt3rd`, `userSig`)
//! against the console and the clock, answered with the server's error code and words.
//!
//! Order of checks: app exists (70020) → account type (70012) → sig readable (70002/70003) → key for
//! the sig's generation exists (70016), then per generation (§8.2, the C++ verifiers):
//! - v1: ECDSA signature (70009) first, then identifier (70013), sdk_appid (70014), expiry (70001),
//!   then `TLS.account_type` (70012) and `TLS.appid_at_3rd` (70011). So a sig made with another key
//!   that is also expired reports the signature failure.
//! - v2: identifier (70013) before sdkappid (70014), then expiry (70001), then the HMAC (70009).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::console::ImApp;
use super::usersig::{self, DecodeError, UserSig, V1PublicKey};

/// The console's v1 public key, parsed once per distinct PEM (parsing costs as much as a third of a
/// verification). Bounded: a scenario mutating keys cannot grow it without limit.
fn public_key(pem: &str) -> Option<V1PublicKey> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<V1PublicKey>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(key) = cache.get(pem) {
        return key.clone();
    }
    if cache.len() >= 64 {
        cache.clear();
    }
    let key = usersig::v1_public_key(pem);
    cache.insert(pem.to_string(), key.clone());
    key
}

/// Server error codes of IM login, with the words the journal shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImError {
    pub code: i64,
    /// Short, deterministic words for the journal's outcome.
    pub reason: &'static str,
    /// The `ErrorInfo` the client gets, with the values involved.
    pub info: String,
}

impl ImError {
    pub fn new(code: i64, reason: &'static str, info: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            info: info.into(),
        }
    }
}

pub const USERSIG_EXPIRED: i64 = 70001;
pub const USERSIG_EMPTY: i64 = 70002;
pub const USERSIG_MALFORMED: i64 = 70003;
/// The generic "UserSig check failed"; kept for callers, no longer raised for a known field (§8.2).
pub const USERSIG_FIELD_MISMATCH: i64 = 70005;
pub const USERSIG_BAD_SIGNATURE: i64 = 70009;
/// §8.2: the sig's (or the request's) appid_at_3rd is not the app's.
pub const APPID_AT_3RD_MISMATCH: i64 = 70011;
/// §8.2: "sig 中账号类型与请求时的账号类型不匹配", a wrong accountType.
pub const ACCOUNT_TYPE_MISMATCH: i64 = 70012;
/// §8.2: no verification method for this appid + account type: the console holds no key of either
/// generation for the app (one generation's key missing is 70016).
pub const NO_VERIFY_METHOD: i64 = 70015;
pub const IDENTIFIER_MISMATCH: i64 = 70013;
pub const SDKAPPID_MISMATCH: i64 = 70014;
pub const KEY_NOT_FOUND: i64 = 70016;
pub const SDKAPPID_NOT_FOUND: i64 = 70020;
pub const BAD_PARAMETERS: i64 = 70402;
pub const BAD_URL: i64 = 60002;
pub const BAD_JSON: i64 = 60003;

/// One IM login attempt, as the client sends it.
#[derive(Clone, Debug)]
pub struct LoginRequest<'a> {
    pub sdkappid: u64,
    pub account_type: &'a str,
    pub identifier: &'a str,
    pub appid_at_3rd: &'a str,
    pub user_sig: &'a str,
}

/// What a successful check learnt about the sig (for the journal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub generation: &'static str,
    pub expires_at: i64,
}

/// Checks one login against the app (`None` when the console has no app with that sdkappid).
pub fn check(app: Option<&ImApp>, req: &LoginRequest<'_>, now: i64) -> Result<Accepted, ImError> {
    let app = app.ok_or_else(|| {
        ImError::new(
            SDKAPPID_NOT_FOUND,
            "sdkappid not found",
            format!("sdkappid {} not found", req.sdkappid),
        )
    })?;
    // §8.2: a wrong accountType is 70012, not the generic 70005.
    if req.account_type != app.account_type {
        return Err(ImError::new(
            ACCOUNT_TYPE_MISMATCH,
            "account type not match",
            format!(
                "account_type not match ({})app and ({})req",
                app.account_type, req.account_type
            ),
        ));
    }
    if app.public_key_pem.trim().is_empty() && app.secret_key.is_empty() {
        return Err(ImError::new(
            NO_VERIFY_METHOD,
            "no verification method",
            format!(
                "no verification method for sdkappid {} and account type {}",
                app.sdkappid, app.account_type
            ),
        ));
    }
    let sig = usersig::decode(req.user_sig).map_err(decode_error)?;
    match &sig {
        UserSig::V1(_) if public_key(&app.public_key_pem).is_none() => {
            return Err(ImError::new(
                KEY_NOT_FOUND,
                "public key not found",
                format!("public key of sdkappid {} not found", app.sdkappid),
            ));
        }
        UserSig::V2(_) if app.secret_key.is_empty() => {
            return Err(ImError::new(
                KEY_NOT_FOUND,
                "secret key not found",
                format!("secret key of sdkappid {} not found", app.sdkappid),
            ));
        }
        _ => {}
    }
    match &sig {
        UserSig::V1(v1) => {
            // §8.2: the C++ v1 verifier checks the ECDSA signature before any field.
            let valid = public_key(&app.public_key_pem)
                .is_some_and(|key| usersig::v1_signature_valid(v1, &key));
            if !valid {
                return Err(bad_signature());
            }
            check_identifier(&sig, req)?;
            check_sdkappid(&sig, req)?;
        }
        UserSig::V2(_) => {
            // §8.2: the C++ v2 verifier checks identifier before sdkappid.
            check_identifier(&sig, req)?;
            check_sdkappid(&sig, req)?;
        }
    }
    let Some((time, expire)) = sig.validity() else {
        return Err(ImError::new(
            USERSIG_MALFORMED,
            "usersig check failed",
            "TLS.time or TLS.expire_after unreadable",
        ));
    };
    if sig.is_expired(now) {
        return Err(ImError::new(
            USERSIG_EXPIRED,
            "usersig expired",
            format!("timeout {time} + {expire} < {now}"),
        ));
    }
    match &sig {
        UserSig::V1(v1) => {
            // GAP: newer SDKs write "0" (or nothing) in these two fields, meaning "not bound"; a value
            // other than that must match the request: 70012 / 70011 (§8.2).
            if !unbound(&v1.account_type) && v1.account_type != req.account_type {
                return Err(ImError::new(
                    ACCOUNT_TYPE_MISMATCH,
                    "account type not match",
                    format!(
                        "account_type not match ({})sig and ({})req",
                        v1.account_type, req.account_type
                    ),
                ));
            }
            if let Some(appid) = &v1.appid_at_3rd
                && !unbound(appid)
                && appid != req.appid_at_3rd
            {
                return Err(ImError::new(
                    APPID_AT_3RD_MISMATCH,
                    "appid_at_3rd not match",
                    format!(
                        "appid_at_3rd not match ({appid})sig and ({})req",
                        req.appid_at_3rd
                    ),
                ));
            }
        }
        UserSig::V2(v2) => {
            if !usersig::v2_signature_valid(v2, &app.secret_key) {
                return Err(bad_signature());
            }
        }
    }
    Ok(Accepted {
        generation: sig.generation(),
        expires_at: time.saturating_add(expire),
    })
}

fn bad_signature() -> ImError {
    ImError::new(
        USERSIG_BAD_SIGNATURE,
        "sig not match",
        "sig not match: verification with the app's key failed",
    )
}

fn check_identifier(sig: &UserSig, req: &LoginRequest<'_>) -> Result<(), ImError> {
    if sig.identifier() != req.identifier {
        return Err(ImError::new(
            IDENTIFIER_MISMATCH,
            "identifier not match",
            format!(
                "identifier not match ({})sig and ({})req",
                sig.identifier(),
                req.identifier
            ),
        ));
    }
    Ok(())
}

fn check_sdkappid(sig: &UserSig, req: &LoginRequest<'_>) -> Result<(), ImError> {
    if sig.sdkappid() != Some(req.sdkappid) {
        let in_sig = match sig {
            UserSig::V1(s) => s.sdk_appid.clone(),
            UserSig::V2(s) => s.sdkappid.to_string(),
        };
        return Err(ImError::new(
            SDKAPPID_MISMATCH,
            "sdk appid not match",
            format!(
                "sdk_appid not match ({in_sig})sig and ({})req",
                req.sdkappid
            ),
        ));
    }
    Ok(())
}

fn unbound(value: &str) -> bool {
    value.is_empty() || value == "0"
}

/// Maps a decoding failure to the login code: empty is 70002, anything unreadable 70003.
pub fn decode_error(err: DecodeError) -> ImError {
    match err {
        DecodeError::Empty => ImError::new(USERSIG_EMPTY, "usersig empty", "usersig is empty"),
        other => ImError::new(
            USERSIG_MALFORMED,
            "usersig check failed",
            format!("usersig check failed: {other}"),
        ),
    }
}
