//! The MariaDB server shared by the test processes of one nextest run: two processes of a run (children of
//! one owner process, as nextest's tests are) get databases on the same server under different names, and
//! the server and its directory go when the owner exits.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tcharness::runtime::{BackendProfile, DbSpec, Runtime, RuntimeKind};

const CHILD_ENV: &str = "TCHARNESS_SHARED_CHILD";

/// Run by the processes of the fake run: claims a database and prints where it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of processes_of_one_run_share_one_server"]
async fn child_claims_a_database() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let runtime = Runtime::start_shared(RuntimeKind::Local, BackendProfile::minilvb())
        .await
        .expect("runtime");
    let spec = DbSpec {
        name: "live_demo".into(),
        user: "live_user".into(),
        password: "live_pwd".into(),
    };
    let db = runtime.database(&spec, "").await.expect("database");
    println!("DB {} {}", db.port, db.name);
    // Hold the database until told, so that both processes hold one at the same time.
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn processes_of_one_run_share_one_server() {
    let me = std::env::current_exe().expect("test binary");
    let run_id = format!("test-{}", std::process::id());
    // The owner stands in for nextest: the parent of both test processes. It ends when its stdin closes.
    // Both children read the owner's stdin (through fd 3: a background job's own stdin would be /dev/null), so
    // closing it ends both.
    let script = r#"
        exec 3<&0
        "$0" --exact child_claims_a_database --ignored --nocapture <&3 > "$1" 2>&1 &
        "$0" --exact child_claims_a_database --ignored --nocapture <&3 > "$2" 2>&1 &
        exec 3<&-
        wait
    "#;
    let dir = tempfile::tempdir().expect("tempdir");
    let (out_a, out_b) = (dir.path().join("a"), dir.path().join("b"));
    let mut owner = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&me)
        .arg(&out_a)
        .arg(&out_b)
        .env("NEXTEST_RUN_ID", &run_id)
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("owner");
    let owner_pid = owner.id();
    // Both children print their database before they block on the fifo; wait for both lines.
    let lines = |path: &std::path::Path| -> Option<String> {
        std::fs::read_to_string(path)
            .ok()?
            .lines()
            .find(|l| l.starts_with("DB "))
            .map(str::to_string)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let (a, b) = loop {
        if let (Some(a), Some(b)) = (lines(&out_a), lines(&out_b)) {
            break (a, b);
        }
        assert!(
            Instant::now() < deadline,
            "children did not report: {:?} {:?}",
            std::fs::read_to_string(&out_a),
            std::fs::read_to_string(&out_b)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split(' ').collect(), b.split(' ').collect());
    assert_eq!(a[1], b[1], "one server for the run: {a:?} {b:?}");
    assert_ne!(a[2], b[2], "each process its own database: {a:?} {b:?}");
    let shared_dir = tcharness::runtime::sweep::runs_base().join(format!("run-nextest-{run_id}"));
    assert!(shared_dir.join("state.json").is_file());
    // state.json holds root's password: its owner's only; the directory can be passed, not listed.
    let mode = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .ok()
    };
    assert_eq!(mode(&shared_dir.join("state.json")), Some(0o600));
    assert_eq!(mode(&shared_dir), Some(0o711));
    let supervisor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared_dir.join("state.json")).expect("state"))
            .expect("state json");
    let supervisor_pid = supervisor["supervisor_pid"].as_u64().expect("pid") as u32;

    // The run ends: the children return, the owner exits, and the supervisor stops the server.
    owner
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"end\nend\n")
        .expect("end the run");
    // The owner is not reaped until the server is gone: an exited owner that is still a zombie (as nextest
    // would be under a parent slow to reap it) counts as gone too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared_dir.exists() || tcharness::runtime::process::pid_alive(supervisor_pid) {
        assert!(
            Instant::now() < deadline,
            "the shared server outlived its run (owner {owner_pid})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(owner.wait().is_ok_and(|s| s.success()));
    let port: u16 = a[1].parse().expect("port");
    let answered = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(answered.is_err(), "the server still listens on {port}");
}
