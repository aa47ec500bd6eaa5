//! What support knows about each FAQ item and each known ticket: the signals a customer's log or description
//! shows for it, in the customer's own words (SDK event codes and their Chinese texts, COS and IM codes by number
//! and name, backend log lines, mobile network-library errors), each with a weight.
//!
//! The table is built into the binary so `diagnose` works from any directory. Healthy signs (event 1002, "Push
//! begins") are deliberately absent: they say what works, not what is broken. HTTP statuses only count next to
//! the URL they belong to, never as a bare number.

use std::sync::OnceLock;

use regex::Regex;

/// Whether an entry is an item of the FAQ or a ticket the team has seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Faq,
    Ticket,
}

/// One piece of evidence: a case-insensitive pattern and how much it says.
pub struct Signal {
    pub pattern: Regex,
    pub weight: f64,
}

/// An FAQ item or ticket with the signals that point at it.
pub struct Entry {
    /// The FAQ item ("1.7") or the ticket's scenario id.
    pub key: String,
    pub kind: Kind,
    pub title: String,
    /// The FAQ section's answer in one line.
    pub answer: String,
    /// Scenarios of the catalogue that replay it.
    pub scenarios: Vec<String>,
    pub signals: Vec<Signal>,
}

/// Strong evidence: a code or text that only this failure produces.
const STRONG: f64 = 3.0;
/// Evidence that narrows down but is shared with a few items.
const MEDIUM: f64 = 1.5;
/// A hint that tips a tie between items sharing their strong evidence.
const HINT: f64 = 1.0;

/// The SDK's refusal of a push: event 3004 (its Chinese text and the FAQ's English), the reconnects, then -1307.
const PUSH_REFUSED: &str = r"⟨3004⟩|RTMP服务器主动断开|(RTMP )?server (actively disconnect|disconnected actively|closed the connection)|PUSH_WARNING_SERVER_DISCONNECT|⟨-1307⟩|PUSH_ERR_NET_DISCONNECT|多次重连抢救无效|push(es)? (is |are |gets? )?(refused|rejected|disconnected)|推流.{0,6}(被拒|断开)";
const NO_REPLAY: &str = r"no replay yet|暂无回放|回放列表.{0,12}(空|没有)|没有回放|回放生成不了|(没有|无|不).{0,6}生成.{0,4}回放|回放.{0,10}(看不到|不显示|没有|为空)|no (playback|replay)s? (record|appears|yet)|no playback appears|(playback|replay) list.{0,30}(empty|nothing)|(nothing|no record|never).{0,40}(replay|playback) list|(replay|playback|recording)s? (never|don't|do not|doesn't|does not) (show|appear)|not appear in the playback list|no playback record|tape_data.{0,30}(empty|no rows|nothing)";
const LOGIN_FAILED: &str = r"login failed|登录失败|login fails";
const BUCKET_MISSING: &str = r"BUCKET_NOTEXIST|bucket ?notexist|⟨-133⟩|bucket cannot be found|bucket not found|找不到.{0,4}bucket|bucket.{0,4}不存在";
const COS_APPID: &str = r"APPID_USERID_NOTMATCH|ERROR_PROXY_AUTH_APPID|code.{0,3}⟨-6[12]⟩";
/// The customer says the backend side is right, which points at the app's copy of the same setting.
const BACKEND_IS_FINE: &str = r"(backend|server|OutDefine(\.php)?)\W.{0,40}(is |are )?(correct|fine|right|ok\b|works)|后台.{0,12}(正确|没问题|正常|都对)";
const COS_BUCKET_SIGN: &str =
    r"SIGN_BUCKET_NOTMATCH|bucket与签名中的bucket不匹配|bucket (does not|doesn't) match the sign";

struct Spec {
    key: &'static str,
    kind: Kind,
    title: &'static str,
    answer: &'static str,
    scenarios: &'static [&'static str],
    signals: &'static [(&'static str, f64)],
}

const SPECS: &[Spec] = &[
    Spec {
        key: "1.1",
        kind: Kind::Faq,
        title: "appid or bizid wrong in OutDefine.php",
        answer: "The generated push address is invalid and Tencent Cloud refuses the push: set APP_ID and APP_BIZID in OutDefine.php to the console's values.",
        scenarios: &["faq-1.1-app-bizid", "faq-1.1-app-id"],
        signals: &[
            (PUSH_REFUSED, STRONG),
            (
                r"unknown bizid|bizid\W{0,3}\w*\W{0,3}(is )?(wrong|incorrect|invalid|mismatch)|(wrong|incorrect|invalid) (bizid|appid)|bizid.{0,60}(different|不一致|不对|填错)|(APP_BIZID|bizid|直播码).{0,40}(改|填|设|set|changed|put)|appid.{0,20}(push domain|推流域名)",
                STRONG,
            ),
            (
                r"appid is invalid|ForbidLive::process\(\) fail|Live_Channel_SetStatus.{0,60}(fail|ret -1)",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "1.2",
        kind: Kind::Faq,
        title: "push hotlink-protection key wrong (PUSH_URL_KEY)",
        answer: "txSecret is computed with the wrong key and the server refuses the push: copy the console's push hotlink-protection key into PUSH_URL_KEY.",
        scenarios: &["faq-1.2-push-key"],
        signals: &[
            (PUSH_REFUSED, STRONG),
            (
                r"bad txSecret|txSecret.{0,40}(fail|wrong|mismatch|invalid|verif|校验|错)|PUSH_URL_KEY|防盗链\s*key|防盗链密钥|hotlink[- ]protection key|hotlink key",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "1.3",
        kind: Kind::Faq,
        title: "API authentication key wrong (CALL_BACK_KEY): callbacks rejected, no replay",
        answer: "The backend rejects Tencent's recording callback and writes no playback record: set CALL_BACK_KEY in OutDefine.php to the console's API authentication key (FAQ 3.2).",
        scenarios: &["faq-1.3-callback-key"],
        signals: &[
            (NO_REPLAY, 2.5),
            (
                r#""code"\s*:\s*4004|CALL_BACK_KEY|API (authentication|auth|鉴权) key|鉴权\s*key|回调.{0,6}(校验|验证|签名).{0,4}失败|callback.{0,40}sign.{0,20}(fail|mismatch|invalid)"#,
                STRONG,
            ),
            (
                r"callback.{0,60}(rejected|invalid sign)|sign (check )?(fail|mismatch)|invalid sign|sign 不对",
                MEDIUM,
            ),
        ],
    },
    Spec {
        key: "3.1",
        kind: Kind::Faq,
        title: "the callback's database write fails (createDB changed)",
        answer: "The playback record's INSERT into tape_data fails: undo the createDB change and read mysql_*.log in the backend's log directory.",
        scenarios: &["faq-3.1-tape-column"],
        signals: &[
            (NO_REPLAY, 2.5),
            (
                r#"unknown column|data too long|incorrect (integer|string|datetime|decimal) value|doesn't have a default value|out of range value|Table '[\w.]*tape_data' doesn't exist|(errno|error)\s*[:=]?\s*⟨(1054|1146|1264|1364|1366|1406)⟩|SQLSTATE\[(42S22|42S02|22001|22003|HY000)\]: .{0,30}(column|table|data|value)|"code"\s*:\s*2003|createDB|tape_data.{0,40}(fail|error)|insert.{0,60}tape_data.{0,60}fail"#,
                STRONG,
            ),
        ],
    },
    Spec {
        key: "3.3",
        kind: Kind::Faq,
        title: "console callback URL wrong: no callback reaches the backend",
        answer: "Tencent sends the recording callback elsewhere: enter the backend's callback/Live_callback.php URL in Console > LVB > Access Management > Access Configuration.",
        scenarios: &["faq-3.3-callback-url"],
        signals: &[
            (NO_REPLAY, 2.5),
            (
                r"callback (url|address)|回调地址|回调 ?url|回调.{0,4}(没|不)(有)?(进来|到)|no request to .{0,40}callback|nothing from Tencent|never (receive|got|get|calls?|called).{0,30}(callback|it\b)|(没|从来没|未)收到.{0,10}回调|收不到.{0,6}回调|Live_callback\.php.{0,40}\b404\b|(event|message) notification (url|address)|消息通知.{0,4}(地址|url)",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "1.4",
        kind: Kind::Faq,
        title: "COS APPID wrong in OutDefine.php",
        answer: "The backend signs COS uploads for another APPID: set COSKEY_APPID in OutDefine.php to the COS console's APPID.",
        scenarios: &["faq-1.4-cos-appid"],
        signals: &[
            (COS_APPID, STRONG),
            (r"COSKEY_APPID|OutDefine", HINT),
            (BACKEND_IS_FINE, -HINT),
        ],
    },
    Spec {
        key: "1.5",
        kind: Kind::Faq,
        title: "COS bucket name wrong in OutDefine.php",
        answer: "The signature names another bucket than the upload: set COSKEY_BUCKET in OutDefine.php to the bucket the app uploads to.",
        scenarios: &["faq-1.5-cos-bucket"],
        signals: &[
            (COS_BUCKET_SIGN, STRONG),
            (r"COSKEY_BUCKET|OutDefine", HINT),
            (BACKEND_IS_FINE, -HINT),
        ],
    },
    Spec {
        key: "1.6",
        kind: Kind::Faq,
        title: "COS SecretId wrong in OutDefine.php",
        answer: "COS knows no such SecretId: copy the SecretId paired with COSKEY_SECRECTKEY from the console into COSKEY_SECRECTID (the names keep the demo's spelling).",
        scenarios: &["faq-1.6-cos-secretid"],
        signals: &[(
            r"SECRETID_NOEXIST|secret ?id (not exist|does not exist|not found|无效|不存在)|COSKEY_SECRE?C?TID.{0,30}(wrong|错|不对)",
            STRONG,
        )],
    },
    Spec {
        key: "1.7",
        kind: Kind::Faq,
        title: "COS SecretKey wrong in OutDefine.php",
        answer: "The upload signature does not verify (-97 ERROR_PROXY_AUTH_FAILED): copy the SecretKey paired with COSKEY_SECRECTID into COSKEY_SECRECTKEY.",
        scenarios: &["faq-1.7-cos-secretkey"],
        signals: &[
            (r"ERROR_PROXY_AUTH_FAILED|⟨-97⟩", STRONG),
            (r"secret ?key|COSKEY_SECRE?C?TKEY", HINT),
        ],
    },
    Spec {
        key: "2.1",
        kind: Kind::Faq,
        title: "app kTCIMSDKAppId or kTCIMSDKAccountType wrong: login fails",
        answer: "IM/TLS refuses the app's SDKAppID or account type: set kTCIMSDKAppId and kTCIMSDKAccountType to the IM console's values.",
        scenarios: &["faq-2.1-im-sdkappid", "faq-2.1-im-account-type"],
        signals: &[
            (
                r"⟨(70009|70011|70012|70013|70014|70015|70016|70020|70140|70145)⟩",
                STRONG,
            ),
            (
                r"appid或acctype无效|ACCOUNT_INVALID_APPID|账号类型.{0,10}不匹配|acctype 不匹配|SDKAppID (was |is )?not found|(error ?code|ErrCode)\s*[:=]?\s*11\b",
                STRONG,
            ),
            (LOGIN_FAILED, MEDIUM),
            (
                r"kTCIMSDKAppId|kTCIMSDKAccountType|IMSDK_APPID|IMSDK_ACCOUNT_TYPE|account ?type|acctype|sdk ?app ?id|云通信|\bIM\b.{0,20}(console|控制台)",
                HINT,
            ),
        ],
    },
    Spec {
        key: "2.2",
        kind: Kind::Faq,
        title: "app kTCCOSAppId or kTCCOSBucket wrong",
        answer: "The app uploads to another APPID or bucket than the backend signs for: make kTCCOSAppId and kTCCOSBucket match COS_APPID and COS_BUCKET.",
        scenarios: &["faq-2.2-cos-appid-app", "faq-2.2-cos-bucket-app"],
        signals: &[
            (COS_APPID, STRONG),
            (COS_BUCKET_SIGN, STRONG),
            (
                r"kTCCOSAppId|kTCCOSBucket|TCConstants|\bCOS_APPID\b|\bCOS_BUCKET\b|(in|on) the app|app side|终端|客户端|\bAPP\b.{0,6}(里|中|配置)",
                HINT,
            ),
            (BACKEND_IS_FINE, HINT),
        ],
    },
    Spec {
        key: "2.3",
        kind: Kind::Faq,
        title: "app kTCCOSRegion wrong: the region does not hold the bucket",
        answer: "The app asks a COS region that does not hold the bucket: set kTCCOSRegion (Android COS_REGION) to the bucket's region.",
        scenarios: &["faq-2.3-cos-region"],
        signals: &[
            (BUCKET_MISSING, STRONG),
            (r"do not have permission to get URL '/files/v2/", 3.5),
            (
                r"kTCCOSRegion|COS_REGION|COSEndPoint|\bregion\b|地域|华南|华东|华北|广州|上海|天津|\b(gz|sh|tj|sgp)\.file\.myqcloud\.com|cos(gz|sh|tj|sgp)\.myqcloud",
                HINT,
            ),
        ],
    },
    Spec {
        key: "6",
        kind: Kind::Faq,
        title: "bucket created on the old COS (v3): the v4 SDK cannot find it",
        answer: "A bucket of the old COS is not visible to cos sdk v4 (bucket notexist): create the bucket on COS v4 and update the backend and app COS settings.",
        scenarios: &["faq-6-v3-bucket"],
        signals: &[
            (BUCKET_MISSING, STRONG),
            (r"bucket notexist", HINT),
            (
                r"old (cos|console|version)|旧版|v3 bucket|cos ?v3|20(15|16)\b|(parameters|settings) are (all )?correct|checked .{0,10}times|参数都对|configured correctly",
                MEDIUM,
            ),
        ],
    },
    Spec {
        key: "2.4",
        kind: Kind::Faq,
        title: "app kHttpServerAddr wrong: backend requests time out",
        answer: "The app does not reach the backend: set kHttpServerAddr to the backend's address and check it opens from the phone's network.",
        scenarios: &["faq-2.4-server-addr"],
        signals: &[
            (
                r"TimeoutError|NoConnectionError|NSURLErrorDomain.{0,20}⟨-100[1-4]⟩|Code=⟨-100[1-4]⟩|request timed out|请求超时|连接服务器失败|SocketTimeoutException|ConnectException|UnknownHostException|NoRouteToHostException|Could not connect to the server|hostname could not be found|failed to connect to|No route to host|ECONNREFUSED|EHOSTUNREACH|kHttpServerAddr|SVR_POST_URL",
                STRONG,
            ),
            (
                r"timed out|time ?out|超时|connection refused|interface\.php.{0,40}\b404\b|HTTP Req error, error code:\s*404",
                MEDIUM,
            ),
            // A network error about a Tencent host (COS, its CDN, the ingest) is not about the backend's address.
            (
                r"(UnknownHostException|Unable to resolve host|failed to connect|hostname could not be found|timed out).{0,120}myqcloud\.com",
                -STRONG,
            ),
        ],
    },
    Spec {
        key: "4",
        kind: Kind::Faq,
        title: "database parameters in cdn.route.ini wrong: backend answers 500",
        answer: "PHP cannot log into MariaDB: make the [DB] section of conf/cdn.route.ini match the database user, password and name you created.",
        scenarios: &["faq-4-db-password"],
        signals: &[
            (
                r"HTTP Req error, error code:\s*500|internal server error|服务器内部错误|Access denied for user|mysqli_connect|\((HY000|42000)/(1044|1045|1049|2002)\)|SQLSTATE\[(HY000|42000)\] \[(1044|1045|1049|2002)\]|Unknown database|Can't connect to (local )?MySQL|cdn\.route\.ini|\[\s*DB\s*\].{0,40}(PASSWD|USER|HOST)",
                STRONG,
            ),
            (r"(HTTP|status|error code)\W{0,3}500\b", MEDIUM),
        ],
    },
    Spec {
        key: "5",
        kind: Kind::Faq,
        title: "COS CDN acceleration off: uploads work, downloads fail",
        answer: "COS v4 returns access_url on the CDN domain, which is off by default: switch on domain name acceleration (域名加速) for the bucket.",
        scenarios: &["faq-5-cdn-off"],
        signals: &[
            (
                r"域名加速|domain (name )?acceleration|CDN acceleration|(download|load|下载|加载).{0,40}(fail|失败|不了).{0,80}file\.myqcloud\.com|file\.myqcloud\.com.{0,80}\b(404|403)\b|(cover|avatar|头像|封面).{0,30}download failed|download(ing)? the access_url|下载不了|下载不下来|显示不出来|不显示|加载失败|never shows|(isn't|is not|not) (displayed|shown)",
                STRONG,
            ),
            (
                r"(UnknownHostException|Unable to resolve host|could not be found|failed to connect|Load failed for).{0,120}file\.myqcloud\.com",
                STRONG,
            ),
            (
                r"access_url|upload.{0,30}(succe|\bok\b|fine|works)|上传成功",
                HINT,
            ),
        ],
    },
    Spec {
        key: "7",
        kind: Kind::Faq,
        title: "registration rejected for security reason: too many registrations",
        answer: "TLS refuses registrations that come too often from one network: register less often.",
        scenarios: &["faq-7-register-too-often"],
        signals: &[
            (
                r"rejected for security reason|blocked for security reason|被安全打击|security strike|ACCOUNT_FREQ_LIMIT|ACCOUNT_REGISTER_TOOMANY|操作太频繁|达到最大注册次数|注册.{0,10}(太频繁|频繁|次数|上限)|(register|registration|sign-?up)s?.{0,30}too (often|frequent|many)|too many (registrations|sign-?ups)",
                STRONG,
            ),
            (LOGIN_FAILED, MEDIUM),
            (
                r"OnStrAccRegFail|TLSStrAccReg|注册失败|registration fail|can't register|cannot register",
                MEDIUM,
            ),
        ],
    },
    Spec {
        key: "ticket-expired-push-url",
        kind: Kind::Ticket,
        title: "the push URL's txTime has passed",
        answer: "The push URL was signed with a txTime that is over: ask the backend for a fresh push URL before every push.",
        scenarios: &["ticket-expired-push-url"],
        signals: &[
            (PUSH_REFUSED, STRONG),
            (
                r"txTime.{0,20}(expired|过期)|(push|推流)\s*(url|地址).{0,20}(expired|过期)|url expired",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "ticket-second-pusher",
        kind: Kind::Ticket,
        title: "a second pusher on the same stream",
        answer: "Another connection already publishes this stream id: stop the first pusher or use another stream id.",
        scenarios: &["ticket-second-pusher"],
        signals: &[
            (PUSH_REFUSED, STRONG),
            (
                r"already publishing|stream (already exists|is busy)|流已存在|(another|second|two) (pusher|anchor|device)s?|重复推流",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "ticket-forbid-live",
        kind: Kind::Ticket,
        title: "the stream is disabled (Live_Channel_SetStatus 0)",
        answer: "The stream was disabled through the API: enable it again with Live_Channel_SetStatus status=1.",
        scenarios: &["ticket-forbid-live"],
        signals: &[
            (PUSH_REFUSED, STRONG),
            (
                r"stream disabled|forbid(den)? (live|stream)|禁推|禁播|stream is forbidden",
                STRONG,
            ),
        ],
    },
    Spec {
        key: "ticket-cos-clock-skew",
        kind: Kind::Ticket,
        title: "the COS signature is expired on arrival (clock skew)",
        answer: "The backend's clock and COS's disagree: synchronise the backend host's clock (NTP).",
        scenarios: &["ticket-cos-clock-skew"],
        signals: &[(r"AUTH_EXPIRED|⟨-96⟩|clock skew|时间不同步|时钟", STRONG)],
    },
    Spec {
        key: "ticket-backend-down-callback",
        kind: Kind::Ticket,
        title: "the backend was down when Tencent sent a callback",
        answer: "Tencent retries a refused callback only a few times: keep the backend up, or re-insert the lost record.",
        scenarios: &["ticket-backend-down-callback"],
        signals: &[(
            r"callback.{0,80}connection refused|connection refused.{0,80}callback|callback.{0,40}\b50[23]\b",
            3.5,
        )],
    },
];

/// The built-in table, compiled once.
pub fn builtin() -> &'static [Entry] {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SPECS
            .iter()
            .map(|s| Entry {
                key: s.key.to_string(),
                kind: s.kind,
                title: s.title.to_string(),
                answer: s.answer.to_string(),
                scenarios: s.scenarios.iter().map(|x| x.to_string()).collect(),
                signals: s
                    .signals
                    .iter()
                    .map(|(p, w)| Signal {
                        // The table's patterns are constants checked by the tests below.
                        pattern: case_insensitive(&expand_codes(p))
                            .unwrap_or_else(|e| panic!("{p}: {e}")),
                        weight: *w,
                    })
                    .collect(),
            })
            .collect()
    })
}

/// Patterns write a numeric code as `⟨-97⟩`: it counts only as a number of its own, not inside a longer number,
/// a date (`20171204-0097`), a dotted or colon time (`04:04.404`) or an id (`70012-404-133`).
fn expand_codes(p: &str) -> String {
    p.replace('⟨', r"(?:^|[^\w.\-])(?:")
        .replace('⟩', r")(?:$|[^\w\-:.]|[:.](?:$|\D))")
}

/// A pattern matched without regard to case.
pub fn case_insensitive(p: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("(?i){p}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_every_entry_names_a_scenario() {
        for s in SPECS {
            assert!(!s.scenarios.is_empty(), "{}", s.key);
            for (p, _) in s.signals {
                assert!(case_insensitive(&expand_codes(p)).is_ok(), "{p}");
            }
        }
        assert_eq!(builtin().len(), SPECS.len());
    }

    #[test]
    fn healthy_signs_are_not_evidence() {
        for line in [
            "onPushEvent 1002 已经与服务器握手完毕,开始推流",
            "Push begins",
            "HTTP/1.1 404 favicon.ico",
        ] {
            for e in builtin() {
                assert!(
                    e.signals.iter().all(|s| !s.pattern.is_match(line)),
                    "{line} counts for {}",
                    e.key
                );
            }
        }
    }
}
