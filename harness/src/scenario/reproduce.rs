//! `tcharness reproduce`: the healthy user flow run with a customer's own configuration files (and
//! console), against the emulated cloud and a backend: the dynamic twin of `check`, for what the files
//! alone cannot show.
//!
//! The customer's values become the changes of a scenario: every OutDefine.php constant and app constant
//! that differs from the console's, and a `[DB]` account that is not the database's. What cannot be the
//! customer's on this machine is the harness's: the database's address and name, the backend's URL in the
//! app (`kHttpServerAddr`) and the `common_access` URL. Without a console file the console is taken to
//! agree with the backend's `OutDefine.php` (ids and keys) and with the app's IM ids and COS region, so only
//! the files' disagreements with each other show; with `--tenant` the console is the customer's.

#![warn(missing_docs)]

use crate::cloud::Tenant;

use super::check::Deployment;
use super::deployment::{self, Placeholders};
use super::model::{Expect, Mutations, Scenario, ScenarioOptions};

/// What will be replayed, and what was assumed to get there.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The console the flow runs against.
    pub tenant: Tenant,
    /// The customer's values that differ from it.
    pub mutations: Mutations,
    /// What the plan assumed or left out, in one line each, for the report.
    pub assumptions: Vec<String>,
}

/// Builds the plan: the console (given, or derived from the files) and the customer's differences.
pub fn plan(d: &Deployment, tenant: Option<Tenant>) -> Result<Plan, String> {
    let mut assumptions = Vec::new();
    let tenant = match tenant {
        Some(t) => t,
        None => {
            assumptions.push(
                "no console given: it is taken to agree with OutDefine.php and the app's IM ids and COS \
                 region, so only disagreements between the files show"
                    .to_string(),
            );
            console_from_files(d)
        }
    };
    let mut mutations = Mutations::default();
    let healthy = deployment::healthy_outdefine(&tenant).map_err(|e| e.to_string())?;
    // The healthy OutDefine.php holds exactly the constants whose value comes from the console.
    for (name, written) in &d.outdefine {
        let Some((_, expected)) = healthy.iter().find(|(n, _)| n == name) else {
            continue;
        };
        if expected.as_text() != *written {
            mutations
                .backend
                .outdefine
                .insert(name.clone(), literal(written));
        }
    }
    if let Some(db) = d.route.get("DB") {
        for (key, expected) in [
            ("USER", &tenant.database.user),
            ("PASSWD", &tenant.database.password),
        ] {
            if let Some(written) = db.get(key)
                && written != expected
            {
                mutations
                    .backend
                    .route
                    .entry("DB".to_string())
                    .or_default()
                    .insert(key.to_string(), toml::Value::String(written.clone()));
            }
        }
    }
    assumptions.push(
        "the database's address and name, the app's kHttpServerAddr and the common_access URL are the \
         harness's"
            .to_string(),
    );
    match &d.app {
        Some(app) => {
            let expected =
                deployment::app_constants(&tenant, &Mutations::default(), &Placeholders::default())
                    .map_err(|e| e.to_string())?;
            for (name, written) in app {
                if name == "kHttpServerAddr" {
                    continue;
                }
                if expected.get(name).is_some_and(|v| v != written) {
                    mutations
                        .app
                        .insert(name.clone(), toml::Value::String(written.clone()));
                }
            }
        }
        None => assumptions
            .push("no app constants given: the app is configured like the console".into()),
    }
    Ok(Plan {
        tenant,
        mutations,
        assumptions,
    })
}

/// The scenario that replays the plan: the healthy flow of the catalogue with the plan's changes.
pub fn scenario(plan: &Plan) -> Result<Scenario, String> {
    let healthy = crate::catalogue::scenarios()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| s.id == "healthy")
        .ok_or("the built-in catalogue has no healthy scenario")?;
    Ok(Scenario {
        id: "reproduce".into(),
        faq: "-".into(),
        title: "The healthy user flow with the customer's configuration".into(),
        description: String::new(),
        mutate: plan.mutations.clone(),
        flow: healthy.flow,
        // Nothing is expected: the report names what happened.
        expect: Expect {
            symptom: String::new(),
            also: Vec::new(),
            absent: Vec::new(),
        },
        options: ScenarioOptions::default(),
        path: "reproduce".into(),
    })
}

/// The healthy console with the ids and keys the backend's files and the app name.
fn console_from_files(d: &Deployment) -> Tenant {
    let mut t = Tenant::healthy();
    let get = |name: &str| d.outdefine.get(name).map(|v| v.trim().to_string());
    let number = |name: &str| get(name).and_then(|v| v.parse::<u64>().ok());
    if let Some(v) = number("APP_ID") {
        t.lvb.appid = v;
    }
    if let Some(v) = number("APP_BIZID") {
        t.lvb.bizid = v;
    }
    if let Some(v) = get("PUSH_URL_KEY") {
        t.lvb.push_key = v;
    }
    if let Some(v) = get("CALL_BACK_KEY") {
        t.lvb.api_key = v;
    }
    let old_appid = t.cos.appid;
    if let Some(v) = number("COSKEY_APPID") {
        t.cos.appid = v;
    }
    let cos_appid = t.cos.appid;
    if let Some(key) = t.cos.keys.iter_mut().find(|k| k.appid == old_appid) {
        key.appid = cos_appid;
        if let Some(v) = get("COSKEY_SECRECTID") {
            key.secret_id = v;
        }
        if let Some(v) = get("COSKEY_SECRECTKEY") {
            key.secret_key = v;
        }
    }
    let region = d
        .app
        .as_ref()
        .and_then(|a| a.get("kTCCOSRegion"))
        .map(|r| r.trim().to_string());
    if let Some(bucket) = t.cos.buckets.iter_mut().find(|b| {
        b.appid == old_appid && b.generation == crate::cloud::cos::console::Generation::V4
    }) {
        bucket.appid = cos_appid;
        if let Some(v) = get("COSKEY_BUCKET") {
            bucket.name = v;
        }
        if let Some(r) = region.filter(|r| !r.is_empty()) {
            bucket.region = r;
        }
    }
    if let (Some(app), Some(im)) = (d.app.as_ref(), t.im.apps.first_mut()) {
        if let Some(v) = app.get("kTCIMSDKAppId").and_then(|v| v.trim().parse().ok()) {
            im.sdkappid = v;
        }
        if let Some(v) = app
            .get("kTCIMSDKAccountType")
            .filter(|v| !v.trim().is_empty())
        {
            im.account_type = v.trim().to_string();
        }
    }
    t
}

/// A value as the scenario file would hold it: a number when it is one.
fn literal(text: &str) -> toml::Value {
    match text.trim().parse::<i64>() {
        Ok(n) => toml::Value::Integer(n),
        Err(_) => toml::Value::String(text.to_string()),
    }
}

/// Outcomes of the healthy flow: anything else the app saw is part of a failure.
const HEALTHY_OUTCOMES: [&str; 7] = [
    "0 SUCCESS",
    "ErrCode 0",
    "HTTP 200",
    "OK",
    "publishing",
    "returnValue 0",
    "stopped",
];

/// What went wrong in a transcript, one line each with its step: outcomes the healthy flow never has,
/// messages shown to the user, SDK errors and warnings, errors of the replay, refused pushes and
/// callbacks given up.
pub fn failures(transcript: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut step = String::new();
    for line in transcript.lines() {
        if let Some(name) = line.strip_prefix("- step: ") {
            step = name.to_string();
            continue;
        }
        let t = line.trim_start_matches([' ', '-']).trim();
        let failing = if let Some(outcome) = t.strip_prefix("outcome: ") {
            !HEALTHY_OUTCOMES.iter().any(|ok| outcome.starts_with(ok))
        } else if let Some(code) = t.strip_prefix("code: ") {
            code.parse::<i64>()
                .is_ok_and(|c| c < 0 || (3000..4000).contains(&c))
        } else {
            t.starts_with("android: ")
                || t.starts_with("error: ")
                || t.contains("-> refused")
                || t.contains("-> gave up")
        };
        let entry = format!("{step}: {t}");
        if failing && !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}
