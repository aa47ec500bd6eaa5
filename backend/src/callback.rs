//! `POST /callback/Live_callback.php`: LVB event notifications. Rules of the original V1 handler:
//! not JSON (or `{}`) → 4001; missing `t`/`sign`/`event_type`/`stream_id` → 4002; sign = md5 of CALL_BACK_KEY
//! followed by t, over `t` exactly as received, no expiry check; event 100 needs `video_id`, `video_url`,
//! `start_time`, `end_time`, `file_format`; event 0/1 set the live status by stream id; event 100 stores a
//! replay when it is longer than 60 s; everything else answers 0. Replies are always HTTP 200 `{"code":N}`
//! except when the database cannot be reached (HTTP 500, empty body, as the PHP fatal error).

use mysql_async::Row;
use mysql_async::prelude::*;
use serde_json::{Map, Value};

use crate::app::App;
use crate::log::{Level, LogContext, Logger, Site};
use crate::rows;

pub const CODE_OK: i64 = 0;
pub const CODE_INVALID_JSON: i64 = 4001;
pub const CODE_INVALID_PARA: i64 = 4002;
/// Bad sign. The original returns an undefined constant (`EC_SYSTEM_INVALID_SIGN`), which PHP turns into
/// `{"code":0}` or a crash. We answer 4004, the next free code of the 400x system series, so the cloud's
/// journal shows the rejection, and store nothing.
pub const CODE_INVALID_SIGN: i64 = 4004;
pub const CODE_DB_ERROR: i64 = 2003;
/// Recordings of this many seconds or less are ignored (`TAPE_DURATION_TIME`).
pub const TAPE_DURATION_TIME: i64 = 60;

/// What the HTTP layer sends back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    Code(i64),
    DbDown,
}

const SITE: Site = Site {
    file: "Live_callback.php",
    function: "process",
    line: 0,
};

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn int_of(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Handles one callback body.
pub async fn handle(app: &App, raw: &[u8]) -> CallbackOutcome {
    let ctx = app.log.context();
    app.log.write(
        &ctx,
        Logger::Component,
        Level::Info,
        SITE,
        0,
        &format!("callback request:{}", crate::log::body_excerpt(raw)),
    );
    let outcome = process(app, raw, &ctx).await;
    let text = match outcome {
        CallbackOutcome::Code(c) => format!("callback response:{{\"code\":{c}}}"),
        CallbackOutcome::DbDown => "callback response: HTTP 500".to_string(),
    };
    app.log
        .write(&ctx, Logger::Component, Level::Info, SITE, 0, &text);
    outcome
}

async fn process(app: &App, raw: &[u8], ctx: &LogContext) -> CallbackOutcome {
    let body: Map<String, Value> = match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(m)) if !m.is_empty() => m,
        _ => return CallbackOutcome::Code(CODE_INVALID_JSON),
    };
    let field = |k: &str| body.get(k).and_then(text_of).filter(|s| !s.is_empty());
    let (Some(t), Some(sign), Some(event_type), Some(stream_id)) = (
        field("t"),
        field("sign"),
        int_of(body.get("event_type")),
        field("stream_id"),
    ) else {
        return CallbackOutcome::Code(CODE_INVALID_PARA);
    };
    if crate::sign::api_sign(&app.config.out.call_back_key, &t) != sign {
        app.log.write(
            ctx,
            Logger::Component,
            Level::Error,
            SITE,
            0,
            &format!("check sign failed, t:{t} sign:{sign}"),
        );
        return CallbackOutcome::Code(CODE_INVALID_SIGN);
    }
    let recording = if event_type == 100 {
        let (Some(video_id), Some(video_url), Some(start), Some(end), Some(format)) = (
            field("video_id"),
            field("video_url"),
            int_of(body.get("start_time")),
            int_of(body.get("end_time")),
            field("file_format"),
        ) else {
            return CallbackOutcome::Code(CODE_INVALID_PARA);
        };
        Some((video_id, video_url, start, end, format))
    } else {
        None
    };
    let Some(mut c) = app.connect(ctx).await else {
        return CallbackOutcome::DbDown;
    };
    let result = match (event_type, recording) {
        (0 | 1, _) => c
            .exec_drop(
                "UPDATE live_data SET status = ? WHERE stream_id = ?",
                (event_type, &stream_id),
            )
            .await
            .map(|_| CODE_OK),
        (100, Some((video_id, video_url, start, end, format))) => {
            if end - start <= TAPE_DURATION_TIME {
                app.log.write(
                    ctx,
                    Logger::Component,
                    Level::Info,
                    SITE,
                    0,
                    &format!(
                        "tape duration too short: {}s, stream:{stream_id}",
                        end - start
                    ),
                );
                Ok(CODE_OK)
            } else {
                store_recording(
                    &mut c, &stream_id, &video_id, &video_url, start, end, &format,
                )
                .await
            }
        }
        _ => Ok(CODE_OK),
    };
    match result {
        Ok(code) => CallbackOutcome::Code(code),
        Err(e) => {
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
            CallbackOutcome::Code(CODE_DB_ERROR)
        }
    }
}

/// Stores one recording file: merged into the one replay of the same anchor whose time span overlaps it,
/// otherwise a new replay row with `file_id` = the callback's `video_id`. `flv` fills `play_url`, any other
/// format `hls_play_url`, so the flv and hls files of one recording make one replay.
async fn store_recording(
    c: &mut mysql_async::Conn,
    stream_id: &str,
    video_id: &str,
    video_url: &str,
    start: i64,
    end: i64,
    format: &str,
) -> Result<i64, mysql_async::Error> {
    let lives: Vec<Row> = c
        .exec(
            "SELECT userid, title, nickname, headpic, frontcover, location, `desc` FROM live_data WHERE stream_id = ?",
            (stream_id,),
        )
        .await?;
    let [live] = lives.as_slice() else {
        return Ok(CODE_DB_ERROR);
    };
    let userid = rows::text(live, 0).unwrap_or_default();
    let column = if format == "flv" {
        "play_url"
    } else {
        "hls_play_url"
    };
    let overlapping: Vec<Row> = c
        .exec(
            "SELECT file_id FROM tape_data WHERE userid = ? \
             AND start_time <= FROM_UNIXTIME(?) AND create_time >= FROM_UNIXTIME(?)",
            (&userid, end, start),
        )
        .await?;
    if let [one] = overlapping.as_slice() {
        let file_id = rows::text(one, 0).unwrap_or_default();
        c.exec_drop(
            format!("UPDATE tape_data SET {column} = ? WHERE userid = ? AND file_id = ?"),
            (video_url, &userid, &file_id),
        )
        .await?;
        return Ok(CODE_OK);
    }
    c.exec_drop(
        format!(
            "INSERT INTO tape_data (userid, file_id, title, nickname, headpic, frontcover, location, `desc`, \
             start_time, create_time, {column}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), FROM_UNIXTIME(?), ?)"
        ),
        (
            &userid,
            video_id,
            rows::text(live, 1),
            rows::text(live, 2),
            rows::text(live, 3),
            rows::text(live, 4),
            rows::text(live, 5),
            rows::text(live, 6),
            start,
            end,
            video_url,
        ),
    )
    .await?;
    Ok(CODE_OK)
}
