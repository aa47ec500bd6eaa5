//! `tcharness`: replays the Mini LVB FAQ against an emulated Tencent Cloud.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use harness::cloud::cos::{Cos, CosOptions};
use harness::cloud::{self, CloudContext, CloudOptions, Services, Shutdown, Tenant};
use harness::runtime::{BackendProfile, RuntimeKind};
use harness::scenario::deployment::{self, Placeholders};
use harness::scenario::replay::{Outcome, ReplayError, ReplayOptions, Replayer};
use harness::scenario::{check, diagnose, model, snapshot};
use harness::terminal::Pusher;

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
    /// Replays scenarios (default: all of scenarios/) and compares each transcript with its snapshot.
    Replay {
        /// Scenario files or directories.
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = RuntimeKind::Auto)]
        runtime: RuntimeKind,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The RTMP publisher of the app.
        #[arg(long, value_enum, default_value_t = Pusher::Builtin)]
        pusher: Pusher,
        /// Write the new transcripts as the accepted snapshots.
        #[arg(long)]
        accept: bool,
        /// Scenarios replayed at once (most of a replay is waiting on the network, so more than the cores).
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// Where the snapshots live.
        #[arg(long, default_value = "snapshots")]
        snapshots: PathBuf,
        /// A backend profile file (default: the built-in minilvb).
        #[arg(long)]
        profile: Option<PathBuf>,
    },
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
    /// Runs the emulated cloud alone; the first stdout line is one JSON object with every endpoint and the
    /// tenant's ids and keys.
    Serve {
        /// The account to emulate (default: the healthy tenant).
        #[arg(long)]
        tenant: Option<PathBuf>,
        /// HTTP listen address (every Tencent HTTP host name should resolve here).
        #[arg(long, default_value = "127.0.0.1:0")]
        http: String,
        /// RTMP listen address (`*.livepush.myqcloud.com` should resolve here).
        #[arg(long, default_value = "127.0.0.1:0")]
        rtmp: String,
        /// Seconds between callback attempts.
        #[arg(long, default_value_t = 3.0)]
        callback_retry_secs: f64,
        /// The backend's `host:port`, filled into `{backend}` of the console's callback URL.
        #[arg(long, default_value = "127.0.0.1:80")]
        backend: String,
        /// Keep COS objects in this directory across restarts (default: in memory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
        Command::Replay {
            paths,
            runtime,
            format,
            pusher,
            accept,
            jobs,
            snapshots,
            profile,
        } => replay_cmd(
            paths, runtime, format, pusher, accept, jobs, snapshots, profile,
        ),
        Command::Serve {
            tenant,
            http,
            rtmp,
            callback_retry_secs,
            backend,
            data_dir,
        } => serve(
            tenant.as_deref(),
            &http,
            &rtmp,
            callback_retry_secs,
            &backend,
            data_dir,
        ),
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

fn serve(
    tenant: Option<&Path>,
    http: &str,
    rtmp: &str,
    retry_secs: f64,
    backend: &str,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let tenant = match tenant {
        Some(p) => Tenant::load(p)?,
        None => Tenant::healthy(),
    };
    let filled = Placeholders {
        backend: backend.to_string(),
        ..Placeholders::default()
    };
    let tenant = deployment::console(&tenant, &model::Mutations::default(), &filled)?;
    let options = CloudOptions {
        callback_retry_interval: std::time::Duration::from_secs_f64(retry_secs.max(0.0)),
        ..CloudOptions::default()
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let http = tokio::net::TcpListener::bind(http)
            .await
            .with_context(|| format!("cannot listen on {http}"))?;
        let rtmp = tokio::net::TcpListener::bind(rtmp)
            .await
            .with_context(|| format!("cannot listen on {rtmp}"))?;
        let (http_addr, rtmp_addr) = (http.local_addr()?, rtmp.local_addr()?);
        let banner = serve_banner(&tenant, http_addr, rtmp_addr);
        let ctx = CloudContext::new(tenant, options);
        let cos_options = CosOptions {
            data_dir,
            ..CosOptions::default()
        };
        let cos = Cos::with_options(ctx.clone(), cos_options)
            .context("cannot open the COS data directory")?;
        let services = Services::with_cos(ctx, cos);
        let (trigger, shutdown) = Shutdown::new();
        println!("{banner}");
        let server = tokio::spawn(cloud::serve(http, rtmp, services, shutdown));
        tokio::signal::ctrl_c().await?;
        eprintln!("shutting down");
        trigger.trigger();
        server.await??;
        Ok(ExitCode::SUCCESS)
    })
}

/// The first line `serve` prints: every endpoint and the tenant's ids and keys, as one JSON object.
fn serve_banner(
    t: &Tenant,
    http: std::net::SocketAddr,
    rtmp: std::net::SocketAddr,
) -> serde_json::Value {
    let bucket_hosts: Vec<serde_json::Value> = t
        .cos
        .buckets
        .iter()
        .map(|b| {
            serde_json::json!({
                "bucket": b.name, "appid": b.appid, "region": b.region, "generation": b.generation,
                "cdn": b.cdn,
                "api": format!("http://{}.file.myqcloud.com/files/v2/{}/{}/", b.region, b.appid, b.name),
                "source": format!("http://{}-{}.cos{}.myqcloud.com/", b.name, b.appid, b.region),
                "cdn_domain": format!("http://{}-{}.file.myqcloud.com/", b.name, b.appid),
            })
        })
        .collect();
    serde_json::json!({
        "http": http.to_string(),
        "rtmp": rtmp.to_string(),
        "resolve": {
            "*.myqcloud.com, fcgi.video.qcloud.com, tls.qcloud.com, *.tim.qq.com": http.to_string(),
            "*.livepush.myqcloud.com:1935": rtmp.to_string(),
        },
        "common_access": format!("http://{http}/common_access"),
        "lvb": {
            "appid": t.lvb.appid, "bizid": t.lvb.bizid, "push_key": t.lvb.push_key, "api_key": t.lvb.api_key,
            "callback_url": t.lvb.callback_url,
            "push_domain": format!("{}.livepush.myqcloud.com", t.lvb.bizid),
            "play_domain": format!("{}.liveplay.myqcloud.com", t.lvb.bizid),
        },
        "cos": { "appid": t.cos.appid, "keys": t.cos.keys, "buckets": bucket_hosts },
        "im": {
            "apps": t.im.apps.iter().map(|a| serde_json::json!({
                "sdkappid": a.sdkappid, "account_type": a.account_type, "secret_key": a.secret_key,
            })).collect::<Vec<_>>(),
            "registration": "http://tls.qcloud.com/v1/strreg",
            "login": "http://openim.tim.qq.com/v1/login",
        },
    })
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

/// How one replayed scenario compares with what was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Pass,
    Accepted,
    NewSnapshot,
    SnapshotDiffers,
    SymptomMissing,
    Error,
}

#[derive(serde::Serialize)]
struct Row {
    id: String,
    faq: String,
    verdict: Verdict,
    seconds: f64,
    symptom: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn replay_cmd(
    paths: Vec<PathBuf>,
    runtime: RuntimeKind,
    format: Format,
    pusher: Pusher,
    accept: bool,
    jobs: usize,
    snapshots: PathBuf,
    profile: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths
    };
    let scenarios = model::load_paths(&paths)?;
    anyhow::ensure!(!scenarios.is_empty(), "no scenario found under {paths:?}");
    let mut options = ReplayOptions::new(runtime);
    options.pusher = pusher;
    if let Some(p) = profile {
        options.profile = BackendProfile::load(&p)?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    let started = std::time::Instant::now();
    let rows = rt.block_on(async {
        let replayer = std::sync::Arc::new(Replayer::start(options).await?);
        eprintln!(
            "runtime: {:?} ({}); {} scenarios, {} at once",
            replayer.runtime_kind(),
            replayer.runtime_reason(),
            scenarios.len(),
            jobs.max(1)
        );
        let bar = indicatif::ProgressBar::new(scenarios.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        let mut tasks = Vec::new();
        for s in scenarios.iter().cloned() {
            let (replayer, gate, bar) = (replayer.clone(), gate.clone(), bar.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire_owned().await;
                bar.set_message(s.id.clone());
                let out = replayer.replay(&s).await;
                bar.inc(1);
                (s, out)
            }));
        }
        let mut rows = Vec::new();
        for t in tasks {
            let (s, out) = t.await?;
            rows.push(judge(&s, out, &snapshots, accept));
        }
        bar.finish_and_clear();
        anyhow::Ok(rows)
    })?;
    let failed = rows
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Accepted))
        .count();
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Junit => println!("{}", junit(&rows, started.elapsed().as_secs_f64())),
        Format::Text => {
            for r in rows
                .iter()
                .filter(|r| r.diff.is_some() || r.error.is_some() || !r.missing.is_empty())
            {
                println!("── {} ({:?})", r.id, r.verdict);
                if let Some(e) = &r.error {
                    println!("{e}");
                }
                if !r.missing.is_empty() {
                    println!("transcript lacks: {:?}", r.missing);
                }
                if let Some(d) = &r.diff {
                    println!("{d}");
                }
            }
            println!(
                "{:<34} {:<7} {:<17} {:>6}  SYMPTOM",
                "SCENARIO", "FAQ", "RESULT", "SECS"
            );
            for r in &rows {
                println!(
                    "{:<34} {:<7} {:<17} {:>6.1}  {}",
                    r.id,
                    r.faq,
                    format!("{:?}", r.verdict),
                    r.seconds,
                    r.symptom
                );
            }
            println!(
                "{} scenarios, {} failed, {:.1} s",
                rows.len(),
                failed,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn judge(s: &model::Scenario, out: Result<Outcome, ReplayError>, dir: &Path, accept: bool) -> Row {
    let mut row = Row {
        id: s.id.clone(),
        faq: s.faq.clone(),
        verdict: Verdict::Pass,
        seconds: 0.0,
        symptom: s.expect.symptom.clone(),
        missing: Vec::new(),
        diff: None,
        error: None,
    };
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            row.verdict = Verdict::Error;
            row.error = Some(e.to_string());
            return row;
        }
    };
    row.seconds = out.elapsed.as_secs_f64();
    let path = snapshot::snapshot_path(dir, &s.id);
    let accepted = snapshot::read_snapshot(&path);
    let same = accepted
        .as_deref()
        .is_some_and(|a| snapshot::same(a, &out.transcript));
    if !same {
        if accept {
            row.verdict = match snapshot::write_snapshot(&path, &out.transcript) {
                Ok(()) => Verdict::Accepted,
                Err(e) => {
                    row.error = Some(format!("cannot write {}: {e}", path.display()));
                    Verdict::Error
                }
            };
        } else {
            row.verdict = if accepted.is_some() {
                Verdict::SnapshotDiffers
            } else {
                Verdict::NewSnapshot
            };
            row.diff = Some(snapshot::diff(
                accepted.as_deref().unwrap_or(""),
                &out.transcript,
            ));
        }
    }
    if !out.symptom_ok() {
        row.verdict = Verdict::SymptomMissing;
        row.missing = out
            .missing
            .iter()
            .chain(out.unexpected.iter())
            .cloned()
            .collect();
    }
    row
}

fn junit(rows: &[Row], secs: f64) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = rows
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Accepted))
        .count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"faq\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">\n",
        rows.len(),
        failures,
        secs
    );
    for r in rows {
        x.push_str(&format!(
            "  <testcase classname=\"faq.{}\" name=\"{}\" time=\"{:.3}\"",
            esc(&r.faq),
            esc(&r.id),
            r.seconds
        ));
        if matches!(r.verdict, Verdict::Pass | Verdict::Accepted) {
            x.push_str("/>\n");
        } else {
            let body = [
                r.error.clone(),
                r.diff.clone(),
                (!r.missing.is_empty()).then(|| format!("transcript lacks {:?}", r.missing)),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n");
            x.push_str(&format!(
                ">\n    <failure message=\"{:?}\">{}</failure>\n  </testcase>\n",
                r.verdict,
                esc(&body)
            ));
        }
    }
    x.push_str("</testsuite>\n");
    x
}
