//! Fuzzes the ingest's RTMP session (chunk framing, AMF0 commands, the publish flow) with arbitrary bytes
//! after the handshake, fed in pieces of arbitrary sizes. Run: `cargo +nightly fuzz run rtmp_session`.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The session and chunk modules depend only on rml_rtmp and bytes, so it is compiled here directly instead of
// building the whole harness with sanitizers.
#[allow(dead_code)]
#[path = "../../harness/src/cloud/lvb/chunk.rs"]
mod chunk;
#[allow(dead_code)]
#[path = "../../harness/src/cloud/lvb/session.rs"]
mod session;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how the input is split, to exercise chunks arriving in pieces.
    let Some((&split, rest)) = data.split_first() else { return };
    let step = usize::from(split).max(1);
    let mut s = session::Session::new();
    for piece in rest.chunks(step) {
        match s.feed(piece) {
            Ok(events) => {
                for e in events {
                    if let session::SessionEvent::PublishRequested { name, .. } = e {
                        let _ = s.accept_publish(&name);
                    }
                }
                let _ = s.take_output();
            }
            Err(_) => return,
        }
    }
});
