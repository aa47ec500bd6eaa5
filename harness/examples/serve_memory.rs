//! Memory and fd figures of `tcharness serve` under hostile load, for docs/benchmarks.md. Not a test:
//! it prints numbers. Usage: `cargo run --release --example serve_memory -- PATH_TO_TCHARNESS`.
//!
//! 1. 100,000 COS uploads with a bogus `Authorization` over 16 keep-alive connections (each is
//!    refused and journaled): RSS before, after, and the peak (VmHWM).
//! 2. 30 parallel unauthenticated uploads announcing 30 MiB bodies, each client sending the whole
//!    body as fast as the server takes it: RSS after and the peak.
//! 3. 2,000 idle connections (half with a partial head) against a `serve` with a 256-fd limit, then
//!    one healthy request: answered or not, and how long it took.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &str, fds: Option<u64>) -> (Serve, SocketAddr) {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(fds) = fds {
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
    }
    let mut child = Serve(cmd.spawn().expect("spawn serve"));
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("banner");
    let banner: serde_json::Value = serde_json::from_str(&line).expect("banner JSON");
    let addr = banner["http"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("http address");
    (child, addr)
}

/// (VmRSS, VmHWM) in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Reads one HTTP/1.1 response with a Content-Length body; its status code.
fn read_response(r: &mut BufReader<TcpStream>) -> Option<u16> {
    let mut status = String::new();
    r.read_line(&mut status).ok()?;
    let code = status.split_whitespace().nth(1)?.parse().ok()?;
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(code)
}

fn rejected_requests(addr: SocketAddr, total: usize, conns: usize) -> usize {
    let per = total / conns;
    let threads: Vec<_> = (0..conns)
        .map(|c| {
            std::thread::spawn(move || {
                let mut refused = 0;
                let mut s = TcpStream::connect(addr).expect("connect");
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                for i in 0..per {
                    let body = "op=upload";
                    let req = format!(
                        "POST /files/v2/1252000001/minilvb/c{c}/x{i}.jpg HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
                         Authorization: bogus{i}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                         Content-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(req.as_bytes()).is_err() {
                        break;
                    }
                    match read_response(&mut r) {
                        Some(code) if (400..500).contains(&code) => refused += 1,
                        Some(_) => {}
                        None => break,
                    }
                }
                refused
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap_or(0)).sum()
}

fn big_uploads(addr: SocketAddr, n: usize, mib: usize) -> usize {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            std::thread::spawn(move || {
                let Ok(mut s) = TcpStream::connect(addr) else {
                    return false;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let head = format!(
                    "POST /files/v2/1252000001/minilvb/big{i}.jpg HTTP/1.1\r\nHost: sh.file.myqcloud.com\r\n\
                     Authorization: bogus\r\nContent-Type: multipart/form-data; boundary=b\r\n\
                     Content-Length: {}\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nupload\r\n\
                     --b\r\nContent-Disposition: form-data; name=\"filecontent\"; filename=\"a.jpg\"\r\n\r\n",
                    mib * 1024 * 1024
                );
                if s.write_all(head.as_bytes()).is_err() {
                    return false;
                }
                let chunk = vec![0x5au8; 64 * 1024];
                let mut sent = 0;
                while sent < mib * 1024 * 1024 {
                    // The server may answer and close before the body is through: that is the point.
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                    sent += chunk.len();
                }
                let mut reply = [0u8; 512];
                let n = s.read(&mut reply).unwrap_or(0);
                String::from_utf8_lossy(&reply[..n]).contains("HTTP/1.1 4")
            })
        })
        .collect();
    threads
        .into_iter()
        .filter_map(|t| t.join().ok())
        .filter(|refused| *refused)
        .count()
}

fn healthy(addr: SocketAddr) -> Option<(u16, Duration)> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(b"GET /_tcharness/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let code = read_response(&mut BufReader::new(s))?;
    Some((code, started.elapsed()))
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: serve_memory PATH_TO_TCHARNESS");
    // This process holds the 2,000 client ends of step 3.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain rlimit calls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < 4096 {
            lim.rlim_cur = lim.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }

    let (serve, addr) = spawn(&bin, None);
    let pid = serve.0.id();
    let (before, _) = rss(pid);
    let started = Instant::now();
    let refused = rejected_requests(addr, 100_000, 16);
    let took = started.elapsed();
    let (after, peak) = rss(pid);
    println!(
        "100k rejected requests: {refused} refused in {:.1} s; RSS {before:.1} -> {after:.1} MiB (+{:.1}), peak {peak:.1} MiB",
        took.as_secs_f64(),
        after - before
    );
    let started = Instant::now();
    let refused = big_uploads(addr, 30, 30);
    let (after2, peak2) = rss(pid);
    println!(
        "30 parallel 30 MiB unauthenticated uploads: {refused}/30 refused in {:.1} s; RSS {after:.1} -> {after2:.1} MiB, peak {peak2:.1} MiB",
        started.elapsed().as_secs_f64()
    );
    drop(serve);

    let (serve, addr) = spawn(&bin, Some(256));
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        match TcpStream::connect(addr) {
            Ok(s) => idle.push(s),
            Err(e) => {
                println!("connect failed after {} connections: {e}", idle.len());
                break;
            }
        }
    }
    for s in idle.iter_mut().step_by(2) {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: exa");
    }
    match healthy(addr) {
        Some((code, t)) => println!(
            "2,000 idle connections under a 256-fd limit: healthy request answered {code} in {} ms; RSS {:.1} MiB",
            t.as_millis(),
            rss(serve.0.id()).0
        ),
        None => {
            println!("2,000 idle connections under a 256-fd limit: healthy request NOT answered")
        }
    }
}
