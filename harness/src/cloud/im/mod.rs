//! The emulated IM: TLS hosted-account registration and password login, UserSig v1/v2, IM login,
//! and the anti-abuse limit on registrations (FAQ items 2.1 and 7).
//!
//! The real IM wire protocol is proprietary, so this is an HTTP JSON API of our own design that carries
//! exactly the real inputs and outputs. All bodies are JSON; every reply is HTTP 200 with a JSON body
//! (malformed requests too, with an error code). `sdkappid` is accepted as a number or a string. The
//! source network of a request is the TCP peer's IP address (an app may bind another 127.0.0.x).
//!
//! ## Hosted-account registration (`TLSStrAccReg`)
//! `POST http://tls.qcloud.com/v1/strreg`
//! `{"sdkappid":1400012345,"accountType":"8808","username":"anchor01","password":"..."}`
//! → `{"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01"}`.
//! Failures (`ErrCode`, `Title`, `Msg`, `ExtraMsg` only):
//! - 13 `ACCOUNT_INVALID_OPERATION` (参数错误): bad JSON, a missing field, a username outside letters,
//!   digits, `_-@.` or over 32 bytes, an empty or non-printable password (GAP: our code choice);
//! - 11 `ACCOUNT_INVALID_APPID`: sdkappid not in the console, or accountType not the app's;
//! - 2 `ACCOUNT_REGISTERED` (账号已注册): the username exists in that app;
//! - 10 `ACCOUNT_REGISTER_TOOMANY`, Title `登录失败`, Msg `注册操作被安全打击`, ExtraMsg the FAQ's
//!   "Login failed. Registration operation is rejected for security reason.": the source network
//!   already registered `im.registration_limit.count` accounts within `window_secs`. GAP: the real
//!   ErrCode is unknown (3 or 10); 10 "达到最大注册次数" names the cause best;
//! - 3 `ACCOUNT_FREQ_LIMIT` (操作太频繁): a registration sooner than `min_interval_secs` after the
//!   previous one from the same network (off unless the tenant sets it).
//!
//! ## Hosted-account password login
//! `POST http://tls.qcloud.com/v1/strlogin` `{"sdkappid":...,"accountType":"...","username":"...","password":"..."}`
//! → `{"ErrCode":0,"Title":"","Msg":"","ExtraMsg":"","identifier":"anchor01","userSig":"...","expire":15552000}`.
//! The UserSig is v1 (ECDSA, as TLS issued in 2017) when the app has a private key, else v2.
//! Failures: 13 and 11 as above; 229 (账号不存在) unknown username; 1 (密码错误) wrong password;
//! 5 `ACCOUNT_JUST_FAILED` when the app has no key to sign with.
//!
//! ## IM login
//! `POST http://openim.tim.qq.com/v1/login`
//! `{"sdkappid":1400012345,"accountType":"8808","identifier":"anchor01","appidAt3rd":"1400012345","userSig":"..."}`
//! → `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}` or `{"ActionStatus":"FAIL","ErrorCode":70014,"ErrorInfo":"..."}`.
//! Codes: 60003 bad JSON, 70402 a missing field, 60002 an unknown path, and the UserSig codes of
//! [`login::check`] (70001, 70002, 70003, 70009, 70011, 70012, 70013, 70014, 70016, 70020). UserSigs issued by
//! a customer's backend (v2 with the app's secret key, or v1 with its private key) are accepted.

pub mod abuse;
pub mod accounts;
pub mod api;
pub mod console;
pub mod login;
pub mod usersig;

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{CloudContext, Service, host_without_port};
use abuse::{Refusal, RegistrationGuard};
use accounts::{AccountError, Accounts};
use api::{ImReply, TlsError, TlsReply, tls_code};
use console::ImApp;

/// Largest request body read; anything longer is answered as malformed.
pub const MAX_BODY: usize = 64 * 1024;

/// The IM service of the emulated cloud.
pub struct Im {
    ctx: CloudContext,
    accounts: Accounts,
    guard: RegistrationGuard,
}

/// Which operation a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Register,
    PasswordLogin,
    ImLogin,
    UnknownTls,
    UnknownIm,
}

impl Im {
    /// Forgets every hosted account (`/_tcharness/reset`).
    pub fn reset(&self) {
        self.accounts.clear();
    }

    pub fn new(ctx: CloudContext) -> Self {
        Self {
            ctx,
            accounts: Accounts::new(),
            guard: RegistrationGuard::new(),
        }
    }

    /// The hosted accounts registered so far.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Registrations counted against `network` in the tenant's current window.
    pub fn registrations_from(&self, network: IpAddr) -> usize {
        let window = self
            .ctx
            .with_tenant(|t| t.im.registration_limit.window_secs);
        self.guard.recent(network, self.ctx.clock.now(), window)
    }

    pub async fn handle(&self, host: &str, peer: SocketAddr, req: Request) -> Response {
        let host = host_without_port(host).to_ascii_lowercase();
        let path = req.uri().path().to_string();
        let is_post = req.method() == Method::POST;
        let operation = match (host.as_str(), path.as_str()) {
            ("tls.qcloud.com", "/v1/strreg") if is_post => Operation::Register,
            ("tls.qcloud.com", "/v1/strlogin") if is_post => Operation::PasswordLogin,
            (h, "/v1/login") if is_post && h.ends_with(".tim.qq.com") => Operation::ImLogin,
            ("tls.qcloud.com", _) => Operation::UnknownTls,
            _ => Operation::UnknownIm,
        };
        let line = format!("{} {host}{path}", req.method());
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await;
        let doc = body.as_ref().ok().and_then(|b| api::json_object(b));
        match operation {
            Operation::Register => self.register(&line, peer.ip(), doc).into_response(),
            Operation::PasswordLogin => self.password_login(&line, peer.ip(), doc).into_response(),
            Operation::ImLogin => self.im_login(&line, peer.ip(), doc).into_response(),
            Operation::UnknownTls => {
                let err = TlsError::invalid(format!("unknown operation {path}"));
                self.ctx
                    .record(Service::Im, line, err.outcome(), json!({"peer": peer.ip()}));
                TlsReply::from(&err).into_response()
            }
            Operation::UnknownIm => {
                self.ctx.record(
                    Service::Im,
                    line,
                    format!("FAIL {} bad HTTP URL", login::BAD_URL),
                    json!({"peer": peer.ip()}),
                );
                ImReply::fail(login::BAD_URL, format!("bad HTTP URL {path}")).into_response()
            }
        }
    }

    /// Finds the app and checks the accountType, the first checks of both TLS operations.
    fn tls_app(&self, sdkappid: u64, account_type: &str) -> Result<ImApp, TlsError> {
        let app = self.ctx.with_tenant(|t| t.im.app(sdkappid).cloned());
        match app {
            Some(app) if app.account_type == account_type => Ok(app),
            _ => Err(TlsError::new(
                tls_code::ACCOUNT_INVALID_APPID,
                "ACCOUNT_INVALID_APPID",
                TITLE_FOR_APPID,
                "appid或acctype无效",
                format!("invalid sdkappid {sdkappid} or accountType {account_type}"),
            )),
        }
    }

    fn register(
        &self,
        line: &str,
        network: IpAddr,
        doc: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> TlsReply {
        let now = self.ctx.clock.now();
        let outcome = (|| {
            let doc = doc.ok_or_else(|| TlsError::invalid("request body is not a JSON object"))?;
            let creds = Credentials::read(&doc)?;
            let request = creds.describe();
            let result = self.register_checked(&creds, network, now);
            Ok::<_, TlsError>((request, creds.username, result))
        })();
        match outcome {
            Ok((request, username, Ok(()))) => {
                self.ctx.record(
                    Service::Im,
                    format!("{line} {request}"),
                    "0 ACCOUNT_OK",
                    json!({"peer": network}),
                );
                TlsReply {
                    identifier: Some(username),
                    ..TlsReply::default()
                }
            }
            Ok((request, _, Err(err))) => {
                self.ctx.record(
                    Service::Im,
                    format!("{line} {request}"),
                    err.outcome(),
                    json!({"peer": network, "extra": err.extra}),
                );
                TlsReply::from(&err)
            }
            Err(err) => {
                self.ctx.record(
                    Service::Im,
                    line,
                    err.outcome(),
                    json!({"peer": network, "extra": err.extra}),
                );
                TlsReply::from(&err)
            }
        }
    }

    fn register_checked(
        &self,
        creds: &Credentials,
        network: IpAddr,
        now: i64,
    ) -> Result<(), TlsError> {
        self.tls_app(creds.sdkappid, &creds.account_type)?;
        if !accounts::valid_username(&creds.username) {
            return Err(TlsError::invalid(
                "username must be 1-32 of [A-Za-z0-9_-@.]",
            ));
        }
        if !accounts::valid_password(&creds.password) {
            return Err(TlsError::invalid(
                "password must be 1-64 printable ASCII characters",
            ));
        }
        if self.accounts.exists(creds.sdkappid, &creds.username) {
            return Err(registered());
        }
        let limit = self.ctx.with_tenant(|t| t.im.registration_limit.clone());
        match self.guard.check(network, now, &limit) {
            Ok(()) => {}
            Err(Refusal::TooMany { .. }) => {
                return Err(TlsError::new(
                    tls_code::ACCOUNT_REGISTER_TOOMANY,
                    "ACCOUNT_REGISTER_TOOMANY",
                    api::TITLE_LOGIN_FAILED,
                    api::MSG_SECURITY_STRIKE,
                    api::EXTRA_SECURITY_STRIKE,
                ));
            }
            Err(Refusal::TooFrequent { .. }) => {
                return Err(TlsError::new(
                    tls_code::ACCOUNT_FREQ_LIMIT,
                    "ACCOUNT_FREQ_LIMIT",
                    api::TITLE_REGISTER_FAILED,
                    "操作太频繁",
                    "Operation too frequent, try again later.",
                ));
            }
        }
        match self
            .accounts
            .register(creds.sdkappid, &creds.username, &creds.password, network)
        {
            Ok(()) => {
                self.guard.count(network, now);
                Ok(())
            }
            Err(_) => Err(registered()),
        }
    }

    fn password_login(
        &self,
        line: &str,
        network: IpAddr,
        doc: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> TlsReply {
        let now = self.ctx.clock.now();
        let mut request = String::new();
        let result: Result<(String, String, &str), TlsError> = (|| {
            let doc = doc.ok_or_else(|| TlsError::invalid("request body is not a JSON object"))?;
            let creds = Credentials::read(&doc)?;
            request = creds.describe();
            let app = self.tls_app(creds.sdkappid, &creds.account_type)?;
            self.accounts
                .check_password(creds.sdkappid, &creds.username, &creds.password)
                .map_err(login_failure)?;
            let (sig, generation) = issue_for(&app, &creds.username, now)?;
            Ok((creds.username, sig, generation))
        })();
        let line = if request.is_empty() {
            line.to_string()
        } else {
            format!("{line} {request}")
        };
        match result {
            Ok((username, sig, generation)) => {
                self.ctx.record(
                    Service::Im,
                    line,
                    format!("0 ACCOUNT_OK usersig {generation}"),
                    json!({"peer": network, "issued_at": now}),
                );
                TlsReply {
                    identifier: Some(username),
                    user_sig: Some(sig),
                    expire: Some(usersig::DEFAULT_EXPIRE),
                    ..TlsReply::default()
                }
            }
            Err(err) => {
                self.ctx.record(
                    Service::Im,
                    line,
                    err.outcome(),
                    json!({"peer": network, "extra": err.extra}),
                );
                TlsReply::from(&err)
            }
        }
    }

    fn im_login(
        &self,
        line: &str,
        network: IpAddr,
        doc: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> ImReply {
        let Some(doc) = doc else {
            self.ctx.record(
                Service::Im,
                line,
                format!("FAIL {} bad JSON", login::BAD_JSON),
                json!({"peer": network}),
            );
            return ImReply::fail(login::BAD_JSON, "request body is not a JSON object");
        };
        let sdkappid = api::sdkappid_field(&doc, "sdkappid");
        let account_type = api::text_field(&doc, "accountType");
        let identifier = api::text_field(&doc, "identifier");
        // appidAt3rd is optional in practice (SDKs set it equal to the sdkappid).
        let appid_at_3rd = api::text_field(&doc, "appidAt3rd").unwrap_or_default();
        let user_sig = match doc.get("userSig") {
            None | Some(serde_json::Value::Null) => Some(String::new()),
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => None,
        };
        let (Some(sdkappid), Some(account_type), Some(identifier), Some(user_sig)) =
            (sdkappid, account_type, identifier, user_sig)
        else {
            self.ctx.record(
                Service::Im,
                line,
                format!("FAIL {} bad parameters", login::BAD_PARAMETERS),
                json!({"peer": network}),
            );
            return ImReply::fail(
                login::BAD_PARAMETERS,
                "sdkappid, accountType and identifier are required; userSig must be a string",
            );
        };
        let line = format!(
            "{line} sdkappid={sdkappid} accountType={account_type} identifier={}",
            printable(&identifier)
        );
        let request = login::LoginRequest {
            sdkappid,
            account_type: &account_type,
            identifier: &identifier,
            appid_at_3rd: &appid_at_3rd,
            user_sig: &user_sig,
        };
        let now = self.ctx.clock.now();
        let result = self
            .ctx
            .with_tenant(|t| login::check(t.im.app(sdkappid), &request, now));
        match result {
            Ok(accepted) => {
                self.ctx.record(
                    Service::Im,
                    line,
                    format!("OK usersig {}", accepted.generation),
                    json!({"peer": network, "expires_at": accepted.expires_at}),
                );
                ImReply::ok()
            }
            Err(err) => {
                self.ctx.record(
                    Service::Im,
                    line,
                    format!("FAIL {} {}", err.code, err.reason),
                    json!({"peer": network, "info": err.info}),
                );
                ImReply::fail(err.code, err.info)
            }
        }
    }
}

/// Title of the invalid-appid refusal: the TLS SDK default, which the FAQ's "登录失败" shows.
const TITLE_FOR_APPID: &str = api::TITLE_LOGIN_FAILED;

fn registered() -> TlsError {
    TlsError::new(
        tls_code::ACCOUNT_REGISTERED,
        "ACCOUNT_REGISTERED",
        api::TITLE_REGISTER_FAILED,
        "账号已注册",
        "The account is already registered.",
    )
}

fn login_failure(err: AccountError) -> TlsError {
    match err {
        AccountError::NoSuchAccount => TlsError::new(
            tls_code::LOGIN_NO_ACCOUNT,
            "LOGIN_NO_ACCOUNT",
            api::TITLE_LOGIN_FAILED,
            "账号不存在",
            "The account does not exist.",
        ),
        AccountError::WrongPassword | AccountError::AlreadyRegistered => TlsError::new(
            tls_code::LOGIN_WRONG_PASSWORD,
            "LOGIN_WRONG_PASSWORD",
            api::TITLE_LOGIN_FAILED,
            "密码错误",
            "Wrong password.",
        ),
    }
}

/// Issues the UserSig a hosted login hands back: v1 with the app's private key, else v2.
fn issue_for(app: &ImApp, identifier: &str, now: i64) -> Result<(String, &'static str), TlsError> {
    if let Some(key) = usersig::v1_private_key(&app.private_key_pem) {
        let appid = app.sdkappid.to_string();
        let claims = usersig::V1Claims {
            account_type: &app.account_type,
            identifier,
            appid_at_3rd: &appid,
            sdkappid: app.sdkappid,
            time: now,
            expire_after: usersig::DEFAULT_EXPIRE,
        };
        return Ok((usersig::issue_v1(&key, &claims), "v1"));
    }
    if !app.secret_key.is_empty() {
        let sig = usersig::issue_v2(
            &app.secret_key,
            app.sdkappid,
            identifier,
            now,
            usersig::DEFAULT_EXPIRE,
        );
        return Ok((sig, "v2"));
    }
    Err(TlsError::new(
        tls_code::ACCOUNT_JUST_FAILED,
        "ACCOUNT_JUST_FAILED",
        api::TITLE_LOGIN_FAILED,
        "签名失败",
        "The app has no key to sign a UserSig with.",
    ))
}

/// The four fields both TLS operations take.
struct Credentials {
    sdkappid: u64,
    account_type: String,
    username: String,
    password: String,
}

impl Credentials {
    fn read(doc: &serde_json::Map<String, serde_json::Value>) -> Result<Self, TlsError> {
        let field = |key: &str| {
            api::text_field(doc, key)
                .ok_or_else(|| TlsError::invalid(format!("{key} missing or not a string")))
        };
        Ok(Self {
            sdkappid: api::sdkappid_field(doc, "sdkappid")
                .ok_or_else(|| TlsError::invalid("sdkappid missing or not a number"))?,
            account_type: field("accountType")?,
            username: field("username")?,
            password: field("password")?,
        })
    }

    /// The journal's view of the request (never the password).
    fn describe(&self) -> String {
        format!(
            "sdkappid={} accountType={} username={}",
            self.sdkappid,
            printable(&self.account_type),
            printable(&self.username)
        )
    }
}

/// A client-chosen string made safe for one journal line (no control characters, bounded length).
fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}
