//! The `common_access` server API: `Live_Channel_GetStatus`, `Live_Channel_SetStatus`,
//! `Live_Tape_GetFilelist`, signed with `sign = md5(API key + t)`.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use super::Lvb;
use super::callback::api_sign;
use super::streams::StreamRegistry;
use crate::cloud::Service;

/// GAP: the front layer's numeric codes are undocumented; only the messages are. These are ours.
pub const RET_APPID_INVALID: i64 = -1;
pub const RET_CMD_INVALID: i64 = -2;
pub const RET_SIGN_INVALID: i64 = -3;
pub const RET_TIME_EXPIRED: i64 = -4;
pub const RET_INVALID_PARAM: i64 = 1204;
/// `Live_Channel_GetStatus` on a stream that never pushed (documented code).
pub const RET_NEVER_PUSHED: i64 = 20601;

/// GAP: `t` is an expiry, yet the reference backend's cron sends `t = now`, which the platform evidently
/// accepted; requests are therefore valid until `t + T_GRACE_SECS`.
pub const T_GRACE_SECS: i64 = 60;

/// GAP: the message text of 20601 is undocumented.
const NEVER_PUSHED_MESSAGE: &str = "stream has never been pushed";

/// Handles one `common_access` query string; returns the JSON reply and the journal outcome.
pub fn handle(lvb: &Lvb, query: &str) -> (Value, String) {
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let (appid, api_key) = lvb
        .ctx
        .with_tenant(|t| (t.lvb.appid, t.lvb.api_key.clone()));
    let given_appid = if params.contains_key("appid") {
        get("appid")
    } else {
        get("cmd")
    };
    if given_appid.trim().parse::<u64>().ok() != Some(appid) {
        return error(RET_APPID_INVALID, "appid is invalid");
    }
    let Ok(t) = get("t").trim().parse::<i64>() else {
        return error(RET_SIGN_INVALID, "sign invalid");
    };
    if !get("sign").eq_ignore_ascii_case(&api_sign(&api_key, t)) {
        return error(RET_SIGN_INVALID, "sign invalid");
    }
    if t + T_GRACE_SECS < lvb.ctx.clock.now() {
        return error(RET_TIME_EXPIRED, "time expired");
    }
    let channel = get("Param.s.channel_id").trim().to_string();
    match get("interface") {
        "Live_Channel_GetStatus" => get_status(lvb, &channel),
        "Live_Channel_SetStatus" => set_status(lvb, &channel, get("Param.n.status")),
        "Live_Tape_GetFilelist" => filelist(lvb, &channel, &params),
        _ => error(RET_CMD_INVALID, "cmd is invalid"),
    }
}

fn error(ret: i64, message: &str) -> (Value, String) {
    (
        json!({ "ret": ret, "retcode": ret, "message": message, "errmsg": message }),
        format!("ret {ret} {message}"),
    )
}

/// 0 off air, 1 live, 3 disabled.
pub fn channel_status(lvb: &Lvb, streams: &StreamRegistry, channel: &str) -> Option<i64> {
    if lvb.is_disabled(channel) {
        Some(3)
    } else if streams.is_live(channel) {
        Some(1)
    } else if streams.ever_pushed(channel) {
        Some(0)
    } else {
        None
    }
}

fn get_status(lvb: &Lvb, channel: &str) -> (Value, String) {
    if channel.is_empty() {
        return error(RET_INVALID_PARAM, "invalid input param");
    }
    match channel_status(lvb, &lvb.streams, channel) {
        None => error(RET_NEVER_PUSHED, NEVER_PUSHED_MESSAGE),
        Some(status) => (
            json!({
                "ret": 0, "retcode": 0, "message": "", "errmsg": "",
                "output": [{ "rate_type": 0, "recv_type": 1, "status": status }]
            }),
            format!("ret 0 status {status}"),
        ),
    }
}

fn set_status(lvb: &Lvb, channel: &str, status: &str) -> (Value, String) {
    let status = match status.trim() {
        "0" => 0,
        "1" => 1,
        _ => return error(RET_INVALID_PARAM, "invalid input param"),
    };
    if channel.is_empty() {
        return error(RET_INVALID_PARAM, "invalid input param");
    }
    lvb.set_disabled(channel, status == 0);
    (
        json!({ "ret": 0, "retcode": 0, "message": "", "errmsg": "" }),
        format!("ret 0 {}", if status == 0 { "disabled" } else { "enabled" }),
    )
}

/// `"YYYY-MM-DD HH:MM:SS"` in Beijing time, as the API shows times.
pub fn beijing_time(unix: i64) -> String {
    let (Some(offset), Some(t)) = (
        FixedOffset::east_opt(8 * 3600),
        DateTime::from_timestamp(unix, 0),
    ) else {
        return String::new();
    };
    t.with_timezone(&offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn filelist(lvb: &Lvb, channel: &str, params: &HashMap<String, String>) -> (Value, String) {
    if channel.is_empty() {
        return error(RET_INVALID_PARAM, "invalid input param");
    }
    let number = |k: &str, default: i64| {
        params
            .get(k)
            .map(|v| v.trim().parse::<i64>().unwrap_or(-1))
            .unwrap_or(default)
    };
    let page_no = number("Param.n.page_no", 1);
    let page_size = number("Param.n.page_size", 10);
    if page_no < 1 || !(1..=100).contains(&page_size) {
        return error(RET_INVALID_PARAM, "invalid input param");
    }
    let desc = params.get("Param.s.sort_type").map(String::as_str) == Some("desc");
    // Each push is one recorded file (formats of one push share the vid of the first format).
    let mut files: Vec<Value> = Vec::new();
    let mut seen_paths = Vec::new();
    for rec in lvb.recordings.of_stream(channel) {
        if seen_paths.contains(&rec.path) {
            continue;
        }
        seen_paths.push(rec.path.clone());
        files.push(json!({
            "vid": rec.video_id,
            "start_time": beijing_time(rec.start_time),
            "end_time": beijing_time(rec.end_time),
            "file_id": rec.file_id,
            "record_file_url": rec.video_url,
        }));
    }
    if desc {
        files.reverse();
    }
    let all_count = files.len();
    let page: Vec<Value> = files
        .into_iter()
        .skip(((page_no - 1) * page_size) as usize)
        .take(page_size as usize)
        .collect();
    if all_count == 0 {
        return (
            json!({ "ret": 10003, "retcode": 10003, "message": "query data is empty", "errmsg": "query data is empty",
                    "output": { "all_count": 0, "file_list": [] } }),
            "ret 10003 query data is empty".to_string(),
        );
    }
    (
        json!({ "ret": 0, "retcode": 0, "message": "query data successfully", "errmsg": "query data successfully",
                "output": { "all_count": all_count, "file_list": page } }),
        format!("ret 0 all_count {all_count}"),
    )
}

/// Journals and answers one API call.
pub fn serve(lvb: &Lvb, host: &str, query: &str) -> Value {
    let (reply, outcome) = handle(lvb, query);
    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let interface = params.get("interface").cloned().unwrap_or_default();
    let channel = params
        .get("Param.s.channel_id")
        .cloned()
        .unwrap_or_default();
    let mut line = format!("GET common_access interface={interface}");
    if !channel.is_empty() {
        line.push_str(&format!(" channel_id={channel}"));
    }
    if let Some(status) = params.get("Param.n.status") {
        line.push_str(&format!(" status={status}"));
    }
    lvb.ctx.record(
        Service::LvbApi,
        line,
        outcome,
        json!({ "host": host, "query": query, "reply": reply }),
    );
    reply
}
