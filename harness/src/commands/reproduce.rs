//! `tcharness reproduce`: the healthy user flow with a customer's own configuration, and the FAQ item
//! the resulting failure matches.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use tcharness::cloud::Tenant;
use tcharness::runtime::{BackendProfile, RuntimeKind};
use tcharness::scenario::check::Deployment;
use tcharness::scenario::replay::{ReplayOptions, Replayer};
use tcharness::scenario::{diagnose, knowledge, reproduce};

/// Arguments of `tcharness reproduce`.
#[derive(Args)]
pub struct ReproduceArgs {
    #[command(flatten)]
    pub deployment: super::check::DeploymentArgs,
    /// Which provider runs MariaDB and the backend.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Auto)]
    pub runtime: RuntimeKind,
    /// A backend profile file (default: the built-in minilvb).
    #[arg(long)]
    pub profile: Option<PathBuf>,
}

/// Runs `tcharness reproduce`: exit 0 when the flow works with these files, 1 when a failure was
/// reproduced, 2 when the files cannot be read or nothing could run.
pub fn run(a: ReproduceArgs) -> anyhow::Result<ExitCode> {
    let d = &a.deployment;
    let deployment = Deployment::load(&d.backend_root, d.terminal.as_deref())?;
    let tenant = d.tenant.as_deref().map(Tenant::load).transpose()?;
    let plan = reproduce::plan(&deployment, tenant).map_err(anyhow::Error::msg)?;
    let scenario = reproduce::scenario(&plan).map_err(anyhow::Error::msg)?;
    let mut options = ReplayOptions::new(a.runtime);
    options.tenant = plan.tenant.clone();
    if let Some(p) = &a.profile {
        options.profile = BackendProfile::load(p)?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    let outcome = rt.block_on(async {
        let replayer = Replayer::start(options).await?;
        eprintln!(
            "runtime: {:?} ({})",
            replayer.runtime_kind(),
            replayer.runtime_reason()
        );
        replayer.replay(&scenario).await
    })?;

    for assumption in &plan.assumptions {
        println!("assumed: {assumption}");
    }
    println!(
        "the customer's values that differ: {}",
        scenario.mutation_summary()
    );
    let failures = reproduce::failures(&outcome.transcript);
    if failures.is_empty() {
        println!("no failure reproduced: the healthy flow works with these files");
        return Ok(ExitCode::SUCCESS);
    }
    println!("what failed:");
    for line in &failures {
        println!("  {line}");
    }
    let d = diagnose::diagnose_with(knowledge::builtin(), &[], &outcome.transcript);
    match d.ranked().first() {
        Some(best) if d.confident => println!(
            "matches FAQ {} ({}): {}\n  {}",
            best.key,
            best.title,
            best.answer,
            best.replay_command()
        ),
        _ => println!("no FAQ item matches this failure with confidence"),
    }
    println!("\nthe whole transcript:\n{}", outcome.transcript);
    Ok(ExitCode::from(1))
}
