//! The anchor's push against a real RTMP server (nginx + nginx-rtmp, started by the test), with both
//! pushers. nginx asks a wiremock `on_publish` hook whether to accept each publish, which lets the
//! test see the tcUrl and publish name on the wire and refuse a bad txSecret like the ingest does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use tcharness::terminal::{
    App, AppConstants, AppError, AppEvent, AppOptions, AppStep, Network, PushState, Pusher,
};
use wiremock::matchers::{body_partial_json, body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NGINX_RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A private nginx-rtmp; killed (by its own pid) on drop.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(hooks: &MockServer) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root: PathBuf = dir.path().to_path_buf();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\n\
             error_log {root}/error.log info;\npid {root}/nginx.pid;\n\
             load_module {NGINX_RTMP_MODULE};\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on;\n\
               on_publish {hooks}/on_publish;\n on_publish_done {hooks}/on_publish_done; }} }} }}\n",
            root = root.display(),
            hooks = hooks.uri(),
        );
        std::fs::write(root.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .arg("-e")
            .arg(root.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx with libnginx-mod-rtmp is installed");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const GOOD_PUSH_URL: &str = "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01?bizid=8888&record_interval=10800&record=flv|hls&txSecret=goodsecret&txTime=5a3e7d7f";
const BAD_PUSH_URL: &str = "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01?bizid=8888&record_interval=10800&record=flv|hls&txSecret=badsecret&txTime=5a3e7d7f";

/// Backend, IM and on_publish hooks on wiremock; nginx as the push domain's ingest.
struct Rig {
    backend: MockServer,
    cloud: MockServer,
    hooks: MockServer,
    nginx: Nginx,
}

async fn rig(push_url: &str) -> Rig {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    let hooks = MockServer::start().await;
    // The ingest accepts only the good secret, checked in the publish name's query.
    Mock::given(method("POST"))
        .and(path("/on_publish"))
        .and(body_string_contains("txSecret=goodsecret"))
        .and(body_string_contains("8888.livepush2.myqcloud.com"))
        .and(body_string_contains("name=8888_anchor01"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(1)
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .and(path("/on_publish"))
        .respond_with(ResponseTemplate::new(403))
        .with_priority(2)
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .and(path("/on_publish_done"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"Action": "RequestLVBAddr", "userid": "anchor01"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(
                json!({"returnValue":0,"returnMsg":"return successfully!",
                   "returnData":{"pushurl": push_url, "timestamp": 1}})
                .to_string(),
            ),
        )
        .mount(&backend)
        .await;
    for im_path in ["/v1/strlogin", "/v1/login"] {
        Mock::given(method("POST"))
            .and(path(im_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ErrCode": 0, "identifier": "anchor01", "userSig": "sig",
                "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})))
            .mount(&cloud)
            .await;
    }
    let nginx = Nginx::start(&hooks);
    Rig {
        backend,
        cloud,
        hooks,
        nginx,
    }
}

async fn expect_change_status(backend: &MockServer, status: i64, times: u64) {
    Mock::given(method("POST"))
        .and(body_partial_json(
            json!({"Action": "ChangeStatus", "userid": "anchor01", "status": status}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"returnValue":0,"returnMsg":"return successfully!","returnData":{"result":0}}"#,
        ))
        .expect(times)
        .mount(backend)
        .await;
}

async fn logged_in_app(rig: &Rig, pusher: Pusher) -> App {
    let mut c = AppConstants::default();
    for (name, value) in [
        ("kTCIMSDKAppId", "1400012345".to_string()),
        ("kTCIMSDKAccountType", "8808".to_string()),
        ("kTCCOSAppId", "1252000001".to_string()),
        ("kTCCOSBucket", "minilvb".to_string()),
        ("kTCCOSRegion", "sh".to_string()),
        (
            "kHttpServerAddr",
            format!("{}/interface.php", rig.backend.uri()),
        ),
    ] {
        c.set(name, value).unwrap();
    }
    let network = Network {
        cloud_http: *rig.cloud.address(),
        cloud_rtmp: rig.nginx.addr,
        source_ip: None,
    };
    let options = AppOptions {
        http_timeout: Duration::from_secs(10),
        pusher,
        ..AppOptions::default()
    };
    let mut app = App::new(c, network, options).unwrap();
    app.run(&AppStep::Login {
        username: None,
        password: None,
    })
    .await
    .unwrap();
    app
}

fn push_events(app: &App) -> Vec<(i32, String, String)> {
    app.log()
        .iter()
        .filter_map(|e| match e {
            AppEvent::Push {
                code, english, url, ..
            } => Some((*code, english.clone(), url.clone())),
            _ => None,
        })
        .collect()
}

async fn publish_done_seen(hooks: &MockServer) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let seen = hooks
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .any(|r| r.url.path() == "/on_publish_done");
        if seen {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn healthy_push(pusher: Pusher) {
    let probe_with_ffprobe = pusher == Pusher::Builtin;
    let rig = rig(GOOD_PUSH_URL).await;
    expect_change_status(&rig.backend, 0, 1).await;
    expect_change_status(&rig.backend, 1, 1).await;
    let mut app = logged_in_app(&rig, pusher).await;
    app.run(&AppStep::StartLive { title: None })
        .await
        .unwrap_or_else(|e| panic!("{e}: {:#?}", app.log()));
    assert_eq!(app.push_state(), Some(PushState::Pushing));
    assert_eq!(
        push_events(&app),
        vec![
            (
                1001,
                "Connected to the push server".to_string(),
                "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01".to_string()
            ),
            (
                1002,
                "Push begins".to_string(),
                "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01".to_string()
            )
        ]
    );
    if probe_with_ffprobe {
        // A real RTMP player sees the synthetic stream's video and audio.
        let probe = tokio::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
            ])
            .arg(format!("rtmp://{}/live/8888_anchor01", rig.nginx.addr))
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(20), probe)
            .await
            .expect("ffprobe finished")
            .expect("ffprobe ran");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            text.contains("h264") && text.contains("aac"),
            "ffprobe saw: {text}"
        );
    }
    app.run(&AppStep::StopLive).await.unwrap();
    assert!(
        publish_done_seen(&rig.hooks).await,
        "nginx saw the unpublish"
    );
    assert!(app.shown().is_empty(), "{:?}", app.shown());
}

#[tokio::test]
async fn builtin_pusher_publishes_with_the_real_tcurl_and_query() {
    healthy_push(Pusher::Builtin).await;
}

#[tokio::test]
async fn ffmpeg_pusher_publishes_with_the_real_tcurl_and_query() {
    healthy_push(Pusher::Ffmpeg).await;
}

async fn refused_push(pusher: Pusher) {
    let rig = rig(BAD_PUSH_URL).await;
    expect_change_status(&rig.backend, 0, 0).await;
    // §8.1: after -1307 the app marks the room offline.
    expect_change_status(&rig.backend, 1, 1).await;
    let mut app = logged_in_app(&rig, pusher).await;
    let err = app
        .run(&AppStep::StartLive { title: None })
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Push { code: -1307, .. }), "{err}");
    let events: Vec<(i32, String, String, String)> = app
        .log()
        .iter()
        .filter_map(|e| match e {
            AppEvent::Push {
                code,
                name,
                text,
                english,
                ..
            } => Some((*code, name.clone(), text.clone(), english.clone())),
            _ => None,
        })
        .collect();
    let ev = |code: i32, name: &str, text: &str, english: &str| {
        (
            code,
            name.to_string(),
            text.to_string(),
            english.to_string(),
        )
    };
    let reconnect = ev(
        1102,
        "PUSH_WARNING_RECONNECT",
        "启动网络重连",
        "Network reconnection started",
    );
    assert_eq!(
        events,
        vec![
            ev(
                1001,
                "PUSH_EVT_CONNECT_SUCC",
                "已经连接推流服务器",
                "Connected to the push server"
            ),
            ev(
                3004,
                "PUSH_WARNING_SERVER_DISCONNECT",
                "RTMP服务器主动断开，请检查推流地址的合法性或防盗链有效期",
                "RTMP server actively disconnects"
            ),
            reconnect.clone(),
            reconnect.clone(),
            reconnect,
            ev(
                -1307,
                "PUSH_ERR_NET_DISCONNECT",
                "网络断连,且经多次重连抢救无效,可以放弃治疗,更多重试请自行重启推流",
                "Network disconnected and several reconnects failed; restart the push to retry"
            ),
        ]
    );
    let shown: Vec<String> = app.shown().into_iter().map(|s| s.android).collect();
    assert_eq!(shown, vec!["网络异常，请检查网络"]);
    // The ingest saw the first publish and the SDK's three reconnects.
    let publishes = rig
        .hooks
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/on_publish")
        .count();
    assert_eq!(publishes, 4);
}

#[tokio::test]
async fn builtin_pusher_refused_shows_server_actively_disconnects() {
    refused_push(Pusher::Builtin).await;
}

#[tokio::test]
async fn ffmpeg_pusher_refused_shows_server_actively_disconnects() {
    refused_push(Pusher::Ffmpeg).await;
}

#[tokio::test]
async fn a_push_cut_while_live_is_reported_at_the_next_step() {
    let mut rig = rig(GOOD_PUSH_URL).await;
    expect_change_status(&rig.backend, 0, 1).await;
    let mut app = logged_in_app(&rig, Pusher::Builtin).await;
    app.run(&AppStep::StartLive { title: None }).await.unwrap();
    // The server goes away while the anchor is live.
    let _ = rig.nginx.child.kill();
    let _ = rig.nginx.child.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.push_state() == Some(PushState::Pushing) {
        assert!(Instant::now() < deadline, "the cut was not noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"Action": "FetchList"})))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"returnValue":0,"returnMsg":"","returnData":{"totalcount":"0","pusherlist":[]}}"#,
        ))
        .mount(&rig.backend)
        .await;
    app.run(&AppStep::FetchList {
        flag: 1,
        pageno: None,
        pagesize: None,
    })
    .await
    .unwrap();
    let codes: Vec<i32> = push_events(&app).into_iter().map(|e| e.0).collect();
    assert_eq!(codes, vec![1001, 1002, 3004]);
}

#[tokio::test]
async fn a_server_closing_right_after_accept_is_3004_and_nothing_listening_is_3002() {
    let backend = MockServer::start().await;
    let cloud = MockServer::start().await;
    let hooks = MockServer::start().await;
    let _ = hooks;
    let closer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closer_addr = closer.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = closer.accept().await {
            drop(socket);
        }
    });
    for (rtmp, code) in [
        (closer_addr, 3004),
        (
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap(),
            3002,
        ),
    ] {
        let network = Network {
            cloud_http: *cloud.address(),
            cloud_rtmp: rtmp,
            source_ip: None,
        };
        let failure = tcharness::terminal::push::start_push(
            &Pusher::Builtin,
            GOOD_PUSH_URL,
            &network,
            Duration::from_secs(5),
        )
        .await
        .err()
        .expect("the push must fail");
        assert_eq!(failure.code, code, "{failure:?}");
    }
    drop(backend);
}
