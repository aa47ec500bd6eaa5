//! `tcharness`: replays the Mini LVB FAQ against an emulated Tencent Cloud.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

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
    /// Replays scenarios (default: the whole catalogue) and compares each transcript with its snapshot.
    Replay(commands::replay::ReplayArgs),
    /// Lists the scenarios with their FAQ item and symptom.
    List(commands::list::ListArgs),
    /// Ranks the FAQ scenarios whose symptoms match a customer's log or error text (FILE or - for stdin).
    Diagnose(commands::diagnose::DiagnoseArgs),
    /// Runs the emulated cloud alone; the first stdout line is one JSON object with every endpoint and the
    /// tenant's ids and keys.
    Serve(commands::serve::ServeArgs),
    /// Runs the healthy user flow with a customer's own configuration files (and console) and names the
    /// FAQ item the failure matches.
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Checks scenario files statically (steps, arguments, names, ids); starts nothing.
    Validate(commands::validate::ValidateArgs),
    /// Cross-checks a real deployment's OutDefine.php, cdn.route.ini and app constants; runs nothing.
    Check(commands::check::CheckArgs),
}

fn main() -> ExitCode {
    // `tcharness list | head` must end quietly when the reader goes, as other CLI tools do, instead of
    // panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(a) => commands::replay::run(a),
        Command::List(a) => commands::list::run(a),
        Command::Diagnose(a) => commands::diagnose::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Check(a) => commands::check::run(a),
        Command::Validate(a) => commands::validate::run(a),
        Command::Reproduce(a) => commands::reproduce::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
