//! `tcharness check`: cross-checks a real deployment's `conf/OutDefine.php`, `conf/cdn.route.ini` and the
//! app's constants against each other (and, given a tenant, against the cloud console) without running
//! anything; each inconsistency is named with its FAQ item.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::Serialize;

use crate::cloud::Tenant;
use crate::cloud::cos::console::Generation;
use crate::terminal::{AppConstants, ConstantName};

/// One inconsistency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// FAQ item whose symptom this leads to.
    pub faq: &'static str,
    /// The setting at fault, by the name the customer sees.
    pub setting: String,
    pub message: String,
    /// Where the setting is written (`conf/OutDefine.php`), when it is in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its 1-based line there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The value written there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// The value it should have, where one is known (the console's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl Finding {
    /// `conf/OutDefine.php:7` when the setting's place is known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        })
    }
}

/// Where a setting of a deployment is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub file: String,
    pub line: Option<usize>,
}

/// What `check` reads.
#[derive(Clone, Debug, Default)]
pub struct Deployment {
    /// OutDefine.php constants, values as written (string literals unquoted).
    pub outdefine: BTreeMap<String, String>,
    /// cdn.route.ini, `SECTION` → key → value.
    pub route: BTreeMap<String, BTreeMap<String, String>>,
    /// App constants by iOS name (Android aliases mapped), if an app file was given.
    pub app: Option<BTreeMap<String, String>>,
    /// Where each setting is written, by the name findings use (`COSKEY_APPID`,
    /// `cdn.route.ini [DB] PASSWD`, `kTCCOSRegion`).
    pub sources: BTreeMap<String, Source>,
    /// The route file read, relative to the backend root (`conf/cdn.route.ini` unless cdn.inc.ini selects another).
    pub route_file: String,
    /// Why cdn.inc.ini selects no route file, if it does not (the default file is read instead).
    pub route_problem: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

fn read(path: &Path) -> Result<String, CheckError> {
    // Customers' files come with a BOM, in UTF-16 or in GBK as often as in plain UTF-8.
    crate::formats::text::read(path).map_err(|source| CheckError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl Deployment {
    /// Reads `DIR/conf/OutDefine.php`, the route file `DIR/conf/cdn.inc.ini` selects (default
    /// `conf/cdn.route.ini`), and the app constants file if given.
    pub fn load(backend_root: &Path, terminal: Option<&Path>) -> Result<Self, CheckError> {
        let mut sources = BTreeMap::new();
        let php = read(&backend_root.join("conf/OutDefine.php"))?;
        for d in crate::formats::php::parse(&php) {
            sources.entry(d.name).or_insert(Source {
                file: "conf/OutDefine.php".into(),
                line: Some(d.line),
            });
        }
        let outdefine = parse_outdefine(&php);
        let (route_rel, route_problem) =
            match crate::formats::text::read(&backend_root.join("conf/cdn.inc.ini")) {
                Ok(inc) => route_selected(&inc, &mut sources),
                Err(_) => (DEFAULT_ROUTE.to_string(), None),
            };
        let ini = read(&backend_root.join(&route_rel))?;
        for e in crate::formats::ini::parse(&ini) {
            sources.insert(
                format!("cdn.route.ini [{}] {}", e.section, e.key),
                Source {
                    file: route_rel.clone(),
                    line: Some(e.line),
                },
            );
        }
        let route = parse_ini(&ini);
        let app = match terminal {
            Some(p) => {
                let text = read(p)?;
                let constants = parse_app_constants(&text);
                let definitions = crate::formats::app_source::parse(&text);
                for c in ConstantName::ALL {
                    // The last definition is the one the compiler keeps.
                    let line = definitions
                        .iter()
                        .rev()
                        .find(|d| d.name == c.ios() || d.name == c.android())
                        .map(|d| d.line);
                    sources.insert(
                        c.ios().to_string(),
                        Source {
                            file: p.display().to_string(),
                            line,
                        },
                    );
                }
                Some(constants)
            }
            None => None,
        };
        Ok(Self {
            outdefine,
            route,
            app,
            sources,
            route_file: route_rel,
            route_problem,
        })
    }
}

const DEFAULT_ROUTE: &str = "conf/cdn.route.ini";

/// The route file cdn.inc.ini selects (`[COMMON] INC` names a section whose `ROUTE` is the file), as the
/// backend looks it up; when the lookup fails, the default file and why it failed.
fn route_selected(inc: &str, sources: &mut BTreeMap<String, Source>) -> (String, Option<String>) {
    let entries = crate::formats::ini::parse(inc);
    let Some(active) = crate::formats::ini::get(&entries, "COMMON", "INC") else {
        return (DEFAULT_ROUTE.into(), None);
    };
    sources.insert(
        INC_SETTING.into(),
        Source {
            file: "conf/cdn.inc.ini".into(),
            line: Some(active.line),
        },
    );
    match crate::formats::ini::get(&entries, &active.value, "ROUTE") {
        Some(route) if !route.value.is_empty() => (route.value.clone(), None),
        _ => (
            DEFAULT_ROUTE.into(),
            Some(format!(
                "cdn.inc.ini [COMMON] INC = {:?} names no section with a ROUTE: the backend reads no database settings",
                active.value
            )),
        ),
    }
}

const INC_SETTING: &str = "cdn.inc.ini [COMMON] INC";

/// `define('NAME', value);` as PHP runs them (a define in a comment does not count; the first define wins).
pub fn parse_outdefine(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for d in crate::formats::php::parse(text) {
        out.entry(d.name).or_insert_with(|| d.value.as_text());
    }
    out
}

/// `parse_ini_file`'s reading: trimmed sections, quoted values keeping `;` and `#`, BOM (the last key wins).
pub fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for e in crate::formats::ini::parse(text) {
        out.entry(e.section).or_default().insert(e.key, e.value);
    }
    out
}

/// The app's constants by iOS name, read with the app's own parser (iOS and Android files); constants the
/// file leaves out are absent.
pub fn parse_app_constants(text: &str) -> BTreeMap<String, String> {
    let constants = AppConstants::from_header(text);
    ConstantName::ALL
        .into_iter()
        .map(|c| (c.ios().to_string(), constants.value(c).to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// COS v4 region short names.
pub const V4_REGIONS: [&str; 9] = ["sh", "gz", "tj", "sgp", "bj", "cd", "hk", "ca", "ger"];

const CONSTANT_FAQ: [(&str, &str); 8] = [
    ("APP_ID", "1.1"),
    ("APP_BIZID", "1.1"),
    ("PUSH_URL_KEY", "1.2"),
    ("CALL_BACK_KEY", "1.3"),
    ("COSKEY_APPID", "1.4"),
    ("COSKEY_BUCKET", "1.5"),
    ("COSKEY_SECRECTID", "1.6"),
    ("COSKEY_SECRECTKEY", "1.7"),
];

/// Every inconsistency found, in FAQ order.
pub fn check(d: &Deployment, tenant: Option<&Tenant>) -> Vec<Finding> {
    let mut f = Vec::new();
    let mut add =
        |faq: &'static str, setting: &str, message: String| f.push(finding(faq, setting, &message));
    let od = |name: &str| d.outdefine.get(name).map(String::as_str);

    for (name, faq) in CONSTANT_FAQ {
        match od(name) {
            None => add(
                faq,
                name,
                format!("{name} is not defined in conf/OutDefine.php"),
            ),
            Some("") | Some("0") => add(
                faq,
                name,
                format!("{name} is empty: it still has the shipped default"),
            ),
            Some(_) => {}
        }
    }
    for name in ["APP_ID", "APP_BIZID", "COSKEY_APPID"] {
        if let Some(v) = od(name).filter(|v| !v.is_empty() && v.parse::<u64>().is_err()) {
            let faq = if name == "COSKEY_APPID" { "1.4" } else { "1.1" };
            add(faq, name, format!("{name} = {v:?} is not a number"));
        }
    }
    if let (Some(push), Some(api)) = (od("PUSH_URL_KEY"), od("CALL_BACK_KEY"))
        && !push.is_empty()
        && push == api
    {
        add("1.2", "PUSH_URL_KEY", "PUSH_URL_KEY equals CALL_BACK_KEY: the console's push hotlink key and API authentication key are different secrets".into());
    }
    if let Some(id) = od("COSKEY_SECRECTID").filter(|v| !v.is_empty())
        && !(id.starts_with("AKID") && id.len() == 36)
    {
        add(
            "1.6",
            "COSKEY_SECRECTID",
            format!("COSKEY_SECRECTID {id:?} does not look like a SecretId (AKID + 32 characters)"),
        );
    }
    if let Some(key) = od("COSKEY_SECRECTKEY").filter(|v| !v.is_empty())
        && key.len() != 32
    {
        add(
            "1.7",
            "COSKEY_SECRECTKEY",
            format!(
                "COSKEY_SECRECTKEY has {} characters; a SecretKey has 32",
                key.len()
            ),
        );
    }
    if let Some(bucket) = od("COSKEY_BUCKET").filter(|v| !v.is_empty()) {
        let suffixed = Regex::new(r"-\d{6,}$").expect("pattern is valid");
        if suffixed.is_match(bucket) {
            add(
                "1.5",
                "COSKEY_BUCKET",
                format!(
                    "COSKEY_BUCKET {bucket:?} carries an APPID suffix; COS v4 wants the bare bucket name"
                ),
            );
        }
    }

    // With no route file selected, the file read in its place says nothing about what the backend sees.
    let route = if let Some(problem) = &d.route_problem {
        add("4", INC_SETTING, problem.clone());
        None
    } else {
        Some(&d.route)
    };
    match route.map(|r| r.get("DB")) {
        None => {}
        Some(None) => add(
            "4",
            "cdn.route.ini [DB]",
            format!("{} has no [DB] section", d.route_file),
        ),
        Some(Some(db)) => {
            for key in ["HOST", "USER", "PASSWD", "DBNAME"] {
                if db.get(key).is_none_or(|v| v.is_empty()) {
                    add(
                        "4",
                        &format!("cdn.route.ini [DB] {key}"),
                        format!("[DB] {key} is empty"),
                    );
                }
            }
            if let Some(t) = tenant {
                let pairs = [
                    ("USER", &t.database.user),
                    ("PASSWD", &t.database.password),
                    ("DBNAME", &t.database.name),
                ];
                for (key, want) in pairs {
                    if db.get(key).is_some_and(|v| !v.is_empty() && v != want) {
                        add(
                            "4",
                            &format!("cdn.route.ini [DB] {key}"),
                            format!("[DB] {key} differs from the database created by createDB"),
                        );
                    }
                }
            }
        }
    }

    if let Some(app) = &d.app {
        let get = |n: &str| app.get(n).map(String::as_str);
        // With the console known, the app is held against it, so a wrong backend value is blamed once
        // (on the backend), not a second time on the app that agrees with the console.
        let console_appid = tenant.map(|t| t.cos.appid.to_string());
        let console_bucket = tenant
            .and_then(|t| crate::scenario::deployment::customer_bucket(t).ok())
            .map(|b| b.name.clone());
        let (appid_ref, appid_what) = match &console_appid {
            Some(v) => (Some(v.as_str()), "the console's COS APPID"),
            None => (od("COSKEY_APPID"), "the backend's COSKEY_APPID"),
        };
        // The demo ships both empty; the COS SDK then signs for no bucket at all.
        for name in ["kTCCOSAppId", "kTCCOSBucket"] {
            if get(name).is_none() {
                add("2.2", name, format!("{name} is empty or not set"));
            }
        }
        if let (Some(a), Some(b)) = (get("kTCCOSAppId"), appid_ref)
            && a != b
        {
            add(
                "2.2",
                "kTCCOSAppId",
                format!("kTCCOSAppId {a} differs from {appid_what} {b}"),
            );
        }
        let (bucket_ref, bucket_what) = match &console_bucket {
            Some(v) => (Some(v.as_str()), "the console's bucket"),
            None => (od("COSKEY_BUCKET"), "the backend's COSKEY_BUCKET"),
        };
        if let (Some(a), Some(b)) = (get("kTCCOSBucket"), bucket_ref)
            && a != b
            && !(console_bucket.is_some() && od("COSKEY_BUCKET") == Some(a))
        {
            add(
                "2.2",
                "kTCCOSBucket",
                format!("kTCCOSBucket {a:?} differs from {bucket_what} {b:?}"),
            );
        }
        match get("kTCCOSRegion") {
            Some(r) if !V4_REGIONS.contains(&r) => add(
                "2.3",
                "kTCCOSRegion",
                format!(
                    "kTCCOSRegion {r:?} is not a COS v4 region ({})",
                    V4_REGIONS.join(", ")
                ),
            ),
            None => add("2.3", "kTCCOSRegion", "kTCCOSRegion is not set".into()),
            _ => {}
        }
        match get("kHttpServerAddr") {
            Some(u)
                if !(u.starts_with("http://") || u.starts_with("https://"))
                    || !u.ends_with("/interface.php") =>
            {
                add(
                    "2.4",
                    "kHttpServerAddr",
                    format!("kHttpServerAddr {u:?} is not http(s)://<server>/interface.php"),
                )
            }
            None => add(
                "2.4",
                "kHttpServerAddr",
                "kHttpServerAddr is not set".into(),
            ),
            _ => {}
        }
        for name in ["kTCIMSDKAppId", "kTCIMSDKAccountType"] {
            if get(name).is_none_or(|v| v.parse::<u64>().is_err()) {
                add("2.1", name, format!("{name} is missing or not a number"));
            }
        }
        if let Some(t) = tenant {
            let app_id = get("kTCIMSDKAppId").and_then(|v| v.parse::<u64>().ok());
            match t.im.apps.iter().find(|a| Some(a.sdkappid) == app_id) {
                None => add(
                    "2.1",
                    "kTCIMSDKAppId",
                    "kTCIMSDKAppId names no IM app of this account".into(),
                ),
                Some(im) if get("kTCIMSDKAccountType") != Some(im.account_type.as_str()) => add(
                    "2.1",
                    "kTCIMSDKAccountType",
                    format!(
                        "kTCIMSDKAccountType differs from the IM app's account type {}",
                        im.account_type
                    ),
                ),
                _ => {}
            }
            if let (Some(b), Some(r)) = (get("kTCCOSBucket"), get("kTCCOSRegion"))
                && let Some(bucket) = t.cos.buckets.iter().find(|x| x.name == b)
                && bucket.region != r
            {
                add(
                    "2.3",
                    "kTCCOSRegion",
                    format!(
                        "bucket {b:?} is in region {:?}, the app says {r:?}",
                        bucket.region
                    ),
                );
            }
        }
    }

    if let Some(t) = tenant {
        let console = |name: &str, want: String, faq: &'static str, f: &mut Vec<Finding>| {
            if od(name).is_some_and(|v| !v.is_empty() && v != want) {
                let mut one = finding(faq, name, &format!("{name} differs from the console"));
                one.expected = Some(want);
                f.push(one);
            }
        };
        // FAQ 3.3: the console's callback URL must reach the backend's callback script.
        let url = t.lvb.callback_url.trim();
        let setting = "console lvb.callback_url";
        if url.is_empty() {
            f.push(finding(
                "3.3",
                setting,
                "the console has no callback URL: no event reaches the backend",
            ));
        } else if !url
            .trim_end_matches('/')
            .ends_with("/callback/Live_callback.php")
        {
            let mut one = finding(
                "3.3",
                setting,
                "the console's callback URL does not name the backend's callback/Live_callback.php",
            );
            one.found = Some(url.to_string());
            one.expected = Some("http://<backend>/callback/Live_callback.php".into());
            f.push(one);
        } else if let Some(server) = d.app.as_ref().and_then(|a| a.get("kHttpServerAddr")) {
            let host = |u: &str| {
                url::Url::parse(u)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
            };
            if !url.contains("{backend}")
                && let (Some(cb), Some(app)) = (host(url), host(server))
                && cb != app
            {
                let mut one = finding(
                    "3.3",
                    setting,
                    &format!("the console's callback URL goes to {cb}, the app's backend is {app}"),
                );
                one.found = Some(url.to_string());
                f.push(one);
            }
        }
        console("APP_ID", t.lvb.appid.to_string(), "1.1", &mut f);
        console("APP_BIZID", t.lvb.bizid.to_string(), "1.1", &mut f);
        console("PUSH_URL_KEY", t.lvb.push_key.clone(), "1.2", &mut f);
        console("CALL_BACK_KEY", t.lvb.api_key.clone(), "1.3", &mut f);
        let appid = od("COSKEY_APPID").and_then(|v| v.parse::<u64>().ok());
        match od("COSKEY_SECRECTID").and_then(|id| t.cos.keys.iter().find(|k| k.secret_id == id)) {
            None => f.push(finding(
                "1.6",
                "COSKEY_SECRECTID",
                "COSKEY_SECRECTID is not a key of the console (PROXY_AUTH_SECRETID_NOEXIST)",
            )),
            Some(k) => {
                if Some(k.appid) != appid {
                    f.push(finding("1.4", "COSKEY_APPID", "COSKEY_APPID does not own COSKEY_SECRECTID (ERROR_PROXY_APPID_USERID_NOTMATCH)"));
                }
                if od("COSKEY_SECRECTKEY") != Some(k.secret_key.as_str()) {
                    f.push(finding("1.7", "COSKEY_SECRECTKEY", "COSKEY_SECRECTKEY does not pair with COSKEY_SECRECTID (ERROR_PROXY_AUTH_FAILED)"));
                }
            }
        }
        if let Some(name) = od("COSKEY_BUCKET") {
            // A bucket of the console's APPID under a wrong COSKEY_APPID: the APPID is the root cause (1.4).
            let appid_is_wrong = appid != Some(t.cos.appid)
                && t.cos
                    .buckets
                    .iter()
                    .any(|b| b.name == name && b.appid == t.cos.appid);
            match t.cos.buckets.iter().find(|b| b.name == name && Some(b.appid) == appid) {
                None if appid_is_wrong => {}
                None => f.push(finding("1.5", "COSKEY_BUCKET", "COSKEY_BUCKET is not a bucket of COSKEY_APPID (ERROR_PROXY_SIGN_BUCKET_NOTMATCH)")),
                Some(b) if b.generation == Generation::V3 => f.push(finding("6", "COSKEY_BUCKET", "the bucket was created in the old v3 system; COS v4 answers ERROR_CMD_BUCKET_NOTEXIST")),
                Some(b) if !b.cdn => f.push(finding("5", "COSKEY_BUCKET", "CDN acceleration is off for the bucket: uploads work, access_url downloads fail")),
                _ => {}
            }
        }
    }
    for finding in &mut f {
        locate(finding, d);
    }
    f.sort_by_key(|x| faq_order(x.faq));
    f
}

/// Fills in where the finding's setting is written and the value found there.
fn locate(finding: &mut Finding, d: &Deployment) {
    let name = finding.setting.as_str();
    if let Some(source) = d.sources.get(name) {
        finding.file = Some(source.file.clone());
        finding.line = source.line;
    }
    let found = d
        .outdefine
        .get(name)
        .or_else(|| d.app.as_ref().and_then(|a| a.get(name)))
        .or_else(|| {
            let (section, key) = name.strip_prefix("cdn.route.ini [")?.split_once("] ")?;
            d.route.get(section)?.get(key)
        });
    if finding.found.is_none() {
        finding.found = found.cloned();
    }
}

fn finding(faq: &'static str, setting: &str, message: &str) -> Finding {
    Finding {
        faq,
        setting: setting.into(),
        message: message.into(),
        file: None,
        line: None,
        found: None,
        expected: None,
    }
}

fn faq_order(faq: &str) -> Vec<u32> {
    faq.split('.').filter_map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::deployment::{self, Placeholders};
    use crate::scenario::model::Mutations;

    fn placeholders() -> Placeholders {
        Placeholders {
            backend: "127.0.0.1:80".into(),
            cloud: "127.0.0.1:81".into(),
            db_host: "127.0.0.1".into(),
            db_port: 3306,
            db_name: "live_demo".into(),
            ..Default::default()
        }
    }

    fn healthy() -> (Tenant, Deployment) {
        let t = Tenant::healthy();
        let p = placeholders();
        let m = Mutations::default();
        let d = Deployment {
            outdefine: parse_outdefine(&deployment::outdefine_php(&t, &m).unwrap()),
            route: parse_ini(&deployment::cdn_route_ini(&t, &m, &p)),
            app: Some(deployment::app_constants(&t, &m, &p).unwrap()),
            ..Default::default()
        };
        (t, d)
    }

    #[test]
    fn valid_files_in_the_forms_customers_keep_them_raise_no_alarm() {
        let (t, healthy) = healthy();
        let m = Mutations::default();
        let p = placeholders();
        let php = deployment::outdefine_php(&t, &m).unwrap();
        // A commented-out block with wrong values, a BOM and CRLF line ends.
        let php = format!(
            "\u{feff}{}\n/*\ndefine('PUSH_URL_KEY', 'old');\ndefine('BIZID', '1');\n*/\n",
            php.replace('\n', "\r\n")
        );
        let ini = deployment::cdn_route_ini(&t, &m, &p);
        let ini = format!("\u{feff}{}", ini.replace("[DB]", "[ DB ]"));
        assert!(ini.contains("[ DB ]"));
        let d = Deployment {
            outdefine: parse_outdefine(&php),
            route: parse_ini(&ini),
            app: healthy.app.clone(),
            ..Default::default()
        };
        assert_eq!(d.outdefine, healthy.outdefine);
        assert_eq!(d.route, healthy.route);
        assert_eq!(check(&d, Some(&t)), vec![]);
        let quoted = parse_ini("[DB]\npasswd = \"a;b#c\"\n");
        assert_eq!(quoted["DB"]["passwd"], "a;b#c");
    }

    #[test]
    fn the_healthy_deployment_has_no_finding() {
        let (t, d) = healthy();
        assert_eq!(check(&d, Some(&t)), vec![]);
    }

    #[test]
    fn each_mismatch_names_its_faq_item() {
        let cases: &[(&str, &str, &str)] = &[
            ("COSKEY_APPID", "1252999999", "1.4"),
            ("COSKEY_BUCKET", "nosuch", "1.5"),
            (
                "COSKEY_SECRECTID",
                "AKIDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "1.6",
            ),
            (
                "COSKEY_SECRECTKEY",
                "Xm3nBv7cXz1aSd5fGh9jKl2pOi4uYt6r",
                "1.7",
            ),
            ("CALL_BACK_KEY", "0000", "1.3"),
            ("APP_BIZID", "9999", "1.1"),
        ];
        for (name, value, faq) in cases {
            let (t, mut d) = healthy();
            d.outdefine.insert(name.to_string(), value.to_string());
            let found = check(&d, Some(&t));
            assert!(found.iter().any(|x| x.faq == *faq), "{name}: {found:?}");
        }
    }

    #[test]
    fn app_constants_are_checked_against_the_backend() {
        let (t, mut d) = healthy();
        let app = d.app.as_mut().unwrap();
        app.insert("kTCCOSRegion".into(), "ap-shanghai".into());
        app.insert("kHttpServerAddr".into(), "http://10.0.0.1/".into());
        let found = check(&d, Some(&t));
        let items: Vec<&str> = found.iter().map(|x| x.faq).collect();
        assert!(
            items.contains(&"2.3") && items.contains(&"2.4"),
            "{found:?}"
        );
    }

    #[test]
    fn the_android_region_enum_reads_as_its_region() {
        let c = parse_app_constants(
            "public static final COSEndPoint COS_REGION = COSEndPoint.COS_TJ; // 天津\n",
        );
        assert_eq!(c.get("kTCCOSRegion").map(String::as_str), Some("tj"));
    }

    #[test]
    fn ios_and_android_constant_files_parse() {
        let ios =
            "#define kTCCOSRegion  @\"sh\"   // region\n#define kTCIMSDKAppId @\"1400012345\"\n";
        let c = parse_app_constants(ios);
        assert_eq!(c["kTCCOSRegion"], "sh");
        let android = "public static final String COS_REGION = \"gz\";\npublic static final int IMSDK_APPID = 1400012345;\n";
        let c = parse_app_constants(android);
        assert_eq!(c["kTCCOSRegion"], "gz");
        assert_eq!(c["kTCIMSDKAppId"], "1400012345");
    }

    #[test]
    fn a_wrong_db_password_is_item_4() {
        let (t, mut d) = healthy();
        d.route
            .get_mut("DB")
            .unwrap()
            .insert("PASSWD".into(), "nope".into());
        assert_eq!(check(&d, Some(&t))[0].faq, "4");
    }
}
