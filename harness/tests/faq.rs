//! The FAQ catalogue: one case per scenario file, its transcript held against `snapshots/faq__<id>.snap`.
//!
//! All cases share one runtime (one MariaDB server) on one tokio runtime; each scenario still gets its own
//! cloud, database and backend. Accept intended transcript changes with `cargo insta review`.

use std::path::PathBuf;
use std::sync::LazyLock;

use rstest::rstest;
use tcharness::runtime::RuntimeKind;
use tcharness::scenario::model::Scenario;
use tcharness::scenario::replay::{ReplayOptions, Replayer};
use tcharness::scenario::validate::validate_scenario;
use tokio::sync::OnceCell;

static TOKIO: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
});
static REPLAYER: OnceCell<Replayer> = OnceCell::const_new();

async fn replayer() -> &'static Replayer {
    REPLAYER
        .get_or_init(|| async {
            let kind = match std::env::var("TCHARNESS_RUNTIME").as_deref() {
                Ok("docker") => RuntimeKind::Docker,
                Ok("auto") => RuntimeKind::Auto,
                _ => RuntimeKind::Local,
            };
            Replayer::start(ReplayOptions::new(kind))
                .await
                .expect("the runtime starts")
        })
        .await
}

#[rstest]
fn faq(
    #[files("scenarios/*.toml")]
    #[files("scenarios/tickets/*.toml")]
    #[exclude("tenant.toml")]
    path: PathBuf,
) {
    let text = std::fs::read_to_string(&path).expect("the scenario file reads");
    let scenario = Scenario::from_toml(&text, &path).expect("the scenario file parses");
    let findings = validate_scenario(&scenario, &text);
    assert!(findings.is_empty(), "invalid scenario: {findings:#?}");
    let outcome = TOKIO
        .block_on(async { replayer().await.replay(&scenario).await })
        .expect("the replay runs");
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => true,
        omit_expression => true,
        description => scenario.title.clone(),
    }, {
        insta::assert_snapshot!(scenario.id.clone(), outcome.transcript);
    });
    assert!(
        outcome.missing.is_empty(),
        "{}: the transcript lacks {:?}\n{}",
        scenario.id,
        outcome.missing,
        outcome.transcript
    );
    assert!(
        outcome.unexpected.is_empty(),
        "{}: the transcript has {:?}",
        scenario.id,
        outcome.unexpected
    );
}
