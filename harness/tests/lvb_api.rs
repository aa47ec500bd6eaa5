//! `common_access`: sign and expiry errors in Tencent's words, GetStatus through a stream's life,
//! SetStatus, Tape_GetFilelist; reached by host and by IP, with `appid` or `cmd`.

mod lvb_support;

use std::time::Duration;

use lvb_support::*;
use serde_json::Value;
use tcharness::cloud::lvb::callback::api_sign;
use tcharness::cloud::lvb::publisher::Publisher;
use tcharness::cloud::{Cloud, Service, Tenant};

const WAIT: Duration = Duration::from_secs(5);

async fn call(
    cloud: &Cloud,
    id_param: &str,
    interface: &str,
    extra: &str,
    t: i64,
    sign: &str,
) -> Value {
    let appid = cloud.ctx.tenant().lvb.appid;
    let url = format!(
        "http://fcgi.video.qcloud.com/common_access?{id_param}={appid}&interface={interface}&t={t}&sign={sign}{extra}"
    );
    let (status, body) = http_get(cloud, &url).await;
    assert_eq!(status, 200);
    serde_json::from_slice(&body).expect("JSON reply")
}

async fn signed(cloud: &Cloud, interface: &str, extra: &str) -> Value {
    let t = cloud.ctx.clock.now() + 60;
    let sign = api_sign(&cloud.ctx.tenant().lvb.api_key, t);
    call(cloud, "cmd", interface, extra, t, &sign).await
}

#[tokio::test]
async fn errors_use_tencents_messages() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let key = cloud.ctx.tenant().lvb.api_key;
    let t = cloud.ctx.clock.now() + 60;
    let q = "&Param.s.channel_id=8888_x";
    let bad_sign = call(
        &cloud,
        "appid",
        "Live_Channel_GetStatus",
        q,
        t,
        &api_sign("wrong", t),
    )
    .await;
    assert_eq!(bad_sign["message"], "sign invalid");
    let old = cloud.ctx.clock.now() - 3600;
    let expired = call(
        &cloud,
        "appid",
        "Live_Channel_GetStatus",
        q,
        old,
        &api_sign(&key, old),
    )
    .await;
    assert_eq!(expired["message"], "time expired");
    let url = format!(
        "http://fcgi.video.qcloud.com/common_access?appid=1&interface=Live_Channel_GetStatus&t={t}&sign={}{q}",
        api_sign(&key, t)
    );
    let (_, body) = http_get(&cloud, &url).await;
    let wrong_appid: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(wrong_appid["message"], "appid is invalid");
    let unknown = signed(&cloud, "Live_Queue_Get", "").await;
    assert_eq!(unknown["message"], "cmd is invalid");
    // Garbage parameters are answered, never crash the listener.
    let (status, _) = http_get(
        &cloud,
        "http://fcgi.video.qcloud.com/common_access?%%%&&t=zz",
    )
    .await;
    assert_eq!(status, 200);
    let entries = cloud.ctx.journal.of(Service::LvbApi);
    assert_eq!(
        entries[0].request,
        "GET common_access interface=Live_Channel_GetStatus channel_id=8888_x"
    );
    assert_eq!(entries[0].outcome, "ret -3 sign invalid");
}

#[tokio::test]
async fn status_follows_the_stream_and_the_backend_t_equals_now_is_accepted() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let (url, stream) = console_push_url(&cloud, "api1");
    let q = format!("&Param.s.channel_id={stream}");
    let never = signed(&cloud, "Live_Channel_GetStatus", &q).await;
    assert_eq!(never["ret"], 20601);

    let publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    // The reference backend's cron signs with t = now (not an expiry) and names the appid `cmd`.
    let now = cloud.ctx.clock.now();
    let live = call(
        &cloud,
        "cmd",
        "Live_Channel_GetStatus",
        &q,
        now,
        &api_sign(&cloud.ctx.tenant().lvb.api_key, now),
    )
    .await;
    assert_eq!(live["ret"], 0);
    assert_eq!(live["output"][0]["status"], 1);
    assert_eq!(live["output"][0]["recv_type"], 1);
    assert_eq!(live["output"][0]["rate_type"], 0);

    publisher.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    let off = signed(&cloud, "Live_Channel_GetStatus", &q).await;
    assert_eq!(off["output"][0]["status"], 0);

    let disable = signed(
        &cloud,
        "Live_Channel_SetStatus",
        &format!("{q}&Param.n.status=0"),
    )
    .await;
    assert_eq!(disable["ret"], 0);
    assert_eq!(
        signed(&cloud, "Live_Channel_GetStatus", &q).await["output"][0]["status"],
        3
    );
    assert!(cloud.services.lvb.is_disabled(&stream));
    signed(
        &cloud,
        "Live_Channel_SetStatus",
        &format!("{q}&Param.n.status=1"),
    )
    .await;
    assert!(!cloud.services.lvb.is_disabled(&stream));
    let bad = signed(
        &cloud,
        "Live_Channel_SetStatus",
        &format!("{q}&Param.n.status=7"),
    )
    .await;
    assert_eq!(bad["ret"], 1204);

    let files = signed(&cloud, "Live_Tape_GetFilelist", &q).await;
    assert_eq!(files["ret"], 0);
    assert_eq!(files["output"]["all_count"], 1);
    let file = &files["output"]["file_list"][0];
    let rec = &cloud.services.lvb.recordings()[0];
    assert_eq!(file["vid"], rec.video_id.as_str());
    assert_eq!(file["record_file_url"], rec.video_url.as_str());
    assert_eq!(file["start_time"].as_str().map(str::len), Some(19));
}

#[tokio::test]
async fn reached_by_ip_as_the_backend_is_configured() {
    let cloud = Cloud::start(Tenant::healthy(), fast_options())
        .await
        .expect("cloud");
    let t = cloud.ctx.clock.now() + 60;
    let tenant = cloud.ctx.tenant();
    let url = format!(
        "http://{}/common_access?cmd={}&interface=Live_Channel_GetStatus&Param.s.channel_id=8888_none&t={t}&sign={}",
        cloud.http_addr(),
        tenant.lvb.appid,
        api_sign(&tenant.lvb.api_key, t)
    );
    let body: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["ret"], 20601);
}
