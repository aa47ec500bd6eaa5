//! Mutation fuzzing of the COS form readers in-process: multipart bodies as the SDKs send them are
//! mutated (bit flips, delimiter bytes, truncation, splices) and fed in random splits to both the
//! bounded `op` scan of unsigned requests and the full reader of signed ones. Neither may panic, and
//! wherever the full reader takes the body and finds an `op`, the scan must find the same one: the
//! journal names the op of a refused request as it would of an accepted one.
//! `COS_FORM_FUZZ_ITERS` raises the iteration count for a longer run, `COS_FORM_FUZZ_SEED` changes the
//! mutations.

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tcharness::cloud::cos::form;

const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

fn part(name: &str, filename: Option<&str>, value: &[u8]) -> Vec<u8> {
    let mut p = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
    if let Some(f) = filename {
        p.push_str(&format!("; filename=\"{f}\"\r\nContent-Type: image/jpeg"));
    }
    p.push_str("\r\n\r\n");
    let mut p = p.into_bytes();
    p.extend_from_slice(value);
    p.extend_from_slice(b"\r\n");
    p
}

/// Bodies in the orders the SDKs use: op first (PHP, Java), the file first, op between fields.
fn seeds() -> Vec<Vec<u8>> {
    let file: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut boundary_like = format!("\r\n--{}", &BOUNDARY[..20]).into_bytes();
    boundary_like.extend_from_slice(&file[..200]);
    let orders: Vec<Vec<Vec<u8>>> = vec![
        vec![
            part("op", None, b"upload"),
            part("sha", None, b"da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            part("filecontent", Some("a.jpg"), &file),
        ],
        vec![
            part("filecontent", Some("a.jpg"), &boundary_like),
            part("op", None, b"upload_slice_data"),
            part("session", None, b"abc"),
        ],
        vec![
            part("biz_attr", None, b"x"),
            part("op", None, b"upload_slice_init"),
            part("filesize", None, b"3000"),
        ],
    ];
    orders
        .into_iter()
        .map(|parts| {
            let mut body = parts.concat();
            body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
            body
        })
        .collect()
}

fn mutate(rng: &mut StdRng, mut body: Vec<u8>) -> Vec<u8> {
    const SPECIAL: &[u8] = b"\r\n-\";= \0";
    for _ in 0..rng.gen_range(0..4) {
        if body.is_empty() {
            break;
        }
        let at = rng.gen_range(0..body.len());
        match rng.gen_range(0..6) {
            0 => body[at] ^= 1 << rng.gen_range(0..8),
            1 => body[at] = SPECIAL[rng.gen_range(0..SPECIAL.len())],
            2 => body.truncate(at),
            3 => {
                let end = (at + rng.gen_range(1..64)).min(body.len());
                let piece = body[at..end].to_vec();
                let to = rng.gen_range(0..=body.len());
                body.splice(to..to, piece);
            }
            4 => {
                let end = (at + rng.gen_range(1..64)).min(body.len());
                body.drain(at..end);
            }
            _ => {}
        }
    }
    body
}

/// `body` as a stream of random pieces, so delimiters and headers fall across chunk edges.
fn split(rng: &mut StdRng, body: &[u8]) -> Body {
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let len = rng.gen_range(1..=97).min(body.len() - at);
        pieces.push(Ok::<_, std::io::Error>(Bytes::copy_from_slice(
            &body[at..at + len],
        )));
        at += len;
    }
    Body::from_stream(futures::stream::iter(pieces))
}

#[tokio::test]
async fn mutated_multipart_bodies_never_panic_and_the_scan_agrees_with_the_reader() {
    let iters: usize = std::env::var("COS_FORM_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}")
            .parse()
            .expect("header"),
    );
    let seeds = seeds();
    let seed: u64 = std::env::var("COS_FORM_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x05ee_dc05);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut compared = 0;
    for i in 0..iters {
        let original = seeds[i % seeds.len()].clone();
        let body = if i < seeds.len() {
            original
        } else {
            mutate(&mut rng, original)
        };
        let scanned = form::scan_op(&headers, split(&mut rng, &body), 1 << 20).await;
        let read = form::read(&headers, split(&mut rng, &body), 1 << 20).await;
        // An op value longer than the scan keeps (1 KiB) is named by neither: no real op is.
        if let Ok(f) = read
            && let Some(op) = f.get("op")
            && op.len() <= 1024
        {
            compared += 1;
            assert_eq!(
                scanned.as_deref(),
                Some(op),
                "seed {seed}, iteration {i}: {:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    assert!(compared > iters / 10, "only {compared} bodies compared");
}
