//! The signatures the backend produces or checks: push URL hotlink protection (txTime/txSecret), the COS v4
//! multi-use signature of `GetCOSSign`, and the LVB API/callback sign `md5(key + t)`.

use base64::Engine as _;
use hmac::Mac;
use md5::{Digest, Md5};

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// txTime as the original writes it: lowercase hex, no padding (PHP `dechex`).
pub fn tx_time(expiry_unix: i64) -> String {
    format!("{:x}", expiry_unix.max(0))
}

/// `txSecret = md5(KEY + stream_id + txTime)`, with txTime exactly as it appears in the URL.
pub fn tx_secret(push_key: &str, stream_id: &str, tx_time: &str) -> String {
    md5_hex(format!("{push_key}{stream_id}{tx_time}").as_bytes())
}

/// LVB callback and common_access sign: `md5(key + t)` with `t` as its decimal text.
pub fn api_sign(key: &str, t: &str) -> String {
    md5_hex(format!("{key}{t}").as_bytes())
}

/// Plain text of the COS v4 multi-use signature in the original's field order.
pub fn cos_v4_plain(
    appid: i64,
    bucket: &str,
    secret_id: &str,
    expiry: i64,
    now: i64,
    rand: u32,
) -> String {
    format!("a={appid}&b={bucket}&k={secret_id}&e={expiry}&t={now}&r={rand}&f=")
}

/// `Base64(HMAC-SHA1(secret_key, plain) || plain)`, standard alphabet with padding.
pub fn cos_v4_sign(secret_key: &str, plain: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty digest defensively.
    let digest = match hmac::Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(plain.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    let mut raw = digest;
    raw.extend_from_slice(plain.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_sign_official_vector() {
        // tencent-cloud reference §6.1 (common_access doc example).
        assert_eq!(
            api_sign("5d41402abc4b2a76b9719d911017c592", "1471850187"),
            "b17971b51ba0fe5916ddcd96692e9fb3"
        );
    }

    #[test]
    fn tx_secret_vectors() {
        let key = "5d41402abc4b2a76b9719d911017c592";
        assert_eq!(
            tx_secret(key, "8888_test001", "579ACB15"),
            "947e47a184f5951d47c976d31a191f60"
        );
        assert_eq!(
            tx_secret(key, "8888_test001", "579acb15"),
            "55c9c38b9d13006b377b3dbecde75f1f"
        );
        assert_eq!(
            tx_secret(key, "8888_test001", "5867D600"),
            "0a4c83fc6143a48b20f1eacf659a7cbf"
        );
        assert_eq!(
            tx_secret(key, "8888_test001", "579C1B69"),
            "4a6b44fc8e5b116127b7e21d270334fb"
        );
    }

    #[test]
    fn tx_time_is_lowercase_unpadded_hex() {
        assert_eq!(tx_time(1469762325), "579acb15");
        assert_eq!(tx_time(1483200000), "5867d600");
        assert_eq!(tx_time(255), "ff");
    }

    #[test]
    fn cos_v4_official_vectors() {
        let sk = "bLcPnl88WU30VY57ipRhSePfPdOfSruK";
        // Official multi-use example (Java/doc field order), embedded plain text.
        let plain = "a=200001&k=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&e=1437995704&t=1437995644&r=2081660421&f=&b=newbucket";
        assert_eq!(
            cos_v4_sign(sk, plain),
            "vxzLR6vzMNhBMUVzMTWKUB+LMeVhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzc5OTU3MDQmdD0xNDM3OTk1NjQ0JnI9MjA4MTY2MDQyMSZmPSZiPW5ld2J1Y2tldA=="
        );
        let single = "a=200001&k=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&e=0&t=1437995645&r=1166710792&f=/200001/newbucket/tencent_test.jpg&b=newbucket";
        assert_eq!(
            cos_v4_sign(sk, single),
            "f11dDSuw86CR02Ko1INzsZstbRlhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTAmdD0xNDM3OTk1NjQ1JnI9MTE2NjcxMDc5MiZmPS8yMDAwMDEvbmV3YnVja2V0L3RlbmNlbnRfdGVzdC5qcGcmYj1uZXdidWNrZXQ="
        );
    }

    #[test]
    fn cos_v4_php_order_vector() {
        let plain = cos_v4_plain(
            200001,
            "newbucket",
            "AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv",
            1438669115,
            1436077115,
            11162,
        );
        assert_eq!(
            plain,
            "a=200001&b=newbucket&k=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&e=1438669115&t=1436077115&r=11162&f="
        );
        assert_eq!(
            cos_v4_sign("bLcPnl88WU30VY57ipRhSePfPdOfSruK", &plain),
            "5bIObv9KXNcITrcVNRGCLG3K6xxhPTIwMDAwMSZiPW5ld2J1Y2tldCZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzg2NjkxMTUmdD0xNDM2MDc3MTE1JnI9MTExNjImZj0="
        );
    }
}
