//! Hotlink protection against the §6.2 vectors and the push URL rules; the §6.1 API sign vector.

use tcharness::cloud::Tenant;
use tcharness::cloud::lvb::callback::api_sign;
use tcharness::cloud::lvb::hotlink::{PushRequest, Refusal, check_url, tx_secret};

const KEY: &str = "5d41402abc4b2a76b9719d911017c592";

#[test]
fn tx_secret_matches_the_reference_vectors() {
    assert_eq!(
        tx_secret(KEY, "8888_test001", "579ACB15"),
        "947e47a184f5951d47c976d31a191f60"
    );
    // The hash is over the literal txTime string: lower case gives another secret.
    assert_eq!(
        tx_secret(KEY, "8888_test001", "579acb15"),
        "55c9c38b9d13006b377b3dbecde75f1f"
    );
    assert_eq!(
        tx_secret(KEY, "8888_test001", "5867D600"),
        "0a4c83fc6143a48b20f1eacf659a7cbf"
    );
    assert_eq!(
        tx_secret(KEY, "8888_test001", "579C1B69"),
        "4a6b44fc8e5b116127b7e21d270334fb"
    );
}

#[test]
fn api_sign_matches_the_official_vector() {
    assert_eq!(
        api_sign(KEY, 1471850187),
        "b17971b51ba0fe5916ddcd96692e9fb3"
    );
}

fn console() -> tcharness::cloud::lvb::console::LvbConsole {
    let mut lvb = Tenant::healthy().lvb;
    lvb.push_key = KEY.to_string();
    lvb
}

fn req(domain: &str, stream: &str, query: &str) -> PushRequest {
    PushRequest::parse(
        &format!("rtmp://{domain}/live"),
        "live",
        &format!("{stream}?{query}"),
    )
}

// 0x579ACB15 = 1469762325
const BEFORE: i64 = 1469762000;

#[test]
fn a_vector_url_is_accepted_until_its_txtime() {
    let c = console();
    let ok = req(
        "8888.livepush.myqcloud.com",
        "8888_test001",
        "txSecret=947e47a184f5951d47c976d31a191f60&txTime=579ACB15",
    );
    assert_eq!(check_url(&c, &ok, BEFORE), Ok(()));
    assert_eq!(check_url(&c, &ok, 1469762325), Ok(()));
    assert_eq!(check_url(&c, &ok, 1469762326), Err(Refusal::Expired));
    let lower = req(
        "8888.livepush2.myqcloud.com",
        "8888_test001",
        "txSecret=55c9c38b9d13006b377b3dbecde75f1f&txTime=579acb15",
    );
    assert_eq!(check_url(&c, &lower, BEFORE), Ok(()));
}

#[test]
fn mixing_the_case_of_txtime_breaks_the_secret() {
    let c = console();
    let mixed = req(
        "8888.livepush.myqcloud.com",
        "8888_test001",
        "txSecret=947e47a184f5951d47c976d31a191f60&txTime=579acb15",
    );
    assert_eq!(check_url(&c, &mixed, BEFORE), Err(Refusal::BadSecret));
}

#[test]
fn each_url_defect_has_its_reason() {
    let c = console();
    let good_q = "txSecret=947e47a184f5951d47c976d31a191f60&txTime=579ACB15";
    assert_eq!(
        check_url(
            &c,
            &req("9999.livepush.myqcloud.com", "8888_test001", good_q),
            BEFORE
        ),
        Err(Refusal::UnknownBizid)
    );
    assert_eq!(
        check_url(&c, &req("127.0.0.1:1935", "8888_test001", good_q), BEFORE),
        Err(Refusal::UnknownBizid)
    );
    assert_eq!(
        check_url(
            &c,
            &req("8888.livepush.myqcloud.com", "9999_test001", good_q),
            BEFORE
        ),
        Err(Refusal::UnknownBizid)
    );
    assert_eq!(
        check_url(
            &c,
            &req(
                "8888.livepush.myqcloud.com",
                "8888_test001",
                "txTime=579ACB15"
            ),
            BEFORE
        ),
        Err(Refusal::BadSecret)
    );
    assert_eq!(
        check_url(
            &c,
            &req(
                "8888.livepush.myqcloud.com",
                "8888_test001",
                "txSecret=00000000000000000000000000000000&txTime=579ACB15"
            ),
            BEFORE
        ),
        Err(Refusal::BadSecret)
    );
    let other_app = PushRequest::parse(
        "rtmp://8888.livepush.myqcloud.com/vod",
        "vod",
        &format!("8888_test001?{good_q}"),
    );
    assert_eq!(check_url(&c, &other_app, BEFORE), Err(Refusal::UnknownApp));
    // A secret made with another key (FAQ 1.2: wrong PUSH_URL_KEY in the backend).
    let wrong_key = tx_secret(
        "0123456789abcdef0123456789abcdef",
        "8888_test001",
        "579ACB15",
    );
    assert_eq!(
        check_url(
            &c,
            &req(
                "8888.livepush.myqcloud.com",
                "8888_test001",
                &format!("txSecret={wrong_key}&txTime=579ACB15")
            ),
            BEFORE
        ),
        Err(Refusal::BadSecret)
    );
    assert_eq!(Refusal::BadSecret.reason(), "refused: bad txSecret");
    assert_eq!(Refusal::Expired.reason(), "refused: txTime expired");
}
