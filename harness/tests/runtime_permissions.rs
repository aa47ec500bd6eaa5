//! What a run exposes to the other users of the machine and what a scenario's SQL may do: root of each
//! MariaDB has a password of its own, `mariadbd` does not run as root, a scenario's schema and fact queries
//! run as its own account (no `LOAD_FILE`, no `INTO OUTFILE`), and the deployment's files (the tenant's
//! secrets) are readable by their owner only.

use std::os::unix::fs::PermissionsExt;

use rstest::rstest;

mod runtime_support;

use runtime_support::{runtime, tenant_db};
use tcharness::runtime::{BackendProfile, RuntimeError, RuntimeKind, SchemaSource};

const SCHEMA: &str = "CREATE TABLE live_data (userid varchar(128) NOT NULL PRIMARY KEY);";

fn profile() -> BackendProfile {
    BackendProfile {
        name: "perl-ok".to_string(),
        code: None,
        env: Default::default(),
        profile_dir: None,
        ready: Default::default(),
        command: Some(
            [
                "perl",
                "-MIO::Socket::INET",
                "-e",
                "my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0], Listen => 8, \
                 ReuseAddr => 1) or die $!; while (my $c = $s->accept) { while (<$c>) { last if /^\\r?$/ } \
                 print $c \"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok\"; close $c }",
                "{port}",
            ]
            .map(String::from)
            .to_vec(),
        ),
        image: Some("local/debian:bookworm".to_string()),
        image_args: Vec::new(),
        root: "/srv/customer".to_string(),
        log_dir: "log".to_string(),
        health_path: "/".to_string(),
        ready_line: None,
        schema: Some(SchemaSource::Sql(SCHEMA.to_string())),
        files: Default::default(),
    }
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("Uid line")
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_needs_a_password_and_mariadbd_does_not_run_as_root(#[case] kind: RuntimeKind) {
    let Some(rt) = runtime(kind, profile()).await else {
        return;
    };
    let db = rt.database(&tenant_db(), SCHEMA).await.expect("database");
    for (user, password) in [("root", ""), ("", "")] {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname(db.host.clone())
            .tcp_port(db.port)
            .user(Some(user))
            .pass(Some(password))
            .prefer_socket(false);
        let refused = mysql_async::Conn::new(opts).await;
        assert!(
            refused.is_err(),
            "{user:?} without a password got in on {}:{}",
            db.host,
            db.port
        );
    }
    // The container's server is checked by its entrypoint's --user (the image test runs it).
    let Some(pid) = db.server_pid() else {
        return;
    };
    // SAFETY: geteuid takes no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let server_uid = uid_of(pid);
    if euid == 0 {
        assert_ne!(server_uid, 0, "mariadbd runs as root");
    } else {
        assert_eq!(server_uid, euid);
    }
    // The run directory can be passed through (the server's own directory is inside) but not listed.
    assert_eq!(mode(rt.run_dir()), 0o711);
}

#[rstest]
#[case::local(RuntimeKind::Local)]
#[case::docker(RuntimeKind::Docker)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenarios_sql_cannot_read_or_write_the_servers_files(#[case] kind: RuntimeKind) {
    let Some(rt) = runtime(kind, profile()).await else {
        return;
    };
    let read = format!(
        "{SCHEMA}\nCREATE TABLE leak (a longtext);\nINSERT INTO leak SELECT LOAD_FILE('/etc/hostname');"
    );
    let db = rt.database(&tenant_db(), &read).await.expect("database");
    let rows = db.query_rows("SELECT a FROM leak").await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["a"],
        serde_json::Value::Null,
        "LOAD_FILE read a file of the machine"
    );
    let from_query = db
        .query_rows("SELECT LOAD_FILE('/etc/hostname') AS a")
        .await
        .expect("query");
    assert_eq!(from_query[0]["a"], serde_json::Value::Null);

    let target = std::env::temp_dir().join(format!("tcharness-outfile-{}", std::process::id()));
    let write = format!("{SCHEMA}\nSELECT 1 INTO OUTFILE '{}';", target.display());
    let refused = rt.database(&tenant_db(), &write).await;
    match refused {
        Err(RuntimeError::Schema { message, .. }) => {
            assert!(message.contains("Access denied"), "{message}")
        }
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("INTO OUTFILE ran"),
    }
    assert!(!target.exists(), "{} was written", target.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployments_secrets_are_readable_by_their_owner_only() {
    let rt = runtime(RuntimeKind::Local, profile())
        .await
        .expect("local runtime");
    let mut backend = rt
        .start_backend(&[(
            "conf/OutDefine.php".to_string(),
            "<?php define('COSKEY_SECRECTKEY', 'secret');".to_string(),
        )])
        .await
        .expect("backend");
    let file = backend.root().join("conf/OutDefine.php");
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    let dir = backend.root().parent().expect("backend directory");
    assert_eq!(mode(dir), 0o700, "{}", dir.display());
    backend.stop().await.expect("stop");
}
