//! The `tcharness` commands that run no scenario: list, diagnose, check, serve.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use tcharness::cloud::Tenant;
use tcharness::scenario::deployment::{self, Placeholders};
use tcharness::scenario::model::Mutations;

fn tcharness() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcharness"));
    cmd.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("tcharness runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn list_names_every_scenario_with_its_faq_item() {
    let (code, out) = run(tcharness().arg("list"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("faq-1.4-cos-appid") && out.contains("ERROR_PROXY_APPID_USERID_NOTMATCH"),
        "{out}"
    );
    assert!(out.contains("ticket-second-pusher"), "{out}");
    assert!(
        !out.contains("tenant"),
        "the tenant is not a scenario:\n{out}"
    );
}

#[test]
fn diagnose_points_a_cos_log_at_its_faq_item() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("customer.log");
    std::fs::write(
        &log,
        "W/COS: upload cover failed {\"code\":-97,\"message\":\"ERROR_PROXY_AUTH_FAILED\"}\n",
    )
    .unwrap();
    let (code, out) = run(tcharness().arg("diagnose").arg(&log));
    assert_eq!(code, 0, "{out}");
    let first = out.lines().next().unwrap_or_default();
    assert!(first.contains("faq-1.7-cos-secretkey"), "{out}");
}

#[test]
fn diagnose_says_so_when_nothing_matches() {
    let mut child = tcharness()
        .args(["diagnose", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"all is well\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no FAQ scenario matches"));
}

/// Writes a deployment as a customer would have it: conf/ of the backend and the app's TCConstants.h.
fn write_deployment(dir: &Path, m: &Mutations) {
    let t = Tenant::healthy();
    let p = Placeholders {
        backend: "203.0.113.7".into(),
        cloud: "fcgi.video.qcloud.com".into(),
        db_host: "localhost".into(),
        db_port: 3306,
        db_name: "live_demo".into(),
        ..Default::default()
    };
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(
        dir.join("conf/OutDefine.php"),
        deployment::outdefine_php(&t, m).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("conf/cdn.inc.ini"), deployment::cdn_inc_ini()).unwrap();
    std::fs::write(
        dir.join("conf/cdn.route.ini"),
        deployment::cdn_route_ini(&t, m, &p),
    )
    .unwrap();
    let header: String = deployment::app_constants(&t, m, &p)
        .unwrap()
        .iter()
        .map(|(k, v)| format!("#define {k} @\"{v}\"\n"))
        .collect();
    std::fs::write(dir.join("TCConstants.h"), header).unwrap();
}

#[test]
fn check_passes_a_healthy_deployment_and_names_a_wrong_region() {
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &Mutations::default());
    let check = |dir: &Path| {
        run(tcharness()
            .arg("check")
            .arg("--backend-root")
            .arg(dir)
            .arg("--terminal")
            .arg(dir.join("TCConstants.h"))
            .args(["--tenant", "harness/scenarios/tenant.toml"]))
    };
    let (code, out) = check(dir.path());
    assert_eq!(code, 0, "{out}");

    let mut m = Mutations::default();
    m.app.insert(
        "kTCCOSRegion".into(),
        toml::Value::String("ap-guangzhou".into()),
    );
    m.backend
        .outdefine
        .insert("CALL_BACK_KEY".into(), toml::Value::String("x".into()));
    write_deployment(dir.path(), &m);
    let (code, out) = check(dir.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAQ 2.3") && out.contains("kTCCOSRegion"),
        "{out}"
    );
    assert!(
        out.contains("FAQ 1.3") && out.contains("CALL_BACK_KEY"),
        "{out}"
    );
    // Root cause with its place and values: the line of the define, what is there, what the console has.
    let php = std::fs::read_to_string(dir.path().join("conf/OutDefine.php")).unwrap();
    let line = php
        .lines()
        .position(|l| l.contains("CALL_BACK_KEY"))
        .expect("the define")
        + 1;
    assert!(
        out.contains(&format!("at conf/OutDefine.php:{line}")),
        "{out}"
    );
    assert!(out.contains("found    \"x\""), "{out}");
    let key = Tenant::healthy().lvb.api_key;
    assert!(out.contains(&format!("expected {key:?}")), "{out}");
    let (code, xml) = {
        let out = tcharness()
            .arg("check")
            .arg("--backend-root")
            .arg(dir.path())
            .args([
                "--tenant",
                "harness/scenarios/tenant.toml",
                "--format",
                "junit",
            ])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(code, Some(1));
    assert!(
        xml.starts_with("<?xml") && xml.contains("<failure"),
        "{xml}"
    );
}

#[test]
fn check_names_a_console_callback_url_that_misses_the_script() {
    let dir = tempfile::tempdir().unwrap();
    write_deployment(dir.path(), &Mutations::default());
    let tenant = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tenant.toml"),
    )
    .unwrap()
    .replace("/callback/Live_callback.php", "/callback/Live_callback");
    let tenant_file = dir.path().join("tenant.toml");
    std::fs::write(&tenant_file, tenant).unwrap();
    let (code, out) = run(tcharness()
        .arg("check")
        .arg("--backend-root")
        .arg(dir.path())
        .arg("--tenant")
        .arg(&tenant_file));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAQ 3.3") && out.contains("console lvb.callback_url"),
        "{out}"
    );
}

#[test]
fn check_names_the_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = run(tcharness()
        .arg("check")
        .arg("--backend-root")
        .arg(dir.path()));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("OutDefine.php"), "{out}");
}

#[test]
fn serve_prints_its_endpoints_as_one_json_line() {
    let mut child = tcharness()
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().ok();
    child.wait().ok();
    let banner: serde_json::Value = serde_json::from_str(&line).expect("the first line is JSON");
    assert!(banner["http"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(banner["rtmp"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(banner["lvb"]["bizid"], 8888);
    assert_eq!(banner["cos"]["buckets"][0]["bucket"], "minilvb");
}

#[test]
fn replay_fails_with_the_missing_symptom_and_accepts_a_new_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text =
        std::fs::read_to_string(root.join("harness/scenarios/faq-1.6-cos-secretid.toml")).unwrap();
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        text.replace(
            "symptom = \"PROXY_AUTH_SECRETID_NOEXIST\"",
            "symptom = \"ERROR_PROXY_AUTH_FAILED\"",
        ),
    )
    .unwrap();
    let snaps = dir.path().join("snaps");
    let replay = |file: &Path, extra: &[&str]| {
        run(tcharness()
            .args(["replay", "--runtime", "local", "--snapshots"])
            .arg(&snaps)
            .args(extra)
            .arg(file))
    };
    let (code, out) = replay(&wrong, &["--accept"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("SymptomMissing") && out.contains("ERROR_PROXY_AUTH_FAILED"),
        "{out}"
    );
    assert!(
        !snaps.join("faq__faq-1.6-cos-secretid.snap").exists(),
        "--accept must not take a run whose symptom is missing as a baseline: {out}"
    );
    assert!(
        snaps.join("faq__faq-1.6-cos-secretid.snap.new").exists(),
        "the refused run is left pending for review: {out}"
    );

    let right = dir.path().join("right.toml");
    std::fs::write(&right, &text).unwrap();
    let (code, out) = replay(&right, &["--accept"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        snaps.join("faq__faq-1.6-cos-secretid.snap").exists(),
        "{out}"
    );
    assert!(
        !snaps.join("faq__faq-1.6-cos-secretid.snap.new").exists(),
        "accepting settles the pending file: {out}"
    );
    let written = std::fs::read_to_string(snaps.join("faq__faq-1.6-cos-secretid.snap")).unwrap();
    assert!(
        written.starts_with("---\nsource: harness/tests/faq.rs\ndescription: "),
        "{written}"
    );
    let stdout_of = |file: &Path, format: &str| {
        let out = tcharness()
            .args([
                "replay",
                "--runtime",
                "local",
                "--format",
                format,
                "--snapshots",
            ])
            .arg(&snaps)
            .arg(file)
            .output()
            .expect("tcharness runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = stdout_of(&right, "json");
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["scenarios"][0]["verdict"], "pass", "{out}");

    // JUnit: valid XML; a missing symptom is a failure whose message names the missing text.
    let (code, xml) = stdout_of(&wrong, "junit");
    assert_eq!(code, 1, "{xml}");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(
        xml.contains("transcript lacks &quot;ERROR_PROXY_AUTH_FAILED&quot;"),
        "{xml}"
    );
    assert!(xml.contains("<system-out>"), "{xml}");
}

#[test]
fn validate_names_file_line_and_field_and_replay_starts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/faq-1.3-callback-key.toml"),
    )
    .expect("catalogue file");
    let bad = good
        .replace("secs = 90", "sec = 90")
        .replace("id = \"faq-1.3-callback-key\"", "id = \"../../outside\"");
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, &bad).expect("write");
    let sec_line = bad
        .lines()
        .position(|l| l.starts_with("sec = "))
        .expect("the typo")
        + 1;

    let (code, out) = run(tcharness().arg("validate").arg(&file));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("typo.toml:1: id:"), "{out}");
    assert!(
        out.contains(&format!("typo.toml:{sec_line}: flow[4]:")) && out.contains("`sec`"),
        "{out}"
    );

    // replay refuses before any runtime starts (the local provider would need MariaDB).
    let (code, out) = run(tcharness()
        .args(["replay", "--runtime", "local", "--snapshots"])
        .arg(dir.path())
        .arg(&file));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nothing was started"), "{out}");
    assert!(!out.contains("runtime:"), "{out}");

    let (code, out) = run(tcharness().arg("validate"));
    assert_eq!(code, 0, "the catalogue is valid: {out}");
}

#[test]
fn outside_a_checkout_the_built_in_catalogue_is_used() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let (code, out) = run(Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .current_dir(elsewhere.path())
        .arg("list"));
    assert_eq!(code, 0, "{out}");
    let on_disk = tcharness::scenario::model::scenario_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"),
    );
    assert!(
        out.contains(&format!("{} scenarios", on_disk.len())),
        "{out}"
    );
    assert!(out.contains("faq-3.3-callback-url"), "{out}");
    let (code, out) = run(Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .current_dir(elsewhere.path())
        .arg("validate"));
    assert_eq!(code, 0, "{out}");
    // Nothing to accept into: the built-in snapshots are read-only.
    let (code, out) = run(Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .current_dir(elsewhere.path())
        .args(["replay", "--accept"]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--snapshots DIR"), "{out}");
}

#[test]
fn a_backend_that_cannot_start_is_an_error_exit_2_and_a_junit_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("broken.toml");
    std::fs::write(
        &profile,
        "name = \"broken\"\ncommand = [\"sh\", \"-c\", \"echo no such backend >&2; exit 3\"]\n\
         schema = { sql = \"CREATE TABLE live_data (userid VARCHAR(50));\" }\n",
    )
    .expect("write profile");
    let out = tcharness()
        .args([
            "replay",
            "--runtime",
            "local",
            "--format",
            "junit",
            "--snapshots",
        ])
        .arg(dir.path())
        .arg("--profile")
        .arg(&profile)
        .arg("harness/scenarios/healthy.toml")
        .output()
        .expect("tcharness runs");
    let xml = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{xml}");
    assert!(xml.contains("<error"), "an infrastructure failure: {xml}");
}

#[test]
fn reproduce_runs_the_customers_files_and_names_the_faq_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reproduce = |dir: &Path, tenant: bool| {
        let mut cmd = tcharness();
        cmd.args(["reproduce", "--runtime", "local", "--backend-root"])
            .arg(dir)
            .arg("--terminal")
            .arg(dir.join("TCConstants.h"));
        if tenant {
            cmd.args(["--tenant", "harness/scenarios/tenant.toml"]);
        }
        run(&mut cmd)
    };
    write_deployment(dir.path(), &Mutations::default());
    let (code, out) = reproduce(dir.path(), true);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no failure reproduced"), "{out}");

    // FAQ 1.3: the backend's callback key is not the console's.
    let mut m = Mutations::default();
    m.backend.outdefine.insert(
        "CALL_BACK_KEY".into(),
        toml::Value::String("not-the-key".into()),
    );
    write_deployment(dir.path(), &m);
    let (code, out) = reproduce(dir.path(), true);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("OutDefine CALL_BACK_KEY=not-the-key"), "{out}");
    assert!(out.contains("matches FAQ 1.3"), "{out}");

    // FAQ 2.2, without a console: the app's COS APPID disagrees with the backend's.
    let mut m = Mutations::default();
    m.app.insert(
        "kTCCOSAppId".into(),
        toml::Value::String("1252999999".into()),
    );
    write_deployment(dir.path(), &m);
    let (code, out) = reproduce(dir.path(), false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("assumed: no console given"), "{out}");
    assert!(out.contains("matches FAQ 2.2"), "{out}");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let mut child = tcharness()
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcharness runs");
    // Close the pipe before reading anything, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
