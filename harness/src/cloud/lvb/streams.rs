//! The live registry: which streams are being pushed now, which were ever pushed, and the relay of each
//! live stream to its HTTP-FLV players.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{Notify, broadcast};

/// One accepted push while it lasts.
pub struct LiveStream {
    pub stream_id: String,
    /// Push domain from tcUrl (`8888.livepush2.myqcloud.com`): the `app` field of callbacks.
    pub domain: String,
    /// One push session's id, shared by its start and end events.
    pub sequence: String,
    pub stream_param: String,
    pub user_ip: String,
    /// Cloud clock at publish (s and ms).
    pub started_at: i64,
    pub started_at_ms: i64,
    /// Framed FLV tags for players; late joiners first get [`LiveStream::start_tags`].
    pub relay: broadcast::Sender<Bytes>,
    start_tags: Mutex<StartTags>,
    /// Fired when the console disables the stream (`Live_Channel_SetStatus` 0): the push is cut.
    pub cut: Notify,
    pub bytes: AtomicU64,
    pub video_frames: AtomicU64,
    pub audio_frames: AtomicU64,
}

/// Tags a player needs before any frame: metadata and the codec sequence headers.
#[derive(Default)]
struct StartTags {
    metadata: Option<Bytes>,
    video_config: Option<Bytes>,
    audio_config: Option<Bytes>,
}

/// Which of the start tags a framed tag is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTag {
    Metadata,
    VideoConfig,
    AudioConfig,
}

impl LiveStream {
    pub fn new(
        stream_id: String,
        domain: String,
        sequence: String,
        stream_param: String,
        user_ip: String,
        started_at: i64,
        started_at_ms: i64,
    ) -> LiveStream {
        // Players that fall this far behind lose tags (and see a gap), rather than slowing the push down.
        let (relay, _) = broadcast::channel(512);
        LiveStream {
            stream_id,
            domain,
            sequence,
            stream_param,
            user_ip,
            started_at,
            started_at_ms,
            relay,
            start_tags: Mutex::new(StartTags::default()),
            cut: Notify::new(),
            bytes: AtomicU64::new(0),
            video_frames: AtomicU64::new(0),
            audio_frames: AtomicU64::new(0),
        }
    }

    pub fn set_start_tag(&self, which: StartTag, tag: Bytes) {
        let mut tags = self.start_tags.lock().unwrap_or_else(|p| p.into_inner());
        match which {
            StartTag::Metadata => tags.metadata = Some(tag),
            StartTag::VideoConfig => tags.video_config = Some(tag),
            StartTag::AudioConfig => tags.audio_config = Some(tag),
        }
    }

    /// Metadata, then video and audio sequence headers, those that were seen.
    pub fn start_tags(&self) -> Vec<Bytes> {
        let tags = self.start_tags.lock().unwrap_or_else(|p| p.into_inner());
        [&tags.metadata, &tags.video_config, &tags.audio_config]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }

    pub fn count(&self, bytes: usize, video: bool) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        if video {
            self.video_frames.fetch_add(1, Ordering::Relaxed);
        } else {
            self.audio_frames.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The stream already has a publisher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlreadyPublishing;

/// All live streams by stream id, plus the ids that were ever pushed.
#[derive(Default)]
pub struct StreamRegistry {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    live: HashMap<String, Arc<LiveStream>>,
    ever_pushed: HashSet<String>,
}

impl StreamRegistry {
    /// Forgets which streams were ever pushed (`/_tcharness/reset`); pushes still live stay live.
    pub fn forget_ended(&self) {
        let mut reg = self.lock();
        let live: HashSet<String> = reg.live.keys().cloned().collect();
        reg.ever_pushed = live;
    }

    /// Registers a new publisher; `Err` if the stream already has one (the second push is refused).
    pub fn claim(&self, stream: LiveStream) -> Result<Arc<LiveStream>, AlreadyPublishing> {
        let mut reg = self.lock();
        if reg.live.contains_key(&stream.stream_id) {
            return Err(AlreadyPublishing);
        }
        let stream = Arc::new(stream);
        reg.ever_pushed.insert(stream.stream_id.clone());
        reg.live.insert(stream.stream_id.clone(), stream.clone());
        Ok(stream)
    }

    /// Removes the publisher, if it is still this one.
    pub fn release(&self, stream: &Arc<LiveStream>) {
        let mut reg = self.lock();
        if reg
            .live
            .get(&stream.stream_id)
            .is_some_and(|s| Arc::ptr_eq(s, stream))
        {
            reg.live.remove(&stream.stream_id);
        }
    }

    pub fn get(&self, stream_id: &str) -> Option<Arc<LiveStream>> {
        self.lock().live.get(stream_id).cloned()
    }

    pub fn is_live(&self, stream_id: &str) -> bool {
        self.lock().live.contains_key(stream_id)
    }

    pub fn ever_pushed(&self, stream_id: &str) -> bool {
        self.lock().ever_pushed.contains(stream_id)
    }

    pub fn live_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().live.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
