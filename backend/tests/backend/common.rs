//! Shared fixtures: one private `mariadbd` per test binary (free loopback port, temporary datadir), one
//! database per test, and an in-process backend on port 0 with its own `live_demo_service`-like root.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const BIZID: i64 = 8888;
pub const APP_ID: i64 = 1252033264;
pub const PUSH_KEY: &str = "5d41402abc4b2a76b9719d911017c592";
pub const API_KEY: &str = "7a4f1c2e9b3d8e6f0a1b2c3d4e5f6a7b";
pub const COS_APPID: i64 = 1252000001;
pub const COS_BUCKET: &str = "minilvb";
pub const COS_SECRET_ID: &str = "AKIDmLvbHarnessHealthy00000000000001";
pub const COS_SECRET_KEY: &str = "hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e";
pub const DB_USER: &str = "live_user";
pub const DB_PASSWORD: &str = "live_pwd";

/// The private MariaDB server of this test binary. The server runs under a small shell that kills it
/// (by its PID) when our end of its stdin closes, i.e. when the test process exits.
pub struct Maria {
    pub port: u16,
    _dir: TempDir,
    _guard: Mutex<(Child, ChildStdin)>,
}

static MARIA: OnceLock<Maria> = OnceLock::new();
static DB_SEQ: AtomicUsize = AtomicUsize::new(0);

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn maria() -> &'static Maria {
    MARIA.get_or_init(start_maria)
}

fn start_maria() -> Maria {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let status = Command::new("mariadb-install-db")
        .args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=4M",
            "--innodb-buffer-pool-size=16M",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mariadb-install-db runs");
    assert!(status.success(), "mariadb-install-db failed");
    let port = free_port();
    let server = format!(
        "mariadbd --no-defaults --datadir={d}/data --user=root --port={port} --bind-address=127.0.0.1 \
         --socket={d}/mysqld.sock --pid-file={d}/mysqld.pid --log-error={d}/error.log --skip-name-resolve \
         --innodb-buffer-pool-size=16M --innodb-log-file-size=4M --skip-log-bin --performance-schema=OFF \
         --max-connections=500",
        d = dir.path().display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{server} & pid=$!; read _ignored; kill -TERM $pid; wait $pid"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd starts");
    let stdin = child.stdin.take().expect("stdin of the guard shell");
    let deadline = Instant::now() + Duration::from_secs(30);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "mariadbd did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let m = Maria {
        port,
        _dir: dir,
        _guard: Mutex::new((child, stdin)),
    };
    m.sql_root(
        None,
        &format!(
            "CREATE USER '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}'; \
             CREATE USER '{DB_USER}'@'localhost' IDENTIFIED BY '{DB_PASSWORD}'; \
             GRANT ALL ON *.* TO '{DB_USER}'@'%'; GRANT ALL ON *.* TO '{DB_USER}'@'localhost';"
        ),
    );
    m
}

impl Maria {
    /// Runs SQL as root with the `mariadb` client; returns tab-separated rows.
    pub fn sql_root(&self, db: Option<&str>, sql: &str) -> String {
        let mut cmd = Command::new("mariadb");
        cmd.args([
            "--no-defaults",
            "-h127.0.0.1",
            &format!("-P{}", self.port),
            "-uroot",
            "-N",
            "-B",
        ]);
        if let Some(db) = db {
            cmd.arg(db);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mariadb client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("SET time_zone = '+08:00';\n{sql}").as_bytes())
            .expect("write sql");
        let out = child.wait_with_output().expect("mariadb client output");
        assert!(
            out.status.success(),
            "sql failed: {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// A new empty database with the backend's schema.
    pub fn new_database(&self) -> String {
        let name = format!("live_demo_{}", DB_SEQ.fetch_add(1, Ordering::SeqCst));
        self.sql_root(None, &format!("CREATE DATABASE {name}"));
        self.sql_root(Some(&name), minilvb::db::SCHEMA);
        name
    }
}

/// Settings of one backend under test.
pub struct Setup {
    pub passwd: String,
    pub webservice_url: String,
    pub log_dir: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            passwd: DB_PASSWORD.to_string(),
            webservice_url: "http://127.0.0.1:9/common_access".to_string(),
            log_dir: false,
        }
    }
}

pub fn outdefine() -> String {
    format!(
        "<?php\n// Mini LVB keys\ndefine('APP_ID', {APP_ID});\ndefine('APP_BIZID', {BIZID});\n\
         define('PUSH_URL_KEY', '{PUSH_KEY}');\ndefine('CALL_BACK_KEY', '{API_KEY}');\n\
         define('COSKEY_BUCKET', '{COS_BUCKET}');\ndefine('COSKEY_SECRECTKEY', '{COS_SECRET_KEY}');\n\
         define('COSKEY_APPID', {COS_APPID});\ndefine('COSKEY_SECRECTID', '{COS_SECRET_ID}');\n\
         define('COSKEY_EXPIRED_TIME', 30);\n?>\n"
    )
}

pub fn route_ini(port: u16, db: &str, passwd: &str, url: &str) -> String {
    format!(
        "[DB]\nHOST=127.0.0.1\nDBNAME={db}\nUSER={DB_USER}\nPASSWD={passwd}\nPORT={port}\n\
         [LIVE_WEBSERVICE]\nURL={url}\nTIMEOUT=3000\n"
    )
}

/// Writes a `live_demo_service`-like root.
pub fn write_root(root: &Path, outdefine: &str, route: &str, log_dir: bool) {
    std::fs::create_dir_all(root.join("conf")).expect("conf dir");
    std::fs::write(root.join("conf/OutDefine.php"), outdefine).expect("OutDefine");
    std::fs::write(
        root.join("conf/cdn.inc.ini"),
        "[COMMON]\nINC=FORMAL\n[FORMAL]\nROUTE=conf/cdn.route.ini\n",
    )
    .expect("inc");
    std::fs::write(root.join("conf/cdn.route.ini"), route).expect("route");
    if log_dir {
        std::fs::create_dir_all(root.join("log")).expect("log dir");
    }
}

/// A backend running in-process on a loopback port, with its own database.
pub struct Backend {
    pub url: String,
    pub db: String,
    pub root: TempDir,
    pub app: Arc<minilvb::App>,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn backend(setup: Setup) -> Backend {
    let m = maria();
    let db = m.new_database();
    let root = tempfile::tempdir().expect("root");
    write_root(
        root.path(),
        &outdefine(),
        &route_ini(m.port, &db, &setup.passwd, &setup.webservice_url),
        setup.log_dir,
    );
    let config = minilvb::Config::load(root.path()).expect("config loads");
    let app = Arc::new(minilvb::App::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = app.clone();
    tokio::spawn(async move {
        let _ = minilvb::server::serve(listener, served, async {
            let _ = rx.await;
        })
        .await;
    });
    Backend {
        url: format!("http://{addr}"),
        db,
        root,
        app,
        http: reqwest::Client::new(),
        stop: Some(tx),
    }
}

impl Backend {
    /// POSTs a raw body to a path; returns HTTP status and body text.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json; charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    /// Calls an Action; expects HTTP 200 and returns the decoded envelope.
    pub async fn call(&self, body: Value) -> Value {
        let (status, text) = self.post_raw("/interface.php", body.to_string()).await;
        assert_eq!(status, 200, "HTTP status, body: {text}");
        serde_json::from_str(&text).expect("envelope is JSON")
    }

    /// Sends a callback; returns HTTP status and body.
    pub async fn callback(&self, body: Value) -> (u16, String) {
        self.post_raw("/callback/Live_callback.php", body.to_string())
            .await
    }

    /// Runs SQL in this backend's database.
    pub fn sql(&self, sql: &str) -> String {
        maria().sql_root(Some(&self.db), sql)
    }

    pub fn log_path(&self, name_prefix: &str) -> Option<PathBuf> {
        let dir = self.root.path().join("log");
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(name_prefix))
            })
    }
}

/// A signed callback body with `t` = now + 600.
pub fn signed(mut fields: Value, key: &str) -> Value {
    let t = chrono::Utc::now().timestamp() + 600;
    if let Some(m) = fields.as_object_mut() {
        m.insert("t".into(), Value::from(t));
        m.insert(
            "sign".into(),
            Value::from(minilvb::sign::api_sign(key, &t.to_string())),
        );
    }
    fields
}
