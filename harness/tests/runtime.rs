//! The runtime suite, run against both providers: private databases, backends from profiles (a customer's
//! own backend, written in Perl here, and the reference `minilvb` when it is built), restarts, startup
//! failures, and no leftovers after a panic or a killed run.
//!
//! Docker cases run where an engine answers and the images exist (scripts/images.sh); with
//! `TCHARNESS_REQUIRE_DOCKER=1` (set by scripts/test.sh when it runs an engine) a missing engine fails them.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use rstest::rstest;
use tcharness::runtime::process::pid_alive;
use tcharness::runtime::sweep::{containers_of, owner_id};
mod runtime_support;

use runtime_support::{Resume, runtime, tenant_db};
use tcharness::runtime::{
    BackendProfile, DbSpec, Runtime, RuntimeError, RuntimeKind, SchemaSource,
};

const SCHEMA: &str = "CREATE TABLE live_data (userid varchar(128) NOT NULL PRIMARY KEY, \
     status int NOT NULL DEFAULT 0, title varchar(128) NULL);\n\
     CREATE TABLE tape_data (userid varchar(50) NOT NULL, file_id varchar(150) NOT NULL, \
     PRIMARY KEY (userid, file_id));";

/// A customer's own backend: a tiny HTTP server that logs each request line into log/ and echoes the
/// configured DB name, so tests can see the files arrived.
const PERL_BACKEND: &str = r#"
use strict; use warnings; use IO::Socket::INET;
my ($port, $root) = @ARGV;
if (-e "$root/conf/broken") { print STDERR "conf/broken: refusing to start\n"; exit 2; }
my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $port, Listen => 16, ReuseAddr => 1)
    or die "cannot listen on $port: $!";
$| = 1;
print "perl backend listening on http://127.0.0.1:", $srv->sockport, "\n";
while (my $c = $srv->accept) {
    my $req = <$c> // ""; $req =~ s/\r?\n$//;
    while (my $h = <$c>) { last if $h =~ /^\r?\n$/; }
    open(my $log, ">>", "$root/log/interface_info.log") or die; print $log "request:$req\n"; close $log;
    my $db = "";
    if (open(my $f, "<", "$root/conf/cdn.route.ini")) { while (<$f>) { $db = $1 if /^DBNAME=(\S+)/; } close $f; }
    my $body = "{\"returnValue\":4001,\"dbname\":\"$db\"}";
    print $c "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " . length($body)
        . "\r\nConnection: close\r\n\r\n$body";
    close $c;
}
"#;

fn perl_profile(ready_line: bool) -> BackendProfile {
    let root = "/srv/customer".to_string();
    BackendProfile {
        name: "perl-customer".to_string(),
        code: None,
        env: Default::default(),
        profile_dir: None,
        ready: Default::default(),
        command: Some(
            ["perl", "{root}/server.pl", "{port}", "{root}"]
                .map(String::from)
                .to_vec(),
        ),
        image: Some("local/debian:bookworm".to_string()),
        image_args: ["perl", "{root}/server.pl", "{port}", "{root}"]
            .map(String::from)
            .to_vec(),
        root,
        log_dir: "log".to_string(),
        health_path: "/interface.php".to_string(),
        ready_line: ready_line.then(|| "perl backend listening on http://".to_string()),
        schema: Some(SchemaSource::Sql(SCHEMA.to_string())),
        files: Default::default(),
    }
}

fn backend_files(dbname: &str) -> Vec<(String, String)> {
    vec![
        ("server.pl".to_string(), PERL_BACKEND.to_string()),
        (
            "conf/cdn.route.ini".to_string(),
            format!("[DB]\nHOST=127.0.0.1\nDBNAME={dbname}\n"),
        ),
    ]
}

async fn get(url: &str) -> Result<(u16, String), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await.map_err(|e| e.to_string())?))
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_databases_are_private_and_reachable_as_the_tenant_user(
    #[case] kind: RuntimeKind,
) {
    let Some(rt) = runtime(kind, perl_profile(true)).await else {
        return;
    };
    assert_eq!(rt.kind(), kind);
    let a = rt.database(&tenant_db(), SCHEMA).await.expect("database a");
    let b = rt.database(&tenant_db(), SCHEMA).await.expect("database b");
    assert_eq!(a.name, "live_demo");
    assert_eq!(b.name, "live_demo_2");
    assert_eq!(
        (a.host.as_str(), a.port),
        (b.host.as_str(), b.port),
        "one shared server"
    );

    // The backend's way in: TCP to 127.0.0.1 as live_user with the tenant's password.
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(a.host.clone())
        .tcp_port(a.port)
        .user(Some("live_user"))
        .pass(Some("live_pwd"))
        .db_name(Some(a.name.clone()));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .expect("live_user logs in over TCP");
    conn.query_drop(
        "INSERT INTO live_data (userid, status, title) VALUES ('anchor01', 1, 'it''s live')",
    )
    .await
    .expect("insert");
    let tz: Option<String> = conn.query_first("SELECT @@time_zone").await.expect("tz");
    assert_eq!(tz.as_deref(), Some("+08:00"));
    drop(conn);

    let rows_a = a
        .query_rows("SELECT userid, status, title FROM live_data")
        .await
        .expect("rows a");
    assert_eq!(rows_a.len(), 1);
    assert_eq!(rows_a[0]["userid"], serde_json::json!("anchor01"));
    assert_eq!(rows_a[0]["status"], serde_json::json!(1));
    assert_eq!(rows_a[0]["title"], serde_json::json!("it's live"));
    let rows_b = b
        .query_rows("SELECT * FROM live_data")
        .await
        .expect("rows b");
    assert!(rows_b.is_empty(), "scenario b sees a's data: {rows_b:?}");
    let tables = b.query_rows("SHOW TABLES").await.expect("tables");
    assert_eq!(tables.len(), 2, "schema applied in b: {tables:?}");

    // A bad query is an error, not a panic.
    assert!(a.query_rows("SELEC nonsense").await.is_err());

    // A dropped scenario frees its name once its database is gone.
    drop(a);
    let mut reused = None;
    for _ in 0..50 {
        let c = rt.database(&tenant_db(), SCHEMA).await.expect("database c");
        if c.name == "live_demo" {
            reused = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = reused.expect("the name live_demo is reused after the drop");
    assert!(
        c.query_rows("SELECT * FROM live_data")
            .await
            .expect("rows c")
            .is_empty()
    );
}

/// A stopped MariaDB (SIGSTOP: the kernel still accepts the TCP connection, the server never answers) makes
/// the scenario's DB work fail within the bound with an error naming the server; once it runs again the next
/// scenario gets its database and facts as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_mariadb_fails_within_the_bound_and_the_next_scenario_passes() {
    let Some(rt) = runtime(RuntimeKind::Local, perl_profile(true)).await else {
        return;
    };
    let a = rt.database(&tenant_db(), SCHEMA).await.expect("database a");
    assert!(a.query_rows("SELECT * FROM live_data").await.is_ok());
    let pid = a
        .server_pid()
        .expect("the local provider runs mariadbd as a child") as i32;

    // SAFETY: as in Resume.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGSTOP) },
        0,
        "SIGSTOP mariadbd"
    );
    let resume = Resume(pid);
    let started = std::time::Instant::now();
    let facts = a.query_rows("SELECT * FROM live_data").await;
    let waited = started.elapsed();
    let err = facts.expect_err("a stopped server cannot answer");
    assert!(
        matches!(err, RuntimeError::DbTimeout { .. }),
        "a timeout, not another error: {err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("MariaDB at 127.0.0.1:{} did not answer within 10 s", a.port)
    );
    // The bound is the one that fired (not some later one): one connect, well before twice the bound.
    assert!(
        waited >= tcharness::runtime::db::DB_TIMEOUT
            && waited < 2 * tcharness::runtime::db::DB_TIMEOUT,
        "failed after {waited:?}"
    );
    // A new scenario's set-up is bounded too.
    let err = rt
        .database(&tenant_db(), SCHEMA)
        .await
        .expect_err("no database from a stopped server");
    assert!(matches!(err, RuntimeError::DbTimeout { .. }), "{err:?}");

    drop(resume);
    let b = rt
        .database(&tenant_db(), SCHEMA)
        .await
        .expect("the next scenario's database once the server runs again");
    let conn_opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(b.host.clone())
        .tcp_port(b.port)
        .user(Some("live_user"))
        .pass(Some("live_pwd"))
        .db_name(Some(b.name.clone()));
    let mut conn = mysql_async::Conn::new(conn_opts)
        .await
        .expect("tenant login");
    conn.query_drop("INSERT INTO live_data (userid, status) VALUES ('anchor02', 1)")
        .await
        .expect("insert");
    drop(conn);
    let rows = b
        .query_rows("SELECT userid, status FROM live_data")
        .await
        .expect("facts of the next scenario");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["userid"], serde_json::json!("anchor02"));
    assert!(
        a.query_rows("SELECT 1").await.is_ok(),
        "the first handle works again"
    );
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_with_another_password_gets_its_own_server(#[case] kind: RuntimeKind) {
    let Some(rt) = runtime(kind, perl_profile(true)).await else {
        return;
    };
    let a = rt.database(&tenant_db(), SCHEMA).await.expect("a");
    let other = DbSpec {
        password: "another".to_string(),
        ..tenant_db()
    };
    let b = rt.database(&other, SCHEMA).await.expect("b");
    assert_ne!(a.port, b.port);
    assert_eq!(b.name, "live_demo");
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(b.host.clone())
        .tcp_port(b.port)
        .user(Some("live_user"))
        .pass(Some("another"))
        .db_name(Some(b.name.clone()));
    mysql_async::Conn::new(opts)
        .await
        .expect("live_user/another logs in to the second server");
}

#[rstest]
#[case::local_announced(RuntimeKind::Local, true)]
#[case::local_probed_port(RuntimeKind::Local, false)]
#[case::docker_announced(RuntimeKind::Docker, true)]
#[case::docker_probed_port(RuntimeKind::Docker, false)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_backend_serves_logs_and_restarts_on_the_same_port(
    #[case] kind: RuntimeKind,
    #[case] ready_line: bool,
) {
    let Some(rt) = runtime(kind, perl_profile(ready_line)).await else {
        return;
    };
    let db = rt.database(&tenant_db(), SCHEMA).await.expect("db");
    let mut backend = rt
        .start_backend(&backend_files(&db.name))
        .await
        .expect("backend starts");
    let base = backend.base_url().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let (status, body) = get(&format!("{base}/interface.php")).await.expect("health");
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"returnValue":4001,"dbname":"live_demo"}"#);
    let stdout = backend.stdout().await;
    assert!(
        stdout.contains("perl backend listening on http://127.0.0.1:"),
        "{stdout:?}"
    );
    let logs = backend.log_files().expect("logs");
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].0, "interface_info.log");
    assert!(
        logs[0].1.contains("request:GET /interface.php HTTP/1.1"),
        "{}",
        logs[0].1
    );

    backend.restart().await.expect("restart");
    assert_eq!(backend.base_url(), base, "same port after restart");
    get(&format!("{base}/again"))
        .await
        .expect("serves after restart");
    let logs = backend.log_files().expect("logs");
    assert!(
        logs[0].1.contains("request:GET /again"),
        "log kept across restart: {}",
        logs[0].1
    );

    backend.stop().await.expect("stop");
    assert!(
        get(&format!("{base}/interface.php")).await.is_err(),
        "stopped backend still answers"
    );
    backend.stop().await.expect("a second stop is harmless");
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_refuses_its_config_reports_exit_code_and_stderr(#[case] kind: RuntimeKind) {
    let Some(rt) = runtime(kind, perl_profile(true)).await else {
        return;
    };
    let mut files = backend_files("live_demo");
    files.push(("conf/broken".to_string(), String::new()));
    match rt.start_backend(&files).await {
        Err(RuntimeError::BackendExited { status, stderr }) => {
            assert_eq!(status, Some(2));
            assert!(
                stderr.contains("conf/broken: refusing to start"),
                "{stderr}"
            );
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(b) => panic!("backend started at {}", b.base_url()),
    }
    // A path escaping the root is refused before anything runs.
    let escape = vec![("../outside".to_string(), String::new())];
    assert!(matches!(
        rt.start_backend(&escape).await,
        Err(RuntimeError::BadFile { .. })
    ));
}

/// True when `minilvb` is built and implements the contract (its schema prints CREATE TABLE).
async fn minilvb_available() -> Option<String> {
    let schema = BackendProfile::minilvb().schema_sql().await.ok()?;
    schema.contains("CREATE TABLE").then_some(schema)
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_backend_runs_on_its_schema(#[case] kind: RuntimeKind) {
    let Some(schema) = minilvb_available().await else {
        eprintln!("skipping: minilvb is not built yet (cargo build -p minilvb)");
        return;
    };
    let Some(rt) = runtime(kind, BackendProfile::minilvb()).await else {
        return;
    };
    let db = rt
        .database(&tenant_db(), &schema)
        .await
        .expect("db with minilvb's schema");
    let tables = db.query_rows("SHOW TABLES").await.expect("tables");
    let names: Vec<String> = tables
        .iter()
        .filter_map(|r| r.values().next().and_then(|v| v.as_str()).map(String::from))
        .collect();
    for table in ["group_info", "live_data", "tape_data"] {
        assert!(
            names.iter().any(|n| n == table),
            "{table} missing in {names:?}"
        );
    }
    let route = format!(
        "[DB]\nHOST=127.0.0.1\nPORT={}\nDBNAME={}\nUSER=live_user\nPASSWD=live_pwd\n\
         [LIVE_WEBSERVICE]\nURL=http://127.0.0.1:9/common_access\nTIMEOUT=3000\n",
        db.port, db.name
    );
    let inc = "[COMMON]\nINC=FORMAL\n[FORMAL]\nROUTE=conf/cdn.route.ini\n".to_string();
    let files = vec![
        ("conf/cdn.route.ini".to_string(), route),
        ("conf/cdn.inc.ini".to_string(), inc),
        ("conf/OutDefine.php".to_string(), out_define()),
    ];
    let mut backend = match rt.start_backend(&files).await {
        Ok(b) => b,
        // The backend is being written alongside; its config reading is not this suite's subject.
        Err(RuntimeError::BackendExited { status, stderr }) => {
            eprintln!("skipping: minilvb refused the sample config ({status:?}): {stderr}");
            return;
        }
        Err(e) => panic!("minilvb did not start: {e}"),
    };
    let (status, body) = get(&format!("{}/interface.php", backend.base_url()))
        .await
        .expect("health");
    assert_eq!(status, 200);
    assert!(body.contains("4001"), "{body}");
    backend.restart().await.expect("restart");
    assert_eq!(
        get(&format!("{}/interface.php", backend.base_url()))
            .await
            .map(|r| r.0),
        Ok(200)
    );
}

/// The healthy tenant's OutDefine.php, as the replay derives it from scenarios/tenant.toml.
fn out_define() -> String {
    tcharness::scenario::deployment::outdefine_php(
        &tcharness::cloud::Tenant::healthy(),
        &tcharness::scenario::model::Mutations::default(),
    )
    .expect("the healthy tenant derives an OutDefine.php")
}

/// Everything a run started, to check afterwards.
#[derive(Debug, Default)]
struct Started {
    pids: Vec<u32>,
    containers: Vec<String>,
    run_dir: std::path::PathBuf,
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_survives_a_panicking_test(#[case] kind: RuntimeKind) {
    if let Err(e) = Runtime::probe(kind, &perl_profile(true)).await {
        assert!(
            std::env::var("TCHARNESS_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "{e}"
        );
        eprintln!("skipping: {e}");
        return;
    }
    let started = std::sync::Arc::new(std::sync::Mutex::new(Started::default()));
    let record = started.clone();
    let outcome = tokio::spawn(async move {
        let rt = Runtime::start(kind, perl_profile(true))
            .await
            .expect("runtime");
        let _db = rt.database(&tenant_db(), SCHEMA).await.expect("db");
        let backend = rt
            .start_backend(&backend_files("live_demo"))
            .await
            .expect("backend");
        let mut pids = rt.server_pids().await;
        pids.extend(backend.pid());
        let mut containers = rt.server_containers().await;
        containers.extend(backend.container_id());
        if let Ok(mut s) = record.lock() {
            *s = Started {
                pids,
                containers,
                run_dir: rt.run_dir().to_path_buf(),
            };
        }
        panic!("the scenario failed");
    })
    .await;
    assert!(outcome.is_err_and(|e| e.is_panic()));
    let started = std::mem::take(&mut *started.lock().expect("record"));
    let expected = if kind == RuntimeKind::Local { 2 } else { 0 };
    assert_eq!(started.pids.len(), expected, "{started:?}");
    assert_eq!(started.containers.len(), 2 - expected, "{started:?}");
    // Killing is synchronous in Drop, but the kernel reaps asynchronously: allow a moment.
    for _ in 0..100 {
        if started.pids.iter().all(|p| !pid_alive(*p)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in &started.pids {
        assert!(!pid_alive(*pid), "process {pid} survived the panic");
    }
    assert!(
        !started.run_dir.exists(),
        "{} survived the panic",
        started.run_dir.display()
    );
    let left = containers_of(&owner_id()).await;
    for id in &started.containers {
        assert!(
            !left.iter().any(|l| id.starts_with(l.as_str())),
            "container {id} survived the panic"
        );
    }
}

/// Run as a child process by `a_killed_run_leaves_nothing_after_the_next_start`: starts a runtime, a
/// database and a backend, prints what it started, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper process of a_killed_run_leaves_nothing_after_the_next_start"]
async fn helper_run_until_killed() {
    let kind = match std::env::var("TCHARNESS_HELPER_KIND").as_deref() {
        Ok("docker") => RuntimeKind::Docker,
        Ok("local") => RuntimeKind::Local,
        _ => return,
    };
    let rt = Runtime::start(kind, perl_profile(true))
        .await
        .expect("runtime");
    let _db = rt.database(&tenant_db(), SCHEMA).await.expect("db");
    let backend = rt
        .start_backend(&backend_files("live_demo"))
        .await
        .expect("backend");
    let mut pids: Vec<String> = rt.server_pids().await.iter().map(u32::to_string).collect();
    pids.extend(backend.pid().map(|p| p.to_string()));
    let mut containers = rt.server_containers().await;
    containers.extend(backend.container_id());
    println!(
        "STARTED {} pids={} containers={}",
        rt.run_dir().display(),
        pids.join(","),
        containers.join(",")
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_leaves_nothing_after_the_next_start(#[case] kind: RuntimeKind) {
    use tokio::io::AsyncBufReadExt;
    if let Err(e) = Runtime::probe(kind, &perl_profile(true)).await {
        assert!(
            std::env::var("TCHARNESS_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "{e}"
        );
        eprintln!("skipping: {e}");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "helper_run_until_killed",
            "--nocapture",
        ])
        .env(
            "TCHARNESS_HELPER_KIND",
            if kind == RuntimeKind::Docker {
                "docker"
            } else {
                "local"
            },
        )
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("helper starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let started = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("STARTED ") {
                return Some(rest.to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("helper reports what it started");
    let mut parts = started.split(' ');
    let run_dir = std::path::PathBuf::from(parts.next().unwrap_or_default());
    let list = |p: Option<&str>, key: &str| -> Vec<String> {
        p.and_then(|s| s.strip_prefix(key))
            .map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let pids: Vec<u32> = list(parts.next(), "pids=")
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let containers = list(parts.next(), "containers=");
    let owner = std::fs::read_to_string(run_dir.join("owner")).expect("owner file");
    assert_eq!(pids.len() + containers.len(), 2, "{started}");

    // SIGKILL: no Drop runs in the helper.
    child.kill().await.expect("kill the helper");
    let _ = child.wait().await;
    // Local children die with their parent (death signal), before any sweep.
    for _ in 0..100 {
        if pids.iter().all(|p| !pid_alive(*p)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for pid in &pids {
        assert!(!pid_alive(*pid), "process {pid} outlived its killed run");
    }
    if kind == RuntimeKind::Docker {
        assert!(
            !containers_of(owner.trim()).await.is_empty(),
            "containers outlive a SIGKILL"
        );
    }

    // The next run sweeps the rest, whichever provider it uses: the other one when it is available.
    let other = match kind {
        RuntimeKind::Docker => RuntimeKind::Local,
        _ => RuntimeKind::Docker,
    };
    let next_kind = match Runtime::probe(other, &perl_profile(true)).await {
        Ok(_) => other,
        Err(_) => kind,
    };
    let _next = Runtime::start(next_kind, perl_profile(true))
        .await
        .expect("next runtime");
    assert!(
        !run_dir.exists(),
        "{} survived the next start",
        run_dir.display()
    );
    assert_eq!(containers_of(owner.trim()).await, Vec::<String>::new());
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_scenarios_share_one_server_and_stay_apart(#[case] kind: RuntimeKind) {
    let Some(rt) = runtime(kind, perl_profile(true)).await else {
        return;
    };
    let scenario = |i: usize| {
        let rt = &rt;
        async move {
            let db = rt.database(&tenant_db(), SCHEMA).await.expect("db");
            let backend = rt
                .start_backend(&backend_files(&db.name))
                .await
                .expect("backend");
            let insert = format!("INSERT INTO live_data (userid) VALUES ('anchor{i}')");
            db.query_rows(&insert).await.expect("insert");
            let (_, body) = get(&format!("{}/interface.php", backend.base_url()))
                .await
                .expect("health");
            (db, backend, body)
        }
    };
    let results = futures::future::join_all((0..4).map(scenario)).await;
    let mut names: Vec<&str> = results.iter().map(|(db, _, _)| db.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["live_demo", "live_demo_2", "live_demo_3", "live_demo_4"]
    );
    let mut urls: Vec<&str> = results.iter().map(|(_, b, _)| b.base_url()).collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 4, "one backend each");
    for (db, _, body) in &results {
        assert!(
            body.contains(&format!("\"dbname\":\"{}\"", db.name)),
            "{body}"
        );
        let rows = db
            .query_rows("SELECT userid FROM live_data")
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1, "{}: {rows:?}", db.name);
    }
    assert_eq!(
        rt.server_pids().await.len() + rt.server_containers().await.len(),
        1
    );
}

/// A runtime outliving the tokio runtime it was made in (e.g. dropped by a static at exit) still removes its
/// containers and processes.
#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
fn a_runtime_dropped_outside_tokio_leaves_nothing(#[case] kind: RuntimeKind) {
    let tokio_rt = tokio::runtime::Runtime::new().expect("tokio");
    let started = tokio_rt.block_on(async {
        if let Err(e) = Runtime::probe(kind, &perl_profile(true)).await {
            assert!(
                std::env::var("TCHARNESS_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "{e}"
            );
            eprintln!("skipping: {e}");
            return None;
        }
        let rt = Runtime::start(kind, perl_profile(true))
            .await
            .expect("runtime");
        let backend = rt
            .start_backend(&backend_files("live_demo"))
            .await
            .expect("backend");
        let mut pids = rt.server_pids().await;
        pids.extend(backend.pid());
        let mut containers = rt.server_containers().await;
        containers.extend(backend.container_id());
        Some((rt, backend, pids, containers))
    });
    let Some((rt, backend, pids, containers)) = started else {
        return;
    };
    drop(tokio_rt);
    let run_dir = rt.run_dir().to_path_buf();
    drop(backend);
    drop(rt);
    assert!(!run_dir.exists(), "{}", run_dir.display());
    // SIGKILL is delivered at once but reaped asynchronously: poll briefly.
    for _ in 0..100 {
        if pids.iter().all(|p| !pid_alive(*p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for pid in &pids {
        assert!(!pid_alive(*pid), "process {pid} survived");
    }
    let out = std::process::Command::new("docker")
        .args(["ps", "-aq", "--no-trunc"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for id in &containers {
        assert!(!out.contains(id.as_str()), "container {id} survived");
    }
}
