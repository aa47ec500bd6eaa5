//! Helpers shared by the LVB test suites: a cloud with a short retry policy, signed push URLs, and HTTP
//! requests that reach the cloud's listener while carrying the real Tencent host name.
#![allow(dead_code)]

use std::time::Duration;

use tcharness::cloud::lvb::hotlink::tx_secret;
use tcharness::cloud::{Cloud, CloudOptions, Tenant};

/// Retries 50 ms apart, attempts time out after 400 ms: the documented policy, compressed.
pub fn fast_options() -> CloudOptions {
    CloudOptions {
        callback_retry_interval: Duration::from_millis(50),
        callback_timeout: Duration::from_millis(400),
        callback_retries: 3,
        ..CloudOptions::default()
    }
}

/// The healthy tenant with its callback URL pointing at `callback_base` (e.g. a wiremock server).
pub async fn cloud_with_callback(callback_base: &str) -> Cloud {
    let mut tenant = Tenant::healthy();
    tenant.lvb.callback_url = format!("{callback_base}/callback/Live_callback.php");
    Cloud::start(tenant, fast_options())
        .await
        .expect("cloud starts")
}

/// A push URL as the reference backend builds it: `livepush2`, `record=flv|hls`, lower-case txTime.
pub fn backend_push_url(cloud: &Cloud, user: &str, valid_for: i64) -> (String, String) {
    let tenant = cloud.ctx.tenant();
    let stream = format!("{}_{user}", tenant.lvb.bizid);
    let tx_time = format!("{:x}", cloud.ctx.clock.now() + valid_for);
    let secret = tx_secret(&tenant.lvb.push_key, &stream, &tx_time);
    let url = format!(
        "rtmp://{bizid}.livepush2.myqcloud.com/live/{stream}?bizid={bizid}&record_interval=10800&record=flv|hls&txSecret={secret}&txTime={tx_time}",
        bizid = tenant.lvb.bizid
    );
    (url, stream)
}

/// A push URL with one record format and an upper-case txTime (the console's style).
pub fn console_push_url(cloud: &Cloud, user: &str) -> (String, String) {
    let tenant = cloud.ctx.tenant();
    let stream = format!("{}_{user}", tenant.lvb.bizid);
    let tx_time = format!("{:X}", cloud.ctx.clock.now() + 3600);
    let secret = tx_secret(&tenant.lvb.push_key, &stream, &tx_time);
    let url = format!(
        "rtmp://{}.livepush.myqcloud.com/live/{stream}?txSecret={secret}&txTime={tx_time}",
        tenant.lvb.bizid
    );
    (url, stream)
}

/// GETs `url` (a Tencent URL) from the cloud's HTTP listener with the URL's host in `Host`.
pub async fn http_get(cloud: &Cloud, url: &str) -> (u16, Vec<u8>) {
    let parsed = url::Url::parse(url).expect("url");
    let host = parsed.host_str().expect("host").to_string();
    let mut target = format!("http://{}{}", cloud.http_addr(), parsed.path());
    if let Some(q) = parsed.query() {
        target.push('?');
        target.push_str(q);
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let resp = client
        .get(target)
        .header("Host", host)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Sends raw bytes to the RTMP listener; whether the server closed the connection within 5 s.
pub async fn send_raw(cloud: &Cloud, bytes: &[u8]) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(cloud.rtmp_addr())
        .await
        .expect("connect");
    let _ = sock.write_all(bytes).await;
    let mut buf = vec![0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, sock.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// A valid client handshake (C0 + C1 + C2, simple scheme) so the bytes after it reach the chunk parser.
pub fn handshake_then(rest: &[u8]) -> Vec<u8> {
    let mut bytes = vec![3u8];
    bytes.extend(std::iter::repeat_n(0u8, 1536 * 2));
    bytes.extend_from_slice(rest);
    bytes
}

/// The `codec_name`s ffprobe finds at `source` (a file, or an HTTP URL fetched through `proxy`), sorted.
pub async fn probe_codecs(source: &str, proxy: Option<String>) -> String {
    let mut cmd = tokio::process::Command::new("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name",
        "-of",
        "csv=p=0",
    ]);
    if let Some(proxy) = proxy {
        cmd.args(["-http_proxy", &proxy]);
    }
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        cmd.arg(source).kill_on_drop(true).output(),
    )
    .await
    .expect("ffprobe finishes")
    .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut codecs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    codecs.sort();
    codecs.join(",")
}

/// The codecs of the cloud's first recording, downloaded from its `video_url` into `dir`.
pub async fn first_recording_codecs(cloud: &Cloud, dir: &std::path::Path) -> String {
    let rec = cloud
        .services
        .lvb
        .recordings()
        .into_iter()
        .next()
        .expect("a recording");
    let (status, bytes) = http_get(cloud, &rec.video_url).await;
    assert_eq!(status, 200);
    let file = dir.join("rec.flv");
    std::fs::write(&file, &bytes).expect("write");
    probe_codecs(&file.to_string_lossy(), None).await
}

/// The outcomes the ingest journaled, in order.
pub fn ingest_outcomes(cloud: &Cloud) -> Vec<String> {
    cloud
        .ctx
        .journal
        .of(tcharness::cloud::Service::LvbIngest)
        .into_iter()
        .map(|e| e.outcome)
        .collect()
}
