//! ffmpeg as a real RTMP client: a good URL publishes, ffprobe reads the HTTP-FLV relay and the
//! recording; a bad txSecret makes ffmpeg fail.

mod lvb_support;

use std::process::Stdio;
use std::time::Duration;

use lvb_support::*;
use tcharness::cloud::{Cloud, Service, Tenant};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(20);

/// ffmpeg pushing `seconds` of test pattern + tone, in real time, to the cloud's ingest.
fn ffmpeg_push(cloud: &Cloud, url: &str, seconds: u32) -> Command {
    // Connect to the ingest's port but keep the push domain in tcUrl.
    let (_, rest) = url.split_once("/live/").expect("push url");
    let target = format!("rtmp://{}/live/{rest}", cloud.rtmp_addr());
    let tc_url = url.split("/live/").next().expect("domain").to_string() + "/live";
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-nostdin",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25",
    ])
    .args(["-f", "lavfi", "-i", "sine", "-t", &seconds.to_string()])
    .args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "25",
        "-c:a",
        "aac",
        "-f",
        "flv",
    ])
    .args(["-rtmp_tcurl", &tc_url, &target])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn ffmpeg_publishes_and_ffprobe_reads_the_relay_and_the_recording() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let (url, stream) = console_push_url(&cloud, "ffmpeg01");
    let push = ffmpeg_push(&cloud, &url, 3).spawn().expect("ffmpeg runs");
    let accepted = cloud
        .ctx
        .journal
        .wait_for(WAIT, |e| {
            e.service == Service::LvbIngest && e.outcome == "accepted"
        })
        .await;
    assert!(accepted.is_some(), "{:?}", cloud.ctx.journal.entries());

    let relay = probe_codecs(
        &format!("http://8888.liveplay.myqcloud.com/live/{stream}.flv"),
        Some(format!("http://{}", cloud.http_addr())),
    )
    .await;
    assert_eq!(relay, "aac,h264");

    let out = push.wait_with_output().await.expect("ffmpeg exits");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    let ended = cloud.ctx.journal.of(Service::LvbIngest);
    assert!(
        ended
            .iter()
            .any(|e| e.outcome == "ended: recv rtmp deleteStream (errcode 1)"),
        "{ended:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(first_recording_codecs(&cloud, dir.path()).await, "aac,h264");
}

#[tokio::test]
async fn ffmpeg_fails_on_a_bad_txsecret() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let (url, _) = console_push_url(&cloud, "ffmpeg02");
    let bad = url.replace("txSecret=", "txSecret=ff");
    let out = tokio::time::timeout(WAIT, ffmpeg_push(&cloud, &bad, 1).output())
        .await
        .expect("ffmpeg gives up")
        .expect("ffmpeg runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // ffmpeg's own words for a server that hangs up after `publish` (the SDK's 3004).
    assert!(
        stderr.contains("8888_ffmpeg02?txSecret=") && stderr.contains("Input/output error"),
        "{stderr}"
    );
    let ingest = cloud.ctx.journal.of(Service::LvbIngest);
    assert_eq!(ingest[0].outcome, "refused: bad txSecret");
    assert_eq!(
        ingest[0].request,
        "publish rtmp://8888.livepush.myqcloud.com/live/8888_ffmpeg02"
    );
}
