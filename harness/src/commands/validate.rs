//! `tcharness validate`: the static checks of scenario files, with nothing started.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use tcharness::scenario::model::Scenario;
use tcharness::scenario::validate::{Validation, validate_paths};

/// Arguments of `tcharness validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Scenario files or directories (default: the catalogue).
    pub paths: Vec<PathBuf>,
}

/// Runs `tcharness validate`: exit 0 when every file is valid, 1 when a file has findings.
pub fn run(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let paths = default_paths(a.paths);
    let v = validate_paths(&paths);
    if v.scenarios.is_empty() && v.findings.is_empty() {
        anyhow::bail!("no scenario found under {}", show(&paths));
    }
    for finding in &v.findings {
        println!("{finding}");
    }
    println!(
        "{} scenario(s) checked, {} finding(s)",
        v.scenarios.len(),
        v.findings.len()
    );
    Ok(if v.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The catalogue when no path is given: the checkout's `harness/scenarios` when run from one, else the
/// catalogue built into the binary.
pub fn default_paths(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if !paths.is_empty() {
        return paths;
    }
    let checkout = PathBuf::from(CHECKOUT_SCENARIOS);
    if checkout.is_dir() {
        vec![checkout]
    } else {
        vec![PathBuf::from(tcharness::catalogue::BUILTIN_PREFIX)]
    }
}

/// Where the catalogue lives in a checkout of the repository.
pub const CHECKOUT_SCENARIOS: &str = "harness/scenarios";
/// Where its reference snapshots live in a checkout.
pub const CHECKOUT_SNAPSHOTS: &str = "harness/snapshots";

/// What `replay` and `list` run first: the scenarios, or an error listing every finding.
pub fn valid_scenarios(paths: &[PathBuf]) -> anyhow::Result<Vec<Scenario>> {
    let Validation {
        scenarios,
        findings,
    } = validate_paths(paths);
    if !findings.is_empty() {
        let lines: Vec<String> = findings.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "{} invalid scenario field(s); nothing was started:\n{}",
            findings.len(),
            lines.join("\n")
        );
    }
    anyhow::ensure!(
        !scenarios.is_empty(),
        "no scenario found under {}",
        show(paths)
    );
    Ok(scenarios)
}

fn show(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
