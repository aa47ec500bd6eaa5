//! `tcharness diagnose`: ranks the FAQ scenarios whose symptoms match a customer's log.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use tcharness::scenario::{diagnose, model};

/// Arguments of `tcharness diagnose`.
#[derive(Args)]
pub struct DiagnoseArgs {
    /// The log or error text (FILE, or - for stdin).
    pub input: String,
    /// Scenario directory.
    #[arg(long, default_value = "harness/scenarios")]
    pub dir: PathBuf,
    /// How many matches to show.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

/// Runs `tcharness diagnose`.
pub fn run(a: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    diagnose_cmd(&a.input, &a.dir, a.top)
}

fn diagnose_cmd(input: &str, dir: &Path, top: usize) -> anyhow::Result<ExitCode> {
    let text = if input == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        let bytes = std::fs::read(input).with_context(|| format!("cannot read {input}"))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let scenarios = model::load_dir(dir)?;
    let ranked = diagnose::rank(&scenarios, &text);
    if ranked.is_empty() {
        println!("no FAQ scenario matches this text");
        return Ok(ExitCode::from(1));
    }
    for (i, m) in ranked.iter().take(top).enumerate() {
        println!(
            "{}. FAQ {} {} (score {:.2})\n   {}\n   matched: {}",
            i + 1,
            m.faq,
            m.id,
            m.score,
            m.title,
            m.found.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
