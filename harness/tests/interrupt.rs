//! An interrupted replay (SIGINT, SIGTERM) ends cleanly: exit 130 or 143, and no process, container or
//! directory of the run survives it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tcharness::runtime::sweep::{RUN_ENV, runs_base};

fn run_dirs_of(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("run-{pid}-");
    std::fs::read_dir(runs_base())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Processes whose environment names one of `dirs` as their run.
fn marked_processes(dirs: &[PathBuf]) -> Vec<u32> {
    let markers: Vec<String> = dirs
        .iter()
        .map(|d| format!("{RUN_ENV}={}", d.display()))
        .collect();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|var| markers.iter().any(|m| var == m.as_bytes()))
                .then_some(pid)
        })
        .collect()
}

fn interrupt_mid_run(signal: i32, expected_code: i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .args(["replay", "--runtime", "local", "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcharness starts");
    let pid = child.id();
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    // The runtime line comes once MariaDB runs; then wait for a backend of a scenario to be up.
    let mut header = String::new();
    let mut before_runtime = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        if line.starts_with("runtime:") {
            header = line;
            break;
        }
        before_runtime.push(line);
    }
    assert!(
        !header.is_empty(),
        "tcharness never started its runtime ({:?}); its stderr: {before_runtime:?}",
        child.wait()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while marked_processes(&run_dirs_of(pid)).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = run_dirs_of(pid);
    assert!(
        marked_processes(&before).len() >= 2,
        "MariaDB and a backend run"
    );

    // SAFETY: kill(2) on the child this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
    // Drain stderr so the child never blocks on a full pipe.
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("tcharness exits");
    assert_eq!(status.code(), Some(expected_code), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.starts_with("interrupted:")),
        "{rest:?}"
    );
    assert_eq!(
        marked_processes(&before),
        Vec::<u32>::new(),
        "processes of the run survived"
    );
    assert_eq!(run_dirs_of(pid), Vec::<PathBuf>::new());
}

#[test]
fn sigint_ends_a_replay_with_130_and_leaves_nothing() {
    interrupt_mid_run(libc::SIGINT, 130);
}

#[test]
fn sigterm_ends_a_replay_with_143_and_leaves_nothing() {
    interrupt_mid_run(libc::SIGTERM, 143);
}
