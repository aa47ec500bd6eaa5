//! Callback delivery: retries on HTTP 500, on a reply without `{"code":0}`, on a timeout and on a refused
//! connection; every attempt journaled; giving up is journaled too.

mod lvb_support;

use std::time::Duration;

use lvb_support::*;
use tcharness::cloud::lvb::callback::api_sign;
use tcharness::cloud::lvb::publisher::Publisher;
use tcharness::cloud::{Cloud, Service};
use wiremock::matchers::method;
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
    assert!(
        cloud.services.lvb.callbacks_idle(WAIT).await,
        "delivery settles"
    );
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
    let first: serde_json::Value = serde_json::from_slice(&requests[0].body).expect("json");
    let third: serde_json::Value = serde_json::from_slice(&requests[2].body).expect("json");
    assert_eq!(first, third, "a retry re-sends the same notification");
    assert_eq!(
        requests[0]
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let outcomes = callback_outcomes(&cloud);
    assert_eq!(outcomes[0].1, "HTTP 500 oops");
    assert_eq!(outcomes[1].1, "HTTP 500 oops");
    assert_eq!(outcomes[2].1, r#"HTTP 200 {"code":0}"#);
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
    assert_eq!(outcomes[4].1, "gave up after 4 attempts");
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
    let outcomes = callback_outcomes(&cloud);
    assert_eq!(outcomes[0].1, "timeout");
    assert_eq!(outcomes[4].1, "gave up after 4 attempts");
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
