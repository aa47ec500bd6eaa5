//! `tcharness`: replay the Mini LVB FAQ against an emulated Tencent Cloud.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tcharness", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the scenarios with their FAQ item and symptom.
    List,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            println!("no scenarios yet");
            Ok(())
        }
    }
}
