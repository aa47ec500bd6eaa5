//! `check-online`: the original's per-minute cron (`callback/Check_online_status.php`). For every stream the
//! database thinks is online it asks LVB `Live_Channel_GetStatus`; a stream that is not live on three
//! consecutive checks is taken off the online list.
//!
//! Kept quirk: a healthy check does not reset the miss counter (`check_status`), as in the original; it
//! is reset when the anchor starts again (RequestLVBAddr replaces the row).

use mysql_async::Row;
use mysql_async::prelude::*;
use serde_json::Value;

use crate::app::App;
use crate::log::{Level, Logger, Site};
use crate::rows;
use crate::webservice;

/// LVB's answer for a stream that was never pushed; treated as "not live".
pub const RET_NEVER_PUSHED: i64 = 20601;

/// What one run did, for the caller and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Streams checked.
    pub checked: usize,
    /// Streams whose miss counter went up.
    pub missed: Vec<String>,
    /// Streams taken offline.
    pub taken_offline: Vec<String>,
    /// Streams whose status could not be read (network error, unexpected reply).
    pub errors: Vec<String>,
}

/// Errors that stop the run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("mysqli_connect failed, error:{0}")]
    Connect(String),
    #[error("query failed, error:{0}")]
    Query(String),
}

const SITE: Site = Site {
    file: "Check_online_status.php",
    function: "main",
    line: 0,
};

/// The live status LVB reports for a stream: `Some(status)` (0 interrupted, 1 live, 3 closed) or `None`.
pub fn channel_status(reply: &Value) -> Option<i64> {
    match webservice::ret_code(reply)? {
        RET_NEVER_PUSHED => Some(0),
        0 => reply
            .get("output")?
            .as_array()?
            .iter()
            .find(|o| o.get("recv_type").and_then(Value::as_i64) == Some(1))?
            .get("status")?
            .as_i64(),
        _ => None,
    }
}

/// Runs one check of every online stream.
pub async fn run(app: &App) -> Result<CheckReport, CheckError> {
    let ctx = app.log.context();
    let Some(mut c) = app.connect(&ctx).await else {
        let message = match crate::db::connect(&app.pool).await {
            Err(m) => m,
            Ok(_) => "connection lost".to_string(),
        };
        return Err(CheckError::Connect(message));
    };
    let q = |e: mysql_async::Error| CheckError::Query(crate::db::connect_error_text(&e));
    let streams: Vec<Row> = c
        .exec(
            "SELECT stream_id FROM live_data WHERE status = 1 ORDER BY stream_id",
            (),
        )
        .await
        .map_err(q)?;
    let mut report = CheckReport::default();
    for row in &streams {
        let Some(stream) = rows::text(row, 0) else {
            continue;
        };
        report.checked += 1;
        let reply = webservice::call(
            &app.http,
            &app.config,
            "Live_Channel_GetStatus",
            &[("Param.s.channel_id", stream.clone())],
            app.now(),
        )
        .await;
        let status = match &reply {
            Ok(v) => channel_status(v),
            Err(_) => None,
        };
        let Some(status) = status else {
            let why = match reply {
                Ok(v) => format!("Live_Channel_GetStatus {stream} answered {v}"),
                Err(e) => e,
            };
            app.log
                .write(&ctx, Logger::Component, Level::Error, SITE, 0, &why);
            report.errors.push(stream);
            continue;
        };
        app.log.write(
            &ctx,
            Logger::Component,
            Level::Info,
            SITE,
            0,
            &format!("stream:{stream} status:{status}"),
        );
        if status == 1 {
            continue;
        }
        let misses: Option<Row> = c
            .exec_first(
                "SELECT check_status FROM live_data WHERE stream_id = ?",
                (&stream,),
            )
            .await
            .map_err(q)?;
        let misses = misses.map(|r| rows::int(&r, 0)).unwrap_or(0);
        if misses >= 2 {
            c.exec_drop(
                "UPDATE live_data SET status = 0, check_status = 0 WHERE stream_id = ?",
                (&stream,),
            )
            .await
            .map_err(q)?;
            report.taken_offline.push(stream);
        } else {
            c.exec_drop(
                "UPDATE live_data SET check_status = check_status + 1 WHERE stream_id = ?",
                (&stream,),
            )
            .await
            .map_err(q)?;
            report.missed.push(stream);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_from_reply() {
        assert_eq!(channel_status(&json!({"ret":20601,"message":"x"})), Some(0));
        let live = json!({"ret":0,"output":[{"rate_type":0,"recv_type":2,"status":0},{"rate_type":0,"recv_type":1,"status":1}]});
        assert_eq!(channel_status(&live), Some(1));
        assert_eq!(channel_status(&json!({"ret":0,"output":[]})), None);
        assert_eq!(channel_status(&json!({"ret":-1})), None);
    }
}
