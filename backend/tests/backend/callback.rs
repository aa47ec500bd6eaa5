//! `/callback/Live_callback.php`: sign check, status events, replay storage rules.

use serde_json::json;

use crate::common::*;

async fn live(b: &Backend, userid: &str) {
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":userid,"groupid":"g","title":"My show","userinfo":{"nickname":"Nick","frontcover":"http://c"}}))
        .await;
    assert_eq!(v["returnValue"], 0);
}

fn recording(stream: &str, vid: &str, start: i64, end: i64, format: &str) -> serde_json::Value {
    json!({"event_type":100,"stream_id":stream,"channel_id":stream,"video_id":vid,
        "video_url":format!("http://200011683.vod2.myqcloud.com/{vid}/f0.{format}"),
        "file_size":1234,"start_time":start,"end_time":end,"file_id":"9031868222958931071",
        "file_format":format,"duration":end - start,"stream_param":"bizid=8888","appid":1252033264})
}

#[tokio::test]
async fn malformed_and_unsigned_callbacks() {
    let b = backend(Setup::default()).await;
    live(&b, "anchor").await;
    assert_eq!(
        b.post_raw("/callback/Live_callback.php", "nope").await,
        (200, r#"{"code":4001}"#.into())
    );
    assert_eq!(
        b.post_raw("/callback/Live_callback.php", "{}").await,
        (200, r#"{"code":4001}"#.into())
    );
    let (_, body) = b
        .callback(json!({"event_type":1,"stream_id":"8888_anchor","t":1}))
        .await;
    assert_eq!(body, r#"{"code":4002}"#);
    // Bad sign: 4004, nothing stored.
    let (s, body) = b
        .callback(signed(
            json!({"event_type":1,"stream_id":"8888_anchor"}),
            "wrongkey",
        ))
        .await;
    assert_eq!((s, body.as_str()), (200, r#"{"code":4004}"#));
    let now = chrono::Utc::now().timestamp();
    let (_, body) = b
        .callback(signed(
            recording("8888_anchor", "v1", now - 200, now, "flv"),
            "wrongkey",
        ))
        .await;
    assert_eq!(body, r#"{"code":4004}"#);
    assert_eq!(b.sql("SELECT status FROM live_data"), "0");
    assert_eq!(b.sql("SELECT COUNT(*) FROM tape_data"), "0");
    // Event 100 without its fields → 4002.
    let (_, body) = b
        .callback(signed(
            json!({"event_type":100,"stream_id":"8888_anchor"}),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":4002}"#);
    // The sign is over t exactly as sent, and t is not checked for expiry (a past t still works; string t ok).
    let t = "1471850187";
    let body_json = json!({"event_type":1,"stream_id":"8888_anchor","t":t,"sign":minilvb::sign::api_sign(API_KEY, t)});
    assert_eq!(b.callback(body_json).await.1, r#"{"code":0}"#);
    assert_eq!(b.sql("SELECT status FROM live_data"), "1");
}

#[tokio::test]
async fn stream_start_and_end_events_drive_the_online_list() {
    let b = backend(Setup::default()).await;
    live(&b, "anchor").await;
    let ev = |t: i64| {
        signed(
            json!({"event_type":t,"stream_id":"8888_anchor","channel_id":"8888_anchor","app":"8888.livepush.myqcloud.com","appname":"live","event_time":1,"sequence":"s1"}),
            API_KEY,
        )
    };
    assert_eq!(b.callback(ev(1)).await, (200, r#"{"code":0}"#.into()));
    let v = b
        .call(json!({"Action":"FetchList","flag":1,"pageno":1,"pagesize":20}))
        .await;
    assert_eq!(v["returnData"]["totalcount"], "1");
    assert_eq!(v["returnData"]["pusherlist"][0]["userid"], "anchor");
    assert_eq!(b.callback(ev(0)).await.1, r#"{"code":0}"#);
    let v = b
        .call(json!({"Action":"FetchList","flag":1,"pageno":1,"pagesize":20}))
        .await;
    assert_eq!(v["returnData"]["totalcount"], "0");
    // Screenshot events are accepted and ignored.
    let (_, body) = b
        .callback(signed(
            json!({"event_type":200,"stream_id":"8888_anchor","pic_url":"/x.jpg"}),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":0}"#);
}

#[tokio::test]
async fn recordings_are_stored_merged_and_filtered() {
    let b = backend(Setup::default()).await;
    live(&b, "anchor").await;
    let now = chrono::Utc::now().timestamp();
    // 30 s: ignored.
    let (_, body) = b
        .callback(signed(
            recording("8888_anchor", "short", now - 30, now, "flv"),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":0}"#);
    // Exactly 60 s: still ignored (must be longer than 60 s); the duration field is not used.
    let mut sixty = recording("8888_anchor", "sixty", now - 60, now, "flv");
    sixty["duration"] = json!(600);
    b.callback(signed(sixty, API_KEY)).await;
    assert_eq!(b.sql("SELECT COUNT(*) FROM tape_data"), "0");
    // 90 s flv then its hls twin: one replay with both URLs, file_id = video_id.
    let (_, body) = b
        .callback(signed(
            recording("8888_anchor", "vid_flv", now - 90, now, "flv"),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":0}"#);
    let (_, body) = b
        .callback(signed(
            recording("8888_anchor", "vid_hls", now - 89, now + 1, "hls"),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":0}"#);
    let row = b.sql("SELECT file_id, title, nickname, frontcover, play_url, hls_play_url, UNIX_TIMESTAMP(start_time), UNIX_TIMESTAMP(create_time) FROM tape_data");
    let cols: Vec<&str> = row.split('\t').collect();
    assert_eq!(cols[0], "vid_flv");
    assert_eq!(&cols[1..4], ["My show", "Nick", "http://c"]);
    assert_eq!(cols[4], "http://200011683.vod2.myqcloud.com/vid_flv/f0.flv");
    assert_eq!(cols[5], "http://200011683.vod2.myqcloud.com/vid_hls/f0.hls");
    assert_eq!(cols[6], (now - 90).to_string());
    assert_eq!(cols[7], now.to_string());
    // China time on disk.
    let local = b.sql("SET time_zone='+00:00'; SELECT UNIX_TIMESTAMP(create_time) FROM tape_data");
    assert_eq!(local, now.to_string());
    // The replay is listed (flag 2) with its URLs.
    let v = b
        .call(json!({"Action":"FetchList","flag":2,"pageno":1,"pagesize":20}))
        .await;
    let item = &v["returnData"]["pusherlist"][0];
    assert_eq!(item["fileid"], "vid_flv");
    assert_eq!(
        item["playurl"],
        "http://200011683.vod2.myqcloud.com/vid_flv/f0.flv"
    );
    assert_eq!(item["timestamp"], now);
    // A later, separate recording makes a second replay.
    let (_, body) = b
        .callback(signed(
            recording("8888_anchor", "vid2", now + 100, now + 300, "mp4"),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":0}"#);
    assert_eq!(b.sql("SELECT COUNT(*) FROM tape_data"), "2");
    assert_eq!(b.sql("SELECT hls_play_url IS NOT NULL AND play_url IS NULL FROM tape_data WHERE file_id='vid2'"), "1");
    // Unknown stream → 2003 (Tencent retries).
    let (_, body) = b
        .callback(signed(
            recording("8888_ghost", "g", now - 200, now, "flv"),
            API_KEY,
        ))
        .await;
    assert_eq!(body, r#"{"code":2003}"#);
    // String start/end times are accepted; non-numeric → 4002.
    let mut r = recording("8888_anchor", "v3", 0, 0, "flv");
    r["start_time"] = json!("abc");
    r["end_time"] = json!(now);
    assert_eq!(b.callback(signed(r, API_KEY)).await.1, r#"{"code":4002}"#);
}
