//! `check` over a corpus of deployments written the way customers keep their files: every single
//! misconfiguration is found with its FAQ item and nothing else is blamed, and valid files in every form
//! (iOS and Android constants, BOM, CRLF, comments, quoting) raise no alarm.

use std::collections::BTreeSet;
use std::path::Path;

use tcharness::cloud::Tenant;
use tcharness::scenario::check::{self, Deployment};
use tcharness::scenario::deployment::{self, Placeholders};
use tcharness::scenario::model::Mutations;

fn placeholders() -> Placeholders {
    Placeholders {
        backend: "203.0.113.7".into(),
        cloud: "fcgi.video.qcloud.com".into(),
        db_host: "localhost".into(),
        db_port: 3306,
        db_name: "live_demo".into(),
        ..Default::default()
    }
}

/// How the files are written: the platform of the app's constants and the editor's habits.
#[derive(Clone, Copy, Debug)]
enum Form {
    Ios,
    Android,
    /// iOS, with a BOM, CRLF line ends, comments and a commented-out stale block.
    IosNoisy,
}

fn write(dir: &Path, t: &Tenant, m: &Mutations, form: Form) {
    let p = placeholders();
    std::fs::create_dir_all(dir.join("conf")).expect("conf");
    let mut php = deployment::outdefine_php(t, m).expect("OutDefine");
    let mut ini = deployment::cdn_route_ini(t, m, &p);
    if matches!(form, Form::IosNoisy) {
        php = format!(
            "\u{feff}{}\n/* stale values from the demo:\ndefine('PUSH_URL_KEY', 'old');\n*/\n// end\n",
            php.replace('\n', "\r\n")
        );
        ini = format!("\u{feff}; route file\n{}", ini.replace("[DB]", "[ DB ]"));
    }
    std::fs::write(dir.join("conf/OutDefine.php"), php).expect("write");
    std::fs::write(dir.join("conf/cdn.inc.ini"), deployment::cdn_inc_ini()).expect("write");
    std::fs::write(dir.join("conf/cdn.route.ini"), ini).expect("write");
    let constants = deployment::app_constants(t, m, &p).expect("constants");
    let app = match form {
        Form::Ios | Form::IosNoisy => constants
            .iter()
            .map(|(k, v)| format!("#define {k} @\"{v}\"  // set by the customer\n"))
            .collect::<String>(),
        Form::Android => {
            let android = |ios: &str| {
                tcharness::terminal::ConstantName::ALL
                    .into_iter()
                    .find(|c| c.ios() == ios)
                    .map(|c| c.android().to_string())
                    .unwrap_or_else(|| ios.to_string())
            };
            let mut java = String::from("public class TCConstants {\n");
            for (k, v) in &constants {
                let name = android(k);
                if v.parse::<i64>().is_ok() && !k.contains("Bucket") && !k.contains("Region") {
                    java.push_str(&format!("    public static final int {name} = {v};\n"));
                } else {
                    java.push_str(&format!(
                        "    public static final String {name} = \"{v}\";\n"
                    ));
                }
            }
            java.push_str("}\n");
            java
        }
    };
    let file = match form {
        Form::Android => "TCConstants.java",
        _ => "TCConstants.h",
    };
    std::fs::write(dir.join(file), app).expect("write");
}

fn findings(t: &Tenant, m: &Mutations, form: Form) -> Vec<check::Finding> {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), t, m, form);
    let file = match form {
        Form::Android => "TCConstants.java",
        _ => "TCConstants.h",
    };
    let d = Deployment::load(dir.path(), Some(&dir.path().join(file))).expect("loads");
    check::check(&d, Some(t))
}

fn outdefine(name: &str, v: toml::Value) -> Mutations {
    let mut m = Mutations::default();
    m.backend.outdefine.insert(name.into(), v);
    m
}

fn app(name: &str, v: &str) -> Mutations {
    let mut m = Mutations::default();
    m.app.insert(name.into(), toml::Value::String(v.into()));
    m
}

#[test]
fn valid_files_in_every_form_raise_no_alarm() {
    let t = Tenant::healthy();
    for form in [Form::Ios, Form::Android, Form::IosNoisy] {
        let f = findings(&t, &Mutations::default(), form);
        assert!(f.is_empty(), "{form:?}: {f:#?}");
    }
}

#[test]
fn every_single_misconfiguration_is_found_with_its_faq_item_and_only_it() {
    let healthy = Tenant::healthy();
    let s = |v: &str| toml::Value::String(v.into());
    let mut db = Mutations::default();
    db.backend
        .route
        .insert("DB".into(), [("PASSWD".to_string(), s("wrong"))].into());
    let cases: Vec<(&str, Tenant, Mutations)> = vec![
        (
            "1.1",
            healthy.clone(),
            outdefine("APP_ID", toml::Value::Integer(1252000999)),
        ),
        (
            "1.1",
            healthy.clone(),
            outdefine("APP_BIZID", toml::Value::Integer(9999)),
        ),
        (
            "1.2",
            healthy.clone(),
            outdefine("PUSH_URL_KEY", s("0123456789abcdef0123456789abcdef")),
        ),
        (
            "1.3",
            healthy.clone(),
            outdefine("CALL_BACK_KEY", s("0123456789abcdef0123456789abcdef")),
        ),
        (
            "1.4",
            healthy.clone(),
            outdefine("COSKEY_APPID", toml::Value::Integer(1252999999)),
        ),
        (
            "1.5",
            healthy.clone(),
            outdefine("COSKEY_BUCKET", s("otherbucket")),
        ),
        (
            "1.6",
            healthy.clone(),
            outdefine(
                "COSKEY_SECRECTID",
                s("AKIDnotAKeyOfThisAccount000000000001"),
            ),
        ),
        (
            "1.7",
            healthy.clone(),
            outdefine("COSKEY_SECRECTKEY", s("0123456789abcdef0123456789abcdef")),
        ),
        ("2.1", healthy.clone(), app("kTCIMSDKAppId", "1400099999")),
        ("2.1", healthy.clone(), app("kTCIMSDKAccountType", "9999")),
        ("2.2", healthy.clone(), app("kTCCOSAppId", "1252999999")),
        ("2.2", healthy.clone(), app("kTCCOSBucket", "otherbucket")),
        ("2.3", healthy.clone(), app("kTCCOSRegion", "gz")),
        (
            "2.4",
            healthy.clone(),
            app("kHttpServerAddr", "203.0.113.7/interface.php"),
        ),
        ("4", healthy.clone(), db),
        (
            "3.3",
            {
                let mut t = healthy.clone();
                t.lvb.callback_url = "http://{backend}/callback/Live_callback".into();
                t
            },
            Mutations::default(),
        ),
        (
            "5",
            {
                let mut t = healthy.clone();
                t.cos.buckets[0].cdn = false;
                t
            },
            Mutations::default(),
        ),
        ("6", healthy.clone(), {
            let mut m = outdefine("COSKEY_BUCKET", s("legacy"));
            m.app.insert("kTCCOSBucket".into(), s("legacy"));
            m
        }),
    ];
    let mut missed = Vec::new();
    let mut blamed = Vec::new();
    for form in [Form::Ios, Form::Android, Form::IosNoisy] {
        for (faq, tenant, m) in &cases {
            let f = findings(tenant, m, form);
            let items: BTreeSet<&str> = f.iter().map(|x| x.faq).collect();
            if !items.contains(faq) {
                missed.push(format!("{form:?} {faq} {}: {f:?}", Scenarioish(m)));
            } else if items.len() > 1 {
                blamed.push(format!("{form:?} {faq} {}: {items:?}", Scenarioish(m)));
            }
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
    assert!(
        blamed.is_empty(),
        "blamed more than the root cause:\n{}",
        blamed.join("\n")
    );
}

/// One line naming a case's change, for failure messages.
struct Scenarioish<'a>(&'a Mutations);

impl std::fmt::Display for Scenarioish<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {:?} {:?}",
            self.0.backend.outdefine, self.0.app, self.0.backend.route
        )
    }
}

/// `support_corpus/check_blind/`: deployment files written by hand the way customers fill them in (quoting,
/// comments of every kind, guards, `const`, BOM, CRLF, tabs, `[ DB ]`, another `INC`, iOS `static const`,
/// Android enums, concatenations and declarations over two lines). Each case directory holds the files that
/// differ from a healthy deployment; `broken.tsv` turns one value of a case wrong.
fn blind_case(case: &str, edit: Option<(&str, &str, &str)>) -> Vec<check::Finding> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support_corpus/check_blind");
    let t = Tenant::healthy();
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), &t, &Mutations::default(), Form::Ios);
    let case_dir = corpus.join(case);
    let mut terminal = dir.path().join("TCConstants.h");
    for file in files_under(&case_dir) {
        let rel = file.strip_prefix(&case_dir).expect("inside the case");
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&file, &to).expect("copy");
        if rel.to_string_lossy().starts_with("TCConstants.") {
            terminal = to;
        }
    }
    if let Some((file, find, replace)) = edit {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("case file");
        assert!(text.contains(find), "{case}/{file}: no {find:?} to replace");
        std::fs::write(&path, text.replacen(find, replace, 1)).expect("write");
    }
    let d = Deployment::load(dir.path(), Some(&terminal)).expect("loads");
    check::check(&d, Some(&t))
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("case dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn blind_cases() -> Vec<String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support_corpus/check_blind");
    let mut cases: Vec<String> = std::fs::read_dir(corpus)
        .expect("corpus")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

#[test]
fn blind_valid_variants_raise_no_alarm() {
    let cases = blind_cases();
    assert!(cases.len() >= 15, "corpus too small");
    let alarms: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let f = blind_case(case, None);
            (!f.is_empty()).then(|| format!("{case}: {f:#?}"))
        })
        .collect();
    println!(
        "check blind corpus: {} valid variants, {} false alarms",
        cases.len(),
        alarms.len()
    );
    assert!(alarms.is_empty(), "false alarms:\n{}", alarms.join("\n"));
}

#[test]
fn blind_single_misconfigurations_are_found_with_their_faq_item_and_only_it() {
    let index = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support_corpus/check_blind/broken.tsv"),
    )
    .expect("broken.tsv");
    let (mut total, mut wrong) = (0usize, Vec::new());
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [case, file, find, replace, faq] = cols[..] else {
            panic!("broken.tsv: not five columns: {line}");
        };
        total += 1;
        let f = blind_case(case, Some((file, find, replace)));
        let items: BTreeSet<&str> = f.iter().map(|x| x.faq).collect();
        if items != BTreeSet::from([faq]) {
            wrong.push(format!("{case} {file} {replace:?}: want {faq}, got {f:#?}"));
        }
    }
    println!(
        "check blind corpus: {total} single misconfigurations, {} found with the right item alone",
        total - wrong.len()
    );
    assert!(total >= 25, "corpus too small");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
