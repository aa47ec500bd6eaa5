//! UserSig, the ticket an IM client logs in with: decoding, verification and issuing, v1 and v2.
//!
//! Both generations share the envelope: a JSON object, zlib-compressed, base64-encoded with the
//! URL-safe substitutions `+`→`*`, `/`→`-`, `=`→`_`.
//! - **v1** (TLS sig API): every JSON value is a string; `TLS.sig` is the standard base64 of the DER
//!   ECDSA-SHA256 (P-256) signature over `key:value\n` lines in the fixed order `TLS.appid_at_3rd`
//!   (only if present), `TLS.account_type`, `TLS.identifier`, `TLS.sdk_appid`, `TLS.time`,
//!   `TLS.expire_after`, then `TLS.userbuf` if present.
//! - **v2** (TLSSigAPIv2, `"TLS.ver":"2.0"`): numbers for `TLS.sdkappid`, `TLS.time`, `TLS.expire`;
//!   `TLS.sig` is the standard base64 of HMAC-SHA256 keyed with the console secret key (its UTF-8
//!   bytes) over `TLS.identifier/sdkappid/time/expire[/userbuf]` lines.
//!
//! SDKs compress at different levels, so verification always decodes and never compares bytes.
//! Everything here is pure (the caller passes `now`) so the cloud clock, tests and the fuzzer share it.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use hmac::Mac;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};
use serde_json::{Map, Value};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Longest UserSig text accepted. Real ones are 200–500 characters; a guard against huge inputs.
pub const MAX_SIG_LEN: usize = 8 * 1024;
/// Largest decompressed JSON accepted (a guard against zlib bombs).
pub const MAX_JSON_LEN: usize = 16 * 1024;
/// v1 `TLS.version` written when the cloud issues a v1 sig (the value of the 2015–2017 python API).
pub const V1_VERSION: &str = "20151204";
/// Default validity of an issued UserSig: 180 days, as in every SDK.
pub const DEFAULT_EXPIRE: i64 = 180 * 86400;

/// Why a UserSig could not even be read; mirrors the TLS verifier's CHECK_ERR 1–7 classes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("sig empty")]
    Empty,
    #[error("sig too long ({0} bytes)")]
    TooLong(usize),
    #[error("base64 decode failed")]
    Base64,
    #[error("zlib uncompress failed")]
    Zlib,
    #[error("json parse failed")]
    Json,
    #[error("TLS.sig base64 decode failed")]
    SigBase64,
    #[error("field {0} missing or of the wrong type")]
    Field(&'static str),
}

/// A decoded UserSig, before any check against keys, requests or time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserSig {
    V1(SigV1),
    V2(SigV2),
}

/// The fields of a v1 (ECDSA) UserSig; all strings on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV1 {
    pub appid_at_3rd: Option<String>,
    pub account_type: String,
    pub identifier: String,
    pub sdk_appid: String,
    /// Decimal UNIX seconds, or the older `YYYY-MM-DDTHH:MM:SS+08:00` form.
    pub time: String,
    pub expire_after: String,
    pub version: Option<String>,
    pub userbuf: Option<String>,
    /// DER signature bytes (decoded from `TLS.sig`).
    pub signature: Vec<u8>,
}

/// The fields of a v2 (HMAC-SHA256) UserSig.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigV2 {
    pub identifier: String,
    pub sdkappid: u64,
    pub time: i64,
    pub expire: i64,
    pub userbuf: Option<String>,
    /// HMAC bytes (decoded from `TLS.sig`).
    pub signature: Vec<u8>,
}

impl UserSig {
    pub fn identifier(&self) -> &str {
        match self {
            UserSig::V1(s) => &s.identifier,
            UserSig::V2(s) => &s.identifier,
        }
    }

    /// The sdkappid the sig names; `None` when a v1 `TLS.sdk_appid` is not a number.
    pub fn sdkappid(&self) -> Option<u64> {
        match self {
            UserSig::V1(s) => s.sdk_appid.parse().ok(),
            UserSig::V2(s) => Some(s.sdkappid),
        }
    }

    /// `"v1"` or `"v2"`, for journal lines.
    pub fn generation(&self) -> &'static str {
        match self {
            UserSig::V1(_) => "v1",
            UserSig::V2(_) => "v2",
        }
    }

    /// Issue time and validity in seconds; `None` when a v1 sig carries unreadable values.
    pub fn validity(&self) -> Option<(i64, i64)> {
        match self {
            UserSig::V1(s) => Some((parse_v1_time(&s.time)?, s.expire_after.parse().ok()?)),
            UserSig::V2(s) => Some((s.time, s.expire)),
        }
    }

    /// Expired when `now > time + expire` (both generations' verifiers use this comparison).
    pub fn is_expired(&self, now: i64) -> bool {
        match self.validity() {
            Some((time, expire)) => time.saturating_add(expire) < now,
            None => true,
        }
    }
}

/// Base64 with Tencent's substitutions (`+`→`*`, `/`→`-`, `=`→`_`).
pub fn base64_url_encode(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

/// Inverse of [`base64_url_encode`]; also accepts the plain alphabet, as the official decoders do.
pub fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            other => other,
        })
        .collect();
    STANDARD.decode(standard.as_bytes()).ok()
}

/// Reads a UserSig: base64 variant → zlib → JSON → typed fields.
pub fn decode(text: &str) -> Result<UserSig, DecodeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    if text.len() > MAX_SIG_LEN {
        return Err(DecodeError::TooLong(text.len()));
    }
    let compressed = base64_url_decode(text).ok_or(DecodeError::Base64)?;
    let mut json = Vec::new();
    let read = ZlibDecoder::new(compressed.as_slice())
        .take(MAX_JSON_LEN as u64 + 1)
        .read_to_end(&mut json);
    if read.is_err() || json.is_empty() {
        return Err(DecodeError::Zlib);
    }
    if json.len() > MAX_JSON_LEN {
        return Err(DecodeError::TooLong(json.len()));
    }
    let doc: Map<String, Value> = serde_json::from_slice(&json).map_err(|_| DecodeError::Json)?;
    if doc.get("TLS.ver").and_then(Value::as_str) == Some("2.0") {
        decode_v2(&doc).map(UserSig::V2)
    } else {
        decode_v1(&doc).map(UserSig::V1)
    }
}

fn string_field(doc: &Map<String, Value>, key: &'static str) -> Result<String, DecodeError> {
    doc.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(DecodeError::Field(key))
}

fn optional_string(
    doc: &Map<String, Value>,
    key: &'static str,
) -> Result<Option<String>, DecodeError> {
    match doc.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DecodeError::Field(key)),
    }
}

fn number_field(doc: &Map<String, Value>, key: &'static str) -> Result<i64, DecodeError> {
    doc.get(key)
        .and_then(Value::as_i64)
        .ok_or(DecodeError::Field(key))
}

fn decode_v1(doc: &Map<String, Value>) -> Result<SigV1, DecodeError> {
    let sig_text = string_field(doc, "TLS.sig")?;
    let signature = STANDARD
        .decode(sig_text.as_bytes())
        .map_err(|_| DecodeError::SigBase64)?;
    Ok(SigV1 {
        appid_at_3rd: optional_string(doc, "TLS.appid_at_3rd")?,
        account_type: string_field(doc, "TLS.account_type")?,
        identifier: string_field(doc, "TLS.identifier")?,
        sdk_appid: string_field(doc, "TLS.sdk_appid")?,
        time: string_field(doc, "TLS.time")?,
        expire_after: string_field(doc, "TLS.expire_after")?,
        version: optional_string(doc, "TLS.version")?,
        userbuf: optional_string(doc, "TLS.userbuf")?,
        signature,
    })
}

fn decode_v2(doc: &Map<String, Value>) -> Result<SigV2, DecodeError> {
    let sig_text = string_field(doc, "TLS.sig")?;
    let signature = STANDARD
        .decode(sig_text.as_bytes())
        .map_err(|_| DecodeError::SigBase64)?;
    let sdkappid = doc
        .get("TLS.sdkappid")
        .and_then(Value::as_u64)
        .ok_or(DecodeError::Field("TLS.sdkappid"))?;
    Ok(SigV2 {
        identifier: string_field(doc, "TLS.identifier")?,
        sdkappid,
        time: number_field(doc, "TLS.time")?,
        expire: number_field(doc, "TLS.expire")?,
        userbuf: optional_string(doc, "TLS.userbuf")?,
        signature,
    })
}

/// `TLS.time` of v1: decimal seconds, or the older local-time form the verifier still accepts.
fn parse_v1_time(text: &str) -> Option<i64> {
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// The exact text a v1 signature covers.
pub fn v1_signed_content(sig: &SigV1) -> String {
    let mut content = String::new();
    if let Some(appid) = &sig.appid_at_3rd {
        content.push_str(&format!("TLS.appid_at_3rd:{appid}\n"));
    }
    content.push_str(&format!(
        "TLS.account_type:{}\nTLS.identifier:{}\nTLS.sdk_appid:{}\nTLS.time:{}\nTLS.expire_after:{}\n",
        sig.account_type, sig.identifier, sig.sdk_appid, sig.time, sig.expire_after
    ));
    if let Some(userbuf) = &sig.userbuf {
        content.push_str(&format!("TLS.userbuf:{userbuf}\n"));
    }
    content
}

/// The exact text a v2 signature covers.
pub fn v2_signed_content(
    identifier: &str,
    sdkappid: u64,
    time: i64,
    expire: i64,
    userbuf: Option<&str>,
) -> String {
    let mut content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(userbuf) = userbuf {
        content.push_str(&format!("TLS.userbuf:{userbuf}\n"));
    }
    content
}

fn hmac_v2(secret_key: &str, content: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so construction cannot fail; an empty key still yields a MAC.
    let mut mac = match HmacSha256::new_from_slice(secret_key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(content.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `TLS.sig` of a v2 UserSig, standard base64 (the §6.4 vector's `1Z5Pn…V3M=`).
pub fn v2_signature(
    secret_key: &str,
    identifier: &str,
    sdkappid: u64,
    time: i64,
    expire: i64,
    userbuf: Option<&str>,
) -> String {
    STANDARD.encode(hmac_v2(
        secret_key,
        &v2_signed_content(identifier, sdkappid, time, expire, userbuf),
    ))
}

/// Does the v2 HMAC match? Compared in constant time.
pub fn v2_signature_valid(sig: &SigV2, secret_key: &str) -> bool {
    let content = v2_signed_content(
        &sig.identifier,
        sig.sdkappid,
        sig.time,
        sig.expire,
        sig.userbuf.as_deref(),
    );
    let Ok(mut mac) = HmacSha256::new_from_slice(secret_key.as_bytes()) else {
        return false;
    };
    mac.update(content.as_bytes());
    mac.verify_slice(&sig.signature).is_ok()
}

/// A console's v1 public key, ready to verify with.
///
/// `p256` reads the PEM; `ring` verifies, because its P-256 arithmetic is about five times faster
/// than `p256` 0.14's here (see docs/benchmarks.md), and logins verify far more often than they parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V1PublicKey {
    /// Uncompressed SEC1 point (65 bytes), the form `ring` takes.
    sec1: Box<[u8]>,
}

impl From<&VerifyingKey> for V1PublicKey {
    fn from(key: &VerifyingKey) -> Self {
        Self {
            sec1: key.to_encoded_point(false).as_bytes().into(),
        }
    }
}

/// Does the v1 ECDSA signature (DER) match the public key?
pub fn v1_signature_valid(sig: &SigV1, key: &V1PublicKey) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, &key.sec1)
        .verify(v1_signed_content(sig).as_bytes(), &sig.signature)
        .is_ok()
}

/// Reads the console's v1 public key (SPKI PEM); `None` when absent or unreadable.
pub fn v1_public_key(pem: &str) -> Option<V1PublicKey> {
    VerifyingKey::from_public_key_pem(pem.trim())
        .ok()
        .map(|key| V1PublicKey::from(&key))
}

/// Reads the console's v1 private key (PKCS#8 PEM); `None` when absent or unreadable.
pub fn v1_private_key(pem: &str) -> Option<SigningKey> {
    SigningKey::from_pkcs8_pem(pem.trim()).ok()
}

fn encode_document(doc: &Map<String, Value>) -> String {
    let json = Value::Object(doc.clone()).to_string();
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = std::io::Write::write_all(&mut encoder, json.as_bytes());
    let compressed = encoder.finish().unwrap_or_default();
    base64_url_encode(&compressed)
}

/// Issues a v2 UserSig as TLSSigAPIv2 does.
pub fn issue_v2(
    secret_key: &str,
    sdkappid: u64,
    identifier: &str,
    time: i64,
    expire: i64,
) -> String {
    let mut doc = Map::new();
    doc.insert("TLS.ver".into(), "2.0".into());
    doc.insert("TLS.identifier".into(), identifier.into());
    doc.insert("TLS.sdkappid".into(), sdkappid.into());
    doc.insert("TLS.expire".into(), expire.into());
    doc.insert("TLS.time".into(), time.into());
    doc.insert(
        "TLS.sig".into(),
        v2_signature(secret_key, identifier, sdkappid, time, expire, None).into(),
    );
    encode_document(&doc)
}

/// What a v1 UserSig states; the cloud signs it with the app's private key.
#[derive(Clone, Debug)]
pub struct V1Claims<'a> {
    pub account_type: &'a str,
    pub identifier: &'a str,
    pub appid_at_3rd: &'a str,
    pub sdkappid: u64,
    pub time: i64,
    pub expire_after: i64,
}

/// Issues a v1 UserSig (ECDSA-SHA256, deterministic nonces) as the TLS sig API does.
pub fn issue_v1(key: &SigningKey, claims: &V1Claims<'_>) -> String {
    let fields = SigV1 {
        appid_at_3rd: Some(claims.appid_at_3rd.to_string()),
        account_type: claims.account_type.to_string(),
        identifier: claims.identifier.to_string(),
        sdk_appid: claims.sdkappid.to_string(),
        time: claims.time.to_string(),
        expire_after: claims.expire_after.to_string(),
        version: Some(V1_VERSION.to_string()),
        userbuf: None,
        signature: Vec::new(),
    };
    let der: DerSignature = key.sign(v1_signed_content(&fields).as_bytes());
    let mut doc = Map::new();
    doc.insert("TLS.account_type".into(), fields.account_type.into());
    doc.insert("TLS.identifier".into(), fields.identifier.into());
    doc.insert("TLS.appid_at_3rd".into(), claims.appid_at_3rd.into());
    doc.insert("TLS.sdk_appid".into(), fields.sdk_appid.into());
    doc.insert("TLS.expire_after".into(), fields.expire_after.into());
    doc.insert("TLS.version".into(), V1_VERSION.into());
    doc.insert("TLS.time".into(), fields.time.into());
    doc.insert("TLS.sig".into(), STANDARD.encode(der.as_bytes()).into());
    encode_document(&doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

    #[test]
    fn the_computed_v2_signature_matches_the_reference() {
        assert_eq!(
            v2_signature(
                VECTOR_KEY, "xiaojun", 1400000000, 1600000000, 15552000, None
            ),
            "1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M="
        );
    }

    #[test]
    fn the_base64_variant_round_trips_the_special_characters() {
        let bytes = [0xfb, 0xff, 0xbf, 0x00];
        let text = base64_url_encode(&bytes);
        assert!(text.contains('-') && text.contains('_'), "{text}");
        assert_eq!(base64_url_decode(&text), Some(bytes.to_vec()));
    }

    #[test]
    fn old_style_v1_times_are_read() {
        assert_eq!(parse_v1_time("2016-07-29T11:18:45+08:00"), Some(1469762325));
        assert_eq!(parse_v1_time("1469762325"), Some(1469762325));
        assert_eq!(parse_v1_time("yesterday"), None);
    }
}
