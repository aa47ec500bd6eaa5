//! Benchmark of the emulated IM (ignored by default; it measures, it does not assert speed):
//! UserSig verifications per second (v1, v2) on one thread, and IM logins per second over HTTP.
//!
//! `cargo test --release -p harness --test im_bench -- --ignored --nocapture`

use std::time::{Duration, Instant};

use serde_json::json;
use tcharness::cloud::im::login::{self, LoginRequest};
use tcharness::cloud::im::usersig::{self, V1Claims};
use tcharness::cloud::{Cloud, CloudOptions, Tenant};

/// Runs `f` repeatedly for about `budget`; returns calls per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm-up.
    for _ in 0..100 {
        f();
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        calls += 100;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn usersig_verifications_per_second() {
    let app = Tenant::healthy().im.apps[0].clone();
    let now = 1_700_000_000;
    let v2 = usersig::issue_v2(&app.secret_key, app.sdkappid, "anchor01", now, 86400);
    let key = usersig::v1_private_key(&app.private_key_pem).expect("tenant key");
    let appid = app.sdkappid.to_string();
    let v1 = usersig::issue_v1(
        &key,
        &V1Claims {
            account_type: &app.account_type,
            identifier: "anchor01",
            appid_at_3rd: &appid,
            sdkappid: app.sdkappid,
            time: now,
            expire_after: 86400,
        },
    );
    for (name, sig) in [("v2", &v2), ("v1", &v1)] {
        let req = LoginRequest {
            sdkappid: app.sdkappid,
            account_type: &app.account_type,
            identifier: "anchor01",
            appid_at_3rd: &appid,
            user_sig: sig,
        };
        assert!(login::check(Some(&app), &req, now).is_ok());
        // The full check: decode (base64, zlib, JSON), key parse, fields, signature.
        let per_sec = rate(Duration::from_secs(2), || {
            let _ = std::hint::black_box(login::check(Some(&app), &req, now));
        });
        println!("BENCH usersig {name} verifications/s (1 thread): {per_sec:.0}");
    }
    // The signature step alone, to tell the curve arithmetic from the decoding around it.
    let Ok(usersig::UserSig::V1(fields)) = usersig::decode(&v1) else {
        panic!("v1 decodes")
    };
    let public = usersig::v1_public_key(&app.public_key_pem).expect("tenant key");
    let per_sec = rate(Duration::from_secs(2), || {
        let _ = std::hint::black_box(usersig::v1_signature_valid(&fields, &public));
    });
    println!("BENCH v1 ECDSA P-256 verify only (ring)/s (1 thread): {per_sec:.0}");
    let per_sec = rate(Duration::from_secs(2), || {
        let _ = std::hint::black_box(usersig::decode(&v1));
    });
    println!("BENCH usersig v1 decode only/s (1 thread): {per_sec:.0}");
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn im_logins_per_second_over_http() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let cloud = Cloud::start(Tenant::healthy(), CloudOptions::default())
            .await
            .expect("cloud starts");
        let (secret, sdkappid) =
            cloud.ctx.with_tenant(|t| (t.im.apps[0].secret_key.clone(), t.im.apps[0].sdkappid));
        let sig = usersig::issue_v2(&secret, sdkappid, "anchor01", cloud.ctx.clock.now(), 86400);
        let body = json!({"sdkappid": sdkappid, "accountType": "8808", "identifier": "anchor01",
                          "appidAt3rd": sdkappid.to_string(), "userSig": sig})
        .to_string();
        let client = reqwest::Client::builder()
            .resolve("openim.tim.qq.com", cloud.http_addr())
            .no_proxy()
            .build()
            .expect("client");
        for concurrency in [1usize, 8] {
            let budget = Duration::from_secs(3);
            let start = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let client = client.clone();
                let body = body.clone();
                tasks.push(tokio::spawn(async move {
                    let mut done = 0u64;
                    while start.elapsed() < budget {
                        let reply: serde_json::Value = client
                            .post("http://openim.tim.qq.com/v1/login")
                            .body(body.clone())
                            .send()
                            .await
                            .expect("login request")
                            .json()
                            .await
                            .expect("JSON");
                        assert_eq!(reply["ErrorCode"], 0);
                        done += 1;
                    }
                    done
                }));
            }
            let mut total = 0;
            for task in tasks {
                total += task.await.expect("task");
            }
            let per_sec = total as f64 / start.elapsed().as_secs_f64();
            println!(
                "BENCH IM logins/s over HTTP (v2 sig, {concurrency} concurrent clients): {per_sec:.0}"
            );
        }
        println!("journal entries written: {}", cloud.ctx.journal.len());
    });
}
