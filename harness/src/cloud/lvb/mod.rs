//! The emulated LVB (云直播): RTMP ingest with hotlink protection, event callbacks, the `common_access`
//! API, the HTTP-FLV relay and the recordings served from the VOD domain.
//!
//! Modules: [`hotlink`] (txSecret rules), [`session`] (RTMP command flow), [`ingest`] (connections),
//! [`streams`] (live registry), [`recording`] (FLV files), [`play`] (HTTP side), [`callback`] (event
//! delivery), [`api`] (`common_access`), [`publisher`] (an RTMP publisher for tests and load).

pub mod api;
pub mod callback;
pub mod chunk;
pub mod console;
pub mod hotlink;
pub mod ingest;
pub mod play;
pub mod publisher;
pub mod recording;
pub mod session;
pub mod streams;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use super::{CloudContext, Service, Shutdown};
use callback::CallbackDispatcher;
use hotlink::{PushRequest, Refusal, check_url, md5_hex};
use ingest::EndReason;
use recording::{Recording, RecordingStore};
use streams::{LiveStream, StreamRegistry};

/// Default time a silent RTMP client is kept before it is dropped.
pub const DEFAULT_RTMP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// RTMP connections open at once, in all and from one client address (a load test from one host
/// pushes a few hundred streams; more than that from one address is an attack).
pub const DEFAULT_RTMP_MAX_CONNECTIONS: usize = 1024;
pub const DEFAULT_RTMP_MAX_PER_ADDRESS: usize = 256;

/// Held by the task of one RTMP connection; dropping it counts the connection as finished.
pub(crate) struct RtmpConnectionGuard(Arc<Lvb>);

impl Drop for RtmpConnectionGuard {
    fn drop(&mut self) {
        self.0.rtmp_open.fetch_sub(1, Ordering::SeqCst);
        self.0.rtmp_changed.notify_waiters();
    }
}

pub struct Lvb {
    ctx: CloudContext,
    streams: StreamRegistry,
    recordings: RecordingStore,
    callbacks: CallbackDispatcher,
    /// Where recordings are written; `Err` holds why there is no such place.
    recording_dir: Result<tempfile::TempDir, String>,
    push_counter: AtomicU64,
    recording_counter: AtomicU64,
    idle_timeout_ms: AtomicU64,
    /// RTMP connections accepted and not finished yet (handshake, session or the end of a push).
    rtmp_open: AtomicUsize,
    rtmp_changed: tokio::sync::Notify,
    rtmp_max_connections: AtomicUsize,
    rtmp_max_per_address: AtomicUsize,
}

impl Lvb {
    /// Back to a fresh LVB (`/_tcharness/reset`): no recordings, no memory of ended pushes. Pushes on
    /// the wire are not cut: their clients would only reconnect.
    pub fn reset(&self) {
        self.recordings.clear();
        self.streams.forget_ended();
    }

    pub fn new(ctx: CloudContext) -> Self {
        let builder = tempfile::Builder::new().prefix("lvb-recordings-").clone();
        let recording_dir = match &ctx.options.recordings_in {
            Some(dir) => builder.tempdir_in(dir),
            None => builder.tempdir(),
        }
        .map_err(|e| e.to_string());
        Self {
            callbacks: CallbackDispatcher::new(ctx.clone()),
            ctx,
            streams: StreamRegistry::default(),
            recordings: RecordingStore::default(),
            recording_dir,
            push_counter: AtomicU64::new(0),
            recording_counter: AtomicU64::new(0),
            idle_timeout_ms: AtomicU64::new(DEFAULT_RTMP_IDLE_TIMEOUT.as_millis() as u64),
            rtmp_open: AtomicUsize::new(0),
            rtmp_changed: tokio::sync::Notify::new(),
            rtmp_max_connections: AtomicUsize::new(DEFAULT_RTMP_MAX_CONNECTIONS),
            rtmp_max_per_address: AtomicUsize::new(DEFAULT_RTMP_MAX_PER_ADDRESS),
        }
    }

    /// HTTP: `*.liveplay.myqcloud.com` (HTTP-FLV relay), `*.vod.myqcloud.com` / `*.vod2.myqcloud.com`
    /// (recordings) and `common_access` (by host `fcgi.video.qcloud.com` or by path on an IP host).
    pub async fn handle_http(&self, host: &str, peer: SocketAddr, req: Request) -> Response {
        play::handle(self, host, peer, req).await
    }

    /// Serves RTMP pushes on `listener` until `shutdown`.
    pub async fn serve_rtmp(self: Arc<Self>, listener: TcpListener, shutdown: Shutdown) {
        ingest::accept_loop(self, listener, shutdown).await;
    }

    /// Waits until callback delivery is settled: every queued event delivered or given up, retries
    /// included. `false` if `timeout` passed first.
    pub async fn callbacks_idle(&self, timeout: Duration) -> bool {
        self.callbacks.idle(timeout).await
    }

    /// Waits until no callback goes out before the clock moves on (see
    /// `CallbackDispatcher::quiescent`).
    pub async fn callbacks_quiescent(&self, timeout: Duration) -> bool {
        self.callbacks.quiescent(timeout).await
    }

    /// With cloud-time callbacks: the clock offset at which the next callback attempt is due.
    pub fn next_callback_due(&self) -> Option<i64> {
        self.callbacks.next_due()
    }

    /// The cloud clock moved: callback attempts due by now go out.
    pub fn clock_moved(&self) {
        self.callbacks.clock_moved();
    }

    /// RTMP connections accepted and not finished: each finished one has journaled how it ended and
    /// queued its events.
    pub fn rtmp_connections(&self) -> usize {
        self.rtmp_open.load(Ordering::SeqCst)
    }

    /// Pushes that were cut (the stream disabled) and whose session has not ended yet.
    pub fn cuts_in_progress(&self) -> usize {
        self.streams
            .live_ids()
            .iter()
            .filter(|id| self.is_disabled(id))
            .count()
    }

    /// Waits up to `timeout` for the next change of [`Lvb::rtmp_connections`].
    pub async fn rtmp_changed(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.rtmp_changed.notified()).await;
    }

    /// Counts a connection from accept until its task ends, even if the task panics.
    pub(crate) fn rtmp_connection_guard(self: &Arc<Self>) -> RtmpConnectionGuard {
        self.rtmp_open.fetch_add(1, Ordering::SeqCst);
        RtmpConnectionGuard(self.clone())
    }

    /// Events queued or being delivered.
    pub fn callbacks_pending(&self) -> usize {
        self.callbacks.pending()
    }

    /// Waits until `stream_id` is no longer being pushed (its end events are then queued).
    pub async fn wait_stream_ended(&self, stream_id: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if !self.streams.is_live(stream_id) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            let _ = self
                .ctx
                .journal
                .wait_for(Duration::from_millis(50), |e| {
                    e.service == Service::LvbIngest
                        && e.request.ends_with(stream_id)
                        && e.outcome.starts_with("ended")
                })
                .await;
        }
    }

    /// Streams being pushed now, sorted.
    pub fn live_streams(&self) -> Vec<String> {
        self.streams.live_ids()
    }

    pub fn is_live(&self, stream_id: &str) -> bool {
        self.streams.is_live(stream_id)
    }

    /// Every recording made so far, in order.
    pub fn recordings(&self) -> Vec<Recording> {
        self.recordings.all()
    }

    /// How long a silent client is kept (handshake, or no bytes during a push).
    pub fn set_rtmp_idle_timeout(&self, timeout: Duration) {
        self.idle_timeout_ms
            .store(timeout.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    /// Caps on open RTMP connections: in all, and from one client address.
    pub fn set_rtmp_connection_caps(&self, total: usize, per_address: usize) {
        self.rtmp_max_connections
            .store(total.max(1), Ordering::Relaxed);
        self.rtmp_max_per_address
            .store(per_address.max(1), Ordering::Relaxed);
    }

    /// `(total, per address)`, see [`Lvb::set_rtmp_connection_caps`].
    pub fn rtmp_connection_caps(&self) -> (usize, usize) {
        (
            self.rtmp_max_connections.load(Ordering::Relaxed),
            self.rtmp_max_per_address.load(Ordering::Relaxed),
        )
    }

    pub fn rtmp_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.load(Ordering::Relaxed))
    }

    /// Whether the console (or `Live_Channel_SetStatus` 0) disabled the stream.
    pub fn is_disabled(&self, stream_id: &str) -> bool {
        self.ctx.with_tenant(|t| {
            t.lvb
                .disabled_streams
                .get(stream_id)
                .copied()
                .unwrap_or(false)
        })
    }

    /// Disables (cutting a running push) or enables a stream.
    pub fn set_disabled(&self, stream_id: &str, disabled: bool) {
        self.ctx.update_tenant(|t| {
            if disabled {
                t.lvb.disabled_streams.insert(stream_id.to_string(), true);
            } else {
                t.lvb.disabled_streams.remove(stream_id);
            }
        });
        if disabled && let Some(stream) = self.streams.get(stream_id) {
            // notify_one stores a permit, so a push between two reads still sees the cut.
            stream.cut.notify_one();
        }
    }

    /// Hotlink check, then stream state; registers the publisher when admitted.
    fn admit(&self, req: &PushRequest, peer: SocketAddr) -> Result<Arc<LiveStream>, Refusal> {
        let now = self.ctx.clock.now();
        self.ctx.with_tenant(|t| check_url(&t.lvb, req, now))?;
        if self.is_disabled(&req.stream_id) {
            return Err(Refusal::Disabled);
        }
        let n = self.push_counter.fetch_add(1, Ordering::SeqCst) + 1;
        let stream = LiveStream::new(
            req.stream_id.clone(),
            req.domain.clone(),
            // Deterministic per cloud, so transcripts stay stable.
            format!("{}", 6_046_165_546_917_170_000u64 + n),
            req.stream_param.clone(),
            peer.ip().to_string(),
            now,
            self.ctx.clock.now_millis(),
        );
        self.streams
            .claim(stream)
            .map_err(|_| Refusal::AlreadyPublishing)
    }

    fn push_line(req_domain: &str, app: &str, stream_id: &str) -> String {
        format!("publish rtmp://{req_domain}/{app}/{stream_id}")
    }

    fn refuse(&self, req: &PushRequest, refusal: Refusal, peer: SocketAddr, local: SocketAddr) {
        self.ctx.record(
            Service::LvbIngest,
            Self::push_line(&req.domain, &req.app, &req.stream_id),
            refusal.reason(),
            json!({ "stream_param": req.stream_param, "peer": peer.to_string() }),
        );
        if refusal.notifies_owner() {
            let n = self.push_counter.fetch_add(1, Ordering::SeqCst) + 1;
            let reason = refusal.end_reason();
            let mut fields = self.stream_event_fields(
                0,
                &req.stream_id,
                &req.domain,
                &format!("{}", 6_046_165_546_917_170_000u64 + n),
                &req.stream_param,
                &peer.ip().to_string(),
                &local.ip().to_string(),
            );
            fields.insert("errcode".into(), json!(reason.errcode));
            fields.insert("errmsg".into(), json!(reason.errmsg));
            fields.insert("push_duration".into(), json!("0"));
            self.callbacks.send(fields);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn stream_event_fields(
        &self,
        event_type: i64,
        stream_id: &str,
        domain: &str,
        sequence: &str,
        stream_param: &str,
        user_ip: &str,
        node: &str,
    ) -> Map<String, Value> {
        // §8.3: the 2017 table of events 0/1 has no `appid` field.
        let mut fields = Map::new();
        fields.insert("event_type".into(), json!(event_type));
        fields.insert("stream_id".into(), json!(stream_id));
        fields.insert("channel_id".into(), json!(stream_id));
        fields.insert("app".into(), json!(domain));
        fields.insert("appname".into(), json!("live"));
        fields.insert("event_time".into(), json!(self.ctx.clock.now()));
        fields.insert("sequence".into(), json!(sequence));
        fields.insert("node".into(), json!(node));
        fields.insert("user_ip".into(), json!(user_ip));
        fields.insert("stream_param".into(), json!(stream_param));
        fields
    }

    fn stream_started(&self, stream: &LiveStream, local: SocketAddr) {
        self.ctx.record(
            Service::LvbIngest,
            Self::push_line(&stream.domain, "live", &stream.stream_id),
            "accepted",
            json!({ "stream_param": stream.stream_param, "peer": stream.user_ip, "sequence": stream.sequence }),
        );
        let mut fields = self.stream_event_fields(
            1,
            &stream.stream_id,
            &stream.domain,
            &stream.sequence,
            &stream.stream_param,
            &stream.user_ip,
            &local.ip().to_string(),
        );
        fields.insert("errcode".into(), json!(0));
        // §8.3: a start event's errmsg is "OK".
        fields.insert("errmsg".into(), json!("OK"));
        self.callbacks.send(fields);
    }

    fn recording_path(&self, sequence: &str) -> Result<PathBuf, String> {
        match &self.recording_dir {
            Ok(dir) => Ok(dir.path().join(format!("{sequence}.flv"))),
            Err(e) => Err(e.clone()),
        }
    }

    fn stream_ended(
        &self,
        stream: &Arc<LiveStream>,
        reason: EndReason,
        note: &str,
        node: &str,
        formats: &[String],
        file: Result<(PathBuf, u64), String>,
    ) {
        self.record_end(stream, reason, note, node, formats, file);
        // Released last: whoever sees the stream gone (`wait_stream_ended`) finds its end journaled and
        // its events queued, also when the push ran on another thread.
        self.streams.release(stream);
    }

    fn record_end(
        &self,
        stream: &Arc<LiveStream>,
        reason: EndReason,
        note: &str,
        node: &str,
        formats: &[String],
        file: Result<(PathBuf, u64), String>,
    ) {
        let end = self.ctx.clock.now();
        let push_ms = (self.ctx.clock.now_millis() - stream.started_at_ms).max(0);
        let outcome = if note.is_empty() {
            format!("ended: {} (errcode {})", reason.errmsg, reason.errcode)
        } else {
            format!("ended: {note} (errcode {})", reason.errcode)
        };
        self.ctx.record(
            Service::LvbIngest,
            format!(
                "unpublish rtmp://{}/live/{}",
                stream.domain, stream.stream_id
            ),
            outcome,
            json!({
                "bytes": stream.bytes.load(Ordering::Relaxed),
                "video_frames": stream.video_frames.load(Ordering::Relaxed),
                "audio_frames": stream.audio_frames.load(Ordering::Relaxed),
                "push_duration_ms": push_ms,
            }),
        );
        let mut fields = self.stream_event_fields(
            0,
            &stream.stream_id,
            &stream.domain,
            &stream.sequence,
            &stream.stream_param,
            &stream.user_ip,
            node,
        );
        fields.insert("errcode".into(), json!(reason.errcode));
        fields.insert("errmsg".into(), json!(reason.errmsg));
        fields.insert("push_duration".into(), json!(push_ms.to_string()));
        self.callbacks.send(fields);

        let (path, size) = match file {
            Ok(file) => file,
            Err(e) => {
                self.ctx.record(
                    Service::LvbIngest,
                    format!("record {}", stream.stream_id),
                    "not recorded",
                    json!({ "error": e }),
                );
                return;
            }
        };
        let (appid, vod_bizid) = self.ctx.with_tenant(|t| (t.lvb.appid, t.lvb.vod_bizid));
        for format in formats {
            let key = format!("{}/{}/{format}", stream.stream_id, stream.sequence);
            let video_id = format!("{vod_bizid}_{}", md5_hex(&[&key]));
            // VOD file ids are 19-digit decimals; derived from the push so they are stable per run.
            let n = self.recording_counter.fetch_add(1, Ordering::SeqCst) + 1;
            let file_id = format!("{}", 9_031_868_222_958_900_000u64 + n);
            // §8.3, the 2017 doc's example: host = the APPID, then 8 hex + `vodgzp` + APPID, then
            // 8 hex + the file id, then the file (`f0.flv`).
            let digest = md5_hex(&[&video_id]);
            let dir = format!("{}vodgzp{appid}", &digest[..8]);
            let file_dir = format!("{}{file_id}", &digest[8..16]);
            let name = match format.as_str() {
                "hls" => "playlist.m3u8",
                "mp4" => "f0.mp4",
                _ => "f0.flv",
            };
            let video_url = format!("http://{appid}.vod2.myqcloud.com/{dir}/{file_dir}/{name}");
            let rec = Recording {
                stream_id: stream.stream_id.clone(),
                video_id,
                file_id,
                file_format: format.clone(),
                video_url,
                file_size: size,
                start_time: stream.started_at,
                end_time: end,
                stream_param: stream.stream_param.clone(),
                path: path.clone(),
            };
            self.ctx.record(
                Service::LvbIngest,
                format!("record {} format={format}", stream.stream_id),
                // The length is in `detail`: a push spanning a second boundary makes it vary by one.
                "recorded",
                json!({ "video_url": rec.video_url, "file_size": rec.file_size, "duration": rec.duration() }),
            );
            self.callbacks.send(recording_event(appid, &rec));
            self.recordings.add(rec);
        }
    }
}

/// Event 100 for one recording, with every field of the 2017 example.
fn recording_event(appid: u64, rec: &Recording) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("event_type".into(), json!(100));
    fields.insert("appid".into(), json!(appid));
    fields.insert("stream_id".into(), json!(rec.stream_id));
    fields.insert("channel_id".into(), json!(rec.stream_id));
    fields.insert("video_id".into(), json!(rec.video_id));
    fields.insert("video_url".into(), json!(rec.video_url));
    fields.insert("file_size".into(), json!(rec.file_size));
    fields.insert("start_time".into(), json!(rec.start_time));
    fields.insert("end_time".into(), json!(rec.end_time));
    fields.insert("file_id".into(), json!(rec.file_id));
    fields.insert("file_format".into(), json!(rec.file_format));
    fields.insert("vod2Flag".into(), json!(1));
    fields.insert("record_file_id".into(), json!(rec.file_id));
    fields.insert("duration".into(), json!(rec.duration()));
    fields.insert("stream_param".into(), json!(rec.stream_param));
    fields
}
