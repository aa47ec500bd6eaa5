//! Fuzzes the COS v4 signature parser: it must never panic, and whatever it accepts must survive a
//! re-sign round trip with the same fields.
//!
//! Run: `cargo +nightly fuzz run cos_sign -- -max_total_time=60` from `fuzz/`.

#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;

// The parser is compiled straight from the harness sources; it depends only on small crates.
#[allow(dead_code)]
#[path = "../../harness/src/cloud/cos/sign.rs"]
mod sign;

fuzz_target!(|data: &[u8]| {
    // The raw bytes as a header value.
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    // The raw bytes as the decoded signature, so the plain-text parser sees arbitrary input too.
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    check(&encoded);
});

fn check(input: &str) {
    let Ok(parsed) = sign::parse(input) else {
        return;
    };
    let _ = parsed.verify("bLcPnl88WU30VY57ipRhSePfPdOfSruK");
    let _ = sign::fileid_matches(&parsed.fileid, 200001, "newbucket", "/a b.jpg");
    let again = sign::parse(&sign::sign("k", &parsed.plain)).expect("a re-signed plain text parses");
    assert_eq!(again.plain, parsed.plain);
    assert_eq!(again.appid, parsed.appid);
    assert_eq!(again.bucket, parsed.bucket);
    assert_eq!(again.secret_id, parsed.secret_id);
    assert_eq!(again.expire, parsed.expire);
    assert_eq!(again.fileid, parsed.fileid);
    assert!(again.verify("k"));
}
