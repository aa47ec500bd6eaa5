//! Recordings: the FLV writer of a push, and the recordings the VOD domain serves at their `video_url`.
//!
//! One FLV file is written per accepted push; each format asked for by `record=` becomes one recording
//! (one event 100) over that file. Times come from the cloud clock, not from the media, so a scenario
//! that advances the clock by 90 s during a one-second push gets a 90 s recording.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

/// FLV tag types.
pub const TAG_AUDIO: u8 = 8;
pub const TAG_VIDEO: u8 = 9;
pub const TAG_SCRIPT: u8 = 18;

/// The FLV file header (audio + video flags) followed by PreviousTagSize0.
pub fn flv_header() -> [u8; 13] {
    [b'F', b'L', b'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0]
}

/// One FLV tag with its trailing PreviousTagSize.
pub fn flv_tag(tag_type: u8, timestamp_ms: u32, data: &[u8]) -> Vec<u8> {
    // A tag body is at most 24 bits long; the ingest refuses messages over 1 MiB before they get here.
    let len = data.len().min(0x00FF_FFFF) as u32;
    let mut tag = Vec::with_capacity(11 + len as usize + 4);
    tag.push(tag_type);
    tag.extend_from_slice(&len.to_be_bytes()[1..]);
    tag.extend_from_slice(&(timestamp_ms & 0x00FF_FFFF).to_be_bytes()[1..]);
    tag.push((timestamp_ms >> 24) as u8);
    tag.extend_from_slice(&[0, 0, 0]);
    tag.extend_from_slice(&data[..len as usize]);
    tag.extend_from_slice(&(11 + len).to_be_bytes());
    tag
}

/// The 11-byte header of an FLV tag.
pub fn flv_tag_header(tag_type: u8, timestamp_ms: u32, len: u32) -> [u8; 11] {
    let len = len.to_be_bytes();
    let ts = timestamp_ms.to_be_bytes();
    [
        tag_type, len[1], len[2], len[3], ts[1], ts[2], ts[3], ts[0], 0, 0, 0,
    ]
}

/// Checks the structure of an FLV file: header, and every tag's size chain. Returns the tag count.
pub fn validate_flv(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 13 || &bytes[..3] != b"FLV" {
        return Err("no FLV signature".into());
    }
    let header_len = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
    let mut at = header_len + 4;
    let mut tags = 0;
    while at < bytes.len() {
        let head = bytes
            .get(at..at + 11)
            .ok_or_else(|| format!("truncated tag header at {at}"))?;
        if !matches!(head[0], TAG_AUDIO | TAG_VIDEO | TAG_SCRIPT) {
            return Err(format!("unknown tag type {} at {at}", head[0]));
        }
        let len = u32::from_be_bytes([0, head[1], head[2], head[3]]) as usize;
        let prev = bytes
            .get(at + 11 + len..at + 15 + len)
            .ok_or_else(|| format!("truncated tag body at {at}"))?;
        if u32::from_be_bytes([prev[0], prev[1], prev[2], prev[3]]) as usize != 11 + len {
            return Err(format!("bad PreviousTagSize after tag at {at}"));
        }
        at += 15 + len;
        tags += 1;
    }
    Ok(tags)
}

/// Writes one push to disk as FLV.
pub struct FlvWriter {
    path: PathBuf,
    out: BufWriter<File>,
    bytes: u64,
}

impl FlvWriter {
    pub fn create(path: &Path) -> std::io::Result<FlvWriter> {
        let mut out = BufWriter::with_capacity(64 * 1024, File::create(path)?);
        out.write_all(&flv_header())?;
        Ok(FlvWriter {
            path: path.to_path_buf(),
            out,
            bytes: 13,
        })
    }

    /// Appends an already framed tag (see [`flv_tag`]).
    pub fn write_tag(&mut self, tag: &[u8]) -> std::io::Result<()> {
        self.out.write_all(tag)?;
        self.bytes += tag.len() as u64;
        Ok(())
    }

    /// Appends one tag from its parts, without framing it in memory first (the hot path of a push).
    pub fn write_frame(
        &mut self,
        tag_type: u8,
        timestamp_ms: u32,
        data: &[u8],
    ) -> std::io::Result<()> {
        let data = &data[..data.len().min(0x00FF_FFFF)];
        let len = data.len() as u32;
        self.out
            .write_all(&flv_tag_header(tag_type, timestamp_ms, len))?;
        self.out.write_all(data)?;
        self.out.write_all(&(11 + len).to_be_bytes())?;
        self.bytes += 15 + u64::from(len);
        Ok(())
    }

    /// Flushes and returns the file and its size.
    pub fn finish(mut self) -> std::io::Result<(PathBuf, u64)> {
        self.out.flush()?;
        Ok((self.path, self.bytes))
    }
}

/// One recording file, as event 100 and `Live_Tape_GetFilelist` describe it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recording {
    pub stream_id: String,
    pub video_id: String,
    pub file_id: String,
    pub file_format: String,
    pub video_url: String,
    pub file_size: u64,
    pub start_time: i64,
    pub end_time: i64,
    pub stream_param: String,
    /// Where the FLV lies on disk (shared by the formats of one push).
    #[serde(skip)]
    pub path: PathBuf,
}

impl Recording {
    pub fn duration(&self) -> i64 {
        (self.end_time - self.start_time).max(0)
    }

    /// The `host` and `path` of `video_url`, what a download request carries.
    pub fn host_and_path(&self) -> (&str, &str) {
        let rest = self
            .video_url
            .strip_prefix("http://")
            .unwrap_or(&self.video_url);
        rest.split_once('/')
            .map(|(host, _)| (host, &rest[host.len()..]))
            .unwrap_or((rest, "/"))
    }
}

/// Every recording made so far, in order.
#[derive(Default)]
pub struct RecordingStore {
    recordings: Mutex<Vec<Recording>>,
}

impl RecordingStore {
    /// Forgets every recording (`/_tcharness/reset`).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn add(&self, recording: Recording) {
        self.lock().push(recording);
    }

    pub fn all(&self) -> Vec<Recording> {
        self.lock().clone()
    }

    pub fn of_stream(&self, stream_id: &str) -> Vec<Recording> {
        self.lock()
            .iter()
            .filter(|r| r.stream_id == stream_id)
            .cloned()
            .collect()
    }

    /// The recording served at `host` + `path` (host without port, any case). An HLS recording also
    /// serves its single segment under the same directory.
    pub fn find(&self, host: &str, path: &str) -> Option<(Recording, Served)> {
        let host = host.to_ascii_lowercase();
        for rec in self.lock().iter() {
            let (rec_host, rec_path) = rec.host_and_path();
            if rec_host != host {
                continue;
            }
            if rec_path == path {
                let served = if rec.file_format == "hls" {
                    Served::Playlist
                } else {
                    Served::Flv
                };
                return Some((rec.clone(), served));
            }
            if rec.file_format == "hls"
                && let Some(dir) = rec_path.rsplit_once('/').map(|(d, _)| d)
                && path == format!("{dir}/{HLS_SEGMENT}")
            {
                return Some((rec.clone(), Served::Flv));
            }
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recording>> {
        self.recordings.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a download of a recording URL returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    Flv,
    Playlist,
}

/// GAP: the emulated VOD does not remux to MPEG-TS. An `hls` recording is a one-entry M3U8 playlist whose
/// segment is the push's FLV (ffmpeg plays it); an `mp4` recording serves the FLV bytes.
pub const HLS_SEGMENT: &str = "f0.seg0.flv";

/// The playlist of an HLS recording.
pub fn hls_playlist(duration: i64) -> String {
    let duration = duration.max(1);
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{duration}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:{duration}.000,\n{HLS_SEGMENT}\n#EXT-X-ENDLIST\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_flv_validates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = FlvWriter::create(&dir.path().join("a.flv")).expect("create");
        w.write_tag(&flv_tag(TAG_VIDEO, 0, &[0x17, 0, 0, 0, 0]))
            .expect("write");
        w.write_tag(&flv_tag(TAG_AUDIO, 0x0100_0000 + 5, &[0xaf, 1, 2]))
            .expect("write");
        w.write_frame(TAG_AUDIO, 0x0100_0000 + 5, &[0xaf, 1, 2])
            .expect("write");
        assert_eq!(
            flv_tag(TAG_AUDIO, 0x0100_0000 + 5, &[0xaf, 1, 2])[..11],
            flv_tag_header(TAG_AUDIO, 0x0100_0000 + 5, 3)
        );
        let (path, size) = w.finish().expect("finish");
        let bytes = std::fs::read(path).expect("read");
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(validate_flv(&bytes), Ok(3));
        assert!(validate_flv(&bytes[..bytes.len() - 1]).is_err());
        assert!(validate_flv(b"GIF89a").is_err());
    }
}
