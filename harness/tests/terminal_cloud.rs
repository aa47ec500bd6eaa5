//! The app against the emulated cloud (COS, IM, LVB ingest) on loopback, with the healthy tenant's
//! keys; the backend is a wiremock that signs like the V1 backend (GetCOSSign, RequestLVBAddr).
//!
//! Runs against the emulated cloud started in-process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::json;
use tcharness::cloud::{Cloud, CloudOptions, Tenant};
use tcharness::terminal::{
    App, AppConstants, AppError, AppEvent, AppOptions, AppStep, Network, Pusher,
};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = include_str!("../scenarios/tenant.toml");

fn tenant_value(path: &[&str]) -> String {
    let mut v: toml::Value = toml::from_str(TENANT).unwrap();
    for key in path {
        v = match key.parse::<usize>() {
            Ok(i) => v[i].clone(),
            Err(_) => v[*key].clone(),
        };
    }
    match v {
        toml::Value::String(s) => s,
        other => other.to_string(),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The V1 backend's GetCOSSign: base64(HMAC-SHA1(SecretKey, plain) + plain).
fn cos_sign(appid: &str, bucket: &str, secret_id: &str, secret_key: &str) -> String {
    let t = now();
    let plain = format!(
        "a={appid}&b={bucket}&k={secret_id}&e={}&t={t}&r=12345&f=",
        t + 600
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes()).unwrap();
    mac.update(plain.as_bytes());
    let mut raw = mac.finalize().into_bytes().to_vec();
    raw.extend_from_slice(plain.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The V1 backend's push URL.
fn push_url(bizid: &str, push_key: &str, userid: &str) -> String {
    let stream = format!("{bizid}_{userid}");
    let tx_time = format!("{:x}", now() + 3 * 3600);
    let secret = hex::encode(Md5::digest(
        format!("{push_key}{stream}{tx_time}").as_bytes(),
    ));
    format!(
        "rtmp://{bizid}.livepush2.myqcloud.com/live/{stream}?bizid={bizid}&record_interval=10800&record=flv|hls&txSecret={secret}&txTime={tx_time}"
    )
}

async fn ok_action(backend: &MockServer, action: &str, data: serde_json::Value) {
    Mock::given(method("POST"))
        .and(body_partial_json(json!({ "Action": action })))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                json!({"returnValue":0,"returnMsg":"return successfully!","returnData":data})
                    .to_string(),
            ),
        )
        .mount(backend)
        .await;
}

#[tokio::test]
async fn the_app_runs_its_flows_against_the_emulated_cloud() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    let backend = MockServer::start().await;
    let cos_appid = tenant_value(&["cos", "appid"]);
    let bucket = tenant_value(&["cos", "buckets", "0", "name"]);
    let region = tenant_value(&["cos", "buckets", "0", "region"]);
    let sign = cos_sign(
        &cos_appid,
        &bucket,
        &tenant_value(&["cos", "keys", "0", "secret_id"]),
        &tenant_value(&["cos", "keys", "0", "secret_key"]),
    );
    ok_action(&backend, "GetCOSSign", json!({ "sign": sign })).await;
    let url = push_url(
        &tenant_value(&["lvb", "bizid"]),
        &tenant_value(&["lvb", "push_key"]),
        "anchor01",
    );
    ok_action(
        &backend,
        "RequestLVBAddr",
        json!({"pushurl": url, "timestamp": now()}),
    )
    .await;
    ok_action(&backend, "ChangeStatus", json!({"result": 0})).await;

    let mut constants = AppConstants::default();
    for (name, value) in [
        (
            "kTCIMSDKAppId",
            tenant_value(&["im", "apps", "0", "sdkappid"]),
        ),
        (
            "kTCIMSDKAccountType",
            tenant_value(&["im", "apps", "0", "account_type"]),
        ),
        ("kTCCOSAppId", cos_appid.clone()),
        ("kTCCOSBucket", bucket.clone()),
        ("kTCCOSRegion", region),
        (
            "kHttpServerAddr",
            format!("{}/interface.php", backend.uri()),
        ),
    ] {
        constants.set(name, value).unwrap();
    }
    let network = Network {
        cloud_http: cloud.http_addr(),
        cloud_rtmp: cloud.rtmp_addr(),
        source_ip: None,
    };
    let options = AppOptions {
        http_timeout: Duration::from_secs(10),
        pusher: Pusher::Builtin,
        ..AppOptions::default()
    };
    let mut app = App::new(constants, network, options).unwrap();
    for step in [
        AppStep::Register {
            username: None,
            password: None,
            count: None,
        },
        AppStep::Login {
            username: None,
            password: None,
        },
        AppStep::UploadAvatar,
        AppStep::UploadCover,
        AppStep::DownloadCover,
        AppStep::StartLive { title: None },
    ] {
        app.run(&step)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", step.name(), app.log()));
    }
    // A second device on the same push URL is refused by the ingest.
    let err = app.run(&AppStep::PushAgain).await.unwrap_err();
    assert!(matches!(err, AppError::Push { code: -1307, .. }), "{err}");
    app.run(&AppStep::StopLive).await.unwrap();
    let pushes: Vec<i32> = app
        .log()
        .iter()
        .filter_map(|e| match e {
            AppEvent::Push { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    // §8.1: the refused second device reconnects three times, then gives up with its dialog.
    assert_eq!(
        pushes,
        vec![1001, 1002, 1001, 3004, 1102, 1102, 1102, -1307]
    );
    let shown: Vec<String> = app.shown().into_iter().map(|s| s.android).collect();
    assert_eq!(shown, vec!["网络异常，请检查网络"]);
    println!("{}", serde_json::to_string_pretty(app.log()).unwrap());
}

#[tokio::test]
async fn misconfigured_apps_and_push_keys_fail_like_the_faq_says() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    let backend = MockServer::start().await;
    let cos_appid = tenant_value(&["cos", "appid"]);
    let bucket = tenant_value(&["cos", "buckets", "0", "name"]);
    let sign = cos_sign(
        &cos_appid,
        &bucket,
        &tenant_value(&["cos", "keys", "0", "secret_id"]),
        &tenant_value(&["cos", "keys", "0", "secret_key"]),
    );
    ok_action(&backend, "GetCOSSign", json!({ "sign": sign })).await;
    // FAQ 1.2: the backend signs with a wrong push key.
    let url = push_url(
        &tenant_value(&["lvb", "bizid"]),
        "not-the-push-key",
        "anchor01",
    );
    ok_action(
        &backend,
        "RequestLVBAddr",
        json!({"pushurl": url, "timestamp": now()}),
    )
    .await;
    let healthy = |constants: &mut AppConstants| {
        for (name, value) in [
            (
                "kTCIMSDKAppId",
                tenant_value(&["im", "apps", "0", "sdkappid"]),
            ),
            (
                "kTCIMSDKAccountType",
                tenant_value(&["im", "apps", "0", "account_type"]),
            ),
            ("kTCCOSAppId", cos_appid.clone()),
            ("kTCCOSBucket", bucket.clone()),
            (
                "kTCCOSRegion",
                tenant_value(&["cos", "buckets", "0", "region"]),
            ),
            (
                "kHttpServerAddr",
                format!("{}/interface.php", backend.uri()),
            ),
        ] {
            constants.set(name, value).unwrap();
        }
    };
    let network = Network {
        cloud_http: cloud.http_addr(),
        cloud_rtmp: cloud.rtmp_addr(),
        source_ip: None,
    };
    let options = AppOptions {
        http_timeout: Duration::from_secs(10),
        ..AppOptions::default()
    };

    // FAQ 2.1: a wrong kTCIMSDKAppId.
    let mut constants = AppConstants::default();
    healthy(&mut constants);
    constants.set("kTCIMSDKAppId", "1400099999").unwrap();
    let mut app = App::new(constants, network.clone(), options.clone()).unwrap();
    let err = app
        .run(&AppStep::Register {
            username: None,
            password: None,
            count: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Login { .. }), "{err}");
    assert!(
        app.shown()[0]
            .android
            .starts_with("Login failed, error code:"),
        "{:?}",
        app.shown()
    );

    // FAQ 2.3: a wrong kTCCOSRegion; FAQ 1.2: the push is refused.
    let mut constants = AppConstants::default();
    healthy(&mut constants);
    constants.set("kTCCOSRegion", "gz").unwrap();
    let mut app = App::new(constants, network, options).unwrap();
    app.run(&AppStep::Register {
        username: Some("anchor02".into()),
        password: None,
        count: None,
    })
    .await
    .unwrap();
    app.run(&AppStep::Login {
        username: None,
        password: None,
    })
    .await
    .unwrap();
    let err = app.run(&AppStep::UploadCover).await.unwrap_err();
    assert!(
        matches!(err, AppError::Cos { .. } | AppError::CosHttp { .. }),
        "{err}"
    );
    let err = app
        .run(&AppStep::StartLive { title: None })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Push { code: -1307, .. }), "{err}");
    let shown: Vec<String> = app.shown().into_iter().map(|s| s.android).collect();
    println!("{shown:#?}");
    // The dialog, then whatever the backend mock answers to the offline ChangeStatus.
    assert!(
        shown.iter().any(|s| s == "网络异常，请检查网络"),
        "{shown:?}"
    );
}
