//! Ingest benchmark (ignored by default; run in release):
//!
//! `cargo test --release -p harness --test lvb_bench -- --ignored --nocapture --test-threads 1`
//!
//! - `load_vs_nginx_rtmp`: N publishers (default 200, `LVB_BENCH_PUBLISHERS`) at 1 Mbit/s each (25 frames/s
//!   of 5000 bytes) for `LVB_BENCH_SECS` (default 10) against the ingest, then the same load against nginx
//!   with the RTMP module. Each server runs in its own process, so its CPU and RSS are its own; the load
//!   generator (this process) is not counted.
//! - `single_publisher_throughput`: one unpaced publisher, MB/s through the ingest (in process).
//! - `concurrent_ffmpeg_pushes`: N ffmpeg processes (default 50, `LVB_BENCH_FFMPEG`) stream-copy a 4 s FLV at
//!   once; all must be accepted, end with errcode 1 and be recorded.
//!
//! The publisher here chunks differently from ffmpeg; `scripts/bench-ingest.sh` measures the CPU with N
//! real ffmpeg pushers against nginx-rtmp `record all` instead.

mod lvb_support;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvb_support::*;
use tcharness::cloud::lvb::publisher::{Publisher, synthetic_frame};
use tcharness::cloud::{Cloud, Service, Tenant};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// utime + stime of a process, in seconds (USER_HZ is 100 on Linux).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat; index 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Started by `load_vs_nginx_rtmp` in a child process: serves the cloud, prints its RTMP address and
/// push key, and runs until stdin closes.
#[tokio::test]
#[ignore]
async fn bench_ingest_server() {
    if std::env::var("LVB_BENCH_SERVER").is_err() {
        return;
    }
    let mut tenant = Tenant::healthy();
    tenant.lvb.callback_url = String::new();
    let cloud = Cloud::start(tenant, fast_options()).await.expect("cloud");
    println!(
        "RTMP {} {}",
        cloud.rtmp_addr(),
        cloud.ctx.tenant().lvb.push_key
    );
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    let accepted = cloud
        .ctx
        .journal
        .of(Service::LvbIngest)
        .iter()
        .filter(|e| e.outcome == "accepted")
        .count();
    eprintln!("server: {accepted} pushes accepted");
}

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    push_key: String,
}

fn start_ingest_process() -> ServerProcess {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--ignored", "--exact", "bench_ingest_server", "--nocapture"])
        .env("LVB_BENCH_SERVER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("RTMP "))
        .expect("server prints its address");
    // Keep reading the child's output so its test harness can print its result lines.
    std::thread::spawn(move || lines.for_each(drop));
    let mut parts = line.split_whitespace().skip(1);
    let addr = parts.next().expect("addr").parse().expect("socket addr");
    let push_key = parts.next().expect("push key").to_string();
    ServerProcess {
        child,
        addr,
        push_key,
    }
}

fn start_nginx(dir: &std::path::Path, record: bool) -> (Child, SocketAddr) {
    let port = closed_port();
    let record = if record {
        format!("record all; record_path {};", dir.display())
    } else {
        String::new()
    };
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {dir}/error.log;\npid {dir}/nginx.pid;\n\
         load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n\
         events {{ worker_connections 4096; }}\n\
         rtmp {{ server {{ listen 127.0.0.1:{port}; chunk_size 4096; application live {{ live on; {record} }} }} }}\n",
        dir = dir.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let mut child = Command::new("nginx")
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .spawn()
        .expect("nginx runs");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return (child, addr);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("nginx did not listen");
}

struct LoadResult {
    connected: usize,
    failed: usize,
    sent_bytes: u64,
    cpu: f64,
    wall: f64,
    rss_before: f64,
    rss_after: f64,
}

/// Connects `n` publishers, then measures the server `pid` while they push at 1 Mbit/s for `secs`.
async fn run_load(
    pid: u32,
    addr: SocketAddr,
    url_for: impl Fn(usize) -> String,
    n: usize,
    secs: u64,
) -> LoadResult {
    let rss_before = rss_mib(pid);
    let mut publishers = Vec::new();
    let mut failed = 0;
    for i in 0..n {
        match Publisher::publish(addr, &url_for(i), Duration::from_secs(10)).await {
            Ok(p) => publishers.push(p),
            Err(_) => failed += 1,
        }
    }
    let connected = publishers.len();
    let cpu0 = cpu_secs(pid);
    let started = Instant::now();
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (i, mut p) in publishers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let _ = p.send_video(0, synthetic_frame(true, true, 40)).await;
            let mut tick = tokio::time::interval(Duration::from_millis(40));
            // Spread the publishers over the frame interval.
            tokio::time::sleep(Duration::from_micros((i as u64 * 40_000) / 200 % 40_000)).await;
            let mut ts = 0u32;
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                ts += 40;
                if p.send_video(ts, synthetic_frame(false, ts.is_multiple_of(1000), 5000))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            let sent = p.sent_bytes;
            let _ = p.stop().await;
            sent
        }));
    }
    let mut sent_bytes = 0;
    let mut rss_after = 0.0f64;
    // Sample RSS at the end of the steady state, before the publishers stop.
    tokio::time::sleep(Duration::from_secs(secs).saturating_sub(Duration::from_millis(300))).await;
    rss_after = rss_after.max(rss_mib(pid));
    let cpu = cpu_secs(pid) - cpu0;
    let wall = started.elapsed().as_secs_f64();
    for t in tasks {
        sent_bytes += t.await.unwrap_or(0);
    }
    LoadResult {
        connected,
        failed,
        sent_bytes,
        cpu,
        wall,
        rss_before,
        rss_after,
    }
}

fn report(name: &str, n: usize, r: &LoadResult) -> String {
    format!(
        "| {name} | {n} | {} ok / {} failed | {:.1} Mbit/s | {:.1}% of one core | {:.2} ms/s | {:.0} → {:.0} MiB |",
        r.connected,
        r.failed,
        r.sent_bytes as f64 * 8.0 / r.wall / 1e6,
        r.cpu / r.wall * 100.0,
        r.cpu / r.wall * 1000.0 / r.connected.max(1) as f64,
        r.rss_before,
        r.rss_after
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn load_vs_nginx_rtmp() {
    let n = env_num("LVB_BENCH_PUBLISHERS", 200) as usize;
    let secs = env_num("LVB_BENCH_SECS", 10);

    let mut ingest = start_ingest_process();
    let pid = ingest.child.id();
    let key = ingest.push_key.clone();
    let tx_time = format!("{:X}", chrono::Utc::now().timestamp() + 3600);
    let url_for = |i: usize| {
        let stream = format!("8888_bench{i}");
        let secret = tcharness::cloud::lvb::hotlink::tx_secret(&key, &stream, &tx_time);
        format!(
            "rtmp://8888.livepush.myqcloud.com/live/{stream}?txSecret={secret}&txTime={tx_time}"
        )
    };
    let ours = run_load(pid, ingest.addr, url_for, n, secs).await;
    drop(ingest.child.stdin.take());
    let _ = ingest.child.wait();

    let mut nginx_runs = Vec::new();
    for record in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut nginx, addr) = start_nginx(dir.path(), record);
        let result = run_load(
            nginx.id(),
            addr,
            |i| format!("rtmp://127.0.0.1:{}/live/bench{i}", addr.port()),
            n,
            secs,
        )
        .await;
        let _ = nginx.kill();
        let _ = nginx.wait();
        nginx_runs.push(result);
    }
    let (theirs, theirs_recording) = (&nginx_runs[0], &nginx_runs[1]);
    println!(
        "| server | publishers | pushes | offered load | CPU | CPU per stream | RSS (idle → loaded) |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "{}",
        report("emulated LVB ingest (records to disk)", n, &ours)
    );
    println!(
        "{}",
        report("nginx 1.22 + nginx-rtmp 1.2.2 (live only)", n, theirs)
    );
    println!(
        "{}",
        report(
            "nginx 1.22 + nginx-rtmp 1.2.2 (record all)",
            n,
            theirs_recording
        )
    );
    let ratio = |other: &LoadResult| (ours.cpu / ours.wall) / (other.cpu / other.wall).max(1e-9);
    println!(
        "CPU ratio ingest / nginx-rtmp: {:.2} (live only), {:.2} (recording)",
        ratio(theirs),
        ratio(theirs_recording)
    );
    assert_eq!(ours.connected, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn single_publisher_throughput() {
    let mut tenant = Tenant::healthy();
    tenant.lvb.callback_url = String::new();
    let cloud = Cloud::start(tenant, fast_options()).await.expect("cloud");
    let (url, stream) = console_push_url(&cloud, "throughput");
    let mut p = Publisher::publish(cloud.rtmp_addr(), &url, Duration::from_secs(5))
        .await
        .expect("push");
    let started = Instant::now();
    let mut ts = 0;
    while started.elapsed() < Duration::from_secs(3) {
        p.send_synthetic(ts, 100, 64 * 1024).await.expect("send");
        ts += 4000;
    }
    let sent = p.sent_bytes;
    p.stop().await.expect("stop");
    assert!(
        cloud
            .services
            .lvb
            .wait_stream_ended(&stream, Duration::from_secs(30))
            .await
    );
    let wall = started.elapsed().as_secs_f64();
    // The recording is registered once its file is closed, a moment after the stream ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut recordings = cloud.services.lvb.recordings();
    while recordings.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        recordings = cloud.services.lvb.recordings();
    }
    let rec = recordings.first().expect("the push was recorded");
    println!(
        "single publisher, 64 KiB frames, unpaced: {:.0} MB/s ({:.0} Mbit/s) into the ingest, recording {} MB",
        sent as f64 / wall / 1e6,
        sent as f64 * 8.0 / wall / 1e6,
        rec.file_size / 1_000_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn concurrent_ffmpeg_pushes() {
    let n = env_num("LVB_BENCH_FFMPEG", 50) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("source.flv");
    let made = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "25",
        ])
        .args(["-b:v", "800k", "-c:a", "aac", "-f", "flv"])
        .arg(&source)
        .status()
        .expect("ffmpeg");
    assert!(made.success());
    let mut tenant = Tenant::healthy();
    tenant.lvb.callback_url = String::new();
    let cloud = Cloud::start(tenant, fast_options()).await.expect("cloud");
    let started = Instant::now();
    let mut children = Vec::new();
    for i in 0..n {
        let (url, _) = console_push_url(&cloud, &format!("ff{i}"));
        let (_, rest) = url.split_once("/live/").expect("url");
        children.push(
            Command::new("ffmpeg")
                .args([
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-nostdin",
                    "-re",
                    "-i",
                ])
                .arg(&source)
                .args([
                    "-c",
                    "copy",
                    "-f",
                    "flv",
                    "-rtmp_tcurl",
                    "rtmp://8888.livepush.myqcloud.com/live",
                ])
                .arg(format!("rtmp://{}/live/{rest}", cloud.rtmp_addr()))
                .stderr(Stdio::null())
                .spawn()
                .expect("ffmpeg push"),
        );
    }
    let mut ok = 0;
    for mut c in children {
        if c.wait().map(|s| s.success()).unwrap_or(false) {
            ok += 1;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cloud.services.lvb.live_streams().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entries = cloud.ctx.journal.of(Service::LvbIngest);
    let accepted = entries.iter().filter(|e| e.outcome == "accepted").count();
    let clean_end = entries
        .iter()
        .filter(|e| e.outcome == "ended: recv rtmp deleteStream (errcode 1)")
        .count();
    let recorded = cloud.services.lvb.recordings().len();
    println!(
        "{n} concurrent ffmpeg pushes (4 s, stream copy): {ok} exited 0, {accepted} accepted, {clean_end} ended with errcode 1, {recorded} recordings, {wall:.1} s wall"
    );
    assert_eq!((ok, accepted, clean_end, recorded), (n, n, n, n));
}
