//! `tcharness list`: the scenarios with their FAQ item and symptom.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::truncate;

/// Arguments of `tcharness list`.
#[derive(Args)]
pub struct ListArgs {
    /// Scenario directory.
    #[arg(long, default_value = "harness/scenarios")]
    pub dir: PathBuf,
}

/// Runs `tcharness list`.
pub fn run(args: ListArgs) -> anyhow::Result<ExitCode> {
    list(&args.dir)
}

fn list(dir: &Path) -> anyhow::Result<ExitCode> {
    let scenarios = super::validate::valid_scenarios(&[dir.to_path_buf()])?;
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
