//! `POST /interface.php`: the V1 `Action` protocol. Order as in the original: JSON decode (4001) → `Action`
//! present and known (1000) → parameter check (1000) → database connect (HTTP 500 on failure) → process.
//!
//! Deviations from the original, on purpose: parameterised SQL (a title with quotes is stored as sent), one
//! forbid column name (`forbid_status`), and ForbidLive reporting a failed Tencent call with a real code.

use mysql_async::prelude::*;
use mysql_async::{Conn, Row};
use serde_json::Value;

use crate::app::App;
use crate::envelope::{
    EC_DB_OP_ERROR, EC_INVALID_INPUT, EC_NETWORK_OR_TIMEOUT_ERROR, EC_SYSTEM_INVALID_JSON_FORMAT,
    EC_SYSTEM_INVALID_PARA, Json, Reply, obj,
};
use crate::log::{Level, LogContext, Logger, Site};
use crate::params::{Params, info_field};
use crate::rows;
use crate::sign;

/// What the HTTP layer sends back.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// HTTP 200 with the envelope.
    Reply(Reply),
    /// The database could not be reached: HTTP 500 with an empty body, like the PHP fatal error.
    DbDown,
}

type Step<T> = Result<T, Outcome>;

/// Recordings of the last 7 days are listed (`TAPE_FILE_VALID_TIME`).
pub const TAPE_FILE_VALID_TIME: i64 = 604_800;

const SITE: Site = Site {
    file: "interface.php",
    function: "process",
    line: 0,
};

fn invalid(msg: impl Into<String>) -> Outcome {
    Outcome::Reply(Reply::error(EC_INVALID_INPUT, msg))
}

fn para_error(name: &str) -> Outcome {
    Outcome::Reply(Reply::process_fail(EC_SYSTEM_INVALID_PARA, name))
}

/// Handles one raw request body.
pub async fn handle(app: &App, raw: &[u8], ctx: &mut LogContext) -> Outcome {
    app.log.write(
        ctx,
        Logger::Interface,
        Level::Info,
        SITE,
        0,
        &format!("request:{}", crate::log::body_excerpt(raw)),
    );
    let outcome = match dispatch(app, raw, ctx).await {
        Ok(o) | Err(o) => o,
    };
    if let Outcome::Reply(r) = &outcome {
        let body = r.to_body();
        app.log.write(
            ctx,
            Logger::Interface,
            Level::Info,
            SITE,
            0,
            &format!("response({}):{body}", body.len()),
        );
    }
    outcome
}

async fn dispatch(app: &App, raw: &[u8], ctx: &mut LogContext) -> Step<Outcome> {
    let body = match serde_json::from_slice::<Value>(raw) {
        // An empty object is falsy in PHP, so it counts as invalid JSON too.
        Ok(Value::Object(m)) if !m.is_empty() => m,
        _ => {
            return Ok(Outcome::Reply(Reply {
                code: EC_SYSTEM_INVALID_JSON_FORMAT,
                extra: None,
                data: None,
            }));
        }
    };
    // Optional log keys of the original.
    if let (Some(e), Some(t)) = (body.get("eventId"), body.get("timestamp")) {
        ctx.event_id = scalar_text(e);
        ctx.timestamp = scalar_text(t);
    }
    let action = match body.get("Action") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(invalid("invalid interface name:")),
    };
    ctx.keyinfo = "[appid:]".to_string();
    let p = Params::new(&body);
    let reply = match action.as_str() {
        "RequestLVBAddr" => request_lvb_addr(app, &p, ctx).await?,
        "ChangeStatus" => change_status(app, &p, ctx).await?,
        "StopLVB" => stop_lvb(app, &p, ctx).await?,
        "ChangeCount" => change_count(app, &p, ctx).await?,
        "FetchList" => fetch_list(app, &p, ctx).await?,
        "GetUserInfo" => get_user_info(app, &p, ctx).await?,
        "GetCOSSign" => get_cos_sign(app),
        "EnterGroup" => enter_group(app, &p, ctx).await?,
        "QuitGroup" => quit_group(app, &p, ctx).await?,
        "FetchGroupMemberList" => fetch_group_member_list(app, &p, ctx).await?,
        "ReportUser" => report_user(app, &p, ctx).await?,
        "ForbidLive" => forbid_live(app, &p, ctx).await?,
        "RequestLVBAddrForLinkMic" => request_lvb_addr_for_link_mic(app, &p)?,
        "RequestPlayUrlWithSignForLinkMic" => request_play_url_with_sign(app, &p)?,
        other => {
            let clean: String = other.chars().filter(|c| !"<>\"&".contains(*c)).collect();
            return Err(invalid(format!("invalid interface name:{clean}")));
        }
    };
    if reply.code == 0 {
        app.log.write(
            ctx,
            Logger::Interface,
            Level::Info,
            SITE,
            0,
            &format!("{action}::process() succeed"),
        );
    }
    Ok(Outcome::Reply(reply))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check<T>(r: Result<T, String>) -> Step<T> {
    r.map_err(invalid)
}

async fn conn(app: &App, ctx: &LogContext) -> Step<Conn> {
    app.connect(ctx).await.ok_or(Outcome::DbDown)
}

/// Logs a failed statement to the mysql_error file and gives the 2003 reply of `name`.
fn db_fail(app: &App, ctx: &LogContext, name: &str, e: mysql_async::Error) -> Outcome {
    app.log.write(
        ctx,
        Logger::Mysql,
        Level::Error,
        Site {
            file: "simple_mysql_session.class.php",
            function: "query",
            line: 0,
        },
        0,
        &format!("query failed, error:{}", crate::db::connect_error_text(&e)),
    );
    Outcome::Reply(Reply::process_fail(EC_DB_OP_ERROR, name))
}

fn result_ok() -> Reply {
    Reply::ok(vec![("result", Json::from(0))])
}

/// Stream id of an anchor: `<bizid>_<userid with @ # - replaced by _>`.
pub fn stream_id(bizid: i64, userid: &str) -> String {
    let clean: String = userid
        .chars()
        .map(|c| if matches!(c, '@' | '#' | '-') { '_' } else { c })
        .collect();
    format!("{bizid}_{clean}")
}

/// The push URL the original hands out (valid 3 h, record flv and hls).
pub fn push_url(bizid: i64, push_key: &str, stream: &str, tx_time: &str) -> String {
    let secret = sign::tx_secret(push_key, stream, tx_time);
    format!(
        "rtmp://{bizid}.livepush2.myqcloud.com/live/{stream}?bizid={bizid}&record_interval=10800&record=flv|hls&txSecret={secret}&txTime={tx_time}"
    )
}

async fn request_lvb_addr(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    // The original's class name is misspelled in its failure message.
    const NAME: &str = "RequstLVBAddr";
    let userid = check(p.string("userid"))?;
    let groupid = check(p.string("groupid"))?;
    let title = check(p.string("title"))?;
    let info = p.opt_object("userinfo");
    let mut c = conn(app, ctx).await?;
    let out = &app.config.out;
    let now = app.now();
    let stream = stream_id(out.app_bizid, &userid);
    let tx_time = sign::tx_time(now + 3 * 3600);
    let push = push_url(out.app_bizid, &out.push_url_key, &stream, &tx_time);
    let play = format!(
        "http://{}.liveplay.myqcloud.com/live/{stream}.flv",
        out.app_bizid
    );
    let hls = format!(
        "http://{}.liveplay.myqcloud.com/live/{stream}.m3u8",
        out.app_bizid
    );
    let r = c
        .exec_drop(
            "REPLACE INTO live_data (userid, stream_id, groupid, title, nickname, headpic, frontcover, location, `desc`, \
             push_url, play_url, hls_play_url, status, create_time) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, FROM_UNIXTIME(?))",
            vec![
                mysql_async::Value::from(&userid),
                mysql_async::Value::from(&stream),
                mysql_async::Value::from(&groupid),
                mysql_async::Value::from(&title),
                mysql_async::Value::from(info_field(info, "nickname")),
                mysql_async::Value::from(info_field(info, "headpic")),
                mysql_async::Value::from(info_field(info, "frontcover")),
                mysql_async::Value::from(info_field(info, "location")),
                mysql_async::Value::from(info_field(info, "desc")),
                mysql_async::Value::from(&push),
                mysql_async::Value::from(&play),
                mysql_async::Value::from(&hls),
                mysql_async::Value::from(now),
            ],
        )
        .await;
    if let Err(e) = r {
        return Err(db_fail(app, ctx, NAME, e));
    }
    Ok(Reply::ok(vec![
        ("pushurl", Json::from(push)),
        ("timestamp", Json::from(now)),
    ]))
}

async fn change_status(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let status = check(p.int("status", Some(0)))?;
    // The request says what the anchor did (0 went online, 1 went offline); the column is 1 = online.
    let db_status = match status {
        0 => 1,
        1 => 0,
        _ => return Err(para_error("ChangeStatus")),
    };
    let mut c = conn(app, ctx).await?;
    c.exec_drop(
        "UPDATE live_data SET status = ? WHERE userid = ?",
        (db_status, &userid),
    )
    .await
    .map_err(|e| db_fail(app, ctx, "ChangeStatus", e))?;
    Ok(result_ok())
}

async fn stop_lvb(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let mut c = conn(app, ctx).await?;
    c.exec_drop(
        "UPDATE live_data SET status = 0 WHERE userid = ?",
        (&userid,),
    )
    .await
    .map_err(|e| db_fail(app, ctx, "StopLVB", e))?;
    Ok(result_ok())
}

/// Adds or removes one viewer/like on a live (`flag` 0, by anchor) or a replay (`flag` 1, by anchor + file).
async fn bump_counter(
    c: &mut Conn,
    column: &str,
    increment: bool,
    flag: i64,
    userid: &str,
    fileid: &str,
) -> Result<(), mysql_async::Error> {
    let change = if increment {
        format!("{column} = {column} + 1")
    } else {
        format!("{column} = {column} - 1")
    };
    let guard = if increment {
        String::new()
    } else {
        format!(" AND {column} > 0")
    };
    if flag == 0 {
        c.exec_drop(
            format!("UPDATE live_data SET {change} WHERE userid = ?{guard}"),
            (userid,),
        )
        .await
    } else {
        c.exec_drop(
            format!("UPDATE tape_data SET {change} WHERE userid = ? AND file_id = ?{guard}"),
            (userid, fileid),
        )
        .await
    }
}

async fn change_count(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    const NAME: &str = "ChangeCount";
    let userid = check(p.string("userid"))?;
    let kind = check(p.int("type", None))?;
    let optype = check(p.int("optype", None))?;
    let flag = check(p.int("flag", None))?;
    let fileid = p.opt_string("fileid").unwrap_or_default();
    let column = match kind {
        0 => "viewer_count",
        1 => "like_count",
        _ => return Err(para_error(NAME)),
    };
    if !matches!(optype, 0 | 1) || !matches!(flag, 0 | 1) || (flag == 1 && fileid.is_empty()) {
        return Err(para_error(NAME));
    }
    let mut c = conn(app, ctx).await?;
    bump_counter(&mut c, column, optype == 0, flag, &userid, &fileid)
        .await
        .map_err(|e| db_fail(app, ctx, NAME, e))?;
    Ok(result_ok())
}

/// Page number and size of the original: `pageno` ≤ 0 → 1; `pagesize` outside 10..=100 → 10.
pub fn paging(pageno: i64, pagesize: i64) -> (i64, i64) {
    let pageno = if pageno <= 0 { 1 } else { pageno };
    let size = if (10..=100).contains(&pagesize) {
        pagesize
    } else {
        10
    };
    (pageno.saturating_sub(1).saturating_mul(size), size)
}

const LIVE_COLUMNS: &str = "userid, groupid, UNIX_TIMESTAMP(create_time), viewer_count, like_count, title, play_url, \
     hls_play_url, `desc`, forbid_status, status, nickname, headpic, frontcover, location";
const TAPE_COLUMNS: &str = "userid, file_id, UNIX_TIMESTAMP(create_time), viewer_count, like_count, title, play_url, \
     hls_play_url, `desc`, nickname, headpic, frontcover, location";

fn s(r: &Row, i: usize) -> Json {
    Json::Scalar(rows::str_or_null(r, i))
}

fn n(r: &Row, i: usize) -> Json {
    Json::from(rows::int(r, i))
}

/// A live as FetchList lists it; `for_user_info` gives GetUserInfo's variant (no `desc`/`forbid_status`
/// at the top, `desc` inside `userinfo`).
fn live_item(r: &Row, for_user_info: bool) -> Json {
    let mut item = vec![
        ("userid", s(r, 0)),
        ("groupid", s(r, 1)),
        ("timestamp", n(r, 2)),
        ("type", Json::from(0)),
        ("viewercount", n(r, 3)),
        ("likecount", n(r, 4)),
        ("title", s(r, 5)),
        ("playurl", s(r, 6)),
        ("hls_play_url", s(r, 7)),
    ];
    if !for_user_info {
        item.push(("desc", s(r, 8)));
        item.push(("forbid_status", n(r, 9)));
    }
    // The original passes the DB value through: a string "0"/"1".
    item.push(("status", s(r, 10)));
    item.push(("fileid", Json::from("")));
    let mut info = vec![
        ("nickname", s(r, 11)),
        ("headpic", s(r, 12)),
        ("frontcover", s(r, 13)),
        ("location", s(r, 14)),
    ];
    if for_user_info {
        info.push(("desc", s(r, 8)));
    }
    item.push(("userinfo", obj(info)));
    obj(item)
}

/// A replay as FetchList lists it (see [`live_item`] for `for_user_info`).
fn tape_item(r: &Row, for_user_info: bool) -> Json {
    let mut item = vec![
        ("userid", s(r, 0)),
        ("groupid", Json::from("")),
        ("timestamp", n(r, 2)),
        ("type", Json::from(1)),
        ("viewercount", n(r, 3)),
        ("likecount", n(r, 4)),
        ("title", s(r, 5)),
        ("playurl", s(r, 6)),
        ("hls_play_url", s(r, 7)),
    ];
    if !for_user_info {
        item.push(("desc", Json::from("")));
        item.push(("forbid_status", Json::from(0)));
    }
    item.push(("status", Json::Scalar(Value::Null)));
    item.push(("fileid", s(r, 1)));
    let mut info = vec![
        ("nickname", s(r, 9)),
        ("headpic", s(r, 10)),
        ("frontcover", s(r, 11)),
        ("location", s(r, 12)),
    ];
    if for_user_info {
        info.push(("desc", s(r, 8)));
    }
    item.push(("userinfo", obj(info)));
    obj(item)
}

async fn count(
    c: &mut Conn,
    sql: &str,
    params: mysql_async::Params,
) -> Result<i64, mysql_async::Error> {
    let row: Option<Row> = c.exec_first(sql, params).await?;
    Ok(row.map(|r| rows::int(&r, 0)).unwrap_or(0))
}

async fn lives(
    c: &mut Conn,
    only_online: bool,
    off: i64,
    size: i64,
) -> Result<Vec<Json>, mysql_async::Error> {
    let filter = if only_online { "WHERE status = 1 " } else { "" };
    let rs: Vec<Row> = c
        .exec(
            format!("SELECT {LIVE_COLUMNS} FROM live_data {filter}ORDER BY create_time DESC, userid LIMIT ?, ?"),
            (off, size),
        )
        .await?;
    Ok(rs.iter().map(|r| live_item(r, false)).collect())
}

async fn tapes(
    c: &mut Conn,
    now: i64,
    off: i64,
    size: i64,
) -> Result<Vec<Json>, mysql_async::Error> {
    let rs: Vec<Row> = c
        .exec(
            format!(
                "SELECT {TAPE_COLUMNS} FROM tape_data WHERE ? - UNIX_TIMESTAMP(create_time) < ? AND play_url != '' \
                 ORDER BY create_time DESC, userid, file_id LIMIT ?, ?"
            ),
            (now, TAPE_FILE_VALID_TIME, off, size),
        )
        .await?;
    Ok(rs.iter().map(|r| tape_item(r, false)).collect())
}

const COUNT_ONLINE: &str = "SELECT COUNT(*) FROM live_data WHERE status = 1";
/// The 7-day window without the play_url filter of the list itself (the original's count, kept).
const COUNT_TAPES: &str =
    "SELECT COUNT(*) FROM tape_data WHERE ? - UNIX_TIMESTAMP(create_time) < ?";

async fn fetch_list(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    const NAME: &str = "FetchList";
    let flag = check(p.int("flag", Some(0)))?;
    let pageno = check(p.int("pageno", Some(0)))?;
    let pagesize = check(p.int("pagesize", Some(0)))?;
    let (off, size) = paging(pageno, pagesize);
    let now = app.now();
    let mut c = conn(app, ctx).await?;
    let fail = |e| db_fail(app, ctx, NAME, e);
    let (total, list): (Json, Vec<Json>) = match flag {
        1 => {
            let total = count(&mut c, COUNT_ONLINE, mysql_async::Params::Empty)
                .await
                .map_err(fail)?;
            // Counts come out of mysqli as strings; the original passes them through.
            (
                Json::from(total.to_string()),
                lives(&mut c, true, off, size).await.map_err(fail)?,
            )
        }
        2 => {
            let total = count(&mut c, COUNT_TAPES, (now, TAPE_FILE_VALID_TIME).into())
                .await
                .map_err(fail)?;
            (
                Json::from(total.to_string()),
                tapes(&mut c, now, off, size).await.map_err(fail)?,
            )
        }
        3 => {
            // Both counts in one round trip.
            let counts: Option<Row> = c
                .exec_first(
                    format!("SELECT ({COUNT_ONLINE}), ({COUNT_TAPES})"),
                    (now, TAPE_FILE_VALID_TIME),
                )
                .await
                .map_err(fail)?;
            let (live_total, tape_total) = counts
                .map(|r| (rows::int(&r, 0), rows::int(&r, 1)))
                .unwrap_or((0, 0));
            let list = if off < live_total {
                let mut list = lives(&mut c, true, off, size).await.map_err(fail)?;
                let remaining = size - list.len() as i64;
                if remaining > 0 && off + size > live_total {
                    list.extend(tapes(&mut c, now, 0, remaining).await.map_err(fail)?);
                }
                list
            } else {
                tapes(&mut c, now, off - live_total, size)
                    .await
                    .map_err(fail)?
            };
            (Json::from(live_total + tape_total), list)
        }
        4 => {
            let total = count(
                &mut c,
                "SELECT COUNT(*) FROM live_data",
                mysql_async::Params::Empty,
            )
            .await
            .map_err(fail)?;
            (
                Json::from(total.to_string()),
                lives(&mut c, false, off, size).await.map_err(fail)?,
            )
        }
        _ => (Json::from(0), Vec::new()),
    };
    Ok(Reply::ok(vec![
        ("totalcount", total),
        ("pusherlist", Json::Array(list)),
    ]))
}

async fn get_user_info(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    const NAME: &str = "GetUserInfo";
    let userid = check(p.string("userid"))?;
    let kind = check(p.int("type", None))?;
    let fileid = p.opt_string("fileid").unwrap_or_default();
    if !matches!(kind, 0 | 1) || (kind == 1 && fileid.is_empty()) {
        return Err(para_error(NAME));
    }
    let mut c = conn(app, ctx).await?;
    let fail = |e| db_fail(app, ctx, NAME, e);
    let (sql, params): (String, mysql_async::Params) = if kind == 0 {
        (
            format!("SELECT {LIVE_COLUMNS} FROM live_data WHERE userid = ?"),
            (&userid,).into(),
        )
    } else {
        (
            format!("SELECT {TAPE_COLUMNS} FROM tape_data WHERE userid = ? AND file_id = ?"),
            (&userid, &fileid).into(),
        )
    };
    let rs: Vec<Row> = c.exec(sql, params).await.map_err(fail)?;
    // Exactly one row must match, as in the original.
    let [r] = rs.as_slice() else {
        return Err(Outcome::Reply(Reply::process_fail(EC_DB_OP_ERROR, NAME)));
    };
    let item = if kind == 0 {
        live_item(r, true)
    } else {
        tape_item(r, true)
    };
    match item {
        Json::Object(pairs) => Ok(Reply::ok(pairs)),
        _ => Ok(Reply::ok_empty()),
    }
}

fn get_cos_sign(app: &App) -> Reply {
    let out = &app.config.out;
    let now = app.now();
    // r: a random value in 0..2^31-1 like PHP's rand().
    let r = rand::random::<u32>() & 0x7fff_ffff;
    let plain = sign::cos_v4_plain(
        out.coskey_appid,
        &out.coskey_bucket,
        &out.coskey_secrectid,
        now + out.coskey_expired_time,
        now,
        r,
    );
    Reply::ok(vec![(
        "sign",
        Json::from(sign::cos_v4_sign(&out.coskey_secrectkey, &plain)),
    )])
}

async fn enter_group(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let liveuserid = check(p.string("liveuserid"))?;
    let groupid = check(p.string("groupid"))?;
    let flag = check(p.int("flag", None))?;
    let nickname = p.opt_string("nickname");
    let headpic = p.opt_string("headpic");
    if !matches!(flag, 0 | 1) {
        return Err(para_error("EnterGroup"));
    }
    let mut c = conn(app, ctx).await?;
    c.exec_drop(
        "REPLACE INTO group_info (groupid, userid, liveuserid, nickname, headpic) VALUES (?, ?, ?, ?, ?)",
        (&groupid, &userid, &liveuserid, nickname, headpic),
    )
    .await
    .map_err(|e| db_fail(app, ctx, "EnterGroup", e))?;
    // For a replay the groupid carries the fileid. Counter errors are ignored, as in the original.
    let _ = bump_counter(&mut c, "viewer_count", true, flag, &liveuserid, &groupid).await;
    Ok(result_ok())
}

async fn quit_group(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let liveuserid = check(p.string("liveuserid"))?;
    let groupid = check(p.string("groupid"))?;
    let flag = check(p.int("flag", None))?;
    if !matches!(flag, 0 | 1) {
        return Err(para_error("QuitGroup"));
    }
    let mut c = conn(app, ctx).await?;
    c.exec_drop(
        "DELETE FROM group_info WHERE groupid = ? AND userid = ? AND liveuserid = ?",
        (&groupid, &userid, &liveuserid),
    )
    .await
    .map_err(|e| db_fail(app, ctx, "QuitGroup", e))?;
    let _ = bump_counter(&mut c, "viewer_count", false, flag, &liveuserid, &groupid).await;
    Ok(result_ok())
}

async fn fetch_group_member_list(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    const NAME: &str = "FetchGroupMemberList";
    let liveuserid = check(p.string("liveuserid"))?;
    let groupid = check(p.string("groupid"))?;
    let pageno = check(p.int("pageno", Some(0)))?;
    let pagesize = check(p.int("pagesize", Some(0)))?;
    let (off, size) = paging(pageno, pagesize);
    let mut c = conn(app, ctx).await?;
    let fail = |e| db_fail(app, ctx, NAME, e);
    let total = count(
        &mut c,
        "SELECT COUNT(*) FROM group_info WHERE groupid = ? AND liveuserid = ?",
        (&groupid, &liveuserid).into(),
    )
    .await
    .map_err(fail)?;
    let rs: Vec<Row> = c
        .exec(
            "SELECT userid, nickname, headpic FROM group_info WHERE groupid = ? AND liveuserid = ? \
             ORDER BY userid LIMIT ?, ?",
            (&groupid, &liveuserid, off, size),
        )
        .await
        .map_err(fail)?;
    let members: Vec<Json> = rs
        .iter()
        .map(|r| {
            obj(vec![
                ("userid", s(r, 0)),
                ("nickname", s(r, 1)),
                ("headpic", s(r, 2)),
            ])
        })
        .collect();
    Ok(Reply::ok(vec![
        ("totalcount", Json::from(total.to_string())),
        ("memberlist", Json::Array(members)),
    ]))
}

async fn report_user(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let _hostuserid = check(p.string("hostuserid"))?;
    let mut c = conn(app, ctx).await?;
    // The original always answers success and ignores DB errors here.
    let _ = c
        .exec_drop("DELETE FROM live_data WHERE userid = ?", (&userid,))
        .await;
    let _ = c
        .exec_drop("DELETE FROM tape_data WHERE userid = ?", (&userid,))
        .await;
    Ok(Reply::ok_empty())
}

async fn forbid_live(app: &App, p: &Params<'_>, ctx: &LogContext) -> Step<Reply> {
    const NAME: &str = "ForbidLive";
    let userid = check(p.string("userid"))?;
    let forbidflag = check(p.int("forbidflag", Some(0)))?;
    let mut c = conn(app, ctx).await?;
    let fail = |e| db_fail(app, ctx, NAME, e);
    let row: Option<Row> = c
        .exec_first(
            "SELECT stream_id FROM live_data WHERE userid = ?",
            (&userid,),
        )
        .await
        .map_err(fail)?;
    let Some(stream) = row.and_then(|r| rows::text(&r, 0)) else {
        return Err(Outcome::Reply(Reply::process_fail(EC_DB_OP_ERROR, NAME)));
    };
    // Live_Channel_SetStatus: 1 allows pushing (forbidflag 0), 0 disables it.
    let status = if forbidflag == 0 { 1 } else { 0 };
    let reply = crate::webservice::call(
        &app.http,
        &app.config,
        "Live_Channel_SetStatus",
        &[
            ("Param.s.channel_id", stream.clone()),
            ("Param.n.status", status.to_string()),
        ],
        app.now(),
    )
    .await;
    let failure = match &reply {
        Ok(v) if crate::webservice::ret_code(v) == Some(0) => None,
        Ok(v) => Some(format!("Live_Channel_SetStatus answered {v}")),
        Err(e) => Some(e.clone()),
    };
    if let Some(why) = failure {
        app.log.write(
            ctx,
            Logger::Component,
            Level::Error,
            Site {
                file: "ForbidLive.php",
                function: "process",
                line: 0,
            },
            0,
            &why,
        );
        // The original answers `returnValue: false` here (a PHP bug); 3000 is its code for a failed
        // outbound call, and the database is left unchanged so the list does not lie.
        return Err(Outcome::Reply(Reply::error(
            EC_NETWORK_OR_TIMEOUT_ERROR,
            format!("{NAME}::process() fail Live_Channel_SetStatus"),
        )));
    }
    c.exec_drop(
        "UPDATE live_data SET forbid_status = ? WHERE userid = ?",
        (forbidflag, &userid),
    )
    .await
    .map_err(fail)?;
    Ok(result_ok())
}

fn request_lvb_addr_for_link_mic(app: &App, p: &Params<'_>) -> Step<Reply> {
    let userid = check(p.string("userid"))?;
    let _title = check(p.string("title"))?;
    let out = &app.config.out;
    let now = app.now();
    let tx_time = sign::tx_time(now + 3 * 3600);
    let stream = format!("{}_{tx_time}", stream_id(out.app_bizid, &userid));
    Ok(Reply::ok(vec![
        (
            "pushurl",
            Json::from(push_url(
                out.app_bizid,
                &out.push_url_key,
                &stream,
                &tx_time,
            )),
        ),
        ("timestamp", Json::from(now)),
        (
            "playurl",
            Json::from(format!(
                "rtmp://{}.liveplay.myqcloud.com/live/{stream}",
                out.app_bizid
            )),
        ),
    ]))
}

fn request_play_url_with_sign(app: &App, p: &Params<'_>) -> Step<Reply> {
    let _userid = check(p.string("userid"))?;
    let origin = check(p.string("originStreamUrl"))?;
    let out = &app.config.out;
    let now = app.now();
    let tx_time = sign::tx_time(now + 3 * 3600);
    // Stream id = last path segment cut at its first '.'. (The original used PHP `split()`, which no
    // longer exists in PHP 7; the intended behaviour is implemented.)
    let last = origin.rsplit('/').next().unwrap_or("");
    let stream = last.split('.').next().unwrap_or("");
    let signed = format!(
        "{origin}?txSecret={}&txTime={tx_time}&bizid={}",
        sign::tx_secret(&out.push_url_key, stream, &tx_time),
        out.app_bizid
    );
    Ok(Reply::ok(vec![
        ("streamUrlWithSignature", Json::from(signed)),
        ("timestamp", Json::from(now)),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_sanitises() {
        assert_eq!(stream_id(8888, "a@b#c-d_e"), "8888_a_b_c_d_e");
    }

    #[test]
    fn paging_rules() {
        assert_eq!(paging(0, 20), (0, 20));
        assert_eq!(paging(2, 20), (20, 20));
        assert_eq!(paging(3, 5), (20, 10));
        assert_eq!(paging(1, 101), (0, 10));
        assert_eq!(paging(1, 100), (0, 100));
    }

    #[test]
    fn push_url_shape() {
        let u = push_url(
            8888,
            "5d41402abc4b2a76b9719d911017c592",
            "8888_test001",
            "579acb15",
        );
        assert_eq!(
            u,
            "rtmp://8888.livepush2.myqcloud.com/live/8888_test001?bizid=8888&record_interval=10800&record=flv|hls&txSecret=55c9c38b9d13006b377b3dbecde75f1f&txTime=579acb15"
        );
    }
}
