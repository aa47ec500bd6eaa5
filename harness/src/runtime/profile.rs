//! Backend profiles: how to run a backend that speaks the V1 contract (the built-in `minilvb`, or a
//! customer's own, e.g. the original PHP service in their image).
//!
//! ```toml
//! name = "php-live-demo"
//! # the backend's sources: copied as the root's content for each scenario, then the harness writes its
//! # conf/ files over them (relative paths here and in `command` are relative to this file).
//! code = "live_demo_service"
//! # local provider: argv; {root} {listen} {host} {port} {profile_dir} are substituted. A bare program name
//! # is looked up next to the harness binary first, then on PATH; `./x` or `bin/x` beside this file.
//! command = ["php", "-S", "{listen}", "-t", "{root}"]
//! env = { PHP_CLI_SERVER_WORKERS = "4" }  # substituted like `command`; for both providers
//! # docker provider: image (host network) and its arguments; the root directory is bind-mounted at `root`.
//! image = "acme/live-demo:1"
//! image_args = []
//! root = "/var/www/live_demo_service"
//! log_dir = "log"                       # relative to the root
//! ready = "tcp"                         # "tcp": a connect suffices; "http" (default): GET health_path
//! health_path = "/interface.php"        # with ready = "http", GET must answer 2xx
//! ready_line = "Development Server ("   # optional; a stdout or stderr line containing it announces the
//!                                       # address (`http://127.0.0.1:N`, `127.0.0.1:N`, `(...:N) started`)
//! [schema]                              # one of: command, file, sql. A command runs on the host, or
//!                                       # when its program is not there, as `docker run IMAGE args...`
//! file = "createDB.sql"                 # `CREATE DATABASE`/`USE` are dropped; a createDB.sh-style
//!                                       # script gives its here-documents and `-e "..."` texts
//! ```
//!
//! The harness creates each scenario's database and account itself (name, user and password from the
//! tenant) and runs the schema inside that database, so a schema must not choose its own database.

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

/// How the harness knows a started backend is ready.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Readiness {
    /// `GET health_path` answers 2xx.
    #[default]
    Http,
    /// The port accepts a connection (no request: some backends log an error for an empty one).
    Tcp,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendProfile {
    pub name: String,
    /// The backend's sources, copied into each root before the harness's files.
    #[serde(default)]
    pub code: Option<PathBuf>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Environment of the backend (both providers), substituted like `command`.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Where the profile file lives (`{profile_dir}`, relative programs); not read from the file.
    #[serde(skip)]
    pub profile_dir: Option<PathBuf>,
    #[serde(default)]
    pub ready: Readiness,
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
    /// Files the harness writes into each root (relative path → content) after the code and before
    /// its own conf/ files: a router or a compatibility prepend file, for example.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
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
            code: None,
            command: Some(command),
            env: Default::default(),
            profile_dir: None,
            ready: Readiness::Http,
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
            files: Default::default(),
        }
    }

    /// A V1 PHP backend from `dir` (a `live_demo_service/` directory), as `--backend php:DIR` runs it:
    /// PHP's built-in server with 4 workers (the cloud's callbacks arrive while the app waits for an
    /// answer), an nginx-like router, and a prepend file that turns off the mysqli exceptions PHP 8.1
    /// made the default (the code checks return values, as PHP 5/7 code does). Locally Debian's `php`;
    /// in docker the image `scripts/images.sh` builds. The schema is `schema`, else a createDB-style
    /// file found in `dir` or beside it ([`find_schema`]); without one the tables are left to the code.
    pub fn php(dir: &Path, schema: Option<PathBuf>) -> BackendProfile {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let args = |root: &str| -> Vec<String> {
            [
                "-d",
                &format!("auto_prepend_file={root}/{PHP_PREPEND}"),
                // Warnings go to stderr (kept, and tailed into errors), never into a JSON reply.
                "-d",
                "display_errors=0",
                "-d",
                "log_errors=1",
                "-S",
                "{listen}",
                "-t",
                root,
                &format!("{root}/{PHP_ROUTER}"),
            ]
            .map(str::to_string)
            .to_vec()
        };
        let mut command = vec!["php".to_string()];
        command.extend(args("{root}"));
        let schema = schema.or_else(|| find_schema(&dir));
        BackendProfile {
            name: "php".to_string(),
            code: Some(dir.clone()),
            command: Some(command),
            env: [("PHP_CLI_SERVER_WORKERS".to_string(), "4".to_string())].into(),
            profile_dir: Some(dir),
            // An empty GET of /interface.php would put an error line in the very log scenarios compare.
            ready: Readiness::Tcp,
            image: Some(PHP_IMAGE.to_string()),
            image_args: args(&default_root()),
            root: default_root(),
            log_dir: default_log_dir(),
            health_path: default_health_path(),
            // `[...] PHP 8.2.x Development Server (http://127.0.0.1:N) started`, on stderr.
            ready_line: Some("Development Server (".to_string()),
            schema: schema.map(SchemaSource::File),
            files: [
                (PHP_PREPEND.to_string(), PHP_PREPEND_TEXT.to_string()),
                (PHP_ROUTER.to_string(), PHP_ROUTER_TEXT.to_string()),
            ]
            .into(),
        }
    }

    /// The profile of a `--backend` argument: `minilvb`, or `php:DIR`.
    pub fn from_spec(spec: &str, schema: Option<PathBuf>) -> Result<BackendProfile, RuntimeError> {
        let invalid = |message: String| RuntimeError::Profile {
            path: format!("--backend {spec}"),
            message,
        };
        match spec.split_once(':') {
            None if spec == "minilvb" => match schema {
                None => Ok(Self::minilvb()),
                Some(_) => Err(invalid("minilvb brings its own schema".to_string())),
            },
            Some(("php", dir)) if !dir.is_empty() => {
                let path = Path::new(dir);
                if !path.join("interface.php").is_file() {
                    return Err(invalid(format!(
                        "{} has no interface.php (give the live_demo_service directory)",
                        path.display()
                    )));
                }
                Ok(Self::php(path, schema))
            }
            _ => Err(invalid(
                "expected `minilvb` or `php:DIR` (a live_demo_service directory); --profile FILE for any other backend".to_string(),
            )),
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
        let dir = origin
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Some(SchemaSource::File(file)) = &mut profile.schema
            && file.is_relative()
        {
            *file = dir.join(&*file);
        }
        if let Some(code) = &mut profile.code
            && code.is_relative()
        {
            *code = dir.join(&*code);
        }
        profile.profile_dir = Some(dir);
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
                let text =
                    tokio::fs::read_to_string(path)
                        .await
                        .map_err(|e| RuntimeError::Profile {
                            path: path.display().to_string(),
                            message: format!("cannot read the schema: {e}"),
                        })?;
                Ok(scenario_schema(&text))
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

/// The image of the PHP profile on the docker provider (Debian's php-cli, php-mysql, php-curl).
pub const PHP_IMAGE: &str = "local/tcharness-php:8.2";
/// Where the PHP profile's prepend file and router go under the root (beside the code, not in it).
pub const PHP_PREPEND: &str = ".tcharness/prepend.php";
pub const PHP_ROUTER: &str = ".tcharness/router.php";

const PHP_PREPEND_TEXT: &str = "<?php
// Written by tcharness. PHP 8.1 made mysqli throw mysqli_sql_exception on every error; code written for
// PHP 5/7 checks the return values instead (`if (!$db)`), so errors are reported as they were then.
if (function_exists('mysqli_report')) {
    mysqli_report(MYSQLI_REPORT_OFF);
}
";

const PHP_ROUTER_TEXT: &str = r#"<?php
// Written by tcharness. Routes like the nginx of a deployment: an existing .php file runs, another existing
// file is served as it is, anything else is a 404. (Without a router `php -S` answers a missing path with
// the nearest index.php, e.g. the redirect of live_demo_service/index.php.) `php -S` runs no
// auto_prepend_file before a router, so the router runs it.
if (ini_get('auto_prepend_file') !== '' && ini_get('auto_prepend_file') !== false) {
    require_once ini_get('auto_prepend_file');
}
$__tch_root = realpath($_SERVER['DOCUMENT_ROOT']);
$__tch_path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$__tch_file = realpath($__tch_root . '/' . ltrim($__tch_path, '/'));
if ($__tch_file !== false && is_dir($__tch_file)) {
    $__tch_file = is_file($__tch_file . '/index.php') ? $__tch_file . '/index.php' : false;
}
if ($__tch_file === false || strpos($__tch_file, $__tch_root . '/') !== 0 || !is_file($__tch_file)
    || strpos($__tch_file, $__tch_root . '/.tcharness/') === 0) {
    http_response_code(404);
    header('Content-Type: text/html');
    echo "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>
";
    return true;
}
if (substr($__tch_file, -4) !== '.php') {
    return false;
}
$_SERVER['SCRIPT_FILENAME'] = $__tch_file;
$_SERVER['SCRIPT_NAME'] = substr($__tch_file, strlen($__tch_root));
$_SERVER['PHP_SELF'] = $_SERVER['SCRIPT_NAME'];
chdir(dirname($__tch_file));
unset($__tch_root, $__tch_path);
require $__tch_file;
"#;

/// A createDB-style schema in `dir` or beside it: `createDB*.sh`, else `createDB*.sql`, else the one
/// `*.sql` file of the directory (first `dir`, then its parent).
pub fn find_schema(dir: &Path) -> Option<PathBuf> {
    let dirs = [Some(dir), dir.parent()];
    for d in dirs.into_iter().flatten() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        let name_of = |p: &PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default()
        };
        let create_db = |ext: &str| {
            names
                .iter()
                .find(|p| {
                    let n = name_of(p);
                    n.starts_with("createdb") && n.ends_with(ext)
                })
                .cloned()
        };
        if let Some(found) = create_db(".sh").or_else(|| create_db(".sql")) {
            return Some(found);
        }
        let sql: Vec<&PathBuf> = names
            .iter()
            .filter(|p| name_of(p).ends_with(".sql"))
            .collect();
        if let [one] = sql.as_slice() {
            return Some((*one).clone());
        }
    }
    None
}

/// Replaces `{root}`, `{listen}`, `{host}`, `{port}` and `{profile_dir}` in each argument.
pub fn substitute(
    args: &[String],
    root: &str,
    host: &str,
    port: u16,
    profile_dir: Option<&Path>,
) -> Vec<String> {
    let listen = format!("{host}:{port}");
    let dir = profile_dir
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| ".".to_string());
    args.iter()
        .map(|a| {
            a.replace("{root}", root)
                .replace("{listen}", &listen)
                .replace("{host}", host)
                .replace("{port}", &port.to_string())
                .replace("{profile_dir}", &dir)
        })
        .collect()
}

/// The program of a profile's command: a relative path with a `/` is relative to the profile file.
pub fn resolve_profile_program(program: &str, profile_dir: Option<&Path>) -> PathBuf {
    match profile_dir {
        Some(dir) if program.contains('/') && Path::new(program).is_relative() => dir.join(program),
        _ => resolve_program(program),
    }
}

/// The address in a readiness line: the first `host:port` after `prefix`, in any of the usual forms
/// (`http://127.0.0.1:8000/`, `127.0.0.1:8000`, PHP's `(http://127.0.0.1:8000) started`).
pub fn announced_address(line: &str, prefix: &str) -> Option<String> {
    let (_, rest) = line.split_once(prefix)?;
    rest.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',' | '"'))
        .map(|w| {
            let w = w
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            w.split('/').next().unwrap_or_default()
        })
        .find(|w| {
            w.rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        })
        .map(str::to_string)
}

/// A customer's schema made fit for a database the harness created: the SQL of a `createDB.sh`-style
/// script (its here-documents, else its `-e "..."` texts), without the statements that choose or make a
/// database (`CREATE DATABASE`, `CREATE SCHEMA`, `DROP DATABASE`, `USE`) or an account (`GRANT`,
/// `CREATE USER`, `FLUSH PRIVILEGES`, ...).
pub fn scenario_schema(text: &str) -> String {
    let sql = if looks_like_shell(text) {
        shell_sql(text)
    } else {
        text.to_string()
    };
    let mut out = String::new();
    for statement in split_statements(&sql) {
        let words: Vec<String> = statement
            .lines()
            .filter(|l| !l.trim_start().starts_with("--") && !l.trim_start().starts_with('#'))
            .flat_map(|l| l.split_whitespace())
            .take(2)
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let chooses_db = match words.as_slice() {
            [first, ..] if first == "use" => true,
            [a, b] => {
                (a == "create" || a == "drop")
                    && (b == "database" || b == "schema" || b.starts_with("database"))
            }
            _ => false,
        };
        // The harness makes the account (and grants it this database) itself; a script's own grants
        // name the database it chose, and would change the shared server for every scenario.
        let account = match words.as_slice() {
            [first, ..] if first == "grant" || first == "revoke" || first == "flush" => true,
            [a, b] => {
                (a == "create" || a == "drop" || a == "alter" || a == "set")
                    && (b == "user" || b == "password" || b == "role")
            }
            _ => false,
        };
        if chooses_db || account || words.is_empty() {
            continue;
        }
        out.push_str(statement.trim());
        out.push_str(";\n");
    }
    out
}

fn looks_like_shell(text: &str) -> bool {
    text.starts_with("#!")
        || text.contains("<<")
        || text.lines().any(|l| l.trim_start().starts_with("mysql "))
}

/// The bodies of here-documents (`<<EOF`, `<< 'EOF'`, `<<-EOF`), else of `-e "..."` arguments.
fn shell_sql(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((_, tail)) = line.split_once("<<") else {
            continue;
        };
        let tail = tail.trim_start_matches('-').trim_start();
        // `<<'EOF'` keeps the body as written; `<<EOF` lets the shell unescape \` \$ and \\.
        let quoted = tail.starts_with(['\'', '"', '\\']);
        let tag: String = tail
            .trim_start_matches(['\'', '"', '\\'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if tag.is_empty() {
            continue;
        }
        for body in lines.by_ref() {
            if body.trim() == tag {
                break;
            }
            if quoted {
                out.push_str(body);
            } else {
                out.push_str(&unescape_heredoc(body));
            }
            out.push('\n');
        }
    }
    if out.is_empty() {
        for part in text.split("-e").skip(1) {
            let part = part.trim_start();
            if let Some(q) = part.chars().next().filter(|c| *c == '"' || *c == '\'')
                && let Some(end) = part[1..].find(q)
            {
                out.push_str(&part[1..1 + end]);
                out.push_str(";\n");
            }
        }
    }
    out
}

/// A line of an unquoted here-document as the shell passes it on: `\`` `\$` `\\` lose their backslash.
fn unescape_heredoc(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && matches!(n, '`' | '$' | '\\')
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// Splits on `;` outside quotes and comments.
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        current.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            current.push('\n');
                            break;
                        }
                    }
                }
                ';' => out.push(std::mem::take(&mut current)),
                _ => current.push(c),
            },
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
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
            None,
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

    #[test]
    fn code_and_programs_resolve_beside_the_profile() {
        let text = "name = \"php\"\ncode = \"src\"\nready = \"tcp\"\ncommand = [\"bin/run\", \"{profile_dir}/x\"]\n";
        let p = BackendProfile::from_toml(text, Path::new("/etc/x/profile.toml"));
        let p = p.map_err(|e| e.to_string());
        let Ok(p) = p else { panic!("{p:?}") };
        assert_eq!(p.code, Some(PathBuf::from("/etc/x/src")));
        assert_eq!(p.ready, Readiness::Tcp);
        let argv = substitute(
            p.command.as_deref().unwrap_or_default(),
            "/r",
            "h",
            1,
            p.profile_dir.as_deref(),
        );
        assert_eq!(argv, ["bin/run", "/etc/x/x"]);
        assert_eq!(
            resolve_profile_program(&argv[0], p.profile_dir.as_deref()),
            PathBuf::from("/etc/x/bin/run")
        );
        assert_eq!(
            resolve_profile_program("php", p.profile_dir.as_deref()),
            PathBuf::from("php")
        );
    }

    #[test]
    fn readiness_lines_give_their_address_in_common_forms() {
        let php = "[Thu Dec  3 20:10:02 2026] PHP 8.2.31 Development Server (http://127.0.0.1:38911) started";
        assert_eq!(
            announced_address(php, "Development Server"),
            Some("127.0.0.1:38911".to_string())
        );
        assert_eq!(
            announced_address(
                "minilvb listening on http://127.0.0.1:5/",
                "listening on http://"
            ),
            Some("127.0.0.1:5".to_string())
        );
        assert_eq!(
            announced_address("ready at 127.0.0.1:80 now", "ready"),
            Some("127.0.0.1:80".to_string())
        );
        assert_eq!(announced_address("ready, no address", "ready"), None);
        assert_eq!(announced_address("other line 1.2.3.4:5", "ready"), None);
    }

    #[test]
    fn a_createdb_file_loses_the_statements_that_choose_a_database() {
        let sql = "CREATE DATABASE IF NOT EXISTS live_demo;\nuse live_demo;\n-- tables\nCREATE TABLE `live_data` (\n `a` varchar(10) COMMENT 'x;y'\n);\nDROP DATABASE x;\n";
        let out = scenario_schema(sql);
        assert!(!out.to_lowercase().contains("database"), "{out}");
        assert!(!out.contains("use live_demo"), "{out}");
        assert!(out.contains("CREATE TABLE `live_data`"), "{out}");
        assert!(out.contains("'x;y'"), "{out}");
    }

    #[test]
    fn a_createdb_shell_script_gives_its_sql() {
        let sh = "#!/bin/sh\nmysql -uroot -p$1 << EOF\ncreate database live_demo;\nuse live_demo;\nCREATE TABLE t (a int);\nEOF\necho done\n";
        assert_eq!(scenario_schema(sh), "CREATE TABLE t (a int);\n");
        let e = "mysql -uroot -e \"create database d; use d; create table u (b int)\"\n";
        assert_eq!(scenario_schema(e), "create table u (b int);\n");
    }

    #[test]
    fn account_statements_go_and_unquoted_heredocs_are_unescaped() {
        let sh = "mysql -uroot <<EOF\nGRANT ALL ON live_demo.* TO 'u'@'%' IDENTIFIED BY 'p';\nCREATE USER 'v'@'%';\nFLUSH PRIVILEGES;\nCREATE TABLE \\`t\\` (a int COMMENT '\\$x');\nEOF\n";
        assert_eq!(
            scenario_schema(sh),
            "CREATE TABLE `t` (a int COMMENT '$x');\n"
        );
        let quoted = "mysql <<'EOF'\nCREATE TABLE t (a varchar(2) DEFAULT '\\$');\nEOF\n";
        assert_eq!(
            scenario_schema(quoted),
            "CREATE TABLE t (a varchar(2) DEFAULT '\\$');\n"
        );
    }

    #[test]
    fn the_php_profile_runs_the_code_with_workers_a_prepend_file_and_no_probe_request() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("live_demo_service");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::write(code.join("interface.php"), "<?php\n").unwrap();
        // No schema in the directory: the one beside it is found.
        std::fs::write(dir.path().join("createDB.sh"), "mysql <<EOF\nEOF\n").unwrap();
        let p = BackendProfile::from_spec(&format!("php:{}", code.display()), None).unwrap();
        assert_eq!(p.name, "php");
        assert_eq!(p.ready, Readiness::Tcp);
        assert_eq!(
            p.env.get("PHP_CLI_SERVER_WORKERS").map(String::as_str),
            Some("4")
        );
        let command = p.command.clone().unwrap();
        assert_eq!(command[0], "php");
        assert!(command.contains(&format!("auto_prepend_file={{root}}/{PHP_PREPEND}")));
        assert!(command.contains(&"{listen}".to_string()));
        // In the container the root is the bind mount, the interpreter the image's entrypoint.
        assert_eq!(p.image.as_deref(), Some(PHP_IMAGE));
        assert!(
            p.image_args
                .contains(&format!("auto_prepend_file={}/{PHP_PREPEND}", p.root))
        );
        assert!(p.files[PHP_PREPEND].contains("mysqli_report(MYSQLI_REPORT_OFF)"));
        let schema = match &p.schema {
            Some(SchemaSource::File(f)) => f.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(schema.file_name().unwrap(), "createDB.sh");
        // One in the directory wins over the one beside it; --schema over both.
        std::fs::write(code.join("createDB_v1.sh"), "").unwrap();
        assert_eq!(find_schema(&code), Some(code.join("createDB_v1.sh")));
        let given = dir.path().join("mine.sql");
        let p = BackendProfile::php(&code, Some(given.clone()));
        assert!(matches!(p.schema, Some(SchemaSource::File(f)) if f == given));
    }

    #[test]
    fn a_backend_argument_names_what_it_expects() {
        let err = BackendProfile::from_spec("php:/nonexistent", None).unwrap_err();
        assert!(err.to_string().contains("interface.php"), "{err}");
        let err = BackendProfile::from_spec("node:x", None).unwrap_err();
        assert!(err.to_string().contains("--profile FILE"), "{err}");
        assert!(BackendProfile::from_spec("minilvb", Some(PathBuf::from("x.sql"))).is_err());
        assert_eq!(
            BackendProfile::from_spec("minilvb", None).unwrap(),
            BackendProfile::minilvb()
        );
    }
}
