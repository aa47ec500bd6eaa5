//! The docker provider (testcontainers): MariaDB and the backend as containers on the host network, so all
//! traffic stays on 127.0.0.1 and a containerised backend reaches the emulated cloud on loopback.
//!
//! Images come from `scripts/images.sh` (no registry). Every container runs with tini as PID 1 (a stop does
//! not wait out the 10 s grace period) and carries the owner label the sweep looks for.

use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use testcontainers::core::{Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::RuntimeError;
use super::db::ServerAddr;
use super::local::{free_port, random_password};
use super::sweep::{OWNER_LABEL, owner_id};

/// The MariaDB image built by `scripts/images.sh`.
pub const MARIADB_IMAGE: (&str, &str) = ("local/tcharness-mariadb", "10.11");

/// Splits `name:tag` (a registry port in the name is not a tag).
fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// Whether a docker engine answers (within 3 s).
pub async fn engine_answers() -> bool {
    let probe = tokio::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(
        tokio::time::timeout(Duration::from_secs(3), probe).await,
        Ok(Ok(status)) if status.success()
    )
}

pub async fn image_exists(image: &str) -> bool {
    tokio::process::Command::new("docker")
        .args(["image", "inspect", image])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}

fn docker_err(what: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Docker {
        what: what.to_string(),
        message: e.to_string(),
    }
}

/// A MariaDB container, removed on drop.
pub struct MariadbContainer {
    pub addr: ServerAddr,
    pub container: OwnedContainer,
}

/// A container removed when dropped, also outside a tokio runtime (where testcontainers' own drop would
/// panic): then it is removed through the docker CLI and the handle is leaked.
pub struct OwnedContainer(Option<ContainerAsync<GenericImage>>);

impl OwnedContainer {
    fn new(container: ContainerAsync<GenericImage>) -> OwnedContainer {
        OwnedContainer(Some(container))
    }

    /// The container's id (None once removed).
    pub fn id(&self) -> Option<String> {
        self.0.as_ref().map(|c| c.id().to_string())
    }

    /// Everything the container wrote to stdout so far (empty once removed).
    pub async fn stdout(&self) -> String {
        match &self.0 {
            Some(c) => lossy(c.stdout_to_vec().await.ok()),
            None => String::new(),
        }
    }

    /// Everything the container wrote to stderr so far (empty once removed).
    pub async fn stderr(&self) -> String {
        match &self.0 {
            Some(c) => container_stderr(c).await,
            None => String::new(),
        }
    }

    /// Reads stdout and stderr until a line for which `announced` gives an address, within `within`.
    pub async fn wait_line(
        &self,
        announced: impl Fn(&str) -> Option<String>,
        within: Duration,
    ) -> Result<String, RuntimeError> {
        let Some(container) = &self.0 else {
            return Err(RuntimeError::BackendUnhealthy(
                "the container was removed".to_string(),
            ));
        };
        let mut out = container.stdout(true).lines();
        let mut err = container.stderr(true).lines();
        let read = async {
            let (mut out_open, mut err_open) = (true, true);
            while out_open || err_open {
                let line = tokio::select! {
                    l = out.next_line(), if out_open => l.ok().flatten().or_else(|| { out_open = false; None }),
                    l = err.next_line(), if err_open => l.ok().flatten().or_else(|| { err_open = false; None }),
                };
                if let Some(addr) = line.and_then(|l: String| announced(&l)) {
                    return Some(addr);
                }
            }
            None
        };
        match tokio::time::timeout(within, read).await {
            Ok(Some(addr)) => Ok(addr),
            Ok(None) => Err(RuntimeError::BackendExited {
                status: container.exit_code().await.ok().flatten().map(|c| c as i32),
                stderr: container_stderr(container).await,
            }),
            Err(_) => Err(RuntimeError::BackendUnhealthy(format!(
                "no announcing line within {} s",
                within.as_secs()
            ))),
        }
    }

    /// Removes the container now.
    pub async fn remove(&mut self) -> Result<(), RuntimeError> {
        match self.0.take() {
            Some(container) => container
                .rm()
                .await
                .map_err(|e| docker_err("remove a container", e)),
            None => Ok(()),
        }
    }
}

impl Drop for OwnedContainer {
    fn drop(&mut self) {
        let Some(container) = self.0.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            drop(container);
        } else {
            super::sweep::remove_containers_blocking(&[container.id()]);
            std::mem::forget(container);
        }
    }
}

impl MariadbContainer {
    pub async fn start() -> Result<MariadbContainer, RuntimeError> {
        let mut last = String::new();
        // A port taken between probing and binding makes mariadbd exit; try a few ports.
        for _ in 0..3 {
            let port = free_port()?;
            // The host network: any local user reaches the port, so root has a password of its own.
            let root_password = random_password()?;
            // Readiness is polled by connecting (below): testcontainers' log wait added ~3 s here.
            let request = GenericImage::new(MARIADB_IMAGE.0, MARIADB_IMAGE.1)
                .with_wait_for(WaitFor::Nothing)
                .with_network("host")
                // tmpfs: the datadir is thrown away anyway, and fsyncs on the overlay disk are slow.
                .with_mount(Mount::tmpfs_mount("/var/lib/mysql"))
                .with_env_var("MARIADB_PORT", port.to_string())
                .with_env_var("MARIADB_BIND", "127.0.0.1")
                .with_env_var("MARIADB_ROOT_PASSWORD", root_password.clone())
                .with_label(OWNER_LABEL, owner_id())
                .with_startup_timeout(Duration::from_secs(60))
                .with_host_config_modifier(|hc| hc.init = Some(true));
            match request.start().await {
                Ok(container) => {
                    let addr = ServerAddr {
                        host: "127.0.0.1".to_string(),
                        port,
                        root_password,
                    };
                    match wait_accepting(&addr, &container).await {
                        Ok(()) => {
                            let container = OwnedContainer::new(container);
                            return Ok(MariadbContainer { addr, container });
                        }
                        Err(e) => last = e,
                    }
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(RuntimeError::DbStart { message: last })
    }
}

/// Polls with a connection until the server answers, or the container stops.
async fn wait_accepting(
    addr: &ServerAddr,
    container: &ContainerAsync<GenericImage>,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut delay = Duration::from_millis(20);
    loop {
        if tokio::net::TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .is_ok()
            && addr.connect(None).await.is_ok()
        {
            return Ok(());
        }
        let stopped = !container.is_running().await.unwrap_or(false);
        if stopped || tokio::time::Instant::now() > deadline {
            return Err(format!(
                "MariaDB container {} {}: {}",
                container.id(),
                if stopped {
                    "stopped"
                } else {
                    "not ready within 60 s"
                },
                container_stderr(container).await
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(100));
    }
}

/// Starts a backend container with `host_root` bind-mounted at the profile's root.
pub async fn start_backend_container(
    image: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    host_root: &str,
    container_root: &str,
) -> Result<OwnedContainer, RuntimeError> {
    let (name, tag) = split_image(image);
    let mut request = GenericImage::new(name, tag)
        .with_network("host")
        .with_cmd(args);
    for (k, v) in env {
        request = request.with_env_var(k, v);
    }
    request
        .with_mount(Mount::bind_mount(host_root, container_root))
        .with_label(OWNER_LABEL, owner_id())
        .with_host_config_modifier(|hc| hc.init = Some(true))
        .start()
        .await
        .map(OwnedContainer::new)
        .map_err(|e| docker_err(&format!("start a container of {image}"), e))
}

/// Everything the container wrote to stderr so far.
async fn container_stderr(container: &ContainerAsync<GenericImage>) -> String {
    lossy(container.stderr_to_vec().await.ok())
}

fn lossy(bytes: Option<Vec<u8>>) -> String {
    bytes
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_split_into_name_and_tag() {
        assert_eq!(
            split_image("local/minilvb:latest"),
            ("local/minilvb".to_string(), "latest".to_string())
        );
        assert_eq!(
            split_image("local/minilvb"),
            ("local/minilvb".to_string(), "latest".to_string())
        );
        assert_eq!(
            split_image("host:5000/acme/app"),
            ("host:5000/acme/app".to_string(), "latest".to_string())
        );
    }
}
