//! The app's configuration: constants by their real names (from a real-looking TCConstants.h, the
//! Android file, or one by one), scenario steps, the phone's name resolution and the pinned texts.

use tcharness::terminal::net::{is_tencent_http_host, is_tencent_push_host};
use tcharness::terminal::shown;
use tcharness::terminal::{AppConstants, AppStep, ConstantsError, PushUrl};

/// Shaped like the iOS demo's header: comments, unrelated constants, `#define` with `@"..."`,
/// a URL containing `//`, and a commented-out old value.
const TC_CONSTANTS_H: &str = r#"//
//  TCConstants.h
//  TCLVBIMDemo
//
//  Created by realingzhou on 16/8/22.
//  Copyright © 2016 tencent. All rights reserved.
//

#ifndef TCConstants_h
#define TCConstants_h

// Http configuration: the business server address
#define kHttpServerAddr                     @"http://203.0.113.10/interface.php"
//#define kHttpServerAddr                   @"http://old.example.com/interface.php"

#define kHttpTimeout                        30

/* IM SDK: sdkappid and accountType (hosted mode) */
#define kTCIMSDKAppId                       @"1400012345"
#define kTCIMSDKAccountType                 @"8808"

// COS
#define kTCCOSAppId                         @"1252000001"   // COS APPID
#define kTCCOSBucket                        @"minilvb"
#define kTCCOSRegion                        @"sh"           // sh / gz / tj

#define kLivePlayShareAddr                  @"http://example.com/share.html"
#define kXiaoZhiBoAppId                     @"1234567"
static NSString * const kTCCloudAPISecretId = @"deprecated";

#endif /* TCConstants_h */
"#;

#[test]
fn reads_a_real_looking_tc_constants_h() {
    let c = AppConstants::from_header(TC_CONSTANTS_H);
    assert_eq!(c.http_server_addr, "http://203.0.113.10/interface.php");
    assert_eq!(c.im_sdk_app_id, "1400012345");
    assert_eq!(c.im_account_type, "8808");
    assert_eq!(c.cos_app_id, "1252000001");
    assert_eq!(c.cos_bucket, "minilvb");
    assert_eq!(c.cos_region, "sh");
    assert_eq!(c.check_complete(), Ok(()));
}

#[test]
fn reads_the_android_constants_file() {
    let java = r#"
package com.tencent.qcloud.xiaozhibo.base;
public class TCConstants {
    // business server
    public static final String SVR_POST_URL = "http://198.51.100.7/interface.php";
    public static final int IMSDK_APPID = 1400012345;
    public static final int IMSDK_ACCOUNT_TYPE = 8808;
    public static final String COS_APPID = "1252000001";
    public static final String COS_BUCKET = "minilvb"; // bucket
    public static final String COS_REGION = "tj";
    public static final String SVR_RETURN_CODE = "returnValue";
}
"#;
    let c = AppConstants::from_header(java);
    assert_eq!(c.http_server_addr, "http://198.51.100.7/interface.php");
    assert_eq!(c.im_sdk_app_id, "1400012345");
    assert_eq!(c.im_account_type, "8808");
    assert_eq!(c.cos_region, "tj");
    assert_eq!(c.get("COS_BUCKET"), Some("minilvb"));
}

#[test]
fn a_missing_constant_is_reported_by_its_ios_name() {
    let c = AppConstants::from_header("#define kTCIMSDKAppId @\"1\"\n");
    assert_eq!(
        c.check_complete(),
        Err(ConstantsError::Missing(
            tcharness::terminal::ConstantName::ImAccountType
        ))
    );
}

#[test]
fn set_and_get_accept_both_spellings_and_refuse_unknown_names() {
    let mut c = AppConstants::from_header(TC_CONSTANTS_H);
    c.set("kTCCOSRegion", "gz").unwrap();
    assert_eq!(c.get("COS_REGION"), Some("gz"));
    c.set("SVR_POST_URL", "http://127.0.0.1:9/interface.php")
        .unwrap();
    assert_eq!(
        c.get("kHttpServerAddr"),
        Some("http://127.0.0.1:9/interface.php")
    );
    assert_eq!(
        c.set("kTCCOSSecretKey", "x"),
        Err(ConstantsError::UnknownName("kTCCOSSecretKey".to_string()))
    );
    assert_eq!(c.get("kHttpTimeout"), None);
}

#[test]
fn header_round_trips() {
    let c = AppConstants::from_header(TC_CONSTANTS_H);
    let again = AppConstants::from_header(&c.to_header());
    assert_eq!(c, again);
}

#[test]
fn steps_parse_from_scenario_toml() {
    #[derive(serde::Deserialize)]
    struct Flow {
        flow: Vec<AppStep>,
    }
    let text = r#"
[[flow]]
step = "register"
count = 3
[[flow]]
step = "login"
[[flow]]
step = "start_live"
title = "hello"
[[flow]]
step = "fetch_list"
flag = 2
[[flow]]
step = "play_replay"
"#;
    let flow: Flow = toml::from_str(text).unwrap();
    assert_eq!(
        flow.flow,
        vec![
            AppStep::Register {
                username: None,
                password: None,
                count: Some(3)
            },
            AppStep::Login {
                username: None,
                password: None
            },
            AppStep::StartLive {
                title: Some("hello".to_string())
            },
            AppStep::FetchList {
                flag: 2,
                pageno: None,
                pagesize: None
            },
            AppStep::PlayReplay,
        ]
    );
    assert_eq!(flow.flow[3].name(), "fetch_list");
    let bad: Result<Flow, _> =
        toml::from_str("[[flow]]\nstep = \"fetch_list\"\nflag = 1\nfalg = 2\n");
    assert!(bad.is_err(), "unknown fields are refused");
    let bad: Result<Flow, _> = toml::from_str("[[flow]]\nstep = \"fly\"\n");
    assert!(bad.is_err(), "unknown steps are refused");
}

#[test]
fn tencent_names_go_to_the_cloud_and_others_do_not() {
    for host in [
        "sh.file.myqcloud.com",
        "minilvb-1252000001.file.myqcloud.com",
        "minilvb-1252000001.cossh.myqcloud.com",
        "8888.liveplay.myqcloud.com",
        "200011683.vod2.myqcloud.com",
        "tls.qcloud.com",
        "openim.tim.qq.com",
    ] {
        assert!(is_tencent_http_host(host), "{host}");
    }
    for host in [
        "127.0.0.1",
        "203.0.113.10",
        "example.com",
        "myqcloud.com.evil.org",
    ] {
        assert!(!is_tencent_http_host(host), "{host}");
    }
    assert!(is_tencent_push_host("8888.livepush.myqcloud.com"));
    assert!(is_tencent_push_host("8888.livepush2.myqcloud.com"));
    assert!(!is_tencent_push_host("8888.liveplay.myqcloud.com"));
    assert!(!is_tencent_push_host("127.0.0.1"));
}

#[test]
fn push_urls_keep_their_query_in_the_publish_name() {
    let url = "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01?bizid=8888&record_interval=10800&record=flv|hls&txSecret=abc&txTime=5a3e7d7f";
    let p = PushUrl::parse(url).unwrap();
    assert_eq!(p.host, "8888.livepush2.myqcloud.com");
    assert_eq!(p.port, 1935);
    assert_eq!(p.app, "live");
    assert_eq!(
        p.publish_name,
        "8888_anchor01?bizid=8888&record_interval=10800&record=flv|hls&txSecret=abc&txTime=5a3e7d7f"
    );
    assert_eq!(p.tc_url, "rtmp://8888.livepush2.myqcloud.com/live");
    assert_eq!(
        p.display(),
        "rtmp://8888.livepush2.myqcloud.com/live/8888_anchor01"
    );
    let with_port = PushUrl::parse("rtmp://127.0.0.1:19350/live/x").unwrap();
    assert_eq!(with_port.port, 19350);
    assert_eq!(with_port.tc_url, "rtmp://127.0.0.1:19350/live");
    assert!(PushUrl::parse("http://x/live/y").is_none());
    assert!(PushUrl::parse("rtmp://host/live").is_none());
}

#[test]
fn app_visible_texts_are_pinned() {
    let s = shown::http_status(500);
    assert_eq!(s.android, "HTTP Req error, error code:500");
    assert_eq!(s.ios, "internal server error");
    let t = shown::request_timeout();
    assert_eq!(t.android, "request times out");
    assert_eq!(t.ios, "The request timed out.");
    assert_eq!(
        shown::push_event_text(shown::PUSH_SERVER_DISCONNECT),
        "RTMP server actively disconnects"
    );
    assert_eq!(shown::PUSH_SERVER_DISCONNECT, 3004);
    let warning = shown::push_event_info(3004);
    assert_eq!(warning.name, "PUSH_WARNING_SERVER_DISCONNECT");
    assert_eq!(
        warning.text,
        "RTMP服务器主动断开，请检查推流地址的合法性或防盗链有效期"
    );
    assert_eq!(
        shown::push_event_info(-1307).name,
        "PUSH_ERR_NET_DISCONNECT"
    );
    assert_eq!(shown::push_event_info(1102).text, "启动网络重连");
    assert_eq!(shown::NET_DISCONNECTED_DIALOG, "网络异常，请检查网络");
    assert_eq!(
        shown::cos_error(-97, "ERROR_PROXY_AUTH_FAILED").android,
        "upload failed, code:-97, message:ERROR_PROXY_AUTH_FAILED"
    );
    assert_eq!(
        shown::login_failed(70014, "").android,
        "Login failed, error code:70014"
    );
    assert_eq!(
        shown::SECURITY_REFUSAL,
        "Login failed. Registration operation is rejected for security reason."
    );
    assert_eq!(shown::SECURITY_REFUSAL_SHOWN, "登录失败注册操作被安全打击");
    assert!(shown::is_security_refusal(10, ""));
    assert!(!shown::is_security_refusal(3, "操作太频繁"));
    assert!(shown::is_security_refusal(99, "注册操作被安全打击"));
    assert!(!shown::is_security_refusal(2, "duplicate"));
    assert_eq!(shown::NO_REPLAYS, "No replay yet");
}
