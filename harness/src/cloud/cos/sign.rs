//! COS v4 signatures: `Base64( HMAC-SHA1(SecretKey, plain) || plain )`.
//!
//! The plain text is `key=value` pairs joined by `&` (`a` appid, `b` bucket, `k` SecretId, `e` expiry,
//! `t` signing time, `r` random, `f` fileid). SDKs disagree on the order (PHP `a,b,k,e,t,r,f`; Java,
//! Python and the official worked example `a,k,e,t,r,f,b`), so the parser takes the pairs in any order.
//!
//! This module depends only on `base64`, `hmac`, `sha1` and `percent-encoding`, so the fuzz crate can
//! compile it on its own. Parsing never panics, whatever the input.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha1::Sha1;

/// Length of the raw HMAC-SHA1 digest that prefixes the plain text.
pub const MAC_LEN: usize = 20;

/// Longest decoded signature accepted (real ones are ~150 bytes; a fileid adds a path).
pub const MAX_SIGN_LEN: usize = 6 * 1024;

/// Standard alphabet; padding optional because hand-copied signatures often lose it.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// PHP `rawurlencode` keeps only `A-Za-z0-9-_.~`; the fileid keeps `/` too.
const FILEID_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// A decoded signature. Field values are kept as the signer wrote them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSign {
    /// The HMAC-SHA1 the signer computed.
    pub mac: [u8; MAC_LEN],
    /// The signed plain text, byte for byte.
    pub plain: String,
    /// `a`
    pub appid: String,
    /// `b`; absent in some hand-made signatures, which then match no bucket.
    pub bucket: Option<String>,
    /// `k`
    pub secret_id: String,
    /// `e`: absolute expiry (UNIX s); 0 marks a single-use signature.
    pub expire: i64,
    /// `t`
    pub time: Option<i64>,
    /// `r`
    pub rand: Option<String>,
    /// `f`: empty for multi-use signatures.
    pub fileid: String,
}

impl ParsedSign {
    /// Single-use signatures have `e = 0` and are bound to one fileid.
    pub fn is_single_use(&self) -> bool {
        self.expire == 0
    }

    /// Whether `secret_key` produced this signature (constant-time compare).
    pub fn verify(&self, secret_key: &str) -> bool {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) else {
            return false;
        };
        mac.update(self.plain.as_bytes());
        mac.verify_slice(&self.mac).is_ok()
    }
}

/// Why a signature could not even be read. Every variant but `Empty` is blamed as an auth failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignParseError {
    #[error("signature is empty")]
    Empty,
    #[error("signature is longer than {MAX_SIGN_LEN} bytes")]
    TooLong,
    #[error("signature is not base64")]
    NotBase64,
    #[error("signature is shorter than its {MAC_LEN}-byte HMAC")]
    TooShort,
    #[error("signed text is not UTF-8")]
    NotText,
    #[error("signed text has a pair without '=': {0:?}")]
    BadPair(String),
    #[error("signed text repeats field {0:?}")]
    Duplicate(String),
    #[error("signed text lacks field {0:?}")]
    Missing(&'static str),
    #[error("field {0:?} is not a number")]
    BadNumber(&'static str),
}

/// Decodes and splits a signature as found in `Authorization` or `?sign=` (already URL-decoded).
///
/// Whitespace anywhere is dropped: the official document prints its examples with stray spaces.
pub fn parse(sign: &str) -> Result<ParsedSign, SignParseError> {
    // Generous for whitespace; the real limit applies to the decoded bytes below.
    if sign.len() > 4 * MAX_SIGN_LEN {
        return Err(SignParseError::TooLong);
    }
    let compact: String = sign.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(SignParseError::Empty);
    }
    let raw = LENIENT_BASE64
        .decode(compact.as_bytes())
        .map_err(|_| SignParseError::NotBase64)?;
    if raw.len() > MAX_SIGN_LEN {
        return Err(SignParseError::TooLong);
    }
    if raw.len() <= MAC_LEN {
        return Err(SignParseError::TooShort);
    }
    let (mac_bytes, plain_bytes) = raw.split_at(MAC_LEN);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(mac_bytes);
    let plain = std::str::from_utf8(plain_bytes)
        .map_err(|_| SignParseError::NotText)?
        .to_string();

    let mut fields: [Option<&str>; 7] = [None; 7];
    const NAMES: [&str; 7] = ["a", "b", "k", "e", "t", "r", "f"];
    for pair in plain.split('&') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| SignParseError::BadPair(truncate(pair)))?;
        // Unknown keys are tolerated: later SDKs added fields the v4 proxy ignored.
        if let Some(slot) = NAMES.iter().position(|n| *n == key) {
            if fields[slot].is_some() {
                return Err(SignParseError::Duplicate(key.to_string()));
            }
            fields[slot] = Some(value);
        }
    }
    let [a, b, k, e, t, r, f] = fields;
    let appid = a.ok_or(SignParseError::Missing("a"))?.to_string();
    let secret_id = k.ok_or(SignParseError::Missing("k"))?.to_string();
    let expire = e
        .ok_or(SignParseError::Missing("e"))?
        .parse::<i64>()
        .map_err(|_| SignParseError::BadNumber("e"))?;
    let time = match t {
        Some(t) => Some(
            t.parse::<i64>()
                .map_err(|_| SignParseError::BadNumber("t"))?,
        ),
        None => None,
    };
    Ok(ParsedSign {
        mac,
        appid,
        bucket: b.map(str::to_string),
        secret_id,
        expire,
        time,
        rand: r.map(str::to_string),
        fileid: f.unwrap_or("").to_string(),
        plain,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Signs `plain` the way every SDK does; used by tests and by tools that need a valid signature.
pub fn sign(secret_key: &str, plain: &str) -> String {
    let mut raw = Vec::with_capacity(MAC_LEN + plain.len());
    // HMAC accepts keys of any length, so this cannot fail.
    if let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()) {
        mac.update(plain.as_bytes());
        raw.extend_from_slice(&mac.finalize().into_bytes());
    }
    raw.extend_from_slice(plain.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The fields of a signature to build, in PHP order (`a,b,k,e,t,r,f`), the order the Mini LVB backend uses.
#[derive(Clone, Debug)]
pub struct SignRequest<'a> {
    pub appid: u64,
    pub bucket: &'a str,
    pub secret_id: &'a str,
    pub expire: i64,
    pub time: i64,
    pub rand: u32,
    pub fileid: &'a str,
}

impl SignRequest<'_> {
    pub fn plain(&self) -> String {
        format!(
            "a={}&b={}&k={}&e={}&t={}&r={}&f={}",
            self.appid, self.bucket, self.secret_id, self.expire, self.time, self.rand, self.fileid
        )
    }

    pub fn sign(&self, secret_key: &str) -> String {
        sign(secret_key, &self.plain())
    }
}

/// `/{appid}/{bucket}{path}` with every character but `/` and the unreserved ones percent-encoded.
pub fn fileid(appid: u64, bucket: &str, path: &str) -> String {
    let raw = format!("/{appid}/{bucket}{path}");
    utf8_percent_encode(&raw, FILEID_KEEP).to_string()
}

/// A stored path as it appears in URLs: every character but `/` and the unreserved ones percent-encoded.
pub fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, FILEID_KEEP).to_string()
}

/// Whether a single-use signature's `f` names this object.
///
/// Compared after percent-decoding, since SDKs differ in what they escape; the Python SDK's download
/// form (`f` = the path without `/{appid}/{bucket}`) is accepted too.
pub fn fileid_matches(f: &str, appid: u64, bucket: &str, path: &str) -> bool {
    let decoded = percent_decode_str(f).decode_utf8_lossy();
    let full = format!("/{appid}/{bucket}{path}");
    decoded == full || decoded == path
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "bLcPnl88WU30VY57ipRhSePfPdOfSruK";

    #[test]
    fn official_multi_use_vector_parses_and_verifies() {
        let doc = "vxzLR6vzMNhBMUVzMTWKUB+LMeVhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzc5OTU3MDQmdD0xNDM3OTk1NjQ0JnI9MjA4MTY2MDQyMSZmPSZiPW5ld2J1Y2tldA==";
        let parsed = parse(doc).unwrap();
        assert_eq!(parsed.appid, "200001");
        assert_eq!(parsed.bucket.as_deref(), Some("newbucket"));
        assert_eq!(parsed.expire, 1437995704);
        assert_eq!(
            hex::encode(parsed.mac),
            "bf1ccb47abf330d84131457331358a501f8b31e5"
        );
        assert!(parsed.verify(KEY));
        assert!(!parsed.verify("bLcPnl88WU30VY57ipRhSePfPdOfSruk"));
        assert_eq!(sign(KEY, &parsed.plain), doc);
    }

    #[test]
    fn stray_spaces_and_missing_padding_are_tolerated() {
        let spaced = "vxzLR6vzMNhBMUVzMTWKUB+LMeVhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0 eHFBdiZlPTE0Mzc5OTU3MDQmdD0xNDM3OTk1NjQ0JnI9MjA4MTY2MDQyMSZmPSZiPW5ld2J1Y2tldA";
        assert!(parse(spaced).unwrap().verify(KEY));
    }

    #[test]
    fn parse_errors_name_the_fault() {
        assert_eq!(parse("  "), Err(SignParseError::Empty));
        assert_eq!(parse("!!!"), Err(SignParseError::NotBase64));
        assert_eq!(parse("AAAA"), Err(SignParseError::TooShort));
        let no_k = sign(KEY, "a=1&b=x&e=0");
        assert_eq!(parse(&no_k), Err(SignParseError::Missing("k")));
        let dup = sign(KEY, "a=1&a=2&k=x&e=0");
        assert_eq!(parse(&dup), Err(SignParseError::Duplicate("a".into())));
        let bad_e = sign(KEY, "a=1&k=x&e=soon");
        assert_eq!(parse(&bad_e), Err(SignParseError::BadNumber("e")));
    }

    #[test]
    fn fileid_encodes_all_but_slash() {
        assert_eq!(
            fileid(200001, "newbucket", "/a b/c+d.jpg"),
            "/200001/newbucket/a%20b/c%2Bd.jpg"
        );
        assert!(fileid_matches(
            "/200001/newbucket/a%20b/c%2Bd.jpg",
            200001,
            "newbucket",
            "/a b/c+d.jpg"
        ));
        assert!(fileid_matches(
            "/a b/c+d.jpg",
            200001,
            "newbucket",
            "/a b/c+d.jpg"
        ));
        assert!(!fileid_matches(
            "/200001/newbucket/other.jpg",
            200001,
            "newbucket",
            "/a.jpg"
        ));
    }
}
