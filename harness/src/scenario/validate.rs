//! Static checks of scenario files, run before anything starts (`tcharness validate`, and first by
//! `replay`, `list` and the catalogue test).
//!
//! A scenario is data a support engineer writes from a customer's ticket; a typo in it must be an error
//! naming the file, the line and the field, not a replay that silently does something else. Checked:
//! the file parses; the id is unique and made of `[a-z0-9._-]` (it becomes a file name); every flow step
//! and argument is known; every OutDefine constant, `cdn.route.ini` key, app constant and console path
//! that `mutate` names exists; the expectations are not empty.

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cloud::Tenant;
use crate::terminal::AppConstants;

use super::deployment::{self, Placeholders};
use super::model::{Scenario, scenario_files};
use super::replay::Step;

/// `cdn.route.ini` keys the V1 backend reads, by section.
const ROUTE_KEYS: [(&str, &[&str]); 2] = [
    ("DB", &["HOST", "DBNAME", "USER", "PASSWD", "PORT"]),
    ("LIVE_WEBSERVICE", &["URL", "TIMEOUT"]),
];

/// One problem in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The scenario file (`builtin:scenarios/x.toml` for the built-in catalogue).
    pub file: PathBuf,
    /// 1-based line, when the field could be located.
    pub line: Option<usize>,
    /// The field in the file's terms: `id`, `flow[3].secs`, `mutate.backend.outdefine.APP_IDD`.
    pub field: String,
    /// What is wrong, in one line.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{line}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            ),
            None => write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            ),
        }
    }
}

/// What validating a set of paths found.
#[derive(Debug, Default)]
pub struct Validation {
    /// The scenarios that parsed, in path order (also those with findings).
    pub scenarios: Vec<Scenario>,
    /// Every problem found, file by file.
    pub findings: Vec<Finding>,
}

impl Validation {
    /// Whether nothing was found.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

impl Validation {
    /// Parses and checks one file's text, keeping the scenario or the parse error.
    fn add_file(&mut self, file: PathBuf, text: &str) {
        match Scenario::from_toml(text, &file) {
            Ok(scenario) => {
                self.findings.extend(validate_scenario(&scenario, text));
                self.scenarios.push(scenario);
            }
            Err(e) => self.findings.push(Finding {
                line: parse_error_line(&e.to_string()),
                file,
                field: "(file)".into(),
                message: e.to_string().trim().to_string(),
            }),
        }
    }
}

/// Validates every scenario file under `paths` (files, or directories scanned like the catalogue).
pub fn validate_paths(paths: &[PathBuf]) -> Validation {
    let mut out = Validation::default();
    let mut files = Vec::new();
    for p in paths {
        if crate::catalogue::is_builtin(p) {
            for (path, text) in crate::catalogue::scenario_sources() {
                let file = PathBuf::from(format!("{}{path}", crate::catalogue::BUILTIN_PREFIX));
                out.add_file(file, text);
            }
        } else if p.is_dir() {
            files.extend(scenario_files(p));
        } else {
            files.push(p.clone());
        }
    }
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                out.findings.push(Finding {
                    file,
                    line: None,
                    field: "(file)".into(),
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        out.add_file(file, &text);
    }
    out.findings.extend(duplicate_ids(&out.scenarios));
    out
}

/// The checks of one parsed scenario; `text` is its file, for line numbers.
pub fn validate_scenario(s: &Scenario, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |line: Option<usize>, field: String, message: String| {
        findings.push(Finding {
            file: s.path.clone(),
            line,
            field,
            message: message.trim().to_string(),
        })
    };
    if let Err(message) = check_id(&s.id) {
        add(key_line(text, "id", 0), "id".into(), message);
    }
    for (i, table) in s.flow.iter().enumerate() {
        if let Err(message) = Step::from_table(table) {
            let header = nth_header_line(text, "[[flow]]", i);
            let line = table
                .keys()
                .find(|k| message.contains(&format!("`{k}`")) && k.as_str() != "step")
                .and_then(|k| header.and_then(|h| key_line(text, k, h)))
                .or(header);
            add(line, format!("flow[{}]", i + 1), message);
        }
    }
    let healthy = Tenant::healthy();
    let m = &s.mutate;
    for name in m.backend.outdefine.keys() {
        let mut one = super::model::Mutations::default();
        one.backend
            .outdefine
            .insert(name.clone(), m.backend.outdefine[name].clone());
        if let Err(e) = deployment::outdefine_php(&healthy, &one) {
            add(
                key_line(text, name, 0),
                format!("mutate.backend.outdefine.{name}"),
                e.to_string(),
            );
        }
    }
    for (section, keys) in &m.backend.route {
        let known = ROUTE_KEYS.iter().find(|(s, _)| s == section);
        for key in keys.keys() {
            let message = match known {
                None => Some(format!(
                    "cdn.route.ini has no section [{section}] (V1 reads [DB] and [LIVE_WEBSERVICE])"
                )),
                Some((_, names)) if !names.contains(&key.as_str()) => Some(format!(
                    "[{section}] has no key {key} (V1 reads {})",
                    names.join(", ")
                )),
                Some(_) => None,
            };
            if let Some(message) = message {
                add(
                    key_line(text, key, 0),
                    format!("mutate.backend.route.{section}.{key}"),
                    message,
                );
            }
        }
    }
    let mut constants = AppConstants::default();
    for (name, value) in &m.app {
        let value = match value {
            toml::Value::String(v) => v.clone(),
            other => other.to_string(),
        };
        if let Err(e) = constants.set(name, &value) {
            add(
                key_line(text, name, 0),
                format!("mutate.app.{name}"),
                e.to_string(),
            );
        }
    }
    for (path, value) in &m.cloud {
        let mut one = super::model::Mutations::default();
        one.cloud.insert(path.clone(), value.clone());
        if let Err(e) = deployment::console(&healthy, &one, &Placeholders::default()) {
            add(
                key_line(text, path, 0),
                format!("mutate.cloud.\"{path}\""),
                e.to_string(),
            );
        }
    }
    if s.expect.symptom.trim().is_empty() {
        add(
            key_line(text, "symptom", 0),
            "expect.symptom".into(),
            "empty: a replay would pass whatever happens".into(),
        );
    }
    for (i, also) in s.expect.also.iter().enumerate() {
        if also.trim().is_empty() {
            add(
                key_line(text, "also", 0),
                format!("expect.also[{}]", i + 1),
                "empty text".into(),
            );
        }
    }
    findings
}

/// An id is a file name (`snapshots/faq__<id>.snap`): lower-case letters, digits, `.`, `_`, `-`.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty".into());
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{id}` has `{bad}`; an id is a file name: use [a-z0-9._-] only"
        ));
    }
    if id.starts_with('.') {
        return Err(format!("`{id}` starts with `.`"));
    }
    Ok(())
}

fn duplicate_ids(scenarios: &[Scenario]) -> Vec<Finding> {
    let mut first: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut out = Vec::new();
    for s in scenarios {
        if let Some(other) = first.get(s.id.as_str()) {
            let line = std::fs::read_to_string(&s.path)
                .ok()
                .and_then(|t| key_line(&t, "id", 0));
            out.push(Finding {
                file: s.path.clone(),
                line,
                field: "id".into(),
                message: format!("`{}` is also the id of {}", s.id, other.display()),
            });
        } else {
            first.insert(&s.id, &s.path);
        }
    }
    out
}

/// The line of the `n`-th (0-based) occurrence of a table header such as `[[flow]]`.
fn nth_header_line(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(n)
        .map(|(i, _)| i + 1)
}

/// The first line at or after `from` (1-based; 0 = start) that assigns `key` (bare or quoted).
fn key_line(text: &str, key: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, line)| {
            let line = line.trim_start();
            [key.to_string(), format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .any(|k| {
                    line.strip_prefix(k.as_str())
                        .is_some_and(|rest| rest.trim_start().starts_with('='))
                })
        })
        .map(|(i, _)| i + 1)
}

/// toml's messages say `at line N, column M` (or `TOML parse error at line N`).
fn parse_error_line(message: &str) -> Option<usize> {
    let at = message.find("line ")?;
    message[at + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"id = "faq-9-x"
faq = "9"
title = "t"
[mutate.backend.outdefine]
APP_ID = 1
[[flow]]
step = "register"
[[flow]]
step = "advance_clock"
secs = 3
[expect]
symptom = "x"
"#;

    fn findings(text: &str) -> Vec<Finding> {
        let s = Scenario::from_toml(text, Path::new("s.toml")).expect("parses");
        validate_scenario(&s, text)
    }

    #[test]
    fn a_good_scenario_has_no_finding() {
        assert_eq!(findings(GOOD), vec![]);
    }

    #[test]
    fn an_id_that_is_not_a_file_name_is_refused_with_its_line() {
        let f = findings(&GOOD.replace("faq-9-x", "../../etc/x"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].line, f[0].field.as_str()), (Some(1), "id"));
        assert!(f[0].message.contains('/'), "{}", f[0].message);
        assert!(check_id("Faq-1").is_err());
        assert!(check_id("faq-1.4_b").is_ok());
    }

    #[test]
    fn a_mistyped_step_argument_names_file_line_and_field() {
        let f = findings(&GOOD.replace("secs = 3", "sec = 3"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].field, "flow[2]");
        assert_eq!(f[0].line, Some(10));
        assert!(
            f[0].to_string().starts_with("s.toml:10: flow[2]:"),
            "{}",
            f[0]
        );
    }

    #[test]
    fn unknown_names_in_mutate_are_refused() {
        let f = findings(&GOOD.replace("APP_ID = 1", "APP_IDD = 1"));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].line, Some(5));
        let text = GOOD.replace(
            "[[flow]]\nstep = \"register\"",
            "[mutate.backend.route.DB]\nPASSWORD = \"x\"\n[mutate.app]\nkTCCOSRegio = \"gz\"\n[mutate.cloud]\n\"lvb.callbak_url\" = \"x\"\n[[flow]]\nstep = \"register\"",
        );
        let fields: Vec<String> = findings(&text).into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                "mutate.backend.route.DB.PASSWORD",
                "mutate.app.kTCCOSRegio",
                "mutate.cloud.\"lvb.callbak_url\""
            ]
        );
    }

    #[test]
    fn an_empty_symptom_is_refused() {
        let f = findings(&GOOD.replace("symptom = \"x\"", "symptom = \" \""));
        assert_eq!(f[0].field, "expect.symptom");
    }

    #[test]
    fn the_catalogue_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let v = validate_paths(&[dir]);
        assert!(v.scenarios.len() >= 20);
        assert!(v.is_ok(), "{:#?}", v.findings);
    }

    #[test]
    fn the_built_in_catalogue_validates() {
        let v = validate_paths(&[PathBuf::from(crate::catalogue::BUILTIN_PREFIX)]);
        assert!(v.scenarios.len() >= 20);
        assert!(v.is_ok(), "{:#?}", v.findings);
    }

    #[test]
    fn a_duplicate_id_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.toml"), GOOD).expect("write");
        std::fs::write(dir.path().join("b.toml"), GOOD).expect("write");
        let v = validate_paths(&[dir.path().to_path_buf()]);
        assert_eq!(v.findings.len(), 1, "{:?}", v.findings);
        assert!(v.findings[0].message.contains("a.toml"));
    }
}
