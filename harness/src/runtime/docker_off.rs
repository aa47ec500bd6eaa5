//! The docker provider when the crate is built without its `docker` feature: the same API, and every start
//! fails naming the feature, so `--runtime auto` falls back to local processes and `--runtime docker` says why
//! it cannot run.

use std::time::Duration;

use super::RuntimeError;
use super::db::ServerAddr;

/// The MariaDB image built by `scripts/images.sh`.
pub const MARIADB_IMAGE: (&str, &str) = ("local/tcharness-mariadb", "10.11");

const NO_FEATURE: &str = "this build of tcharness has no docker provider (cargo feature `docker`)";

fn unavailable() -> RuntimeError {
    RuntimeError::DockerUnavailable(NO_FEATURE.to_string())
}

/// Never: without the feature there is nothing to talk to an engine with.
pub async fn engine_answers() -> bool {
    false
}

/// Never, for the same reason.
pub async fn image_exists(_image: &str) -> bool {
    false
}

/// A MariaDB container; never started in this build.
pub struct MariadbContainer {
    pub addr: ServerAddr,
    pub container: OwnedContainer,
}

impl MariadbContainer {
    pub async fn start() -> Result<MariadbContainer, RuntimeError> {
        Err(unavailable())
    }
}

/// A container; none exists in this build.
pub struct OwnedContainer(());

impl OwnedContainer {
    pub fn id(&self) -> Option<String> {
        None
    }

    pub async fn stdout(&self) -> String {
        String::new()
    }

    pub async fn stderr(&self) -> String {
        String::new()
    }

    pub async fn wait_line(
        &self,
        _announced: impl Fn(&str) -> Option<String>,
        _within: Duration,
    ) -> Result<String, RuntimeError> {
        Err(unavailable())
    }

    pub async fn remove(&mut self) -> Result<(), RuntimeError> {
        Ok(())
    }
}

pub async fn start_backend_container(
    _image: &str,
    _args: Vec<String>,
    _env: Vec<(String, String)>,
    _host_root: &str,
    _container_root: &str,
) -> Result<OwnedContainer, RuntimeError> {
    Err(unavailable())
}
