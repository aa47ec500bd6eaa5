//! The `minilvb` binary: the process contract (listening line, health, config errors, signals, schema).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use crate::common::*;

fn minilvb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_minilvb"))
}

#[test]
fn schema_prints_the_three_tables_and_runs_on_strict_mariadb() {
    let out = minilvb().arg("schema").output().unwrap();
    assert!(out.status.success());
    let ddl = String::from_utf8(out.stdout).unwrap();
    for table in ["live_data", "tape_data", "group_info"] {
        assert!(ddl.contains(&format!("CREATE TABLE IF NOT EXISTS `{table}`")));
    }
    assert!(!ddl.to_uppercase().contains("CREATE DATABASE") && !ddl.contains("USE "));
    let m = maria();
    m.sql_root(None, "CREATE DATABASE strict_check");
    m.sql_root(
        Some("strict_check"),
        &format!("SET SESSION sql_mode='STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'; {ddl}"),
    );
    assert_eq!(
        m.sql_root(Some("strict_check"), "SHOW TABLES"),
        "group_info\nlive_data\ntape_data"
    );
}

#[test]
fn serve_prints_its_address_answers_health_and_exits_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    write_root(
        root.path(),
        &outdefine(),
        &route_ini(
            maria().port,
            "unused",
            "x",
            "http://127.0.0.1:9/common_access",
        ),
        false,
    );
    let mut child = minilvb()
        .args(["serve", "--root"])
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("minilvb listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt.block_on(async {
        reqwest::get(format!("{url}/interface.php"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(body.starts_with(r#"{"returnValue":4001,"#));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

fn config_error(outdefine: &str, route: &str) -> (Option<i32>, String) {
    let root = tempfile::tempdir().unwrap();
    write_root(root.path(), outdefine, route, false);
    let out = minilvb()
        .args(["serve", "--root"])
        .arg(root.path())
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_errors_name_file_line_and_constant_and_exit_2() {
    let route = route_ini(3306, "live_demo", "p", "http://127.0.0.1/common_access");
    let bad = outdefine().replace("define('APP_BIZID', 8888);", "define('APP_BIZID', 8888;");
    let (code, err) = config_error(&bad, &route);
    assert_eq!(code, Some(2));
    assert!(err.contains("conf/OutDefine.php:4: APP_BIZID: "), "{err}");
    let missing = outdefine().replace(
        "define('CALL_BACK_KEY', '7a4f1c2e9b3d8e6f0a1b2c3d4e5f6a7b');\n",
        "",
    );
    let (code, err) = config_error(&missing, &route);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("conf/OutDefine.php:") && err.contains("CALL_BACK_KEY: is not defined"),
        "{err}"
    );
    let (code, err) = config_error(&outdefine(), &route.replace("PORT=3306", "PORT=33x6"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("conf/cdn.route.ini:6: [DB] PORT: expected a number"),
        "{err}"
    );
    let (code, err) = config_error(
        &outdefine(),
        &route.replace("URL=http://127.0.0.1/common_access", "URL=fcgi"),
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("[LIVE_WEBSERVICE] URL"), "{err}");
    let (code, err) = config_error(&outdefine(), &route.replace("HOST=127.0.0.1\n", ""));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("conf/cdn.route.ini:") && err.contains("[DB] HOST: is not set"),
        "{err}"
    );
}
