//! The cron: `Live_Channel_GetStatus` per online stream, offline on the third miss.

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

fn status_reply(status: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ret":0,"message":"","output":[
        {"rate_type":0,"recv_type":2,"status":1},{"rate_type":0,"recv_type":1,"status":status}]}))
}

#[tokio::test]
async fn three_misses_take_a_stream_offline() {
    let lvb = MockServer::start().await;
    let on = |stream: &str, reply: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(path("/common_access"))
            .and(query_param("interface", "Live_Channel_GetStatus"))
            .and(query_param("Param.s.channel_id", stream.to_string()))
            .respond_with(reply)
    };
    on("8888_live", status_reply(1)).mount(&lvb).await;
    on("8888_dead", status_reply(0)).mount(&lvb).await;
    on(
        "8888_never",
        ResponseTemplate::new(200).set_body_json(json!({"ret":20601,"message":"never pushed"})),
    )
    .mount(&lvb)
    .await;
    on(
        "8888_broken",
        ResponseTemplate::new(500).set_body_string("oops"),
    )
    .mount(&lvb)
    .await;
    let b = backend(Setup {
        webservice_url: format!("{}/common_access", lvb.uri()),
        ..Setup::default()
    })
    .await;
    for u in ["live", "dead", "never", "broken", "idle"] {
        b.call(json!({"Action":"RequestLVBAddr","userid":u,"groupid":"g","title":"t"}))
            .await;
        if u != "idle" {
            b.call(json!({"Action":"ChangeStatus","userid":u,"status":0}))
                .await;
        }
    }
    let r1 = minilvb::check_online::run(&b.app).await.unwrap();
    assert_eq!(r1.checked, 4);
    assert_eq!(r1.missed, ["8888_dead", "8888_never"]);
    assert_eq!(r1.errors, ["8888_broken"]);
    let r2 = minilvb::check_online::run(&b.app).await.unwrap();
    assert_eq!(r2.missed, ["8888_dead", "8888_never"]);
    assert_eq!(
        b.sql("SELECT check_status FROM live_data WHERE userid='dead'"),
        "2"
    );
    let r3 = minilvb::check_online::run(&b.app).await.unwrap();
    assert_eq!(r3.taken_offline, ["8888_dead", "8888_never"]);
    assert_eq!(
        b.sql("SELECT userid, status, check_status FROM live_data ORDER BY userid"),
        "broken\t1\t0\ndead\t0\t0\nidle\t0\t0\nlive\t1\t0\nnever\t0\t0"
    );
    // The calls are signed with CALL_BACK_KEY and carry the LVB appid as `cmd`.
    let req = &lvb.received_requests().await.unwrap()[0];
    let q: std::collections::HashMap<String, String> = req.url.query_pairs().into_owned().collect();
    assert_eq!(q["cmd"], APP_ID.to_string());
    assert_eq!(q["sign"], minilvb::sign::api_sign(API_KEY, &q["t"]));
}

#[tokio::test]
async fn check_online_command_runs_the_cron_once() {
    let lvb = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/common_access"))
        .and(query_param("interface", "Live_Channel_GetStatus"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ret":20601,"message":"never pushed"})),
        )
        .mount(&lvb)
        .await;
    let b = backend(Setup {
        webservice_url: format!("{}/common_access", lvb.uri()),
        ..Setup::default()
    })
    .await;
    b.call(json!({"Action":"RequestLVBAddr","userid":"a","groupid":"g","title":"t"}))
        .await;
    b.call(json!({"Action":"ChangeStatus","userid":"a","status":0}))
        .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_minilvb"))
        .args(["check-online", "--root"])
        .arg(b.root.path())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "checked 1 streams, 1 missed, 0 taken offline, 0 errors"
    );
    assert_eq!(b.sql("SELECT check_status FROM live_data"), "1");
    assert_eq!(lvb.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_huge_common_access_reply_is_an_error_not_a_buffer() {
    let lvb = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/common_access"))
        .respond_with(ResponseTemplate::new(200).set_body_string(" ".repeat(8 << 20)))
        .mount(&lvb)
        .await;
    let b = backend(Setup {
        webservice_url: format!("{}/common_access", lvb.uri()),
        ..Setup::default()
    })
    .await;
    let err = minilvb::webservice::call(
        &b.app.http,
        &b.app.config,
        "Live_Channel_GetStatus",
        &[("Param.s.channel_id", "8888_x".to_string())],
        0,
    )
    .await
    .unwrap_err();
    assert!(err.contains("reply longer than"), "{err}");
}
