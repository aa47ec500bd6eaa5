//! Callback delivery: retries on HTTP 500, on a reply without `{"code":0}`, on a timeout and on a refused
//! connection; every attempt journaled; giving up is journaled too.

mod lvb_support;

use std::time::Duration;

use lvb_support::*;
use tcharness::cloud::CallbackTime;
use tcharness::cloud::lvb::callback::api_sign;
use tcharness::cloud::lvb::publisher::Publisher;
use tcharness::cloud::{Cloud, Service};
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(10);

/// One accepted push that ends at once: events 1, 0 and one 100 (flv).
async fn push_once(cloud: &Cloud, user: &str) {
    let (url, stream) = console_push_url(cloud, user);
    let publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    publisher.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    cloud
        .drain_callbacks(|| 0, WAIT)
        .await
        .expect("delivery settles");
}

/// The outcomes of one event type's attempts, in order.
fn outcomes_of(cloud: &Cloud, event_type: u32) -> Vec<String> {
    let tag = format!("event_type={event_type} ");
    callback_outcomes(cloud)
        .into_iter()
        .filter(|(request, _)| request.contains(&tag))
        .map(|(_, outcome)| outcome)
        .collect()
}

fn callback_outcomes(cloud: &Cloud) -> Vec<(String, String)> {
    cloud
        .ctx
        .journal
        .of(Service::LvbCallback)
        .into_iter()
        .map(|e| (e.request, e.outcome))
        .collect()
}

#[tokio::test]
async fn two_500s_then_success_take_three_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(serde_json::json!({ "event_type": 1 })))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":0}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    let cloud = cloud_with_callback(&server.uri()).await;
    push_once(&cloud, "cb1").await;
    let requests = server.received_requests().await.unwrap_or_default();
    // Event 1 takes three attempts, events 0 and 100 one each.
    assert_eq!(requests.len(), 5);
    let start_events: Vec<serde_json::Value> = requests
        .iter()
        .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
        .filter(|body| body["event_type"] == 1)
        .collect();
    assert_eq!(start_events.len(), 3);
    assert_eq!(
        start_events[0], start_events[2],
        "a retry re-sends the same notification"
    );
    assert_eq!(
        requests[0]
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        outcomes_of(&cloud, 1),
        ["HTTP 500 oops", "HTTP 500 oops", r#"HTTP 200 {"code":0}"#]
    );
    let outcomes = callback_outcomes(&cloud);
    assert!(outcomes[0].0.contains("event_type=1") && outcomes[0].0.ends_with("attempt 1/4"));
    assert!(outcomes[0].0.contains("/callback/Live_callback.php"));
}

#[tokio::test]
async fn a_rejected_sign_is_retried_then_given_up() {
    // The reference backend answers a bad sign with HTTP 200 and a non-zero code (FAQ 1.3 / 3.2).
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"code":"EC_SYSTEM_INVALID_SIGN"}"#),
        )
        .mount(&server)
        .await;
    let cloud = cloud_with_callback(&server.uri()).await;
    push_once(&cloud, "cb2").await;
    let outcomes = callback_outcomes(&cloud);
    // 3 events × (4 attempts + the give-up line).
    assert_eq!(outcomes.len(), 15, "{outcomes:?}");
    let start = outcomes_of(&cloud, 1);
    assert_eq!(start.len(), 5, "{start:?}");
    assert_eq!(start[4], "gave up after 4 attempts");
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        12
    );
    // The sign the cloud sent is right: md5(api key + t).
    let body: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap_or_default()[0].body)
            .expect("json");
    let t = body["t"].as_i64().expect("t");
    assert_eq!(body["sign"], api_sign(&cloud.ctx.tenant().lvb.api_key, t));
    assert!(
        t >= cloud.ctx.clock.now() + 590,
        "t is an expiry about 10 minutes ahead"
    );
}

#[tokio::test]
async fn a_refused_connection_and_a_timeout_are_retried() {
    let cloud = cloud_with_callback(&format!("http://127.0.0.1:{}", closed_port())).await;
    push_once(&cloud, "cb3").await;
    let outcomes = callback_outcomes(&cloud);
    assert_eq!(outcomes[0].1, "connection refused");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.1 == "connection refused")
            .count(),
        12
    );

    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"code":0}"#)
                .set_delay(Duration::from_millis(600)),
        )
        .mount(&slow)
        .await;
    let mut tenant = tcharness::cloud::Tenant::healthy();
    tenant.lvb.callback_url = format!("{}/callback/Live_callback.php", slow.uri());
    let mut options = fast_options();
    options.callback_timeout = Duration::from_millis(100);
    let cloud = Cloud::start(tenant, options).await.expect("cloud");
    push_once(&cloud, "cb4").await;
    let start = outcomes_of(&cloud, 1);
    assert_eq!(start[..4], ["timeout"; 4]);
    assert_eq!(start[4], "gave up after 4 attempts");
}

#[tokio::test]
async fn no_callback_url_is_journaled_not_dropped() {
    let mut tenant = tcharness::cloud::Tenant::healthy();
    tenant.lvb.callback_url = String::new();
    let cloud = Cloud::start(tenant, fast_options()).await.expect("cloud");
    push_once(&cloud, "cb5").await;
    let outcomes = callback_outcomes(&cloud);
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes
            .iter()
            .all(|o| o.1 == "not sent: no callback URL configured")
    );
}

#[tokio::test]
async fn on_cloud_time_a_retry_waits_for_the_clock() {
    let mut tenant = tcharness::cloud::Tenant::healthy();
    tenant.lvb.callback_url = format!(
        "http://127.0.0.1:{}/callback/Live_callback.php",
        closed_port()
    );
    let options = tcharness::cloud::CloudOptions {
        callback_time: CallbackTime::Cloud,
        ..tcharness::cloud::CloudOptions::default()
    };
    let cloud = Cloud::start(tenant, options).await.expect("cloud");
    let (url, stream) = console_push_url(&cloud, "cb6");
    let publisher = Publisher::publish(cloud.rtmp_addr(), &url, WAIT)
        .await
        .expect("push");
    publisher.stop().await.expect("stop");
    assert!(cloud.services.lvb.wait_stream_ended(&stream, WAIT).await);
    cloud.settle(|| 0, WAIT).await.expect("settles");
    let attempts = |n: u32| {
        callback_outcomes(&cloud)
            .iter()
            .filter(|(request, _)| request.ends_with(&format!("attempt {n}/4")))
            .count()
    };
    // The stream's first event made its first attempt; its retry waits for the clock, 3 s (documented)
    // ahead, and the stream's later events wait behind it.
    assert_eq!((attempts(1), attempts(2)), (1, 0));
    assert_eq!(outcomes_of(&cloud, 0), Vec::<String>::new());
    let offset = cloud.ctx.clock.offset();
    assert_eq!(cloud.services.lvb.next_callback_due(), Some(offset + 3));

    cloud.advance_clock(3, || 0, WAIT).await.expect("advances");
    assert_eq!((attempts(1), attempts(2)), (1, 1));
    // Ten more seconds: event 1's attempts 3 and 4 at +6 and +9, it is given up, and event 0 goes.
    cloud.advance_clock(10, || 0, WAIT).await.expect("advances");
    assert_eq!(
        outcomes_of(&cloud, 1).len(),
        5,
        "4 attempts and the give-up"
    );
    assert_eq!(
        outcomes_of(&cloud, 0).len(),
        2,
        "attempts 1 (+9) and 2 (+12)"
    );
    cloud.drain_callbacks(|| 0, WAIT).await.expect("drains");
    assert_eq!(cloud.services.lvb.callbacks_pending(), 0);
    let times: Vec<i64> = cloud
        .ctx
        .journal
        .of(Service::LvbCallback)
        .iter()
        .filter(|e| e.request.contains("event_type=1 ") && e.request.contains("attempt"))
        .map(|e| e.at)
        .collect();
    assert_eq!(times.len(), 4);
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= 3),
        "3 s apart on the cloud clock: {times:?}"
    );
}

#[tokio::test]
async fn a_failing_stream_does_not_hold_another_streams_events() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(
            serde_json::json!({ "stream_id": "8888_bad" }),
        ))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":0}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    let mut tenant = tcharness::cloud::Tenant::healthy();
    tenant.lvb.callback_url = format!("{}/callback/Live_callback.php", server.uri());
    let options = tcharness::cloud::CloudOptions {
        callback_time: CallbackTime::Cloud,
        ..tcharness::cloud::CloudOptions::default()
    };
    let cloud = Cloud::start(tenant, options).await.expect("cloud");
    let (bad_url, _) = console_push_url(&cloud, "bad");
    let (good_url, _) = console_push_url(&cloud, "good");
    let bad = Publisher::publish(cloud.rtmp_addr(), &bad_url, WAIT)
        .await
        .expect("push");
    cloud.settle(|| 1, WAIT).await.expect("settles");
    let good = Publisher::publish(cloud.rtmp_addr(), &good_url, WAIT)
        .await
        .expect("push");
    cloud.settle(|| 2, WAIT).await.expect("settles");
    let lines = callback_outcomes(&cloud);
    let of = |stream: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|(request, _)| request.contains(&format!("stream_id={stream} ")))
            .map(|(_, outcome)| outcome.clone())
            .collect()
    };
    assert_eq!(
        of("8888_bad"),
        ["HTTP 500 oops"],
        "its retry waits for the clock"
    );
    assert_eq!(
        of("8888_good"),
        [r#"HTTP 200 {"code":0}"#],
        "the other stream's event went at once"
    );
    drop((bad, good));
}

#[tokio::test]
async fn a_huge_reply_is_read_up_to_the_limit_and_retried() {
    let server = MockServer::start().await;
    let huge = format!(r#"{{"code":0,"pad":"{}"}}"#, "x".repeat(8 << 20));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(huge))
        .mount(&server)
        .await;
    let cloud = cloud_with_callback(&server.uri()).await;
    push_once(&cloud, "cb9").await;
    let start = outcomes_of(&cloud, 1);
    assert_eq!(start.len(), 5, "{start:?}");
    assert_eq!(start[0], "HTTP 200 reply longer than 65536 bytes");
    assert_eq!(start[4], "gave up after 4 attempts");
    let kept = cloud
        .ctx
        .journal
        .of(Service::LvbCallback)
        .into_iter()
        .filter_map(|e| e.detail["reply"].as_str().map(str::len))
        .max()
        .unwrap_or(0);
    assert!(
        kept <= tcharness::cloud::lvb::callback::MAX_CALLBACK_REPLY,
        "{kept} bytes of reply in the journal"
    );
}
