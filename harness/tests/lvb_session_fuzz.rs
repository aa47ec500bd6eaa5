//! Mutation fuzzing of the ingest's RTMP session in-process: a real client byte stream (connect, publish,
//! media, deleteStream) is recorded against our session, then mutated (bit flips, byte overwrites,
//! truncation, splices, random splits) and fed back. No input may panic; errors must be `Fault`s.
//! `LVB_FUZZ_ITERS` raises the iteration count for a longer run.

use bytes::Bytes;
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tcharness::cloud::lvb::publisher::synthetic_frame;
use tcharness::cloud::lvb::session::{Session, SessionEvent};

/// Runs our server session against rml_rtmp's client in memory; returns what the client sent.
fn record_client_stream() -> Vec<u8> {
    let mut config = ClientSessionConfig::new();
    config.tc_url = Some("rtmp://8888.livepush.myqcloud.com/live".into());
    let (mut client, _) = ClientSession::new(config).expect("client");
    let mut server = Session::new();
    let mut wire = Vec::new();
    let mut to_server: Vec<u8> = Vec::new();
    let push = |results: Vec<ClientSessionResult>, out: &mut Vec<u8>| {
        for r in results {
            if let ClientSessionResult::OutboundResponse(p) = r {
                out.extend_from_slice(&p.bytes);
            }
        }
    };
    push(
        vec![client.request_connection("live".into()).expect("connect")],
        &mut to_server,
    );
    let mut published = false;
    for _ in 0..20 {
        wire.extend_from_slice(&to_server);
        let events = server.feed(&to_server).expect("valid stream");
        to_server.clear();
        for e in events {
            if let SessionEvent::PublishRequested { name, .. } = e {
                server.accept_publish(&name).expect("accept");
            }
        }
        let back = server.take_output();
        let results = client
            .handle_input(&back)
            .expect("client parses our replies");
        for r in results {
            match r {
                ClientSessionResult::RaisedEvent(ClientSessionEvent::ConnectionRequestAccepted) => {
                    let r = client
                        .request_publishing(
                            "8888_fuzz?txSecret=x&txTime=1".into(),
                            PublishRequestType::Live,
                        )
                        .expect("publish");
                    push(vec![r], &mut to_server);
                }
                ClientSessionResult::RaisedEvent(ClientSessionEvent::PublishRequestAccepted) => {
                    published = true
                }
                ClientSessionResult::OutboundResponse(p) => to_server.extend_from_slice(&p.bytes),
                _ => {}
            }
        }
        if published {
            break;
        }
    }
    assert!(published, "the in-memory client reached publishing");
    for i in 0..10u32 {
        let frame: Bytes = synthetic_frame(i == 0, i % 5 == 0, 300 + i as usize * 50);
        let r = client
            .publish_video_data(frame, RtmpTimestamp::new(i * 40), false)
            .expect("video");
        push(vec![r], &mut wire);
    }
    push(client.stop_publishing().expect("stop"), &mut wire);
    wire
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len());
        match rng.below(6) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next() as u8,
            2 => data.truncate(at),
            3 => {
                let from = rng.below(seed.len());
                let len = rng.below(64);
                let piece: Vec<u8> = seed.iter().skip(from).take(len).copied().collect();
                data.splice(at..at, piece);
            }
            4 => data[at] = [0x00, 0xff, 0x7f, 0x80, 0x02, 0x03][rng.below(6)],
            _ => {
                let len = rng.below(32);
                data.splice(at..(at + len).min(data.len()), std::iter::empty());
            }
        }
        if data.is_empty() {
            break;
        }
    }
    data
}

#[test]
fn mutated_client_streams_never_panic_the_session() {
    let seed = record_client_stream();
    // The unmutated stream parses to a publish, ten frames and an unpublish.
    let events = Session::new().feed(&seed).expect("seed parses");
    assert!(matches!(
        events.first(),
        Some(SessionEvent::PublishRequested { .. })
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::Unpublished { errcode: 1 }))
    );

    let iters: u64 = std::env::var("LVB_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut faults, mut clean) = (0u64, 0u64);
    let started = std::time::Instant::now();
    for _ in 0..iters {
        let input = mutate(&seed, &mut rng);
        let mut session = Session::new();
        let mut at = 0;
        let mut failed = false;
        while at < input.len() {
            let step = 1 + rng.below(700);
            let piece = &input[at..(at + step).min(input.len())];
            at += step;
            match session.feed(piece) {
                Ok(events) => {
                    for e in events {
                        if let SessionEvent::PublishRequested { name, .. } = e {
                            let _ = session.accept_publish(&name);
                        }
                    }
                    let _ = session.take_output();
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed { faults += 1 } else { clean += 1 }
    }
    if std::env::var("LVB_FUZZ_ITERS").is_ok() {
        eprintln!(
            "lvb session fuzz: {iters} inputs in {:?}: {faults} closed with a fault, {clean} parsed clean, 0 panics",
            started.elapsed()
        );
    }
    assert!(faults > 0 && clean > 0, "the mutations reach both outcomes");
}
