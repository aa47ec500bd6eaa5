//! What the customer has in the COS v4 console: APPIDs, API key pairs, buckets.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosConsole {
    /// The account's COS APPID (`COSKEY_APPID`, `kTCCOSAppId`).
    pub appid: u64,
    /// API key pairs; each is owned by one APPID.
    pub keys: Vec<CosKey>,
    /// Buckets of every APPID known to the emulated COS.
    pub buckets: Vec<Bucket>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosKey {
    pub secret_id: String,
    pub secret_key: String,
    /// The APPID that owns this key pair.
    pub appid: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub name: String,
    pub appid: u64,
    /// v4 region short name: `sh`, `gz`, `tj`, `sgp`, `bj`, `cd`, `hk`, `ca`, `ger`.
    pub region: String,
    #[serde(default)]
    pub generation: Generation,
    /// CDN ("domain acceleration") on the `{bucket}-{appid}.file.myqcloud.com` domain. Off by default in v4.
    #[serde(default)]
    pub cdn: bool,
    #[serde(default)]
    pub authority: Authority,
}

/// Which COS system the bucket was created in (FAQ 6: v3 buckets are invisible to the v4 API).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    V3,
    #[default]
    V4,
}

/// Bucket read/write authority, with the v4 API's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Authority {
    #[serde(rename = "eWRPrivate")]
    PrivateReadWrite,
    #[default]
    #[serde(rename = "eWPrivateRPublic")]
    PublicRead,
}
