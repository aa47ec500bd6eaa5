//! The `minilvb` command line: `serve`, `schema`, `check-online`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use minilvb::{App, Config};

#[derive(Parser)]
#[command(name = "minilvb", about = "Reference Mini LVB V1 business backend")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve /interface.php and /callback/Live_callback.php from a live_demo_service-like directory.
    Serve {
        #[arg(long)]
        root: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seconds a client has to send a whole HTTP request head.
        #[arg(long, default_value_t = 10.0)]
        header_timeout: f64,
        /// Seconds an HTTP connection may stay open with no request and no traffic.
        #[arg(long, default_value_t = 60.0)]
        idle_timeout: f64,
        /// Open HTTP connections at most (also at most half the file descriptor limit).
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Seconds in which a request body being read must bring 1 KiB a second on average (or end).
        #[arg(long, default_value_t = 10.0)]
        body_timeout: f64,
    },
    /// Print the table DDL (live_data, tape_data, group_info).
    Schema,
    /// Run the zombie-channel check once (the original's per-minute cron).
    CheckOnline {
        #[arg(long)]
        root: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            print!("{}", minilvb::db::SCHEMA);
            ExitCode::SUCCESS
        }
        Command::Serve {
            root,
            listen,
            header_timeout,
            idle_timeout,
            max_connections,
            body_timeout,
        } => {
            init_logging();
            let limits = minilvb::server::HttpLimits {
                header_read_timeout: secs(header_timeout),
                idle_timeout: secs(idle_timeout),
                max_connections,
                body_read_timeout: secs(body_timeout),
                ..Default::default()
            };
            let config = match Config::load(&root) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("minilvb: config error: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime(async move { serve(config, listen, limits).await })
        }
        Command::CheckOnline { root } => {
            let config = match Config::load(&root) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("minilvb: config error: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime(async move {
                let app = App::new(config);
                let result = minilvb::check_online::run(&app).await;
                let _ = app.pool.clone().disconnect().await;
                match result {
                    Ok(r) => {
                        println!(
                            "checked {} streams, {} missed, {} taken offline, {} errors",
                            r.checked,
                            r.missed.len(),
                            r.taken_offline.len(),
                            r.errors.len()
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("minilvb: {e}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}

/// A line per request (and the listener's warnings) on stderr; `RUST_LOG` (env-filter syntax)
/// overrides the default `info`. stdout keeps the one listening line scripts wait for.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn runtime(fut: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(fut),
        Err(e) => {
            eprintln!("minilvb: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Seconds from the command line; negative, NaN or huge values are clamped instead of panicking.
fn secs(s: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(std::time::Duration::MAX)
}

async fn serve(config: Config, listen: String, limits: minilvb::server::HttpLimits) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("minilvb: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("minilvb: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = Arc::new(App::new(config));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "minilvb listening on http://{addr}");
    let _ = out.flush();
    match minilvb::server::serve_with_limits(listener, app, limits, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minilvb: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
