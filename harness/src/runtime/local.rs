//! The local provider: a private `mariadbd` child on a temporary datadir and a free port, and the backend
//! as a child process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::RuntimeError;
use super::db::ServerAddr;
use super::process::ChildProcess;
use super::sweep::RUN_ENV;

/// A free TCP port on loopback (bound then released; the caller binds it right after).
pub fn free_port() -> Result<u16, RuntimeError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| RuntimeError::Spawn {
            what: "a free loopback port".to_string(),
            message: e.to_string(),
        })
}

/// A running private MariaDB server.
pub struct LocalMariadb {
    pub addr: ServerAddr,
    child: ChildProcess,
}

impl LocalMariadb {
    /// Copies the run's template datadir (installed once per run) under `dir` and starts `mariadbd` on a
    /// free port; returns once it accepts queries.
    pub async fn start(dir: &Path, run_dir: &Path) -> Result<LocalMariadb, RuntimeError> {
        let datadir = copy_template(dir, run_dir).await?;
        Self::run(dir, &datadir, run_dir).await
    }

    async fn run(dir: &Path, datadir: &Path, run_dir: &Path) -> Result<LocalMariadb, RuntimeError> {
        // A port taken between probing and binding makes mariadbd exit; try a few ports.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let error_log = dir.join("error.log");
            let mut command = Command::new("mariadbd");
            command
                .args(mariadbd_args(dir, datadir, port))
                .env(RUN_ENV, run_dir)
                .stderr(Stdio::null());
            let mut child = ChildProcess::spawn(command, libc::SIGTERM, None).map_err(|e| {
                RuntimeError::Spawn {
                    what: "mariadbd".to_string(),
                    message: e.to_string(),
                }
            })?;
            let addr = loopback(port);
            let exited = || {
                child
                    .exit_status()
                    .map(|status| format!("mariadbd exited with {status}"))
            };
            match wait_accepting(&addr, exited).await {
                Ok(()) => return Ok(LocalMariadb { addr, child }),
                Err(message) => {
                    last = format!(
                        "{message}; error log: {}",
                        std::fs::read_to_string(&error_log).unwrap_or_default()
                    );
                    child.stop(Duration::from_secs(5)).await;
                }
            }
        }
        Err(RuntimeError::DbStart { message: last })
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}

/// A copy of the template datadir at `dir/data` (installed once per MariaDB version, see [`template_datadir`]).
pub async fn copy_template(dir: &Path, run_dir: &Path) -> Result<std::path::PathBuf, RuntimeError> {
    let datadir = dir.join("data");
    std::fs::create_dir_all(dir).map_err(|e| io_err("create the MariaDB directory", e))?;
    let template = template_datadir(run_dir).await?;
    let copy = tokio::process::Command::new("cp")
        .arg("-a")
        .arg(&template)
        .arg(&datadir)
        .status()
        .await
        .map_err(|e| io_err("copy the template datadir", e))?;
    if !copy.success() {
        return Err(RuntimeError::DbStart {
            message: format!("cp -a of the template datadir failed: {copy}"),
        });
    }
    Ok(datadir)
}

/// `mariadbd`'s arguments for a server of the run: loopback only, its socket, pid file and error log in `dir`,
/// small buffers.
pub fn mariadbd_args(dir: &Path, datadir: &Path, port: u16) -> Vec<String> {
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", datadir.display()),
        "--user=root".to_string(),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_string(),
        format!("--socket={}", dir.join("mysqld.sock").display()),
        format!("--pid-file={}", dir.join("mysqld.pid").display()),
        format!("--log-error={}", dir.join("error.log").display()),
    ];
    args.extend(
        [
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=4M",
            "--skip-log-bin",
            "--performance-schema=OFF",
            // The original deployment runs in China time and the backend writes times in UTC+8.
            "--default-time-zone=+08:00",
        ]
        .map(String::from),
    );
    args
}

/// A freshly installed datadir, shared by every run of this MariaDB version: `template-<version>` beside
/// the run directories, installed once (in a private directory, then renamed into place, so concurrent
/// runs never see half of one). Servers copy it (~20 ms on tmpfs) instead of installing (~0.8 s).
async fn template_datadir(run_dir: &Path) -> Result<std::path::PathBuf, RuntimeError> {
    let version = tokio::process::Command::new("mariadbd")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| RuntimeError::Spawn {
            what: "mariadbd --version".to_string(),
            message: e.to_string(),
        })?;
    let version: String = String::from_utf8_lossy(&version.stdout)
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("unknown")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = run_dir.parent().unwrap_or(run_dir);
    let template = base.join(format!("template-{version}"));
    if template.join("mysql").is_dir() {
        return Ok(template);
    }
    let staging = run_dir.join("template-staging");
    let _ = std::fs::remove_dir_all(&staging);
    install_datadir(&staging, run_dir).await?;
    // Another run may have won the race; its template is as good as ours.
    if std::fs::rename(&staging, &template).is_err() && !template.join("mysql").is_dir() {
        return Err(RuntimeError::DbStart {
            message: format!("cannot move the datadir template to {}", template.display()),
        });
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(template)
}

/// `mariadb-install-db` into `datadir` (root without password, reachable over TCP from 127.0.0.1).
async fn install_datadir(datadir: &Path, run_dir: &Path) -> Result<(), RuntimeError> {
    let install = tokio::process::Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        .args([
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--innodb-log-file-size=4M",
            "--innodb-buffer-pool-size=16M",
        ])
        .env(RUN_ENV, run_dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| RuntimeError::Spawn {
            what: "mariadb-install-db".to_string(),
            message: e.to_string(),
        })?;
    if !install.status.success() {
        return Err(RuntimeError::DbStart {
            message: format!(
                "mariadb-install-db failed: {}",
                String::from_utf8_lossy(&install.stderr)
            ),
        });
    }
    Ok(())
}

/// A server of the run on 127.0.0.1, root without password.
pub fn loopback(port: u16) -> ServerAddr {
    ServerAddr {
        host: "127.0.0.1".to_string(),
        port,
        root_password: String::new(),
    }
}

/// Polls with a TCP connect (cheap) until the server answers a query, or `exited` says why it never will.
pub async fn wait_accepting(
    addr: &ServerAddr,
    mut exited: impl FnMut() -> Option<String>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut delay = Duration::from_millis(10);
    loop {
        if let Some(why) = exited() {
            return Err(why);
        }
        if tokio::net::TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .is_ok()
            && addr.connect(None).await.is_ok()
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err("mariadbd did not accept connections within 30 s".to_string());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

pub fn io_err(what: &str, e: std::io::Error) -> RuntimeError {
    RuntimeError::Spawn {
        what: what.to_string(),
        message: e.to_string(),
    }
}
