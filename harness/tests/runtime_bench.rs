//! Runtime startup benchmark (not a timed test: it asserts nothing about time and is ignored by default).
//!
//! `cargo test -p harness --test runtime_bench -- --ignored --nocapture` (the time goes to MariaDB, docker
//! and the backend, not to the harness code, so a debug build measures the same)
//!
//! For each provider: cold = `Runtime::start` + the first scenario (database + backend ready); warm = one
//! more scenario on the running runtime (the marginal cost); and the RSS of MariaDB and of the backend.
//! The backend is `minilvb` when it is built, else a minimal Perl HTTP server standing in for it.

use std::time::{Duration, Instant};

use tcharness::runtime::{BackendProfile, DbSpec, Runtime, RuntimeKind, SchemaSource};

const PERL_BACKEND: &str = r#"
use strict; use IO::Socket::INET;
my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1) or die;
$| = 1; print "bench backend listening on http://127.0.0.1:", $srv->sockport, "\n";
while (my $c = $srv->accept) { while (my $h = <$c>) { last if $h =~ /^\r?\n$/; }
  print $c "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"; close $c; }
"#;

/// The healthy tenant's OutDefine.php, as the replay derives it from scenarios/tenant.toml.
fn out_define() -> String {
    tcharness::scenario::deployment::outdefine_php(
        &tcharness::cloud::Tenant::healthy(),
        &tcharness::scenario::model::Mutations::default(),
    )
    .expect("the healthy tenant derives an OutDefine.php")
}

const SCHEMA: &str = "CREATE TABLE live_data (userid varchar(128) NOT NULL PRIMARY KEY, status int NOT NULL DEFAULT 0);";

async fn profile() -> (BackendProfile, String, Vec<(String, String)>) {
    let minilvb = BackendProfile::minilvb();
    if let Ok(schema) = minilvb.schema_sql().await
        && schema.contains("CREATE TABLE")
    {
        let files = vec![
            (
                "conf/cdn.inc.ini".to_string(),
                "[COMMON]\nINC=FORMAL\n[FORMAL]\nROUTE=conf/cdn.route.ini\n".to_string(),
            ),
            (
                "conf/cdn.route.ini".to_string(),
                "[DB]\nHOST=127.0.0.1\nDBNAME={dbname}\nUSER=live_user\nPASSWD=live_pwd\nPORT={dbport}\n\
                 [LIVE_WEBSERVICE]\nURL=http://127.0.0.1:9/common_access\nTIMEOUT=3000\n"
                    .to_string(),
            ),
            ("conf/OutDefine.php".to_string(), out_define()),
        ];
        return (minilvb, schema, files);
    }
    let root = "/srv/bench".to_string();
    let argv: Vec<String> = ["perl", "{root}/server.pl", "{port}"]
        .map(String::from)
        .to_vec();
    let profile = BackendProfile {
        name: "perl-bench".to_string(),
        code: None,
        env: Default::default(),
        profile_dir: None,
        ready: Default::default(),
        command: Some(argv.clone()),
        image: Some("local/debian:bookworm".to_string()),
        image_args: argv,
        root,
        log_dir: "log".to_string(),
        health_path: "/interface.php".to_string(),
        ready_line: Some("bench backend listening on http://".to_string()),
        schema: Some(SchemaSource::Sql(SCHEMA.to_string())),
        files: Default::default(),
    };
    let files = vec![("server.pl".to_string(), PERL_BACKEND.to_string())];
    (profile, SCHEMA.to_string(), files)
}

/// The scenario's files with its database filled in.
fn files_for(
    files: &[(String, String)],
    db: &tcharness::runtime::ScenarioDb,
) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(name, text)| {
            let text = text
                .replace("{dbname}", &db.name)
                .replace("{dbport}", &db.port.to_string());
            (name.clone(), text)
        })
        .collect()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Pids of the processes running in a container (tini and what it started).
fn container_pids(id: &str) -> Vec<u32> {
    let out = std::process::Command::new("docker")
        .args(["top", id, "-eo", "pid"])
        .output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    })
    .unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn runtime_startup() {
    let (profile, schema, files) = profile().await;
    let spec = DbSpec {
        name: "live_demo".to_string(),
        user: "live_user".to_string(),
        password: "live_pwd".to_string(),
    };
    println!("backend profile: {}", profile.name);
    for kind in [RuntimeKind::Local, RuntimeKind::Docker] {
        if let Err(e) = Runtime::probe(kind, &profile).await {
            println!("{kind:?}: skipped ({e})");
            continue;
        }
        for round in 0..3 {
            let t0 = Instant::now();
            let rt = Runtime::start(kind, profile.clone())
                .await
                .expect("runtime");
            let t_rt = t0.elapsed();
            let db = rt.database(&spec, &schema).await.expect("db");
            let backend = rt
                .start_backend(&files_for(&files, &db))
                .await
                .expect("backend");
            let cold = t0.elapsed();
            let mut marginal = Vec::new();
            let mut keep = Vec::new();
            for _ in 0..3 {
                let t1 = Instant::now();
                let db2 = rt.database(&spec, &schema).await.expect("db2");
                let b2 = rt
                    .start_backend(&files_for(&files, &db2))
                    .await
                    .expect("backend2");
                marginal.push(t1.elapsed());
                keep.push((db2, b2));
            }
            let (db_rss, be_rss) = match kind {
                RuntimeKind::Local => (
                    rt.server_pids()
                        .await
                        .iter()
                        .map(|p| rss_kib(*p))
                        .sum::<u64>(),
                    backend.pid().map(rss_kib).unwrap_or(0),
                ),
                _ => (
                    rt.server_containers()
                        .await
                        .iter()
                        .flat_map(|id| container_pids(id))
                        .map(rss_kib)
                        .sum::<u64>(),
                    backend
                        .container_id()
                        .map(|id| container_pids(&id).into_iter().map(rss_kib).sum())
                        .unwrap_or(0),
                ),
            };
            println!(
                "{kind:?} round {round}: runtime up {}, cold (runtime + first scenario ready) {}, \
                 one more scenario {}, MariaDB RSS {} MiB, backend RSS {} MiB",
                ms(t_rt),
                ms(cold),
                marginal
                    .iter()
                    .map(|d| ms(*d))
                    .collect::<Vec<_>>()
                    .join(" / "),
                db_rss / 1024,
                be_rss / 1024
            );
            drop(keep);
            drop(backend);
            drop(db);
            let t2 = Instant::now();
            drop(rt);
            println!("{kind:?} round {round}: teardown {}", ms(t2.elapsed()));
        }
    }
}
