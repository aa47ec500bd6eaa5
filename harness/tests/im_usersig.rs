//! UserSig decoding and verification without the network: the reference vector, v1 sign-then-verify,
//! every login error code for its reason, malformed sigs, and sigs made by the official Python packages.

use std::path::PathBuf;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::ZlibEncoder;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use tcharness::cloud::Tenant;
use tcharness::cloud::im::console::ImApp;
use tcharness::cloud::im::login::{self, LoginRequest};
use tcharness::cloud::im::usersig::{self, DecodeError, UserSig, V1Claims};

const VECTOR_APPID: u64 = 1400000000;
const VECTOR_KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const VECTOR_TIME: i64 = 1600000000;
const VECTOR_SIG: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFEzNPXFmekgGwyjTAPy0l2y3BNL01KDMwPynUorUjwizV29jb1CUhyzfAMsjYNNvMvCjH1tlWoBGhAzGw__";

fn healthy_app() -> ImApp {
    Tenant::healthy().im.apps[0].clone()
}

fn vector_app() -> ImApp {
    ImApp {
        sdkappid: VECTOR_APPID,
        account_type: "0".into(),
        secret_key: VECTOR_KEY.into(),
        private_key_pem: String::new(),
        public_key_pem: String::new(),
    }
}

fn request<'a>(app: &'a ImApp, identifier: &'a str, sig: &'a str) -> LoginRequest<'a> {
    LoginRequest {
        sdkappid: app.sdkappid,
        account_type: &app.account_type,
        identifier,
        appid_at_3rd: "",
        user_sig: sig,
    }
}

fn code(result: Result<login::Accepted, login::ImError>) -> i64 {
    match result {
        Ok(_) => 0,
        Err(err) => err.code,
    }
}

fn zlib_b64(json: &[u8]) -> String {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    let _ = std::io::Write::write_all(&mut encoder, json);
    usersig::base64_url_encode(&encoder.finish().unwrap_or_default())
}

#[test]
fn the_reference_v2_usersig_decodes_and_verifies_at_its_time() {
    let sig = usersig::decode(VECTOR_SIG).expect("the vector decodes");
    let UserSig::V2(v2) = &sig else {
        panic!("the vector is a v2 sig: {sig:?}")
    };
    assert_eq!(v2.identifier, "xiaojun");
    assert_eq!(v2.sdkappid, VECTOR_APPID);
    assert_eq!(v2.time, VECTOR_TIME);
    assert_eq!(v2.expire, 15552000);
    assert_eq!(
        STANDARD.encode(&v2.signature),
        "1Z5PngDjGaufeSiPoBuxdHY7EK3JTdAjMP93S4KvV3M="
    );
    let app = vector_app();
    let accepted = login::check(
        Some(&app),
        &request(&app, "xiaojun", VECTOR_SIG),
        VECTOR_TIME + 60,
    )
    .expect("valid at issue time + 60 s");
    assert_eq!(accepted.generation, "v2");
    assert_eq!(accepted.expires_at, VECTOR_TIME + 15552000);
    // The last valid second, then expired.
    let last = VECTOR_TIME + 15552000;
    assert_eq!(
        code(login::check(
            Some(&app),
            &request(&app, "xiaojun", VECTOR_SIG),
            last
        )),
        0
    );
    assert_eq!(
        code(login::check(
            Some(&app),
            &request(&app, "xiaojun", VECTOR_SIG),
            last + 1
        )),
        login::USERSIG_EXPIRED
    );
}

#[test]
fn our_v2_issue_reproduces_the_reference_signature() {
    let sig = usersig::issue_v2(VECTOR_KEY, VECTOR_APPID, "xiaojun", VECTOR_TIME, 15552000);
    let (Ok(UserSig::V2(ours)), Ok(UserSig::V2(reference))) =
        (usersig::decode(&sig), usersig::decode(VECTOR_SIG))
    else {
        panic!("both decode as v2")
    };
    assert_eq!(ours, reference);
}

#[test]
fn v1_sign_then_verify_with_a_generated_key() {
    let key = SigningKey::from_slice(&rand::random::<[u8; 32]>()).expect("a random scalar");
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("encodes");
    let private_pem = key.to_pkcs8_pem(LineEnding::LF).expect("encodes");
    let app = ImApp {
        sdkappid: 1400099999,
        account_type: "12345".into(),
        secret_key: String::new(),
        private_key_pem: private_pem.to_string(),
        public_key_pem: public_pem,
    };
    let now = 1_700_000_000;
    let signer = usersig::v1_private_key(&app.private_key_pem).expect("our PEM reads back");
    let claims = V1Claims {
        account_type: "12345",
        identifier: "anchor01",
        appid_at_3rd: "1400099999",
        sdkappid: 1400099999,
        time: now,
        expire_after: 3600,
    };
    let sig = usersig::issue_v1(&signer, &claims);
    let mut req = request(&app, "anchor01", &sig);
    req.appid_at_3rd = "1400099999";
    let accepted = login::check(Some(&app), &req, now + 10).expect("verifies");
    assert_eq!(accepted.generation, "v1");
    assert_eq!(
        code(login::check(Some(&app), &req, now + 3601)),
        login::USERSIG_EXPIRED
    );

    // The signed text follows the fixed field order.
    let Ok(UserSig::V1(fields)) = usersig::decode(&sig) else {
        panic!("v1")
    };
    assert_eq!(
        usersig::v1_signed_content(&fields),
        format!(
            "TLS.appid_at_3rd:1400099999\nTLS.account_type:12345\nTLS.identifier:anchor01\n\
             TLS.sdk_appid:1400099999\nTLS.time:{now}\nTLS.expire_after:3600\n"
        )
    );

    // Another app's key (the healthy tenant's) does not verify it: 70009.
    let mut other = healthy_app();
    other.sdkappid = app.sdkappid;
    other.account_type = app.account_type.clone();
    assert_eq!(
        code(login::check(Some(&other), &req, now + 10)),
        login::USERSIG_BAD_SIGNATURE
    );

    // §8.2: a sig made with another key that is also expired reports the signature (the v1
    // verifier checks the ECDSA signature before the fields).
    assert_eq!(
        code(login::check(Some(&other), &req, now + 10_000)),
        login::USERSIG_BAD_SIGNATURE
    );
    assert_eq!(
        code(login::check(Some(&app), &req, now + 10_000)),
        login::USERSIG_EXPIRED
    );

    // §8.2: a v1 sig bound to another appid_at_3rd: 70011.
    let mut wrong_3rd = req.clone();
    wrong_3rd.appid_at_3rd = "1400011111";
    assert_eq!(
        code(login::check(Some(&app), &wrong_3rd, now + 10)),
        login::APPID_AT_3RD_MISMATCH
    );
    assert_eq!(login::APPID_AT_3RD_MISMATCH, 70011);
}

#[test]
fn a_tampered_field_breaks_the_v1_signature() {
    let app = healthy_app();
    let key = usersig::v1_private_key(&app.private_key_pem).expect("tenant key");
    let now = 1_700_000_000;
    let claims = V1Claims {
        account_type: &app.account_type,
        identifier: "anchor01",
        appid_at_3rd: "0",
        sdkappid: app.sdkappid,
        time: now,
        expire_after: 3600,
    };
    let sig = usersig::issue_v1(&key, &claims);
    let Ok(UserSig::V1(mut fields)) = usersig::decode(&sig) else {
        panic!("v1")
    };
    let public = usersig::v1_public_key(&app.public_key_pem).expect("tenant key");
    assert!(usersig::v1_signature_valid(&fields, &public));
    fields.expire_after = "999999999".into();
    assert!(!usersig::v1_signature_valid(&fields, &public));
}

#[test]
fn every_login_code_is_given_for_its_reason() {
    let app = healthy_app();
    let now = 1_700_000_000;
    let good = usersig::issue_v2(&app.secret_key, app.sdkappid, "anchor01", now, 86400);
    let check = |app: Option<&ImApp>, req: &LoginRequest<'_>| code(login::check(app, req, now));

    assert_eq!(check(Some(&app), &request(&app, "anchor01", &good)), 0);
    // 70020: the console has no such app.
    assert_eq!(
        check(None, &request(&app, "anchor01", &good)),
        login::SDKAPPID_NOT_FOUND
    );
    // §8.2: 70012, the request's accountType is not the app's.
    let mut req = request(&app, "anchor01", &good);
    req.account_type = "9999";
    assert_eq!(check(Some(&app), &req), login::ACCOUNT_TYPE_MISMATCH);
    assert_eq!(login::ACCOUNT_TYPE_MISMATCH, 70012);
    // §8.2: v2 checks the identifier before the sdkappid.
    let both = usersig::issue_v2(&app.secret_key, 1400054321, "viewer02", now, 86400);
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", &both)),
        login::IDENTIFIER_MISMATCH
    );
    // 70002: no sig at all.
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", "")),
        login::USERSIG_EMPTY
    );
    // 70003: not a sig.
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", "not*a*sig")),
        login::USERSIG_MALFORMED
    );
    // 70016: the app has no secret key for a v2 sig.
    let mut keyless = app.clone();
    keyless.secret_key.clear();
    assert_eq!(
        check(Some(&keyless), &request(&app, "anchor01", &good)),
        login::KEY_NOT_FOUND
    );
    // 70016: nor a public key for a v1 sig.
    let signer = usersig::v1_private_key(&app.private_key_pem).expect("tenant key");
    let v1 = usersig::issue_v1(
        &signer,
        &V1Claims {
            account_type: &app.account_type,
            identifier: "anchor01",
            appid_at_3rd: "0",
            sdkappid: app.sdkappid,
            time: now,
            expire_after: 600,
        },
    );
    assert_eq!(check(Some(&app), &request(&app, "anchor01", &v1)), 0);
    keyless = app.clone();
    keyless.public_key_pem = "-----BEGIN PUBLIC KEY-----\nbroken\n-----END PUBLIC KEY-----".into();
    assert_eq!(
        check(Some(&keyless), &request(&app, "anchor01", &v1)),
        login::KEY_NOT_FOUND
    );
    // 70015 (§8.2): no key of either generation: no verification method for the app at all.
    keyless.public_key_pem.clear();
    keyless.secret_key.clear();
    assert_eq!(
        check(Some(&keyless), &request(&app, "anchor01", &v1)),
        login::NO_VERIFY_METHOD
    );
    // 70014: a sig of another sdkappid (with the right key even).
    let other_app = usersig::issue_v2(&app.secret_key, 1400054321, "anchor01", now, 86400);
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", &other_app)),
        login::SDKAPPID_MISMATCH
    );
    // 70013: a sig of another user.
    assert_eq!(
        check(Some(&app), &request(&app, "viewer02", &good)),
        login::IDENTIFIER_MISMATCH
    );
    // 70001: expired by the clock.
    let old = usersig::issue_v2(&app.secret_key, app.sdkappid, "anchor01", now - 200, 100);
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", &old)),
        login::USERSIG_EXPIRED
    );
    // 70009: signed with another secret key.
    let forged = usersig::issue_v2(VECTOR_KEY, app.sdkappid, "anchor01", now, 86400);
    assert_eq!(
        check(Some(&app), &request(&app, "anchor01", &forged)),
        login::USERSIG_BAD_SIGNATURE
    );
}

#[test]
fn malformed_sigs_get_their_decode_error_and_login_code() {
    let valid = usersig::issue_v2(VECTOR_KEY, VECTOR_APPID, "xiaojun", VECTOR_TIME, 100);
    // Whole base64 quads, so the base64 layer passes and zlib sees a cut stream.
    let truncated = &valid[..(valid.len() / 2) & !3];
    let cases: Vec<(String, DecodeError)> = vec![
        (String::new(), DecodeError::Empty),
        ("   ".into(), DecodeError::Empty),
        (truncated.to_string(), DecodeError::Zlib),
        ("%%%not base64%%%".into(), DecodeError::Base64),
        ("eJy".into(), DecodeError::Base64),
        (usersig::base64_url_encode(b"plain, not zlib"), DecodeError::Zlib),
        (zlib_b64(b"{not json"), DecodeError::Json),
        (zlib_b64(b"[1,2,3]"), DecodeError::Json),
        (
            zlib_b64(br#"{"TLS.ver":"2.0","TLS.identifier":"x","TLS.sdkappid":1,"TLS.time":1,"TLS.sig":"AA=="}"#),
            DecodeError::Field("TLS.expire"),
        ),
        (
            zlib_b64(br#"{"TLS.ver":"2.0","TLS.identifier":"x","TLS.sdkappid":"1","TLS.time":1,"TLS.expire":1,"TLS.sig":"AA=="}"#),
            DecodeError::Field("TLS.sdkappid"),
        ),
        (
            zlib_b64(br#"{"TLS.ver":"2.0","TLS.identifier":"x","TLS.sdkappid":1,"TLS.time":1,"TLS.expire":1,"TLS.sig":"@@"}"#),
            DecodeError::SigBase64,
        ),
        (
            zlib_b64(br#"{"TLS.account_type":0,"TLS.identifier":"x","TLS.sdk_appid":"1","TLS.time":"1","TLS.expire_after":"1","TLS.sig":"AA=="}"#),
            DecodeError::Field("TLS.account_type"),
        ),
        ("A".repeat(usersig::MAX_SIG_LEN + 1), DecodeError::TooLong(usersig::MAX_SIG_LEN + 1)),
    ];
    let app = vector_app();
    for (text, expected) in cases {
        assert_eq!(usersig::decode(&text), Err(expected.clone()), "{text:.60}");
        let want = if expected == DecodeError::Empty {
            login::USERSIG_EMPTY
        } else {
            login::USERSIG_MALFORMED
        };
        assert_eq!(
            code(login::check(
                Some(&app),
                &request(&app, "x", &text),
                VECTOR_TIME
            )),
            want,
            "{text:.60}"
        );
    }
}

#[test]
fn a_zlib_bomb_is_refused_without_inflating_it() {
    let mut json = br#"{"TLS.ver":"2.0","pad":""#.to_vec();
    json.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
    json.extend(br#""}"#);
    let bomb = zlib_b64(&json);
    assert!(bomb.len() < usersig::MAX_SIG_LEN, "{}", bomb.len());
    assert!(matches!(
        usersig::decode(&bomb),
        Err(DecodeError::TooLong(_))
    ));
}

/// A Python virtualenv with the official `tls-sig-api` and `tls-sig-api-v2` packages, made once per
/// target directory. `None` (with a message) when python3 or the package index is not reachable.
fn official_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tls-sig-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join("ready");
    if ready.exists() {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    if !matches!(made, Ok(s) if s.success()) {
        eprintln!("SKIPPED: python3 with venv is not available");
        return None;
    }
    // pyOpenSSL 24.3 removed crypto.sign, which the v1 package still calls.
    let installed = Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "tls-sig-api==1.4",
            "tls-sig-api-v2==1.1",
            "pyOpenSSL<24.3",
        ])
        .status();
    if !matches!(installed, Ok(s) if s.success()) {
        eprintln!("SKIPPED: could not pip install tls-sig-api and tls-sig-api-v2");
        return None;
    }
    let _ = std::fs::write(&ready, "");
    Some(python)
}

fn run_python(python: &PathBuf, script: &str, args: &[&str]) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn usersigs_made_by_the_official_python_packages_verify() {
    let Some(python) = official_python() else {
        return;
    };
    let app = healthy_app();
    let sdkappid = app.sdkappid.to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);

    let v2 = run_python(
        &python,
        "import sys, TLSSigAPIv2\n\
         api = TLSSigAPIv2.TLSSigAPIv2(int(sys.argv[1]), sys.argv[2])\n\
         print(api.gen_sig('anchor01'))\n\
         print(api.gen_sig_with_userbuf('anchor01', 600, b'room-8888'))",
        &[&sdkappid, &app.secret_key],
    );
    let mut lines = v2.lines();
    let plain = lines.next().unwrap_or_default();
    let with_userbuf = lines.next().unwrap_or_default();
    for sig in [plain, with_userbuf] {
        let accepted = login::check(Some(&app), &request(&app, "anchor01", sig), now)
            .unwrap_or_else(|e| panic!("python v2 sig refused: {e:?}"));
        assert_eq!(accepted.generation, "v2");
        assert_eq!(
            code(login::check(
                Some(&app),
                &request(&app, "viewer02", sig),
                now
            )),
            login::IDENTIFIER_MISMATCH
        );
    }
    // A python v2 sig made with another key fails as a forged one.
    let forged = run_python(
        &python,
        "import sys, TLSSigAPIv2\nprint(TLSSigAPIv2.TLSSigAPIv2(int(sys.argv[1]), 'x' * 64).gen_sig('anchor01'))",
        &[&sdkappid],
    );
    assert_eq!(
        code(login::check(
            Some(&app),
            &request(&app, "anchor01", &forged),
            now
        )),
        login::USERSIG_BAD_SIGNATURE
    );

    let v1 = run_python(
        &python,
        "import sys, TLSSigAPI\n\
         api = TLSSigAPI.TLSSigAPI(int(sys.argv[1]), sys.argv[2], sys.argv[3])\n\
         for _ in range(16): print(api.gen_sig('anchor01'))",
        &[&sdkappid, &app.private_key_pem, &app.public_key_pem],
    );
    // OpenSSL's nonces are random, so sixteen sigs cover both high and low S values.
    assert_eq!(v1.lines().count(), 16);
    for sig in v1.lines() {
        let accepted = login::check(Some(&app), &request(&app, "anchor01", sig), now)
            .unwrap_or_else(|e| panic!("python v1 sig refused: {e:?}"));
        assert_eq!(accepted.generation, "v1");
    }
    // The python v1 package signs with its own sample key when given it: another key, 70009.
    let sample = run_python(
        &python,
        "import sys, TLSSigAPI\n\
         api = TLSSigAPI.TLSSigAPI(int(sys.argv[1]), TLSSigAPI.ecdsa_pri_key, TLSSigAPI.ecdsa_pub_key)\n\
         print(api.gen_sig('anchor01'))",
        &[&sdkappid],
    );
    assert_eq!(
        code(login::check(
            Some(&app),
            &request(&app, "anchor01", &sample),
            now
        )),
        login::USERSIG_BAD_SIGNATURE
    );
}
