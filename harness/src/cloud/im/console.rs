//! What the customer has in the IM console: apps with their account type and keys.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImConsole {
    pub apps: Vec<ImApp>,
    /// Anti-abuse limit on hosted-account registrations from one source network.
    #[serde(default)]
    pub registration_limit: RegistrationLimit,
}

impl ImConsole {
    /// The app with this sdkappid, if the console has one.
    pub fn app(&self, sdkappid: u64) -> Option<&ImApp> {
        self.apps.iter().find(|app| app.sdkappid == sdkappid)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImApp {
    /// `kTCIMSDKAppId`.
    pub sdkappid: u64,
    /// `kTCIMSDKAccountType` (a decimal string in the SDK).
    pub account_type: String,
    /// UserSig v2 secret key (HMAC-SHA256, used as UTF-8 bytes).
    pub secret_key: String,
    /// UserSig v1 ECDSA P-256 private key, PKCS#8 PEM.
    pub private_key_pem: String,
    /// UserSig v1 ECDSA P-256 public key, SPKI PEM.
    pub public_key_pem: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationLimit {
    /// Registrations allowed from one source network within `window_secs`.
    pub count: u32,
    pub window_secs: i64,
    /// Minimum seconds between two registrations from one network (0: no such limit).
    #[serde(default)]
    pub min_interval_secs: i64,
}

impl Default for RegistrationLimit {
    fn default() -> Self {
        Self {
            count: 20,
            window_secs: 3600,
            min_interval_secs: 0,
        }
    }
}
