//! A whole Mini LVB deployment for one test: the emulated Tencent Cloud, a private MariaDB database, the
//! backend configured against both, and the simulated app, all on loopback.
//!
//! ```no_run
//! use tcharness::stack::Stack;
//! use tcharness::terminal::AppStep;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let mut stack = Stack::builder().start().await?;
//! stack.run(AppStep::register()).await?;
//! stack.run(AppStep::login()).await?;
//! stack.run(AppStep::start_live()).await?;
//! stack.run(AppStep::StopLive).await?;
//! stack.drain_callbacks().await?;
//! stack.run(AppStep::fetch_list(2)).await?;
//! assert_eq!(stack.app().items().len(), 1, "the replay is listed");
//! # Ok(())
//! # }
//! ```
//!
//! Each stack gets its own cloud, database and backend; stacks built on one [`Runtime`]
//! ([`StackBuilder::on`]) share its MariaDB server, as the scenarios of a replay do. Dropping a stack
//! stops its backend and drops its database.

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::cloud::{CallbackTime, Cloud, CloudOptions, Tenant, Unsettled};
use crate::runtime::{
    BackendInstance, BackendProfile, DbSpec, Runtime, RuntimeError, RuntimeKind, ScenarioDb,
};
use crate::scenario::deployment::{self, DeploymentError, Placeholders};
use crate::scenario::model::Mutations;
use crate::terminal::{
    App, AppConstants, AppOptions, AppStep, Network, Pusher, Unanswered, WaitTime,
};

/// How long the consequences of one step may take to reach the journal.
pub const SETTLE_BOUND: Duration = Duration::from_secs(20);

/// Why a stack did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// MariaDB or the backend did not start (or answer).
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
    /// The deployment's files or console could not be built from the changes.
    #[error("deployment: {0}")]
    Deployment(#[from] DeploymentError),
    /// The app could not be configured, or a step failed as the app saw it.
    #[error("app: {0}")]
    App(String),
    /// A listener of the cloud could not be bound.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Configures a [`Stack`]: which backend, on which provider, with which changes to the healthy
/// deployment. Every setting has the default a healthy replay uses.
#[derive(Clone)]
#[must_use]
pub struct StackBuilder {
    runtime: Option<Runtime>,
    kind: RuntimeKind,
    profile: BackendProfile,
    tenant: Tenant,
    mutations: Mutations,
    pusher: Pusher,
    app_timeout: Duration,
    callback_timeout: Duration,
    real_time: bool,
}

impl Default for StackBuilder {
    fn default() -> Self {
        Self {
            runtime: None,
            kind: RuntimeKind::Local,
            profile: BackendProfile::minilvb(),
            tenant: Tenant::healthy(),
            mutations: Mutations::default(),
            pusher: Pusher::Builtin,
            app_timeout: Duration::from_secs(15),
            callback_timeout: Duration::from_secs(20),
            real_time: false,
        }
    }
}

impl StackBuilder {
    /// Runs on an already started runtime (its MariaDB server is shared) instead of starting one.
    pub fn on(mut self, runtime: &Runtime) -> Self {
        self.runtime = Some(runtime.clone());
        self
    }

    /// Which provider starts MariaDB and the backend when no runtime is given (default: local).
    pub fn runtime(mut self, kind: RuntimeKind) -> Self {
        self.kind = kind;
        self
    }

    /// The backend under test (default: the built-in minilvb profile).
    pub fn profile(mut self, profile: BackendProfile) -> Self {
        self.profile = profile;
        self
    }

    /// The healthy account everything is derived from (default: `scenarios/tenant.toml`).
    pub fn tenant(mut self, tenant: Tenant) -> Self {
        self.tenant = tenant;
        self
    }

    /// A console setting by path, as in a scenario's `[mutate.cloud]` (`"lvb.callback_url"`).
    pub fn console(mut self, path: &str, value: impl Into<toml::Value>) -> Self {
        self.mutations.cloud.insert(path.to_string(), value.into());
        self
    }

    /// An `OutDefine.php` constant of the backend (`COSKEY_APPID`).
    pub fn outdefine(mut self, name: &str, value: impl Into<toml::Value>) -> Self {
        self.mutations
            .backend
            .outdefine
            .insert(name.to_string(), value.into());
        self
    }

    /// A `cdn.route.ini` value of the backend (`[DB] PASSWD`).
    pub fn route(mut self, section: &str, key: &str, value: impl Into<toml::Value>) -> Self {
        self.mutations
            .backend
            .route
            .entry(section.to_string())
            .or_default()
            .insert(key.to_string(), value.into());
        self
    }

    /// An app constant by its iOS name (`kTCCOSRegion`).
    pub fn app_constant(mut self, name: &str, value: impl Into<toml::Value>) -> Self {
        self.mutations.app.insert(name.to_string(), value.into());
        self
    }

    /// All changes of a scenario at once.
    pub fn mutations(mut self, mutations: Mutations) -> Self {
        self.mutations = mutations;
        self
    }

    /// The app's RTMP publisher (default: the built-in one; `Pusher::Ffmpeg` for a real encoder).
    pub fn pusher(mut self, pusher: Pusher) -> Self {
        self.pusher = pusher;
        self
    }

    /// The app's HTTP timeout (default 15 s; the real app waits 30 s). On the scenario's time it is
    /// only waited for when a server is slow: refused and never-answered requests end at once.
    pub fn app_timeout(mut self, timeout: Duration) -> Self {
        self.app_timeout = timeout;
        self
    }

    /// How long one callback attempt may take (default: the platform's 20 s).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Callback retries and the app's waits pass in real time, as for a device or a backend that
    /// waits on the platform. By default they pass in the scenario's time: retries are due on the cloud
    /// clock and go out when it moves ([`Stack::advance_clock`], [`Stack::drain_callbacks`]), and a
    /// request that cannot be answered within a step times out at once.
    pub fn real_time(mut self) -> Self {
        self.real_time = true;
        self
    }

    /// Starts the cloud, the database (schema applied) and the backend, writes the deployment's files,
    /// sets the console and builds the app with its constants.
    pub async fn start(self) -> Result<Stack, StackError> {
        let runtime = match &self.runtime {
            Some(runtime) => runtime.clone(),
            None => Runtime::start(self.kind, self.profile.clone()).await?,
        };
        let tenant = &self.tenant;
        let m = &self.mutations;
        let silent = SilentHost::start().await?;
        let cloud = Cloud::start(
            tenant.clone(),
            CloudOptions {
                callback_timeout: self.callback_timeout,
                callback_time: if self.real_time {
                    CallbackTime::Real
                } else {
                    CallbackTime::Cloud
                },
                recordings_in: Some(runtime.run_dir().to_path_buf()),
                ..CloudOptions::default()
            },
        )
        .await?;

        let mut schema = runtime.profile().schema_sql().await?;
        for sql in &m.backend.schema_after {
            schema.push_str(&format!("\n{};\n", sql.trim_end_matches(';')));
        }
        let spec = DbSpec {
            name: tenant.database.name.clone(),
            user: tenant.database.user.clone(),
            password: tenant.database.password.clone(),
        };
        let db = runtime.database(&spec, &schema).await?;
        let mut p = Placeholders {
            cloud: cloud.http_addr().to_string(),
            silent: silent.addr.to_string(),
            db_host: db.host.clone(),
            db_port: db.port,
            db_name: db.name.clone(),
            ..Placeholders::default()
        };
        let files = vec![
            (
                "conf/OutDefine.php".to_string(),
                deployment::outdefine_php(tenant, m)?,
            ),
            ("conf/cdn.inc.ini".to_string(), deployment::cdn_inc_ini()),
            (
                "conf/cdn.route.ini".to_string(),
                deployment::cdn_route_ini(tenant, m, &p),
            ),
        ];
        let backend = runtime.start_backend(&files).await?;
        p.backend = backend
            .base_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let console = deployment::console(tenant, m, &p)?;
        cloud.ctx.update_tenant(|t| *t = console);

        let mut constants = AppConstants::default();
        for (name, value) in deployment::app_constants(tenant, m, &p)? {
            constants
                .set(&name, &value)
                .map_err(|e| StackError::App(e.to_string()))?;
        }
        let network = Network {
            cloud_http: cloud.http_addr(),
            cloud_rtmp: cloud.rtmp_addr(),
            source_ip: None,
        };
        let options = AppOptions {
            http_timeout: self.app_timeout,
            pusher: self.pusher,
            wait: if self.real_time {
                WaitTime::Real
            } else {
                WaitTime::Scenario(silent.unanswered.clone())
            },
            ..AppOptions::default()
        };
        let app =
            App::new(constants, network, options).map_err(|e| StackError::App(e.to_string()))?;
        Ok(Stack {
            app,
            backend,
            db,
            cloud,
            _silent: silent,
            _runtime: runtime,
        })
    }
}

/// A running deployment; see the [module docs](self).
pub struct Stack {
    // Field order is drop order: the app's pushes end before the backend, the database and the cloud go.
    app: App,
    backend: BackendInstance,
    db: ScenarioDb,
    cloud: Cloud,
    /// Kept alive for the wrong server address of FAQ 2.4 (`{silent}`).
    _silent: SilentHost,
    _runtime: Runtime,
}

impl Stack {
    /// A builder with the healthy defaults.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// Runs one app step, then waits until its consequences reached the journal (or are scheduled for a
    /// later cloud time). An app-visible failure is returned as the app saw it; the cloud is settled
    /// either way.
    pub async fn run(&mut self, step: AppStep) -> Result<(), StackError> {
        let result = self.app.run(&step).await;
        let settled = self.settle().await;
        match (result, settled) {
            (Err(e), _) => Err(StackError::App(e.to_string())),
            (Ok(()), Err(pending)) => Err(StackError::App(format!(
                "step {} did not settle: {pending}",
                step.name()
            ))),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Waits until every consequence so far is journaled or scheduled (see [`Cloud::settle`]).
    pub async fn settle(&self) -> Result<(), Unsettled> {
        let app = &self.app;
        self.cloud.settle(|| app.live_pushes(), SETTLE_BOUND).await
    }

    /// Moves the cloud clock; callback retries due on the way go out at their times.
    pub async fn advance_clock(&self, secs: i64) -> Result<(), Unsettled> {
        let app = &self.app;
        self.cloud
            .advance_clock(secs, || app.live_pushes(), SETTLE_BOUND)
            .await
    }

    /// Delivers every queued callback, retries included, or gives it up.
    pub async fn drain_callbacks(&self) -> Result<(), Unsettled> {
        let app = &self.app;
        self.cloud
            .drain_callbacks(|| app.live_pushes(), SETTLE_BOUND)
            .await
    }

    /// The simulated app (its log, what it showed, its push).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The app, to run steps without settling.
    pub fn app_mut(&mut self) -> &mut App {
        &mut self.app
    }

    /// The emulated cloud: its journal, clock and console.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// The deployment's private database.
    pub fn db(&self) -> &ScenarioDb {
        &self.db
    }

    /// The backend under test (its logs; stop and restart it).
    pub fn backend(&self) -> &BackendInstance {
        &self.backend
    }

    /// The backend, to stop or restart it.
    pub fn backend_mut(&mut self) -> &mut BackendInstance {
        &mut self.backend
    }
}

/// A host that accepts connections and never answers: a wrong server address that times out. It tells
/// the app's stack (through [`Unanswered`]) when it took a whole request, so the app's timeout passes in
/// the scenario's time.
pub(crate) struct SilentHost {
    pub(crate) addr: SocketAddr,
    unanswered: Unanswered,
    task: tokio::task::JoinHandle<()>,
}

/// Connections the silent host keeps at once; more are closed (only a runaway client opens them).
const SILENT_HOLDS: usize = 64;

impl SilentHost {
    async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let unanswered = Unanswered::new(addr);
        let signal = unanswered.clone();
        let task = tokio::spawn(async move {
            let mut held = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                while held.try_join_next().is_some() {}
                if held.len() >= SILENT_HOLDS {
                    continue;
                }
                held.spawn(swallow(stream, signal.clone()));
            }
        });
        Ok(Self {
            addr,
            unanswered,
            task,
        })
    }
}

/// Reads a request head and signals it; then keeps the connection open without a word until the client
/// leaves.
async fn swallow(mut stream: tokio::net::TcpStream, signal: Unanswered) {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut signalled = false;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if signalled {
                    continue;
                }
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 64 * 1024 {
                    signalled = true;
                    seen = Vec::new();
                    signal.took_request();
                }
            }
        }
    }
}

impl Drop for SilentHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}
