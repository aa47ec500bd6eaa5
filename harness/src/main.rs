//! `tcharness`: replays the Mini LVB FAQ against an emulated Tencent Cloud.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use harness::cloud::Tenant;
use harness::scenario::{check, diagnose, model};

#[derive(Parser)]
#[command(
    name = "tcharness",
    version,
    about = "Replays the Mini LVB FAQ against an emulated Tencent Cloud"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the scenarios with their FAQ item and symptom.
    List {
        /// Scenario directory.
        #[arg(long, default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Ranks the FAQ scenarios whose symptoms match a customer's log or error text (FILE or - for stdin).
    Diagnose {
        input: String,
        #[arg(long, default_value = "scenarios")]
        dir: PathBuf,
        /// How many matches to show.
        #[arg(long, default_value_t = 5)]
        top: usize,
    },
    /// Cross-checks a real deployment's OutDefine.php, cdn.route.ini and app constants; runs nothing.
    Check {
        /// The backend's root (the directory holding conf/).
        #[arg(long)]
        backend_root: PathBuf,
        /// The app's constants file (TCConstants.h or TCConstants.java).
        #[arg(long)]
        terminal: Option<PathBuf>,
        /// Compare with this account's console as well (a tenant file).
        #[arg(long)]
        tenant: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Junit,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List { dir } => list(&dir),
        Command::Diagnose { input, dir, top } => diagnose_cmd(&input, &dir, top),
        Command::Check {
            backend_root,
            terminal,
            tenant,
            format,
        } => check_cmd(
            &backend_root,
            terminal.as_deref(),
            tenant.as_deref(),
            format,
        ),
    }
}

fn list(dir: &Path) -> anyhow::Result<ExitCode> {
    let scenarios = model::load_dir(dir)?;
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

fn check_cmd(
    root: &Path,
    terminal: Option<&Path>,
    tenant: Option<&Path>,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let deployment = check::Deployment::load(root, terminal)?;
    let tenant = tenant.map(Tenant::load).transpose()?;
    let findings = check::check(&deployment, tenant.as_ref());
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        Format::Junit | Format::Text => {
            if findings.is_empty() {
                println!("no inconsistency found");
            }
            for f in &findings {
                println!("FAQ {:<4} {:<28} {}", f.faq, f.setting, f.message);
            }
        }
    }
    Ok(if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
