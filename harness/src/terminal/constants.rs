//! The app's configuration constants, by the names a customer edits in the real app.
//!
//! iOS keeps them in `TCConstants.h` (`kTCIMSDKAppId`, ...), Android in `TCConstants.java` (`IMSDK_APPID`, ...).
//! Both spellings are accepted; the iOS name is canonical. Values are kept as the strings the customer
//! typed, because a misconfiguration (a non-numeric app id, a stray space) must reach the wire unchanged.

use std::fmt;

/// One configurable constant of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstantName {
    ImSdkAppId,
    ImAccountType,
    CosAppId,
    CosBucket,
    CosRegion,
    HttpServerAddr,
}

impl ConstantName {
    pub const ALL: [ConstantName; 6] = [
        ConstantName::ImSdkAppId,
        ConstantName::ImAccountType,
        ConstantName::CosAppId,
        ConstantName::CosBucket,
        ConstantName::CosRegion,
        ConstantName::HttpServerAddr,
    ];

    /// The iOS name (`TCConstants.h`).
    pub fn ios(self) -> &'static str {
        match self {
            ConstantName::ImSdkAppId => "kTCIMSDKAppId",
            ConstantName::ImAccountType => "kTCIMSDKAccountType",
            ConstantName::CosAppId => "kTCCOSAppId",
            ConstantName::CosBucket => "kTCCOSBucket",
            ConstantName::CosRegion => "kTCCOSRegion",
            ConstantName::HttpServerAddr => "kHttpServerAddr",
        }
    }

    /// The Android name (`TCConstants.java`).
    pub fn android(self) -> &'static str {
        match self {
            ConstantName::ImSdkAppId => "IMSDK_APPID",
            ConstantName::ImAccountType => "IMSDK_ACCOUNT_TYPE",
            ConstantName::CosAppId => "COS_APPID",
            ConstantName::CosBucket => "COS_BUCKET",
            ConstantName::CosRegion => "COS_REGION",
            ConstantName::HttpServerAddr => "SVR_POST_URL",
        }
    }

    /// Looks a name up in either spelling (exact case, as in the source files).
    pub fn parse(name: &str) -> Option<ConstantName> {
        Self::ALL
            .into_iter()
            .find(|c| c.ios() == name || c.android() == name)
    }
}

impl fmt::Display for ConstantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ios())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConstantsError {
    #[error(
        "unknown app constant '{0}' (known: kTCIMSDKAppId, kTCIMSDKAccountType, kTCCOSAppId, kTCCOSBucket, kTCCOSRegion, kHttpServerAddr and their Android names)"
    )]
    UnknownName(String),
    #[error("app constant {0} is not set")]
    Missing(ConstantName),
}

/// The six constants the Mini LVB V1 app needs to reach its backend, COS and IM.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppConstants {
    #[serde(rename = "kTCIMSDKAppId")]
    pub im_sdk_app_id: String,
    #[serde(rename = "kTCIMSDKAccountType")]
    pub im_account_type: String,
    #[serde(rename = "kTCCOSAppId")]
    pub cos_app_id: String,
    #[serde(rename = "kTCCOSBucket")]
    pub cos_bucket: String,
    #[serde(rename = "kTCCOSRegion")]
    pub cos_region: String,
    #[serde(rename = "kHttpServerAddr")]
    pub http_server_addr: String,
}

impl AppConstants {
    /// Sets a constant by its iOS or Android name.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> Result<(), ConstantsError> {
        let which = ConstantName::parse(name)
            .ok_or_else(|| ConstantsError::UnknownName(name.to_string()))?;
        *self.slot_mut(which) = value.into();
        Ok(())
    }

    /// Reads a constant by its iOS or Android name; `None` for an unknown name.
    pub fn get(&self, name: &str) -> Option<&str> {
        ConstantName::parse(name).map(|c| self.value(c))
    }

    pub fn value(&self, name: ConstantName) -> &str {
        match name {
            ConstantName::ImSdkAppId => &self.im_sdk_app_id,
            ConstantName::ImAccountType => &self.im_account_type,
            ConstantName::CosAppId => &self.cos_app_id,
            ConstantName::CosBucket => &self.cos_bucket,
            ConstantName::CosRegion => &self.cos_region,
            ConstantName::HttpServerAddr => &self.http_server_addr,
        }
    }

    fn slot_mut(&mut self, name: ConstantName) -> &mut String {
        match name {
            ConstantName::ImSdkAppId => &mut self.im_sdk_app_id,
            ConstantName::ImAccountType => &mut self.im_account_type,
            ConstantName::CosAppId => &mut self.cos_app_id,
            ConstantName::CosBucket => &mut self.cos_bucket,
            ConstantName::CosRegion => &mut self.cos_region,
            ConstantName::HttpServerAddr => &mut self.http_server_addr,
        }
    }

    /// The first constant left empty, if any: the real app would not build without them.
    pub fn check_complete(&self) -> Result<(), ConstantsError> {
        match ConstantName::ALL
            .into_iter()
            .find(|c| self.value(*c).trim().is_empty())
        {
            Some(missing) => Err(ConstantsError::Missing(missing)),
            None => Ok(()),
        }
    }

    /// Reads the constants out of a customer's `TCConstants.h` (or Android `TCConstants.java`) with
    /// [`crate::formats::app_source`]; the last definition of a name wins, as the preprocessor has it.
    /// Constants this app does not use (kLivePlayShareAddr, BUGLY_APP_ID, share keys...) are ignored, as the
    /// real app ignores them here.
    pub fn from_header(text: &str) -> AppConstants {
        let mut constants = AppConstants::default();
        for d in crate::formats::app_source::parse(text) {
            if let Some(which) = ConstantName::parse(&d.name) {
                *constants.slot_mut(which) = d.value;
            }
        }
        constants
    }

    /// Renders the constants as the iOS header a customer would ship.
    pub fn to_header(&self) -> String {
        let mut out = String::from("// TCConstants.h\n\n");
        for c in ConstantName::ALL {
            out.push_str(&crate::formats::app_source::write_objc(
                c.ios(),
                self.value(c),
            ));
            out.push('\n');
        }
        out
    }
}
