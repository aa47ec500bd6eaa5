//! One module per subcommand: its clap arguments and what it runs.

pub mod check;
pub mod diagnose;
pub mod list;
pub mod replay;
pub mod reproduce;
pub mod serve;
pub mod validate;

use clap::ValueEnum;

/// Output formats of the commands that report results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// One JSON document.
    Json,
    /// JUnit XML for CI.
    Junit,
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let cut: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
