//! librtmp as a second real RTMP client (through GStreamer's `rtmpsink`): the library many mobile pushers
//! grew from handshakes, publishes and ends its push as ffmpeg's own RTMP client does; a bad txSecret makes
//! it fail to connect. The test command installs gstreamer1.0-tools and gstreamer1.0-plugins-bad.

mod lvb_support;

use std::process::Stdio;
use std::time::Duration;

use lvb_support::*;
use tcharness::cloud::{Cloud, Service, Tenant};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(30);

/// A 3 s H.264/AAC FLV made with ffmpeg, the source every push streams.
async fn source_flv(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("source.flv");
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25"])
        .args(["-f", "lavfi", "-i", "sine", "-t", "3"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(&file)
        .status()
        .await
        .expect("ffmpeg runs");
    assert!(made.success());
    file
}

/// `gst-launch-1.0` pushing `source` in real time through librtmp to the ingest, the push domain kept in
/// tcUrl (librtmp's own `tcUrl=` option) while the socket goes to the ingest's port.
async fn librtmp_push(cloud: &Cloud, url: &str, source: &std::path::Path) -> std::process::Output {
    let (domain, rest) = url.split_once("/live/").expect("push url");
    let location = format!(
        "rtmp://{}/live/{rest} tcUrl={domain}/live live=1",
        cloud.rtmp_addr()
    );
    // Demuxed and muxed again: rtmpsink fed the file's bytes directly crashes librtmp at the end of the
    // stream, against nginx-rtmp as well.
    let pipeline = format!(
        "filesrc location={} ! flvdemux name=d d.video ! queue ! h264parse ! flvmux name=m streamable=true \
         ! rtmpsink location=\"{location}\" d.audio ! queue ! aacparse ! m.",
        source.display()
    );
    let mut command = Command::new("gst-launch-1.0");
    // As an app does: a write to a socket the server closed is an error, not death by SIGPIPE.
    // SAFETY: signal(2) only, between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            Ok(())
        });
    }
    let run = command
        .args(["-q", "--gst-disable-segtrap"])
        .args(shell_words(&pipeline))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(WAIT, run)
        .await
        .expect("gst-launch ends")
        .unwrap_or_else(|e| panic!("gst-launch-1.0 (scripts/test.sh installs it): {e}"))
}

/// gst-launch takes the pipeline as separate words, a quoted property value as one.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[tokio::test]
async fn librtmp_publishes_ends_with_delete_stream_and_is_recorded() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = source_flv(dir.path()).await;
    let (url, stream) = console_push_url(&cloud, "librtmp01");
    let out = librtmp_push(&cloud, &url, &source).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    let outcomes = ingest_outcomes(&cloud);
    assert!(outcomes.iter().any(|o| o == "accepted"), "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| o == "ended: recv rtmp deleteStream (errcode 1)"),
        "{outcomes:?}"
    );
    assert_eq!(first_recording_codecs(&cloud, dir.path()).await, "aac,h264");
}

#[tokio::test]
async fn librtmp_fails_to_connect_on_a_bad_txsecret() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let dir = tempfile::tempdir().expect("tempdir");
    let source = source_flv(dir.path()).await;
    let (url, _) = console_push_url(&cloud, "librtmp02");
    let bad = url.replace("txSecret=", "txSecret=ff");
    let out = librtmp_push(&cloud, &bad, &source).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Could not connect to RTMP stream"),
        "{:?}: {stderr}",
        out.status
    );
    let ingest = cloud.ctx.journal.of(Service::LvbIngest);
    assert_eq!(ingest[0].outcome, "refused: bad txSecret");
}
