//! Hostile input over real loopback sockets: each attack gets the service's own refusal, and the server
//! keeps serving a healthy client afterwards. The runtime's worker threads get 2 MiB stacks, like the
//! binary's, so a stack overflow in a worker shows up here as it would in `serve`.

mod lvb_support;

use std::time::Duration;

use lvb_support::*;
use tcharness::cloud::lvb::publisher::Publisher;
use tcharness::cloud::{Cloud, Service, Tenant};

const WAIT: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(2 * 1024 * 1024)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn cloud() -> Cloud {
    Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud starts")
}

/// A `connect` command whose command object nests `depth` objects, sent in one chunk after a
/// Set Chunk Size large enough to hold it.
fn nested_connect(depth: usize) -> Vec<u8> {
    let mut amf = vec![0x02, 0, 7];
    amf.extend_from_slice(b"connect");
    amf.push(0x00);
    amf.extend_from_slice(&1f64.to_be_bytes());
    for _ in 0..depth {
        amf.extend_from_slice(&[0x03, 0, 1, b'a']);
    }
    amf.push(0x05);
    for _ in 0..depth {
        amf.extend_from_slice(&[0, 0, 0x09]);
    }
    connect_chunk(&amf)
}

/// A `connect` whose name and transaction id are followed by `nulls` one-byte null values.
fn wide_connect(nulls: usize) -> Vec<u8> {
    let mut amf = vec![0x02, 0, 7];
    amf.extend_from_slice(b"connect");
    amf.push(0x00);
    amf.extend_from_slice(&1f64.to_be_bytes());
    amf.extend(std::iter::repeat_n(0x05, nulls));
    connect_chunk(&amf)
}

/// `amf` as one command message in one chunk, after a Set Chunk Size of 1 MiB.
fn connect_chunk(amf: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
    bytes.extend_from_slice(&0x0010_0000u32.to_be_bytes());
    let len = amf.len() as u32;
    bytes.extend_from_slice(&[
        0x03,
        0,
        0,
        0,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0x14,
        0,
        0,
        0,
        0,
    ]);
    bytes.extend_from_slice(amf);
    bytes
}

/// Sends `attack` after a handshake and expects the ingest to close that connection with a malformed-RTMP
/// outcome mentioning `what`, then a healthy push from `user` to go live.
async fn closes_that_connection_and_keeps_serving(attack: &[u8], what: &str, user: &str) {
    let cloud = cloud().await;
    assert!(send_raw(&cloud, &handshake_then(attack)).await);
    let outcomes = ingest_outcomes(&cloud);
    assert!(
        outcomes
            .iter()
            .any(|o| o.starts_with("closed: malformed RTMP") && o.contains(what)),
        "{outcomes:?}"
    );
    let (url, stream) = console_push_url(&cloud, user);
    let publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("a healthy push after the attack");
    assert!(cloud.services.lvb.is_live(&stream));
    publisher.stop().await.expect("stop");
}

#[test]
fn deeply_nested_amf0_closes_that_connection_and_the_ingest_keeps_serving() {
    runtime().block_on(closes_that_connection_and_keeps_serving(
        &nested_connect(5000),
        "nest",
        "anchor07",
    ));
}

#[test]
fn nesting_at_the_limit_is_still_parsed() {
    let mut session = tcharness::cloud::lvb::session::Session::new();
    let bytes = nested_connect(tcharness::cloud::lvb::session::MAX_AMF0_DEPTH);
    // After the handshake the session sees chunks only.
    assert!(session.feed(&bytes).is_ok());
    let mut session = tcharness::cloud::lvb::session::Session::new();
    let bytes = nested_connect(tcharness::cloud::lvb::session::MAX_AMF0_DEPTH + 1);
    assert!(session.feed(&bytes).is_err());
}

#[test]
fn a_command_of_a_million_nulls_closes_that_connection_and_the_ingest_keeps_serving() {
    // 1 MiB of one-byte values decoded to some 12 MB per connection before the count was bounded.
    runtime().block_on(closes_that_connection_and_keeps_serving(
        &wide_connect(1024 * 1024 - 64),
        "values",
        "anchor08",
    ));
}

#[test]
fn a_command_of_as_many_values_as_the_limit_is_still_parsed() {
    use tcharness::cloud::lvb::session::{MAX_AMF0_VALUES, Session};
    // The name and the transaction id count too.
    assert!(
        Session::new()
            .feed(&wide_connect(MAX_AMF0_VALUES - 2))
            .is_ok()
    );
    assert!(
        Session::new()
            .feed(&wide_connect(MAX_AMF0_VALUES - 1))
            .is_err()
    );
}

/// The fuzz target's seed for deep nesting, fed as the target feeds it (one piece, on a thread with a
/// worker's stack): the session refuses it instead of overflowing.
#[test]
fn the_fuzz_seed_for_deep_nesting_is_refused_on_a_worker_sized_stack() {
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/rtmp_session/deep-nesting"
    ))
    .expect("the seed is in the repository");
    assert!(
        seed.len() > 4096,
        "the seed must exceed libFuzzer's default cap"
    );
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let mut session = tcharness::cloud::lvb::session::Session::new();
            session.feed(&seed[1..]).is_err()
        })
        .expect("thread");
    assert!(worker.join().expect("no overflow, no panic"));
}

/// Writes `head` then `body_start` on a fresh connection to the HTTP listener, leaves the rest of the
/// declared body unsent, and returns the reply's first bytes.
async fn partial_request(cloud: &Cloud, head: &str, body_start: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(cloud.http_addr())
        .await
        .expect("connect");
    raw.write_all(head.as_bytes()).await.expect("head");
    raw.write_all(body_start).await.expect("body start");
    let mut reply = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, raw.read(&mut reply))
        .await
        .expect("a reply before the body is complete")
        .expect("read");
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

#[test]
fn a_cos_upload_with_a_bad_signature_is_refused_before_its_body_arrives() {
    runtime().block_on(async {
        let cloud = cloud().await;
        let body_start = "--b\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nupload\r\n\
             --b\r\nContent-Disposition: form-data; name=\"filecontent\"; filename=\"a.jpg\"\r\n\r\nJPEG";
        let head = format!(
            "POST /files/v2/1252000001/minilvb/cover/a.jpg HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
             Authorization: bogus\r\nContent-Type: multipart/form-data; boundary=b\r\n\
             Content-Length: {}\r\n\r\n",
            30 * 1024 * 1024
        );
        let reply = partial_request(&cloud, &head, body_start.as_bytes()).await;
        assert!(reply.contains("ERROR_PROXY"), "{reply}");
        let line = cloud
            .ctx
            .journal
            .of(Service::Cos)
            .pop()
            .expect("journaled");
        assert!(line.request.ends_with("op=upload"), "{line:?}");
        // A healthy request is still answered.
        let (status, _) = http_get(&cloud, "http://sh.file.myqcloud.com/files/v2/1252000001/minilvb/?op=list").await;
        assert!(status < 500, "{status}");
    });
}

#[test]
fn an_unsigned_upload_whose_part_header_never_ends_is_refused_without_buffering_it() {
    runtime().block_on(async {
        let cloud = cloud().await;
        // Before the scan was bounded, the multipart parser kept every byte looking for the end of this
        // header, up to the 32 MiB body limit, for each such unauthenticated connection.
        let mut body_start =
            b"--b\r\nContent-Disposition: form-data; name=\"op\"\r\nX-Endless: ".to_vec();
        body_start.resize(16 * 1024, b'a');
        let head = format!(
            "POST /files/v2/1252000001/minilvb/cover/a.jpg HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
             Authorization: bogus\r\nContent-Type: multipart/form-data; boundary=b\r\n\
             Content-Length: {}\r\n\r\n",
            30 * 1024 * 1024
        );
        let reply = partial_request(&cloud, &head, &body_start).await;
        assert!(reply.contains("\"code\":-"), "COS's own shape: {reply}");
        assert!(reply.contains("ERROR_PROXY"), "{reply}");
        // A healthy request is still answered.
        let (status, _) = http_get(
            &cloud,
            "http://sh.file.myqcloud.com/files/v2/1252000001/minilvb/?op=list",
        )
        .await;
        assert!(status < 500, "{status}");
    });
}

/// A cloud as `serve` runs it: bounded journal, listeners on loopback.
async fn bounded_cloud(
    limits: tcharness::cloud::JournalLimits,
) -> (
    std::net::SocketAddr,
    tcharness::cloud::Services,
    tcharness::cloud::ShutdownTrigger,
) {
    use tcharness::cloud::{CloudContext, Journal, Services, Shutdown};
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rtmp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = http.local_addr().expect("addr");
    let ctx =
        CloudContext::with_journal(Tenant::healthy(), fast_options(), Journal::bounded(limits));
    let services = Services::new(ctx);
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(tcharness::cloud::serve(
        http,
        rtmp,
        services.clone(),
        shutdown,
    ));
    (addr, services, trigger)
}

#[test]
fn rejected_requests_do_not_grow_a_bounded_journal() {
    runtime().block_on(async {
        let limits = tcharness::cloud::JournalLimits {
            max_entries: 100,
            max_bytes: 64 * 1024,
        };
        let (addr, services, _trigger) = bounded_cloud(limits).await;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        for i in 0..500 {
            let status = client
                .post(format!(
                    "http://{addr}/files/v2/1252000001/minilvb/x{i}.jpg"
                ))
                .header("Host", "sh.file.myqcloud.com")
                .header("Authorization", "bogus")
                .body("op=upload")
                .send()
                .await
                .expect("answered")
                .status();
            assert!(status.is_client_error(), "{status}");
        }
        let (kept, bytes) = services.ctx.journal.kept();
        assert!(
            kept <= 100 && bytes <= 64 * 1024,
            "{kept} entries, {bytes} bytes"
        );
        assert_eq!(services.ctx.journal.len(), 500);
        let last = services.ctx.journal.entries().pop().expect("latest kept");
        assert!(last.request.contains("x499.jpg"), "{last:?}");
    });
}

/// A multi-use COS v4 signature of the healthy tenant's `minilvb` bucket, valid for 10 minutes from
/// `now` (cloud time), as any app user gets one from the backend (GetCOSSign).
fn healthy_multi_use_sign(now: i64, rand: u32) -> String {
    use tcharness::cloud::cos::sign::SignRequest;
    SignRequest {
        appid: 1252000001,
        bucket: "minilvb",
        secret_id: "AKIDmLvbHarnessHealthy00000000000001",
        expire: now + 600,
        time: now,
        rand,
        fileid: "",
    }
    .sign("hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e")
}

/// A signed COS v4 multipart request from the cloud's HTTP listener, as the JSON reply.
async fn cos_signed(
    cloud: &Cloud,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<Vec<u8>>,
) -> serde_json::Value {
    let sign = healthy_multi_use_sign(cloud.ctx.clock.now(), 77);
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some(bytes) = file {
        form = form.part(
            "filecontent",
            reqwest::multipart::Part::bytes(bytes).file_name("blob"),
        );
    }
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "http://{}/files/v2/1252000001/minilvb{path}",
            cloud.http_addr()
        ))
        .header("Host", "sh.file.myqcloud.com")
        .header("Authorization", sign)
        .multipart(form)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a COS JSON reply")
}

/// A signed upload declaring `len` bytes whose body then flows at about 4 KB/s (above the listener's
/// minimum pace) until `stop` is set.
fn trickled_signed_upload(
    addr: std::net::SocketAddr,
    sign: String,
    len: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    use std::io::Write;
    std::thread::spawn(move || {
        let Ok(mut s) = std::net::TcpStream::connect(addr) else {
            return;
        };
        let head = format!(
            "POST /files/v2/1252000001/minilvb/slow.bin HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
             Authorization: {sign}\r\nContent-Type: multipart/form-data; boundary=b\r\n\
             Content-Length: {len}\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\n\
             upload\r\n--b\r\nContent-Disposition: form-data; name=\"filecontent\"; filename=\"a\"\r\n\r\n"
        );
        let _ = s.write_all(head.as_bytes());
        let piece = vec![b'z'; 2048];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if s.write_all(&piece).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
}

#[test]
fn slow_signed_uploads_do_not_hold_every_upload_turn() {
    runtime().block_on(async {
        let cloud = cloud().await;
        // A multi-use signature as any app user gets one from the backend (GetCOSSign).
        let sign = healthy_multi_use_sign(cloud.ctx.clock.now(), 78);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let slow: Vec<_> = (0..tcharness::cloud::cos::MAX_BODY_READS + 2)
            .map(|_| {
                trickled_signed_upload(cloud.http_addr(), sign.clone(), 20 << 20, stop.clone())
            })
            .collect();
        // Every slow upload is being buffered (before the budget was of bytes, four held every turn).
        let deadline = tokio::time::Instant::now() + WAIT;
        while cloud.services.cos.buffered_body_bytes() < slow.len() * 2048 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "slow uploads not buffered: {} bytes",
                cloud.services.cos.buffered_body_bytes()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let reply = tokio::time::timeout(
            WAIT,
            cos_signed(
                &cloud,
                "/cover/healthy.jpg",
                &[("op", "upload")],
                Some(b"JPEG".to_vec()),
            ),
        )
        .await
        .expect("a small upload is answered while slow ones are in flight");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in slow {
            let _ = t.join();
        }
        assert_eq!(reply["code"], 0, "{reply}");
        // Their bytes go back to the budget once they are answered.
        let deadline = tokio::time::Instant::now() + WAIT;
        while cloud.services.cos.buffered_body_bytes() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "budget not given back"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[test]
fn a_signed_body_finding_the_buffers_full_is_refused_in_time_and_later_ones_are_served() {
    use tcharness::cloud::cos::{Cos, CosOptions};
    use tcharness::cloud::{CloudContext, Services, Shutdown};
    runtime().block_on(async {
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let rtmp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = http.local_addr().expect("addr");
        let ctx = CloudContext::new(Tenant::healthy(), fast_options());
        let options = CosOptions {
            max_body_bytes: 64 * 1024,
            body_budget_wait: Duration::from_millis(300),
            ..CosOptions::default()
        };
        let cos = Cos::with_options(ctx.clone(), options).expect("cos");
        let services = Services::with_cos(ctx, cos);
        let (_trigger, shutdown) = Shutdown::new();
        tokio::spawn(tcharness::cloud::serve(http, rtmp, services.clone(), shutdown));
        let sign = healthy_multi_use_sign(services.ctx.clock.now(), 79);
        // Four uploads send 60 KiB of their 64 KiB and wait: the budget (4 x 64 KiB) is nearly full.
        let mut held = Vec::new();
        for _ in 0..tcharness::cloud::cos::MAX_BODY_READS {
            use tokio::io::AsyncWriteExt;
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let head = format!(
                "POST /files/v2/1252000001/minilvb/held.bin HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
                 Authorization: {sign}\r\nContent-Type: multipart/form-data; boundary=b\r\n\
                 Content-Length: 65000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"filecontent\"; \
                 filename=\"a\"\r\n\r\n"
            );
            s.write_all(head.as_bytes()).await.expect("head");
            s.write_all(&vec![b'h'; 60 * 1024]).await.expect("body");
            held.push(s);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while services.cos.buffered_body_bytes() < 4 * 60 * 1024 {
            assert!(tokio::time::Instant::now() < deadline, "not buffered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let upload = |path: &'static str| {
            let sign = sign.clone();
            async move {
                let form = reqwest::multipart::Form::new().text("op", "upload").part(
                    "filecontent",
                    reqwest::multipart::Part::bytes(vec![b'n'; 30 * 1024]).file_name("n"),
                );
                let reply: serde_json::Value = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .expect("client")
                    .post(format!("http://{addr}/files/v2/1252000001/minilvb{path}"))
                    .header("Host", "sh.file.myqcloud.com")
                    .header("Authorization", sign)
                    .multipart(form)
                    .send()
                    .await
                    .expect("answered")
                    .json()
                    .await
                    .expect("COS JSON");
                reply
            }
        };
        let started = std::time::Instant::now();
        let refused = tokio::time::timeout(WAIT, upload("/refused.bin"))
            .await
            .expect("refused within the budget wait, not queued forever");
        assert_eq!(refused["code"], -181, "{refused}");
        assert_eq!(refused["message"], "ERROR_CMD_COS_ERROR");
        assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
        drop(held);
        let deadline = tokio::time::Instant::now() + WAIT;
        while services.cos.buffered_body_bytes() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "budget not given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let served = upload("/served.bin").await;
        assert_eq!(served["code"], 0, "{served}");
    });
}

#[test]
fn slice_sessions_refuse_overlaps_and_expire_after_a_day() {
    runtime().block_on(async {
        let cloud = cloud().await;
        let path = "/big.mp4";
        let init = cos_signed(
            &cloud,
            path,
            &[
                ("op", "upload_slice_init"),
                ("filesize", "3000"),
                ("slice_size", "1000"),
            ],
            None,
        )
        .await;
        let session = init["data"]["session"]
            .as_str()
            .expect("a session")
            .to_string();
        let slice = |offset: &'static str, len: usize| {
            let session = session.clone();
            let cloud = &cloud;
            async move {
                let reply = cos_signed(
                    cloud,
                    path,
                    &[
                        ("op", "upload_slice_data"),
                        ("session", &session),
                        ("offset", offset),
                    ],
                    Some(vec![7u8; len]),
                )
                .await;
                reply["code"].as_i64().expect("a code")
            }
        };
        assert_eq!(slice("0", 1000).await, 0);
        // The same slice again is an SDK's retry.
        assert_eq!(slice("0", 1000).await, 0);
        // Overlapping the first slice, or reaching past the declared size.
        assert_eq!(slice("500", 1000).await, -175);
        assert_eq!(slice("0", 1500).await, -175);
        assert_eq!(slice("2500", 1000).await, -175);
        assert_eq!(slice("1000", 1000).await, 0);
        // A day of cloud time later the session is gone.
        cloud.ctx.clock.advance(24 * 3600);
        assert_eq!(slice("2000", 1000).await, -21);
        let finish = cos_signed(
            &cloud,
            path,
            &[
                ("op", "upload_slice_finish"),
                ("session", &session),
                ("filesize", "3000"),
            ],
            None,
        )
        .await;
        assert_eq!(finish["code"], -21, "{finish}");
    });
}

/// Writes `piece` every `pace`, draining whatever the server sends between writes, until the server
/// closes the connection (the time that took) or `limit` passes (None).
async fn trickle_until_closed(
    sock: &mut tokio::net::TcpStream,
    piece: &[u8],
    pace: Duration,
    limit: Duration,
) -> Option<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let started = std::time::Instant::now();
    let mut reply = vec![0u8; 8192];
    while started.elapsed() < limit {
        if sock.write_all(piece).await.is_err() {
            return Some(started.elapsed());
        }
        let next = tokio::time::Instant::now() + pace;
        loop {
            match tokio::time::timeout_at(next, sock.read(&mut reply)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    None
}

/// A cloud whose RTMP idle timeout is 600 ms, and a connection to its ingest.
async fn cloud_with_short_idle() -> (Cloud, tokio::net::TcpStream) {
    let cloud = cloud().await;
    cloud
        .services
        .lvb
        .set_rtmp_idle_timeout(Duration::from_millis(600));
    let sock = tokio::net::TcpStream::connect(cloud.rtmp_addr())
        .await
        .expect("connect");
    (cloud, sock)
}

fn ingest_journaled(cloud: &Cloud, outcome: &str) -> bool {
    cloud
        .ctx
        .journal
        .of(Service::LvbIngest)
        .iter()
        .any(|e| e.outcome == outcome)
}

#[test]
fn a_trickled_handshake_is_closed_at_the_deadline_of_the_whole_handshake() {
    runtime().block_on(async {
        let (cloud, mut sock) = cloud_with_short_idle().await;
        // One byte every 100 ms would take minutes to complete C0+C1; each byte comes well within the
        // idle timeout, so only a deadline for the whole handshake closes the connection.
        let closed = trickle_until_closed(
            &mut sock,
            &[3],
            Duration::from_millis(100),
            Duration::from_secs(10),
        )
        .await;
        assert!(closed.is_some(), "still open after 10 s");
        assert!(ingest_journaled(&cloud, "closed: client stalled"));
    });
}

#[test]
fn a_connection_kept_alive_without_a_push_is_closed_at_the_idle_timeout() {
    runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (cloud, mut sock) = cloud_with_short_idle().await;
        // The plain handshake: C0+C1, S0+S1+S2 back, C2.
        let mut c0c1 = vec![3u8];
        c0c1.extend_from_slice(&[0u8; 1536]);
        sock.write_all(&c0c1).await.expect("C0+C1");
        let mut s0s1s2 = vec![0u8; 1 + 2 * 1536];
        sock.read_exact(&mut s0s1s2).await.expect("S0+S1+S2");
        sock.write_all(&s0s1s2[1..1537]).await.expect("C2");
        // A Set Chunk Size every 200 ms: each message well within the idle timeout, no publish ever.
        let set_chunk_size = [0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0];
        let closed = trickle_until_closed(
            &mut sock,
            &set_chunk_size,
            Duration::from_millis(200),
            Duration::from_secs(10),
        )
        .await;
        let after = closed.expect("still open after 10 s");
        assert!(
            after < Duration::from_secs(3),
            "closed only after {after:?}"
        );
        assert!(ingest_journaled(
            &cloud,
            "closed: no publish within the idle timeout"
        ));
        // A push still gets through.
        let (url, stream) = console_push_url(&cloud, "anchor08");
        let publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
            .await
            .expect("publish");
        assert!(cloud.services.lvb.is_live(&stream));
        publisher.stop().await.expect("stop");
    });
}

#[test]
fn connections_past_the_per_address_cap_are_closed_and_a_push_still_gets_through() {
    runtime().block_on(async {
        use tokio::io::AsyncReadExt;
        let cloud = cloud().await;
        cloud.services.lvb.set_rtmp_connection_caps(100, 3);
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(
                tokio::net::TcpStream::connect(cloud.rtmp_addr())
                    .await
                    .expect("connect"),
            );
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while cloud.services.lvb.rtmp_connections() < 3 && tokio::time::Instant::now() < deadline {
            cloud
                .services
                .lvb
                .rtmp_changed(Duration::from_millis(50))
                .await;
        }
        let mut extra = tokio::net::TcpStream::connect(cloud.rtmp_addr())
            .await
            .expect("connect");
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(WAIT, extra.read(&mut buf))
            .await
            .expect("closed at once");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        assert!(
            cloud
                .ctx
                .journal
                .of(Service::LvbIngest)
                .iter()
                .any(|e| e.outcome.starts_with("refused: too many connections"))
        );
        drop(held);
        let (url, stream) = console_push_url(&cloud, "anchor08");
        let mut publisher = None;
        for _ in 0..50 {
            // The held connections end as their tasks see the close; retry until a slot is free.
            if let Ok(p) = Publisher::publish(cloud.rtmp_addr(), &url, WAIT).await {
                publisher = Some(p);
                break;
            }
            cloud
                .services
                .lvb
                .rtmp_changed(Duration::from_millis(100))
                .await;
        }
        let publisher = publisher.expect("a push once the idle connections are gone");
        assert!(cloud.services.lvb.is_live(&stream));
        publisher.stop().await.expect("stop");
    });
}
