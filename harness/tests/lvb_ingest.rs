//! The RTMP ingest with our own publisher: accepted pushes, every refusal, callbacks, recordings, relay,
//! `Live_Channel_SetStatus` cutting a push, and bad bytes on the wire.

mod lvb_support;

use std::time::Duration;

use lvb_support::*;
use serde_json::Value;
use tcharness::cloud::lvb::callback::api_sign;
use tcharness::cloud::lvb::publisher::{Publisher, PushError};
use tcharness::cloud::lvb::recording::validate_flv;
use tcharness::cloud::{Cloud, Service};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(5);

async fn ok_receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/callback/Live_callback.php"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":0}"#))
        .mount(&server)
        .await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("callback body is JSON"))
        .collect()
}

fn ingest_outcomes(cloud: &Cloud) -> Vec<String> {
    cloud
        .ctx
        .journal
        .of(Service::LvbIngest)
        .into_iter()
        .map(|e| e.outcome)
        .collect()
}

#[tokio::test]
async fn a_push_sends_start_end_and_one_recording_per_format() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    let (url, stream) = backend_push_url(&cloud, "anchor01", 3 * 3600);
    let mut publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push accepted");
    assert!(cloud.services.lvb.is_live(&stream));
    publisher.send_synthetic(0, 50, 2000).await.expect("media");
    // The scenario clock moves 90 s while the push runs: the recording is 90 s long.
    cloud.ctx.clock.advance(90);
    publisher.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    assert!(cloud.services.lvb.callbacks_idle(WAIT).await);

    let events = bodies(&receiver).await;
    let types: Vec<i64> = events
        .iter()
        .map(|e| e["event_type"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(types, vec![1, 0, 100, 100]);
    let api_key = cloud.ctx.tenant().lvb.api_key;
    for e in &events {
        let t = e["t"].as_i64().expect("t is a number");
        assert_eq!(e["sign"], api_sign(&api_key, t));
        assert_eq!(e["stream_id"], stream.as_str());
        assert_eq!(e["channel_id"], stream.as_str());
    }
    let start = &events[0];
    // §8.3: a start's errmsg is "OK"; events 0/1 carry no appid.
    assert_eq!(start["errmsg"], "OK");
    assert!(start.get("appid").is_none(), "{start}");
    assert!(events[1].get("appid").is_none(), "{}", events[1]);
    assert_eq!(start["app"], "8888.livepush2.myqcloud.com");
    assert_eq!(start["appname"], "live");
    assert_eq!(start["user_ip"], "127.0.0.1");
    assert!(
        start["stream_param"]
            .as_str()
            .unwrap_or("")
            .contains("record=flv|hls")
    );
    let end = &events[1];
    assert_eq!(end["sequence"], start["sequence"]);
    assert_eq!(end["errcode"], 1);
    assert_eq!(end["errmsg"], "recv rtmp deleteStream");
    assert!(end["push_duration"].as_str().is_some());
    let formats: Vec<&str> = events[2..]
        .iter()
        .map(|e| e["file_format"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(formats, vec!["flv", "hls"]);
    for rec in &events[2..] {
        for field in [
            "video_id",
            "video_url",
            "file_id",
            "record_file_id",
            "stream_param",
        ] {
            assert!(
                rec[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field} in {rec}"
            );
        }
        let duration =
            rec["end_time"].as_i64().unwrap_or(0) - rec["start_time"].as_i64().unwrap_or(0);
        assert!((90..=92).contains(&duration), "duration {duration}");
        assert_eq!(rec["duration"].as_i64(), Some(duration));
        assert_eq!(rec["vod2Flag"], 1);
        // §8.3: http://{APPID}.vod2.myqcloud.com/{8 hex}vodgzp{APPID}/{8 hex}{file_id}/f0.flv
        let appid = cloud.ctx.tenant().lvb.appid;
        let url = rec["video_url"].as_str().unwrap_or("");
        let rest = url
            .strip_prefix(&format!("http://{appid}.vod2.myqcloud.com/"))
            .unwrap_or_else(|| panic!("host of {url}"));
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 3, "{url}");
        let is_hex8 = |s: &str| s.len() >= 8 && s[..8].bytes().all(|b| b.is_ascii_hexdigit());
        assert!(is_hex8(parts[0]), "{url}");
        assert_eq!(&parts[0][8..], format!("vodgzp{appid}"), "{url}");
        assert!(is_hex8(parts[1]), "{url}");
        assert_eq!(
            &parts[1][8..],
            rec["file_id"].as_str().unwrap_or(""),
            "{url}"
        );
        let file = if rec["file_format"] == "hls" {
            "playlist.m3u8"
        } else {
            "f0.flv"
        };
        assert_eq!(parts[2], file, "{url}");
    }

    // The flv recording downloads and is a valid FLV holding the pushed frames.
    let flv_url = events[2]["video_url"].as_str().expect("url");
    let (status, bytes) = http_get(&cloud, flv_url).await;
    assert_eq!(status, 200);
    assert_eq!(events[2]["file_size"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(validate_flv(&bytes), Ok(51));
    // The hls recording is a playlist whose segment downloads too.
    let hls_url = events[3]["video_url"].as_str().expect("url");
    let (status, playlist) = http_get(&cloud, hls_url).await;
    assert_eq!(status, 200);
    let playlist = String::from_utf8(playlist).expect("text");
    assert!(playlist.starts_with("#EXTM3U"));
    let segment = playlist
        .lines()
        .find(|l| !l.starts_with('#'))
        .expect("segment");
    let base = hls_url.rsplit_once('/').expect("dir").0;
    let (status, seg) = http_get(&cloud, &format!("{base}/{segment}")).await;
    assert_eq!((status, seg.len()), (200, bytes.len()));

    assert_eq!(ingest_outcomes(&cloud)[0], "accepted");
    assert!(ingest_outcomes(&cloud)[1].starts_with("ended: recv rtmp deleteStream (errcode 1)"));
}

async fn refused(cloud: &Cloud, url: &str) -> String {
    let before = cloud.ctx.journal.of(Service::LvbIngest).len();
    let err = Publisher::publish(cloud.rtmp_addr(), url, WAIT)
        .await
        .err()
        .expect("push refused");
    assert!(matches!(err, PushError::ServerDisconnected), "{err}");
    assert_eq!(err.to_string(), "RTMP server actively disconnects");
    cloud.ctx.journal.of(Service::LvbIngest)[before]
        .outcome
        .clone()
}

#[tokio::test]
async fn every_refusal_closes_the_push_with_its_reason() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    let (good, stream) = console_push_url(&cloud, "anchor02");

    let wrong_bizid = good.replace("rtmp://8888.", "rtmp://9999.");
    assert_eq!(
        refused(&cloud, &wrong_bizid).await,
        "refused: unknown bizid"
    );

    let bad_secret = good.replace("txSecret=", "txSecret=0");
    assert_eq!(refused(&cloud, &bad_secret).await, "refused: bad txSecret");

    let (expired, _) = backend_push_url(&cloud, "anchor02", -10);
    assert_eq!(refused(&cloud, &expired).await, "refused: txTime expired");

    cloud.services.lvb.set_disabled(&stream, true);
    assert_eq!(refused(&cloud, &good).await, "refused: stream disabled");
    cloud.services.lvb.set_disabled(&stream, false);

    let first = Publisher::publish(cloud.rtmp_addr(), &good, WAIT)
        .await
        .expect("first push");
    assert_eq!(
        refused(&cloud, &good).await,
        "refused: stream already publishing"
    );
    assert!(
        cloud.services.lvb.is_live(&stream),
        "the first push goes on"
    );
    first.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    assert!(cloud.services.lvb.callbacks_idle(WAIT).await);

    // The account hears of refusals of its own URLs (errcode 18), not of other accounts' or duplicates.
    let events = bodies(&receiver).await;
    let refusals: Vec<&Value> = events.iter().filter(|e| e["errcode"] == 18).collect();
    assert_eq!(refusals.len(), 3, "{events:?}");
    assert!(
        refusals
            .iter()
            .all(|e| e["errmsg"] == "push url maybe invalid" && e["event_type"] == 0)
    );
}

#[tokio::test]
async fn set_status_cuts_a_running_push_and_the_relay_serves_it_while_live() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    let (url, stream) = console_push_url(&cloud, "anchor03");
    let mut publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    publisher.send_synthetic(0, 5, 500).await.expect("media");

    // Relay: the player gets the FLV header and the sequence header first.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut play = client
        .get(format!("http://{}/live/{stream}.flv", cloud.http_addr()))
        .header("Host", "8888.liveplay.myqcloud.com")
        .send()
        .await
        .expect("play");
    assert_eq!(play.status().as_u16(), 200);
    publisher.send_synthetic(200, 5, 500).await.expect("media");
    let mut got = Vec::new();
    while got.len() < 13 + 16 + 15 + 500 + 15 {
        match tokio::time::timeout(WAIT, play.chunk()).await {
            Ok(Ok(Some(chunk))) => got.extend_from_slice(&chunk),
            other => panic!("relay stopped early: {other:?}"),
        }
    }
    assert_eq!(&got[..3], b"FLV");
    assert_eq!(got[13], 9, "first tag is video");
    assert_eq!(got[13 + 11 + 1], 0, "the AVC sequence header comes first");

    let t = cloud.ctx.clock.now() + 60;
    let tenant = cloud.ctx.tenant();
    let query = format!(
        "cmd={}&interface=Live_Channel_SetStatus&Param.s.channel_id={stream}&Param.n.status=0&t={t}&sign={}",
        tenant.lvb.appid,
        api_sign(&tenant.lvb.api_key, t)
    );
    let (status, body) = http_get(
        &cloud,
        &format!("http://fcgi.video.qcloud.com/common_access?{query}"),
    )
    .await;
    assert_eq!(status, 200);
    let reply: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(reply["ret"], 0);
    assert!(publisher.closed_by_server(WAIT).await, "the push is cut");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    let (status, _) = http_get(
        &cloud,
        &format!("http://8888.liveplay.myqcloud.com/live/{stream}.flv"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        ingest_outcomes(&cloud)
            .iter()
            .any(|o| o.starts_with("ended: cut: stream disabled"))
    );
}

#[tokio::test]
async fn a_dropped_connection_ends_with_errcode_3() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    let (url, stream) = console_push_url(&cloud, "anchor04");
    let mut publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    publisher.send_synthetic(0, 3, 100).await.expect("media");
    publisher.drop_connection();
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    assert!(cloud.services.lvb.callbacks_idle(WAIT).await);
    let events = bodies(&receiver).await;
    assert_eq!(events[1]["errcode"], 3);
    assert_eq!(events[1]["errmsg"], "recv() return 0");
}

#[tokio::test]
async fn garbage_closes_that_connection_only() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    cloud
        .services
        .lvb
        .set_rtmp_idle_timeout(Duration::from_millis(1500));
    let (url, stream) = console_push_url(&cloud, "anchor05");
    let mut healthy = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");

    assert!(send_raw(&cloud, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await);
    // Set chunk size 2 MiB, then one video message of 1 MiB + 16 bytes in a single chunk: over the 1 MiB rule.
    let mut big = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0x20, 0, 0];
    let len: u32 = 1024 * 1024 + 16;
    big.extend_from_slice(&[
        0x06,
        0,
        0,
        0,
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0x09,
        1,
        0,
        0,
        0,
    ]);
    big.extend(std::iter::repeat_n(0x17u8, len as usize));
    assert!(send_raw(&cloud, &handshake_then(&big)).await);
    // Set chunk size 0.
    assert!(
        send_raw(
            &cloud,
            &handshake_then(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        )
        .await
    );
    // A command message whose AMF0 is garbage.
    assert!(
        send_raw(
            &cloud,
            &handshake_then(&[
                0x03, 0, 0, 0, 0, 0, 4, 0x14, 0, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc
            ])
        )
        .await
    );
    // Random bytes after a good handshake, many times (a light fuzz of the chunk and AMF parsers).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let len = (seed % 600) as usize + 1;
        let mut junk = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(seed as u8);
        }
        let mut session = tcharness::cloud::lvb::session::Session::new();
        let _ = session.feed(&junk);
        let _ = session.feed(&junk);
    }
    // The good push is unaffected (it sent nothing meanwhile, but less than the idle timeout).
    healthy
        .send_synthetic(0, 5, 100)
        .await
        .expect("media still flows");
    assert!(cloud.services.lvb.is_live(&stream));
    healthy.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    // A handshake that stops halfway is dropped by the idle timeout.
    assert!(send_raw(&cloud, &[3u8; 100]).await);
    let outcomes = ingest_outcomes(&cloud);
    assert!(
        outcomes.iter().any(|o| o == "closed: bad handshake"),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o == "closed: bad chunk size 0"),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o.starts_with("closed: malformed RTMP")),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| o == "closed: rtmp message large than 1M"),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o == "closed: client stalled"),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_message_over_one_mib_ends_the_push_with_errcode_7() {
    let receiver = ok_receiver().await;
    let cloud = cloud_with_callback(&receiver.uri()).await;
    let (url, stream) = console_push_url(&cloud, "anchor06");
    let mut publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    let _ = publisher.send_synthetic(0, 1, 1024 * 1024 + 10).await;
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    assert!(cloud.services.lvb.callbacks_idle(WAIT).await);
    let events = bodies(&receiver).await;
    assert_eq!(events[1]["errcode"], 7);
    assert_eq!(events[1]["errmsg"], "rtmp message large than 1M");
}

#[tokio::test]
async fn stopping_the_cloud_ends_a_live_push_with_its_events_and_a_complete_recording() {
    let mut tenant = tcharness::cloud::Tenant::healthy();
    tenant.lvb.callback_url = String::new();
    let ctx = tcharness::cloud::CloudContext::new(tenant, fast_options());
    let services = tcharness::cloud::Services::new(ctx.clone());
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rtmp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let rtmp_addr = rtmp.local_addr().expect("addr");
    let (trigger, shutdown) = tcharness::cloud::Shutdown::new();
    let server = tokio::spawn(tcharness::cloud::serve(
        http,
        rtmp,
        services.clone(),
        shutdown,
    ));
    let stream = "8888_anchor_stop";
    let tx_time = format!("{:X}", ctx.clock.now() + 3600);
    let secret =
        tcharness::cloud::lvb::hotlink::tx_secret(&ctx.tenant().lvb.push_key, stream, &tx_time);
    let url = format!(
        "rtmp://8888.livepush.myqcloud.com/live/{stream}?txSecret={secret}&txTime={tx_time}"
    );
    let mut publisher = Publisher::publish(rtmp_addr, &url, WAIT)
        .await
        .expect("push");
    publisher.send_synthetic(0, 25, 2000).await.expect("media");
    trigger.trigger();
    server.await.expect("joins").expect("serves");

    // Once serve has returned, the push has ended: journaled, its events queued, its file closed.
    assert!(!services.lvb.is_live(stream));
    let ingest: Vec<String> = ctx
        .journal
        .of(Service::LvbIngest)
        .iter()
        .map(|e| e.outcome.clone())
        .collect();
    assert!(
        ingest.contains(&"ended: closed: shutdown (errcode 1001)".to_string()),
        "{ingest:?}"
    );
    let events: Vec<String> = ctx
        .journal
        .of(Service::LvbCallback)
        .iter()
        .map(|e| e.request.clone())
        .collect();
    for event in ["event_type=1 ", "event_type=0 ", "event_type=100 "] {
        assert!(
            events.iter().any(|r| r.contains(event)),
            "{event}: {events:?}"
        );
    }
    let recordings = services.lvb.recordings();
    assert_eq!(recordings.len(), 1);
    let bytes = std::fs::read(&recordings[0].path).expect("recording");
    assert_eq!(bytes.len() as u64, recordings[0].file_size);
    // How many frames the ingest read before the shutdown reached it varies; the file is whole.
    assert!(validate_flv(&bytes).is_ok(), "{:?}", validate_flv(&bytes));
    drop(publisher);
}
