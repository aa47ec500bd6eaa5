//! The built-in PHP profile (`replay --backend php:DIR`) with the PHP fixture backend of
//! `tests/fixtures/php-v1`: the catalogue's expectations hold for a backend that is not minilvb, its own
//! accepted baseline replays with no difference and a changed one is reported, on the local provider
//! (Debian's `php`) and on the docker provider when an engine and the PHP image are there
//! (`TCHARNESS_REQUIRE_DOCKER=1` turns a missing engine into a failure).

use std::path::{Path, PathBuf};
use std::process::Command;

use rstest::rstest;
use tcharness::runtime::{BackendProfile, Runtime, RuntimeKind};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/php-v1")
}

fn backend_arg() -> String {
    format!("php:{}", fixture().display())
}

fn tcharness(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tcharness"))
        .current_dir(workspace())
        .args(args)
        .output()
        .expect("tcharness runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// False (after saying why) when the provider cannot run the PHP profile here and is not required to.
async fn provider_runs_php(kind: RuntimeKind) -> bool {
    let profile = BackendProfile::php(&fixture(), None);
    match Runtime::probe(kind, &profile).await {
        Ok(_) => true,
        Err(e) => {
            assert!(
                kind == RuntimeKind::Docker
                    && std::env::var("TCHARNESS_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "{kind:?} cannot run the PHP profile: {e}"
            );
            eprintln!("skipping the {kind:?} case: {e}");
            false
        }
    }
}

fn runtime_arg(kind: RuntimeKind) -> &'static str {
    match kind {
        RuntimeKind::Docker => "docker",
        _ => "local",
    }
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_holds_for_the_php_fixture_and_its_baseline_replays_unchanged(
    #[case] kind: RuntimeKind,
) {
    if !provider_runs_php(kind).await {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let snaps = dir.path().join("snapshots-php");
    let snaps_arg = snaps.display().to_string();
    let backend = backend_arg();
    let base = [
        "replay",
        "--runtime",
        runtime_arg(kind),
        "--backend",
        &backend,
        "--snapshots",
        &snaps_arg,
    ];

    // Accepting writes the baseline, but only for transcripts whose expectations hold.
    let mut accept = base.to_vec();
    accept.push("--accept");
    let (code, out) = tcharness(&accept);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
    let (_, listed) = tcharness(&["list"]);
    let scenarios = listed
        .lines()
        .filter(|l| l.starts_with("faq-") || l.starts_with("healthy") || l.starts_with("ticket-"))
        .count();
    let written = std::fs::read_dir(&snaps).expect("baseline dir").count();
    assert!(scenarios >= 26, "{listed}");
    assert_eq!(written, scenarios, "one accepted snapshot per scenario");

    // The PHP code ran (its own file names in the error log), and the readiness check wrote nothing.
    let db = std::fs::read_to_string(snaps.join("faq__faq-4-db-password.snap")).expect("snapshot");
    assert!(
        db.contains("[boot.php][db_connect]") && db.contains("Access denied for user"),
        "{db}"
    );
    let healthy = std::fs::read_to_string(snaps.join("faq__healthy.snap")).expect("snapshot");
    assert!(
        !healthy.contains("backend_errors"),
        "a healthy run logs no error:\n{healthy}"
    );

    // The accepted baseline replays with no difference.
    let (code, out) = tcharness(&base);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 failed"), "{out}");

    // A baseline that differs is reported as a difference, not accepted silently.
    let changed = db.replace("Access denied for user", "Access granted to user");
    std::fs::write(snaps.join("faq__faq-4-db-password.snap"), changed).expect("write");
    let mut one = base.to_vec();
    one.push("harness/scenarios/faq-4-db-password.toml");
    let (code, out) = tcharness(&one);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Access granted to user"), "{out}");
}

#[test]
fn without_snapshots_the_baseline_is_a_directory_named_after_the_profile_beside_the_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalogue = dir.path().join("scenarios");
    std::fs::create_dir_all(&catalogue).expect("mkdir");
    for name in ["tenant.toml", "healthy.toml"] {
        std::fs::copy(
            workspace().join("harness/scenarios").join(name),
            catalogue.join(name),
        )
        .expect("copy scenario");
    }
    let healthy = catalogue.join("healthy.toml").display().to_string();
    let backend = backend_arg();
    let args = [
        "replay",
        "--runtime",
        "local",
        "--backend",
        &backend,
        &healthy,
    ];
    let (code, out) = tcharness(&args);
    assert_eq!(code, 1, "no baseline yet is a difference:\n{out}");
    assert!(
        out.contains("snapshots-php"),
        "says where it looked:\n{out}"
    );
    let mut accept = args.to_vec();
    accept.push("--accept");
    let (code, out) = tcharness(&accept);
    assert_eq!(code, 0, "{out}");
    assert!(
        dir.path().join("snapshots-php/faq__healthy.snap").is_file(),
        "{out}"
    );
    assert!(
        !workspace().join("harness/snapshots-php").exists(),
        "the checkout is not written to"
    );
    let (code, out) = tcharness(&args);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_stock_schema_with_another_column_name_shows_the_real_failure() {
    // The original's createDB.sh names the column `forbidflag` while its code writes `forbid_status`.
    let dir = tempfile::tempdir().expect("temp dir");
    let stock = std::fs::read_to_string(fixture().join("createDB.sh"))
        .expect("schema")
        .replace("forbid_status", "forbidflag");
    let schema = dir.path().join("createDB.sh");
    std::fs::write(&schema, stock).expect("write");
    let snaps = dir.path().join("snaps").display().to_string();
    let backend = backend_arg();
    let (code, out) = tcharness(&[
        "replay",
        "--runtime",
        "local",
        "--backend",
        &backend,
        "--schema",
        &schema.display().to_string(),
        "--snapshots",
        &snaps,
        "--accept",
        "harness/scenarios/tickets/ticket-forbid-live.toml",
    ]);
    let snap = std::fs::read_to_string(dir.path().join("snaps/faq__ticket-forbid-live.snap"))
        .unwrap_or_default();
    // YAML doubles the quotes inside a quoted line.
    let seen = format!("{out}{snap}").replace("''", "'");
    assert!(
        seen.contains("Unknown column 'forbid_status'"),
        "the backend's own error is in the transcript (exit {code}):\n{out}\n{snap}"
    );
}

#[test]
fn a_backend_argument_that_is_not_a_php_backend_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = format!("php:{}", dir.path().display());
    let (code, out) = tcharness(&["replay", "--runtime", "local", "--backend", &spec]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("interface.php"), "{out}");
    let (code, out) = tcharness(&["replay", "--backend", "perl:x"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--profile"), "{out}");
}

#[test]
fn a_php_fatal_behind_an_http_500_is_shown_with_the_failing_scenario() {
    let dir = tempfile::tempdir().expect("temp dir");
    let code_dir = dir.path().join("live_demo_service");
    copy_dir(&fixture(), &code_dir);
    // Every request to the interface dies the way PHP 8 code dies on a call it does not know.
    let interface = code_dir.join("interface.php");
    let text = std::fs::read_to_string(&interface).expect("interface.php");
    let broken = text.replacen("<?php", "<?php\nundefined_function_of_this_test();", 1);
    std::fs::write(&interface, broken).expect("write");
    let backend = format!("php:{}", code_dir.display());
    let snaps = dir.path().join("snaps").display().to_string();
    let (code, out) = tcharness(&[
        "replay",
        "--runtime",
        "local",
        "--backend",
        &backend,
        "--snapshots",
        &snaps,
        "harness/scenarios/healthy.toml",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("transcript lacks"), "{out}");
    assert!(
        out.contains("backend stderr") && out.contains("undefined_function_of_this_test"),
        "the server's own report of the fatal is shown:\n{out}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn without_a_schema_the_transcript_says_the_tables_were_never_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    let code_dir = dir.path().join("deploy/live_demo_service");
    copy_dir(&fixture(), &code_dir);
    std::fs::remove_file(code_dir.join("createDB.sh")).expect("rm");
    std::fs::remove_file(code_dir.join("README.md")).expect("rm");
    let backend = format!("php:{}", code_dir.display());
    let snaps = dir.path().join("snaps").display().to_string();
    let (code, out) = tcharness(&[
        "replay",
        "--runtime",
        "local",
        "--backend",
        &backend,
        "--snapshots",
        &snaps,
        "--format",
        "json",
        "harness/scenarios/healthy.toml",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no schema: backend profile php names none"),
        "{out}"
    );
    // YAML doubles the quote inside a quoted line.
    assert!(
        out.contains("live_data'' doesn''t exist"),
        "the backend's own error too:\n{out}"
    );
}

/// Pids of the live (not zombie) processes in process group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str()) {
            out.push(pid);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_php_server_stops_every_worker() {
    let rt = Runtime::start(RuntimeKind::Local, BackendProfile::php(&fixture(), None))
        .await
        .expect("runtime");
    let mut backend = rt.start_backend(&[]).await.expect("php starts");
    let pid = backend.pid().expect("a local process");
    // The server forks its workers once it listens; each says so on stderr when it serves. They are
    // in its group, not children the harness reaps.
    let bound = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while backend
        .stderr()
        .await
        .matches("Development Server (")
        .count()
        < 4
    {
        assert!(
            tokio::time::Instant::now() < bound,
            "the workers did not announce themselves:\n{}",
            backend.stderr().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let members = group_members(pid);
    assert!(
        members.len() >= 5,
        "the server and its 4 workers: {members:?}"
    );
    backend.stop().await.expect("stop");
    assert_eq!(
        group_members(pid),
        Vec::<u32>::new(),
        "every worker is gone"
    );
}
