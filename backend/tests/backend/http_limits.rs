//! The listener of `minilvb serve` over real loopback sockets: partial heads are closed at the header
//! timeout and idle connections cannot exhaust a small file descriptor limit. No database is needed:
//! `/` answers a redirect without one.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

struct Serving {
    child: Child,
    addr: SocketAddr,
    _root: tempfile::TempDir,
}

impl Serving {
    /// What the server wrote on stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self._root.path().join("stderr.txt")).unwrap_or_default()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `minilvb serve` with the soft and hard fd limit set to `fds` before exec.
fn serve(fds: u64, extra: &[&str]) -> Serving {
    serve_in(fds, extra, false)
}

/// [`serve`], with a `log/` directory (the file logs on) when `log_dir`.
fn serve_in(fds: u64, extra: &[&str], log_dir: bool) -> Serving {
    let root = tempfile::tempdir().unwrap();
    write_root(
        root.path(),
        &outdefine(),
        &route_ini(9, "unused", "x", "http://127.0.0.1:9/common_access"),
        log_dir,
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minilvb"));
    cmd.args(["serve", "--root"])
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(root.path().join("stderr.txt")).unwrap());
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
    let mut child = cmd.spawn().expect("spawn minilvb serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("minilvb listening on http://")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse()
        .unwrap();
    Serving {
        child,
        addr,
        _root: root,
    }
}

fn status_line(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).expect("an answer");
    line
}

#[test]
fn a_partial_head_is_closed_at_the_header_timeout() {
    let srv = serve(1024, &["--header-timeout", "0.8"]);
    let mut s = TcpStream::connect(srv.addr).unwrap();
    let started = Instant::now();
    s.write_all(b"POST /interface.php HTTP/1.1\r\nHost: backend\r\nX-Slow")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    // The server may answer 408 before closing; either way the close must come at the deadline.
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed within 10 s: {e}"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
}

#[test]
fn two_thousand_idle_connections_under_a_256_fd_limit_do_not_block_a_request() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain rlimit calls on a struct we own; this process holds the 2,000 client ends.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < 4096 && lim.rlim_max >= 4096 {
            lim.rlim_cur = 4096;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
    assert!(lim.rlim_cur >= 2100, "the test needs 2,100 fds");
    let srv = serve(256, &[]);
    let mut idle = Vec::with_capacity(2000);
    for i in 0..2000 {
        match TcpStream::connect(srv.addr) {
            Ok(s) => idle.push(s),
            Err(e) => panic!("connection {i}: {e}"),
        }
    }
    for s in idle.iter_mut().step_by(2) {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: back");
    }
    let started = Instant::now();
    let line = status_line(srv.addr);
    assert!(line.starts_with("HTTP/1.1 302"), "{line}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
}

/// Writes `head`, then `pieces` one every `gap`; what arrives until the server closes, and when.
fn paced(addr: SocketAddr, head: &str, pieces: Vec<Vec<u8>>, gap: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut reader = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for piece in pieces {
            std::thread::sleep(gap);
            if s.write_all(&piece).is_err() {
                return;
            }
        }
    });
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed within 10 s: {e}"),
        }
    }
    let took = started.elapsed();
    let _ = writer.join();
    (String::from_utf8_lossy(&got).into_owned(), took)
}

#[test]
fn a_body_withheld_or_trickled_is_answered_4001_at_the_body_deadline() {
    let srv = serve(1024, &["--body-timeout", "0.8", "--idle-timeout", "30"]);
    // `Expect: 100-continue`, then nothing.
    let (withheld, withheld_took) = paced(
        srv.addr,
        "POST /interface.php HTTP/1.1\r\nHost: backend\r\nExpect: 100-continue\r\n\
         Content-Length: 300\r\n\r\n",
        vec![],
        Duration::ZERO,
    );
    // Ten bytes a second of a callback body.
    let (trickled, trickled_took) = paced(
        srv.addr,
        "POST /callback/Live_callback.php HTTP/1.1\r\nHost: backend\r\nContent-Length: 300\r\n\r\n",
        vec![b"{".to_vec(); 60],
        Duration::from_millis(100),
    );
    assert!(withheld.starts_with("HTTP/1.1 100 Continue"), "{withheld}");
    assert!(withheld.contains("\"returnValue\":4001"), "{withheld}");
    assert!(withheld.contains("too slow"), "{withheld}");
    assert!(trickled.contains("{\"code\":"), "{trickled}");
    for took in [withheld_took, trickled_took] {
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(5),
            "closed after {took:?}"
        );
    }
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
}

#[test]
fn every_request_gets_a_log_line_on_stderr() {
    let srv = serve(1024, &[]);
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
    // The line is written before the answer is sent.
    let log = srv.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("minilvb::http"))
        .unwrap_or_else(|| panic!("no request line in {log:?}"));
    assert!(line.contains("127.0.0.1:"), "{line}");
    assert!(line.contains(" GET / 302 "), "{line}");
    assert!(line.trim_end().ends_with("ms"), "{line}");
}

#[test]
fn a_megabyte_body_puts_a_bounded_excerpt_in_the_file_logs() {
    let srv = serve_in(1024, &[], true);
    let body = "x".repeat(1024 * 1024 - 1);
    let (reply, _) = paced(
        srv.addr,
        &format!(
            "POST /interface.php HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        vec![],
        Duration::ZERO,
    );
    assert!(reply.contains("\"returnValue\":4001"), "{reply}");
    let log_dir = srv._root.path().join("log");
    let mut total = 0;
    let mut excerpt = false;
    for entry in std::fs::read_dir(&log_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        total += text.len();
        excerpt |= text.contains(&format!("...({} more bytes)", body.len() - 4096));
    }
    assert!(excerpt, "the request line names what it left out");
    assert!(total < 64 * 1024, "{total} bytes of logs for one request");
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
}

/// An HTTP/2 GET of `/interface.php` (answered 4001 with a body) from a client whose receive window
/// is zero: the body of the answer can never be sent.
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
    out.extend(frame(4, 0, 0, &[0, 4, 0, 0, 0, 0]));
    // HPACK: :method GET, :scheme http, :path and :authority as literals with indexed names.
    let mut block = vec![0x82, 0x86, 0x04, 14];
    block.extend_from_slice(b"/interface.php");
    block.extend_from_slice(&[0x01, 1, b'b']);
    out.extend(frame(1, 0x05, 1, &block));
    out.extend(frame(4, 0x01, 0, &[]));
    s.write_all(&out).unwrap();
    s
}

#[test]
fn a_response_the_peer_never_takes_is_closed_at_the_idle_deadline() {
    let srv = serve(1024, &["--idle-timeout", "0.7", "--header-timeout", "30"]);
    let started = Instant::now();
    let mut s = h2_zero_window_request(srv.addr);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("not closed within 10 s: {e}"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    assert!(status_line(srv.addr).starts_with("HTTP/1.1 302"));
}
