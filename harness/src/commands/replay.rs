//! `tcharness replay`: replays scenarios and compares each transcript with its snapshot.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use tcharness::runtime::{BackendProfile, RuntimeKind};
use tcharness::scenario::replay::{Outcome, ReplayError, ReplayOptions, Replayer};
use tcharness::scenario::{model, snapshot};
use tcharness::terminal::Pusher;

use super::Format;

/// Arguments of `tcharness replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// Scenario files or directories (default: the catalogue).
    pub paths: Vec<PathBuf>,
    /// Which provider runs MariaDB and the backend.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Auto)]
    pub runtime: RuntimeKind,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The RTMP publisher of the app.
    #[arg(long, value_enum, default_value_t = Pusher::Builtin)]
    pub pusher: Pusher,
    /// Write the new transcripts as the accepted snapshots.
    #[arg(long)]
    pub accept: bool,
    /// Scenarios replayed at once (most of a replay is waiting on the network, so more than the cores).
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Where the snapshots live (default: the checkout's `harness/snapshots`, else the reference snapshots
    /// built into the binary, which `--accept` cannot change).
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// A backend profile file (default: the built-in minilvb).
    #[arg(long, conflicts_with = "backend")]
    pub profile: Option<PathBuf>,
    /// A built-in backend: `minilvb`, or `php:DIR` for a V1 PHP backend (a `live_demo_service`
    /// directory). Its snapshots default to `snapshots-php` beside the catalogue.
    #[arg(long, value_name = "minilvb|php:DIR")]
    pub backend: Option<String>,
    /// The schema of `--backend php:DIR` (default: a createDB*.sh / *.sql file in DIR or beside it).
    #[arg(long, requires = "backend")]
    pub schema: Option<PathBuf>,
    /// Seconds a scenario may take, set-up included, unless its `[options] deadline_secs` says otherwise.
    #[arg(long, default_value_t = 60)]
    pub deadline: u64,
}

/// Runs `tcharness replay`.
pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let profile = match (&a.profile, &a.backend) {
        (Some(file), _) => Some(BackendProfile::load(file)?),
        (None, Some(spec)) => Some(BackendProfile::from_spec(spec, a.schema.clone())?),
        (None, None) => None,
    };
    replay_cmd(
        a.paths,
        a.runtime,
        a.format,
        a.pusher,
        a.accept,
        a.jobs,
        a.snapshots,
        profile,
        std::time::Duration::from_secs(a.deadline),
    )
}

/// How one replayed scenario compares with what was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Pass,
    Accepted,
    NewSnapshot,
    SnapshotDiffers,
    SymptomMissing,
    Error,
}

#[derive(serde::Serialize)]
struct Row {
    id: String,
    faq: String,
    verdict: Verdict,
    seconds: f64,
    symptom: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The backend's last stdout/stderr lines when a step got a 5xx or the expectations failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    backend_output: String,
    /// The redacted transcript (JUnit `system-out`; not in the JSON document, which stays small).
    #[serde(skip)]
    transcript: Option<String>,
}

/// `--format json`: the document's shape is versioned; fields are only added within a version.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    version: u32,
    passed: usize,
    failed: usize,
    errors: usize,
    seconds: f64,
    scenarios: &'a [Row],
}

/// The version of `--format json` documents (README "Machine-readable output").
const JSON_VERSION: u32 = 1;

#[allow(clippy::too_many_arguments)]
fn replay_cmd(
    paths: Vec<PathBuf>,
    runtime: RuntimeKind,
    format: Format,
    pusher: Pusher,
    accept: bool,
    jobs: usize,
    snapshots: Option<PathBuf>,
    profile: Option<BackendProfile>,
    deadline: std::time::Duration,
) -> anyhow::Result<ExitCode> {
    let paths = super::validate::default_paths(paths);
    let profile = profile.unwrap_or_else(BackendProfile::minilvb);
    // A snapshot is a baseline per backend: minilvb's are the checkout's (or built in), any other
    // backend's live in a directory named after its profile.
    let snapshots = snapshots.or_else(|| {
        if profile == BackendProfile::minilvb() {
            let checkout = PathBuf::from(super::validate::CHECKOUT_SNAPSHOTS);
            checkout.is_dir().then_some(checkout)
        } else {
            let first = paths
                .first()
                .filter(|p| !tcharness::catalogue::is_builtin(p));
            Some(snapshot::profile_dir(
                &profile.name,
                first.map(PathBuf::as_path),
            ))
        }
    });
    anyhow::ensure!(
        snapshots.is_some() || !accept,
        "--accept needs a snapshot directory to write to: pass --snapshots DIR"
    );
    let scenarios = super::validate::valid_scenarios(&paths)?;
    let mut options = ReplayOptions::new(runtime);
    options.pusher = pusher;
    options.deadline = deadline;
    options.profile = profile;
    let rt = tokio::runtime::Runtime::new()?;
    let started = std::time::Instant::now();
    let run = rt.block_on(async {
        tokio::select! {
            rows = replay_all(options, &scenarios, jobs, snapshots.as_deref(), accept) => Run::Done(rows),
            code = interrupted() => Run::Interrupted(code),
        }
    });
    let rows = match run {
        Run::Done(rows) => rows?,
        Run::Interrupted(code) => {
            // The replays were dropped with the select: their backends, databases and containers go
            // with them. Whatever a drop could not finish is removed here before exiting.
            rt.shutdown_timeout(std::time::Duration::from_secs(10));
            let swept = tcharness::runtime::sweep::sweep_own();
            eprintln!(
                "interrupted: stopped {} process(es), removed {} container(s) and {} directory(ies) of this run",
                swept.processes, swept.containers, swept.directories
            );
            return Ok(ExitCode::from(code));
        }
    };
    let failed = rows
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Accepted))
        .count();
    match format {
        Format::Json => {
            let errors = rows.iter().filter(|r| r.verdict == Verdict::Error).count();
            let report = JsonReport {
                version: JSON_VERSION,
                passed: rows.len() - failed,
                failed: failed - errors,
                errors,
                seconds: started.elapsed().as_secs_f64(),
                scenarios: &rows,
            };
            println!("{}", serde_json::to_string_pretty(&report)?)
        }
        Format::Junit => println!("{}", junit(&rows, started.elapsed().as_secs_f64())),
        Format::Text => {
            for r in rows
                .iter()
                .filter(|r| r.diff.is_some() || r.error.is_some() || !r.missing.is_empty())
            {
                println!("── {} ({:?})", r.id, r.verdict);
                if let Some(e) = &r.error {
                    println!("{e}");
                }
                if !r.missing.is_empty() {
                    println!("transcript lacks: {:?}", r.missing);
                    if !r.backend_output.is_empty() {
                        println!("{}", r.backend_output);
                    }
                }
                match (&r.diff, r.verdict) {
                    // The whole transcript would be the diff: say where the baseline is expected.
                    (Some(_), Verdict::NewSnapshot) => println!(
                        "no accepted snapshot in {}; `--accept` makes this run the baseline",
                        snapshots
                            .as_deref()
                            .map(|d| d.display().to_string())
                            .unwrap_or_else(|| "the built-in catalogue".to_string())
                    ),
                    (Some(d), _) => println!("{d}"),
                    (None, _) => {}
                }
            }
            println!(
                "{:<34} {:<7} {:<17} {:>6}  SYMPTOM",
                "SCENARIO", "FAQ", "RESULT", "SECS"
            );
            for r in &rows {
                println!(
                    "{:<34} {:<7} {:<17} {:>6.1}  {}",
                    r.id,
                    r.faq,
                    format!("{:?}", r.verdict),
                    r.seconds,
                    r.symptom
                );
            }
            println!(
                "{} scenarios, {} failed, {:.1} s",
                rows.len(),
                failed,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // 0 all pass, 1 a transcript or symptom differs, 2 a replay could not run (or usage).
    Ok(if rows.iter().any(|r| r.verdict == Verdict::Error) {
        ExitCode::from(2)
    } else if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

enum Run {
    Done(anyhow::Result<Vec<Row>>),
    /// Ended by a signal: the exit code a shell expects (130 for SIGINT, 143 for SIGTERM).
    Interrupted(u8),
}

/// Resolves when the process gets SIGINT or SIGTERM, with the matching exit code.
async fn interrupted() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}

/// Aborts every task it holds when dropped: an interrupted run leaves no replay running.
struct AbortOnDrop<T>(Vec<tokio::task::JoinHandle<T>>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

async fn replay_all(
    options: ReplayOptions,
    scenarios: &[model::Scenario],
    jobs: usize,
    snapshots: Option<&Path>,
    accept: bool,
) -> anyhow::Result<Vec<Row>> {
    let replayer = std::sync::Arc::new(Replayer::start(options).await?);
    eprintln!(
        "runtime: {:?} ({}); {} scenarios, {} at once",
        replayer.runtime_kind(),
        replayer.runtime_reason(),
        scenarios.len(),
        jobs.max(1)
    );
    let swept = replayer.swept();
    if swept.processes + swept.containers + swept.directories > 0 {
        eprintln!(
            "removed what earlier runs left: {} process(es), {} container(s), {} directory(ies)",
            swept.processes, swept.containers, swept.directories
        );
    }
    let bar = indicatif::ProgressBar::new(scenarios.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = AbortOnDrop(Vec::new());
    for s in scenarios.iter().cloned() {
        let (replayer, gate, bar) = (replayer.clone(), gate.clone(), bar.clone());
        tasks.0.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            bar.set_message(s.id.clone());
            let out = replayer.replay(&s).await;
            bar.inc(1);
            (s, out)
        }));
    }
    let mut rows = Vec::new();
    for t in tasks.0.iter_mut() {
        let (s, out) = t.await?;
        rows.push(judge(&s, out, snapshots, accept));
    }
    bar.finish_and_clear();
    Ok(rows)
}

/// Compares one outcome with its accepted snapshot: a file under `dir`, or the built-in reference
/// snapshot when there is no directory (read-only: nothing is written then).
fn judge(
    s: &model::Scenario,
    out: Result<Outcome, ReplayError>,
    dir: Option<&Path>,
    accept: bool,
) -> Row {
    let mut row = Row {
        id: s.id.clone(),
        faq: s.faq.clone(),
        verdict: Verdict::Pass,
        seconds: 0.0,
        symptom: s.expect.symptom.clone(),
        missing: Vec::new(),
        diff: None,
        error: None,
        backend_output: String::new(),
        transcript: None,
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            row.verdict = Verdict::Error;
            row.error = Some(e.to_string());
            return row;
        }
    };
    row.seconds = out.elapsed.as_secs_f64();
    row.transcript = Some(out.transcript.clone());
    row.backend_output = out.backend_output.clone();
    let Some(dir) = dir else {
        let accepted = tcharness::catalogue::snapshot(&s.id).map(snapshot::strip_header);
        if !accepted.is_some_and(|a| snapshot::same(a, &out.transcript)) {
            differs(&mut row, accepted, &out.transcript);
        }
        return missing_symptoms(row, &out);
    };
    let path = snapshot::snapshot_path(dir, &s.id);
    let accepted = snapshot::read_snapshot(&path);
    let same = accepted
        .as_deref()
        .is_some_and(|a| snapshot::same(a, &out.transcript));
    let pending = snapshot::pending_path(&path);
    if same || (accept && out.symptom_ok()) {
        // What was pending is settled now, one way or the other.
        let _ = std::fs::remove_file(&pending);
    }
    if !same {
        // A run whose expectations fail is never a baseline: `--accept` leaves its snapshot alone.
        if accept && out.symptom_ok() {
            row.verdict = match snapshot::write_snapshot(&path, &s.title, &out.transcript) {
                Ok(()) => Verdict::Accepted,
                Err(e) => {
                    row.error = Some(format!("cannot write {}: {e}", path.display()));
                    Verdict::Error
                }
            };
        } else {
            // Left for review (`cargo insta review`), as insta leaves a failing assertion's snapshot.
            if let Err(e) = snapshot::write_pending(&path, &s.title, &out.transcript) {
                row.error = Some(format!("cannot write {}: {e}", pending.display()));
            }
            differs(&mut row, accepted.as_deref(), &out.transcript);
        }
    }
    missing_symptoms(row, &out)
}

/// A transcript that is not the accepted one: a new snapshot when there was none, with the diff.
fn differs(row: &mut Row, accepted: Option<&str>, transcript: &str) {
    row.verdict = if accepted.is_some() {
        Verdict::SnapshotDiffers
    } else {
        Verdict::NewSnapshot
    };
    row.diff = Some(snapshot::diff(accepted.unwrap_or(""), transcript));
}

/// A missing symptom outranks a snapshot verdict: the story the scenario tells did not happen.
fn missing_symptoms(mut row: Row, out: &Outcome) -> Row {
    if !out.symptom_ok() {
        row.verdict = Verdict::SymptomMissing;
        row.missing = out
            .missing
            .iter()
            .chain(out.unexpected.iter())
            .cloned()
            .collect();
    }
    row
}

/// The run as JUnit XML (quick-junit, as nextest writes it): a missing symptom or a differing snapshot
/// is a `<failure>`, a replay that could not run an `<error>`; the message is the first missing text or
/// diff line, the transcript or the error goes to `system-out`.
fn junit(rows: &[Row], secs: f64) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("faq");
    for r in rows {
        let status = match r.verdict {
            Verdict::Pass | Verdict::Accepted => TestCaseStatus::success(),
            verdict => {
                let kind = if verdict == Verdict::Error {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_type(format!("{verdict:?}"));
                status.set_message(first_reason(r));
                status.set_description(
                    [
                        r.error.clone(),
                        (!r.missing.is_empty())
                            .then(|| format!("transcript lacks {:?}", r.missing)),
                        r.diff.clone(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("\n"),
                );
                status
            }
        };
        let mut case = TestCase::new(r.id.clone(), status);
        case.set_classname(format!("faq.{}", r.faq));
        case.set_time(std::time::Duration::from_secs_f64(r.seconds.max(0.0)));
        if let Some(transcript) = &r.transcript {
            case.set_system_out(transcript.clone());
        }
        suite.add_test_case(case);
    }
    suite.set_time(std::time::Duration::from_secs_f64(secs.max(0.0)));
    let mut report = Report::new("tcharness");
    report.add_test_suite(suite);
    report.to_string().unwrap_or_else(|e| {
        // XmlString has already removed what XML cannot hold; a failure here is an I/O-level defect.
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- cannot write the report: {e} -->\n<testsuites/>\n")
    })
}

/// The one line a CI summary shows: the first missing text, else the first changed line, else the error.
fn first_reason(r: &Row) -> String {
    if let Some(missing) = r.missing.first() {
        return format!("transcript lacks {missing:?}");
    }
    if let Some(line) = r
        .diff
        .as_deref()
        .and_then(|d| d.lines().find(|l| l.starts_with('+') || l.starts_with('-')))
    {
        return format!("snapshot differs: {}", line.trim());
    }
    if let Some(e) = &r.error {
        return e.lines().next().unwrap_or_default().to_string();
    }
    format!("{:?}", r.verdict)
}
