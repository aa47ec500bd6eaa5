//! The tenant: one customer's whole Tencent Cloud account (LVB, COS, IM) plus the database it created.
//!
//! Loaded from `scenarios/tenant.toml`. Each service owns the shape of its own console section.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cos::console::CosConsole;
use super::im::console::ImConsole;
use super::lvb::console::LvbConsole;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub lvb: LvbConsole,
    pub cos: CosConsole,
    pub im: ImConsole,
    pub database: Database,
}

/// The database the customer created with createDB.sh (and, unless mutated, names in cdn.route.ini).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub name: String,
    pub user: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("cannot read tenant file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("tenant file {path} is not valid: {message}")]
    Parse { path: String, message: String },
}

impl Tenant {
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, TenantError> {
        toml::from_str(text).map_err(|e| TenantError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Self, TenantError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TenantError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::from_toml(&text, &origin)
    }

    /// The healthy tenant shipped in `scenarios/tenant.toml`, compiled in so tests need no file lookup.
    pub fn healthy() -> Self {
        // The file is part of the crate's own sources; a parse failure is a build defect, caught by a test.
        Self::from_toml(HEALTHY, "scenarios/tenant.toml").expect("scenarios/tenant.toml is valid")
    }
}

/// The text of `scenarios/tenant.toml`.
pub const HEALTHY: &str = include_str!("../../scenarios/tenant.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tenant_parses() {
        let tenant = Tenant::healthy();
        assert_eq!(tenant.lvb.bizid, 8888);
        assert!(!tenant.cos.buckets.is_empty());
        assert!(!tenant.im.apps.is_empty());
    }

    #[test]
    fn an_unknown_key_names_the_file() {
        let err = Tenant::from_toml("[lvb]\nbogus = 1\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("t.toml"), "{err}");
    }
}
