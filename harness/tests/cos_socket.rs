//! The emulated COS over a real socket (`Cloud::start`), as the app reaches it: host names resolved to
//! the cloud's listener, multipart upload with the backend-style signature, download of `access_url`.

use reqwest::multipart::{Form, Part};
use tcharness::cloud::cos::sign::SignRequest;
use tcharness::cloud::{Cloud, CloudOptions, Service, Tenant};

const APPID: u64 = 1252000001;
const SID: &str = "AKIDmLvbHarnessHealthy00000000000001";
const SKEY: &str = "hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e";

fn client(cloud: &Cloud) -> reqwest::Client {
    let addr = cloud.http_addr();
    reqwest::Client::builder()
        .no_proxy()
        .resolve("sh.file.myqcloud.com", addr)
        .resolve("minilvb-1252000001.file.myqcloud.com", addr)
        .resolve("minilvb-1252000001.cossh.myqcloud.com", addr)
        .build()
        .unwrap()
}

fn with_port(url: &str, port: u16) -> String {
    url.replacen(".com/", &format!(".com:{port}/"), 1)
}

#[tokio::test]
async fn upload_then_download_over_loopback_and_survive_garbage() {
    let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
        .await
        .unwrap();
    let port = cloud.http_addr().port();
    let http = client(&cloud);
    let now = cloud.ctx.clock.now();
    let sign = SignRequest {
        appid: APPID,
        bucket: "minilvb",
        secret_id: SID,
        expire: now + 30,
        time: now,
        rand: 4242,
        fileid: "",
    }
    .sign(SKEY);
    let url =
        format!("http://sh.file.myqcloud.com:{port}/files/v2/{APPID}/minilvb/avatar/anchor01.png");

    // Garbage first: a body that claims multipart and is not, and a raw TCP line that is not HTTP.
    let bad = http
        .post(&url)
        .header("Authorization", &sign)
        .header("Content-Type", "multipart/form-data; boundary=x")
        .body(vec![0xffu8; 10_000])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let json: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(json["message"], "ERROR_CGI_PARAM_INVALID");
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut raw = tokio::net::TcpStream::connect(cloud.http_addr())
            .await
            .unwrap();
        raw.write_all(b"\x00\x01 not http at all\r\n\r\n")
            .await
            .unwrap();
        let mut sink = Vec::new();
        let _ = raw.read_to_end(&mut sink).await;
    }

    let content = b"\x89PNG fake avatar".to_vec();
    let form = Form::new()
        .text("op", "upload")
        .text("insertOnly", "1")
        .part(
            "filecontent",
            Part::bytes(content.clone()).file_name("anchor01.png"),
        );
    let reply = http
        .post(&url)
        .header("Authorization", &sign)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let json: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(json["code"], 0, "{json}");
    let access_url = json["data"]["access_url"].as_str().unwrap().to_string();
    let source_url = json["data"]["source_url"].as_str().unwrap().to_string();

    let got = http.get(with_port(&access_url, port)).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), content.as_slice());

    // FAQ 5 over the wire: acceleration off breaks access_url, not source_url.
    cloud.ctx.update_tenant(|t| t.cos.buckets[0].cdn = false);
    let cdn = http.get(with_port(&access_url, port)).send().await.unwrap();
    assert_eq!(cdn.status(), 404);
    let src = http.get(with_port(&source_url, port)).send().await.unwrap();
    assert_eq!(src.status(), 200);

    let outcomes: Vec<String> = cloud
        .ctx
        .journal
        .of(Service::Cos)
        .iter()
        .map(|e| format!("{} => {}", e.request, e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            "POST sh.file.myqcloud.com/files/v2/1252000001/minilvb/avatar/anchor01.png => -21 ERROR_CGI_PARAM_INVALID",
            "POST sh.file.myqcloud.com/files/v2/1252000001/minilvb/avatar/anchor01.png op=upload => 0 SUCCESS",
            "GET minilvb-1252000001.file.myqcloud.com/avatar/anchor01.png => HTTP 200",
            "GET minilvb-1252000001.file.myqcloud.com/avatar/anchor01.png => HTTP 404 cdn acceleration off",
            "GET minilvb-1252000001.cossh.myqcloud.com/avatar/anchor01.png => HTTP 200",
        ]
    );
}
