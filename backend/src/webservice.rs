//! Outbound calls to LVB `common_access` (`[LIVE_WEBSERVICE] URL`): `GET <url>?cmd=<APP_ID>&interface=<name>
//! &<params>&t=<now>&sign=md5(CALL_BACK_KEY + now)`. `cmd` is the historical name of the appid parameter
//! and is what the original sends; `t` is "now" like the original (Tencent documents it as an expiry).

use std::time::Duration;

use serde_json::Value;

use crate::config::Config;
use crate::sign::api_sign;

/// Longest common_access reply read; real ones are a few hundred bytes (a status per stream).
pub const MAX_REPLY: usize = 1 << 20;

/// HTTP client for common_access with the configured timeout.
pub fn client(config: &Config) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(config.webservice.timeout_ms.max(1)))
        .build()
        .unwrap_or_default()
}

/// Calls one interface; returns the decoded JSON reply or a short error text for the log.
pub async fn call(
    client: &reqwest::Client,
    config: &Config,
    interface: &str,
    params: &[(&str, String)],
    now: i64,
) -> Result<Value, String> {
    let urls = &config.webservice.urls;
    // Several URLs joined with '#': the original picks one at random.
    let url = match urls.len() {
        0 => return Err("no LIVE_WEBSERVICE URL".to_string()),
        1 => &urls[0],
        n => &urls[rand::Rng::gen_range(&mut rand::thread_rng(), 0..n)],
    };
    let t = now.to_string();
    let mut query: Vec<(&str, String)> = vec![
        ("cmd", config.out.app_id.to_string()),
        ("interface", interface.to_string()),
    ];
    query.extend(params.iter().cloned());
    query.push(("t", t.clone()));
    query.push(("sign", api_sign(&config.out.call_back_key, &t)));
    let resp = client
        .get(url)
        .query(&query)
        .send()
        .await
        .map_err(|e| format!("request to {url} failed: {e}"))?;
    let status = resp.status();
    // Read piece by piece up to the limit: the timeout bounds the time, not what a server can send in it.
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading reply of {url} failed: {e}"))?
    {
        if body.len() + chunk.len() > MAX_REPLY {
            return Err(format!(
                "HTTP {} from {url}, reply longer than {MAX_REPLY} bytes",
                status.as_u16()
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice::<Value>(&body).map_err(|_| {
        format!(
            "HTTP {} from {url}, body is not JSON: {}",
            status.as_u16(),
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })
}

/// `ret` of a common_access reply (missing or non-integer → `None`).
pub fn ret_code(reply: &Value) -> Option<i64> {
    match reply.get("ret")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
