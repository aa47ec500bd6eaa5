//! The app's flows against stand-ins on the wire: the backend, COS, TLS/IM and download hosts are
//! wiremock servers. Tencent names reach the "cloud" mock only through the phone's name resolution,
//! which the Host matchers check.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tcharness::terminal::{
    App, AppConstants, AppError, AppEvent, AppOptions, AppStep, Network, Peer, Pusher, shown,
};
use wiremock::matchers::{body_partial_json, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SIGN: &str = "c2lnbmF0dXJlLWZyb20tdGhlLWJhY2tlbmQ=";

fn constants(backend: &str) -> AppConstants {
    let mut c = AppConstants::default();
    c.set("kTCIMSDKAppId", "1400012345").unwrap();
    c.set("kTCIMSDKAccountType", "8808").unwrap();
    c.set("kTCCOSAppId", "1252000001").unwrap();
    c.set("kTCCOSBucket", "minilvb").unwrap();
    c.set("kTCCOSRegion", "sh").unwrap();
    c.set("kHttpServerAddr", format!("{backend}/interface.php"))
        .unwrap();
    c
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn app_with(constants: AppConstants, cloud: &MockServer, timeout: Duration) -> App {
    let network = Network {
        cloud_http: *cloud.address(),
        cloud_rtmp: unused_addr(),
        source_ip: None,
    };
    let options = AppOptions {
        http_timeout: timeout,
        pusher: Pusher::Builtin,
        ..AppOptions::default()
    };
    App::new(constants, network, options).unwrap()
}

fn envelope(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(
        json!({"returnValue": 0, "returnMsg": "return successfully!", "returnData": data})
            .to_string(),
    )
}

async fn mount_action(backend: &MockServer, action: &str, data: Value) {
    Mock::given(method("POST"))
        .and(path("/interface.php"))
        .and(body_partial_json(json!({ "Action": action })))
        .respond_with(envelope(data))
        .mount(backend)
        .await;
}

async fn mount_healthy_im(cloud: &MockServer) {
    Mock::given(method("POST"))
        .and(header("host", "tls.qcloud.com"))
        .and(path("/v1/strreg"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01"}),
        ))
        .mount(cloud)
        .await;
    Mock::given(method("POST"))
        .and(header("host", "tls.qcloud.com"))
        .and(path("/v1/strlogin"))
        .and(body_partial_json(
            json!({"sdkappid": 1400012345, "accountType": "8808", "username": "anchor01"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01",
            "userSig":"usersig-of-anchor01","expire":15552000})))
        .mount(cloud)
        .await;
    Mock::given(method("POST"))
        .and(header("host", "openim.tim.qq.com"))
        .and(path("/v1/login"))
        .and(body_partial_json(json!({
            "sdkappid": 1400012345, "accountType": "8808", "identifier": "anchor01",
            "appidAt3rd": "1400012345", "userSig": "usersig-of-anchor01"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""})),
        )
        .mount(cloud)
        .await;
}

fn shown_android(app: &App) -> Vec<String> {
    app.shown().into_iter().map(|s| s.android).collect()
}

fn requests(app: &App) -> Vec<(Peer, String, String)> {
    app.log()
        .iter()
        .filter_map(|e| match e {
            AppEvent::Request {
                peer,
                request,
                outcome,
            } => Some((*peer, request.clone(), outcome.clone())),
            _ => None,
        })
        .collect()
}

async fn logged_in(backend: &MockServer, cloud: &MockServer, timeout: Duration) -> App {
    mount_healthy_im(cloud).await;
    let mut app = app_with(constants(&backend.uri()), cloud, timeout);
    app.run(&AppStep::Login {
        username: None,
        password: None,
    })
    .await
    .unwrap();
    app
}

#[tokio::test]
async fn healthy_flow_runs_in_the_v1_call_order() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_healthy_im(&cloud).await;
    mount_action(&backend, "GetCOSSign", json!({"sign": SIGN})).await;
    for picture in ["avatar", "cover"] {
        Mock::given(method("POST"))
            .and(header("host", "sh.file.myqcloud.com"))
            .and(path(format!("/files/v2/1252000001/minilvb/{picture}/anchor01.jpg")))
            .and(header("authorization", SIGN))
            .and(|req: &wiremock::Request| {
                contains(&req.body, b"name=\"op\"\r\n\r\nupload")
                    && contains(&req.body, b"name=\"filecontent\"")
                    && contains(&req.body, b"JFIF")
            })
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "code": 0, "message": "SUCCESS", "request_id": "x",
                "data": {"access_url": format!("http://minilvb-1252000001.file.myqcloud.com/{picture}/anchor01.jpg")}})))
            .expect(1)
            .mount(&cloud)
            .await;
    }
    Mock::given(method("GET"))
        .and(header("host", "minilvb-1252000001.file.myqcloud.com"))
        .and(path("/cover/anchor01.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0xff, 0xd8, 0xff, 0xd9]))
        .expect(1)
        .mount(&cloud)
        .await;
    mount_action(
        &backend,
        "FetchList",
        json!({"totalcount": "2", "pusherlist": [
            {"userid":"anchor02","groupid":"@TGS#aanchor02","type":0,"fileid":"","playurl":"http://8888.liveplay.myqcloud.com/live/8888_anchor02.flv","title":"live now","status":"1"},
            {"userid":"anchor03","groupid":"","type":1,"fileid":"200011683_abc","playurl":"http://200011683.vod2.myqcloud.com/abc/f0.flv","title":"old","status":null}
        ]}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/interface.php"))
        .and(body_partial_json(
            json!({"Action": "GetUserInfo", "userid": "anchor02", "type": 0}),
        ))
        .respond_with(envelope(json!({"userid": "anchor02", "title": "live now"})))
        .expect(1)
        .mount(&backend)
        .await;
    Mock::given(method("POST"))
        .and(path("/interface.php"))
        .and(body_partial_json(
            json!({"Action": "EnterGroup", "userid": "anchor01",
            "liveuserid": "anchor02", "groupid": "@TGS#aanchor02", "flag": 0}),
        ))
        .respond_with(envelope(json!({"result": 0})))
        .expect(1)
        .mount(&backend)
        .await;
    mount_action(
        &backend,
        "FetchGroupMemberList",
        json!({"totalcount": "1", "memberlist": [{"userid":"anchor01","nickname":"anchor01","headpic":""}]}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/interface.php"))
        .and(body_partial_json(
            json!({"Action": "ChangeCount", "userid": "anchor02",
            "type": 1, "optype": 0, "flag": 0}),
        ))
        .respond_with(envelope(json!({"result": 0})))
        .expect(1)
        .mount(&backend)
        .await;
    mount_action(&backend, "QuitGroup", json!({"result": 0})).await;
    Mock::given(method("GET"))
        .and(header("host", "200011683.vod2.myqcloud.com"))
        .and(path("/abc/f0.flv"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"FLV\x01".to_vec()))
        .expect(1)
        .mount(&cloud)
        .await;

    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    let flow = [
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
        AppStep::FetchList {
            flag: 3,
            pageno: None,
            pagesize: None,
        },
        AppStep::OpenItem,
        AppStep::Watch,
        AppStep::PlayReplay,
    ];
    for step in &flow {
        app.run(step)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{:#?}", step.name(), app.log()));
    }
    assert_eq!(app.identifier(), Some("anchor01"));
    assert!(
        app.shown().is_empty(),
        "nothing to complain about: {:?}",
        app.shown()
    );
    let calls: Vec<String> = requests(&app)
        .into_iter()
        .map(|(peer, request, outcome)| format!("{peer:?} {request} => {outcome}"))
        .collect();
    assert_eq!(
        calls,
        vec![
            "Tls strreg username=anchor01 => ErrCode 0",
            "Tls strlogin username=anchor01 => ErrCode 0",
            "Im login identifier=anchor01 => OK",
            "Backend GetCOSSign => returnValue 0",
            "Cos upload sh.file.myqcloud.com/files/v2/1252000001/minilvb/avatar/anchor01.jpg => 0 SUCCESS",
            "Backend GetCOSSign => returnValue 0",
            "Cos upload sh.file.myqcloud.com/files/v2/1252000001/minilvb/cover/anchor01.jpg => 0 SUCCESS",
            "Download GET minilvb-1252000001.file.myqcloud.com/cover/anchor01.jpg => HTTP 200, JPEG, 4 bytes",
            "Backend FetchList flag=3 => returnValue 0, totalcount 2, [anchor02 (live), anchor03 (replay)]",
            "Backend GetUserInfo userid=anchor02 type=0 => returnValue 0, title 'live now'",
            "Backend EnterGroup liveuserid=anchor02 flag=0 => returnValue 0",
            "Backend FetchGroupMemberList liveuserid=anchor02 => returnValue 0, members [anchor01]",
            "Backend ChangeCount userid=anchor02 type=1 optype=0 flag=0 => returnValue 0",
            "Backend QuitGroup liveuserid=anchor02 flag=0 => returnValue 0",
            "Download GET 200011683.vod2.myqcloud.com/abc/f0.flv => HTTP 200, FLV video",
        ]
    );
    // The log serializes for the transcript.
    let yaml = serde_json::to_value(app.log()).unwrap();
    assert_eq!(yaml[0], json!({"event": "step", "step": "register"}));
}

#[tokio::test]
async fn http_500_shows_the_android_and_ios_texts() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/interface.php"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&backend)
        .await;
    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    let err = app
        .run(&AppStep::FetchList {
            flag: 1,
            pageno: None,
            pagesize: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::HttpStatus { status: 500, .. }));
    let shown = app.shown();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].android, "HTTP Req error, error code:500");
    assert_eq!(shown[0].ios, "internal server error");
    // The app keeps working afterwards.
    backend.reset().await;
    mount_action(
        &backend,
        "FetchList",
        json!({"totalcount": "0", "pusherlist": []}),
    )
    .await;
    app.run(&AppStep::FetchList {
        flag: 1,
        pageno: None,
        pagesize: None,
    })
    .await
    .unwrap();
    assert_eq!(
        shown_android(&app).last().map(String::as_str),
        Some(shown::NO_LIVES)
    );
}

#[tokio::test]
async fn a_silent_backend_times_out_after_the_app_timeout() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(envelope(json!({})).set_delay(Duration::from_secs(30)))
        .mount(&backend)
        .await;
    let mut app = app_with(
        constants(&backend.uri()),
        &cloud,
        Duration::from_millis(300),
    );
    let started = Instant::now();
    let err = app
        .run(&AppStep::FetchList {
            flag: 2,
            pageno: None,
            pagesize: None,
        })
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            AppError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err}"
    );
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(5));
    assert_eq!(shown_android(&app), vec!["request times out"]);
    assert_eq!(app.shown()[0].ios, "The request timed out.");
}

#[tokio::test]
async fn an_unreachable_backend_times_out_too() {
    let cloud = MockServer::start().await;
    let closed = unused_addr();
    let mut app = app_with(
        constants(&format!("http://{closed}")),
        &cloud,
        Duration::from_millis(300),
    );
    let started = Instant::now();
    let err = app
        .run(&AppStep::FetchList {
            flag: 1,
            pageno: None,
            pagesize: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(shown_android(&app), vec!["request times out"]);
}

#[tokio::test]
async fn a_backend_answer_that_is_not_json_is_an_invalid_reply() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>Welcome to nginx!</html>"))
        .mount(&backend)
        .await;
    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    let err = app
        .run(&AppStep::FetchList {
            flag: 1,
            pageno: None,
            pagesize: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::InvalidReply { .. }));
    assert_eq!(shown_android(&app), vec!["invalid response from server"]);
}

#[tokio::test]
async fn a_cos_error_shows_its_name_and_code() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_action(&backend, "GetCOSSign", json!({"sign": SIGN})).await;
    Mock::given(method("POST"))
        .and(header("host", "sh.file.myqcloud.com"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"code": -97, "message": "ERROR_PROXY_AUTH_FAILED", "request_id": "r"}),
        ))
        .mount(&cloud)
        .await;
    let mut app = logged_in(&backend, &cloud, Duration::from_secs(5)).await;
    let err = app.run(&AppStep::UploadCover).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Cos {
            op: "cover upload".to_string(),
            code: -97,
            message: "ERROR_PROXY_AUTH_FAILED".to_string()
        }
    );
    assert_eq!(
        shown_android(&app),
        vec!["upload failed, code:-97, message:ERROR_PROXY_AUTH_FAILED"]
    );
}

#[tokio::test]
async fn the_cos_region_constant_picks_the_api_host() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_action(&backend, "GetCOSSign", json!({"sign": SIGN})).await;
    Mock::given(method("POST"))
        .and(header("host", "gz.file.myqcloud.com"))
        .and(path_regex("^/files/v2/1252000001/minilvb/avatar/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"code": -133, "message": "ERROR_CMD_BUCKET_NOTEXIST", "request_id": "r"}),
        ))
        .expect(1)
        .mount(&cloud)
        .await;
    mount_healthy_im(&cloud).await;
    let mut c = constants(&backend.uri());
    c.set("kTCCOSRegion", "gz").unwrap();
    let mut app = app_with(c, &cloud, Duration::from_secs(5));
    app.run(&AppStep::Login {
        username: None,
        password: None,
    })
    .await
    .unwrap();
    app.run(&AppStep::UploadAvatar).await.unwrap_err();
    assert_eq!(
        shown_android(&app),
        vec!["upload failed, code:-133, message:ERROR_CMD_BUCKET_NOTEXIST"]
    );
}

#[tokio::test]
async fn a_gateway_page_instead_of_cos_json_shows_the_http_status() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_action(&backend, "GetCOSSign", json!({"sign": SIGN})).await;
    Mock::given(method("POST"))
        .and(header("host", "sh.file.myqcloud.com"))
        .respond_with(ResponseTemplate::new(403).set_body_string("You do not have permission"))
        .mount(&cloud)
        .await;
    let mut app = logged_in(&backend, &cloud, Duration::from_secs(5)).await;
    let err = app.run(&AppStep::UploadAvatar).await.unwrap_err();
    assert!(matches!(err, AppError::CosHttp { status: 403, .. }));
    assert_eq!(shown_android(&app), vec!["upload failed, HTTP 403"]);
}

#[tokio::test]
async fn a_cover_that_cannot_be_downloaded_is_shown() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_action(&backend, "GetCOSSign", json!({"sign": SIGN})).await;
    Mock::given(method("POST"))
        .and(header("host", "sh.file.myqcloud.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "message": "SUCCESS",
            "data": {"access_url": "http://minilvb-1252000001.file.myqcloud.com/cover/anchor01.jpg"}})))
        .mount(&cloud)
        .await;
    Mock::given(method("GET"))
        .and(header("host", "minilvb-1252000001.file.myqcloud.com"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&cloud)
        .await;
    let mut app = logged_in(&backend, &cloud, Duration::from_secs(5)).await;
    app.run(&AppStep::UploadCover).await.unwrap();
    let err = app.run(&AppStep::DownloadCover).await.unwrap_err();
    assert!(matches!(err, AppError::Download { .. }));
    assert_eq!(shown_android(&app), vec!["cover download failed: HTTP 404"]);
}

#[tokio::test]
async fn an_im_login_failure_shows_login_failed_with_the_code() {
    let cloud = MockServer::start().await;
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("host", "tls.qcloud.com"))
        .and(path("/v1/strlogin"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01","userSig":"s","expire":1})))
        .mount(&cloud)
        .await;
    Mock::given(method("POST"))
        .and(header("host", "openim.tim.qq.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ActionStatus":"FAIL","ErrorCode":70014,"ErrorInfo":"sdkappid not match"})))
        .mount(&cloud)
        .await;
    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    let err = app
        .run(&AppStep::Login {
            username: None,
            password: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Login { code: 70014, .. }));
    assert_eq!(
        shown_android(&app),
        vec!["Login failed, error code:70014, sdkappid not match"]
    );
    assert_eq!(app.identifier(), None);
    // Without login the app asks for it instead of calling the backend.
    app.run(&AppStep::UploadAvatar).await.unwrap_err();
    assert_eq!(
        shown_android(&app).last().map(String::as_str),
        Some("Please log in first")
    );
}

#[tokio::test]
async fn too_many_registrations_show_the_faq_7_text() {
    let cloud = MockServer::start().await;
    let backend = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/strreg"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"x"}),
            ),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&cloud)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/strreg"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ErrCode":10,"Title":"登录失败","Msg":"注册操作被安全打击","ExtraMsg":""})))
        .with_priority(2)
        .mount(&cloud)
        .await;
    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    let err = app
        .run(&AppStep::Register {
            username: Some("fan".to_string()),
            password: None,
            count: Some(5),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Login { code: 10, .. }));
    assert_eq!(shown_android(&app), vec!["登录失败注册操作被安全打击"]);
    assert_eq!(
        app.shown()[0].english.as_deref(),
        Some("Login failed. Registration operation is rejected for security reason.")
    );
    let regs: Vec<String> = requests(&app).into_iter().map(|r| r.1).collect();
    assert_eq!(
        regs,
        vec![
            "strreg username=fan_1",
            "strreg username=fan_2",
            "strreg username=fan_3"
        ]
    );
}

#[tokio::test]
async fn an_empty_replay_list_is_shown_as_such() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    mount_action(
        &backend,
        "FetchList",
        json!({"totalcount": "0", "pusherlist": []}),
    )
    .await;
    let mut app = app_with(constants(&backend.uri()), &cloud, Duration::from_secs(5));
    app.run(&AppStep::FetchList {
        flag: 2,
        pageno: None,
        pagesize: None,
    })
    .await
    .unwrap();
    assert_eq!(shown_android(&app), vec!["No replay yet"]);
    let err = app.run(&AppStep::PlayReplay).await.unwrap_err();
    assert_eq!(err, AppError::Precondition("No replay yet".to_string()));
}

#[tokio::test]
async fn a_backend_error_code_is_shown_with_its_message() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"returnValue":2003,"returnMsg":"db operator error | ForbidLive::process() fail db operator error","returnData":[]}"#,
        ))
        .mount(&backend)
        .await;
    let mut app = logged_in(&backend, &cloud, Duration::from_secs(5)).await;
    let err = app.run(&AppStep::ForbidLive).await.unwrap_err();
    assert_eq!(
        err,
        AppError::Precondition("No anchor to forbid".to_string())
    );
    mount_action(&backend, "FetchList", json!({})).await;
    backend.reset().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"Action": "FetchList"})))
        .respond_with(envelope(json!({"totalcount": "1", "pusherlist": [
            {"userid":"anchor02","groupid":"g","type":0,"fileid":"","playurl":"","title":"t"}]})))
        .mount(&backend)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"Action": "ForbidLive", "userid": "anchor02", "forbidflag": 1})))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"returnValue":2003,"returnMsg":"db operator error | ForbidLive::process() fail db operator error","returnData":[]}"#,
        ))
        .mount(&backend)
        .await;
    app.run(&AppStep::FetchList {
        flag: 1,
        pageno: None,
        pagesize: None,
    })
    .await
    .unwrap();
    let err = app.run(&AppStep::ForbidLive).await.unwrap_err();
    assert!(matches!(err, AppError::Backend { code: 2003, .. }));
    assert_eq!(
        shown_android(&app).last().map(String::as_str),
        Some(
            "request failed, error code:2003, db operator error | ForbidLive::process() fail db operator error"
        )
    );
}

#[tokio::test]
async fn requests_leave_from_the_phones_source_address() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A bare HTTP peer standing in for TLS, to see the TCP peer address the cloud would see.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cloud_http = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, peer) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let mut request = Vec::new();
        while !contains(&request, b"anchor01") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01"}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        let _ = seen_tx.send((peer.ip(), String::from_utf8_lossy(&request).to_string()));
    });
    let network = Network {
        cloud_http,
        cloud_rtmp: unused_addr(),
        source_ip: Some("127.0.0.9".parse().unwrap()),
    };
    let options = AppOptions {
        http_timeout: Duration::from_secs(5),
        ..AppOptions::default()
    };
    let mut app = App::new(constants("http://127.0.0.1:9"), network, options).unwrap();
    app.run(&AppStep::Register {
        username: None,
        password: None,
        count: None,
    })
    .await
    .unwrap();
    let (ip, request) = seen_rx.await.unwrap();
    assert_eq!(ip.to_string(), "127.0.0.9");
    assert!(
        request.starts_with("POST /v1/strreg HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("host: tls.qcloud.com\r\n"),
        "{request}"
    );
}
