//! One MariaDB server for every test process of a nextest run.
//!
//! nextest runs each test in a process of its own, so a server per process meant one server start per
//! scenario. Under nextest (`NEXTEST_RUN_ID` set) a catalogue run attaches instead to the run's server in
//! `<runs base>/run-nextest-<run id>/`, which the first process of the run starts:
//!
//! - the directory is owned, for the sweep, by the nextest process (the parent of the test processes), so no
//!   test process's end removes it and a later run removes it once nextest is gone;
//! - beside `mariadbd` runs a small supervisor that waits for the nextest process to exit, then stops the
//!   server and removes the directory: nothing survives the run;
//! - which database names are taken and which account has which password (accounts are server-wide) is kept
//!   in `ledger.json`, read and rewritten under an exclusive `flock` on `lock`, as is the start itself.
//!
//! The docker provider and runs outside nextest keep a server per process.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::RuntimeError;
use super::db::{ServerAddr, ServerLedger};
use super::local::{
    free_port, io_err, loopback, mariadbd_args, prepare_server_dir, wait_accepting, write_private,
};
use super::sweep::{
    RUN_DIR_MODE, RUN_ENV, ensure_runs_base, owner_alive, owner_of, runs_base, set_mode, start_time,
};

/// The environment variable nextest sets, the same in every test process of one run.
pub const RUN_ID_ENV: &str = "NEXTEST_RUN_ID";

/// The nextest run this process belongs to.
#[derive(Clone, Debug)]
pub struct NextestRun {
    id: String,
    /// The nextest process, whose end ends the shared server.
    owner_pid: u32,
}

impl NextestRun {
    /// This process's run, when it runs under nextest.
    pub fn current() -> Option<NextestRun> {
        let id: String = std::env::var(RUN_ID_ENV)
            .ok()?
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(64)
            .collect();
        if id.is_empty() {
            return None;
        }
        Some(NextestRun {
            id,
            owner_pid: std::os::unix::process::parent_id(),
        })
    }

    /// Whether an earlier process of the run has started the server (and swept for the run).
    pub fn started(&self) -> bool {
        self.dir().join("state.json").is_file()
    }

    fn dir(&self) -> PathBuf {
        runs_base().join(format!("run-nextest-{}", self.id))
    }
}

/// What `state.json` records of the running server.
#[derive(serde::Serialize, serde::Deserialize)]
struct State {
    port: u16,
    /// The file is the run directory owner's only (0600), as root's password must be.
    root_password: String,
    supervisor_pid: u32,
}

/// The run's shared server, as one test process sees it.
pub struct SharedServer {
    pub addr: ServerAddr,
    dir: PathBuf,
    supervisor_pid: u32,
}

impl SharedServer {
    /// Attaches to the run's server, starting it (and its supervisor) when this process is the first.
    pub async fn attach(run: &NextestRun) -> Result<SharedServer, RuntimeError> {
        let dir = create_owned_dir(run)?;
        let _lock = FileLock::exclusive(&dir.join("lock")).await?;
        if let Some(state) = read_json::<State>(&dir.join("state.json")) {
            let addr = loopback(state.port, &state.root_password);
            if owner_alive(&owner_of(state.supervisor_pid)) && addr.connect(None).await.is_ok() {
                return Ok(SharedServer {
                    addr,
                    dir,
                    supervisor_pid: state.supervisor_pid,
                });
            }
        }
        let (addr, supervisor_pid) = start_supervised(&dir, run).await?;
        write_json(
            &dir.join("state.json"),
            &State {
                port: addr.port,
                root_password: addr.root_password.clone(),
                supervisor_pid,
            },
        )?;
        Ok(SharedServer {
            addr,
            dir,
            supervisor_pid,
        })
    }

    /// Claims a database name as [`ServerLedger::claim`] does, across the run's processes; `None` when the
    /// account is already on the server with another password.
    pub async fn claim(
        &self,
        wanted: &str,
        user: &str,
        password: &str,
    ) -> Result<Option<String>, RuntimeError> {
        let _lock = FileLock::exclusive(&self.dir.join("lock")).await?;
        let path = self.dir.join("ledger.json");
        let mut ledger = read_json::<ServerLedger>(&path).unwrap_or_default();
        if !ledger.accepts(user, password) {
            return Ok(None);
        }
        let name = ledger.claim(wanted, user, password);
        write_json(&path, &ledger)?;
        Ok(Some(name))
    }

    /// Frees a database name once its database is dropped.
    pub async fn release(&self, name: &str) {
        let Ok(_lock) = FileLock::exclusive(&self.dir.join("lock")).await else {
            return;
        };
        let path = self.dir.join("ledger.json");
        if let Some(mut ledger) = read_json::<ServerLedger>(&path) {
            ledger.release(name);
            let _ = write_json(&path, &ledger);
        }
    }

    /// The supervisor's pid (the server stops when it does).
    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor_pid
    }
}

/// The run's directory with its `owner` file naming the nextest process. It is made under another name and
/// renamed into place, so a sweep never sees it without its owner.
fn create_owned_dir(run: &NextestRun) -> Result<PathBuf, RuntimeError> {
    let dir = run.dir();
    if dir.join("owner").is_file() {
        return Ok(dir);
    }
    let base = ensure_runs_base().map_err(|e| io_err("create the runs directory", e))?;
    let staging = base.join(format!(".staging-{}-{}", run.id, std::process::id()));
    let made = std::fs::create_dir_all(&staging)
        .and_then(|()| set_mode(&staging, RUN_DIR_MODE))
        .and_then(|()| std::fs::write(staging.join("owner"), owner_of(run.owner_pid)));
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io_err("create the shared MariaDB directory", e));
    }
    // Another process of the run may have won the race; its directory is as good as ours.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    if dir.join("owner").is_file() {
        Ok(dir)
    } else {
        Err(RuntimeError::DbStart {
            message: format!("cannot create {}", dir.display()),
        })
    }
}

/// Waits for the owner to exit, then stops the server and removes the directory. `$1` is the directory, `$2`
/// the owner's pid, `$3` its start time, the rest mariadbd's command. The owner counts as gone once its pid
/// is a zombie (exited, not yet reaped: `kill -0` and `tail --pid` still see it) or another process's (a
/// different start time), checked once a second.
const SUPERVISOR: &str = r#"d=$1; owner=$2; start=$3; shift 3
alive() {
  read -r stat 2>/dev/null < "/proc/$owner/stat" || return 1
  set -- ${stat##*) }
  case $1 in Z|X) return 1 ;; esac
  [ "${20}" = "$start" ]
}
"$@" &
m=$!
while alive; do sleep 1; done
kill -TERM "$m" 2>/dev/null
wait "$m"
rm -rf "$d""#;

/// Starts mariadbd under its supervisor; returns once the server accepts queries.
async fn start_supervised(dir: &Path, run: &NextestRun) -> Result<(ServerAddr, u32), RuntimeError> {
    let server_dir = dir.join(format!("mariadb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&server_dir);
    let server = prepare_server_dir(&server_dir, dir).await?;
    let mut last = String::new();
    // A port taken between probing and binding makes mariadbd exit; try a few ports.
    for _ in 0..3 {
        let port = free_port()?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("tcharness-shared-mariadb")
            .arg(dir)
            .arg(run.owner_pid.to_string())
            .arg(start_time(run.owner_pid).unwrap_or(0).to_string())
            .arg("mariadbd")
            .args(mariadbd_args(&server, port))
            .env(RUN_ENV, dir)
            // Its own process group: a Ctrl-C to the test process does not reach it, and nothing holds the
            // test's output pipes (nextest would wait for them).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut supervisor = command.spawn().map_err(|e| RuntimeError::Spawn {
            what: "the shared mariadbd".to_string(),
            message: e.to_string(),
        })?;
        let addr = loopback(port, &server.root_password);
        let exited = || match supervisor.try_wait() {
            Ok(Some(status)) => Some(format!("the shared mariadbd exited with {status}")),
            _ => None,
        };
        match wait_accepting(&addr, exited).await {
            Ok(()) => return Ok((addr, supervisor.id())),
            Err(message) => {
                last = format!(
                    "{message}; error log: {}",
                    std::fs::read_to_string(server_dir.join("error.log")).unwrap_or_default()
                );
                // SAFETY: kill takes no pointers; the pid is our own child's, not yet reaped.
                unsafe {
                    libc::kill(supervisor.id() as i32, libc::SIGKILL);
                }
                let _ = supervisor.wait();
            }
        }
    }
    Err(RuntimeError::DbStart { message: last })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes beside the target and renames, so a reader never sees half a file.
fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), RuntimeError> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let bytes = serde_json::to_vec(value).map_err(|e| RuntimeError::DbStart {
        message: format!("cannot encode {}: {e}", path.display()),
    })?;
    write_private(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| io_err(&format!("write {}", path.display()), e))
}

/// An exclusive `flock`, released when dropped (the descriptor closes).
struct FileLock {
    _file: File,
}

impl FileLock {
    async fn exclusive(path: &Path) -> Result<FileLock, RuntimeError> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_err(&format!("open {}", path.display()), e))?;
        let what = format!("lock {}", path.display());
        // flock blocks while another process holds the lock (at most a server start): off the async workers.
        tokio::task::spawn_blocking(move || {
            // SAFETY: the descriptor is open for the whole call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                Ok(FileLock { _file: file })
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
        .await
        .map_err(|e| io_err(&what, std::io::Error::other(e.to_string())))?
        .map_err(|e| io_err(&what, e))
    }
}
