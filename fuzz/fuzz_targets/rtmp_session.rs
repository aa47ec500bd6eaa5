//! Fuzzes the ingest's RTMP session (chunk framing, AMF0 commands, the publish flow) with arbitrary bytes
//! after the handshake, fed in pieces of arbitrary sizes.
//!
//! Run from `fuzz/`: `cargo +nightly fuzz run rtmp_session corpus/rtmp_session -- -max_len=65536`.
//! libFuzzer's default input cap (4 KiB, or the largest seed) is too small for the inputs that matter
//! here: a `connect` nesting 5,000 AMF0 objects is 35 KB. The seed `deep-nesting` is such an input.
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

/// The stack of a tokio worker thread in `serve`: the fuzzer's main thread has 8 MiB, which hides
/// recursion that overflows in the real server.
const WORKER_STACK: usize = 2 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    let worker = std::thread::Builder::new()
        .stack_size(WORKER_STACK)
        .spawn(move || run(&data))
        .expect("spawn the worker thread");
    // A panic in the session is a finding: re-raise it on the fuzzer's thread.
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
});

fn run(data: &[u8]) {
    // The first byte picks how the input is split, to exercise chunks arriving in pieces: small
    // pieces below 128, up to 64 KiB above.
    let Some((&split, rest)) = data.split_first() else { return };
    let step = match usize::from(split) {
        small @ 0..128 => small.max(1),
        large => (large - 127) * 512,
    };
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
}
