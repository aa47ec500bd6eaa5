//! The RTMP chunk reader of the ingest: reassembles messages from chunk streams.
//!
//! Written here rather than taken from `rml_rtmp`, whose 0.8 deserializer panics (subtract overflow)
//! when a type-1 header shrinks a message's length mid-message, and in release builds would then try to
//! reserve close to `usize::MAX` bytes. This reader never consumes a partial chunk, bounds every message
//! (1 MiB, the errcode 7 rule) and the data held across interleaved chunk streams, and reports bad input
//! as a [`ChunkError`].

use std::collections::HashMap;

use bytes::{Buf, BytesMut};
use rml_rtmp::messages::MessagePayload;
use rml_rtmp::time::RtmpTimestamp;

/// Largest partial data held across all chunk streams of one connection.
const MAX_BUFFERED: usize = 4 * 1024 * 1024;
/// Most a message's first chunk reserves for the rest of it.
const MAX_RESERVE: usize = 64 * 1024;
/// Chunk streams one connection may use (ffmpeg and OBS use fewer than ten).
const MAX_CHUNK_STREAMS: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// Not a valid chunk sequence; the text says what.
    Malformed(String),
    /// A message announced longer than the limit.
    TooLarge(usize),
}

/// What the last header on one chunk stream said, and the message being assembled on it.
#[derive(Default)]
struct ChunkStream {
    timestamp: u32,
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    extended: bool,
    partial: Vec<u8>,
}

pub struct ChunkReader {
    buf: BytesMut,
    max_chunk: usize,
    max_message: usize,
    streams: HashMap<u32, ChunkStream>,
    buffered: usize,
}

impl ChunkReader {
    pub fn new(max_message: usize) -> ChunkReader {
        ChunkReader {
            buf: BytesMut::new(),
            max_chunk: 128,
            max_message,
            streams: HashMap::new(),
            buffered: 0,
        }
    }

    pub fn set_max_chunk_size(&mut self, size: usize) {
        self.max_chunk = size.max(1);
    }

    /// Drops the partial message of a chunk stream (RTMP Abort message).
    pub fn abort(&mut self, csid: u32) {
        if let Some(cs) = self.streams.get_mut(&csid) {
            self.buffered -= cs.partial.len();
            cs.partial.clear();
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `None` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<MessagePayload>, ChunkError> {
        loop {
            match self.next_chunk()? {
                Chunk::NeedMore => return Ok(None),
                Chunk::Partial => continue,
                Chunk::Message(m) => return Ok(Some(m)),
            }
        }
    }

    fn next_chunk(&mut self) -> Result<Chunk, ChunkError> {
        let b = &self.buf[..];
        let Some(&first) = b.first() else {
            return Ok(Chunk::NeedMore);
        };
        let fmt = first >> 6;
        let (csid, mut at) = match first & 0x3f {
            0 => match b.get(1) {
                Some(&x) => (64 + u32::from(x), 2),
                None => return Ok(Chunk::NeedMore),
            },
            1 => match (b.get(1), b.get(2)) {
                (Some(&x), Some(&y)) => (64 + u32::from(x) + 256 * u32::from(y), 3),
                _ => return Ok(Chunk::NeedMore),
            },
            n => (u32::from(n), 1),
        };
        let header_len = [11, 7, 3, 0][usize::from(fmt)];
        if b.len() < at + header_len {
            return Ok(Chunk::NeedMore);
        }
        let h = &b[at..at + header_len];
        at += header_len;
        let u24 = |s: &[u8]| u32::from_be_bytes([0, s[0], s[1], s[2]]);
        if !self.streams.contains_key(&csid) {
            if fmt != 0 {
                return Err(ChunkError::Malformed(format!(
                    "chunk stream {csid} starts without a full header"
                )));
            }
            if self.streams.len() >= MAX_CHUNK_STREAMS {
                return Err(ChunkError::Malformed("too many chunk streams".into()));
            }
        }
        let prev = self.streams.get(&csid);
        let in_message = prev.is_some_and(|cs| !cs.partial.is_empty());
        if in_message && fmt != 3 {
            return Err(ChunkError::Malformed(format!(
                "new message header on chunk stream {csid} before its message ended"
            )));
        }
        // Header fields after this chunk (unchanged fields carry over from the previous header).
        let (mut timestamp, mut delta, mut length, mut type_id, mut stream_id, mut extended) = prev
            .map(|cs| {
                (
                    cs.timestamp,
                    cs.delta,
                    cs.length,
                    cs.type_id,
                    cs.stream_id,
                    cs.extended,
                )
            })
            .unwrap_or_default();
        let field = if fmt < 3 { u24(&h[0..3]) } else { 0 };
        if fmt < 3 {
            extended = field == 0x00FF_FFFF;
        }
        if fmt <= 1 {
            length = u24(&h[3..6]);
            type_id = h[6];
        }
        if fmt == 0 {
            stream_id = u32::from_le_bytes([h[7], h[8], h[9], h[10]]);
        }
        let mut ext = None;
        if extended {
            let Some(e) = b.get(at..at + 4) else {
                return Ok(Chunk::NeedMore);
            };
            ext = Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]]));
            at += 4;
        }
        if length as usize > self.max_message {
            return Err(ChunkError::TooLarge(length as usize));
        }
        let already = prev.map(|cs| cs.partial.len()).unwrap_or(0);
        let want = (length as usize)
            .saturating_sub(already)
            .min(self.max_chunk);
        if b.len() < at + want {
            return Ok(Chunk::NeedMore);
        }
        if self.buffered + want > MAX_BUFFERED {
            return Err(ChunkError::Malformed("too much interleaved data".into()));
        }
        // Timestamps: absolute on a full header, deltas otherwise; a type-3 chunk that starts a new
        // message repeats the previous delta; continuation chunks keep the message's timestamp.
        let value = ext.unwrap_or(field);
        match fmt {
            0 => {
                timestamp = value;
                delta = 0;
            }
            1 | 2 => {
                delta = value;
                timestamp = timestamp.wrapping_add(delta);
            }
            _ if !in_message => timestamp = timestamp.wrapping_add(delta),
            _ => {}
        }
        let cs = self.streams.entry(csid).or_default();
        cs.timestamp = timestamp;
        cs.delta = delta;
        cs.length = length;
        cs.type_id = type_id;
        cs.stream_id = stream_id;
        cs.extended = extended;
        if cs.partial.is_empty() {
            // One allocation per message instead of one per chunk, bounded so that headers alone (at
            // any chunk size, on every chunk stream) cannot make the reader reserve much.
            cs.partial.reserve_exact((length as usize).min(MAX_RESERVE));
        }
        cs.partial.extend_from_slice(&self.buf[at..at + want]);
        self.buf.advance(at + want);
        self.buffered += want;
        if cs.partial.len() < length as usize {
            return Ok(Chunk::Partial);
        }
        let payload = std::mem::take(&mut cs.partial);
        self.buffered -= payload.len();
        Ok(Chunk::Message(MessagePayload {
            timestamp: RtmpTimestamp::new(timestamp),
            type_id,
            message_stream_id: stream_id,
            data: payload.into(),
        }))
    }
}

enum Chunk {
    NeedMore,
    Partial,
    Message(MessagePayload),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkSerializer;
    use rml_rtmp::messages::RtmpMessage;

    fn serialized(messages: &[(u32, u32, Vec<u8>)], chunk_size: u32) -> Vec<u8> {
        let mut ser = ChunkSerializer::new();
        let mut out = Vec::new();
        if chunk_size != 128 {
            let p = ser
                .set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
                .expect("chunk size");
            out.extend_from_slice(&p.bytes);
        }
        for (ts, sid, data) in messages {
            let payload = RtmpMessage::VideoData {
                data: data.clone().into(),
            }
            .into_message_payload(RtmpTimestamp::new(*ts), *sid)
            .expect("payload");
            out.extend_from_slice(&ser.serialize(&payload, false, false).expect("ser").bytes);
        }
        out
    }

    #[test]
    fn reads_what_a_serializer_writes_in_any_split() {
        let messages: Vec<(u32, u32, Vec<u8>)> = (0..20u32)
            .map(|i| {
                (
                    i * 40 + if i > 10 { 0x0100_0000 } else { 0 },
                    1,
                    vec![i as u8; 50 + 97 * i as usize],
                )
            })
            .collect();
        let bytes = serialized(&messages, 128);
        for step in [1, 7, 128, 1000, bytes.len()] {
            let mut reader = ChunkReader::new(1 << 20);
            let mut got = Vec::new();
            for piece in bytes.chunks(step) {
                reader.push(piece);
                while let Some(m) = reader.next_message().expect("valid") {
                    got.push((m.timestamp.value, m.message_stream_id, m.data.to_vec()));
                }
            }
            assert_eq!(got, messages, "split {step}");
        }
    }

    #[test]
    fn shrinking_a_message_mid_way_is_an_error_not_a_panic() {
        // Full header: 300-byte video message; first 128-byte chunk; then a type-1 header saying 10 bytes.
        let mut bytes = vec![0x06, 0, 0, 0, 0, 0x01, 0x2c, 9, 1, 0, 0, 0];
        bytes.extend(std::iter::repeat_n(0u8, 128));
        bytes.extend([0x46, 0, 0, 0, 0, 0, 10, 9]);
        bytes.extend([0u8; 10]);
        let mut reader = ChunkReader::new(1 << 20);
        reader.push(&bytes);
        assert!(matches!(
            reader.next_message(),
            Err(ChunkError::Malformed(_))
        ));
    }

    #[test]
    fn oversized_messages_are_refused_at_the_header() {
        let mut reader = ChunkReader::new(1 << 20);
        reader.push(&[0x06, 0, 0, 0, 0x10, 0, 1, 9, 1, 0, 0, 0]);
        assert_eq!(reader.next_message(), Err(ChunkError::TooLarge(0x10_0001)));
    }
}
