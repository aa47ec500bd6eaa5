//! The emulated IM login against UserSigs made by Tencent's own generators (PyPI `tls-sig-api` for v1,
//! `tls-sig-api-v2` for v2, pinned in `official_clients/requirements.txt`), not by our code: what a customer's
//! backend using them hands its app must log in, and a signature made with another key must not.
//!
//! The test command prepares a virtualenv with them and names its interpreter in `TCHARNESS_OFFICIAL_PYTHON`
//! (with `TCHARNESS_REQUIRE_OFFICIAL=1`, a missing one is a failure instead of a skip).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tcharness::cloud::{Cloud, CloudOptions, Tenant};

/// The interpreter with Tencent's generators, or None (skip) where none was prepared and none is required.
fn official_python() -> Option<String> {
    match std::env::var("TCHARNESS_OFFICIAL_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var("TCHARNESS_REQUIRE_OFFICIAL").as_deref() == Ok("1") => {
            panic!(
                "TCHARNESS_OFFICIAL_PYTHON names no interpreter with Tencent's UserSig generators"
            )
        }
        _ => {
            eprintln!(
                "skipping: TCHARNESS_OFFICIAL_PYTHON is not set (scripts/test.sh prepares it)"
            );
            None
        }
    }
}

/// UserSigs for `identifier` from the official generators, with the healthy tenant's app keys.
fn official_sigs(python: &str, tenant: &Tenant, identifier: &str) -> Value {
    let app = &tenant.im.apps[0];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/official_clients/usersig.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    let request = json!({
        "sdkappid": app.sdkappid,
        "private_key_pem": app.private_key_pem,
        "secret_key": app.secret_key,
        "identifier": identifier,
    });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("request to the generator");
    let out = child.wait_with_output().expect("generator runs");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the generator prints JSON")
}

async fn im_login(cloud: &Cloud, tenant: &Tenant, identifier: &str, sig: &Value) -> Value {
    let app = &tenant.im.apps[0];
    let body = json!({"sdkappid": app.sdkappid, "accountType": app.account_type,
        "identifier": identifier, "appidAt3rd": app.sdkappid.to_string(),
        "userSig": sig.as_str().expect("a signature")});
    let client = reqwest::Client::builder()
        .resolve("openim.tim.qq.com", cloud.http_addr())
        .no_proxy()
        .build()
        .expect("client");
    let resp = client
        .post("http://openim.tim.qq.com/v1/login")
        .body(body.to_string())
        .send()
        .await
        .expect("login request");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("IM JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usersigs_from_tencents_own_generators_log_in_and_foreign_keys_do_not() {
    let Some(python) = official_python() else {
        return;
    };
    let tenant = Tenant::healthy();
    let cloud = Cloud::start(tenant.clone(), CloudOptions::default())
        .await
        .expect("cloud");
    let sigs = official_sigs(&python, &tenant, "anchor01");

    for generation in ["v1", "v2"] {
        let reply = im_login(&cloud, &tenant, "anchor01", &sigs[generation]).await;
        assert_eq!(
            reply,
            json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}),
            "{generation} from the official generator"
        );
        let other = im_login(&cloud, &tenant, "viewer02", &sigs[generation]).await;
        assert_eq!(other["ErrorCode"], 70013, "{generation}: {other}");
        let foreign = format!("{generation}_other_key");
        let refused = im_login(&cloud, &tenant, "anchor01", &sigs[foreign.as_str()]).await;
        assert_eq!(refused["ActionStatus"], "FAIL", "{foreign}: {refused}");
        assert_eq!(refused["ErrorCode"], 70009, "{foreign}: {refused}");
    }
}
