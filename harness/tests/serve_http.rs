//! The HTTP listener of `serve` over real loopback sockets: slow or silent clients are closed at their
//! deadline, and idle connections cannot exhaust a small file descriptor limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tcharness::cloud::http::HttpLimits;
use tcharness::cloud::{CloudContext, CloudOptions, Services, Shutdown, ShutdownTrigger, Tenant};

/// A cloud on loopback with the given HTTP limits; returns the HTTP address.
async fn cloud_with(limits: HttpLimits) -> (SocketAddr, ShutdownTrigger) {
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rtmp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let ctx = CloudContext::new(Tenant::healthy(), CloudOptions::default());
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(tcharness::cloud::serve_with_limits(
        http,
        rtmp,
        Services::new(ctx),
        shutdown,
        limits,
    ));
    (addr, trigger)
}

/// Reads until the peer closes; returns what arrived and when the close came.
fn read_to_close(mut s: TcpStream, bound: Duration) -> (Vec<u8>, Instant) {
    s.set_read_timeout(Some(bound)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, Instant::now()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (got, Instant::now());
            }
            Err(e) => panic!("the server did not close the connection within {bound:?}: {e}"),
        }
    }
}

/// One request on a fresh connection; the status line of the answer.
/// The server closed the connection once its `deadline` had passed, and not long after.
fn assert_closed_at_the_deadline(took: Duration, deadline: Duration) {
    assert!(
        took >= deadline && took < Duration::from_secs(5),
        "closed after {took:?} (deadline {deadline:?})"
    );
}

fn status_line(addr: SocketAddr, host: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("an answer");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_headers_are_closed_at_the_header_timeout() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_millis(800),
        idle_timeout: Duration::from_secs(60),
        max_connections: 64,
        ..HttpLimits::default()
    };
    let (addr, _trigger) = cloud_with(limits).await;
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    // Trickle a head that never ends: each write is traffic, so only the header deadline can close it.
    let trickle = std::thread::spawn(move || {
        s.write_all(b"GET /common_access HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .unwrap();
        let reader = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            for _ in 0..100 {
                if s.write_all(b"X-Slow: 1\r\n").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let out = read_to_close(reader, Duration::from_secs(10));
        let _ = writer.join();
        out
    });
    let (_, closed_at) = tokio::task::spawn_blocking(move || trickle.join().unwrap())
        .await
        .unwrap();
    let took = closed_at - started;
    assert_closed_at_the_deadline(took, Duration::from_millis(700));
    let addr2 = addr;
    let line = tokio::task::spawn_blocking(move || status_line(addr2, "example.com", "/"))
        .await
        .unwrap();
    assert!(line.starts_with("HTTP/1.1 404"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_at_the_idle_deadline() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(700),
        max_connections: 64,
        ..HttpLimits::default()
    };
    let (addr, _trigger) = cloud_with(limits).await;
    let out = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        // Not even the HTTP/2 preface: hyper's header timer has not started for this one.
        let silent = TcpStream::connect(addr).unwrap();
        let (got, at) = read_to_close(silent, Duration::from_secs(10));
        // A keep-alive connection after one answered request, then quiet.
        let mut kept = TcpStream::connect(addr).unwrap();
        write!(kept, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap();
        let kept_started = Instant::now();
        let (answer, kept_at) = read_to_close(kept, Duration::from_secs(10));
        (got, at - started, answer, kept_at - kept_started)
    })
    .await
    .unwrap();
    let (got, silent_took, answer, kept_took) = out;
    assert!(got.is_empty());
    assert_closed_at_the_deadline(silent_took, Duration::from_millis(600));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert_closed_at_the_deadline(kept_took, Duration::from_millis(600));
}

/// Writes `head`, then `pieces` one every `gap`, and reads the answer until the server closes.
fn paced_request(
    addr: SocketAddr,
    head: &str,
    pieces: Vec<Vec<u8>>,
    gap: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let reader = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for piece in pieces {
            std::thread::sleep(gap);
            if s.write_all(&piece).is_err() {
                return;
            }
        }
    });
    let (got, at) = read_to_close(reader, Duration::from_secs(10));
    let _ = writer.join();
    (String::from_utf8_lossy(&got).into_owned(), at - started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_withheld_or_trickled_is_cut_at_the_body_deadline_in_the_services_shape() {
    let limits = HttpLimits {
        // Only the body deadline can close these connections.
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_connections: 64,
        body_read_timeout: Duration::from_millis(800),
        min_body_rate: 1024,
    };
    let (addr, _trigger) = cloud_with(limits).await;
    let out = tokio::task::spawn_blocking(move || {
        // `Expect: 100-continue`, then the body never comes.
        let withheld = paced_request(
            addr,
            "POST /v1/login?identifier=a&usersig=b&sdkappid=1400012345 HTTP/1.1\r\n\
             Host: openim.tim.qq.com\r\nExpect: 100-continue\r\nContent-Length: 200\r\n\r\n",
            vec![],
            Duration::ZERO,
        );
        // An unsigned COS upload whose file part trickles at 10 bytes a second.
        let trickled = paced_request(
            addr,
            "POST /files/v2/1252000001/minilvb/cover/a.jpg HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
             Authorization: bogus\r\nContent-Type: multipart/form-data; boundary=b\r\n\
             Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"filecontent\"; \
             filename=\"a.jpg\"\r\n\r\n",
            vec![b"J".to_vec(); 100],
            Duration::from_millis(100),
        );
        // A body at 3 KB/s takes longer than one period and is read whole.
        let steady_body = format!("{{\"pad\":\"{}\"}}", "x".repeat(6000));
        let steady = paced_request(
            addr,
            &format!(
                "POST /v1/login?identifier=a&usersig=b&sdkappid=1400012345 HTTP/1.1\r\n\
                 Host: openim.tim.qq.com\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                steady_body.len()
            ),
            steady_body
                .as_bytes()
                .chunks(600)
                .map(<[u8]>::to_vec)
                .collect(),
            Duration::from_millis(200),
        );
        let healthy = status_line(addr, "x", "/_tcharness/health");
        (withheld, trickled, steady, healthy)
    })
    .await
    .unwrap();
    let ((withheld, withheld_took), (trickled, trickled_took), (steady, steady_took), healthy) =
        out;
    assert!(withheld.starts_with("HTTP/1.1 100 Continue"), "{withheld}");
    assert!(
        withheld.contains("\"ErrorCode\""),
        "IM's own shape: {withheld}"
    );
    for took in [withheld_took, trickled_took] {
        assert_closed_at_the_deadline(took, Duration::from_millis(700));
    }
    assert!(
        trickled.contains("\"code\":-"),
        "COS's own shape: {trickled}"
    );
    assert!(trickled.contains("ERROR_PROXY"), "{trickled}");
    assert!(steady_took >= Duration::from_secs(1), "{steady_took:?}");
    assert!(steady.contains("\"ErrorCode\""), "{steady}");
    assert!(
        !steady.contains("not a JSON object"),
        "a steady body is read whole: {steady}"
    );
    assert!(healthy.starts_with("HTTP/1.1 200"), "{healthy}");
}

/// An HTTP/2 connection whose client sets its receive window to zero, then asks for the health page:
/// the answer can never be sent, so the request stays in flight.
fn h2_zero_window_request(addr: SocketAddr) -> TcpStream {
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_be_bytes();
        let mut f = vec![len[1], len[2], len[3], kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }
    let mut s = TcpStream::connect(addr).unwrap();
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    // SETTINGS_INITIAL_WINDOW_SIZE = 0.
    out.extend(frame(4, 0, 0, &[0, 4, 0, 0, 0, 0]));
    // HPACK: :method GET, :scheme http, :path and :authority as literals with indexed names.
    let mut block = vec![0x82, 0x86, 0x04, 18];
    block.extend_from_slice(b"/_tcharness/health");
    block.extend_from_slice(&[0x01, 1, b'x']);
    out.extend(frame(1, 0x05, 1, &block));
    // The server's SETTINGS, acknowledged without reading them.
    out.extend(frame(4, 0x01, 0, &[]));
    s.write_all(&out).unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_the_peer_never_takes_is_closed_at_the_idle_deadline() {
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(700),
        max_connections: 64,
        ..HttpLimits::default()
    };
    let (addr, _trigger) = cloud_with(limits).await;
    let took = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let stalled = h2_zero_window_request(addr);
        let (_, at) = read_to_close(stalled, Duration::from_secs(10));
        at - started
    })
    .await
    .unwrap();
    assert_closed_at_the_deadline(took, Duration::from_millis(600));
    let line = tokio::task::spawn_blocking(move || status_line(addr, "x", "/_tcharness/health"))
        .await
        .unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_a_stalled_request_makes_room_for_a_new_client() {
    let limits = HttpLimits {
        // The stall rule of the idle deadline does not fire during this test; only eviction can help.
        header_read_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_secs(60),
        max_connections: 16,
        ..HttpLimits::default()
    };
    assert_eq!(
        limits.effective_max_connections(),
        16,
        "the test needs 32 fds"
    );
    let (addr, _trigger) = cloud_with(limits).await;
    let line = tokio::task::spawn_blocking(move || {
        let stalled: Vec<TcpStream> = (0..16).map(|_| h2_zero_window_request(addr)).collect();
        // Quiet for longer than a header timeout: only now do they count as stalled.
        std::thread::sleep(Duration::from_millis(600));
        let line = status_line(addr, "x", "/_tcharness/health");
        drop(stalled);
        line
    })
    .await
    .unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tcharness serve` with the soft and hard fd limit set to `fds` in the child before exec.
fn serve_with_fd_limit(fds: u64, extra: &[&str]) -> (Serve, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcharness"));
    cmd.arg("serve")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: fds,
                rlim_max: fds,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = Serve(cmd.spawn().expect("spawn tcharness serve"));
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let banner = serde_json::from_str(&line).expect("the banner");
    (child, banner)
}

#[test]
fn two_thousand_idle_connections_under_a_256_fd_limit_do_not_block_a_request() {
    // This process holds the client ends; it needs more than 2,000 fds itself.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain rlimit calls on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < 4096 && lim.rlim_max >= 4096 {
            lim.rlim_cur = 4096;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
    assert!(
        lim.rlim_cur >= 2100,
        "the test needs 2,100 fds for its client ends"
    );
    let (serve, banner) = serve_with_fd_limit(256, &[]);
    let addr: SocketAddr = banner["http"].as_str().unwrap().parse().unwrap();
    let mut idle = Vec::with_capacity(2000);
    for i in 0..2000 {
        match TcpStream::connect(addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {i}: {e}"),
        }
    }
    // Half of them send a partial head, as a slowloris client would.
    for s in idle.iter_mut().step_by(2) {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: exa");
    }
    let started = Instant::now();
    let line = status_line(addr, "example.com", "/");
    assert!(line.starts_with("HTTP/1.1 404"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // Still serving: the process survived the fd pressure.
    let line = status_line(addr, "example.com", "/again");
    assert!(line.starts_with("HTTP/1.1 404"), "{line}");
    drop(idle);
    drop(serve);
}

/// Lines of a child's stderr, read on a thread so a test can wait for one with a bound.
struct Lines(std::sync::mpsc::Receiver<String>, Vec<String>);

impl Lines {
    fn new(r: impl Read + Send + 'static) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines(rx, Vec::new())
    }

    /// Waits for a line containing every one of `parts`; all lines seen are kept in `.1`.
    fn wait_for(&mut self, parts: &[&str], bound: Duration) -> Option<String> {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.0.recv_timeout(left).ok()?;
            self.1.push(line.clone());
            if parts.iter().all(|p| line.contains(p)) {
                return Some(line);
            }
        }
    }
}

#[test]
fn requests_and_every_callback_attempt_are_logged_and_sigterm_ends_serve() {
    // The backend's port is closed: every callback attempt is refused, then serve gives up.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = dead.local_addr().unwrap().to_string();
    drop(dead);
    let mut child = Serve(
        Command::new(env!("CARGO_BIN_EXE_tcharness"))
            .args([
                "serve",
                "--backend",
                &backend,
                "--callback-retry-secs",
                "0.2",
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcharness serve"),
    );
    let mut banner = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&banner).expect("the banner");
    let mut lines = Lines::new(child.0.stderr.take().unwrap());
    let http: SocketAddr = banner["http"].as_str().unwrap().parse().unwrap();
    let rtmp: SocketAddr = banner["rtmp"].as_str().unwrap().parse().unwrap();

    assert!(status_line(http, "example.com", "/logged-path").starts_with("HTTP/1.1 404"));
    assert!(
        lines
            .wait_for(
                &["GET", "example.com/logged-path", "404"],
                Duration::from_secs(10)
            )
            .is_some(),
        "no request line in {:?}",
        lines.1
    );

    let bizid = banner["lvb"]["bizid"].as_u64().unwrap();
    let key = banner["lvb"]["push_key"].as_str().unwrap();
    let stream = format!("{bizid}_logged");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tx_time = format!("{:X}", now + 3600);
    let secret = tcharness::cloud::lvb::hotlink::tx_secret(key, &stream, &tx_time);
    let url = format!(
        "rtmp://{bizid}.livepush.myqcloud.com/live/{stream}?txSecret={secret}&txTime={tx_time}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = tcharness::cloud::lvb::publisher::Publisher::publish(
            rtmp,
            &url,
            Duration::from_secs(10),
        )
        .await
        .expect("push accepted");
        p.stop().await.expect("stop");
    });
    for n in 1..=4 {
        let attempt = format!("attempt {n}/4");
        assert!(
            lines
                .wait_for(&["WARN", &stream, &attempt], Duration::from_secs(20))
                .is_some(),
            "no line for {attempt} in {:?}",
            lines.1
        );
    }
    assert!(
        lines
            .wait_for(
                &["ERROR", &stream, "gave up after 4 attempts"],
                Duration::from_secs(20)
            )
            .is_some(),
        "no give-up line in {:?}",
        lines.1
    );

    // SAFETY: a signal to the child this test spawned.
    assert_eq!(
        unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let status = child.0.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    assert!(
        lines
            .wait_for(&["shutting down"], Duration::from_secs(5))
            .is_some(),
        "{:?}",
        lines.1
    );
}

#[test]
fn bare_ports_mean_loopback_and_the_hosts_lines_and_dns_point_at_the_listeners() {
    let mut child = Serve(
        Command::new(env!("CARGO_BIN_EXE_tcharness"))
            .args(["serve", "--http", ":0", "--rtmp", ":0", "--dns", ":0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tcharness serve"),
    );
    let mut banner = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&banner).expect("the banner");
    assert!(banner["http"].as_str().unwrap().starts_with("127.0.0.1:"));
    let hosts = banner["hosts"][0].as_str().unwrap();
    for name in [
        "8888.livepush.myqcloud.com",
        "8888.livepush2.myqcloud.com",
        "sh.file.myqcloud.com",
        "fcgi.video.qcloud.com",
        "openim.tim.qq.com",
    ] {
        assert!(hosts.split(' ').any(|n| n == name), "{name} not in {hosts}");
    }
    assert!(hosts.starts_with("127.0.0.1 "));
    let dns: SocketAddr = banner["dns"].as_str().unwrap().parse().unwrap();
    let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut q = vec![0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["8888", "livepush2", "myqcloud", "com"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    client.send_to(&q, dns).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = client.recv_from(&mut buf).expect("a DNS answer");
    assert_eq!(&buf[..2], &[0xab, 0xcd]);
    assert_eq!(&buf[n - 4..n], &[127, 0, 0, 1]);
}
