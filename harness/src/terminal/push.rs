//! The anchor's push: an RTMP publisher of a synthetic stream that keeps running in the background.
//!
//! Two pushers: our own (handshake, `connect` with the real tcUrl domain, `createStream`, `publish` with
//! the `?query` kept in the stream name, then FLV audio/video tags at real-time pace), and ffmpeg with
//! `-rtmp_tcurl` for a real encoder on the wire. Failures are reported as the push SDK's events: a server
//! that closes the connection at any point after TCP connect is event 3004 "RTMP server actively
//! disconnects", which is what the real app shows for a rejected push URL.

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
    PublishRequestType, StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::net::{Network, connect_tcp, resolve_rtmp};
use super::shown::{PUSH_CONNECT_FAIL, PUSH_DNS_FAIL, PUSH_HANDSHAKE_FAIL, PUSH_SERVER_DISCONNECT};

/// Which RTMP publisher the app uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Pusher {
    /// Our own publisher: fast, no external tool.
    #[default]
    Builtin,
    /// ffmpeg (libx264 + aac) with `-rtmp_tcurl`; the program is looked up on `PATH`.
    Ffmpeg,
}

/// A push URL taken apart: where to connect and what to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushUrl {
    pub host: String,
    pub port: u16,
    /// The application (`live`).
    pub app: String,
    /// The stream name with its query (`8888_anchor01?bizid=8888&...&txSecret=..&txTime=..`).
    pub publish_name: String,
    /// `rtmp://{host}[:port]/{app}` with the real domain, as the SDK sends it.
    pub tc_url: String,
}

impl PushUrl {
    pub fn parse(url: &str) -> Option<PushUrl> {
        let rest = url.trim().strip_prefix("rtmp://")?;
        let (authority, path) = rest.split_once('/')?;
        let (host, port, explicit) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.is_empty() => (h, p.parse().ok()?, true),
            _ => (authority, 1935, false),
        };
        if host.is_empty() {
            return None;
        }
        let (app, publish_name) = path.split_once('/')?;
        if app.is_empty() || publish_name.is_empty() {
            return None;
        }
        let tc_url = if explicit {
            format!("rtmp://{host}:{port}/{app}")
        } else {
            format!("rtmp://{host}/{app}")
        };
        Some(PushUrl {
            host: host.to_string(),
            port,
            app: app.to_string(),
            publish_name: publish_name.to_string(),
            tc_url,
        })
    }

    /// The URL without its query: stable across runs (no txSecret/txTime), for logs.
    pub fn display(&self) -> String {
        let stream = self
            .publish_name
            .split('?')
            .next()
            .unwrap_or(&self.publish_name);
        format!("{}/{}", self.tc_url, stream)
    }
}

/// Why a push did not start or stopped, as the push SDK reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushFailure {
    /// The SDK event (3001..3004).
    pub code: i32,
    /// What happened on the wire (for the log's detail, not for the user).
    pub detail: String,
}

impl PushFailure {
    fn new(code: i32, detail: impl Into<String>) -> Self {
        PushFailure {
            code,
            detail: detail.into(),
        }
    }
}

/// State of a push running in the background.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushState {
    Pushing,
    /// The server closed the connection while we were pushing.
    Disconnected(PushFailure),
    Stopped,
}

/// A push that started; dropping it stops the push.
pub struct PushHandle {
    pub url: PushUrl,
    state: watch::Receiver<PushState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl PushHandle {
    pub fn state(&self) -> PushState {
        self.state.borrow().clone()
    }

    /// Stops pushing (a graceful unpublish) and returns the final state: `Stopped`, or
    /// `Disconnected` if the server had already cut the push.
    pub async fn stop(mut self) -> PushState {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state.borrow().clone()
    }

    /// Resolves when the push is no longer running (cut by the server, or stopped).
    pub async fn ended(&mut self) -> PushState {
        let state = self
            .state
            .wait_for(|s| *s != PushState::Pushing)
            .await
            .map(|s| s.clone());
        state.unwrap_or(PushState::Stopped)
    }
}

impl Drop for PushHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a push and waits until the server accepted `publish` (SDK event 1002), within `timeout`.
pub async fn start_push(
    pusher: &Pusher,
    url: &str,
    network: &Network,
    timeout: Duration,
) -> Result<PushHandle, PushFailure> {
    let parsed = PushUrl::parse(url)
        .ok_or_else(|| PushFailure::new(PUSH_CONNECT_FAIL, format!("not an rtmp URL: {url}")))?;
    let addr = resolve_rtmp(network, &parsed.host, parsed.port)
        .await
        .map_err(|e| PushFailure::new(PUSH_DNS_FAIL, format!("resolve {}: {e}", parsed.host)))?;
    match pusher {
        Pusher::Builtin => {
            match tokio::time::timeout(timeout, builtin_publish(network, addr, &parsed)).await {
                Ok(result) => result,
                Err(_) => Err(PushFailure::new(
                    PUSH_CONNECT_FAIL,
                    "no answer to publish within the timeout",
                )),
            }
        }
        Pusher::Ffmpeg => ffmpeg_publish(addr, &parsed, timeout).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Builtin publisher

struct Wire {
    reader: tokio::net::tcp::OwnedReadHalf,
    writer: OwnedWriteHalf,
    buf: Vec<u8>,
}

impl Wire {
    /// Reads more bytes; `Ok(None)` when the server closed the connection.
    async fn read(&mut self) -> std::io::Result<Option<&[u8]>> {
        let n = self.reader.read(&mut self.buf).await?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(&self.buf[..n]))
    }
}

fn disconnected(stage: &str) -> PushFailure {
    PushFailure::new(
        PUSH_SERVER_DISCONNECT,
        format!("server closed the connection {stage}"),
    )
}

async fn builtin_publish(
    network: &Network,
    addr: std::net::SocketAddr,
    url: &PushUrl,
) -> Result<PushHandle, PushFailure> {
    let stream: TcpStream = connect_tcp(network, addr)
        .await
        .map_err(|e| PushFailure::new(PUSH_CONNECT_FAIL, format!("connect {addr}: {e}")))?;
    let (reader, writer) = stream.into_split();
    let mut wire = Wire {
        reader,
        writer,
        buf: vec![0u8; 64 * 1024],
    };

    // Handshake (C0+C1, then C2 once S0+S1 arrived).
    let mut handshake = Handshake::new(PeerType::Client);
    let c0c1 = handshake
        .generate_outbound_p0_and_p1()
        .map_err(|e| PushFailure::new(PUSH_HANDSHAKE_FAIL, format!("{e:?}")))?;
    send(&mut wire.writer, &c0c1, "during the handshake").await?;
    let leftover = loop {
        let bytes = match wire.read().await {
            Ok(Some(bytes)) => bytes.to_vec(),
            Ok(None) | Err(_) => return Err(disconnected("during the handshake")),
        };
        match handshake.process_bytes(&bytes) {
            Ok(HandshakeProcessResult::InProgress { response_bytes }) => {
                send(&mut wire.writer, &response_bytes, "during the handshake").await?;
            }
            Ok(HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            }) => {
                send(&mut wire.writer, &response_bytes, "during the handshake").await?;
                break remaining_bytes;
            }
            Err(e) => return Err(PushFailure::new(PUSH_HANDSHAKE_FAIL, format!("{e:?}"))),
        }
    };

    // connect → createStream → publish.
    let mut config = ClientSessionConfig::new();
    config.tc_url = Some(url.tc_url.clone());
    config.flash_version = "FMLE/3.0 (compatible; MiniLVB)".to_string();
    let (mut session, initial) =
        ClientSession::new(config).map_err(|e| protocol_failure("session", e))?;
    let mut pending = initial;
    pending.push(
        session
            .request_connection(url.app.clone())
            .map_err(|e| protocol_failure("connect", e))?,
    );
    let mut input = leftover;
    let mut stage = "after connect";
    loop {
        if !input.is_empty() {
            let results = session
                .handle_input(&input)
                .map_err(|e| protocol_failure("input", e))?;
            input.clear();
            pending.extend(results);
        }
        let mut published = false;
        for result in std::mem::take(&mut pending) {
            match result {
                ClientSessionResult::OutboundResponse(packet) => {
                    send(&mut wire.writer, &packet.bytes, stage).await?;
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    stage = "after publish";
                    let request = session
                        .request_publishing(url.publish_name.clone(), PublishRequestType::Live)
                        .map_err(|e| protocol_failure("publish", e))?;
                    if let ClientSessionResult::OutboundResponse(packet) = request {
                        send(&mut wire.writer, &packet.bytes, stage).await?;
                    }
                }
                ClientSessionResult::RaisedEvent(
                    ClientSessionEvent::ConnectionRequestRejected { description },
                ) => {
                    return Err(PushFailure::new(
                        PUSH_SERVER_DISCONNECT,
                        format!("connect rejected: {description}"),
                    ));
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::PublishRequestAccepted) => {
                    published = true;
                }
                ClientSessionResult::RaisedEvent(
                    ClientSessionEvent::UnhandleableOnStatusCode { code },
                ) if code.contains("Publish") => {
                    // NetStream.Publish.BadName and the like: the server refuses the stream.
                    return Err(PushFailure::new(
                        PUSH_SERVER_DISCONNECT,
                        format!("publish refused: {code}"),
                    ));
                }
                _ => {}
            }
        }
        if published {
            break;
        }
        match wire.read().await {
            Ok(Some(bytes)) => input = bytes.to_vec(),
            Ok(None) | Err(_) => return Err(disconnected(stage)),
        }
    }

    let (state_tx, state_rx) = watch::channel(PushState::Pushing);
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(stream_media(session, wire, state_tx, stop_rx));
    Ok(PushHandle {
        url: url.clone(),
        state: state_rx,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

fn protocol_failure(what: &str, e: impl std::fmt::Debug) -> PushFailure {
    PushFailure::new(PUSH_SERVER_DISCONNECT, format!("rtmp {what}: {e:?}"))
}

async fn send(writer: &mut OwnedWriteHalf, bytes: &[u8], stage: &str) -> Result<(), PushFailure> {
    writer
        .write_all(bytes)
        .await
        .map_err(|_| disconnected(stage))
}

/// Frames per second of the synthetic video.
const FPS: u32 = 25;

/// Sends metadata, the AVC/AAC sequence headers, then one video tag (+ one audio tag) per frame
/// until stopped or cut; reads the server's control messages meanwhile.
async fn stream_media(
    mut session: ClientSession,
    mut wire: Wire,
    state: watch::Sender<PushState>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut frame: u32 = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / FPS as u64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut out: Vec<ClientSessionResult> = Vec::new();
    if let Ok(r) = session.publish_metadata(&synthetic_metadata()) {
        out.push(r);
    }
    if let Ok(r) = session.publish_video_data(avc_sequence_header(), RtmpTimestamp::new(0), false) {
        out.push(r);
    }
    if let Ok(r) = session.publish_audio_data(aac_sequence_header(), RtmpTimestamp::new(0), false) {
        out.push(r);
    }
    let end = loop {
        let mut write_failed = false;
        for result in out.drain(..) {
            if let ClientSessionResult::OutboundResponse(packet) = result
                && wire.writer.write_all(&packet.bytes).await.is_err()
            {
                write_failed = true;
                break;
            }
        }
        if write_failed {
            break PushState::Disconnected(disconnected("while pushing"));
        }
        tokio::select! {
            _ = &mut stop => {
                if let Ok(results) = session.stop_publishing() {
                    for result in results {
                        if let ClientSessionResult::OutboundResponse(packet) = result {
                            let _ = wire.writer.write_all(&packet.bytes).await;
                        }
                    }
                }
                let _ = wire.writer.shutdown().await;
                break PushState::Stopped;
            }
            read = wire.reader.read(&mut wire.buf) => {
                match read {
                    Ok(0) | Err(_) => break PushState::Disconnected(disconnected("while pushing")),
                    Ok(n) => {
                        if let Ok(results) = session.handle_input(&wire.buf[..n]) {
                            out.extend(results);
                        }
                    }
                }
            }
            _ = ticker.tick() => {
                let ts = RtmpTimestamp::new(frame * 1000 / FPS);
                let key = frame.is_multiple_of(FPS);
                match session.publish_video_data(video_frame(key, frame), ts, !key) {
                    Ok(r) => out.push(r),
                    Err(_) => break PushState::Disconnected(disconnected("while pushing")),
                }
                if let Ok(r) = session.publish_audio_data(audio_frame(frame), ts, true) {
                    out.push(r);
                }
                frame = frame.wrapping_add(1);
            }
        }
    };
    let _ = state.send(end);
}

fn synthetic_metadata() -> StreamMetadata {
    let mut meta = StreamMetadata::new();
    meta.video_width = Some(320);
    meta.video_height = Some(240);
    meta.video_codec_id = Some(7);
    meta.video_frame_rate = Some(FPS as f32);
    meta.video_bitrate_kbps = Some(100);
    meta.audio_codec_id = Some(10);
    meta.audio_bitrate_kbps = Some(32);
    meta.audio_sample_rate = Some(44100);
    meta.audio_channels = Some(1);
    meta.audio_is_stereo = Some(false);
    meta.encoder = Some("MiniLVB synthetic".to_string());
    meta
}

/// FLV video tag body: keyframe AVC sequence header with a baseline 320x240 SPS/PPS.
fn avc_sequence_header() -> Bytes {
    let sps: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40,
        0x00, 0x00, 0x0c, 0xa3, 0xc5, 0x0a, 0xa8,
    ];
    let pps: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
    let mut v = vec![0x17, 0x00, 0x00, 0x00, 0x00];
    v.extend_from_slice(&[0x01, sps[1], sps[2], sps[3], 0xff, 0xe1]);
    v.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    v.extend_from_slice(sps);
    v.push(0x01);
    v.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    v.extend_from_slice(pps);
    Bytes::from(v)
}

/// FLV audio tag body: AAC-LC 44.1 kHz mono AudioSpecificConfig.
fn aac_sequence_header() -> Bytes {
    Bytes::from_static(&[0xaf, 0x00, 0x12, 0x08])
}

/// One synthetic AVC NALU in an FLV video tag (IDR for key frames).
fn video_frame(key: bool, frame: u32) -> Bytes {
    let nal_type: u8 = if key { 0x65 } else { 0x41 };
    let payload_len = if key { 600 } else { 120 };
    let mut v = vec![if key { 0x17 } else { 0x27 }, 0x01, 0x00, 0x00, 0x00];
    v.extend_from_slice(&(payload_len as u32 + 1).to_be_bytes());
    v.push(nal_type);
    v.extend((0..payload_len).map(|i| (i as u32 ^ frame) as u8 | 0x01));
    Bytes::from(v)
}

/// One synthetic AAC raw frame in an FLV audio tag.
fn audio_frame(frame: u32) -> Bytes {
    let mut v = vec![0xaf, 0x01];
    v.extend((0..32u32).map(|i| (i.wrapping_mul(frame) & 0xff) as u8));
    Bytes::from(v)
}

// ---------------------------------------------------------------------------------------------
// ffmpeg publisher

async fn ffmpeg_publish(
    addr: std::net::SocketAddr,
    url: &PushUrl,
    timeout: Duration,
) -> Result<PushHandle, PushFailure> {
    // ffmpeg connects to the resolved address while the tcUrl keeps the real push domain.
    let wire_url = format!("rtmp://{addr}/{}/{}", url.app, url.publish_name);
    let mut child = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])
        .args(["-g", "25", "-c:a", "aac", "-b:a", "32k"])
        .args(["-progress", "pipe:1", "-stats_period", "0.2"])
        .args(["-f", "flv", "-rtmp_tcurl", &url.tc_url])
        .arg(&wire_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| PushFailure::new(PUSH_CONNECT_FAIL, format!("cannot start ffmpeg: {e}")))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(PushFailure::new(PUSH_CONNECT_FAIL, "ffmpeg pipes missing"));
    };
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(stdout).lines();

    // ffmpeg opens its output (connect, handshake, publish, wait for NetStream.Publish.Start) before
    // it writes any progress, so the first progress block means the server accepted the publish.
    let started = tokio::time::timeout(timeout, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("progress=") {
                return true;
            }
        }
        false
    })
    .await;
    match started {
        Ok(true) => {}
        Ok(false) => {
            let _ = child.wait().await;
            let stderr = stderr_task.await.unwrap_or_default();
            return Err(classify_ffmpeg_failure(&stderr));
        }
        Err(_) => {
            let _ = child.kill().await;
            return Err(PushFailure::new(
                PUSH_CONNECT_FAIL,
                "ffmpeg did not start publishing within the timeout",
            ));
        }
    }

    let (state_tx, state_rx) = watch::channel(PushState::Pushing);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Keep draining progress so ffmpeg never blocks on a full pipe.
        let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let end = tokio::select! {
            status = child.wait() => {
                let stderr = stderr_task.await.unwrap_or_default();
                let mut failure = classify_ffmpeg_failure(&stderr);
                failure.detail = format!("ffmpeg exited ({status:?}) while pushing: {}", failure.detail);
                PushState::Disconnected(failure)
            }
            _ = stop_rx => {
                // `q` on stdin makes ffmpeg finish the stream (FCUnpublish, deleteStream) and exit.
                if let Some(mut stdin) = child.stdin.take() {
                    let _ = stdin.write_all(b"q").await;
                }
                if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_err() {
                    let _ = child.kill().await;
                }
                PushState::Stopped
            }
        };
        drain.abort();
        let _ = state_tx.send(end);
    });
    Ok(PushHandle {
        url: url.clone(),
        state: state_rx,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

/// Maps ffmpeg's error output to the push SDK event a phone would have seen.
fn classify_ffmpeg_failure(stderr: &str) -> PushFailure {
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("ffmpeg failed")
        .trim()
        .to_string();
    let code = if stderr.contains("Connection refused") {
        PUSH_CONNECT_FAIL
    } else {
        // "Cannot read RTMP handshake response", "Input/output error" after publish, "Broken pipe",
        // "End of file": the server ended the connection.
        PUSH_SERVER_DISCONNECT
    };
    PushFailure::new(code, last)
}
