//! RTMP ingest: accepts connections, runs the handshake and the session, checks hotlink protection on
//! `publish`, and feeds accepted pushes to the recorder, the relay and the callbacks.
//!
//! A refused push is closed right after `publish`, with no `onStatus` (GAP: undocumented; this is what the
//! Tencent SDK reports as 3004 "RTMP server actively disconnects"), and the journal names the reason.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Handle;

use super::Lvb;
use super::hotlink::{PushRequest, Refusal};
use super::recording::{FlvWriter, TAG_AUDIO, TAG_SCRIPT, TAG_VIDEO, flv_tag};
use super::session::{Fault, Session, SessionEvent};
use super::streams::{LiveStream, StartTag};
use crate::cloud::{Service, Shutdown};

/// How the push of an accepted stream ended, as the stream-end event reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndReason {
    pub errcode: i64,
    pub errmsg: String,
}

impl EndReason {
    fn new(errcode: i64, errmsg: &str) -> Self {
        Self {
            errcode,
            errmsg: errmsg.to_string(),
        }
    }

    fn from_unpublish(errcode: i64) -> Self {
        if errcode == 1 {
            Self::new(1, "recv rtmp deleteStream")
        } else {
            Self::new(2, "recv rtmp closeStream")
        }
    }

    fn from_fault(fault: &Fault) -> Self {
        match fault {
            Fault::TooLarge(_) => Self::new(7, "rtmp message large than 1M"),
            // GAP: other bad stream data has no documented code; it is reported as a receive error.
            _ => Self::new(4, "recv() return error"),
        }
    }
}

/// GAP: the errcode of a push cut by `Live_Channel_SetStatus` is undocumented ("other: internal").
pub const ERRCODE_DISABLED: i64 = 1000;

/// What ended the read loop.
enum Ending {
    Peer(EndReason),
    Fault(Fault),
    Stalled,
    /// Connected but no push within the idle timeout: a client that only keeps the connection alive
    /// would hold one of its address's slots for ever.
    NoPublish,
    Cut,
    Shutdown,
}

/// Serves one TCP connection until it closes. `home` is the runtime the cloud's services run on: what
/// they spawn from this connection's events (the callback worker) belongs there.
pub async fn serve_connection(
    lvb: Arc<Lvb>,
    mut socket: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    mut shutdown: Shutdown,
    home: Handle,
) {
    let _ = socket.set_nodelay(true);
    let idle = lvb.rtmp_idle_timeout();
    let mut buf = vec![0u8; 64 * 1024];

    // Handshake, all of it within one idle timeout: a client trickling a byte at a time must not
    // keep the connection open by restarting the timer.
    let mut handshake = Handshake::new(PeerType::Server);
    let mut got_any = false;
    let handshake_deadline = tokio::time::Instant::now() + idle;
    let leftover = loop {
        let read = tokio::select! {
            read = tokio::time::timeout_at(handshake_deadline, socket.read(&mut buf)) => read,
            _ = shutdown.wait() => return,
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) => {
                if got_any {
                    journal_closed(
                        &lvb,
                        peer,
                        "closed: client left during handshake",
                        json!({}),
                    );
                }
                return;
            }
            Ok(Ok(n)) => n,
            Err(_) => {
                journal_closed(
                    &lvb,
                    peer,
                    "closed: client stalled",
                    json!({ "stage": "handshake" }),
                );
                return;
            }
        };
        got_any = true;
        match handshake.process_bytes(&buf[..n]) {
            Ok(HandshakeProcessResult::InProgress { response_bytes }) => {
                if socket.write_all(&response_bytes).await.is_err() {
                    return;
                }
            }
            Ok(HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            }) => {
                if socket.write_all(&response_bytes).await.is_err() {
                    return;
                }
                break remaining_bytes;
            }
            Err(e) => {
                journal_closed(
                    &lvb,
                    peer,
                    "closed: bad handshake",
                    json!({ "error": e.to_string() }),
                );
                return;
            }
        }
    };

    let mut session = Session::new();
    let mut publishing: Option<Publishing> = None;
    // What the last read (or the handshake) left in `buf`, not yet fed to the session. The handshake's
    // remainder came from one read into `buf`, so it fits.
    let mut filled = leftover.len().min(buf.len());
    buf[..filled].copy_from_slice(&leftover[..filled]);
    // The waits of the read loop are made once per connection, not once per read: a push is ~90 reads a
    // second, and registering a timer and two waiters each time cost more than the read itself.
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let mut cut: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(std::future::pending());
    // The idle timer fires at most once per idle period; a read only notes the time, and a firing
    // timer that finds a read since re-arms itself for the rest of the period.
    let mut last_read = tokio::time::Instant::now();
    let publish_by = last_read + idle;
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let ending = 'conn: loop {
        if filled > 0 {
            // The chunk parser is a dependency: should it ever panic on hostile bytes, that ends this
            // connection like any other malformed input instead of leaving its stream registered.
            let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                session.feed(&buf[..filled])
            }));
            let events = match fed {
                Ok(Ok(events)) => events,
                Ok(Err(fault)) => break 'conn Ending::Fault(fault),
                Err(_) => break 'conn Ending::Fault(Fault::Malformed("parser panic".into())),
            };
            filled = 0;
            let out = session.take_output();
            if !out.is_empty() && socket.write_all(&out).await.is_err() {
                break 'conn Ending::Peer(EndReason::new(4, "recv() return error"));
            }
            for event in events {
                match event {
                    SessionEvent::PublishRequested { tc_url, app, name } => {
                        if publishing.is_some() {
                            continue;
                        }
                        let req = PushRequest::parse(&tc_url, &app, &name);
                        match lvb.admit(&req, peer) {
                            Ok(stream) => {
                                if session.accept_publish(&req.stream_id).is_err() {
                                    break 'conn Ending::Fault(Fault::Malformed("reply".into()));
                                }
                                let watched = stream.clone();
                                cut = Box::pin(async move { watched.cut.notified().await });
                                // Started (journaled, its event queued) before the client hears
                                // `Publish.Start`: whoever sees the push live finds it in the cloud.
                                {
                                    let _home = home.enter();
                                    publishing = Some(Publishing::start(&lvb, stream, &req, local));
                                }
                                let out = session.take_output();
                                let _ = socket.write_all(&out).await;
                            }
                            Err(refusal) => {
                                {
                                    let _home = home.enter();
                                    lvb.refuse(&req, refusal, peer, local);
                                }
                                // Closed with no onStatus: the client sees the server hang up.
                                let _ = socket.shutdown().await;
                                return;
                            }
                        }
                    }
                    SessionEvent::Unpublished { errcode } => {
                        if publishing.is_some() {
                            break 'conn Ending::Peer(EndReason::from_unpublish(errcode));
                        }
                    }
                    SessionEvent::Metadata(data) => {
                        if let Some(p) = publishing.as_mut() {
                            p.tag(TAG_SCRIPT, 0, &data, Some(StartTag::Metadata));
                        }
                    }
                    SessionEvent::Video { timestamp, data } => {
                        if let Some(p) = publishing.as_mut() {
                            // AVC sequence header: keyframe/AVC (0x17) with AVCPacketType 0.
                            let config = data.len() > 1 && data[0] & 0x0f == 7 && data[1] == 0;
                            p.tag(
                                TAG_VIDEO,
                                timestamp,
                                &data,
                                config.then_some(StartTag::VideoConfig),
                            );
                        }
                    }
                    SessionEvent::Audio { timestamp, data } => {
                        if let Some(p) = publishing.as_mut() {
                            // AAC sequence header: SoundFormat 10 with AACPacketType 0.
                            let config = data.len() > 1 && data[0] >> 4 == 10 && data[1] == 0;
                            p.tag(
                                TAG_AUDIO,
                                timestamp,
                                &data,
                                config.then_some(StartTag::AudioConfig),
                            );
                        }
                    }
                }
            }
        }
        tokio::select! {
            // The read first: a wake-up for data then polls nothing else.
            biased;
            read = socket.read(&mut buf) => match read {
                Ok(0) => break 'conn Ending::Peer(EndReason::new(3, "recv() return 0")),
                Ok(n) => {
                    filled = n;
                    last_read = tokio::time::Instant::now();
                }
                Err(_) => break 'conn Ending::Peer(EndReason::new(4, "recv() return error")),
            },
            () = &mut idle_timer => {
                let now = tokio::time::Instant::now();
                let due = last_read + idle;
                if now >= due {
                    break 'conn Ending::Stalled;
                }
                if publishing.is_none() {
                    if now >= publish_by {
                        break 'conn Ending::NoPublish;
                    }
                    idle_timer.as_mut().reset(due.min(publish_by));
                } else {
                    idle_timer.as_mut().reset(due);
                }
            }
            () = &mut cut => break 'conn Ending::Cut,
            () = &mut stop => break 'conn Ending::Shutdown,
        }
    };

    let reason = match &ending {
        Ending::Peer(reason) => reason.clone(),
        Ending::Fault(fault) => EndReason::from_fault(fault),
        // GAP: a stalled publisher is reported as a receive error.
        Ending::Stalled | Ending::NoPublish => EndReason::new(4, "recv() return error"),
        Ending::Cut => EndReason::new(ERRCODE_DISABLED, "stream disabled"),
        Ending::Shutdown => EndReason::new(ERRCODE_DISABLED + 1, "ingest shutting down"),
    };
    match publishing {
        Some(p) => {
            let _ = socket.shutdown().await;
            let _home = home.enter();
            p.finish(&lvb, reason, &ending_note(&ending));
        }
        None => match ending {
            Ending::Fault(fault) => journal_closed(
                &lvb,
                peer,
                &fault.describe(),
                json!({ "tcUrl": session.tc_url() }),
            ),
            Ending::Stalled | Ending::NoPublish => journal_closed(
                &lvb,
                peer,
                &ending_note(&ending),
                json!({ "tcUrl": session.tc_url() }),
            ),
            _ => {}
        },
    }
}

fn ending_note(ending: &Ending) -> String {
    match ending {
        Ending::Fault(fault) => fault.describe(),
        Ending::Stalled => "closed: client stalled".into(),
        Ending::NoPublish => "closed: no publish within the idle timeout".into(),
        Ending::Cut => "cut: stream disabled".into(),
        Ending::Shutdown => "closed: shutdown".into(),
        Ending::Peer(_) => String::new(),
    }
}

fn journal_closed(lvb: &Lvb, peer: SocketAddr, outcome: &str, mut detail: serde_json::Value) {
    if let Some(map) = detail.as_object_mut() {
        map.insert("peer".into(), json!(peer.to_string()));
    }
    lvb.ctx
        .record(Service::LvbIngest, "rtmp connection", outcome, detail);
}

/// An accepted push while it runs.
struct Publishing {
    stream: Arc<LiveStream>,
    recorder: Option<FlvWriter>,
    record_error: Option<String>,
    formats: Vec<String>,
    node: String,
}

impl Publishing {
    fn start(
        lvb: &Lvb,
        stream: Arc<LiveStream>,
        req: &PushRequest,
        local: SocketAddr,
    ) -> Publishing {
        let (recorder, record_error) = match lvb.recording_path(&stream.sequence) {
            Ok(path) => match FlvWriter::create(&path) {
                Ok(w) => (Some(w), None),
                Err(e) => (None, Some(e.to_string())),
            },
            Err(e) => (None, Some(e)),
        };
        lvb.stream_started(&stream, local);
        Publishing {
            stream,
            recorder,
            record_error,
            formats: req.record_formats(),
            node: local.ip().to_string(),
        }
    }

    fn tag(&mut self, tag_type: u8, timestamp: u32, data: &Bytes, start: Option<StartTag>) {
        if tag_type != TAG_SCRIPT {
            self.stream.count(data.len(), tag_type == TAG_VIDEO);
        }
        if let Some(w) = self.recorder.as_mut()
            && let Err(e) = w.write_frame(tag_type, timestamp, data)
        {
            self.record_error = Some(e.to_string());
            self.recorder = None;
        }
        // Frame the tag in memory only when a player or a late joiner needs it.
        if start.is_none() && self.stream.relay.receiver_count() == 0 {
            return;
        }
        let tag = Bytes::from(flv_tag(tag_type, timestamp, data));
        if let Some(which) = start {
            self.stream.set_start_tag(which, tag.clone());
        }
        // A send error only means the last player just left.
        let _ = self.stream.relay.send(tag);
    }

    fn finish(self, lvb: &Lvb, reason: EndReason, note: &str) {
        let file = match self.recorder.map(FlvWriter::finish) {
            Some(Ok(file)) => Ok(file),
            Some(Err(e)) => Err(e.to_string()),
            None => Err(self.record_error.unwrap_or_else(|| "not recorded".into())),
        };
        lvb.stream_ended(&self.stream, reason, note, &self.node, &self.formats, file);
    }
}

/// Open connections per client address, shared by the accept loop and the connection tasks.
type PerPeer = Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>;

/// Counts one connection of a client address until dropped.
struct PeerSlot {
    peers: PerPeer,
    ip: IpAddr,
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = peers.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                peers.remove(&self.ip);
            }
        }
    }
}

/// Takes a slot for `ip` unless it already has `cap` connections open.
fn take_slot(peers: &PerPeer, ip: IpAddr, cap: usize) -> Option<PeerSlot> {
    let mut map = peers.lock().unwrap_or_else(|p| p.into_inner());
    let n = map.entry(ip).or_insert(0);
    if *n >= cap {
        return None;
    }
    *n += 1;
    Some(PeerSlot {
        peers: peers.clone(),
        ip,
    })
}

/// A connection accepted by [`accept_loop`], on its way to the ingest thread.
struct Accepted {
    socket: std::net::TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    guard: super::RtmpConnectionGuard,
    slot: PeerSlot,
}

impl Accepted {
    async fn serve(self, lvb: Arc<Lvb>, shutdown: Shutdown, home: Handle) {
        // The descriptor moves from the accepting runtime's reactor to the ingest thread's.
        if let Ok(socket) = TcpStream::from_std(self.socket) {
            serve_connection(lvb, socket, self.peer, self.local, shutdown, home).await;
        }
        drop(self.guard);
        drop(self.slot);
    }
}

/// How long the ingest thread lets its connections finish after shutdown before it drops them (a
/// dropped connection still flushes its recording; only its end events are lost).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Open connections from which the ingest thread lets readiness gather before it waits ([`COALESCE`]).
const COALESCE_FROM: usize = 16;
/// How long readiness may gather.
const COALESCE: Duration = Duration::from_millis(1);

/// The thread every RTMP connection of one ingest runs on, with a single-threaded runtime of its own.
///
/// A push is a stream of small reads (ffmpeg's 1 Mbit/s is about 90 per second), each a wake-up of its
/// connection task. On the shared multi-threaded runtime most wake-ups also woke the other worker
/// (futex, context switch), which cost more than the read; one thread polling all connections, as
/// nginx-rtmp's single worker does, pays one epoll wait for many reads instead.
struct IngestThread {
    connections: tokio::sync::mpsc::UnboundedSender<Accepted>,
    /// Resolves when the thread ended: every connection finished or was dropped.
    done: tokio::sync::oneshot::Receiver<()>,
}

impl IngestThread {
    fn start(lvb: Arc<Lvb>, shutdown: Shutdown, home: Handle) -> std::io::Result<IngestThread> {
        let busy = lvb.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || {
                // With many pushes, readiness arrives every few hundred microseconds; waiting for it
                // one socket at a time costs a context switch per read. Letting it gather for a
                // moment first serves a batch per wake-up; a push is only a millisecond later.
                if busy.rtmp_connections() >= COALESCE_FROM {
                    std::thread::sleep(COALESCE);
                }
            })
            .build()?;
        let (connections, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Accepted>();
        let (finished, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("rtmp-ingest".into())
            .spawn(move || {
                runtime.block_on(async {
                    let mut tasks = tokio::task::JoinSet::new();
                    while let Some(accepted) = incoming.recv().await {
                        tasks.spawn(accepted.serve(lvb.clone(), shutdown.clone(), home.clone()));
                        while tasks.try_join_next().is_some() {}
                    }
                    // The accept loop ended (shutdown): connections see it and end their pushes.
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
                        while tasks.join_next().await.is_some() {}
                    })
                    .await;
                });
                drop(runtime);
                let _ = finished.send(());
            })?;
        Ok(IngestThread { connections, done })
    }
}

/// Accepts connections until shutdown; each connection runs in its own task, on the ingest thread
/// ([`IngestThread`]; on this runtime if that thread cannot be started). Past the caps
/// ([`Lvb::rtmp_connection_caps`]) a new connection is closed at once and journaled. Returns once the
/// connections have finished (at most [`SHUTDOWN_GRACE`] after shutdown), so their pushes end with
/// their events and complete recordings.
pub async fn accept_loop(lvb: Arc<Lvb>, listener: tokio::net::TcpListener, mut shutdown: Shutdown) {
    let peers: PerPeer = Arc::default();
    let home = Handle::current();
    let thread = IngestThread::start(lvb.clone(), shutdown.clone(), home.clone()).ok();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let (total_cap, per_ip_cap) = lvb.rtmp_connection_caps();
                    if lvb.rtmp_connections() >= total_cap {
                        drop(socket);
                        journal_closed(&lvb, peer, "refused: too many connections", json!({ "cap": total_cap }));
                        continue;
                    }
                    let Some(slot) = take_slot(&peers, peer.ip(), per_ip_cap) else {
                        drop(socket);
                        journal_closed(&lvb, peer, "refused: too many connections from this address", json!({ "cap": per_ip_cap }));
                        continue;
                    };
                    let local = socket.local_addr().unwrap_or(peer);
                    let guard = lvb.rtmp_connection_guard();
                    // A socket that cannot be deregistered is closed here, like a refused one.
                    let Ok(socket) = socket.into_std() else { continue };
                    let accepted = Accepted { socket, peer, local, guard, slot };
                    match &thread {
                        // A send error means the thread is gone; the connection is closed with it.
                        Some(t) => drop(t.connections.send(accepted)),
                        None => drop(tokio::spawn(accepted.serve(lvb.clone(), shutdown.clone(), home.clone()))),
                    }
                }
                // Out of descriptors or an aborted connection: keep accepting the others.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            _ = shutdown.wait() => break,
        }
    }
    if let Some(thread) = thread {
        drop(thread.connections);
        let _ = thread.done.await;
    }
}

impl Refusal {
    /// The stream-end event sent for a refused push of this account.
    pub fn end_reason(self) -> EndReason {
        EndReason::new(18, "push url maybe invalid")
    }
}
