//! `tcharness diagnose`: names the FAQ items and known tickets a customer's log or description points at.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use tcharness::formats::text;
use tcharness::scenario::diagnose::{self, Diagnosis, Match};
use tcharness::scenario::{knowledge, model};

use super::Format;

/// Arguments of `tcharness diagnose`.
#[derive(Args)]
pub struct DiagnoseArgs {
    /// The log or error text (FILE, or - for stdin), in UTF-8, UTF-16 or GBK.
    pub input: String,
    /// A scenario directory whose scenarios add to the built-in catalogue.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// How many matches to show per section.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Output format (junit is not meaningful here and prints JSON).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs `tcharness diagnose`: exit 0 with a confident answer, 1 when it abstains.
pub fn run(a: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let mut bytes = Vec::new();
    if a.input == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(&a.input).with_context(|| format!("cannot read {}", a.input))?;
    }
    let (log, _) = text::decode(&bytes);
    let extra = match &a.dir {
        Some(dir) => model::load_dir(dir)?,
        None => Vec::new(),
    };
    let d = diagnose::diagnose_with(knowledge::builtin(), &extra, &log);
    match a.format {
        Format::Text => print_text(&d, a.top),
        Format::Json | Format::Junit => println!("{}", serde_json::to_string_pretty(&d)?),
    }
    Ok(if d.confident {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(d: &Diagnosis, top: usize) {
    if !d.confident {
        println!(
            "no FAQ scenario matches this text with confidence: the evidence is too weak to name an item"
        );
        for m in d.ranked().iter().take(3) {
            println!(
                "   weak hint: {} (score {:.1}): {}",
                label(m),
                m.score,
                m.title
            );
        }
        return;
    }
    let ranked = d.ranked();
    let firsts: Vec<String> = ranked
        .iter()
        .filter(|m| d.best.contains(&m.key))
        .map(|m| format!("{} {}", label(m), m.scenarios.join(" / ")))
        .collect();
    if firsts.len() > 1 {
        println!("best (tie): {}", firsts.join("  |  "));
    } else {
        println!("best: {}", firsts.join(""));
    }
    if !d.faq.is_empty() {
        println!("\nFAQ items:");
        for (i, m) in d.faq.iter().take(top).enumerate() {
            print_match(i + 1, m);
        }
    }
    if !d.tickets.is_empty() {
        println!("\nKnown tickets (not FAQ items):");
        for (i, m) in d.tickets.iter().take(top).enumerate() {
            print_match(i + 1, m);
        }
    }
}

fn label(m: &Match) -> String {
    match m.kind {
        knowledge::Kind::Faq => format!("FAQ {}", m.key),
        knowledge::Kind::Ticket => format!("ticket {}", m.key),
    }
}

fn print_match(n: usize, m: &Match) {
    println!(
        "{n}. {} {} (confidence {:?}, score {:.1}{})",
        label(m),
        m.title,
        m.confidence,
        m.score,
        if m.tie { ", tie" } else { "" }
    );
    println!("   answer: {}", m.answer);
    println!("   replay: {}", m.replay_command());
    for e in &m.found {
        println!("   line {}: {}", e.line, e.text);
    }
}
