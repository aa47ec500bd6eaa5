//! The emulated COS v4 driven in memory (tower `oneshot` on a Router): every FAQ mapping, every error
//! code for the reason it names, each operation, and the official signature vectors.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tcharness::cloud::cos::console::{Authority, Bucket, CosKey, Generation};
use tcharness::cloud::cos::sign::{self, SignRequest};
use tcharness::cloud::cos::{Cos, CosOptions};
use tcharness::cloud::{CloudContext, CloudOptions, Service, Tenant};
use tower::ServiceExt;

const APPID: u64 = 1252000001;
const BUCKET: &str = "minilvb";
const API: &str = "sh.file.myqcloud.com";
const SID: &str = "AKIDmLvbHarnessHealthy00000000000001";
const SKEY: &str = "hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9e";

static NEXT_RAND: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1000);

struct Env {
    ctx: CloudContext,
    router: Router,
}

fn env_with(tenant: Tenant, options: CosOptions) -> Env {
    let ctx = CloudContext::new(tenant, CloudOptions::default());
    let cos = Arc::new(Cos::with_options(ctx.clone(), options).unwrap());
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let router = Router::new().fallback(move |req: Request| {
        let cos = cos.clone();
        async move {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string();
            cos.handle(&host, peer, req).await
        }
    });
    Env { ctx, router }
}

fn env() -> Env {
    env_with(Tenant::healthy(), CosOptions::default())
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn code(&self) -> i64 {
        self.json()["code"].as_i64().unwrap_or(i64::MIN)
    }
    fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or("").to_string()
    }
}

impl Env {
    async fn send(&self, req: Request) -> Reply {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A multi-use signature valid for 30 s from the cloud's now, in PHP order (the backend's GetCOSSign).
    fn multi(&self, appid: u64, bucket: &str, sid: &str, skey: &str) -> String {
        let now = self.ctx.clock.now();
        SignRequest {
            appid,
            bucket,
            secret_id: sid,
            expire: now + 30,
            time: now,
            rand: 12345,
            fileid: "",
        }
        .sign(skey)
    }

    fn healthy_sign(&self) -> String {
        self.multi(APPID, BUCKET, SID, SKEY)
    }

    fn single(&self, path: &str) -> String {
        SignRequest {
            appid: APPID,
            bucket: BUCKET,
            secret_id: SID,
            expire: 0,
            time: self.ctx.clock.now(),
            // A fresh r each time: two single-use signatures with the same fields are the same signature.
            rand: NEXT_RAND.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fileid: &sign::fileid(APPID, BUCKET, path),
        }
        .sign(SKEY)
    }

    async fn upload_to(
        &self,
        host: &str,
        url_path: &str,
        sign: &str,
        parts: &[(&str, &[u8])],
    ) -> Reply {
        let (ct, body) = multipart(parts);
        let req = Request::post(url_path)
            .header(header::HOST, host)
            .header(header::AUTHORIZATION, sign)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn upload(&self, path: &str, content: &[u8], sign: &str) -> Reply {
        self.upload_to(
            API,
            &format!("/files/v2/{APPID}/{BUCKET}{path}"),
            sign,
            &[
                ("op", b"upload"),
                ("insertOnly", b"1"),
                ("filecontent", content),
            ],
        )
        .await
    }

    async fn json_op(&self, path: &str, sign: &str, body: &str) -> Reply {
        let req = Request::post(format!("/files/v2/{APPID}/{BUCKET}{path}"))
            .header(header::HOST, API)
            .header(header::AUTHORIZATION, sign)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    async fn get(&self, host: &str, uri: &str, sign: Option<&str>) -> Reply {
        let mut req = Request::get(uri).header(header::HOST, host);
        if let Some(sign) = sign {
            req = req.header(header::AUTHORIZATION, sign);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    fn last_outcome(&self) -> (String, String) {
        let entries = self.ctx.journal.of(Service::Cos);
        let last = entries.last().expect("a journal entry");
        (last.request.clone(), last.outcome.clone())
    }
}

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----cosTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if name.eq_ignore_ascii_case("filecontent") {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex::encode(Sha1::digest(data))
}

// ---------------------------------------------------------------------------------------------------
// The healthy path and the journal

#[tokio::test]
async fn healthy_upload_returns_the_four_urls_and_is_journaled() {
    let env = env();
    let reply = env
        .upload("/cover/anchor01.jpg", b"jpeg bytes", &env.healthy_sign())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let json = reply.json();
    assert_eq!(json["code"], 0);
    assert_eq!(json["message"], "SUCCESS");
    assert!(json["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let data = &json["data"];
    assert_eq!(
        data["access_url"],
        "http://minilvb-1252000001.file.myqcloud.com/cover/anchor01.jpg"
    );
    assert_eq!(
        data["source_url"],
        "http://minilvb-1252000001.cossh.myqcloud.com/cover/anchor01.jpg"
    );
    assert_eq!(
        data["resource_path"],
        "/1252000001/minilvb/cover/anchor01.jpg"
    );
    assert_eq!(
        data["url"],
        "http://sh.file.myqcloud.com/files/v2/1252000001/minilvb/cover/anchor01.jpg"
    );
    assert_eq!(data["vid"].as_str().map(str::len), Some(42));
    assert_eq!(
        env.last_outcome(),
        (
            "POST sh.file.myqcloud.com/files/v2/1252000001/minilvb/cover/anchor01.jpg op=upload"
                .to_string(),
            "0 SUCCESS".to_string()
        )
    );
}

// ---------------------------------------------------------------------------------------------------
// FAQ mappings, one per error code, triggered for the reason it names

#[tokio::test]
async fn faq_1_4_backend_signs_with_another_appid() {
    let env = env();
    // COSKEY_APPID wrong: a= differs from the owner of the (right) SecretId.
    let sign = env.multi(1252999999, BUCKET, SID, SKEY);
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.message(), "ERROR_PROXY_APPID_USERID_NOTMATCH");
    assert_eq!(reply.code(), -98);
    assert_eq!(
        env.last_outcome().1,
        "-98 ERROR_PROXY_APPID_USERID_NOTMATCH"
    );
}

#[tokio::test]
async fn faq_1_4_a_key_of_another_customer_does_not_match_our_appid() {
    let env = env();
    let sign = env.multi(
        1252999999,
        BUCKET,
        "AKIDOtherCustomer0000000000000000002",
        "Qm3nBv7cXz1aSd5fGh9jKl2pOi4uYt6r",
    );
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(reply.message(), "ERROR_PROXY_APPID_USERID_NOTMATCH");
}

#[tokio::test]
async fn faq_2_2_app_uses_another_appid_in_the_url() {
    let env = env();
    let reply = env
        .upload_to(
            API,
            &format!("/files/v2/1252999999/{BUCKET}/a.jpg"),
            &env.healthy_sign(),
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_PROXY_APPID_USERID_NOTMATCH");
}

#[tokio::test]
async fn faq_1_5_backend_signs_another_bucket() {
    let env = env();
    let sign = env.multi(APPID, "minlvb", SID, SKEY);
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-99, "ERROR_PROXY_SIGN_BUCKET_NOTMATCH")
    );
}

#[tokio::test]
async fn faq_2_2_app_uses_another_bucket_in_the_url() {
    let env = env();
    let reply = env
        .upload_to(
            API,
            &format!("/files/v2/{APPID}/otherbucket/a.jpg"),
            &env.healthy_sign(),
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_PROXY_SIGN_BUCKET_NOTMATCH");
}

#[tokio::test]
async fn faq_1_6_unknown_secret_id() {
    let env = env();
    let sign = env.multi(APPID, BUCKET, "AKIDmLvbHarnessHealthy0000000000009", SKEY);
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-100, "PROXY_AUTH_SECRETID_NOEXIST")
    );
}

#[tokio::test]
async fn faq_1_7_wrong_secret_key() {
    let env = env();
    let sign = env.multi(APPID, BUCKET, SID, "hZ3kRt8vWq2nLp5sXy7bCd4fGj6mNa9f");
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-97, "ERROR_PROXY_AUTH_FAILED")
    );
}

#[tokio::test]
async fn faq_2_3_a_region_without_the_bucket_says_bucket_not_exist() {
    let env = env();
    let reply = env
        .upload_to(
            "gz.file.myqcloud.com",
            &format!("/files/v2/{APPID}/{BUCKET}/a.jpg"),
            &env.healthy_sign(),
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-133, "ERROR_CMD_BUCKET_NOTEXIST")
    );
    assert_eq!(
        env.last_outcome().0,
        "POST gz.file.myqcloud.com/files/v2/1252000001/minilvb/a.jpg op=upload"
    );
}

#[tokio::test]
async fn faq_2_3_an_unknown_region_host_gets_the_gateway_page() {
    let env = env();
    let reply = env
        .upload_to(
            "shanghai.file.myqcloud.com",
            &format!("/files/v2/{APPID}/{BUCKET}/a.jpg"),
            &env.healthy_sign(),
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.headers[header::SERVER], "NWS_SP");
    let text = String::from_utf8_lossy(&reply.body);
    // §8.4: the body is only the sentence, as text/html.
    assert_eq!(
        text,
        "You do not have permission to get URL '/files/v2/1252000001/minilvb/a.jpg' from this server."
    );
    assert_eq!(reply.headers[header::CONTENT_TYPE], "text/html");
    assert_eq!(env.last_outcome().1, "HTTP 403 gateway");
}

#[tokio::test]
async fn faq_6_a_v3_bucket_is_invisible_to_v4() {
    let env = env();
    let sign = env.multi(APPID, "legacy", SID, SKEY);
    let reply = env
        .upload_to(
            API,
            &format!("/files/v2/{APPID}/legacy/a.jpg"),
            &sign,
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_CMD_BUCKET_NOTEXIST");
}

#[tokio::test]
async fn an_expired_signature_is_refused_by_the_cloud_clock() {
    let env = env();
    let sign = env.healthy_sign(); // e = now + 30
    env.ctx.clock.advance(31);
    let reply = env.upload("/a.jpg", b"x", &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-96, "ERROR_PROXY_AUTH_EXPIRED")
    );
}

#[tokio::test]
async fn no_signature_is_sign_empty() {
    let env = env();
    let reply = env.upload("/a.jpg", b"x", "").await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-95, "ERROR_PROXY_AUTH_SIGN_EMPTY")
    );
}

#[tokio::test]
async fn unreadable_signatures_fail_auth_and_the_service_keeps_serving() {
    let env = env();
    let good = env.healthy_sign();
    for bad in [
        "%%%not base64%%%",
        "QUJD",
        &good[..good.len() / 2],
        "////////////////////////////////////////////",
    ] {
        let reply = env.upload("/a.jpg", b"x", bad).await;
        assert_eq!(reply.message(), "ERROR_PROXY_AUTH_FAILED", "{bad}");
    }
    assert_eq!(env.upload("/a.jpg", b"x", &good).await.code(), 0);
}

// ---------------------------------------------------------------------------------------------------
// Official vectors (reference §6.3), made valid by moving the cloud clock

fn vector_tenant() -> Tenant {
    let mut tenant = Tenant::healthy();
    tenant.cos.keys.push(CosKey {
        secret_id: "AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv".into(),
        secret_key: "bLcPnl88WU30VY57ipRhSePfPdOfSruK".into(),
        appid: 200001,
    });
    tenant.cos.buckets.push(Bucket {
        name: "newbucket".into(),
        appid: 200001,
        region: "gz".into(),
        generation: Generation::V4,
        cdn: false,
        authority: Authority::PublicRead,
    });
    tenant
}

const DOC_MULTI: &str = "vxzLR6vzMNhBMUVzMTWKUB+LMeVhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzc5OTU3MDQmdD0xNDM3OTk1NjQ0JnI9MjA4MTY2MDQyMSZmPSZiPW5ld2J1Y2tldA==";
const DOC_SINGLE: &str = "f11dDSuw86CR02Ko1INzsZstbRlhPTIwMDAwMSZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTAmdD0xNDM3OTk1NjQ1JnI9MTE2NjcxMDc5MiZmPS8yMDAwMDEvbmV3YnVja2V0L3RlbmNlbnRfdGVzdC5qcGcmYj1uZXdidWNrZXQ=";
const PHP_MULTI: &str = "5bIObv9KXNcITrcVNRGCLG3K6xxhPTIwMDAwMSZiPW5ld2J1Y2tldCZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzg2NjkxMTUmdD0xNDM2MDc3MTE1JnI9MTExNjImZj0=";

fn set_now(env: &Env, at: i64) {
    let real = env.ctx.clock.now() - env.ctx.clock.offset();
    env.ctx.clock.set_offset(at - real);
}

#[tokio::test]
async fn official_vectors_verify_against_the_emulated_cos() {
    let env = env_with(vector_tenant(), CosOptions::default());
    let host = "gz.file.myqcloud.com";
    let url = "/files/v2/200001/newbucket/tencent_test.jpg";
    set_now(&env, 1437995650);
    let reply = env
        .upload_to(
            host,
            url,
            DOC_MULTI,
            &[("op", b"upload"), ("filecontent", b"doc")],
        )
        .await;
    assert_eq!(reply.code(), 0, "{:?}", reply.json());
    // The PHP-order computed vector is valid at the same moment (e = 1438669115).
    let reply = env
        .get(
            host,
            "/files/v2/200001/newbucket/tencent_test.jpg?op=stat",
            Some(PHP_MULTI),
        )
        .await;
    assert_eq!(reply.code(), 0, "{:?}", reply.json());
    assert_eq!(reply.json()["data"]["sha"], sha1_hex(b"doc"));
    // Past its e, the documented multi-use signature is expired.
    set_now(&env, 1437995705);
    let reply = env
        .get(host, "/files/v2/200001/newbucket/?op=list", Some(DOC_MULTI))
        .await;
    assert_eq!(reply.message(), "ERROR_PROXY_AUTH_EXPIRED");
    // The single-use vector deletes exactly its file, once.
    let delete = |sign: &'static str| {
        let req = Request::post(url)
            .header(header::HOST, host)
            .header(header::AUTHORIZATION, sign)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"op":"delete"}"#))
            .unwrap();
        env.send(req)
    };
    assert_eq!(delete(DOC_SINGLE).await.code(), 0);
    let again = delete(DOC_SINGLE).await;
    assert_eq!(again.message(), "ERROR_PROXY_AUTH_FAILED");
}

// ---------------------------------------------------------------------------------------------------
// Upload rules

#[tokio::test]
async fn same_content_again_is_4018_and_different_content_is_file_exist() {
    let env = env();
    let sign = env.healthy_sign();
    assert_eq!(env.upload("/a.jpg", b"one", &sign).await.code(), 0);
    // §8.4: the same file again is -4018 ERROR_SAME_FILE_UPLOAD.
    let same = env.upload("/a.jpg", b"one", &sign).await;
    assert_eq!(
        (same.code(), same.message().as_str()),
        (-4018, "ERROR_SAME_FILE_UPLOAD")
    );
    let reply = env.upload("/a.jpg", b"two", &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-177, "ERROR_CMD_COS_FILE_EXIST")
    );
    let url = format!("/files/v2/{APPID}/{BUCKET}/a.jpg");
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload"),
                ("insertOnly", b"0"),
                ("filecontent", b"two"),
            ],
        )
        .await;
    assert_eq!(reply.code(), 0);
}

#[tokio::test]
async fn sha_is_checked() {
    let env = env();
    let sign = env.healthy_sign();
    let url = format!("/files/v2/{APPID}/{BUCKET}/a.jpg");
    let good = sha1_hex(b"abc");
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload"),
                ("sha", good.as_bytes()),
                ("filecontent", b"abc"),
            ],
        )
        .await;
    assert_eq!(reply.code(), 0);
    let wrong = sha1_hex(b"abd");
    let reply = env
        .upload_to(
            API,
            "/files/v2/1252000001/minilvb/b.jpg",
            &sign,
            &[
                ("filecontent", b"abc"),
                ("sha", wrong.as_bytes()),
                ("op", b"upload"),
            ],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-174, "ERROR_CMD_COS_SHA_NOT_EQU")
    );
    let reply = env
        .upload_to(
            API,
            "/files/v2/1252000001/minilvb/b.jpg",
            &sign,
            &[("op", b"upload"), ("sha", b"xyz"), ("filecontent", b"abc")],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-168, "ERROR_CMD_COS_INVALID_SHA")
    );
}

#[tokio::test]
async fn browser_sdk_form_with_query_sign_and_file_content_field() {
    let env = env();
    let sign = env.healthy_sign();
    let encoded: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
    let (ct, body) = multipart(&[("op", b"upload"), ("fileContent", b"from js")]);
    let req = Request::post(format!("/files/v2/{APPID}/{BUCKET}/js.jpg?sign={encoded}"))
        .header(header::HOST, API)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(env.send(req).await.code(), 0);
}

#[tokio::test]
async fn bad_requests_get_the_cos_envelope() {
    let env = env();
    let sign = env.healthy_sign();
    let url = format!("/files/v2/{APPID}/{BUCKET}/a.jpg");
    // No op, unknown op.
    let reply = env
        .upload_to(API, &url, &sign, &[("filecontent", b"x")])
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-20, "ERROR_CGI_PARAM_MISSING_OP")
    );
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[("op", b"explode"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_CGI_PARAM_MISSING_OP");
    // Upload without a file part.
    let reply = env.upload_to(API, &url, &sign, &[("op", b"upload")]).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-21, "ERROR_CGI_PARAM_INVALID")
    );
    // Malformed multipart: a boundary that never appears, then a truncated part.
    let req = Request::post(&url)
        .header(header::HOST, API)
        .header(header::AUTHORIZATION, &sign)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=zzz")
        .body(Body::from(
            "--zzz\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\nupl",
        ))
        .unwrap();
    let reply = env.send(req).await;
    assert_eq!(reply.message(), "ERROR_CGI_PARAM_INVALID");
    let req = Request::post(&url)
        .header(header::HOST, API)
        .header(header::AUTHORIZATION, &sign)
        .header(header::CONTENT_TYPE, "multipart/form-data")
        .body(Body::from("garbage"))
        .unwrap();
    assert_eq!(env.send(req).await.message(), "ERROR_CGI_PARAM_INVALID");
    // Dot segments.
    let reply = env
        .upload_to(
            API,
            &format!("/files/v2/{APPID}/{BUCKET}/x/%2e%2e/a.jpg"),
            &sign,
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-180, "ERROR_CMD_COS_INVALID_PATH")
    );
    // Absurd sizes and unknown slice sessions.
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_init"),
                ("filesize", b"99999999999999999"),
            ],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_CGI_REQUEST_TOO_LARGE");
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[("op", b"upload_slice_init"), ("filesize", b"-5")],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_CGI_PARAM_INVALID");
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_data"),
                ("session", b"nope"),
                ("offset", b"0"),
                ("filecontent", b"x"),
            ],
        )
        .await;
    assert_eq!(reply.message(), "ERROR_CGI_PARAM_INVALID");
    // A download path with dot segments.
    let dots = env
        .get(
            "minilvb-1252000001.cossh.myqcloud.com",
            "/a/%2e%2e/%2e%2e/etc/passwd",
            None,
        )
        .await;
    assert_eq!(dots.status, StatusCode::BAD_REQUEST);
    // Still serving.
    assert_eq!(env.upload("/ok.jpg", b"x", &sign).await.code(), 0);
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_not_buffered() {
    let env = env_with(
        Tenant::healthy(),
        CosOptions {
            max_body_bytes: 1024,
            ..CosOptions::default()
        },
    );
    let sign = env.healthy_sign();
    let big = vec![7u8; 4096];
    let reply = env.upload("/big.bin", &big, &sign).await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-22, "ERROR_CGI_REQUEST_TOO_LARGE")
    );
    // Chunked (no Content-Length): the stream limit catches it.
    let (ct, body) = multipart(&[("op", b"upload"), ("filecontent", &big)]);
    let stream = futures::stream::iter(
        body.chunks(512)
            .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::copy_from_slice(c)))
            .collect::<Vec<_>>(),
    );
    let req = Request::post(format!("/files/v2/{APPID}/{BUCKET}/big.bin"))
        .header(header::HOST, API)
        .header(header::AUTHORIZATION, &sign)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from_stream(stream))
        .unwrap();
    assert_eq!(env.send(req).await.message(), "ERROR_CGI_REQUEST_TOO_LARGE");
    assert_eq!(env.upload("/small.bin", b"ok", &sign).await.code(), 0);
}

// ---------------------------------------------------------------------------------------------------
// Slice upload

#[tokio::test]
async fn slice_upload_init_data_list_finish_and_instant_upload() {
    let env = env();
    let sign = env.healthy_sign();
    let url = format!("/files/v2/{APPID}/{BUCKET}/video.mp4");
    let content: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    let sha = sha1_hex(&content);
    let init = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_init"),
                ("filesize", b"2500"),
                ("slice_size", b"1000"),
                ("sha", sha.as_bytes()),
            ],
        )
        .await;
    assert_eq!(init.code(), 0, "{:?}", init.json());
    let session = init.json()["data"]["session"].as_str().unwrap().to_string();
    assert_eq!(init.json()["data"]["slice_size"], 1000);
    for offset in [0usize, 1000, 2000] {
        let end = (offset + 1000).min(content.len());
        let off = offset.to_string();
        let reply = env
            .upload_to(
                API,
                &url,
                &sign,
                &[
                    ("op", b"upload_slice_data"),
                    ("session", session.as_bytes()),
                    ("offset", off.as_bytes()),
                    ("filecontent", &content[offset..end]),
                ],
            )
            .await;
        assert_eq!(reply.code(), 0, "{:?}", reply.json());
        if offset == 1000 {
            let list = env
                .upload_to(
                    API,
                    &url,
                    &sign,
                    &[
                        ("op", b"upload_slice_list"),
                        ("session", session.as_bytes()),
                    ],
                )
                .await;
            assert_eq!(
                list.json()["data"]["listparts"].as_array().map(Vec::len),
                Some(2)
            );
            // §8.4: parts carry {offset, datalen, datasha}.
            let part = &list.json()["data"]["listparts"][0];
            assert_eq!(part["offset"], 0);
            assert!(part["datalen"].as_u64().is_some(), "{part}");
            assert_eq!(part["datasha"].as_str().map(str::len), Some(40), "{part}");
        }
    }
    // A slice past the announced size.
    let reply = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_data"),
                ("session", session.as_bytes()),
                ("offset", b"2400"),
                ("filecontent", &[0u8; 200]),
            ],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-175, "ERROR_CMD_COS_FILE_SIZE_NOT_EQU")
    );
    let finish = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_finish"),
                ("session", session.as_bytes()),
                ("filesize", b"2500"),
            ],
        )
        .await;
    assert_eq!(finish.code(), 0, "{:?}", finish.json());
    assert_eq!(
        finish.json()["data"]["access_url"],
        "http://minilvb-1252000001.file.myqcloud.com/video.mp4"
    );
    // Same content again: instant upload straight from init.
    let again = env
        .upload_to(
            API,
            &url,
            &sign,
            &[
                ("op", b"upload_slice_init"),
                ("filesize", b"2500"),
                ("sha", sha.as_bytes()),
            ],
        )
        .await;
    assert!(
        again.json()["data"]["access_url"].is_string(),
        "{:?}",
        again.json()
    );
    let download = env
        .get("minilvb-1252000001.cossh.myqcloud.com", "/video.mp4", None)
        .await;
    assert_eq!(download.body.as_ref(), content.as_slice());
}

// ---------------------------------------------------------------------------------------------------
// stat, list, create, update, delete, move, copy

#[tokio::test]
async fn stat_and_list() {
    let env = env();
    let sign = env.healthy_sign();
    for name in ["a", "b", "c"] {
        assert_eq!(
            env.upload(&format!("/dir/{name}.jpg"), name.as_bytes(), &sign)
                .await
                .code(),
            0
        );
    }
    let stat = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/a.jpg?op=stat",
            Some(&sign),
        )
        .await;
    let data = &stat.json()["data"];
    assert_eq!(data["filesize"], 1);
    assert_eq!(data["sha"], sha1_hex(b"a"));
    assert_eq!(
        data["source_url"],
        "http://minilvb-1252000001.cossh.myqcloud.com/dir/a.jpg"
    );
    let missing = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/zz.jpg?op=stat",
            Some(&sign),
        )
        .await;
    assert_eq!(
        (missing.code(), missing.message().as_str()),
        (-166, "ERROR_CMD_COS_INDEX_ERROR")
    );

    let page1 = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/?op=list&num=2",
            Some(&sign),
        )
        .await;
    let data = &page1.json()["data"];
    assert_eq!(data["listover"], false);
    let names: Vec<_> = data["infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["a.jpg", "b.jpg"]);
    let context = data["context"].as_str().unwrap().to_string();
    let page2 = env
        .get(
            API,
            &format!("/files/v2/1252000001/minilvb/dir/?op=list&num=2&context={context}"),
            Some(&sign),
        )
        .await;
    assert_eq!(page2.json()["data"]["infos"][0]["name"], "c.jpg");
    assert_eq!(page2.json()["data"]["listover"], true);
    // Prefix search.
    let prefix = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/b?op=list&num=10",
            Some(&sign),
        )
        .await;
    assert_eq!(
        prefix.json()["data"]["infos"].as_array().map(Vec::len),
        Some(1)
    );

    let over = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/?op=list&num=200",
            Some(&sign),
        )
        .await;
    assert_eq!(
        (over.code(), over.message().as_str()),
        (-165, "ERROR_CMD_COS_MAX_NUM")
    );
    let bad = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/dir/?op=list&num=lots",
            Some(&sign),
        )
        .await;
    assert_eq!(
        (bad.code(), bad.message().as_str()),
        (-170, "ERROR_CMD_COS_INVALID_LIST_NUM")
    );
    let nodir = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/nodir/?op=list&num=10",
            Some(&sign),
        )
        .await;
    assert_eq!(nodir.message(), "ERROR_CMD_COS_INDEX_ERROR");
}

#[tokio::test]
async fn folders_delete_update_move_and_copy() {
    let env = env();
    let sign = env.healthy_sign();
    let create = env
        .json_op("/album/", &sign, r#"{"op":"create","biz_attr":"photos"}"#)
        .await;
    assert_eq!(create.code(), 0, "{:?}", create.json());
    // §8.4: create-folder data is {ctime} only.
    let data = create.json()["data"].clone();
    assert_eq!(
        data.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["ctime".to_string()])
    );
    let again = env.json_op("/album/", &sign, r#"{"op":"create"}"#).await;
    assert_eq!(
        (again.code(), again.message().as_str()),
        (-178, "ERROR_CMD_COS_PATH_CONFLICT")
    );
    assert_eq!(env.upload("/album/p.jpg", b"p", &sign).await.code(), 0);

    // Delete needs a single-use signature bound to the file.
    let multi = env
        .json_op("/album/p.jpg", &sign, r#"{"op":"delete"}"#)
        .await;
    assert_eq!(multi.message(), "ERROR_PROXY_AUTH_FAILED");
    let other = env
        .json_op(
            "/album/p.jpg",
            &env.single("/album/q.jpg"),
            r#"{"op":"delete"}"#,
        )
        .await;
    assert_eq!(other.message(), "ERROR_PROXY_AUTH_FAILED");
    let not_empty = env
        .json_op("/album/", &env.single("/album/"), r#"{"op":"delete"}"#)
        .await;
    assert_eq!(
        (not_empty.code(), not_empty.message().as_str()),
        (-173, "ERROR_CMD_COS_DIR_NOT_EMPTY")
    );

    // Copy, move.
    let copy = env
        .json_op(
            "/album/p.jpg",
            &sign,
            r#"{"op":"copy","dest_fileid":"/album/c.jpg"}"#,
        )
        .await;
    assert_eq!(copy.code(), 0, "{:?}", copy.json());
    let onto = env
        .json_op(
            "/album/p.jpg",
            &sign,
            r#"{"op":"move","dest_fileid":"/album/c.jpg","to_over_write":0}"#,
        )
        .await;
    assert_eq!(onto.message(), "ERROR_CMD_COS_FILE_EXIST");
    let moved = env
        .json_op(
            "/album/p.jpg",
            &sign,
            r#"{"op":"move","dest_fileid":"/1252000001/minilvb/album/m.jpg"}"#,
        )
        .await;
    assert_eq!(moved.code(), 0, "{:?}", moved.json());
    let gone = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/album/p.jpg?op=stat",
            Some(&sign),
        )
        .await;
    assert_eq!(gone.message(), "ERROR_CMD_COS_INDEX_ERROR");

    // Update makes an object private; the source domain then wants a signature.
    let update = env
        .json_op("/album/m.jpg", &env.single("/album/m.jpg"), r#"{"op":"update","authority":"eWRPrivate","custom_headers":{"Content-Type":"image/x-test"}}"#)
        .await;
    assert_eq!(
        update.code(),
        0,
        "{:?} {:?}",
        update.json(),
        env.ctx.journal.of(Service::Cos).last()
    );
    let source = "minilvb-1252000001.cossh.myqcloud.com";
    assert_eq!(
        env.get(source, "/album/m.jpg", None).await.status,
        StatusCode::FORBIDDEN
    );
    let encoded: String =
        url::form_urlencoded::byte_serialize(env.healthy_sign().as_bytes()).collect();
    let signed = env
        .get(source, &format!("/album/m.jpg?sign={encoded}"), None)
        .await;
    assert_eq!(signed.status, StatusCode::OK);
    assert_eq!(signed.headers[header::CONTENT_TYPE], "image/x-test");
    assert_eq!(signed.body.as_ref(), b"p");

    // Delete, then delete again.
    let del = env
        .json_op(
            "/album/m.jpg",
            &env.single("/album/m.jpg"),
            r#"{"op":"delete"}"#,
        )
        .await;
    assert_eq!(del.code(), 0);
    let missing = env
        .json_op(
            "/album/zz.jpg",
            &env.single("/album/zz.jpg"),
            r#"{"op":"delete"}"#,
        )
        .await;
    assert_eq!(
        (missing.code(), missing.message().as_str()),
        (-197, "ERROR_CMD_FILE_NOTEXIST")
    );
}

// ---------------------------------------------------------------------------------------------------
// Downloads and FAQ 5

#[tokio::test]
async fn faq_5_cdn_domain_fails_while_acceleration_is_off_but_source_works() {
    let env = env();
    let reply = env
        .upload("/cover.jpg", b"cover", &env.healthy_sign())
        .await;
    assert_eq!(reply.code(), 0);
    let cdn = "minilvb-1252000001.file.myqcloud.com";
    let source = "minilvb-1252000001.cossh.myqcloud.com";
    let on = env.get(cdn, "/cover.jpg", None).await;
    assert_eq!(
        (on.status, on.body.as_ref()),
        (StatusCode::OK, b"cover".as_ref())
    );
    assert_eq!(on.headers[header::CONTENT_TYPE], "image/jpeg");
    env.ctx.update_tenant(|t| t.cos.buckets[0].cdn = false);
    let off = env.get(cdn, "/cover.jpg", None).await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
    assert_eq!(off.headers[header::SERVER], "NWS_SP");
    assert_eq!(
        env.last_outcome(),
        (
            "GET minilvb-1252000001.file.myqcloud.com/cover.jpg".to_string(),
            "HTTP 404 cdn acceleration off".to_string()
        )
    );
    let src = env.get(source, "/cover.jpg", None).await;
    assert_eq!(
        (src.status, src.body.as_ref()),
        (StatusCode::OK, b"cover".as_ref())
    );
    // The source domain of another region does not hold the bucket.
    let wrong = env
        .get("minilvb-1252000001.cosgz.myqcloud.com", "/cover.jpg", None)
        .await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    let missing = env.get(source, "/nothing.jpg", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// §8.4: upload, stat and create folder take a multi-use signature only; a multi-use one may live at
/// most three months.
#[tokio::test]
async fn signature_kinds_follow_the_operation() {
    let env = env();
    let single = env.single("/kinds/a.jpg");
    let up = env.upload("/kinds/a.jpg", b"a", &single).await;
    assert_eq!(
        (up.code(), up.message().as_str()),
        (-97, "ERROR_PROXY_AUTH_FAILED"),
        "{:?}",
        up.json()
    );
    let sign = env.healthy_sign();
    assert_eq!(env.upload("/kinds/a.jpg", b"a", &sign).await.code(), 0);
    let stat = env
        .get(
            API,
            "/files/v2/1252000001/minilvb/kinds/a.jpg?op=stat",
            Some(&env.single("/kinds/a.jpg")),
        )
        .await;
    assert_eq!(stat.message(), "ERROR_PROXY_AUTH_FAILED");
    let create = env
        .json_op(
            "/kinds/sub/",
            &env.single("/kinds/sub/"),
            r#"{"op":"create"}"#,
        )
        .await;
    assert_eq!(create.message(), "ERROR_PROXY_AUTH_FAILED");

    let now = env.ctx.clock.now();
    let lasting = |days: i64| {
        SignRequest {
            appid: APPID,
            bucket: BUCKET,
            secret_id: SID,
            expire: now + days * 86400,
            time: now,
            rand: 777,
            fileid: "",
        }
        .sign(SKEY)
    };
    let long = env.upload("/kinds/b.jpg", b"b", &lasting(91)).await;
    assert_eq!(
        (long.code(), long.message().as_str()),
        (-97, "ERROR_PROXY_AUTH_FAILED")
    );
    assert_eq!(
        env.upload("/kinds/b.jpg", b"b", &lasting(90)).await.code(),
        0
    );
}

/// §8.4: an APPID the service does not know is -62 ERROR_PROXY_AUTH_APPID.
#[tokio::test]
async fn an_unconfigured_appid_is_62() {
    let env = env();
    let reply = env
        .upload_to(
            API,
            &format!("/files/v2/1250000000/{BUCKET}/a.jpg"),
            &env.multi(1250000000, BUCKET, SID, SKEY),
            &[("op", b"upload"), ("filecontent", b"x")],
        )
        .await;
    assert_eq!(
        (reply.code(), reply.message().as_str()),
        (-62, "ERROR_PROXY_AUTH_APPID"),
        "{:?}",
        reply.json()
    );
}
