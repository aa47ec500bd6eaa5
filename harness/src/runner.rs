//! The catalogue as a test suite of any repository: one test per scenario, named by its id, found when
//! the tests run (a new ticket file needs no rebuild), each transcript held against an insta snapshot.
//!
//! In a test target with `harness = false`:
//!
//! ```no_run
//! // tests/faq.rs of a backend team's crate
//! fn main() -> std::process::ExitCode {
//!     tcharness::runner::CatalogueRunner::builtin()
//!         .with_dir("tests/tickets")
//!         .snapshots("tests/snapshots")
//!         .run()
//! }
//! ```
//!
//! It takes libtest's arguments (filters, `--exact`, `--list`, `--skip`, `--test-threads`), so
//! `cargo test` and nextest (`--partition`) run it like any other test. All tests of one process share
//! one runtime (one MariaDB server). Every scenario is validated first; an invalid file is a failing
//! test named after the file. Set `TCHARNESS_RUNTIME=docker|local|auto` to pick the provider (default
//! local). Under nextest, where every test is a process of its own, the processes of one run share one
//! MariaDB server on the local provider (see [`crate::runtime::shared`]).

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, LazyLock};

use libtest_mimic::{Arguments, Failed, Trial};
use tokio::sync::OnceCell;

use crate::runtime::{BackendProfile, Runtime, RuntimeKind};
use crate::scenario::model::Scenario;
use crate::scenario::replay::{ReplayOptions, Replayer};
use crate::scenario::validate::validate_paths;

/// Builds and runs a catalogue test suite.
#[derive(Clone, Debug)]
pub struct CatalogueRunner {
    sources: Vec<PathBuf>,
    snapshots: PathBuf,
    runtime: Option<RuntimeKind>,
    profile: Option<BackendProfile>,
}

impl CatalogueRunner {
    /// The catalogue built into the crate, with its reference snapshots written under
    /// `tests/snapshots` (change it with [`CatalogueRunner::snapshots`]).
    pub fn builtin() -> Self {
        Self {
            sources: vec![PathBuf::from(crate::catalogue::BUILTIN_PREFIX)],
            snapshots: PathBuf::from("tests/snapshots"),
            runtime: None,
            profile: None,
        }
    }

    /// Only the scenarios of `dir` (and `dir/tickets`), not the built-in ones.
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            sources: vec![dir.into()],
            ..Self::builtin()
        }
    }

    /// Adds the scenarios of `dir` (e.g. a team's own tickets).
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sources.push(dir.into());
        self
    }

    /// Where the accepted snapshots live (`faq__<id>.snap`, insta's format; review with
    /// `cargo insta review`). A relative path is taken from the crate's directory.
    pub fn snapshots(mut self, dir: impl Into<PathBuf>) -> Self {
        self.snapshots = dir.into();
        self
    }

    /// Which provider runs MariaDB and the backend (default: `TCHARNESS_RUNTIME`, else local).
    pub fn runtime(mut self, kind: RuntimeKind) -> Self {
        self.runtime = Some(kind);
        self
    }

    /// The backend under test (default: the built-in minilvb profile).
    pub fn profile(mut self, profile: BackendProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Parses libtest's arguments from the command line and runs the suite. Call it from `main`, before
    /// any thread starts: it sets `INSTA_WORKSPACE_ROOT` when unset, so that insta need not run `cargo metadata` in every process.
    pub fn run(self) -> ExitCode {
        set_insta_workspace();
        let args = Arguments::from_args();
        libtest_mimic::run(&args, self.trials()).exit_code()
    }

    /// One trial per scenario (and one failing trial per invalid file), for callers that drive
    /// libtest-mimic themselves.
    pub fn trials(self) -> Vec<Trial> {
        let validation = validate_paths(&self.sources);
        let mut trials: Vec<Trial> = validation
            .findings
            .iter()
            .map(|finding| {
                let message = finding.to_string();
                Trial::test(format!("invalid::{}", finding.file.display()), move || {
                    Err(message.into())
                })
            })
            .collect();
        let kind = self.runtime.unwrap_or_else(runtime_from_env);
        let mut options = ReplayOptions::new(kind);
        if let Some(profile) = self.profile {
            options.profile = profile;
        }
        let shared = Arc::new(Shared {
            options,
            replayer: OnceCell::new(),
        });
        let snapshots = absolute(&self.snapshots);
        for scenario in validation.scenarios {
            let (shared, snapshots) = (shared.clone(), snapshots.clone());
            // The name is the id alone: nextest and `--exact` filter on it, and CI history keys on it.
            let name = scenario.id.clone();
            trials.push(Trial::test(name, move || {
                replay_one(&shared, &scenario, &snapshots)
            }));
        }
        trials
    }
}

/// What every trial of one process shares: the options and, once started, the replayer.
struct Shared {
    options: ReplayOptions,
    replayer: OnceCell<Result<Replayer, String>>,
}

/// One tokio runtime for all trials (libtest-mimic runs them on its own threads).
static TOKIO: LazyLock<Result<tokio::runtime::Runtime, String>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
});

fn replay_one(shared: &Shared, scenario: &Scenario, snapshots: &Path) -> Result<(), Failed> {
    let tokio = TOKIO.as_ref().map_err(|e| Failed::from(e.as_str()))?;
    let outcome = tokio.block_on(async {
        let replayer = shared
            .replayer
            .get_or_init(|| async {
                // Under nextest every scenario is a process of its own: they share the run's MariaDB.
                let options = shared.options.clone();
                Runtime::start_shared(options.runtime, options.profile.clone())
                    .await
                    .map(|runtime| Replayer::on(runtime, options))
                    .map_err(|e| format!("the runtime does not start: {e}"))
            })
            .await
            .as_ref()
            .map_err(|e| Failed::from(e.as_str()))?;
        replayer
            .replay(scenario)
            .await
            .map_err(|e| Failed::from(format!("the replay did not run: {e}")))
    })?;
    // The story first: a missing symptom says more than a snapshot diff.
    if !outcome.missing.is_empty() || !outcome.unexpected.is_empty() {
        return Err(format!(
            "{}: the transcript lacks {:?} and has {:?}\n{}{}",
            scenario.id,
            outcome.missing,
            outcome.unexpected,
            outcome.transcript,
            outcome.backend_output
        )
        .into());
    }
    let assertion = std::panic::catch_unwind(|| {
        insta::with_settings!({
            snapshot_path => snapshots,
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => scenario.title.clone(),
        }, {
            insta::assert_snapshot!(format!("faq__{}", scenario.id), outcome.transcript);
        });
    });
    assertion.map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the snapshot differs".to_string());
        Failed::from(text)
    })
}

/// Tells insta the workspace root, found by walking up from the crate directory to the nearest `Cargo.toml`
/// with a `[workspace]` table (cargo's own rule), unless `INSTA_WORKSPACE_ROOT` is set already. Left to
/// itself insta runs `cargo metadata` in every test process to learn it: ~150 ms per scenario under nextest.
fn set_insta_workspace() {
    if std::env::var_os("INSTA_WORKSPACE_ROOT").is_some() {
        return;
    }
    let Some(start) = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
    else {
        return;
    };
    let root = start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .unwrap_or(&start)
        .to_path_buf();
    // SAFETY: `run` is called from `main` before libtest-mimic or tokio start a thread, so nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var("INSTA_WORKSPACE_ROOT", root) };
}

fn runtime_from_env() -> RuntimeKind {
    match std::env::var("TCHARNESS_RUNTIME").as_deref() {
        Ok("docker") => RuntimeKind::Docker,
        Ok("auto") => RuntimeKind::Auto,
        _ => RuntimeKind::Local,
    }
}

/// Relative snapshot directories are the crate's (cargo runs tests from the crate's directory).
fn absolute(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        return dir.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}
