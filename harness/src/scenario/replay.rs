//! The replay engine: one scenario = a fresh cloud, a private database, the backend configured from the
//! (mutated) tenant, the simulated app running the flow; then the transcript and the expectations.
//!
//! The flow of [`Replayer::replay`] reads in order: `read_flow` checks every step before anything
//! starts, `Replayer::build_world` starts the deployment (a [`Stack`]) with the scenario's changes,
//! `World::run_step` executes one step and settles the cloud, `World::collect_facts` reads the
//! database and the backend's logs, and `judge` turns the transcript into an [`Outcome`].
//!
//! Time is the scenario's: callback retries are due on the cloud clock, which only `advance_clock` and
//! `wait_callbacks` move, so a retry lands in the step the scenario says on any machine at any load.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cloud::{JournalEntry, Service, Tenant};
use crate::runtime::{BackendInstance, BackendProfile, Runtime, RuntimeKind};
use crate::stack::{SETTLE_BOUND as STEP_SETTLE_BOUND, Stack};
use crate::terminal::{AppStep, Pusher};

use super::deployment;
use super::model::Scenario;
use super::transcript::{StepRecord, Transcript};

/// How long a scenario may run, set-up and clean-up included, unless it says otherwise.
pub const DEFAULT_SCENARIO_DEADLINE: Duration = Duration::from_secs(60);

/// How replays run.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub runtime: RuntimeKind,
    pub profile: BackendProfile,
    pub tenant: Tenant,
    pub pusher: Pusher,
    /// The app's HTTP timeout (30 s in the real app). Refused and never-answered requests end at once
    /// on the scenario's time, so this bounds only a slow server.
    pub app_timeout: Duration,
    /// How long one callback attempt may take (20 s on the platform). Retries are on the cloud clock
    /// and cost no wall time.
    pub callback_timeout: Duration,
    /// Per-scenario deadline; a scenario's `[options] deadline_secs` overrides it.
    pub deadline: Duration,
}

impl ReplayOptions {
    pub fn new(runtime: RuntimeKind) -> Self {
        Self {
            runtime,
            profile: BackendProfile::minilvb(),
            tenant: Tenant::healthy(),
            pusher: Pusher::Builtin,
            app_timeout: Duration::from_secs(15),
            callback_timeout: Duration::from_secs(20),
            deadline: DEFAULT_SCENARIO_DEADLINE,
        }
    }
}

/// What one replay produced.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome {
    pub id: String,
    pub faq: String,
    /// The redacted YAML transcript: what the snapshot holds.
    pub transcript: String,
    /// Expected texts (symptom, `also`) that the transcript lacks.
    pub missing: Vec<String>,
    /// Texts of `absent` that the transcript has.
    pub unexpected: Vec<String>,
    pub elapsed: Duration,
    /// The last lines the backend wrote to stdout and stderr (a PHP fatal, a panic), kept when a step got
    /// an HTTP 5xx from it or the expectations failed, since the transcript then shows only "HTTP 500".
    /// Empty otherwise, and never part of the snapshot: servers' own output carries times and pids.
    pub backend_output: String,
}

impl Outcome {
    pub fn symptom_ok(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error("{0}")]
    Stack(#[from] crate::stack::StackError),
    #[error("runtime: {0}")]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error("deployment: {0}")]
    Deployment(#[from] deployment::DeploymentError),
    #[error("app: {0}")]
    App(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("scenario {id}: {message}")]
    Scenario { id: String, message: String },
    #[error("scenario {id} did not finish within {}s; it was at: {at}", .deadline.as_secs())]
    Deadline {
        id: String,
        deadline: Duration,
        at: String,
    },
}

/// Replays scenarios on one runtime (one MariaDB server for the whole run).
pub struct Replayer {
    runtime: Runtime,
    options: ReplayOptions,
}

impl Replayer {
    pub async fn start(options: ReplayOptions) -> Result<Self, ReplayError> {
        let runtime = Runtime::start(options.runtime, options.profile.clone()).await?;
        Ok(Self { runtime, options })
    }

    /// Replays on a runtime started by the caller (e.g. [`Runtime::start_shared`] for a catalogue under
    /// nextest); `options.runtime` and `options.profile` are then the runtime's own.
    pub fn on(runtime: Runtime, mut options: ReplayOptions) -> Self {
        options.runtime = runtime.kind();
        options.profile = runtime.profile().clone();
        Self { runtime, options }
    }

    /// Which provider runs the backend and MariaDB.
    pub fn runtime_kind(&self) -> RuntimeKind {
        self.runtime.kind()
    }

    /// Why that provider was picked (what `--runtime auto` found).
    pub fn runtime_reason(&self) -> &str {
        self.runtime.reason()
    }

    /// The runtime the scenarios run on (its MariaDB servers, its run directory).
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// What the start-up sweep removed of earlier runs.
    pub fn swept(&self) -> crate::runtime::sweep::Swept {
        self.runtime.swept()
    }

    /// Replays one scenario within its deadline.
    pub async fn replay(&self, scenario: &Scenario) -> Result<Outcome, ReplayError> {
        let deadline = scenario
            .options
            .deadline_secs
            .map(Duration::from_secs)
            .unwrap_or(self.options.deadline);
        let at = Mutex::new("set-up".to_string());
        match tokio::time::timeout(deadline, self.replay_unbounded(scenario, &at)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ReplayError::Deadline {
                id: scenario.id.clone(),
                deadline,
                at: at.lock().map(|a| a.clone()).unwrap_or_default(),
            }),
        }
    }

    async fn replay_unbounded(
        &self,
        scenario: &Scenario,
        at: &Mutex<String>,
    ) -> Result<Outcome, ReplayError> {
        let started = Instant::now();
        let flow = read_flow(scenario)?;
        let mut world = self.build_world(scenario).await?;
        let mut steps = Vec::new();
        for (i, (table, step)) in scenario.flow.iter().zip(flow).enumerate() {
            let label = step_label(table);
            if let Ok(mut at) = at.lock() {
                *at = format!("step {} `{label}`", i + 1);
            }
            steps.push(world.run_step(label, step).await);
        }
        if let Ok(mut at) = at.lock() {
            *at = "reading the facts".to_string();
        }
        steps.extend(world.after_flow().await);
        // Read while it runs: collecting the facts stops the backend, and a stopped one has no output.
        let output = world.stack.backend().output_tail().await;
        let (backend_errors, db) = world.collect_facts().await?;
        let transcript = Transcript {
            scenario: scenario.id.clone(),
            faq: scenario.faq.clone(),
            title: scenario.title.clone(),
            mutation: scenario.mutation_summary(),
            notes: self.notes(),
            steps,
            backend_errors,
            db,
        };
        let mut outcome = judge(scenario, &transcript, started.elapsed());
        if !outcome.symptom_ok() || got_server_error(&outcome.transcript) {
            outcome.backend_output = output;
        }
        Ok(outcome)
    }

    fn notes(&self) -> Vec<String> {
        match self.options.profile.schema {
            None => vec![format!(
                "no schema: backend profile {} names none and none was found, so the scenario's database \
                 was created (with its account) but has no tables (a profile's `schema`; `--schema FILE` with \
                 `--backend php:DIR`)",
                self.options.profile.name
            )],
            Some(_) => Vec::new(),
        }
    }

    /// The deployment of one scenario: its own cloud, database and backend on the shared runtime, the
    /// scenario's changes applied.
    async fn build_world(&self, scenario: &Scenario) -> Result<World, ReplayError> {
        let stack = Stack::builder()
            .on(&self.runtime)
            .tenant(self.options.tenant.clone())
            .mutations(scenario.mutate.clone())
            .pusher(self.options.pusher)
            .app_timeout(self.options.app_timeout)
            .callback_timeout(self.options.callback_timeout)
            .start()
            .await?;
        Ok(World { stack })
    }
}

/// Every step is read strictly before anything starts: a typo (`sec = 120`) is an error naming the
/// step, never a step that silently does nothing.
fn read_flow(scenario: &Scenario) -> Result<Vec<Step>, ReplayError> {
    scenario
        .flow
        .iter()
        .enumerate()
        .map(|(i, table)| {
            Step::from_table(table).map_err(|message| ReplayError::Scenario {
                id: scenario.id.clone(),
                message: format!("flow step {}: {message}", i + 1),
            })
        })
        .collect()
}

/// One scenario's deployment while its flow runs.
struct World {
    stack: Stack,
}

impl World {
    /// Executes one step, waits until its consequences are journaled (or scheduled for a later cloud
    /// time) and records what the app and the cloud did meanwhile.
    async fn run_step(&mut self, label: String, step: Step) -> StepRecord {
        let journal_from = self.stack.cloud().ctx.journal.len();
        let app_from = self.stack.app().log().len();
        let mut record = StepRecord {
            step: label,
            ..StepRecord::default()
        };
        let settled = match step {
            Step::Replay(ReplayStep::AdvanceClock { secs }) => self.stack.advance_clock(secs).await,
            Step::Replay(ReplayStep::StopBackend) => {
                if let Err(e) = self.stack.backend_mut().stop().await {
                    record.error = Some(format!("stopping the backend: {e}"));
                }
                self.stack.settle().await
            }
            Step::Replay(ReplayStep::StartBackend) => {
                if let Err(e) = self.stack.backend_mut().restart().await {
                    record.error = Some(format!("starting the backend: {e}"));
                }
                self.stack.settle().await
            }
            Step::Replay(ReplayStep::WaitCallbacks) => self.stack.drain_callbacks().await,
            Step::Replay(ReplayStep::WaitCallbackFailure) => {
                let settled = self.stack.settle().await;
                // Consequences are settled: a failed attempt is in the journal by now or never was.
                let journal = &self.stack.cloud().ctx.journal;
                if !journal.since(0).iter().any(is_failed_callback) {
                    record.error = Some("no callback attempt failed".into());
                }
                settled
            }
            Step::App(step) => {
                // An app-visible failure is part of the story, not an error of the replay.
                let _ = self.stack.app_mut().run(&step).await;
                self.stack.settle().await
            }
        };
        if let Err(pending) = settled {
            record.error = Some(format!(
                "not settled within {} s: {pending}",
                STEP_SETTLE_BOUND.as_secs()
            ));
        }
        record.app = self.stack.app().log()[app_from..]
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(serde_json::Value::Null))
            .collect();
        record.cloud = step_cloud_lines(&self.stack.cloud().ctx.journal.since(journal_from));
        record
    }

    /// Callbacks still queued when the flow ends (retries of a late stream end) are delivered or given
    /// up before the facts are read, and recorded apart.
    async fn after_flow(&mut self) -> Option<StepRecord> {
        let journal = &self.stack.cloud().ctx.journal;
        let seen = journal.len();
        let settled = self.stack.drain_callbacks().await;
        let after = step_cloud_lines(&journal.since(seen));
        if after.is_empty() && settled.is_ok() {
            return None;
        }
        Some(StepRecord {
            step: "(after the flow)".into(),
            cloud: after,
            error: settled
                .err()
                .map(|pending| format!("not settled: {pending}")),
            ..StepRecord::default()
        })
    }

    /// The backend's error logs and the rows the story is about, then the backend stops.
    async fn collect_facts(
        &mut self,
    ) -> Result<
        (
            BTreeMap<String, Vec<String>>,
            BTreeMap<String, serde_json::Value>,
        ),
        ReplayError,
    > {
        let backend_errors = error_logs(self.stack.backend())?;
        let db = self.stack.db();
        let mut facts = BTreeMap::new();
        facts.insert(
            "live_data".to_string(),
            rows_or_error(
                db.query_rows("SELECT userid, stream_id, status FROM live_data ORDER BY userid")
                    .await,
            ),
        );
        facts.insert(
            "tape_data".to_string(),
            rows_or_error(
                db.query_rows("SELECT * FROM tape_data ORDER BY userid, file_id")
                    .await,
            ),
        );
        self.stack.backend_mut().stop().await?;
        Ok((backend_errors, facts))
    }
}

/// The redacted transcript and what of the expectations it lacks or has too much of.
/// True if the app or the cloud got an HTTP 5xx answer from the backend in this transcript.
fn got_server_error(transcript: &str) -> bool {
    static SERVER_ERROR: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(outcome: HTTP 5\d\d|-> HTTP 5\d\d)").expect("the pattern is valid")
    });
    SERVER_ERROR.is_match(transcript)
}

fn judge(scenario: &Scenario, transcript: &Transcript, elapsed: Duration) -> Outcome {
    let text = transcript.to_redacted_yaml();
    let raw = transcript.plain_text();
    let mut expected = vec![scenario.expect.symptom.clone()];
    expected.extend(scenario.expect.also.iter().cloned());
    let missing = expected
        .into_iter()
        .filter(|t| !raw.contains(t.as_str()))
        .collect();
    let unexpected = scenario
        .expect
        .absent
        .iter()
        .filter(|t| raw.contains(t.as_str()))
        .cloned()
        .collect();
    Outcome {
        id: scenario.id.clone(),
        faq: scenario.faq.clone(),
        transcript: text,
        missing,
        unexpected,
        elapsed,
        backend_output: String::new(),
    }
}

/// The steps the replay itself executes (time, the backend's life, waiting for the cloud).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReplayStep {
    /// Moves the cloud clock `secs` seconds ahead.
    AdvanceClock { secs: i64 },
    /// Stops the backend (its port stays taken by nobody: callbacks fail to connect).
    StopBackend,
    /// Starts the backend again on the same address.
    StartBackend,
    /// Delivers every queued callback or gives it up, the clock moving to each due retry in turn.
    WaitCallbacks,
    /// Checks that a callback attempt failed (the step's consequences are settled by then).
    WaitCallbackFailure,
}

/// One `[[flow]]` table: a step of the replay or of the simulated app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Replay(ReplayStep),
    App(AppStep),
}

impl Step {
    const REPLAY_STEPS: [&'static str; 5] = [
        "advance_clock",
        "stop_backend",
        "start_backend",
        "wait_callbacks",
        "wait_callback_failure",
    ];

    /// Reads a flow table strictly: unknown steps and unknown or missing arguments are errors.
    pub fn from_table(table: &toml::Table) -> Result<Self, String> {
        let name = table
            .get("step")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let value = toml::Value::Table(table.clone());
        let (step, read_back) = if Self::REPLAY_STEPS.contains(&name) {
            let step: ReplayStep = value
                .try_into()
                .map_err(|e| format!("step `{name}`: {e}"))?;
            let back = toml::Value::try_from(&step).map_err(|e| e.to_string())?;
            (Step::Replay(step), back)
        } else {
            let step: AppStep = value.try_into().map_err(|e| {
                if name.is_empty() {
                    format!("a table without `step = \"...\"`: {e}")
                } else {
                    format!("step `{name}`: {e}")
                }
            })?;
            let back = toml::Value::try_from(&step).map_err(|e| e.to_string())?;
            (Step::App(step), back)
        };
        // serde lets an argument through on a step that takes none (`stop_live` with `now = true`):
        // every key given must be one the step keeps.
        let kept = read_back.as_table().cloned().unwrap_or_default();
        if let Some(extra) = table.keys().find(|k| !kept.contains_key(k.as_str())) {
            return Err(format!("step `{name}`: unknown argument `{extra}`"));
        }
        Ok(step)
    }
}

fn step_label(table: &toml::Table) -> String {
    let mut label = table
        .get("step")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let args: Vec<String> = table
        .iter()
        .filter(|(k, _)| k.as_str() != "step")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !args.is_empty() {
        label.push_str(&format!(" ({})", args.join(", ")));
    }
    label
}

/// The cloud's lines of one step, grouped by service, each service's lines in its own journal order.
/// Within a step, services run concurrently: a refused publish's stream-end callback and the SDK's next
/// reconnect reach the journal in either order, so only each service's own sequence is causal and belongs
/// in a transcript.
fn step_cloud_lines(entries: &[JournalEntry]) -> Vec<String> {
    let mut ordered: Vec<&JournalEntry> = entries.iter().collect();
    ordered.sort_by_key(|e| e.service);
    ordered.into_iter().map(journal_line).collect()
}

fn journal_line(e: &JournalEntry) -> String {
    let service = serde_json::to_value(e.service)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{service}: {} -> {}", e.request, e.outcome)
}

fn is_failed_callback(e: &JournalEntry) -> bool {
    e.service == Service::LvbCallback && !e.outcome.contains("{\"code\":0}")
}

fn error_logs(backend: &BackendInstance) -> Result<BTreeMap<String, Vec<String>>, ReplayError> {
    let mut out = BTreeMap::new();
    for (name, content) in backend.log_files()? {
        if name.contains("_error") {
            // Timings a backend measures itself vary by run; the rest of each line is compared.
            let lines = content.lines().map(super::transcript::redact_log_timings);
            out.insert(name, lines.collect());
        }
    }
    Ok(out)
}

fn rows_or_error<E: std::fmt::Display>(
    rows: Result<Vec<BTreeMap<String, serde_json::Value>>, E>,
) -> serde_json::Value {
    match rows {
        Ok(rows) => serde_json::to_value(rows).unwrap_or(serde_json::Value::Null),
        Err(e) => serde_json::Value::String(format!("query failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test tables are valid TOML")
    }

    #[test]
    fn a_mistyped_argument_is_an_error_naming_it() {
        let err = Step::from_table(&table("step = \"advance_clock\"\nsec = 120")).unwrap_err();
        assert!(
            err.contains("advance_clock") && err.contains("sec"),
            "{err}"
        );
        let err = Step::from_table(&table("step = \"advance_clock\"")).unwrap_err();
        assert!(err.contains("secs"), "{err}");
        let err = Step::from_table(&table("step = \"stop_live\"\nnow = true")).unwrap_err();
        assert!(err.contains("stop_live") && err.contains("now"), "{err}");
    }

    #[test]
    fn an_unknown_step_is_an_error() {
        let err = Step::from_table(&table("step = \"start_lvie\"")).unwrap_err();
        assert!(err.contains("start_lvie"), "{err}");
    }

    #[test]
    fn every_step_of_the_catalogue_reads() {
        assert_eq!(
            Step::from_table(&table("step = \"advance_clock\"\nsecs = 120")),
            Ok(Step::Replay(ReplayStep::AdvanceClock { secs: 120 }))
        );
        assert_eq!(
            Step::from_table(&table("step = \"wait_callbacks\"")),
            Ok(Step::Replay(ReplayStep::WaitCallbacks))
        );
        assert_eq!(
            Step::from_table(&table("step = \"stop_live\"")),
            Ok(Step::App(AppStep::StopLive))
        );
    }
}
