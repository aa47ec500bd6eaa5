//! What a customer deploys, derived from the tenant: the backend's conf/ files, the app's constants, and
//! the cloud console; then the scenario's one mutation applied on top.
//!
//! Strings may hold placeholders that only the replay knows: `{backend}` (the backend's `host:port`),
//! `{cloud}` (the cloud's HTTP `host:port`) and `{silent}` (a `host:port` that accepts and never answers).

use std::collections::BTreeMap;

use crate::cloud::Tenant;
use crate::cloud::cos::console::Generation;

use super::model::Mutations;

/// Addresses known only once the run has started.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    pub backend: String,
    pub cloud: String,
    pub silent: String,
    pub db_host: String,
    pub db_port: u16,
    pub db_name: String,
}

impl Placeholders {
    pub fn fill(&self, text: &str) -> String {
        text.replace("{backend}", &self.backend)
            .replace("{cloud}", &self.cloud)
            .replace("{silent}", &self.silent)
    }
}

/// A PHP `define()` value as OutDefine.php writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum PhpValue {
    Int(i64),
    Str(String),
}

impl PhpValue {
    /// The value as `check` reads it back from the file (strings unquoted).
    pub fn as_text(&self) -> String {
        match self {
            PhpValue::Int(i) => i.to_string(),
            PhpValue::Str(s) => s.clone(),
        }
    }

    /// The `define` line of `name` with this value, written by the one PHP parser of the harness.
    fn define(&self, name: &str) -> String {
        match self {
            PhpValue::Int(i) => crate::formats::php::write_integer(name, *i),
            PhpValue::Str(s) => crate::formats::php::write(name, s),
        }
    }

    fn from_toml(v: &toml::Value) -> PhpValue {
        match v {
            toml::Value::Integer(i) => PhpValue::Int(*i),
            toml::Value::String(s) => PhpValue::Str(s.clone()),
            other => PhpValue::Str(other.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error("the tenant has no {0}")]
    Missing(&'static str),
    #[error(
        "unknown OutDefine.php constant {0} (V1 defines APP_ID, APP_BIZID, PUSH_URL_KEY, CALL_BACK_KEY, COSKEY_*)"
    )]
    UnknownConstant(String),
    #[error("console setting {path}: {message}")]
    Console { path: String, message: String },
}

/// The V1 OutDefine.php constants, in the order of the shipped file.
pub const OUTDEFINE_CONSTANTS: [&str; 9] = [
    "APP_ID",
    "APP_BIZID",
    "PUSH_URL_KEY",
    "CALL_BACK_KEY",
    "COSKEY_BUCKET",
    "COSKEY_SECRECTKEY",
    "COSKEY_APPID",
    "COSKEY_SECRECTID",
    "COSKEY_EXPIRED_TIME",
];

/// The healthy OutDefine.php constants for a tenant.
pub fn healthy_outdefine(t: &Tenant) -> Result<Vec<(String, PhpValue)>, DeploymentError> {
    let bucket = customer_bucket(t)?;
    let key =
        t.cos
            .keys
            .iter()
            .find(|k| k.appid == t.cos.appid)
            .ok_or(DeploymentError::Missing(
                "COS key pair owned by the COS APPID",
            ))?;
    let s = |v: &str| PhpValue::Str(v.to_string());
    Ok(vec![
        ("APP_ID".into(), PhpValue::Int(t.lvb.appid as i64)),
        ("APP_BIZID".into(), PhpValue::Int(t.lvb.bizid as i64)),
        ("PUSH_URL_KEY".into(), s(&t.lvb.push_key)),
        ("CALL_BACK_KEY".into(), s(&t.lvb.api_key)),
        ("COSKEY_BUCKET".into(), s(&bucket.name)),
        ("COSKEY_SECRECTKEY".into(), s(&key.secret_key)),
        ("COSKEY_APPID".into(), PhpValue::Int(t.cos.appid as i64)),
        ("COSKEY_SECRECTID".into(), s(&key.secret_id)),
        ("COSKEY_EXPIRED_TIME".into(), PhpValue::Int(30)),
    ])
}

/// The bucket the customer's backend and app use: the first v4 bucket of the COS APPID.
pub fn customer_bucket(t: &Tenant) -> Result<&crate::cloud::cos::console::Bucket, DeploymentError> {
    t.cos
        .buckets
        .iter()
        .find(|b| b.appid == t.cos.appid && b.generation == Generation::V4)
        .ok_or(DeploymentError::Missing("v4 bucket of the COS APPID"))
}

/// `conf/OutDefine.php` with the scenario's constants changed.
pub fn outdefine_php(t: &Tenant, m: &Mutations) -> Result<String, DeploymentError> {
    let mut constants = healthy_outdefine(t)?;
    for (name, value) in &m.backend.outdefine {
        let slot = constants
            .iter_mut()
            .find(|(n, _)| n == name)
            .ok_or_else(|| DeploymentError::UnknownConstant(name.clone()))?;
        slot.1 = PhpValue::from_toml(value);
    }
    let mut out =
        String::from("<?php\n// Mini LVB backend settings (V1), as a customer fills them in.\n");
    for (name, value) in constants {
        out.push_str(&value.define(&name));
        out.push('\n');
    }
    Ok(out)
}

/// `conf/cdn.inc.ini`: selects the FORMAL route file, as shipped.
pub fn cdn_inc_ini() -> String {
    "[COMMON]\nINC=FORMAL\n[FORMAL]\nROUTE=conf/cdn.route.ini\n[DEVELOP]\nROUTE=conf/develop.cdn.route.ini\n[TEST]\nROUTE=conf/test.cdn.route.ini\n".into()
}

/// `conf/cdn.route.ini` with the database and `common_access` of this run, then the scenario's changes.
pub fn cdn_route_ini(t: &Tenant, m: &Mutations, p: &Placeholders) -> String {
    let mut sections: Vec<(String, Vec<(String, String)>)> = vec![
        (
            "DB".into(),
            vec![
                ("HOST".into(), p.db_host.clone()),
                ("DBNAME".into(), p.db_name.clone()),
                ("USER".into(), t.database.user.clone()),
                ("PASSWD".into(), t.database.password.clone()),
                ("PORT".into(), p.db_port.to_string()),
            ],
        ),
        (
            "LIVE_WEBSERVICE".into(),
            vec![
                ("URL".into(), format!("http://{}/common_access", p.cloud)),
                ("TIMEOUT".into(), "3000".into()),
            ],
        ),
    ];
    for (section, kv) in &m.backend.route {
        let idx = match sections.iter().position(|(s, _)| s == section) {
            Some(i) => i,
            None => {
                sections.push((section.clone(), Vec::new()));
                sections.len() - 1
            }
        };
        for (key, value) in kv {
            let value = match value {
                toml::Value::String(s) => p.fill(s),
                other => other.to_string(),
            };
            let entries = &mut sections[idx].1;
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key.clone(), value)),
            }
        }
    }
    let mut out = String::new();
    for (section, entries) in sections {
        out.push_str(&format!("[{section}]\n"));
        for (k, v) in entries {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    out
}

/// The app's constants (iOS names) for the healthy tenant, with the scenario's changes.
pub fn app_constants(
    t: &Tenant,
    m: &Mutations,
    p: &Placeholders,
) -> Result<BTreeMap<String, String>, DeploymentError> {
    let app =
        t.im.apps
            .first()
            .ok_or(DeploymentError::Missing("IM app"))?;
    let bucket = customer_bucket(t)?;
    let mut c = BTreeMap::new();
    c.insert("kTCIMSDKAppId".to_string(), app.sdkappid.to_string());
    c.insert("kTCIMSDKAccountType".to_string(), app.account_type.clone());
    c.insert("kTCCOSAppId".to_string(), t.cos.appid.to_string());
    c.insert("kTCCOSBucket".to_string(), bucket.name.clone());
    c.insert("kTCCOSRegion".to_string(), bucket.region.clone());
    c.insert(
        "kHttpServerAddr".to_string(),
        format!("http://{}/interface.php", p.backend),
    );
    for (name, value) in &m.app {
        let value = match value {
            toml::Value::String(s) => p.fill(s),
            other => other.to_string(),
        };
        c.insert(name.clone(), value);
    }
    Ok(c)
}

/// The cloud console after the scenario's changes; `{backend}` etc. in strings are filled.
pub fn console(t: &Tenant, m: &Mutations, p: &Placeholders) -> Result<Tenant, DeploymentError> {
    let mut value = serde_json::to_value(t).map_err(|e| DeploymentError::Console {
        path: String::new(),
        message: e.to_string(),
    })?;
    for (path, new) in &m.cloud {
        let new = toml_to_json(new);
        set_path(&mut value, path, new).map_err(|message| DeploymentError::Console {
            path: path.clone(),
            message,
        })?;
    }
    fill_strings(&mut value, p);
    serde_json::from_value(value).map_err(|e| DeploymentError::Console {
        path: m.cloud.keys().cloned().collect::<Vec<_>>().join(", "),
        message: e.to_string(),
    })
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn fill_strings(v: &mut serde_json::Value, p: &Placeholders) {
    match v {
        serde_json::Value::String(s) => *s = p.fill(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| fill_strings(i, p)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|i| fill_strings(i, p)),
        _ => {}
    }
}

/// Sets `a.b.c` in a JSON tree. A segment into an array picks the element whose `name` (or
/// `sdkappid`) equals the segment, or the element at that index.
fn set_path(
    root: &mut serde_json::Value,
    path: &str,
    new: serde_json::Value,
) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments
        .split_last()
        .ok_or_else(|| "empty path".to_string())?;
    let mut here = root;
    for seg in parents {
        here = step(here, seg).ok_or_else(|| format!("no `{seg}` here"))?;
    }
    match here {
        serde_json::Value::Object(map) => {
            if !map.contains_key(*last) {
                return Err(format!("no setting `{last}`"));
            }
            map.insert(last.to_string(), new);
            Ok(())
        }
        other => match step(other, last) {
            Some(slot) => {
                *slot = new;
                Ok(())
            }
            None => Err(format!("no `{last}` here")),
        },
    }
}

fn step<'a>(v: &'a mut serde_json::Value, seg: &str) -> Option<&'a mut serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => map.get_mut(seg),
        serde_json::Value::Array(items) => {
            let by_name = items.iter().position(|i| {
                let key = i.get("name").or_else(|| i.get("sdkappid"));
                match key {
                    Some(serde_json::Value::String(s)) => s == seg,
                    Some(other) => seg.parse::<serde_json::Value>().ok().as_ref() == Some(other),
                    None => false,
                }
            });
            let idx = by_name.or_else(|| seg.parse::<usize>().ok())?;
            items.get_mut(idx)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders() -> Placeholders {
        Placeholders {
            backend: "127.0.0.1:8080".into(),
            cloud: "127.0.0.1:9090".into(),
            silent: "127.0.0.1:7070".into(),
            db_host: "127.0.0.1".into(),
            db_port: 3307,
            db_name: "live_demo".into(),
        }
    }

    #[test]
    fn outdefine_has_every_v1_constant_and_the_mutation() {
        let t = Tenant::healthy();
        let mut m = Mutations::default();
        m.backend
            .outdefine
            .insert("COSKEY_APPID".into(), toml::Value::Integer(1252999999));
        let php = outdefine_php(&t, &m).unwrap();
        for name in OUTDEFINE_CONSTANTS {
            assert!(
                php.contains(&format!("define('{name}', ")),
                "{name} missing:\n{php}"
            );
        }
        assert!(php.contains("define('COSKEY_APPID', 1252999999);"), "{php}");
        assert!(php.contains("define('APP_BIZID', 8888);"), "{php}");
    }

    #[test]
    fn an_unknown_constant_is_an_error() {
        let mut m = Mutations::default();
        m.backend
            .outdefine
            .insert("COS_APPID".into(), toml::Value::Integer(1));
        assert!(outdefine_php(&Tenant::healthy(), &m).is_err());
    }

    #[test]
    fn php_strings_are_escaped_and_read_back_by_the_same_parser() {
        let line = PhpValue::Str("it's".into()).define("X");
        assert_eq!(line, r"define('X', 'it\'s');");
        let read = crate::formats::php::parse(&line);
        assert_eq!(read[0].value.as_text(), "it's");
        assert_eq!(PhpValue::Int(7).define("N"), "define('N', 7);");
    }

    #[test]
    fn route_ini_takes_the_wrong_password() {
        let mut m = Mutations::default();
        m.backend.route.insert(
            "DB".into(),
            [("PASSWD".to_string(), toml::Value::String("wrong".into()))].into(),
        );
        let ini = cdn_route_ini(&Tenant::healthy(), &m, &placeholders());
        assert!(ini.contains("PASSWD=wrong\n"), "{ini}");
        assert!(ini.contains("PORT=3307\n"), "{ini}");
        assert!(
            ini.contains("URL=http://127.0.0.1:9090/common_access\n"),
            "{ini}"
        );
    }

    #[test]
    fn console_paths_reach_buckets_by_name() {
        let mut m = Mutations::default();
        m.cloud.insert(
            "cos.buckets.minilvb.cdn".into(),
            toml::Value::Boolean(false),
        );
        m.cloud.insert(
            "lvb.callback_url".into(),
            toml::Value::String("http://{backend}/wrong.php".into()),
        );
        let t = console(&Tenant::healthy(), &m, &placeholders()).unwrap();
        let bucket = t.cos.buckets.iter().find(|b| b.name == "minilvb").unwrap();
        assert!(!bucket.cdn);
        assert_eq!(t.lvb.callback_url, "http://127.0.0.1:8080/wrong.php");
    }

    #[test]
    fn a_misspelt_console_path_is_an_error() {
        let mut m = Mutations::default();
        m.cloud.insert(
            "cos.buckets.minilvb.cnd".into(),
            toml::Value::Boolean(false),
        );
        let err = console(&Tenant::healthy(), &m, &placeholders()).unwrap_err();
        assert!(err.to_string().contains("cnd"), "{err}");
    }

    #[test]
    fn app_constants_follow_the_tenant() {
        let mut m = Mutations::default();
        m.app
            .insert("kTCCOSRegion".into(), toml::Value::String("gz".into()));
        let c = app_constants(&Tenant::healthy(), &m, &placeholders()).unwrap();
        assert_eq!(c["kTCCOSRegion"], "gz");
        assert_eq!(c["kTCCOSBucket"], "minilvb");
        assert_eq!(c["kHttpServerAddr"], "http://127.0.0.1:8080/interface.php");
    }
}
