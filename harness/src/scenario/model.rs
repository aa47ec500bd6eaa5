//! The scenario file: the healthy tenant + one misconfiguration + a user flow + the expected symptom.
//!
//! ```toml
//! id = "faq-1.4-cos-appid"
//! faq = "1.4"
//! title = "Backend signs COS uploads with the wrong COS APPID"
//! [mutate.backend.outdefine]
//! COSKEY_APPID = 1252999999
//! [[flow]]
//! step = "upload_cover"
//! [expect]
//! symptom = "ERROR_PROXY_APPID_USERID_NOTMATCH"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable name; also the snapshot's name.
    pub id: String,
    /// FAQ item (`"1.4"`), or `"ticket"` for reproductions beyond the FAQ.
    pub faq: String,
    pub title: String,
    /// What really happens, especially where it differs from what the FAQ says.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub mutate: Mutations,
    #[serde(default)]
    pub flow: Vec<toml::Table>,
    pub expect: Expect,
    #[serde(default)]
    pub options: ScenarioOptions,
    /// Where the file was read from (not part of the file).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Exactly what differs from the healthy tenant. Every map is keyed by the name the customer sees.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutations {
    #[serde(default)]
    pub backend: BackendMutations,
    /// App constants by their real names (`kTCCOSRegion = "gz"`).
    #[serde(default)]
    pub app: BTreeMap<String, toml::Value>,
    /// Cloud console settings by path (`"lvb.callback_url"`, `"cos.buckets.minilvb.cdn"`).
    #[serde(default)]
    pub cloud: BTreeMap<String, toml::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendMutations {
    /// `conf/OutDefine.php` constants (`COSKEY_APPID = 1252999999`).
    #[serde(default)]
    pub outdefine: BTreeMap<String, toml::Value>,
    /// `conf/cdn.route.ini` values by section (`[mutate.backend.route.DB] PASSWD = "wrong"`).
    #[serde(default)]
    pub route: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// SQL run after the schema, as a customer who edited createDB.sh would have (`ALTER TABLE ...`).
    #[serde(default)]
    pub schema_after: Vec<String>,
}

/// How the platform behaves in this scenario, where the replay's defaults do not fit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioOptions {
    /// How long the scenario may run, set-up included (default 60 s).
    #[serde(default)]
    pub deadline_secs: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Text that must appear in the transcript (a snapshot accepted by mistake still fails on it).
    pub symptom: String,
    /// Further texts that must appear.
    #[serde(default)]
    pub also: Vec<String>,
    /// Texts that must not appear.
    #[serde(default)]
    pub absent: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("scenario {path} is not valid: {message}")]
    Parse { path: String, message: String },
}

impl Scenario {
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ScenarioError> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        scenario.path = path.to_path_buf();
        if scenario.flow.iter().any(|s| !s.contains_key("step")) {
            return Err(ScenarioError::Parse {
                path: path.display().to_string(),
                message: "every [[flow]] entry needs a `step`".into(),
            });
        }
        Ok(scenario)
    }

    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// The names of the flow's steps, in order.
    pub fn step_names(&self) -> Vec<String> {
        self.flow
            .iter()
            .filter_map(|s| s.get("step").and_then(|v| v.as_str()).map(str::to_string))
            .collect()
    }

    /// One line saying what was changed, for tables and `list`.
    pub fn mutation_summary(&self) -> String {
        let m = &self.mutate;
        let mut parts = Vec::new();
        for (k, v) in &m.backend.outdefine {
            parts.push(format!("OutDefine {k}={}", short(v)));
        }
        for (section, kv) in &m.backend.route {
            for (k, v) in kv {
                parts.push(format!("cdn.route.ini [{section}] {k}={}", short(v)));
            }
        }
        for sql in &m.backend.schema_after {
            parts.push(format!("schema: {sql}"));
        }
        for (k, v) in &m.app {
            parts.push(format!("app {k}={}", short(v)));
        }
        for (k, v) in &m.cloud {
            parts.push(format!("console {k}={}", short(v)));
        }
        if parts.is_empty() {
            "none: the flow alone triggers it".into()
        } else {
            parts.join("; ")
        }
    }
}

fn short(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The scenario files under `dir` (and `dir/tickets/`), sorted; `tenant.toml` is not a scenario.
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("tickets")] {
        let Ok(read) = std::fs::read_dir(&sub) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let is_toml = path.extension().is_some_and(|e| e == "toml");
            let is_tenant = path.file_name().is_some_and(|n| n == "tenant.toml");
            if is_toml && !is_tenant {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
}

/// Every scenario under `dir` (and `dir/tickets/`), sorted by path.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    scenario_files(dir)
        .iter()
        .map(|p| Scenario::load(p))
        .collect()
}

/// Scenarios named on the command line: files, or directories to scan.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Scenario>, ScenarioError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            out.extend(load_dir(p)?);
        } else {
            out.push(Scenario::load(p)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
id = "faq-4-db-password"
faq = "4"
title = "Wrong DB password"
[mutate.backend.route.DB]
PASSWD = "wrong"
[[flow]]
step = "fetch_list"
flag = 3
[expect]
symptom = "HTTP Req error, error code:500"
"#;

    #[test]
    fn a_scenario_parses_with_its_mutation() {
        let s = Scenario::from_toml(EXAMPLE, Path::new("x.toml")).unwrap();
        assert_eq!(s.step_names(), vec!["fetch_list"]);
        assert_eq!(s.mutation_summary(), "cdn.route.ini [DB] PASSWD=wrong");
    }

    #[test]
    fn an_unknown_mutation_target_is_refused_with_the_file_name() {
        let text = EXAMPLE.replace("[mutate.backend.route.DB]", "[mutate.backnd.route.DB]");
        let err = Scenario::from_toml(&text, Path::new("bad.toml")).unwrap_err();
        assert!(err.to_string().contains("bad.toml"), "{err}");
    }

    #[test]
    fn a_flow_entry_without_step_is_refused() {
        let text = EXAMPLE.replace("step = \"fetch_list\"", "stop = \"x\"");
        assert!(Scenario::from_toml(&text, Path::new("x.toml")).is_err());
    }
}
