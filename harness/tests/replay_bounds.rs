//! Every replay is bounded: a hung MariaDB fails the scenario with an error naming it, a scenario that
//! outlives its deadline fails naming the step it was at, and the next scenario passes.

use std::path::Path;

mod runtime_support;

use runtime_support::Resume;
use tcharness::runtime::RuntimeKind;
use tcharness::scenario::model::Scenario;
use tcharness::scenario::replay::{ReplayError, ReplayOptions, Replayer};

fn catalogue(file: &str) -> Scenario {
    Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file),
    )
    .expect("catalogue scenario")
}

async fn replayer() -> Option<Replayer> {
    match Replayer::start(ReplayOptions::new(RuntimeKind::Local)).await {
        Ok(r) => Some(r),
        Err(e) => panic!("the local replayer did not start: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_mariadb_fails_the_scenario_naming_it_and_the_next_one_passes() {
    let Some(replayer) = replayer().await else {
        return;
    };
    let healthy = catalogue("healthy.toml");
    let pids = replayer.runtime().server_pids().await;
    let [pid] = pids[..] else {
        panic!("one local MariaDB server: {pids:?}");
    };
    // SAFETY: as in Resume.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    let resume = Resume(pid as i32);
    let err = replayer
        .replay(&healthy)
        .await
        .expect_err("no scenario on a stopped server");
    let text = err.to_string();
    assert!(
        text.contains("MariaDB at 127.0.0.1:") && text.contains("did not answer within 10 s"),
        "{text}"
    );
    drop(resume);
    let outcome = replayer
        .replay(&healthy)
        .await
        .expect("the next scenario runs");
    assert!(outcome.symptom_ok(), "{:?}", outcome.missing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_past_its_deadline_fails_naming_where_it_was() {
    let Some(replayer) = replayer().await else {
        return;
    };
    let pids = replayer.runtime().server_pids().await;
    let [pid] = pids[..] else {
        panic!("one local MariaDB server: {pids:?}");
    };
    // A frozen server holds the set-up for the DB bound (10 s): a 2 s deadline fires first.
    let mut healthy = catalogue("healthy.toml");
    healthy.options.deadline_secs = Some(2);
    // SAFETY: as in Resume.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    let resume = Resume(pid as i32);
    let err = replayer
        .replay(&healthy)
        .await
        .expect_err("past its deadline");
    drop(resume);
    match &err {
        ReplayError::Deadline { id, at, .. } => {
            assert_eq!(id, "healthy");
            assert_eq!(at, "set-up");
        }
        other => panic!("a deadline error, not {other:?}"),
    }
    assert!(
        err.to_string().contains("did not finish within 2s"),
        "{err}"
    );
    healthy.options.deadline_secs = None;
    let outcome = replayer
        .replay(&healthy)
        .await
        .expect("the next scenario runs");
    assert!(outcome.symptom_ok());
}
