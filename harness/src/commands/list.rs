//! `tcharness list`: the scenarios with their FAQ item and symptom.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::truncate;

/// Arguments of `tcharness list`.
#[derive(Args)]
pub struct ListArgs {
    /// Scenario directory (default: the checkout's `harness/scenarios`, else the built-in catalogue).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs `tcharness list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    list(super::validate::default_paths(
        args.dir.into_iter().collect(),
    ))
}

fn list(paths: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let scenarios = super::validate::valid_scenarios(&paths)?;
    println!("{:<34} {:<7} {:<40} SYMPTOM", "ID", "FAQ", "MUTATION");
    for s in &scenarios {
        println!(
            "{:<34} {:<7} {:<40} {}",
            s.id,
            s.faq,
            truncate(&s.mutation_summary(), 40),
            s.expect.symptom
        );
    }
    println!("{} scenarios", scenarios.len());
    Ok(ExitCode::SUCCESS)
}
