//! The V1 app's flows, in its call order (register/login, pictures, live, lists, watching, replays).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::http::{NetFailure, json_int, json_str};
use super::push::{PushState, PushUrl, start_push};
use super::{App, AppError, AppEvent, ListItem, Peer, shown};

/// The IM account service's hosted-account endpoints (see the IM HTTP API contract).
const TLS_REGISTER_URL: &str = "http://tls.qcloud.com/v1/strreg";
const TLS_LOGIN_URL: &str = "http://tls.qcloud.com/v1/strlogin";
const IM_LOGIN_URL: &str = "http://openim.tim.qq.com/v1/login";

/// Characters kept as they are in a COS path segment (RFC 3986 unreserved).
const COS_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Clone, Copy, Debug)]
pub(super) enum Picture {
    Avatar,
    Cover,
}

impl Picture {
    fn name(self) -> &'static str {
        match self {
            Picture::Avatar => "avatar",
            Picture::Cover => "cover",
        }
    }
}

/// A small JPEG-looking picture (SOI, JFIF APP0, some bytes, EOI); different per picture kind.
pub fn synthetic_jpeg(seed: &str) -> Vec<u8> {
    let mut v = vec![
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00,
    ];
    let digest = Sha1::digest(seed.as_bytes());
    for i in 0..512usize {
        v.push(digest[i % digest.len()] ^ (i as u8));
    }
    v.extend_from_slice(&[0xff, 0xd9]);
    v
}

/// `sdkappid` as the IM SDK sends it: a number when the constant is one, else the text as typed.
fn sdkappid_value(text: &str) -> Value {
    match text.trim().parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(text),
    }
}

impl App {
    fn require_login(&self) -> Result<String, AppError> {
        self.identifier
            .clone()
            .ok_or_else(|| AppError::Precondition("Please log in first".to_string()))
    }

    /// Reports a push the server cut while the app was doing something else (ForbidLive, for example).
    pub(super) fn notice_push_cut(&mut self) {
        if self.push_cut_reported {
            return;
        }
        let Some(PushState::Disconnected(failure)) = self.push.as_ref().map(|p| p.state()) else {
            return;
        };
        self.push_cut_reported = true;
        let url = self
            .push
            .as_ref()
            .map(|p| p.url.display())
            .unwrap_or_default();
        self.push_event(failure.code, &url);
    }

    /// Logs one push SDK event. Nothing goes on screen: the V1 app sends the SDK's events and warnings
    /// (3004 included) to its log view only; only the give-up error -1307 opens a dialog (§8.1).
    fn push_event(&mut self, code: i32, url: &str) {
        let info = shown::push_event_info(code);
        self.log.push(AppEvent::Push {
            code,
            name: info.name.to_string(),
            text: info.text.to_string(),
            english: info.english.to_string(),
            url: url.to_string(),
        });
    }

    // -----------------------------------------------------------------------------------------
    // Account

    pub(super) async fn register(
        &mut self,
        username: Option<&str>,
        password: Option<&str>,
        count: u32,
    ) -> Result<(), AppError> {
        let base = username
            .unwrap_or(&self.options.default_username)
            .to_string();
        let password = password
            .unwrap_or(&self.options.default_password)
            .to_string();
        for i in 1..=count.max(1) {
            let name = if count > 1 {
                format!("{base}_{i}")
            } else {
                base.clone()
            };
            let body = json!({
                "sdkappid": sdkappid_value(&self.constants.im_sdk_app_id),
                "accountType": self.constants.im_account_type,
                "username": name,
                "password": password,
            });
            let request = format!("strreg username={name}");
            let reply = self
                .post_json(Peer::Tls, TLS_REGISTER_URL, &request, body)
                .await?;
            let code = reply.get("ErrCode").and_then(json_int).unwrap_or(-1);
            let title = json_str(reply.get("Title"));
            let msg = json_str(reply.get("Msg"));
            if code != 0 {
                self.record(Peer::Tls, &request, tls_outcome(code, &title, &msg));
                self.show_login_failure(code, &msg);
                return Err(AppError::Login { code, message: msg });
            }
            self.record(Peer::Tls, &request, "ErrCode 0");
            if self.account.is_none() || count == 1 {
                self.account = Some((name, password.clone()));
            }
        }
        Ok(())
    }

    fn show_login_failure(&mut self, code: i64, message: &str) {
        if shown::is_security_refusal(code, message) {
            // §8.2: the China FAQ shows the reply's Title + Msg together; the English is the FAQ's.
            self.show(shown::Shown::same_with_english(
                shown::SECURITY_REFUSAL_SHOWN,
                shown::SECURITY_REFUSAL,
            ));
        } else {
            self.show(shown::login_failed(code, message));
        }
    }

    pub(super) async fn login(
        &mut self,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<(), AppError> {
        let (name, password) = match (username, password, &self.account) {
            (Some(u), Some(p), _) => (u.to_string(), p.to_string()),
            (Some(u), None, _) => (u.to_string(), self.options.default_password.clone()),
            (None, _, Some((u, p))) => (u.clone(), p.clone()),
            (None, p, None) => (
                self.options.default_username.clone(),
                p.map(str::to_string)
                    .unwrap_or_else(|| self.options.default_password.clone()),
            ),
        };
        let sdkappid = sdkappid_value(&self.constants.im_sdk_app_id);
        let account_type = self.constants.im_account_type.clone();

        // 1. TLS password login → identifier + UserSig.
        let request = format!("strlogin username={name}");
        let body = json!({
            "sdkappid": sdkappid,
            "accountType": account_type,
            "username": name,
            "password": password,
        });
        let reply = self
            .post_json(Peer::Tls, TLS_LOGIN_URL, &request, body)
            .await?;
        let code = reply.get("ErrCode").and_then(json_int).unwrap_or(-1);
        let msg = json_str(reply.get("Msg"));
        if code != 0 {
            let title = json_str(reply.get("Title"));
            self.record(Peer::Tls, &request, tls_outcome(code, &title, &msg));
            self.show_login_failure(code, &msg);
            return Err(AppError::Login { code, message: msg });
        }
        self.record(Peer::Tls, &request, "ErrCode 0");
        let identifier = match json_str(reply.get("identifier")) {
            id if id.is_empty() => name.clone(),
            id => id,
        };
        let user_sig = json_str(reply.get("userSig"));

        // 2. IM login with the UserSig.
        let request = format!("login identifier={identifier}");
        let body = json!({
            "sdkappid": sdkappid,
            "accountType": account_type,
            "identifier": identifier,
            "appidAt3rd": self.constants.im_sdk_app_id,
            "userSig": user_sig,
        });
        let reply = self
            .post_json(Peer::Im, IM_LOGIN_URL, &request, body)
            .await?;
        let code = reply.get("ErrorCode").and_then(json_int).unwrap_or(-1);
        let info = json_str(reply.get("ErrorInfo"));
        let status = json_str(reply.get("ActionStatus"));
        if code != 0 || status != "OK" {
            let code = if code == 0 { -1 } else { code };
            self.record(Peer::Im, &request, format!("{status} {code}: {info}"));
            self.show_login_failure(code, &info);
            return Err(AppError::Login {
                code,
                message: info,
            });
        }
        self.record(Peer::Im, &request, "OK");
        self.account = Some((name, password));
        self.identifier = Some(identifier);
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Pictures (COS v4)

    pub(super) async fn upload_picture(&mut self, picture: Picture) -> Result<(), AppError> {
        let me = self.require_login()?;
        let data = self.backend("GetCOSSign", "", json!({})).await?;
        let sign = json_str(data.get("sign"));
        if sign.is_empty() {
            self.record(Peer::Backend, "GetCOSSign", "returnValue 0, no sign");
            self.show(shown::invalid_reply());
            return Err(AppError::InvalidReply {
                action: "GetCOSSign".to_string(),
                detail: "no sign in returnData".to_string(),
            });
        }
        self.record(Peer::Backend, "GetCOSSign", "returnValue 0");

        let c = &self.constants;
        let (region, appid, bucket) = (
            c.cos_region.trim().to_string(),
            c.cos_app_id.trim().to_string(),
            c.cos_bucket.trim().to_string(),
        );
        let file = format!("{}.jpg", utf8_percent_encode(&me, COS_SEGMENT));
        let cos_path = format!("/{}/{file}", picture.name());
        let host = format!("{region}.file.myqcloud.com");
        let url = format!(
            "http://{host}/files/v2/{}/{}{cos_path}",
            utf8_percent_encode(&appid, COS_SEGMENT),
            utf8_percent_encode(&bucket, COS_SEGMENT)
        );
        let request = format!("upload {host}/files/v2/{appid}/{bucket}{cos_path}");
        let jpeg = synthetic_jpeg(&format!("{}:{me}", picture.name()));
        let sha = hex::encode(Sha1::digest(&jpeg));
        let client = self.client.clone();
        let reply = self
            .exchange(|| {
                let part = reqwest::multipart::Part::bytes(jpeg.clone()).file_name(file.clone());
                let form = reqwest::multipart::Form::new()
                    .text("op", "upload")
                    .part("filecontent", part)
                    .text("sha", sha.clone())
                    .text("biz_attr", "")
                    .text("insertOnly", "0");
                client
                    .post(&url)
                    .header("Authorization", sign.clone())
                    .multipart(form)
            })
            .await;
        let op = format!("{} upload", picture.name());
        let (status, bytes) = match reply {
            Ok(reply) => reply,
            Err(failure) => {
                let detail = match failure {
                    NetFailure::Timeout => "timeout".to_string(),
                    NetFailure::Other(d) => d,
                };
                self.record(Peer::Cos, &request, detail.clone());
                self.show(shown::Shown::same(format!("upload failed, {detail}")));
                return Err(AppError::Network { action: op, detail });
            }
        };
        let parsed = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
            let code = json_int(v.get("code")?)?;
            Some((code, json_str(v.get("message")), v))
        });
        let Some((code, message, reply)) = parsed else {
            self.record(Peer::Cos, &request, format!("HTTP {status}"));
            self.show(shown::cos_http_error(status));
            return Err(AppError::CosHttp { op, status });
        };
        self.record(Peer::Cos, &request, format!("{code} {message}"));
        if code != 0 {
            self.show(shown::cos_error(code, &message));
            return Err(AppError::Cos { op, code, message });
        }
        let access_url = json_str(reply.get("data").and_then(|d| d.get("access_url")));
        match picture {
            Picture::Avatar => self.avatar_url = Some(access_url),
            Picture::Cover => self.cover_url = Some(access_url),
        }
        Ok(())
    }

    pub(super) async fn download_cover(&mut self) -> Result<(), AppError> {
        let url = self
            .cover_url
            .clone()
            .ok_or_else(|| AppError::Precondition("No cover uploaded".to_string()))?;
        self.download("cover", &url).await.map(|_| ())
    }

    /// GETs a URL the app was given (access_url, play URL); returns the body length.
    async fn download(&mut self, what: &str, url: &str) -> Result<usize, AppError> {
        let request = format!("GET {}", url_without_scheme(url));
        if reqwest::Url::parse(url).is_err() {
            self.record(Peer::Download, &request, "not a URL");
            self.show(shown::download_failed(what, "invalid URL"));
            return Err(AppError::Download {
                what: what.to_string(),
                detail: format!("not a URL: {url}"),
            });
        }
        let client = self.client.clone();
        let reply = self.exchange(|| client.get(url)).await;
        let detail = match reply {
            Ok((200, bytes)) if !bytes.is_empty() => {
                self.record(
                    Peer::Download,
                    &request,
                    format!("HTTP 200, {}", describe_body(&bytes)),
                );
                return Ok(bytes.len());
            }
            Ok((status, bytes)) => {
                self.record(
                    Peer::Download,
                    &request,
                    format!("HTTP {status}, {} bytes", bytes.len()),
                );
                format!("HTTP {status}")
            }
            Err(NetFailure::Timeout) => {
                self.record(Peer::Download, &request, "timeout");
                "timeout".to_string()
            }
            Err(NetFailure::Other(detail)) => {
                self.record(Peer::Download, &request, "network error");
                detail
            }
        };
        self.show(shown::download_failed(what, &detail));
        Err(AppError::Download {
            what: what.to_string(),
            detail,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Live

    pub(super) async fn start_live(&mut self, title: Option<&str>) -> Result<(), AppError> {
        let me = self.require_login()?;
        // GAP: the V1 app creates an IM AVChatRoom and sends its id; the IM contract has no group
        // API, so the id is derived from the identifier, in the shape IM gives (`@TGS#a...`).
        let groupid = format!("@TGS#a{me}");
        let title = title.unwrap_or("Mini LVB live").to_string();
        let data = self
            .backend(
                "RequestLVBAddr",
                "",
                json!({
                    "userid": me,
                    "groupid": groupid,
                    "title": title,
                    "userinfo": {
                        "nickname": me,
                        "headpic": self.avatar_url.clone().unwrap_or_default(),
                        "frontcover": self.cover_url.clone().unwrap_or_default(),
                        "location": "",
                    },
                }),
            )
            .await?;
        let push_url = json_str(data.get("pushurl"));
        let Some(parsed) = PushUrl::parse(&push_url) else {
            self.record(
                Peer::Backend,
                "RequestLVBAddr",
                "returnValue 0, no rtmp pushurl",
            );
            self.show(shown::invalid_reply());
            return Err(AppError::InvalidReply {
                action: "RequestLVBAddr".to_string(),
                detail: format!("pushurl '{push_url}'"),
            });
        };
        self.record(
            Peer::Backend,
            "RequestLVBAddr",
            format!("returnValue 0, pushurl {}", parsed.display()),
        );
        self.push_url = Some(push_url.clone());
        if let Some(old) = self.push.take() {
            old.stop().await;
        }
        let handle = self.push_to(&push_url).await?;
        self.push = Some(handle);
        self.push_cut_reported = false;

        self.backend(
            "ChangeStatus",
            "status=0",
            json!({"userid": me, "status": 0}),
        )
        .await?;
        self.record(Peer::Backend, "ChangeStatus status=0", "returnValue 0");
        Ok(())
    }

    /// Pushes to `url`, logging the SDK events; the handle keeps the push running.
    ///
    /// §8.1: a network warning (3004 for a refused push URL) is not final: the SDK raises 1102 and
    /// reconnects, up to three times, so the ingest sees four publish attempts; after the last failure
    /// it raises -1307 and the app shows its dialog, stops the push and marks the room offline.
    /// The SDK's reconnect is on by default, as in the V1 app. Choice: the other network warnings
    /// (3001..3003) reconnect the same way, as the SDK treats them alike.
    async fn push_to(&mut self, url: &str) -> Result<super::PushHandle, AppError> {
        self.push_attempts(url, 0).await
    }

    /// The SDK's publish attempts from attempt `first` on (0 = the first publish, 1.. = reconnects
    /// whose 1102 was already raised), then its give-up.
    async fn push_attempts(
        &mut self,
        url: &str,
        first: u32,
    ) -> Result<super::PushHandle, AppError> {
        let display = PushUrl::parse(url).map(|u| u.display()).unwrap_or_default();
        let mut attempt: u32 = first;
        let last = loop {
            let result = start_push(
                &self.options.pusher,
                url,
                &self.network,
                self.options.http_timeout,
            )
            .await;
            let request = if attempt == 0 {
                format!("publish {display}")
            } else {
                format!(
                    "reconnect {attempt}/{} publish {display}",
                    shown::PUSH_RECONNECTS
                )
            };
            match result {
                Ok(handle) => {
                    self.record(Peer::Rtmp, request, "publishing");
                    self.push_event(shown::PUSH_CONNECT_SUCC, &display);
                    self.push_event(shown::PUSH_BEGIN, &display);
                    return Ok(handle);
                }
                Err(failure) => {
                    self.record(Peer::Rtmp, request, format!("event {}", failure.code));
                    if attempt == 0 {
                        // The TCP connection to the ingest was made (1001) unless DNS or connect failed.
                        if !matches!(
                            failure.code,
                            shown::PUSH_DNS_FAIL | shown::PUSH_CONNECT_FAIL
                        ) {
                            self.push_event(shown::PUSH_CONNECT_SUCC, &display);
                        }
                        self.push_event(failure.code, &display);
                    }
                    if attempt == shown::PUSH_RECONNECTS {
                        break failure;
                    }
                    attempt += 1;
                    self.push_event(shown::PUSH_RECONNECT, &display);
                }
            }
        };
        self.push_event(shown::PUSH_NET_DISCONNECT, &display);
        self.show(shown::Shown::same(shown::NET_DISCONNECTED_DIALOG));
        // The app stops its push and reports the room offline (ChangeStatus 1 = went offline).
        if let Some(me) = self.identifier.clone()
            && self
                .backend(
                    "ChangeStatus",
                    "status=1",
                    json!({"userid": me, "status": 1}),
                )
                .await
                .is_ok()
        {
            self.record(Peer::Backend, "ChangeStatus status=1", "returnValue 0");
        }
        Err(AppError::Push {
            code: shown::PUSH_NET_DISCONNECT,
            detail: format!("after event {}: {}", last.code, last.detail),
        })
    }

    pub(super) async fn push_again(&mut self) -> Result<(), AppError> {
        let url = self
            .push_url
            .clone()
            .ok_or_else(|| AppError::Precondition("No live started".to_string()))?;
        if let Some(old) = self.second_push.take() {
            old.stop().await;
        }
        let handle = self.push_to(&url).await?;
        self.second_push = Some(handle);
        Ok(())
    }

    pub(super) async fn stop_live(&mut self) -> Result<(), AppError> {
        let me = self.require_login()?;
        if let Some(second) = self.second_push.take() {
            second.stop().await;
        }
        if let Some(push) = self.push.take() {
            let url = push.url.display();
            let end = push.stop().await;
            match end {
                PushState::Disconnected(failure) if !self.push_cut_reported => {
                    self.push_event(failure.code, &url);
                }
                _ => {}
            }
            self.record(Peer::Rtmp, format!("unpublish {url}"), "stopped");
        }
        self.push_cut_reported = false;
        self.backend(
            "ChangeStatus",
            "status=1",
            json!({"userid": me, "status": 1}),
        )
        .await?;
        self.record(Peer::Backend, "ChangeStatus status=1", "returnValue 0");
        Ok(())
    }

    pub(super) async fn forbid_live(&mut self) -> Result<(), AppError> {
        let anchor = if self.push_url.is_some() {
            self.identifier.clone()
        } else {
            self.items.first().map(|i| i.userid.clone())
        };
        let anchor = anchor.ok_or_else(|| AppError::Precondition("No anchor to forbid".into()))?;
        let summary = format!("userid={anchor} forbidflag=1");
        self.backend(
            "ForbidLive",
            &summary,
            json!({"userid": anchor, "forbidflag": 1}),
        )
        .await?;
        self.record(
            Peer::Backend,
            format!("ForbidLive {summary}"),
            "returnValue 0",
        );
        self.react_to_cut().await
    }

    /// When the anchor's own live push was cut (the backend forbade it through
    /// `Live_Channel_SetStatus`), the SDK sees the server hang up while pushing: 3004, then it
    /// reconnects as for a refused push (§8.1): 1102 and a publish, up to three times, each refused
    /// while the stream is disabled, then -1307 with the dialog. Waiting for the end is causal: the
    /// cut was made before the backend answered.
    async fn react_to_cut(&mut self) -> Result<(), AppError> {
        let Some(push) = self.push.as_mut() else {
            return Ok(());
        };
        if push.state() == PushState::Stopped {
            return Ok(());
        }
        let ended = tokio::time::timeout(self.options.http_timeout, push.ended()).await;
        let Ok(PushState::Disconnected(failure)) = ended else {
            // Not cut (another anchor was forbidden, or the backend did not call the API).
            return Ok(());
        };
        let url = push.url.clone();
        let display = url.display();
        self.push_cut_reported = true;
        self.push_event(failure.code, &display);
        self.push_event(shown::PUSH_RECONNECT, &display);
        let Some(full) = self.push_url.clone() else {
            return Ok(());
        };
        match self.push_attempts(&full, 1).await {
            Ok(handle) => {
                self.push = Some(handle);
                self.push_cut_reported = false;
                Ok(())
            }
            Err(e) => {
                self.push = None;
                Err(e)
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Audience

    pub(super) async fn fetch_list(
        &mut self,
        flag: i64,
        pageno: i64,
        pagesize: i64,
    ) -> Result<(), AppError> {
        let summary = format!("flag={flag}");
        let data = self
            .backend(
                "FetchList",
                &summary,
                json!({"flag": flag, "pageno": pageno, "pagesize": pagesize}),
            )
            .await?;
        let total = data.get("totalcount").and_then(json_int).unwrap_or(0);
        let items: Vec<ListItem> = data
            .get("pusherlist")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(list_item).collect())
            .unwrap_or_default();
        let names: Vec<String> = items
            .iter()
            .map(|i| {
                let kind = if i.kind == 1 { "replay" } else { "live" };
                format!("{} ({kind})", i.userid)
            })
            .collect();
        self.record(
            Peer::Backend,
            format!("FetchList {summary}"),
            format!("returnValue 0, totalcount {total}, [{}]", names.join(", ")),
        );
        if items.is_empty() {
            let text = match flag {
                1 => shown::NO_LIVES,
                2 => shown::NO_REPLAYS,
                _ => shown::EMPTY_LIST,
            };
            self.show(shown::Shown::same(text));
        }
        self.items = items;
        self.last_flag = Some(flag);
        Ok(())
    }

    fn first_item(&self) -> Result<ListItem, AppError> {
        self.items
            .first()
            .cloned()
            .ok_or_else(|| AppError::Precondition(shown::EMPTY_LIST.to_string()))
    }

    pub(super) async fn open_item(&mut self) -> Result<(), AppError> {
        let item = self.first_item()?;
        let summary = format!("userid={} type={}", item.userid, item.kind);
        let mut params = json!({"userid": item.userid, "type": item.kind});
        if item.kind == 1 {
            params["fileid"] = json!(item.fileid);
        }
        let data = self.backend("GetUserInfo", &summary, params).await?;
        let title = json_str(data.get("title"));
        self.record(
            Peer::Backend,
            format!("GetUserInfo {summary}"),
            format!("returnValue 0, title '{title}'"),
        );
        Ok(())
    }

    pub(super) async fn watch(&mut self) -> Result<(), AppError> {
        let me = self.require_login()?;
        let item = self.first_item()?;
        // For a replay the V1 app passes the file id where the group id goes.
        let group = if item.kind == 1 {
            item.fileid.clone()
        } else {
            item.groupid.clone()
        };
        let anchor = item.userid.clone();
        let flag = item.kind;

        let summary = format!("liveuserid={anchor} flag={flag}");
        self.backend(
            "EnterGroup",
            &summary,
            json!({
                "userid": me, "liveuserid": anchor, "groupid": group, "flag": flag,
                "nickname": me, "headpic": self.avatar_url.clone().unwrap_or_default(),
            }),
        )
        .await?;
        self.record(
            Peer::Backend,
            format!("EnterGroup {summary}"),
            "returnValue 0",
        );

        let summary = format!("liveuserid={anchor}");
        let data = self
            .backend(
                "FetchGroupMemberList",
                &summary,
                json!({"liveuserid": anchor, "groupid": group, "pageno": 1, "pagesize": 20}),
            )
            .await?;
        let members: Vec<String> = data
            .get("memberlist")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(|m| json_str(m.get("userid"))).collect())
            .unwrap_or_default();
        self.record(
            Peer::Backend,
            format!("FetchGroupMemberList {summary}"),
            format!("returnValue 0, members [{}]", members.join(", ")),
        );

        let summary = format!("userid={anchor} type=1 optype=0 flag={flag}");
        let mut params = json!({"userid": anchor, "type": 1, "optype": 0, "flag": flag});
        if flag == 1 {
            params["fileid"] = json!(item.fileid);
        }
        self.backend("ChangeCount", &summary, params).await?;
        self.record(
            Peer::Backend,
            format!("ChangeCount {summary}"),
            "returnValue 0",
        );

        let summary = format!("liveuserid={anchor} flag={flag}");
        self.backend(
            "QuitGroup",
            &summary,
            json!({"userid": me, "liveuserid": anchor, "groupid": group, "flag": flag}),
        )
        .await?;
        self.record(
            Peer::Backend,
            format!("QuitGroup {summary}"),
            "returnValue 0",
        );
        Ok(())
    }

    pub(super) async fn play_replay(&mut self) -> Result<(), AppError> {
        let Some(replay) = self.items.iter().find(|i| i.kind == 1).cloned() else {
            return Err(AppError::Precondition(shown::NO_REPLAYS.to_string()));
        };
        if replay.playurl.is_empty() {
            self.show(shown::download_failed("replay", "no play URL"));
            return Err(AppError::Download {
                what: "replay".to_string(),
                detail: "no play URL".to_string(),
            });
        }
        self.download("replay", &replay.playurl).await.map(|_| ())
    }
}

fn list_item(v: &Value) -> ListItem {
    ListItem {
        userid: json_str(v.get("userid")),
        groupid: json_str(v.get("groupid")),
        kind: v.get("type").and_then(json_int).unwrap_or(0),
        fileid: json_str(v.get("fileid")),
        playurl: json_str(v.get("playurl")),
        title: json_str(v.get("title")),
    }
}

fn tls_outcome(code: i64, title: &str, msg: &str) -> String {
    let mut out = format!("ErrCode {code}");
    for part in [title, msg] {
        if !part.is_empty() {
            out.push(' ');
            out.push_str(part);
        }
    }
    out
}

fn url_without_scheme(url: &str) -> &str {
    url.split_once("://").map(|(_, rest)| rest).unwrap_or(url)
}

/// What a downloaded body is, as a player would tell: recordings grow with the push's real duration,
/// so their length is left out; pictures are fixed and keep it.
fn describe_body(bytes: &[u8]) -> String {
    if bytes.starts_with(b"FLV") {
        "FLV video".to_string()
    } else if bytes.starts_with(b"#EXTM3U") {
        "HLS playlist".to_string()
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        format!("JPEG, {} bytes", bytes.len())
    } else {
        format!("{} bytes", bytes.len())
    }
}
