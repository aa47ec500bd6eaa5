//! Backend profiles: how to run a backend that speaks the V1 contract (the built-in `minilvb`, or a
//! customer's own, e.g. the original PHP service in their image).
//!
//! ```toml
//! name = "php-live-demo"
//! # local provider: argv; {root} {listen} {host} {port} are substituted. A bare program name is looked up
//! # next to the harness binary first, then on PATH.
//! command = ["php", "-S", "{listen}", "-t", "{root}"]
//! # docker provider: image (host network) and its arguments; the root directory is bind-mounted at `root`.
//! image = "acme/live-demo:1"
//! image_args = []
//! root = "/var/www/live_demo_service"
//! log_dir = "log"                       # relative to the root
//! health_path = "/interface.php"        # GET must answer 2xx
//! ready_line = "listening on http://"   # optional stdout prefix; the text after it is the bound address
//! [schema]                              # one of: command, file, sql. A command runs on the host, or
//!                                       # when its program is not there, as `docker run IMAGE args...`
//! file = "createDB.sql"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::RuntimeError;

/// Where the table DDL comes from.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SchemaSource {
    /// A command whose stdout is the DDL (`minilvb schema`).
    Command(Vec<String>),
    /// A file (relative paths are relative to the profile file).
    File(PathBuf),
    /// The DDL itself.
    Sql(String),
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendProfile {
    pub name: String,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub image_args: Vec<String>,
    /// The backend's root inside its container (the host directory is bind-mounted there).
    #[serde(default = "default_root")]
    pub root: String,
    #[serde(default = "default_log_dir")]
    pub log_dir: String,
    #[serde(default = "default_health_path")]
    pub health_path: String,
    #[serde(default)]
    pub ready_line: Option<String>,
    #[serde(default)]
    pub schema: Option<SchemaSource>,
}

fn default_root() -> String {
    "/srv/live_demo_service".to_string()
}
fn default_log_dir() -> String {
    "log".to_string()
}
fn default_health_path() -> String {
    "/interface.php".to_string()
}

impl BackendProfile {
    /// The reference backend of this workspace, per the backend process contract.
    pub fn minilvb() -> BackendProfile {
        let serve = |root: &str| {
            vec![
                "serve".to_string(),
                "--root".to_string(),
                root.to_string(),
                "--listen".to_string(),
                "{listen}".to_string(),
            ]
        };
        let mut command = vec!["minilvb".to_string()];
        command.extend(serve("{root}"));
        BackendProfile {
            name: "minilvb".to_string(),
            command: Some(command),
            image: Some("local/minilvb:latest".to_string()),
            image_args: serve(&default_root()),
            root: default_root(),
            log_dir: default_log_dir(),
            health_path: default_health_path(),
            ready_line: Some("minilvb listening on http://".to_string()),
            schema: Some(SchemaSource::Command(vec![
                "minilvb".to_string(),
                "schema".to_string(),
            ])),
        }
    }

    pub fn from_toml(text: &str, origin: &Path) -> Result<BackendProfile, RuntimeError> {
        let mut profile: BackendProfile =
            toml::from_str(text).map_err(|e| RuntimeError::Profile {
                path: origin.display().to_string(),
                message: e.to_string(),
            })?;
        if profile.command.is_none() && profile.image.is_none() {
            return Err(RuntimeError::Profile {
                path: origin.display().to_string(),
                message: "a profile needs `command` (local), `image` (docker) or both".to_string(),
            });
        }
        if let Some(SchemaSource::File(file)) = &mut profile.schema
            && file.is_relative()
            && let Some(dir) = origin.parent()
        {
            *file = dir.join(&*file);
        }
        Ok(profile)
    }

    pub fn load(path: &Path) -> Result<BackendProfile, RuntimeError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuntimeError::Profile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, path)
    }

    /// The DDL to run in each scenario database (empty when the profile names none).
    pub async fn schema_sql(&self) -> Result<String, RuntimeError> {
        match &self.schema {
            None => Ok(String::new()),
            Some(SchemaSource::Sql(sql)) => Ok(sql.clone()),
            Some(SchemaSource::File(path)) => {
                tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| RuntimeError::Profile {
                        path: path.display().to_string(),
                        message: format!("cannot read the schema: {e}"),
                    })
            }
            Some(SchemaSource::Command(argv)) => {
                let Some((program, args)) = argv.split_first() else {
                    return Err(self.invalid("the schema command is empty"));
                };
                let local = tokio::process::Command::new(resolve_program(program))
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await;
                let output = match (local, &self.image) {
                    // Not on this machine: ask the image (its entrypoint is the program).
                    (Err(e), Some(image)) if e.kind() == std::io::ErrorKind::NotFound => {
                        tokio::process::Command::new("docker")
                            .args(["run", "--rm", "--network", "none", image])
                            .args(args)
                            .stdin(std::process::Stdio::null())
                            .output()
                            .await
                    }
                    (result, _) => result,
                }
                .map_err(|e| RuntimeError::Spawn {
                    what: format!("{} (schema of profile {})", program, self.name),
                    message: e.to_string(),
                })?;
                if !output.status.success() {
                    return Err(RuntimeError::BackendExited {
                        status: output.status.code(),
                        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    });
                }
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
        }
    }

    fn invalid(&self, message: &str) -> RuntimeError {
        RuntimeError::Profile {
            path: format!("profile {}", self.name),
            message: message.to_string(),
        }
    }
}

/// Replaces `{root}`, `{listen}`, `{host}` and `{port}` in each argument.
pub fn substitute(args: &[String], root: &str, host: &str, port: u16) -> Vec<String> {
    let listen = format!("{host}:{port}");
    args.iter()
        .map(|a| {
            a.replace("{root}", root)
                .replace("{listen}", &listen)
                .replace("{host}", host)
                .replace("{port}", &port.to_string())
        })
        .collect()
}

/// A bare program name is looked up next to the running binary (and its parent, for test binaries in
/// `target/*/deps/`) before PATH, so a workspace build of `minilvb` is found without installing it.
/// `MINILVB_BIN` overrides the location of `minilvb`.
pub fn resolve_program(program: &str) -> PathBuf {
    if program.contains('/') {
        return PathBuf::from(program);
    }
    if program == "minilvb"
        && let Some(path) = std::env::var_os("MINILVB_BIN")
    {
        return PathBuf::from(path);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        for candidate in [dir.join(program), dir.join("..").join(program)] {
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_profile_follows_the_contract() {
        let p = BackendProfile::minilvb();
        let argv = substitute(
            p.command.as_deref().unwrap_or_default(),
            "/r",
            "127.0.0.1",
            0,
        );
        assert_eq!(
            argv,
            [
                "minilvb",
                "serve",
                "--root",
                "/r",
                "--listen",
                "127.0.0.1:0"
            ]
        );
        assert_eq!(p.health_path, "/interface.php");
        assert_eq!(p.log_dir, "log");
    }

    #[test]
    fn a_profile_file_resolves_its_schema_file_beside_it() {
        let text = "name = \"php\"\ncommand = [\"php\", \"-S\", \"{listen}\"]\n[schema]\nfile = \"db.sql\"\n";
        let p = BackendProfile::from_toml(text, Path::new("/etc/x/profile.toml"))
            .map_err(|e| e.to_string());
        assert_eq!(
            p.map(|p| p.schema),
            Ok(Some(SchemaSource::File(PathBuf::from("/etc/x/db.sql"))))
        );
    }

    #[test]
    fn a_profile_without_command_or_image_is_refused_with_its_path() {
        let err = BackendProfile::from_toml("name = \"x\"\n", Path::new("p.toml"));
        let text = err.map(|_| ()).map_err(|e| e.to_string());
        assert!(
            matches!(&text, Err(m) if m.contains("p.toml") && m.contains("command")),
            "{text:?}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = BackendProfile::from_toml(
            "name = \"x\"\ncommand=[\"a\"]\nbogus = 1\n",
            Path::new("p.toml"),
        );
        assert!(err.is_err());
    }
}
