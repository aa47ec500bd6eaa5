//! MariaDB and the backend under test, as containers (testcontainers) or local child processes.
//!
//! One [`Runtime`] per run. It sweeps the leftovers of crashed runs, starts a shared MariaDB server, and hands
//! each scenario a private database ([`Runtime::database`]) and a backend configured from the scenario's files
//! ([`Runtime::start_backend`]). Both providers behave the same: MariaDB and the backend listen on 127.0.0.1,
//! the backend's root (conf/, log/) is a host directory, and nothing survives the run (see `sweep`).
//!
//! Sharing and isolation: scenarios share a MariaDB server (a database each, ~30 ms) unless they need the same
//! account with different passwords, which gets its own server. Backends are never shared. Under nextest,
//! [`Runtime::start_shared`] puts the databases of every test process of the run on one server
//! ([`shared`]).

pub mod db;
#[cfg(feature = "docker")]
pub mod docker;
#[cfg(not(feature = "docker"))]
#[path = "docker_off.rs"]
pub mod docker;
pub mod local;
pub mod process;
pub mod profile;
#[cfg(unix)]
pub mod shared;
pub mod sweep;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use profile::{BackendProfile, SchemaSource};

use db::{ServerAddr, ServerLedger};
use process::ChildProcess;
use sweep::{RUN_ENV, RunDir};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum RuntimeKind {
    /// Docker when an engine answers and the images exist, else local processes.
    Auto,
    Local,
    Docker,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("backend profile {path}: {message}")]
    Profile { path: String, message: String },
    #[error("cannot start {what}: {message}")]
    Spawn { what: String, message: String },
    #[error("docker: {what}: {message}")]
    Docker { what: String, message: String },
    #[error("docker runtime unavailable: {0}")]
    DockerUnavailable(String),
    #[error("MariaDB did not start: {message}")]
    DbStart { message: String },
    #[error("database: {what}: {message}")]
    Db { what: String, message: String },
    /// A connect or a statement got no answer within [`db::DB_TIMEOUT`] (e.g. the server is stopped).
    #[error("MariaDB at {host}:{port} did not answer within {secs} s")]
    DbTimeout { host: String, port: u16, secs: u64 },
    #[error("schema of database {database} failed: {message}")]
    Schema { database: String, message: String },
    #[error("backend file {path}: {message}")]
    BadFile { path: String, message: String },
    /// The backend ended before it was ready (e.g. a config error: exit 2 with the message on stderr).
    #[error("backend exited (status {status:?}) before it was ready: {stderr}")]
    BackendExited { status: Option<i32>, stderr: String },
    #[error("backend not healthy: {0}")]
    BackendUnhealthy(String),
    #[error("backend is stopped")]
    BackendStopped,
}

/// The database a scenario asks for (from the tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSpec {
    pub name: String,
    pub user: String,
    pub password: String,
}

/// One MariaDB server of the run, with its bookkeeping.
struct DbServer {
    addr: ServerAddr,
    ledger: Ledger,
    process: ServerProcess,
    // Last: a server outliving its `Runtime` (held by a ScenarioDb) keeps its datadir until it stops.
    _run: Arc<RunDir>,
}

enum ServerProcess {
    Local(local::LocalMariadb),
    Docker(Box<docker::MariadbContainer>),
    /// The nextest run's server: it belongs to the run, not to this process.
    #[cfg(unix)]
    Shared,
}

/// Where a server's database names and accounts are kept: in this process, or for the run's shared server in
/// a file all its processes lock.
enum Ledger {
    Own(Mutex<ServerLedger>),
    #[cfg(unix)]
    Run(shared::SharedServer),
}

impl DbServer {
    /// A database name for `spec` on this server, or `None` when its account is here with another password.
    async fn claim(&self, spec: &DbSpec) -> Result<Option<String>, RuntimeError> {
        match &self.ledger {
            Ledger::Own(ledger) => Ok(ledger.lock().ok().and_then(|mut l| {
                l.accepts(&spec.user, &spec.password)
                    .then(|| l.claim(&spec.name, &spec.user, &spec.password))
            })),
            #[cfg(unix)]
            Ledger::Run(run) => run.claim(&spec.name, &spec.user, &spec.password).await,
        }
    }

    async fn release(&self, name: &str) {
        match &self.ledger {
            Ledger::Own(ledger) => {
                if let Ok(mut l) = ledger.lock() {
                    l.release(name);
                }
            }
            #[cfg(unix)]
            Ledger::Run(run) => run.release(name).await,
        }
    }
}

struct RuntimeInner {
    kind: RuntimeKind,
    reason: String,
    profile: BackendProfile,
    servers: tokio::sync::Mutex<Vec<Arc<DbServer>>>,
    seq: AtomicU64,
    // Last field: dropped after the servers, so the directory goes once nothing runs in it.
    run: Arc<RunDir>,
    /// What the start-up sweep removed.
    swept: sweep::Swept,
}

/// One per run: shared MariaDB server(s); sweeps leftovers of earlier runs at start.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

impl Runtime {
    pub async fn start(
        kind: RuntimeKind,
        profile: BackendProfile,
    ) -> Result<Runtime, RuntimeError> {
        Self::start_with(kind, profile, false).await
    }

    /// Like [`Runtime::start`], but under nextest on the local provider the databases live on one server
    /// shared by every test process of the nextest run (see [`shared`]); elsewhere the same as `start`.
    /// For catalogue runs: a test that stops or inspects the server wants [`Runtime::start`].
    pub async fn start_shared(
        kind: RuntimeKind,
        profile: BackendProfile,
    ) -> Result<Runtime, RuntimeError> {
        Self::start_with(kind, profile, true).await
    }

    async fn start_with(
        kind: RuntimeKind,
        profile: BackendProfile,
        share: bool,
    ) -> Result<Runtime, RuntimeError> {
        let (kind, reason) = resolve_kind(kind, &profile).await?;
        #[cfg(unix)]
        let nextest = (share && kind == RuntimeKind::Local)
            .then(shared::NextestRun::current)
            .flatten();
        // The first process of a nextest run sweeps for all of them.
        #[cfg(unix)]
        let swept_by_the_run = nextest.as_ref().is_some_and(|run| run.started());
        #[cfg(not(unix))]
        let swept_by_the_run = false;
        let swept = if swept_by_the_run {
            sweep::Swept::default()
        } else {
            sweep_leftovers().await
        };
        let run =
            Arc::new(RunDir::create().map_err(|e| local::io_err("create the run directory", e))?);
        let inner = Arc::new(RuntimeInner {
            kind,
            reason,
            profile,
            servers: tokio::sync::Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            run,
            swept,
        });
        #[cfg(unix)]
        let server = match &nextest {
            Some(run) => attach_shared(&inner, run).await?,
            None => start_server(&inner).await?,
        };
        #[cfg(not(unix))]
        let server = start_server(&inner).await?;
        inner.servers.lock().await.push(Arc::new(server));
        Ok(Runtime { inner })
    }

    /// Which provider `start` would use, and why, without starting anything.
    pub async fn probe(
        kind: RuntimeKind,
        profile: &BackendProfile,
    ) -> Result<(RuntimeKind, String), RuntimeError> {
        resolve_kind(kind, profile).await
    }

    /// The resolved provider (never `Auto`).
    pub fn kind(&self) -> RuntimeKind {
        self.inner.kind
    }

    /// Why this provider was chosen (e.g. "docker engine answered and images exist").
    pub fn reason(&self) -> &str {
        &self.inner.reason
    }

    pub fn profile(&self) -> &BackendProfile {
        &self.inner.profile
    }

    /// What the start-up sweep removed of earlier runs that died (both providers).
    pub fn swept(&self) -> sweep::Swept {
        self.inner.swept
    }

    /// The run's directory (datadirs, backend roots); removed when the run ends.
    pub fn run_dir(&self) -> &Path {
        self.inner.run.path()
    }

    /// Pids of the local MariaDB servers (empty for docker), for leak checks.
    pub async fn server_pids(&self) -> Vec<u32> {
        let servers = self.inner.servers.lock().await;
        servers
            .iter()
            .filter_map(|s| match &s.process {
                ServerProcess::Local(m) => Some(m.pid()),
                _ => None,
            })
            .collect()
    }

    /// Ids of the MariaDB containers (empty for local), for leak checks.
    pub async fn server_containers(&self) -> Vec<String> {
        let servers = self.inner.servers.lock().await;
        servers
            .iter()
            .filter_map(|s| match &s.process {
                ServerProcess::Docker(c) => c.container.id(),
                _ => None,
            })
            .collect()
    }

    /// A private, empty database for one scenario with the schema applied (the schema text may be mutated by
    /// the scenario). The actual name is `spec.name` when free on the server, else `spec.name_N`.
    pub async fn database(
        &self,
        spec: &DbSpec,
        schema_sql: &str,
    ) -> Result<ScenarioDb, RuntimeError> {
        let (server, name) = {
            let mut servers = self.inner.servers.lock().await;
            let mut claimed = None;
            for s in servers.iter() {
                if let Some(name) = s.claim(spec).await? {
                    claimed = Some((s.clone(), name));
                    break;
                }
            }
            match claimed {
                Some(found) => found,
                None => {
                    let server = Arc::new(start_server(&self.inner).await?);
                    let name = server
                        .claim(spec)
                        .await?
                        .unwrap_or_else(|| spec.name.clone());
                    servers.push(server.clone());
                    (server, name)
                }
            }
        };
        let db = ScenarioDb {
            host: server.addr.host.clone(),
            port: server.addr.port,
            name: name.clone(),
            user: spec.user.clone(),
            password: spec.password.clone(),
            server,
        };
        db::create_database(
            &db.server.addr,
            &name,
            &spec.user,
            &spec.password,
            schema_sql,
        )
        .await?;
        Ok(db)
    }

    /// Starts the backend with these files written under its root (e.g. "conf/OutDefine.php"), the log
    /// directory created. Returns once it answers its health URL.
    pub async fn start_backend(
        &self,
        files: &[(String, String)],
    ) -> Result<BackendInstance, RuntimeError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let dir = self.inner.run.path().join(format!("backend-{n}"));
        // The deployment's files hold the tenant's secrets: the backend's directory is its owner's only.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| bad_file(&dir.display().to_string(), e))?;
        let root = dir.join("root");
        if let Some(code) = &self.inner.profile.code {
            copy_tree(code, &root).map_err(|e| RuntimeError::BadFile {
                path: code.display().to_string(),
                message: format!("cannot copy the backend's code: {e}"),
            })?;
        }
        // Over the code: the profile's own files, then the scenario's deployment, which wins, never the
        // copy's own conf/.
        let profile_files = self.inner.profile.files.iter();
        for (rel, content) in profile_files.chain(files.iter().map(|(r, c)| (r, c))) {
            let path = root.join(safe_relative(rel)?);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| bad_file(rel, e))?;
            }
            local::write_private(&path, content).map_err(|e| bad_file(rel, e))?;
        }
        let log_rel = safe_relative(&self.inner.profile.log_dir)?;
        let log_dir = root.join(log_rel);
        if self.inner.profile.code.is_some() {
            // The logs a copied deployment already had are not this scenario's.
            let _ = std::fs::remove_dir_all(&log_dir);
        }
        std::fs::create_dir_all(&log_dir).map_err(|e| bad_file(&self.inner.profile.log_dir, e))?;
        let mut instance = BackendInstance {
            runtime: self.inner.clone(),
            dir,
            root,
            log_dir,
            port: None,
            base_url: String::new(),
            running: Running::Stopped,
            unready: BTreeMap::new(),
        };
        instance.launch().await?;
        Ok(instance)
    }
}

async fn resolve_kind(
    kind: RuntimeKind,
    profile: &BackendProfile,
) -> Result<(RuntimeKind, String), RuntimeError> {
    // Local needs no engine: do not spend a probe on it.
    let engine = kind != RuntimeKind::Local && docker::engine_answers().await;
    let images = |engine: bool| async move {
        if !engine {
            return Err(if cfg!(feature = "docker") {
                "no docker engine answers".to_string()
            } else {
                "built without the `docker` cargo feature".to_string()
            });
        }
        let mariadb = format!("{}:{}", docker::MARIADB_IMAGE.0, docker::MARIADB_IMAGE.1);
        if !docker::image_exists(&mariadb).await {
            return Err(format!(
                "image {mariadb} is missing (run scripts/images.sh)"
            ));
        }
        match &profile.image {
            None => Err(format!("profile {} names no image", profile.name)),
            Some(image) if !docker::image_exists(image).await => {
                Err(format!("image {image} is missing (run scripts/images.sh)"))
            }
            Some(_) => Ok(()),
        }
    };
    match kind {
        RuntimeKind::Local => Ok((RuntimeKind::Local, "local processes requested".to_string())),
        RuntimeKind::Docker => match images(engine).await {
            Ok(()) => Ok((
                RuntimeKind::Docker,
                "docker requested; engine answered".to_string(),
            )),
            Err(why) => Err(RuntimeError::DockerUnavailable(why)),
        },
        RuntimeKind::Auto => match images(engine).await {
            Ok(()) => Ok((
                RuntimeKind::Docker,
                "auto: docker engine answered and the images exist".to_string(),
            )),
            Err(why) if profile.command.is_some() => {
                Ok((RuntimeKind::Local, format!("auto: local processes ({why})")))
            }
            Err(why) => Err(RuntimeError::DockerUnavailable(format!(
                "{why}, and profile {} has no local command",
                profile.name
            ))),
        },
    }
}

/// Both providers' leftovers of dead runs, whichever runs now: containers first, since a dead docker run's
/// directories are their mounts and go only once the containers are gone.
async fn sweep_leftovers() -> sweep::Swept {
    let containers = tokio::time::timeout(Duration::from_secs(20), sweep::sweep_containers())
        .await
        .unwrap_or(0);
    let mut swept = tokio::task::spawn_blocking(sweep::sweep_local)
        .await
        .unwrap_or_default();
    swept.containers = containers;
    swept
}

async fn start_server(inner: &RuntimeInner) -> Result<DbServer, RuntimeError> {
    let (addr, process) = match inner.kind {
        RuntimeKind::Docker => {
            let container = docker::MariadbContainer::start().await?;
            (
                container.addr.clone(),
                ServerProcess::Docker(Box::new(container)),
            )
        }
        _ => {
            let n = inner.seq.fetch_add(1, Ordering::Relaxed);
            let dir = inner.run.path().join(format!("mariadb-{n}"));
            let server = local::LocalMariadb::start(&dir, inner.run.path()).await?;
            (server.addr.clone(), ServerProcess::Local(server))
        }
    };
    Ok(DbServer {
        addr,
        ledger: Ledger::Own(Mutex::new(ServerLedger::default())),
        process,
        _run: inner.run.clone(),
    })
}

#[cfg(unix)]
async fn attach_shared(
    inner: &RuntimeInner,
    run: &shared::NextestRun,
) -> Result<DbServer, RuntimeError> {
    let server = shared::SharedServer::attach(run).await?;
    Ok(DbServer {
        addr: server.addr.clone(),
        ledger: Ledger::Run(server),
        process: ServerProcess::Shared,
        _run: inner.run.clone(),
    })
}

/// A relative path that stays under the root (no absolute path, no `..`).
fn safe_relative(rel: &str) -> Result<PathBuf, RuntimeError> {
    let path = Path::new(rel);
    let ok = !rel.is_empty()
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(path.to_path_buf())
    } else {
        Err(RuntimeError::BadFile {
            path: rel.to_string(),
            message: "must be a relative path under the backend root".to_string(),
        })
    }
}

/// Copies `from` into `to` (files and directories; a symlink as what it points to, so a backend reading
/// `__DIR__/conf` finds the copy's conf/, not the original's).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        if std::fs::metadata(&source)?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            std::fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Sizes of the files in a log directory.
fn log_sizes(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file()
                .then(|| (e.file_name().to_string_lossy().into_owned(), meta.len()))
        })
        .collect()
}

/// `bytes` without the ranges written while the backend was not ready yet.
fn without_ranges(bytes: &[u8], ranges: &[(u64, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0usize;
    for &(start, end) in ranges {
        let (start, end) = (start as usize, end as usize);
        if start >= bytes.len() {
            break;
        }
        if start > at {
            out.extend_from_slice(&bytes[at..start]);
        }
        at = at.max(end.min(bytes.len()));
    }
    if at < bytes.len() {
        out.extend_from_slice(&bytes[at..]);
    }
    out
}

/// The last `n` lines of a text.
pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn bad_file(rel: &str, e: std::io::Error) -> RuntimeError {
    RuntimeError::BadFile {
        path: rel.to_string(),
        message: e.to_string(),
    }
}

/// A scenario's private database; dropped (DROP DATABASE) when the handle goes.
pub struct ScenarioDb {
    pub host: String,
    pub port: u16,
    /// The actual database name (write it into cdn.route.ini `[DB] DBNAME`).
    pub name: String,
    pub user: String,
    pub password: String,
    server: Arc<DbServer>,
}

impl ScenarioDb {
    /// Runs `sql` in this database as the scenario's account (what the backend logs in as); each row as
    /// column → JSON value (integers as numbers, everything else as text, NULL as null).
    pub async fn query_rows(
        &self,
        sql: &str,
    ) -> Result<Vec<BTreeMap<String, serde_json::Value>>, RuntimeError> {
        let account = (
            self.name.as_str(),
            self.user.as_str(),
            self.password.as_str(),
        );
        db::query_rows(&self.server.addr, account, sql).await
    }

    /// The pid of the local `mariadbd` holding this database (None on the docker provider), for tests that
    /// stop the server to check the bounds.
    pub fn server_pid(&self) -> Option<u32> {
        match &self.server.process {
            ServerProcess::Local(server) => Some(server.pid()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for ScenarioDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScenarioDb")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .finish()
    }
}

impl Drop for ScenarioDb {
    fn drop(&mut self) {
        // The name is free again only once the database is gone; without a runtime the server goes soon anyway.
        // The task holds the server weakly: the last strong reference must be dropped by the caller, never
        // by a task cancelled at runtime shutdown, where a container's removal could no longer run.
        let addr = self.server.addr.clone();
        let server = Arc::downgrade(&self.server);
        let name = self.name.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if db::drop_database(&addr, &name).await.is_ok()
                    && let Some(server) = server.upgrade()
                {
                    server.release(&name).await;
                }
            });
        }
    }
}

enum Running {
    Stopped,
    Local {
        child: ChildProcess,
        stderr: PathBuf,
    },
    Docker(Box<docker::OwnedContainer>),
}

/// A running (or stopped) backend of one scenario.
pub struct BackendInstance {
    runtime: Arc<RuntimeInner>,
    dir: PathBuf,
    root: PathBuf,
    log_dir: PathBuf,
    port: Option<u16>,
    base_url: String,
    running: Running,
    /// Per log file, the byte ranges written during a start before the backend was ready (a probe's
    /// traces, start-up notices): not part of what the scenario made the backend log.
    unready: BTreeMap<String, Vec<(u64, u64)>>,
}

/// Lines of the backend's output attached to an error.
pub const OUTPUT_TAIL_LINES: usize = 20;

const READY_TIMEOUT: Duration = Duration::from_secs(20);

impl BackendInstance {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The backend's root on the host (conf/, log/).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// (file name, content) of each file in the log directory, sorted by name.
    pub fn log_files(&self) -> Result<Vec<(String, String)>, RuntimeError> {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&self.log_dir).map_err(|e| bad_file("log", e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = std::fs::read(&path).map_err(|e| bad_file("log", e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let bytes = match self.unready.get(&name) {
                    Some(ranges) => without_ranges(&bytes, ranges),
                    None => bytes,
                };
                if bytes.is_empty() && self.unready.contains_key(&name) {
                    continue;
                }
                files.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
        files.sort();
        Ok(files)
    }

    /// What the backend wrote to stdout so far.
    pub async fn stdout(&self) -> String {
        match &self.running {
            Running::Stopped => String::new(),
            Running::Local { .. } => {
                std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
            }
            Running::Docker(c) => c.stdout().await,
        }
    }

    /// The last lines the backend wrote to stdout and stderr, for an error report (empty when it wrote none).
    pub async fn output_tail(&self) -> String {
        let mut parts = Vec::new();
        for (name, text) in [
            ("stdout", self.stdout().await),
            ("stderr", self.stderr().await),
        ] {
            let tail = tail_lines(&text, OUTPUT_TAIL_LINES);
            if !tail.trim().is_empty() {
                parts.push(format!("backend {name} (last lines):\n{tail}"));
            }
        }
        parts.join("\n")
    }

    /// What the backend wrote to stderr so far (its startup errors, for example).
    pub async fn stderr(&self) -> String {
        match &self.running {
            Running::Stopped => String::new(),
            Running::Local { stderr, .. } => std::fs::read_to_string(stderr).unwrap_or_default(),
            Running::Docker(c) => c.stderr().await,
        }
    }

    /// Id of the backend container (None for local or when stopped), for leak checks.
    pub fn container_id(&self) -> Option<String> {
        match &self.running {
            Running::Docker(c) => c.id(),
            _ => None,
        }
    }

    /// Pid of the local backend process (None for docker or when stopped), for leak checks.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Local { child, .. } => Some(child.pid()),
            _ => None,
        }
    }

    /// Graceful stop (SIGTERM, then SIGKILL after 5 s).
    pub async fn stop(&mut self) -> Result<(), RuntimeError> {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::Stopped => {}
            Running::Local { mut child, .. } => {
                child.stop(Duration::from_secs(5)).await;
            }
            Running::Docker(mut owned) => {
                owned.remove().await?;
            }
        }
        Ok(())
    }

    /// Stops and starts again: same port, same files (and whatever the backend wrote to its log).
    pub async fn restart(&mut self) -> Result<(), RuntimeError> {
        self.stop().await?;
        self.launch().await
    }

    async fn launch(&mut self) -> Result<(), RuntimeError> {
        let before = log_sizes(&self.log_dir);
        let result = self.launch_unready().await;
        if result.is_ok() {
            for (name, after) in log_sizes(&self.log_dir) {
                let start = before.get(&name).copied().unwrap_or(0);
                if after > start {
                    self.unready.entry(name).or_default().push((start, after));
                }
            }
        }
        result
    }

    async fn launch_unready(&mut self) -> Result<(), RuntimeError> {
        let profile = &self.runtime.profile;
        let profile_dir = profile.profile_dir.as_deref();
        let host = "127.0.0.1";
        // First start: port 0 when the backend announces its address (no race), else a probed free port.
        let port = match (self.port, &profile.ready_line) {
            (Some(port), _) => port,
            (None, Some(_)) => 0,
            (None, None) => local::free_port()?,
        };
        match self.runtime.kind {
            RuntimeKind::Docker => {
                let image = profile.image.clone().ok_or_else(|| {
                    RuntimeError::DockerUnavailable(format!(
                        "profile {} names no image",
                        profile.name
                    ))
                })?;
                let args = profile::substitute(
                    &profile.image_args,
                    &profile.root,
                    host,
                    port,
                    profile_dir,
                );
                let env = substitute_env(profile, &profile.root, host, port);
                let host_root = self.root.display().to_string();
                let container =
                    docker::start_backend_container(&image, args, env, &host_root, &profile.root)
                        .await?;
                let announced = match &profile.ready_line {
                    Some(prefix) => Some(
                        container
                            .wait_line(|l| profile::announced_address(l, prefix), READY_TIMEOUT)
                            .await?,
                    ),
                    None => None,
                };
                self.running = Running::Docker(Box::new(container));
                self.finish_launch(announced, port).await
            }
            _ => {
                let command = profile
                    .command
                    .clone()
                    .ok_or_else(|| RuntimeError::Profile {
                        path: format!("profile {}", profile.name),
                        message: "no `command` for the local provider".to_string(),
                    })?;
                let root = self.root.display().to_string();
                let argv = profile::substitute(&command, &root, host, port, profile_dir);
                let Some((program, args)) = argv.split_first() else {
                    return Err(RuntimeError::Profile {
                        path: format!("profile {}", profile.name),
                        message: "empty command".to_string(),
                    });
                };
                let stderr_path = self.dir.join("stderr.log");
                let mut command = std::process::Command::new(profile::resolve_profile_program(
                    program,
                    profile_dir,
                ));
                command
                    .args(args)
                    .current_dir(&self.root)
                    .envs(substitute_env(profile, &root, host, port))
                    .env(RUN_ENV, self.runtime.run.path());
                // Both streams are read: PHP announces its address on stderr. Its own process group:
                // a backend that forks workers (PHP_CLI_SERVER_WORKERS) is stopped with all of them.
                let mut child = ChildProcess::spawn_group_with_stderr(
                    command,
                    libc::SIGKILL,
                    Some(&self.dir.join("stdout.log")),
                    &stderr_path,
                )
                .map_err(|e| RuntimeError::Spawn {
                    what: format!("backend {program}"),
                    message: e.to_string(),
                })?;
                let announced = match &profile.ready_line {
                    Some(prefix) => match wait_child_line(&mut child, prefix).await {
                        Ok(addr) => Some(addr),
                        Err(status) => {
                            return Err(RuntimeError::BackendExited {
                                status,
                                stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
                            });
                        }
                    },
                    None => None,
                };
                child.close_stdout();
                self.running = Running::Local {
                    child,
                    stderr: stderr_path,
                };
                self.finish_launch(announced, port).await
            }
        }
    }

    /// Settles the address and waits for the health URL.
    async fn finish_launch(
        &mut self,
        announced: Option<String>,
        port: u16,
    ) -> Result<(), RuntimeError> {
        let addr = announced.unwrap_or_else(|| format!("127.0.0.1:{port}"));
        let port = addr
            .rsplit_once(':')
            .and_then(|(_, p)| p.trim_end_matches('/').parse::<u16>().ok())
            .ok_or_else(|| RuntimeError::BackendUnhealthy(format!("unusable address {addr:?}")))?;
        self.port = Some(port);
        self.base_url = format!("http://127.0.0.1:{port}");
        let result = match self.wait_healthy().await {
            Err(RuntimeError::BackendUnhealthy(why)) => {
                let tail = self.output_tail().await;
                Err(RuntimeError::BackendUnhealthy(if tail.is_empty() {
                    why
                } else {
                    format!("{why}\n{tail}")
                }))
            }
            other => other,
        };
        if result.is_err() {
            // Keep the error, but do not keep a half-started backend running.
            let _ = self.stop().await;
        }
        result
    }

    async fn wait_healthy(&mut self) -> Result<(), RuntimeError> {
        let url = format!("{}{}", self.base_url, self.runtime.profile.health_path);
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| RuntimeError::BackendUnhealthy(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        let mut delay = Duration::from_millis(5);
        loop {
            if let Running::Local { child, stderr } = &self.running
                && let Some(status) = child.exit_status()
            {
                return Err(RuntimeError::BackendExited {
                    status: status.code(),
                    stderr: std::fs::read_to_string(stderr).unwrap_or_default(),
                });
            }
            let last = match self.runtime.profile.ready {
                profile::Readiness::Tcp => {
                    let port = self.port.unwrap_or_default();
                    match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                        Ok(_) => return Ok(()),
                        Err(e) => format!("connect to 127.0.0.1:{port}: {e}"),
                    }
                }
                profile::Readiness::Http => match client.get(&url).send().await {
                    Ok(resp) if resp.status().is_success() => return Ok(()),
                    Ok(resp) => format!("GET {url} answered {}", resp.status()),
                    Err(e) => format!("GET {url}: {e}"),
                },
            };
            if tokio::time::Instant::now() > deadline {
                return Err(RuntimeError::BackendUnhealthy(last));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(100));
        }
    }
}

impl Drop for BackendInstance {
    fn drop(&mut self) {
        // A local child is killed by its own Drop; a container is removed by testcontainers' Drop. The
        // backend directory goes with the run directory.
        let _ = &self.dir;
    }
}

/// Reads stdout until a line containing `prefix`; the rest of that line is the announced address.
/// Err(exit status) when stdout closes first.
async fn wait_child_line(child: &mut ChildProcess, prefix: &str) -> Result<String, Option<i32>> {
    let read = async {
        while let Some(line) = child.next_line().await {
            if let Some(addr) = profile::announced_address(&line, prefix) {
                return Some(addr);
            }
        }
        None
    };
    match tokio::time::timeout(READY_TIMEOUT, read).await {
        Ok(Some(addr)) => Ok(addr),
        Ok(None) => Err(child.wait().await.and_then(|s| s.code())),
        Err(_) => {
            child.stop(Duration::from_secs(2)).await;
            Err(None)
        }
    }
}

/// The profile's environment, substituted like its command.
fn substitute_env(
    profile: &BackendProfile,
    root: &str,
    host: &str,
    port: u16,
) -> Vec<(String, String)> {
    profile
        .env
        .iter()
        .map(|(k, v)| {
            let v = profile::substitute(
                std::slice::from_ref(v),
                root,
                host,
                port,
                profile.profile_dir.as_deref(),
            );
            (k.clone(), v.concat())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bytes_of_unready_starts_are_left_out() {
        let log = b"probe error\nscenario line\nrestart notice\nlater\n";
        let ranges = [(0, 12), (26, 41)];
        assert_eq!(
            String::from_utf8_lossy(&without_ranges(log, &ranges)),
            "scenario line\nlater\n"
        );
        assert_eq!(without_ranges(b"abc", &[]), b"abc");
        assert_eq!(without_ranges(b"abc", &[(0, 10)]), b"");
    }

    #[test]
    fn the_code_is_copied_and_the_harness_files_win() {
        let base = std::env::temp_dir().join(format!("tcharness-copy-{}", std::process::id()));
        let (code, root) = (base.join("code"), base.join("root"));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(code.join("conf")).ok();
        std::fs::write(code.join("interface.php"), "<?php").ok();
        std::fs::write(code.join("conf/OutDefine.php"), "theirs").ok();
        assert!(copy_tree(&code, &root).is_ok());
        std::fs::write(root.join("conf/OutDefine.php"), "ours").ok();
        assert_eq!(
            std::fs::read_to_string(root.join("interface.php"))
                .ok()
                .as_deref(),
            Some("<?php")
        );
        assert_eq!(
            std::fs::read_to_string(code.join("conf/OutDefine.php"))
                .ok()
                .as_deref(),
            Some("theirs")
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn an_error_tail_keeps_the_last_lines() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("", 2), "");
    }

    #[test]
    fn backend_files_must_stay_under_the_root() {
        assert!(safe_relative("conf/OutDefine.php").is_ok());
        assert!(safe_relative("/etc/passwd").is_err());
        assert!(safe_relative("conf/../../x").is_err());
        assert!(safe_relative("").is_err());
    }
}
