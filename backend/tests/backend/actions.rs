//! Every V1 Action with its success and error paths.

use serde_json::{Value, json};

use crate::common::*;

async fn start_live(b: &Backend, userid: &str, title: &str) -> Value {
    b.call(json!({"Action":"RequestLVBAddr","userid":userid,"groupid":format!("g_{userid}"),"title":title,
        "userinfo":{"nickname":format!("nick {userid}"),"headpic":"http://h/1.png","frontcover":"http://c/1.png","location":"sh","desc":"hello"}}))
        .await
}

#[tokio::test]
async fn protocol_errors_health_and_envelope() {
    let b = backend(Setup::default()).await;
    // Health probe: a bare GET answers 4001, no database needed.
    let r = reqwest::get(format!("{}/interface.php", b.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"returnValue":4001,"returnMsg":"http post body is empty or invalid json format in post body from client!","returnData":[]}"#
    );
    for bad in ["not json", "{}", "[1]", ""] {
        let (s, body) = b.post_raw("/interface.php", bad.to_string()).await;
        assert_eq!(s, 200);
        assert!(body.starts_with(r#"{"returnValue":4001,"#), "{bad}: {body}");
    }
    let v = b.call(json!({"userid":"u"})).await;
    assert_eq!(v["returnValue"], 1000);
    let v = b.call(json!({"Action":"Nope<script>&\""})).await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | invalid interface name:Nopescript"
    );
    // Oversized body: answered, not read to the end, server keeps serving.
    let (s, body) = b.post_raw("/interface.php", vec![b'x'; 2 << 20]).await;
    assert_eq!(s, 200);
    assert!(body.contains("4001"));
    let (s, _) = b
        .post_raw("/interface.php", r#"{"Action":"GetCOSSign"}"#.to_string())
        .await;
    assert_eq!(s, 200);
    // index redirects to the interface.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/index.php", b.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(r.headers()["location"], "/interface.php");
}

#[tokio::test]
async fn request_lvb_addr_builds_signed_push_url_and_stores_the_live() {
    let b = backend(Setup::default()).await;
    let v = start_live(&b, "anchor-01@x", "it's \"quoted\" 直播").await;
    assert_eq!(v["returnValue"], 0, "{v}");
    assert_eq!(v["returnMsg"], "return successfully!");
    let push = v["returnData"]["pushurl"].as_str().unwrap();
    let ts = v["returnData"]["timestamp"].as_i64().unwrap();
    let stream = "8888_anchor_01_x";
    let tx_time = format!("{:x}", ts + 3 * 3600);
    let secret = minilvb::sign::tx_secret(PUSH_KEY, stream, &tx_time);
    assert_eq!(
        push,
        format!(
            "rtmp://8888.livepush2.myqcloud.com/live/{stream}?bizid=8888&record_interval=10800&record=flv|hls&txSecret={secret}&txTime={tx_time}"
        )
    );
    let row = b.sql("SELECT stream_id, title, status, play_url, hls_play_url, nickname, `desc`, UNIX_TIMESTAMP(create_time) FROM live_data");
    let cols: Vec<&str> = row.split('\t').collect();
    assert_eq!(cols[0], stream);
    assert_eq!(cols[1], "it's \"quoted\" 直播", "title stored as sent");
    assert_eq!(cols[2], "0");
    assert_eq!(
        cols[3],
        format!("http://8888.liveplay.myqcloud.com/live/{stream}.flv")
    );
    assert_eq!(
        cols[4],
        format!("http://8888.liveplay.myqcloud.com/live/{stream}.m3u8")
    );
    assert_eq!(cols[5], "nick anchor-01@x");
    assert_eq!(cols[6], "hello");
    assert_eq!(cols[7], ts.to_string());
    // China time is written: the stored local time is UTC+8 of the timestamp.
    let local =
        b.sql("SET time_zone='+00:00'; SELECT DATE_FORMAT(create_time, '%H') FROM live_data");
    let utc_hour = chrono::DateTime::from_timestamp(ts, 0)
        .unwrap()
        .format("%H")
        .to_string();
    assert_eq!(local, utc_hour);
    // Missing groupid / empty title → 1000 with the checker message.
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":"a","title":"t"}))
        .await;
    assert_eq!(v["returnValue"], 1000);
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | groupid is null or empty!"
    );
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":"a","groupid":"g","title":"   "}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | title is null or empty!"
    );
    // The envelope escapes like PHP json_encode.
    let (_, raw) = b
        .post_raw(
            "/interface.php",
            json!({"Action":"RequestLVBAddr","userid":"z","groupid":"g","title":"t"}).to_string(),
        )
        .await;
    assert!(
        raw.contains(r#""pushurl":"rtmp:\/\/8888.livepush2.myqcloud.com\/live\/8888_z?"#),
        "{raw}"
    );
}

#[tokio::test]
async fn change_status_stop_and_fetch_list_flags() {
    let b = backend(Setup::default()).await;
    for u in ["a1", "a2", "a3"] {
        start_live(&b, u, "t").await;
    }
    let list = |flag: i64| json!({"Action":"FetchList","flag":flag,"pageno":1,"pagesize":20});
    let v = b.call(list(1)).await;
    assert_eq!(v["returnData"]["totalcount"], "0");
    for u in ["a1", "a2"] {
        let v = b
            .call(json!({"Action":"ChangeStatus","userid":u,"status":0}))
            .await;
        assert_eq!(v["returnData"], json!({"result":0}));
    }
    let v = b.call(list(1)).await;
    assert_eq!(v["returnData"]["totalcount"], "2");
    let items = v["returnData"]["pusherlist"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let first = &items[0];
    assert_eq!(first["status"], "1");
    assert_eq!(first["type"], 0);
    assert_eq!(first["fileid"], "");
    assert_eq!(first["forbid_status"], 0);
    assert_eq!(first["desc"], "hello");
    assert!(
        first["userinfo"]["nickname"]
            .as_str()
            .unwrap()
            .starts_with("nick a")
    );
    // Status outside 0/1 → 4002; status -1 → checker range error.
    let v = b
        .call(json!({"Action":"ChangeStatus","userid":"a1","status":2}))
        .await;
    assert_eq!(v["returnValue"], 4002);
    assert_eq!(
        v["returnMsg"],
        "request para error | ChangeStatus::process() fail request para error"
    );
    let v = b
        .call(json!({"Action":"ChangeStatus","userid":"a1","status":-1}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | -1 is not in range [0,+)"
    );
    let v = b
        .call(json!({"Action":"ChangeStatus","userid":"a1","status":"x1"}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | status:x1 is not int!"
    );
    // Went offline / StopLVB.
    b.call(json!({"Action":"ChangeStatus","userid":"a1","status":1}))
        .await;
    let v = b.call(json!({"Action":"StopLVB","userid":"a2"})).await;
    assert_eq!(v["returnData"], json!({"result":0}));
    let v = b.call(list(1)).await;
    assert_eq!(v["returnData"]["totalcount"], "0");
    // flag 4: every live_data row.
    let v = b.call(list(4)).await;
    assert_eq!(v["returnData"]["totalcount"], "3");
    assert_eq!(v["returnData"]["pusherlist"].as_array().unwrap().len(), 3);
    // flag 0 / unknown flag: empty success.
    let v = b.call(list(7)).await;
    assert_eq!(v["returnData"], json!({"totalcount":0,"pusherlist":[]}));
    let v = b
        .call(json!({"Action":"FetchList","flag":1,"pageno":1}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | pagesize is null or empty!"
    );
}

#[tokio::test]
async fn fetch_list_flag3_pages_lives_then_tapes() {
    let b = backend(Setup::default()).await;
    // 12 online lives and 15 replays (newest first), one replay without play_url, one older than 7 days.
    let mut sql = String::new();
    for i in 0..12 {
        sql.push_str(&format!(
            "INSERT INTO live_data (userid, stream_id, status, play_url, hls_play_url, create_time) VALUES ('l{i:02}', '8888_l{i:02}', 1, 'p', 'h', NOW() - INTERVAL {i} MINUTE);"
        ));
    }
    for i in 0..15 {
        sql.push_str(&format!(
            "INSERT INTO tape_data (userid, file_id, play_url, create_time, start_time) VALUES ('t{i:02}', 'f{i:02}', 'http://v/{i}.flv', NOW() - INTERVAL {i} HOUR, NOW() - INTERVAL {i} HOUR);"
        ));
    }
    sql.push_str("INSERT INTO tape_data (userid, file_id, play_url, hls_play_url, create_time, start_time) VALUES ('nourl', 'fx', '', 'h', NOW(), NOW());");
    sql.push_str("INSERT INTO tape_data (userid, file_id, play_url, create_time, start_time) VALUES ('old', 'fo', 'p', NOW() - INTERVAL 8 DAY, NOW() - INTERVAL 8 DAY);");
    b.sql(&sql);
    let page =
        |no: i64, size: i64| json!({"Action":"FetchList","flag":3,"pageno":no,"pagesize":size});
    let ids = |v: &Value| -> Vec<String> {
        v["returnData"]["pusherlist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                format!(
                    "{}{}",
                    i["userid"].as_str().unwrap(),
                    i["fileid"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Page 1 of 10: lives only.
    let v = b.call(page(1, 10)).await;
    // Count: 12 lives + 16 tapes in the window (the play_url filter is not applied to the count).
    assert_eq!(v["returnData"]["totalcount"], 28);
    assert_eq!(
        ids(&v),
        (0..10).map(|i| format!("l{i:02}")).collect::<Vec<_>>()
    );
    // Page 2 of 10 straddles: 2 remaining lives + first 8 tapes.
    let v = b.call(page(2, 10)).await;
    let mut want: Vec<String> = (10..12).map(|i| format!("l{i:02}")).collect();
    want.extend((0..8).map(|i| format!("t{i:02}f{i:02}")));
    assert_eq!(ids(&v), want);
    let tape = &v["returnData"]["pusherlist"][2];
    assert_eq!(tape["type"], 1);
    assert_eq!(tape["status"], Value::Null);
    assert_eq!(tape["groupid"], "");
    // Page 3: tapes with offset 20 - 12 = 8.
    let v = b.call(page(3, 10)).await;
    assert_eq!(
        ids(&v),
        (8..15)
            .map(|i| format!("t{i:02}f{i:02}"))
            .collect::<Vec<_>>()
    );
    // pageno 0 → 1; pagesize 5 (< 10) → 10; pagesize 101 → 10.
    let v = b.call(page(0, 5)).await;
    assert_eq!(ids(&v).len(), 10);
    let v = b.call(page(1, 101)).await;
    assert_eq!(ids(&v).len(), 10);
    // flag 2: replays only, play_url filter applied, count without it.
    let v = b
        .call(json!({"Action":"FetchList","flag":2,"pageno":2,"pagesize":10}))
        .await;
    assert_eq!(v["returnData"]["totalcount"], "16");
    assert_eq!(
        ids(&v),
        (10..15)
            .map(|i| format!("t{i:02}f{i:02}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn counters_groups_user_info_and_report() {
    let b = backend(Setup::default()).await;
    start_live(&b, "anchor", "title").await;
    b.sql("INSERT INTO tape_data (userid, file_id, title, play_url, create_time, start_time, `desc`) VALUES ('anchor', 'vid1', 'old show', 'http://v/1.flv', NOW(), NOW() - INTERVAL 2 MINUTE, 'd');");
    // Likes on the live; -1 never goes below 0.
    let like = |optype: i64, flag: i64| json!({"Action":"ChangeCount","userid":"anchor","type":1,"optype":optype,"flag":flag,"fileid":"vid1"});
    assert_eq!(b.call(like(0, 0)).await["returnValue"], 0);
    assert_eq!(b.call(like(0, 0)).await["returnValue"], 0);
    b.call(like(1, 0)).await;
    assert_eq!(b.sql("SELECT like_count FROM live_data"), "1");
    b.call(like(1, 1)).await;
    assert_eq!(b.sql("SELECT like_count FROM tape_data"), "0");
    b.call(like(0, 1)).await;
    assert_eq!(b.sql("SELECT like_count FROM tape_data"), "1");
    let v = b
        .call(json!({"Action":"ChangeCount","userid":"anchor","type":1,"optype":0,"flag":1}))
        .await;
    assert_eq!(v["returnValue"], 4002, "fileid required for replays");
    let v = b
        .call(json!({"Action":"ChangeCount","userid":"anchor","type":5,"optype":0,"flag":0}))
        .await;
    assert_eq!(v["returnValue"], 4002);
    let v = b
        .call(json!({"Action":"ChangeCount","userid":"anchor","optype":0,"flag":0}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | type is null or empty!"
    );

    // Audience: enter (viewer +1), list, quit (viewer -1).
    for viewer in ["v1", "v2", "v3"] {
        let v = b
            .call(json!({"Action":"EnterGroup","userid":viewer,"liveuserid":"anchor","groupid":"g_anchor","flag":0,"nickname":format!("N{viewer}"),"headpic":"hp"}))
            .await;
        assert_eq!(v["returnData"], json!({"result":0}));
    }
    b.call(json!({"Action":"EnterGroup","userid":"v9","liveuserid":"anchor","groupid":"vid1","flag":1})).await;
    assert_eq!(b.sql("SELECT viewer_count FROM live_data"), "3");
    assert_eq!(b.sql("SELECT viewer_count FROM tape_data"), "1");
    let v = b
        .call(json!({"Action":"FetchGroupMemberList","liveuserid":"anchor","groupid":"g_anchor","pageno":1,"pagesize":20}))
        .await;
    assert_eq!(v["returnData"]["totalcount"], "3");
    assert_eq!(
        v["returnData"]["memberlist"][0],
        json!({"userid":"v1","nickname":"Nv1","headpic":"hp"})
    );
    let v = b.call(json!({"Action":"QuitGroup","userid":"v1","liveuserid":"anchor","groupid":"g_anchor","flag":0})).await;
    assert_eq!(v["returnData"], json!({"result":0}));
    assert_eq!(b.sql("SELECT viewer_count FROM live_data"), "2");
    assert_eq!(
        b.sql("SELECT COUNT(*) FROM group_info WHERE groupid='g_anchor'"),
        "2"
    );
    let v = b.call(json!({"Action":"EnterGroup","userid":"v1","liveuserid":"anchor","groupid":"g","flag":3})).await;
    assert_eq!(v["returnValue"], 4002);
    let v = b
        .call(json!({"Action":"QuitGroup","userid":"v1","groupid":"g","flag":0}))
        .await;
    assert_eq!(v["returnValue"], 1000);
    let v = b.call(json!({"Action":"FetchGroupMemberList","liveuserid":"anchor","groupid":"g_anchor","pageno":-1,"pagesize":20})).await;
    assert_eq!(v["returnValue"], 1000);

    // GetUserInfo of the live and of the replay; missing rows → 2003; bad type → 4002.
    let v = b
        .call(json!({"Action":"GetUserInfo","userid":"anchor","type":0}))
        .await;
    let d = &v["returnData"];
    assert_eq!(d["groupid"], "g_anchor");
    assert_eq!(d["userinfo"]["desc"], "hello");
    assert!(d.get("desc").is_none() && d.get("forbid_status").is_none());
    assert_eq!(d["status"], "0");
    let v = b
        .call(json!({"Action":"GetUserInfo","userid":"anchor","type":1,"fileid":"vid1"}))
        .await;
    assert_eq!(v["returnData"]["title"], "old show");
    assert_eq!(v["returnData"]["fileid"], "vid1");
    assert_eq!(v["returnData"]["type"], 1);
    let v = b
        .call(json!({"Action":"GetUserInfo","userid":"ghost","type":0}))
        .await;
    assert_eq!(v["returnValue"], 2003);
    assert_eq!(
        v["returnMsg"],
        "db operator error | GetUserInfo::process() fail db operator error"
    );
    let v = b
        .call(json!({"Action":"GetUserInfo","userid":"anchor","type":2}))
        .await;
    assert_eq!(v["returnValue"], 4002);

    // ReportUser deletes the anchor's rows and always succeeds.
    let v = b
        .call(json!({"Action":"ReportUser","userid":"anchor","hostuserid":"v2"}))
        .await;
    assert_eq!(
        v,
        json!({"returnValue":0,"returnMsg":"return successfully!","returnData":[]})
    );
    assert_eq!(
        b.sql("SELECT (SELECT COUNT(*) FROM live_data) + (SELECT COUNT(*) FROM tape_data)"),
        "0"
    );
    let v = b
        .call(json!({"Action":"ReportUser","userid":"anchor"}))
        .await;
    assert_eq!(
        v["returnMsg"],
        "invalid param in json from client! | hostuserid is null or empty!"
    );
}

#[tokio::test]
async fn cos_sign_and_link_mic() {
    use base64::Engine as _;
    let b = backend(Setup::default()).await;
    let v = b.call(json!({"Action":"GetCOSSign"})).await;
    let sign = v["returnData"]["sign"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sign)
        .unwrap();
    let plain = String::from_utf8(raw[20..].to_vec()).unwrap();
    let fields: Vec<(&str, &str)> = plain
        .split('&')
        .map(|kv| kv.split_once('=').unwrap())
        .collect();
    let keys: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(keys, ["a", "b", "k", "e", "t", "r", "f"]);
    assert_eq!(fields[0].1, COS_APPID.to_string());
    assert_eq!(fields[1].1, COS_BUCKET);
    assert_eq!(fields[2].1, COS_SECRET_ID);
    let e: i64 = fields[3].1.parse().unwrap();
    let t: i64 = fields[4].1.parse().unwrap();
    assert_eq!(e - t, 30);
    assert_eq!(fields[6].1, "");
    assert_eq!(minilvb::sign::cos_v4_sign(COS_SECRET_KEY, &plain), sign);

    let v = b
        .call(json!({"Action":"RequestLVBAddrForLinkMic","userid":"m-1","title":"mic"}))
        .await;
    let d = &v["returnData"];
    let tx_time = format!("{:x}", d["timestamp"].as_i64().unwrap() + 3 * 3600);
    let stream = format!("8888_m_1_{tx_time}");
    assert_eq!(
        d["playurl"],
        format!("rtmp://8888.liveplay.myqcloud.com/live/{stream}")
    );
    assert!(
        d["pushurl"]
            .as_str()
            .unwrap()
            .contains(&format!("/live/{stream}?bizid=8888&"))
    );
    assert_eq!(
        b.sql("SELECT COUNT(*) FROM live_data"),
        "0",
        "link mic stores nothing"
    );

    let origin = "http://8888.liveplay.myqcloud.com/live/8888_abc.flv";
    let v = b.call(json!({"Action":"RequestPlayUrlWithSignForLinkMic","userid":"m","originStreamUrl":origin})).await;
    let d = &v["returnData"];
    let tx_time = format!("{:x}", d["timestamp"].as_i64().unwrap() + 3 * 3600);
    assert_eq!(
        d["streamUrlWithSignature"],
        format!(
            "{origin}?txSecret={}&txTime={tx_time}&bizid=8888",
            minilvb::sign::tx_secret(PUSH_KEY, "8888_abc", &tx_time)
        )
    );
    let v = b
        .call(json!({"Action":"RequestPlayUrlWithSignForLinkMic","userid":"m"}))
        .await;
    assert_eq!(v["returnValue"], 1000);
}

#[tokio::test]
async fn forbid_live_calls_set_status() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let lvb = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/common_access"))
        .and(query_param("interface", "Live_Channel_SetStatus"))
        .and(query_param("Param.s.channel_id", "8888_anchor"))
        .and(query_param("cmd", APP_ID.to_string()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ret":0,"message":"","output":[]})),
        )
        .mount(&lvb)
        .await;
    let b = backend(Setup {
        webservice_url: format!("{}/common_access", lvb.uri()),
        ..Setup::default()
    })
    .await;
    start_live(&b, "anchor", "t").await;
    let v = b
        .call(json!({"Action":"ForbidLive","userid":"anchor","forbidflag":1}))
        .await;
    assert_eq!(v["returnData"], json!({"result":0}), "{v}");
    assert_eq!(b.sql("SELECT forbid_status FROM live_data"), "1");
    let reqs = lvb.received_requests().await.unwrap();
    let q: std::collections::HashMap<String, String> =
        reqs[0].url.query_pairs().into_owned().collect();
    assert_eq!(q["Param.n.status"], "0");
    assert_eq!(q["sign"], minilvb::sign::api_sign(API_KEY, &q["t"]));
    let v = b
        .call(json!({"Action":"FetchList","flag":4,"pageno":1,"pagesize":10}))
        .await;
    assert_eq!(v["returnData"]["pusherlist"][0]["forbid_status"], 1);
    b.call(json!({"Action":"ForbidLive","userid":"anchor","forbidflag":0}))
        .await;
    let reqs = lvb.received_requests().await.unwrap();
    assert!(reqs[1].url.query().unwrap().contains("Param.n.status=1"));
    // Unknown anchor → 2003; Tencent refusing → 3000 and the column unchanged.
    let v = b
        .call(json!({"Action":"ForbidLive","userid":"ghost","forbidflag":1}))
        .await;
    assert_eq!(v["returnValue"], 2003);
    b.sql("UPDATE live_data SET stream_id='8888_other'");
    let v = b
        .call(json!({"Action":"ForbidLive","userid":"anchor","forbidflag":1}))
        .await;
    assert_eq!(v["returnValue"], 3000);
    assert_eq!(
        v["returnMsg"],
        " | ForbidLive::process() fail Live_Channel_SetStatus"
    );
    assert_eq!(b.sql("SELECT forbid_status FROM live_data"), "0");
}

#[tokio::test]
async fn database_down_answers_500_and_logs_the_server_message() {
    let b = backend(Setup {
        passwd: "wrong".into(),
        log_dir: true,
        ..Setup::default()
    })
    .await;
    let (s, body) = b
        .post_raw(
            "/interface.php",
            json!({"Action":"FetchList","flag":1,"pageno":1,"pagesize":20}).to_string(),
        )
        .await;
    assert_eq!((s, body.as_str()), (500, ""));
    // GetCOSSign needs no database.
    let v = b.call(json!({"Action":"GetCOSSign"})).await;
    assert_eq!(v["returnValue"], 0);
    // Validation happens before the connect: still a 1000 envelope.
    let v = b.call(json!({"Action":"StopLVB"})).await;
    assert_eq!(v["returnValue"], 1000);
    let (s, body) = b
        .callback(signed(
            json!({"event_type":1,"stream_id":"8888_a","channel_id":"8888_a"}),
            API_KEY,
        ))
        .await;
    assert_eq!((s, body.as_str()), (500, ""));
    let err = std::fs::read_to_string(b.log_path("mysql_error").expect("mysql_error log")).unwrap();
    let line = err.lines().next().unwrap();
    let date = chrono::Utc::now()
        .with_timezone(&minilvb::log::china())
        .format("%Y%m%d")
        .to_string();
    assert!(b.log_path(&format!("mysql_error{date}.log")).is_some());
    assert!(b.log_path(&format!("mysql_debug{date}.log")).is_some());
    assert!(
        line.ends_with("][][appid:][[simple_mysql_session.class.php][__construct][27][ERROR][0] mysqli_connect failed, error:Access denied for user 'live_user'@'127.0.0.1' (using password: YES)]"),
        "{line}"
    );
    let re_prefix = line.starts_with('[') && line.as_bytes()[20] == b']';
    assert!(re_prefix, "{line}");
    // The callback line carries no key info.
    let second = err.lines().nth(1).unwrap();
    assert!(
        second.contains("][][[simple_mysql_session.class.php]"),
        "{second}"
    );
    // Request and response lines of the interface logger.
    let info = std::fs::read_to_string(b.log_path("interface_info").unwrap()).unwrap();
    assert!(info.contains("request:{\"Action\":\"GetCOSSign\"}"));
    assert!(info.contains("GetCOSSign::process() succeed"));
}

#[tokio::test]
async fn no_log_directory_means_no_log_files() {
    let b = backend(Setup {
        passwd: "wrong".into(),
        ..Setup::default()
    })
    .await;
    let (s, _) = b
        .post_raw(
            "/interface.php",
            json!({"Action":"StopLVB","userid":"u"}).to_string(),
        )
        .await;
    assert_eq!(s, 500);
    assert!(!b.root.path().join("log").exists());
}
