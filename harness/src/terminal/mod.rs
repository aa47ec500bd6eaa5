//! The simulated Mini LVB app (V1): its constants, flows and app-visible errors.
//!
//! The app is configured like the real one (by `kTCCOSRegion`, `kHttpServerAddr`, ... see
//! [`AppConstants`]), reaches everything over the wire only (Tencent names resolve to the emulated
//! cloud, see [`net`]), follows the V1 app's call order, and keeps an ordered log ([`AppEvent`]) of
//! what it did and what it showed the user, in the real apps' words ([`shown`]).

pub mod constants;
mod flows;
mod http;
pub mod net;
pub mod push;
pub mod shown;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use constants::{AppConstants, ConstantName, ConstantsError};
pub use net::{Network, Unanswered, WaitTime};
pub use push::{PushFailure, PushHandle, PushState, PushUrl, Pusher};
pub use shown::Shown;

/// How the simulated phone behaves (not the customer's configuration).
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// How long the app waits for any HTTP answer, and for a push to start (`kHttpTimeout`: 30 s in
    /// the real app; short in tests).
    pub http_timeout: Duration,
    /// Which RTMP publisher pushes the anchor's stream.
    pub pusher: Pusher,
    /// Account used by `register`/`login` when the step names none.
    pub default_username: String,
    pub default_password: String,
    /// Whether waiting for answers takes real time or the scenario's.
    pub wait: WaitTime,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            http_timeout: Duration::from_secs(30),
            pusher: Pusher::Builtin,
            default_username: "anchor01".to_string(),
            default_password: "Mlvb2017pass".to_string(),
            wait: WaitTime::Real,
        }
    }
}

/// One step of a user flow, as named in a scenario's `[[flow]]` tables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum AppStep {
    /// TLS hosted-account registration; `count` > 1 registers `{username}_1` .. `{username}_{count}`.
    Register {
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        #[serde(default)]
        count: Option<u32>,
    },
    /// TLS password login, then IM login with the UserSig.
    Login {
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
    },
    /// GetCOSSign → COS v4 upload of a small JPEG → download of `access_url`.
    UploadAvatar,
    /// GetCOSSign → COS v4 upload of a small JPEG (the cover).
    UploadCover,
    /// Download of the uploaded cover's `access_url`.
    DownloadCover,
    /// RequestLVBAddr → RTMP push (kept running) → ChangeStatus 0.
    StartLive {
        #[serde(default)]
        title: Option<String>,
    },
    /// A second device pushes to the same push URL.
    PushAgain,
    /// Stops the push → ChangeStatus 1.
    StopLive,
    /// FetchList.
    FetchList {
        flag: i64,
        #[serde(default)]
        pageno: Option<i64>,
        #[serde(default)]
        pagesize: Option<i64>,
    },
    /// GetUserInfo of the first listed item.
    OpenItem,
    /// EnterGroup, FetchGroupMemberList, ChangeCount (like), QuitGroup on the first listed item.
    Watch,
    /// Downloads the first listed replay's play URL.
    PlayReplay,
    /// ForbidLive on the current anchor.
    ForbidLive,
}

impl AppStep {
    /// `register` with the app's default account.
    pub fn register() -> Self {
        AppStep::Register {
            username: None,
            password: None,
            count: None,
        }
    }

    /// `login` with the app's default account.
    pub fn login() -> Self {
        AppStep::Login {
            username: None,
            password: None,
        }
    }

    /// `start_live` with the app's default title.
    pub fn start_live() -> Self {
        AppStep::StartLive { title: None }
    }

    /// `fetch_list`: 1 live streams, 2 replays, 3 both.
    pub fn fetch_list(flag: i64) -> Self {
        AppStep::FetchList {
            flag,
            pageno: None,
            pagesize: None,
        }
    }

    /// The step's name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            AppStep::Register { .. } => "register",
            AppStep::Login { .. } => "login",
            AppStep::UploadAvatar => "upload_avatar",
            AppStep::UploadCover => "upload_cover",
            AppStep::DownloadCover => "download_cover",
            AppStep::StartLive { .. } => "start_live",
            AppStep::PushAgain => "push_again",
            AppStep::StopLive => "stop_live",
            AppStep::FetchList { .. } => "fetch_list",
            AppStep::OpenItem => "open_item",
            AppStep::Watch => "watch",
            AppStep::PlayReplay => "play_replay",
            AppStep::ForbidLive => "forbid_live",
        }
    }
}

/// Who the app talked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// The business backend at `kHttpServerAddr`.
    Backend,
    /// The COS v4 API.
    Cos,
    /// A download from a URL the app was given (access_url, play URL).
    Download,
    /// The TLS account service (registration, password login).
    Tls,
    /// The IM service (login).
    Im,
    /// The RTMP ingest.
    Rtmp,
}

/// One entry of the app's log, in order. Texts are deterministic (no ports, times or random ids).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AppEvent {
    /// A step of the flow begins.
    Step { step: String },
    /// One exchange with a peer and how it ended.
    Request {
        peer: Peer,
        request: String,
        outcome: String,
    },
    /// An event of the push SDK (1002 push begins, 3004 RTMP server actively disconnects, ...), with the
    /// SDK's constant name, its own (Chinese) text as a customer's log shows it, and the English.
    Push {
        code: i32,
        name: String,
        text: String,
        english: String,
        url: String,
    },
    /// What the app showed the user.
    Shown {
        android: String,
        ios: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        english: Option<String>,
    },
}

/// Why a step failed. The user-visible text of each is in the log as an [`AppEvent::Shown`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("app constants: {0}")]
    Config(String),
    #[error("{action}: HTTP {status}")]
    HttpStatus { action: String, status: u16 },
    #[error("{action}: no answer within {timeout_ms} ms")]
    Timeout { action: String, timeout_ms: u128 },
    #[error("{action}: {detail}")]
    Network { action: String, detail: String },
    #[error("{action}: invalid reply: {detail}")]
    InvalidReply { action: String, detail: String },
    #[error("{action}: returnValue {code}: {message}")]
    Backend {
        action: String,
        code: i64,
        message: String,
    },
    #[error("COS {op}: {code} {message}")]
    Cos {
        op: String,
        code: i64,
        message: String,
    },
    #[error("COS {op}: HTTP {status}")]
    CosHttp { op: String, status: u16 },
    #[error("{what} download: {detail}")]
    Download { what: String, detail: String },
    #[error("login failed: {code} {message}")]
    Login { code: i64, message: String },
    #[error("push: event {code} ({detail})")]
    Push { code: i32, detail: String },
    #[error("{0}")]
    Precondition(String),
}

/// One item of a fetched list (pusherinfo), the fields the app uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListItem {
    pub userid: String,
    pub groupid: String,
    /// 0 live, 1 replay.
    pub kind: i64,
    pub fileid: String,
    pub playurl: String,
    pub title: String,
}

/// The simulated app on one phone.
pub struct App {
    constants: AppConstants,
    network: Network,
    options: AppOptions,
    client: reqwest::Client,
    log: Vec<AppEvent>,
    /// The TLS account (username, password) the app registered or logs in with.
    account: Option<(String, String)>,
    /// The IM identifier after login; it is the `userid` sent to the backend.
    identifier: Option<String>,
    avatar_url: Option<String>,
    cover_url: Option<String>,
    push_url: Option<String>,
    push: Option<PushHandle>,
    second_push: Option<PushHandle>,
    /// Whether the cut of the current push was already logged.
    push_cut_reported: bool,
    items: Vec<ListItem>,
    last_flag: Option<i64>,
}

impl App {
    pub fn new(
        constants: AppConstants,
        network: Network,
        options: AppOptions,
    ) -> Result<App, AppError> {
        let client = net::http_client(&network, options.http_timeout)
            .map_err(|e| AppError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(App {
            constants,
            network,
            options,
            client,
            log: Vec::new(),
            account: None,
            identifier: None,
            avatar_url: None,
            cover_url: None,
            push_url: None,
            push: None,
            second_push: None,
            push_cut_reported: false,
            items: Vec::new(),
            last_flag: None,
        })
    }

    /// Runs one step. Never panics; every failure is also in the log with what the user saw.
    pub async fn run(&mut self, step: &AppStep) -> Result<(), AppError> {
        self.log.push(AppEvent::Step {
            step: step.name().to_string(),
        });
        self.notice_push_cut();
        let result = match step {
            AppStep::Register {
                username,
                password,
                count,
            } => {
                self.register(username.as_deref(), password.as_deref(), count.unwrap_or(1))
                    .await
            }
            AppStep::Login { username, password } => {
                self.login(username.as_deref(), password.as_deref()).await
            }
            AppStep::UploadAvatar => self.upload_picture(flows::Picture::Avatar).await,
            AppStep::UploadCover => self.upload_picture(flows::Picture::Cover).await,
            AppStep::DownloadCover => self.download_cover().await,
            AppStep::StartLive { title } => self.start_live(title.as_deref()).await,
            AppStep::PushAgain => self.push_again().await,
            AppStep::StopLive => self.stop_live().await,
            AppStep::FetchList {
                flag,
                pageno,
                pagesize,
            } => {
                self.fetch_list(*flag, pageno.unwrap_or(1), pagesize.unwrap_or(20))
                    .await
            }
            AppStep::OpenItem => self.open_item().await,
            AppStep::Watch => self.watch().await,
            AppStep::PlayReplay => self.play_replay().await,
            AppStep::ForbidLive => self.forbid_live().await,
        };
        if let Err(AppError::Precondition(text)) = &result {
            self.show(Shown::same(text.clone()));
        }
        result
    }

    /// What the app did and showed, in order.
    pub fn log(&self) -> &[AppEvent] {
        &self.log
    }

    /// Only the messages shown to the user, in order.
    pub fn shown(&self) -> Vec<Shown> {
        self.log
            .iter()
            .filter_map(|e| match e {
                AppEvent::Shown {
                    android,
                    ios,
                    english,
                } => Some(Shown {
                    android: android.clone(),
                    ios: ios.clone(),
                    english: english.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The IM identifier (= backend `userid`) once logged in.
    pub fn identifier(&self) -> Option<&str> {
        self.identifier.as_deref()
    }

    /// The push URL RequestLVBAddr gave the anchor (with its txSecret/txTime), once started.
    pub fn push_url(&self) -> Option<&str> {
        self.push_url.as_deref()
    }

    /// The last fetched list.
    pub fn items(&self) -> &[ListItem] {
        &self.items
    }

    /// The constants the app runs with.
    pub fn constants(&self) -> &AppConstants {
        &self.constants
    }

    /// The state of the anchor's push, if one was started.
    pub fn push_state(&self) -> Option<PushState> {
        self.push.as_ref().map(PushHandle::state)
    }

    /// How many of its pushes (the anchor's, and a second one) are still running: the RTMP connections
    /// the app holds open on purpose.
    pub fn live_pushes(&self) -> usize {
        [&self.push, &self.second_push]
            .into_iter()
            .flatten()
            .filter(|p| p.state() == PushState::Pushing)
            .count()
    }

    /// Stops any push still running (the phone is switched off). Also done on drop, without waiting.
    pub async fn shutdown(&mut self) {
        if let Some(push) = self.second_push.take() {
            push.stop().await;
        }
        if let Some(push) = self.push.take() {
            push.stop().await;
        }
    }

    fn show(&mut self, shown: Shown) {
        self.log.push(AppEvent::Shown {
            android: shown.android,
            ios: shown.ios,
            english: shown.english,
        });
    }

    fn record(&mut self, peer: Peer, request: impl Into<String>, outcome: impl Into<String>) {
        self.log.push(AppEvent::Request {
            peer,
            request: request.into(),
            outcome: outcome.into(),
        });
    }
}
