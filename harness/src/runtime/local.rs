//! The local provider: a private `mariadbd` child on a temporary datadir and a free port, and the backend
//! as a child process.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
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
        let server = prepare_server_dir(dir, run_dir).await?;
        Self::run(&server, run_dir).await
    }

    async fn run(server: &ServerDir, run_dir: &Path) -> Result<LocalMariadb, RuntimeError> {
        let dir = server.dir.as_path();
        // A port taken between probing and binding makes mariadbd exit; try a few ports.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let error_log = dir.join("error.log");
            let mut command = Command::new("mariadbd");
            command
                .args(mariadbd_args(server, port))
                .env(RUN_ENV, run_dir)
                .stderr(Stdio::null());
            let mut child = ChildProcess::spawn(command, libc::SIGTERM, None).map_err(|e| {
                RuntimeError::Spawn {
                    what: "mariadbd".to_string(),
                    message: e.to_string(),
                }
            })?;
            let addr = loopback(port, &server.root_password);
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

/// A server's directory, ready for `mariadbd`: the datadir, root's password and who the server runs as.
pub struct ServerDir {
    /// Holds the socket, pid file, error log and init file; the server account's, mode 0700.
    pub dir: PathBuf,
    pub datadir: PathBuf,
    /// Random per server: other local users can reach a loopback port too.
    pub root_password: String,
    account: ServerAccount,
}

/// Prepares `dir` for a server of the run: a copy of the template datadir (installed once per MariaDB
/// version, see [`template_datadir`]) at `dir/data`, an init file that gives root its password before the
/// server accepts a connection, an empty `files/` as the only place `LOAD_FILE` and `INTO OUTFILE` may touch,
/// and all of it owned by the account the server runs as.
pub async fn prepare_server_dir(dir: &Path, run_dir: &Path) -> Result<ServerDir, RuntimeError> {
    let datadir = dir.join("data");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err("create the MariaDB directory", e))?;
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
    let root_password = random_password()?;
    write_private(&dir.join("init.sql"), root_init_sql(&root_password))
        .map_err(|e| io_err("write the MariaDB init file", e))?;
    std::fs::create_dir_all(dir.join("files")).map_err(|e| io_err("create files/", e))?;
    let account = ServerAccount::current();
    if let ServerAccount::Other { uid, gid, .. } = &account {
        chown_tree(dir, *uid, *gid).map_err(|e| io_err("hand the MariaDB directory over", e))?;
    }
    Ok(ServerDir {
        dir: dir.to_path_buf(),
        datadir,
        root_password,
        account,
    })
}

/// Who `mariadbd` runs as. As root it must be told (`--user`), and a throw-away server needs none of root's
/// rights (`INTO OUTFILE` would write anywhere): then the Debian package's `mysql` account, else `nobody`.
#[derive(Clone, Debug)]
enum ServerAccount {
    /// Not root: the server runs as this process's user.
    Same,
    Other {
        name: String,
        uid: u32,
        gid: u32,
    },
    /// Root, and neither account exists.
    Root,
}

impl ServerAccount {
    fn current() -> ServerAccount {
        // SAFETY: geteuid takes no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return ServerAccount::Same;
        }
        for name in ["mysql", "nobody"] {
            if let Some((uid, gid)) = account_ids(name) {
                return ServerAccount::Other {
                    name: name.to_string(),
                    uid,
                    gid,
                };
            }
        }
        ServerAccount::Root
    }

    fn bootstrap_user_arg(&self) -> Option<&'static str> {
        match self {
            ServerAccount::Same => None,
            _ => Some("--user=root"),
        }
    }

    fn user_arg(&self) -> Option<String> {
        match self {
            ServerAccount::Same => None,
            ServerAccount::Other { name, .. } => Some(format!("--user={name}")),
            ServerAccount::Root => Some("--user=root".to_string()),
        }
    }
}

/// The uid and gid of a local account.
fn account_ids(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: an all-zero passwd is a valid value for getpwnam_r to overwrite.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and the buffer's length is passed.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    (rc == 0 && !found.is_null()).then_some((entry.pw_uid, entry.pw_gid))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if std::fs::symlink_metadata(path)?.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// 128 random bits as hex, from the system's generator.
pub fn random_password() -> Result<String, RuntimeError> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RuntimeError::DbStart {
            message: "no system randomness for MariaDB's root password".to_string(),
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Gives every root account of a fresh datadir the password (root@'<hostname>' cannot match: the server
/// skips name resolution) and drops the anonymous accounts.
fn root_init_sql(password: &str) -> String {
    let mut sql = String::new();
    for host in ["localhost", "127.0.0.1", "::1"] {
        sql.push_str(&format!(
            "ALTER USER IF EXISTS 'root'@'{host}' IDENTIFIED BY '{password}';\n"
        ));
    }
    sql.push_str("DELETE FROM mysql.global_priv WHERE User = '';\nFLUSH PRIVILEGES;\n");
    sql
}

/// A file only its owner can read (it holds a password).
pub fn write_private(path: &Path, content: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_ref())
}

/// `mariadbd`'s arguments for a server of the run: loopback only, its socket, pid file and error log in its
/// directory, root's password set by the init file, file access confined to `files/`, small buffers.
pub fn mariadbd_args(server: &ServerDir, port: u16) -> Vec<String> {
    let dir = &server.dir;
    let mut args = vec![
        "--no-defaults".to_string(),
        format!("--datadir={}", server.datadir.display()),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".to_string(),
        format!("--socket={}", dir.join("mysqld.sock").display()),
        format!("--pid-file={}", dir.join("mysqld.pid").display()),
        format!("--log-error={}", dir.join("error.log").display()),
        format!("--init-file={}", dir.join("init.sql").display()),
        format!("--secure-file-priv={}", dir.join("files").display()),
    ];
    args.extend(server.account.user_arg());
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

/// `mariadb-install-db` into `datadir` (root without password: each server's init file sets one).
async fn install_datadir(datadir: &Path, run_dir: &Path) -> Result<(), RuntimeError> {
    let install = tokio::process::Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", datadir.display()))
        // The bootstrap listens on no port; as root it must be told which user it is.
        .args(ServerAccount::current().bootstrap_user_arg())
        .args([
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

/// A server of the run on 127.0.0.1.
pub fn loopback(port: u16, root_password: &str) -> ServerAddr {
    ServerAddr {
        host: "127.0.0.1".to_string(),
        port,
        root_password: root_password.to_string(),
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
