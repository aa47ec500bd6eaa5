//! Child processes that cannot outlive the harness.
//!
//! Three layers keep a run from leaving processes behind: `Drop` kills the child (panics unwind through it),
//! the kernel kills it when the harness dies (`PR_SET_PDEATHSIG`, also on SIGKILL), and a sweep at the next
//! start removes what a crash left (see `sweep`). The death signal is tied to the *thread* that forked, so
//! every child is forked by one spawner thread that lives as long as the process; forking from a tokio worker
//! or a blocking-pool thread would kill the child when that thread retires.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

type SpawnRequest = (
    Command,
    std_mpsc::Sender<std::io::Result<std::process::Child>>,
);

fn spawner() -> &'static std::sync::Mutex<std_mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<std::sync::Mutex<std_mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = std_mpsc::channel::<SpawnRequest>();
        // If the thread cannot be created, requests fail with "spawner gone" below.
        let _ = std::thread::Builder::new()
            .name("runtime-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            });
        std::sync::Mutex::new(tx)
    })
}

/// A running child: its pid, its stdout lines, and its exit status once it ended (reaped by a waiter thread).
pub struct ChildProcess {
    pid: u32,
    stdout: mpsc::UnboundedReceiver<String>,
    exit: watch::Receiver<Option<ExitStatus>>,
    stop_signal: i32,
    /// The child leads a process group of its own; signals go to the whole group.
    group: bool,
}

impl ChildProcess {
    /// Spawns `command` with stdin closed and stdout piped (stderr is left as the caller set it up).
    /// `death_signal` is what the kernel sends the child when the harness dies (SIGTERM lets mariadbd
    /// shut down cleanly; SIGKILL for anything else). Stdout lines go to `next_line` until the receiver is
    /// closed (`close_stdout`), and are appended to `stdout_copy` when given.
    pub fn spawn(
        command: Command,
        death_signal: i32,
        stdout_copy: Option<&std::path::Path>,
    ) -> std::io::Result<ChildProcess> {
        Self::spawn_inner(command, death_signal, stdout_copy, None, false)
    }

    /// Like `spawn`, with stderr piped too: its lines go to `next_line` as well (a backend may announce
    /// its address there) and are appended to `stderr_copy`.
    pub fn spawn_with_stderr(
        command: Command,
        death_signal: i32,
        stdout_copy: Option<&std::path::Path>,
        stderr_copy: &std::path::Path,
    ) -> std::io::Result<ChildProcess> {
        Self::spawn_inner(command, death_signal, stdout_copy, Some(stderr_copy), false)
    }

    /// Like `spawn_with_stderr`, the child leading a process group of its own: `stop` and `Drop` signal
    /// the whole group, so the processes it forks (PHP's `PHP_CLI_SERVER_WORKERS`, which keep serving the
    /// port when only their parent is killed) end with it.
    pub fn spawn_group_with_stderr(
        command: Command,
        death_signal: i32,
        stdout_copy: Option<&std::path::Path>,
        stderr_copy: &std::path::Path,
    ) -> std::io::Result<ChildProcess> {
        Self::spawn_inner(command, death_signal, stdout_copy, Some(stderr_copy), true)
    }

    fn spawn_inner(
        mut command: Command,
        death_signal: i32,
        stdout_copy: Option<&std::path::Path>,
        stderr_copy: Option<&std::path::Path>,
        group: bool,
    ) -> std::io::Result<ChildProcess> {
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        if group {
            command.process_group(0);
        }
        if stderr_copy.is_some() {
            command.stderr(Stdio::piped());
        }
        // Linux only: elsewhere a child outlives a killed harness until the next run's sweep.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated between fork and exec.
        unsafe {
            let parent = libc::getpid();
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl: then nobody would signal us.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = std_mpsc::channel();
        spawner()
            .lock()
            .map_err(|_| std::io::Error::other("spawner poisoned"))?
            .send((command, reply_tx))
            .map_err(|_| std::io::Error::other("spawner gone"))?;
        let mut child = reply_rx
            .recv()
            .map_err(|_| std::io::Error::other("spawner gone"))??;
        let pid = child.id();

        let (line_tx, line_rx) = mpsc::unbounded_channel();
        let stdout_file = match stdout_copy {
            Some(path) => Some(std::fs::File::create(path)?),
            None => None,
        };
        if let Some(out) = child.stdout.take() {
            forward_lines(out, stdout_file, line_tx.clone());
        }
        if let Some(path) = stderr_copy
            && let Some(err) = child.stderr.take()
        {
            forward_lines(err, Some(std::fs::File::create(path)?), line_tx);
        }
        let (exit_tx, exit_rx) = watch::channel(None);
        std::thread::spawn(move || {
            let status = child.wait().ok();
            let _ = exit_tx.send(status.or_else(|| Some(ExitStatus::default())));
        });
        Ok(ChildProcess {
            pid,
            stdout: line_rx,
            exit: exit_rx,
            stop_signal: libc::SIGTERM,
            group,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops queueing stdout lines (after readiness nobody reads them; the copy file still gets them).
    pub fn close_stdout(&mut self) {
        self.stdout.close();
    }

    /// Next stdout line, or `None` once stdout closed.
    pub async fn next_line(&mut self) -> Option<String> {
        self.stdout.recv().await
    }

    /// The exit status if the child has ended.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Waits until the child ends.
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        let mut exit = self.exit.clone();
        exit.wait_for(|s| s.is_some()).await.ok().and_then(|s| *s)
    }

    fn signal(&self, signal: i32) {
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return;
        };
        if self.group {
            // The group's id stays taken while any member lives, even after the leader was reaped, so
            // it cannot name someone else's group then; once the group is empty it is not signalled.
            if self.exit_status().is_none() || group_alive(self.pid) {
                // SAFETY: kill(2) on the process group our own child leads.
                unsafe {
                    libc::kill(-pid, signal);
                }
            }
        } else if self.exit_status().is_none() {
            // The waiter thread reaps the child; once it has, the pid may belong to someone else.
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Graceful stop: the stop signal, then SIGKILL after `grace`. For a process group, returns once
    /// every member is gone (so a restart can bind the same port again).
    pub async fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + grace;
        self.signal(self.stop_signal);
        let status = match tokio::time::timeout_at(deadline, self.wait()).await {
            Ok(status) => status,
            Err(_) => {
                self.signal(libc::SIGKILL);
                self.wait().await
            }
        };
        if self.group {
            // Members are not our children, so there is no exit to wait on: poll the group, bounded.
            let mut killed = false;
            let hard = deadline + Duration::from_secs(2);
            while group_alive(self.pid) && tokio::time::Instant::now() < hard {
                if !killed && tokio::time::Instant::now() >= deadline {
                    self.signal(libc::SIGKILL);
                    killed = true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        status
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // No async in drop: a hard kill. Graceful stops go through `stop`.
        self.signal(libc::SIGKILL);
    }
}

/// Reads lines on a thread of its own, appending them to `copy` and queueing them.
fn forward_lines(
    stream: impl std::io::Read + Send + 'static,
    mut copy: Option<std::fs::File>,
    tx: mpsc::UnboundedSender<String>,
) {
    std::thread::spawn(move || {
        use std::io::Write;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(file) = copy.as_mut() {
                let _ = writeln!(file, "{line}");
            }
            // Once nobody listens, lines are dropped; draining goes on so the child never blocks.
            let _ = tx.send(line);
        }
    });
}

/// True if a live (not zombie) process is in process group `pgid`.
#[cfg(target_os = "linux")]
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // After the `(comm)`: state, ppid, pgrp.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
        state != "Z" && pgrp == Some(pgid)
    })
}

/// True if a process of group `pgid` exists (elsewhere: whether the leader's pid is still taken).
#[cfg(not(target_os = "linux"))]
pub fn group_alive(pgid: u32) -> bool {
    // SAFETY: signal 0 only checks that a member exists.
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return false;
    };
    unsafe { libc::kill(-pgid, 0) == 0 }
}

/// True if a process with this pid exists (and is not a zombie we could reap).
#[cfg(not(target_os = "linux"))]
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    unsafe { libc::kill(pid, 0) == 0 }
}

/// True if a process with this pid exists (and is not a zombie we could reap).
#[cfg(target_os = "linux")]
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3 is the state; a zombie ('Z') is already dead.
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(true),
        Err(_) => false,
    }
}
