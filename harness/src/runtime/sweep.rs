//! The run directory and the sweep of leftovers from runs that crashed or were killed.
//!
//! Every run owns `<tmp>/tcharness-runtime-<uid>/run-<pid>-<start>/` (datadirs, backend roots) and marks what it
//! starts: child processes carry `TCHARNESS_RUN=<run dir>` in their environment, containers carry the label
//! `tcharness.owner=<host>/<pid>/<start>`. A run is dead when no process has its pid *and* start time (pids
//! are reused). At start, each runtime removes the processes, containers and directories of dead runs.

use std::path::{Path, PathBuf};

use super::process::pid_alive;

/// Label key on every container the runtime starts.
pub const OWNER_LABEL: &str = "tcharness.owner";
/// Environment variable naming the run directory in every child process.
pub const RUN_ENV: &str = "TCHARNESS_RUN";

/// The base of all run directories: on tmpfs (`/dev/shm`) where there is one, since MariaDB's fsyncs on
/// a disk made installing a datadir take ~5 s instead of ~0.8 s; else the temp directory. One per user:
/// another user's base is neither writable nor theirs to sweep.
pub fn runs_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly())
    {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    // SAFETY: geteuid takes no arguments and cannot fail.
    let uid = unsafe { libc::geteuid() };
    base.join(format!("tcharness-runtime-{uid}"))
}

/// [`runs_base`], created when missing (passable, not listable) and checked to be this user's own
/// directory: in a world-writable `/dev/shm` another user could have made it first, or a link by its name.
pub fn ensure_runs_base() -> std::io::Result<PathBuf> {
    let base = runs_base();
    ensure_own_dir(&base)?;
    Ok(base)
}

/// Creates `base` when missing; refuses it unless it is a directory (not a link) owned by this user.
fn ensure_own_dir(base: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if let Some(parent) = base.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::create_dir(base) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
        _ => {}
    }
    let meta = std::fs::symlink_metadata(base)?;
    // SAFETY: geteuid takes no arguments and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != uid {
        return Err(std::io::Error::other(format!(
            "{} is not a directory of this user's (uid {uid}): remove it",
            base.display()
        )));
    }
    if meta.mode() & 0o777 != RUN_DIR_MODE {
        set_mode(base, RUN_DIR_MODE)?;
    }
    Ok(())
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat); `None` off Linux,
/// where owners are then told apart by pid alone.
#[cfg(not(target_os = "linux"))]
pub fn start_time(_pid: u32) -> Option<u64> {
    None
}

/// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat).
#[cfg(target_os = "linux")]
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // rest starts at field 3 (state); start time is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn hostname() -> String {
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        return h.trim().to_string();
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer outlives the call and its length is passed.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// This process as an owner: `<host>/<pid>/<start>`.
pub fn owner_id() -> String {
    owner_of(std::process::id())
}

/// The process `pid` of this host as an owner.
pub fn owner_of(pid: u32) -> String {
    format!("{}/{pid}/{}", hostname(), start_time(pid).unwrap_or(0))
}

/// Whether the owner named by `owner_id` (of this host) is still running. Owners of other hosts are
/// assumed alive: their engine may be shared.
pub fn owner_alive(owner: &str) -> bool {
    let mut parts = owner.split('/');
    let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return true;
    }
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    // Off Linux no start time is known (recorded as 0): the pid alone decides.
    pid_alive(pid) && (start == 0 || start_time(pid) == Some(start))
}

/// A run directory can be passed through but not listed by others: a server that runs as another account
/// (see `local::ServerAccount`) reaches its own directory inside; what holds secrets inside is 0700 or 0600.
pub const RUN_DIR_MODE: u32 = 0o711;

pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The directory of one run; removed on drop (after everything holding it has stopped).
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    pub fn create() -> std::io::Result<RunDir> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let base = ensure_runs_base()?;
        let pid = std::process::id();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("run-{pid}-{seq}"));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        // Made under another name and renamed into place with its owner file: another process's sweep
        // takes a run directory without one for a dead run's.
        let staging = base.join(format!(".staging-run-{pid}-{seq}"));
        let _ = std::fs::remove_dir_all(&staging);
        let made = std::fs::create_dir_all(&staging)
            .and_then(|()| set_mode(&staging, RUN_DIR_MODE))
            .and_then(|()| std::fs::write(staging.join("owner"), owner_id()))
            .and_then(|()| std::fs::rename(&staging, &path));
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        Ok(RunDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Kills every process whose environment names `run_dir` (the children of a dead run). Off Linux no
/// other process's environment can be read: nothing is found.
pub fn kill_marked_processes(run_dir: &Path) -> usize {
    if !cfg!(target_os = "linux") {
        return 0;
    }
    let marker = format!("{RUN_ENV}={}", run_dir.display());
    let mut killed = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == marker.as_bytes())
        {
            // SAFETY: kill(2) on a process we identified as a leftover of a dead run.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    killed
}

/// What a sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Swept {
    pub directories: usize,
    pub processes: usize,
    pub containers: usize,
}

/// Removes the processes and directories of dead runs on this machine.
pub fn sweep_local() -> Swept {
    remove_run_dirs(|owner| !owner_alive(owner))
}

/// Kills the marked processes of, then removes, every run directory whose owner `remove` picks.
fn remove_run_dirs(remove: impl Fn(&str) -> bool) -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = std::fs::read_dir(runs_base()) else {
        return swept;
    };
    for entry in entries.flatten() {
        // Only run directories; the datadir templates beside them are shared and kept.
        if !entry.file_name().to_string_lossy().starts_with("run-") {
            continue;
        }
        let path = entry.path();
        let owner = std::fs::read_to_string(path.join("owner")).unwrap_or_default();
        if !remove(owner.trim()) {
            continue;
        }
        swept.processes += kill_marked_processes(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            swept.directories += 1;
        }
    }
    swept
}

/// `docker rm -f -v` of `ids` through the CLI, blocking; whether it succeeded.
pub(crate) fn remove_containers_blocking(ids: &[&str]) -> bool {
    std::process::Command::new("docker")
        .args(["rm", "-f", "-v"])
        .args(ids)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the containers of dead runs (found by label) through the docker CLI.
pub async fn sweep_containers() -> usize {
    let Ok(out) = tokio::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label={OWNER_LABEL}"),
            "--format",
            &format!("{{{{.ID}}}} {{{{.Label \"{OWNER_LABEL}\"}}}}"),
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await
    else {
        return 0;
    };
    let dead: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, owner)| !owner_alive(owner.trim()))
        .map(|(id, _)| id.to_string())
        .collect();
    if dead.is_empty() {
        return 0;
    }
    let removed = tokio::process::Command::new("docker")
        .args(["rm", "-f", "-v"])
        .args(&dead)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    if removed.is_ok_and(|s| s.success()) {
        dead.len()
    } else {
        0
    }
}

/// Removes what this process itself started and still exists: its containers (by owner label), the
/// processes marked with its run directories, and those directories. Called on the way out of an
/// interrupted run, after the drops had their chance, so that nothing survives it.
pub fn sweep_own() -> Swept {
    let me = owner_id();
    let mut containers = 0;
    let listed = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={OWNER_LABEL}={me}"),
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    if let Ok(out) = listed {
        let text = String::from_utf8_lossy(&out.stdout);
        let ids: Vec<&str> = text.lines().collect();
        if !ids.is_empty() && remove_containers_blocking(&ids) {
            containers = ids.len();
        }
    }
    Swept {
        containers,
        ..remove_run_dirs(|owner| owner == me)
    }
}

/// Containers of the given owner that still exist (for tests and diagnostics).
pub async fn containers_of(owner: &str) -> Vec<String> {
    let Ok(out) = tokio::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={OWNER_LABEL}={owner}"),
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .await
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runs_base_is_made_passable_and_refused_when_a_link_or_another_users() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("tempdir");
        let base = tmp.path().join("base");
        ensure_own_dir(&base).expect("created");
        let mode = std::fs::metadata(&base).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, RUN_DIR_MODE);
        ensure_own_dir(&base).expect("an own directory again");

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&base, &link).expect("symlink");
        let err = ensure_own_dir(&link).expect_err("a link is refused");
        assert!(
            err.to_string()
                .contains("is not a directory of this user's"),
            "{err}"
        );

        // SAFETY: geteuid takes no arguments and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            let foreign = tmp.path().join("foreign");
            std::fs::create_dir(&foreign).expect("dir");
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).expect("chown");
            let err = ensure_own_dir(&foreign).expect_err("another user's directory is refused");
            assert!(err.to_string().contains("(uid 0)"), "{err}");
        }
        assert!(runs_base().to_string_lossy().ends_with(&format!(
            "tcharness-runtime-{}",
            // SAFETY: as above.
            unsafe { libc::geteuid() }
        )));
    }

    #[test]
    fn this_process_is_an_alive_owner_and_a_bogus_one_is_not() {
        assert!(owner_alive(&owner_id()));
        assert!(!owner_alive(&format!("{}/{}/1", hostname(), u32::MAX - 1)));
        assert!(!owner_alive("garbage"));
        // Same pid, other start time: a reused pid, so the run is dead.
        let pid = std::process::id();
        let start = start_time(pid).unwrap_or(0);
        assert!(!owner_alive(&format!("{}/{pid}/{}", hostname(), start + 1)));
    }
}
