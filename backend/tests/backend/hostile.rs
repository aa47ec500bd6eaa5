//! Hostile input to the interface and the callback over real sockets, against a real MariaDB: each gets
//! the backend's own `returnValue` or `{"code":..}` answer, SQL-looking text stays data, and a
//! healthy request is answered afterwards.

use serde_json::json;

use crate::common::*;

const INJECTIONS: [&str; 4] = [
    "x' OR '1'='1",
    "'); DROP TABLE live_data; --",
    "\\'; UPDATE live_data SET like_count = 99; #",
    "a\u{0}b`\"",
];

#[tokio::test]
async fn deep_json_gets_4001_and_the_callback_its_code() {
    let b = backend(Setup::default()).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (s, body) = b.post_raw("/interface.php", deep.clone()).await;
    assert_eq!(s, 200);
    assert!(body.starts_with(r#"{"returnValue":4001,"#), "{body}");
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(50_000), "}".repeat(50_000));
    let (s, body) = b.post_raw("/callback/Live_callback.php", deep_object).await;
    assert_eq!(s, 200);
    assert!(body.starts_with(r#"{"code":"#), "{body}");
    let v = b.call(json!({"Action":"GetCOSSign"})).await;
    assert_eq!(v["returnValue"], 0, "a healthy request after: {v}");
}

#[tokio::test]
async fn sql_looking_input_is_stored_and_matched_as_text() {
    let b = backend(Setup::default()).await;
    // A bystander whose row must not change.
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":"bystander","groupid":"g","title":"t"}))
        .await;
    assert_eq!(v["returnValue"], 0, "{v}");
    for (i, evil) in INJECTIONS.iter().enumerate() {
        let v = b
            .call(json!({"Action":"RequestLVBAddr","userid":evil,"groupid":evil,"title":evil,
                "userinfo":{"nickname":evil,"headpic":evil,"frontcover":evil,"location":evil,"desc":evil}}))
            .await;
        assert_eq!(v["returnValue"], 0, "{evil}: {v}");
        for call in [
            json!({"Action":"ChangeCount","userid":evil,"type":1,"optype":0,"flag":0}),
            json!({"Action":"ChangeStatus","userid":evil,"status":1}),
            json!({"Action":"EnterGroup","userid":evil,"liveuserid":evil,"groupid":evil,"flag":0,"nickname":evil,"headpic":evil}),
            json!({"Action":"FetchList","flag":1,"pageno":evil,"pagesize":evil}),
            json!({"Action":"GetUserInfo","userid":evil}),
        ] {
            let v = b.call(call.clone()).await;
            assert!(v["returnValue"].is_i64(), "{call}: {v}");
        }
        assert_eq!(
            b.sql("SELECT COUNT(*) FROM live_data"),
            (i + 2).to_string(),
            "one row per live"
        );
        assert_eq!(
            b.sql(&format!(
                "SELECT COUNT(*) FROM live_data WHERE HEX(userid) = '{}' AND HEX(title) = '{}'",
                hex::encode_upper(evil),
                hex::encode_upper(evil)
            )),
            "1",
            "{evil:?} stored as sent"
        );
    }
    assert_eq!(
        b.sql("SELECT like_count, viewer_count, status FROM live_data WHERE userid = 'bystander'"),
        "0\t0\t0"
    );
    assert_eq!(b.sql("SHOW TABLES LIKE 'live_data'"), "live_data");
}

#[tokio::test]
async fn oversized_fields_are_answered_and_the_backend_keeps_serving() {
    let b = backend(Setup::default()).await;
    let huge = "t".repeat(900 * 1024);
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":"u1","groupid":"g","title":huge}))
        .await;
    assert!(v["returnValue"].is_i64(), "{v}");
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":huge,"groupid":"g","title":"t"}))
        .await;
    assert!(v["returnValue"].is_i64(), "{v}");
    let v = b
        .call(json!({"Action":"RequestLVBAddr","userid":"u2","groupid":"g","title":"t"}))
        .await;
    assert_eq!(v["returnValue"], 0, "a healthy request after: {v}");
}
