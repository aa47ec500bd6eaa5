//! Benchmark of the emulated COS upload path over loopback, against a bare hyper server that only reads
//! the body, measured in the same run. Not a timed test: it is ignored by default and prints numbers.
//!
//! Run: `cargo test --release -p harness --test cos_bench -- --ignored --nocapture`
//! Knobs (environment): `COS_BENCH_SECS` (per measurement, default 5), `COS_BENCH_CONNS` (default 8).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tcharness::cloud::cos::sign::SignRequest;
use tcharness::cloud::{Cloud, CloudOptions, Tenant};
use tokio::net::{TcpListener, TcpStream};

const APPID: u64 = 1252000001;
const SID: &str = "AKIDmLvbHarnessHealthy00000000000001";
const SKEY: &str = "hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e";
const BOUNDARY: &str = "benchBoundary0123456789";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A bare HTTP/1 server: reads the whole body, answers 200 with a small JSON.
async fn bare_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(|req: Request<Incoming>| async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(format!(
                        "{{\"code\":0,\"len\":{}}}",
                        body.len()
                    )))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

fn multipart(content: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(content.len() + 512);
    for (name, value) in [("op", &b"upload"[..]), ("insertOnly", b"0")] {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"filecontent\"; filename=\"f\"\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Bytes::from(body)
}

/// Runs `conns` keep-alive connections, each sending uploads back to back for `secs`; returns
/// (requests, body bytes sent, seconds).
async fn drive(
    addr: SocketAddr,
    body: Bytes,
    sign: String,
    conns: u64,
    secs: u64,
) -> (u64, u64, f64) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let body = body.clone();
        let sign = sign.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            let uri = format!("/files/v2/{APPID}/minilvb/bench/conn{c}.bin");
            let mut done = 0u64;
            while Instant::now() < deadline {
                let req = Request::post(uri.as_str())
                    .header("host", "sh.file.myqcloud.com")
                    .header("authorization", sign.as_str())
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(Full::new(body.clone()))
                    .unwrap();
                let response = sender.send_request(req).await.unwrap();
                assert_eq!(response.status(), 200);
                let _ = response.into_body().collect().await.unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    (total, total * body.len() as u64, elapsed)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture in release"]
async fn cos_upload_benchmark() {
    let secs = env_or("COS_BENCH_SECS", 5);
    let conns = env_or("COS_BENCH_CONNS", 8);
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    let bare = bare_server().await;
    let now = cloud.ctx.clock.now();
    let sign = SignRequest {
        appid: APPID,
        bucket: "minilvb",
        secret_id: SID,
        expire: now + 3600,
        time: now,
        rand: 1,
        fileid: "",
    }
    .sign(SKEY);

    let small = multipart(&vec![b'a'; 4096]);
    let large = multipart(&vec![b'z'; 20 * 1024 * 1024]);
    // Warm both servers (allocator, connection setup).
    let _ = drive(cloud.http_addr(), small.clone(), sign.clone(), 2, 1).await;
    let _ = drive(bare, small.clone(), sign.clone(), 2, 1).await;

    let (n_cos, _, t_cos) =
        drive(cloud.http_addr(), small.clone(), sign.clone(), conns, secs).await;
    let (n_bare, _, t_bare) = drive(bare, small.clone(), sign.clone(), conns, secs).await;
    let rps_cos = n_cos as f64 / t_cos;
    let rps_bare = n_bare as f64 / t_bare;

    let big_conns = conns.min(2);
    let (_, b_cos, t_cos) = drive(
        cloud.http_addr(),
        large.clone(),
        sign.clone(),
        big_conns,
        secs,
    )
    .await;
    let (_, b_bare, t_bare) = drive(bare, large.clone(), sign.clone(), big_conns, secs).await;
    let mbs_cos = b_cos as f64 / t_cos / 1e6;
    let mbs_bare = b_bare as f64 / t_bare / 1e6;

    println!("COS bench: {secs} s per measurement, {conns} connections (20 MiB: {big_conns})");
    println!(
        "4 KiB uploads: emulated COS {rps_cos:.0} req/s, bare hyper {rps_bare:.0} req/s, ratio {:.2}",
        rps_cos / rps_bare
    );
    println!(
        "20 MiB uploads: emulated COS {mbs_cos:.0} MB/s, bare hyper {mbs_bare:.0} MB/s, ratio {:.2}",
        mbs_cos / mbs_bare
    );
    println!(
        "peak RSS of the whole bench process: {} MiB",
        peak_rss_kib() / 1024
    );
    assert!(rps_cos > 0.0 && mbs_cos > 0.0);
}
