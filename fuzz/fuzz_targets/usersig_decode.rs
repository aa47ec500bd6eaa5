//! Fuzzes the UserSig decoder and the login check behind it: any text must give a sig or an error,
//! never a panic, and a decoded sig must survive the full check against an app with both keys.
//!
//! The IM modules are compiled from the harness sources as they are (same file, same `super::`
//! layout), so the fuzzer builds without the harness's HTTP, database and container dependencies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

mod im;

use im::console::ImApp;
use im::login::{self, LoginRequest};
use im::usersig;

/// The healthy tenant's IM app (its public half; the fuzzer never signs).
fn app() -> &'static ImApp {
    static APP: OnceLock<ImApp> = OnceLock::new();
    APP.get_or_init(|| ImApp {
        sdkappid: 1400012345,
        account_type: "8808".into(),
        secret_key: "9f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        private_key_pem: String::new(),
        public_key_pem: "-----BEGIN PUBLIC KEY-----\n\
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdobO266zfK/TqzEf7F2Iqvh2KTxl\n\
            C+3W9mFD/2eEVKFfU8vKGPXOEPGb35ie98ZaHwzN/kRC0F7wdLCa5M9AAQ==\n\
            -----END PUBLIC KEY-----\n"
            .into(),
    })
}

fuzz_target!(|data: &[u8]| {
    exercise(&String::from_utf8_lossy(data));
    // The raw bytes, wrapped in zlib and the base64 variant, reach the JSON and signature layers too.
    exercise(&usersig::base64_url_encode(&stored_zlib(data)));
});

/// Decodes `text` and, when it is a UserSig, runs the whole login check on it.
fn exercise(text: &str) {
    let Ok(sig) = usersig::decode(text) else {
        return;
    };
    let app = app();
    let req = LoginRequest {
        sdkappid: app.sdkappid,
        account_type: &app.account_type,
        identifier: sig.identifier(),
        appid_at_3rd: "",
        user_sig: text,
    };
    let _ = login::check(Some(app), &req, 1_700_000_000);
}

/// Stored (uncompressed) zlib framing of `data`, so arbitrary bytes become a valid zlib stream.
fn stored_zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(0xffff).collect()
    };
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i == last));
        let len = chunk.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend(adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}
