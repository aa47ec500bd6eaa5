//! The IM HTTP API over loopback, as the simulated app reaches it: registration, password login, IM
//! login, the anti-abuse limit per source network, error codes, and malformed input.

use std::net::{IpAddr, SocketAddr};

use serde_json::{Value, json};
use tcharness::cloud::im::usersig;
use tcharness::cloud::{Cloud, CloudOptions, Service, Tenant};

const SDKAPPID: u64 = 1400012345;
const ACCOUNT_TYPE: &str = "8808";

/// An HTTP client whose Tencent host names resolve to the cloud, sending from `source`.
fn client(cloud: &Cloud, source: [u8; 4]) -> reqwest::Client {
    let addr: SocketAddr = cloud.http_addr();
    reqwest::Client::builder()
        .resolve("tls.qcloud.com", addr)
        .resolve("openim.tim.qq.com", addr)
        .local_address(IpAddr::from(source))
        .no_proxy()
        .build()
        .expect("client builds")
}

async fn post(client: &reqwest::Client, url: &str, body: impl Into<reqwest::Body>) -> Value {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request goes through");
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.expect("reply is JSON")
}

async fn register(client: &reqwest::Client, username: &str) -> Value {
    let body = json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE,
                      "username": username, "password": "secret123"});
    post(client, "http://tls.qcloud.com/v1/strreg", body.to_string()).await
}

async fn password_login(client: &reqwest::Client, username: &str, password: &str) -> Value {
    let body = json!({"sdkappid": SDKAPPID.to_string(), "accountType": ACCOUNT_TYPE,
                      "username": username, "password": password});
    post(
        client,
        "http://tls.qcloud.com/v1/strlogin",
        body.to_string(),
    )
    .await
}

async fn im_login(client: &reqwest::Client, body: Value) -> Value {
    post(
        client,
        "http://openim.tim.qq.com/v1/login",
        body.to_string(),
    )
    .await
}

fn login_body(identifier: &str, sig: &str) -> Value {
    json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE, "identifier": identifier,
           "appidAt3rd": SDKAPPID.to_string(), "userSig": sig})
}

async fn start(tenant: Tenant) -> Cloud {
    Cloud::start(tenant, CloudOptions::default())
        .await
        .expect("cloud starts")
}

#[tokio::test]
async fn register_password_login_and_im_login_work_and_are_journaled() {
    let cloud = start(Tenant::healthy()).await;
    let app = client(&cloud, [127, 0, 0, 1]);

    let reply = register(&app, "anchor01").await;
    assert_eq!(
        reply,
        json!({"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01"})
    );
    let again = register(&app, "anchor01").await;
    assert_eq!(again["ErrCode"], 2);
    assert_eq!(again["Msg"], "账号已注册");

    let login = password_login(&app, "anchor01", "secret123").await;
    assert_eq!(login["ErrCode"], 0, "{login}");
    assert_eq!(login["identifier"], "anchor01");
    assert_eq!(login["expire"], 15552000);
    let sig = login["userSig"].as_str().expect("a userSig").to_string();
    assert!(matches!(usersig::decode(&sig), Ok(usersig::UserSig::V1(_))));

    let ok = im_login(&app, login_body("anchor01", &sig)).await;
    assert_eq!(
        ok,
        json!({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""})
    );

    // The same sig does not log another user in.
    let other = im_login(&app, login_body("viewer02", &sig)).await;
    assert_eq!(other["ActionStatus"], "FAIL");
    assert_eq!(other["ErrorCode"], 70013);

    assert_eq!(
        password_login(&app, "anchor01", "wrong").await["ErrCode"],
        1
    );
    assert_eq!(
        password_login(&app, "nobody", "secret123").await["ErrCode"],
        229
    );

    let lines: Vec<(String, String)> = cloud
        .ctx
        .journal
        .of(Service::Im)
        .into_iter()
        .map(|e| (e.request, e.outcome))
        .collect();
    let expected = [
        (
            "POST tls.qcloud.com/v1/strreg sdkappid=1400012345 accountType=8808 username=anchor01",
            "0 ACCOUNT_OK",
        ),
        (
            "POST tls.qcloud.com/v1/strreg sdkappid=1400012345 accountType=8808 username=anchor01",
            "2 ACCOUNT_REGISTERED 账号已注册",
        ),
        (
            "POST tls.qcloud.com/v1/strlogin sdkappid=1400012345 accountType=8808 username=anchor01",
            "0 ACCOUNT_OK usersig v1",
        ),
        (
            "POST openim.tim.qq.com/v1/login sdkappid=1400012345 accountType=8808 identifier=anchor01",
            "OK usersig v1",
        ),
        (
            "POST openim.tim.qq.com/v1/login sdkappid=1400012345 accountType=8808 identifier=viewer02",
            "FAIL 70013 identifier not match",
        ),
        (
            "POST tls.qcloud.com/v1/strlogin sdkappid=1400012345 accountType=8808 username=anchor01",
            "1 LOGIN_WRONG_PASSWORD 密码错误",
        ),
        (
            "POST tls.qcloud.com/v1/strlogin sdkappid=1400012345 accountType=8808 username=nobody",
            "229 LOGIN_NO_ACCOUNT 账号不存在",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(r, o)| (r.to_string(), o.to_string()))
        .collect();
    assert_eq!(lines, expected);
    // Passwords never reach the journal.
    let dump = serde_json::to_string(&cloud.ctx.journal.entries()).unwrap_or_default();
    assert!(!dump.contains("secret123"));
}

#[tokio::test]
async fn a_wrong_sdkappid_or_account_type_fails_registration_and_login() {
    let cloud = start(Tenant::healthy()).await;
    let app = client(&cloud, [127, 0, 0, 1]);
    for (sdkappid, account_type) in [(json!(1400099999), "8808"), (json!(SDKAPPID), "9999")] {
        let body = json!({"sdkappid": sdkappid, "accountType": account_type,
                          "username": "anchor01", "password": "secret123"});
        for op in ["strreg", "strlogin"] {
            let reply = post(
                &app,
                &format!("http://tls.qcloud.com/v1/{op}"),
                body.to_string(),
            )
            .await;
            assert_eq!(reply["ErrCode"], 11, "{op} {body}: {reply}");
            assert_eq!(reply["Title"], "登录失败");
        }
    }
    // IM login with a good sig but the wrong app settings.
    let sig = cloud.ctx.with_tenant(|t| {
        let a = &t.im.apps[0];
        usersig::issue_v2(
            &a.secret_key,
            a.sdkappid,
            "anchor01",
            cloud.ctx.clock.now(),
            600,
        )
    });
    let mut body = login_body("anchor01", &sig);
    body["sdkappid"] = json!(1400099999);
    assert_eq!(im_login(&app, body).await["ErrorCode"], 70020);
    let mut body = login_body("anchor01", &sig);
    body["accountType"] = json!("9999");
    let reply = im_login(&app, body).await;
    assert_eq!(reply["ErrorCode"], 70012);
    assert_eq!(reply["ActionStatus"], "FAIL");
}

#[tokio::test]
async fn registrations_past_the_limit_of_one_network_are_struck_down() {
    let mut tenant = Tenant::healthy();
    tenant.im.registration_limit.count = 3;
    tenant.im.registration_limit.window_secs = 600;
    let cloud = start(tenant).await;
    let office = client(&cloud, [127, 0, 0, 3]);
    let elsewhere = client(&cloud, [127, 0, 0, 4]);

    for i in 0..3 {
        assert_eq!(register(&office, &format!("user{i}")).await["ErrCode"], 0);
    }
    // A duplicate is refused for what it is and does not count.
    assert_eq!(register(&office, "user0").await["ErrCode"], 2);
    let struck = register(&office, "user3").await;
    assert_eq!(
        struck,
        json!({"ErrCode":10,"Title":"登录失败","Msg":"注册操作被安全打击",
               "ExtraMsg":"Login failed. Registration operation is rejected for security reason."})
    );
    assert!(!cloud.services.im.accounts().exists(SDKAPPID, "user3"));
    assert_eq!(
        cloud
            .services
            .im
            .registrations_from(IpAddr::from([127, 0, 0, 3])),
        3
    );
    // Another network is not affected; logging in is not limited.
    assert_eq!(register(&elsewhere, "user3").await["ErrCode"], 0);
    assert_eq!(
        password_login(&office, "user0", "secret123").await["ErrCode"],
        0
    );
    // Once the window has passed, the network may register again.
    cloud.ctx.clock.advance(601);
    assert_eq!(register(&office, "user4").await["ErrCode"], 0);

    let struck_line = cloud
        .ctx
        .journal
        .of(Service::Im)
        .into_iter()
        .find(|e| e.request.ends_with("username=user3"))
        .map(|e| e.outcome);
    assert_eq!(
        struck_line.as_deref(),
        Some("10 ACCOUNT_REGISTER_TOOMANY 注册操作被安全打击")
    );
}

#[tokio::test]
async fn registrations_in_a_burst_are_too_frequent_when_an_interval_is_set() {
    let mut tenant = Tenant::healthy();
    tenant.im.registration_limit.min_interval_secs = 10;
    let cloud = start(tenant).await;
    let app = client(&cloud, [127, 0, 0, 5]);
    assert_eq!(register(&app, "first").await["ErrCode"], 0);
    let burst = register(&app, "second").await;
    assert_eq!(burst["ErrCode"], 3, "{burst}");
    assert_eq!(burst["Msg"], "操作太频繁");
    cloud.ctx.clock.advance(10);
    assert_eq!(register(&app, "second").await["ErrCode"], 0);
}

#[tokio::test]
async fn backend_issued_sigs_are_accepted_and_the_clock_expires_them() {
    let cloud = start(Tenant::healthy()).await;
    let app = client(&cloud, [127, 0, 0, 1]);
    let (secret, now) = cloud
        .ctx
        .with_tenant(|t| (t.im.apps[0].secret_key.clone(), cloud.ctx.clock.now()));
    let sig = usersig::issue_v2(&secret, SDKAPPID, "viewer02", now, 3600);
    assert_eq!(
        im_login(&app, login_body("viewer02", &sig)).await["ErrorCode"],
        0
    );
    // Another app's sdkappid in the sig, and another key.
    let other = usersig::issue_v2(&secret, 1400054321, "viewer02", now, 3600);
    assert_eq!(
        im_login(&app, login_body("viewer02", &other)).await["ErrorCode"],
        70014
    );
    let forged = usersig::issue_v2("not-the-key", SDKAPPID, "viewer02", now, 3600);
    assert_eq!(
        im_login(&app, login_body("viewer02", &forged)).await["ErrorCode"],
        70009
    );
    // The console loses its secret key: 70016.
    cloud.ctx.update_tenant(|t| t.im.apps[0].secret_key.clear());
    assert_eq!(
        im_login(&app, login_body("viewer02", &sig)).await["ErrorCode"],
        70016
    );
    cloud
        .ctx
        .update_tenant(|t| t.im.apps[0].secret_key = secret.clone());
    // An hour later the sig has expired.
    cloud.ctx.clock.advance(3601);
    let expired = im_login(&app, login_body("viewer02", &sig)).await;
    assert_eq!(expired["ErrorCode"], 70001, "{expired}");
    let outcome = cloud
        .ctx
        .journal
        .of(Service::Im)
        .last()
        .map(|e| e.outcome.clone());
    assert_eq!(outcome.as_deref(), Some("FAIL 70001 usersig expired"));
}

#[tokio::test]
async fn malformed_requests_get_error_codes_and_the_service_keeps_serving() {
    let cloud = start(Tenant::healthy()).await;
    let app = client(&cloud, [127, 0, 0, 1]);
    let tls = "http://tls.qcloud.com/v1/strreg";
    let im = "http://openim.tim.qq.com/v1/login";
    let huge = "x".repeat(2 * 1024 * 1024);

    for body in ["", "{", "[]", "null", "\u{0}\u{1}binary", huge.as_str()] {
        assert_eq!(
            post(&app, tls, body.to_string()).await["ErrCode"],
            13,
            "{body:.20}"
        );
        assert_eq!(
            post(&app, im, body.to_string()).await["ErrorCode"],
            60003,
            "{body:.20}"
        );
    }
    // Missing and mistyped fields.
    let missing_password =
        json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE, "username": "a"});
    assert_eq!(
        post(&app, tls, missing_password.to_string()).await["ErrCode"],
        13
    );
    let bad_appid =
        json!({"sdkappid": [1], "accountType": ACCOUNT_TYPE, "username": "a", "password": "b"});
    assert_eq!(post(&app, tls, bad_appid.to_string()).await["ErrCode"], 13);
    for name in ["", "has space", "x\u{7}", &"n".repeat(33)] {
        assert_eq!(register(&app, name).await["ErrCode"], 13, "{name:?}");
    }
    let no_identifier = json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE, "userSig": "x"});
    assert_eq!(im_login(&app, no_identifier).await["ErrorCode"], 70402);
    let numeric_sig =
        json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE, "identifier": "a", "userSig": 5});
    assert_eq!(im_login(&app, numeric_sig).await["ErrorCode"], 70402);

    // Bad sigs.
    let secret = cloud.ctx.with_tenant(|t| t.im.apps[0].secret_key.clone());
    let good = usersig::issue_v2(&secret, SDKAPPID, "anchor01", cloud.ctx.clock.now(), 600);
    let cases = [
        (String::new(), 70002),
        (good[..(good.len() / 2) & !3].to_string(), 70003),
        ("!!!not-base64!!!".to_string(), 70003),
        (usersig::base64_url_encode(b"not zlib at all"), 70003),
        ("A".repeat(20_000), 70003),
        // Past the body limit the request itself is unreadable.
        ("A".repeat(200_000), 60003),
    ];
    for (sig, code) in cases {
        let reply = im_login(&app, login_body("anchor01", &sig)).await;
        assert_eq!(reply["ErrorCode"], code, "{sig:.40}: {reply}");
        assert_eq!(reply["ActionStatus"], "FAIL");
    }
    let no_sig =
        json!({"sdkappid": SDKAPPID, "accountType": ACCOUNT_TYPE, "identifier": "anchor01"});
    assert_eq!(im_login(&app, no_sig).await["ErrorCode"], 70002);

    // Unknown paths and methods answer in each service's own shape.
    assert_eq!(
        post(&app, "http://tls.qcloud.com/v1/nothing", "{}").await["ErrCode"],
        13
    );
    assert_eq!(
        post(&app, "http://openim.tim.qq.com/v4/x", "{}").await["ErrorCode"],
        60002
    );
    let get = app
        .get("http://openim.tim.qq.com/v1/login")
        .send()
        .await
        .expect("GET goes through");
    assert_eq!(get.status(), 200);
    let get: Value = get.json().await.expect("JSON");
    assert_eq!(get["ErrorCode"], 60002);

    // Still serving.
    assert_eq!(
        im_login(&app, login_body("anchor01", &good)).await["ErrorCode"],
        0
    );
    assert_eq!(register(&app, "anchor01").await["ErrCode"], 0);
}

#[tokio::test]
async fn password_login_signs_with_whatever_key_the_app_has() {
    let cloud = start(Tenant::healthy()).await;
    let app = client(&cloud, [127, 0, 0, 1]);
    assert_eq!(register(&app, "anchor01").await["ErrCode"], 0);

    // Without the ECDSA private key the cloud issues a v2 sig, which logs in.
    cloud
        .ctx
        .update_tenant(|t| t.im.apps[0].private_key_pem.clear());
    let login = password_login(&app, "anchor01", "secret123").await;
    let sig = login["userSig"].as_str().unwrap_or_default().to_string();
    assert!(
        matches!(usersig::decode(&sig), Ok(usersig::UserSig::V2(_))),
        "{login}"
    );
    assert_eq!(
        im_login(&app, login_body("anchor01", &sig)).await["ErrorCode"],
        0
    );

    // With no key at all it cannot sign: ACCOUNT_JUST_FAILED.
    cloud.ctx.update_tenant(|t| t.im.apps[0].secret_key.clear());
    let failed = password_login(&app, "anchor01", "secret123").await;
    assert_eq!(failed["ErrCode"], 5, "{failed}");
    assert!(failed.get("userSig").is_none());
}
