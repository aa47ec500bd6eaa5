//! `serve --data-dir` as a process: a damaged file in the directory is named on stderr and the cloud
//! starts anyway; the directory it creates is private.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

#[test]
fn a_truncated_record_is_named_on_stderr_and_serve_still_starts() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let bucket_dir = data.join("1252000001").join(hex::encode("minilvb"));
    std::fs::create_dir_all(&bucket_dir).unwrap();
    let broken = bucket_dir.join(format!("{}.json", "0".repeat(40)));
    std::fs::write(&broken, br#"{"appid":1252000001,"bucket":"minil"#).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let banner: serde_json::Value = serde_json::from_str(&banner)
        .unwrap_or_else(|e| panic!("no banner ({e}); stderr: {stderr}"));
    assert!(banner["http"].is_string());
    assert!(
        stderr.contains(&format!("{}: corrupt", broken.display())),
        "{stderr}"
    );

    // A directory serve creates itself is 0700.
    let fresh = root.path().join("fresh");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .arg("serve")
        .arg("--data-dir")
        .arg(&fresh)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
