//! The admin endpoints under `/_tcharness/` over real HTTP on loopback: health on any Host, the
//! journal with its filters, the console read and changed at run time, reset back to the start.

use std::time::Duration;

use serde_json::Value;
use tcharness::cloud::cos::store::{NewFile, sha1_hex};
use tcharness::cloud::{Cloud, CloudOptions, Tenant};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `method` on `path` of the cloud's listener with `host` in `Host`: status and body.
async fn call(
    cloud: &Cloud,
    method: reqwest::Method,
    host: &str,
    path: &str,
    body: Option<String>,
) -> (u16, String) {
    let mut req = client()
        .request(method, format!("http://{}{path}", cloud.http_addr()))
        .header("Host", host);
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.expect("an answer");
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A GET of an admin path on some Host (admin paths answer on any).
async fn admin_get(cloud: &Cloud, path: &str) -> (u16, String) {
    call(cloud, reqwest::Method::GET, "x", path, None).await
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn health_answers_on_any_host_and_unknown_admin_paths_are_json_errors() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    for host in ["127.0.0.1", "sh.file.myqcloud.com", "example.com"] {
        let (status, body) = call(
            &cloud,
            reqwest::Method::GET,
            host,
            "/_tcharness/health",
            None,
        )
        .await;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(json(&body)["status"], "ok");
    }
    let (status, body) = call(&cloud, reqwest::Method::GET, "x", "/_tcharness/nope", None).await;
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());
    let (status, _) = call(
        &cloud,
        reqwest::Method::DELETE,
        "x",
        "/_tcharness/reset",
        None,
    )
    .await;
    assert_eq!(status, 405);
    // Admin requests are not journaled.
    assert!(cloud.ctx.journal.is_empty());
}

#[tokio::test]
async fn journal_filters_by_service_and_since() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    call(&cloud, reqwest::Method::GET, "example.com", "/one", None).await;
    call(
        &cloud,
        reqwest::Method::GET,
        "sh.file.myqcloud.com",
        "/files/v2/",
        None,
    )
    .await;
    call(&cloud, reqwest::Method::GET, "example.com", "/two", None).await;

    let (status, body) = admin_get(&cloud, "/_tcharness/journal").await;
    assert_eq!(status, 200);
    let all = json(&body);
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");

    let (_, body) = admin_get(&cloud, "/_tcharness/journal?service=gateway").await;
    let gateway = json(&body);
    let requests: Vec<&str> = gateway
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"].as_str().unwrap())
        .collect();
    assert_eq!(requests, ["GET example.com/one", "GET example.com/two"]);

    let last_seq = gateway[1]["seq"].as_u64().unwrap();
    let (_, body) = admin_get(
        &cloud,
        &format!("/_tcharness/journal?service=gateway&since={last_seq}"),
    )
    .await;
    assert_eq!(json(&body).as_array().unwrap().len(), 1);

    let (status, body) = admin_get(&cloud, "/_tcharness/journal?service=s3").await;
    assert_eq!(status, 400);
    assert!(json(&body)["error"].as_str().unwrap().contains("s3"));
    let (status, _) = admin_get(&cloud, "/_tcharness/journal?since=-1").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_console_changes_at_run_time_and_reset_brings_the_start_back() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    let tenant = cloud.ctx.tenant();
    let bucket = &tenant.cos.buckets[0];
    let key = (bucket.appid, bucket.name.clone());
    cloud
        .services
        .cos
        .store()
        .put_file(
            &key,
            "/cover.jpg",
            NewFile {
                content: bytes::Bytes::from_static(b"cover"),
                sha: sha1_hex(b"cover"),
                biz_attr: String::new(),
                insert_only: true,
            },
            1,
        )
        .unwrap();
    let cdn_host = format!("{}-{}.file.myqcloud.com", bucket.name, bucket.appid);
    let get = |_: ()| call(&cloud, reqwest::Method::GET, &cdn_host, "/cover.jpg", None);
    assert_eq!(get(()).await, (200, "cover".to_string()));

    let (status, body) = admin_get(&cloud, "/_tcharness/console").await;
    assert_eq!(status, 200);
    let mut console = json(&body);
    assert_eq!(console["cos"]["buckets"][0]["cdn"], true);
    console["cos"]["buckets"][0]["cdn"] = Value::Bool(false);
    let (status, body) = call(
        &cloud,
        reqwest::Method::PUT,
        "x",
        "/_tcharness/console",
        Some(console.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get(()).await.0,
        404,
        "the CDN domain is off without a restart"
    );

    // A broken document changes nothing and the listener keeps serving.
    for bad in ["{", r#"{"lvb": 1}"#, &"[".repeat(100_000)] {
        let (status, body) = call(
            &cloud,
            reqwest::Method::PUT,
            "x",
            "/_tcharness/console",
            Some(bad.to_string()),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(json(&body)["error"].is_string());
    }
    assert!(!cloud.ctx.tenant().cos.buckets[0].cdn);

    let (status, _) = call(
        &cloud,
        reqwest::Method::POST,
        "x",
        "/_tcharness/reset",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        cloud.ctx.tenant(),
        tenant,
        "the console is the starting one"
    );
    assert!(cloud.services.cos.store().get(&key, "/cover.jpg").is_none());
    let (_, body) = admin_get(&cloud, "/_tcharness/journal").await;
    assert_eq!(json(&body).as_array().unwrap().len(), 0);
    let (status, _) = get(()).await;
    assert_eq!(status, 404, "the object is gone, the CDN is on again");
    assert_eq!(
        cloud.ctx.journal.entries().last().unwrap().outcome,
        "HTTP 404 no such object"
    );
}
