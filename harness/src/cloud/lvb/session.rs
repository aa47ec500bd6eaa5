//! The RTMP server session of one connection, sans I/O: bytes in, replies and events out.
//!
//! Chunks are read by our own [`ChunkReader`]; message decoding (AMF0) and our replies' framing come from
//! `rml_rtmp`. The command flow is ours, because the hotlink check needs `connect`'s `tcUrl`, which the
//! crate's high-level server session does not expose.

use std::collections::HashMap;

use bytes::Bytes;
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::{
    MessagePayload, PeerBandwidthLimitType, RtmpMessage, UserControlEventType,
};
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;

use super::chunk::{ChunkError, ChunkReader};

/// Messages over 1 MiB end the push (errcode 7 `rtmp message large than 1M`).
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// Largest chunk size a peer may announce (the largest message length RTMP can express).
pub const MAX_CHUNK_SIZE: u32 = 0x00FF_FFFF;
const OUR_CHUNK_SIZE: u32 = 4096;
/// Deepest AMF0 nesting (objects, ECMA and strict arrays) a command may have: the decoder recurses once
/// per level, and a few thousand levels overflow a 2 MiB worker stack.
pub const MAX_AMF0_DEPTH: usize = 32;
/// Most AMF0 values a command may hold. A decoded value takes some 50 to 100 bytes for the one byte of
/// a null or an empty property, so a 1 MiB command of them cost 12 MB or more per connection while
/// it was decoded; ffmpeg's and OBS's `connect` hold fewer than 20.
pub const MAX_AMF0_VALUES: usize = 1024;

/// Why a connection is closed by the ingest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Bytes that are not RTMP chunks or not valid messages.
    Malformed(String),
    /// A chunk size of 0 or above the protocol limit.
    BadChunkSize(u32),
    /// A message over [`MAX_MESSAGE`].
    TooLarge(usize),
}

impl Fault {
    pub fn describe(&self) -> String {
        match self {
            Fault::Malformed(what) => format!("closed: malformed RTMP ({what})"),
            Fault::BadChunkSize(size) => format!("closed: bad chunk size {size}"),
            Fault::TooLarge(_) => "closed: rtmp message large than 1M".to_string(),
        }
    }
}

/// What the connection driver must act on.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionEvent {
    /// `publish` with the name as sent (`8888_x?txSecret=..`); answer with `accept_publish` or close.
    PublishRequested {
        tc_url: String,
        app: String,
        name: String,
    },
    /// `@setDataFrame`/`onMetaData`: the AMF0 body of an FLV script tag.
    Metadata(Bytes),
    Video {
        timestamp: u32,
        data: Bytes,
    },
    Audio {
        timestamp: u32,
        data: Bytes,
    },
    /// The publisher ended: 1 `deleteStream`, 2 `closeStream`.
    Unpublished {
        errcode: i64,
    },
}

pub struct Session {
    reader: ChunkReader,
    serializer: ChunkSerializer,
    tc_url: String,
    app: String,
    publish_stream: Option<u32>,
    next_stream_id: u32,
    peer_window: Option<u32>,
    unacked: u64,
    received: u64,
    out: Vec<u8>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Session {
        Session {
            reader: ChunkReader::new(MAX_MESSAGE),
            serializer: ChunkSerializer::new(),
            tc_url: String::new(),
            app: String::new(),
            publish_stream: None,
            next_stream_id: 1,
            peer_window: None,
            unacked: 0,
            received: 0,
            out: Vec::new(),
        }
    }

    /// Bytes to send to the peer, in order.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    pub fn tc_url(&self) -> &str {
        &self.tc_url
    }

    /// Feeds bytes received after the handshake.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SessionEvent>, Fault> {
        let mut events = Vec::new();
        self.received += bytes.len() as u64;
        self.unacked += bytes.len() as u64;
        if let Some(window) = self.peer_window
            && window > 0
            && self.unacked >= u64::from(window)
        {
            self.unacked = 0;
            let seq = (self.received & 0xFFFF_FFFF) as u32;
            self.send(
                RtmpMessage::Acknowledgement {
                    sequence_number: seq,
                },
                0,
            )?;
        }
        self.reader.push(bytes);
        loop {
            let next = self.reader.next_message().map_err(|e| match e {
                ChunkError::TooLarge(size) => Fault::TooLarge(size),
                ChunkError::Malformed(what) => Fault::Malformed(format!("chunk: {what}")),
            })?;
            let Some(payload) = next else { break };
            self.on_message(payload, &mut events)?;
        }
        Ok(events)
    }

    fn on_message(
        &mut self,
        payload: MessagePayload,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), Fault> {
        // Audio and video go straight through: parsing them as messages would copy nothing new.
        match payload.type_id {
            8 | 9 if self.publish_stream.is_some() => {
                let timestamp = payload.timestamp.value;
                let data = payload.data;
                events.push(if payload.type_id == 9 {
                    SessionEvent::Video { timestamp, data }
                } else {
                    SessionEvent::Audio { timestamp, data }
                });
                return Ok(());
            }
            8 | 9 => return Ok(()),
            18 | 15 => {
                if self.publish_stream.is_some() {
                    events.push(SessionEvent::Metadata(strip_set_data_frame(&payload.data)));
                }
                return Ok(());
            }
            _ => {}
        }
        let stream_id = payload.message_stream_id;
        if matches!(payload.type_id, 17 | 20) {
            let (name, transaction_id, object, args) = decode_command(&payload)?;
            return self.on_command(&name, transaction_id, object, args, stream_id, events);
        }
        let message = payload
            .to_rtmp_message()
            .map_err(|e| Fault::Malformed(format!("message: {e}")))?;
        match message {
            RtmpMessage::SetChunkSize { size } => {
                if size == 0 || size > MAX_CHUNK_SIZE {
                    return Err(Fault::BadChunkSize(size));
                }
                self.reader.set_max_chunk_size(size as usize);
            }
            RtmpMessage::WindowAcknowledgement { size } => self.peer_window = Some(size),
            RtmpMessage::Abort { stream_id } => self.reader.abort(stream_id),
            RtmpMessage::Amf0Command {
                command_name,
                transaction_id,
                command_object,
                additional_arguments,
            } => self.on_command(
                &command_name,
                transaction_id,
                command_object,
                additional_arguments,
                stream_id,
                events,
            )?,
            // Acks, pings, bandwidth, aborts and unknown types need no answer from an ingest.
            _ => {}
        }
        Ok(())
    }

    fn on_command(
        &mut self,
        name: &str,
        transaction_id: f64,
        object: Amf0Value,
        args: Vec<Amf0Value>,
        stream_id: u32,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), Fault> {
        match name {
            "connect" => {
                if let Amf0Value::Object(props) = object {
                    self.tc_url = string_prop(&props, "tcUrl");
                    self.app = string_prop(&props, "app");
                }
                self.send(RtmpMessage::WindowAcknowledgement { size: 5_000_000 }, 0)?;
                self.send(
                    RtmpMessage::SetPeerBandwidth {
                        size: 5_000_000,
                        limit_type: PeerBandwidthLimitType::Dynamic,
                    },
                    0,
                )?;
                let packet = self
                    .serializer
                    .set_max_chunk_size(OUR_CHUNK_SIZE, RtmpTimestamp::new(0))
                    .map_err(|e| Fault::Malformed(format!("serialize: {e}")))?;
                self.out.extend_from_slice(&packet.bytes);
                let props = HashMap::from([
                    (
                        "fmsVer".to_string(),
                        Amf0Value::Utf8String("FMS/3,5,7,7009".into()),
                    ),
                    ("capabilities".to_string(), Amf0Value::Number(31.0)),
                ]);
                let info = status_object(
                    "status",
                    "NetConnection.Connect.Success",
                    "Connection succeeded.",
                    Some(0.0),
                );
                self.command(
                    "_result",
                    transaction_id,
                    Amf0Value::Object(props),
                    vec![info],
                    0,
                )?;
            }
            "createStream" => {
                let id = self.next_stream_id;
                self.next_stream_id = self.next_stream_id.saturating_add(1);
                self.command(
                    "_result",
                    transaction_id,
                    Amf0Value::Null,
                    vec![Amf0Value::Number(f64::from(id))],
                    0,
                )?;
            }
            "releaseStream" | "FCPublish" if transaction_id > 0.0 => {
                self.command(
                    "_result",
                    transaction_id,
                    Amf0Value::Null,
                    vec![Amf0Value::Undefined],
                    0,
                )?;
            }
            "publish" => {
                let name = args
                    .into_iter()
                    .find_map(|v| match v {
                        Amf0Value::Utf8String(s) => Some(s),
                        _ => None,
                    })
                    .unwrap_or_default();
                self.publish_stream = Some(stream_id.max(1));
                events.push(SessionEvent::PublishRequested {
                    tc_url: self.tc_url.clone(),
                    app: self.app.clone(),
                    name,
                });
            }
            "deleteStream" | "closeStream" if self.publish_stream.take().is_some() => {
                let errcode = if name == "deleteStream" { 1 } else { 2 };
                events.push(SessionEvent::Unpublished { errcode });
            }
            // FCUnpublish precedes deleteStream; getStreamLength, _checkbw etc. need no answer.
            _ => {}
        }
        Ok(())
    }

    /// Answers an accepted `publish`: StreamBegin, then `onStatus NetStream.Publish.Start`.
    pub fn accept_publish(&mut self, stream_name: &str) -> Result<(), Fault> {
        let stream = self.publish_stream.unwrap_or(1);
        self.send(
            RtmpMessage::UserControl {
                event_type: UserControlEventType::StreamBegin,
                stream_id: Some(stream),
                buffer_length: None,
                timestamp: None,
            },
            0,
        )?;
        let info = status_object(
            "status",
            "NetStream.Publish.Start",
            &format!("{stream_name} is now published."),
            None,
        );
        self.command("onStatus", 0.0, Amf0Value::Null, vec![info], stream)
    }

    fn command(
        &mut self,
        name: &str,
        transaction_id: f64,
        object: Amf0Value,
        args: Vec<Amf0Value>,
        stream: u32,
    ) -> Result<(), Fault> {
        self.send(
            RtmpMessage::Amf0Command {
                command_name: name.to_string(),
                transaction_id,
                command_object: object,
                additional_arguments: args,
            },
            stream,
        )
    }

    fn send(&mut self, message: RtmpMessage, stream: u32) -> Result<(), Fault> {
        let payload = message
            .into_message_payload(RtmpTimestamp::new(0), stream)
            .map_err(|e| Fault::Malformed(format!("serialize: {e}")))?;
        let packet = self
            .serializer
            .serialize(&payload, false, false)
            .map_err(|e| Fault::Malformed(format!("serialize: {e}")))?;
        self.out.extend_from_slice(&packet.bytes);
        Ok(())
    }
}

/// An AMF0 command: name, transaction id, command object, further arguments. Decoded here because
/// `rml_rtmp` 0.8 panics on a command with fewer than three values.
fn decode_command(
    payload: &MessagePayload,
) -> Result<(String, f64, Amf0Value, Vec<Amf0Value>), Fault> {
    // An AMF3 command (type 17) is AMF0 after a leading format byte.
    let data = if payload.type_id == 17 {
        payload.data.get(1..).unwrap_or(&[])
    } else {
        &payload.data[..]
    };
    check_amf0_shape(data)?;
    let mut cursor = std::io::Cursor::new(data);
    let values = rml_rtmp::rml_amf0::deserialize(&mut cursor)
        .map_err(|e| Fault::Malformed(format!("AMF0: {e}")))?;
    let mut values = values.into_iter();
    let (Some(Amf0Value::Utf8String(name)), Some(Amf0Value::Number(transaction_id))) =
        (values.next(), values.next())
    else {
        return Err(Fault::Malformed(
            "command without a name and transaction id".into(),
        ));
    };
    let object = values.next().unwrap_or(Amf0Value::Null);
    Ok((name, transaction_id, object, values.collect()))
}

/// Walks AMF0 values without recursion, following the grammar `rml_amf0` 0.3 decodes, and refuses
/// nesting deeper than [`MAX_AMF0_DEPTH`] or more than [`MAX_AMF0_VALUES`] values before that recursive
/// decoder sees the bytes. Anything the
/// walk cannot follow (a short read, an unknown marker) is left to the decoder, which stops at the same
/// place with its own error, so it never reaches a level this walk has not counted.
fn check_amf0_shape(data: &[u8]) -> Result<(), Fault> {
    enum Frame {
        Object,
        Array(u32),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = 0usize;
    let mut values = 0usize;
    let u16_at = |at: usize| -> Option<usize> {
        let b = data.get(at..at + 2)?;
        Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    loop {
        match stack.last_mut() {
            None => {}
            Some(Frame::Object) => {
                let Some(label) = u16_at(pos) else {
                    return Ok(());
                };
                pos += 2;
                if label == 0 {
                    pos += 1;
                    stack.pop();
                    continue;
                }
                pos += label;
            }
            Some(Frame::Array(left)) => {
                if *left == 0 {
                    stack.pop();
                    continue;
                }
                *left -= 1;
            }
        }
        let Some(&marker) = data.get(pos) else {
            return Ok(());
        };
        pos += 1;
        values += 1;
        if values > MAX_AMF0_VALUES {
            return Err(Fault::Malformed(format!(
                "AMF0 command with more than {MAX_AMF0_VALUES} values"
            )));
        }
        match marker {
            0x00 => pos += 8,
            0x01 => pos += 1,
            0x02 => {
                let Some(len) = u16_at(pos) else {
                    return Ok(());
                };
                pos += 2 + len;
            }
            0x03 => stack.push(Frame::Object),
            0x05 | 0x06 => {}
            0x08 => {
                pos += 4;
                stack.push(Frame::Object);
            }
            0x0A => {
                let Some(b) = data.get(pos..pos + 4) else {
                    return Ok(());
                };
                pos += 4;
                stack.push(Frame::Array(u32::from_be_bytes([b[0], b[1], b[2], b[3]])));
            }
            // Object end: ends the top level or an array early; inside an object the decoder refuses it.
            0x09 => match stack.last() {
                None | Some(Frame::Object) => return Ok(()),
                Some(Frame::Array(_)) => {
                    stack.pop();
                }
            },
            _ => return Ok(()),
        }
        if stack.len() > MAX_AMF0_DEPTH {
            return Err(Fault::Malformed(format!(
                "AMF0 nested deeper than {MAX_AMF0_DEPTH} levels"
            )));
        }
    }
}

fn string_prop(props: &HashMap<String, Amf0Value>, key: &str) -> String {
    match props.get(key) {
        Some(Amf0Value::Utf8String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn status_object(level: &str, code: &str, description: &str, encoding: Option<f64>) -> Amf0Value {
    let mut map = HashMap::from([
        ("level".to_string(), Amf0Value::Utf8String(level.into())),
        ("code".to_string(), Amf0Value::Utf8String(code.into())),
        (
            "description".to_string(),
            Amf0Value::Utf8String(description.into()),
        ),
    ]);
    if let Some(e) = encoding {
        map.insert("objectEncoding".to_string(), Amf0Value::Number(e));
    }
    Amf0Value::Object(map)
}

/// The AMF0 string `@setDataFrame` that prefixes metadata sent over RTMP but not stored in FLV.
fn strip_set_data_frame(data: &Bytes) -> Bytes {
    const PREFIX: &[u8] = b"\x02\x00\x0d@setDataFrame";
    if data.starts_with(PREFIX) {
        data.slice(PREFIX.len()..)
    } else {
        data.clone()
    }
}
