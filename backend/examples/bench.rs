//! Load benchmark of the `minilvb` binary (not a test): starts a private `mariadbd`, seeds 20 online lives
//! and 40 replays, runs `minilvb serve` as a child, then drives FetchList (flag 3, page of 20) and
//! RequestLVBAddr with 16 concurrent keep-alive clients on loopback. Prints req/s, p50, p99 and the
//! backend's peak RSS (VmHWM).
//!
//! Run: `cargo build --release -p minilvb --bins --examples && target/release/examples/bench [SECONDS]`

use std::io::Write as _;
use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(33306)
}

fn sql(port: u16, db: Option<&str>, text: &str) {
    let mut cmd = Command::new("mariadb");
    cmd.args([
        "--no-defaults",
        "-h127.0.0.1",
        &format!("-P{port}"),
        "-uroot",
    ]);
    if let Some(db) = db {
        cmd.arg(db);
    }
    let mut child = cmd.stdin(Stdio::piped()).spawn().expect("mariadb client");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).expect("sql");
    }
    assert!(
        child.wait().expect("mariadb client").success(),
        "sql failed"
    );
}

struct Killer(Vec<Child>);
impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

async fn load(
    url: String,
    body: Arc<dyn Fn(usize, usize) -> String + Send + Sync>,
    secs: u64,
) -> (f64, f64, f64, usize) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for task in 0..CLIENTS {
        let client = client.clone();
        let url = url.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = 0;
            while Instant::now() < until {
                let t0 = Instant::now();
                let ok = match client.post(&url).body(body(task, i)).send().await {
                    Ok(r) => {
                        r.status().is_success()
                            && r.text()
                                .await
                                .map(|t| t.contains("\"returnValue\":0"))
                                .unwrap_or(false)
                    }
                    Err(_) => false,
                };
                lat.push(t0.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors,
    )
}

/// User + system CPU seconds of a process (clock ticks of 1/100 s).
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which ends with ')'.
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();
    let ok = Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            &format!("--datadir={d}/data"),
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=4M",
            "--innodb-buffer-pool-size=16M",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mariadb-install-db");
    assert!(ok.success());
    let port = free_port();
    let maria = Command::new("mariadbd")
        .args([
            "--no-defaults",
            &format!("--datadir={d}/data"),
            "--user=root",
            &format!("--port={port}"),
            "--bind-address=127.0.0.1",
            &format!("--socket={d}/mysqld.sock"),
            &format!("--pid-file={d}/mysqld.pid"),
            &format!("--log-error={d}/error.log"),
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=4M",
            "--skip-log-bin",
            "--performance-schema=OFF",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd");
    let mut guard = Killer(vec![maria]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mariadbd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    sql(
        port,
        None,
        "CREATE DATABASE live_demo; CREATE USER 'live_user'@'%' IDENTIFIED BY 'live_pwd'; GRANT ALL ON live_demo.* TO 'live_user'@'%';",
    );
    sql(port, Some("live_demo"), minilvb::db::SCHEMA);
    let mut seed = String::from("SET time_zone='+08:00';");
    for i in 0..20 {
        seed.push_str(&format!("INSERT INTO live_data (userid, stream_id, groupid, title, nickname, status, play_url, hls_play_url, create_time) VALUES ('live{i}', '8888_live{i}', 'g{i}', 'Live {i}', 'n{i}', 1, 'http://8888.liveplay.myqcloud.com/live/8888_live{i}.flv', 'http://8888.liveplay.myqcloud.com/live/8888_live{i}.m3u8', NOW() - INTERVAL {i} MINUTE);"));
    }
    for i in 0..40 {
        seed.push_str(&format!("INSERT INTO tape_data (userid, file_id, title, play_url, hls_play_url, create_time, start_time) VALUES ('tape{i}', 'vid{i}', 'Replay {i}', 'http://v/{i}.flv', 'http://v/{i}.m3u8', NOW() - INTERVAL {i} HOUR, NOW() - INTERVAL {i} HOUR);"));
    }
    sql(port, Some("live_demo"), &seed);

    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("conf")).expect("conf");
    std::fs::write(root.join("conf/OutDefine.php"), "<?php\ndefine('APP_ID', 1252033264);\ndefine('APP_BIZID', 8888);\ndefine('PUSH_URL_KEY', '5d41402abc4b2a76b9719d911017c592');\ndefine('CALL_BACK_KEY', '7a4f1c2e9b3d8e6f0a1b2c3d4e5f6a7b');\ndefine('COSKEY_BUCKET', 'minilvb');\ndefine('COSKEY_SECRECTKEY', 'k');\ndefine('COSKEY_APPID', 1252000001);\ndefine('COSKEY_SECRECTID', 'AKID');\ndefine('COSKEY_EXPIRED_TIME', 30);\n").expect("outdefine");
    std::fs::write(
        root.join("conf/cdn.inc.ini"),
        "[COMMON]\nINC=FORMAL\n[FORMAL]\nROUTE=conf/cdn.route.ini\n",
    )
    .expect("inc");
    std::fs::write(root.join("conf/cdn.route.ini"), format!("[DB]\nHOST=127.0.0.1\nDBNAME=live_demo\nUSER=live_user\nPASSWD=live_pwd\nPORT={port}\n[LIVE_WEBSERVICE]\nURL=http://127.0.0.1:9/common_access\nTIMEOUT=3000\n")).expect("route");

    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent()?.parent().map(|d| d.join("minilvb")))
        .expect("binary path");
    let mut backend = Command::new(&bin)
        .args(["serve", "--root"])
        .arg(&root)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("minilvb binary (build it with --bins)");
    let mut line = String::new();
    if let Some(out) = backend.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .expect("listening line");
    }
    let pid = backend.id();
    let db_pid = guard.0[0].id();
    guard.0.insert(0, backend);
    let url = format!(
        "{}/interface.php",
        line.trim().trim_start_matches("minilvb listening on ")
    );

    let fetch: Arc<dyn Fn(usize, usize) -> String + Send + Sync> =
        Arc::new(|_, _| r#"{"Action":"FetchList","flag":3,"pageno":1,"pagesize":20}"#.to_string());
    let request: Arc<dyn Fn(usize, usize) -> String + Send + Sync> = Arc::new(|task, i| {
        format!(
            r#"{{"Action":"RequestLVBAddr","userid":"bench{task}_{}","groupid":"g","title":"bench","userinfo":{{"nickname":"n"}}}}"#,
            i % 50
        )
    });
    // Warm-up: fill the connection pools.
    let _ = load(url.clone(), fetch.clone(), 1).await;
    println!(
        "workload\tclients\treq/s\tp50 ms\tp99 ms\terrors\tbackend CPU us/req\tmariadbd CPU us/req"
    );
    for (name, body) in [
        ("FetchList flag 3, page of 20", fetch),
        ("RequestLVBAddr", request),
    ] {
        let (b0, d0) = (cpu_secs(pid), cpu_secs(db_pid));
        let (rps, p50, p99, errors) = load(url.clone(), body, secs).await;
        let n = rps * secs as f64;
        let per = |x: f64| if n > 0.0 { x * 1e6 / n } else { 0.0 };
        println!(
            "{name}\t{CLIENTS}\t{rps:.0}\t{p50:.2}\t{p99:.2}\t{errors}\t{:.0}\t{:.0}",
            per(cpu_secs(pid) - b0),
            per(cpu_secs(db_pid) - d0)
        );
    }
    println!(
        "backend peak RSS: {:.1} MiB",
        peak_rss_kib(pid) as f64 / 1024.0
    );
}
