//! What the customer set up in the LVB console: ids, keys, callback URL, per-stream state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LvbConsole {
    /// Account APPID (the backend's `APP_ID`, sent as `appid`/`cmd` to `common_access`).
    pub appid: u64,
    /// LVB bizid (the backend's `APP_BIZID`): push/play domains and the `{bizid}_` stream prefix.
    pub bizid: u64,
    /// Push hotlink-protection key (the backend's `PUSH_URL_KEY`).
    pub push_key: String,
    /// API authentication key (the backend's `CALL_BACK_KEY`): signs callbacks and `common_access` calls.
    pub api_key: String,
    /// Callback URL set in the console. `{backend}` is replaced by the backend's `host:port` at run time.
    pub callback_url: String,
    /// Bizid of the VOD domain recordings are served from (`http://{vod_bizid}.vod2.myqcloud.com/...`).
    #[serde(default = "default_vod_bizid")]
    pub vod_bizid: u64,
    /// Streams switched off by `Live_Channel_SetStatus` (or by the console), by stream id.
    #[serde(default)]
    pub disabled_streams: BTreeMap<String, bool>,
}

fn default_vod_bizid() -> u64 {
    200011683
}
