//! An RTMP publisher: what the simulated app (and the load generator) pushes with.
//!
//! It connects to the ingest's socket address but keeps the real push domain in tcUrl, as a phone
//! would after name resolution. A push the server hangs up on before `NetStream.Publish.Start` is
//! reported as [`PushError::ServerDisconnected`], the SDK's 3004.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("bad push URL: {0}")]
    BadUrl(String),
    #[error("connect failed: {0}")]
    Connect(std::io::Error),
    /// The Tencent SDK's PUSH_WARNING_SERVER_DISCONNECT (3004).
    #[error("RTMP server actively disconnects")]
    ServerDisconnected,
    #[error("RTMP protocol error: {0}")]
    Protocol(String),
    #[error("no answer from the server within {0:?}")]
    Timeout(Duration),
}

/// `rtmp://host/app/stream?query` → (tcUrl `rtmp://host/app`, app, publish name `stream?query`).
pub fn split_push_url(url: &str) -> Result<(String, String, String), PushError> {
    let rest = url
        .strip_prefix("rtmp://")
        .ok_or_else(|| PushError::BadUrl(url.to_string()))?;
    let (host, path) = rest
        .split_once('/')
        .ok_or_else(|| PushError::BadUrl(url.to_string()))?;
    let (app, name) = path
        .split_once('/')
        .ok_or_else(|| PushError::BadUrl(url.to_string()))?;
    if host.is_empty() || app.is_empty() || name.is_empty() {
        return Err(PushError::BadUrl(url.to_string()));
    }
    Ok((
        format!("rtmp://{host}/{app}"),
        app.to_string(),
        name.to_string(),
    ))
}

pub struct Publisher {
    socket: TcpStream,
    session: ClientSession,
    buf: Vec<u8>,
    /// Bytes of media sent so far.
    pub sent_bytes: u64,
}

impl Publisher {
    /// Connects to `addr`, announces `url`, and waits for `NetStream.Publish.Start`.
    pub async fn publish(
        addr: SocketAddr,
        url: &str,
        wait: Duration,
    ) -> Result<Publisher, PushError> {
        tokio::time::timeout(wait, Self::publish_inner(addr, url))
            .await
            .map_err(|_| PushError::Timeout(wait))?
    }

    async fn publish_inner(addr: SocketAddr, url: &str) -> Result<Publisher, PushError> {
        let (tc_url, app, name) = split_push_url(url)?;
        let mut socket = TcpStream::connect(addr).await.map_err(PushError::Connect)?;
        let _ = socket.set_nodelay(true);
        let mut buf = vec![0u8; 16 * 1024];
        let mut handshake = Handshake::new(PeerType::Client);
        let p0p1 = handshake
            .generate_outbound_p0_and_p1()
            .map_err(|e| PushError::Protocol(e.to_string()))?;
        write(&mut socket, &p0p1).await?;
        let leftover = loop {
            let n = read(&mut socket, &mut buf).await?;
            match handshake.process_bytes(&buf[..n]) {
                Ok(HandshakeProcessResult::InProgress { response_bytes }) => {
                    write(&mut socket, &response_bytes).await?
                }
                Ok(HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                }) => {
                    write(&mut socket, &response_bytes).await?;
                    break remaining_bytes;
                }
                Err(e) => return Err(PushError::Protocol(e.to_string())),
            }
        };
        let mut config = ClientSessionConfig::new();
        config.tc_url = Some(tc_url);
        let (session, initial) =
            ClientSession::new(config).map_err(|e| PushError::Protocol(e.to_string()))?;
        let mut publisher = Publisher {
            socket,
            session,
            buf,
            sent_bytes: 0,
        };
        publisher.send_results(initial).await?;
        let connect = publisher
            .session
            .request_connection(app)
            .map_err(|e| PushError::Protocol(e.to_string()))?;
        publisher.send_results(vec![connect]).await?;
        let mut pending = leftover;
        let mut publish_sent = false;
        loop {
            let results = publisher
                .session
                .handle_input(&pending)
                .map_err(|e| PushError::Protocol(e.to_string()))?;
            pending.clear();
            let mut events = Vec::new();
            let mut out = Vec::new();
            for r in results {
                match r {
                    ClientSessionResult::RaisedEvent(e) => events.push(e),
                    other => out.push(other),
                }
            }
            publisher.send_results(out).await?;
            for event in events {
                match event {
                    ClientSessionEvent::ConnectionRequestAccepted if !publish_sent => {
                        publish_sent = true;
                        let r = publisher
                            .session
                            .request_publishing(name.clone(), PublishRequestType::Live)
                            .map_err(|e| PushError::Protocol(e.to_string()))?;
                        publisher.send_results(vec![r]).await?;
                    }
                    ClientSessionEvent::ConnectionRequestRejected { description } => {
                        return Err(PushError::Protocol(description));
                    }
                    ClientSessionEvent::PublishRequestAccepted => return Ok(publisher),
                    _ => {}
                }
            }
            let n = read(&mut publisher.socket, &mut publisher.buf).await?;
            pending.extend_from_slice(&publisher.buf[..n]);
        }
    }

    async fn send_results(&mut self, results: Vec<ClientSessionResult>) -> Result<(), PushError> {
        for r in results {
            if let ClientSessionResult::OutboundResponse(packet) = r {
                write(&mut self.socket, &packet.bytes).await?;
            }
        }
        Ok(())
    }

    /// Sends one FLV video tag body (`0x17 0x01 ...` for an AVC keyframe).
    pub async fn send_video(&mut self, timestamp_ms: u32, data: Bytes) -> Result<(), PushError> {
        self.sent_bytes += data.len() as u64;
        let r = self
            .session
            .publish_video_data(data, RtmpTimestamp::new(timestamp_ms), false)
            .map_err(|e| PushError::Protocol(e.to_string()))?;
        self.send_results(vec![r]).await
    }

    /// Sends one FLV audio tag body.
    pub async fn send_audio(&mut self, timestamp_ms: u32, data: Bytes) -> Result<(), PushError> {
        self.sent_bytes += data.len() as u64;
        let r = self
            .session
            .publish_audio_data(data, RtmpTimestamp::new(timestamp_ms), false)
            .map_err(|e| PushError::Protocol(e.to_string()))?;
        self.send_results(vec![r]).await
    }

    /// Sends a synthetic AVC sequence header and `frames` frames of `frame_size` bytes, 40 ms apart in
    /// media time (not paced). The FLV framing is valid; the codec payload is filler.
    pub async fn send_synthetic(
        &mut self,
        first_ts: u32,
        frames: u32,
        frame_size: usize,
    ) -> Result<(), PushError> {
        if first_ts == 0 {
            self.send_video(0, synthetic_frame(true, true, 16)).await?;
        }
        for i in 0..frames {
            let ts = first_ts + i * 40;
            self.send_video(ts, synthetic_frame(false, i % 25 == 0, frame_size))
                .await?;
        }
        Ok(())
    }

    /// Ends the push like a client that stops: `deleteStream`, then close.
    pub async fn stop(mut self) -> Result<(), PushError> {
        let results = self
            .session
            .stop_publishing()
            .map_err(|e| PushError::Protocol(e.to_string()))?;
        self.send_results(results).await?;
        let _ = self.socket.shutdown().await;
        Ok(())
    }

    /// Drops the TCP connection without `deleteStream` (a phone losing its network).
    pub fn drop_connection(self) {
        drop(self.socket);
    }

    /// Waits until the server closes the connection (a cut push); `false` on timeout.
    pub async fn closed_by_server(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.read(&mut self.buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// An FLV video tag body with AVC framing: sequence header or NALU, key or inter frame.
pub fn synthetic_frame(sequence_header: bool, key: bool, size: usize) -> Bytes {
    let mut data = Vec::with_capacity(size.max(5));
    data.push(if key { 0x17 } else { 0x27 });
    data.push(if sequence_header { 0 } else { 1 });
    data.extend_from_slice(&[0, 0, 0]);
    data.resize(size.max(5), 0x5a);
    Bytes::from(data)
}

async fn write(socket: &mut TcpStream, bytes: &[u8]) -> Result<(), PushError> {
    socket
        .write_all(bytes)
        .await
        .map_err(|_| PushError::ServerDisconnected)
}

async fn read(socket: &mut TcpStream, buf: &mut [u8]) -> Result<usize, PushError> {
    match socket.read(buf).await {
        Ok(0) | Err(_) => Err(PushError::ServerDisconnected),
        Ok(n) => Ok(n),
    }
}
